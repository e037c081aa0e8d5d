// The refresher shell. The refresh runs detached on a strand of its own: no caller owns it, so a
// caller that gives up (deadline, cancellation) never cancels it for the others. Closing the
// refresher cancels it: a client that is gone leaves no token request behind.
#include "detail/token_refresher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace codef::detail {

token_refresher::token_refresher(strand_type strand, asio::any_io_executor io, token_state state,
                                 fetch_fn fetch, clock_fn clock,
                                 std::chrono::milliseconds fetch_timeout,
                                 std::shared_ptr<telemetry> tel)
    : strand_(std::move(strand))
    , io_(std::move(io))
    , refresh_strand_(asio::make_strand(io_))
    , fetch_(std::move(fetch))
    , clock_(std::move(clock))
    , fetch_timeout_(fetch_timeout)
    , telemetry_(std::move(tel))
    , state_(std::move(state)) {}

asio::awaitable<result<token_ptr>> token_refresher::get(std::uint64_t min_generation,
                                                        steady_clock::time_point deadline,
                                                        refresh_reason why) {
    // Steady traffic: the token is fresh and nobody saw it rejected; no need to queue on the
    // strand. Everything else (no token, a 401, the refresh margin) is decided there.
    if (const auto snap = published();
        snap && snap->tok->generation >= min_generation && clock_() < snap->refresh_at) {
        fast_hits_.fetch_add(1, std::memory_order_relaxed);
        co_return snap->tok;
    }
    co_return co_await asio::co_spawn(strand_, get_on_strand(min_generation, deadline, why),
                                      asio::use_awaitable);
}

asio::awaitable<result<token_ptr>> token_refresher::get_on_strand(std::uint64_t min_generation,
                                                                  steady_clock::time_point deadline,
                                                                  refresh_reason why) {
    auto self = shared_from_this();
    if (closed_) co_return make_failure(client_errc::shut_down);
    const auto& held = state_.current();
    // Why a refresh starts, if one does: the caller's reason when it needs a newer token than the
    // one held, else the state of the one held.
    const refresh_reason reason = !held                               ? refresh_reason::first_use
                                  : min_generation > held->generation ? why
                                                                      : refresh_reason::expired;
    const auto verdict = state_.on_request(clock_(), min_generation);
    publish(); // a 401 raised the generation everyone needs, or the margin was reached
    switch (verdict) {
    case token_state::verdict::use:
        co_return state_.current();
    case token_state::verdict::use_and_refresh:
        start_refresh(refresh_reason::ahead_of_expiry);
        co_return state_.current();
    case token_state::verdict::refresh_and_wait:
        start_refresh(reason);
        break;
    case token_state::verdict::wait:
        break;
    }
    parked<result<token_ptr>> p(strand_, deadline);
    auto pos = waiters_.insert(waiters_.end(), &p);
    const park_end end = co_await p.wait();
    if (end == park_end::woken) co_return std::move(*p.value());
    waiters_.erase(pos);
    if (end == park_end::cancelled) co_return make_failure(asio::error::operation_aborted);
    co_return make_failure(transport_errc::timeout, "waiting for an access token");
}

void token_refresher::start_refresh(refresh_reason why) {
    state_.on_refresh_started();
    started_.fetch_add(1, std::memory_order_relaxed);
    const auto delay = state_.refresh_delay(clock_());
    auto run = [self = shared_from_this(), delay, why]() -> asio::awaitable<void> {
        // Told here, on the refresh's own strand: an observer never holds up the waiters' strand.
        const auto started = steady_clock::now();
        if (self->telemetry_) self->telemetry_->refresh_started({why});
        if (delay.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, delay);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        result<token> r = make_failure(client_errc::shut_down);
        try {
            r = co_await self->fetch_(steady_clock::now() + self->fetch_timeout_);
        } catch (const boost::system::system_error& e) {
            r = make_failure(e.code());
        } catch (const std::exception&) {
            // Waiters must hear of it, or they would wait out their deadlines.
            r = make_failure(make_error_code(boost::system::errc::state_not_recoverable),
                             "the token refresh failed unexpectedly");
        }
        if (self->telemetry_) {
            token_refresh_finished_event e;
            e.reason = why;
            e.duration = steady_clock::now() - started;
            e.from_store = r && r->from_store;
            if (r) e.store_note = r->note;
            if (!r) {
                e.error = r.error();
                e.kind_of_error = kind_of(e.error);
            }
            self->telemetry_->refresh_finished(e);
        }
        asio::post(self->strand_,
                   [self, r = std::move(r)]() mutable { self->on_fetched(std::move(r)); });
    };
    // A signal per refresh: its slot is filled here and emptied on the refresh's strand when the
    // refresh ends, so two refreshes must not share one.
    cancel_ = std::make_shared<asio::cancellation_signal>();
    asio::co_spawn(refresh_strand_, std::move(run),
                   asio::bind_cancellation_slot(cancel_->slot(), [keep = cancel_](auto&&...) {}));
}

void token_refresher::on_fetched(result<token> r) {
    result<token_ptr> outcome = make_failure(client_errc::shut_down);
    if (r) {
        auto tok = state_.on_refresh_succeeded(std::move(*r));
        newest_.store(tok->generation);
        outcome = std::move(tok);
    } else {
        state_.on_refresh_failed(clock_());
        outcome = r.get_failure();
    }
    publish();
    // Every waiter asked for a token newer than what it had; the one just issued is the newest.
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto* w : waiters)
        w->wake(outcome);
}

void token_refresher::offer(token t, std::function<void()> taken) {
    asio::post(strand_,
               [self = shared_from_this(), t = std::move(t), taken = std::move(taken)]() mutable {
                   if (self->closed_) return;
                   auto tok = self->state_.on_offered(std::move(t), self->clock_());
                   if (!tok) return;
                   self->newest_.store(tok->generation);
                   self->publish();
                   taken();
               });
}

std::shared_ptr<const token_refresher::snapshot> token_refresher::published() const {
    std::lock_guard lock(published_mutex_);
    return published_;
}

void token_refresher::set_published(std::shared_ptr<const snapshot> s) {
    std::lock_guard lock(published_mutex_);
    published_ = std::move(s);
}

void token_refresher::publish() {
    const auto now = clock_();
    if (state_.usable_by_anyone(now) && !state_.refreshing()) {
        auto snap = std::make_shared<const snapshot>(
            snapshot{state_.current(), state_.background_refresh_at()});
        set_published(std::move(snap));
    } else {
        set_published(nullptr);
    }
}

void token_refresher::close() {
    asio::post(strand_, [self = shared_from_this()] {
        self->closed_ = true;
        // The refresh in flight, if any, ends now: its connect, handshake, write, read or backoff
        // is cancelled where it stands (on its own strand, where the signal may be emitted).
        if (self->state_.refreshing() && self->cancel_)
            asio::post(self->refresh_strand_,
                       [sig = self->cancel_] { sig->emit(asio::cancellation_type::terminal); });
        self->set_published(nullptr);
        auto waiters = std::move(self->waiters_);
        self->waiters_.clear();
        for (auto* w : waiters)
            w->wake(make_failure(client_errc::shut_down));
    });
}

} // namespace codef::detail
