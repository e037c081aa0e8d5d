// One kept-alive TLS connection to an origin, and what it shares with its siblings: the TLS
// context (CA loaded once), the origin's resolved addresses and its TLS session for resumption.
#pragma once

#include "detail/endpoint.hpp"
#include "detail/pool_state.hpp"
#include "detail/proxy.hpp"

#include <codef/config.hpp>
#include <codef/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

typedef struct ssl_session_st SSL_SESSION;

namespace codef::detail {

// The client's one TLS context: peer and host-name verification always on, the system's CAs
// plus config::ca_file and config::ca_pem, sessions kept per origin for resumption.
result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const config& cfg);

// What connections to one origin share. Thread-safe. With a proxy, connections reach the origin
// through a CONNECT tunnel to it; TLS is still with the origin.
class origin {
public:
    explicit origin(endpoint ep, std::optional<proxy_endpoint> proxy = std::nullopt);
    ~origin();
    origin(const origin&) = delete;
    origin& operator=(const origin&) = delete;

    const endpoint& ep() const noexcept { return ep_; }
    const std::optional<proxy_endpoint>& proxy() const noexcept { return proxy_; }
    // What a connection dials, for messages: the origin's host[:port], or "proxy host:port".
    std::string dialed() const;

    // The addresses of the host (of the proxy, when there is one), resolved at most once a minute;
    // the lookup is bounded by deadline.
    boost::asio::awaitable<result<boost::asio::ip::tcp::resolver::results_type>>
    resolve(steady_clock::time_point deadline);

    // A copy of the newest TLS session the server gave us (the caller frees it), or null.
    SSL_SESSION* session() const;
    // Takes ownership of s.
    void store_session(SSL_SESSION* s);

private:
    endpoint ep_;
    std::optional<proxy_endpoint> proxy_;
    mutable std::mutex mutex_;
    std::optional<boost::asio::ip::tcp::resolver::results_type> resolved_;
    steady_clock::time_point resolved_until_{};
    SSL_SESSION* session_ = nullptr;
};

// What came of sending one request.
struct exchange_result {
    error_code ec;
    unsigned status = 0;
    std::string body;
    bool request_sent = false;  // some byte of the request was written
    bool reply_started = false; // some byte of the reply arrived
    bool reused = false;        // the connection had served a reply before this request
    std::optional<std::chrono::milliseconds> retry_after;
    std::string detail; // which step failed, when it was not the exchange itself
};

// The header lines of a POST to ep that do not change from one request to the next (Host,
// Accept, Content-Type, User-Agent), each ending in CRLF. Every value must be a valid field value
// (RFC 9110 §5.5): otherwise protocol_errc::bad_header.
result<std::string> fixed_post_headers(const endpoint& ep, std::string_view content_type);

// A whole POST: its request line, fixed_post_headers, Authorization, Content-Length and body. The
// target and authorization are checked like every header value.
result<std::string> make_post(const endpoint& ep, std::string_view target,
                              std::string_view authorization, std::string_view content_type,
                              std::string body);

class connection {
public:
    connection(boost::asio::any_io_executor io, std::shared_ptr<boost::asio::ssl::context> tls,
               std::shared_ptr<origin> o);
    ~connection();

    // TCP connect (TCP_NODELAY) and TLS handshake with SNI and verification, resuming the origin's
    // session when there is one. A failed verification says why in the failure's detail
    // (expired, not yet valid, host name mismatch, unknown issuer, ...).
    boost::asio::awaitable<result<std::monostate>> connect(steady_clock::time_point deadline);
    // Writes the request (the concatenation of parts, gathered in a buffer the connection keeps
    // for its whole life) in one write and reads the reply whole (up to max_reply bytes of
    // body), passing over interim 1xx replies.
    boost::asio::awaitable<exchange_result> exchange(std::span<const std::string_view> parts,
                                                     steady_clock::time_point deadline,
                                                     std::size_t max_reply);
    void close() noexcept;
    // For an idle connection about to be reused: true when the server has closed it (end of
    // stream) or sent something unasked (a TLS alert, stray bytes), so that it cannot carry a
    // request. Does not block; reads nothing.
    bool peer_gone() noexcept;

    const connection_state& state() const noexcept { return state_; }
    bool resumed() const noexcept { return resumed_; }
    // The TLS handshake completed and the connection has not been closed since.
    bool established() const noexcept { return established_; }

private:
    using stream_type = boost::asio::ssl::stream<boost::beast::tcp_stream>;
    boost::asio::any_io_executor io_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::shared_ptr<origin> origin_;
    std::optional<stream_type> stream_;
    boost::beast::flat_buffer buffer_; // the read buffer, for the connection's whole life
    std::string request_;              // the write buffer, likewise
    connection_state state_;
    bool resumed_ = false;
    bool established_ = false; // the TLS handshake completed
};

// Maps the errors of a failed step: anything at or past the deadline is transport_errc::timeout;
// a peer that hung up is transport_errc::connection_closed.
error_code normalize_error(error_code ec, steady_clock::time_point deadline);

} // namespace codef::detail
