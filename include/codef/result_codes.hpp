// CODEF's result codes: named constants for the codes protocol.md lists, and an error category
// so a code can be compared and printed like any error_code. The server's string is always kept
// as it came (response::code); unknown codes pass through.
#pragma once

#include <codef/error.hpp>

#include <iosfwd>
#include <string_view>

namespace codef {

namespace codes {
inline constexpr std::string_view success = "CF-00000";
inline constexpr std::string_view missing_parameter = "CF-00001";
inline constexpr std::string_view invalid_json = "CF-00002";
inline constexpr std::string_view key_environment_mismatch = "CF-00004";
inline constexpr std::string_view environment_key_mismatch = "CF-00005";
inline constexpr std::string_view invalid_parameter = "CF-00007";
inline constexpr std::string_view two_way_required = "CF-03002";
inline constexpr std::string_view two_way_incomplete =
    "CF-03003"; // client-side in the official libraries
inline constexpr std::string_view two_way_in_plain_call =
    "CF-03004"; // client-side in the official libraries
inline constexpr std::string_view two_way_retries_exceeded = "CF-12872";
inline constexpr std::string_view account_setup_failed = "CF-94002";
inline constexpr std::string_view invalid_token = "CF-99997";
} // namespace codes

// The value of a code CF-nnnnn is nnnnn.
enum class result_code {
    success = 0,
    missing_parameter = 1,
    invalid_json = 2,
    key_environment_mismatch = 4,
    environment_key_mismatch = 5,
    invalid_parameter = 7,
    two_way_required = 3002,
    two_way_incomplete = 3003,
    two_way_in_plain_call = 3004,
    two_way_retries_exceeded = 12872,
    account_setup_failed = 94002,
    invalid_token = 99997,
};

// "codef.result": messages for the known codes, "CODEF result CF-nnnnn" for the others.
const boost::system::error_category& result_category() noexcept;

inline error_code make_error_code(result_code c) noexcept {
    return {static_cast<int>(c), result_category()};
}

std::ostream& operator<<(std::ostream& os, result_code c);

// CF-nnnnn as an error_code of result_category (empty for CF-00000); a string that is not of
// that form gives the value -1.
error_code result_error(std::string_view code) noexcept;

} // namespace codef

namespace boost::system {
template <>
struct is_error_code_enum<codef::result_code> : std::true_type {};
} // namespace boost::system
