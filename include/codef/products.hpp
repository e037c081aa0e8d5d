// Typed helpers for the common inquiries: they build the parameters and read the usual fields,
// and keep the whole reply (reply.data) for everything else. When the server asks for two-way
// authentication, two_way holds the challenge and the fields are empty; answer it with
// client::continue_two_way and read the final response with T::from.
#pragma once

#include <codef/accounts.hpp>
#include <codef/response.hpp>
#include <codef/two_way.hpp>

#include <optional>
#include <string>
#include <vector>

namespace codef {

// /v1/kr/bank/{p|b}/account/account-list
struct bank_account_query {
    std::string connected_id{};
    std::string organization{};
    std::string client_type = "P"; // P person, B business: picks the path
};
struct bank_account {
    std::string account{};      // resAccount
    std::string name{};         // resAccountName
    std::string balance;        // resAccountBalance (a string, as CODEF sends amounts)
    std::string deposit_type{}; // resAccountDeposit
    std::string currency{};     // resAccountCurrency
    std::string start_date;     // resAccountStartDate (YYYYMMDD)
};
struct bank_account_list {
    std::vector<bank_account> deposits{}; // resDepositTrust
    response reply{};
    std::optional<two_way_challenge> two_way{};
    static bank_account_list from(response r);
};

// /v1/kr/bank/{p|b}/account/transaction-list
struct bank_transaction_query {
    std::string connected_id{};
    std::string organization{};
    std::string account{};
    std::string start_date{};           // YYYYMMDD
    std::string end_date{};             // YYYYMMDD
    std::string order_by = "0";         // 0 newest first, 1 oldest first
    std::string inquiry_type = "1";     // 1 with the details
    codef::password account_password{}; // some banks want it; RSA-encrypted when plaintext
    std::string client_type = "P";
};
struct bank_transaction {
    std::string date{}, time{};                     // resAccountTrDate, resAccountTrTime
    std::string in{}, out{};                        // resAccountIn, resAccountOut
    std::string balance_after{};                    // resAfterTranBalance
    std::string desc1{}, desc2{}, desc3{}, desc4{}; // resAccountDesc1..4
};
struct bank_transaction_list {
    std::string account{}, account_name{}, balance{};
    std::vector<bank_transaction> history{}; // resTrHistoryList
    response reply{};
    std::optional<two_way_challenge> two_way{};
    static bank_transaction_list from(response r);
};

// /v1/kr/card/{p|b}/account/card-list
struct card_query {
    std::string connected_id{};
    std::string organization{};
    std::string client_type = "P";
};
struct card {
    std::string name{}, number{}, type{}; // resCardName, resCardNo, resCardType
    std::string user_name{};              // resUserNm
    std::string valid_period{};           // resValidPeriod
};
struct card_list {
    std::vector<card> cards{};
    response reply{};
    std::optional<two_way_challenge> two_way{};
    static card_list from(response r);
};

// /v1/kr/card/{p|b}/account/approval-list
struct card_approval_query {
    std::string connected_id{};
    std::string organization{};
    std::string start_date{}, end_date{}; // YYYYMMDD
    std::string order_by = "0";
    std::string inquiry_type = "1"; // 0 one card (card_no), 1 all cards
    std::string card_no{};
    std::string client_type = "P";
};
struct card_approval {
    std::string date{}, time{};         // resApprovalDate, resApprovalTime
    std::string card_no{}, card_name{}; // resCardNo, resCardName
    std::string store{};                // resMemberStoreName
    std::string amount{};               // resUsedAmount
    std::string installment_months{};   // resInstallmentMonth
    std::string approval_no{};          // resApprovalNo
    bool cancelled = false;             // resCancelYN
};
struct card_approval_list {
    std::vector<card_approval> approvals{};
    response reply{};
    std::optional<two_way_challenge> two_way{};
    static card_approval_list from(response r);
};

namespace detail {
// Paths and parameters of the helpers (unit-tested).
std::string product_path(std::string_view business, std::string_view client_type,
                         std::string_view what);
result<boost::json::object> bank_account_params(const bank_account_query& q);
result<boost::json::object> bank_transaction_params(const bank_transaction_query& q,
                                                    const public_key* key);
result<boost::json::object> card_params(const card_query& q);
result<boost::json::object> card_approval_params(const card_approval_query& q);
} // namespace detail

} // namespace codef
