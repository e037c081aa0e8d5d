// The retry decision.
#include "detail/retry_policy.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <algorithm>

namespace codef::detail {

bool is_transient(const attempt_outcome& o) {
    if (!o.ec) {
        return o.http_status == 429 || o.http_status == 502 || o.http_status == 503 ||
               o.http_status == 504;
    }
    // The proxy's answer to CONNECT is its policy: asking again gets the same answer.
    if (o.ec == transport_errc::proxy_refused || o.ec == transport_errc::proxy_auth_required)
        return false;
    switch (kind_of(o.ec)) {
    case error_kind::transport:
    case error_kind::timeout:
        return true;
    case error_kind::tls:
        // A stream truncated by the peer is a network failure; a failed verification is not.
        return o.ec == boost::asio::ssl::error::stream_truncated;
    default:
        return false;
    }
}

retry_budget::retry_budget(double ratio, unsigned floor)
    : ratio_milli_(static_cast<std::int64_t>(ratio * scale))
    , cap_milli_(static_cast<std::int64_t>(floor) * scale)
    , milli_tokens_(cap_milli_) {}

void retry_budget::on_success() noexcept {
    if (ratio_milli_ == 0) return;
    auto cur = milli_tokens_.load(std::memory_order_relaxed);
    while (cur < cap_milli_ &&
           !milli_tokens_.compare_exchange_weak(cur, std::min(cap_milli_, cur + ratio_milli_),
                                                std::memory_order_relaxed)) {
    }
}

bool retry_budget::try_spend() noexcept {
    auto cur = milli_tokens_.load(std::memory_order_relaxed);
    while (cur >= scale) {
        if (milli_tokens_.compare_exchange_weak(cur, cur - scale, std::memory_order_relaxed))
            return true;
    }
    return false;
}

double retry_budget::available() const noexcept {
    return static_cast<double>(milli_tokens_.load(std::memory_order_relaxed)) / scale;
}

std::chrono::milliseconds retry_policy::backoff(unsigned attempts) {
    auto ceiling = s_.initial_backoff;
    for (unsigned i = 1; i < attempts && ceiling < s_.max_backoff; ++i)
        ceiling *= 2;
    ceiling = std::min(ceiling, s_.max_backoff);
    std::uniform_int_distribution<std::int64_t> d(0,
                                                  std::max<std::int64_t>(ceiling.count() - 1, 0));
    return std::chrono::milliseconds(d(rng_));
}

retry_policy::decision retry_policy::decide(unsigned attempts, const attempt_outcome& o,
                                            retry_class rc, std::chrono::milliseconds remaining,
                                            retry_budget* budget) {
    if (attempts >= s_.max_attempts) return {};
    if (!is_transient(o)) return {};
    if (rc == retry_class::non_idempotent && o.request_sent) return {};
    auto delay = backoff(attempts);
    if (o.retry_after) delay = std::max(delay, *o.retry_after);
    if (delay >= remaining) return {};
    if (budget && !budget->try_spend()) return {};
    return {true, delay};
}

} // namespace codef::detail
