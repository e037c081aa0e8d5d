// Decoding API replies, error bodies and token replies.
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "detail/field_value.hpp"
#include "detail/redact.hpp"
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

BOOST_AUTO_TEST_CASE(a_token_must_be_a_header_field_value) {
    // CR/LF would end the Authorization header and let the issuer smuggle a request in.
    for (const char* bad : {"abc\r\nPOST /v1/account/delete HTTP/1.1", "abc\ndef", "abc\rdef",
                            " abc", "abc ", "a\x01b", "a\x7f"}) {
        boost::json::object o{{"access_token", bad}, {"expires_in", 60}};
        auto r = parse_token_reply(boost::json::serialize(o));
        BOOST_TEST(r.error() == protocol_errc::bad_token_reply, bad);
        BOOST_TEST(r.diag().detail.starts_with("access_token:"));
    }
    BOOST_TEST(parse_token_reply(R"({"access_token":"eyJ a\tb.c"})").has_value());
    BOOST_TEST(is_field_value(""));
    BOOST_TEST(is_field_value("Bearer eyJ.x-y_z~+/="));
    BOOST_TEST(is_field_value("\x80\xff obs-text"));
    BOOST_TEST(!is_field_value(std::string_view("a\0b", 3)));
}

BOOST_AUTO_TEST_CASE(odd_token_lifetimes_are_read_without_overflow) {
    auto expires_in = [](const char* v) {
        return parse_token_reply(std::string(R"({"access_token":"t","expires_in":)") + v + "}")
            ->expires_in;
    };
    BOOST_TEST(expires_in("0") == 0);
    BOOST_TEST(expires_in("-5") == 0);
    BOOST_TEST(expires_in("9223372036854775807") == INT64_MAX);
    BOOST_TEST(expires_in("18446744073709551615") == INT64_MAX);
    BOOST_TEST(expires_in("1e300") == INT64_MAX);
    BOOST_TEST(expires_in("604799.0") == 604799);
    BOOST_TEST(expires_in(R"("99999999999999999999999")") == INT64_MAX);
    BOOST_TEST(expires_in(R"("-99999999999999999999999")") == 0);
    BOOST_TEST(expires_in(R"("soon")") == 0);
    BOOST_TEST(expires_in(R"("60s")") == 0);
    BOOST_TEST(expires_in("null") == 0);
}

BOOST_AUTO_TEST_CASE(token_expiry_is_clamped_and_never_overflows) {
    using namespace std::chrono;
    const auto now = system_clock::time_point(seconds(1'790'000'000)); // late 2026
    const auto now_s = duration_cast<seconds>(now.time_since_epoch()).count();
    auto life = [&](std::int64_t expires_in, std::optional<std::int64_t> exp) {
        return duration_cast<seconds>(token_expiry(expires_in, exp, now) - now);
    };
    const seconds week(604799);
    BOOST_TEST(life(604799, std::nullopt).count() == week.count());
    BOOST_TEST(life(604799, now_s + 604799).count() == week.count());
    // Absent, zero or negative: the JWT's exp if in the future, else the fallback.
    BOOST_TEST(life(0, std::nullopt).count() == fallback_token_lifetime.count());
    BOOST_TEST(life(-1, now_s + 600).count() == 600);
    BOOST_TEST(life(0, now_s - 600).count() == fallback_token_lifetime.count());
    // Huge: clamped, not wrapped into the past (which made every token look expired).
    BOOST_TEST(life(INT64_MAX, std::nullopt).count() == max_token_lifetime.count());
    BOOST_TEST(life(0, INT64_MAX).count() == max_token_lifetime.count());
    BOOST_TEST(life(0, INT64_MIN).count() == fallback_token_lifetime.count());
    BOOST_TEST(life(INT64_MAX, INT64_MAX).count() == max_token_lifetime.count());
    // exp far past or far future against a sane expires_in: the clocks disagree, expires_in wins.
    BOOST_TEST(life(604799, now_s - 10 * 365 * 86400).count() == week.count());
    BOOST_TEST(life(604799, INT64_MIN).count() == week.count());
    BOOST_TEST(life(3600, now_s + 10 * 365 * 86400).count() == 3600);
}

BOOST_AUTO_TEST_CASE(numbers_out_of_range_are_not_json) {
    // Boost.JSON reads 1e999999 as infinity, which serializes to no valid JSON.
    for (const char* body : {R"({"result":{"code":"CF-00000"},"data":{"n":1e999999}})",
                             R"({"result":{"code":"CF-00000"},"data":[[-1e400]]})",
                             R"({"result":{"code":"CF-00000","x":1E+99999}})"}) {
        auto r = parse_api_reply(body);
        BOOST_TEST(r.error() == protocol_errc::bad_json, body);
        BOOST_TEST(r.diag().detail.find("not finite") != std::string::npos);
    }
    auto fine = parse_api_reply(R"({"result":{"code":"CF-00000"},"data":{"n":1.5e300}})");
    BOOST_TEST_REQUIRE(fine.has_value());
    BOOST_TEST(fine->data.at("n").as_double() == 1.5e300);
}

BOOST_AUTO_TEST_CASE(parsed_memory_is_bounded) {
    // 3 bytes of text, 16 of parsed value (and as much again in the parser's stack).
    std::string tiny = R"({"result":{"code":"CF-00000"},"data":[)";
    for (int i = 0; i < 200'000; ++i)
        tiny += "[],";
    tiny += "[]]}";
    auto r = parse_api_reply(tiny, 1024 * 1024);
    BOOST_TEST(r.error() == protocol_errc::reply_too_large);
    BOOST_TEST(r.diag().detail.find("max_reply_memory") != std::string::npos);
    auto ok = parse_api_reply(tiny, 32 * 1024 * 1024);
    BOOST_TEST_REQUIRE(ok.has_value());
    BOOST_TEST(ok->data.as_array().size() == 200'001u);
    // The limit is lifted once parsed: the value may grow.
    ok->data.as_array().resize(4'000'000);
    BOOST_TEST(ok->data.as_array().size() == 4'000'000u);
    // Deep nesting is refused by the parser's depth limit, not by the stack.
    BOOST_TEST(parse_api_reply(std::string(100'000, '[')).error() == protocol_errc::bad_json);
}

BOOST_AUTO_TEST_CASE(secrets_are_redacted_from_any_text) {
    secret_book book;
    book.add_fixed("s3cr3t-client-secret");
    book.add_fixed("abc"); // too short to look for
    book.add_token("eyJ.token.one");
    std::string message = "bad secret s3cr3t-client-secret, token eyJ.token.one, "
                          "pw hunter22 and s3cr3t-client-secret again; abc";
    const std::string_view extra[] = {"hunter22"};
    diagnostics d;
    d.codef_message = message;
    d.detail = "eyJ.token.one";
    book.scrub(extra, message);
    BOOST_TEST(message ==
               "bad secret ********, token ********, pw ******** and ******** again; abc");
    book.scrub({}, d);
    BOOST_TEST(d.codef_message.find("s3cr3t") == std::string::npos);
    BOOST_TEST(d.codef_message.find("eyJ.token.one") == std::string::npos);
    BOOST_TEST(d.codef_message.find("hunter22") != std::string::npos); // not this call's
    BOOST_TEST(d.detail == "********");
    // Only the newest tokens are kept, and they are still redacted after a reissue.
    for (int i = 0; i < 3; ++i)
        book.add_token("eyJ.token.newer" + std::to_string(i));
    std::string t = "eyJ.token.one eyJ.token.newer2";
    book.scrub({}, t);
    BOOST_TEST(t == "******** ********");
}

BOOST_AUTO_TEST_SUITE_END()
