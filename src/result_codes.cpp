// The result category.
#include <codef/response.hpp>
#include <codef/result_codes.hpp>

#include <charconv>
#include <cstdio>
#include <ostream>
#include <string>

namespace codef {
namespace {

class result_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.result"; }
    std::string message(int ev) const override {
        switch (static_cast<result_code>(ev)) {
        case result_code::success:
            return "success";
        case result_code::missing_parameter:
            return "a required parameter is missing";
        case result_code::invalid_json:
            return "invalid JSON";
        case result_code::key_environment_mismatch:
        case result_code::environment_key_mismatch:
            return "the key and the environment do not match";
        case result_code::invalid_parameter:
            return "invalid parameter";
        case result_code::two_way_required:
            return "additional authentication needed";
        case result_code::two_way_incomplete:
            return "the two-way follow-up lacks is2Way or twoWayInfo";
        case result_code::two_way_in_plain_call:
            return "a plain call carries is2Way or twoWayInfo";
        case result_code::two_way_retries_exceeded:
            return "additional-authentication retry limit exceeded";
        case result_code::account_setup_failed:
            return "failed to set up the user's account";
        case result_code::invalid_token:
            return "OAuth token error";
        }
        if (ev < 0) return "not a CODEF result code";
        char buf[32];
        std::snprintf(buf, sizeof buf, "CODEF result CF-%05d", ev);
        return buf;
    }
};

} // namespace

const boost::system::error_category& result_category() noexcept {
    static const result_category_impl c;
    return c;
}

error_code result_error(std::string_view code) noexcept {
    int value = -1;
    // Five digits: from_chars alone would take "CF--0000" as 0, a success that is not "CF-00000".
    if (code.size() == 8 && code.starts_with("CF-") &&
        code.find_first_not_of("0123456789", 3) == std::string_view::npos) {
        int n = 0;
        auto [end, ec] = std::from_chars(code.data() + 3, code.data() + 8, n);
        if (ec == std::errc{} && end == code.data() + 8) value = n;
    }
    if (value == 0) return {};
    return {value, result_category()};
}

std::ostream& operator<<(std::ostream& os, result_code c) {
    return os << make_error_code(c).what();
}

error_code response::error() const noexcept {
    return result_error(code);
}

} // namespace codef
