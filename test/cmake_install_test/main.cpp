// A program that uses codef as its users do: one call against codef::emulator. Built three
// ways by scripts/consumer-test.sh: find_package, pkg-config and add_subdirectory.
#include <codef/client.hpp>
#include <codef/emulator.hpp>
#include <codef/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

int main() {
    codef::emulator emu;
    boost::asio::io_context ioc;
    codef::client client(ioc.get_executor(), emu.client_config());
    bool ok = false;
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            auto r = co_await client.try_request("/v1/account/connectedId-list", {});
            ok = r && r->ok();
        },
        boost::asio::detached);
    ioc.run();
    std::cout << "codef " << CODEF_VERSION_STRING << ": " << (ok ? "ok" : "failed") << "\n";
    return ok ? 0 : 1;
}
