// Reply decoding. Every failure is a protocol_errc, never an exception.
#include "detail/envelope.hpp"

#include "detail/encoding.hpp"
#include "detail/field_value.hpp"

#include <boost/json/memory_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <charconv>
#include <cmath>
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

// Counts what a parse allocates, its temporaries included, and refuses past a limit. Once the
// parse is done the limit is lifted: the caller may grow the value as it likes. The budget lives
// apart from the resource, which Boost.JSON wraps where we cannot reach it.
struct budget {
    explicit budget(std::size_t limit) noexcept
        : limit(limit) {}
    std::atomic<std::size_t> used{0};
    std::atomic<std::size_t> limit;
};

class budget_resource final : public boost::json::memory_resource {
public:
    struct exhausted : std::bad_alloc {};

    explicit budget_resource(std::shared_ptr<budget> b) noexcept
        : b_(std::move(b)) {}

private:
    void* do_allocate(std::size_t n, std::size_t align) override {
        const std::size_t before = b_->used.fetch_add(n, std::memory_order_relaxed);
        if (before + n > b_->limit.load(std::memory_order_relaxed) || before + n < before) {
            b_->used.fetch_sub(n, std::memory_order_relaxed);
            throw exhausted();
        }
        // As Boost.JSON's default resource: nothing it allocates needs more than new's alignment.
        (void)align;
        return ::operator new(n);
    }
    void do_deallocate(void* p, std::size_t n, std::size_t align) override {
        b_->used.fetch_sub(n, std::memory_order_relaxed);
        (void)align;
        ::operator delete(p);
    }
    bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
        return this == &other;
    }

    std::shared_ptr<budget> b_;
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
    // The parser's temporaries (its value stack) come from the budget too: for a body of tiny
    // values they are as large as the result.
    auto allowance = std::make_shared<budget>(max_memory);
    auto sp = boost::json::make_shared_resource<budget_resource>(allowance);
    boost::system::error_code ec;
    // Constructed from the parser's value, never assigned: an assignment between two memory
    // resources copies the whole tree.
    std::optional<boost::json::value> v;
    // As boost::json::parse does: the parser's first temporaries on the stack.
    unsigned char temp[4096];
    try {
        boost::json::parser p(sp, {}, temp, sizeof temp);
        p.reset(sp);
        p.write(json_text.data(), json_text.size(), ec);
        if (!ec) v.emplace(p.release());
    } catch (const budget_resource::exhausted&) {
        return make_failure(protocol_errc::reply_too_large,
                            "the parsed reply would take more than " + std::to_string(max_memory) +
                                " bytes (config.max_reply_memory)");
    }
    allowance->limit.store(SIZE_MAX, std::memory_order_relaxed);
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
