// A bounded pool of kept-alive TLS connections to one origin. The bookkeeping (pool_state) lives
// on the client's strand; connections are used by one call at a time, on that call's executor.
// Idle connections past the idle timeout are closed when the pool is next asked for one (and all
// of them when the client goes): no timer keeps an io_context running after the last call.
#pragma once

#include "detail/connection.hpp"
#include "detail/parked.hpp"
#include "detail/pool_state.hpp"

#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <unordered_map>

namespace codef::detail {

struct pool_counters {
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::uint64_t> tls_resumed{0};
    std::atomic<std::uint64_t> stale_retries{0};
    // Idle connections found closed by the server when taken for reuse (and replaced).
    std::atomic<std::uint64_t> stale_detected{0};
};

class connection_pool : public std::enable_shared_from_this<connection_pool> {
public:
    using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

    struct settings {
        std::size_t max_connections = 32;
        steady_clock::duration idle_timeout = std::chrono::seconds(20);
        std::chrono::milliseconds connect_timeout{10'000};
        std::size_t max_reply_bytes = 8 * 1024 * 1024;
    };

    connection_pool(strand_type strand, boost::asio::any_io_executor io,
                    std::shared_ptr<boost::asio::ssl::context> tls, std::shared_ptr<origin> o,
                    settings s, std::shared_ptr<pool_counters> counters);
    ~connection_pool();

    // Sends request on a pooled connection (opening one if the pool may grow, else waiting in
    // line) and reads the reply: one exchange, reported as it went. An idle connection the server
    // has closed is found before it is used, and replaced. fresh: not on a reused connection (the
    // call state machine asks for it after a stale one). Whether to send again is not decided
    // here (call_fsm.hpp). Call from a strand or a single-threaded executor: the connection's
    // timers run there.
    boost::asio::awaitable<exchange_result> send(const std::string& request,
                                                 steady_clock::time_point deadline, bool fresh);

    // Closes idle connections and fails waiters; connections in use are closed when they return.
    void close();

    const origin& get_origin() const noexcept { return *origin_; }

    // A connection checked out of the pool; goes back (or is dropped) when destroyed.
    class lease {
    public:
        lease(std::shared_ptr<connection_pool> p, std::unique_ptr<connection> c)
            : pool_(std::move(p))
            , conn_(std::move(c)) {}
        lease(lease&&) noexcept = default;
        lease& operator=(lease&&) = delete;
        ~lease();
        connection& conn() noexcept { return *conn_; }
        void give_back(); // reusable if the connection is ready

    private:
        std::shared_ptr<connection_pool> pool_;
        std::unique_ptr<connection> conn_;
    };

    boost::asio::awaitable<result<lease>> acquire(steady_clock::time_point deadline);

private:
    using state_type = pool_state<std::unique_ptr<connection>>;
    using grant = state_type::grant;

    boost::asio::awaitable<result<lease>> acquire_on_strand(steady_clock::time_point deadline);
    void put_back(std::unique_ptr<connection> c, bool reusable);
    std::unique_ptr<connection> new_connection();

    strand_type strand_;
    boost::asio::any_io_executor io_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::shared_ptr<origin> origin_;
    settings settings_;
    std::shared_ptr<pool_counters> counters_;

    // On the strand only:
    state_type state_;
    std::uint64_t next_waiter_ = 1;
    std::unordered_map<std::uint64_t, parked<grant>*> waiters_;
};

} // namespace codef::detail
