// Errors: one error_code category per source (client refusal, protocol, transport, HTTP status),
// a diagnostics object that keeps the server's words apart from ours, and result<T>.
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

using boost::system::error_code;

// Refused by the client before anything was sent.
enum class client_errc {
    invalid_config = 1,    // a config field is wrong; diagnostics::detail names it
    invalid_argument,      // a call's argument is wrong; diagnostics::detail names it
    missing_public_key,    // a password to encrypt and no config::public_key
    invalid_public_key,    // the public key is not base64 of an RSA SubjectPublicKeyInfo
    encryption_failed,     // OpenSSL could not encrypt
    two_way_incomplete,    // a two-way follow-up lacks is2Way or a twoWayInfo key (CF-03003)
    two_way_in_plain_call, // a plain call carries is2Way or twoWayInfo (CF-03004)
    shut_down,             // the client was destroyed while the call waited
};

// The reply arrived but could not be understood.
enum class protocol_errc {
    bad_percent_encoding = 1,
    bad_json,
    bad_envelope,    // JSON, but not {"result": {"code": ...}, "data": ...}
    bad_token_reply, // the token endpoint's reply has no usable access_token
    reply_too_large, // over config::max_reply_bytes (text) or config::max_reply_memory (parsed)
    bad_http,        // not a valid HTTP/1.1 reply
    // A value for a request header is not a valid field value (a CR or LF in the token, say):
    // nothing was sent.
    bad_header,
    // Paging made no progress: hasNext with a nextPageNo not after the page asked, a pageNo that
    // is not the page asked, or empty pages with hasNext again and again. detail names the page.
    paging_stalled,
};

// The network failed us; the system and TLS codes of Asio are transport errors too.
enum class transport_errc {
    timeout = 1,       // the call's deadline passed (pool wait, connect, TLS, write or read)
    connection_closed, // the server closed the connection before the reply was complete
};

const boost::system::error_category& client_category() noexcept;
const boost::system::error_category& protocol_category() noexcept;
const boost::system::error_category& transport_category() noexcept;
// HTTP statuses other than 200: the value is the status.
const boost::system::error_category& http_category() noexcept;

inline error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}
inline error_code make_error_code(protocol_errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}
inline error_code make_error_code(transport_errc e) noexcept {
    return {static_cast<int>(e), transport_category()};
}
inline error_code make_http_error(int status) noexcept {
    return {status, http_category()};
}

std::ostream& operator<<(std::ostream& os, client_errc e);
std::ostream& operator<<(std::ostream& os, protocol_errc e);
std::ostream& operator<<(std::ostream& os, transport_errc e);

// What kind of failure an error_code is, whatever its category.
enum class error_kind { none, client, protocol, http, tls, timeout, cancelled, transport };
error_kind kind_of(const error_code& ec) noexcept;
const char* to_string(error_kind k) noexcept;
std::ostream& operator<<(std::ostream& os, error_kind k);

// Words that came with a failure. Server text (codef_code, codef_message) is as sent, except that
// every secret the client knows (client secret, Basic credential, tokens, passwords in flight) is
// replaced by "********"; detail is the client's own explanation (the config field or argument at
// fault). Never holds a secret.
struct diagnostics {
    int http_status = 0;        // 0 when no HTTP reply arrived
    std::string codef_code;     // e.g. "CF-99997", as the server sent it
    std::string codef_message;  // the server's message, as sent
    std::string transaction_id; // the server's transactionId, when it sent one
    std::string detail;         // the client's explanation
    // A request that changes state (an account change, a two-way follow-up) was written, at
    // least in part, and no complete reply came back: the server may or may not have carried it
    // out. It is not sent again; reconcile (for accounts: list them) before trying once more.
    bool outcome_unknown = false;
};

// The exception thrown by the throwing forms.
class error : public boost::system::system_error {
public:
    error(error_code ec, diagnostics diag);
    const diagnostics& diag() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

struct failure {
    error_code code;
    diagnostics diag;
};

inline failure make_failure(error_code ec, std::string detail = {}) {
    failure f{ec, {}};
    f.diag.detail = std::move(detail);
    return f;
}

// A value or a failure. value() throws codef::error.
template <class T>
class result {
public:
    // Holds an empty failure; Asio needs it to pass exceptions through co_spawn.
    result()
        : v_(std::in_place_index<1>, failure{}) {}
    result(T v)
        : v_(std::in_place_index<0>, std::move(v)) {}
    result(failure f)
        : v_(std::in_place_index<1>, std::move(f)) {}
    result(error_code ec, diagnostics d = {})
        : v_(std::in_place_index<1>, failure{ec, std::move(d)}) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & {
        check();
        return std::get<0>(v_);
    }
    const T& value() const& {
        check();
        return std::get<0>(v_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    // The failure; an empty error_code when there is a value.
    error_code error() const noexcept { return has_value() ? error_code{} : std::get<1>(v_).code; }
    const diagnostics& diag() const noexcept {
        static const diagnostics none;
        return has_value() ? none : std::get<1>(v_).diag;
    }
    const failure& get_failure() const { return std::get<1>(v_); }

private:
    void check() const {
        if (!has_value()) throw codef::error(std::get<1>(v_).code, std::get<1>(v_).diag);
    }
    std::variant<T, failure> v_;
};

} // namespace codef

namespace boost::system {
template <>
struct is_error_code_enum<codef::client_errc> : std::true_type {};
template <>
struct is_error_code_enum<codef::protocol_errc> : std::true_type {};
template <>
struct is_error_code_enum<codef::transport_errc> : std::true_type {};
} // namespace boost::system
