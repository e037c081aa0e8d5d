// The pool's bookkeeping and a connection's life, with a hand-moved clock and ints for
// connections.
#include "detail/pool_state.hpp"
#include "support.hpp"

using namespace codef::detail;
using namespace std::chrono_literals;
using kind = pool_state<int>::grant::kind;

namespace {
const steady_clock::time_point t0 = steady_clock::time_point(1000s);
}

BOOST_AUTO_TEST_SUITE(pool_bookkeeping)

BOOST_AUTO_TEST_CASE(grows_lazily_to_the_limit_then_queues_in_order) {
    pool_state<int> p(2, 30s);
    std::vector<int> expired;
    BOOST_TEST((p.acquire(t0, 1, expired).what == kind::open_new));
    BOOST_TEST((p.acquire(t0, 2, expired).what == kind::open_new));
    BOOST_TEST((p.acquire(t0, 3, expired).what == kind::wait));
    BOOST_TEST((p.acquire(t0, 4, expired).what == kind::wait));
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.waiting() == 2u);
    // A connection back goes to the first in line.
    auto h = p.release(10, true, t0);
    BOOST_TEST_REQUIRE(h.has_value());
    BOOST_TEST(h->first == 3u);
    BOOST_TEST((h->second.what == kind::reuse));
    BOOST_TEST(*h->second.conn == 10);
    // A broken one hands its slot to the next.
    auto h2 = p.release(std::nullopt, false, t0);
    BOOST_TEST_REQUIRE(h2.has_value());
    BOOST_TEST(h2->first == 4u);
    BOOST_TEST((h2->second.what == kind::open_new));
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(idle_connections_are_reused_most_recent_first_and_expire) {
    pool_state<int> p(4, 30s);
    std::vector<int> expired;
    for (std::uint64_t i = 1; i <= 3; ++i)
        p.acquire(t0, i, expired);
    p.release(1, true, t0);
    p.release(2, true, t0 + 10s);
    p.release(3, true, t0 + 20s);
    BOOST_TEST(p.idle() == 3u);
    BOOST_TEST((p.next_expiry().value() == t0 + 30s));
    auto g = p.acquire(t0 + 21s, 9, expired);
    BOOST_TEST((g.what == kind::reuse));
    BOOST_TEST(*g.conn == 3);
    p.expire_idle(t0 + 35s, expired);
    BOOST_TEST(expired == std::vector<int>{1});
    BOOST_TEST(p.open() == 2u);
    BOOST_TEST(p.idle() == 1u);
}

BOOST_AUTO_TEST_CASE(a_waiter_that_gives_up_leaves_the_queue) {
    pool_state<int> p(1, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    p.acquire(t0, 2, expired);
    p.acquire(t0, 3, expired);
    BOOST_TEST(p.cancel_wait(2));
    BOOST_TEST(!p.cancel_wait(2));
    auto h = p.release(5, true, t0);
    BOOST_TEST(h->first == 3u);
}

BOOST_AUTO_TEST_CASE(closing_returns_idle_connections_and_waiters) {
    pool_state<int> p(1, 30s);
    std::vector<int> expired;
    p.acquire(t0, 1, expired);
    p.release(7, true, t0);
    pool_state<int> q(1, 30s);
    q.acquire(t0, 1, expired);
    q.acquire(t0, 2, expired);
    auto [conns, waiters] = p.close();
    BOOST_TEST(conns == std::vector<int>{7});
    BOOST_TEST(p.open() == 0u);
    auto [qc, qw] = q.close();
    BOOST_TEST(qw == std::vector<std::uint64_t>{2});
    // A connection returned after close frees its slot and goes nowhere.
    BOOST_TEST(!q.release(std::nullopt, false, t0).has_value());
    BOOST_TEST(q.open() == 0u);
}

BOOST_AUTO_TEST_CASE(connection_life) {
    connection_state c;
    BOOST_TEST(!c.is_open());
    c.on_connect_started();
    c.on_connected();
    BOOST_TEST(c.is_open());
    c.on_send_started();
    c.on_reply_started();
    c.on_reply_done(true);
    BOOST_TEST(c.is_open());
    BOOST_TEST(c.requests_served() == 1u);
    // Any failure ends it (whether to send again is call_fsm's to decide); a new connection
    // starts its count again.
    c.on_send_started();
    c.on_error();
    BOOST_TEST(!c.is_open());
    c.on_connected();
    BOOST_TEST(c.requests_served() == 0u);
    // Connection: close ends it after a good reply.
    c.on_connected();
    c.on_send_started();
    c.on_reply_started();
    c.on_reply_done(false);
    BOOST_TEST(!c.is_open());
}

BOOST_AUTO_TEST_SUITE_END()
