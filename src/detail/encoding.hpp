// Text codecs of the wire: percent-encoding of bodies, form-style decoding of replies, base64.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace codef::detail {

// The request body encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX, space as %20, which
// every official decoder reads the same.
std::string percent_encode(std::string_view s);

// The reply encoding CODEF uses (form style): space as '+', A-Z a-z 0-9 - _ . * ~ bare.
std::string form_encode(std::string_view s);

// Percent-decoding with '+' read as space. Empty when s holds a malformed escape.
std::optional<std::string> form_decode(std::string_view s);

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Strict standard base64; padding may be left out. Empty on any other character.
std::optional<std::string> base64_decode(std::string_view text);

// base64url (RFC 4648 section 5), without padding on output, padding optional on input.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace codef::detail
