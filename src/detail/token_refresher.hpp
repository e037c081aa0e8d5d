// The single-flight token refresher: however many calls need a new token at once, one request is
// made and all of them get its outcome. token_state decides; this shell runs it on the client's
// strand, parks the waiters and runs the one refresh on its own.
#pragma once

#include "detail/parked.hpp"
#include "detail/telemetry.hpp"
#include "detail/token_state.hpp"

#include <codef/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

namespace codef::detail {

class token_refresher : public std::enable_shared_from_this<token_refresher> {
public:
    using strand_type = boost::asio::strand<boost::asio::any_io_executor>;
    // Issues one token; the refresher gives it the deadline of one token request.
    using fetch_fn = std::function<boost::asio::awaitable<result<token>>(steady_clock::time_point)>;
    using clock_fn = std::function<wall_clock::time_point()>;

    // Refreshes are told to tel (null: to nobody).
    token_refresher(strand_type strand, boost::asio::any_io_executor io, token_state state,
                    fetch_fn fetch, clock_fn clock, std::chrono::milliseconds fetch_timeout,
                    std::shared_ptr<telemetry> tel = nullptr);

    // A token of at least min_generation (0: any usable one), waiting until deadline at most.
    // Waiting ends with the refresh's own error if it fails. Call from any executor. why: the
    // reason to give a refresh that min_generation forces (a 401, a 403, a forced reissue).
    boost::asio::awaitable<result<token_ptr>>
    get(std::uint64_t min_generation, steady_clock::time_point deadline,
        refresh_reason why = refresh_reason::unauthorized);

    // A token obtained elsewhere (config::token_store told of it): installed when no refresh is
    // running and it is newer than the current one, then taken() is called. Any thread.
    void offer(token t, std::function<void()> taken);

    // Fails the waiters and cancels the refresh in flight. No timer is left behind: a token past
    // its refresh margin is refreshed by the next call that asks for it, in the background while
    // the old one still serves, so an io_context runs out of work when the calls are done.
    void close();

    std::uint64_t refreshes_started() const noexcept { return started_.load(); }
    // The generation of the newest token issued (0: none yet).
    std::uint64_t newest_generation() const noexcept { return newest_.load(); }
    // Calls that found their token without visiting the strand.
    std::uint64_t fast_hits() const noexcept { return fast_hits_.load(); }

private:
    boost::asio::awaitable<result<token_ptr>> get_on_strand(std::uint64_t min_generation,
                                                            steady_clock::time_point deadline,
                                                            refresh_reason why);
    void start_refresh(refresh_reason why);
    void on_fetched(result<token> r);
    void publish(); // on the strand, after the state changed

    strand_type strand_;
    boost::asio::any_io_executor io_;
    strand_type refresh_strand_; // where the one refresh runs
    fetch_fn fetch_;
    clock_fn clock_;
    std::chrono::milliseconds fetch_timeout_;
    std::shared_ptr<telemetry> telemetry_;
    std::atomic<std::uint64_t> started_{0};
    std::atomic<std::uint64_t> fast_hits_{0};
    std::atomic<std::uint64_t> newest_{0};

    // What the strand last decided, for calls to read without a visit: a token any call may use
    // until refresh_at. Empty while no token may be used that way (none yet, one rejected by a
    // 401, one past its refresh margin). Only the strand stores it.
    struct snapshot {
        token_ptr tok;
        wall_clock::time_point refresh_at;
    };
    // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's lock-bit implementation of the
    // latter reads as a race to ThreadSanitizer, and an uncontended lock costs about as much.
    mutable std::mutex published_mutex_;
    std::shared_ptr<const snapshot> published_;
    std::shared_ptr<const snapshot> published() const;
    void set_published(std::shared_ptr<const snapshot> s);

    // On the strand only:
    std::shared_ptr<boost::asio::cancellation_signal> cancel_; // of the newest refresh
    token_state state_;
    std::list<parked<result<token_ptr>>*> waiters_;
    bool closed_ = false;
};

} // namespace codef::detail
