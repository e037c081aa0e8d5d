// Configuration checks and endpoint parsing (Boost.URL).
#include <codef/config.hpp>

#include "detail/endpoint.hpp"
#include "detail/field_value.hpp"
#include "detail/proxy.hpp"

#include <codef/crypto.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <cstdlib>

namespace codef {

const char* api_url_of(environment env) noexcept {
    switch (env) {
    case environment::production:
        return "https://api.codef.io";
    case environment::development:
        return "https://development.codef.io";
    case environment::sandbox:
        return "https://sandbox.codef.io";
    }
    return "https://sandbox.codef.io";
}

namespace {
failure config_error(std::string detail) {
    return make_failure(client_errc::invalid_config, std::move(detail));
}
} // namespace

result<std::monostate> validate(const config& cfg) {
    if (cfg.env != environment::sandbox && cfg.env != environment::development &&
        cfg.env != environment::production)
        return config_error("env: not sandbox, development or production");
    if (auto e = detail::parse_endpoint(cfg.api_url.empty() ? api_url_of(cfg.env) : cfg.api_url,
                                        "api_url");
        !e)
        return e.get_failure();
    if (auto e = detail::parse_endpoint(cfg.oauth_url.empty() ? default_oauth_url : cfg.oauth_url,
                                        "oauth_url");
        !e)
        return e.get_failure();
    if (cfg.client_id.empty() != cfg.client_secret.empty())
        return config_error(cfg.client_id.empty() ? "client_id: empty while client_secret is set"
                                                  : "client_secret: empty while client_id is set");
    if (cfg.client_id.empty() && cfg.env != environment::sandbox)
        return config_error("client_id: required outside the sandbox");
    if (cfg.client_id.find(':') != std::string::npos)
        return config_error("client_id: must not contain ':'");
    // Both go into the Basic credential; a control character there is a mistake in any case.
    if (!detail::is_field_value(cfg.client_id))
        return config_error("client_id: must not hold control characters or surrounding spaces");
    if (!detail::is_field_value(cfg.client_secret))
        return config_error(
            "client_secret: must not hold control characters or surrounding spaces");
    if (!cfg.public_key.empty()) {
        if (auto k = public_key::parse(cfg.public_key); !k) return config_error(k.diag().detail);
    }
    using std::chrono::milliseconds;
    if (cfg.call_timeout <= milliseconds::zero())
        return config_error("call_timeout: must be positive");
    if (cfg.connect_timeout <= milliseconds::zero())
        return config_error("connect_timeout: must be positive");
    if (cfg.token_timeout <= milliseconds::zero())
        return config_error("token_timeout: must be positive");
    if (cfg.token_refresh_margin < std::chrono::seconds::zero())
        return config_error("token_refresh_margin: must not be negative");
    if (cfg.idle_timeout <= milliseconds::zero())
        return config_error("idle_timeout: must be positive");
    if (cfg.max_connections == 0) return config_error("max_connections: must be at least 1");
    if (cfg.max_reply_bytes < 1024) return config_error("max_reply_bytes: must be at least 1024");
    if (cfg.max_reply_memory < 4096) return config_error("max_reply_memory: must be at least 4096");
    if (cfg.retry.max_attempts == 0) return config_error("retry.max_attempts: must be at least 1");
    if (cfg.retry.initial_backoff <= milliseconds::zero())
        return config_error("retry.initial_backoff: must be positive");
    if (cfg.retry.max_backoff < cfg.retry.initial_backoff)
        return config_error("retry.max_backoff: must not be less than retry.initial_backoff");
    if (!(cfg.retry.budget_ratio >= 0.0))
        return config_error("retry.budget_ratio: must not be negative");
    // With from_environment, the environment's proxy is part of the config: checked here too.
    if (auto p = detail::make_proxy_plan(cfg.proxy, [](const char* n) { return std::getenv(n); });
        !p)
        return p.get_failure();
    return std::monostate{};
}

namespace detail {

result<url_authority> authority_of(const boost::urls::url_view& u, std::string_view default_port,
                                   std::string_view field) {
    const std::string f(field);
    url_authority a;
    switch (u.host_type()) {
    case boost::urls::host_type::name:
        a.host = u.host();
        break;
    case boost::urls::host_type::ipv4:
        a.host = u.host();
        a.host_is_ip = true;
        break;
    case boost::urls::host_type::ipv6:
        a.host = u.host_address();
        a.host_is_ip = true;
        break;
    default:
        return config_error(f + ": has no usable host");
    }
    if (a.host.empty()) return config_error(f + ": has no host");
    if (!u.has_port()) {
        a.port = std::string(default_port);
    } else {
        if (u.port().empty() || u.port_number() == 0) return config_error(f + ": bad port");
        a.port = std::to_string(u.port_number());
    }
    return a;
}

result<endpoint> parse_endpoint(std::string_view url, std::string_view field) {
    const std::string f(field);
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u) return config_error(f + ": not an absolute URL");
    if (u->scheme_id() != boost::urls::scheme::https) return config_error(f + ": must be https");
    if (u->has_userinfo()) return config_error(f + ": must not hold user information");
    if (u->has_query() || u->has_fragment())
        return config_error(f + ": must not have a query or fragment");
    auto a = authority_of(*u, "443", field);
    if (!a) return a.get_failure();
    endpoint e;
    e.host = std::move(a->host);
    e.port = std::move(a->port);
    e.host_is_ip = a->host_is_ip;
    e.host_header = std::string(u->encoded_host_and_port());
    e.path = std::string(u->encoded_path());
    while (!e.path.empty() && e.path.back() == '/')
        e.path.pop_back();
    return e;
}

} // namespace detail
} // namespace codef
