// The connection pool's bookkeeping and a connection's life, without sockets: who gets which
// connection, when a new one may be opened, who waits, what has sat idle too long. The shell in
// connection_pool.hpp runs this under its mutex and does the I/O it calls for.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace codef::detail {

using steady_clock = std::chrono::steady_clock;

// One connection's life. Every failure ends it; only a reply read whole, with keep-alive and
// nothing left over, lets it serve again.
class connection_state {
public:
    enum class phase { closed, connecting, ready, sending, receiving, broken };

    phase current() const noexcept { return phase_; }
    bool is_open() const noexcept { return phase_ == phase::ready; }
    std::uint64_t requests_served() const noexcept { return served_; }

    void on_connect_started() { phase_ = phase::connecting; }
    void on_connected() {
        phase_ = phase::ready;
        served_ = 0;
    }
    void on_send_started() { phase_ = phase::sending; }
    void on_reply_started() { phase_ = phase::receiving; }
    // The reply was read whole. keep_alive: the server did not ask to close and no extra bytes
    // came after the reply.
    void on_reply_done(bool keep_alive) {
        ++served_;
        phase_ = keep_alive ? phase::ready : phase::broken;
    }
    void on_error() { phase_ = phase::broken; }
    void on_closed() { phase_ = phase::closed; }

private:
    phase phase_ = phase::closed;
    std::uint64_t served_ = 0;
};

// Slots and waiters of one pool. Conn is whatever the shell uses for a connection (a pointer in
// production, an int in tests); it is movable.
template <class Conn>
class pool_state {
public:
    using waiter_id = std::uint64_t;

    pool_state(std::size_t max_connections, steady_clock::duration idle_timeout)
        : max_(max_connections)
        , idle_timeout_(idle_timeout) {}

    // What a caller gets: an idle connection to reuse, a slot to open a new one in, or a place
    // in the queue.
    struct grant {
        enum class kind { reuse, open_new, wait } what;
        std::optional<Conn> conn; // with reuse
    };

    // Idle connections that sat longer than the idle timeout are put in expired for the shell to
    // close. The most recently used idle connection is reused first, so the others age out.
    grant acquire(steady_clock::time_point now, waiter_id id, std::vector<Conn>& expired) {
        expire_idle(now, expired);
        if (closed_) return {grant::kind::wait, std::nullopt}; // the shell checks closed() first
        if (waiters_.empty()) {
            if (!idle_.empty()) {
                Conn c = std::move(idle_.back().conn);
                idle_.pop_back();
                return {grant::kind::reuse, std::move(c)};
            }
            if (open_ < max_) {
                ++open_;
                return {grant::kind::open_new, std::nullopt};
            }
        }
        waiters_.push_back(id);
        return {grant::kind::wait, std::nullopt};
    }

    // A connection comes back. If someone waits, the first in line gets it (reusable) or its slot
    // (not reusable): the result says whom and what. Otherwise a reusable one goes idle and a
    // broken one frees its slot.
    std::optional<std::pair<waiter_id, grant>> release(std::optional<Conn> c, bool reusable,
                                                       steady_clock::time_point now) {
        if (!reusable || closed_) {
            --open_;
            return grant_slot_to_waiter();
        }
        if (!waiters_.empty()) {
            const waiter_id w = waiters_.front();
            waiters_.pop_front();
            return std::pair{w, grant{grant::kind::reuse, std::move(c)}};
        }
        idle_.push_back({std::move(*c), now});
        return std::nullopt;
    }

    // A waiter gave up (deadline or cancellation). False when it was not queued any more.
    bool cancel_wait(waiter_id id) {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
            if (*it == id) {
                waiters_.erase(it);
                return true;
            }
        }
        return false;
    }

    void expire_idle(steady_clock::time_point now, std::vector<Conn>& expired) {
        while (!idle_.empty() && now - idle_.front().since >= idle_timeout_) {
            expired.push_back(std::move(idle_.front().conn));
            idle_.pop_front();
            --open_;
        }
    }
    // When the oldest idle connection expires; empty without idle connections.
    std::optional<steady_clock::time_point> next_expiry() const {
        if (idle_.empty()) return std::nullopt;
        return idle_.front().since + idle_timeout_;
    }

    // Ends the pool: the idle connections to close, the waiters to fail.
    std::pair<std::vector<Conn>, std::vector<waiter_id>> close() {
        closed_ = true;
        std::vector<Conn> conns;
        for (auto& e : idle_)
            conns.push_back(std::move(e.conn));
        open_ -= idle_.size();
        idle_.clear();
        std::vector<waiter_id> ws(waiters_.begin(), waiters_.end());
        waiters_.clear();
        return {std::move(conns), std::move(ws)};
    }

    bool closed() const noexcept { return closed_; }
    std::size_t open() const noexcept { return open_; }
    std::size_t idle() const noexcept { return idle_.size(); }
    std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    std::optional<std::pair<waiter_id, grant>> grant_slot_to_waiter() {
        if (waiters_.empty() || open_ >= max_ || closed_) return std::nullopt;
        const waiter_id w = waiters_.front();
        waiters_.pop_front();
        ++open_;
        return std::pair{w, grant{grant::kind::open_new, std::nullopt}};
    }

    struct idle_entry {
        Conn conn;
        steady_clock::time_point since;
    };

    std::size_t max_;
    steady_clock::duration idle_timeout_;
    std::size_t open_ = 0;        // connections in use, idle or being opened
    std::deque<idle_entry> idle_; // oldest first
    std::deque<waiter_id> waiters_;
    bool closed_ = false;
};

} // namespace codef::detail
