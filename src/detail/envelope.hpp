// Decoding CODEF replies: the API envelope, error bodies and the token reply.
#pragma once

#include <codef/error.hpp>
#include <codef/response.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace codef::detail {

// A body that is raw JSON (starts with '{' or '[') or form-style percent-encoded JSON.
result<boost::json::value> decode_body(std::string_view body);

// An HTTP 200 reply of an API path: {"result": {"code", "message", "extraMessage",
// "transactionId"}, "data": ...}.
result<response> parse_api_reply(std::string_view body);

// Best effort: copies what an error body says (the 401 {"code","message","error",...} JSON, or an
// envelope) into d. Never fails.
void read_error_body(std::string_view body, diagnostics& d);

struct token_reply {
    std::string access_token;
    std::int64_t expires_in = 0; // seconds; 0 when absent
};
result<token_reply> parse_token_reply(std::string_view body);

} // namespace codef::detail
