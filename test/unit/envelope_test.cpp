// Decoding API replies, error bodies and token replies.
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "support.hpp"

#include <boost/json.hpp>

using namespace codef;
using namespace codef::detail;

namespace {
std::string form_body(const boost::json::value& v) {
    return form_encode(boost::json::serialize(v));
}
const boost::json::value& sample() {
    static const boost::json::value s = codef::test::read_json_file("seed-sample.json");
    return s;
}
} // namespace

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(object_data_with_korean_text) {
    const auto& bank = sample().at("/v1/kr/bank/b/account/list");
    auto r = parse_api_reply(form_body(bank));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == "CF-00000");
    BOOST_TEST(r->message == "성공");
    BOOST_TEST(r->transaction_id == "aedb0cade44f44e48a5f3181c2fe9a96");
    BOOST_TEST(r->ok());
    BOOST_TEST(r->data.at("resAccountStatus").as_string() == "활동");
    BOOST_TEST(r->data.at("resTrHistoryList").as_array().size() == 4u);
}

BOOST_AUTO_TEST_CASE(array_data) {
    boost::json::value v = boost::json::parse(
        R"({"result":{"code":"CF-00000","message":"ok"},"data":[{"resCardNo":"1234"},{"resCardNo":"5678"}]})");
    auto r = parse_api_reply(form_body(v));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->data.is_array());
    BOOST_TEST(r->data.as_array().size() == 2u);
    BOOST_TEST(r->extra_message == "");
    BOOST_TEST(r->transaction_id == "");
}

BOOST_AUTO_TEST_CASE(business_error_is_a_response) {
    auto r = parse_api_reply(form_body(sample().at("_errors").at("http_200_business_error")));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == "CF-94002");
    BOOST_TEST(!r->ok());
    BOOST_TEST(r->message == "사용자 계정정보 설정에 실패했습니다.");
}

BOOST_AUTO_TEST_CASE(missing_data_is_null_and_raw_json_is_accepted) {
    auto r = parse_api_reply(R"({"result":{"code":"CF-00001"}})");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->data.is_null());
    BOOST_TEST(r->code == "CF-00001");
}

BOOST_AUTO_TEST_CASE(broken_replies_are_typed_errors) {
    BOOST_TEST(parse_api_reply("%7B%ZZ").error() == protocol_errc::bad_percent_encoding);
    BOOST_TEST(parse_api_reply("%7Bnot+json").error() == protocol_errc::bad_json);
    BOOST_TEST(parse_api_reply("").error() == protocol_errc::bad_json);
    BOOST_TEST(parse_api_reply("<html>502</html>").error() == protocol_errc::bad_json);
    BOOST_TEST(parse_api_reply("[1,2]").error() == protocol_errc::bad_envelope);
    BOOST_TEST(parse_api_reply(R"({"data":{}})").error() == protocol_errc::bad_envelope);
    BOOST_TEST(parse_api_reply(R"({"result":{"message":"x"}})").error() ==
               protocol_errc::bad_envelope);
    BOOST_TEST(parse_api_reply(R"({"result":{"code":7}})").error() == protocol_errc::bad_envelope);
    BOOST_TEST(kind_of(parse_api_reply("x").error()) == error_kind::protocol);
}

BOOST_AUTO_TEST_CASE(the_401_body_is_plain_json) {
    diagnostics d;
    read_error_body(boost::json::serialize(sample().at("_errors").at("http_401")), d);
    BOOST_TEST(d.codef_code == "CF-99997");
    BOOST_TEST(d.codef_message == "OAUTH2.0 토큰 에러입니다. 메시지를 확인하세요.");
    diagnostics none;
    read_error_body("<html>bad gateway</html>", none);
    BOOST_TEST(none.codef_code == "");
}

BOOST_AUTO_TEST_CASE(token_replies) {
    auto ok = parse_token_reply(boost::json::serialize(sample().at("/oauth/token")));
    BOOST_TEST_REQUIRE(ok.has_value());
    BOOST_TEST(ok->expires_in == 604799);
    BOOST_TEST(ok->access_token.starts_with("eyJ"));
    BOOST_TEST(parse_token_reply(R"({"expires_in":5})").error() == protocol_errc::bad_token_reply);
    BOOST_TEST(parse_token_reply(R"({"access_token":""})").error() ==
               protocol_errc::bad_token_reply);
    BOOST_TEST(parse_token_reply("garbage").error() == protocol_errc::bad_token_reply);
    BOOST_TEST(parse_token_reply(R"({"access_token":"t","expires_in":"60"})")->expires_in == 60);
}

BOOST_AUTO_TEST_SUITE_END()
