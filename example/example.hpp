// What every example shares: a client against a CODEF emulator started in this process (no
// arguments), or against the public sandbox (--sandbox, needs the network).
#pragma once

#include <codef/client.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <iostream>
#include <optional>
#include <string_view>

namespace example {

using body_fn = std::function<boost::asio::awaitable<void>(codef::client&)>;
// Changes the config before the client is made (a log, an observer); the emulator is null with
// --sandbox.
using prepare_fn = std::function<void(codef::config&, codef::emulator*)>;

inline int run(int argc, char** argv, const body_fn& body, codef::emulator_options opts = {},
               const prepare_fn& prepare = {}) {
    const bool sandbox = argc > 1 && std::string_view(argv[1]) == "--sandbox";
    std::optional<codef::emulator> emulator;
    codef::config cfg;
    if (!sandbox) {
        emulator.emplace(std::move(opts));
        cfg = emulator->client_config();
        std::cout << "CODEF emulator at " << emulator->api_url() << "\n";
    }
    if (prepare) prepare(cfg, emulator ? &*emulator : nullptr);
    try {
        boost::asio::io_context ioc;
        codef::client client(ioc.get_executor(), cfg);
        std::exception_ptr failed;
        boost::asio::co_spawn(ioc, body(client), [&](std::exception_ptr e) { failed = e; });
        ioc.run();
        if (failed) std::rethrow_exception(failed);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

} // namespace example
