// Each fault the emulator can inject: the call ends in success (after a retry) or in the right
// typed error, within its deadline. Nothing hangs (a hang fails the test through its guard).
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;

namespace {

struct fixture {
    emulator emu{[] {
        emulator_options o;
        o.seed_connected_ids = 1000;
        return o;
    }()};
    asio::io_context ioc;

    config cfg() {
        config c = emu.client_config();
        c.retry.initial_backoff = 10ms;
        c.retry.max_backoff = 50ms;
        return c;
    }
    result<response> list(client& c, call_options opts = {}) {
        return codef::test::run(ioc, c.try_request("/v1/account/connectedId-list", {}, opts));
    }
    json::object account() {
        return json::object{{"countryCode", "KR"},
                            {"businessType", "BK"},
                            {"clientType", "P"},
                            {"organization", "0004"},
                            {"loginType", "1"},
                            {"id", "u"},
                            {"password", encrypt_password(emu.public_key(), "pw")}};
    }
    void inject(const std::function<void(emulator_faults&)>& set) {
        emulator_faults f;
        set(f);
        emu.apply(f);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(faults, fixture)

BOOST_AUTO_TEST_CASE(server_errors_are_retried_for_inquiries) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) {
        f.fail_next = 2;
        f.fail_status = 503;
    });
    auto r = list(c);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->ok());
    BOOST_TEST(c.stats().retries == 2u);
    BOOST_TEST(emu.stats().api_requests == 3u);
}

BOOST_AUTO_TEST_CASE(too_many_requests_waits_for_retry_after) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) {
        f.fail_next = 1;
        f.fail_status = 429;
        f.retry_after = 1;
    });
    const auto start = std::chrono::steady_clock::now();
    auto r = list(c);
    const auto waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.has_value());
    BOOST_TEST(c.stats().retries == 1u);
    BOOST_TEST(emu.stats().api_requests == 2u);
    // The retry waited the server's second, not the backoff (10 ms to 50 ms here): a lower bound.
    BOOST_TEST(
        std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() >= 1000,
        "the call took " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                         << " ms; Retry-After was 1 s");
    // A Retry-After beyond the deadline is not waited for: the 429 is the answer.
    inject([](auto& f) {
        f.fail_next = 1;
        f.retry_after = 30;
    });
    call_options quick;
    quick.timeout = 2s;
    auto r2 = list(c, quick);
    BOOST_TEST(r2.error() == make_http_error(429));
    BOOST_TEST(r2.diag().http_status == 429);
}

BOOST_AUTO_TEST_CASE(the_retry_budget_bounds_retries_through_an_outage) {
    // 1,280 inquiries, 32 at a time, and the first 600 requests to reach the server fail with a
    // 503. Every failure is retryable and each call may make 4 attempts: unchecked, the calls that
    // meet the outage would be sent again about 450 times. The client-wide budget allows the
    // floor plus a tenth of the successes: about 90.
    emulator fresh{[] {
        emulator_options o;
        o.seed_connected_ids = 4;
        return o;
    }()};
    config x = fresh.client_config();
    x.retry.max_attempts = 4;
    x.retry.initial_backoff = 1ms;
    x.retry.max_backoff = 4ms;
    x.retry.budget_ratio = 0.1;
    x.retry.budget_floor = 20;
    x.max_connections = 16;
    client c(ioc.get_executor(), x);
    BOOST_TEST_REQUIRE(codef::test::run(ioc, c.try_token()).has_value());
    fresh.apply([] {
        emulator_faults f;
        f.fail_next = 600;
        f.fail_status = 503;
        return f;
    }());
    constexpr int workers = 32, calls_each = 40;
    std::vector<asio::awaitable<int>> tasks;
    for (int w = 0; w < workers; ++w)
        tasks.push_back([](client& c, int n) -> asio::awaitable<int> {
            int answered = 0;
            for (int i = 0; i < n; ++i) {
                auto r = co_await c.try_request("/v1/account/connectedId-list", {});
                if (r && r->ok())
                    ++answered;
                else if (r || r.error() != make_http_error(503))
                    co_return -1;
            }
            co_return answered;
        }(c, calls_each));
    auto results = codef::test::run_all(ioc, std::move(tasks), 4);
    std::uint64_t answered = 0;
    for (const auto& r : results) {
        BOOST_TEST_REQUIRE(r.has_value());
        BOOST_TEST_REQUIRE(*r >= 0); // each call ends answered or in the injected 503
        answered += static_cast<std::uint64_t>(*r);
    }
    const auto s = fresh.stats();
    BOOST_TEST(s.faults_injected == 600u); // the outage was met in full
    // The budget is earned by every exchange that succeeded: the calls answered and the token.
    const std::uint64_t successes = answered + s.tokens_issued;
    const std::uint64_t retries = c.stats().retries;
    BOOST_TEST_MESSAGE("retries " << retries << ", successes " << successes);
    BOOST_TEST(retries <= x.retry.budget_floor + x.retry.budget_ratio * successes,
               "retries " << retries << " > floor " << x.retry.budget_floor << " + ratio "
                          << x.retry.budget_ratio << " x successes " << successes);
    // The floor is spent at once (the outage comes before any success): the budget limits
    // retries, it does not turn them off.
    BOOST_TEST(retries >= x.retry.budget_floor);
    // Each retry is one more request at the server.
    BOOST_TEST(s.api_requests == static_cast<std::uint64_t>(workers * calls_each) + retries);
}

BOOST_AUTO_TEST_CASE(retries_end_at_the_attempt_limit) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) {
        f.fail_next = 10;
        f.fail_status = 502;
    });
    auto r = list(c);
    BOOST_TEST(r.error() == make_http_error(502));
    BOOST_TEST(emu.stats().api_requests == 3u); // retry.max_attempts
}

BOOST_AUTO_TEST_CASE(a_reset_or_truncated_reply_is_retried_for_inquiries) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) {
        f.reset_next = 1;
        f.truncate_next = 1;
    });
    BOOST_TEST(list(c).has_value()); // reset, then truncated, then answered
    BOOST_TEST(c.stats().retries == 2u);
    BOOST_TEST(emu.stats().api_requests == 3u);
}

BOOST_AUTO_TEST_CASE(account_changes_are_not_sent_twice) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) { f.reset_next = 1; });
    auto r = codef::test::run(
        ioc, c.try_request("/v1/account/create", {{"accountList", json::array{account()}}}));
    BOOST_TEST(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::transport));
    BOOST_TEST(r.diag().outcome_unknown); // written, and the reply broke off
    BOOST_TEST(emu.stats().api_requests == 1u);
    BOOST_TEST(c.stats().retries == 0u);
    // Nor is any call its caller marks non-idempotent, once it has left.
    call_options once;
    once.retry_class = idempotency::non_idempotent;
    inject([](auto& f) { f.fail_next = 1; });
    auto r2 = list(c, once);
    BOOST_TEST(r2.error() == make_http_error(503));
}

BOOST_AUTO_TEST_CASE(a_change_dropped_on_a_reused_connection_reaches_the_server_once) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(list(c).has_value()); // leaves a kept-alive connection to reuse
    // The server reads the create, carries it out, and closes without a word.
    inject([](auto& f) { f.drop_next = 1; });
    auto r = codef::test::run(
        ioc, c.try_request("/v1/account/create", {{"accountList", json::array{account()}}}));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == transport_errc::connection_closed);
    BOOST_TEST(r.diag().outcome_unknown);
    BOOST_TEST(std::string(error(r.error(), r.diag()).what()).find("outcome unknown") !=
               std::string::npos);
    BOOST_TEST(emu.stats().requests_by_path["/v1/account/create"] == 1u);
    BOOST_TEST(c.stats().stale_connection_retries == 0u);
    // An inquiry in the same spot goes again on a fresh connection, and succeeds.
    BOOST_TEST(list(c).has_value()); // a new kept-alive connection (the old one was dropped)
    inject([](auto& f) { f.drop_next = 1; });
    BOOST_TEST(list(c).has_value());
    BOOST_TEST(c.stats().stale_connection_retries == 1u);
    BOOST_TEST(emu.stats().requests_by_path["/v1/account/connectedId-list"] == 4u);
}

BOOST_AUTO_TEST_CASE(a_connection_closed_while_idle_is_found_before_reuse) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) { f.idle_close = 20ms; });
    BOOST_TEST(list(c).has_value());
    // Both idle connections (to the token listener and to the API listener) are closed.
    BOOST_TEST_REQUIRE(
        codef::test::eventually([&] { return emu.stats().connections_closed >= 2; }));
    // Writing the create to the dead connection would leave its outcome unknown; the check
    // before reuse finds it dead, and the create goes out once, on a new connection.
    auto r = codef::test::run(
        ioc, c.try_request("/v1/account/create", {{"accountList", json::array{account()}}}));
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->ok());
    BOOST_TEST(c.stats().stale_connections_detected == 1u);
    BOOST_TEST(c.stats().stale_connection_retries == 0u);
    BOOST_TEST(c.stats().connections_opened == 3u); // the token's, the first and its replacement
    BOOST_TEST(emu.stats().requests_by_path["/v1/account/create"] == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_that_is_gone_leaves_no_token_request_behind) {
    inject([](auto& f) { f.hold_token_replies = true; }); // the token endpoint stalls
    {
        client c(ioc.get_executor(), cfg()); // token_timeout: 30 s
        call_options quick;
        quick.timeout = 300ms;
        auto r = list(c, quick);
        BOOST_TEST(r.error() == transport_errc::timeout);
        // The refresh goes on without the call, and stalls at the server.
        codef::test::run_until(
            ioc, [&] { return emu.stats().token_requests == 1; },
            "the token request to reach the server");
    }
    // The client is gone: its token request must not keep the io_context busy until
    // token_timeout. run_for returns early, stopped, only when no work is left.
    ioc.restart();
    ioc.run_for(20s);
    BOOST_TEST(ioc.stopped());
}

BOOST_AUTO_TEST_CASE(ten_thousand_calls_through_each_fault_are_all_accounted_for) {
    // Inquiries and changes (product calls marked non-idempotent) at 64 at a time through every
    // fault that can be injected for a share of the calls: each call ends in a reply or a typed
    // error within its deadline, and no change reaches the server twice.
    struct tally {
        std::size_t changes = 0, changes_answered = 0, errors = 0;
        std::chrono::steady_clock::duration slowest{};
        std::vector<std::string> odd;
    };
    const std::vector<std::pair<std::string, std::function<void(emulator_faults&)>>> faults = {
        {"5xx",
         [](auto& f) {
             f.fail_next = 500;
             f.fail_status = 503;
         }},
        {"reset", [](auto& f) { f.reset_next = 500; }},
        {"truncate", [](auto& f) { f.truncate_next = 500; }},
        {"malformed", [](auto& f) { f.malformed_next = 500; }},
        {"drop", [](auto& f) { f.drop_next = 500; }},
        {"close every 3rd", [](auto& f) { f.requests_per_connection = 3; }},
        {"idle close", [](auto& f) { f.idle_close = 20ms; }},
    };
    for (const auto& [name, set] : faults) {
        BOOST_TEST_CONTEXT("fault " << name) {
            emulator fresh{[] {
                emulator_options o;
                o.seed_connected_ids = 64;
                return o;
            }()};
            config x = fresh.client_config();
            x.retry.initial_backoff = 1ms;
            x.retry.max_backoff = 5ms;
            x.retry.budget_floor = 100'000; // this test counts every call, not the budget
            x.max_connections = 16;
            x.call_timeout = 10s;
            client c(ioc.get_executor(), x);
            auto ids = codef::test::run(ioc, c.connected_ids_page(0));
            BOOST_TEST_REQUIRE(ids.has_value());
            emulator_faults f;
            set(f);
            fresh.apply(f);
            std::vector<asio::awaitable<tally>> workers;
            for (int w = 0; w < 64; ++w)
                workers.push_back([](client& c, std::string id, int w) -> asio::awaitable<tally> {
                    tally t;
                    for (int g = w; g < 10'000; g += 64) {
                        const bool change = g % 10 == 0; // 1,000 of the 10,000
                        call_options o;
                        if (change) o.retry_class = idempotency::non_idempotent;
                        json::object params{{"connectedId", id}};
                        if (change) params["organization"] = "0004";
                        const auto start = std::chrono::steady_clock::now();
                        auto r = co_await c.try_request(
                            change ? "/v1/kr/bank/p/account/account-list" : "/v1/account/list",
                            std::move(params), o);
                        t.slowest = std::max(t.slowest, std::chrono::steady_clock::now() - start);
                        t.changes += change;
                        if (r) {
                            t.changes_answered += change;
                            continue;
                        }
                        ++t.errors;
                        const auto k = kind_of(r.error());
                        if (k != error_kind::transport && k != error_kind::protocol &&
                            k != error_kind::http)
                            t.odd.push_back(r.error().message() + ": " + r.diag().detail);
                        // A change that got an HTTP answer was answered; one that broke off
                        // after leaving says so.
                        if (change && k == error_kind::http) ++t.changes_answered;
                        if (change && k == error_kind::transport && !r.diag().outcome_unknown &&
                            r.error() != boost::asio::error::connection_refused)
                            t.odd.push_back("a change failed after sending without "
                                            "outcome_unknown: " +
                                            r.diag().detail);
                    }
                    co_return t;
                }(c, ids->ids[static_cast<std::size_t>(w) % ids->ids.size()], w));
            auto results = codef::test::run_all(ioc, std::move(workers), 4);
            tally all;
            for (auto& t : results) {
                BOOST_TEST_REQUIRE(t.has_value());
                all.changes += t->changes;
                all.changes_answered += t->changes_answered;
                all.errors += t->errors;
                all.slowest = std::max(all.slowest, t->slowest);
                for (auto& o : t->odd)
                    all.odd.push_back(o);
            }
            BOOST_TEST(all.changes == 1000u);
            BOOST_TEST(all.odd.empty(), (all.odd.empty() ? "" : all.odd.front()));
            // Within its deadline (10 s), with room for a slow sanitizer build's scheduling.
            BOOST_TEST(all.slowest < x.call_timeout + 2s);
            const auto s = fresh.stats();
            const auto reached = s.requests_by_path.count("/v1/kr/bank/p/account/account-list")
                                     ? s.requests_by_path.at("/v1/kr/bank/p/account/account-list")
                                     : 0u;
            // Every change the server answered reached it, and none reached it twice: at most
            // one arrival per change made.
            BOOST_TEST(reached >= all.changes_answered);
            BOOST_TEST(reached <= all.changes);
            BOOST_TEST_MESSAGE(name << ": " << all.errors << " errors, " << reached
                                    << " changes reached the server of " << all.changes);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_slow_reply_ends_in_a_timeout_at_the_deadline) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(list(c).has_value());
    inject([](auto& f) { f.reply_delay = 3000ms; });
    call_options quick;
    quick.timeout = 300ms;
    auto r = list(c, quick); // the reply would succeed after 3 s: only the deadline ends it sooner
    BOOST_TEST(r.error() == transport_errc::timeout);
    BOOST_TEST((kind_of(r.error()) == error_kind::timeout));
    BOOST_TEST(r.diag().detail.find("300 ms") != std::string::npos);
    inject([](auto& f) { f.reply_delay = 0ms; });
    BOOST_TEST(list(c).has_value()); // the timed-out connection was dropped; a new one serves
}

BOOST_AUTO_TEST_CASE(the_pool_wait_counts_against_the_deadline) {
    config one = cfg();
    one.max_connections = 1;
    client c(ioc.get_executor(), one);
    BOOST_TEST(list(c).has_value());
    inject([](auto& f) { f.reply_delay = 1500ms; });
    call_options slow, quick;
    slow.timeout = 5s;
    quick.timeout = 200ms;
    std::vector<asio::awaitable<result<response>>> first;
    first.push_back(c.try_request("/v1/account/connectedId-list", {}, slow));
    codef::test::spawned<result<response>> slow_call(ioc, std::move(first));
    // The slow call holds the one connection: its request is at the server, the reply delayed.
    codef::test::run_until(
        ioc, [&] { return emu.stats().api_requests == 2; }, "the slow call to reach the server");
    auto r = list(c, quick);
    BOOST_TEST(r.error() == transport_errc::timeout);
    BOOST_TEST(r.diag().detail.find("waiting for a connection") != std::string::npos);
    auto results = slow_call.run(1);
    BOOST_TEST_REQUIRE(results[0].has_value());
    BOOST_TEST(results[0]->has_value());
    BOOST_TEST(emu.stats().api_requests == 2u); // the quick call never reached the server
}

BOOST_AUTO_TEST_CASE(cancellation_through_a_slot_ends_a_call) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(list(c).has_value());
    inject([](auto& f) { f.reply_delay = 5000ms; });
    asio::cancellation_signal cancel;
    std::optional<result<response>> r;
    asio::co_spawn(
        ioc, c.try_request("/v1/account/connectedId-list", {}),
        asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, result<response> v) {
            r.emplace(std::move(v));
        }));
    // Cancelled while its reply is awaited (this thread is the only one running ioc).
    codef::test::run_until(
        ioc, [&] { return emu.stats().api_requests == 2; }, "the call to reach the server");
    BOOST_TEST(!r.has_value());
    cancel.emit(asio::cancellation_type::terminal);
    codef::test::run_until(
        ioc, [&] { return r.has_value(); }, "the cancelled call to end");
    BOOST_TEST((kind_of(r->error()) == error_kind::cancelled));
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured_and_sessions_resume) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) { f.requests_per_connection = 1; });
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(list(c).has_value());
    const auto s = emu.stats();
    BOOST_TEST(s.connections_accepted == 20u);
    BOOST_TEST(s.tls_handshakes + s.tls_resumed == 20u);
    BOOST_TEST(s.tls_resumed >= 18u);
    BOOST_TEST(c.stats().tls_resumed >= 18u);
    BOOST_TEST(c.stats().stale_connection_retries == 0u);
}

BOOST_AUTO_TEST_CASE(a_reply_over_the_size_limit_is_refused) {
    config small = cfg();
    small.max_reply_bytes = 4096;
    client c(ioc.get_executor(), small);
    auto r = list(c); // 1,000 ids: about 30 kB
    BOOST_TEST(r.error() == protocol_errc::reply_too_large);
}

BOOST_AUTO_TEST_CASE(a_failing_token_endpoint_is_retried_then_reported) {
    client c(ioc.get_executor(), cfg());
    inject([](auto& f) {
        f.fail_token_next = 1;
        f.fail_status = 503;
    });
    BOOST_TEST(list(c).has_value());
    BOOST_TEST(emu.stats().token_requests == 2u);
    client wrong(ioc.get_executor(), [&] {
        config x = cfg();
        x.client_id = "not-registered";
        x.client_secret = "nope";
        return x;
    }());
    auto r = list(wrong);
    BOOST_TEST(r.error() == make_http_error(401));
    BOOST_TEST(r.diag().codef_code == "invalid_client");
    BOOST_TEST(r.diag().detail.find("token request") != std::string::npos);
    BOOST_TEST(r.diag().detail.find("nope") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_server_that_is_gone_fails_fast_and_typed) {
    config cfg_gone = cfg();
    emu.stop();
    client c(ioc.get_executor(), cfg_gone);
    call_options o;
    o.timeout = 5s;
    auto r = list(c, o);
    BOOST_TEST_MESSAGE("gone: " << r.error().message() << " / " << r.diag().detail);
    BOOST_TEST(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::transport));
    BOOST_TEST(r.error() == boost::asio::error::connection_refused);
}

BOOST_AUTO_TEST_SUITE_END()
