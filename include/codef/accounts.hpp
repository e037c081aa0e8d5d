/// @file
/// @brief Account management types: an end user's login at an organization (account), what
/// registering it came to (account_result), what a connectedId holds (account_list), connectedId
/// pages, and the types that keep passwords from being printed.
#pragma once

#include <codef/crypto.hpp>
#include <codef/error.hpp>
#include <codef/response.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace codef {

/// A secret string: never printed (operator<< writes "********"), wiped when destroyed. Read it
/// with reveal().
class secret {
public:
    secret() = default; ///< an empty secret
    /// Holds value.
    explicit secret(std::string value)
        : value_(std::move(value)) {}
    secret(const secret&) = default; ///< a copy, itself wiped when destroyed
    /// Wipes the value held, then copies the other's.
    secret& operator=(const secret&);
    /// Takes the other's value; the other is left empty.
    secret(secret&& other) noexcept;
    /// Wipes the value held, then takes the other's; the other is left empty.
    secret& operator=(secret&& other) noexcept;
    /// Wipes the value.
    ~secret();

    /// The value itself.
    const std::string& reveal() const noexcept { return value_; }
    /// Whether the value is empty.
    bool empty() const noexcept { return value_.empty(); }

private:
    std::string value_{};
};
/// Writes "********", never the secret.
std::ostream& operator<<(std::ostream& os, const secret&);

/// A password to send: plaintext, which the client RSA-encrypts with config::public_key before it
/// leaves the process, or a ciphertext made elsewhere, passed through as it is.
class password {
public:
    password() = default; ///< no password (empty)
    /// A plaintext password, which the client RSA-encrypts with config::public_key before sending.
    static password plaintext(std::string value) {
        return password(secret(std::move(value)), false);
    }
    /// A ciphertext made elsewhere (base64), passed through as it is.
    static password encrypted(std::string base64_ciphertext) {
        return password(secret(std::move(base64_ciphertext)), true);
    }
    /// Whether there is no password.
    bool empty() const noexcept { return value_.empty(); }
    /// Whether it is a ciphertext (made by encrypted()) rather than plaintext.
    bool is_encrypted() const noexcept { return encrypted_; }
    /// The plaintext or the ciphertext.
    const secret& value() const noexcept { return value_; }

private:
    password(secret v, bool encrypted)
        : value_(std::move(v))
        , encrypted_(encrypted) {}
    secret value_;
    bool encrypted_ = false;
};
/// Writes "(none)", "(encrypted) ********" or "********", never the password.
std::ostream& operator<<(std::ostream& os, const password&);

/// The values of account_key::business_type.
namespace business_type {
inline constexpr const char* bank = "BK";      ///< banks
inline constexpr const char* card = "CD";      ///< card companies
inline constexpr const char* stock = "ST";     ///< securities
inline constexpr const char* insurance = "IS"; ///< insurance
} // namespace business_type
/// The values of account_key::client_type.
namespace client_type {
inline constexpr const char* person = "P";   ///< a person
inline constexpr const char* business = "B"; ///< a business
} // namespace client_type
/// The values of account_key::login_type.
namespace login_type {
/// A certificate: account::der_file and account::key_file, or account::cert_type "pfx" and
/// account::cert_file.
inline constexpr const char* certificate = "0";
inline constexpr const char* id_password = "1"; ///< an id and a password: account::id
} // namespace login_type

/// The five keys that name a registration within a connectedId.
struct account_key {
    std::string country_code = "KR"; ///< countryCode
    std::string business_type{};     ///< businessType: BK bank, CD card, ... (business_type)
    std::string client_type = "P";   ///< clientType: P person, B business (client_type)
    std::string organization{};      ///< 4 digits, e.g. "0004"
    std::string login_type = "1";    ///< loginType: 0 certificate, 1 id and password (login_type)
};

/// An end user's login at an organization.
struct account : account_key {
    std::string id{};           ///< the login id, for login_type "1"
    codef::password password{}; ///< the password of the id or of the certificate; required
    std::string der_file{};     ///< login_type "0": the certificate, signCert.der (base64)
    std::string key_file{};     ///< login_type "0": its private key, signPri.key (base64)
    /// login_type "0" with a PKCS#12 file: "pfx" (then cert_file, not der_file and key_file).
    std::string cert_type{};
    std::string cert_file{};     ///< login_type "0", cert_type "pfx": the .pfx/.p12 file (base64)
    std::string birthday{};      ///< YYMMDD, when the organization asks for it
    boost::json::object extra{}; ///< any other parameter, sent as it is
};

/// A file's bytes in standard base64, as CODEF wants certificate files (account::der_file,
/// account::key_file, account::cert_file); the official libraries' encodeToFileString.
/// @return The base64 text, or client_errc::invalid_argument naming the path and why (missing,
///         unreadable, not a regular file, larger than max_bytes). A certificate file is a few
///         kilobytes: the default bound is 1 MiB.
result<std::string> file_to_base64(const std::string& path, std::size_t max_bytes = 1 << 20);

/// One account's outcome in a create, add, update or delete.
struct account_outcome : account_key {
    std::string code{};          ///< CF-00000 for success, the server's code otherwise
    std::string message{};       ///< the server's message
    std::string extra_message{}; ///< the server's extra message
};

/// What a create, add, update or delete came to.
struct account_result {
    std::vector<account_outcome> success_list{}; ///< the accounts it was carried out for
    std::vector<account_outcome> error_list{};   ///< each with its own code and message
    std::string connected_id{}; ///< new on create; empty when nothing was registered
    response reply{};           ///< the whole reply: result code, message, raw data
};

/// What a connectedId holds (client::list_accounts).
struct account_list {
    std::vector<account_key> accounts{}; ///< the registrations (data.accountList)
    std::string connected_id{};          ///< data.connectedId
    response reply{};                    ///< the whole reply: result code, message, raw data
};

/// One page of the connectedIds a client's credentials hold (client::connected_ids_page).
struct connected_id_page {
    std::vector<std::string> ids{}; ///< data.connectedIdList
    std::int64_t page_no = 0;       ///< data.pageNo: the page the server sent (else the page asked)
    bool has_next = false;          ///< data.hasNext: there are more pages
    std::int64_t next_page_no = 0;  ///< data.nextPageNo: the page to ask for next
    response reply{};               ///< the whole reply: result code, message, raw data
};

namespace detail {
// Parameter building and reply parsing, without I/O (unit-tested). A plaintext password needs
// key (null: refused with client_errc::missing_public_key, naming the field).
result<std::string> password_param(const public_key* key, const password& p,
                                   std::string_view field);
result<boost::json::object> account_params(const std::vector<account>& accounts,
                                           const public_key* key);
boost::json::object account_key_params(const std::vector<account_key>& keys);
account_result parse_account_result(response r);
account_list parse_account_list(response r);
connected_id_page parse_connected_id_page(response r, std::int64_t asked);
} // namespace detail

} // namespace codef
