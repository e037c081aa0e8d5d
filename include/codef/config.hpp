// The client's settings: a plain aggregate, checked once when a client is made.
#pragma once

#include <codef/error.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace codef {

enum class environment { sandbox, development, production };

// The public sandbox credentials printed in every official library.
inline constexpr const char* sandbox_client_id = "ef27cfaa-10c1-4470-adac-60ba476273f9";
inline constexpr const char* sandbox_client_secret = "83160c33-9045-4915-86d8-809473cdf5c3";
inline constexpr const char* default_oauth_url = "https://oauth.codef.io/oauth/token";

// The API base URL of an environment.
const char* api_url_of(environment env) noexcept;

// When and how often a failed call is tried again (see retry_policy.hpp for the decision).
struct retry_settings {
    unsigned max_attempts = 3;                      // attempts per call, the first included
    std::chrono::milliseconds initial_backoff{100}; // full jitter: a random wait in [0, backoff)
    std::chrono::milliseconds max_backoff{5000};
    // The client-wide budget: retries may add at most this fraction to the calls that succeed,
    // plus a floor, so that an outage is not multiplied by max_attempts.
    double budget_ratio = 0.1;
    unsigned budget_floor = 20;
};

struct config {
    environment env = environment::sandbox;
    std::string api_url;   // overrides the environment's base URL (a proxy, the emulator)
    std::string oauth_url; // empty: default_oauth_url

    // Empty in the sandbox: the public sandbox credentials. Required otherwise.
    std::string client_id;
    std::string client_secret;

    // Base64 of the RSA SubjectPublicKeyInfo DER, as the CODEF dashboard shows it. Needed to
    // send passwords.
    std::string public_key;

    // Trusted in addition to the system's CAs: a PEM file, PEM text, or both.
    std::string ca_file;
    std::string ca_pem;

    // Every wait is bounded. call_timeout is the whole call: pool wait, token, connect, TLS,
    // write, read and retries together; a call may override it.
    std::chrono::milliseconds call_timeout{90'000};
    std::chrono::milliseconds connect_timeout{10'000}; // TCP and TLS of one new connection
    std::chrono::milliseconds token_timeout{30'000};   // one token request
    // A token is reissued this long before its exp (at most half its lifetime), in the
    // background, so that calls never wait for one.
    std::chrono::seconds token_refresh_margin{3600};

    // Per origin (the API host, the OAuth host).
    std::size_t max_connections = 32;
    // An idle kept-alive connection is closed after this; keep it under the server's.
    std::chrono::milliseconds idle_timeout{20'000};
    // A reply's body may be at most this long (as sent, before percent-decoding) ...
    std::size_t max_reply_bytes = 8 * 1024 * 1024;
    // ... and its parsed JSON may take at most this much memory. A reply over either limit is
    // protocol_errc::reply_too_large. Together they bound what one reply costs (a body of tiny
    // values such as [[],[],...] parses to many times its size).
    std::size_t max_reply_memory = 32 * 1024 * 1024;

    retry_settings retry;

    // true: calls may come from any threads. A call awaited from a coroutine on a strand runs
    // there; any other call runs on a strand of its own (one hop there and one back). false: the
    // caller promises that each awaiting coroutine's executor never runs two handlers at once (a
    // single-threaded io_context, or a strand), and every call runs on it with no hop; calls on
    // different threads are still safe then, as long as each is on such an executor.
    bool thread_safe = true;

    // The wall clock the token expiry is judged by; empty: std::chrono::system_clock::now.
    std::function<std::chrono::system_clock::time_point()> clock;
};

// Checks a config; on failure the diagnostics' detail names the field.
result<std::monostate> validate(const config& cfg);

} // namespace codef
