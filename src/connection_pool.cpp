// The pool's shell: runs pool_state on the strand, parks waiters, closes what pool_state says.
#include "detail/connection_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace codef::detail {

connection_pool::connection_pool(strand_type strand, asio::any_io_executor io,
                                 std::shared_ptr<asio::ssl::context> tls, std::shared_ptr<origin> o,
                                 settings s, std::shared_ptr<pool_counters> counters)
    : strand_(std::move(strand))
    , io_(std::move(io))
    , tls_(std::move(tls))
    , origin_(std::move(o))
    , settings_(s)
    , counters_(std::move(counters))
    , state_(s.max_connections, s.idle_timeout) {}

connection_pool::~connection_pool() = default;

std::unique_ptr<connection> connection_pool::new_connection() {
    return std::make_unique<connection>(io_, tls_, origin_);
}

connection_pool::lease::~lease() {
    if (conn_) pool_->put_back(std::move(conn_), false);
}

void connection_pool::lease::give_back() {
    const bool reusable = conn_->state().is_open();
    pool_->put_back(std::move(conn_), reusable);
}

void connection_pool::put_back(std::unique_ptr<connection> c, bool reusable) {
    asio::post(strand_, [self = shared_from_this(), c = std::move(c), reusable]() mutable {
        if (!reusable || self->state_.closed()) c->close();
        const bool keep = reusable && !self->state_.closed();
        auto handover = self->state_.release(keep ? std::optional(std::move(c)) : std::nullopt,
                                             keep, steady_clock::now());
        if (handover) {
            auto it = self->waiters_.find(handover->first);
            // pool_state only names queued waiters, and every queued waiter is in the map.
            it->second->wake(std::move(handover->second));
            self->waiters_.erase(it);
        }
    });
}

void connection_pool::close() {
    asio::post(strand_, [self = shared_from_this()] {
        auto [conns, ws] = self->state_.close();
        for (auto& c : conns)
            c->close();
        for (auto id : ws) {
            auto it = self->waiters_.find(id);
            if (it != self->waiters_.end()) {
                it->second->wake(grant{grant::kind::wait, std::nullopt}); // "wait" means: closed
                self->waiters_.erase(it);
            }
        }
    });
}

asio::awaitable<result<connection_pool::lease>>
connection_pool::acquire(steady_clock::time_point deadline) {
    co_return co_await asio::co_spawn(strand_, acquire_on_strand(deadline), asio::use_awaitable);
}

asio::awaitable<result<connection_pool::lease>>
connection_pool::acquire_on_strand(steady_clock::time_point deadline) {
    auto self = shared_from_this();
    if (state_.closed()) co_return make_failure(client_errc::shut_down);
    const std::uint64_t id = next_waiter_++;
    std::vector<std::unique_ptr<connection>> expired;
    grant g = state_.acquire(steady_clock::now(), id, expired);
    for (auto& c : expired)
        c->close();

    if (g.what == grant::kind::wait) {
        parked<grant> p(strand_, deadline);
        waiters_.emplace(id, &p);
        const park_end end = co_await p.wait();
        if (end != park_end::woken) {
            waiters_.erase(id);
            state_.cancel_wait(id);
            if (end == park_end::cancelled) co_return make_failure(asio::error::operation_aborted);
            co_return make_failure(transport_errc::timeout,
                                   "waiting for a connection to " + origin_->ep().host_header);
        }
        g = std::move(*p.value());
        if (g.what == grant::kind::wait) co_return make_failure(client_errc::shut_down);
    }
    if (g.what == grant::kind::reuse) {
        // Closed by the server while it sat idle: found now, before a request is written to it,
        // rather than by a failed write or read. The slot is kept; send() connects afresh.
        if ((*g.conn)->peer_gone()) {
            (*g.conn)->close();
            counters_->stale_detected.fetch_add(1, std::memory_order_relaxed);
        }
        co_return lease(self, std::move(*g.conn));
    }
    co_return lease(self, new_connection());
}

asio::awaitable<exchange_result>
connection_pool::send(const std::string& request, steady_clock::time_point deadline, bool fresh) {
    auto l = co_await acquire(deadline);
    if (!l) {
        exchange_result r;
        r.ec = l.error();
        r.detail = l.diag().detail;
        co_return r;
    }
    connection& c = l->conn();
    if (fresh && c.state().is_open()) c.close();
    if (!c.state().is_open()) {
        const auto connect_deadline =
            std::min(deadline, steady_clock::now() + settings_.connect_timeout);
        if (auto ok = co_await c.connect(connect_deadline); !ok) {
            // A connect that ran out of its own time, while the call still has some, is still a
            // timeout: of this step.
            exchange_result r;
            r.ec = ok.error();
            r.detail = ok.diag().detail;
            co_return r;
        }
        counters_->connections_opened.fetch_add(1, std::memory_order_relaxed);
        if (c.resumed()) counters_->tls_resumed.fetch_add(1, std::memory_order_relaxed);
    }
    const bool reused = c.state().requests_served() > 0;
    auto x = co_await c.exchange(request, deadline, settings_.max_reply_bytes);
    x.reused = reused;
    if (!x.ec) l->give_back(); // else the lease drops the connection on its way out
    co_return x;
}

} // namespace codef::detail
