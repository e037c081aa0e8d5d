// JWT payload decoding: base64url, then JSON.
#include "detail/jwt.hpp"

#include "detail/encoding.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace codef::detail {

std::optional<std::int64_t> jwt_exp(std::string_view token) {
    const auto first = token.find('.');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = token.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
    if (!payload) return std::nullopt;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*payload, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* exp = v.as_object().if_contains("exp");
    if (!exp) return std::nullopt;
    if (exp->is_int64()) return exp->get_int64();
    if (exp->is_uint64() && exp->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(exp->get_uint64());
    if (exp->is_double() && exp->get_double() > 0 && exp->get_double() < 9.2e18)
        return static_cast<std::int64_t>(exp->get_double());
    return std::nullopt;
}

} // namespace codef::detail
