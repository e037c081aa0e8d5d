// Decoding CODEF replies: the API envelope, error bodies and the token reply.
#pragma once

#include <codef/error.hpp>
#include <codef/response.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace codef::detail {

// What a parsed reply may take when the caller names no bound (config::max_reply_memory's
// default).
inline constexpr std::size_t default_reply_memory = 32 * 1024 * 1024;

// A body that is raw JSON (starts with '{' or '[') or form-style percent-encoded JSON. The parsed
// value may take at most max_memory bytes (else protocol_errc::reply_too_large); it keeps the
// memory resource that counted it. A number out of a double's range (1e999999) is bad_json: it
// would otherwise come out as a non-finite value that no JSON can hold.
result<boost::json::value> decode_body(std::string_view body,
                                       std::size_t max_memory = default_reply_memory);

// An HTTP 200 reply of an API path: {"result": {"code", "message", "extraMessage",
// "transactionId"}, "data": ...}.
result<response> parse_api_reply(std::string_view body,
                                 std::size_t max_memory = default_reply_memory);

// Best effort: copies what an error body says (the 401 {"code","message","error",...} JSON, or an
// envelope) into d. Never fails.
void read_error_body(std::string_view body, diagnostics& d);

struct token_reply {
    std::string access_token;    // a valid HTTP field value, never empty
    std::int64_t expires_in = 0; // seconds; 0 when absent or unusable
};
result<token_reply> parse_token_reply(std::string_view body);

// The longest lifetime believed of a token: CODEF's live a week; a longer claim (up to INT64_MAX
// seconds, from a broken or hostile server) is cut to this.
inline constexpr std::chrono::seconds max_token_lifetime{30 * 24 * 3600};
// Used when neither expires_in nor the JWT's exp gives a usable lifetime.
inline constexpr std::chrono::seconds fallback_token_lifetime{3600};

// When a token received at now expires: from the JWT's exp (jwt_exp, seconds since the epoch)
// when it lies in the future, from expires_in otherwise; if the two disagree by more than half
// expires_in (client and server clocks apart), expires_in wins. Always in (now, now +
// max_token_lifetime]; no arithmetic overflows whatever the server sent.
std::chrono::system_clock::time_point token_expiry(std::int64_t expires_in,
                                                   std::optional<std::int64_t> jwt_exp,
                                                   std::chrono::system_clock::time_point now);

} // namespace codef::detail
