// HTTP proxies: the settings and environment read once, no_proxy, the CONNECT request and the
// reply head without I/O, and the tunnel's short exchange on the TCP stream.
#include "detail/proxy.hpp"

#include "detail/connection.hpp"
#include "detail/encoding.hpp"
#include "detail/field_value.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace codef::detail {
namespace {

failure config_error(std::string_view field, std::string_view what) {
    return make_failure(client_errc::invalid_config, std::string(field) + ": " + std::string(what));
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// An IP address written as text, or none.
std::optional<asio::ip::address> ip_of(std::string_view s) {
    error_code ec;
    auto a = asio::ip::make_address(std::string(s), ec);
    if (ec) return std::nullopt;
    return a;
}

} // namespace

result<proxy_endpoint> parse_proxy_url(std::string_view url, std::string_view field,
                                       std::string_view user, std::string_view password) {
    if (url.empty()) return config_error(field, "empty");
    if (has_control(url)) return config_error(field, "must not hold control characters");
    // curl reads a proxy without a scheme as http; "host:port" alone would parse as scheme:path.
    std::string text(url);
    if (text.find("://") == std::string::npos) text = "http://" + text;
    auto u = boost::urls::parse_absolute_uri(text);
    if (!u) return config_error(field, "not a proxy URL (http://host[:port])");
    if (u->scheme_id() != boost::urls::scheme::http)
        return config_error(field, "only http:// proxies are supported");
    if (u->has_query() || u->has_fragment() ||
        !(u->encoded_path().empty() || u->encoded_path() == "/"))
        return config_error(field, "must not have a path, query or fragment");
    auto a = authority_of(*u, "80", field);
    if (!a) return a.get_failure();
    proxy_endpoint p;
    p.host = std::move(a->host);
    p.port = std::move(a->port);
    p.host_is_ip = a->host_is_ip;
    p.authority = bracketed(p.host) + ":" + p.port;

    std::string name = user.empty() ? u->user() : std::string(user);
    std::string pass = password.empty() ? u->password() : std::string(password);
    // Where a credential came from, for the error; the value itself is never shown.
    const std::string user_field = user.empty() ? std::string(field) : "proxy.username";
    const std::string pass_field = password.empty() ? std::string(field) : "proxy.password";
    if (has_control(name)) return config_error(user_field, "must not hold control characters");
    if (name.find(':') != std::string::npos) return config_error(user_field, "must not hold ':'");
    if (has_control(pass)) return config_error(pass_field, "must not hold control characters");
    if (name.empty() && !pass.empty())
        return config_error(pass_field, "a password without a user name");
    if (!name.empty()) p.authorization = "Basic " + base64_encode(name + ":" + pass);
    return p;
}

result<proxy_plan> make_proxy_plan(const proxy_settings& s, const getenv_function& getenv) {
    proxy_plan plan;
    if (has_control(s.username))
        return config_error("proxy.username", "must not hold control characters");
    if (s.username.find(':') != std::string::npos)
        return config_error("proxy.username", "must not hold ':'");
    if (has_control(s.password))
        return config_error("proxy.password", "must not hold control characters");
    std::string url = s.url;
    plan.source = "proxy.url";
    if (url.empty() && s.from_environment && getenv) {
        for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
            const char* v = getenv(name);
            if (v && *v) {
                url = v;
                plan.source = name;
                break;
            }
        }
    }
    if (s.from_environment && getenv) {
        for (const char* name : {"no_proxy", "NO_PROXY"}) {
            const char* v = getenv(name);
            if (v && *v) {
                plan.no_proxy = v;
                break;
            }
        }
    }
    if (url.empty()) {
        if (!s.username.empty() || !s.password.empty())
            return config_error(s.username.empty() ? "proxy.password" : "proxy.username",
                                "set without a proxy (proxy.url)");
        return plan;
    }
    auto p = parse_proxy_url(url, plan.source, s.username, s.password);
    if (!p) return p.get_failure();
    if (!p->authorization.empty()) {
        // The password, user:password, and its base64 (which the Basic credential holds).
        constexpr std::string_view basic = "Basic ";
        const std::string b64 = p->authorization.substr(basic.size());
        std::string pair = *base64_decode(b64);
        const auto colon = pair.find(':');
        if (colon + 1 < pair.size()) plan.secrets.push_back(pair.substr(colon + 1));
        plan.secrets.push_back(std::move(pair));
        plan.secrets.push_back(b64);
    }
    plan.proxy = std::move(*p);
    return plan;
}

std::optional<proxy_endpoint> proxy_plan::for_endpoint(const endpoint& ep) const {
    if (!proxy || no_proxy_matches(no_proxy, ep.host)) return std::nullopt;
    return proxy;
}

bool no_proxy_matches(std::string_view list, std::string_view host_in) {
    std::string host = lower(host_in);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    while (!host.empty() && host.back() == '.')
        host.pop_back();
    if (host.empty()) return false;
    const auto host_ip = ip_of(host);

    std::size_t at = 0;
    while (at < list.size()) {
        const auto end = list.find_first_of(", \t", at);
        std::string_view entry =
            list.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? list.size() : end + 1;
        if (entry.empty()) continue;
        if (entry == "*") return true;
        // The entry's host: [v6]:port, v6, host:port or host.
        std::string e;
        if (entry.front() == '[') {
            const auto close = entry.find(']');
            if (close == std::string_view::npos) continue;
            e = lower(entry.substr(1, close - 1));
        } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
            e = lower(entry.substr(0, entry.find(':')));
        } else {
            e = lower(entry);
        }
        if (const auto ip = ip_of(e)) {
            if (host_ip && *host_ip == *ip) return true;
            continue;
        }
        if (host_ip) continue; // a name never matches an address
        while (!e.empty() && e.front() == '.')
            e.erase(0, 1);
        while (!e.empty() && e.back() == '.')
            e.pop_back();
        if (e.empty()) continue;
        if (host == e) return true;
        if (host.size() > e.size() && host.ends_with(e) && host[host.size() - e.size() - 1] == '.')
            return true;
    }
    return false;
}

std::string connect_authority(const endpoint& target) {
    return bracketed(target.host) + ":" + target.port;
}

result<std::string> make_connect_request(const endpoint& target, std::string_view authorization) {
    const std::string authority = connect_authority(target);
    if (!is_field_value(authority) || authority.find_first_of(" \t") != std::string::npos)
        return make_failure(protocol_errc::bad_header, "CONNECT: the target is not a host:port");
    if (!is_field_value(authorization))
        return make_failure(protocol_errc::bad_header,
                            "Proxy-Authorization: not a valid header field value");
    std::string r;
    r.append("CONNECT ").append(authority).append(" HTTP/1.1\r\n");
    r.append("Host: ").append(authority).append("\r\n");
    if (!authorization.empty())
        r.append("Proxy-Authorization: ").append(authorization).append("\r\n");
    r.append("\r\n");
    return r;
}

// ---------------------------------------------------------------------------------------------

connect_reply_reader::connect_reply_reader(std::size_t max_head)
    : max_head_(max_head) {
    parser_.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_head, UINT32_MAX)));
    parser_.skip(true); // no body, as for HEAD: a 2xx to CONNECT has none
    parser_.eager(false);
}

connect_reply_reader::state connect_reply_reader::feed(std::string_view bytes) {
    if (state_ != state::need_more) return state_;
    buffer_.append(bytes);
    const auto fail = [&](error_code ec, std::string detail) {
        state_ = state::failed;
        error_ = make_failure(ec, std::move(detail));
        return state_;
    };
    for (;;) {
        error_code ec;
        const std::size_t used = parser_.put(asio::buffer(buffer_), ec);
        buffer_.erase(0, used);
        if (ec == http::error::need_more) {
            if (buffer_.size() > max_head_) break;
            return state_;
        }
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) break;
        if (ec)
            return fail(protocol_errc::bad_http, "the proxy's reply to CONNECT is not HTTP/1.1");
        if (parser_.is_header_done()) {
            status_ = parser_.get().result_int();
            state_ = state::done;
            return state_;
        }
        if (used == 0) return state_;
    }
    return fail(protocol_errc::reply_too_large,
                "the head of the proxy's reply to CONNECT is over " + std::to_string(max_head_) +
                    " bytes");
}

result<std::monostate> connect_outcome(unsigned status, std::string_view target) {
    if (status >= 200 && status < 300) return std::monostate{};
    const bool auth = status == 407;
    failure f =
        make_failure(auth ? transport_errc::proxy_auth_required : transport_errc::proxy_refused,
                     std::string(auth ? "proxy requires authentication for CONNECT to "
                                      : "proxy refused CONNECT to ") +
                         std::string(target) + ": " + std::to_string(status));
    f.diag.http_status = static_cast<int>(status);
    return f;
}

asio::awaitable<result<std::monostate>>
open_tunnel(beast::tcp_stream& s, const proxy_endpoint& proxy, const endpoint& target,
            std::chrono::steady_clock::time_point deadline) {
    constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
    const std::string authority = connect_authority(target);
    auto request = make_connect_request(target, proxy.authorization);
    if (!request) co_return request.get_failure();
    auto [wec, written] = co_await asio::async_write(s, asio::buffer(*request), tuple_awaitable);
    if (wec)
        co_return make_failure(normalize_error(wec, deadline),
                               "CONNECT to " + authority + " through proxy " + proxy.authority);
    connect_reply_reader reader;
    std::array<char, 2048> chunk;
    while (reader.current() == connect_reply_reader::state::need_more) {
        auto [rec, n] = co_await s.async_read_some(asio::buffer(chunk), tuple_awaitable);
        if (rec)
            co_return make_failure(normalize_error(rec, deadline),
                                   "the reply of proxy " + proxy.authority + " to CONNECT to " +
                                       authority);
        reader.feed(std::string_view(chunk.data(), n));
    }
    if (reader.current() == connect_reply_reader::state::failed) {
        failure f = reader.error();
        f.diag.detail += " (proxy " + proxy.authority + ")";
        co_return f;
    }
    auto outcome = connect_outcome(reader.status(), authority);
    if (!outcome) co_return outcome;
    // The server speaks after our ClientHello: bytes now are not the server's, and TLS would
    // read past them.
    if (reader.extra() > 0)
        co_return make_failure(protocol_errc::bad_http,
                               "proxy " + proxy.authority + " sent bytes after its 2xx to CONNECT");
    co_return std::monostate{};
}

} // namespace codef::detail
