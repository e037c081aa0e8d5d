// The error categories and the text of codef::error.
#include <codef/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <ostream>
#include <string>

namespace codef {
namespace {

class client_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.client"; }
    std::string message(int ev) const override {
        switch (static_cast<client_errc>(ev)) {
        case client_errc::invalid_config:
            return "invalid configuration";
        case client_errc::invalid_argument:
            return "invalid argument";
        case client_errc::missing_public_key:
            return "a password needs config.public_key to be encrypted";
        case client_errc::invalid_public_key:
            return "the public key is not a base64 RSA SubjectPublicKeyInfo";
        case client_errc::encryption_failed:
            return "RSA encryption failed";
        case client_errc::two_way_incomplete:
            return "a two-way follow-up needs is2Way and twoWayInfo{jobIndex, threadIndex, jti, "
                   "twoWayTimestamp} (CF-03003)";
        case client_errc::two_way_in_plain_call:
            return "a plain call must not carry is2Way or twoWayInfo (CF-03004)";
        case client_errc::shut_down:
            return "the client was shut down";
        case client_errc::draining:
            return "the client is draining and takes no new call";
        }
        return "unknown client error";
    }
};

class protocol_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<protocol_errc>(ev)) {
        case protocol_errc::bad_percent_encoding:
            return "the reply body is not valid percent-encoding";
        case protocol_errc::bad_json:
            return "the reply body is not valid JSON";
        case protocol_errc::bad_envelope:
            return "the reply has no result.code";
        case protocol_errc::bad_token_reply:
            return "the token reply has no access_token";
        case protocol_errc::reply_too_large:
            return "the reply is larger than config.max_reply_bytes or config.max_reply_memory";
        case protocol_errc::bad_http:
            return "the reply is not valid HTTP/1.1";
        case protocol_errc::bad_header:
            return "a request header value is not a valid HTTP field value; nothing was sent";
        case protocol_errc::paging_stalled:
            return "the server's pages make no progress (hasNext, but no page after this one)";
        }
        return "unknown protocol error";
    }
};

class transport_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.transport"; }
    std::string message(int ev) const override {
        switch (static_cast<transport_errc>(ev)) {
        case transport_errc::timeout:
            return "the call's deadline passed";
        case transport_errc::connection_closed:
            return "the server closed the connection before the reply was complete";
        case transport_errc::proxy_refused:
            return "the HTTP proxy refused the tunnel (CONNECT)";
        case transport_errc::proxy_auth_required:
            return "the HTTP proxy requires authentication (407) for the tunnel (CONNECT)";
        }
        return "unknown transport error";
    }
};

class http_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.http"; }
    std::string message(int ev) const override { return "HTTP status " + std::to_string(ev); }
};

} // namespace

const boost::system::error_category& client_category() noexcept {
    static const client_category_impl c;
    return c;
}
const boost::system::error_category& protocol_category() noexcept {
    static const protocol_category_impl c;
    return c;
}
const boost::system::error_category& transport_category() noexcept {
    static const transport_category_impl c;
    return c;
}
const boost::system::error_category& http_category() noexcept {
    static const http_category_impl c;
    return c;
}

error_kind kind_of(const error_code& ec) noexcept {
    if (!ec) return error_kind::none;
    const auto& cat = ec.category();
    if (cat == client_category()) return error_kind::client;
    if (cat == protocol_category()) return error_kind::protocol;
    if (cat == http_category()) return error_kind::http;
    if (cat == transport_category())
        return ec == transport_errc::timeout ? error_kind::timeout : error_kind::transport;
    if (cat == boost::asio::error::get_ssl_category() ||
        cat == boost::asio::ssl::error::get_stream_category())
        return error_kind::tls;
    if (ec == boost::asio::error::operation_aborted) return error_kind::cancelled;
    if (cat ==
        boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category())
        return error_kind::protocol;
    return error_kind::transport;
}

const char* to_string(error_kind k) noexcept {
    switch (k) {
    case error_kind::none:
        return "none";
    case error_kind::client:
        return "client";
    case error_kind::protocol:
        return "protocol";
    case error_kind::http:
        return "http";
    case error_kind::tls:
        return "tls";
    case error_kind::timeout:
        return "timeout";
    case error_kind::cancelled:
        return "cancelled";
    case error_kind::transport:
        return "transport";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& os, client_errc e) {
    return os << make_error_code(e).what();
}
std::ostream& operator<<(std::ostream& os, protocol_errc e) {
    return os << make_error_code(e).what();
}
std::ostream& operator<<(std::ostream& os, transport_errc e) {
    return os << make_error_code(e).what();
}
std::ostream& operator<<(std::ostream& os, error_kind k) {
    return os << to_string(k);
}

namespace {
// The text before ": <error message>" in what().
std::string describe(const diagnostics& d) {
    std::string s = "codef";
    if (!d.detail.empty()) s += ": " + d.detail;
    if (d.http_status != 0) s += " [HTTP " + std::to_string(d.http_status) + "]";
    if (!d.codef_code.empty()) {
        s += " [" + d.codef_code;
        if (!d.codef_message.empty()) s += " " + d.codef_message;
        s += "]";
    }
    if (d.outcome_unknown) s += " [outcome unknown: the request was sent and no reply came]";
    return s;
}
} // namespace

// The code without the source location Asio attaches: what() is for people, not debuggers.
error::error(error_code ec, diagnostics diag)
    : boost::system::system_error(error_code(ec.value(), ec.category()), describe(diag))
    , diag_(std::move(diag)) {}

} // namespace codef
