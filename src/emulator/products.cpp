// Product data. Values derive from the parameters (connectedId, organization, dates), so the same
// question gets the same answer.
#include "emulator/products.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <functional>

namespace json = boost::json;

namespace codef::emu {
namespace {

std::optional<api_result> check_simple_auth(const json::object& p);

// Every product in protocol.md, with what it requires.
const std::array<product_spec, 16> specs{{
    {"/v1/kr/bank/p/account/account-list", {"connectedId", "organization"}, true},
    {"/v1/kr/bank/b/account/account-list", {"connectedId", "organization"}, true},
    {"/v1/kr/bank/p/account/transaction-list",
     {"connectedId", "organization", "account", "startDate", "endDate", "orderBy"},
     true,
     {"accountPassword"}},
    {"/v1/kr/bank/b/account/transaction-list",
     {"connectedId", "organization", "account", "startDate", "endDate", "orderBy"},
     true,
     {"accountPassword"}},
    {"/v1/kr/bank/b/account/list", {"connectedId", "organization"}, true},
    {"/v1/kr/card/p/account/card-list", {"connectedId", "organization"}, true},
    {"/v1/kr/card/b/account/card-list", {"connectedId", "organization"}, true},
    {"/v1/kr/card/p/account/approval-list",
     {"connectedId", "organization", "startDate", "endDate", "orderBy", "inquiryType"},
     true},
    {"/v1/kr/card/b/account/approval-list",
     {"connectedId", "organization", "startDate", "endDate", "orderBy", "inquiryType"},
     true},
    {"/v1/kr/card/p/account/billing-list", {"connectedId", "organization"}, true},
    {"/v1/kr/card/b/account/billing-list", {"connectedId", "organization"}, true},
    {"/v1/kr/card/p/account/limit", {"connectedId", "organization"}, true},
    {"/v1/kr/card/b/account/limit", {"connectedId", "organization"}, true},
    {"/v1/kr/public/nt/business/status", {"organization", "reqIdentityList"}, false},
    {"/v1/kr/insurance/0001/credit4u/contract-info", {"id", "password"}, false, {"password"}},
    // The health-checkup results of the national health insurance service, with simple
    // authentication (loginType "5"): the end user confirms in the app of loginTypeLevel.
    {"/v1/kr/public/pp/nhis-health-checkup/result",
     {"loginType", "loginTypeLevel", "userName", "phoneNo", "identity"},
     false,
     {},
     check_simple_auth},
}};

api_result invalid(std::string extra) {
    api_result out;
    out.code = "CF-00007";
    out.message = "잘못된 요청 파라미터입니다.";
    out.extra_message = std::move(extra);
    return out;
}

// loginType "5" (simple authentication), loginTypeLevel "1" (KakaoTalk) to "8" (Toss).
std::optional<api_result> check_simple_auth(const json::object& p) {
    const auto* type = p.if_contains("loginType");
    if (!type->is_string() || type->get_string() != "5")
        return invalid("loginType: \"5\" (simple authentication) is the one this emulator serves");
    // A string as CODEF documents it; a number is read too.
    const auto* level = p.if_contains("loginTypeLevel");
    const bool ok = level->is_string()
                        ? level->get_string().size() == 1 && level->get_string()[0] >= '1' &&
                              level->get_string()[0] <= '8'
                        : level->is_int64() && level->get_int64() >= 1 && level->get_int64() <= 8;
    if (!ok) return invalid("loginTypeLevel: \"1\" to \"8\"");
    return std::nullopt;
}

std::string param(const json::object& p, std::string_view key, std::string_view fallback = "") {
    if (const auto* v = p.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return std::string(fallback);
}

// A small deterministic generator seeded by the question.
class dice {
public:
    explicit dice(const json::object& p)
        : state_(std::hash<std::string>{}(param(p, "connectedId") + "/" + param(p, "organization") +
                                          "/" + param(p, "account")) |
                 1) {}
    std::uint64_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return state_;
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    std::string digits(std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i)
            s.push_back(static_cast<char>('0' + below(10)));
        return s;
    }
    std::string amount(std::uint64_t max) { return std::to_string(below(max / 100 + 1) * 100); }

private:
    std::uint64_t state_;
};

std::string two_digits(std::uint64_t n) {
    return (n < 10 ? "0" : "") + std::to_string(n % 100);
}

// YYYYMMDD for day d (1..28) of the month of a YYYYMMDD date.
std::string day_of(const std::string& yyyymmdd, unsigned d) {
    return (yyyymmdd.size() == 8 ? yyyymmdd.substr(0, 6) : std::string("201906")) + two_digits(d);
}

std::string time_of(dice& r) {
    return two_digits(r.below(24)) + two_digits(r.below(60)) + two_digits(r.below(60));
}

constexpr std::array<const char*, 6> deposit_names{"저축예금", "보통예금",     "OO기업자유예금",
                                                   "정기적금", "청년우대통장", "급여통장"};
constexpr std::array<const char*, 8> stores{"(주)OO마트",    "스타벅스 강남점", "GS25 역삼점",
                                            "쿠팡(주)",      "카카오택시",      "배달의민족",
                                            "이마트 성수점", "올리브영"};
constexpr std::array<const char*, 5> memos{"급여", "타행이체", "인터넷", "ATM출금", "카드대금"};

json::object tr(const char* date, const char* time, const char* in, const char* out,
                const char* after, const char* d1, const char* d2, const char* d3) {
    return json::object{
        {"resAccountTrDate", date}, {"resAccountTrTime", time},     {"resAccountIn", in},
        {"resAccountOut", out},     {"resAfterTranBalance", after}, {"resAccountDesc1", d1},
        {"resAccountDesc2", d2},    {"resAccountDesc3", d3},        {"resAccountDesc4", ""}};
}

// /v1/kr/bank/b/account/list: the business account's details and its history (CODEF's sample).
api_result bank_b_account_list(const json::object& p) {
    dice r(p);
    json::array history;
    history.push_back(tr("20190628", "095900", "0", "1", "13634", "(주)OO", "인터넷", "rnd_오전"));
    history.push_back(
        tr("20190627", "174603", "1", "0", "13635", "OO(주)", "타행이체", "rnd_입금표시1"));
    history.push_back(
        tr("20190627", "164618", "1", "0", "13634", "OO(주)", "타행이체", "rnd_입금표시1"));
    history.push_back(tr("20190627", "092130", "0", "1", "13633", "(주)OO", "인터넷", "rnd_오전"));
    api_result out;
    out.data = json::object{
        {"resAccountEndDate", ""},
        {"resLoanLimitAmt", ""},
        {"resWithdrawalAmt", "19615"},
        {"resAccount", "053" + r.digits(11)},
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
    return out;
}

// account-list: the deposit accounts (and empty loan and fund lists).
api_result bank_account_list(const json::object& p) {
    dice r(p);
    json::array deposits;
    const auto n = 1 + r.below(3);
    for (std::uint64_t i = 0; i < n; ++i)
        deposits.push_back(
            json::object{{"resAccount", "1002" + r.digits(9)},
                         {"resAccountName", deposit_names[r.below(deposit_names.size())]},
                         {"resAccountNickName", ""},
                         {"resAccountDeposit", i == 0 ? "11" : "12"},
                         {"resAccountBalance", r.amount(50'000'000)},
                         {"resAccountCurrency", "KRW"},
                         {"resAccountStartDate", r.below(2) ? "20150302" : "20180115"},
                         {"resAccountEndDate", ""},
                         {"resAccountDisplay", "1002-" + r.digits(3) + "-" + r.digits(6)}});
    api_result out;
    out.data = json::object{{"resDepositTrust", std::move(deposits)},
                            {"resForeignCurrency", json::array{}},
                            {"resFund", json::array{}},
                            {"resLoan", json::array{}},
                            {"resInsurance", json::array{}}};
    return out;
}

// transaction-list: the history of one account between startDate and endDate.
api_result bank_transaction_list(const json::object& p) {
    dice r(p);
    const std::string start = param(p, "startDate"), end = param(p, "endDate");
    const bool newest_first = param(p, "orderBy", "0") == "0";
    std::int64_t balance = static_cast<std::int64_t>(r.below(5'000'000)) + 100'000;
    json::array history;
    const auto n = 5 + r.below(10);
    for (std::uint64_t i = 0; i < n; ++i) {
        const bool income = r.below(3) == 0;
        const std::int64_t amount = static_cast<std::int64_t>(r.below(500) + 1) * 1000;
        balance += income ? amount : -amount;
        const std::string date = day_of(start, static_cast<unsigned>(1 + i * 27 / n));
        history.push_back(
            json::object{{"resAccountTrDate", date},
                         {"resAccountTrTime", time_of(r)},
                         {"resAccountIn", income ? std::to_string(amount) : "0"},
                         {"resAccountOut", income ? "0" : std::to_string(amount)},
                         {"resAfterTranBalance", std::to_string(balance)},
                         {"resAccountDesc1", income ? "(주)OO" : stores[r.below(stores.size())]},
                         {"resAccountDesc2", memos[r.below(memos.size())]},
                         {"resAccountDesc3", ""},
                         {"resAccountDesc4", ""}});
    }
    if (newest_first) std::reverse(history.begin(), history.end());
    api_result out;
    out.data = json::object{{"resAccount", param(p, "account")},
                            {"resAccountName", deposit_names[r.below(deposit_names.size())]},
                            {"resAccountHolder", "홍길동"},
                            {"resAccountBalance", std::to_string(balance)},
                            {"resAccountCurrency", "KRW"},
                            {"resAccountStartDate", "20150302"},
                            {"commStartDate", start},
                            {"commEndDate", end},
                            {"resTrHistoryList", std::move(history)}};
    return out;
}

// card-list: an array of cards.
api_result card_list(const json::object& p) {
    dice r(p);
    json::array cards;
    const auto n = 1 + r.below(3);
    for (std::uint64_t i = 0; i < n; ++i)
        cards.push_back(
            json::object{{"resCardName", i == 0 ? "OO카드 체크" : "OO카드 플래티넘"},
                         {"resCardNo", r.digits(4) + "-" + r.digits(2) + "**-****-" + r.digits(4)},
                         {"resCardType", i == 0 ? "체크" : "신용"},
                         {"resUserNm", "홍길동"},
                         {"resSleepYN", "N"},
                         {"resTrafficYN", r.below(2) ? "Y" : "N"},
                         {"resValidPeriod", "2029" + r.digits(1) + "0"},
                         {"resIssueDate", "2023" + r.digits(1) + "015"}});
    api_result out;
    out.data = std::move(cards);
    return out;
}

// approval-list: an array of card approvals between startDate and endDate.
api_result card_approval_list(const json::object& p) {
    dice r(p);
    const std::string start = param(p, "startDate");
    json::array approvals;
    const auto n = 3 + r.below(10);
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto months = r.below(4) == 0 ? r.below(12) + 2 : 0;
        approvals.push_back(
            json::object{{"resApprovalDate", day_of(start, static_cast<unsigned>(1 + i * 27 / n))},
                         {"resApprovalTime", time_of(r)},
                         {"resCardNo", r.digits(4) + "-****-****-" + r.digits(4)},
                         {"resCardName", "OO카드"},
                         {"resMemberStoreName", stores[r.below(stores.size())]},
                         {"resUsedAmount", r.amount(300'000)},
                         {"resPaymentType", months ? "2" : "1"},
                         {"resInstallmentMonth", months ? std::to_string(months) : ""},
                         {"resApprovalNo", r.digits(8)},
                         {"resCancelYN", r.below(20) == 0 ? "1" : "0"},
                         {"resAccountCurrency", "KRW"}});
    }
    if (param(p, "orderBy", "0") == "0") std::reverse(approvals.begin(), approvals.end());
    api_result out;
    out.data = std::move(approvals);
    return out;
}

api_result card_billing_list(const json::object& p) {
    dice r(p);
    json::array bills;
    for (unsigned m = 1; m <= 3; ++m)
        bills.push_back(json::object{{"resPaymentDueDate", "20190" + std::to_string(m + 4) + "14"},
                                     {"resPaymentAmt", r.amount(2'000'000)},
                                     {"resChargeAmt", "0"},
                                     {"resCardName", "OO카드"},
                                     {"resAccountCurrency", "KRW"}});
    api_result out;
    out.data = std::move(bills);
    return out;
}

api_result card_limit(const json::object& p) {
    dice r(p);
    const auto limit = (r.below(10) + 1) * 1'000'000;
    const auto used = r.below(limit / 1000) * 1000;
    api_result out;
    out.data = json::object{{"resLimitAmount", std::to_string(limit)},
                            {"resUsedAmount", std::to_string(used)},
                            {"resRemainLimit", std::to_string(limit - used)},
                            {"resCashLimitAmount", std::to_string(limit / 5)},
                            {"resAccountCurrency", "KRW"}};
    return out;
}

// business/status: one entry per business registration number asked about.
api_result business_status(const json::object& p) {
    api_result out;
    const auto* list = p.if_contains("reqIdentityList");
    if (!list->is_array()) {
        out.code = "CF-00007";
        out.message = "잘못된 요청 파라미터입니다.";
        out.extra_message = "reqIdentityList";
        return out;
    }
    json::array statuses;
    for (const auto& item : list->get_array()) {
        std::string id;
        if (item.is_object()) id = param(item.get_object(), "reqIdentity");
        const bool known = id.size() == 10;
        statuses.push_back(
            json::object{{"resCompanyIdentityNo", id},
                         {"resBusinessStatus", known ? (id.back() == '0' ? "폐업자" : "계속사업자")
                                                     : "등록되어 있지 않은 사업자등록번호"},
                         {"resTaxationTypeCode", known ? "1" : ""},
                         {"resClosingDate", known && id.back() == '0' ? "20200131" : ""},
                         {"resTransferTaxTypeDate", ""}});
    }
    out.data = std::move(statuses);
    return out;
}

api_result insurance_contracts(const json::object& p) {
    dice r(p);
    json::array contracts;
    for (unsigned i = 0; i < 2; ++i)
        contracts.push_back(
            json::object{{"resCompanyNm", i == 0 ? "OO생명" : "OO화재"},
                         {"resInsuranceName", i == 0 ? "무배당 OO종신보험" : "OO실손의료비보험"},
                         {"resContractStatus", "정상"},
                         {"resPolicyNumber", r.digits(12)},
                         {"resContractDate", "2018" + r.digits(1) + "101"},
                         {"resPremium", r.amount(200'000)}});
    api_result out;
    out.data = json::object{{"resContractList", std::move(contracts)}, {"resUserNm", "홍길동"}};
    return out;
}

// nhis-health-checkup/result: one checkup a year, from searchStartYear to searchEndYear (at most
// ten; 2023 and 2024 when not asked), the same for the same person.
api_result health_checkups(const json::object& p) {
    std::uint64_t seed =
        std::hash<std::string>{}(param(p, "userName") + "/" + param(p, "identity")) | 1;
    auto next = [&seed](std::uint64_t n) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed % n;
    };
    auto year = [](const std::string& s, int fallback) {
        if (s.size() != 4 ||
            !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return fallback;
        return std::stoi(s);
    };
    const int last = year(param(p, "searchEndYear"), 2024);
    const int first = std::max(year(param(p, "searchStartYear"), last - 1), last - 9);
    constexpr std::array<const char*, 4> places{"OO내과의원", "OO건강검진센터", "OO병원",
                                                "OO의료재단"};
    json::array list;
    for (int y = last; y >= first; --y) {
        const auto height = 160 + next(25);
        const auto weight = 50 + next(40);
        const auto bmi10 = weight * 100'000 / (height * height);
        list.push_back(json::object{
            {"resCheckupYear", std::to_string(y)},
            {"resCheckupDate",
             std::to_string(y) + two_digits(3 + next(9)) + two_digits(1 + next(28))},
            {"resOrganizationName", places[next(places.size())]},
            {"resHeight", std::to_string(height)},
            {"resWeight", std::to_string(weight)},
            {"resWaist", std::to_string(65 + next(30))},
            {"resBMI", std::to_string(bmi10 / 10) + "." + std::to_string(bmi10 % 10)},
            {"resSight", "1.0/0.9"},
            {"resHearing", "정상/정상"},
            {"resBloodPressure",
             std::to_string(105 + next(30)) + "/" + std::to_string(65 + next(20))},
            {"resUrinaryProtein", "음성"},
            {"resHemoglobin", std::to_string(12 + next(5)) + "." + std::to_string(next(10))},
            {"resFastingBloodSuger", std::to_string(80 + next(30))},
            {"resTotalCholesterol", std::to_string(150 + next(80))},
            {"resHDLCholesterol", std::to_string(40 + next(30))},
            {"resTriglyceride", std::to_string(60 + next(120))},
            {"resLDLCholesterol", std::to_string(80 + next(70))},
            {"resSerumCreatinine", "0." + std::to_string(7 + next(3))},
            {"resGFR", std::to_string(70 + next(40))},
            {"resAST", std::to_string(15 + next(20))},
            {"resALT", std::to_string(10 + next(25))},
            {"resyGPT", std::to_string(10 + next(40))},
            {"resChestDisease", "정상"},
            {"resOsteoporosis", ""},
            {"resJudgement", next(3) == 0 ? "정상B(경계)" : "정상A"}});
    }
    api_result out;
    out.data =
        json::object{{"resUserName", param(p, "userName")}, {"resPreviewList", std::move(list)}};
    return out;
}

} // namespace

const product_spec* find_product(std::string_view path) {
    for (const auto& s : specs)
        if (s.path == path) return &s;
    return nullptr;
}

api_result product_data(const product_spec& spec, const json::object& params, const registration*) {
    const std::string_view path = spec.path;
    if (path == "/v1/kr/bank/b/account/list") return bank_b_account_list(params);
    if (path.ends_with("/account/account-list")) return bank_account_list(params);
    if (path.ends_with("/account/transaction-list")) return bank_transaction_list(params);
    if (path.ends_with("/account/card-list")) return card_list(params);
    if (path.ends_with("/account/approval-list")) return card_approval_list(params);
    if (path.ends_with("/account/billing-list")) return card_billing_list(params);
    if (path.ends_with("/account/limit")) return card_limit(params);
    if (path == "/v1/kr/public/nt/business/status") return business_status(params);
    if (path == "/v1/kr/public/pp/nhis-health-checkup/result") return health_checkups(params);
    return insurance_contracts(params);
}

} // namespace codef::emu
