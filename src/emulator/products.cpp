// Product data. Values derive from the connectedId and organization, so the same question gets
// the same answer.
#include "emulator/products.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <functional>

namespace json = boost::json;

namespace codef::emu {
namespace {

const std::array<product_spec, 1> specs{{
    {"/v1/kr/bank/b/account/list", {"connectedId", "organization"}, true},
}};

std::string param(const json::object& p, std::string_view key, std::string_view fallback = "") {
    if (const auto* v = p.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return std::string(fallback);
}

std::uint64_t seed_of(const json::object& p) {
    return std::hash<std::string>{}(param(p, "connectedId") + "/" + param(p, "organization"));
}

std::string digits(std::uint64_t seed, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(static_cast<char>('0' + seed % 10));
        seed = seed / 10 + (seed % 7) * 1000003ull + i;
    }
    return s;
}

json::object tr(const char* date, const char* time, const char* in, const char* out,
                const char* after, const char* d1, const char* d2, const char* d3) {
    return json::object{
        {"resAccountTrDate", date}, {"resAccountTrTime", time},     {"resAccountIn", in},
        {"resAccountOut", out},     {"resAfterTranBalance", after}, {"resAccountDesc1", d1},
        {"resAccountDesc2", d2},    {"resAccountDesc3", d3},        {"resAccountDesc4", ""}};
}

// /v1/kr/bank/b/account/list: the business account's details and its history (CODEF's sample).
api_result bank_b_account_list(const json::object& p) {
    const auto seed = seed_of(p);
    json::array history;
    history.push_back(tr("20190628", "095900", "0", "1", "13634", "(주)OO", "인터넷", "rnd_오전"));
    history.push_back(
        tr("20190627", "174603", "1", "0", "13635", "OO(주)", "타행이체", "rnd_입금표시1"));
    history.push_back(
        tr("20190627", "164618", "1", "0", "13634", "OO(주)", "타행이체", "rnd_입금표시1"));
    history.push_back(tr("20190627", "092130", "0", "1", "13633", "(주)OO", "인터넷", "rnd_오전"));
    api_result r;
    r.data = json::object{
        {"resAccountEndDate", ""},
        {"resLoanLimitAmt", ""},
        {"resWithdrawalAmt", "19615"},
        {"resAccount", "053" + digits(seed, 11)},
        {"resAccountStatus", "활동"},
        {"resLoanEndDate", ""},
        {"commEndDate", param(p, "endDate", "20190630")},
        {"resInterestRate", ""},
        {"resAccountName", "OO기업자유예금"},
        {"resAccountStartDate", "20130605"},
        {"resAccountCurrency", "KRW"},
        {"resAccountBalance", "19615"},
        {"commStartDate", param(p, "startDate", "20190401")},
        {"resTrHistoryList", std::move(history)},
        {"resAccountHolder", "(주)OO"},
        {"resManagementBranch", "(0044)북아현동"},
        {"resLastTranDate", "20190711"},
    };
    return r;
}

} // namespace

const product_spec* find_product(std::string_view path) {
    for (const auto& s : specs)
        if (s.path == path) return &s;
    return nullptr;
}

api_result product_data(const product_spec& spec, const json::object& params, const registration*) {
    if (spec.path == "/v1/kr/bank/b/account/list") return bank_b_account_list(params);
    return {};
}

} // namespace codef::emu
