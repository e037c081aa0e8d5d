/// @file
/// @brief Typed helpers for the common inquiries: they build the parameters and read the usual
/// fields, and keep the whole reply (reply.data) for everything else. When the server asks for
/// two-way authentication, two_way holds the challenge and the fields are empty; answer it with
/// client::continue_two_way and read the final response with T::from.
#pragma once

#include <codef/accounts.hpp>
#include <codef/response.hpp>
#include <codef/two_way.hpp>

#include <optional>
#include <string>
#include <vector>

namespace codef {

/// The query of client::bank_accounts: /v1/kr/bank/{p|b}/account/account-list.
struct bank_account_query {
    std::string connected_id{};    ///< connectedId (required)
    std::string organization{};    ///< the bank's organization code (required)
    std::string client_type = "P"; ///< P person, B business: picks the path
};
/// One account of a bank_account_list.
struct bank_account {
    std::string account{};      ///< resAccount
    std::string name{};         ///< resAccountName
    std::string balance;        ///< resAccountBalance (a string, as CODEF sends amounts)
    std::string deposit_type{}; ///< resAccountDeposit
    std::string currency{};     ///< resAccountCurrency
    std::string start_date;     ///< resAccountStartDate (YYYYMMDD)
};
/// What client::bank_accounts came to.
struct bank_account_list {
    std::vector<bank_account> deposits{}; ///< resDepositTrust
    response reply{};                     ///< the whole reply (reply.data holds every other field)
    /// The challenge, when the server asks for two-way authentication (the fields are then
    /// empty).
    std::optional<two_way_challenge> two_way{};
    /// Reads a reply: the fields it finds, and the reply whole. Also for the final response of
    /// a two-way exchange.
    static bank_account_list from(response r);
};

/// The query of client::bank_transactions: /v1/kr/bank/{p|b}/account/transaction-list.
struct bank_transaction_query {
    std::string connected_id{};         ///< connectedId (required)
    std::string organization{};         ///< the bank's organization code (required)
    std::string account{};              ///< the account number (required)
    std::string start_date{};           ///< YYYYMMDD
    std::string end_date{};             ///< YYYYMMDD
    std::string order_by = "0";         ///< 0 newest first, 1 oldest first
    std::string inquiry_type = "1";     ///< 1 with the details
    codef::password account_password{}; ///< some banks want it; RSA-encrypted when plaintext
    std::string client_type = "P";      ///< P person, B business: picks the path
};
/// One transaction of a bank_transaction_list.
struct bank_transaction {
    /// @var std::string date
    /// resAccountTrDate
    /// @var std::string time
    /// resAccountTrTime
    std::string date{}, time{};
    /// @var std::string in
    /// resAccountIn
    /// @var std::string out
    /// resAccountOut
    std::string in{}, out{};
    std::string balance_after{}; ///< resAfterTranBalance
    /// @var std::string desc1
    /// resAccountDesc1
    /// @var std::string desc2
    /// resAccountDesc2
    /// @var std::string desc3
    /// resAccountDesc3
    /// @var std::string desc4
    /// resAccountDesc4
    std::string desc1{}, desc2{}, desc3{}, desc4{};
};
/// What client::bank_transactions came to.
struct bank_transaction_list {
    /// @var std::string account
    /// resAccount
    /// @var std::string account_name
    /// resAccountName
    /// @var std::string balance
    /// resAccountBalance
    std::string account{}, account_name{}, balance{};
    std::vector<bank_transaction> history{}; ///< resTrHistoryList
    response reply{}; ///< the whole reply (reply.data holds every other field)
    /// The challenge, when the server asks for two-way authentication (the fields are then
    /// empty).
    std::optional<two_way_challenge> two_way{};
    /// Reads a reply: the fields it finds, and the reply whole. Also for the final response of
    /// a two-way exchange.
    static bank_transaction_list from(response r);
};

/// The query of client::cards: /v1/kr/card/{p|b}/account/card-list.
struct card_query {
    std::string connected_id{};    ///< connectedId (required)
    std::string organization{};    ///< the card company's organization code (required)
    std::string client_type = "P"; ///< P person, B business: picks the path
};
/// One card of a card_list.
struct card {
    /// @var std::string name
    /// resCardName
    /// @var std::string number
    /// resCardNo
    /// @var std::string type
    /// resCardType
    std::string name{}, number{}, type{};
    std::string user_name{};    ///< resUserNm
    std::string valid_period{}; ///< resValidPeriod
};
/// What client::cards came to.
struct card_list {
    std::vector<card> cards{}; ///< the cards (data, an array)
    response reply{};          ///< the whole reply (reply.data holds every other field)
    /// The challenge, when the server asks for two-way authentication (the fields are then
    /// empty).
    std::optional<two_way_challenge> two_way{};
    /// Reads a reply: the fields it finds, and the reply whole. Also for the final response of
    /// a two-way exchange.
    static card_list from(response r);
};

/// The query of client::card_approvals: /v1/kr/card/{p|b}/account/approval-list.
struct card_approval_query {
    std::string connected_id{}; ///< connectedId (required)
    std::string organization{}; ///< the card company's organization code (required)
    /// @var std::string start_date
    /// YYYYMMDD
    /// @var std::string end_date
    /// YYYYMMDD
    std::string start_date{}, end_date{};
    std::string order_by = "0";     ///< orderBy, sent as it is
    std::string inquiry_type = "1"; ///< 0 one card (card_no), 1 all cards
    std::string card_no{};          ///< the card, with inquiry_type "0"
    std::string client_type = "P";  ///< P person, B business: picks the path
};
/// One approval of a card_approval_list.
struct card_approval {
    /// @var std::string date
    /// resApprovalDate
    /// @var std::string time
    /// resApprovalTime
    std::string date{}, time{};
    /// @var std::string card_no
    /// resCardNo
    /// @var std::string card_name
    /// resCardName
    std::string card_no{}, card_name{};
    std::string store{};              ///< resMemberStoreName
    std::string amount{};             ///< resUsedAmount
    std::string installment_months{}; ///< resInstallmentMonth
    std::string approval_no{};        ///< resApprovalNo
    bool cancelled = false;           ///< resCancelYN: "1" or "Y"
};
/// What client::card_approvals came to.
struct card_approval_list {
    std::vector<card_approval> approvals{}; ///< the approvals (data, an array)
    response reply{}; ///< the whole reply (reply.data holds every other field)
    /// The challenge, when the server asks for two-way authentication (the fields are then
    /// empty).
    std::optional<two_way_challenge> two_way{};
    /// Reads a reply: the fields it finds, and the reply whole. Also for the final response of
    /// a two-way exchange.
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
