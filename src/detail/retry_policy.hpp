// Whether and when a failed attempt is tried again: attempt and time limits, exponential backoff
// with full jitter, Retry-After, idempotency, and a client-wide budget. No I/O, no clock reads.
#pragma once

#include <codef/config.hpp>
#include <codef/error.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace codef::detail {

enum class retry_class { idempotent, non_idempotent };

// What one attempt came to, as far as retrying cares.
struct attempt_outcome {
    error_code ec;             // transport, TLS, protocol or client error; empty when a reply came
    int http_status = 0;       // the reply's status, 0 without a reply
    bool request_sent = false; // any byte of the request was written
    std::optional<std::chrono::milliseconds> retry_after; // from the reply's Retry-After
};

// True for failures that may pass: 429, 502, 503, 504 and transport errors. TLS verification
// failures, a proxy's refusal of CONNECT (proxy_refused, proxy_auth_required), protocol errors,
// client refusals and cancellation are permanent.
bool is_transient(const attempt_outcome& o);

// Retries may add at most ratio x successes (plus a floor) to the calls made. Thread-safe.
class retry_budget {
public:
    retry_budget(double ratio, unsigned floor);
    void on_success() noexcept;
    bool try_spend() noexcept;
    double available() const noexcept;

private:
    static constexpr std::int64_t scale = 1000;
    std::int64_t ratio_milli_;
    std::int64_t cap_milli_;
    std::atomic<std::int64_t> milli_tokens_;
};

class retry_policy {
public:
    retry_policy(const retry_settings& s, std::uint64_t seed)
        : s_(s)
        , rng_(seed) {}

    struct decision {
        bool retry = false;
        std::chrono::milliseconds delay{0};
    };
    // attempts: how many were made so far (1 after the first). remaining: time left before the
    // call's deadline. budget may be null (no budget).
    decision decide(unsigned attempts, const attempt_outcome& o, retry_class rc,
                    std::chrono::milliseconds remaining, retry_budget* budget);

    // The jittered backoff before attempt number attempts + 1.
    std::chrono::milliseconds backoff(unsigned attempts);

private:
    retry_settings s_;
    std::minstd_rand rng_;
};

} // namespace codef::detail
