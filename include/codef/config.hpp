/// @file
/// @brief The client's settings: a plain aggregate, checked once when a client is made.
#pragma once

#include <codef/error.hpp>
#include <codef/observer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace codef {

/// The CODEF environment a client talks to; each has its own API base URL (api_url_of).
enum class environment {
    sandbox,     ///< https://sandbox.codef.io, with the public sandbox credentials by default
    development, ///< https://development.codef.io
    production   ///< https://api.codef.io
};

/// The public sandbox client id printed in every official library.
inline constexpr const char* sandbox_client_id = "ef27cfaa-10c1-4470-adac-60ba476273f9";
/// The public sandbox client secret printed in every official library.
inline constexpr const char* sandbox_client_secret = "83160c33-9045-4915-86d8-809473cdf5c3";
/// The token endpoint used when config::oauth_url is empty.
inline constexpr const char* default_oauth_url = "https://oauth.codef.io/oauth/token";

/// The API base URL of an environment.
const char* api_url_of(environment env) noexcept;

/// When and how often a failed call is tried again (which failures are: README, "How it behaves").
struct retry_settings {
    unsigned max_attempts = 3;                      ///< attempts per call, the first included
    std::chrono::milliseconds initial_backoff{100}; ///< full jitter: a random wait in [0, backoff)
    /// The ceiling of the backoff, which doubles from initial_backoff with each attempt up to this.
    std::chrono::milliseconds max_backoff{5000};
    /// The client-wide budget: retries may add at most this fraction to the calls that succeed,
    /// plus a floor, so that an outage is not multiplied by max_attempts.
    double budget_ratio = 0.1;
    /// The budget's floor: the retries it holds when full, as it is at the start. Each call that
    /// succeeds adds budget_ratio of a retry, up to this; each retry takes one.
    unsigned budget_floor = 20;
};

/// An HTTP proxy that the client reaches its hosts through, with CONNECT tunnels: TLS still runs
/// end to end with the CODEF host (its name is what is verified, never the proxy's).
struct proxy_settings {
    /// The proxy: http://host[:port] (port 80 when left out; an IPv6 address in brackets). It may
    /// hold user:password@ (percent-encoded), which username and password override. Only http://
    /// proxies. Empty: no proxy, unless from_environment.
    std::string url;
    /// The user name of the proxy's Basic authentication; set, it overrides the URL's.
    std::string username;
    /// The password of the proxy's Basic authentication; set, it overrides the URL's. A secret:
    /// never in an error, a log or an exception.
    std::string password;
    /// Read the environment as curl does. When url is empty, the proxy is the first of
    /// https_proxy, HTTPS_PROXY, all_proxy and ALL_PROXY that is set (http:// or a bare
    /// host:port). Either way, no_proxy (else NO_PROXY) lists the hosts reached directly: entries
    /// separated by commas or spaces; "*" alone matches every host; an entry matches its host
    /// exactly or as a domain suffix on a label boundary, with or without a leading dot; an IP
    /// address matches only itself; an entry's ":port" is ignored. Read once, when a client is
    /// made (validate reads it too).
    bool from_environment = false;
};

class token_store;

/// The client's settings. Every field has a default; a client checks them once, when it is made
/// (validate).
struct config {
    environment env = environment::sandbox; ///< the environment, and so the API base URL
    std::string api_url;   ///< overrides the environment's base URL (a proxy, the emulator)
    std::string oauth_url; ///< empty: default_oauth_url

    /// The client id. Empty in the sandbox: the public sandbox credentials. Required otherwise.
    std::string client_id;
    /// The client secret; empty exactly when client_id is.
    std::string client_secret;

    /// Base64 of the RSA SubjectPublicKeyInfo DER, as the CODEF dashboard shows it. Needed to
    /// send passwords.
    std::string public_key;

    /// A PEM file of CAs trusted in addition to the system's (ca_file, ca_pem, or both).
    std::string ca_file;
    /// PEM text of CAs trusted in addition to the system's (ca_file, ca_pem, or both).
    std::string ca_pem;
    /// An HTTP proxy to tunnel through (CONNECT); by default none (proxy_settings).
    proxy_settings proxy;

    /// Every wait is bounded. call_timeout is the whole call: pool wait, token, connect, TLS,
    /// write, read and retries together; a call may override it (call_options::timeout).
    std::chrono::milliseconds call_timeout{90'000};
    std::chrono::milliseconds connect_timeout{10'000}; ///< TCP and TLS of one new connection
    std::chrono::milliseconds token_timeout{30'000};   ///< one token request
    /// A token is reissued this long before its exp (at most half its lifetime), in the
    /// background, so that calls never wait for one.
    std::chrono::seconds token_refresh_margin{3600};
    /// Where the token is kept besides the client (token_store.hpp): injected, persisted or
    /// shared. Empty: the client keeps its own.
    std::shared_ptr<codef::token_store> token_store;

    /// The most connections per origin (the API host, the OAuth host).
    std::size_t max_connections = 32;
    /// An idle kept-alive connection is closed after this; keep it under the server's.
    std::chrono::milliseconds idle_timeout{20'000};
    /// A reply's body may be at most this long (as sent, before percent-decoding) ...
    std::size_t max_reply_bytes = 8 * 1024 * 1024;
    /// ... and its parsed JSON may take at most this much memory. A reply over either limit is
    /// protocol_errc::reply_too_large. Together they bound what one reply costs (a body of tiny
    /// values such as [[],[],...] parses to many times its size).
    std::size_t max_reply_memory = 32 * 1024 * 1024;

    retry_settings retry; ///< when and how often failed calls are tried again

    /// true: calls may come from any threads. A call awaited from a coroutine on a strand runs
    /// there; any other call runs on a strand of its own (one hop there and one back). false: the
    /// caller promises that each awaiting coroutine's executor never runs two handlers at once (a
    /// single-threaded io_context, or a strand), and every call runs on it with no hop; calls on
    /// different threads are still safe then, as long as each is on such an executor.
    bool thread_safe = true;

    /// The wall clock the token expiry is judged by; empty: std::chrono::system_clock::now.
    std::function<std::chrono::system_clock::time_point()> clock;

    /// Receives the client's events (observer.hpp: what, when, on which thread). Empty: none are
    /// made, and nothing is allocated for them.
    std::shared_ptr<codef::observer> observer;
    /// Receives a logfmt line for each event at or above log_level (observer.hpp). Empty: none.
    log_function log;
    /// The least severe level given to log.
    codef::log_level log_level = codef::log_level::info;
};

/// Checks a config; on failure the diagnostics' detail names the field.
/// @return An empty value, or client_errc::invalid_config.
result<std::monostate> validate(const config& cfg);

} // namespace codef
