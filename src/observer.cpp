// The names of the event enums and the logfmt line of each event (the log hook's text).
#include <codef/observer.hpp>

#include <charconv>
#include <cstdio>

namespace codef {

const char* to_string(path_class c) noexcept {
    switch (c) {
    case path_class::account:
        return "account";
    case path_class::product:
        return "product";
    case path_class::two_way:
        return "two_way";
    }
    return "product";
}

const char* to_string(refresh_reason r) noexcept {
    switch (r) {
    case refresh_reason::first_use:
        return "first_use";
    case refresh_reason::ahead_of_expiry:
        return "ahead_of_expiry";
    case refresh_reason::expired:
        return "expired";
    case refresh_reason::unauthorized:
        return "unauthorized";
    case refresh_reason::forbidden:
        return "forbidden";
    case refresh_reason::forced:
        return "forced";
    }
    return "first_use";
}

const char* to_string(pool_role r) noexcept {
    return r == pool_role::oauth ? "oauth" : "api";
}

const char* to_string(close_reason r) noexcept {
    switch (r) {
    case close_reason::idle_timeout:
        return "idle_timeout";
    case close_reason::stale:
        return "stale";
    case close_reason::not_reusable:
        return "not_reusable";
    case close_reason::failed:
        return "failed";
    case close_reason::shut_down:
        return "shut_down";
    }
    return "failed";
}

const char* to_string(log_level l) noexcept {
    switch (l) {
    case log_level::trace:
        return "trace";
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warning:
        return "warning";
    case log_level::error:
        return "error";
    case log_level::off:
        return "off";
    }
    return "off";
}

namespace {

// A logfmt line: key=value pairs. A value that is not a plain word is quoted, and every byte that
// is not printable ASCII (control characters, a terminal's escapes, bytes of other scripts) is
// written \xNN, so that a line is one line and shows nothing but itself.
class line {
public:
    explicit line(std::string_view event) { out_.append("event=").append(event); }

    line& text(std::string_view key, std::string_view v) {
        key_(key);
        const bool plain = !v.empty() && v.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789._/:-+") == v.npos;
        if (plain) {
            out_.append(v);
            return *this;
        }
        out_ += '"';
        for (const char c : v) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (u < 0x20 || u >= 0x7f) {
                char hex[5];
                std::snprintf(hex, sizeof hex, "\\x%02x", u);
                out_.append(hex);
            } else {
                out_ += c;
            }
        }
        out_ += '"';
        return *this;
    }
    // A string only when it has something.
    line& maybe(std::string_view key, std::string_view v) {
        if (!v.empty()) text(key, v);
        return *this;
    }
    line& number(std::string_view key, std::uint64_t v) {
        key_(key);
        char buf[24];
        out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        return *this;
    }
    line& millis(std::string_view key, std::chrono::nanoseconds d) {
        key_(key);
        char buf[32];
        const int n = std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1e6);
        out_.append(buf, static_cast<std::size_t>(n));
        return *this;
    }
    line& flag(std::string_view key, bool v) { return text(key, v ? "true" : "false"); }
    line& error(const error_code& ec) {
        if (!ec) return *this;
        text("error", to_string(kind_of(ec)));
        return text("reason", ec.message());
    }
    std::string take() { return std::move(out_); }

private:
    void key_(std::string_view k) { out_.append(" ").append(k).append("="); }
    std::string out_;
};

} // namespace

std::string format_event(const call_started_event& e) {
    return line("call_started")
        .text("path", e.path)
        .text("class", to_string(e.kind))
        .maybe("tag", e.tag)
        .take();
}

std::string format_event(const call_finished_event& e) {
    line l("call_finished");
    l.text("path", e.path).text("class", to_string(e.kind)).maybe("tag", e.tag);
    l.number("attempts", e.attempts).number("retries", e.retries);
    if (e.http_status) l.number("status", static_cast<std::uint64_t>(e.http_status));
    l.maybe("code", e.codef_code).maybe("transaction_id", e.transaction_id);
    l.millis("ms", e.duration).number("bytes_out", e.bytes_out).number("bytes_in", e.bytes_in);
    return l.error(e.error).take();
}

std::string format_event(const retry_event& e) {
    line l("retry");
    l.text("path", e.path).maybe("tag", e.tag).number("attempt", e.attempt);
    if (e.http_status) l.number("status", static_cast<std::uint64_t>(e.http_status));
    l.text("cause", to_string(e.reason)).millis("delay_ms", e.delay);
    if (e.error) l.text("reason", e.error.message());
    return l.take();
}

std::string format_event(const token_refresh_started_event& e) {
    return line("token_refresh_started").text("reason", to_string(e.reason)).take();
}

std::string format_event(const token_refresh_finished_event& e) {
    line l("token_refresh_finished");
    l.text("reason", to_string(e.reason)).millis("ms", e.duration);
    l.text("outcome", e.error ? "failed" : e.from_store ? "from_store" : "issued");
    l.maybe("store_note", e.store_note);
    if (e.error) l.text("error", to_string(e.kind_of_error)).text("cause", e.error.message());
    return l.take();
}

std::string format_event(const connection_opened_event& e) {
    return line("connection_opened")
        .text("pool", to_string(e.pool))
        .text("host", e.host)
        .maybe("tag", e.tag)
        .flag("tls_resumed", e.tls_resumed)
        .millis("setup_ms", e.setup)
        .take();
}

std::string format_event(const connection_closed_event& e) {
    return line("connection_closed")
        .text("pool", to_string(e.pool))
        .text("host", e.host)
        .text("reason", to_string(e.reason))
        .number("requests", e.requests_served)
        .take();
}

std::string format_event(const connection_stale_event& e) {
    return line("connection_stale")
        .text("pool", to_string(e.pool))
        .text("host", e.host)
        .maybe("tag", e.tag)
        .take();
}

std::string format_event(const pool_wait_event& e) {
    return line("pool_wait")
        .text("pool", to_string(e.pool))
        .maybe("tag", e.tag)
        .millis("waited_ms", e.waited)
        .flag("granted", e.granted)
        .take();
}

} // namespace codef
