/// @file
/// @brief Errors: one error_code category per source (client refusal, protocol, transport, HTTP
/// status), a diagnostics object that keeps the server's words apart from ours, and result<T>.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace codef {

/// The error code of every failure: boost::system::error_code, with the categories below.
using boost::system::error_code;

/// Refused by the client before anything was sent (category "codef.client").
enum class client_errc {
    invalid_config = 1,    ///< a config field is wrong; diagnostics::detail names it
    invalid_argument,      ///< a call's argument is wrong; diagnostics::detail names it
    missing_public_key,    ///< a password to encrypt and no config::public_key
    invalid_public_key,    ///< the public key is not base64 of an RSA SubjectPublicKeyInfo
    encryption_failed,     ///< OpenSSL could not encrypt
    two_way_incomplete,    ///< a two-way follow-up lacks is2Way or a twoWayInfo key (CF-03003)
    two_way_in_plain_call, ///< a plain call carries is2Way or twoWayInfo (CF-03004)
    shut_down,             ///< the client was destroyed while the call waited
    draining,              ///< client::drain was called: the client takes no new call
};

/// The reply arrived but could not be understood (category "codef.protocol").
enum class protocol_errc {
    bad_percent_encoding = 1, ///< the reply body is not valid percent-encoding
    bad_json,                 ///< the reply body is not valid JSON
    bad_envelope,             ///< JSON, but not {"result": {"code": ...}, "data": ...}
    bad_token_reply,          ///< the token endpoint's reply has no usable access_token
    reply_too_large, ///< over config::max_reply_bytes (text) or config::max_reply_memory (parsed)
    bad_http,        ///< not a valid HTTP/1.1 reply
    /// A value for a request header is not a valid field value (a CR or LF in the token, say):
    /// nothing was sent.
    bad_header,
    /// Paging made no progress: hasNext with a nextPageNo not after the page asked, a pageNo that
    /// is not the page asked, or empty pages with hasNext again and again. detail names the page.
    paging_stalled,
};

/// The network failed us (category "codef.transport"); the system and TLS codes of Asio are
/// transport errors too.
enum class transport_errc {
    timeout = 1,       ///< the call's deadline passed (pool wait, connect, TLS, write or read)
    connection_closed, ///< the server closed the connection before the reply was complete
    /// The HTTP proxy (config::proxy) answered CONNECT with a status other than 2xx (and 407):
    /// diagnostics::http_status is it. Not retried.
    proxy_refused,
    /// The HTTP proxy answered CONNECT with 407: it wants credentials, or others
    /// (proxy_settings::username, password). diagnostics::http_status is 407. Not retried.
    proxy_auth_required,
};

/// The category of client_errc, "codef.client".
const boost::system::error_category& client_category() noexcept;
/// The category of protocol_errc, "codef.protocol".
const boost::system::error_category& protocol_category() noexcept;
/// The category of transport_errc, "codef.transport".
const boost::system::error_category& transport_category() noexcept;
/// The category of HTTP statuses other than 200, "codef.http": the value is the status.
const boost::system::error_category& http_category() noexcept;

/// e as an error_code of client_category(); with it, a client_errc converts to an error_code.
inline error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}
/// e as an error_code of protocol_category(); with it, a protocol_errc converts to an error_code.
inline error_code make_error_code(protocol_errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}
/// e as an error_code of transport_category(); with it, a transport_errc converts to an
/// error_code.
inline error_code make_error_code(transport_errc e) noexcept {
    return {static_cast<int>(e), transport_category()};
}
/// An HTTP status other than 200 as an error_code of http_category(): make_http_error(401).
inline error_code make_http_error(int status) noexcept {
    return {status, http_category()};
}

/// Writes e's message, category and value, as error_code::what() gives them.
std::ostream& operator<<(std::ostream& os, client_errc e);
/// Writes e's message, category and value, as error_code::what() gives them.
std::ostream& operator<<(std::ostream& os, protocol_errc e);
/// Writes e's message, category and value, as error_code::what() gives them.
std::ostream& operator<<(std::ostream& os, transport_errc e);

/// What kind of failure an error_code is, whatever its category (kind_of).
enum class error_kind {
    none,      ///< no failure: an empty error_code
    client,    ///< refused by the client before sending: client_category()
    protocol,  ///< a reply not understood: protocol_category(), or Beast's HTTP parser
    http,      ///< an HTTP status other than 200: http_category()
    tls,       ///< TLS: Asio's SSL categories (a certificate not trusted, a wrong name, ...)
    timeout,   ///< the call's deadline passed: transport_errc::timeout
    cancelled, ///< the operation was cancelled: boost::asio::error::operation_aborted
    transport  ///< any other code: the network (system errors, transport_errc::connection_closed)
};
/// What kind of failure ec is, whatever its category.
error_kind kind_of(const error_code& ec) noexcept;
/// The name of k, as spelled in error_kind: "none", "client", "protocol", ... "transport".
const char* to_string(error_kind k) noexcept;
/// Writes to_string(k).
std::ostream& operator<<(std::ostream& os, error_kind k);

/// Words that came with a failure. Server text (codef_code, codef_message) is as sent, except that
/// every secret the client knows (client secret, Basic credential, tokens, passwords in flight) is
/// replaced by "********"; detail is the client's own explanation (the config field or argument at
/// fault). Never holds a secret.
struct diagnostics {
    int http_status = 0;        ///< 0 when no HTTP reply arrived
    std::string codef_code;     ///< e.g. "CF-99997", as the server sent it
    std::string codef_message;  ///< the server's message, as sent
    std::string transaction_id; ///< the server's transactionId, when it sent one
    std::string detail;         ///< the client's explanation
    /// A request that changes state (an account change, a two-way follow-up) was written, at
    /// least in part, and no complete reply came back: the server may or may not have carried it
    /// out. It is not sent again; reconcile (for accounts: list them) before trying once more.
    bool outcome_unknown = false;
};

/// The exception thrown by the throwing forms.
class error : public boost::system::system_error {
public:
    /// The exception of ec, with its diagnostics. what() is "codef", then whichever of the detail,
    /// the HTTP status, the CODEF code and message and outcome_unknown are set, then ec's message,
    /// category and value.
    error(error_code ec, diagnostics diag);
    /// The words that came with the failure.
    const diagnostics& diag() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

/// A failure: its error_code and the words that came with it.
struct failure {
    error_code code;  ///< what failed
    diagnostics diag; ///< the words that came with it
};

/// The failure ec, with detail as its diagnostics::detail.
inline failure make_failure(error_code ec, std::string detail = {}) {
    failure f{ec, {}};
    f.diag.detail = std::move(detail);
    return f;
}

/// A value or a failure. value() throws codef::error.
/// @tparam T The type of the value.
template <class T>
class result {
public:
    /// Holds an empty failure; Asio needs it to pass exceptions through co_spawn.
    result()
        : v_(std::in_place_index<1>, failure{}) {}
    /// Holds the value v.
    result(T v)
        : v_(std::in_place_index<0>, std::move(v)) {}
    /// Holds the failure f.
    result(failure f)
        : v_(std::in_place_index<1>, std::move(f)) {}
    /// Holds the failure ec, with the diagnostics d.
    result(error_code ec, diagnostics d = {})
        : v_(std::in_place_index<1>, failure{ec, std::move(d)}) {}

    /// Whether it holds a value.
    bool has_value() const noexcept { return v_.index() == 0; }
    /// Whether it holds a value.
    explicit operator bool() const noexcept { return has_value(); }

    /// The value.
    /// @throws codef::error (the failure's code and diagnostics) when it holds a failure.
    T& value() & {
        check();
        return std::get<0>(v_);
    }
    /// The value.
    /// @throws codef::error (the failure's code and diagnostics) when it holds a failure.
    const T& value() const& {
        check();
        return std::get<0>(v_);
    }
    /// The value, moved out.
    /// @throws codef::error (the failure's code and diagnostics) when it holds a failure.
    T&& value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    /// value(): throws codef::error when it holds a failure.
    T& operator*() & { return value(); }
    /// value(): throws codef::error when it holds a failure.
    const T& operator*() const& { return value(); }
    /// &value(): throws codef::error when it holds a failure.
    T* operator->() { return &value(); }
    /// &value(): throws codef::error when it holds a failure.
    const T* operator->() const { return &value(); }

    /// The failure; an empty error_code when there is a value.
    error_code error() const noexcept { return has_value() ? error_code{} : std::get<1>(v_).code; }
    /// The failure's diagnostics; empty ones when there is a value.
    const diagnostics& diag() const noexcept {
        static const diagnostics none;
        return has_value() ? none : std::get<1>(v_).diag;
    }
    /// The failure whole. Only when it holds one: std::bad_variant_access otherwise.
    const failure& get_failure() const { return std::get<1>(v_); }

private:
    void check() const {
        if (!has_value()) throw codef::error(std::get<1>(v_).code, std::get<1>(v_).diag);
    }
    std::variant<T, failure> v_;
};

} // namespace codef

namespace boost::system {
/// Makes codef::client_errc an error_code enum: it converts to error_code implicitly.
template <>
struct is_error_code_enum<codef::client_errc> : std::true_type {};
/// Makes codef::protocol_errc an error_code enum: it converts to error_code implicitly.
template <>
struct is_error_code_enum<codef::protocol_errc> : std::true_type {};
/// Makes codef::transport_errc an error_code enum: it converts to error_code implicitly.
template <>
struct is_error_code_enum<codef::transport_errc> : std::true_type {};
} // namespace boost::system
