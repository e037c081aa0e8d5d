// The refresher's decisions, with a hand-moved clock.
#include "detail/token_state.hpp"
#include "support.hpp"

using namespace codef::detail;
using namespace std::chrono_literals;
using verdict = token_state::verdict;

namespace {
const wall_clock::time_point t0 = wall_clock::time_point(1'700'000'000s);

token week_token(wall_clock::time_point issued) {
    token t;
    t.value = "tok";
    t.issued_at = issued;
    t.expires_at = issued + 7 * 24h;
    return t;
}
token_state make() {
    return token_state(3600s, 100ms, 1600ms);
}
} // namespace

BOOST_AUTO_TEST_SUITE(token_decisions)

BOOST_AUTO_TEST_CASE(first_call_starts_the_only_refresh) {
    auto s = make();
    BOOST_TEST((s.on_request(t0, 0) == verdict::refresh_and_wait));
    s.on_refresh_started();
    BOOST_TEST((s.on_request(t0, 0) == verdict::wait));
    BOOST_TEST((s.on_request(t0, 0) == verdict::wait));
    auto tok = s.on_refresh_succeeded(week_token(t0));
    BOOST_TEST(tok->generation == 1u);
    BOOST_TEST((s.on_request(t0, 0) == verdict::use));
}

BOOST_AUTO_TEST_CASE(reused_until_the_margin_then_refreshed_in_the_background) {
    auto s = make();
    s.on_refresh_started();
    s.on_refresh_succeeded(week_token(t0));
    BOOST_TEST((s.on_request(t0 + 6 * 24h, 0) == verdict::use));
    BOOST_TEST((s.background_refresh_at() == t0 + 7 * 24h - 1h));
    BOOST_TEST((s.on_request(t0 + 7 * 24h - 30min, 0) == verdict::use_and_refresh));
    s.on_refresh_started();
    // While that refresh runs, the still valid token serves without a second refresh.
    BOOST_TEST((s.on_request(t0 + 7 * 24h - 29min, 0) == verdict::use));
    // Expired: wait for the running refresh.
    BOOST_TEST((s.on_request(t0 + 7 * 24h, 0) == verdict::wait));
}

BOOST_AUTO_TEST_CASE(a_token_offered_by_the_store_is_taken_only_when_newer_and_idle) {
    auto s = make();
    // Nothing held: an offered token is taken, and serves.
    auto first = s.on_offered(week_token(t0), t0);
    BOOST_REQUIRE(first);
    BOOST_TEST(first->generation == 1u);
    BOOST_TEST((s.on_request(t0, 0) == verdict::use));
    // The same token, or one that expires sooner, is no news.
    BOOST_TEST(!s.on_offered(week_token(t0), t0 + 1h));
    auto older = week_token(t0 - 1h);
    older.value = "older";
    BOOST_TEST(!s.on_offered(older, t0 + 1h));
    // An expired one never.
    auto stale = week_token(t0 - 8 * 24h);
    stale.value = "stale";
    BOOST_TEST(!s.on_offered(stale, t0));
    // A newer one after a 401: it serves everyone, the refused generation included.
    BOOST_TEST((s.on_request(t0 + 1h, first->generation + 1) == verdict::refresh_and_wait));
    s.on_refresh_started();
    auto newer = week_token(t0 + 1h);
    newer.value = "newer";
    // While a refresh runs, it will find the token in the store itself.
    BOOST_TEST(!s.on_offered(newer, t0 + 1h));
    s.on_refresh_failed(t0 + 1h);
    auto taken = s.on_offered(newer, t0 + 1h);
    BOOST_REQUIRE(taken);
    BOOST_TEST(taken->generation == 2u);
    BOOST_TEST((s.on_request(t0 + 1h, first->generation + 1) == verdict::use));
}

BOOST_AUTO_TEST_CASE(a_401_asks_for_a_newer_generation_for_everyone) {
    auto s = make();
    s.on_refresh_started();
    auto first = s.on_refresh_succeeded(week_token(t0));
    BOOST_TEST((s.on_request(t0 + 1h, first->generation + 1) == verdict::refresh_and_wait));
    s.on_refresh_started();
    // A call that had not seen the 401 waits too: the old token is known bad.
    BOOST_TEST((s.on_request(t0 + 1h, 0) == verdict::wait));
    auto second = s.on_refresh_succeeded(week_token(t0 + 1h));
    BOOST_TEST(second->generation == 2u);
    // A late 401 on the first token is already answered by the second.
    BOOST_TEST((s.on_request(t0 + 1h, first->generation + 1) == verdict::use));
}

BOOST_AUTO_TEST_CASE(short_lived_tokens_refresh_at_half_life) {
    auto s = make();
    s.on_refresh_started();
    token t;
    t.issued_at = t0;
    t.expires_at = t0 + 10s;
    s.on_refresh_succeeded(t);
    BOOST_TEST((s.background_refresh_at() == t0 + 5s));
    BOOST_TEST((s.on_request(t0 + 4s, 0) == verdict::use));
    BOOST_TEST((s.on_request(t0 + 6s, 0) == verdict::use_and_refresh));
}

BOOST_AUTO_TEST_CASE(failures_back_off_exponentially_and_reset_on_success) {
    auto s = make();
    s.on_refresh_started();
    s.on_refresh_failed(t0);
    BOOST_TEST(s.refresh_delay(t0).count() == 100);
    BOOST_TEST(s.refresh_delay(t0 + 40ms).count() == 60);
    BOOST_TEST((s.on_request(t0, 0) == verdict::refresh_and_wait));
    s.on_refresh_started();
    s.on_refresh_failed(t0);
    BOOST_TEST(s.refresh_delay(t0).count() == 200);
    for (int i = 0; i < 10; ++i) {
        s.on_refresh_started();
        s.on_refresh_failed(t0);
    }
    BOOST_TEST(s.refresh_delay(t0).count() == 1600);
    BOOST_TEST(s.consecutive_failures() == 12u);
    s.on_refresh_started();
    s.on_refresh_succeeded(week_token(t0));
    BOOST_TEST(s.refresh_delay(t0).count() == 0);
    BOOST_TEST(s.consecutive_failures() == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_early_refresh_keeps_the_valid_token) {
    auto s = make();
    s.on_refresh_started();
    auto tok = s.on_refresh_succeeded(week_token(t0));
    const auto late = t0 + 7 * 24h - 10min;
    BOOST_TEST((s.on_request(late, 0) == verdict::use_and_refresh));
    s.on_refresh_started();
    s.on_refresh_failed(late);
    BOOST_TEST((s.on_request(late, 0) == verdict::use_and_refresh));
    BOOST_TEST(s.current() == tok);
}

BOOST_AUTO_TEST_SUITE_END()
