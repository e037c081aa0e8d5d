// Registering an end user's bank and card logins, adding one, changing a password, listing what
// the connectedId holds, and removing a login.
#include "example.hpp"

namespace asio = boost::asio;

static codef::account login(const char* business, const char* organization, const char* password) {
    codef::account a;
    a.business_type = business;    // codef::business_type::bank, ::card, ...
    a.organization = organization; // the organization's 4-digit code
    a.client_type = codef::client_type::person;
    a.login_type = codef::login_type::id_password;
    a.id = "user1234";
    a.password = codef::password::plaintext(password); // encrypted with config.public_key
    return a;
}

static void print(const char* what, const codef::account_result& r) {
    std::cout << what << ": " << r.reply.code << " " << r.reply.message << ", connectedId "
              << r.connected_id << "\n";
    for (const auto& ok : r.success_list)
        std::cout << "  registered " << ok.business_type << " " << ok.organization << "\n";
    for (const auto& e : r.error_list)
        std::cout << "  refused " << e.organization << ": " << e.code << " " << e.message << " "
                  << e.extra_message << "\n";
}

static asio::awaitable<void> accounts(codef::client& client) {
    // A create may partly succeed: each account has its own outcome. (The lists are built
    // before co_await: GCC 12 miscompiles brace lists inside a co_await expression.)
    std::vector<codef::account> first{login(codef::business_type::bank, "0004", "bank-password"),
                                      login(codef::business_type::card, "0309", "card-password")};
    codef::account_result created = (co_await client.create_accounts(first)).value();
    print("create", created);
    const std::string cid = created.connected_id;

    std::vector<codef::account> more{login(codef::business_type::bank, "0088", "other")};
    print("add", (co_await client.add_accounts(cid, more)).value());
    // Registering the same organization and client type twice is refused for that account.
    print("add again", (co_await client.add_accounts(cid, more)).value());
    std::vector<codef::account> changed{login(codef::business_type::bank, "0004", "new-password")};
    print("update", (co_await client.update_accounts(cid, changed)).value());

    codef::account_key card;
    card.business_type = codef::business_type::card;
    card.organization = "0309";
    std::vector<codef::account_key> gone{card};
    print("delete", (co_await client.delete_accounts(cid, gone)).value());

    codef::account_list listed = (co_await client.list_accounts(cid)).value();
    std::cout << "connectedId " << listed.connected_id << " holds:\n";
    for (const auto& a : listed.accounts)
        std::cout << "  " << a.business_type << " " << a.organization << " (client type "
                  << a.client_type << ", login type " << a.login_type << ")\n";
}

int main(int argc, char** argv) {
    return example::run(argc, argv, accounts);
}
