// codef::client: awaitable CODEF calls over pooled, kept-alive TLS connections, with one shared,
// single-flight access token. One client may be shared by calls on any number of threads.
#pragma once

#include <codef/config.hpp>
#include <codef/error.hpp>
#include <codef/response.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace codef {

namespace detail {
class client_impl;
}

// Whether a call may be sent twice. Inquiries may; account changes and two-way follow-ups are
// only retried when nothing of them reached the server.
enum class idempotency { automatic, idempotent, non_idempotent };

struct call_options {
    std::optional<std::chrono::milliseconds> timeout; // overrides config::call_timeout
    idempotency retry_class = idempotency::automatic; // automatic: judged by the path
};

struct token_info {
    std::string access_token; // a secret: never log it
    std::chrono::system_clock::time_point expires_at;
};

// Counters kept by the client, for benchmarks and monitoring.
struct client_stats {
    std::uint64_t calls = 0;
    std::uint64_t token_requests = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t tls_resumed = 0; // of connections_opened, handshakes that resumed a session
    std::uint64_t retries = 0;
    std::uint64_t stale_connection_retries = 0;
};

class client {
public:
    // Throws codef::error (client_errc::invalid_config, detail naming the field) when cfg is
    // invalid. All I/O runs on ex; completions come back on the awaiting coroutine's executor.
    client(boost::asio::any_io_executor ex, config cfg);
    ~client();
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // POST path with params. A CODEF business result, errors included, is a response; transport,
    // TLS, HTTP and decoding failures are errors. try_request returns them, request throws
    // codef::error.
    boost::asio::awaitable<result<response>>
    try_request(std::string path, boost::json::object params, call_options opts = {});
    boost::asio::awaitable<response> request(std::string path, boost::json::object params,
                                             call_options opts = {});

    // The access token, issued if there is none yet (or it is too old), otherwise the cached one.
    boost::asio::awaitable<result<token_info>> try_token(call_options opts = {});

    client_stats stats() const;
    const config& get_config() const noexcept;
    boost::asio::any_io_executor get_executor() const noexcept;

private:
    std::shared_ptr<detail::client_impl> impl_;
};

} // namespace codef
