// The client through an HTTP CONNECT proxy (codef::emulator_proxy) to the in-process emulator:
// both origins tunnelled, Basic credentials, refusals that are not retried, no_proxy from the
// environment, and TLS verified end to end with the CODEF host.
#include "detail/encoding.hpp"
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>
#include <codef/emulator_proxy.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <map>

namespace asio = boost::asio;
using namespace codef;

namespace {

emulator_options seeded() {
    emulator_options o;
    o.seed_connected_ids = 3;
    return o;
}

struct fixture {
    emulator emu{seeded()};
    asio::io_context ioc;

    std::string api_target() const { return "127.0.0.1:" + std::to_string(emu.port()); }
    std::string oauth_target() const { return "127.0.0.1:" + std::to_string(emu.oauth_port()); }

    result<response> list(client& c) {
        return codef::test::run(ioc, c.try_request("/v1/account/connectedId-list", {}));
    }
};

// Every text a failure hands back: the code's message, the diagnostics and what().
std::string all_text(const error_code& ec, const diagnostics& d) {
    return ec.message() + "|" + d.detail + "|" + d.codef_code + "|" + d.codef_message + "|" +
           codef::error(ec, d).what();
}

// Sets the proxy variables for one test and puts back what was there.
class environment_guard {
public:
    explicit environment_guard(std::map<std::string, std::string> vars) {
        for (const char* name :
             {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
            const char* v = std::getenv(name);
            saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
            ::unsetenv(name);
        }
        for (const auto& [name, value] : vars)
            ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~environment_guard() {
        for (const auto& [name, value] : saved_) {
            if (value)
                ::setenv(name.c_str(), value->c_str(), 1);
            else
                ::unsetenv(name.c_str());
        }
    }
    environment_guard(const environment_guard&) = delete;
    environment_guard& operator=(const environment_guard&) = delete;

private:
    std::map<std::string, std::optional<std::string>> saved_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(client_through_a_proxy)

BOOST_FIXTURE_TEST_CASE(a_call_and_its_token_request_go_through_the_proxy, fixture) {
    emulator_proxy proxy;
    auto cfg = emu.client_config();
    cfg.proxy.url = proxy.url();
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->ok());
    BOOST_TEST(r->data.at("connectedIdList").as_array().size() == 3u);
    // A second call rides the same tunnel: the connection is kept alive through it.
    BOOST_TEST(list(c).has_value());

    const auto s = proxy.stats();
    BOOST_TEST(s.connect_requests == 2u);
    BOOST_TEST(s.tunnels_opened == 2u);
    const std::vector<std::string> targets{oauth_target(), api_target()};
    BOOST_TEST(s.targets == targets, boost::test_tools::per_element());
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().api_requests == 2u);
    BOOST_TEST(emu.stats().oauth_connections_accepted == 1u);
    BOOST_TEST(emu.stats().connections_accepted == 1u);
}

BOOST_FIXTURE_TEST_CASE(the_tunnel_names_the_codef_host_and_tls_verifies_that_name, fixture) {
    // The emulator's certificate names localhost only, and the proxy is 127.0.0.1: the handshake
    // succeeds only if the client asks for and verifies the CODEF host, not the proxy.
    emulator_options o = seeded();
    o.certificate_names = "DNS:localhost";
    emulator named(o);
    emulator_proxy proxy;
    auto cfg = named.client_config();
    cfg.api_url = "https://localhost:" + std::to_string(named.port());
    cfg.oauth_url = "https://localhost:" + std::to_string(named.oauth_port()) + "/oauth/token";
    cfg.proxy.url = proxy.url();
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->ok());
    const std::vector<std::string> targets{"localhost:" + std::to_string(named.oauth_port()),
                                           "localhost:" + std::to_string(named.port())};
    BOOST_TEST(proxy.stats().targets == targets, boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(an_untrusted_server_behind_the_proxy_fails_with_a_tls_error, fixture) {
    emulator other;
    emulator_proxy proxy;
    auto cfg = emu.client_config();
    cfg.ca_pem = other.ca_pem(); // trusts another emulator's CA, not this one's
    cfg.proxy.url = proxy.url();
    client c(ioc.get_executor(), cfg);
    auto r = codef::test::run(ioc, c.try_token());
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::tls));
    BOOST_TEST(r.diag().detail.find("unable to get local issuer certificate") != std::string::npos,
               r.diag().detail);
    // The tunnel was open: TLS failed inside it, and a failed verification is not retried.
    BOOST_TEST(proxy.stats().tunnels_opened == 1u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_right_proxy_credentials_open_the_tunnel, fixture) {
    emulator_proxy_options po;
    po.username = "joe";
    po.password = "right-Pw-1618";
    emulator_proxy proxy(po);
    auto cfg = emu.client_config();
    cfg.proxy.url = proxy.url();
    cfg.proxy.username = "joe";
    cfg.proxy.password = "right-Pw-1618";
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->ok());
    BOOST_TEST(proxy.stats().tunnels_opened == 2u);

    // The same credentials in the URL's userinfo do as well.
    auto in_url = emu.client_config();
    in_url.proxy.url = "http://joe:right-Pw-1618@127.0.0.1:" + std::to_string(proxy.port());
    client c2(ioc.get_executor(), in_url);
    BOOST_TEST(list(c2).has_value());
    BOOST_TEST(proxy.stats().tunnels_opened == 4u);
}

BOOST_FIXTURE_TEST_CASE(wrong_proxy_credentials_are_proxy_auth_required_and_never_shown, fixture) {
    emulator_proxy_options po;
    po.username = "joe";
    po.password = "right-Pw-1618";
    emulator_proxy proxy(po);
    const std::string canary = "canary-Pw-31415926";
    const std::string credential = detail::base64_encode("joe:" + canary);
    auto cfg = emu.client_config();
    cfg.proxy.url = proxy.url();
    cfg.proxy.username = "joe";
    cfg.proxy.password = canary;
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == transport_errc::proxy_auth_required);
    BOOST_TEST(r.diag().http_status == 407);
    BOOST_TEST(r.diag().detail.find("proxy requires authentication for CONNECT to " +
                                    oauth_target() + ": 407") != std::string::npos,
               r.diag().detail);
    std::string text = all_text(r.error(), r.diag());
    try {
        codef::test::run(ioc, c.request("/v1/account/connectedId-list", {}));
        BOOST_FAIL("the throwing form did not throw");
    } catch (const codef::error& e) {
        BOOST_TEST(e.code() == transport_errc::proxy_auth_required);
        text += std::string("|") + e.what();
    }
    BOOST_TEST(text.find(canary) == std::string::npos, text);
    BOOST_TEST(text.find(credential) == std::string::npos, text);
    // Not retried: one CONNECT per call, and nothing reached the emulator.
    BOOST_TEST(proxy.stats().connect_requests == 2u);
    BOOST_TEST(proxy.stats().tunnels_opened == 0u);
    BOOST_TEST(c.stats().retries == 0u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_refusing_proxy_is_proxy_refused_and_not_retried, fixture) {
    emulator_proxy_options po;
    po.refuse_status = 403;
    emulator_proxy proxy(po);
    auto cfg = emu.client_config();
    cfg.proxy.url = proxy.url();
    cfg.retry.max_attempts = 3;
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == transport_errc::proxy_refused);
    BOOST_TEST(r.diag().http_status == 403);
    BOOST_TEST(r.diag().detail.find("proxy refused CONNECT to " + oauth_target() + ": 403") !=
                   std::string::npos,
               r.diag().detail);
    // Three attempts were allowed; the refusal is permanent, so one CONNECT was made.
    BOOST_TEST(proxy.stats().connect_requests == 1u);
    BOOST_TEST(proxy.stats().tunnels_opened == 0u);
    BOOST_TEST(c.stats().retries == 0u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_test_proxy_tunnels_to_loopback_only, fixture) {
    emulator_proxy proxy;
    auto cfg = emu.client_config();
    // A documentation address (TEST-NET-1): the client reaches only the proxy, which refuses it.
    cfg.api_url = "https://192.0.2.1:443";
    cfg.oauth_url = "https://192.0.2.1:443/oauth/token";
    cfg.proxy.url = proxy.url();
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == transport_errc::proxy_refused);
    BOOST_TEST(r.diag().http_status == 403);
    BOOST_TEST(proxy.stats().connect_requests == 1u);
    BOOST_TEST(proxy.stats().tunnels_opened == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_unreachable_proxy_is_a_connect_failure_and_retried, fixture) {
    std::uint16_t port = 0;
    {
        emulator_proxy gone;
        port = gone.port();
    } // closed: connections to it are refused
    auto cfg = emu.client_config();
    cfg.proxy.url = "http://127.0.0.1:" + std::to_string(port);
    cfg.retry.max_attempts = 3;
    cfg.retry.initial_backoff = std::chrono::milliseconds(1);
    cfg.retry.max_backoff = std::chrono::milliseconds(2);
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::transport));
    BOOST_TEST(r.error() != transport_errc::proxy_refused);
    BOOST_TEST(r.diag().detail.find("connecting to proxy 127.0.0.1:" + std::to_string(port)) !=
                   std::string::npos,
               r.diag().detail);
    BOOST_TEST(c.stats().retries == 2u);
}

BOOST_FIXTURE_TEST_CASE(the_environment_proxy_is_used_when_asked, fixture) {
    emulator_proxy proxy;
    environment_guard env({{"HTTPS_PROXY", proxy.url()}});
    auto cfg = emu.client_config();
    client ignoring(ioc.get_executor(), cfg); // from_environment is off by default
    BOOST_TEST(list(ignoring).has_value());
    BOOST_TEST(proxy.stats().connect_requests == 0u);
    cfg.proxy.from_environment = true;
    client c(ioc.get_executor(), cfg);
    BOOST_TEST(list(c).has_value());
    BOOST_TEST(proxy.stats().tunnels_opened == 2u);
}

BOOST_FIXTURE_TEST_CASE(no_proxy_from_the_environment_sends_matching_hosts_direct, fixture) {
    emulator_proxy proxy;
    environment_guard env({{"https_proxy", proxy.url()}, {"NO_PROXY", "localhost, 127.0.0.1"}});
    auto cfg = emu.client_config();
    cfg.proxy.from_environment = true;
    client c(ioc.get_executor(), cfg);
    auto r = list(c);
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->ok());
    BOOST_TEST(proxy.stats().connect_requests == 0u);
    BOOST_TEST(emu.stats().token_requests == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_bad_environment_proxy_is_invalid_config_naming_the_variable, fixture) {
    environment_guard env(std::map<std::string, std::string>{
        {"HTTPS_PROXY", "socks5://joe:canary-Pw-27182@127.0.0.1:1080"}});
    auto cfg = emu.client_config();
    cfg.proxy.from_environment = true;
    auto v = validate(cfg);
    BOOST_TEST_REQUIRE(!v.has_value());
    BOOST_TEST(v.error() == client_errc::invalid_config);
    BOOST_TEST(v.diag().detail == "HTTPS_PROXY: only http:// proxies are supported");
    try {
        client c(ioc.get_executor(), cfg);
        BOOST_FAIL("the client was made");
    } catch (const codef::error& e) {
        BOOST_TEST(e.code() == client_errc::invalid_config);
        BOOST_TEST(std::string(e.what()).find("canary") == std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
