/// @file
/// @brief CODEF's result codes: named constants for the codes CODEF documents and sends, and an
/// error category so a code can be compared and printed like any error_code. The server's string is
/// always kept as it came (response::code); unknown codes pass through.
#pragma once

#include <codef/error.hpp>

#include <iosfwd>
#include <string_view>

namespace codef {

/// The result codes, as the strings the server sends (compare with response::code).
namespace codes {
/// CF-00000: success.
inline constexpr std::string_view success = "CF-00000";
/// CF-00001: a required parameter is missing.
inline constexpr std::string_view missing_parameter = "CF-00001";
/// CF-00002: invalid JSON.
inline constexpr std::string_view invalid_json = "CF-00002";
/// CF-00004: the key and the environment do not match.
inline constexpr std::string_view key_environment_mismatch = "CF-00004";
/// CF-00005: the key and the environment do not match.
inline constexpr std::string_view environment_key_mismatch = "CF-00005";
/// CF-00007: invalid parameter.
inline constexpr std::string_view invalid_parameter = "CF-00007";
/// CF-03002: additional (two-way) authentication needed.
inline constexpr std::string_view two_way_required = "CF-03002";
/// CF-03003: the two-way follow-up lacks is2Way or twoWayInfo.
inline constexpr std::string_view two_way_incomplete =
    "CF-03003"; ///< client-side in the official libraries
/// CF-03004: a plain call carries is2Way or twoWayInfo.
inline constexpr std::string_view two_way_in_plain_call =
    "CF-03004"; ///< client-side in the official libraries
/// CF-12872: additional-authentication retry limit exceeded.
inline constexpr std::string_view two_way_retries_exceeded = "CF-12872";
/// CF-94002: failed to set up the user's account.
inline constexpr std::string_view account_setup_failed = "CF-94002";
/// CF-99997: OAuth token error.
inline constexpr std::string_view invalid_token = "CF-99997";
} // namespace codes

/// The known result codes as an error_code enum of result_category(). The value of a code
/// CF-nnnnn is nnnnn.
enum class result_code {
    success = 0,                      ///< CF-00000: success
    missing_parameter = 1,            ///< CF-00001: a required parameter is missing
    invalid_json = 2,                 ///< CF-00002: invalid JSON
    key_environment_mismatch = 4,     ///< CF-00004: the key and the environment do not match
    environment_key_mismatch = 5,     ///< CF-00005: the key and the environment do not match
    invalid_parameter = 7,            ///< CF-00007: invalid parameter
    two_way_required = 3002,          ///< CF-03002: additional authentication needed
    two_way_incomplete = 3003,        ///< CF-03003: the follow-up lacks is2Way or twoWayInfo
    two_way_in_plain_call = 3004,     ///< CF-03004: a plain call carries is2Way or twoWayInfo
    two_way_retries_exceeded = 12872, ///< CF-12872: additional-authentication retries exceeded
    account_setup_failed = 94002,     ///< CF-94002: failed to set up the user's account
    invalid_token = 99997,            ///< CF-99997: OAuth token error
};

/// The category of CODEF result codes, "codef.result": messages for the known codes, "CODEF
/// result CF-nnnnn" for the others.
const boost::system::error_category& result_category() noexcept;

/// c as an error_code of result_category(); with it, a result_code converts to an error_code.
inline error_code make_error_code(result_code c) noexcept {
    return {static_cast<int>(c), result_category()};
}

/// Writes c's message, category and value, as error_code::what() gives them.
std::ostream& operator<<(std::ostream& os, result_code c);

/// CF-nnnnn as an error_code of result_category (empty for CF-00000); a string that is not of
/// that form gives the value -1.
error_code result_error(std::string_view code) noexcept;

} // namespace codef

namespace boost::system {
/// Makes codef::result_code an error_code enum: it converts to error_code implicitly.
template <>
struct is_error_code_enum<codef::result_code> : std::true_type {};
} // namespace boost::system
