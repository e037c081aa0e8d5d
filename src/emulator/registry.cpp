// The connectedId registry.
#include "emulator/registry.hpp"

#include "detail/encoding.hpp"
#include "emulator/tls_material.hpp"

#include <array>
#include <cstring>

namespace codef::emu {
namespace {

// splitmix64's finaliser: a bijection on 64-bit integers, so an index hides in an id and comes
// back out.
constexpr std::uint64_t m1 = 0xbf58476d1ce4e5b9ull;
constexpr std::uint64_t m2 = 0x94d049bb133111ebull;

constexpr std::uint64_t inverse(std::uint64_t a) {
    std::uint64_t x = a; // Newton's iteration for the inverse modulo 2^64 (a is odd)
    for (int i = 0; i < 6; ++i)
        x *= 2 - a * x;
    return x;
}

constexpr std::uint64_t unxorshift(std::uint64_t y, int s) {
    std::uint64_t x = y;
    for (int i = 0; i < 64 / s + 1; ++i)
        x = y ^ (x >> s);
    return x;
}

constexpr std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= m1;
    x ^= x >> 27;
    x *= m2;
    x ^= x >> 31;
    return x;
}

constexpr std::uint64_t unmix(std::uint64_t x) {
    x = unxorshift(x, 31);
    x *= inverse(m2);
    x = unxorshift(x, 27);
    x *= inverse(m1);
    x = unxorshift(x, 30);
    return x;
}

static_assert(unmix(mix(12345)) == 12345);
static_assert(unmix(mix(0xfedcba9876543210ull)) == 0xfedcba9876543210ull);

constexpr std::uint64_t tag_key = 0x5eed5eed5eed5eedull;
constexpr std::uint64_t index_offset = 0x9e3779b97f4a7c15ull; // so that index 0 looks random too

struct org {
    const char* business_type;
    const char* code;
};
constexpr std::array<org, 6> banks{{{"BK", "0004"},
                                    {"BK", "0088"},
                                    {"BK", "0020"},
                                    {"BK", "0081"},
                                    {"BK", "0011"},
                                    {"BK", "0003"}}};
constexpr std::array<org, 5> cards{
    {{"CD", "0301"}, {"CD", "0306"}, {"CD", "0309"}, {"CD", "0303"}, {"CD", "0313"}}};

} // namespace

registry::registry(std::size_t seeded)
    : seeded_(seeded) {}

std::string registry::seeded_id(std::uint64_t i) const {
    const std::uint64_t hidden = mix(i + index_offset);
    std::array<std::uint64_t, 2> words{hidden, mix(hidden ^ tag_key)};
    return detail::base64url_encode(
        std::string_view(reinterpret_cast<const char*>(words.data()), 16));
}

std::optional<std::uint64_t> registry::seed_index(std::string_view connected_id) const {
    if (connected_id.size() != 22) return std::nullopt;
    const auto raw = detail::base64url_decode(connected_id);
    if (!raw || raw->size() != 16) return std::nullopt;
    std::array<std::uint64_t, 2> words{};
    std::memcpy(words.data(), raw->data(), 16);
    if (words[1] != mix(words[0] ^ tag_key)) return std::nullopt;
    const std::uint64_t i = unmix(words[0]) - index_offset;
    if (i >= seeded_) return std::nullopt;
    return i;
}

std::vector<registration> registry::seeded_accounts(std::uint64_t i) const {
    static const std::string seed_password = sha256_hex("seed-password");
    const std::string client_type = i % 5 == 0 ? "B" : "P";
    const std::string user = "user" + std::to_string(i);
    auto make = [&](const org& o) {
        return registration{"KR", o.business_type, client_type, o.code, "1", user,
                            "",   seed_password};
    };
    std::vector<registration> out;
    out.push_back(make(banks[i % banks.size()]));
    const org& second = banks[(i + 1 + (i / banks.size()) % (banks.size() - 1)) % banks.size()];
    if (i % 3 != 0) out.push_back(make(second));
    out.push_back(make(cards[i % cards.size()]));
    return out;
}

std::string registry::new_random_id() const {
    // 22 characters like CODEF's, and never a seeded id.
    for (;;) {
        std::string id = detail::base64url_encode(random_bytes(16));
        if (!seed_index(id) && !changed_.contains(id)) return id;
    }
}

std::string registry::create(std::vector<registration> accounts) {
    std::string id = new_random_id();
    created_.push_back(id);
    changed_.emplace(id, std::move(accounts));
    return id;
}

std::optional<std::vector<registration>> registry::accounts(std::string_view connected_id) const {
    if (auto it = changed_.find(std::string(connected_id)); it != changed_.end()) {
        if (it->second.empty()) return std::nullopt;
        return it->second;
    }
    if (auto i = seed_index(connected_id)) return seeded_accounts(*i);
    return std::nullopt;
}

void registry::store(std::string_view connected_id, std::vector<registration> accounts) {
    const std::string key(connected_id);
    auto it = changed_.find(key);
    const bool was_deleted = it != changed_.end() && it->second.empty();
    const bool now_deleted = accounts.empty();
    if (it == changed_.end()) {
        if (seed_index(connected_id)) ++changed_seeded_;
        it = changed_.emplace(key, std::vector<registration>{}).first;
    }
    if (!was_deleted && now_deleted) ++deleted_;
    if (was_deleted && !now_deleted) --deleted_;
    it->second = std::move(accounts);
}

registry::page registry::list(std::size_t page_no, std::size_t page_size) const {
    page p;
    const std::size_t total = seeded_ + created_.size();
    // A page past the end (its first index would not even fit a size_t): empty, the last.
    if (page_size == 0 || page_no > total / page_size) return p;
    const std::size_t first = page_no * page_size;
    const std::size_t last = std::min(total, first + page_size);
    auto deleted = [&](const std::string& id) {
        auto it = changed_.find(id);
        return it != changed_.end() && it->second.empty();
    };
    for (std::size_t i = first; i < last; ++i) {
        std::string id = i < seeded_ ? seeded_id(i) : created_[i - seeded_];
        if ((i >= seeded_ || changed_seeded_ > 0) && deleted(id)) continue;
        p.ids.push_back(std::move(id));
    }
    p.has_next = last < total;
    return p;
}

} // namespace codef::emu
