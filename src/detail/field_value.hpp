// RFC 9110 §5.5: what may stand in an HTTP header field's value. Everything the client puts in a
// header (the token, the Basic credential, the host) passes this first, so that no value can end
// the header line and smuggle in a second header or a second request.
#pragma once

#include <string_view>

namespace codef::detail {

// field-value = [ field-vchar [ *( SP / HTAB / field-vchar ) field-vchar ] ], where field-vchar is
// VCHAR (0x21-0x7E) or obs-text (0x80-0xFF). No CR, LF, NUL or other control, no leading or
// trailing white space. The empty value is valid.
constexpr bool is_field_value(std::string_view v) noexcept {
    for (const char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    if (v.empty()) return true;
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    return !blank(v.front()) && !blank(v.back());
}

} // namespace codef::detail
