// The metrics kept for every event, then the observer and the log line; the snapshot of the
// metrics and its Prometheus text.
#include "detail/telemetry.hpp"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace codef {
namespace detail {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

constexpr std::array<std::int64_t, latency_bounds.size()> bounds_ns = [] {
    std::array<std::int64_t, latency_bounds.size()> b{};
    for (std::size_t i = 0; i < b.size(); ++i)
        b[i] = static_cast<std::int64_t>(latency_bounds[i] * 1e9);
    return b;
}();

std::size_t index_of(path_class c) noexcept {
    return static_cast<std::size_t>(c);
}

// The refresh outcome: issued by CODEF, taken from the store, or failed.
std::size_t refresh_outcome(const token_refresh_finished_event& e) noexcept {
    return e.error ? 2 : e.from_store ? 1 : 0;
}

} // namespace

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count() < 0 ? 0 : d.count();
    std::size_t i = 0;
    while (i < bounds_ns.size() && ns > bounds_ns[i])
        ++i;
    counts_[i].fetch_add(1, relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), relaxed);
}

std::uint64_t latency_histogram::count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : counts_)
        n += c.load(relaxed);
    return n;
}

metric_series latency_histogram::read(std::vector<metric_label> labels) const {
    metric_series s;
    s.labels = std::move(labels);
    s.buckets.reserve(counts_.size());
    std::uint64_t total = 0;
    for (const auto& c : counts_) {
        total += c.load(relaxed);
        s.buckets.push_back(total);
    }
    s.value = static_cast<double>(sum_ns_.load(relaxed)) / 1e9;
    return s;
}

call_outcome outcome_of(const call_finished_event& e) noexcept {
    switch (e.kind_of_error) {
    case error_kind::none:
        return e.codef_code == "CF-00000" ? call_outcome::ok : call_outcome::codef_error;
    case error_kind::client:
        return call_outcome::client;
    case error_kind::protocol:
        return call_outcome::protocol;
    case error_kind::http:
        return call_outcome::http;
    case error_kind::tls:
        return call_outcome::tls;
    case error_kind::timeout:
        return call_outcome::timeout;
    case error_kind::cancelled:
        return call_outcome::cancelled;
    case error_kind::transport:
        return call_outcome::transport;
    }
    return call_outcome::transport;
}

const char* to_string(call_outcome o) noexcept {
    constexpr const char* names[call_outcome_count] = {"ok",       "codef_error", "client",
                                                       "protocol", "http",        "tls",
                                                       "timeout",  "cancelled",   "transport"};
    return names[static_cast<std::size_t>(o)];
}

telemetry::telemetry(std::shared_ptr<observer> obs, log_function log, log_level level)
    : observer_(std::move(obs))
    , log_(std::move(log))
    , level_(level)
    , observed_(observer_ || (log_ && level_ != log_level::off)) {}

template <class Event, class Method>
void telemetry::deliver(const Event& e, log_level level, Method method) {
    // A throwing observer or log hook must not break the call, nor leave the client's state
    // half-changed: the exception is dropped here.
    if (observer_) {
        try {
            ((*observer_).*method)(e);
        } catch (...) {
        }
    }
    if (log_ && level >= level_ && level_ != log_level::off) {
        try {
            log_(level, format_event(e));
        } catch (...) {
        }
    }
}

void telemetry::call_started(const call_started_event& e) {
    if (observed_) deliver(e, log_level::trace, &observer::on_call_started);
}

void telemetry::call_finished(const call_finished_event& e) {
    const auto c = index_of(e.kind);
    const auto o = outcome_of(e);
    calls_[c][static_cast<std::size_t>(o)].observe(e.duration);
    bytes_out_[c].fetch_add(e.bytes_out, relaxed);
    bytes_in_[c].fetch_add(e.bytes_in, relaxed);
    if (e.retries > 0) retries_[c].fetch_add(e.retries, relaxed);
    if (!observed_) return;
    const bool failed = o != call_outcome::ok && o != call_outcome::codef_error;
    deliver(e, failed ? log_level::warning : log_level::debug, &observer::on_call_finished);
}

void telemetry::retry(const retry_event& e, bool token_request) {
    // A call's own retries are counted when it finishes (its class is known then); a token
    // request's here.
    if (token_request) retries_[classes].fetch_add(1, relaxed);
    if (observed_) deliver(e, log_level::info, &observer::on_retry);
}

void telemetry::refresh_started(const token_refresh_started_event& e) {
    if (observed_)
        deliver(e, e.reason == refresh_reason::first_use ? log_level::debug : log_level::info,
                &observer::on_token_refresh_started);
}

void telemetry::refresh_finished(const token_refresh_finished_event& e) {
    refreshes_[static_cast<std::size_t>(e.reason)][refresh_outcome(e)].fetch_add(1, relaxed);
    refresh_latency_.observe(e.duration);
    if (observed_)
        deliver(e, e.error ? log_level::error : log_level::info,
                &observer::on_token_refresh_finished);
}

void telemetry::connection_opened(const connection_opened_event& e) {
    const auto p = static_cast<std::size_t>(e.pool);
    opened_[p][e.tls_resumed ? 1 : 0].fetch_add(1, relaxed);
    setup_latency_[p].observe(e.setup);
    if (observed_) deliver(e, log_level::trace, &observer::on_connection_opened);
}

void telemetry::connection_closed(const connection_closed_event& e) {
    closed_[static_cast<std::size_t>(e.pool)][static_cast<std::size_t>(e.reason)].fetch_add(
        1, relaxed);
    if (observed_) deliver(e, log_level::trace, &observer::on_connection_closed);
}

void telemetry::connection_stale(const connection_stale_event& e) {
    stale_[static_cast<std::size_t>(e.pool)].fetch_add(1, relaxed);
    if (observed_) deliver(e, log_level::info, &observer::on_connection_stale);
}

void telemetry::pool_wait(const pool_wait_event& e) {
    pool_waits_[static_cast<std::size_t>(e.pool)][e.granted ? 0 : 1].observe(e.waited);
    if (observed_) deliver(e, log_level::trace, &observer::on_pool_wait);
}

metrics_snapshot telemetry::snapshot(std::uint64_t calls_in_flight) const {
    metrics_snapshot s;
    // family() hands out references into families: no growth may move them.
    s.families.reserve(16);
    const std::vector<double> bounds(latency_bounds.begin(), latency_bounds.end());
    auto family = [&](const char* name, const char* help, metric_type type) -> metric_family& {
        metric_family f;
        f.name = name;
        f.help = help;
        f.type = type;
        if (type == metric_type::histogram) f.bounds = bounds;
        assert(s.families.size() < s.families.capacity());
        s.families.push_back(std::move(f));
        return s.families.back();
    };
    auto counter = [](std::vector<metric_label> labels, std::uint64_t v) {
        metric_series x;
        x.labels = std::move(labels);
        x.value = static_cast<double>(v);
        return x;
    };
    constexpr path_class all_classes[] = {path_class::account, path_class::product,
                                          path_class::two_way};
    constexpr pool_role all_pools[] = {pool_role::api, pool_role::oauth};

    auto& calls = family("codef_calls_total", "Calls ended, by path class and outcome.",
                         metric_type::counter);
    auto& latency =
        family("codef_call_duration_seconds",
               "Call duration (pool wait, token, connect, exchanges and retries together).",
               metric_type::histogram);
    for (const auto c : all_classes)
        for (std::size_t o = 0; o < call_outcome_count; ++o) {
            std::vector<metric_label> labels{{"class", to_string(c)},
                                             {"outcome", to_string(static_cast<call_outcome>(o))}};
            const auto& h = calls_[index_of(c)][o];
            calls.series.push_back(counter(labels, h.count()));
            latency.series.push_back(h.read(std::move(labels)));
        }
    auto& in_flight =
        family("codef_calls_in_flight", "Calls started and not yet ended.", metric_type::gauge);
    in_flight.series.push_back(counter({}, calls_in_flight));
    auto& retries = family("codef_retries_total",
                           "Attempts sent again after a backoff, by path class (token: token "
                           "requests).",
                           metric_type::counter);
    for (const auto c : all_classes)
        retries.series.push_back(
            counter({{"class", to_string(c)}}, retries_[index_of(c)].load(relaxed)));
    retries.series.push_back(counter({{"class", "token"}}, retries_[classes].load(relaxed)));
    auto& out = family("codef_request_bytes_total", "Request bytes written, head and body.",
                       metric_type::counter);
    auto& in =
        family("codef_reply_body_bytes_total", "Reply body bytes read.", metric_type::counter);
    for (const auto c : all_classes) {
        out.series.push_back(
            counter({{"class", to_string(c)}}, bytes_out_[index_of(c)].load(relaxed)));
        in.series.push_back(
            counter({{"class", to_string(c)}}, bytes_in_[index_of(c)].load(relaxed)));
    }

    auto& refreshes = family("codef_token_refreshes_total",
                             "Token refreshes ended, by reason and outcome (issued by CODEF, "
                             "from_store, failed).",
                             metric_type::counter);
    constexpr const char* refresh_outcomes[] = {"issued", "from_store", "failed"};
    for (std::size_t r = 0; r < reasons; ++r)
        for (std::size_t o = 0; o < 3; ++o)
            refreshes.series.push_back(
                counter({{"reason", to_string(static_cast<refresh_reason>(r))},
                         {"outcome", refresh_outcomes[o]}},
                        refreshes_[r][o].load(relaxed)));
    family("codef_token_refresh_duration_seconds", "Token refresh duration, backoff included.",
           metric_type::histogram)
        .series.push_back(refresh_latency_.read({}));

    auto& opened = family("codef_connections_opened_total",
                          "Connections opened, by pool and whether TLS resumed a session.",
                          metric_type::counter);
    auto& setup = family("codef_connection_setup_seconds",
                         "Resolve, TCP connect and TLS handshake of a new connection.",
                         metric_type::histogram);
    auto& closed = family("codef_connections_closed_total", "Connections closed, by reason.",
                          metric_type::counter);
    auto& stale =
        family("codef_connections_stale_total",
               "Idle connections found closed by the server before reuse.", metric_type::counter);
    auto& waits = family("codef_pool_wait_seconds",
                         "Time calls waited for a connection at the pool's limit, by outcome.",
                         metric_type::histogram);
    for (const auto p : all_pools) {
        const auto i = static_cast<std::size_t>(p);
        for (int resumed = 0; resumed < 2; ++resumed)
            opened.series.push_back(
                counter({{"pool", to_string(p)}, {"resumed", resumed ? "true" : "false"}},
                        opened_[i][static_cast<std::size_t>(resumed)].load(relaxed)));
        setup.series.push_back(setup_latency_[i].read({{"pool", to_string(p)}}));
        for (std::size_t r = 0; r < closes; ++r)
            closed.series.push_back(counter(
                {{"pool", to_string(p)}, {"reason", to_string(static_cast<close_reason>(r))}},
                closed_[i][r].load(relaxed)));
        stale.series.push_back(counter({{"pool", to_string(p)}}, stale_[i].load(relaxed)));
        waits.series.push_back(
            pool_waits_[i][0].read({{"pool", to_string(p)}, {"outcome", "granted"}}));
        waits.series.push_back(
            pool_waits_[i][1].read({{"pool", to_string(p)}, {"outcome", "not_granted"}}));
    }
    return s;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------

const metric_family* metrics_snapshot::find(std::string_view name) const noexcept {
    for (const auto& f : families)
        if (f.name == name) return &f;
    return nullptr;
}

double metrics_snapshot::sum(std::string_view name, const std::vector<metric_label>& match) const {
    const auto* f = find(name);
    if (!f) return 0;
    double total = 0;
    for (const auto& s : f->series) {
        bool all = true;
        for (const auto& m : match) {
            bool found = false;
            for (const auto& l : s.labels)
                found = found || l == m;
            all = all && found;
        }
        if (!all) continue;
        total += f->type == metric_type::histogram
                     ? (s.buckets.empty() ? 0.0 : static_cast<double>(s.buckets.back()))
                     : s.value;
    }
    return total;
}

namespace {

// A number as the exposition format writes it: integers without a fraction, +Inf.
void append_number(std::string& out, double v) {
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[40];
    const double whole = std::floor(v);
    const int n = whole == v && std::fabs(v) < 1e15 ? std::snprintf(buf, sizeof buf, "%.0f", v)
                                                    : std::snprintf(buf, sizeof buf, "%.9g", v);
    out.append(buf, static_cast<std::size_t>(n));
}

// A label value escaped as the format wants: backslash, double quote and line feed.
void append_labels(std::string& out, const std::vector<metric_label>& labels,
                   const char* extra_name = nullptr, const std::string& extra_value = {}) {
    if (labels.empty() && !extra_name) return;
    out += '{';
    bool first = true;
    auto one = [&](const std::string& k, const std::string& v) {
        if (!first) out += ',';
        first = false;
        out.append(k).append("=\"");
        for (const char c : v) {
            if (c == '\\' || c == '"') {
                out += '\\';
                out += c;
            } else if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        }
        out += '"';
    };
    for (const auto& [k, v] : labels)
        one(k, v);
    if (extra_name) one(extra_name, extra_value);
    out += '}';
}

} // namespace

std::string to_prometheus(const metrics_snapshot& s) {
    std::string out;
    out.reserve(16 * 1024);
    for (const auto& f : s.families) {
        out.append("# HELP ").append(f.name).append(" ");
        for (const char c : f.help) {
            if (c == '\\')
                out += "\\\\";
            else if (c == '\n')
                out += "\\n";
            else
                out += c;
        }
        out.append("\n# TYPE ").append(f.name).append(" ");
        out.append(f.type == metric_type::counter ? "counter"
                   : f.type == metric_type::gauge ? "gauge"
                                                  : "histogram");
        out += '\n';
        for (const auto& x : f.series) {
            if (f.type != metric_type::histogram) {
                out.append(f.name);
                append_labels(out, x.labels);
                out += ' ';
                append_number(out, x.value);
                out += '\n';
                continue;
            }
            for (std::size_t i = 0; i < x.buckets.size(); ++i) {
                std::string le;
                if (i < f.bounds.size())
                    append_number(le, f.bounds[i]);
                else
                    le = "+Inf";
                out.append(f.name).append("_bucket");
                append_labels(out, x.labels, "le", le);
                out += ' ';
                append_number(out, static_cast<double>(x.buckets[i]));
                out += '\n';
            }
            out.append(f.name).append("_sum");
            append_labels(out, x.labels);
            out += ' ';
            append_number(out, x.value);
            out.append("\n").append(f.name).append("_count");
            append_labels(out, x.labels);
            out += ' ';
            append_number(out, x.buckets.empty() ? 0.0 : static_cast<double>(x.buckets.back()));
            out += '\n';
        }
    }
    return out;
}

} // namespace codef
