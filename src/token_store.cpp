// The token store's default refresh, and memory_token_store: one refresh at a time across the
// clients that share it (a lock whose waiters park on timers), and every saved token told to the
// clients that subscribed.
#include <codef/token_store.hpp>

#include "detail/token_listeners.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <mutex>
#include <vector>

namespace asio = boost::asio;

namespace codef {
namespace {

// A kept token will do: not the one being replaced, not refused, valid long enough.
bool will_do(const std::optional<token_info>& kept, const token_request& req) {
    return kept && req.accepts(*kept);
}

std::optional<token_info> load_quietly(token_store& s) {
    try {
        return s.load();
    } catch (...) {
        return std::nullopt; // as nothing kept
    }
}

// Issues a token and keeps it; a store that cannot keep it costs sharing, not the call.
asio::awaitable<result<token_outcome>> issue_and_save(token_store& s, const issue_function& issue) {
    auto t = co_await issue();
    if (!t) co_return t.get_failure();
    try {
        s.save(*t);
    } catch (...) {
    }
    co_return token_outcome{std::move(*t), true, {}};
}

} // namespace

asio::awaitable<result<token_outcome>> token_store::refresh(token_request req,
                                                            issue_function issue) {
    if (!req.forced)
        if (auto kept = load_quietly(*this); will_do(kept, req))
            co_return token_outcome{std::move(*kept), false, {}};
    co_return co_await issue_and_save(*this, issue);
}

void token_store::subscribe(std::weak_ptr<token_listener>) {}

// ---------------------------------------------------------------------------------------------

struct memory_token_store::state {
    // A refresh waiting for the lock, parked on a timer of its own executor (the client's refresh
    // strand) until its turn or its deadline.
    struct waiter {
        waiter(const asio::any_io_executor& ex, std::chrono::steady_clock::time_point deadline)
            : timer(ex, deadline) {}
        asio::steady_timer timer;
        bool granted = false; // under mutex
    };

    std::mutex mutex; // guards what follows
    std::optional<token_info> token;
    detail::token_listeners listeners;
    bool locked = false;
    std::deque<std::shared_ptr<waiter>> queue;

    void unlock() {
        std::shared_ptr<waiter> next;
        {
            std::lock_guard lock(mutex);
            if (queue.empty()) {
                locked = false;
                return;
            }
            next = std::move(queue.front());
            queue.pop_front();
            next->granted = true; // the lock passes to it
        }
        // On the waiter's own strand, where its wait began: never concurrent with it.
        asio::post(next->timer.get_executor(), [next] { next->timer.cancel(); });
    }
};

memory_token_store::memory_token_store()
    : state_(std::make_shared<state>()) {}

memory_token_store::memory_token_store(token_info token)
    : memory_token_store() {
    state_->token = std::move(token);
}

memory_token_store::~memory_token_store() = default;

std::optional<token_info> memory_token_store::load() {
    std::lock_guard lock(state_->mutex);
    return state_->token;
}

void memory_token_store::save(const token_info& token) {
    std::vector<std::shared_ptr<token_listener>> told;
    {
        std::lock_guard lock(state_->mutex);
        state_->token = token;
        told = state_->listeners.alive();
    }
    detail::tell(told, token); // outside the lock: a listener may load() at once
}

void memory_token_store::subscribe(std::weak_ptr<token_listener> listener) {
    std::lock_guard lock(state_->mutex);
    state_->listeners.add(std::move(listener));
}

asio::awaitable<result<token_outcome>> memory_token_store::refresh(token_request req,
                                                                   issue_function issue) {
    auto st = state_;
    const auto ex = co_await asio::this_coro::executor; // does not suspend
    std::shared_ptr<state::waiter> w;
    {
        std::lock_guard lock(st->mutex);
        if (!st->locked) {
            st->locked = true;
        } else {
            w = std::make_shared<state::waiter>(ex, req.deadline);
            st->queue.push_back(w);
        }
    }
    if (w) {
        co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        bool granted = false;
        {
            std::lock_guard lock(st->mutex);
            granted = w->granted;
            if (!granted) std::erase(st->queue, w);
        }
        if (!granted) {
            // The holder's refresh outlived this one's deadline: what is kept may still do.
            if (auto kept = load_quietly(*this); !req.forced && will_do(kept, req))
                co_return token_outcome{std::move(*kept), false, {}};
            co_return make_failure(transport_errc::timeout,
                                   "waiting for another client's token refresh");
        }
    }
    // Holding the lock: another client may have refreshed while this one waited.
    struct unlocker {
        std::shared_ptr<state> st;
        ~unlocker() { st->unlock(); }
    } release{st};
    co_return co_await token_store::refresh(req, issue);
}

} // namespace codef
