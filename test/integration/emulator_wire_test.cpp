// The emulator on the wire, spoken to the way the official libraries speak: chunked bodies (Node),
// form-style '+' bodies (Java 1.x), token parameters in the query string, raw JSON (Java 2.x).
#include "detail/encoding.hpp"
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace codef;

namespace {

struct raw_reply {
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

// One request on a fresh TLS connection, verified against the emulator's CA.
template <class Body>
asio::awaitable<raw_reply> send(const emulator& emu, http::request<Body> req) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(emu.ca_pem()));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    auto ex = co_await asio::this_coro::executor;
    asio::ssl::stream<beast::tcp_stream> stream(ex, ctx);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    co_await beast::get_lowest_layer(stream).async_connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), emu.port()),
        asio::use_awaitable);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    req.set(http::field::host, "127.0.0.1");
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buf, res, asio::use_awaitable);
    co_return raw_reply{res.result_int(), res.body(), std::string(res[http::field::content_type])};
}

std::string basic_sandbox() {
    return "Basic " +
           detail::base64_encode(std::string(sandbox_client_id) + ":" + sandbox_client_secret);
}

asio::awaitable<std::string> token(const emulator& emu, std::string target, std::string body) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::authorization, basic_sandbox());
    req.set(http::field::content_type, "application/x-www-form-urlencoded");
    req.body() = std::move(body);
    req.prepare_payload();
    auto r = co_await send(emu, std::move(req));
    BOOST_TEST(r.status == 200u);
    co_return std::string(json::parse(r.body).at("access_token").as_string());
}

struct fixture {
    fixture()
        : emu([] {
            emulator_options o;
            o.seed_connected_ids = 3;
            return o;
        }()) {}
    emulator emu;
    asio::io_context ioc;
};

json::object decode_reply(const raw_reply& r) {
    return json::parse(detail::form_decode(r.body).value()).as_object();
}

// An API call as the official libraries make it: the JSON percent-encoded, a bearer token.
asio::awaitable<raw_reply> api_call(const emulator& emu, const std::string& tok,
                                    const std::string& path, const json::object& params) {
    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::authorization, "Bearer " + tok);
    req.set(http::field::content_type, "application/json");
    req.body() = detail::percent_encode(json::serialize(params));
    req.prepare_payload();
    co_return co_await send(emu, std::move(req));
}

asio::awaitable<raw_reply> post_faults(const emulator& emu, std::string faults) {
    http::request<http::string_body> req{http::verb::post, "/_emulator/faults", 11};
    req.body() = std::move(faults);
    req.prepare_payload();
    co_return co_await send(emu, std::move(req));
}

std::vector<std::string> keys_of(const json::object& o) {
    std::vector<std::string> out;
    for (const auto& kv : o)
        out.emplace_back(kv.key());
    return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(emulator_on_the_wire, fixture)

BOOST_AUTO_TEST_CASE(token_parameters_in_the_query_string_without_a_body) {
    auto t = codef::test::run(
        ioc, token(emu, "/oauth/token?grant_type=client_credentials&scope=read", ""));
    BOOST_TEST(t.starts_with("eyJ"));
}

BOOST_AUTO_TEST_CASE(a_chunked_body_as_node_streams_it) {
    auto body = [&]() -> asio::awaitable<json::object> {
        const std::string tok =
            co_await token(emu, "/oauth/token", "grant_type=client_credentials&scope=read");
        http::request<http::string_body> req{http::verb::post, "/v1/account/connectedId-list", 11};
        req.set(http::field::authorization, "Bearer " + tok);
        req.set(http::field::content_type, "application/json");
        req.body() = detail::percent_encode(R"({"pageNo":"0"})");
        req.chunked(true);
        auto r = co_await send(emu, std::move(req));
        co_return decode_reply(r);
    };
    auto reply = codef::test::run(ioc, body());
    BOOST_TEST(reply.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(reply.at("data").at("connectedIdList").as_array().size() == 3u);
}

BOOST_AUTO_TEST_CASE(java_form_style_and_raw_json_bodies) {
    auto body = [&]() -> asio::awaitable<std::vector<std::string>> {
        const std::string tok =
            co_await token(emu, "/oauth/token", "grant_type=client_credentials&scope=read");
        std::vector<std::string> codes;
        for (std::string b :
             {std::string("%7B%22connectedId%22%3A%22a+b%2Bc%22%7D"), // URLEncoder
              std::string(R"({"connectedId":"a b+c"})"),              // raw JSON
              std::string(""), std::string("null"), std::string(R"({"connectedId":)")}) { // broken
            http::request<http::string_body> req{http::verb::post, "/v1/account/list", 11};
            req.set(http::field::authorization, "Bearer " + tok);
            req.set(http::field::content_type, "text/plain");
            req.body() = b;
            req.prepare_payload();
            auto r = co_await send(emu, std::move(req));
            auto reply = decode_reply(r);
            codes.emplace_back(reply.at("result").at("code").as_string());
            codes.back() += "/" + std::string(reply.at("result").at("extraMessage").as_string());
        }
        co_return codes;
    };
    auto codes = codef::test::run(ioc, body());
    // The id "a b+c" arrives intact (and is unknown); empty and null bodies read as {}; broken
    // JSON is CF-00002.
    BOOST_TEST(codes == (std::vector<std::string>{"CF-00007/connectedId: not registered",
                                                  "CF-00007/connectedId: not registered",
                                                  "CF-00001/connectedId", "CF-00001/connectedId",
                                                  "CF-00002/"}));
}

BOOST_AUTO_TEST_CASE(admin_endpoints_over_https) {
    auto body = [&]() -> asio::awaitable<std::pair<raw_reply, raw_reply>> {
        http::request<http::empty_body> key{http::verb::get, "/_emulator/public-key", 11};
        auto k = co_await send(emu, key);
        http::request<http::string_body> faults{http::verb::post, "/_emulator/faults", 11};
        faults.body() = R"({"fail_next":1,"fail_status":502})";
        faults.prepare_payload();
        co_await send(emu, std::move(faults));
        http::request<http::empty_body> stats{http::verb::get, "/_emulator/stats", 11};
        co_return std::pair{k, co_await send(emu, stats)};
    };
    auto [key, stats] = codef::test::run(ioc, body());
    BOOST_TEST(key.body == emu.public_key());
    BOOST_TEST(json::parse(stats.body).at("connections_accepted").to_number<int>() == 3);
}

BOOST_AUTO_TEST_CASE(a_two_way_challenge_carries_two_way_info_and_is2way_at_the_top_level) {
    const std::string path = "/v1/kr/insurance/0001/credit4u/contract-info";
    const json::object params{
        {"id", "user01"},
        {"password", public_key::parse(emu.public_key()).value().encrypt("pw").value()}};
    auto body = [&]() -> asio::awaitable<std::pair<raw_reply, raw_reply>> {
        const std::string tok =
            co_await token(emu, "/oauth/token", "grant_type=client_credentials&scope=read");
        auto challenge = co_await api_call(emu, tok, path, params);
        const auto info = decode_reply(challenge).at("twoWayInfo").as_object();
        json::object answer = params;
        answer["secureNo"] = "123456";
        answer["secureNoRefresh"] = "0";
        answer["is2Way"] = true;
        answer["twoWayInfo"] = json::object{{"jobIndex", info.at("jobIndex")},
                                            {"threadIndex", info.at("threadIndex")},
                                            {"jti", info.at("jti")},
                                            {"twoWayTimestamp", info.at("twoWayTimestamp")}};
        co_return std::pair{challenge, co_await api_call(emu, tok, path, answer)};
    };
    auto [challenge, done] = codef::test::run(ioc, body());
    BOOST_TEST(challenge.status == 200u);
    // The whole reply form-encoded, the two keys after data: ...,"twoWayInfo":{...},"is2Way":true}
    BOOST_TEST(challenge.body.starts_with("%7B%22result%22%3A%7B%22code%22%3A%22CF-03002%22"));
    BOOST_TEST(challenge.body.find("%7D%2C%22twoWayInfo%22%3A%7B%22jobIndex%22%3A") !=
               std::string::npos);
    BOOST_TEST(challenge.body.find("%2C%22twoWayTimeout%22%3A160%7D") != std::string::npos);
    BOOST_TEST(challenge.body.ends_with("%2C%22is2Way%22%3Atrue%7D"));
    BOOST_TEST(challenge.body.find("data%3Aimg%2Fjpeg%3Bbase64%2C") != std::string::npos);
    const auto reply = decode_reply(challenge);
    BOOST_TEST(keys_of(reply) ==
                   (std::vector<std::string>{"result", "data", "twoWayInfo", "is2Way"}),
               boost::test_tools::per_element());
    BOOST_TEST(reply.at("result").at("message").as_string() == "성공");
    BOOST_TEST(reply.at("result").at("extraMessage").as_string() ==
               "API 요청 처리가 정상 진행 중입니다. 추가 정보를 입력하세요.");
    const auto& data = reply.at("data").as_object();
    const auto& info = reply.at("twoWayInfo").as_object();
    BOOST_TEST(keys_of(info) == (std::vector<std::string>{"jobIndex", "threadIndex", "jti",
                                                          "twoWayTimestamp", "twoWayTimeout"}),
               boost::test_tools::per_element());
    for (const char* k : {"jobIndex", "threadIndex", "jti", "twoWayTimestamp"})
        BOOST_TEST((info.at(k) == data.at(k)), k);
    BOOST_TEST(info.at("twoWayTimeout").as_int64() == 160);
    BOOST_TEST(data.at("extraInfo").at("reqSecureNoRefresh").as_string() == "0");
    // The answer: the product's data, and no two-way keys.
    BOOST_TEST(done.status == 200u);
    BOOST_TEST(keys_of(decode_reply(done)) == (std::vector<std::string>{"result", "data"}),
               boost::test_tools::per_element());
    BOOST_TEST(decode_reply(done).at("result").at("code").as_string() == "CF-00000");
}

BOOST_AUTO_TEST_CASE(the_health_checkup_with_simple_authentication_through_the_client) {
    client c(ioc.get_executor(), emu.client_config());
    const std::string path = "/v1/kr/public/pp/nhis-health-checkup/result";
    const json::object params{{"organization", "0002"},    {"loginType", "5"},
                              {"loginTypeLevel", "1"},     {"userName", "홍길동"},
                              {"phoneNo", "01012345678"},  {"identity", "19900101"},
                              {"searchStartYear", "2022"}, {"searchEndYear", "2023"}};
    auto first = codef::test::run(ioc, c.try_product(path, params));
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST_REQUIRE(std::holds_alternative<two_way_challenge>(*first));
    const auto& ch = std::get<two_way_challenge>(*first);
    BOOST_TEST(ch.method == "simpleAuth");
    BOOST_TEST(ch.jti.size() == 32u);
    BOOST_TEST(ch.reply.code == "CF-03002");
    BOOST_TEST(ch.reply.message == "성공");
    auto done = codef::test::run(ioc, c.continue_two_way(ch, two_way_answer::confirmed()));
    BOOST_TEST_REQUIRE(done.has_value());
    BOOST_TEST_REQUIRE(std::holds_alternative<response>(*done));
    const auto& r = std::get<response>(*done);
    BOOST_TEST(r.code == "CF-00000");
    const auto& list = r.data.at("resPreviewList").as_array();
    BOOST_TEST_REQUIRE(list.size() == 2u);
    BOOST_TEST(list[0].at("resCheckupYear").as_string() == "2023");
    // A parameter missing: CF-00001 naming it, before any challenge.
    json::object no_phone = params;
    no_phone.erase("phoneNo");
    auto missing = codef::test::run(ioc, c.try_product(path, no_phone));
    BOOST_TEST_REQUIRE(std::holds_alternative<response>(missing.value()));
    BOOST_TEST(std::get<response>(*missing).code == "CF-00001");
    BOOST_TEST(std::get<response>(*missing).extra_message == "phoneNo");
}

BOOST_AUTO_TEST_CASE(account_errors_in_codefs_words_over_the_wire) {
    auto body = [&]() -> asio::awaitable<std::pair<json::object, json::object>> {
        const std::string tok =
            co_await token(emu, "/oauth/token", "grant_type=client_credentials&scope=read");
        const auto key = public_key::parse(emu.public_key()).value();
        json::object account{{"countryCode", "KR"},
                             {"businessType", "BK"},
                             {"clientType", "P"},
                             {"organization", "0004"},
                             {"loginType", "1"},
                             {"id", "user01"},
                             {"password", key.encrypt("pw").value()}};
        // Built before the co_await: GCC cannot keep a braced list's array across a suspension.
        const json::object create{{"accountList", json::array{account}}};
        auto created = decode_reply(co_await api_call(emu, tok, "/v1/account/create", create));
        const json::value cid = created.at("data").at("connectedId");
        const json::object add{{"connectedId", cid}, {"accountList", json::array{account}}};
        auto again = decode_reply(co_await api_call(emu, tok, "/v1/account/add", add));
        json::object key_only = account;
        key_only.erase("id");
        key_only.erase("password");
        const json::object remove{{"connectedId", cid}, {"accountList", json::array{key_only}}};
        auto deleted = decode_reply(co_await api_call(emu, tok, "/v1/account/delete", remove));
        co_return std::pair{again, deleted};
    };
    auto [again, deleted] = codef::test::run(ioc, body());
    BOOST_TEST(again.at("result").at("code").as_string() == "CF-04000");
    BOOST_TEST(again.at("result").at("message").as_string() ==
               "사용자 계정정보 등록에 실패했습니다.");
    const auto& error = again.at("data").at("errorList").as_array().at(0);
    BOOST_TEST(error.at("code").as_string() == "CF-04004");
    BOOST_TEST(error.at("message").as_string() ==
               "이미 계정이 등록된 기관입니다. 기존 계정 먼저 삭제하세요.");
    BOOST_TEST(deleted.at("result").at("code").as_string() == "CF-00000");
    const auto& success = deleted.at("data").at("successList").as_array().at(0).as_object();
    BOOST_TEST(keys_of(success) ==
                   (std::vector<std::string>{"clientType", "loginType", "countryCode",
                                             "organization", "businessType"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_token_lacking_the_paths_authority_is_answered_403_access_denied) {
    auto body = [&]() -> asio::awaitable<std::pair<raw_reply, raw_reply>> {
        auto set = co_await post_faults(emu, R"({"token_authorities":["CARD","PUBLIC"]})");
        BOOST_TEST(set.status == 200u);
        const std::string tok =
            co_await token(emu, "/oauth/token", "grant_type=client_credentials&scope=read");
        auto ids = decode_reply(co_await api_call(emu, tok, "/v1/account/connectedId-list", {}));
        const json::object q{{"connectedId", ids.at("data").at("connectedIdList").as_array().at(0)},
                             {"organization", "0004"}};
        auto bank = co_await api_call(emu, tok, "/v1/kr/bank/p/account/account-list", q);
        auto card = co_await api_call(emu, tok, "/v1/kr/card/p/account/card-list", q);
        co_return std::pair{bank, card};
    };
    auto [bank, card] = codef::test::run(ioc, body());
    BOOST_TEST(bank.status == 403u);
    BOOST_TEST(bank.body == R"({"error":"access_denied","error_description":"Access is denied"})");
    BOOST_TEST(bank.content_type.starts_with("application/json"));
    BOOST_TEST(card.status == 200u); // the organization is not the card's: a business error
    BOOST_TEST(emu.stats().forbidden == 1u);
}

BOOST_AUTO_TEST_CASE(the_client_reissues_a_token_issued_before_its_authorities_changed) {
    client c(ioc.get_executor(), emu.client_config());
    emulator_faults lacking;
    lacking.token_authorities = std::vector<std::string>{"CARD"};
    emu.apply(lacking);
    // The client's token: no BANK.
    auto ids = codef::test::run(ioc, c.request("/v1/account/connectedId-list", {}));
    const std::string cid(ids.data.at("connectedIdList").as_array().at(0).as_string());
    const std::string org(
        codef::test::run(ioc, c.request("/v1/account/list", {{"connectedId", cid}}))
            .data.at("accountList")
            .as_array()
            .at(0)
            .at("organizationCode")
            .as_string());
    const json::object q{{"connectedId", cid}, {"organization", org}};
    // Still lacking after a reissue: the 403 comes back as an HTTP error, CODEF's words kept.
    auto denied = codef::test::run(ioc, c.try_request("/v1/kr/bank/p/account/account-list", q));
    BOOST_TEST_REQUIRE(!denied.has_value());
    BOOST_TEST(denied.error() == make_http_error(403));
    BOOST_TEST(denied.diag().http_status == 403);
    BOOST_TEST(denied.diag().codef_code == "access_denied");
    BOOST_TEST(denied.diag().codef_message == "Access is denied");
    BOOST_TEST(emu.stats().forbidden == 2u);
    BOOST_TEST(emu.stats().tokens_issued == 2u);
    // The permissions change (all six again): the next 403 is cured by one reissue.
    emulator_faults all;
    all.token_authorities =
        std::vector<std::string>{"BANK", "CARD", "INSURANCE", "PUBLIC", "STOCK", "ETC"};
    emu.apply(all);
    auto r = codef::test::run(ioc, c.try_request("/v1/kr/bank/p/account/account-list", q));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == "CF-00000");
    BOOST_TEST(emu.stats().forbidden == 3u);
    BOOST_TEST(emu.stats().tokens_issued == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
