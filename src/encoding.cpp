// Percent-encoding through Boost.URL, base64 through OpenSSL.
#include "detail/encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace codef::detail {

std::string percent_encode(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string form_encode(std::string_view s) {
    static constexpr boost::urls::grammar::lut_chars form_bare =
        boost::urls::unreserved_chars + boost::urls::grammar::lut_chars('*');
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    return boost::urls::encode(s, form_bare, opts);
}

namespace {
// -1 for a byte that is not a hex digit.
constexpr std::array<signed char, 256> hex_values = [] {
    std::array<signed char, 256> t{};
    for (auto& v : t)
        v = -1;
    for (int c = '0'; c <= '9'; ++c)
        t[static_cast<std::size_t>(c)] = static_cast<signed char>(c - '0');
    for (int c = 'A'; c <= 'F'; ++c)
        t[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'A' + 10);
    for (int c = 'a'; c <= 'f'; ++c)
        t[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'a' + 10);
    return t;
}();
} // namespace

// Every reply body passes through here. Boost.URL's validate-then-decode took two passes and
// 7% of a call's CPU in the throughput benchmark; this is one pass into a buffer sized up front.
// The unit tests hold it to Boost.URL's answers (form_decode_matches_boost_url).
std::optional<std::string> form_decode(std::string_view s) {
    std::string out(s.size(), '\0');
    char* o = out.data();
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = p + s.size();
    while (p != end) {
        const unsigned char c = *p;
        if (c == '%') {
            if (end - p < 3) return std::nullopt;
            const int hi = hex_values[p[1]], lo = hex_values[p[2]];
            if ((hi | lo) < 0) return std::nullopt;
            *o++ = static_cast<char>(hi * 16 + lo);
            p += 3;
        } else {
            *o++ = c == '+' ? ' ' : static_cast<char>(c);
            ++p;
        }
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    const auto is_b64 = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/';
    };
    std::size_t data_len = text.size();
    while (data_len > 0 && text[data_len - 1] == '=')
        --data_len;
    if (text.size() - data_len > 2) return std::nullopt;
    if (!std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(data_len), is_b64))
        return std::nullopt;
    if (data_len % 4 == 1) return std::nullopt;
    std::string padded(text.substr(0, data_len));
    const std::size_t pad = (4 - padded.size() % 4) % 4;
    padded.append(pad, '=');
    std::string out(padded.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(padded.data()),
                                  static_cast<int>(padded.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the bytes the padding stands for; drop them.
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string s = base64_encode(bytes);
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    std::replace(s.begin(), s.end(), '+', '-');
    std::replace(s.begin(), s.end(), '/', '_');
    return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    std::string s(text);
    for (char& c : s) {
        if (c == '+' || c == '/') return std::nullopt;
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    return base64_decode(s);
}

} // namespace codef::detail
