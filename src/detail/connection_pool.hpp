// A bounded pool of kept-alive TLS connections to one origin. Its bookkeeping (pool_state) sits
// behind a mutex, taken briefly and never across a wait or an I/O, so that a call needs no hop to
// another executor to get or return a connection. Connections are used by one call at a time, on
// that call's executor. Idle connections past the idle timeout are closed when the pool is next
// asked for one (and all of them when the client goes): no timer keeps an io_context running
// after the last call.
#pragma once

#include "detail/connection.hpp"
#include "detail/pool_state.hpp"
#include "detail/telemetry.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
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
    struct settings {
        std::size_t max_connections = 32;
        steady_clock::duration idle_timeout = std::chrono::seconds(20);
        std::chrono::milliseconds connect_timeout{10'000};
        std::size_t max_reply_bytes = 8 * 1024 * 1024;
    };

    // Events go to tel (null: none), as the pool role says.
    connection_pool(boost::asio::any_io_executor io, std::shared_ptr<boost::asio::ssl::context> tls,
                    std::shared_ptr<origin> o, settings s, std::shared_ptr<pool_counters> counters,
                    pool_role role = pool_role::api, std::shared_ptr<telemetry> tel = nullptr);
    ~connection_pool();

    // Sends the request (the concatenation of parts) on a pooled connection, opening one if the
    // pool may grow, else waiting in line, and reads the reply: one exchange, reported as it went.
    // An idle connection the server has closed is found before it is used, and replaced. fresh:
    // not on a reused connection (the call state machine asks for it after a stale one). Whether
    // to send again is not decided here (call_fsm.hpp). Call from a strand or a single-threaded
    // executor: the connection's timers run there. tag: the call's, for the events.
    boost::asio::awaitable<exchange_result> send(std::span<const std::string_view> parts,
                                                 steady_clock::time_point deadline, bool fresh,
                                                 std::string_view tag = {});

    // Closes idle connections and fails waiters; connections in use are closed when they return.
    // Any thread.
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
        ~lease(); // the connection failed: dropped
        connection& conn() noexcept { return *conn_; }
        void give_back(); // reusable if the connection is ready

    private:
        std::shared_ptr<connection_pool> pool_;
        std::unique_ptr<connection> conn_;
    };

    boost::asio::awaitable<result<lease>> acquire(steady_clock::time_point deadline,
                                                  std::string_view tag = {});

private:
    using state_type = pool_state<std::unique_ptr<connection>>;
    using grant = state_type::grant;

    // A call waiting in line. Its timer runs on the call's executor: the deadline ends the wait,
    // and whoever hands it a grant (under the mutex) cancels the timer there, by a post.
    struct waiter {
        waiter(const boost::asio::any_io_executor& ex, steady_clock::time_point deadline)
            : timer(ex, deadline) {}
        boost::asio::steady_timer timer;
        std::optional<grant> handed; // under the mutex
    };
    using waiter_ptr = std::shared_ptr<waiter>;

    // reusable: kept for the next call unless the pool is closed; else closed for why.
    void put_back(std::unique_ptr<connection> c, bool reusable, close_reason why);
    // Closes c, telling the telemetry when c was open.
    void close_connection(connection& c, close_reason why);
    // Under the mutex: gives g to waiter id, to be woken (after unlocking) by wake().
    waiter_ptr hand_over(std::uint64_t id, grant g);
    static void wake(const waiter_ptr& w);
    std::unique_ptr<connection> new_connection();

    boost::asio::any_io_executor io_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::shared_ptr<origin> origin_;
    settings settings_;
    std::shared_ptr<pool_counters> counters_;
    pool_role role_;
    std::shared_ptr<telemetry> telemetry_;

    std::mutex mutex_; // guards what follows
    state_type state_;
    std::uint64_t next_waiter_ = 1;
    std::unordered_map<std::uint64_t, waiter_ptr> waiters_;
};

} // namespace codef::detail
