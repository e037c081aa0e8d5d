// A coroutine parked on the client's strand until another strand handler hands it a value, its
// deadline passes, or it is cancelled. Everything here runs on that strand.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace codef::detail {

enum class park_end { woken, timed_out, cancelled };

template <class T>
class parked {
public:
    template <class Executor>
    parked(const Executor& strand, std::chrono::steady_clock::time_point deadline)
        : timer_(strand, deadline) {}

    // Hands the value over. The parked coroutine resumes through the timer's handler, posted:
    // never inline in the caller of wake.
    void wake(T v) {
        value_.emplace(std::move(v));
        timer_.cancel();
    }

    boost::asio::awaitable<park_end> wait() {
        auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (value_) co_return park_end::woken;
        co_return ec == boost::asio::error::operation_aborted ? park_end::cancelled
                                                              : park_end::timed_out;
    }

    std::optional<T>& value() noexcept { return value_; }

private:
    boost::asio::steady_timer timer_;
    std::optional<T> value_;
};

} // namespace codef::detail
