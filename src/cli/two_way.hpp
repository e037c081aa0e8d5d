// Two-way authentication at the command line: what a challenge's extraInfo holds (a captcha as a
// data URL), what to ask, and the answer made of what was typed or given with --answer.
#pragma once

#include "detail/encoding.hpp"

#include <codef/two_way.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace codef::cli {

// Standard base64 (RFC 4648, with or without padding; spaces and line breaks ignored); nothing
// when it is not. Padding, when there is some, must complete the last group.
inline std::optional<std::string> base64_decoded(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (const char c : text)
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') compact += c;
    if (compact.ends_with('=') && compact.size() % 4 != 0) return std::nullopt;
    return codef::detail::base64_decode(compact);
}

// A data URL's media type and bytes ("data:img/jpeg;base64,..."); nothing when the value is not
// a base64 data URL.
struct data_url {
    std::string media_type;
    std::string bytes;
};

inline std::optional<data_url> data_url_of(std::string_view v) {
    constexpr std::string_view scheme = "data:";
    constexpr std::string_view marker = ";base64,";
    if (v.size() < scheme.size() || v.substr(0, scheme.size()) != scheme) return std::nullopt;
    const auto at = v.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    auto bytes = base64_decoded(v.substr(at + marker.size()));
    if (!bytes) return std::nullopt;
    return data_url{std::string(v.substr(scheme.size(), at - scheme.size())), std::move(*bytes)};
}

// The file name extension for a media type (CODEF says img/jpeg for its captchas).
inline std::string extension_of(std::string_view media_type) {
    if (media_type == "img/jpeg" || media_type == "image/jpeg" || media_type == "img/jpg" ||
        media_type == "image/jpg")
        return ".jpg";
    if (media_type == "image/png" || media_type == "img/png") return ".png";
    if (media_type == "image/gif" || media_type == "img/gif") return ".gif";
    return ".bin";
}

// Text from the server, fit for a terminal: control characters, C0 and C1 (U+0080 to U+009F,
// which some terminals take as an escape sequence), and bytes that are not well-formed UTF-8
// (a raw 0x9b is an 8-bit CSI) each become '?'. Korean text passes.
inline std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
            ++i;
            continue;
        }
        // The length of a well-formed sequence, and the range of its second byte (no overlong
        // form, no surrogate, nothing past U+10FFFF).
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        bool ok = n > 0 && i + n <= s.size() && byte(i + 1) >= lo && byte(i + 1) <= hi;
        for (std::size_t k = 2; ok && k < n; ++k)
            ok = byte(i + k) >= 0x80 && byte(i + k) <= 0xbf;
        if (ok && n == 2 && c == 0xc2 && byte(i + 1) <= 0x9f) ok = false; // C1
        if (!ok) {
            out += '?';
            ++i;
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

// What the terminal asks for an answer to a method.
inline std::string prompt_for(std::string_view method) {
    if (method == "secureNo") return "code (empty: a new captcha): ";
    if (method == "simpleAuth") return "confirm in the app, then press Enter: ";
    return "code: ";
}

// The answer a typed line makes: simpleAuth confirmed whatever was typed, a new captcha for an
// empty secureNo line; nothing for another empty line (ask again).
inline std::optional<two_way_answer> answer_typed(std::string_view method, std::string_view line) {
    if (method == "simpleAuth") return two_way_answer::confirmed();
    if (line.empty()) {
        if (method == "secureNo") return two_way_answer::new_captcha();
        return std::nullopt;
    }
    return two_way_answer::code(std::string(line));
}

// What --answer takes for a method, in a hint: 1 for simpleAuth, else the code.
inline std::string answer_placeholder(std::string_view method) {
    return method == "simpleAuth" ? "1" : "CODE";
}

// The answer --answer VALUE makes: simpleAuth confirmed whatever the value (1, by the help).
inline two_way_answer answer_given(std::string_view method, std::string value) {
    if (method == "simpleAuth") return two_way_answer::confirmed();
    return two_way_answer::code(std::move(value));
}

} // namespace codef::cli
