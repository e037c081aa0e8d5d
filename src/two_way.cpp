// Two-way authentication: reading challenges, building follow-ups, the guards.
#include <codef/client.hpp>
#include <codef/result_codes.hpp>
#include <codef/two_way.hpp>

#include <cstdlib>

namespace json = boost::json;
namespace asio = boost::asio;

namespace codef {
namespace {

constexpr std::string_view two_way_keys[] = {"jobIndex", "threadIndex", "jti", "twoWayTimestamp"};

std::int64_t integer(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    if (v->is_string()) return std::atoll(v->get_string().c_str());
    return 0;
}

} // namespace

std::optional<two_way_challenge> two_way_challenge::from(const response& r, std::string path,
                                                         json::object params) {
    if (r.code != codes::two_way_required) return std::nullopt;
    const auto* data = r.data.if_object();
    if (!data) return std::nullopt;
    const auto* more = data->if_contains("continue2Way");
    if (!more || !more->is_bool() || !more->get_bool()) return std::nullopt;
    two_way_challenge c;
    if (const auto* m = data->if_contains("method"); m && m->is_string())
        c.method = m->get_string();
    // CODEF sends the job's keys in data and again in the top-level twoWayInfo: data first.
    const json::object* info = nullptr;
    if (const auto* i = r.top_level.if_contains("twoWayInfo"); i && i->is_object())
        info = &i->get_object();
    const auto job_key = [&](std::string_view key) -> const json::object& {
        return data->contains(key) || !info ? *data : *info;
    };
    c.job_index = integer(job_key("jobIndex"), "jobIndex");
    c.thread_index = integer(job_key("threadIndex"), "threadIndex");
    if (const auto* j = job_key("jti").if_contains("jti"); j && j->is_string())
        c.jti = j->get_string();
    c.two_way_timestamp = integer(job_key("twoWayTimestamp"), "twoWayTimestamp");
    if (const auto* e = data->if_contains("extraInfo")) c.extra_info = *e;
    c.reply = r;
    c.path = std::move(path);
    // A follow-up of a follow-up starts again from the original parameters.
    params.erase("is2Way");
    params.erase("twoWayInfo");
    c.params = std::move(params);
    return c;
}

namespace {

constexpr int challenge_json_version = 1;

failure bad_key(std::string_view key, const char* why) {
    return make_failure(client_errc::invalid_argument,
                        "two_way_challenge JSON: " + std::string(key) + ": " + why);
}

} // namespace

json::object two_way_challenge::to_json() const {
    json::object result{{"code", reply.code},
                        {"message", reply.message},
                        {"extraMessage", reply.extra_message},
                        {"transactionId", reply.transaction_id}};
    json::object envelope = reply.top_level;
    envelope["result"] = std::move(result);
    envelope["data"] = reply.data;
    return json::object{{"codefTwoWayChallenge", challenge_json_version},
                        {"method", method},
                        {"jobIndex", job_index},
                        {"threadIndex", thread_index},
                        {"jti", jti},
                        {"twoWayTimestamp", two_way_timestamp},
                        {"extraInfo", extra_info},
                        {"path", path},
                        {"params", params},
                        {"reply", std::move(envelope)}};
}

result<two_way_challenge> two_way_challenge::from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (!o) return bad_key("(top)", "not an object");
    const auto* version = o->if_contains("codefTwoWayChallenge");
    if (!version || !version->is_int64() || version->get_int64() != challenge_json_version)
        return bad_key("codefTwoWayChallenge", "missing or not 1 (not made by to_json)");
    two_way_challenge c;
    for (auto [key, out] : {std::pair<std::string_view, std::string*>{"method", &c.method},
                            {"jti", &c.jti},
                            {"path", &c.path}}) {
        const auto* s = o->if_contains(key);
        if (!s || !s->is_string()) return bad_key(key, "missing or not a string");
        *out = s->get_string();
    }
    for (auto [key, out] : {std::pair<std::string_view, std::int64_t*>{"jobIndex", &c.job_index},
                            {"threadIndex", &c.thread_index},
                            {"twoWayTimestamp", &c.two_way_timestamp}}) {
        const auto* n = o->if_contains(key);
        if (!n || !n->is_int64()) return bad_key(key, "missing or not an integer");
        *out = n->get_int64();
    }
    if (const auto* e = o->if_contains("extraInfo")) c.extra_info = *e;
    const auto* params = o->if_contains("params");
    if (!params || !params->is_object()) return bad_key("params", "missing or not an object");
    c.params = params->get_object();
    const auto* reply = o->if_contains("reply");
    if (!reply || !reply->is_object()) return bad_key("reply", "missing or not an object");
    const auto* res = reply->get_object().if_contains("result");
    if (!res || !res->is_object()) return bad_key("reply.result", "missing or not an object");
    for (auto [key, out] : {std::pair<std::string_view, std::string*>{"code", &c.reply.code},
                            {"message", &c.reply.message},
                            {"extraMessage", &c.reply.extra_message},
                            {"transactionId", &c.reply.transaction_id}}) {
        const auto* s = res->get_object().if_contains(key);
        if (!s || !s->is_string())
            return bad_key("reply.result." + std::string(key), "missing or not a string");
        *out = s->get_string();
    }
    for (const auto& kv : reply->get_object()) {
        if (kv.key() == "data")
            c.reply.data = kv.value();
        else if (kv.key() != "result")
            c.reply.top_level.emplace(kv.key(), kv.value());
    }
    return c;
}

namespace detail {

json::object two_way_params(const two_way_challenge& c, const two_way_answer& a) {
    json::object p = c.params;
    for (auto key : {"secureNo", "secureNoRefresh", "smsAuthNo", "simpleAuth", "emailAuthNo"})
        p.erase(key);
    if (c.method == "secureNo") {
        p["secureNo"] = a.refresh ? "" : a.value;
        p["secureNoRefresh"] = a.refresh ? "1" : "0";
    } else if (c.method == "simpleAuth") {
        p["simpleAuth"] = "1";
    } else if (!c.method.empty()) {
        p[c.method] = a.value; // smsAuthNo, emailAuthNo and any method yet to come
    }
    p["is2Way"] = true;
    json::object info;
    info["jobIndex"] = c.job_index;
    info["threadIndex"] = c.thread_index;
    if (!c.jti.empty()) info["jti"] = c.jti; // absent from the challenge: the guard refuses
    if (c.two_way_timestamp != 0) info["twoWayTimestamp"] = c.two_way_timestamp;
    p["twoWayInfo"] = std::move(info);
    return p;
}

result<std::monostate> check_two_way_follow_up(const json::object& params) {
    const auto* flag = params.if_contains("is2Way");
    if (!flag || !flag->is_bool() || !flag->get_bool())
        return make_failure(client_errc::two_way_incomplete,
                            "is2Way: must be true in a two-way follow-up");
    const auto* info = params.if_contains("twoWayInfo");
    if (!info || !info->is_object())
        return make_failure(client_errc::two_way_incomplete, "twoWayInfo: missing");
    for (auto key : two_way_keys) {
        const auto* v = info->get_object().if_contains(key);
        if (!v || v->is_null() || (v->is_string() && v->get_string().empty()))
            return make_failure(client_errc::two_way_incomplete,
                                "twoWayInfo." + std::string(key) + ": missing");
    }
    return std::monostate{};
}

result<std::monostate> check_plain_call(const json::object& params) {
    for (auto key : {"is2Way", "twoWayInfo"})
        if (params.contains(key))
            return make_failure(client_errc::two_way_in_plain_call,
                                std::string(key) +
                                    ": only a two-way follow-up (continue_two_way) carries it");
    return std::monostate{};
}

product_outcome to_outcome(response r, std::string path, json::object params) {
    if (auto c = two_way_challenge::from(r, std::move(path), std::move(params)))
        return std::move(*c);
    return r;
}

} // namespace detail

asio::awaitable<result<product_outcome>> client::try_product(std::string path, json::object params,
                                                             call_options opts) {
    json::object original = params;
    auto r = co_await send(path, std::move(params), opts, false);
    if (!r) co_return r.get_failure();
    co_return detail::to_outcome(std::move(*r), std::move(path), std::move(original));
}

asio::awaitable<result<product_outcome>>
client::continue_two_way(two_way_challenge challenge, two_way_answer answer, call_options opts) {
    std::string path = challenge.path;
    json::object original = challenge.params;
    auto r = co_await send(path, detail::two_way_params(challenge, answer), opts, true);
    if (!r) co_return r.get_failure();
    co_return detail::to_outcome(std::move(*r), std::move(path), std::move(original));
}

asio::awaitable<result<product_outcome>>
client::continue_two_way(std::string path, json::object params, call_options opts) {
    json::object original = params;
    auto r = co_await send(path, std::move(params), opts, true);
    if (!r) co_return r.get_failure();
    co_return detail::to_outcome(std::move(*r), std::move(path), std::move(original));
}

} // namespace codef
