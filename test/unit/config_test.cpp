// Configuration checks: every refusal names the field at fault.
#include "detail/endpoint.hpp"
#include "support.hpp"

#include <codef/client.hpp>

#include <boost/asio/io_context.hpp>

using namespace codef;

namespace {
std::string refusal(const config& c) {
    auto r = validate(c);
    if (r) return "";
    BOOST_TEST(r.error() == client_errc::invalid_config);
    return r.diag().detail;
}
bool starts(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}
} // namespace

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(the_default_sandbox_config_is_valid) {
    BOOST_TEST(refusal(config{}) == "");
}

BOOST_AUTO_TEST_CASE(each_bad_field_is_named) {
    config c;
    c.env = environment::production;
    BOOST_TEST(starts(refusal(c), "client_id:"));
    c.client_id = "id";
    BOOST_TEST(starts(refusal(c), "client_secret:"));
    c.client_secret = "secret";
    BOOST_TEST(refusal(c) == "");

    auto with = [](auto change) {
        config x;
        change(x);
        return refusal(x);
    };
    BOOST_TEST(with([](config& x) { x.api_url = "http://127.0.0.1:1"; }) ==
               "api_url: must be https");
    BOOST_TEST(with([](config& x) { x.api_url = "not a url"; }) == "api_url: not an absolute URL");
    BOOST_TEST(with([](config& x) { x.oauth_url = "https://h/oauth/token?x=1"; }) ==
               "oauth_url: must not have a query or fragment");
    BOOST_TEST(with([](config& x) { x.api_url = "https://user:pw@h"; }) ==
               "api_url: must not hold user information");
    BOOST_TEST(with([](config& x) { x.call_timeout = std::chrono::milliseconds(0); }) ==
               "call_timeout: must be positive");
    BOOST_TEST(with([](config& x) { x.max_connections = 0; }) ==
               "max_connections: must be at least 1");
    BOOST_TEST(with([](config& x) { x.public_key = "xyz!"; }) == "public_key: not base64");
    BOOST_TEST(with([](config& x) { x.retry.max_attempts = 0; }) ==
               "retry.max_attempts: must be at least 1");
    BOOST_TEST(with([](config& x) {
                   x.client_id = "a:b";
                   x.client_secret = "s";
               }) == "client_id: must not contain ':'");
}

BOOST_AUTO_TEST_CASE(refused_at_construction_without_the_secret_in_the_message) {
    boost::asio::io_context ioc;
    config c;
    c.env = environment::development;
    c.client_secret = "very-secret-value";
    try {
        client cl(ioc.get_executor(), c);
        BOOST_FAIL("constructed");
    } catch (const codef::error& e) {
        BOOST_TEST(e.code() == client_errc::invalid_config);
        BOOST_TEST(std::string(e.what()).find("client_id") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("very-secret-value") == std::string::npos);
    }
    config bad_ca;
    bad_ca.ca_pem = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n";
    BOOST_CHECK_EXCEPTION(
        client(ioc.get_executor(), bad_ca), codef::error,
        [](const codef::error& e) { return e.diag().detail.starts_with("ca_pem"); });
    config bad_file;
    bad_file.ca_file = "/nonexistent/ca.pem";
    BOOST_CHECK_EXCEPTION(
        client(ioc.get_executor(), bad_file), codef::error,
        [](const codef::error& e) { return e.diag().detail.starts_with("ca_file"); });
}

BOOST_AUTO_TEST_CASE(endpoints_are_split_for_connections) {
    auto e = detail::parse_endpoint("https://api.codef.io", "api_url").value();
    BOOST_TEST(e.host == "api.codef.io");
    BOOST_TEST(e.port == "443");
    BOOST_TEST(e.path == "");
    BOOST_TEST(!e.host_is_ip);
    auto o = detail::parse_endpoint("https://127.0.0.1:8443/oauth/token/", "oauth_url").value();
    BOOST_TEST(o.host == "127.0.0.1");
    BOOST_TEST(o.port == "8443");
    BOOST_TEST(o.host_header == "127.0.0.1:8443");
    BOOST_TEST(o.path == "/oauth/token");
    BOOST_TEST(o.host_is_ip);
    auto v6 = detail::parse_endpoint("https://[::1]:9000/p", "api_url").value();
    BOOST_TEST(v6.host == "::1");
    BOOST_TEST(v6.host_header == "[::1]:9000");
    BOOST_TEST(std::string(api_url_of(environment::development)) == "https://development.codef.io");
}

BOOST_AUTO_TEST_SUITE_END()
