// Account management types: an end user's login at an organization (account), what registering it
// came to (account_result), what a connectedId holds (account_list), connectedId pages, and the
// types that keep passwords from being printed.
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

// A secret string: never printed (operator<< writes "********"), wiped when destroyed. Read it
// with reveal().
class secret {
public:
    secret() = default;
    explicit secret(std::string value)
        : value_(std::move(value)) {}
    secret(const secret&) = default;
    secret& operator=(const secret&);
    secret(secret&& other) noexcept;
    secret& operator=(secret&& other) noexcept;
    ~secret();

    const std::string& reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

private:
    std::string value_{};
};
std::ostream& operator<<(std::ostream& os, const secret&);

// A password to send: plaintext, which the client RSA-encrypts with config::public_key before it
// leaves the process, or a ciphertext made elsewhere, passed through as it is.
class password {
public:
    password() = default;
    static password plaintext(std::string value) {
        return password(secret(std::move(value)), false);
    }
    static password encrypted(std::string base64_ciphertext) {
        return password(secret(std::move(base64_ciphertext)), true);
    }
    bool empty() const noexcept { return value_.empty(); }
    bool is_encrypted() const noexcept { return encrypted_; }
    const secret& value() const noexcept { return value_; }

private:
    password(secret v, bool encrypted)
        : value_(std::move(v))
        , encrypted_(encrypted) {}
    secret value_;
    bool encrypted_ = false;
};
std::ostream& operator<<(std::ostream& os, const password&);

namespace business_type {
inline constexpr const char* bank = "BK";
inline constexpr const char* card = "CD";
inline constexpr const char* stock = "ST";
inline constexpr const char* insurance = "IS";
} // namespace business_type
namespace client_type {
inline constexpr const char* person = "P";
inline constexpr const char* business = "B";
} // namespace client_type
namespace login_type {
inline constexpr const char* certificate = "0";
inline constexpr const char* id_password = "1";
} // namespace login_type

// The five keys that name a registration within a connectedId.
struct account_key {
    std::string country_code = "KR";
    std::string business_type{}; // BK bank, CD card, ...
    std::string client_type = "P";
    std::string organization{}; // 4 digits, e.g. "0004"
    std::string login_type = "1";
};

// An end user's login at an organization.
struct account : account_key {
    std::string id{}; // login_type "1"
    codef::password password{};
    std::string der_file;        // login_type "0": the certificate (base64)
    std::string key_file;        // login_type "0": its private key (base64)
    std::string birthday{};      // YYMMDD, when the organization asks for it
    boost::json::object extra{}; // any other parameter, sent as it is
};

// One account's outcome in a create, add, update or delete.
struct account_outcome : account_key {
    std::string code{}; // CF-00000 for success, the server's code otherwise
    std::string message{};
    std::string extra_message{};
};

struct account_result {
    std::vector<account_outcome> success_list{};
    std::vector<account_outcome> error_list{}; // each with its own code and message
    std::string connected_id{};                // new on create; empty when nothing was registered
    response reply{};                          // the whole reply: result code, message, raw data
};

struct account_list {
    std::vector<account_key> accounts{};
    std::string connected_id{};
    response reply{};
};

struct connected_id_page {
    std::vector<std::string> ids{};
    std::int64_t page_no = 0;
    bool has_next = false;
    std::int64_t next_page_no = 0;
    response reply{};
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
