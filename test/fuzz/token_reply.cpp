// The token endpoint's reply: parse_token_reply succeeds exactly when the body decodes to an
// object whose access_token is a non-empty string fit for an HTTP header, fails only with
// bad_token_reply, and gives a lifetime that is never negative. token_expiry, which turns the
// reply into an expiry, is fuzzed with what the reply says and with raw numbers: whatever the
// server claims, the expiry lies in (now, now + max_token_lifetime].
#include "detail/envelope.hpp"
#include "detail/jwt.hpp"
#include "fuzz_check.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstring>

using namespace codef;
using std::chrono::system_clock;

namespace {

bool header_safe(std::string_view v) {
    for (const char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

void check_expiry(std::int64_t expires_in, std::optional<std::int64_t> exp,
                  system_clock::time_point now) {
    const system_clock::time_point at = detail::token_expiry(expires_in, exp, now);
    CODEF_FUZZ_CHECK(at > now);
    CODEF_FUZZ_CHECK(at - now <= detail::max_token_lifetime);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);

    // The leading bytes as raw numbers: expires_in, a JWT exp (or none) and a clock reading
    // within a few decades of the epoch, either side.
    if (size >= 2 * sizeof(std::int64_t) + 1 + sizeof(std::int32_t)) {
        std::int64_t expires_in = 0, exp = 0;
        std::int32_t now_s = 0;
        std::memcpy(&expires_in, data, sizeof expires_in);
        std::memcpy(&exp, data + 8, sizeof exp);
        std::memcpy(&now_s, data + 17, sizeof now_s);
        const system_clock::time_point now{std::chrono::seconds(now_s)};
        check_expiry(expires_in, data[16] & 1 ? std::optional(exp) : std::nullopt, now);
    }

    const result<detail::token_reply> reply = detail::parse_token_reply(in);
    const result<boost::json::value> body = detail::decode_body(in);
    const boost::json::value* token = nullptr;
    if (body && body->is_object()) token = body->as_object().if_contains("access_token");
    const bool present = token && token->is_string() && !token->as_string().empty();
    if (!present) CODEF_FUZZ_CHECK(!reply);
    if (!reply) {
        CODEF_FUZZ_CHECK(reply.error() == protocol_errc::bad_token_reply);
        return 0;
    }
    CODEF_FUZZ_CHECK(reply->access_token == token->as_string());
    CODEF_FUZZ_CHECK(header_safe(reply->access_token));
    CODEF_FUZZ_CHECK(reply->expires_in >= 0);
    const auto* expires = body->as_object().if_contains("expires_in");
    if (!expires)
        CODEF_FUZZ_CHECK(reply->expires_in == 0);
    else if (expires->is_int64() && expires->as_int64() > 0)
        CODEF_FUZZ_CHECK(reply->expires_in == expires->as_int64());

    check_expiry(reply->expires_in, detail::jwt_exp(reply->access_token),
                 system_clock::time_point(std::chrono::seconds(1'700'000'000)));
    return 0;
}
