// The emulator's protocol logic without sockets: tolerant request decoding, the token endpoint,
// the 401 body, account management, paging and faults.
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "detail/jwt.hpp"
#include "emulator/service.hpp"
#include "support.hpp"

#include <codef/crypto.hpp>

#include <boost/json.hpp>

#include <set>

namespace json = boost::json;
using namespace codef;
using namespace codef::emu;

namespace {

struct fixture {
    emulator_options opts = [] {
        emulator_options o;
        o.page_size = 3;
        o.seed_connected_ids = 7;
        o.credentials.emplace_back("my-id", "my-secret");
        return o;
    }();
    pkey_ptr key = generate_rsa(2048);
    service svc{opts, key, key};

    std::string basic(const std::string& id, const std::string& secret) {
        return "Basic " + detail::base64_encode(id + ":" + secret);
    }
    std::string token() {
        auto rep =
            svc.handle({"POST", "/oauth/token", basic(sandbox_client_id, sandbox_client_secret),
                        "grant_type=client_credentials&scope=read"});
        BOOST_TEST_REQUIRE(rep.status == 200u);
        return std::string(json::parse(rep.body).at("access_token").as_string());
    }
    response call(const std::string& path, const std::string& body, const std::string& tok) {
        auto rep = svc.handle({"POST", path, "Bearer " + tok, body});
        BOOST_TEST_REQUIRE(rep.status == 200u);
        return detail::parse_api_reply(rep.body).value();
    }
    response call(const std::string& path, const json::object& params) {
        return call(path, detail::percent_encode(json::serialize(params)), token());
    }
    std::string encrypted(const std::string& plain) {
        return public_key::parse(svc.public_key()).value().encrypt(plain).value();
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(emulator_service, fixture)

BOOST_AUTO_TEST_CASE(decodes_every_official_encoding_raw_json_and_empty_bodies) {
    const auto vectors = codef::test::read_json_file("percent-encoding.json");
    for (const auto& v : vectors.at("vectors").as_array()) {
        const auto expected = json::parse(v.at("json").as_string()).as_object();
        for (const auto& [client, body] : v.at("sent_by").as_object()) {
            BOOST_TEST_INFO("client " << client);
            auto p = decode_params(body.as_string());
            BOOST_TEST_REQUIRE(p.has_value());
            BOOST_TEST((*p == expected));
        }
    }
    BOOST_TEST(decode_params("")->empty());
    BOOST_TEST(decode_params("null")->empty());
    BOOST_TEST(decode_params(" \n{\"a\":1}\n")->at("a").as_int64() == 1);
    BOOST_TEST(!decode_params("[1,2]").has_value());
    BOOST_TEST(!decode_params("%7Bbroken").has_value());
}

BOOST_AUTO_TEST_CASE(token_endpoint_checks_credentials_and_issues_an_rs256_jwt) {
    auto rep = svc.handle({"POST", "/oauth/token", basic("my-id", "my-secret"),
                           "grant_type=client_credentials&scope=read"});
    BOOST_TEST(rep.status == 200u);
    const auto body = json::parse(rep.body);
    BOOST_TEST(body.at("token_type").as_string() == "bearer");
    BOOST_TEST(body.at("scope").as_string() == "read");
    BOOST_TEST(body.at("expires_in").as_int64() == 604799);
    const std::string tok(body.at("access_token").as_string());
    const auto exp = detail::jwt_exp(tok).value();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    BOOST_TEST(exp >= now + 604799 - 5);
    BOOST_TEST(exp <= now + 604799 + 5);
    // The signature verifies with the emulator's key.
    const auto last_dot = tok.rfind('.');
    BOOST_TEST(rs256_verify(key.get(), tok.substr(0, last_dot),
                            detail::base64url_decode(tok.substr(last_dot + 1)).value()));

    BOOST_TEST(svc.handle({"POST", "/oauth/token", basic("my-id", "wrong"),
                           "grant_type=client_credentials&scope=read"})
                   .status == 401u);
    BOOST_TEST(svc.handle({"POST", "/oauth/token", "", "grant_type=client_credentials&scope=read"})
                   .status == 401u);
    BOOST_TEST(
        svc.handle({"POST", "/oauth/token", basic("my-id", "my-secret"), "grant_type=password"})
            .status == 400u);
    BOOST_TEST(svc.handle({"GET", "/oauth/token", basic("my-id", "my-secret"), ""}).status == 405u);
    // One official library sends the parameters in the query string, with no body.
    BOOST_TEST(svc.handle({"POST", "/oauth/token?grant_type=client_credentials&scope=read",
                           basic(sandbox_client_id, sandbox_client_secret), ""})
                   .status == 200u);
    BOOST_TEST(svc.stats().token_requests == 6u);
    BOOST_TEST(svc.stats().tokens_issued == 2u);
}

BOOST_AUTO_TEST_CASE(bad_tokens_get_the_plain_json_401) {
    for (std::string auth : {"", "Bearer nope", "Basic abc", "Bearer "}) {
        auto rep = svc.handle({"POST", "/v1/account/list", auth, "{}"});
        BOOST_TEST(rep.status == 401u);
        const auto body = json::parse(rep.body);
        BOOST_TEST(body.at("error").as_string() == "invalid_token");
        BOOST_TEST(body.at("code").as_string() == "CF-99997");
    }
    const std::string tok = token();
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).status == 200u);
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "bearer " + tok, "{}"}).status == 200u);
    svc.revoke_tokens();
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).status == 401u);
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + token(), "{}"}).status == 200u);
    BOOST_TEST(svc.stats().unauthorized == 5u);
}

BOOST_AUTO_TEST_CASE(bad_json_and_missing_parameters_are_business_errors) {
    const std::string tok = token();
    BOOST_TEST(call("/v1/account/list", "%7Bnot-json", tok).code == "CF-00002");
    BOOST_TEST(call("/v1/account/list", "[1]", tok).code == "CF-00002");
    auto r = call("/v1/account/list", "", tok);
    BOOST_TEST(r.code == "CF-00001");
    BOOST_TEST(r.extra_message == "connectedId");
    auto rep = svc.handle({"POST", "/v1/nope", "Bearer " + tok, "{}"});
    BOOST_TEST(rep.status == 404u);
}

BOOST_AUTO_TEST_CASE(create_then_list_with_decrypted_passwords) {
    json::object params{{"accountList", json::array{
                                            json::object{{"countryCode", "KR"},
                                                         {"businessType", "BK"},
                                                         {"clientType", "P"},
                                                         {"organization", "0004"},
                                                         {"loginType", "1"},
                                                         {"id", "user1"},
                                                         {"password", encrypted("pw-0004")}},
                                            json::object{{"countryCode", "KR"},
                                                         {"businessType", "CD"},
                                                         {"clientType", "P"},
                                                         {"organization", "0309"},
                                                         {"loginType", "1"},
                                                         {"id", "user1"},
                                                         {"password", "not-encrypted"}},
                                            json::object{{"countryCode", "KR"},
                                                         {"businessType", "BK"},
                                                         {"clientType", "P"},
                                                         {"organization", "0004"},
                                                         {"loginType", "1"},
                                                         {"id", "user1"},
                                                         {"password", encrypted("dup")}},
                                        }}};
    auto created = call("/v1/account/create", params);
    BOOST_TEST(created.code == "CF-00000");
    const auto& data = created.data.as_object();
    BOOST_TEST(data.at("successList").as_array().size() == 1u);
    const auto& errors = data.at("errorList").as_array();
    BOOST_TEST_REQUIRE(errors.size() == 2u);
    BOOST_TEST(errors[0].at("organization").as_string() == "0309");
    BOOST_TEST(errors[1].at("code").as_string() == "CF-04004");
    const std::string cid(data.at("connectedId").as_string());
    BOOST_TEST(cid.size() == 22u);
    BOOST_TEST(svc.password_matches(cid, "0004", "pw-0004"));
    BOOST_TEST(!svc.password_matches(cid, "0004", "dup"));

    auto listed = call("/v1/account/list", json::object{{"connectedId", cid}});
    const auto& list = listed.data.at("accountList").as_array();
    BOOST_TEST_REQUIRE(list.size() == 1u);
    BOOST_TEST(list[0].at("organizationCode").as_string() == "0004");
    BOOST_TEST(!list[0].as_object().contains("organization"));
}

BOOST_AUTO_TEST_CASE(connected_id_pages_over_seeded_and_created_ids) {
    std::vector<std::string> all;
    for (json::value page_no : {json::value(0), json::value("1"), json::value(2)}) {
        auto r = call("/v1/account/connectedId-list", json::object{{"pageNo", page_no}});
        BOOST_TEST(r.code == "CF-00000");
        for (const auto& id : r.data.at("connectedIdList").as_array())
            all.emplace_back(id.as_string());
        const bool last = page_no == json::value(2);
        BOOST_TEST(r.data.at("hasNext").as_bool() == !last);
    }
    BOOST_TEST(all.size() == 7u);
    BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == 7u);
    // Seeded ids have accounts.
    auto listed = call("/v1/account/list", json::object{{"connectedId", all[4]}});
    BOOST_TEST(listed.code == "CF-00000");
    BOOST_TEST(listed.data.at("accountList").as_array().size() >= 2u);
    BOOST_TEST(call("/v1/account/connectedId-list", json::object{{"pageNo", -1}}).code ==
               "CF-00007");
    BOOST_TEST(call("/v1/account/connectedId-list", json::object{{"pageNo", "x"}}).code ==
               "CF-00007");
}

BOOST_AUTO_TEST_CASE(the_bank_product_answers_like_codef) {
    auto ids = call("/v1/account/connectedId-list", json::object{});
    const std::string cid(ids.data.at("connectedIdList").as_array()[1].as_string());
    auto accounts = call("/v1/account/list", json::object{{"connectedId", cid}});
    const std::string org(
        accounts.data.at("accountList").as_array()[0].at("organizationCode").as_string());
    auto r = call("/v1/kr/bank/b/account/list",
                  json::object{{"connectedId", cid}, {"organization", org}});
    BOOST_TEST(r.code == "CF-00000");
    BOOST_TEST(r.transaction_id.size() == 32u);
    BOOST_TEST(r.data.at("resAccountStatus").as_string() == "활동");
    BOOST_TEST(r.data.at("resTrHistoryList").as_array().size() == 4u);
    auto missing = call("/v1/kr/bank/b/account/list", json::object{{"connectedId", cid}});
    BOOST_TEST(missing.code == "CF-00001");
    BOOST_TEST(missing.extra_message == "organization");
    BOOST_TEST(call("/v1/kr/bank/b/account/list",
                    json::object{{"connectedId", "unknown"}, {"organization", "0004"}})
                   .code == "CF-00007");
}

BOOST_AUTO_TEST_CASE(an_envelope_from_encoded_parts_is_the_whole_encoded) {
    api_result r;
    r.data = json::parse(R"({"resAccountName":"기업 자유+예금 *~","list":[1,"a b"]})");
    const std::string body = encode_envelope(r, "tx-1");
    const auto parsed = json::parse(detail::form_decode(body).value());
    BOOST_TEST(parsed.at("result").at("transactionId").as_string() == "tx-1");
    BOOST_TEST(parsed.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST((parsed.at("data") == r.data));
    json::object whole{{"result", json::object{{"code", "CF-00000"},
                                               {"extraMessage", ""},
                                               {"message", "성공"},
                                               {"transactionId", "tx-1"}}},
                       {"data", r.data}};
    BOOST_TEST(body == detail::form_encode(json::serialize(whole)));
}

BOOST_AUTO_TEST_CASE(the_same_question_gets_the_same_data_and_a_new_transaction_id) {
    auto ids = call("/v1/account/connectedId-list", json::object{});
    const std::string cid(ids.data.at("connectedIdList").as_array()[0].as_string());
    const std::string org(call("/v1/account/list", json::object{{"connectedId", cid}})
                              .data.at("accountList")
                              .as_array()[0]
                              .at("organizationCode")
                              .as_string());
    json::object q{{"connectedId", cid}, {"organization", org}};
    auto first = call("/v1/kr/bank/p/account/account-list", q);
    auto second = call("/v1/kr/bank/p/account/account-list", q);
    BOOST_TEST(first.ok());
    BOOST_TEST((first.data == second.data));
    BOOST_TEST(first.transaction_id != second.transaction_id);
}

BOOST_AUTO_TEST_CASE(faults_are_applied_to_the_next_calls) {
    const std::string tok = token();
    emulator_faults f;
    f.fail_next = 2;
    f.fail_status = 429;
    f.retry_after = 3;
    svc.apply(f);
    auto first = svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"});
    BOOST_TEST(first.status == 429u);
    BOOST_TEST(first.retry_after == 3u);
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).status == 429u);
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).status == 200u);
    emulator_faults m;
    m.malformed_next = 1;
    m.reset_next = 1;
    svc.apply(m);
    BOOST_TEST(detail::parse_api_reply(
                   svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).body)
                   .error() == protocol_errc::bad_percent_encoding);
    BOOST_TEST((svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).fault_kind ==
                reply::fault::reset));
    BOOST_TEST(svc.stats().faults_injected == 4u);
    // Over the admin endpoint, with a bad field named.
    auto bad = svc.handle({"POST", "/_emulator/faults", "", R"({"fail_next":"x"})"});
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(json::parse(bad.body).at("field").as_string() == "fail_next");
    BOOST_TEST(svc.handle({"POST", "/_emulator/faults", "",
                           R"({"token_lifetime":60,"hold_token_replies":true})"})
                   .status == 200u);
    BOOST_TEST(svc.faults().token_lifetime->count() == 60);
    BOOST_TEST(svc.handle({"POST", "/oauth/token", basic("my-id", "my-secret"),
                           "grant_type=client_credentials"})
                   .hold);
}

BOOST_AUTO_TEST_CASE(admin_reads) {
    BOOST_TEST(svc.handle({"GET", "/_emulator/public-key", "", ""}).body == svc.public_key());
    token();
    const auto stats = json::parse(svc.handle({"GET", "/_emulator/stats", "", ""}).body);
    BOOST_TEST(stats.at("token_requests").to_number<std::uint64_t>() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
