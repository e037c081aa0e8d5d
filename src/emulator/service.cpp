// The emulator's routes: the token endpoint, account management, connectedId paging, products
// and the admin endpoints, plus the faults that API replies are given.
#include "emulator/service.hpp"

#include "detail/encoding.hpp"
#include "emulator/products.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace json = boost::json;

namespace codef::emu {
namespace {

// A request path as JSON may carry it: printable ASCII kept, every other byte %XX. A path that is
// not UTF-8 would otherwise make a reply (or the stats) that is not JSON.
std::string printable_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '%') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// n + 1 for a page number, saturating: a client may send the largest int64.
std::int64_t next_page(std::int64_t n) {
    return n == INT64_MAX ? n : n + 1;
}

using std::chrono::system_clock;

constexpr const char* ok_code = "CF-00000";
constexpr const char* missing_code = "CF-00001";
constexpr const char* bad_json_code = "CF-00002";
constexpr const char* invalid_code = "CF-00007";
constexpr const char* two_way_code = "CF-03002";
constexpr const char* register_failed_code = "CF-04000";
constexpr const char* duplicate_code = "CF-04004";
constexpr const char* setup_failed_code = "CF-94002";

// The authorities a token may hold, in the order of the JWT claim CODEF issues; a token's record
// keeps them as bits in this order.
constexpr std::array<std::string_view, 6> all_authorities{"INSURANCE", "PUBLIC", "BANK",
                                                          "ETC",       "STOCK",  "CARD"};

unsigned authority_bit(std::string_view name) {
    for (std::size_t i = 0; i < all_authorities.size(); ++i)
        if (all_authorities[i] == name) return 1u << i;
    return 0;
}

// The authority an API path needs: /v1/kr/bank/... BANK, and so on; ETC for any other /v1/kr/
// path; none (0) outside /v1/kr/ (account management).
unsigned needed_authority(std::string_view path) {
    constexpr std::string_view prefix = "/v1/kr/";
    if (!path.starts_with(prefix)) return 0;
    path.remove_prefix(prefix.size());
    const std::string_view group = path.substr(0, path.find('/'));
    for (auto [segment, name] : {std::pair<std::string_view, std::string_view>{"bank", "BANK"},
                                 {"card", "CARD"},
                                 {"insurance", "INSURANCE"},
                                 {"public", "PUBLIC"},
                                 {"stock", "STOCK"}})
        if (group == segment) return authority_bit(name);
    return authority_bit("ETC");
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(system_clock::now().time_since_epoch())
        .count();
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

reply json_reply(unsigned status, const json::value& v) {
    reply r;
    r.status = status;
    r.body = json::serialize(v);
    return r;
}

// What CODEF's Spring OAuth answers a token without the authority a path needs.
reply access_denied_reply() {
    return json_reply(
        403, json::object{{"error", "access_denied"}, {"error_description", "Access is denied"}});
}

reply invalid_token_reply() {
    return json_reply(401,
                      json::object{{"error", "invalid_token"},
                                   {"error_description", "Cannot convert access token to JSON"},
                                   {"code", "CF-99997"},
                                   {"message", "OAUTH2.0 토큰 에러입니다. 메시지를 확인하세요."}});
}

api_result business_error(const char* code, std::string message, std::string extra) {
    api_result r;
    r.code = code;
    r.message = std::move(message);
    r.extra_message = std::move(extra);
    return r;
}

api_result missing(std::string_view name) {
    return business_error(missing_code, "필수 입력 파라미터가 누락되었습니다.", std::string(name));
}

// A string parameter, or empty when absent or not a string.
std::string str(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return {};
}

// Form fields (key=value&...), each part percent-decoded with '+' as space.
std::unordered_map<std::string, std::string> form_fields(std::string_view s) {
    std::unordered_map<std::string, std::string> out;
    while (!s.empty()) {
        const auto amp = s.find('&');
        const std::string_view part = s.substr(0, amp);
        const auto eq = part.find('=');
        auto key = detail::form_decode(part.substr(0, eq));
        auto value = detail::form_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
        if (key && value) out[*key] = *value;
        if (amp == std::string_view::npos) break;
        s.remove_prefix(amp + 1);
    }
    return out;
}

json::object identity(const registration& r) {
    return json::object{{"clientType", r.client_type},
                        {"loginType", r.login_type},
                        {"countryCode", r.country_code},
                        {"organization", r.organization},
                        {"businessType", r.business_type}};
}

json::object account_error(const registration& r, std::string code, std::string message,
                           std::string extra) {
    json::object o = identity(r);
    o["code"] = std::move(code);
    o["message"] = std::move(message);
    o["extraMessage"] = std::move(extra);
    return o;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && iequals_prefix(a, b);
}

// The certificate files an account of loginType "0" carries: certFile with certType "pfx",
// derFile and keyFile otherwise.
std::vector<const char*> certificate_files(const json::object& account) {
    if (iequals(str(account, "certType"), "pfx")) return {"certFile"};
    return {"derFile", "keyFile"};
}

json::object account_success(const registration& r) {
    json::object o = identity(r);
    o["code"] = ok_code;
    o["message"] = "성공";
    o["extraMessage"] = "";
    return o;
}

} // namespace

std::string encode_envelope(const api_result& r, std::string_view transaction_id) {
    return encode_envelope(r, transaction_id, detail::form_encode(json::serialize(r.data)));
}

std::string encode_envelope(const api_result& r, std::string_view transaction_id,
                            std::string_view encoded_data) {
    // Form encoding maps byte for byte, so the envelope's encoding is the encodings of its parts:
    // an already encoded data part goes in as it is.
    const json::object result{{"code", r.code},
                              {"extraMessage", r.extra_message},
                              {"message", r.message},
                              {"transactionId", transaction_id}};
    std::string out = detail::form_encode("{\"result\":" + json::serialize(result) + ",\"data\":");
    out += encoded_data;
    for (const auto& kv : r.top_level)
        out += detail::form_encode("," + json::serialize(json::string_view(kv.key())) + ":" +
                                   json::serialize(kv.value()));
    out += "%7D";
    return out;
}

std::optional<json::object> decode_params(std::string_view body) {
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
        body.remove_prefix(1);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
        body.remove_suffix(1);
    if (body.empty()) return json::object{};
    std::string decoded;
    if (body.front() != '{') {
        auto d = detail::form_decode(body);
        if (!d) return std::nullopt;
        decoded = std::move(*d);
        body = decoded;
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return std::nullopt;
    if (v.is_null()) return json::object{};
    if (!v.is_object()) return std::nullopt;
    return std::move(v.get_object());
}

// ---------------------------------------------------------------------------------------------

service::service(const emulator_options& opts, pkey_ptr password_key, pkey_ptr jwt_key)
    : opts_(opts)
    , password_key_(std::move(password_key))
    , jwt_key_(std::move(jwt_key))
    , public_key_(public_key_base64(password_key_.get()))
    , registry_(opts.seed_connected_ids) {
    faults_.token_lifetime = opts.token_lifetime;
}

reply service::handle(const request& r) {
    const std::string_view target = r.target;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/oauth/token") return token_endpoint(r);
    if (path.starts_with("/_emulator/")) return admin(r, path);
    return api(r, path);
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

reply service::token_endpoint(const request& r) {
    std::lock_guard lock(mutex_);
    ++stats_.token_requests;
    reply out = token_reply(r);
    out.hold = faults_.hold_token_replies.value_or(false);
    return out;
}

reply service::token_reply(const request& r) {
    if (faults_.fail_token_next.value_or(0) > 0) {
        faults_.fail_token_next = *faults_.fail_token_next - 1;
        ++stats_.faults_injected;
        return json_reply(
            faults_.fail_status.value_or(503),
            json::object{{"error", "server_error"}, {"error_description", "injected fault"}});
    }
    if (r.method != "POST") return json_reply(405, json::object{{"error", "method_not_allowed"}});

    // Basic base64(client_id ":" client_secret)
    std::string client_id;
    bool authenticated = false;
    if (iequals_prefix(r.authorization, "Basic ")) {
        if (auto pair = detail::base64_decode(r.authorization.substr(6))) {
            const auto colon = pair->find(':');
            if (colon != std::string::npos) {
                client_id = pair->substr(0, colon);
                const std::string secret = pair->substr(colon + 1);
                if (opts_.accept_sandbox_credentials && client_id == sandbox_client_id &&
                    secret == sandbox_client_secret)
                    authenticated = true;
                for (const auto& [id, s] : opts_.credentials)
                    if (id == client_id && s == secret) authenticated = true;
            }
        }
    }
    if (!authenticated)
        return json_reply(401, json::object{{"error", "invalid_client"},
                                            {"error_description", "Bad client credentials"}});

    // grant_type and scope come in the form body, or (one official library) in the query.
    auto fields = form_fields(r.body);
    if (const auto q = r.target.find('?'); q != std::string_view::npos)
        for (auto& [k, v] : form_fields(r.target.substr(q + 1)))
            fields.emplace(k, v);
    if (fields["grant_type"] != "client_credentials")
        return json_reply(
            400, json::object{{"error", "unsupported_grant_type"},
                              {"error_description", "grant_type must be client_credentials"}});
    if (const auto& scope = fields["scope"]; !scope.empty() && scope != "read")
        return json_reply(400, json::object{{"error", "invalid_scope"},
                                            {"error_description", "scope must be read"}});

    const auto lifetime = faults_.token_lifetime.value_or(opts_.token_lifetime);
    reply out = json_reply(200, json::object{{"access_token", issue_token(client_id, lifetime)},
                                             {"scope", "read"},
                                             {"token_type", "bearer"},
                                             {"expires_in", lifetime.count()}});
    out.content_type = "application/json";
    ++stats_.tokens_issued;
    return out;
}

std::string service::issue_token(const std::string& client_id, std::chrono::seconds lifetime) {
    static const std::string header = detail::base64url_encode(R"({"alg":"RS256","typ":"JWT"})");
    const std::int64_t exp = now_seconds() + lifetime.count();
    // The credentials decide the environment: the public sandbox pair's is the sandbox.
    const environment env =
        client_id == sandbox_client_id ? environment::sandbox : opts_.credentials_environment;
    const char* service_type = env == environment::production    ? "0"
                               : env == environment::development ? "1"
                                                                 : "2";
    json::array authorities;
    unsigned bits = 0;
    if (faults_.token_authorities) {
        for (const auto& a : *faults_.token_authorities) {
            authorities.emplace_back(a);
            bits |= authority_bit(a);
        }
    } else {
        for (auto a : all_authorities) {
            authorities.emplace_back(a);
            bits |= authority_bit(a);
        }
    }
    json::object claims{
        {"service_type", service_type},
        {"scope", json::array{"read"}},
        {"service_no", "000000000001"},
        {"exp", exp},
        {"authorities", std::move(authorities)},
        {"jti", random_hex(16)},
        {"client_id", client_id},
    };
    std::string token = header + "." + detail::base64url_encode(json::serialize(claims));
    token += "." + detail::base64url_encode(rs256_sign(jwt_key_.get(), token));
    if (tokens_.size() > 100'000)
        std::erase_if(tokens_,
                      [now = now_seconds()](const auto& t) { return t.second.exp <= now; });
    tokens_.emplace(token, token_record{exp, ++token_serial_, bits});
    return token;
}

const service::token_record* service::valid_token(std::string_view authorization) const {
    if (!iequals_prefix(authorization, "Bearer ")) return nullptr;
    const auto it = tokens_.find(std::string(authorization.substr(7)));
    if (it == tokens_.end() || it->second.exp <= now_seconds() ||
        it->second.serial < revoked_below_)
        return nullptr;
    return &it->second;
}

// ---------------------------------------------------------------------------------------------
// API paths

reply service::api(const request& r, std::string_view path) {
    std::lock_guard lock(mutex_);
    if (!r.resumed) {
        ++stats_.api_requests;
        ++stats_.requests_by_path[std::string(path)];
    }
    const token_record* tok = valid_token(r.authorization);
    if (faults_.reject_tokens.value_or(false) || !tok) {
        ++stats_.unauthorized;
        return invalid_token_reply();
    }
    if (const unsigned needed = needed_authority(path); (tok->authorities & needed) != needed) {
        ++stats_.forbidden;
        return access_denied_reply();
    }
    if (r.method != "POST") return json_reply(405, json::object{{"error", "method_not_allowed"}});

    reply out;
    out.delay = faults_.reply_delay.value_or(std::chrono::milliseconds(0));
    if (const auto jitter = faults_.reply_jitter.value_or(std::chrono::milliseconds(0)).count();
        jitter > 0)
        out.delay += std::chrono::milliseconds(
            std::uniform_int_distribution<std::chrono::milliseconds::rep>(0, jitter)(jitter_));
    auto take = [this, &r](std::optional<unsigned>& n) {
        if (r.resumed || n.value_or(0) == 0) return false;
        n = *n - 1;
        ++stats_.faults_injected;
        return true;
    };
    if (take(faults_.fail_next)) {
        const unsigned status = faults_.fail_status.value_or(503);
        reply f = json_reply(
            status, json::object{{"error", status == 429 ? "too_many_requests" : "server_error"},
                                 {"error_description", "injected fault"}});
        f.retry_after = faults_.retry_after.value_or(0);
        f.delay = out.delay;
        return f;
    }
    if (take(faults_.malformed_next)) {
        out.body = "%7B%22result%22%3A%7B%22code%ZZ-not-json";
        return out;
    }
    if (take(faults_.reset_next))
        out.fault_kind = reply::fault::reset;
    else if (take(faults_.truncate_next))
        out.fault_kind = reply::fault::truncate;
    else if (take(faults_.drop_next))
        out.fault_kind = reply::fault::drop;

    auto params = decode_params(r.body);
    if (const unsigned percent = faults_.fail_percent_of_ids.value_or(0);
        percent > 0 && params && !str(*params, "connectedId").empty() &&
        std::hash<std::string>{}(str(*params, "connectedId")) % 100 < percent) {
        ++stats_.faults_injected;
        reply f = json_reply(
            faults_.fail_status.value_or(503),
            json::object{{"error", "server_error"}, {"error_description", "injected fault"}});
        f.delay = out.delay;
        return f;
    }
    api_result result;
    if (!params) {
        result =
            business_error(bad_json_code, "요청 파라미터의 JSON 형식이 올바르지 않습니다.", "");
    } else if (path.starts_with("/v1/account/")) {
        if (path == "/v1/account/list")
            result = account_list(*params);
        else if (path == "/v1/account/connectedId-list")
            result = connected_id_list(*params);
        else if (path == "/v1/account/create" || path == "/v1/account/add" ||
                 path == "/v1/account/update" || path == "/v1/account/delete")
            result = account_change(path, *params);
        else
            return json_reply(404,
                              json::object{{"error", "not_found"}, {"path", printable_path(path)}});
    } else if (const product_spec* spec = find_product(path)) {
        // Product data depends on the question alone: the same question, the same encoded data,
        // made once. (A two-way path has state, and is never cached.)
        std::string key;
        if (!two_way_product(spec->path)) {
            key = std::string(path) + "\n" + json::serialize(*params);
            if (auto hit = product_cache_.find(key); hit != product_cache_.end()) {
                api_result head;
                out.body = encode_envelope(head, random_hex(16), hit->second);
                return out;
            }
        }
        result = product(*spec, *params, r.resumed);
        if (!result.wait_for.empty()) {
            ++stats_.two_way_waits;
            out.wait_for = std::move(result.wait_for);
            out.wait_limit = result.wait_limit;
            return out;
        }
        if (!key.empty() && result.code == "CF-00000") {
            if (product_cache_.size() >= 4096) product_cache_.clear();
            auto& encoded = product_cache_[key] = detail::form_encode(json::serialize(result.data));
            out.body = encode_envelope(result, random_hex(16), encoded);
            return out;
        }
    } else {
        return json_reply(404,
                          json::object{{"error", "not_found"}, {"path", printable_path(path)}});
    }
    out.body = encode_envelope(result, random_hex(16));
    return out;
}

api_result service::account_list(const json::object& params) {
    const std::string cid = str(params, "connectedId");
    if (cid.empty()) return missing("connectedId");
    auto accounts = registry_.accounts(cid);
    if (!accounts)
        return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                              "connectedId: not registered");
    json::array list;
    for (const auto& a : *accounts)
        list.push_back(json::object{{"clientType", a.client_type},
                                    {"organizationCode", a.organization},
                                    {"loginType", a.login_type},
                                    {"countryCode", a.country_code},
                                    {"businessType", a.business_type}});
    api_result r;
    r.data = json::object{{"accountList", std::move(list)}, {"connectedId", cid}};
    return r;
}

api_result service::connected_id_list(const json::object& params) {
    std::int64_t page_no = 0;
    if (const auto* p = params.if_contains("pageNo"); p && !p->is_null()) {
        if (p->is_int64())
            page_no = p->get_int64();
        else if (p->is_uint64())
            page_no = -1; // past int64: no such page number
        else if (p->is_string()) {
            const auto s = p->get_string();
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), page_no);
            if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) page_no = -1;
        } else
            page_no = -1;
    }
    if (page_no < 0) return business_error(invalid_code, "잘못된 요청 파라미터입니다.", "pageNo");
    const std::string stuck = faults_.stuck_paging.value_or("");
    if (stuck == "repeat" || stuck == "empty") {
        ++stats_.faults_injected;
        api_result r;
        r.data = json::object{{"connectedIdList", json::array()},
                              {"pageNo", page_no},
                              {"hasNext", true},
                              {"nextPageNo", stuck == "repeat" ? page_no : next_page(page_no)}};
        return r;
    }
    const auto page = registry_.list(static_cast<std::size_t>(page_no), opts_.page_size);
    json::array ids;
    ids.reserve(page.ids.size());
    for (const auto& id : page.ids)
        ids.emplace_back(id);
    api_result r;
    r.data = json::object{{"connectedIdList", std::move(ids)},
                          {"pageNo", stuck == "wrong_page" ? next_page(page_no) : page_no},
                          {"hasNext", page.has_next},
                          {"nextPageNo", page.has_next ? next_page(page_no) : page_no}};
    return r;
}

api_result service::account_change(std::string_view path, json::object& params) {
    const bool create = path == "/v1/account/create";
    const bool remove = path == "/v1/account/delete";
    const bool update = path == "/v1/account/update";
    std::string cid;
    std::vector<registration> current;
    if (!create) {
        cid = str(params, "connectedId");
        if (cid.empty()) return missing("connectedId");
        auto a = registry_.accounts(cid);
        if (!a)
            return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                                  "connectedId: not registered");
        current = std::move(*a);
    }
    const auto* list = params.if_contains("accountList");
    if (!list) return missing("accountList");
    if (!list->is_array())
        return business_error(invalid_code, "잘못된 요청 파라미터입니다.", "accountList");

    json::array successes, errors;
    for (const auto& item : list->get_array()) {
        if (!item.is_object()) {
            errors.push_back(
                account_error({}, invalid_code, "잘못된 요청 파라미터입니다.", "accountList item"));
            continue;
        }
        const auto& a = item.get_object();
        registration reg;
        reg.country_code = str(a, "countryCode");
        reg.business_type = str(a, "businessType");
        reg.client_type = str(a, "clientType");
        reg.organization = str(a, "organization");
        reg.login_type = str(a, "loginType");
        reg.id = str(a, "id");
        reg.birthday = str(a, "birthday");
        std::string missing_field;
        for (const char* f :
             {"countryCode", "businessType", "clientType", "organization", "loginType"})
            if (str(a, f).empty() && missing_field.empty()) missing_field = f;
        if (!remove && missing_field.empty()) {
            if (reg.login_type == "1") {
                if (reg.id.empty())
                    missing_field = "id";
                else if (str(a, "password").empty())
                    missing_field = "password";
            } else if (reg.login_type == "0") {
                for (const char* f : certificate_files(a))
                    if (str(a, f).empty() && missing_field.empty()) missing_field = f;
                if (missing_field.empty() && str(a, "password").empty()) missing_field = "password";
            }
        }
        if (!missing_field.empty()) {
            errors.push_back(account_error(reg, missing_code,
                                           "필수 입력 파라미터가 누락되었습니다.", missing_field));
            continue;
        }
        if (reg.organization.size() != 4 ||
            !std::all_of(reg.organization.begin(), reg.organization.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            errors.push_back(
                account_error(reg, invalid_code, "잘못된 요청 파라미터입니다.", "organization"));
            continue;
        }
        if (!remove) {
            if (reg.login_type != "0" && reg.login_type != "1") {
                errors.push_back(
                    account_error(reg, invalid_code, "잘못된 요청 파라미터입니다.", "loginType"));
                continue;
            }
            // Certificate files come as standard base64 of the files' bytes.
            std::string bad_file;
            if (reg.login_type == "0")
                for (const char* f : certificate_files(a)) {
                    const auto bytes = detail::base64_decode(str(a, f));
                    if ((!bytes || bytes->empty()) && bad_file.empty()) bad_file = f;
                }
            if (!bad_file.empty()) {
                errors.push_back(account_error(reg, invalid_code, "잘못된 요청 파라미터입니다.",
                                               bad_file + ": not standard base64"));
                continue;
            }
            const auto plain = rsa_decrypt(password_key_.get(), str(a, "password"));
            if (!plain) {
                errors.push_back(account_error(reg, invalid_code, "비밀번호 복호화에 실패했습니다.",
                                               "password: does not decrypt with the public key"));
                continue;
            }
            reg.password_sha256 = sha256_hex(*plain);
        }
        auto same = std::find_if(current.begin(), current.end(),
                                 [&](const registration& c) { return c.same_slot(reg); });
        if (remove || update) {
            if (same == current.end() || (remove && same->business_type != reg.business_type)) {
                errors.push_back(account_error(reg, invalid_code, "등록되지 않은 계정입니다.",
                                               "organization: not registered"));
                continue;
            }
            if (remove) {
                successes.push_back(identity(*same));
                current.erase(same);
            } else {
                *same = reg;
                successes.push_back(account_success(reg));
            }
            continue;
        }
        if (same != current.end()) {
            errors.push_back(
                account_error(reg, duplicate_code,
                              "이미 계정이 등록된 기관입니다. 기존 계정 먼저 삭제하세요.", ""));
            continue;
        }
        current.push_back(reg);
        successes.push_back(account_success(reg));
    }

    // Every account failed: CODEF's CF-04000 for a registration (create, add, update). A delete
    // that removed nothing keeps the general CF-94002.
    api_result r;
    if (successes.empty() && !errors.empty())
        r = remove
                ? business_error(setup_failed_code, "사용자 계정정보 설정에 실패했습니다.", "")
                : business_error(register_failed_code, "사용자 계정정보 등록에 실패했습니다.", "");
    if (create && !successes.empty())
        cid = registry_.create(current);
    else if (!create && !successes.empty())
        registry_.store(cid, current);
    json::object data{{"successList", std::move(successes)}, {"errorList", std::move(errors)}};
    data["connectedId"] = cid;
    r.data = std::move(data);
    return r;
}

api_result service::product(const product_spec& spec, const json::object& params, bool resumed) {
    for (auto name : spec.required)
        if (!params.contains(name) ||
            (params.at(name).is_string() && params.at(name).get_string().empty()))
            return missing(name);
    if (spec.check)
        if (auto bad = spec.check(params)) return std::move(*bad);
    for (auto name : spec.encrypted)
        if (params.contains(name) && !rsa_decrypt(password_key_.get(), str(params, name)))
            return business_error(invalid_code, "비밀번호 복호화에 실패했습니다.",
                                  std::string(name) + ": does not decrypt with the public key");
    const registration* reg = nullptr;
    std::optional<std::vector<registration>> accounts;
    if (spec.needs_connected_id) {
        accounts = registry_.accounts(str(params, "connectedId"));
        if (!accounts)
            return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                                  "connectedId: not registered");
        const std::string org = str(params, "organization");
        for (const auto& a : *accounts)
            if (a.organization == org) reg = &a;
        if (!reg)
            return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                                  "organization: not registered in connectedId");
    }
    if (const auto* two_way_spec = two_way_product(spec.path)) {
        if (auto pending = two_way(*two_way_spec, params, resumed)) return std::move(*pending);
    }
    return product_data(spec, params, reg);
}

namespace {

std::int64_t now_millis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An integer parameter that may come as a number or a string.
std::optional<std::int64_t> integer(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_string()) {
        std::int64_t n = 0;
        const auto s = v->get_string();
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc{} && end == s.data() + s.size()) return n;
    }
    return std::nullopt;
}

// A tiny JPEG (16x8, grey, a checkerboard), standing in for the captcha image CODEF sends with
// secureNo, as CODEF sends it: a data URL of type img/jpeg.
constexpr const char* captcha =
    "data:img/jpeg;base64,/9j/2wBDABsSFBcUERsXFhceHBsgKEIrKCUlKFE6PTBCYFVlZF9VXVtqeJmBanGQc1tdhbW"
    "GkJ6jq62rZ4C8ybqmx5moq6T/wAALCAAIABABAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAH/xAAdEAAABQUAAAAAAAA"
    "AAAAAAAAAERITFDNjgqGy/9oACAEBAAA/ALVvvYyS4TsKt97GSXCdj//Z";

} // namespace

const emulator_two_way_product* service::two_way_product(std::string_view path) const {
    for (const auto& p : opts_.two_way_products)
        if (p.path == path) return &p;
    return nullptr;
}

// Every challenge, the first and each one after a wrong answer or a new captcha, as CODEF sends
// it: CF-03002 "성공" with the job in data and again in the top-level twoWayInfo, beside
// is2Way. A wrong answer is told apart only by what follows it: too many end the job (CF-12872).
api_result service::two_way_challenge(two_way_job& job) {
    job.timestamp = now_millis();
    const std::string& method = job.product->method;
    json::object extra;
    if (method == "secureNo") {
        extra["reqSecureNo"] = captcha;
        extra["reqSecureNoRefresh"] = "0";
    }
    api_result r = business_error(two_way_code, "성공",
                                  "API 요청 처리가 정상 진행 중입니다. 추가 정보를 입력하세요.");
    r.data = json::object{{"continue2Way", true},
                          {"method", method},
                          {"jobIndex", job.job_index},
                          {"threadIndex", job.thread_index},
                          {"jti", job.jti},
                          {"twoWayTimestamp", job.timestamp},
                          {"extraInfo", std::move(extra)}};
    // In seconds, rounded up: a timeout under a second is not told as none.
    const auto timeout_s = std::chrono::ceil<std::chrono::seconds>(opts_.two_way_timeout).count();
    r.top_level = json::object{{"twoWayInfo", json::object{{"jobIndex", job.job_index},
                                                           {"threadIndex", job.thread_index},
                                                           {"jti", job.jti},
                                                           {"twoWayTimestamp", job.timestamp},
                                                           {"twoWayTimeout", timeout_s}}},
                               {"is2Way", true}};
    return r;
}

std::optional<std::optional<api_result>>
service::shared_two_way(const std::string& id, bool resumed,
                        std::chrono::steady_clock::time_point now) {
    if (const auto s = shared_ids_.find(id); s != shared_ids_.end() && now < s->second.until) {
        // A call that waited learns how the authentication failed; a new one starts another.
        if (s->second.failure && resumed) return s->second.failure;
        if (!s->second.failure) return std::optional<api_result>(); // answered: the data
    }
    const auto p = job_of_id_.find(id);
    if (p == job_of_id_.end()) return std::nullopt;
    const auto j = two_way_jobs_.find(p->second);
    if (j == two_way_jobs_.end() || now - j->second.started > opts_.two_way_timeout) {
        if (!resumed) return std::nullopt; // the old job is over: a new challenge
        return business_error(invalid_code, "추가 인증 입력 시간이 초과되었습니다.",
                              "id: the shared two-way authentication expired");
    }
    if (resumed) // woken without an end: the wait was cut short (the server stopping)
        return business_error(invalid_code, "추가 인증 입력 시간이 초과되었습니다.",
                              "id: the shared two-way authentication is still pending");
    api_result wait;
    wait.wait_for = id;
    wait.wait_limit = std::chrono::ceil<std::chrono::milliseconds>(
        j->second.started + opts_.two_way_timeout - now + std::chrono::milliseconds(20));
    return wait;
}

void service::end_shared(const two_way_job& job, std::chrono::steady_clock::time_point now,
                         const api_result* failure) {
    if (job.id.empty()) return;
    job_of_id_.erase(job.id);
    auto& s = shared_ids_[job.id];
    s.until = now + opts_.two_way_timeout;
    s.failure.reset();
    if (failure) s.failure = *failure;
    if (two_way_done_) two_way_done_(job.id);
}

bool service::two_way_pending(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const auto p = job_of_id_.find(id);
    if (p == job_of_id_.end()) return false;
    const auto j = two_way_jobs_.find(p->second);
    return j != two_way_jobs_.end() &&
           std::chrono::steady_clock::now() - j->second.started <= opts_.two_way_timeout;
}

std::optional<api_result> service::two_way(const emulator_two_way_product& product,
                                           const json::object& params, bool resumed) {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(two_way_jobs_, [&](const auto& j) {
        return now - j.second.started > opts_.two_way_timeout + std::chrono::minutes(10);
    });
    std::erase_if(shared_ids_,
                  [&](const auto& s) { return now > s.second.until + std::chrono::minutes(10); });
    std::erase_if(job_of_id_, [&](const auto& j) { return !two_way_jobs_.contains(j.second); });
    const auto* flag = params.if_contains("is2Way");
    if (!flag || !flag->is_bool() || !flag->get_bool()) {
        const std::string id = str(params, "id");
        if (!id.empty())
            if (auto shared = shared_two_way(id, resumed, now)) return std::move(*shared);
        two_way_job job;
        job.product = &product;
        job.jti = random_hex(16);
        job.job_index = static_cast<std::int64_t>(two_way_jobs_.size() % 16);
        job.started = now;
        job.id = id;
        if (!id.empty()) {
            job_of_id_[id] = job.jti;
            shared_ids_.erase(id); // a new authentication: the old outcome no longer holds
        }
        auto& stored = two_way_jobs_[job.jti] = job;
        return two_way_challenge(stored);
    }
    const auto* info = params.if_contains("twoWayInfo");
    if (!info || !info->is_object()) return missing("twoWayInfo");
    const auto& i = info->get_object();
    const auto it = two_way_jobs_.find(str(i, "jti"));
    // A job answers on its own product's path only.
    if (it == two_way_jobs_.end() || it->second.product != &product)
        return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                              "twoWayInfo: no such two-way job");
    two_way_job& job = it->second;
    if (now - job.started > opts_.two_way_timeout) {
        const api_result expired =
            business_error(invalid_code, "추가 인증 입력 시간이 초과되었습니다.",
                           "id: the shared two-way authentication expired");
        end_shared(job, now, &expired);
        two_way_jobs_.erase(it);
        return business_error(invalid_code, "추가 인증 입력 시간이 초과되었습니다.",
                              "twoWayInfo: the two-way job expired");
    }
    if (integer(i, "jobIndex") != job.job_index || integer(i, "threadIndex") != job.thread_index ||
        integer(i, "twoWayTimestamp") != job.timestamp)
        return business_error(invalid_code, "잘못된 요청 파라미터입니다.",
                              "twoWayInfo: does not match the job");
    const std::string& method = product.method;
    if (method == "secureNo" && str(params, "secureNoRefresh") == "1")
        return two_way_challenge(job); // a new captcha; not a try
    const bool right = method == "simpleAuth" ? str(params, "simpleAuth") == "1"
                                              : str(params, method) == opts_.two_way_answer;
    if (right) {
        end_shared(job, now, nullptr);
        two_way_jobs_.erase(it);
        return std::nullopt;
    }
    if (++job.tries >= opts_.two_way_max_tries) {
        api_result failed = business_error("CF-12872", "추가 인증 재시도 횟수를 초과했습니다.", "");
        end_shared(job, now, &failed);
        two_way_jobs_.erase(it);
        return failed;
    }
    return two_way_challenge(job);
}

// ---------------------------------------------------------------------------------------------
// Admin endpoints: stats, public key, faults

namespace {

json::object stats_json(const emulator_stats& s) {
    json::object by_path;
    for (const auto& [p, n] : s.requests_by_path)
        by_path[printable_path(p)] = n;
    return json::object{{"token_requests", s.token_requests},
                        {"tokens_issued", s.tokens_issued},
                        {"api_requests", s.api_requests},
                        {"unauthorized", s.unauthorized},
                        {"forbidden", s.forbidden},
                        {"requests_by_path", std::move(by_path)},
                        {"connections_accepted", s.connections_accepted},
                        {"tls_handshakes", s.tls_handshakes},
                        {"tls_resumed", s.tls_resumed},
                        {"oauth_connections_accepted", s.oauth_connections_accepted},
                        {"oauth_tls_handshakes", s.oauth_tls_handshakes},
                        {"oauth_tls_resumed", s.oauth_tls_resumed},
                        {"connections_closed", s.connections_closed},
                        {"faults_injected", s.faults_injected},
                        {"two_way_waits", s.two_way_waits}};
}

// Reads the faults object of POST /_emulator/faults; the name of a bad field on failure.
std::variant<emulator_faults, std::string> faults_from_json(const json::object& o) {
    emulator_faults f;
    for (const auto& [key, value] : o) {
        const bool is_number = value.is_int64() || value.is_uint64();
        if (key == "hold_token_replies" || key == "reject_tokens") {
            if (!value.is_bool()) return std::string(key);
            (key == "reject_tokens" ? f.reject_tokens : f.hold_token_replies) = value.get_bool();
            continue;
        }
        if (key == "token_authorities") {
            std::vector<std::string> names;
            if (value.is_null()) {
                names.assign(all_authorities.begin(), all_authorities.end());
            } else if (value.is_array()) {
                for (const auto& a : value.get_array()) {
                    if (!a.is_string() || !authority_bit(a.get_string())) return std::string(key);
                    names.emplace_back(a.get_string());
                }
            } else {
                return std::string(key);
            }
            f.token_authorities = std::move(names);
            continue;
        }
        if (key == "stuck_paging") {
            if (!value.is_string()) return std::string(key);
            const std::string mode(value.get_string());
            if (mode != "" && mode != "none" && mode != "repeat" && mode != "empty" &&
                mode != "wrong_page")
                return std::string(key);
            f.stuck_paging = mode;
            continue;
        }
        if (!is_number || (value.is_int64() && value.get_int64() < 0)) return std::string(key);
        const auto n =
            value.is_int64() ? static_cast<std::uint64_t>(value.get_int64()) : value.get_uint64();
        const auto u = static_cast<unsigned>(std::min<std::uint64_t>(n, 0xffffffffu));
        using ms = std::chrono::milliseconds;
        if (key == "token_lifetime")
            f.token_lifetime = std::chrono::seconds(n);
        else if (key == "idle_close")
            f.idle_close = ms(n);
        else if (key == "requests_per_connection")
            f.requests_per_connection = u;
        else if (key == "reply_delay")
            f.reply_delay = ms(n);
        else if (key == "reply_jitter")
            f.reply_jitter = ms(n);
        else if (key == "fail_next")
            f.fail_next = u;
        else if (key == "fail_status")
            f.fail_status = u;
        else if (key == "retry_after")
            f.retry_after = u;
        else if (key == "reset_next")
            f.reset_next = u;
        else if (key == "truncate_next")
            f.truncate_next = u;
        else if (key == "drop_next")
            f.drop_next = u;
        else if (key == "malformed_next")
            f.malformed_next = u;
        else if (key == "fail_token_next")
            f.fail_token_next = u;
        else if (key == "fail_percent_of_ids")
            f.fail_percent_of_ids = u;
        else
            return std::string(key);
    }
    return f;
}

} // namespace

reply service::admin(const request& r, std::string_view path) {
    if (path == "/_emulator/stats") return json_reply(200, stats_json(stats()));
    if (path == "/_emulator/public-key") {
        reply out;
        out.content_type = "text/plain";
        out.body = public_key_;
        return out;
    }
    if (r.method != "POST") return json_reply(405, json::object{{"error", "method_not_allowed"}});
    if (path == "/_emulator/faults") {
        boost::system::error_code ec;
        json::value v = json::parse(r.body, ec);
        if (ec || !v.is_object())
            return json_reply(400, json::object{{"error", "the body must be a JSON object"}});
        auto f = faults_from_json(v.get_object());
        if (auto* bad = std::get_if<std::string>(&f))
            return json_reply(400, json::object{{"error", "bad field"}, {"field", *bad}});
        apply(std::get<emulator_faults>(f));
        return json_reply(200, json::object{{"ok", true}});
    }
    if (path == "/_emulator/revoke-tokens") {
        revoke_tokens();
        return json_reply(200, json::object{{"ok", true}});
    }
    if (path == "/_emulator/release-token-replies") {
        release_token_replies();
        return json_reply(200, json::object{{"ok", true}});
    }
    if (path == "/_emulator/reset-stats") {
        reset_stats();
        return json_reply(200, json::object{{"ok", true}});
    }
    return json_reply(404, json::object{{"error", "not_found"}, {"path", printable_path(path)}});
}

// ---------------------------------------------------------------------------------------------

emulator_stats service::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void service::reset_stats() {
    std::lock_guard lock(mutex_);
    stats_ = {};
}

void service::count_connection(bool oauth_listener) {
    std::lock_guard lock(mutex_);
    ++(oauth_listener ? stats_.oauth_connections_accepted : stats_.connections_accepted);
}

void service::count_closed() {
    std::lock_guard lock(mutex_);
    ++stats_.connections_closed;
}

void service::count_handshake(bool oauth_listener, bool resumed) {
    std::lock_guard lock(mutex_);
    if (oauth_listener)
        ++(resumed ? stats_.oauth_tls_resumed : stats_.oauth_tls_handshakes);
    else
        ++(resumed ? stats_.tls_resumed : stats_.tls_handshakes);
}

void service::apply(const emulator_faults& f) {
    std::lock_guard lock(mutex_);
    auto set = [](auto& dst, const auto& src) {
        if (src) dst = src;
    };
    set(faults_.token_lifetime, f.token_lifetime);
    set(faults_.token_authorities, f.token_authorities);
    set(faults_.hold_token_replies, f.hold_token_replies);
    set(faults_.reject_tokens, f.reject_tokens);
    set(faults_.idle_close, f.idle_close);
    set(faults_.requests_per_connection, f.requests_per_connection);
    set(faults_.reply_delay, f.reply_delay);
    set(faults_.reply_jitter, f.reply_jitter);
    set(faults_.fail_next, f.fail_next);
    set(faults_.fail_status, f.fail_status);
    set(faults_.retry_after, f.retry_after);
    set(faults_.reset_next, f.reset_next);
    set(faults_.truncate_next, f.truncate_next);
    set(faults_.drop_next, f.drop_next);
    set(faults_.malformed_next, f.malformed_next);
    set(faults_.fail_token_next, f.fail_token_next);
    set(faults_.fail_percent_of_ids, f.fail_percent_of_ids);
    set(faults_.stuck_paging, f.stuck_paging);
}

emulator_faults service::faults() const {
    std::lock_guard lock(mutex_);
    return faults_;
}

void service::revoke_tokens() {
    std::lock_guard lock(mutex_);
    revoked_below_ = token_serial_ + 1;
}

void service::release_token_replies() {
    {
        std::lock_guard lock(mutex_);
        faults_.hold_token_replies = false;
    }
    if (release_) release_();
}

bool service::password_matches(const std::string& connected_id, const std::string& organization,
                               const std::string& plaintext) const {
    std::lock_guard lock(mutex_);
    const auto accounts = registry_.accounts(connected_id);
    if (!accounts) return false;
    const std::string digest = sha256_hex(plaintext);
    return std::any_of(accounts->begin(), accounts->end(), [&](const registration& a) {
        return a.organization == organization && a.password_sha256 == digest;
    });
}

std::size_t service::connected_id_count() const {
    std::lock_guard lock(mutex_);
    return registry_.size();
}

} // namespace codef::emu
