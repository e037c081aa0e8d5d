// A transaction inquiry: the accounts of a connectedId at a bank, then one account's history.
#include "example.hpp"

namespace asio = boost::asio;

static asio::awaitable<void> transactions(codef::client& client) {
    // A connectedId with a bank login (against the emulator: a seeded one).
    codef::connected_id_page page = (co_await client.connected_ids_page(0)).value();
    const std::string cid = page.ids.at(0);
    codef::account_list registered = (co_await client.list_accounts(cid)).value();
    const std::string bank = registered.accounts.at(0).organization;

    codef::bank_account_query which;
    which.connected_id = cid;
    which.organization = bank;
    codef::bank_account_list accounts = (co_await client.bank_accounts(which)).value();
    if (!accounts.reply.ok()) {
        std::cout << "account list: " << accounts.reply.code << " " << accounts.reply.message
                  << "\n";
        co_return;
    }
    for (const auto& a : accounts.deposits)
        std::cout << a.account << "  " << a.name << "  " << a.balance << " " << a.currency << "\n";

    codef::bank_transaction_query q;
    q.connected_id = cid;
    q.organization = bank;
    q.account = accounts.deposits.at(0).account;
    q.start_date = "20190601";
    q.end_date = "20190630";
    q.order_by = "0"; // newest first
    codef::bank_transaction_list history = (co_await client.bank_transactions(q)).value();
    std::cout << "\n"
              << history.account << " " << history.account_name << ", balance " << history.balance
              << "\n";
    for (const auto& t : history.history)
        std::cout << "  " << t.date << " " << t.time << "  in " << t.in << "  out " << t.out
                  << "  after " << t.balance_after << "  " << t.desc1 << " / " << t.desc2 << "\n";
    // Fields the helper does not name are in the raw reply.
    std::cout << "holder: "
              << std::string_view(history.reply.data.at("resAccountHolder").as_string()) << "\n";
}

int main(int argc, char** argv) {
    codef::emulator_options seeded;
    seeded.seed_connected_ids = 3;
    return example::run(argc, argv, transactions, seeded);
}
