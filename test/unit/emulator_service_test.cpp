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
    // The reply as sent, its body form-decoded and parsed whole: the top-level keys as they are.
    json::object raw(const std::string& path, const json::object& params) {
        auto rep = svc.handle(
            {"POST", path, "Bearer " + token(), detail::percent_encode(json::serialize(params))});
        BOOST_TEST_REQUIRE(rep.status == 200u);
        return json::parse(detail::form_decode(rep.body).value()).as_object();
    }
    json::object bank_account(const char* org, const std::string& password,
                              const char* client_type = "P") {
        return json::object{{"countryCode", "KR"},
                            {"businessType", "BK"},
                            {"clientType", client_type},
                            {"organization", org},
                            {"loginType", "1"},
                            {"id", "user1"},
                            {"password", encrypted(password)}};
    }
    std::string created(const json::array& accounts) {
        auto r = call("/v1/account/create", json::object{{"accountList", accounts}});
        BOOST_TEST_REQUIRE(r.code == "CF-00000");
        return std::string(r.data.at("connectedId").as_string());
    }
};

// The JWT payload of a token, parsed.
json::object claims(const std::string& token) {
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    return json::parse(
               detail::base64url_decode(token.substr(first + 1, second - first - 1)).value())
        .as_object();
}

json::object insurance_params(fixture& f) {
    return json::object{{"id", "user01"}, {"password", f.encrypted("insurance-pw")}};
}

json::object checkup_params() {
    return json::object{{"organization", "0002"},    {"loginType", "5"},
                        {"loginTypeLevel", "1"},     {"userName", "홍길동"},
                        {"phoneNo", "01012345678"},  {"identity", "19900101"},
                        {"searchStartYear", "2021"}, {"searchEndYear", "2023"}};
}

// A follow-up of a challenge's reply: the original parameters, the answer, is2Way and twoWayInfo
// copied from data.
json::object follow_up(json::object params, const json::object& challenge,
                       const json::object& answer) {
    const auto& d = challenge.at("data").as_object();
    for (const auto& kv : answer)
        params[kv.key()] = kv.value();
    params["is2Way"] = true;
    params["twoWayInfo"] = json::object{{"jobIndex", d.at("jobIndex")},
                                        {"threadIndex", d.at("threadIndex")},
                                        {"jti", d.at("jti")},
                                        {"twoWayTimestamp", d.at("twoWayTimestamp")}};
    return params;
}

// Checks a reply is a CF-03002 challenge as CODEF sends it, with method; returns its jti.
std::string check_challenge(const json::object& reply, const std::string& method,
                            std::chrono::seconds timeout = std::chrono::seconds(160)) {
    std::vector<std::string> keys;
    for (const auto& kv : reply)
        keys.emplace_back(kv.key());
    BOOST_TEST(keys == (std::vector<std::string>{"result", "data", "twoWayInfo", "is2Way"}),
               boost::test_tools::per_element());
    const auto& result = reply.at("result").as_object();
    BOOST_TEST(result.at("code").as_string() == "CF-03002");
    BOOST_TEST(result.at("message").as_string() == "성공");
    BOOST_TEST(result.at("extraMessage").as_string() ==
               "API 요청 처리가 정상 진행 중입니다. 추가 정보를 입력하세요.");
    const auto& data = reply.at("data").as_object();
    BOOST_TEST(data.at("continue2Way").as_bool());
    BOOST_TEST(data.at("method").as_string() == method);
    BOOST_TEST(data.at("jobIndex").is_int64());
    BOOST_TEST(data.at("threadIndex").is_int64());
    BOOST_TEST(data.at("jti").as_string().size() == 32u);
    BOOST_TEST(data.at("twoWayTimestamp").as_int64() > 1'700'000'000'000);
    BOOST_TEST(data.at("extraInfo").is_object());
    const auto& info = reply.at("twoWayInfo").as_object();
    BOOST_TEST(info.size() == 5u);
    for (const char* k : {"jobIndex", "threadIndex", "jti", "twoWayTimestamp"})
        BOOST_TEST((info.at(k) == data.at(k)), k);
    BOOST_TEST(info.at("twoWayTimeout").as_int64() == timeout.count());
    BOOST_TEST(reply.at("is2Way").as_bool());
    return std::string(data.at("jti").as_string());
}

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
    BOOST_TEST(errors[1].at("message").as_string() ==
               "이미 계정이 등록된 기관입니다. 기존 계정 먼저 삭제하세요.");
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

BOOST_AUTO_TEST_CASE(reply_jitter_scatters_each_reply_delay_within_its_range) {
    const std::string tok = token();
    auto delay_of_a_call = [&] {
        return svc.handle({"POST", "/v1/account/list", "Bearer " + tok, "{}"}).delay;
    };
    BOOST_TEST(delay_of_a_call().count() == 0);
    BOOST_TEST(
        svc.handle({"POST", "/_emulator/faults", "", R"({"reply_delay":20,"reply_jitter":10})"})
            .status == 200u);
    BOOST_TEST(svc.faults().reply_jitter->count() == 10);
    std::set<long long> seen;
    for (int i = 0; i < 200; ++i) {
        const auto d = delay_of_a_call().count();
        BOOST_TEST(d >= 20);
        BOOST_TEST(d <= 30);
        seen.insert(d);
    }
    BOOST_TEST(seen.size() > 5u); // scattered, not one value
    auto bad = svc.handle({"POST", "/_emulator/faults", "", R"({"reply_jitter":-1})"});
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(json::parse(bad.body).at("field").as_string() == "reply_jitter");
    emulator_faults off;
    off.reply_jitter = std::chrono::milliseconds(0);
    svc.apply(off);
    BOOST_TEST(delay_of_a_call().count() == 20);
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

// --- Account errors as CODEF sends them ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_account_failing_is_cf_04000_and_a_registered_organization_cf_04004) {
    const std::string cid = created(json::array{bank_account("0004", "pw")});
    // add: the organization is registered in the connectedId already.
    auto added = call("/v1/account/add",
                      json::object{{"connectedId", cid},
                                   {"accountList", json::array{bank_account("0004", "other")}}});
    BOOST_TEST(added.code == "CF-04000");
    BOOST_TEST(added.message == "사용자 계정정보 등록에 실패했습니다.");
    BOOST_TEST(added.data.at("successList").as_array().empty());
    const auto& error = added.data.at("errorList").as_array().at(0).as_object();
    BOOST_TEST(error.at("code").as_string() == "CF-04004");
    BOOST_TEST(error.at("message").as_string() ==
               "이미 계정이 등록된 기관입니다. 기존 계정 먼저 삭제하세요.");
    BOOST_TEST(error.at("organization").as_string() == "0004");
    BOOST_TEST(error.at("clientType").as_string() == "P");
    BOOST_TEST(added.data.at("connectedId").as_string() == cid);
    BOOST_TEST(svc.password_matches(cid, "0004", "pw"));

    // create: every account fails (a password that does not decrypt, a missing id).
    json::object bad = bank_account("0088", "x");
    bad["password"] = "bm90IGEgY2lwaGVydGV4dA==";
    json::object no_id = bank_account("0020", "x");
    no_id.erase("id");
    auto create =
        call("/v1/account/create", json::object{{"accountList", json::array{bad, no_id}}});
    BOOST_TEST(create.code == "CF-04000");
    BOOST_TEST(create.message == "사용자 계정정보 등록에 실패했습니다.");
    const auto& errors = create.data.at("errorList").as_array();
    BOOST_TEST_REQUIRE(errors.size() == 2u);
    BOOST_TEST(errors[0].at("code").as_string() == "CF-00007");
    BOOST_TEST(errors[1].at("code").as_string() == "CF-00001");
    BOOST_TEST(errors[1].at("extraMessage").as_string() == "id");

    // update: an organization that is not registered.
    auto update = call("/v1/account/update",
                       json::object{{"connectedId", cid},
                                    {"accountList", json::array{bank_account("0081", "pw")}}});
    BOOST_TEST(update.code == "CF-04000");
    BOOST_TEST(update.message == "사용자 계정정보 등록에 실패했습니다.");
    BOOST_TEST(update.data.at("errorList").as_array().at(0).at("code").as_string() == "CF-00007");
}

BOOST_AUTO_TEST_CASE(a_partial_failure_is_cf_00000_with_both_lists) {
    const std::string cid = created(json::array{bank_account("0004", "pw")});
    auto added = call("/v1/account/add",
                      json::object{{"connectedId", cid},
                                   {"accountList", json::array{bank_account("0004", "again"),
                                                               bank_account("0088", "pw-0088")}}});
    BOOST_TEST(added.code == "CF-00000");
    BOOST_TEST(added.message == "성공");
    const auto& successes = added.data.at("successList").as_array();
    const auto& errors = added.data.at("errorList").as_array();
    BOOST_TEST_REQUIRE(successes.size() == 1u);
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(successes[0].at("organization").as_string() == "0088");
    BOOST_TEST(successes[0].at("code").as_string() == "CF-00000");
    BOOST_TEST(errors[0].at("organization").as_string() == "0004");
    BOOST_TEST(errors[0].at("code").as_string() == "CF-04004");
    BOOST_TEST(svc.password_matches(cid, "0088", "pw-0088"));
}

BOOST_AUTO_TEST_CASE(a_delete_lists_its_successes_without_a_code) {
    const std::string cid =
        created(json::array{bank_account("0004", "pw"), bank_account("0088", "pw")});
    const json::object key{{"countryCode", "KR"},
                           {"businessType", "BK"},
                           {"clientType", "P"},
                           {"organization", "0004"},
                           {"loginType", "1"}};
    auto deleted = call("/v1/account/delete",
                        json::object{{"connectedId", cid}, {"accountList", json::array{key}}});
    BOOST_TEST(deleted.code == "CF-00000");
    const auto& successes = deleted.data.at("successList").as_array();
    BOOST_TEST_REQUIRE(successes.size() == 1u);
    BOOST_TEST((successes[0].as_object() == key)); // the five identifying keys, nothing else
    BOOST_TEST(!successes[0].as_object().contains("code"));
    BOOST_TEST(deleted.data.at("connectedId").as_string() == cid);

    // Nothing deleted: the general CF-94002 (CF-04000 is about registering), the item in errorList
    // with its own code.
    auto again = call("/v1/account/delete",
                      json::object{{"connectedId", cid}, {"accountList", json::array{key}}});
    BOOST_TEST(again.code == "CF-94002");
    BOOST_TEST(again.message == "사용자 계정정보 설정에 실패했습니다.");
    BOOST_TEST(again.data.at("successList").as_array().empty());
    BOOST_TEST(again.data.at("errorList").as_array().at(0).at("code").as_string() == "CF-00007");
}

// --- Certificate registrations ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(certificate_registrations_need_base64_files_and_a_password_that_decrypts) {
    const std::string der = detail::base64_encode("signCert.der bytes");
    const std::string key = detail::base64_encode("signPri.key bytes");
    const std::string pfx = detail::base64_encode("a .pfx file");
    auto cert = [&](const char* org, const json::object& f) {
        json::object a{{"countryCode", "KR"}, {"businessType", "BK"},
                       {"clientType", "P"},   {"organization", org},
                       {"loginType", "0"},    {"password", encrypted("cert-pw")}};
        for (const auto& kv : f)
            if (kv.value().is_null())
                a.erase(kv.key());
            else
                a[kv.key()] = kv.value();
        return a;
    };
    json::array list{
        cert("0004", {{"derFile", der}, {"keyFile", key}}),                      // 0: success
        cert("0088", {{"certType", "pfx"}, {"certFile", pfx}}),                  // 1: success
        cert("0020", {{"derFile", der}}),                                        // 2: no keyFile
        cert("0081", {{"keyFile", key}}),                                        // 3: no derFile
        cert("0011", {{"certType", "pfx"}, {"derFile", der}, {"keyFile", key}}), // 4: no certFile
        cert("0003", {{"certFile", pfx}}), // 5: certFile without certType: no derFile
        cert("0023", {{"derFile", "not base64!"}, {"keyFile", key}}),              // 6
        cert("0027", {{"derFile", der}, {"keyFile", "QUJD=x"}}),                   // 7
        cert("0031", {{"certType", "pfx"}, {"certFile", "%%%"}}),                  // 8
        cert("0032", {{"derFile", der}, {"keyFile", key}, {"password", "bm90"}}),  // 9
        cert("0034", {{"derFile", der}, {"keyFile", key}, {"password", nullptr}}), // 10
    };
    auto r = call("/v1/account/create", json::object{{"accountList", list}});
    BOOST_TEST(r.code == "CF-00000");
    const auto& successes = r.data.at("successList").as_array();
    BOOST_TEST_REQUIRE(successes.size() == 2u);
    BOOST_TEST(successes[0].at("organization").as_string() == "0004");
    BOOST_TEST(successes[1].at("organization").as_string() == "0088");
    std::vector<std::string> errors;
    for (const auto& e : r.data.at("errorList").as_array())
        errors.push_back(std::string(e.at("organization").as_string()) + " " +
                         std::string(e.at("code").as_string()) + " " +
                         std::string(e.at("extraMessage").as_string()));
    BOOST_TEST(errors ==
                   (std::vector<std::string>{
                       "0020 CF-00001 keyFile", "0081 CF-00001 derFile", "0011 CF-00001 certFile",
                       "0003 CF-00001 derFile", "0023 CF-00007 derFile: not standard base64",
                       "0027 CF-00007 keyFile: not standard base64",
                       "0031 CF-00007 certFile: not standard base64",
                       "0032 CF-00007 password: does not decrypt with the public key",
                       "0034 CF-00001 password"}),
               boost::test_tools::per_element());
    const std::string cid(r.data.at("connectedId").as_string());
    BOOST_TEST(svc.password_matches(cid, "0004", "cert-pw"));
    BOOST_TEST(svc.password_matches(cid, "0088", "cert-pw"));
    // Every one failing: CF-04000.
    auto none =
        call("/v1/account/create", json::object{{"accountList", json::array{list[2], list[6]}}});
    BOOST_TEST(none.code == "CF-04000");
}

// --- Two-way replies as CODEF sends them ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_secure_no_challenge_has_codefs_shape_every_time) {
    const std::string path = "/v1/kr/insurance/0001/credit4u/contract-info";
    const json::object params = insurance_params(*this);
    const auto first = raw(path, params);
    const std::string jti = check_challenge(first, "secureNo");
    const auto& extra = first.at("data").at("extraInfo").as_object();
    BOOST_TEST(extra.size() == 2u);
    BOOST_TEST(extra.at("reqSecureNoRefresh").as_string() == "0");
    // The captcha: a data URL of a JPEG (SOI, then a marker; EOI at the end).
    const std::string url(extra.at("reqSecureNo").as_string());
    const std::string prefix = "data:img/jpeg;base64,";
    BOOST_TEST_REQUIRE(url.starts_with(prefix));
    const auto jpeg = detail::base64_decode(url.substr(prefix.size())).value();
    BOOST_TEST_REQUIRE(jpeg.size() > 4u);
    BOOST_TEST(jpeg.substr(0, 3) == std::string("\xFF\xD8\xFF"));
    BOOST_TEST(jpeg.substr(jpeg.size() - 2) == std::string("\xFF\xD9"));

    // A wrong answer: the same challenge again, same job, CODEF's message and extraMessage.
    const auto wrong =
        raw(path, follow_up(params, first, {{"secureNo", "000000"}, {"secureNoRefresh", "0"}}));
    BOOST_TEST(check_challenge(wrong, "secureNo") == jti);
    BOOST_TEST((wrong.at("data").at("jobIndex") == first.at("data").at("jobIndex")));
    // A new captcha: the same again.
    const auto refreshed =
        raw(path, follow_up(params, wrong, {{"secureNo", ""}, {"secureNoRefresh", "1"}}));
    BOOST_TEST(check_challenge(refreshed, "secureNo") == jti);
    BOOST_TEST(refreshed.at("data").at("extraInfo").at("reqSecureNo").as_string() == url);
    // The right answer, with the newest challenge's twoWayInfo: the data, no two-way keys.
    const auto done =
        raw(path, follow_up(params, refreshed, {{"secureNo", "123456"}, {"secureNoRefresh", "0"}}));
    BOOST_TEST(done.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(done.size() == 2u);
    BOOST_TEST(done.at("data").at("resContractList").as_array().size() == 2u);
    // The job is over.
    const auto late = raw(path, follow_up(params, refreshed, {{"secureNo", "123456"}}));
    BOOST_TEST(late.at("result").at("code").as_string() == "CF-00007");
    BOOST_TEST(late.at("result").at("extraMessage").as_string() ==
               "twoWayInfo: no such two-way job");
}

BOOST_AUTO_TEST_CASE(too_many_wrong_answers_are_cf_12872) {
    const std::string path = "/v1/kr/insurance/0001/credit4u/contract-info";
    const json::object params = insurance_params(*this);
    auto last = raw(path, params);
    for (int i = 0; i < 2; ++i) {
        last = raw(path, follow_up(params, last, {{"secureNo", "bad"}}));
        check_challenge(last, "secureNo");
    }
    last = raw(path, follow_up(params, last, {{"secureNo", "bad"}}));
    BOOST_TEST(last.at("result").at("code").as_string() == "CF-12872");
    BOOST_TEST(!last.contains("twoWayInfo"));
    BOOST_TEST(!last.contains("is2Way"));
}

BOOST_AUTO_TEST_CASE(the_health_checkup_asks_for_simple_authentication) {
    const std::string path = "/v1/kr/public/pp/nhis-health-checkup/result";
    // Its parameters are checked first.
    for (const char* name : {"loginType", "loginTypeLevel", "userName", "phoneNo", "identity"}) {
        json::object p = checkup_params();
        p.erase(name);
        auto r = call(path, p);
        BOOST_TEST(r.code == "CF-00001", name);
        BOOST_TEST(r.extra_message == name);
        p[name] = "";
        BOOST_TEST(call(path, p).code == "CF-00001", name);
    }
    for (json::value level : {json::value("0"), json::value("9"), json::value("10"),
                              json::value("x"), json::value(0), json::value(9)}) {
        json::object p = checkup_params();
        p["loginTypeLevel"] = level;
        auto r = call(path, p);
        BOOST_TEST(r.code == "CF-00007", json::serialize(level));
        BOOST_TEST(r.extra_message.starts_with("loginTypeLevel"));
    }
    json::object certificate = checkup_params();
    certificate["loginType"] = "0";
    BOOST_TEST(call(path, certificate).code == "CF-00007");
    BOOST_TEST(call(path, certificate).extra_message.starts_with("loginType:"));

    for (json::value level : {json::value("1"), json::value("8"), json::value(5)}) {
        json::object p = checkup_params();
        p["loginTypeLevel"] = level;
        const auto challenge = raw(path, p);
        check_challenge(challenge, "simpleAuth");
        BOOST_TEST(challenge.at("data").at("extraInfo").as_object().empty());
        // Not confirmed in the app yet: asked again.
        const auto not_yet = raw(path, follow_up(p, challenge, {{"simpleAuth", "0"}}));
        check_challenge(not_yet, "simpleAuth");
        const auto done = raw(path, follow_up(p, not_yet, {{"simpleAuth", "1"}}));
        BOOST_TEST(done.at("result").at("code").as_string() == "CF-00000");
        BOOST_TEST(done.at("result").at("message").as_string() == "성공");
        const auto& data = done.at("data").as_object();
        BOOST_TEST(data.at("resUserName").as_string() == "홍길동");
        const auto& list = data.at("resPreviewList").as_array();
        BOOST_TEST_REQUIRE(list.size() == 3u); // 2023, 2022, 2021
        BOOST_TEST(list[0].at("resCheckupYear").as_string() == "2023");
        BOOST_TEST(list[2].at("resCheckupYear").as_string() == "2021");
        for (const auto& item : list) {
            const std::string date(item.at("resCheckupDate").as_string());
            BOOST_TEST(date.size() == 8u);
            BOOST_TEST(date.starts_with(std::string(item.at("resCheckupYear").as_string())));
            for (const auto& kv : item.as_object())
                BOOST_TEST(kv.value().is_string(), kv.key());
            BOOST_TEST(!item.at("resHeight").as_string().empty());
            BOOST_TEST(item.at("resBloodPressure").as_string().find('/') != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(multiple_requests_share_one_authentication_by_their_id) {
    const std::string path = "/v1/kr/public/pp/nhis-health-checkup/result";
    std::vector<std::string> woken;
    svc.on_two_way_done([&](const std::string& id) { woken.push_back(id); });
    const auto with_id = [](const char* id) {
        json::object p = checkup_params();
        p["id"] = id;
        return p;
    };
    const auto handle = [&](const json::object& p, bool resumed) {
        return svc.handle({"POST", path, "Bearer " + token(),
                           detail::percent_encode(json::serialize(p)), resumed});
    };
    // A: the challenge. B, with A's id while it is pending: told to wait for it, nothing sent.
    const auto a = raw(path, with_id("user-1"));
    check_challenge(a, "simpleAuth");
    BOOST_TEST(svc.two_way_pending("user-1"));
    const auto b = handle(with_id("user-1"), false);
    BOOST_TEST(b.wait_for == "user-1");
    BOOST_TEST(b.body.empty());
    BOOST_TEST(b.wait_limit.count() > 150'000);
    BOOST_TEST(b.wait_limit.count() <= 160'020);
    // Another end user is not held by it.
    check_challenge(raw(path, with_id("user-2")), "simpleAuth");
    BOOST_TEST(woken.empty());
    // A answered: the waiters are woken, and B, served again, gets its data.
    const auto done = raw(path, follow_up(with_id("user-1"), a, {{"simpleAuth", "1"}}));
    BOOST_TEST(done.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(woken == std::vector<std::string>{"user-1"});
    BOOST_TEST(!svc.two_way_pending("user-1"));
    const auto resumed = handle(with_id("user-1"), true);
    BOOST_TEST(resumed.wait_for.empty());
    const auto data = detail::parse_api_reply(resumed.body).value();
    BOOST_TEST(data.code == "CF-00000");
    BOOST_TEST(data.data.at("resUserName").as_string() == "홍길동");
    // C, after A's authentication, within its timeout: answered at once.
    const auto c = raw(path, with_id("user-1"));
    BOOST_TEST(c.at("result").at("code").as_string() == "CF-00000");
    const auto stats = svc.stats();
    BOOST_TEST(stats.two_way_waits == 1u);
    // The resumed call is the same request: counted once.
    BOOST_TEST(stats.requests_by_path.at(path) == 5u);

    // An authentication that fails: the waiter learns how; a new call starts another.
    const auto d = raw(path, with_id("user-3"));
    BOOST_TEST(handle(with_id("user-3"), false).wait_for == "user-3");
    auto last = d;
    for (int i = 0; i < 3; ++i)
        last = raw(path, follow_up(with_id("user-3"), last, {{"simpleAuth", "0"}}));
    BOOST_TEST(last.at("result").at("code").as_string() == "CF-12872");
    BOOST_TEST((woken == std::vector<std::string>{"user-1", "user-3"}));
    const auto failed = detail::parse_api_reply(handle(with_id("user-3"), true).body).value();
    BOOST_TEST(failed.code == "CF-12872");
    check_challenge(raw(path, with_id("user-3")), "simpleAuth");
}

BOOST_AUTO_TEST_CASE(a_multiple_request_waits_no_longer_than_the_challenge_lives) {
    emulator_options o = opts;
    o.two_way_timeout = std::chrono::milliseconds(1500);
    service other{o, key, key};
    const std::string path = "/v1/kr/public/pp/nhis-health-checkup/result";
    const auto tok = [&] {
        auto rep =
            other.handle({"POST", "/oauth/token", basic(sandbox_client_id, sandbox_client_secret),
                          "grant_type=client_credentials&scope=read"});
        return "Bearer " + std::string(json::parse(rep.body).at("access_token").as_string());
    }();
    json::object p = checkup_params();
    p["id"] = "user-1";
    const std::string body = detail::percent_encode(json::serialize(p));
    BOOST_TEST(other.handle({"POST", path, tok, body}).wait_for.empty()); // the challenge
    const auto b = other.handle({"POST", path, tok, body});
    BOOST_TEST(b.wait_for == "user-1");
    BOOST_TEST(b.wait_limit.count() <= 1520);
    // Woken while the challenge is pending (the server stopping): an error, never a hang.
    const auto early =
        detail::parse_api_reply(other.handle({"POST", path, tok, body, true}).body).value();
    BOOST_TEST(early.code == "CF-00007");
    BOOST_TEST(early.extra_message == "id: the shared two-way authentication is still pending");
}

BOOST_AUTO_TEST_CASE(a_two_way_job_answers_on_its_own_path_only) {
    const std::string insurance = "/v1/kr/insurance/0001/credit4u/contract-info";
    const std::string checkup = "/v1/kr/public/pp/nhis-health-checkup/result";
    const auto challenge = raw(insurance, insurance_params(*this));
    const auto crossed =
        raw(checkup, follow_up(checkup_params(), challenge, {{"simpleAuth", "1"}}));
    BOOST_TEST(crossed.at("result").at("code").as_string() == "CF-00007");
    BOOST_TEST(crossed.at("result").at("extraMessage").as_string() ==
               "twoWayInfo: no such two-way job");
    // The job is still there for its own path.
    const auto done =
        raw(insurance, follow_up(insurance_params(*this), challenge, {{"secureNo", "123456"}}));
    BOOST_TEST(done.at("result").at("code").as_string() == "CF-00000");
}

BOOST_AUTO_TEST_CASE(the_two_way_products_are_an_option) {
    emulator_options o = opts;
    o.two_way_products = {{"/v1/kr/public/nt/business/status", "smsAuthNo"}};
    o.two_way_timeout = std::chrono::milliseconds(1500);
    service other{o, key, key};
    auto tok =
        other.handle({"POST", "/oauth/token", basic(sandbox_client_id, sandbox_client_secret),
                      "grant_type=client_credentials"});
    const std::string bearer =
        "Bearer " + std::string(json::parse(tok.body).at("access_token").as_string());
    auto send = [&](const std::string& path, const json::object& p) {
        auto rep = other.handle({"POST", path, bearer, json::serialize(p)});
        BOOST_TEST_REQUIRE(rep.status == 200u);
        return json::parse(detail::form_decode(rep.body).value()).as_object();
    };
    const json::object status{
        {"organization", "0001"},
        {"reqIdentityList", json::array{json::object{{"reqIdentity", "1234567890"}}}}};
    const auto challenge = send("/v1/kr/public/nt/business/status", status);
    check_challenge(challenge, "smsAuthNo", std::chrono::seconds(2)); // 1.5 s, rounded up
    const auto done = send("/v1/kr/public/nt/business/status",
                           follow_up(status, challenge, {{"smsAuthNo", "123456"}}));
    BOOST_TEST(done.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(done.at("data").as_array().size() == 1u);
    // The insurance product is not among them here: it answers at once.
    const auto insurance =
        send("/v1/kr/insurance/0001/credit4u/contract-info", insurance_params(*this));
    BOOST_TEST(insurance.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(!insurance.contains("is2Way"));
}

BOOST_AUTO_TEST_CASE(top_level_keys_are_encoded_after_data_byte_for_byte) {
    api_result r;
    r.code = "CF-03002";
    r.data = json::parse(
        R"({"method":"secureNo","extraInfo":{"reqSecureNo":"data:img/jpeg;base64,/9j+"}})");
    r.top_level = json::object{{"twoWayInfo", json::object{{"jti", "a b"}, {"twoWayTimeout", 160}}},
                               {"is2Way", true}};
    const std::string body = encode_envelope(r, "tx-2");
    const std::string whole = R"({"result":{"code":"CF-03002","extraMessage":"","message":"성공",)"
                              R"("transactionId":"tx-2"},"data":)" +
                              json::serialize(r.data) +
                              R"(,"twoWayInfo":{"jti":"a b","twoWayTimeout":160},"is2Way":true})";
    BOOST_TEST(body == detail::form_encode(whole));
    BOOST_TEST(body.ends_with("%2C%22is2Way%22%3Atrue%7D"));
    // The client's reader keeps them.
    const auto parsed = detail::parse_api_reply(body).value();
    BOOST_TEST(parsed.code == "CF-03002");
    BOOST_TEST(parsed.data.at("extraInfo").at("reqSecureNo").as_string() ==
               "data:img/jpeg;base64,/9j+");
}

// --- Tokens --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_tokens_service_type_is_its_credentials_environment) {
    BOOST_TEST(claims(token()).at("service_type").as_string() == "2"); // the sandbox pair
    auto mine = svc.handle({"POST", "/oauth/token", basic("my-id", "my-secret"),
                            "grant_type=client_credentials&scope=read"});
    const std::string tok(json::parse(mine.body).at("access_token").as_string());
    const auto c = claims(tok);
    BOOST_TEST(c.at("service_type").as_string() == "1"); // development by default
    BOOST_TEST(c.at("client_id").as_string() == "my-id");
    BOOST_TEST(c.at("authorities").as_array().size() == 6u);

    for (auto [env, expected] :
         {std::pair{environment::production, "0"}, std::pair{environment::development, "1"},
          std::pair{environment::sandbox, "2"}}) {
        emulator_options o = opts;
        o.credentials_environment = env;
        service other{o, key, key};
        auto rep = other.handle({"POST", "/oauth/token", basic("my-id", "my-secret"),
                                 "grant_type=client_credentials&scope=read"});
        BOOST_TEST(claims(std::string(json::parse(rep.body).at("access_token").as_string()))
                       .at("service_type")
                       .as_string() == expected);
        auto sandbox =
            other.handle({"POST", "/oauth/token", basic(sandbox_client_id, sandbox_client_secret),
                          "grant_type=client_credentials&scope=read"});
        BOOST_TEST(claims(std::string(json::parse(sandbox.body).at("access_token").as_string()))
                       .at("service_type")
                       .as_string() == "2");
    }
}

BOOST_AUTO_TEST_CASE(a_token_without_the_paths_authority_is_denied_with_403) {
    auto ids = call("/v1/account/connectedId-list", json::object{});
    const std::string cid(ids.data.at("connectedIdList").as_array()[0].as_string());
    const std::string before = token(); // all six authorities
    emulator_faults f;
    f.token_authorities = std::vector<std::string>{"CARD", "INSURANCE", "PUBLIC"};
    svc.apply(f);
    const std::string lacking = token();
    const auto c = claims(lacking);
    BOOST_TEST(c.at("authorities") == json::parse(R"(["CARD","INSURANCE","PUBLIC"])"));

    const std::string body =
        json::serialize(json::object{{"connectedId", cid}, {"organization", "0004"}});
    auto denied =
        svc.handle({"POST", "/v1/kr/bank/p/account/account-list", "Bearer " + lacking, body});
    BOOST_TEST(denied.status == 403u);
    BOOST_TEST(denied.body ==
               R"({"error":"access_denied","error_description":"Access is denied"})");
    // What the client reads of it.
    diagnostics d;
    detail::read_error_body(denied.body, d);
    BOOST_TEST(d.codef_code == "access_denied");
    BOOST_TEST(d.codef_message == "Access is denied");
    for (const char* path : {"/v1/kr/stock/p/account/list", "/v1/kr/etc/x"})
        BOOST_TEST(svc.handle({"POST", path, "Bearer " + lacking, body}).status == 403u, path);
    // The authorities it holds, and account management (which needs none), go through.
    BOOST_TEST(
        svc.handle({"POST", "/v1/kr/card/p/account/card-list", "Bearer " + lacking, body}).status ==
        200u);
    BOOST_TEST(svc.handle({"POST", "/v1/kr/public/nt/business/status", "Bearer " + lacking, "{}"})
                   .status == 200u);
    BOOST_TEST(svc.handle({"POST", "/v1/account/list", "Bearer " + lacking, body}).status == 200u);
    // A token issued before keeps its authorities; an invalid one is still a 401.
    BOOST_TEST(svc.handle({"POST", "/v1/kr/bank/p/account/account-list", "Bearer " + before, body})
                   .status == 200u);
    BOOST_TEST(
        svc.handle({"POST", "/v1/kr/bank/p/account/account-list", "Bearer x", body}).status ==
        401u);
    BOOST_TEST(svc.stats().forbidden == 3u);
    BOOST_TEST(json::parse(svc.handle({"GET", "/_emulator/stats", "", ""}).body)
                   .at("forbidden")
                   .to_number<int>() == 3);

    // Over the admin endpoint: a list, null for all six; a bad name is refused.
    auto bad = svc.handle({"POST", "/_emulator/faults", "", R"({"token_authorities":["bank"]})"});
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(json::parse(bad.body).at("field").as_string() == "token_authorities");
    BOOST_TEST(
        svc.handle({"POST", "/_emulator/faults", "", R"({"token_authorities":"BANK"})"}).status ==
        400u);
    BOOST_TEST(
        svc.handle({"POST", "/_emulator/faults", "", R"({"token_authorities":["BANK"]})"}).status ==
        200u);
    const std::string bank_only = token();
    BOOST_TEST(claims(bank_only).at("authorities") == json::parse(R"(["BANK"])"));
    BOOST_TEST(
        svc.handle({"POST", "/v1/kr/bank/p/account/account-list", "Bearer " + bank_only, body})
            .status == 200u);
    BOOST_TEST(svc.handle({"POST", "/v1/kr/card/p/account/card-list", "Bearer " + bank_only, body})
                   .status == 403u);
    BOOST_TEST(
        svc.handle({"POST", "/_emulator/faults", "", R"({"token_authorities":null})"}).status ==
        200u);
    BOOST_TEST(claims(token()).at("authorities").as_array().size() == 6u);
}

BOOST_AUTO_TEST_SUITE_END()
