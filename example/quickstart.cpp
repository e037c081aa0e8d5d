// Quickstart: issue a token, register a bank account with an encrypted password, list the
// accounts, and ask the bank for the account's details.
//
//   quickstart                     runs against a CODEF emulator started inside this process
//   quickstart --sandbox           runs against https://sandbox.codef.io (needs the network)
#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <ctime>
#include <iostream>
#include <optional>
#include <string_view>

namespace asio = boost::asio;
namespace json = boost::json;

static std::string_view text(const json::value& v) {
    return v.as_string();
}

asio::awaitable<void> quickstart(codef::client& client) {
    // 1. The token: issued once, then reused by every call until shortly before it expires.
    const codef::token_info token = (co_await client.try_token()).value();
    const std::time_t expiry = std::chrono::system_clock::to_time_t(token.expires_at);
    std::cout << "token issued, valid until " << std::asctime(std::gmtime(&expiry));

    // 2. Register an end user's bank login. The password leaves this process RSA-encrypted.
    const std::string public_key = client.get_config().public_key;
    json::object account{{"countryCode", "KR"},
                         {"businessType", "BK"},
                         {"clientType", "P"},
                         {"organization", "0004"},
                         {"loginType", "1"},
                         {"id", "user1234"},
                         {"password", codef::encrypt_password(public_key, "my-bank-password")}};
    // (Parameters are built before co_await: GCC 12 miscompiles brace lists inside co_await.)
    json::object create_params{{"accountList", json::array{account}}};
    codef::response created = co_await client.request("/v1/account/create", create_params);
    if (!created.ok()) {
        std::cout << "registration refused: " << created.code << " " << created.message << "\n";
        co_return;
    }
    const std::string connected_id(text(created.data.at("connectedId")));
    std::cout << "registered, connectedId " << connected_id << "\n";

    // 3. What is registered under that connectedId.
    json::object list_params{{"connectedId", connected_id}};
    codef::response listed = co_await client.request("/v1/account/list", list_params);
    for (const auto& a : listed.data.at("accountList").as_array())
        std::cout << "  " << text(a.at("businessType")) << " " << text(a.at("organizationCode"))
                  << " (client type " << text(a.at("clientType")) << ")\n";

    // 4. A product call with connectedId alone. Business results, errors included, are data.
    json::object bank_params{{"connectedId", connected_id},
                             {"organization", "0004"},
                             {"startDate", "20190601"},
                             {"endDate", "20190630"}};
    codef::response bank = co_await client.request("/v1/kr/bank/b/account/list", bank_params);
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
    const bool sandbox = argc > 1 && std::string_view(argv[1]) == "--sandbox";
    std::optional<codef::emulator> emulator;
    codef::config cfg;
    if (sandbox) {
        cfg.env = codef::environment::sandbox; // the public sandbox credentials
    } else {
        emulator.emplace();
        cfg = emulator->client_config();
        std::cout << "CODEF emulator at " << emulator->api_url() << "\n";
    }
    try {
        asio::io_context ioc;
        codef::client client(ioc.get_executor(), cfg);
        std::exception_ptr failed;
        asio::co_spawn(ioc, quickstart(client), [&](std::exception_ptr e) { failed = e; });
        ioc.run();
        if (failed) std::rethrow_exception(failed);
    } catch (const std::exception& e) {
        std::cerr << "quickstart: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
