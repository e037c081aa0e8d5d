// HTTP proxies (config::proxy): which proxy a host goes through, the CONNECT request and the
// proxy's reply head, all without I/O; and open_tunnel, the thin shell that speaks them on a TCP
// stream before the TLS handshake.
#pragma once

#include "detail/endpoint.hpp"

#include <codef/config.hpp>
#include <codef/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace codef::detail {

// Where a proxy is and how to authenticate to it.
struct proxy_endpoint {
    std::string host;          // without brackets for IPv6
    std::string port;          // "80" when the URL has none
    bool host_is_ip = false;   // an IP address, not a name
    std::string authority;     // host:port, IPv6 in brackets: for messages
    std::string authorization; // "Basic <base64>", or empty: a secret
};

// Parses http://[user[:password]@]host[:port][/] or a bare host[:port] (read as http, as curl
// does). Any other scheme, a path, a query or a bad port is client_errc::invalid_config naming
// field; the URL itself never appears in the error (it may hold a password). The userinfo is
// percent-decoded; user and password, when not empty, replace its parts.
result<proxy_endpoint> parse_proxy_url(std::string_view url, std::string_view field,
                                       std::string_view user = {}, std::string_view password = {});

// std::getenv's shape, injected so that tests need not touch the process's environment.
using getenv_function = std::function<const char*(const char*)>;

// What the client's settings and environment say about proxies, decided once per client.
struct proxy_plan {
    std::optional<proxy_endpoint> proxy; // none: every host direct
    std::string no_proxy;                // the environment's no_proxy list (from_environment)
    std::string source;                  // the field or variable the proxy came from
    // The password, user:password and its base64: to be redacted from every text.
    std::vector<std::string> secrets;

    // The proxy for a connection to ep, or none when it goes direct (no proxy, or no_proxy
    // matches ep's host).
    std::optional<proxy_endpoint> for_endpoint(const endpoint& ep) const;
};

// url, else (from_environment) https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, the first set and
// not empty; no_proxy, else NO_PROXY, whenever from_environment. Errors name proxy.url,
// proxy.username, proxy.password or the variable.
result<proxy_plan> make_proxy_plan(const proxy_settings& s, const getenv_function& getenv);

// Whether a no_proxy list (entries separated by commas or white space) exempts host: "*" alone
// matches everything; an entry (a leading '.' dropped, a ":port" ignored) matches the host
// itself or any name under it (a label boundary: example.com matches www.example.com, not
// notexample.com); an IP address matches only the same address. Case-insensitive.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

// "host:port" as CONNECT and its Host header want it: IPv6 in brackets, the port always there.
std::string connect_authority(const endpoint& target);

// CONNECT host:port HTTP/1.1, Host, and Proxy-Authorization when authorization is not empty.
// protocol_errc::bad_header (naming no value) when a value is not a valid field value.
result<std::string> make_connect_request(const endpoint& target, std::string_view authorization);

// Reads the head of the proxy's reply to CONNECT from the bytes given as they come. The head may
// be at most max_head bytes; a body, whatever its headers say, is not read (RFC 9110 §9.3.6).
class connect_reply_reader {
public:
    enum class state { need_more, done, failed };
    explicit connect_reply_reader(std::size_t max_head = 16 * 1024);

    state feed(std::string_view bytes);
    state current() const noexcept { return state_; }
    unsigned status() const noexcept { return status_; }          // done
    std::size_t extra() const noexcept { return buffer_.size(); } // done: bytes after the head
    const failure& error() const noexcept { return error_; }      // failed

private:
    boost::beast::http::response_parser<boost::beast::http::empty_body> parser_;
    std::string buffer_; // received and not yet taken by the parser
    std::size_t max_head_;
    state state_ = state::need_more;
    unsigned status_ = 0;
    failure error_;
};

// The meaning of the proxy's status for a tunnel to target: 2xx is a tunnel; 407 is
// transport_errc::proxy_auth_required, anything else transport_errc::proxy_refused, with the
// status in diagnostics::http_status.
result<std::monostate> connect_outcome(unsigned status, std::string_view target);

// Writes CONNECT on s (connected to the proxy) and reads the reply head; on 2xx, s is a tunnel to
// target. Every step ends by the expiry already set on s; deadline tells a timeout from others.
// Bytes after the head (before we sent anything through the tunnel) are protocol_errc::bad_http.
boost::asio::awaitable<result<std::monostate>>
open_tunnel(boost::beast::tcp_stream& s, const proxy_endpoint& proxy, const endpoint& target,
            std::chrono::steady_clock::time_point deadline);

} // namespace codef::detail
