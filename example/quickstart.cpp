// Quickstart: issue a token, register a bank login with an encrypted password, list what the
// connectedId holds, and ask the bank for the account's details.
//
//   quickstart             runs against a CODEF emulator started inside this process
//   quickstart --sandbox   runs against https://sandbox.codef.io (needs the network)
#include "example.hpp"

#include <boost/json.hpp>

#include <ctime>

namespace asio = boost::asio;
namespace json = boost::json;

static std::string_view text(const json::value& v) {
    return v.as_string();
}

static asio::awaitable<void> quickstart(codef::client& client) {
    // 1. The token: issued once, then reused by every call until shortly before it expires.
    const codef::token_info token = (co_await client.try_token()).value();
    const std::time_t expiry = std::chrono::system_clock::to_time_t(token.expires_at);
    std::cout << "token issued, valid until " << std::asctime(std::gmtime(&expiry));

    // 2. Register an end user's bank login. The password leaves this process RSA-encrypted with
    //    config.public_key.
    codef::account login;
    login.business_type = codef::business_type::bank;
    login.organization = "0004";
    login.id = "user1234";
    login.password = codef::password::plaintext("my-bank-password");
    std::vector<codef::account> logins{login};
    codef::account_result created = (co_await client.create_accounts(logins)).value();
    if (created.connected_id.empty()) {
        std::cout << "registration refused: " << created.reply.code << " " << created.reply.message
                  << "\n";
        co_return;
    }
    const std::string connected_id = created.connected_id;
    std::cout << "registered, connectedId " << connected_id << "\n";

    // 3. What is registered under that connectedId.
    codef::account_list listed = (co_await client.list_accounts(connected_id)).value();
    for (const auto& a : listed.accounts)
        std::cout << "  " << a.business_type << " " << a.organization << " (client type "
                  << a.client_type << ")\n";

    // 4. A product call with connectedId alone, through the generic call. Business results,
    //    errors included, are data: check code. (Parameters are built before co_await: GCC 12
    //    miscompiles brace lists inside a co_await expression.)
    json::object params{{"connectedId", connected_id},
                        {"organization", "0004"},
                        {"startDate", "20190601"},
                        {"endDate", "20190630"}};
    codef::response bank = co_await client.request("/v1/kr/bank/b/account/list", params);
    std::cout << "bank said " << bank.code << " " << bank.message << "\n";
    if (bank.ok()) {
        const auto& d = bank.data.as_object();
        std::cout << "  account " << text(d.at("resAccount")) << " " << text(d.at("resAccountName"))
                  << ", balance " << text(d.at("resAccountBalance")) << " KRW\n";
        for (const auto& t : d.at("resTrHistoryList").as_array())
            std::cout << "  " << text(t.at("resAccountTrDate")) << " in "
                      << text(t.at("resAccountIn")) << " out " << text(t.at("resAccountOut"))
                      << "  " << text(t.at("resAccountDesc3")) << "\n";
    }
    const codef::client_stats s = client.stats();
    std::cout << "calls " << s.calls << ", token requests " << s.token_requests << ", connections "
              << s.connections_opened << "\n";
}

int main(int argc, char** argv) {
    return example::run(argc, argv, quickstart);
}
