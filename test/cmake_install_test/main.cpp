// A program that uses codef as its users do: one call against codef::emulator. Built four ways
// by scripts/consumer-test.sh: find_package, pkg-config, add_subdirectory, and add_subdirectory
// with the application compiling Asio itself (CODEF_ASIO_SEPARATE_COMPILATION=OFF).
// It runs the io_context with io_context::run(error_code&), one of Asio's deprecated interfaces:
// codef must neither hide them from its users (BOOST_ASIO_NO_DEPRECATED) nor leave them out of
// the Asio it compiles.
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
    boost::system::error_code ec;
    ioc.run(ec);
    std::cout << "codef " << CODEF_VERSION_STRING << ": " << (ok ? "ok" : "failed") << "\n";
    return ok && !ec ? 0 : 1;
}
