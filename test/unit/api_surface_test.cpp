// Parameter building and typed result parsing of the API surface: accounts, connectedId pages,
// two-way authentication, the inquiry helpers, result codes. No sockets.
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "emulator/tls_material.hpp"
#include "support.hpp"

#include <codef/accounts.hpp>
#include <codef/crypto.hpp>
#include <codef/products.hpp>
#include <codef/result_codes.hpp>
#include <codef/two_way.hpp>

#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <sstream>

namespace json = boost::json;
using namespace codef;

namespace {

struct keys {
    emu::pkey_ptr key = emu::generate_rsa(2048);
    public_key pub = public_key::parse(emu::public_key_base64(key.get())).value();
};
const keys& rsa() {
    static const keys k;
    return k;
}

response sample(const char* path) {
    static const json::value s = codef::test::read_json_file("seed-sample.json");
    const auto encoded = detail::form_encode(json::serialize(s.at(path)));
    return detail::parse_api_reply(encoded).value();
}

account bank_login(const char* org, std::string plain) {
    account a;
    a.business_type = business_type::bank;
    a.organization = org;
    a.id = "user";
    a.password = password::plaintext(std::move(plain));
    return a;
}

} // namespace

BOOST_AUTO_TEST_SUITE(api_surface)

BOOST_AUTO_TEST_CASE(secrets_never_print) {
    secret s("hunter2");
    std::ostringstream os;
    os << s << " " << password::plaintext("hunter2") << " " << password::encrypted("abc");
    BOOST_TEST(os.str().find("hunter2") == std::string::npos);
    BOOST_TEST(os.str().find("abc") == std::string::npos);
    BOOST_TEST(os.str() == "******** ******** (encrypted) ********");
    BOOST_TEST(s.reveal() == "hunter2");
    secret moved(std::move(s));
    BOOST_TEST(moved.reveal() == "hunter2");
    BOOST_TEST(s.empty());
}

// Every byte a secret's string owns is zeroed when the value leaves it: a short value lives in
// the string object itself (small-string optimisation), and a move used to leave it there.
// (The first byte is no test: clearing a string writes its terminator there.)
static bool holds_no_byte_of(const secret& s, std::string_view value) {
    const std::string& str = s.reveal();
    const std::string_view owned(str.data(), str.capacity());
    return owned.find(value.substr(1)) == std::string_view::npos;
}

BOOST_AUTO_TEST_CASE(a_secret_moved_or_replaced_leaves_no_copy_behind) {
    secret from_move("pin-1234"); // short: kept inside the string object
    secret to(std::move(from_move));
    BOOST_TEST(to.reveal() == "pin-1234");
    BOOST_TEST(holds_no_byte_of(from_move, "pin-1234"));

    secret from_assign("pin-5678");
    secret replaced("old-9999");
    const std::string& replaced_str = replaced.reveal();
    replaced = std::move(from_assign);
    BOOST_TEST(replaced.reveal() == "pin-5678");
    BOOST_TEST(holds_no_byte_of(from_assign, "pin-5678"));
    BOOST_TEST(std::string_view(replaced_str.data(), replaced_str.capacity()).find("ld-9999") ==
               std::string_view::npos);
}

BOOST_AUTO_TEST_CASE(plaintext_passwords_leave_encrypted) {
    auto params = detail::account_params(
        {bank_login("0004", "pw-1"), bank_login("0088", "비밀번호")}, &rsa().pub);
    BOOST_TEST_REQUIRE(params.has_value());
    const std::string text = json::serialize(*params);
    BOOST_TEST(text.find("pw-1") == std::string::npos);
    const auto& list = params->at("accountList").as_array();
    BOOST_TEST(list.size() == 2u);
    BOOST_TEST(list[0].at("countryCode").as_string() == "KR");
    BOOST_TEST(list[0].at("businessType").as_string() == "BK");
    BOOST_TEST(list[0].at("clientType").as_string() == "P");
    BOOST_TEST(list[0].at("loginType").as_string() == "1");
    BOOST_TEST(list[0].at("id").as_string() == "user");
    BOOST_TEST(emu::rsa_decrypt(rsa().key.get(), list[0].at("password").as_string()).value() ==
               "pw-1");
    BOOST_TEST(emu::rsa_decrypt(rsa().key.get(), list[1].at("password").as_string()).value() ==
               "비밀번호");
}

BOOST_AUTO_TEST_CASE(encrypted_passwords_pass_through_and_extra_parameters_are_kept) {
    account a = bank_login("0004", "");
    a.password = password::encrypted("Q2lwaGVy");
    a.birthday = "900101";
    a.extra["withdrawAccountNo"] = "123";
    auto params = detail::account_params({a}, nullptr);
    BOOST_TEST_REQUIRE(params.has_value());
    const auto& o = params->at("accountList").as_array()[0];
    BOOST_TEST(o.at("password").as_string() == "Q2lwaGVy");
    BOOST_TEST(o.at("birthday").as_string() == "900101");
    BOOST_TEST(o.at("withdrawAccountNo").as_string() == "123");
}

BOOST_AUTO_TEST_CASE(bad_accounts_are_refused_naming_the_field) {
    auto refusal = [](account a, const public_key* key = &rsa().pub) {
        auto r = detail::account_params({bank_login("0004", "x"), std::move(a)}, key);
        return r ? std::string() : r.diag().detail;
    };
    BOOST_TEST(detail::account_params({bank_login("0004", "x")}, nullptr).error() ==
               client_errc::missing_public_key);
    BOOST_TEST(refusal(bank_login("0004", "x"), nullptr) ==
               "accountList[0].password: a plaintext password needs config.public_key");
    BOOST_TEST(refusal(bank_login("4", "x")) == "accountList[1].organization: not 4 digits");
    account no_id = bank_login("0004", "x");
    no_id.id.clear();
    BOOST_TEST(refusal(no_id) == "accountList[1].id: empty with loginType \"1\"");
    account cert = bank_login("0004", "x");
    cert.login_type = login_type::certificate;
    BOOST_TEST(
        refusal(cert) ==
        "accountList[1].derFile: empty with loginType \"0\" (or certType \"pfx\" and certFile)");
    account bad_login = bank_login("0004", "x");
    bad_login.login_type = "2";
    BOOST_TEST(refusal(bad_login).starts_with("accountList[1].loginType"));
    BOOST_TEST(refusal(bank_login("0004", "")) == "accountList[1].password: empty");
    BOOST_TEST(detail::account_params({}, nullptr).error() == client_errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(account_replies_are_typed) {
    auto created = detail::parse_account_result(sample("/v1/account/create"));
    BOOST_TEST(created.connected_id == "45t4DJOD44M9uwH7zxSgBg");
    BOOST_TEST_REQUIRE(created.success_list.size() == 2u);
    BOOST_TEST(created.success_list[1].organization == "0004");
    BOOST_TEST(created.success_list[1].code == "CF-00000");
    BOOST_TEST(created.success_list[1].message == "성공");
    BOOST_TEST(created.error_list.empty());
    BOOST_TEST(created.reply.ok());

    auto listed = detail::parse_account_list(sample("/v1/account/list"));
    BOOST_TEST_REQUIRE(listed.accounts.size() == 3u);
    BOOST_TEST(listed.accounts[2].organization == "0309"); // from organizationCode
    BOOST_TEST(listed.accounts[2].business_type == "CD");
    BOOST_TEST(listed.accounts[0].client_type == "B");
    BOOST_TEST(listed.connected_id == "bybF-S85kX998Trh23JUVb");

    auto deleted = detail::parse_account_result(sample("/v1/account/delete"));
    BOOST_TEST(deleted.success_list.at(0).organization == "0020");
}

BOOST_AUTO_TEST_CASE(connected_id_pages) {
    auto page = detail::parse_connected_id_page(sample("/v1/account/connectedId-list"), 0);
    BOOST_TEST(page.ids.size() == 2u);
    BOOST_TEST(page.has_next);
    BOOST_TEST(page.next_page_no == 1);
    // A server pointing back to the same page cannot send the stream round forever.
    response looping;
    looping.code = "CF-00000";
    looping.data = json::parse(R"({"connectedIdList":[],"hasNext":true,"nextPageNo":3})");
    BOOST_TEST(detail::parse_connected_id_page(looping, 5).next_page_no == 6);
    // page_no is the server's pageNo (a number or a string of one), else the page asked.
    BOOST_TEST(detail::parse_connected_id_page(looping, 5).page_no == 5);
    looping.data.as_object()["pageNo"] = "7";
    BOOST_TEST(detail::parse_connected_id_page(looping, 5).page_no == 7);
    looping.data.as_object()["pageNo"] = 8;
    BOOST_TEST(detail::parse_connected_id_page(looping, 5).page_no == 8);
}

static std::string base64_of(std::string_view bytes) {
    return detail::base64_encode(bytes);
}

// A two-way reply as CODEF sends it: the job's keys in data and again at the top level.
constexpr const char* codef_two_way_reply = R"({
    "result": {"code": "CF-03002", "message": "성공",
               "extraMessage": "API 요청 처리가 정상 진행 중입니다. 추가 정보를 입력하세요.",
               "transactionId": "t-1"},
    "data": {"continue2Way": true, "method": "simpleAuth", "jobIndex": 0, "threadIndex": 1,
             "jti": "j-9", "twoWayTimestamp": 1700000000999, "extraInfo": {}},
    "twoWayInfo": {"jobIndex": 0, "threadIndex": 1, "jti": "j-9",
                   "twoWayTimestamp": 1700000000999, "twoWayTimeout": 160},
    "is2Way": true})";

BOOST_AUTO_TEST_CASE(top_level_keys_beside_result_and_data_are_kept) {
    auto r = detail::parse_api_reply(codef_two_way_reply);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->top_level.size() == 2u);
    BOOST_TEST(r->top_level.at("is2Way").as_bool());
    BOOST_TEST(r->top_level.at("twoWayInfo").at("twoWayTimeout").as_int64() == 160);
    BOOST_TEST(r->data.at("jti").as_string() == "j-9");
    BOOST_TEST(sample("/v1/account/list").top_level.empty());
    // The job's keys come from data, or from twoWayInfo when data lacks them.
    r->data.as_object().erase("jti");
    r->data.as_object().erase("threadIndex");
    auto c = two_way_challenge::from(*r, "/p", {});
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->jti == "j-9");
    BOOST_TEST(c->thread_index == 1);
}

BOOST_AUTO_TEST_CASE(a_challenge_survives_json_and_back) {
    auto r = detail::parse_api_reply(codef_two_way_reply);
    BOOST_TEST_REQUIRE(r.has_value());
    json::object params{{"organization", "0002"}, {"loginType", "5"}, {"loginTypeLevel", "1"}};
    auto c = two_way_challenge::from(*r, "/v1/kr/public/pp/nhis-health-checkup/result", params);
    BOOST_TEST_REQUIRE(c.has_value());
    // Through text, as a web backend keeps it between two HTTP requests.
    const std::string text = json::serialize(c->to_json());
    auto back = two_way_challenge::from_json(json::parse(text));
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->method == "simpleAuth");
    BOOST_TEST(back->jti == "j-9");
    BOOST_TEST(back->thread_index == 1);
    BOOST_TEST(back->two_way_timestamp == 1700000000999);
    BOOST_TEST(back->path == "/v1/kr/public/pp/nhis-health-checkup/result");
    BOOST_TEST(back->params == params);
    BOOST_TEST(back->reply.code == "CF-03002");
    BOOST_TEST(back->reply.transaction_id == "t-1");
    BOOST_TEST(back->reply.top_level.at("twoWayInfo").at("twoWayTimeout").as_int64() == 160);
    BOOST_TEST(json::serialize(back->to_json()) == text);
    // The follow-up from the restored challenge is the one from the original.
    BOOST_TEST(detail::two_way_params(*back, two_way_answer::confirmed()) ==
               detail::two_way_params(*c, two_way_answer::confirmed()));

    auto broken = c->to_json();
    broken.erase("jti");
    auto refused = two_way_challenge::from_json(broken);
    BOOST_TEST(refused.error() == client_errc::invalid_argument);
    BOOST_TEST(refused.diag().detail == "two_way_challenge JSON: jti: missing or not a string");
    broken = c->to_json();
    broken["reply"].as_object()["result"].as_object().erase("code");
    BOOST_TEST(two_way_challenge::from_json(broken).diag().detail ==
               "two_way_challenge JSON: reply.result.code: missing or not a string");
    BOOST_TEST(two_way_challenge::from_json(json::array{}).error() ==
               client_errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(certificate_accounts_in_both_forms) {
    const std::string der = base64_of("der-bytes"), key = base64_of("key-bytes");
    account pfx;
    pfx.business_type = business_type::bank;
    pfx.organization = "0004";
    pfx.login_type = login_type::certificate;
    pfx.cert_type = "pfx";
    pfx.cert_file = base64_of("pfx-bytes");
    pfx.password = password::encrypted("cipher");
    auto params = detail::account_params({pfx}, nullptr);
    BOOST_TEST_REQUIRE(params.has_value());
    const auto& sent = params->at("accountList").at(0).as_object();
    BOOST_TEST(sent.at("certType").as_string() == "pfx");
    BOOST_TEST(sent.at("certFile").as_string() == base64_of("pfx-bytes"));
    BOOST_TEST(!sent.contains("derFile"));

    account der_key = pfx;
    der_key.cert_type.clear();
    der_key.cert_file.clear();
    der_key.der_file = der;
    der_key.key_file = key;
    params = detail::account_params({der_key}, nullptr);
    BOOST_TEST_REQUIRE(params.has_value());
    BOOST_TEST(params->at("accountList").at(0).at("derFile").as_string() == der);
    BOOST_TEST(params->at("accountList").at(0).at("keyFile").as_string() == key);

    const auto refusal = [](const account& a) {
        return detail::account_params({a}, nullptr).diag().detail;
    };
    account no_file = pfx;
    no_file.cert_file.clear();
    BOOST_TEST(refusal(no_file) == "accountList[0].certFile: empty with certType \"pfx\"");
    account both = pfx;
    both.der_file = der;
    BOOST_TEST(refusal(both).starts_with("accountList[0].derFile: given with certType"));
    account other_type = pfx;
    other_type.cert_type = "p12";
    BOOST_TEST(refusal(other_type).starts_with("accountList[0].certType:"));
    account bad_base64 = der_key;
    bad_base64.key_file = "not base64!";
    BOOST_TEST(refusal(bad_base64) ==
               "accountList[0].keyFile: not standard base64 (file_to_base64 makes it)");
    account neither = der_key;
    neither.der_file.clear();
    BOOST_TEST(refusal(neither).starts_with("accountList[0].derFile: empty with loginType"));
}

BOOST_AUTO_TEST_CASE(a_certificate_file_read_into_base64) {
    const std::string path = "/tmp/codef-api-surface-" + std::to_string(::getpid()) + ".der";
    {
        std::ofstream out(path, std::ios::binary);
        out << std::string("\x30\x82\x00\xff", 4) << "signCert";
    }
    auto b64 = file_to_base64(path);
    BOOST_TEST_REQUIRE(b64.has_value());
    BOOST_TEST(*b64 == base64_of(std::string("\x30\x82\x00\xff", 4) + "signCert"));
    auto too_big = file_to_base64(path, 4);
    BOOST_TEST(too_big.error() == client_errc::invalid_argument);
    BOOST_TEST(too_big.diag().detail == "certificate file " + path + ": 12 bytes, more than 4");
    std::remove(path.c_str());
    auto missing = file_to_base64(path);
    BOOST_TEST(missing.error() == client_errc::invalid_argument);
    BOOST_TEST(missing.diag().detail.starts_with("certificate file " + path + ": "));
    BOOST_TEST(file_to_base64("/tmp").diag().detail == "certificate file /tmp: not a regular file");
}

namespace {
response challenge_reply(const char* data) {
    response r;
    r.code = "CF-03002";
    r.data = json::parse(data);
    return r;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_challenge_and_its_follow_up) {
    json::object params{{"connectedId", "cid"}, {"organization", "0001"}};
    auto c = two_way_challenge::from(
        challenge_reply(R"({"continue2Way":true,"method":"secureNo","jobIndex":2,"threadIndex":0,
                            "jti":"abc","twoWayTimestamp":1700000000123,"extraInfo":{"reqSecureNo":"data:x"}})"),
        "/v1/kr/x", params);
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->method == "secureNo");
    BOOST_TEST(c->job_index == 2);
    BOOST_TEST(c->two_way_timestamp == 1700000000123);
    BOOST_TEST(c->extra_info.at("reqSecureNo").as_string() == "data:x");

    auto p = detail::two_way_params(*c, two_way_answer::code("654321"));
    BOOST_TEST(p.at("connectedId").as_string() == "cid");
    BOOST_TEST(p.at("secureNo").as_string() == "654321");
    BOOST_TEST(p.at("secureNoRefresh").as_string() == "0");
    BOOST_TEST(p.at("is2Way").as_bool());
    BOOST_TEST(p.at("twoWayInfo").at("jti").as_string() == "abc");
    BOOST_TEST(p.at("twoWayInfo").at("twoWayTimestamp").as_int64() == 1700000000123);
    BOOST_TEST(detail::check_two_way_follow_up(p).has_value());
    BOOST_TEST(detail::check_plain_call(p).error() == client_errc::two_way_in_plain_call);

    auto refresh = detail::two_way_params(*c, two_way_answer::new_captcha());
    BOOST_TEST(refresh.at("secureNoRefresh").as_string() == "1");

    c->method = "simpleAuth";
    BOOST_TEST(
        detail::two_way_params(*c, two_way_answer::confirmed()).at("simpleAuth").as_string() ==
        "1");
    c->method = "smsAuthNo";
    BOOST_TEST(detail::two_way_params(*c, two_way_answer::code("1")).at("smsAuthNo").as_string() ==
               "1");
}

BOOST_AUTO_TEST_CASE(the_two_way_guards) {
    // A challenge the server sent without a jti yields a follow-up the guard refuses.
    auto c = two_way_challenge::from(
        challenge_reply(
            R"({"continue2Way":true,"method":"smsAuthNo","jobIndex":1,"threadIndex":0,"twoWayTimestamp":5})"),
        "/p", {});
    auto missing_jti =
        detail::check_two_way_follow_up(detail::two_way_params(*c, two_way_answer::code("1")));
    BOOST_TEST(missing_jti.error() == client_errc::two_way_incomplete);
    BOOST_TEST(missing_jti.diag().detail == "twoWayInfo.jti: missing");
    BOOST_TEST(detail::check_two_way_follow_up(json::object{{"is2Way", false}})
                   .diag()
                   .detail.starts_with("is2Way"));
    BOOST_TEST(detail::check_two_way_follow_up(json::object{{"is2Way", true}}).diag().detail ==
               "twoWayInfo: missing");
    BOOST_TEST(detail::check_plain_call(json::object{{"twoWayInfo", json::object{}}})
                   .diag()
                   .detail.starts_with("twoWayInfo"));
    BOOST_TEST(detail::check_plain_call(json::object{{"organization", "0004"}}).has_value());
    // Not a challenge: any other code, or CF-03002 without continue2Way.
    BOOST_TEST(!two_way_challenge::from(sample("/v1/account/list"), "/p", {}).has_value());
    BOOST_TEST(!two_way_challenge::from(challenge_reply(R"({"continue2Way":false})"), "/p", {})
                    .has_value());
}

BOOST_AUTO_TEST_CASE(result_codes_are_an_error_category_and_kept_verbatim) {
    response r = sample("/v1/account/list");
    BOOST_TEST(!r.error());
    r.code = "CF-00001";
    BOOST_TEST(r.error() == result_code::missing_parameter);
    BOOST_TEST(r.error().message() == "a required parameter is missing");
    r.code = "CF-13231";
    BOOST_TEST(r.error().value() == 13231);
    BOOST_TEST(r.error().message() == "CODEF result CF-13231");
    BOOST_TEST(r.code == "CF-13231");
    BOOST_TEST(result_error("garbage").value() == -1);
    BOOST_TEST(result_error(codes::two_way_required) == result_code::two_way_required);
}

BOOST_AUTO_TEST_CASE(inquiry_parameters) {
    BOOST_TEST(detail::product_path("bank", "B", "transaction-list") ==
               "/v1/kr/bank/b/account/transaction-list");
    BOOST_TEST(detail::product_path("card", "P", "approval-list") ==
               "/v1/kr/card/p/account/approval-list");
    bank_transaction_query q{"cid", "0004", "1002123", "20190601", "20190630"};
    q.account_password = password::plaintext("4321");
    auto p = detail::bank_transaction_params(q, &rsa().pub);
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->at("orderBy").as_string() == "0");
    BOOST_TEST(emu::rsa_decrypt(rsa().key.get(), p->at("accountPassword").as_string()).value() ==
               "4321");
    BOOST_TEST(detail::bank_transaction_params(q, nullptr).error() ==
               client_errc::missing_public_key);
    q.end_date = "20190501";
    BOOST_TEST(detail::bank_transaction_params(q, &rsa().pub).diag().detail ==
               "endDate: before startDate");
    q.start_date = "2019-06-01";
    BOOST_TEST(detail::bank_transaction_params(q, &rsa().pub).diag().detail ==
               "startDate: not YYYYMMDD");
    card_approval_query a{"cid", "0309", "20190601", "20190630"};
    a.inquiry_type = "0";
    BOOST_TEST(detail::card_approval_params(a).diag().detail == "cardNo: empty");
    BOOST_TEST(detail::card_params({"", "0309"}).diag().detail == "connectedId: empty");
}

BOOST_AUTO_TEST_CASE(inquiry_replies_are_typed) {
    auto t = bank_transaction_list::from(sample("/v1/kr/bank/b/account/list"));
    BOOST_TEST(t.account == "05300000004040");
    BOOST_TEST_REQUIRE(t.history.size() == 4u);
    BOOST_TEST(t.history[0].date == "20190628");
    BOOST_TEST(t.history[0].out == "1");
    BOOST_TEST(t.history[1].desc3 == "rnd_입금표시1");
    BOOST_TEST(t.reply.data.at("resManagementBranch").as_string() == "(0044)북아현동");

    response cards;
    cards.code = "CF-00000";
    cards.data = json::parse(
        R"([{"resCardName":"체크","resCardNo":"1234-****","resCardType":"체크"},{"resCardName":"신용"}])");
    auto c = card_list::from(cards);
    BOOST_TEST(c.cards.size() == 2u);
    BOOST_TEST(c.cards[1].name == "신용");

    response approvals;
    approvals.data =
        json::parse(R"([{"resApprovalDate":"20190601","resUsedAmount":"1500","resCancelYN":"1"}])");
    auto a = card_approval_list::from(approvals);
    BOOST_TEST(a.approvals.at(0).amount == "1500");
    BOOST_TEST(a.approvals.at(0).cancelled);
}

BOOST_AUTO_TEST_SUITE_END()
