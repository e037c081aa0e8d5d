// Where a client's events go: the built-in metrics (always, relaxed atomics), then the observer
// and the log hook when set. Events are delivered on the caller's thread with no lock held; no
// I/O, so it is unit-tested on its own.
#pragma once

#include <codef/metrics.hpp>
#include <codef/observer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace codef::detail {

// Latency buckets, in seconds: from a loopback call to the real CODEF's slowest products.
inline constexpr std::array<double, 14> latency_bounds = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120};

class latency_histogram {
public:
    void observe(std::chrono::nanoseconds d) noexcept;
    // Cumulative counts at or below each bound, then the total; and the sum in seconds.
    metric_series read(std::vector<metric_label> labels) const;
    std::uint64_t count() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, latency_bounds.size() + 1> counts_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

// A call's outcome as the metrics label it: a reply (CODEF success or not), or its error's kind.
enum class call_outcome {
    ok,
    codef_error,
    client,
    protocol,
    http,
    tls,
    timeout,
    cancelled,
    transport
};
inline constexpr std::size_t call_outcome_count = 9;
call_outcome outcome_of(const call_finished_event& e) noexcept;
const char* to_string(call_outcome o) noexcept;

class telemetry {
public:
    telemetry(std::shared_ptr<observer> obs, log_function log, log_level level);

    // Whether anything besides the metrics receives events: when false, callers skip building
    // the events that only an observer or the log would read.
    bool observed() const noexcept { return observed_; }

    void call_started(const call_started_event& e);
    void call_finished(const call_finished_event& e);
    void retry(const retry_event& e, bool token_request);
    void refresh_started(const token_refresh_started_event& e);
    void refresh_finished(const token_refresh_finished_event& e);
    void connection_opened(const connection_opened_event& e);
    void connection_closed(const connection_closed_event& e);
    void connection_stale(const connection_stale_event& e);
    void pool_wait(const pool_wait_event& e);

    metrics_snapshot snapshot(std::uint64_t calls_in_flight) const;

private:
    template <class Event, class Method>
    void deliver(const Event& e, log_level level, Method method);

    std::shared_ptr<observer> observer_;
    log_function log_;
    log_level level_;
    bool observed_;

    static constexpr std::size_t classes = 3, reasons = 6, closes = 5, pools = 2;
    std::array<std::array<latency_histogram, call_outcome_count>, classes> calls_;
    std::array<std::atomic<std::uint64_t>, classes + 1> retries_{}; // + token requests
    std::array<std::atomic<std::uint64_t>, classes> bytes_out_{}, bytes_in_{};
    // Refreshes by reason and outcome: issued by CODEF, taken from the store, failed.
    std::array<std::array<std::atomic<std::uint64_t>, 3>, reasons> refreshes_{};
    latency_histogram refresh_latency_;
    std::array<std::array<std::atomic<std::uint64_t>, 2>, pools> opened_{}; // by resumed
    std::array<latency_histogram, pools> setup_latency_;
    std::array<std::array<std::atomic<std::uint64_t>, closes>, pools> closed_{};
    std::array<std::atomic<std::uint64_t>, pools> stale_{};
    std::array<std::array<latency_histogram, 2>, pools> pool_waits_; // granted, not
};

} // namespace codef::detail
