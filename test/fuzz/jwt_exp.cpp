// jwt_exp reads the expiry of every access token the server gives us. Two ways in: the input as a
// token, and the input as the JSON payload of a token (so that the fuzzer reaches the claims
// without having to find base64url first). Also base64 and base64url, which it and the
// emulator's Basic authorization decode with.
#include "detail/encoding.hpp"
#include "detail/jwt.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

using namespace codef::detail;

namespace {

// What jwt_exp must answer for a token whose payload is this JSON text.
std::optional<std::int64_t> expected_exp(std::string_view payload) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(payload, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* exp = v.as_object().if_contains("exp");
    if (!exp) return std::nullopt;
    if (exp->is_int64()) return exp->as_int64();
    if (exp->is_uint64() && exp->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(exp->as_uint64());
    if (exp->is_double() && exp->as_double() > 0 && exp->as_double() < 9.2e18)
        return static_cast<std::int64_t>(exp->as_double());
    return std::nullopt;
}

void check_base64(std::string_view in) {
    if (auto d = base64_decode(in)) {
        CODEF_FUZZ_CHECK(base64_decode(base64_encode(*d)) == d);
        CODEF_FUZZ_CHECK(in.find_first_not_of(
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
                         std::string_view::npos);
    }
    if (auto d = base64url_decode(in)) {
        CODEF_FUZZ_CHECK(base64url_decode(base64url_encode(*d)) == d);
        CODEF_FUZZ_CHECK(in.find_first_of("+/") == std::string_view::npos);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);

    if (const auto exp = jwt_exp(in)) {
        CODEF_FUZZ_CHECK(std::count(in.begin(), in.end(), '.') >= 2);
        const auto first = in.find('.');
        const auto second = in.find('.', first + 1);
        const auto payload = base64url_decode(in.substr(first + 1, second - first - 1));
        CODEF_FUZZ_CHECK(payload.has_value());
        CODEF_FUZZ_CHECK(expected_exp(*payload) == exp);
    }

    const std::string token = "eyJhbGciOiJSUzI1NiJ9." + base64url_encode(in) + ".c2ln";
    CODEF_FUZZ_CHECK(jwt_exp(token) == expected_exp(in));

    check_base64(in);
    return 0;
}
