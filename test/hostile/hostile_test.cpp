// The library against hostile servers: bad TLS, bad framing, bad bodies, bad tokens, echoed
// secrets, statuses, interim replies, and requests whose outcome is unknown. Each case asserts
// the outcome a robust client gives: the right typed error, within the deadline plus a small
// slack, no secret in any text, no request sent twice.
#include "hostile_support.hpp"

#include <codef/emulator.hpp>

#include <atomic>
#include <climits>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace codef;
using namespace codef::hostile_test;

namespace {

// A generous bound that still catches a hang: the deadline and two seconds.
constexpr millis slack = 2000ms;

struct rig {
    asio::io_context ioc;
};

std::size_t api_requests(const hs::server& s) {
    return s.request_count() - s.count("/oauth/token");
}

// A reply whose body is cut after half, then the connection ends by end().
hs::script half_then(const std::string& body, hs::action end) {
    const std::string full = hs::response(200, body);
    return hs::script{hs::act::write(full.substr(0, full.size() - body.size() / 2)),
                      std::move(end)};
}

std::vector<account> one_account(const std::string& password) {
    account a;
    a.business_type = "BK";
    a.organization = "0004";
    a.id = "user-1";
    a.password = password::plaintext(password);
    return {a};
}

timed<account_result> create(asio::io_context& ioc, client& c, millis timeout,
                             const std::string& password = "pw-1") {
    call_options o;
    o.timeout = timeout;
    return run_timed(ioc, c.create_accounts(one_account(password), o));
}

const std::string create_ok = hs::envelope(
    "CF-00000", "ok",
    R"({"connectedId":"cid-new","successList":[{"organization":"0004","code":"CF-00000"}],"errorList":[]})");

} // namespace

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_tls)

BOOST_FIXTURE_TEST_CASE(the_fixture_serves_what_it_claims, rig) {
    hs::server good;
    hs::server old(hs::standard(), hs::tls_mode::old_protocol);
    BOOST_TEST(hs::probe_tls(good.port(), 0x0303, 0x0304) == "TLSv1.3");
    BOOST_TEST(hs::probe_tls(old.port(), 0x0301, 0x0302) == "TLSv1.1");
    BOOST_TEST(hs::probe_tls(old.port(), 0x0303, 0x0304).starts_with("error"));
    client c(ioc.get_executor(), config_for(good));
    auto o = call(ioc, c, 5000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->ok());
    BOOST_TEST(good.count("/oauth/token") == 1u);
    BOOST_TEST(good.count(product) == 1u);
}

namespace {
struct tls_case {
    hs::tls_mode mode;
    std::vector<std::string> reasons; // what() names one of these (lowercase); none: not checked
};
const std::vector<tls_case> tls_cases{
    {hs::tls_mode::untrusted_ca, {"unable to get local issuer"}},
    {hs::tls_mode::self_signed, {"self-signed", "self signed"}},
    {hs::tls_mode::expired, {"expired"}},
    {hs::tls_mode::not_yet_valid, {"not yet valid"}},
    {hs::tls_mode::wrong_name, {"mismatch", "host name"}},
    {hs::tls_mode::old_protocol, {}},
};
} // namespace

// Both hosts bad (the token request fails), then only the API host bad (the token host is fine).
BOOST_FIXTURE_TEST_CASE(every_bad_certificate_and_old_protocol_is_a_tls_error_naming_why, rig) {
    for (const auto& tc : tls_cases) {
        for (bool token_host_good : {false, true}) {
            BOOST_TEST_CONTEXT("mode " << hs::to_string(tc.mode) << ", token host "
                                       << (token_host_good ? "good" : "the bad one")) {
                asio::io_context ioc; // each case its own: nothing left over from the last
                hs::server bad(hs::standard(), tc.mode);
                hs::server good;
                client c(ioc.get_executor(), config_for(bad, token_host_good ? &good : nullptr));
                auto o = call(ioc, c, 4000ms);
                BOOST_TEST_MESSAGE(hs::to_string(tc.mode) << ": " << o.what);
                BOOST_TEST(!o.r.has_value());
                if (o.r.has_value()) continue;
                BOOST_TEST(kind_of(o.r.error()) == error_kind::tls);
                if (!tc.reasons.empty()) {
                    const std::string w = lowercase(o.what);
                    BOOST_TEST(std::any_of(tc.reasons.begin(), tc.reasons.end(),
                                           [&](const std::string& s) {
                                               return w.find(s) != std::string::npos;
                                           }),
                               "what() names the reason: " << o.what);
                }
                BOOST_TEST(bad.request_count() == 0u); // nothing was sent
                BOOST_TEST(good.count(product) == 0u);
                BOOST_TEST(o.took < 4000ms + slack);
                BOOST_TEST(canary_in(o.what).empty());
            }
        }
    }
}

BOOST_FIXTURE_TEST_CASE(a_silent_tls_handshake_ends_at_the_deadline, rig) {
    hs::server silent(hs::standard(), hs::tls_mode::no_handshake);
    for (bool token_host_good : {false, true}) {
        asio::io_context ioc; // each case its own: nothing left over from the last
        hs::server good;
        client c(ioc.get_executor(), config_for(silent, token_host_good ? &good : nullptr));
        auto o = call(ioc, c, 800ms);
        BOOST_TEST_MESSAGE("silent handshake: " << o.what);
        BOOST_TEST(!o.r.has_value());
        if (o.r.has_value()) continue;
        BOOST_TEST(kind_of(o.r.error()) == error_kind::timeout);
        BOOST_TEST(o.took < 800ms + slack);
    }
    BOOST_TEST(silent.connections() >= 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_framing)

namespace {
// One case: the API answers every product call with script; the call must fail with an error of
// kind (and of code, when given) within the deadline plus slack, and be sent at most `sent` times.
struct framing_case {
    std::string name;
    std::function<hs::script()> script;
    millis timeout;
    std::vector<error_kind> kinds;
    error_code code; // empty: any of kinds
    std::size_t max_sent = 3;
    std::size_t max_reply_bytes = 0; // 0: the default
};

std::vector<framing_case> framing_cases() {
    const std::string ok_reply = hs::response(200, ok_body);
    const std::string endless_header = "X-Endless: " + std::string(100, 'e') + "\r\n";
    const std::string chunk = "1000\r\n" + std::string(4096, 'c') + "\r\n";
    std::vector<framing_case> v;
    v.push_back({"a 200 kB header",
                 [=] {
                     return hs::reply(
                         hs::response(200, ok_body, {{"X-Huge", std::string(200 * 1024, 'h')}}));
                 },
                 3000ms,
                 {error_kind::protocol},
                 {},
                 3});
    v.push_back({"endless headers",
                 [=] {
                     return hs::script{hs::act::write("HTTP/1.1 200 OK\r\n"),
                                       hs::act::endless(endless_header, 64ull << 20)};
                 },
                 3000ms,
                 {error_kind::protocol},
                 {},
                 3});
    v.push_back({"endless headers, trickled",
                 [=] {
                     return hs::script{hs::act::write("HTTP/1.1 200 OK\r\n"),
                                       hs::act::endless(endless_header, 64ull << 20, 20ms)};
                 },
                 800ms,
                 {error_kind::timeout, error_kind::protocol},
                 {},
                 3});
    v.push_back({"a Content-Length longer than the body, then silence",
                 [=] {
                     return hs::script{hs::act::write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n"
                                                      "Content-Type: application/json\r\n\r\n" +
                                                      ok_body),
                                       hs::act::hang()};
                 },
                 800ms,
                 {error_kind::timeout},
                 transport_errc::timeout,
                 3});
    v.push_back({"a Content-Length longer than the body, then a close",
                 [=] {
                     return hs::script{hs::act::write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n"
                                                      "Content-Type: application/json\r\n\r\n" +
                                                      ok_body),
                                       hs::act::close()};
                 },
                 3000ms,
                 {error_kind::transport},
                 transport_errc::connection_closed,
                 3});
    v.push_back({"two different Content-Lengths",
                 [=] {
                     return hs::reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: " +
                                      std::to_string(ok_body.size()) +
                                      "\r\nContent-Type: application/json\r\n\r\n" + ok_body);
                 },
                 3000ms,
                 {error_kind::protocol},
                 {},
                 3});
    v.push_back(
        {"a negative Content-Length",
         [=] { return hs::reply("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n" + ok_body); },
         3000ms,
         {error_kind::protocol},
         {},
         3});
    v.push_back({"endless chunks",
                 [=] {
                     return hs::script{
                         hs::act::write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                         hs::act::endless(chunk, 256ull << 20)};
                 },
                 3000ms,
                 {error_kind::protocol},
                 protocol_errc::reply_too_large,
                 3,
                 1 << 20});
    v.push_back({"a chunk size that overflows",
                 [=] {
                     return hs::script{
                         hs::act::write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        "fffffffffffffffffffffffff\r\nabc"),
                         hs::act::hang(10s)};
                 },
                 3000ms,
                 {error_kind::protocol},
                 {},
                 3});
    v.push_back({"a close mid-body",
                 [=] { return half_then(ok_body, hs::act::close()); },
                 3000ms,
                 {error_kind::transport},
                 transport_errc::connection_closed,
                 3});
    v.push_back({"a reset mid-body",
                 [=] { return half_then(ok_body, hs::act::reset()); },
                 3000ms,
                 {error_kind::transport},
                 {},
                 3});
    v.push_back({"a reply trickled past the deadline",
                 [=] { return hs::script{hs::act::trickle(ok_reply, 1, 25ms)}; },
                 800ms,
                 {error_kind::timeout},
                 transport_errc::timeout,
                 3});
    v.push_back({"silence after the request",
                 [=] { return hs::script{hs::act::hang()}; },
                 800ms,
                 {error_kind::timeout},
                 transport_errc::timeout,
                 3});
    v.push_back({"not HTTP at all",
                 [=] {
                     return hs::script{hs::act::write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
                                       hs::act::close()};
                 },
                 3000ms,
                 {error_kind::protocol},
                 {},
                 3});
    v.push_back({"endless 100 Continue",
                 [=] {
                     return hs::script{
                         hs::act::endless("HTTP/1.1 100 Continue\r\n\r\n", 64ull << 20, 1ms)};
                 },
                 800ms,
                 {error_kind::protocol, error_kind::timeout},
                 {},
                 3});
    return v;
}
} // namespace

namespace {
// Every framing case on the API host (the token host behaving), or on the token host.
void each_framing_case(bool on_token) {
    const std::string target = on_token ? "/oauth/token" : product;
    for (const auto& fc : framing_cases()) {
        BOOST_TEST_CONTEXT(fc.name << (on_token ? ", on the token host" : ", on the API host")) {
            asio::io_context ioc;
            hs::server srv([&](const hs::request& r) {
                if (r.path == target) return fc.script();
                if (r.path == "/oauth/token")
                    return hs::reply(hs::response(200, hs::token_json("hostile-token")));
                return hs::reply(hs::response(200, ok_body));
            });
            config cfg = config_for(srv);
            if (fc.max_reply_bytes) cfg.max_reply_bytes = fc.max_reply_bytes;
            client c(ioc.get_executor(), cfg);
            auto o = call(ioc, c, fc.timeout);
            BOOST_TEST_MESSAGE(fc.name << (on_token ? " (token host)" : "") << ": " << o.what
                                       << " (" << o.took.count() << " ms, " << srv.count(target)
                                       << " sent)");
            BOOST_TEST(!o.r.has_value());
            if (o.r.has_value()) continue;
            const error_kind k = kind_of(o.r.error());
            BOOST_TEST((std::find(fc.kinds.begin(), fc.kinds.end(), k) != fc.kinds.end()),
                       "kind " << k << ": " << o.what);
            if (fc.code) BOOST_TEST(o.r.error() == fc.code);
            BOOST_TEST(o.took < fc.timeout + slack);
            BOOST_TEST(srv.count(target) <= fc.max_sent);
            BOOST_TEST(srv.count(target) >= 1u);
            if (on_token) BOOST_TEST(api_requests(srv) == 0u);
        }
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(each_bad_framing_from_the_api_host_is_its_typed_error_in_time) {
    each_framing_case(false);
}

BOOST_AUTO_TEST_CASE(each_bad_framing_from_the_token_host_is_its_typed_error_in_time) {
    each_framing_case(true);
}

BOOST_FIXTURE_TEST_CASE(a_timed_out_connection_is_hung_up, rig) {
    hs::server srv(api_only([](const hs::request&) { return hs::script{hs::act::hang(20s)}; }));
    client c(ioc.get_executor(), config_for(srv));
    auto o = call(ioc, c, 500ms);
    BOOST_TEST(o.r.error() == transport_errc::timeout);
    // The client closed what it gave up on: the server sees every connection hung up.
    BOOST_TEST(
        srv.wait_until([&] { return srv.hung_up_by_client() >= srv.count(product); }, 3000ms));
}

BOOST_FIXTURE_TEST_CASE(a_short_content_length_poisons_nothing_after_it, rig) {
    std::atomic<int> n{0};
    hs::server srv(api_only([&](const hs::request&) {
        if (n++ == 0) // 5 bytes of body announced, the whole envelope sent: the rest is junk
            return hs::reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + ok_body);
        return hs::reply(hs::response(200, ok_body));
    }));
    client c(ioc.get_executor(), config_for(srv));
    auto first = call(ioc, c, 3000ms);
    BOOST_TEST_MESSAGE("short Content-Length: " << first.what);
    BOOST_TEST_REQUIRE(!first.r.has_value());
    BOOST_TEST(kind_of(first.r.error()) == error_kind::protocol);
    auto second = call(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(second.r.has_value(), second.what);
    BOOST_TEST(second.r->ok());
    const auto reqs = srv.requests();
    BOOST_TEST_REQUIRE(reqs.size() == 3u);   // the token, the two calls
    BOOST_TEST(reqs[2].on_connection == 0u); // not on the connection with junk left in it
}

BOOST_FIXTURE_TEST_CASE(a_trickled_reply_within_the_deadline_is_read_whole, rig) {
    hs::server srv(api_only([](const hs::request&) {
        return hs::script{hs::act::trickle(hs::response(200, ok_body), 7, 3ms)};
    }));
    client c(ioc.get_executor(), config_for(srv));
    auto o = call(ioc, c, 10'000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->data.at("n").as_int64() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_body_ended_by_close_notify_is_read_whole, rig) {
    hs::server srv(api_only([](const hs::request&) {
        return hs::script{hs::act::write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: "
                                         "application/json\r\n\r\n" +
                                         ok_body),
                          hs::act::close()};
    }));
    client c(ioc.get_executor(), config_for(srv));
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->ok());
}

BOOST_FIXTURE_TEST_CASE(a_redirect_is_never_followed_and_the_token_stays_home, rig) {
    for (int status : {301, 302, 303, 307, 308}) {
        BOOST_TEST_CONTEXT("API " << status) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server other;
            hs::server srv(api_only([&](const hs::request& r) {
                return hs::reply(
                    hs::response(status, "", {{"Location", other.url() + r.target}}, ""));
            }));
            client c(ioc.get_executor(), config_for(srv));
            auto o = call(ioc, c, 3000ms);
            BOOST_TEST(o.r.error() == make_http_error(status));
            BOOST_TEST(o.r.diag().http_status == status);
            BOOST_TEST(srv.count(product) == 1u);
            BOOST_TEST(other.request_count() == 0u);
            BOOST_TEST(other.connections() == 0u);
        }
        BOOST_TEST_CONTEXT("token " << status) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server other;
            hs::server srv([&](const hs::request&) {
                return hs::reply(hs::response(status, "", {{"Location", other.oauth_url()}}, ""));
            });
            client c(ioc.get_executor(), config_for(srv));
            auto o = call(ioc, c, 3000ms);
            BOOST_TEST(o.r.error() == make_http_error(status));
            BOOST_TEST(srv.count("/oauth/token") == 1u);
            BOOST_TEST(api_requests(srv) == 0u);
            BOOST_TEST(other.request_count() == 0u);
            BOOST_TEST(other.connections() == 0u);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(each_credential_goes_only_to_its_own_host, rig) {
    hs::server oauth(hs::standard(token_canary));
    hs::server api(hs::standard("never-issued-here"));
    client c(ioc.get_executor(), config_for(api, &oauth));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(call(ioc, c, 3000ms).r.has_value());
    for (const auto& a : oauth.authorizations())
        BOOST_TEST(a == "Basic " + basic_canary());
    for (const auto& a : api.authorizations())
        BOOST_TEST(a == std::string("Bearer ") + token_canary);
    BOOST_TEST(api.authorizations().size() == 3u);
    BOOST_TEST(oauth.authorizations().size() == 1u);
    BOOST_TEST(oauth.count("/oauth/token") == oauth.request_count());
    BOOST_TEST(api.count("/oauth/token") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_bodies)

namespace {
struct body_case {
    std::string name;
    std::string body;
    error_code code;                 // empty: any protocol error
    std::size_t max_reply_bytes = 0; // 0: the default
};

std::string deep(char open, std::size_t depth) {
    std::string s;
    const std::string o = open == '[' ? "[" : "{\"a\":";
    const std::string c = open == '[' ? "]" : "}";
    s.reserve(depth * (o.size() + 1));
    for (std::size_t i = 0; i < depth; ++i)
        s += o;
    s += open == '[' ? "" : "1";
    for (std::size_t i = 0; i < depth; ++i)
        s += c;
    return s;
}

std::string many_tiny_values(std::size_t bytes) {
    std::string data = "[";
    data.reserve(bytes + 64);
    while (data.size() < bytes)
        data += "[],";
    data += "[]]";
    return hs::envelope("CF-00000", "ok", data);
}

std::vector<body_case> body_cases() {
    std::vector<body_case> v;
    v.push_back(
        {"bad percent-encoding", "%7B%22result%22%ZZ%7D", protocol_errc::bad_percent_encoding});
    v.push_back({"a truncated escape", "%7B%22result%2", protocol_errc::bad_percent_encoding});
    v.push_back({"raw bad UTF-8", hs::envelope("CF-00000", "\xff\xfe\xc0\x80"), {}});
    v.push_back({"percent-encoded bad UTF-8",
                 hs::percent_encode(hs::envelope("CF-00000", "\xed\xa0\x80 \xff")),
                 {}});
    v.push_back(
        {"arrays nested 100,000 deep", hs::envelope("CF-00000", "", deep('[', 100'000)), {}});
    v.push_back(
        {"objects nested 20,000 deep", hs::envelope("CF-00000", "", deep('{', 20'000)), {}});
    v.push_back({"a 4 MB string over a 1 MiB limit",
                 hs::envelope("CF-00000", "", "{\"s\":\"" + std::string(4 << 20, 's') + "\"}"),
                 protocol_errc::reply_too_large, 1 << 20});
    v.push_back({"a 4 MB percent-encoded string over a 1 MiB limit",
                 hs::percent_encode(
                     hs::envelope("CF-00000", "", "{\"s\":\"" + std::string(4 << 20, 's') + "\"}")),
                 protocol_errc::reply_too_large, 1 << 20});
    // Under the body limit (64 MiB here) but parsing to ten million values.
    v.push_back({"30 MB of [[],[],...]", many_tiny_values(30 << 20), protocol_errc::reply_too_large,
                 64 << 20});
    v.push_back({"1e999999", hs::envelope("CF-00000", "", R"({"amount":1e999999})"), {}});
    v.push_back({"-1e999999", hs::envelope("CF-00000", "", R"({"amount":[-1e999999]})"), {}});
    v.push_back({"percent-encoded 1e999999",
                 hs::percent_encode(hs::envelope("CF-00000", "", R"({"amount":1e999999})")),
                 {}});
    v.push_back({"no result", R"({"data":{}})", protocol_errc::bad_envelope});
    v.push_back(
        {"result not an object", R"({"result":[1],"data":{}})", protocol_errc::bad_envelope});
    v.push_back({"result.code a number", R"({"result":{"code":0},"data":{}})",
                 protocol_errc::bad_envelope});
    v.push_back({"result.code null", R"({"result":{"code":null}})", protocol_errc::bad_envelope});
    v.push_back({"an array", R"([{"result":{"code":"CF-00000"}}])", protocol_errc::bad_envelope});
    v.push_back({"null", "null", {}});
    v.push_back({"empty", "", {}});
    v.push_back({"JSON then junk", ok_body + "}}}", {}});
    return v;
}
} // namespace

BOOST_FIXTURE_TEST_CASE(each_bad_body_is_a_protocol_error, rig) {
    for (const auto& bc : body_cases()) {
        BOOST_TEST_CONTEXT(bc.name) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(api_only([&](const hs::request&) {
                return hs::reply(hs::response(200, bc.body, {}, "text/plain"));
            }));
            config cfg = config_for(srv);
            if (bc.max_reply_bytes) cfg.max_reply_bytes = bc.max_reply_bytes;
            client c(ioc.get_executor(), cfg);
            auto o = call(ioc, c, 10'000ms);
            BOOST_TEST_MESSAGE(bc.name << ": " << (o.r ? "accepted" : o.what) << " ("
                                       << o.took.count() << " ms)");
            BOOST_TEST(!o.r.has_value());
            if (o.r.has_value()) continue;
            BOOST_TEST(kind_of(o.r.error()) == error_kind::protocol, o.what);
            if (bc.code) BOOST_TEST(o.r.error() == bc.code);
            BOOST_TEST(srv.count(product) == 1u); // a reply that cannot be read is not asked again
            BOOST_TEST(lowercase(o.what).find("infinity") == std::string::npos);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(an_envelope_without_data_is_a_response_with_null_data, rig) {
    hs::server srv(api_only([](const hs::request&) {
        return hs::reply(hs::response(200, R"({"result":{"code":"CF-00000","message":"ok"}})"));
    }));
    client c(ioc.get_executor(), config_for(srv));
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->ok());
    BOOST_TEST(o.r->data.is_null());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_tokens)

namespace {
hs::handler token_reply(std::string body) {
    return [body = std::move(body)](const hs::request& r) {
        if (r.path == "/oauth/token") return hs::reply(hs::response(200, body));
        return hs::reply(hs::response(200, ok_body));
    };
}
} // namespace

BOOST_FIXTURE_TEST_CASE(an_unusable_token_reply_is_bad_token_reply_and_nothing_is_sent, rig) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"not JSON", "<html>have a token</html>"},
        {"an array", "[]"},
        {"no access_token", R"({"token_type":"bearer","expires_in":604799})"},
        {"an empty access_token", hs::token_json("")},
        {"a number", R"({"access_token":12345,"expires_in":604799})"},
        {"null", R"({"access_token":null,"expires_in":604799})"},
        {"CR LF", hs::token_json("abc\r\nX-Injected: yes")},
        {"LF", hs::token_json("abc\nX-Injected: yes")},
        {"CR", hs::token_json("abc\rX-Injected: yes")},
        {"NUL", hs::token_json(std::string("abc\0X-Injected: yes", 19))},
        {"DEL", hs::token_json("abc\x7f")},
    };
    for (const auto& [name, body] : cases) {
        BOOST_TEST_CONTEXT(name) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(token_reply(body));
            client c(ioc.get_executor(), config_for(srv));
            auto o = call(ioc, c, 3000ms);
            BOOST_TEST_MESSAGE("token " << name << ": " << (o.r ? "accepted" : o.what));
            BOOST_TEST(o.r.error() == protocol_errc::bad_token_reply);
            BOOST_TEST(api_requests(srv) == 0u); // no API request with a broken token
            BOOST_TEST(srv.count("/oauth/token") == 1u);
            for (const auto& r : srv.requests())
                BOOST_TEST(r.raw.find("X-Injected") == std::string::npos);
            BOOST_TEST(o.took < 3000ms + slack);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(odd_lifetimes_cost_at_most_two_token_requests_for_six_calls, rig) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string jwt_head = R"({"service_type":"0","scope":["read"],"client_id":"x","exp":)";
    auto with_exp = [&](const std::string& exp) { return hs::jwt(jwt_head + exp + "}"); };
    struct lifetime_case {
        std::string name, token, expires_in;
    };
    const std::vector<lifetime_case> cases{
        {"expires_in 0", "opaque-token", "0"},
        {"expires_in -5", "opaque-token", "-5"},
        {"expires_in INT64_MAX", "opaque-token", "9223372036854775807"},
        {"expires_in UINT64_MAX", "opaque-token", "18446744073709551615"},
        {"expires_in 1e300", "opaque-token", "1e300"},
        {"expires_in \"604799\"", "opaque-token", "\"604799\""},
        {"expires_in \"soon\"", "opaque-token", "\"soon\""},
        {"expires_in \"9223372036854775807\"", "opaque-token", "\"9223372036854775807\""},
        {"no expires_in", "opaque-token", ""},
        {"not a JWT, dots and all", "a.b!.c", "604799"},
        {"exp far past, expires_in a week", with_exp("1000"), "604799"},
        {"exp far past, no expires_in", with_exp("1000"), ""},
        {"exp -1, no expires_in", with_exp("-1"), ""},
        {"exp year 9999, no expires_in", with_exp("253402300799"), ""},
        {"exp INT64_MAX, no expires_in", with_exp("9223372036854775807"), ""},
        {"exp INT64_MAX, expires_in INT64_MAX", with_exp("9223372036854775807"),
         "9223372036854775807"},
        {"exp 1e300, no expires_in", with_exp("1e300"), ""},
        {"exp a string, no expires_in", with_exp("\"tomorrow\""), ""},
        {"exp in a week, expires_in 0", with_exp(std::to_string(now + 604800)), "0"},
    };
    for (const auto& lc : cases) {
        BOOST_TEST_CONTEXT(lc.name) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(token_reply(hs::token_json(lc.token, lc.expires_in)));
            client c(ioc.get_executor(), config_for(srv));
            int ok = 0;
            for (int i = 0; i < 6; ++i) {
                auto o = call(ioc, c, 3000ms);
                if (o.r.has_value())
                    ++ok;
                else
                    BOOST_TEST_MESSAGE(lc.name << ": " << o.what);
            }
            BOOST_TEST(ok == 6);
            BOOST_TEST(srv.count("/oauth/token") <= 2u);
            BOOST_TEST_MESSAGE(lc.name << ": " << srv.count("/oauth/token") << " token requests");
            for (const auto& r : srv.requests())
                if (r.path == product) BOOST_TEST(r.authorization == "Bearer " + lc.token);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_secrets)

namespace {
// Every text of a failure: what() and each diagnostics field.
std::string all_text(const error_code& ec, const diagnostics& d) {
    return what_of(ec, d) + "\n" + d.codef_code + "\n" + d.codef_message + "\n" + d.transaction_id +
           "\n" + d.detail;
}

// A call that must fail with the server's status, and say no canary anywhere.
void fails_with_status_and_no_canary(asio::io_context& ioc, client& c, int status) {
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST(!o.r.has_value());
    if (o.r.has_value()) return;
    BOOST_TEST(o.r.error() == make_http_error(status));
    BOOST_TEST(canary_in(all_text(o.r.error(), o.r.diag())).empty(),
               "a canary in: " << all_text(o.r.error(), o.r.diag()));
}
} // namespace

BOOST_FIXTURE_TEST_CASE(a_token_host_echoing_the_credential_leaks_nothing, rig) {
    const std::string body = "{\"error\":\"invalid_client\",\"error_description\":" +
                             hs::json_quote(echo_known(false, false)) +
                             ",\"code\":" + hs::json_quote(echo_known(false, false)) +
                             ",\"message\":" + hs::json_quote(echo_known(false, false)) + "}";
    for (int status : {400, 401, 500}) {
        BOOST_TEST_CONTEXT("token " << status) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(
                [&](const hs::request&) { return hs::reply(hs::response(status, body)); });
            client c(ioc.get_executor(), config_for(srv));
            fails_with_status_and_no_canary(ioc, c, status);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(an_api_host_echoing_the_token_leaks_nothing, rig) {
    const std::string error_json =
        "{\"error\":\"invalid_token\",\"error_description\":" +
        hs::json_quote(echo_known(true, false)) +
        ",\"code\":\"CF-99997\",\"message\":" + hs::json_quote(echo_known(true, false)) + "}";
    const std::string envelope_echo =
        hs::envelope("CF-99999", echo_known(true, false), "{}", echo_known(true, false));
    const std::vector<std::pair<int, std::string>> cases{
        {401, error_json},
        {403, error_json},
        {500, envelope_echo},
        {500, hs::percent_encode(envelope_echo)},
        {400, "plain text " + echo_known(true, false)}};
    for (const auto& sc : cases) {
        const int status = sc.first; // not a structured binding: clang 14 cannot capture those
        const std::string& body = sc.second;
        BOOST_TEST_CONTEXT("API " << status << " " << body.substr(0, 20)) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(
                api_only([&](const hs::request&) { return hs::reply(hs::response(status, body)); },
                         token_canary));
            client c(ioc.get_executor(), config_for(srv));
            fails_with_status_and_no_canary(ioc, c, status);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(a_reply_echoing_secrets_in_its_messages_leaks_nothing, rig) {
    for (const std::string& code : std::vector<std::string>{"CF-00000", "CF-00001"}) {
        BOOST_TEST_CONTEXT(code) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server srv(api_only(
                [&](const hs::request&) {
                    return hs::reply(hs::response(
                        200, hs::percent_encode(hs::envelope(code, echo_known(true, false), "{}",
                                                             echo_known(true, false)))));
                },
                token_canary));
            client c(ioc.get_executor(), config_for(srv));
            auto o = call(ioc, c, 3000ms);
            BOOST_TEST(o.r.has_value(), o.what);
            if (!o.r.has_value()) continue;
            BOOST_TEST(o.r->code == code);
            BOOST_TEST(canary_in(o.r->message).empty(), "message: " << o.r->message);
            BOOST_TEST(canary_in(o.r->extra_message).empty(),
                       "extra_message: " << o.r->extra_message);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(an_account_reply_echoing_the_password_leaks_nothing, rig) {
    const std::string data =
        R"({"connectedId":"","successList":[],"errorList":[{"organization":"0004","businessType":"BK","clientType":"P","loginType":"1","countryCode":"KR","code":"CF-12345","message":)" +
        hs::json_quote(echo_known(true, true)) +
        ",\"extraMessage\":" + hs::json_quote(echo_known(true, true)) + "}]}";
    hs::server srv(api_only(
        [&](const hs::request& r) {
            if (r.path == "/v1/account/create")
                return hs::reply(hs::response(
                    200, hs::percent_encode(hs::envelope("CF-04000", echo_known(true, true), data,
                                                         echo_known(true, true)))));
            return hs::reply(hs::response(500, hs::envelope("CF-09999", echo_known(true, true))));
        },
        token_canary));
    client c(ioc.get_executor(), config_for(srv));
    auto o = create(ioc, c, 3000ms, password_canary);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->reply.code == "CF-04000");
    BOOST_TEST(canary_in(o.r->reply.message).empty(), "message: " << o.r->reply.message);
    BOOST_TEST(canary_in(o.r->reply.extra_message).empty(),
               "extra_message: " << o.r->reply.extra_message);
    BOOST_TEST_REQUIRE(o.r->error_list.size() == 1u);
    BOOST_TEST(canary_in(o.r->error_list[0].message).empty(),
               "errorList[0].message: " << o.r->error_list[0].message);
    BOOST_TEST(canary_in(o.r->error_list[0].extra_message).empty());
    // And a failing one: the password in the server's 500 message.
    auto add = run_timed(ioc, c.add_accounts("cid-1", one_account(password_canary)));
    BOOST_TEST_REQUIRE(!add.r.has_value());
    BOOST_TEST(canary_in(all_text(add.r.error(), add.r.diag())).empty(),
               "a canary in: " << all_text(add.r.error(), add.r.diag()));
    // The password left encrypted; never in the clear.
    for (const auto& r : srv.requests())
        BOOST_TEST(r.raw.find(password_canary) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(events_and_log_lines_of_a_reply_echoing_secrets_hold_none, rig) {
    // The result code goes into events: here it echoes the token and the secret.
    hs::server srv(api_only(
        [&](const hs::request&) {
            return hs::reply(
                hs::response(200, hs::percent_encode(hs::envelope(echo_known(true, false), "ok"))));
        },
        token_canary));
    const auto before = watch()->lines();
    client c(ioc.get_executor(), config_for(srv));
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(canary_in(o.r->code).empty(), "code: " << o.r->code);
    // Started, finished, the token's refresh, the connections: all seen, none with a canary.
    BOOST_TEST(watch()->lines() >= before + 6);
    const auto leaks = watch()->leaks();
    BOOST_TEST(leaks.empty(), leaks.size() << " lines with a canary, the first: "
                                           << (leaks.empty() ? "" : leaks.front()));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_statuses)

namespace {
// Answers path with status (and Retry-After when given) the first `times` times, then normally.
hs::handler fail_first(std::string path, int status, int times, std::string retry_after = {},
                       std::string token = "hostile-token") {
    auto left = std::make_shared<std::atomic<int>>(times);
    return [=](const hs::request& r) {
        if (r.path == path && left->fetch_sub(1) > 0) {
            hs::header_list h;
            if (!retry_after.empty()) h.emplace_back("Retry-After", retry_after);
            return hs::reply(hs::response(
                status, R"({"error":"busy","code":"CF-99998","message":"try later"})", h));
        }
        if (r.path == "/oauth/token") return hs::reply(hs::response(200, hs::token_json(token)));
        if (r.path == "/v1/account/create") return hs::reply(hs::response(200, create_ok));
        return hs::reply(hs::response(200, ok_body));
    };
}

millis gap(const hs::server& s, const std::string& path) {
    std::vector<steady::time_point> at;
    for (const auto& r : s.requests())
        if (r.path == path) at.push_back(r.at);
    if (at.size() < 2) return millis(-1);
    return std::chrono::duration_cast<millis>(at[1] - at[0]);
}
} // namespace

BOOST_FIXTURE_TEST_CASE(token_host_statuses, rig) {
    struct status_case {
        int status;
        std::string retry_after;
        millis timeout;
        bool succeeds;
        std::size_t token_requests;
    };
    const std::vector<status_case> cases{
        {401, "", 3000ms, false, 1},
        {403, "", 3000ms, false, 1},
        {500, "", 3000ms, false, 1},
        {429, "1", 5000ms, true, 2},
        {503, "1", 5000ms, true, 2},
        {503, "30", 1000ms, false, 1}, // Retry-After past the deadline: the 503 is the answer
        {429, "99999999999999999999", 1000ms, false, 0},
    };
    for (const auto& sc : cases) {
        BOOST_TEST_CONTEXT("token " << sc.status << " Retry-After " << sc.retry_after) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server s(
                fail_first("/oauth/token", sc.status, sc.succeeds ? 1 : 100, sc.retry_after));
            client c(ioc.get_executor(), config_for(s));
            auto o = call(ioc, c, sc.timeout);
            BOOST_TEST_MESSAGE("token " << sc.status << ": " << (o.r ? "ok" : o.what) << " in "
                                        << o.took.count() << " ms");
            BOOST_TEST(o.r.has_value() == sc.succeeds, o.what);
            if (!sc.succeeds) {
                BOOST_TEST(o.r.error() == make_http_error(sc.status));
                BOOST_TEST(o.r.diag().http_status == sc.status);
                BOOST_TEST(api_requests(s) == 0u);
            } else {
                BOOST_TEST(gap(s, "/oauth/token") >= 900ms); // Retry-After: 1 was honoured
                BOOST_TEST(s.count(product) == 1u);
            }
            if (sc.token_requests) BOOST_TEST(s.count("/oauth/token") == sc.token_requests);
            BOOST_TEST(o.took < sc.timeout + slack);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(api_host_statuses, rig) {
    struct status_case {
        int status;
        int times;
        std::string retry_after;
        millis timeout;
        bool succeeds;
        std::size_t api_requests, token_requests;
    };
    const std::vector<status_case> cases{
        {401, 100, "", 3000ms, false, 2, 2}, // one reissue, one resend, then the 401
        {401, 1, "", 3000ms, true, 2, 2},
        {403, 100, "", 3000ms, false, 2, 2}, // access_denied: a token from before a change
        {403, 1, "", 3000ms, true, 2, 2},    // of permissions; reissued like a 401
        {500, 100, "", 3000ms, false, 1, 1},
        {502, 100, "", 3000ms, false, 3, 1}, // retried to the attempt limit
        {429, 1, "1", 5000ms, true, 2, 1},
        {503, 1, "1", 5000ms, true, 2, 1},
        {503, 100, "30", 1000ms, false, 1, 1},
    };
    for (const auto& sc : cases) {
        BOOST_TEST_CONTEXT("API " << sc.status << " x" << sc.times << " Retry-After "
                                  << sc.retry_after) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server s(fail_first(product, sc.status, sc.times, sc.retry_after));
            client c(ioc.get_executor(), config_for(s));
            auto o = call(ioc, c, sc.timeout);
            BOOST_TEST_MESSAGE("API " << sc.status << ": " << (o.r ? "ok" : o.what) << " in "
                                      << o.took.count() << " ms");
            BOOST_TEST(o.r.has_value() == sc.succeeds, o.what);
            if (!sc.succeeds) {
                BOOST_TEST(o.r.error() == make_http_error(sc.status));
                BOOST_TEST(o.r.diag().http_status == sc.status);
            }
            if (!sc.retry_after.empty() && sc.succeeds) BOOST_TEST(gap(s, product) >= 900ms);
            BOOST_TEST(s.count(product) == sc.api_requests);
            BOOST_TEST(s.count("/oauth/token") == sc.token_requests);
            BOOST_TEST(o.took < sc.timeout + slack);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(an_account_change_answered_503_is_not_sent_again, rig) {
    hs::server s(fail_first("/v1/account/create", 503, 100, "1"));
    client c(ioc.get_executor(), config_for(s));
    auto o = create(ioc, c, 5000ms);
    BOOST_TEST(o.r.error() == make_http_error(503));
    BOOST_TEST(s.count("/v1/account/create") == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_401_with_the_emulators_token_reissues_once, rig) {
    emulator emu;
    hs::server api(api_only([](const hs::request&) {
        return hs::reply(hs::response(401, R"({"error":"invalid_token"})"));
    }));
    config cfg = config_for(api);
    cfg.env = environment::sandbox;
    cfg.client_id.clear();
    cfg.client_secret.clear();
    cfg.oauth_url = emu.oauth_url();
    cfg.ca_pem = hs::trusted_ca_pem() + emu.ca_pem();
    client c(ioc.get_executor(), cfg);
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST(o.r.error() == make_http_error(401));
    BOOST_TEST(emu.stats().token_requests == 2u);
    BOOST_TEST(api.count(product) == 2u);
    BOOST_TEST(api.count("/oauth/token") == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_token_the_emulator_refuses_costs_one_reissue, rig) {
    emulator emu;
    hs::server oauth(hs::standard("a-token-from-elsewhere"));
    config cfg = config_for(oauth);
    cfg.api_url = emu.api_url();
    cfg.ca_pem = hs::trusted_ca_pem() + emu.ca_pem();
    client c(ioc.get_executor(), cfg);
    auto o = call(ioc, c, 3000ms, "/v1/account/connectedId-list");
    BOOST_TEST(o.r.error() == make_http_error(401));
    BOOST_TEST(o.r.diag().codef_code == "CF-99997");
    BOOST_TEST(oauth.count("/oauth/token") == 2u);
    BOOST_TEST(emu.stats().api_requests == 2u);
    BOOST_TEST(emu.stats().unauthorized == 2u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_interim)

BOOST_FIXTURE_TEST_CASE(interim_replies_before_the_real_one_are_skipped, rig) {
    const std::vector<std::pair<std::string, std::string>> preludes{
        {"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n"},
        {"102 and 103 with headers",
         "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; "
         "rel=preload\r\n\r\n"},
    };
    for (const auto& pc : preludes) {
        const std::string& name = pc.first; // not a structured binding: clang 14 cannot capture
        const std::string& prelude = pc.second;
        for (bool on_token : {false, true}) {
            BOOST_TEST_CONTEXT(name << (on_token ? " on the token host" : " on the API host")) {
                asio::io_context ioc; // each case its own: nothing left over from the last
                hs::server s([&](const hs::request& r) {
                    const bool token = r.path == "/oauth/token";
                    std::string real =
                        hs::response(200, token ? hs::token_json("hostile-token") : ok_body);
                    return hs::reply(token == on_token ? prelude + real : real);
                });
                client c(ioc.get_executor(), config_for(s));
                auto o = call(ioc, c, 3000ms);
                BOOST_TEST(o.r.has_value(), o.what);
                if (!o.r.has_value()) continue;
                BOOST_TEST(o.r->ok());
                BOOST_TEST(s.count(product) == 1u);
                BOOST_TEST(s.count("/oauth/token") == 1u);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(hostile_outcome)

namespace {
// The first request of a connection is answered; on a reused connection, `path` is read and the
// connection closed without a word (every time: a resend would be seen).
hs::handler close_on_reuse(std::string path) {
    return [path = std::move(path)](const hs::request& r) {
        if (r.path == "/oauth/token") return hs::reply(hs::response(200, hs::token_json("t")));
        if (r.path == path && r.path == "/v1/account/create")
            return hs::script{hs::act::close()}; // never answered
        if (r.path == path && r.on_connection > 0) return hs::script{hs::act::close()};
        if (r.path == "/v1/account/create") return hs::reply(hs::response(200, create_ok));
        return hs::reply(hs::response(200, ok_body));
    };
}
} // namespace

BOOST_FIXTURE_TEST_CASE(a_create_on_a_reused_connection_closed_unanswered_is_outcome_unknown, rig) {
    hs::server s(close_on_reuse("/v1/account/create"));
    config cfg = config_for(s);
    cfg.max_connections = 1;
    client c(ioc.get_executor(), cfg);
    BOOST_TEST_REQUIRE(call(ioc, c, 3000ms).r.has_value()); // warms the connection up
    auto o = create(ioc, c, 3000ms);
    BOOST_TEST_MESSAGE("create, closed unanswered: " << o.what);
    BOOST_TEST_REQUIRE(!o.r.has_value());
    BOOST_TEST(kind_of(o.r.error()) == error_kind::transport);
    BOOST_TEST(s.count("/v1/account/create") == 1u); // it reached the server exactly once
    BOOST_TEST(o.r.diag().outcome_unknown);
    const auto reqs = s.requests();
    BOOST_TEST_REQUIRE(reqs.size() >= 3u);
    BOOST_TEST(reqs[2].path == "/v1/account/create");
    BOOST_TEST(reqs[2].on_connection == 1u); // the scenario: a reused connection
}

BOOST_FIXTURE_TEST_CASE(a_create_reset_or_unanswered_is_outcome_unknown_and_sent_once, rig) {
    for (int variant = 0; variant < 2; ++variant) {
        BOOST_TEST_CONTEXT((variant == 0 ? "reset after reading" : "silence")) {
            asio::io_context ioc; // each case its own: nothing left over from the last
            hs::server s(api_only([&](const hs::request&) {
                return hs::script{variant == 0 ? hs::act::reset() : hs::act::hang()};
            }));
            client c(ioc.get_executor(), config_for(s));
            auto o = create(ioc, c, 800ms);
            BOOST_TEST_MESSAGE("create: " << o.what);
            BOOST_TEST(!o.r.has_value());
            if (o.r.has_value()) continue;
            BOOST_TEST(s.count("/v1/account/create") == 1u);
            BOOST_TEST(o.r.diag().outcome_unknown);
            BOOST_TEST(o.took < 800ms + slack);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(a_create_refused_before_sending_is_not_outcome_unknown, rig) {
    hs::server bad(hs::standard(), hs::tls_mode::expired);
    hs::server good;
    client c(ioc.get_executor(), config_for(bad, &good));
    auto o = create(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(!o.r.has_value());
    BOOST_TEST(kind_of(o.r.error()) == error_kind::tls);
    BOOST_TEST(!o.r.diag().outcome_unknown);
}

BOOST_FIXTURE_TEST_CASE(an_inquiry_on_a_reused_connection_closed_unanswered_is_retried, rig) {
    hs::server s(close_on_reuse(product));
    config cfg = config_for(s);
    cfg.max_connections = 1;
    client c(ioc.get_executor(), cfg);
    BOOST_TEST_REQUIRE(call(ioc, c, 3000ms).r.has_value());
    auto o = call(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->ok());
    BOOST_TEST(s.count(product) == 3u); // the warm-up, the closed one, the retry
}

BOOST_FIXTURE_TEST_CASE(a_connection_closed_while_idle_is_replaced_before_use, rig) {
    hs::server s([](const hs::request& r) {
        if (r.path == "/oauth/token") return hs::reply(hs::response(200, hs::token_json("t")));
        if (r.path == "/v1/account/create") return hs::reply(hs::response(200, create_ok));
        // Answered with keep-alive, then closed at once: the connection dies idle in the pool.
        return hs::script{hs::act::write(hs::response(200, ok_body)), hs::act::close()};
    });
    config cfg = config_for(s);
    cfg.max_connections = 1;
    client c(ioc.get_executor(), cfg);
    BOOST_TEST_REQUIRE(call(ioc, c, 3000ms).r.has_value());
    // Both the token's connection (kept) and the API one exist; the API one is closed.
    BOOST_TEST_REQUIRE(s.wait_until([&] { return s.connections_ended() >= 1u; }, 5000ms));
    auto o = create(ioc, c, 3000ms);
    BOOST_TEST_REQUIRE(o.r.has_value(), o.what);
    BOOST_TEST(o.r->connected_id == "cid-new");
    BOOST_TEST(s.count("/v1/account/create") == 1u);
    BOOST_TEST_MESSAGE("stale connection retries: " << c.stats().stale_connection_retries);
}

BOOST_AUTO_TEST_SUITE_END()

// Every client of every test above reported its events and log lines to watch(): none may hold a
// canary, whatever the servers echoed.
struct no_canary_in_events {
    void setup() {}
    void teardown() {
        const auto leaks = codef::hostile_test::watch()->leaks();
        BOOST_TEST(leaks.empty(), leaks.size() << " event or log lines held a canary, the first: "
                                               << (leaks.empty() ? "" : leaks.front()));
    }
};
BOOST_TEST_GLOBAL_FIXTURE(no_canary_in_events);
