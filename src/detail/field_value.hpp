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

// token = 1*tchar (RFC 9110 §5.6.2): what a header field's name must be.
constexpr bool is_token(std::string_view v) noexcept {
    if (v.empty()) return false;
    for (const char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos)
            return false;
    }
    return true;
}

} // namespace codef::detail
