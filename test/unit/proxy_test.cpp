// HTTP proxies without sockets: the proxy URL, the environment's order, no_proxy, the CONNECT
// request as written, the proxy's reply head, and what a refusal means for retrying.
#include "detail/encoding.hpp"
#include "detail/endpoint.hpp"
#include "detail/proxy.hpp"
#include "detail/retry_policy.hpp"

#include <boost/test/unit_test.hpp>

#include <map>

using namespace codef;
using namespace codef::detail;

namespace {

// An environment for make_proxy_plan: only what the test sets.
getenv_function env_of(std::map<std::string, std::string> vars) {
    auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [held](const char* name) -> const char* {
        const auto it = held->find(name);
        return it == held->end() ? nullptr : it->second.c_str();
    };
}

endpoint target(std::string host, std::string port, bool ip = false) {
    endpoint e;
    e.host = std::move(host);
    e.port = std::move(port);
    e.host_is_ip = ip;
    e.host_header = e.host;
    return e;
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_proxy)

BOOST_AUTO_TEST_CASE(a_proxy_url_gives_host_port_and_default_port_80) {
    auto p = parse_proxy_url("http://proxy.example:3128", "proxy.url");
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->host == "proxy.example");
    BOOST_TEST(p->port == "3128");
    BOOST_TEST(!p->host_is_ip);
    BOOST_TEST(p->authority == "proxy.example:3128");
    BOOST_TEST(p->authorization.empty());

    auto d = parse_proxy_url("http://proxy.example/", "proxy.url");
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->port == "80");

    // curl reads a proxy without a scheme as http.
    auto bare = parse_proxy_url("10.0.0.1:8080", "proxy.url");
    BOOST_TEST_REQUIRE(bare.has_value());
    BOOST_TEST(bare->host == "10.0.0.1");
    BOOST_TEST(bare->port == "8080");
    BOOST_TEST(bare->host_is_ip);
}

BOOST_AUTO_TEST_CASE(an_ipv6_proxy_is_written_in_brackets) {
    auto p = parse_proxy_url("http://[::1]:8888", "proxy.url");
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->host == "::1");
    BOOST_TEST(p->host_is_ip);
    BOOST_TEST(p->authority == "[::1]:8888");
}

BOOST_AUTO_TEST_CASE(other_schemes_and_bad_urls_are_refused_naming_the_field_only) {
    for (const char* url : {"https://proxy.example:443", "socks5://user:hunter2@proxy.example:1080",
                            "http://proxy.example:3128/path", "http://proxy.example:3128/?q=1",
                            "http://proxy.example:0", "http://", "http://proxy.example\r\n:1"}) {
        auto p = parse_proxy_url(url, "HTTPS_PROXY");
        BOOST_TEST_REQUIRE(!p.has_value(), url);
        BOOST_TEST(p.error() == client_errc::invalid_config);
        BOOST_TEST(p.diag().detail.rfind("HTTPS_PROXY: ", 0) == 0u, p.diag().detail);
        BOOST_TEST(p.diag().detail.find("hunter2") == std::string::npos);
        BOOST_TEST(p.diag().detail.find("proxy.example") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(userinfo_is_percent_decoded_into_a_basic_credential) {
    auto p = parse_proxy_url("http://jane%40corp:p%3Ass%20w@proxy.example:3128", "proxy.url");
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST(p->authorization == "Basic " + base64_encode("jane@corp:p:ss w"));
    // The settings' user name and password override the URL's.
    auto o = parse_proxy_url("http://jane:old@proxy.example:3128", "proxy.url", "joe", "new");
    BOOST_TEST_REQUIRE(o.has_value());
    BOOST_TEST(o->authorization == "Basic " + base64_encode("joe:new"));
}

BOOST_AUTO_TEST_CASE(the_plan_keeps_the_password_and_credential_as_secrets) {
    proxy_settings s;
    s.url = "http://proxy.example:3128";
    s.username = "joe";
    s.password = "canary-Pw-77";
    auto plan = make_proxy_plan(s, env_of({}));
    BOOST_TEST_REQUIRE(plan.has_value());
    BOOST_TEST_REQUIRE(plan->proxy.has_value());
    const std::string b64 = base64_encode("joe:canary-Pw-77");
    BOOST_TEST(plan->proxy->authorization == "Basic " + b64);
    const std::vector<std::string> want{"canary-Pw-77", "joe:canary-Pw-77", b64};
    BOOST_TEST(plan->secrets == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_credentials_are_refused_by_field) {
    proxy_settings s;
    s.url = "http://proxy.example:3128";
    s.username = "jo:e";
    auto a = make_proxy_plan(s, env_of({}));
    BOOST_TEST_REQUIRE(!a.has_value());
    BOOST_TEST(a.diag().detail.rfind("proxy.username:", 0) == 0u);
    s.username = "joe";
    s.password = "pw\nInjected: 1";
    auto b = make_proxy_plan(s, env_of({}));
    BOOST_TEST_REQUIRE(!b.has_value());
    BOOST_TEST(b.diag().detail.rfind("proxy.password:", 0) == 0u);
    BOOST_TEST(b.diag().detail.find("Injected") == std::string::npos);
    s = {};
    s.password = "alone";
    auto c = make_proxy_plan(s, env_of({}));
    BOOST_TEST_REQUIRE(!c.has_value());
    BOOST_TEST(c.diag().detail.rfind("proxy.password:", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(the_environment_is_read_only_when_asked) {
    const auto env = env_of({{"https_proxy", "http://p.example:1"}});
    proxy_settings s;
    auto off = make_proxy_plan(s, env);
    BOOST_TEST_REQUIRE(off.has_value());
    BOOST_TEST(!off->proxy.has_value());
    s.from_environment = true;
    auto on = make_proxy_plan(s, env);
    BOOST_TEST_REQUIRE(on.has_value());
    BOOST_TEST_REQUIRE(on->proxy.has_value());
    BOOST_TEST(on->proxy->authority == "p.example:1");
    BOOST_TEST(on->source == "https_proxy");
    // proxy.url wins over the environment.
    s.url = "http://q.example:2";
    auto url = make_proxy_plan(s, env);
    BOOST_TEST_REQUIRE(url.has_value());
    BOOST_TEST(url->proxy->authority == "q.example:2");
}

BOOST_AUTO_TEST_CASE(the_environment_is_read_in_curls_order) {
    proxy_settings s;
    s.from_environment = true;
    auto source = [&](std::map<std::string, std::string> vars) {
        auto plan = make_proxy_plan(s, env_of(std::move(vars)));
        BOOST_TEST_REQUIRE(plan.has_value());
        return plan->proxy ? plan->source + " " + plan->proxy->authority : std::string("none");
    };
    const std::map<std::string, std::string> all{{"https_proxy", "a.example:1"},
                                                 {"HTTPS_PROXY", "b.example:2"},
                                                 {"all_proxy", "c.example:3"},
                                                 {"ALL_PROXY", "d.example:4"},
                                                 {"http_proxy", "e.example:5"}};
    BOOST_TEST(source(all) == "https_proxy a.example:1");
    auto v = all;
    v.erase("https_proxy");
    BOOST_TEST(source(v) == "HTTPS_PROXY b.example:2");
    v["HTTPS_PROXY"] = ""; // set but empty: as unset
    BOOST_TEST(source(v) == "all_proxy c.example:3");
    v.erase("all_proxy");
    BOOST_TEST(source(v) == "ALL_PROXY d.example:4");
    v.erase("ALL_PROXY");
    // http_proxy is for plain http, which the client never speaks.
    BOOST_TEST(source(v) == "none");
}

BOOST_AUTO_TEST_CASE(a_bad_environment_proxy_names_the_variable_not_its_value) {
    proxy_settings s;
    s.from_environment = true;
    auto plan = make_proxy_plan(s, env_of({{"HTTPS_PROXY", "socks5://joe:canary-Pw-77@p:1080"}}));
    BOOST_TEST_REQUIRE(!plan.has_value());
    BOOST_TEST(plan.error() == client_errc::invalid_config);
    BOOST_TEST(plan.diag().detail == "HTTPS_PROXY: only http:// proxies are supported");
}

BOOST_AUTO_TEST_CASE(no_proxy_is_read_lower_case_first_and_applies_per_host) {
    proxy_settings s;
    s.from_environment = true;
    auto plan = make_proxy_plan(s, env_of({{"https_proxy", "http://p.example:3128"},
                                           {"no_proxy", "oauth.codef.io"},
                                           {"NO_PROXY", "api.codef.io"}}));
    BOOST_TEST_REQUIRE(plan.has_value());
    BOOST_TEST(plan->no_proxy == "oauth.codef.io");
    BOOST_TEST(plan->for_endpoint(target("api.codef.io", "443")).has_value());
    BOOST_TEST(!plan->for_endpoint(target("oauth.codef.io", "443")).has_value());
}

BOOST_AUTO_TEST_CASE(no_proxy_matches_hosts_and_domains_on_label_boundaries) {
    BOOST_TEST(no_proxy_matches("example.com", "example.com"));
    BOOST_TEST(no_proxy_matches("example.com", "api.example.com"));
    BOOST_TEST(no_proxy_matches(".example.com", "api.example.com"));
    BOOST_TEST(no_proxy_matches(".example.com", "example.com"));
    BOOST_TEST(!no_proxy_matches("example.com", "notexample.com"));
    BOOST_TEST(!no_proxy_matches(".example.com", "notexample.com"));
    BOOST_TEST(!no_proxy_matches("api.example.com", "example.com"));
    BOOST_TEST(no_proxy_matches("EXAMPLE.com", "Api.Example.COM"));
    BOOST_TEST(no_proxy_matches("*", "anything.example"));
    BOOST_TEST(no_proxy_matches("*", "10.1.2.3"));
    BOOST_TEST(!no_proxy_matches("*.example.com", "api.example.com")); // not a wildcard syntax
    BOOST_TEST(!no_proxy_matches("", "example.com"));
    // Lists: commas, spaces, both; empty entries skipped; a port ignored.
    BOOST_TEST(no_proxy_matches("localhost, .corp.example ,,example.com", "api.example.com"));
    BOOST_TEST(no_proxy_matches("a.example b.example", "b.example"));
    BOOST_TEST(no_proxy_matches("example.com:8443", "example.com"));
}

BOOST_AUTO_TEST_CASE(no_proxy_matches_ip_addresses_exactly) {
    BOOST_TEST(no_proxy_matches("127.0.0.1", "127.0.0.1"));
    BOOST_TEST(no_proxy_matches("127.0.0.1:8443", "127.0.0.1"));
    BOOST_TEST(!no_proxy_matches("127.0.0.1", "127.0.0.10"));
    BOOST_TEST(!no_proxy_matches("0.0.1", "127.0.0.1")); // no suffix matching of addresses
    BOOST_TEST(!no_proxy_matches("127.0.0.1", "localhost"));
    BOOST_TEST(no_proxy_matches("::1", "::1"));
    BOOST_TEST(no_proxy_matches("[::1]:443", "::1"));
    BOOST_TEST(no_proxy_matches("0:0:0:0:0:0:0:1", "::1")); // the same address
}

BOOST_AUTO_TEST_CASE(the_connect_request_is_exactly_this) {
    auto plain = make_connect_request(target("api.codef.io", "443"), "");
    BOOST_TEST_REQUIRE(plain.has_value());
    BOOST_TEST(*plain == "CONNECT api.codef.io:443 HTTP/1.1\r\n"
                         "Host: api.codef.io:443\r\n"
                         "\r\n");
    auto authed = make_connect_request(target("::1", "8443", true), "Basic am9lOnB3");
    BOOST_TEST_REQUIRE(authed.has_value());
    BOOST_TEST(*authed == "CONNECT [::1]:8443 HTTP/1.1\r\n"
                          "Host: [::1]:8443\r\n"
                          "Proxy-Authorization: Basic am9lOnB3\r\n"
                          "\r\n");
}

BOOST_AUTO_TEST_CASE(a_connect_request_with_a_bad_value_is_not_made) {
    auto smuggled = make_connect_request(target("api.codef.io", "443"), "Basic x\r\nX-Evil: 1");
    BOOST_TEST_REQUIRE(!smuggled.has_value());
    BOOST_TEST(smuggled.error() == protocol_errc::bad_header);
    BOOST_TEST(smuggled.diag().detail.find("X-Evil") == std::string::npos);
    auto bad_host = make_connect_request(target("api.codef.io\r\nX: 1", "443"), "");
    BOOST_TEST(!bad_host.has_value());
}

BOOST_AUTO_TEST_CASE(a_200_reply_head_opens_the_tunnel_even_in_pieces) {
    connect_reply_reader r;
    BOOST_TEST((r.feed("HTTP/1.1 200 Conn") == connect_reply_reader::state::need_more));
    BOOST_TEST(
        (r.feed("ection established\r\nVia: x\r\n") == connect_reply_reader::state::need_more));
    BOOST_TEST((r.feed("\r\n") == connect_reply_reader::state::done));
    BOOST_TEST(r.status() == 200u);
    BOOST_TEST(r.extra() == 0u);
    BOOST_TEST(connect_outcome(r.status(), "api.codef.io:443").has_value());
}

BOOST_AUTO_TEST_CASE(bytes_after_the_head_are_counted_not_lost) {
    connect_reply_reader r;
    // A 2xx to CONNECT has no body whatever its headers say; what follows is the tunnel's.
    BOOST_TEST((r.feed("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n\x16\x03\x01") ==
                connect_reply_reader::state::done));
    BOOST_TEST(r.status() == 200u);
    BOOST_TEST(r.extra() == 3u);
}

BOOST_AUTO_TEST_CASE(a_407_is_proxy_auth_required_with_its_status) {
    connect_reply_reader r;
    BOOST_TEST((r.feed("HTTP/1.1 407 Proxy Authentication Required\r\n"
                       "Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n") ==
                connect_reply_reader::state::done));
    BOOST_TEST(r.status() == 407u);
    auto o = connect_outcome(r.status(), "api.codef.io:443");
    BOOST_TEST_REQUIRE(!o.has_value());
    BOOST_TEST(o.error() == transport_errc::proxy_auth_required);
    BOOST_TEST(o.diag().http_status == 407);
    BOOST_TEST(o.diag().detail ==
               "proxy requires authentication for CONNECT to api.codef.io:443: 407");
}

BOOST_AUTO_TEST_CASE(a_403_is_proxy_refused_with_its_status) {
    connect_reply_reader r;
    BOOST_TEST((r.feed("HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\nnot allowed!") ==
                connect_reply_reader::state::done));
    auto o = connect_outcome(r.status(), "api.example:443");
    BOOST_TEST_REQUIRE(!o.has_value());
    BOOST_TEST(o.error() == transport_errc::proxy_refused);
    BOOST_TEST(o.diag().http_status == 403);
    BOOST_TEST(o.diag().detail == "proxy refused CONNECT to api.example:443: 403");
    BOOST_TEST(!connect_outcome(502, "h:1").has_value());
    BOOST_TEST(!connect_outcome(101, "h:1").has_value());
    BOOST_TEST(connect_outcome(204, "h:1").has_value());
}

BOOST_AUTO_TEST_CASE(garbage_is_not_a_reply_head) {
    connect_reply_reader r;
    BOOST_TEST((r.feed("SSH-2.0-OpenSSH_9.2\r\n\r\n") == connect_reply_reader::state::failed));
    BOOST_TEST(r.error().code == protocol_errc::bad_http);
    // Once failed, it stays failed.
    BOOST_TEST((r.feed("HTTP/1.1 200 OK\r\n\r\n") == connect_reply_reader::state::failed));
}

BOOST_AUTO_TEST_CASE(an_oversized_reply_head_is_refused) {
    connect_reply_reader r(1024);
    auto s = r.feed("HTTP/1.1 200 OK\r\n");
    const std::string header = "X-Filler: " + std::string(100, 'a') + "\r\n";
    for (int i = 0; i < 20 && s == connect_reply_reader::state::need_more; ++i)
        s = r.feed(header);
    BOOST_TEST((s == connect_reply_reader::state::failed));
    BOOST_TEST(r.error().code == protocol_errc::reply_too_large);
}

BOOST_AUTO_TEST_CASE(a_proxys_refusal_is_never_retried_but_an_unreachable_proxy_is) {
    attempt_outcome refused{transport_errc::proxy_refused, 0, false, std::nullopt};
    attempt_outcome auth{transport_errc::proxy_auth_required, 0, false, std::nullopt};
    attempt_outcome unreachable{make_error_code(boost::system::errc::connection_refused), 0, false,
                                std::nullopt};
    BOOST_TEST(!is_transient(refused));
    BOOST_TEST(!is_transient(auth));
    BOOST_TEST(is_transient(unreachable));
    BOOST_TEST(kind_of(transport_errc::proxy_refused) == error_kind::transport);
}

BOOST_AUTO_TEST_SUITE_END()
