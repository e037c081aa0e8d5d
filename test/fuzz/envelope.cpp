// Reply bodies from the network: decode_body, parse_api_reply and read_error_body. They must
// agree with each other, fail only with their documented protocol errors, and read a form-encoded
// body as they read the raw JSON it encodes.
#include "detail/envelope.hpp"
#include "detail/encoding.hpp"
#include "fuzz_check.hpp"

#include <boost/json/value.hpp>

using namespace codef;

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool same(const result<response>& a, const result<response>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return a.error() == b.error();
    return a->code == b->code && a->message == b->message && a->extra_message == b->extra_message &&
           a->transaction_id == b->transaction_id && a->data == b->data;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);

    const result<boost::json::value> body = detail::decode_body(in);
    if (!body) {
        CODEF_FUZZ_CHECK(body.error() == protocol_errc::bad_percent_encoding ||
                         body.error() == protocol_errc::bad_json ||
                         body.error() == protocol_errc::reply_too_large);
    }

    const result<response> reply = detail::parse_api_reply(in);
    if (reply) {
        CODEF_FUZZ_CHECK(body.has_value());
        const auto& result = body->as_object().at("result").as_object();
        CODEF_FUZZ_CHECK(result.at("code").as_string() == reply->code);
        CODEF_FUZZ_CHECK(reply->ok() == (reply->code == success_code));
        // The two views of a reply's outcome must agree: ok() and an empty error().
        CODEF_FUZZ_CHECK(reply->ok() == !reply->error());
        if (const auto* d = body->as_object().if_contains("data"))
            CODEF_FUZZ_CHECK(reply->data == *d);
        else
            CODEF_FUZZ_CHECK(reply->data.is_null());
    } else if (!body) {
        CODEF_FUZZ_CHECK(reply.error() == body.error());
    } else {
        CODEF_FUZZ_CHECK(reply.error() == protocol_errc::bad_envelope);
    }

    diagnostics diag;
    detail::read_error_body(in, diag);
    if (!body || !body->is_object()) {
        CODEF_FUZZ_CHECK(diag.codef_code.empty() && diag.codef_message.empty() &&
                         diag.transaction_id.empty());
    }
    if (reply) {
        CODEF_FUZZ_CHECK(diag.codef_code == reply->code);
        CODEF_FUZZ_CHECK(diag.codef_message == reply->message);
        CODEF_FUZZ_CHECK(diag.transaction_id == reply->transaction_id);
    }
    CODEF_FUZZ_CHECK(diag.http_status == 0 && diag.detail.empty());

    // A tight memory bound gives the same answer, or reply_too_large.
    const result<response> bounded = detail::parse_api_reply(in, 4096);
    CODEF_FUZZ_CHECK(same(bounded, reply) || bounded.error() == protocol_errc::reply_too_large);

    // CODEF sends the same JSON form-encoded: it must read the same.
    std::string_view json_text = in;
    while (!json_text.empty() && is_space(json_text.front()))
        json_text.remove_prefix(1);
    if (!json_text.empty() && (json_text.front() == '{' || json_text.front() == '[')) {
        const std::string encoded = detail::form_encode(json_text);
        CODEF_FUZZ_CHECK(same(detail::parse_api_reply(encoded), reply));
    }
    return 0;
}
