// Reply decoding. Every failure is a protocol_errc, never an exception.
#include "detail/envelope.hpp"

#include "detail/encoding.hpp"

#include <boost/json/parse.hpp>

namespace codef::detail {
namespace {

std::string string_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_null()) return {};
    return boost::json::serialize(*v);
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    return s;
}

} // namespace

result<boost::json::value> decode_body(std::string_view body) {
    const std::string_view t = trim_left(body);
    std::string decoded;
    std::string_view json_text = t;
    if (!t.empty() && t.front() != '{' && t.front() != '[') {
        auto d = form_decode(t);
        if (!d) return make_failure(protocol_errc::bad_percent_encoding);
        decoded = std::move(*d);
        json_text = decoded;
    }
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(json_text, ec);
    if (ec) return make_failure(protocol_errc::bad_json, ec.message());
    return v;
}

result<response> parse_api_reply(std::string_view body) {
    auto v = decode_body(body);
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
    if (auto* data = top->if_contains("data")) out.data = std::move(*data);
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
    token_reply out;
    out.access_token = std::string(tok->get_string());
    if (const auto* e = o->if_contains("expires_in")) {
        if (e->is_int64())
            out.expires_in = e->get_int64();
        else if (e->is_uint64())
            out.expires_in = static_cast<std::int64_t>(e->get_uint64());
        else if (e->is_string()) {
            try {
                out.expires_in = std::stoll(std::string(e->get_string()));
            } catch (...) {
                out.expires_in = 0;
            }
        }
    }
    return out;
}

} // namespace codef::detail
