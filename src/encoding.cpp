// Percent-encoding through Boost.URL, base64 through OpenSSL.
#include "detail/encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <openssl/evp.h>

#include <algorithm>

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
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
} // namespace

// Every reply body passes through here. Boost.URL's validate-then-decode took two passes and
// 7% of a call's CPU in the throughput benchmark; this is one pass over runs of plain bytes. The
// unit tests hold it to Boost.URL's answers (form_decode_matches_boost_url).
std::optional<std::string> form_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p != end) {
        const char* run = p;
        while (p != end && *p != '%' && *p != '+')
            ++p;
        out.append(run, static_cast<std::size_t>(p - run));
        if (p == end) break;
        if (*p == '+') {
            out.push_back(' ');
            ++p;
            continue;
        }
        if (end - p < 3) return std::nullopt;
        const int hi = hex_value(p[1]), lo = hex_value(p[2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        p += 3;
    }
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
