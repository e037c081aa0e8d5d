// Account management: parameters (with passwords encrypted), typed results, connectedId pages.
#include <codef/accounts.hpp>
#include <codef/client.hpp>

#include "detail/encoding.hpp"

#include <boost/json/array.hpp>

#include <openssl/crypto.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string_view>
#include <system_error>

namespace json = boost::json;
namespace asio = boost::asio;

namespace codef {

// ---------------------------------------------------------------------------------------------
// secret and password

namespace {
// Zeroes every byte the string owns, not only its size: a short string lives in the object
// itself, and a move leaves its bytes there.
void wipe(std::string& s) noexcept {
    OPENSSL_cleanse(s.data(), s.capacity());
    s.clear();
}
} // namespace

secret& secret::operator=(const secret& other) {
    if (this != &other) {
        wipe(value_);
        value_ = other.value_;
    }
    return *this;
}
secret::secret(secret&& other) noexcept
    : value_(std::move(other.value_)) {
    wipe(other.value_);
}
secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        wipe(value_);
        value_ = std::move(other.value_);
        wipe(other.value_);
    }
    return *this;
}
secret::~secret() {
    wipe(value_);
}

std::ostream& operator<<(std::ostream& os, const secret&) {
    return os << "********";
}
std::ostream& operator<<(std::ostream& os, const password& p) {
    return os << (p.empty() ? "(none)" : p.is_encrypted() ? "(encrypted) ********" : "********");
}

result<std::string> file_to_base64(const std::string& path, std::size_t max_bytes) {
    const auto refuse = [&](const std::string& why) {
        return make_failure(client_errc::invalid_argument, "certificate file " + path + ": " + why);
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) return refuse(ec.message());
    if (!std::filesystem::is_regular_file(status)) return refuse("not a regular file");
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return refuse(ec.message());
    if (size > max_bytes)
        return refuse(std::to_string(size) + " bytes, more than " + std::to_string(max_bytes));
    std::ifstream in(path, std::ios::binary);
    if (!in) return refuse("cannot be opened");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
        return refuse("read ended early");
    std::string out = detail::base64_encode(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size()); // a private key, maybe
    return out;
}

namespace detail {
namespace {

std::string str(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return {};
}

void put_key(json::object& o, const account_key& k) {
    o["countryCode"] = k.country_code;
    o["businessType"] = k.business_type;
    o["clientType"] = k.client_type;
    o["organization"] = k.organization;
    o["loginType"] = k.login_type;
}

account_key read_key(const json::object& o, std::string_view organization_field = "organization") {
    account_key k;
    k.country_code = str(o, "countryCode");
    k.business_type = str(o, "businessType");
    k.client_type = str(o, "clientType");
    k.organization = str(o, organization_field);
    k.login_type = str(o, "loginType");
    return k;
}

failure bad_field(const std::string& field, const char* why) {
    return make_failure(client_errc::invalid_argument, field + ": " + why);
}

std::vector<account_outcome> read_outcomes(const json::object& data, std::string_view list) {
    std::vector<account_outcome> out;
    const auto* v = data.if_contains(list);
    if (!v || !v->is_array()) return out;
    for (const auto& item : v->get_array()) {
        if (!item.is_object()) continue;
        const auto& o = item.get_object();
        account_outcome a;
        static_cast<account_key&>(a) = read_key(o);
        a.code = str(o, "code");
        a.message = str(o, "message");
        a.extra_message = str(o, "extraMessage");
        out.push_back(std::move(a));
    }
    return out;
}

} // namespace

result<std::string> password_param(const public_key* key, const password& p,
                                   std::string_view field) {
    if (p.is_encrypted()) return p.value().reveal();
    if (!key)
        return make_failure(client_errc::missing_public_key,
                            std::string(field) + ": a plaintext password needs config.public_key");
    auto ct = key->encrypt(p.value().reveal());
    if (!ct) return make_failure(ct.error(), std::string(field) + ": " + ct.diag().detail);
    return ct;
}

result<json::object> account_params(const std::vector<account>& accounts, const public_key* key) {
    if (accounts.empty()) return make_failure(client_errc::invalid_argument, "accountList: empty");
    json::array list;
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        const account& a = accounts[i];
        const std::string at = "accountList[" + std::to_string(i) + "].";
        if (a.business_type.empty()) return bad_field(at + "businessType", "empty");
        if (a.organization.size() != 4 ||
            a.organization.find_first_not_of("0123456789") != std::string::npos)
            return bad_field(at + "organization", "not 4 digits");
        if (a.client_type.empty()) return bad_field(at + "clientType", "empty");
        if (a.login_type != login_type::certificate && a.login_type != login_type::id_password)
            return bad_field(at + "loginType",
                             "neither \"0\" (certificate) nor \"1\" (id and password)");
        if (a.login_type == login_type::id_password && a.id.empty())
            return bad_field(at + "id", "empty with loginType \"1\"");
        if (a.login_type == login_type::certificate) {
            if (!a.cert_type.empty() && a.cert_type != "pfx")
                return bad_field(at + "certType",
                                 "neither empty (derFile and keyFile) nor \"pfx\"");
            if (a.cert_type == "pfx") {
                if (a.cert_file.empty())
                    return bad_field(at + "certFile", "empty with certType \"pfx\"");
                if (!a.der_file.empty() || !a.key_file.empty())
                    return bad_field(
                        at + (a.der_file.empty() ? "keyFile" : "derFile"),
                        "given with certType \"pfx\" (certFile holds the certificate)");
            } else if (a.der_file.empty() || a.key_file.empty()) {
                return bad_field(at + (a.der_file.empty() ? "derFile" : "keyFile"),
                                 "empty with loginType \"0\" (or certType \"pfx\" and certFile)");
            }
            for (const auto& [name, value] :
                 {std::pair<const char*, const std::string*>{"derFile", &a.der_file},
                  {"keyFile", &a.key_file},
                  {"certFile", &a.cert_file}})
                if (!value->empty() && !base64_decode(*value))
                    return bad_field(at + name, "not standard base64 (file_to_base64 makes it)");
        }
        if (a.password.empty()) return bad_field(at + "password", "empty");

        json::object o = a.extra;
        put_key(o, a);
        if (!a.id.empty()) o["id"] = a.id;
        if (!a.der_file.empty()) o["derFile"] = a.der_file;
        if (!a.key_file.empty()) o["keyFile"] = a.key_file;
        if (!a.cert_type.empty()) o["certType"] = a.cert_type;
        if (!a.cert_file.empty()) o["certFile"] = a.cert_file;
        if (!a.birthday.empty()) o["birthday"] = a.birthday;
        auto pw = password_param(key, a.password, at + "password");
        if (!pw) return pw.get_failure();
        o["password"] = std::move(*pw);
        list.push_back(std::move(o));
    }
    return json::object{{"accountList", std::move(list)}};
}

json::object account_key_params(const std::vector<account_key>& keys) {
    json::array list;
    for (const auto& k : keys) {
        json::object o;
        put_key(o, k);
        list.push_back(std::move(o));
    }
    return json::object{{"accountList", std::move(list)}};
}

account_result parse_account_result(response r) {
    account_result out;
    if (const auto* data = r.data.if_object()) {
        out.success_list = read_outcomes(*data, "successList");
        out.error_list = read_outcomes(*data, "errorList");
        out.connected_id = str(*data, "connectedId");
    }
    out.reply = std::move(r);
    return out;
}

account_list parse_account_list(response r) {
    account_list out;
    if (const auto* data = r.data.if_object()) {
        if (const auto* list = data->if_contains("accountList"); list && list->is_array())
            for (const auto& item : list->get_array())
                if (item.is_object())
                    out.accounts.push_back(read_key(item.get_object(), "organizationCode"));
        out.connected_id = str(*data, "connectedId");
    }
    out.reply = std::move(r);
    return out;
}

connected_id_page parse_connected_id_page(response r, std::int64_t asked) {
    connected_id_page out;
    out.page_no = asked;
    if (const auto* data = r.data.if_object()) {
        if (const auto* ids = data->if_contains("connectedIdList"); ids && ids->is_array()) {
            out.ids.reserve(ids->get_array().size());
            for (const auto& id : ids->get_array())
                if (id.is_string()) out.ids.emplace_back(id.get_string());
        }
        if (const auto* h = data->if_contains("hasNext"); h && h->is_bool())
            out.has_next = h->get_bool();
        // The page the server says it sent (a number, or a string of one).
        if (const auto* p = data->if_contains("pageNo")) {
            if (p->is_int64())
                out.page_no = p->get_int64();
            else if (p->is_string() && !p->get_string().empty() &&
                     p->get_string().find_first_not_of("0123456789") == std::string::npos)
                out.page_no = std::atoll(p->get_string().c_str());
        }
        if (const auto* n = data->if_contains("nextPageNo")) {
            if (n->is_int64())
                out.next_page_no = n->get_int64();
            else if (n->is_string())
                out.next_page_no = std::atoll(n->get_string().c_str());
        }
    }
    // A server that says there is more but points back would send us round forever. The client
    // never gets here with such a page (page_progress refuses it first); a parse on its own keeps
    // going forward.
    if (out.has_next && out.next_page_no <= asked) out.next_page_no = asked + 1;
    out.reply = std::move(r);
    return out;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// client members

namespace {

// Runs a call whose reply becomes T, keeping business errors as data.
template <class T, class Parse>
asio::awaitable<result<T>> typed(asio::awaitable<result<response>> call, Parse parse) {
    auto r = co_await std::move(call);
    if (!r) co_return r.get_failure();
    co_return parse(std::move(*r));
}

} // namespace

namespace {
// The plaintext passwords of accounts, redacted from whatever their call hands back.
std::vector<secret> plaintexts(const std::vector<account>& accounts) {
    std::vector<secret> out;
    for (const auto& a : accounts)
        if (!a.password.is_encrypted() && !a.password.empty()) out.push_back(a.password.value());
    return out;
}

// The parameters of create (no connectedId), add and update (one needed).
result<json::object> change_params(const std::vector<account>& accounts, const public_key* key,
                                   const std::string* connected_id) {
    if (connected_id && connected_id->empty())
        return make_failure(client_errc::invalid_argument, "connectedId: empty");
    auto params = detail::account_params(accounts, key);
    if (params && connected_id) params->emplace("connectedId", *connected_id);
    return params;
}
} // namespace

asio::awaitable<result<account_result>> client::create_accounts(std::vector<account> accounts,
                                                                call_options opts) {
    auto params = change_params(accounts, key(), nullptr);
    if (!params) co_return params.get_failure();
    co_return co_await typed<account_result>(
        send("/v1/account/create", std::move(*params), opts, false, plaintexts(accounts)),
        detail::parse_account_result);
}

asio::awaitable<result<account_result>>
client::add_accounts(std::string connected_id, std::vector<account> accounts, call_options opts) {
    auto params = change_params(accounts, key(), &connected_id);
    if (!params) co_return params.get_failure();
    co_return co_await typed<account_result>(
        send("/v1/account/add", std::move(*params), opts, false, plaintexts(accounts)),
        detail::parse_account_result);
}

asio::awaitable<result<account_result>> client::update_accounts(std::string connected_id,
                                                                std::vector<account> accounts,
                                                                call_options opts) {
    auto params = change_params(accounts, key(), &connected_id);
    if (!params) co_return params.get_failure();
    co_return co_await typed<account_result>(
        send("/v1/account/update", std::move(*params), opts, false, plaintexts(accounts)),
        detail::parse_account_result);
}

asio::awaitable<result<account_result>> client::delete_accounts(std::string connected_id,
                                                                std::vector<account_key> keys,
                                                                call_options opts) {
    if (connected_id.empty())
        co_return make_failure(client_errc::invalid_argument, "connectedId: empty");
    if (keys.empty()) co_return make_failure(client_errc::invalid_argument, "accountList: empty");
    json::object params = detail::account_key_params(keys);
    params.emplace("connectedId", connected_id);
    co_return co_await typed<account_result>(
        send("/v1/account/delete", std::move(params), opts, false), detail::parse_account_result);
}

asio::awaitable<result<account_list>> client::list_accounts(std::string connected_id,
                                                            call_options opts) {
    if (connected_id.empty())
        co_return make_failure(client_errc::invalid_argument, "connectedId: empty");
    json::object params;
    params.emplace("connectedId", connected_id);
    co_return co_await typed<account_list>(send("/v1/account/list", std::move(params), opts, false),
                                           detail::parse_account_list);
}

namespace {

// A page number as the server sent it: an integer, or a string of digits (sometimes).
struct page_field {
    bool present = false;
    std::optional<std::int64_t> value; // empty: present, but not a page number
};

page_field page_number(const json::object& data, std::string_view key) {
    const auto* v = data.if_contains(key);
    if (!v || v->is_null()) return {};
    if (v->is_int64()) return {true, v->get_int64()};
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return {true, static_cast<std::int64_t>(v->get_uint64())};
    if (v->is_string()) {
        const auto s = v->get_string();
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return {true, n};
    }
    return {true, std::nullopt};
}

std::string shown(const page_field& f) {
    return f.value ? std::to_string(*f.value) : std::string("(not a number)");
}

failure stalled(std::int64_t asked, std::string why) {
    return make_failure(protocol_errc::paging_stalled,
                        "connectedId-list page " + std::to_string(asked) + ": " + std::move(why));
}

// A page that would not take the listing forward: hasNext with a nextPageNo not after the page
// asked, or a pageNo other than the page asked. (Only for CF-00000 replies: the others are data.)
std::optional<failure> page_progress(const response& r, std::int64_t asked) {
    const auto* data = r.data.if_object();
    if (!r.ok() || !data) return std::nullopt;
    if (auto page = page_number(*data, "pageNo"); page.present && page.value != asked)
        return stalled(asked, "the server answered pageNo " + shown(page));
    const auto* has_next = data->if_contains("hasNext");
    if (!has_next || !has_next->is_bool() || !has_next->get_bool()) return std::nullopt;
    if (auto next = page_number(*data, "nextPageNo");
        next.present && (!next.value || *next.value <= asked))
        return stalled(asked, "hasNext with nextPageNo " + shown(next));
    return std::nullopt;
}

} // namespace

asio::awaitable<result<connected_id_page>> client::connected_ids_page(std::int64_t page_no,
                                                                      call_options opts) {
    if (page_no < 0) co_return make_failure(client_errc::invalid_argument, "pageNo: negative");
    json::object params;
    params.emplace("pageNo", page_no);
    auto r = co_await send("/v1/account/connectedId-list", std::move(params), opts, false);
    if (!r) co_return r.get_failure();
    if (auto stuck = page_progress(*r, page_no)) {
        stuck->diag.http_status = 200;
        stuck->diag.codef_code = r->code;
        stuck->diag.transaction_id = r->transaction_id;
        co_return std::move(*stuck);
    }
    co_return detail::parse_connected_id_page(std::move(*r), page_no);
}

connected_id_stream client::connected_ids(call_options opts) {
    return connected_id_stream(*this, opts);
}

// ---------------------------------------------------------------------------------------------
// connected_id_stream

asio::awaitable<result<bool>> connected_id_stream::fill() {
    // Empty pages that say there is more: a few are tolerated, then it is a stall.
    constexpr int max_empty_pages = 3;
    int empty_pages = 0;
    while (pos_ == page_.size()) {
        if (done_) co_return false;
        auto page = co_await client_->connected_ids_page(next_page_no_, opts_);
        if (!page) co_return page.get_failure();
        if (!page->reply.ok()) {
            diagnostics d;
            d.codef_code = page->reply.code;
            d.codef_message = page->reply.message;
            d.detail = "connectedId-list page " + std::to_string(next_page_no_);
            co_return failure{page->reply.error(), std::move(d)};
        }
        ++pages_read_;
        if (page->ids.empty() && page->has_next && ++empty_pages >= max_empty_pages)
            co_return stalled(next_page_no_, std::to_string(empty_pages) +
                                                 " empty pages in a row, each with hasNext");
        page_ = std::move(page->ids);
        pos_ = 0;
        done_ = !page->has_next;
        next_page_no_ = page->next_page_no;
    }
    co_return true;
}

asio::awaitable<result<std::optional<std::string>>> connected_id_stream::next() {
    auto more = co_await fill();
    if (!more) co_return more.get_failure();
    if (!*more) co_return std::optional<std::string>{};
    co_return std::optional<std::string>(std::move(page_[pos_++]));
}

asio::awaitable<result<std::vector<std::string>>> connected_id_stream::next_page() {
    auto more = co_await fill();
    if (!more) co_return more.get_failure();
    std::vector<std::string> out;
    if (!*more) co_return out;
    out.assign(std::make_move_iterator(page_.begin() + static_cast<std::ptrdiff_t>(pos_)),
               std::make_move_iterator(page_.end()));
    page_.clear();
    pos_ = 0;
    co_return out;
}

} // namespace codef
