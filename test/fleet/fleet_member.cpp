// A member of a fleet for the fleet token test: a process with one client whose token store is
// PostgreSQL (pg_token_store), driven by lines on standard input.
//   fleet_member API_URL OAUTH_URL CA_FILE PG_URI
//   "calls N": N calls at once of the connectedId list; answers "ok K" (K succeeded)
//   "quit" or the end of the input: exits 0
#include <codef/client.hpp>
#include <codef/fleet.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

namespace asio = boost::asio;

namespace {

// n calls at once; each one's frame holds the tally (shared), none refers to this frame.
asio::awaitable<int> calls(codef::client& c, int n) {
    struct tally {
        explicit tally(asio::any_io_executor ex)
            : all_done(std::move(ex), asio::steady_timer::time_point::max()) {}
        std::atomic<int> ok{0}, left{0};
        asio::steady_timer all_done;
    };
    auto ex = co_await asio::this_coro::executor;
    auto t = std::make_shared<tally>(ex);
    t->left = n;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(
            ex,
            [](codef::client& c, std::shared_ptr<tally> t) -> asio::awaitable<void> {
                auto r = co_await c.try_request("/v1/account/connectedId-list", {});
                if (r && r->ok()) ++t->ok;
            }(c, t),
            [t](std::exception_ptr) {
                if (--t->left == 0) t->all_done.cancel();
            });
    if (n > 0) co_await t->all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return t->ok.load();
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: fleet_member API_URL OAUTH_URL CA_FILE PG_URI\n";
        return 2;
    }
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });
    int status = 0;
    {
        codef::config cfg;
        cfg.api_url = argv[1];
        cfg.oauth_url = argv[2];
        cfg.ca_file = argv[3];
        cfg.token_store =
            codef::fleet::pg_token_store::make(ioc.get_executor(), {argv[4], "fleet"});
        codef::client c(ioc.get_executor(), cfg);
        for (std::string line; std::getline(std::cin, line) && line != "quit";) {
            if (!line.starts_with("calls ")) {
                std::cerr << "fleet_member: unknown command: " << line << "\n";
                status = 2;
                break;
            }
            const int n = std::stoi(line.substr(6));
            auto f = asio::co_spawn(ioc, calls(c, n), asio::use_future);
            std::cout << "ok " << f.get() << std::endl;
        }
        // No call is left: the io_context stops before the client and its store go.
        work.reset();
        ioc.stop();
        runner.join();
    }
    return status;
}
