// The pool's shell: runs pool_state under its mutex, parks waiters, closes what pool_state says.
#include "detail/connection_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace codef::detail {

connection_pool::connection_pool(asio::any_io_executor io, std::shared_ptr<asio::ssl::context> tls,
                                 std::shared_ptr<origin> o, settings s,
                                 std::shared_ptr<pool_counters> counters, pool_role role,
                                 std::shared_ptr<telemetry> tel)
    : io_(std::move(io))
    , tls_(std::move(tls))
    , origin_(std::move(o))
    , settings_(s)
    , counters_(std::move(counters))
    , role_(role)
    , telemetry_(std::move(tel))
    , state_(s.max_connections, s.idle_timeout) {}

connection_pool::~connection_pool() = default;

std::unique_ptr<connection> connection_pool::new_connection() {
    return std::make_unique<connection>(io_, tls_, origin_);
}

connection_pool::lease::~lease() {
    if (conn_) pool_->put_back(std::move(conn_), false, close_reason::failed);
}

void connection_pool::lease::give_back() {
    const bool reusable = conn_->state().is_open();
    pool_->put_back(std::move(conn_), reusable, close_reason::not_reusable);
}

void connection_pool::close_connection(connection& c, close_reason why) {
    const bool was_open = c.established();
    const auto served = c.state().requests_served();
    c.close();
    if (was_open && telemetry_)
        telemetry_->connection_closed({role_, origin_->ep().host_header, why, served});
}

connection_pool::waiter_ptr connection_pool::hand_over(std::uint64_t id, grant g) {
    auto it = waiters_.find(id);
    // pool_state only names queued waiters, and every queued waiter is in the map.
    waiter_ptr w = std::move(it->second);
    waiters_.erase(it);
    w->handed.emplace(std::move(g));
    return w;
}

void connection_pool::wake(const waiter_ptr& w) {
    // On the waiter's executor, where its wait was started: never concurrent with it.
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

void connection_pool::put_back(std::unique_ptr<connection> c, bool reusable, close_reason why) {
    waiter_ptr woken;
    {
        std::lock_guard lock(mutex_);
        const bool keep = reusable && !state_.closed();
        if (reusable && !keep) why = close_reason::shut_down;
        auto handover = state_.release(keep ? std::optional(std::move(c)) : std::nullopt, keep,
                                       steady_clock::now());
        if (handover) woken = hand_over(handover->first, std::move(handover->second));
    }
    // Not kept: still ours, closed where it was used.
    if (c) close_connection(*c, why);
    if (woken) wake(woken);
}

void connection_pool::close() {
    std::vector<std::unique_ptr<connection>> idle;
    std::vector<waiter_ptr> woken;
    {
        std::lock_guard lock(mutex_);
        auto [conns, ws] = state_.close();
        idle = std::move(conns);
        for (auto id : ws)
            woken.push_back(hand_over(id, grant{grant::kind::wait, std::nullopt})); // "closed"
    }
    for (auto& c : idle)
        close_connection(*c, close_reason::shut_down); // idle: no operation of theirs is pending
    for (auto& w : woken)
        wake(w);
}

asio::awaitable<result<connection_pool::lease>>
connection_pool::acquire(steady_clock::time_point deadline, std::string_view tag) {
    std::vector<std::unique_ptr<connection>> expired;
    std::optional<grant> g;
    waiter_ptr w;
    std::uint64_t id = 0;
    const auto ex = co_await asio::this_coro::executor; // does not suspend
    {
        std::lock_guard lock(mutex_);
        if (state_.closed()) co_return make_failure(client_errc::shut_down);
        id = next_waiter_++;
        g = state_.acquire(steady_clock::now(), id, expired);
        if (g->what == grant::kind::wait) {
            w = std::make_shared<waiter>(ex, deadline);
            waiters_.emplace(id, w);
        }
    }
    for (auto& c : expired)
        close_connection(*c, close_reason::idle_timeout);

    if (w) {
        const auto wait_started = steady_clock::now();
        auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        {
            std::lock_guard lock(mutex_);
            if (w->handed) {
                g = std::move(w->handed);
            } else {
                waiters_.erase(id);
                state_.cancel_wait(id);
                g.reset();
            }
        }
        if (telemetry_)
            telemetry_->pool_wait({role_, tag, steady_clock::now() - wait_started,
                                   g && g->what != grant::kind::wait});
        if (!g) {
            if (ec == asio::error::operation_aborted)
                co_return make_failure(asio::error::operation_aborted);
            co_return make_failure(transport_errc::timeout,
                                   "waiting for a connection to " + origin_->ep().host_header);
        }
        if (g->what == grant::kind::wait) co_return make_failure(client_errc::shut_down);
    }
    if (g->what == grant::kind::reuse) {
        // Closed by the server while it sat idle: found now, before a request is written to it,
        // rather than by a failed write or read. The slot is kept; send() connects afresh.
        if ((*g->conn)->peer_gone()) {
            counters_->stale_detected.fetch_add(1, std::memory_order_relaxed);
            if (telemetry_) telemetry_->connection_stale({role_, origin_->ep().host_header, tag});
            close_connection(**g->conn, close_reason::stale);
        }
        co_return lease(shared_from_this(), std::move(*g->conn));
    }
    co_return lease(shared_from_this(), new_connection());
}

asio::awaitable<exchange_result> connection_pool::send(std::span<const std::string_view> parts,
                                                       steady_clock::time_point deadline,
                                                       bool fresh, std::string_view tag) {
    auto l = co_await acquire(deadline, tag);
    if (!l) {
        exchange_result r;
        r.ec = l.error();
        r.detail = l.diag().detail;
        co_return r;
    }
    connection& c = l->conn();
    if (fresh && c.state().is_open()) close_connection(c, close_reason::stale);
    if (!c.state().is_open()) {
        const auto setup_started = steady_clock::now();
        const auto connect_deadline =
            std::min(deadline, steady_clock::now() + settings_.connect_timeout);
        if (auto ok = co_await c.connect(connect_deadline); !ok) {
            // A connect that ran out of its own time, while the call still has some, is still a
            // timeout: of this step.
            exchange_result r;
            r.ec = ok.error();
            r.detail = ok.diag().detail;
            r.status = static_cast<unsigned>(ok.diag().http_status); // a proxy's answer
            co_return r;
        }
        counters_->connections_opened.fetch_add(1, std::memory_order_relaxed);
        if (c.resumed()) counters_->tls_resumed.fetch_add(1, std::memory_order_relaxed);
        if (telemetry_)
            telemetry_->connection_opened({role_, origin_->ep().host_header, tag, c.resumed(),
                                           steady_clock::now() - setup_started});
    }
    const bool reused = c.state().requests_served() > 0;
    auto x = co_await c.exchange(parts, deadline, settings_.max_reply_bytes);
    x.reused = reused;
    if (!x.ec) l->give_back(); // else the lease drops the connection on its way out
    co_return x;
}

} // namespace codef::detail
