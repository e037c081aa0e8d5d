// Reply decoding. Every failure is a protocol_errc, never an exception.
#include "detail/envelope.hpp"

#include "detail/encoding.hpp"
#include "detail/field_value.hpp"

#include <boost/json/memory_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>

namespace codef::detail {
namespace {

std::string string_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_null()) return {};
    return boost::json::serialize(*v);
}

// What a parse may take, its temporaries included; refused past the limit. Once the parse is
// done, the caller may grow the value as it likes.
struct budget {
    explicit budget(std::size_t limit) noexcept
        : limit(limit) {}
    std::size_t used = 0;
    std::size_t limit;

    struct exhausted : std::bad_alloc {};
    void take(std::size_t n) {
        if (n > limit || used > limit - n) throw exhausted();
        used += n;
    }
};

// The memory of one parsed reply: while parsing, carved from blocks that double in size, so that
// a reply of a few hundred nodes costs two or three allocations instead of one per string, object
// and array. Once the parse is done (finish) the blocks never change: what the caller allocates
// after that (editing the value) comes from the heap and goes back to it, and what is released
// inside a block waits for the value's end. The blocks are only read after finish, so a value may
// be copied and edited as a default-storage value may (one value, one thread at a time).
class reply_arena final : public boost::json::memory_resource {
public:
    // Boost.JSON's shared resource holds the arena as a member, out of reach through the
    // storage_ptr: the arena tells its address through self.
    reply_arena(std::size_t first_block, std::size_t limit, reply_arena** self) noexcept
        : budget_(limit)
        , next_block_(first_block) {
        *self = this;
    }
    ~reply_arena() override {
        while (blocks_) {
            block* b = blocks_;
            blocks_ = b->next;
            ::operator delete(b);
        }
    }
    reply_arena(const reply_arena&) = delete;
    reply_arena& operator=(const reply_arena&) = delete;

    budget& allowance() noexcept { return budget_; }
    void finish() noexcept { parsing_ = false; }

private:
    struct alignas(std::max_align_t) block {
        block* next;
        std::size_t size;
    };

    void* do_allocate(std::size_t n, std::size_t align) override {
        // As Boost.JSON's default resource: nothing it allocates needs more than new's alignment.
        if (!parsing_) return ::operator new(n);
        if (void* p = carve(n, align)) return p;
        // A block big enough for n at any alignment, at least the next size in the series.
        const std::size_t need = n + align + sizeof(block);
        if (need < n) throw budget::exhausted();
        std::size_t size = std::max(next_block_, need);
        if (budget_.limit - std::min(budget_.used, budget_.limit) < size) size = need;
        budget_.take(size);
        auto* b = static_cast<block*>(::operator new(size));
        b->next = blocks_;
        b->size = size;
        blocks_ = b;
        cur_ = reinterpret_cast<unsigned char*>(b + 1);
        end_ = reinterpret_cast<unsigned char*>(b) + size;
        next_block_ = std::min<std::size_t>(size * 2, std::size_t{1} << 30);
        return carve(n, align);
    }
    void* carve(std::size_t n, std::size_t align) noexcept {
        if (!cur_) return nullptr;
        const auto at = reinterpret_cast<std::uintptr_t>(cur_);
        const std::uintptr_t aligned = (at + align - 1) & ~(std::uintptr_t{align} - 1);
        const auto room = static_cast<std::size_t>(end_ - cur_);
        if (aligned - at > room || n > room - (aligned - at)) return nullptr;
        cur_ = reinterpret_cast<unsigned char*>(aligned) + n;
        return reinterpret_cast<void*>(aligned);
    }
    void do_deallocate(void* p, std::size_t, std::size_t) override {
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        for (const block* b = blocks_; b; b = b->next) {
            const auto begin = reinterpret_cast<std::uintptr_t>(b);
            if (at >= begin && at < begin + b->size) return; // freed with the arena
        }
        ::operator delete(p);
    }
    bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
        return this == &other;
    }

    budget budget_;
    std::size_t next_block_;
    block* blocks_ = nullptr;
    unsigned char* cur_ = nullptr;
    unsigned char* end_ = nullptr;
    bool parsing_ = true;
};

// The parser's temporaries (its value stack, past the first few kilobytes kept on the stack)
// from the heap, counted against the same budget: for a body of tiny values they are as large as
// the result.
class temp_resource final : public boost::json::memory_resource {
public:
    explicit temp_resource(budget& b) noexcept
        : b_(b) {}

private:
    void* do_allocate(std::size_t n, std::size_t align) override {
        b_.take(n);
        // As Boost.JSON's default resource: nothing it allocates needs more than new's alignment.
        (void)align;
        return ::operator new(n);
    }
    void do_deallocate(void* p, std::size_t n, std::size_t align) override {
        b_.used -= std::min(n, b_.used);
        (void)align;
        ::operator delete(p);
    }
    bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
        return this == &other;
    }

    budget& b_;
};

// Boost.JSON reads a number past a double's range as infinity, which JSON cannot write back.
// Recursive: the parser refuses nesting deeper than 32.
bool all_finite(const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::double_:
        return std::isfinite(v.get_double());
    case boost::json::kind::array:
        for (const auto& e : v.get_array())
            if ((e.is_structured() || e.is_double()) && !all_finite(e)) return false;
        return true;
    case boost::json::kind::object:
        for (const auto& kv : v.get_object())
            if ((kv.value().is_structured() || kv.value().is_double()) && !all_finite(kv.value()))
                return false;
        return true;
    default:
        return true;
    }
}

// A count in a token reply: a number or a numeric string; negative and unusable values are 0,
// values past int64 saturate.
std::int64_t seconds_field(const boost::json::value& e) {
    if (e.is_int64()) return std::max<std::int64_t>(e.get_int64(), 0);
    if (e.is_uint64())
        return e.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)
                   ? INT64_MAX
                   : static_cast<std::int64_t>(e.get_uint64());
    if (e.is_double()) {
        const double d = e.get_double();
        if (!(d > 0)) return 0;
        return d >= 9.2e18 ? INT64_MAX : static_cast<std::int64_t>(d);
    }
    if (e.is_string()) {
        const std::string_view s = e.get_string();
        std::int64_t n = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc::result_out_of_range && !s.empty() && s.front() != '-')
            return INT64_MAX;
        if (ec != std::errc{} || p != s.data() + s.size()) return 0;
        return std::max<std::int64_t>(n, 0);
    }
    return 0;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    return s;
}

} // namespace

result<boost::json::value> decode_body(std::string_view body, std::size_t max_memory) {
    const std::string_view t = trim_left(body);
    std::string decoded;
    std::string_view json_text = t;
    if (!t.empty() && t.front() != '{' && t.front() != '[') {
        auto d = form_decode(t);
        if (!d) return make_failure(protocol_errc::bad_percent_encoding);
        decoded = std::move(*d);
        json_text = decoded;
    }
    // The value lives in an arena of its own; the first block holds a typical reply whole.
    reply_arena* arena = nullptr;
    auto sp = boost::json::make_shared_resource<reply_arena>(
        std::clamp<std::size_t>(json_text.size() * 2, 1024, 64 * 1024), max_memory, &arena);
    temp_resource temps(arena->allowance());
    boost::system::error_code ec;
    // Constructed from the parser's value, never assigned: an assignment between two memory
    // resources copies the whole tree.
    std::optional<boost::json::value> v;
    // As boost::json::parse does: the parser's first temporaries on the stack.
    unsigned char temp[4096];
    try {
        boost::json::parser p(boost::json::storage_ptr(&temps), {}, temp, sizeof temp);
        p.reset(sp);
        p.write(json_text.data(), json_text.size(), ec);
        if (!ec) v.emplace(p.release());
    } catch (const budget::exhausted&) {
        return make_failure(protocol_errc::reply_too_large,
                            "the parsed reply would take more than " + std::to_string(max_memory) +
                                " bytes (config.max_reply_memory)");
    }
    arena->finish();
    if (ec) return make_failure(protocol_errc::bad_json, ec.message());
    if (!all_finite(*v))
        return make_failure(protocol_errc::bad_json, "a number is out of range (not finite)");
    return std::move(*v);
}

result<response> parse_api_reply(std::string_view body, std::size_t max_memory) {
    auto v = decode_body(body, max_memory);
    if (!v) return v.get_failure();
    auto* top = v->if_object();
    if (!top) return make_failure(protocol_errc::bad_envelope, "the reply is not a JSON object");
    const auto* res = top->if_contains("result");
    if (!res || !res->is_object())
        return make_failure(protocol_errc::bad_envelope, "the reply has no result object");
    const auto& r = res->get_object();
    const auto* code = r.if_contains("code");
    if (!code || !code->is_string())
        return make_failure(protocol_errc::bad_envelope, "result.code is missing");
    response out;
    out.code = std::string(code->get_string());
    out.message = string_field(r, "message");
    out.extra_message = string_field(r, "extraMessage");
    out.transaction_id = string_field(r, "transactionId");
    if (auto* data = top->if_contains("data")) {
        // Constructed, not assigned: a move assignment between two memory resources would copy.
        std::destroy_at(&out.data);
        std::construct_at(&out.data, std::move(*data));
    }
    if (top->size() > (top->contains("data") ? 2u : 1u)) {
        // Same storage as the parsed reply, so that the values move rather than copy.
        std::destroy_at(&out.top_level);
        std::construct_at(&out.top_level, top->storage());
        for (auto& kv : *top)
            if (kv.key() != "result" && kv.key() != "data")
                out.top_level.emplace(kv.key(), std::move(kv.value()));
    }
    return out;
}

void read_error_body(std::string_view body, diagnostics& d) {
    auto v = decode_body(body);
    if (!v || !v->is_object()) return;
    const auto& o = v->get_object();
    if (const auto* res = o.if_contains("result"); res && res->is_object()) {
        d.codef_code = string_field(res->get_object(), "code");
        d.codef_message = string_field(res->get_object(), "message");
        d.transaction_id = string_field(res->get_object(), "transactionId");
        return;
    }
    d.codef_code = string_field(o, "code");
    d.codef_message = string_field(o, "message");
    if (d.codef_message.empty()) d.codef_message = string_field(o, "error_description");
    if (d.codef_code.empty()) d.codef_code = string_field(o, "error");
}

result<token_reply> parse_token_reply(std::string_view body) {
    auto v = decode_body(body);
    if (!v) return failure{protocol_errc::bad_token_reply, v.diag()};
    const auto* o = v->if_object();
    if (!o) return make_failure(protocol_errc::bad_token_reply, "not a JSON object");
    const auto* tok = o->if_contains("access_token");
    if (!tok || !tok->is_string() || tok->get_string().empty())
        return make_failure(protocol_errc::bad_token_reply, "access_token is missing");
    // The token goes into the Authorization header of every call: a CR or LF in it would end
    // that header and let the token's issuer write headers, or a whole request, of its own.
    if (!is_field_value(tok->get_string()))
        return make_failure(protocol_errc::bad_token_reply,
                            "access_token: not a valid HTTP header field value");
    token_reply out;
    out.access_token = std::string(tok->get_string());
    if (const auto* e = o->if_contains("expires_in")) out.expires_in = seconds_field(*e);
    return out;
}

std::chrono::system_clock::time_point token_expiry(std::int64_t expires_in,
                                                   std::optional<std::int64_t> jwt_exp,
                                                   std::chrono::system_clock::time_point now) {
    const std::int64_t max_s = max_token_lifetime.count();
    std::optional<std::int64_t> relative;
    if (expires_in > 0) relative = std::min(expires_in, max_s);
    std::optional<std::int64_t> from_jwt;
    if (jwt_exp) {
        const std::int64_t now_s =
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        std::int64_t left = 0;
        if (__builtin_sub_overflow(*jwt_exp, now_s, &left)) left = *jwt_exp > 0 ? max_s : 0;
        if (left > 0) from_jwt = std::min(left, max_s);
    }
    std::int64_t life = fallback_token_lifetime.count();
    if (from_jwt) {
        life = *from_jwt;
        // Far apart: our clock and the server's disagree. The relative lifetime does not
        // depend on either clock (or we would reissue in a loop, or keep a dead token).
        if (relative && (life < *relative / 2 || life / 2 > *relative)) life = *relative;
    } else if (relative) {
        life = *relative;
    }
    return now + std::chrono::seconds(life);
}

} // namespace codef::detail
