// A PostgreSQL connection driven by Asio: libpq's asynchronous interface (PQconnectStart and
// PQconnectPoll, PQsendQueryParams, PQconsumeInput) with every wait on the socket made by
// posix::stream_descriptor::async_wait, so that no wait blocks a thread, and each bounded by the
// caller's deadline. One operation at a time per connection; a connection whose operation failed
// on the network or outlived its deadline is broken and is not used again.
#pragma once

#include <codef/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace codef::fleet::detail {

using steady_time = std::chrono::steady_clock::time_point;

// A parameter or a value: nullopt is SQL NULL.
using pg_value = std::optional<std::string>;

// What a statement gave back: its rows (text format) and, for a command, the rows it touched.
struct pg_rows {
    std::vector<std::vector<pg_value>> rows;
    std::uint64_t affected = 0;
    // The value at row r, column c, or "" when it is NULL or out of range.
    const std::string& text(std::size_t r, std::size_t c) const;
    bool empty() const noexcept { return rows.empty(); }
};

// A notification (LISTEN) as received.
struct pg_notification {
    std::string channel, payload;
};

// The URI with its password (and any password= parameter) removed: what messages may show.
std::string shown_uri(std::string_view uri);

class pg_connection {
public:
    ~pg_connection();
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;

    // Connects with a libpq connection string or URI (postgresql://user@host/db), by deadline.
    // Failures are fleet_errc::database_unreachable (or transport_errc::timeout), their detail
    // naming the URI without its password.
    static boost::asio::awaitable<result<std::unique_ptr<pg_connection>>>
    connect(boost::asio::any_io_executor ex, std::string uri, steady_time deadline);

    // One statement with text parameters ($1, $2, ...), by deadline. A server's error is
    // fleet_errc::database_error with its SQLSTATE and message in the detail.
    boost::asio::awaitable<result<pg_rows>>
    query(std::string_view sql, std::span<const pg_value> params, steady_time deadline);
    // Statements without parameters, separated by ';' (the simple query protocol).
    boost::asio::awaitable<result<std::monostate>> exec(std::string_view sql, steady_time deadline);
    // The notifications that have arrived, waiting for one until deadline: empty at the deadline.
    boost::asio::awaitable<result<std::vector<pg_notification>>>
    notifications(steady_time deadline);

    // The connection is gone or in an unknown state: open another.
    bool broken() const noexcept;
    // The last error's SQLSTATE ("55P03": lock_not_available), empty when it was not the server's.
    const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
    struct impl;
    explicit pg_connection(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
    std::string sqlstate_;
};

// Milliseconds left until deadline, at least 1: for lock_timeout and statement_timeout.
std::int64_t millis_left(steady_time deadline);

// A string as a SQL literal ('...', quotes doubled): for the few statements that take no
// parameters (SET LOCAL), with values the library makes itself.
std::string sql_literal(std::string_view s);

} // namespace codef::fleet::detail
