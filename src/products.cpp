// The typed inquiry helpers: parameters in, the usual fields out, the raw reply kept.
#include <codef/client.hpp>
#include <codef/products.hpp>

#include <boost/json/array.hpp>

namespace json = boost::json;
namespace asio = boost::asio;

namespace codef {
namespace {

std::string str(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return {};
}

// The objects of data (an array), or of data[key] (an array inside an object).
std::vector<const json::object*> items(const json::value& data, std::string_view key = {}) {
    const json::value* v = &data;
    if (!key.empty()) {
        const auto* o = data.if_object();
        v = o ? o->if_contains(key) : nullptr;
    }
    std::vector<const json::object*> out;
    if (v && v->is_array())
        for (const auto& item : v->get_array())
            if (item.is_object()) out.push_back(&item.get_object());
    return out;
}

failure missing(const char* field) {
    return make_failure(client_errc::invalid_argument, std::string(field) + ": empty");
}

result<std::monostate> check_date(const std::string& d, const char* field) {
    if (d.size() != 8 || d.find_first_not_of("0123456789") != std::string::npos)
        return make_failure(client_errc::invalid_argument, std::string(field) + ": not YYYYMMDD");
    return std::monostate{};
}

json::object base(const std::string& connected_id, const std::string& organization) {
    json::object p;
    p["connectedId"] = connected_id;
    p["organization"] = organization;
    return p;
}

result<std::monostate> check_base(const std::string& connected_id, const std::string& organization,
                                  const std::string& client_type) {
    if (connected_id.empty()) return missing("connectedId");
    if (organization.empty()) return missing("organization");
    if (client_type != "P" && client_type != "B")
        return make_failure(client_errc::invalid_argument, "clientType: neither \"P\" nor \"B\"");
    return std::monostate{};
}

// Runs a product call and reads its reply into T, or hands over the challenge.
template <class T>
asio::awaitable<result<T>> inquiry(asio::awaitable<result<product_outcome>> call) {
    auto r = co_await std::move(call);
    if (!r) co_return r.get_failure();
    if (auto* challenge = std::get_if<two_way_challenge>(&*r)) {
        T out;
        out.reply = challenge->reply;
        out.two_way = std::move(*challenge);
        co_return out;
    }
    co_return T::from(std::move(std::get<response>(*r)));
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

bank_account_list bank_account_list::from(response r) {
    bank_account_list out;
    for (const auto* a : items(r.data, "resDepositTrust"))
        out.deposits.push_back({str(*a, "resAccount"), str(*a, "resAccountName"),
                                str(*a, "resAccountBalance"), str(*a, "resAccountDeposit"),
                                str(*a, "resAccountCurrency"), str(*a, "resAccountStartDate")});
    out.reply = std::move(r);
    return out;
}

bank_transaction_list bank_transaction_list::from(response r) {
    bank_transaction_list out;
    if (const auto* d = r.data.if_object()) {
        out.account = str(*d, "resAccount");
        out.account_name = str(*d, "resAccountName");
        out.balance = str(*d, "resAccountBalance");
    }
    for (const auto* t : items(r.data, "resTrHistoryList"))
        out.history.push_back(
            {str(*t, "resAccountTrDate"), str(*t, "resAccountTrTime"), str(*t, "resAccountIn"),
             str(*t, "resAccountOut"), str(*t, "resAfterTranBalance"), str(*t, "resAccountDesc1"),
             str(*t, "resAccountDesc2"), str(*t, "resAccountDesc3"), str(*t, "resAccountDesc4")});
    out.reply = std::move(r);
    return out;
}

card_list card_list::from(response r) {
    card_list out;
    for (const auto* c : items(r.data))
        out.cards.push_back({str(*c, "resCardName"), str(*c, "resCardNo"), str(*c, "resCardType"),
                             str(*c, "resUserNm"), str(*c, "resValidPeriod")});
    out.reply = std::move(r);
    return out;
}

card_approval_list card_approval_list::from(response r) {
    card_approval_list out;
    for (const auto* a : items(r.data)) {
        card_approval x;
        x.date = str(*a, "resApprovalDate");
        x.time = str(*a, "resApprovalTime");
        x.card_no = str(*a, "resCardNo");
        x.card_name = str(*a, "resCardName");
        x.store = str(*a, "resMemberStoreName");
        x.amount = str(*a, "resUsedAmount");
        x.installment_months = str(*a, "resInstallmentMonth");
        x.approval_no = str(*a, "resApprovalNo");
        x.cancelled = str(*a, "resCancelYN") == "1" || str(*a, "resCancelYN") == "Y";
        out.approvals.push_back(std::move(x));
    }
    out.reply = std::move(r);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Parameters

namespace detail {

std::string product_path(std::string_view business, std::string_view client_type,
                         std::string_view what) {
    return "/v1/kr/" + std::string(business) + "/" + (client_type == "B" ? "b" : "p") +
           "/account/" + std::string(what);
}

result<json::object> bank_account_params(const bank_account_query& q) {
    if (auto ok = check_base(q.connected_id, q.organization, q.client_type); !ok)
        return ok.get_failure();
    return base(q.connected_id, q.organization);
}

result<json::object> bank_transaction_params(const bank_transaction_query& q,
                                             const public_key* key) {
    if (auto ok = check_base(q.connected_id, q.organization, q.client_type); !ok)
        return ok.get_failure();
    if (q.account.empty()) return missing("account");
    if (auto ok = check_date(q.start_date, "startDate"); !ok) return ok.get_failure();
    if (auto ok = check_date(q.end_date, "endDate"); !ok) return ok.get_failure();
    if (q.end_date < q.start_date)
        return make_failure(client_errc::invalid_argument, "endDate: before startDate");
    json::object p = base(q.connected_id, q.organization);
    p["account"] = q.account;
    p["startDate"] = q.start_date;
    p["endDate"] = q.end_date;
    p["orderBy"] = q.order_by;
    p["inquiryType"] = q.inquiry_type;
    if (!q.account_password.empty()) {
        auto pw = password_param(key, q.account_password, "accountPassword");
        if (!pw) return pw.get_failure();
        p["accountPassword"] = std::move(*pw);
    }
    return p;
}

result<json::object> card_params(const card_query& q) {
    if (auto ok = check_base(q.connected_id, q.organization, q.client_type); !ok)
        return ok.get_failure();
    return base(q.connected_id, q.organization);
}

result<json::object> card_approval_params(const card_approval_query& q) {
    if (auto ok = check_base(q.connected_id, q.organization, q.client_type); !ok)
        return ok.get_failure();
    if (auto ok = check_date(q.start_date, "startDate"); !ok) return ok.get_failure();
    if (auto ok = check_date(q.end_date, "endDate"); !ok) return ok.get_failure();
    if (q.inquiry_type == "0" && q.card_no.empty()) return missing("cardNo");
    json::object p = base(q.connected_id, q.organization);
    p["startDate"] = q.start_date;
    p["endDate"] = q.end_date;
    p["orderBy"] = q.order_by;
    p["inquiryType"] = q.inquiry_type;
    if (!q.card_no.empty()) p["cardNo"] = q.card_no;
    return p;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// client members

asio::awaitable<result<bank_account_list>> client::bank_accounts(bank_account_query q,
                                                                 call_options opts) {
    auto p = detail::bank_account_params(q);
    if (!p) co_return p.get_failure();
    co_return co_await inquiry<bank_account_list>(try_product(
        detail::product_path("bank", q.client_type, "account-list"), std::move(*p), opts));
}

asio::awaitable<result<bank_transaction_list>> client::bank_transactions(bank_transaction_query q,
                                                                         call_options opts) {
    auto p = detail::bank_transaction_params(q, key());
    if (!p) co_return p.get_failure();
    co_return co_await inquiry<bank_transaction_list>(try_product(
        detail::product_path("bank", q.client_type, "transaction-list"), std::move(*p), opts));
}

asio::awaitable<result<card_list>> client::cards(card_query q, call_options opts) {
    auto p = detail::card_params(q);
    if (!p) co_return p.get_failure();
    co_return co_await inquiry<card_list>(
        try_product(detail::product_path("card", q.client_type, "card-list"), std::move(*p), opts));
}

asio::awaitable<result<card_approval_list>> client::card_approvals(card_approval_query q,
                                                                   call_options opts) {
    auto p = detail::card_approval_params(q);
    if (!p) co_return p.get_failure();
    co_return co_await inquiry<card_approval_list>(try_product(
        detail::product_path("card", q.client_type, "approval-list"), std::move(*p), opts));
}

} // namespace codef
