// Many calls at once, spread over 4 threads, against the emulator: one token however many calls
// need one, a bounded pool, server-closed idle connections. Also run under ThreadSanitizer.
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace asio = boost::asio;
using namespace codef;
using namespace std::chrono_literals;

namespace {

struct fixture {
    emulator emu{[] {
        emulator_options o;
        o.seed_connected_ids = 5;
        o.threads = 2;
        return o;
    }()};
    asio::io_context ioc;
    // The client's clock, movable by the test: the token's expiry is judged by it.
    std::shared_ptr<std::atomic<std::int64_t>> skew =
        std::make_shared<std::atomic<std::int64_t>>(0);

    config cfg() {
        config c = emu.client_config();
        c.clock = [s = skew] {
            return std::chrono::system_clock::now() + std::chrono::seconds(s->load());
        };
        return c;
    }
};

// n calls of the connectedId list; each gives its error (empty on success).
std::vector<asio::awaitable<error_code>> calls(client& c, int n, call_options opts = {}) {
    std::vector<asio::awaitable<error_code>> v;
    for (int i = 0; i < n; ++i)
        v.push_back([](client& c, call_options opts) -> asio::awaitable<error_code> {
            auto r = co_await c.try_request("/v1/account/connectedId-list", {}, opts);
            if (r && !r->ok()) co_return make_error_code(boost::system::errc::bad_message);
            co_return r.error();
        }(c, opts));
    return v;
}

std::size_t succeeded(const std::vector<std::optional<error_code>>& results) {
    return std::count_if(results.begin(), results.end(), [](const auto& r) { return r && !*r; });
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(concurrency, fixture)

BOOST_AUTO_TEST_CASE(a_thousand_calls_with_an_expired_token_make_one_token_request) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token())->access_token.size() > 0u);
    emu.reset_stats();
    skew->store(8 * 24 * 3600); // every call now finds the token expired
    auto results = codef::test::run_all(ioc, calls(c, 1000));
    BOOST_TEST(succeeded(results) == 1000u);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().unauthorized == 0u);
}

BOOST_AUTO_TEST_CASE(
    eight_clients_sharing_a_store_make_one_token_request_and_one_more_after_a_revocation) {
    auto store = std::make_shared<memory_token_store>();
    config c = cfg();
    c.token_store = store;
    std::vector<std::unique_ptr<client>> clients;
    for (int i = 0; i < 8; ++i)
        clients.push_back(std::make_unique<client>(ioc.get_executor(), c));
    auto all_calls = [&] {
        std::vector<asio::awaitable<error_code>> v;
        for (auto& cl : clients)
            for (auto& aw : calls(*cl, 25))
                v.push_back(std::move(aw));
        return v;
    };
    auto results = codef::test::run_all(ioc, all_calls());
    BOOST_TEST(succeeded(results) == 200u);
    BOOST_TEST(emu.stats().token_requests == 1u);
    // Every token is revoked: the clients that meet a 401 refresh one at a time through the
    // store, and all but the first find the new token there.
    emu.revoke_tokens();
    emu.reset_stats();
    results = codef::test::run_all(ioc, all_calls());
    BOOST_TEST(succeeded(results) == 200u);
    BOOST_TEST(emu.stats().token_requests == 1u);
    std::uint64_t own = 0;
    for (auto& cl : clients)
        own += cl->stats().token_requests;
    BOOST_TEST(own == 2u);
}

BOOST_AUTO_TEST_CASE(a_thousand_calls_that_meet_a_401_make_one_token_request) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value());
    emu.revoke_tokens();
    emu.reset_stats();
    auto results = codef::test::run_all(ioc, calls(c, 1000));
    BOOST_TEST(succeeded(results) == 1000u);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().api_requests == 1000u + emu.stats().unauthorized);
}

BOOST_AUTO_TEST_CASE(a_thousand_calls_pile_up_behind_a_held_token_reply) {
    emulator_faults hold;
    hold.hold_token_replies = true;
    emu.apply(hold);
    client c(ioc.get_executor(), cfg());
    codef::test::spawned<error_code> pending(ioc, calls(c, 1000));
    // Every call has started, the token request is held at the server, and nothing is left to
    // run: every call waits in the refresher's queue.
    codef::test::run_until_settled(
        ioc, [&] { return c.stats().calls == 1000 && emu.stats().token_requests == 1; },
        "1000 calls queued behind the held token request");
    BOOST_TEST(!pending.done());
    emu.release_token_replies();
    auto results = pending.run(4);
    BOOST_TEST(succeeded(results) == 1000u);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(c.stats().token_requests == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_refresh_reaches_every_waiter_then_a_later_call_succeeds) {
    emulator_faults down;
    down.fail_token_next = 1000;
    down.fail_status = 500; // not transient: the refresh fails at once
    down.hold_token_replies = true;
    emu.apply(down);
    client c(ioc.get_executor(), cfg());
    codef::test::spawned<error_code> pending(ioc, calls(c, 200));
    // Every call waits in the refresher's queue before the failure is let through: a straggler
    // would start a second refresh.
    codef::test::run_until_settled(
        ioc, [&] { return c.stats().calls == 200 && emu.stats().token_requests == 1; },
        "200 calls queued behind the held token request");
    BOOST_TEST(!pending.done());
    emu.release_token_replies();
    auto results = pending.run(4);
    BOOST_TEST(succeeded(results) == 0u);
    for (const auto& r : results)
        BOOST_TEST((r && *r == make_http_error(500)));
    BOOST_TEST(emu.stats().token_requests == 1u);
    emulator_faults up;
    up.fail_token_next = 0;
    emu.apply(up);
    BOOST_TEST(succeeded(codef::test::run_all(ioc, calls(c, 1))) == 1u);
    BOOST_TEST(emu.stats().token_requests == 2u);
}

BOOST_AUTO_TEST_CASE(cancelling_the_first_waiter_leaves_the_refresh_and_the_others) {
    emulator_faults hold;
    hold.hold_token_replies = true;
    emu.apply(hold);
    client c(ioc.get_executor(), cfg());
    asio::cancellation_signal cancel_first;
    std::atomic<bool> first_done{false};
    error_code first_error;
    std::vector<asio::awaitable<error_code>> tasks;
    // (A coroutine lambda must not capture: its frame outlives the lambda object.)
    tasks.push_back([](client& c, asio::cancellation_signal& cancel, error_code& error,
                       std::atomic<bool>& done) -> asio::awaitable<error_code> {
        auto r = co_await asio::co_spawn(
            co_await asio::this_coro::executor, c.try_request("/v1/account/connectedId-list", {}),
            asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
        error = r.error();
        done = true;
        co_return r.error();
    }(c, cancel_first, first_error, first_done));
    for (auto& t : calls(c, 20))
        tasks.push_back(std::move(t));
    auto results = codef::test::run_all(ioc, std::move(tasks), 4, [&] {
        BOOST_TEST(codef::test::eventually([&] { return emu.stats().token_requests == 1; }));
        asio::post(ioc, [&] { cancel_first.emit(asio::cancellation_type::terminal); });
        BOOST_TEST(codef::test::eventually([&] { return first_done.load(); }));
        emu.release_token_replies();
    });
    BOOST_TEST(first_error == asio::error::operation_aborted);
    BOOST_TEST((kind_of(first_error) == error_kind::cancelled));
    BOOST_TEST(succeeded(results) == 20u);
    BOOST_TEST(emu.stats().token_requests == 1u);
}

BOOST_AUTO_TEST_CASE(ten_thousand_calls_go_through_sixteen_connections) {
    config small = cfg();
    small.max_connections = 16;
    client c(ioc.get_executor(), small);
    // 64 workers, each making its calls one after another.
    std::vector<asio::awaitable<int>> workers;
    for (int w = 0; w < 64; ++w)
        workers.push_back([](client& c, int n) -> asio::awaitable<int> {
            int ok = 0;
            for (int i = 0; i < n; ++i) {
                auto r = co_await c.try_request("/v1/account/connectedId-list", {});
                if (r && r->ok()) ++ok;
            }
            co_return ok;
        }(c, 10'000 / 64 + (w < 10'000 % 64 ? 1 : 0)));
    auto results = codef::test::run_all(ioc, std::move(workers));
    int ok = 0;
    for (auto& r : results)
        ok += r.value_or(0);
    BOOST_TEST(ok == 10'000);
    const auto s = emu.stats();
    BOOST_TEST(s.api_requests == 10'000u);
    BOOST_TEST(s.connections_accepted <= 16u);
    BOOST_TEST(s.tls_handshakes + s.tls_resumed <= 16u);
    BOOST_TEST(s.token_requests == 1u);
    BOOST_TEST(c.stats().connections_opened ==
               s.connections_accepted + s.oauth_connections_accepted);
}

BOOST_AUTO_TEST_CASE(a_destroyed_client_cancels_its_stalled_token_request) {
    emulator_faults f;
    f.hold_token_replies = true; // the token endpoint accepts and never answers
    emu.apply(f);
    {
        client c(ioc.get_executor(), cfg());
        call_options quick;
        quick.timeout = 200ms;
        auto results = codef::test::run_all(ioc, calls(c, 100, quick));
        for (const auto& r : results)
            BOOST_TEST((r && *r == transport_errc::timeout));
        // The refresh goes on without them, and stalls at the server.
        codef::test::run_until(
            ioc, [&] { return emu.stats().token_requests == 1; },
            "the token request to reach the server");
        BOOST_TEST(emu.stats().token_requests == 1u);
    }
    // Nothing is left to run once the client is gone (the refresh would otherwise wait out
    // token_timeout, 30 s): 4 threads run out of work.
    ioc.restart();
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { ioc.run_for(20s); });
    for (auto& t : threads)
        t.join();
    BOOST_TEST(ioc.stopped());
}

BOOST_AUTO_TEST_CASE(idle_connections_closed_by_the_server_between_bursts) {
    emulator_faults f;
    f.idle_close = 30ms;
    emu.apply(f);
    client c(ioc.get_executor(), cfg());
    std::size_t ok = 0;
    for (int burst = 0; burst < 3; ++burst) {
        ok += succeeded(codef::test::run_all(ioc, calls(c, 32)));
        // The server closes every connection once it has sat idle for 30 ms.
        BOOST_TEST_REQUIRE(codef::test::eventually([&] {
            const auto s = emu.stats();
            return s.connections_closed >= s.connections_accepted + s.oauth_connections_accepted;
        }));
    }
    BOOST_TEST(ok == 96u);
    // Found closed before reuse, not by a failed request.
    BOOST_TEST(c.stats().stale_connections_detected > 0u);
    BOOST_TEST(c.stats().retries == 0u);
    // Reconnections resumed their TLS sessions.
    BOOST_TEST(emu.stats().tls_resumed > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
