// Reading exp out of access tokens, good and garbled.
#include "detail/encoding.hpp"
#include "detail/jwt.hpp"
#include "support.hpp"

using codef::detail::base64url_encode;
using codef::detail::jwt_exp;

namespace {
std::string token_with_payload(const std::string& payload_b64) {
    return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + payload_b64 + ".c2lnbmF0dXJl";
}
} // namespace

BOOST_AUTO_TEST_SUITE(jwt)

BOOST_AUTO_TEST_CASE(reads_exp_of_codef_sample_token) {
    const auto sample = codef::test::read_json_file("seed-sample.json");
    const std::string token(sample.at("/oauth/token").at("access_token").as_string());
    BOOST_TEST(jwt_exp(token).value() == 1563948446);
}

BOOST_AUTO_TEST_CASE(payload_with_or_without_padding) {
    const std::string payload = R"({"exp":1700000000,"scope":["read"]})"; // 35 bytes: needs padding
    std::string padded = codef::detail::base64_encode(payload);
    for (char& c : padded)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    BOOST_TEST(padded.back() == '=');
    BOOST_TEST(jwt_exp(token_with_payload(padded)).value() == 1700000000);
    BOOST_TEST(jwt_exp(token_with_payload(base64url_encode(payload))).value() == 1700000000);
}

BOOST_AUTO_TEST_CASE(garbage_gives_no_exp) {
    BOOST_TEST(!jwt_exp("").has_value());
    BOOST_TEST(!jwt_exp("not-a-jwt").has_value());
    BOOST_TEST(!jwt_exp("a.b").has_value());
    BOOST_TEST(!jwt_exp("a.%%%.c").has_value());
    BOOST_TEST(!jwt_exp(token_with_payload(base64url_encode("not json"))).has_value());
    BOOST_TEST(!jwt_exp(token_with_payload(base64url_encode("[1,2]"))).has_value());
    BOOST_TEST(!jwt_exp(token_with_payload(base64url_encode(R"({"scope":"read"})"))).has_value());
    BOOST_TEST(
        !jwt_exp(token_with_payload(base64url_encode(R"({"exp":"1700000000"})"))).has_value());
}

BOOST_AUTO_TEST_CASE(numeric_forms_of_exp) {
    BOOST_TEST(jwt_exp(token_with_payload(base64url_encode(R"({"exp":1.7e9})"))).value() ==
               1700000000);
    BOOST_TEST(jwt_exp(token_with_payload(base64url_encode(R"({"exp":18446744073709551615})")))
                   .has_value() == false);
}

BOOST_AUTO_TEST_SUITE_END()
