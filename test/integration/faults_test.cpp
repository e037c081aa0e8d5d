// Each fault the emulator can inject: the call ends in success (after a retry) or in the right
// typed error, within its deadline. Nothing hangs (a hang fails the test through its guard).
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
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
    auto r = list(c);
    BOOST_TEST(r.has_value());
    BOOST_TEST(c.stats().retries == 1u);
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
    json::object account{{"countryCode", "KR"},
                         {"businessType", "BK"},
                         {"clientType", "P"},
                         {"organization", "0004"},
                         {"loginType", "1"},
                         {"id", "u"},
                         {"password", encrypt_password(emu.public_key(), "pw")}};
    auto r = codef::test::run(
        ioc, c.try_request("/v1/account/create", {{"accountList", json::array{account}}}));
    BOOST_TEST(!r.has_value());
    BOOST_TEST((kind_of(r.error()) == error_kind::transport));
    BOOST_TEST(emu.stats().api_requests == 1u);
    BOOST_TEST(c.stats().retries == 0u);
    // Nor is any call its caller marks non-idempotent, once it has left.
    call_options once;
    once.retry_class = idempotency::non_idempotent;
    inject([](auto& f) { f.fail_next = 1; });
    auto r2 = list(c, once);
    BOOST_TEST(r2.error() == make_http_error(503));
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
    std::vector<asio::awaitable<result<response>>> tasks;
    tasks.push_back(c.try_request("/v1/account/connectedId-list", {}, slow));
    tasks.push_back([](client& c, call_options o) -> asio::awaitable<result<response>> {
        asio::steady_timer t(co_await asio::this_coro::executor, 50ms); // the slow call goes first
        co_await t.async_wait(asio::use_awaitable);
        co_return co_await c.try_request("/v1/account/connectedId-list", {}, o);
    }(c, quick));
    auto results = codef::test::run_all(ioc, std::move(tasks), 1);
    BOOST_TEST(results[0]->has_value());
    BOOST_TEST(results[1]->error() == transport_errc::timeout);
    BOOST_TEST(results[1]->diag().detail.find("waiting for a connection") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cancellation_through_a_slot_ends_a_call) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(list(c).has_value());
    inject([](auto& f) { f.reply_delay = 5000ms; });
    asio::cancellation_signal cancel;
    auto body = [&]() -> asio::awaitable<result<response>> {
        asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
        t.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::terminal); });
        co_return co_await asio::co_spawn(
            ioc, c.try_request("/v1/account/connectedId-list", {}),
            asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
    };
    auto r = codef::test::run(ioc, body());
    BOOST_TEST((kind_of(r.error()) == error_kind::cancelled));
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
