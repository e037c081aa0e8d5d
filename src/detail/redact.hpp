// Redaction: every secret the client knows is cut out of every text it hands back, whoever wrote
// that text. A server may echo the client secret, the Basic credential, a token or a password in
// its error message; the caller's logs must not receive them.
#pragma once

#include <codef/error.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace codef::detail {

inline constexpr std::string_view redacted = "********";
// Shorter strings are not looked for: they would mask ordinary words and numbers, and no
// credential CODEF issues or accepts is that short.
inline constexpr std::size_t min_secret_length = 4;

// Replaces every occurrence of each secret in text.
inline void redact(std::string& text, std::span<const std::string_view> secrets) {
    for (const std::string_view s : secrets) {
        if (s.size() < min_secret_length || text.size() < s.size()) continue;
        for (std::size_t at = text.find(s); at != std::string::npos;
             at = text.find(s, at + redacted.size()))
            text.replace(at, s.size(), redacted);
    }
}

// The client's secrets: fixed ones from the configuration and the newest tokens. Thread-safe.
class secret_book {
public:
    void add_fixed(std::string s) {
        if (s.size() < min_secret_length) return;
        note_length(s.size());
        fixed_.push_back(std::move(s));
    }
    // A token just issued; the last few are kept (a call may still hold an older one).
    void add_token(const std::string& t) {
        if (t.size() < min_secret_length) return;
        note_length(t.size());
        std::lock_guard lock(mutex_);
        tokens_.push_back(t);
        if (tokens_.size() > 4) tokens_.pop_front();
    }

    void scrub(std::span<const std::string_view> extra, diagnostics& d) const {
        scrub(extra, d.codef_code, d.codef_message, d.transaction_id, d.detail);
    }
    // The length of the shortest secret looked for: a shorter text holds none.
    std::size_t shortest(std::span<const std::string_view> extra) const {
        std::size_t n = shortest_.load(std::memory_order_relaxed);
        for (const auto e : extra)
            if (e.size() >= min_secret_length) n = std::min(n, e.size());
        return n;
    }

    // Redacts the client's secrets and extra (a call's passwords) from each text.
    template <class... Texts>
    void scrub(std::span<const std::string_view> extra, Texts&... texts) const {
        // Most texts (a result message such as "성공") are shorter than any secret: done.
        const std::size_t n = shortest(extra);
        if (((texts.size() < n) && ...)) return;
        std::vector<std::string_view> all(fixed_.begin(), fixed_.end());
        all.insert(all.end(), extra.begin(), extra.end());
        std::lock_guard lock(mutex_);
        all.insert(all.end(), tokens_.begin(), tokens_.end());
        (redact(texts, all), ...);
    }

private:
    void note_length(std::size_t n) {
        auto cur = shortest_.load(std::memory_order_relaxed);
        while (n < cur && !shortest_.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
        }
    }

    std::atomic<std::size_t> shortest_{SIZE_MAX};
    std::vector<std::string> fixed_; // set before the client serves calls, then only read
    mutable std::mutex mutex_;
    std::deque<std::string> tokens_;
};

} // namespace codef::detail
