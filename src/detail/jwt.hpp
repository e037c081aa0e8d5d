// Reading the expiry of a CODEF access token (an RS256 JWT). The client trusts the server and does
// not check the signature; it only needs exp to know when to reissue.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace codef::detail {

// The payload's exp claim (epoch seconds), or empty when token is not a JWT with a numeric exp.
std::optional<std::int64_t> jwt_exp(std::string_view token);

} // namespace codef::detail
