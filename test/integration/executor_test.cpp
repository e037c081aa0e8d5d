// Where a call runs: on the caller's executor with no strand (config::thread_safe = false, or a
// caller already on a strand), or on a strand of its own. Many calls through a small pool with a
// token reissue midway, on one thread and on four. Also run under ThreadSanitizer.
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace asio = boost::asio;
using namespace codef;

namespace {

struct fixture {
    emulator emu{[] {
        emulator_options o;
        o.threads = 2;
        return o;
    }()};
    asio::io_context ioc;
};

// A call of the connectedId list: true when it succeeded.
asio::awaitable<bool> one_call(client& c) {
    auto r = co_await c.try_request("/v1/account/connectedId-list", {});
    co_return r && r->ok();
}

// n calls; on_strand: each awaited from a coroutine on a strand of its own.
std::vector<asio::awaitable<bool>> calls(client& c, asio::io_context& ioc, int n, bool on_strand) {
    std::vector<asio::awaitable<bool>> v;
    for (int i = 0; i < n; ++i) {
        if (on_strand)
            v.push_back([](client& c, asio::io_context& ioc) -> asio::awaitable<bool> {
                co_return co_await asio::co_spawn(asio::make_strand(ioc), one_call(c),
                                                  asio::use_awaitable);
            }(c, ioc));
        else
            v.push_back(one_call(c));
    }
    return v;
}

std::size_t succeeded(const std::vector<std::optional<bool>>& results) {
    return std::count_if(results.begin(), results.end(), [](const auto& r) { return r && *r; });
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(call_executor, fixture)

BOOST_AUTO_TEST_CASE(without_thread_safety_calls_share_one_thread_and_a_small_pool) {
    config cfg = emu.client_config();
    cfg.thread_safe = false;
    cfg.max_connections = 2;
    client c(ioc.get_executor(), cfg);
    // 100 calls at once through 2 connections: 98 wait in line at first, woken as each returns.
    BOOST_TEST(succeeded(codef::test::run_all(ioc, calls(c, ioc, 100, false), 1)) == 100u);
    emu.revoke_tokens();
    BOOST_TEST(succeeded(codef::test::run_all(ioc, calls(c, ioc, 100, false), 1)) == 100u);
    BOOST_TEST(emu.stats().api_requests == 200u + emu.stats().unauthorized);
    BOOST_TEST(emu.stats().token_requests == 2u);
    BOOST_TEST(c.stats().token_requests == 2u);
    // The pool's 2, and the token endpoint's one (on the same listener).
    BOOST_TEST(emu.stats().connections_accepted <= 3u);
}

BOOST_AUTO_TEST_CASE(callers_on_strands_on_four_threads) {
    for (const bool thread_safe : {false, true}) {
        BOOST_TEST_CONTEXT("thread_safe " << thread_safe) {
            const auto before = emu.stats();
            config cfg = emu.client_config();
            cfg.thread_safe = thread_safe;
            cfg.max_connections = 3;
            client c(ioc.get_executor(), cfg);
            BOOST_TEST(succeeded(codef::test::run_all(ioc, calls(c, ioc, 150, true), 4)) == 150u);
            emu.revoke_tokens();
            BOOST_TEST(succeeded(codef::test::run_all(ioc, calls(c, ioc, 150, true), 4)) == 150u);
            const auto after = emu.stats();
            BOOST_TEST(after.token_requests - before.token_requests == 2u);
            BOOST_TEST(after.connections_accepted - before.connections_accepted <= 3u + 1u);
            BOOST_TEST(c.stats().calls == 300u);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
