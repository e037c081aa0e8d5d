// The client against the in-process emulator over TLS on 127.0.0.1: token reuse and reissue,
// Korean text, TLS verification, decoding failures, business results.
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;

namespace {

struct fixture {
    explicit fixture(emulator_options o = {})
        : emu(std::move(o)) {}
    emulator emu;
    asio::io_context ioc;

    // A connectedId with a bank account registered, and its organization.
    std::pair<std::string, std::string> registered(client& c) {
        auto ids = codef::test::run(ioc, c.request("/v1/account/connectedId-list", {}));
        return {std::string(ids.data.at("connectedIdList").as_array().at(0).as_string()), "0004"};
    }
};

emulator_options seeded(std::size_t n) {
    emulator_options o;
    o.seed_connected_ids = n;
    return o;
}

struct seeded_fixture : fixture {
    seeded_fixture()
        : fixture(seeded(10)) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(client_over_tls)

BOOST_FIXTURE_TEST_CASE(two_hundred_calls_reuse_one_token, seeded_fixture) {
    client c(ioc.get_executor(), emu.client_config());
    auto body = [&]() -> asio::awaitable<int> {
        int ok = 0;
        for (int i = 0; i < 200; ++i) {
            auto r = co_await c.request("/v1/account/connectedId-list", {});
            if (r.ok() && r.data.at("connectedIdList").as_array().size() == 10u) ++ok;
        }
        co_return ok;
    };
    BOOST_TEST(codef::test::run(ioc, body()) == 200);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().api_requests == 200u);
    BOOST_TEST(c.stats().token_requests == 1u);
    // Sequential calls on a kept-alive connection: one connection, one handshake.
    BOOST_TEST(emu.stats().connections_accepted == 1u);
    BOOST_TEST(emu.stats().tls_handshakes == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_revoked_token_is_reissued_once_and_the_call_succeeds, seeded_fixture) {
    client c(ioc.get_executor(), emu.client_config());
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
    emu.revoke_tokens();
    auto r = codef::test::run(ioc, c.try_request("/v1/account/connectedId-list", {}));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->ok());
    BOOST_TEST(emu.stats().unauthorized == 1u);
    BOOST_TEST(emu.stats().token_requests == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_token_rejected_twice_is_an_error_not_a_loop, fixture) {
    client c(ioc.get_executor(), emu.client_config());
    emulator_faults f;
    f.reject_tokens = true;
    emu.apply(f);
    auto r = codef::test::run(ioc, c.try_request("/v1/account/list", {{"connectedId", "x"}}));
    BOOST_TEST(!r.has_value());
    BOOST_TEST(r.error() == make_http_error(401));
    BOOST_TEST((kind_of(r.error()) == error_kind::http));
    BOOST_TEST(r.diag().http_status == 401);
    BOOST_TEST(r.diag().codef_code == "CF-99997");
    BOOST_TEST(emu.stats().unauthorized == 2u);
    BOOST_TEST(emu.stats().token_requests == 2u);
    // The throwing form says the same, without the token.
    try {
        codef::test::run(ioc, c.request("/v1/account/list", {{"connectedId", "x"}}));
        BOOST_FAIL("no exception");
    } catch (const codef::error& e) {
        BOOST_TEST(e.code() == make_http_error(401));
        BOOST_TEST(std::string(e.what()).find("CF-99997") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("eyJ") == std::string::npos);
    }
}

BOOST_FIXTURE_TEST_CASE(an_expired_token_is_replaced_before_it_is_sent, seeded_fixture) {
    auto skew = std::make_shared<std::atomic<std::int64_t>>(0);
    auto cfg = emu.client_config();
    cfg.clock = [skew] {
        return std::chrono::system_clock::now() + std::chrono::seconds(skew->load());
    };
    client c(ioc.get_executor(), cfg);
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
    skew->store(8 * 24 * 3600); // a week and a day later, by the client's clock
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(emu.stats().token_requests == 2u);
    BOOST_TEST(emu.stats().unauthorized == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_burst_of_new_connections_all_resume_the_session, fixture) {
    config cfg = emu.client_config();
    cfg.max_connections = 300;
    client c(ioc.get_executor(), cfg);
    // One connection, and the TLS session it was given.
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
    emulator_faults f;
    f.reply_delay = std::chrono::milliseconds(500); // each call holds its connection a while
    emu.apply(f);
    std::vector<asio::awaitable<bool>> calls;
    for (int i = 0; i < 300; ++i)
        calls.push_back([](client& c) -> asio::awaitable<bool> {
            auto r = co_await c.try_request("/v1/account/connectedId-list", {});
            co_return r && r->ok();
        }(c));
    const auto results = codef::test::run_all(ioc, std::move(calls), 1);
    BOOST_TEST(std::count(results.begin(), results.end(), std::optional<bool>(true)) == 300);
    // 299 new connections, each resuming the session: one session object shared by connections
    // opening at once let only 256 of them resume (here, and 257 of 1,000 in the benchmark).
    BOOST_TEST(c.stats().connections_opened == 301u); // and the token endpoint's
    BOOST_TEST(c.stats().tls_resumed == 299u);
}

BOOST_FIXTURE_TEST_CASE(korean_text_survives_the_round_trip, seeded_fixture) {
    client c(ioc.get_executor(), emu.client_config());
    const auto [cid, org] = registered(c);
    auto bank = codef::test::run(ioc, c.request("/v1/kr/bank/b/account/list",
                                                {{"connectedId", cid}, {"organization", org}}));
    BOOST_TEST(bank.ok());
    BOOST_TEST(bank.message == "성공");
    BOOST_TEST(bank.data.at("resAccountStatus").as_string() == "활동");
    BOOST_TEST(bank.data.at("resManagementBranch").as_string() == "(0044)북아현동");
    // Korean out and back: the emulator echoes an account's identifying keys in errorList.
    const std::string korean_org = "은행 01+%";
    json::object account{{"countryCode", "KR"},
                         {"businessType", "BK"},
                         {"clientType", "P"},
                         {"organization", korean_org},
                         {"loginType", "1"},
                         {"id", "홍길동"},
                         {"password", encrypt_password(emu.public_key(), "비밀번호")}};
    auto created = codef::test::run(
        ioc, c.request("/v1/account/create", {{"accountList", json::array{account}}}));
    BOOST_TEST(created.code == "CF-04000");
    BOOST_TEST(created.message == "사용자 계정정보 등록에 실패했습니다.");
    BOOST_TEST(created.data.at("errorList").as_array().at(0).at("organization").as_string() ==
               korean_org);
}

BOOST_FIXTURE_TEST_CASE(a_business_error_is_a_response_not_an_error, fixture) {
    client c(ioc.get_executor(), emu.client_config());
    auto r = codef::test::run(
        ioc, c.try_request("/v1/kr/bank/b/account/list", {{"connectedId", "nobody"}}));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == "CF-00001");
    BOOST_TEST(r->extra_message == "organization");
    BOOST_TEST(!r->ok());
}

BOOST_FIXTURE_TEST_CASE(an_untrusted_certificate_fails_with_a_tls_error, fixture) {
    emulator other;
    auto cfg = emu.client_config();
    cfg.ca_pem = other.ca_pem(); // trusts another emulator's CA, not this one's
    client c(ioc.get_executor(), cfg);
    auto r = codef::test::run(ioc, c.try_token());
    BOOST_TEST(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::tls));
    // The reason is named, not only "certificate verify failed".
    BOOST_TEST(r.diag().detail.find("unable to get local issuer certificate") != std::string::npos,
               r.diag().detail);
    BOOST_TEST(emu.stats().token_requests == 0u);
    // The name is checked too: a certificate of the right CA for another host does not do.
    emulator_options elsewhere;
    elsewhere.certificate_names = "DNS:api.example.com";
    emulator misnamed(elsewhere);
    client c2(ioc.get_executor(), misnamed.client_config());
    auto r2 = codef::test::run(ioc, c2.try_token());
    BOOST_TEST((kind_of(r2.error()) == error_kind::tls));
    BOOST_TEST(r2.diag().detail.find("IP address mismatch") != std::string::npos, r2.diag().detail);
    BOOST_TEST(misnamed.stats().token_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_malformed_reply_is_a_decoding_error, fixture) {
    client c(ioc.get_executor(), emu.client_config());
    emulator_faults f;
    f.malformed_next = 1;
    emu.apply(f);
    auto r = codef::test::run(ioc, c.try_request("/v1/account/connectedId-list", {}));
    BOOST_TEST(!r.has_value());
    BOOST_TEST(r.error() == protocol_errc::bad_percent_encoding);
    BOOST_TEST(r.diag().http_status == 200);
    // The connection and the client carry on.
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
}

BOOST_FIXTURE_TEST_CASE(bad_arguments_are_refused_before_sending, fixture) {
    client c(ioc.get_executor(), emu.client_config());
    for (std::string path : {"", "v1/account/list", "/v1/account list", "/v1/a?b=c", "/v1/\x01"}) {
        auto r = codef::test::run(ioc, c.try_request(path, {}));
        BOOST_TEST(r.error() == client_errc::invalid_argument);
        BOOST_TEST(r.diag().detail.starts_with("path:"));
    }
    BOOST_TEST(emu.stats().api_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_token_call_reports_expiry, fixture) {
    client c(ioc.get_executor(), emu.client_config());
    auto t = codef::test::run(ioc, c.try_token());
    BOOST_TEST_REQUIRE(t.has_value());
    const auto left = t->expires_at - std::chrono::system_clock::now();
    BOOST_TEST(left > std::chrono::hours(24 * 7) - std::chrono::minutes(1));
    BOOST_TEST(left < std::chrono::hours(24 * 7) + std::chrono::minutes(1));
    BOOST_TEST(t->access_token.starts_with("eyJ"));
}

namespace {
// A memory_token_store that counts what the clients do with it.
struct counting_store : memory_token_store {
    std::atomic<int> loads{0}, saves{0};
    std::optional<token_info> load() override {
        ++loads;
        return memory_token_store::load();
    }
    void save(const token_info& t) override {
        ++saves;
        memory_token_store::save(t);
    }
};
} // namespace

BOOST_FIXTURE_TEST_CASE(a_token_store_shares_one_token_and_refresh_token_saves_once,
                        seeded_fixture) {
    auto store = std::make_shared<counting_store>();
    auto cfg = emu.client_config();
    cfg.token_store = store;
    client first(ioc.get_executor(), cfg);
    BOOST_TEST(codef::test::run(ioc, first.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(first.stats().token_requests == 1u);
    BOOST_TEST(store->saves == 1);
    const auto kept = store->load();
    BOOST_TEST_REQUIRE(kept.has_value());

    // A second client seeded from the store asks CODEF for nothing.
    client second(ioc.get_executor(), cfg);
    BOOST_TEST(codef::test::run(ioc, second.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(second.stats().token_requests == 0u);
    BOOST_TEST(codef::test::run(ioc, second.try_token()).value().access_token ==
               kept->access_token);
    BOOST_TEST(emu.stats().token_requests == 1u);

    // refresh_token asks CODEF whatever the store holds, and saves the new token once.
    auto fresh = codef::test::run(ioc, first.refresh_token());
    BOOST_TEST_REQUIRE(fresh.has_value());
    BOOST_TEST(fresh->access_token != kept->access_token);
    BOOST_TEST(first.stats().token_requests == 2u);
    BOOST_TEST(store->saves == 2);
    BOOST_TEST(store->load()->access_token == fresh->access_token);
    BOOST_TEST(codef::test::run(ioc, first.try_token()).value().access_token ==
               fresh->access_token);
    BOOST_TEST(codef::test::run(ioc, first.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(emu.stats().token_requests == 2u);

    // The tokens are revoked and the first client gets a new one: the store tells the second,
    // which switches to it before CODEF refuses its old one.
    emu.revoke_tokens();
    BOOST_TEST(codef::test::run(ioc, first.refresh_token()).has_value());
    BOOST_TEST(emu.stats().token_requests == 3u);
    BOOST_TEST(codef::test::run(ioc, second.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(second.stats().token_requests == 0u);
    BOOST_TEST(emu.stats().token_requests == 3u);
    BOOST_TEST(emu.stats().unauthorized == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_injected_token_is_used_and_a_useless_one_is_not, seeded_fixture) {
    // A token obtained elsewhere (the official libraries' setAccessToken).
    client issuer(ioc.get_executor(), emu.client_config());
    const auto issued = codef::test::run(ioc, issuer.try_token()).value();
    auto cfg = emu.client_config();
    cfg.token_store = std::make_shared<memory_token_store>(issued);
    client c(ioc.get_executor(), cfg);
    BOOST_TEST(codef::test::run(ioc, c.request("/v1/account/connectedId-list", {})).ok());
    BOOST_TEST(c.stats().token_requests == 0u);

    // Expired, or not a valid header value: the client asks CODEF instead.
    for (token_info bad : {token_info{issued.access_token, std::chrono::system_clock::now()},
                           token_info{"a\r\nInjected: yes", issued.expires_at}}) {
        cfg.token_store = std::make_shared<memory_token_store>(bad);
        client d(ioc.get_executor(), cfg);
        BOOST_TEST(codef::test::run(ioc, d.request("/v1/account/connectedId-list", {})).ok());
        BOOST_TEST(d.stats().token_requests == 1u);
    }
}

BOOST_AUTO_TEST_SUITE_END()
