/// @file
/// @brief What a client tells its operator: events for an observer (config::observer), the log
/// hook they feed (config::log) and its levels.
///
/// Threading: events are delivered synchronously, on the thread that does the work, while no
/// lock of the client's is held; calls on several threads deliver events concurrently, so an
/// observer must be thread-safe. A slow observer delays only the call (or refresh, or connection)
/// whose event it is handling. Events never carry a secret, a request body or a reply body: their
/// strings are the path, the caller's tag, the host, and the server's result code and transaction
/// id with every secret the client knows redacted. They are views valid during the callback only.
#pragma once

#include <codef/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace codef {

/// What a path is for, as the metrics group calls.
enum class path_class {
    account, ///< /v1/account/... (registration, the connectedId list)
    product, ///< any other API path
    two_way  ///< a two-way follow-up (is2Way: true)
};
/// The name of c: "account", "product" or "two_way".
const char* to_string(path_class c) noexcept;

/// A call was accepted (after the drain check, before its arguments are checked).
struct call_started_event {
    std::string_view path;                 ///< the API path
    std::string_view tag;                  ///< call_options::tag
    path_class kind = path_class::product; ///< what the path is for
};

/// A call ended: with a reply (error empty; the CODEF result may still be an error) or without.
/// A call refused by a drain (client_errc::draining) has this event alone, with no start.
struct call_finished_event {
    std::string_view path;                       ///< the API path
    std::string_view tag;                        ///< call_options::tag
    path_class kind = path_class::product;       ///< what the path is for
    unsigned attempts = 0;                       ///< attempts sent (0: refused before sending)
    unsigned retries = 0;                        ///< of those, retries after a backoff
    int http_status = 0;                         ///< the last reply's status; 0 without one
    std::string_view codef_code;                 ///< result.code of the reply (redacted), or empty
    std::string_view transaction_id;             ///< result.transactionId (redacted), or empty
    std::chrono::nanoseconds duration{};         ///< from the call's start to its end
    std::size_t bytes_out = 0;                   ///< request bytes (head and body) of every attempt
    std::size_t bytes_in = 0;                    ///< reply body bytes of every attempt
    error_code error;                            ///< empty when a reply was decoded
    error_kind kind_of_error = error_kind::none; ///< kind_of(error)
};

/// A failed attempt will be sent again after a backoff.
struct retry_event {
    std::string_view path;                ///< the API path, or the token endpoint's path
    std::string_view tag;                 ///< call_options::tag (empty for a token request)
    unsigned attempt = 0;                 ///< the attempt that failed (1 for the first)
    int http_status = 0;                  ///< its reply's status, 0 without one
    error_code error;                     ///< its transport or TLS error, empty when a reply came
    error_kind reason = error_kind::none; ///< kind_of(error), or http when a status came
    std::chrono::milliseconds delay{};    ///< the backoff before the next attempt
};

/// Why a token is being issued.
enum class refresh_reason {
    first_use,       ///< the client had none
    ahead_of_expiry, ///< the current one is within config::token_refresh_margin of its expiry
    expired,         ///< the current one expired (or its refresh failed until it did)
    unauthorized,    ///< a call's token got 401
    forbidden,       ///< a call's token got 403 (issued before the permissions changed)
    forced           ///< client::refresh_token
};
/// The name of r: "first_use", "ahead_of_expiry", "expired", "unauthorized", "forbidden",
/// "forced".
const char* to_string(refresh_reason r) noexcept;

/// A token refresh began; one runs at a time, however many calls wait for it.
struct token_refresh_started_event {
    refresh_reason reason = refresh_reason::first_use; ///< why
};

/// A token refresh ended. Delivered before the calls that waited for it go on.
struct token_refresh_finished_event {
    refresh_reason reason = refresh_reason::first_use; ///< why it began
    std::chrono::nanoseconds duration{};               ///< from its start (backoff included)
    bool from_store = false; ///< the token came from config::token_store, not from CODEF
    /// The token store's word on the refresh (token_outcome::note), such as a fallback to
    /// issuing without it; empty mostly.
    std::string_view store_note;
    error_code error;                            ///< empty when a token was had
    error_kind kind_of_error = error_kind::none; ///< kind_of(error)
};

/// Which of the client's two pools a connection belongs to.
enum class pool_role {
    api,  ///< the API host's
    oauth ///< the token endpoint's
};
/// The name of r: "api" or "oauth".
const char* to_string(pool_role r) noexcept;

/// A connection was opened: TCP connected and TLS handshaken.
struct connection_opened_event {
    pool_role pool = pool_role::api;  ///< its pool
    std::string_view host;            ///< host[:port] of the server
    std::string_view tag;             ///< the tag of the call that opened it
    bool tls_resumed = false;         ///< the handshake resumed an earlier session
    std::chrono::nanoseconds setup{}; ///< resolve, connect and handshake together
};

/// Why a connection was closed.
enum class close_reason {
    idle_timeout, ///< unused for config::idle_timeout
    stale,        ///< found closed by the server when taken for reuse
    not_reusable, ///< the server asked to close it, or a reply left it unusable
    failed,       ///< an exchange on it failed
    shut_down     ///< the client closed or drained its pools
};
/// The name of r: "idle_timeout", "stale", "not_reusable", "failed", "shut_down".
const char* to_string(close_reason r) noexcept;

/// A connection was closed.
struct connection_closed_event {
    pool_role pool = pool_role::api;            ///< its pool
    std::string_view host;                      ///< host[:port] of the server
    close_reason reason = close_reason::failed; ///< why
    std::uint64_t requests_served = 0;          ///< replies it carried
};

/// An idle connection was found closed by the server when taken for reuse (it is then closed with
/// close_reason::stale, and the call opens another).
struct connection_stale_event {
    pool_role pool = pool_role::api; ///< its pool
    std::string_view host;           ///< host[:port] of the server
    std::string_view tag;            ///< the tag of the call that found it
};

/// A call waited for a connection because its pool was at config::max_connections.
struct pool_wait_event {
    pool_role pool = pool_role::api;   ///< the pool
    std::string_view tag;              ///< the waiting call's tag
    std::chrono::nanoseconds waited{}; ///< how long
    bool granted = true;               ///< false: the deadline passed or the client shut down
};

/// Receives a client's events (config::observer). Every function has an empty default; override
/// those wanted. Called synchronously on the thread doing the work, concurrently from several
/// threads, with no lock of the client's held: an implementation must be thread-safe, should be
/// quick, and must not throw (an exception is swallowed).
class observer {
public:
    virtual ~observer() = default;
    /// A call was accepted.
    virtual void on_call_started(const call_started_event&) {}
    /// A call ended.
    virtual void on_call_finished(const call_finished_event&) {}
    /// An attempt failed and will be retried after a backoff.
    virtual void on_retry(const retry_event&) {}
    /// A token refresh began.
    virtual void on_token_refresh_started(const token_refresh_started_event&) {}
    /// A token refresh ended.
    virtual void on_token_refresh_finished(const token_refresh_finished_event&) {}
    /// A connection was opened.
    virtual void on_connection_opened(const connection_opened_event&) {}
    /// A connection was closed.
    virtual void on_connection_closed(const connection_closed_event&) {}
    /// An idle connection was found closed by the server before reuse.
    virtual void on_connection_stale(const connection_stale_event&) {}
    /// A call waited for a connection.
    virtual void on_pool_wait(const pool_wait_event&) {}
};

/// Log levels, least severe first.
enum class log_level {
    trace,   ///< connections and pool waits
    debug,   ///< every call and token refresh
    info,    ///< retries, forced refreshes, stale connections
    warning, ///< calls that failed
    error,   ///< token refreshes that failed
    off      ///< nothing
};
/// The name of l: "trace", "debug", "info", "warning", "error", "off".
const char* to_string(log_level l) noexcept;

/// The log hook (config::log): one line for each event at or above config::log_level, in
/// logfmt (`event=call_finished path=/v1/... status=200 code=CF-00000 ms=12.5 ...`). The line
/// is made from an event, so it holds no secret and no body; server strings are quoted with
/// control characters escaped. Threading as for observer.
using log_function = std::function<void(log_level, std::string_view line)>;

/// The logfmt line log_function receives for each event: for an adapter that logs events itself
/// from an observer.
std::string format_event(const call_started_event& e);
/// As above.
std::string format_event(const call_finished_event& e);
/// As above.
std::string format_event(const retry_event& e);
/// As above.
std::string format_event(const token_refresh_started_event& e);
/// As above.
std::string format_event(const token_refresh_finished_event& e);
/// As above.
std::string format_event(const connection_opened_event& e);
/// As above.
std::string format_event(const connection_closed_event& e);
/// As above.
std::string format_event(const connection_stale_event& e);
/// As above.
std::string format_event(const pool_wait_event& e);

} // namespace codef
