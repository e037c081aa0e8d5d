// TLS connections: connect, handshake, one request and its reply, with every step bounded by the
// call's deadline.
#include "detail/connection.hpp"

#include "detail/field_value.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <sys/socket.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace codef::detail {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// The SSL ex-data slot that points a connection's SSL object at its origin, so that the
// new-session callback knows where a session belongs.
int origin_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* o = static_cast<origin*>(SSL_get_ex_data(ssl, origin_index()));
    if (!o) return 0;
    o->store_session(session);
    return 1; // we keep the reference
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v) {
    while (!v.empty() && v.front() == ' ')
        v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ')
        v.remove_suffix(1);
    long long seconds = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc{} || p != v.data() + v.size() || seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<long long>(seconds, 86'400) * 1000);
}

} // namespace

result<std::shared_ptr<asio::ssl::context>> make_tls_context(const config& cfg) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    // The system's CAs, looked up by subject hash when a chain needs one: loading the whole
    // bundle file up front cost most of a cold start. SSL_CERT_FILE, when set, is loaded too.
    SSL_CTX_set_default_verify_dir(native);
    if (std::getenv(X509_get_default_cert_file_env())) SSL_CTX_set_default_verify_file(native);
    error_code ec;
    if (!cfg.ca_file.empty()) {
        ctx->load_verify_file(cfg.ca_file, ec);
        if (ec)
            return make_failure(client_errc::invalid_config,
                                "ca_file: cannot load a PEM certificate from it");
    }
    if (!cfg.ca_pem.empty()) {
        ctx->add_certificate_authority(asio::buffer(cfg.ca_pem), ec);
        if (ec) return make_failure(client_errc::invalid_config, "ca_pem: not a PEM certificate");
    }
    // OpenSSL's read and write buffers (about 17 KiB each) go back to the heap whenever they are
    // empty: thousands of connections waiting on a slow server would otherwise hold them all.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(native,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, &on_new_session);
    return ctx;
}

// ---------------------------------------------------------------------------------------------

origin::origin(endpoint ep, std::optional<proxy_endpoint> proxy)
    : ep_(std::move(ep))
    , proxy_(std::move(proxy)) {
    const std::string& host = proxy_ ? proxy_->host : ep_.host;
    const std::string& port_text = proxy_ ? proxy_->port : ep_.port;
    if (proxy_ ? proxy_->host_is_ip : ep_.host_is_ip) {
        error_code ec;
        const auto addr = asio::ip::make_address(host, ec);
        if (!ec) {
            const auto port = static_cast<unsigned short>(std::stoi(port_text));
            resolved_ =
                tcp::resolver::results_type::create(tcp::endpoint(addr, port), host, port_text);
            resolved_until_ = steady_clock::time_point::max();
        }
    }
}

std::string origin::dialed() const {
    return proxy_ ? "proxy " + proxy_->authority : ep_.host_header;
}

origin::~origin() {
    if (session_) SSL_SESSION_free(session_);
}

SSL_SESSION* origin::session() const {
    std::lock_guard lock(mutex_);
    // A copy for each connection: a TLS 1.3 client marks the session it resumed not resumable once
    // a new ticket arrives, and a shared one would then send every connection opened meanwhile to
    // a full handshake (a burst of a thousand resumed a quarter of its connections).
    return session_ ? SSL_SESSION_dup(session_) : nullptr;
}

void origin::store_session(SSL_SESSION* s) {
    std::lock_guard lock(mutex_);
    if (session_) SSL_SESSION_free(session_);
    session_ = s;
}

asio::awaitable<result<tcp::resolver::results_type>>
origin::resolve(steady_clock::time_point deadline) {
    {
        std::lock_guard lock(mutex_);
        if (resolved_ && steady_clock::now() < resolved_until_) co_return *resolved_;
    }
    auto ex = co_await asio::this_coro::executor;
    // getaddrinfo cannot be interrupted; a timer cancels our wait for it at the deadline.
    auto resolver = std::make_shared<tcp::resolver>(ex);
    auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
    timer->async_wait([resolver](error_code ec) {
        if (!ec) resolver->cancel();
    });
    const std::string& host = proxy_ ? proxy_->host : ep_.host;
    auto [ec, results] =
        co_await resolver->async_resolve(host, proxy_ ? proxy_->port : ep_.port, tuple_awaitable);
    timer->cancel();
    if (ec)
        co_return make_failure(normalize_error(ec, deadline),
                               "resolving " + std::string(proxy_ ? "proxy " : "") + host);
    std::lock_guard lock(mutex_);
    resolved_ = results;
    resolved_until_ = steady_clock::now() + std::chrono::minutes(1);
    co_return results;
}

// ---------------------------------------------------------------------------------------------

result<std::string> fixed_post_headers(const endpoint& ep, std::string_view content_type) {
    // A value with CR or LF would add headers, or a request, of its own.
    if (!is_field_value(ep.host_header) || !is_field_value(content_type))
        return make_failure(protocol_errc::bad_header, "Host or Content-Type: not a valid value");
    std::string h;
    h.append("Host: ").append(ep.host_header).append("\r\n");
    h.append("Accept: application/json\r\n");
    h.append("Content-Type: ").append(content_type).append("\r\n");
    h.append("User-Agent: codef-cpp/0.1\r\n");
    return h;
}

result<std::string> make_post(const endpoint& ep, std::string_view target,
                              std::string_view authorization, std::string_view content_type,
                              std::string body) {
    if (!is_field_value(authorization))
        return make_failure(protocol_errc::bad_header,
                            "Authorization: not a valid header field value");
    if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
            return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
        }))
        return make_failure(protocol_errc::bad_header, "the target: not a plain request target");
    auto fixed = fixed_post_headers(ep, content_type);
    if (!fixed) return fixed.get_failure();
    std::string r;
    r.append("POST ").append(target).append(" HTTP/1.1\r\n").append(*fixed);
    r.append("Authorization: ").append(authorization).append("\r\n");
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    r.append(body);
    return r;
}

error_code normalize_error(error_code ec, steady_clock::time_point deadline) {
    if (ec == beast::error::timeout || steady_clock::now() >= deadline)
        return transport_errc::timeout;
    if (ec == asio::error::eof || ec == http::error::end_of_stream ||
        ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated)
        return transport_errc::connection_closed;
    if (ec == http::error::body_limit || ec == http::error::header_limit ||
        ec == http::error::buffer_overflow)
        return protocol_errc::reply_too_large;
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
        return protocol_errc::bad_http;
    return ec;
}

// ---------------------------------------------------------------------------------------------

connection::connection(asio::any_io_executor io, std::shared_ptr<asio::ssl::context> tls,
                       std::shared_ptr<origin> o)
    : io_(std::move(io))
    , tls_(std::move(tls))
    , origin_(std::move(o)) {}

connection::~connection() {
    close();
}

void connection::close() noexcept {
    if (stream_) {
        // We close without a TLS close_notify round trip; marking an established connection as
        // shut down keeps OpenSSL from striking its session off as unresumable.
        if (established_)
            SSL_set_shutdown(stream_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        established_ = false;
        error_code ignored;
        beast::get_lowest_layer(*stream_).socket().close(ignored);
        stream_.reset();
    }
    buffer_.clear();
    state_.on_closed();
}

bool connection::peer_gone() noexcept {
    if (!stream_) return true;
    // Unread TLS records held by OpenSSL: nothing should be there between replies.
    if (SSL_pending(stream_->native_handle()) > 0) return true;
    const int fd = beast::get_lowest_layer(*stream_).socket().native_handle();
    char byte = 0;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return true; // 0: the server closed it; > 0: bytes nobody asked for
}

asio::awaitable<result<std::monostate>> connection::connect(steady_clock::time_point deadline) {
    close();
    state_.on_connect_started();
    resumed_ = false;
    auto addrs = co_await origin_->resolve(deadline);
    if (!addrs) {
        state_.on_error();
        co_return addrs.get_failure();
    }
    stream_.emplace(io_, *tls_);
    auto& tcp_layer = beast::get_lowest_layer(*stream_);
    tcp_layer.expires_at(deadline);
    auto [cec, ep] = co_await tcp_layer.async_connect(*addrs, tuple_awaitable);
    if (cec) {
        state_.on_error();
        co_return make_failure(normalize_error(cec, deadline),
                               "connecting to " + origin_->dialed());
    }
    error_code ignored;
    tcp_layer.socket().set_option(tcp::no_delay(true), ignored);
    // Through a proxy: the tunnel first, under the same expiry; TLS is then with the origin.
    if (origin_->proxy()) {
        if (auto t = co_await open_tunnel(tcp_layer, *origin_->proxy(), origin_->ep(), deadline);
            !t) {
            state_.on_error();
            co_return t.get_failure();
        }
    }

    SSL* ssl = stream_->native_handle();
    SSL_set_ex_data(ssl, origin_index(), origin_.get());
    const endpoint& e = origin_->ep();
    if (e.host_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), e.host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl, e.host.c_str());
        SSL_set1_host(ssl, e.host.c_str());
    }
    if (SSL_SESSION* s = origin_->session()) {
        SSL_set_session(ssl, s);
        SSL_SESSION_free(s);
    }
    auto [hec] = co_await stream_->async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
    if (hec) {
        state_.on_error();
        std::string detail = "TLS handshake with " + e.host_header;
        // "certificate verify failed" alone does not say what to fix: the verify result does.
        if (const long vr = SSL_get_verify_result(ssl); vr != X509_V_OK)
            detail += std::string(": ") + X509_verify_cert_error_string(vr);
        co_return make_failure(normalize_error(hec, deadline), std::move(detail));
    }
    resumed_ = SSL_session_reused(ssl) == 1;
    established_ = true;
    state_.on_connected();
    co_return std::monostate{};
}

asio::awaitable<exchange_result> connection::exchange(std::span<const std::string_view> parts,
                                                      steady_clock::time_point deadline,
                                                      std::size_t max_reply) {
    exchange_result out;
    if (!stream_ || !state_.is_open()) {
        out.ec = transport_errc::connection_closed;
        co_return out;
    }
    request_.clear();
    for (std::string_view p : parts)
        request_.append(p);
    state_.on_send_started();
    auto& tcp_layer = beast::get_lowest_layer(*stream_);
    tcp_layer.expires_at(deadline);
    auto [wec, written] =
        co_await asio::async_write(*stream_, asio::buffer(request_), tuple_awaitable);
    out.request_sent = written > 0;
    // An account change with certificate files can be megabytes: not kept for the next request.
    if (request_.capacity() > 64 * 1024) std::string().swap(request_);
    if (wec) {
        state_.on_error();
        out.ec = normalize_error(wec, deadline);
        co_return out;
    }

    // Interim replies (100 Continue, 103 Early Hints) come before the real one, under the same
    // deadline; a server that sends nothing else is bounded by the count.
    std::optional<http::response_parser<http::string_body>> parser;
    for (int interim = 0;; ++interim) {
        parser.emplace();
        parser->body_limit(max_reply);
        parser->header_limit(64 * 1024);
        auto [rec, read] = co_await http::async_read(*stream_, buffer_, *parser, tuple_awaitable);
        out.reply_started =
            out.reply_started || read > 0 || parser->got_some() || buffer_.size() > 0;
        if (out.reply_started) state_.on_reply_started();
        if (rec) {
            state_.on_error();
            out.ec = normalize_error(rec, deadline);
            co_return out;
        }
        const unsigned status = parser->get().result_int();
        if (status < 100 || status >= 200 || status == 101) break;
        if (interim == 8) {
            state_.on_error();
            out.ec = protocol_errc::bad_http;
            out.detail = "more than 8 interim (1xx) replies";
            co_return out;
        }
    }
    tcp_layer.expires_never();
    auto& res = parser->get();
    out.status = res.result_int();
    if (auto it = res.find(http::field::retry_after); it != res.end())
        out.retry_after = parse_retry_after(it->value());
    // Bytes after the reply would be read as the next reply: the connection cannot serve again.
    const bool keep_alive = res.keep_alive() && buffer_.size() == 0;
    out.body = std::move(res.body());
    state_.on_reply_done(keep_alive);
    co_return out;
}

} // namespace codef::detail
