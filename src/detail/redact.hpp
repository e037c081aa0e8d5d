// Redaction: every secret the client knows is cut out of every text it hands back, whoever wrote
// that text. A server may echo the client secret, the Basic credential, a token or a password in
// its error message; the caller's logs must not receive them.
#pragma once

#include <codef/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
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

// Replaces every occurrence of secret in text.
inline void redact(std::string& text, std::string_view secret) {
    if (secret.size() < min_secret_length) return;
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + redacted.size()))
        text.replace(at, secret.size(), redacted);
}

// The client's secrets: fixed ones from the configuration and the newest tokens. Thread-safe.
class secret_book {
public:
    static constexpr std::size_t tokens_kept = 4;

    // What one call redacts: the book's secrets as they are now, and the call's own. Takes no
    // allocation; valid while the book and extra live.
    class snapshot {
    public:
        std::size_t shortest() const noexcept { return shortest_; }
        bool found_in(std::string_view text) const {
            if (text.size() < shortest_) return false;
            bool found = false;
            each([&](std::string_view s) { found = found || text.find(s) != text.npos; });
            return found;
        }
        void redact(std::string& text) const {
            if (text.size() < shortest_) return;
            each([&](std::string_view s) { detail::redact(text, s); });
        }
        void redact(diagnostics& d) const {
            redact(d.codef_code);
            redact(d.codef_message);
            redact(d.transaction_id);
            redact(d.detail);
        }

    private:
        friend class secret_book;
        template <class F>
        void each(F f) const {
            for (const auto& s : *fixed_)
                f(s);
            for (const auto& t : tokens_)
                if (t) f(*t);
            for (const auto e : extra_)
                if (e.size() >= min_secret_length) f(e);
        }
        const std::vector<std::string>* fixed_ = nullptr;
        std::array<std::shared_ptr<const std::string>, tokens_kept> tokens_{};
        std::span<const std::string_view> extra_;
        std::size_t shortest_ = SIZE_MAX;
    };

    // Set before the client serves calls; then only read.
    void add_fixed(std::string s) {
        if (s.size() < min_secret_length) return;
        note_length(s.size());
        fixed_.push_back(std::move(s));
    }
    // A token just issued; the last few are kept (a call may still hold an older one).
    void add_token(const std::string& t) {
        if (t.size() < min_secret_length) return;
        note_length(t.size());
        auto p = std::make_shared<const std::string>(t);
        std::lock_guard lock(mutex_);
        tokens_[next_++ % tokens_kept] = std::move(p);
    }

    snapshot take(std::span<const std::string_view> extra) const {
        snapshot s;
        s.fixed_ = &fixed_;
        s.extra_ = extra;
        s.shortest_ = shortest_.load(std::memory_order_relaxed);
        for (const auto e : extra)
            if (e.size() >= min_secret_length) s.shortest_ = std::min(s.shortest_, e.size());
        std::lock_guard lock(mutex_);
        s.tokens_ = tokens_;
        return s;
    }

    // Redacts the client's secrets and extra (a call's passwords) from each text.
    template <class... Texts>
    void scrub(std::span<const std::string_view> extra, Texts&... texts) const {
        const snapshot s = take(extra);
        (s.redact(texts), ...);
    }

private:
    void note_length(std::size_t n) {
        auto cur = shortest_.load(std::memory_order_relaxed);
        while (n < cur && !shortest_.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
        }
    }

    std::atomic<std::size_t> shortest_{SIZE_MAX};
    std::vector<std::string> fixed_;
    mutable std::mutex mutex_;
    std::array<std::shared_ptr<const std::string>, tokens_kept> tokens_{};
    std::size_t next_ = 0;
};

} // namespace codef::detail
