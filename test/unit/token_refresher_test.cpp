// The single-flight refresher with a fake token source: no sockets. The fake's fetches wait on a
// gate the test opens.
#include "detail/token_refresher.hpp"
#include "support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using namespace codef;
using namespace codef::detail;
using namespace std::chrono_literals;

namespace {

// A token source whose fetches complete when the test says so, with what the test says.
struct fake_source {
    explicit fake_source(asio::io_context& ioc)
        : gate(ioc, steady_clock::time_point::max()) {}
    asio::steady_timer gate;
    int fetches = 0;
    bool fail = false;
    bool opened = false;
    wall_clock::time_point now = wall_clock::time_point(1'700'000'000s);

    token_refresher::fetch_fn fn() {
        return [this](steady_clock::time_point) -> asio::awaitable<result<token>> {
            ++fetches;
            if (!opened) co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
            if (fail) co_return make_failure(make_http_error(500), "token request");
            token t;
            t.value = "token-" + std::to_string(fetches);
            t.issued_at = now;
            t.expires_at = now + 7 * 24h;
            co_return t;
        };
    }
    void open() {
        opened = true;
        gate.cancel();
    }
    void shut() {
        opened = false;
        gate.expires_at(steady_clock::time_point::max());
    }
};

std::shared_ptr<token_refresher> make_refresher(asio::io_context& ioc, fake_source& src) {
    return std::make_shared<token_refresher>(
        asio::make_strand(ioc.get_executor()), ioc.get_executor(), token_state(3600s, 1ms, 2ms),
        src.fn(), [&src] { return src.now; }, 5s);
}

// Posts f after the io_context has run everything runnable now (the waiters are parked).
template <class F>
asio::awaitable<void> settle_then(F f) {
    for (int i = 0; i < 50; ++i)
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    f();
}

} // namespace

BOOST_AUTO_TEST_SUITE(single_flight_refresher)

BOOST_AUTO_TEST_CASE(concurrent_requests_share_one_fetch) {
    asio::io_context ioc;
    fake_source src(ioc);
    auto r = make_refresher(ioc, src);
    std::vector<std::string> got;
    auto body = [&]() -> asio::awaitable<void> {
        int done = 0;
        for (int i = 0; i < 100; ++i)
            asio::co_spawn(ioc, r->get(0, steady_clock::now() + 60s),
                           [&](std::exception_ptr, result<token_ptr> t) {
                               got.push_back(t ? (*t)->value : "error");
                               ++done;
                           });
        co_await settle_then([&] { src.open(); });
        while (done < 100)
            co_await asio::post(ioc, asio::use_awaitable);
    };
    codef::test::run(ioc, body());
    BOOST_TEST(src.fetches == 1);
    BOOST_TEST(got.size() == 100u);
    BOOST_TEST(std::count(got.begin(), got.end(), "token-1") == 100);
    r->close();
}

BOOST_AUTO_TEST_CASE(a_failed_refresh_reaches_every_waiter_and_the_next_call_tries_again) {
    asio::io_context ioc;
    fake_source src(ioc);
    src.fail = true;
    auto r = make_refresher(ioc, src);
    std::vector<error_code> errors;
    auto body = [&]() -> asio::awaitable<void> {
        int done = 0;
        for (int i = 0; i < 10; ++i)
            asio::co_spawn(ioc, r->get(0, steady_clock::now() + 60s),
                           [&](std::exception_ptr, result<token_ptr> t) {
                               errors.push_back(t.error());
                               ++done;
                           });
        co_await settle_then([&] { src.open(); });
        while (done < 10)
            co_await asio::post(ioc, asio::use_awaitable);
        src.fail = false;
        src.shut();
        asio::co_spawn(ioc, settle_then([&] { src.open(); }), asio::detached);
        auto t = co_await r->get(0, steady_clock::now() + 60s);
        BOOST_TEST_REQUIRE(t.has_value());
        BOOST_TEST((*t)->value == "token-2");
    };
    codef::test::run(ioc, body());
    BOOST_TEST(errors.size() == 10u);
    for (auto& e : errors)
        BOOST_TEST(e == make_http_error(500));
    BOOST_TEST(src.fetches == 2);
    r->close();
}

BOOST_AUTO_TEST_CASE(cancelling_one_waiter_does_not_cancel_the_refresh) {
    asio::io_context ioc;
    fake_source src(ioc);
    auto r = make_refresher(ioc, src);
    asio::cancellation_signal cancel_first;
    error_code first_error;
    std::string second_value;
    auto body = [&]() -> asio::awaitable<void> {
        int done = 0;
        asio::co_spawn(ioc, r->get(0, steady_clock::now() + 60s),
                       asio::bind_cancellation_slot(
                           cancel_first.slot(), [&](std::exception_ptr e, result<token_ptr> t) {
                               first_error = e ? asio::error::operation_aborted : t.error();
                               ++done;
                           }));
        asio::co_spawn(ioc, r->get(0, steady_clock::now() + 60s),
                       [&](std::exception_ptr, result<token_ptr> t) {
                           second_value = t ? (*t)->value : "error";
                           ++done;
                       });
        co_await settle_then([&] { cancel_first.emit(asio::cancellation_type::terminal); });
        co_await settle_then([&] { src.open(); });
        while (done < 2)
            co_await asio::post(ioc, asio::use_awaitable);
    };
    codef::test::run(ioc, body());
    BOOST_TEST(first_error == asio::error::operation_aborted);
    BOOST_TEST(second_value == "token-1");
    BOOST_TEST(src.fetches == 1);
    r->close();
}

BOOST_AUTO_TEST_CASE(a_waiter_past_its_deadline_times_out_alone) {
    asio::io_context ioc;
    fake_source src(ioc);
    auto r = make_refresher(ioc, src);
    auto body = [&]() -> asio::awaitable<void> {
        auto t = co_await r->get(0, steady_clock::now()); // already due
        BOOST_TEST(t.error() == transport_errc::timeout);
        asio::co_spawn(ioc, settle_then([&] { src.open(); }), asio::detached);
        auto t2 = co_await r->get(0, steady_clock::now() + 60s);
        BOOST_TEST((*t2)->value == "token-1");
    };
    codef::test::run(ioc, body());
    BOOST_TEST(src.fetches == 1);
    r->close();
}

BOOST_AUTO_TEST_CASE(a_rejected_token_is_replaced_once_for_all_who_saw_it_rejected) {
    asio::io_context ioc;
    fake_source src(ioc);
    auto r = make_refresher(ioc, src);
    auto body = [&]() -> asio::awaitable<void> {
        src.open();
        auto first = co_await r->get(0, steady_clock::now() + 60s);
        BOOST_TEST((*first)->generation == 1u);
        src.shut();
        int done = 0;
        std::vector<std::uint64_t> gens;
        for (int i = 0; i < 20; ++i)
            asio::co_spawn(ioc, r->get((*first)->generation + 1, steady_clock::now() + 60s),
                           [&](std::exception_ptr, result<token_ptr> t) {
                               gens.push_back((*t)->generation);
                               ++done;
                           });
        co_await settle_then([&] { src.open(); });
        while (done < 20)
            co_await asio::post(ioc, asio::use_awaitable);
        BOOST_TEST(std::count(gens.begin(), gens.end(), 2u) == 20);
    };
    codef::test::run(ioc, body());
    BOOST_TEST(src.fetches == 2);
    r->close();
}

BOOST_AUTO_TEST_CASE(a_fresh_token_is_read_without_visiting_the_strand) {
    asio::io_context ioc;
    fake_source src(ioc);
    src.open();
    auto r = make_refresher(ioc, src);
    auto body = [&]() -> asio::awaitable<void> {
        auto first = co_await r->get(0, steady_clock::now() + 60s);
        for (int i = 0; i < 10; ++i)
            BOOST_TEST((*co_await r->get(0, steady_clock::now() + 60s))->value == "token-1");
        BOOST_TEST(r->fast_hits() == 10u);
        // A 401 on that token: nobody may take it from the snapshot any more.
        auto second = co_await r->get((*first)->generation + 1, steady_clock::now() + 60s);
        BOOST_TEST((*second)->value == "token-2");
        const auto hits = r->fast_hits();
        BOOST_TEST((*co_await r->get(0, steady_clock::now() + 60s))->value == "token-2");
        BOOST_TEST(r->fast_hits() == hits + 1);
        // Past the refresh margin, calls go to the strand, which starts the refresh.
        src.now += 7 * 24h - 30min;
        BOOST_TEST((*co_await r->get(0, steady_clock::now() + 60s))->value == "token-2");
        BOOST_TEST(r->fast_hits() == hits + 1);
        BOOST_TEST(r->refreshes_started() == 3u);
    };
    codef::test::run(ioc, body());
    r->close();
}

BOOST_AUTO_TEST_CASE(closing_fails_the_waiters) {
    asio::io_context ioc;
    fake_source src(ioc);
    auto r = make_refresher(ioc, src);
    auto body = [&]() -> asio::awaitable<void> {
        asio::co_spawn(ioc, settle_then([&] { r->close(); }), asio::detached);
        auto t = co_await r->get(0, steady_clock::now() + 60s);
        BOOST_TEST(t.error() == client_errc::shut_down);
        src.open();
    };
    codef::test::run(ioc, body());
}

BOOST_AUTO_TEST_SUITE_END()
