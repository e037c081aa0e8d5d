// The call state machine, event by event: every rule about sending a request again.
#include "detail/call_fsm.hpp"
#include "support.hpp"

#include <boost/asio/error.hpp>

using namespace codef;
using namespace codef::detail;
using namespace std::chrono_literals;
using step = call_fsm::step;
using ending = call_fsm::ending;

namespace {

const steady_clock::time_point t0{std::chrono::hours(1)};

retry_settings settings() {
    retry_settings s;
    s.max_attempts = 3;
    s.initial_backoff = 100ms;
    s.max_backoff = 400ms;
    return s;
}

exchange_report reply(unsigned status, bool reused = false) {
    exchange_report r;
    r.status = status;
    r.reused = reused;
    r.written = true;
    r.reply_started = true;
    return r;
}

// A reused connection that failed: written (some bytes of the request left) or not, before any
// byte of the reply.
exchange_report stale(bool written, error_code ec = transport_errc::connection_closed) {
    exchange_report r;
    r.ec = ec;
    r.reused = true;
    r.written = written;
    return r;
}

struct machine {
    retry_policy policy{settings(), 7};
    retry_budget budget;
    call_fsm fsm;
    explicit machine(retry_class rc, bool reissue = true, double ratio = 0.1, unsigned floor = 10)
        : budget(ratio, floor)
        , fsm(policy, &budget, rc, t0 + 10s, reissue) {}
    // Start, and get a token of generation g.
    call_fsm::action begin(std::uint64_t g = 1) {
        auto a = fsm.start();
        BOOST_TEST((a.what == step::get_token));
        BOOST_TEST(a.min_generation == 0u);
        return fsm.on_token(true, g);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(call_state_machine)

BOOST_AUTO_TEST_CASE(a_plain_call_takes_a_token_and_one_exchange) {
    machine m(retry_class::idempotent);
    auto a = m.begin();
    BOOST_TEST((a.what == step::exchange));
    BOOST_TEST(!a.fresh);
    a = m.fsm.on_exchange(reply(200), t0);
    BOOST_TEST((a.what == step::done));
    BOOST_TEST((a.how == ending::reply));
    BOOST_TEST(!a.outcome_unknown);
    BOOST_TEST(m.fsm.attempts() == 1u);
    BOOST_TEST(m.fsm.retries() == 0u);
    BOOST_TEST(m.budget.available() == 10.0); // full already: a success adds nothing past it
}

BOOST_AUTO_TEST_CASE(no_token_ends_the_call) {
    machine m(retry_class::idempotent);
    m.fsm.start();
    auto a = m.fsm.on_token(false, 0);
    BOOST_TEST((a.what == step::done));
    BOOST_TEST((a.how == ending::token));
}

BOOST_AUTO_TEST_CASE(a_401_or_403_reissues_once_then_resends_even_a_change) {
    for (unsigned status : {401u, 403u}) {
        machine m(retry_class::non_idempotent);
        m.begin(4);
        auto a = m.fsm.on_exchange(reply(status), t0);
        BOOST_TEST((a.what == step::get_token));
        BOOST_TEST(a.min_generation == 5u); // newer than the one refused
        a = m.fsm.on_token(true, 5);
        BOOST_TEST((a.what == step::exchange));
        a = m.fsm.on_exchange(reply(200), t0);
        BOOST_TEST((a.how == ending::reply));
        BOOST_TEST(m.fsm.reissues() == 1u);
        BOOST_TEST(m.fsm.attempts() == 1u);
    }
}

BOOST_AUTO_TEST_CASE(a_second_401_is_the_answer_not_a_loop) {
    machine m(retry_class::idempotent);
    m.begin(1);
    m.fsm.on_exchange(reply(401), t0);
    m.fsm.on_token(true, 2);
    auto a = m.fsm.on_exchange(reply(401), t0);
    BOOST_TEST((a.what == step::done));
    BOOST_TEST((a.how == ending::http));
    BOOST_TEST(m.fsm.reissues() == 1u);
}

BOOST_AUTO_TEST_CASE(the_token_request_itself_does_not_reissue) {
    machine m(retry_class::idempotent, false);
    m.begin();
    auto a = m.fsm.on_exchange(reply(401), t0);
    BOOST_TEST((a.how == ending::http));
    BOOST_TEST(m.fsm.reissues() == 0u);
}

BOOST_AUTO_TEST_CASE(an_inquiry_on_a_stale_connection_goes_again_on_a_fresh_one) {
    machine m(retry_class::idempotent);
    m.begin();
    auto a = m.fsm.on_exchange(stale(true), t0);
    BOOST_TEST((a.what == step::exchange));
    BOOST_TEST(a.fresh);
    a = m.fsm.on_exchange(reply(200), t0);
    BOOST_TEST((a.how == ending::reply));
    BOOST_TEST(m.fsm.stale_resends() == 1u);
    BOOST_TEST(m.fsm.retries() == 0u);
}

BOOST_AUTO_TEST_CASE(a_change_goes_again_only_if_not_one_byte_was_written) {
    {
        machine m(retry_class::non_idempotent);
        m.begin();
        auto a = m.fsm.on_exchange(stale(false), t0);
        BOOST_TEST((a.what == step::exchange));
        BOOST_TEST(a.fresh);
    }
    {
        machine m(retry_class::non_idempotent);
        m.begin();
        auto a = m.fsm.on_exchange(stale(true), t0);
        BOOST_TEST((a.what == step::done));
        BOOST_TEST((a.how == ending::transport));
        BOOST_TEST(a.outcome_unknown); // the server may have carried it out
        BOOST_TEST(m.fsm.stale_resends() == 0u);
        BOOST_TEST(m.fsm.retries() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(a_stale_resend_happens_once_per_attempt) {
    machine m(retry_class::idempotent);
    m.begin();
    m.fsm.on_exchange(stale(true), t0);
    // The fresh connection fails the same way: the retry policy decides now, with backoff.
    auto a = m.fsm.on_exchange(stale(true), t0);
    BOOST_TEST((a.what == step::backoff));
    BOOST_TEST(a.delay < 100ms);
    BOOST_TEST(m.fsm.stale_resends() == 1u);
}

BOOST_AUTO_TEST_CASE(no_stale_resend_after_reply_bytes_a_timeout_or_a_cancellation) {
    machine started(retry_class::idempotent);
    started.begin();
    auto r = stale(true);
    r.reply_started = true;
    BOOST_TEST((started.fsm.on_exchange(r, t0).what == step::backoff)); // a retry, not a resend
    BOOST_TEST(started.fsm.stale_resends() == 0u);

    machine timed_out(retry_class::idempotent);
    timed_out.begin();
    auto a = timed_out.fsm.on_exchange(stale(true, transport_errc::timeout), t0 + 10s);
    BOOST_TEST((a.what == step::done)); // no time left
    BOOST_TEST(timed_out.fsm.stale_resends() == 0u);

    machine cancelled(retry_class::idempotent);
    cancelled.begin();
    a = cancelled.fsm.on_exchange(stale(false, boost::asio::error::operation_aborted), t0);
    BOOST_TEST((a.what == step::done));
    BOOST_TEST((a.how == ending::transport));
}

BOOST_AUTO_TEST_CASE(a_timed_out_change_that_was_written_has_an_unknown_outcome) {
    machine m(retry_class::non_idempotent);
    m.begin();
    exchange_report r;
    r.ec = transport_errc::timeout;
    r.written = true;
    auto a = m.fsm.on_exchange(r, t0 + 10s);
    BOOST_TEST(a.outcome_unknown);
    machine unsent(retry_class::non_idempotent);
    unsent.begin();
    r.written = false;
    a = unsent.fsm.on_exchange(r, t0 + 10s);
    BOOST_TEST((a.how == ending::transport));
    BOOST_TEST(!a.outcome_unknown); // nothing left: the server never saw it
}

BOOST_AUTO_TEST_CASE(overload_is_retried_with_backoff_up_to_the_attempt_limit) {
    machine m(retry_class::idempotent);
    m.begin();
    for (unsigned attempt = 1; attempt < 3; ++attempt) {
        auto a = m.fsm.on_exchange(reply(503), t0);
        BOOST_TEST((a.what == step::backoff));
        a = m.fsm.on_backoff_done();
        BOOST_TEST((a.what == step::get_token));
        a = m.fsm.on_token(true, 1);
        BOOST_TEST((a.what == step::exchange));
    }
    auto a = m.fsm.on_exchange(reply(503), t0);
    BOOST_TEST((a.how == ending::http));
    BOOST_TEST(m.fsm.attempts() == 3u);
    BOOST_TEST(m.fsm.retries() == 2u);
}

BOOST_AUTO_TEST_CASE(a_change_answered_with_503_is_not_sent_again) {
    machine m(retry_class::non_idempotent);
    m.begin();
    auto a = m.fsm.on_exchange(reply(503), t0);
    BOOST_TEST((a.how == ending::http));
    BOOST_TEST(!a.outcome_unknown); // the server answered
}

BOOST_AUTO_TEST_CASE(retry_after_is_a_minimum_and_must_fit_the_deadline) {
    machine m(retry_class::idempotent);
    m.begin();
    auto r = reply(429);
    r.retry_after = 2s;
    auto a = m.fsm.on_exchange(r, t0);
    BOOST_TEST((a.what == step::backoff));
    BOOST_TEST(a.delay == 2000ms);
    m.fsm.on_backoff_done();
    m.fsm.on_token(true, 1);
    r.retry_after = 30s; // past the deadline: the 429 is the answer
    a = m.fsm.on_exchange(r, t0 + 2s);
    BOOST_TEST((a.how == ending::http));
}

BOOST_AUTO_TEST_CASE(an_empty_budget_stops_retries) {
    machine m(retry_class::idempotent, true, 0.0, 1); // one retry in the whole client
    m.begin();
    BOOST_TEST((m.fsm.on_exchange(reply(503), t0).what == step::backoff));
    m.fsm.on_backoff_done();
    m.fsm.on_token(true, 1);
    auto a = m.fsm.on_exchange(reply(503), t0);
    BOOST_TEST((a.how == ending::http));
    BOOST_TEST(m.fsm.attempts() == 2u);
}

BOOST_AUTO_TEST_CASE(a_reissued_generation_is_kept_for_later_attempts) {
    machine m(retry_class::idempotent);
    m.begin(7);
    m.fsm.on_exchange(reply(401), t0);
    m.fsm.on_token(true, 8);
    BOOST_TEST((m.fsm.on_exchange(reply(503), t0).what == step::backoff));
    auto a = m.fsm.on_backoff_done();
    BOOST_TEST(a.min_generation == 8u); // never the refused token again
    // A new attempt may reissue once more.
    m.fsm.on_token(true, 8);
    a = m.fsm.on_exchange(reply(401), t0);
    BOOST_TEST((a.what == step::get_token));
    BOOST_TEST(a.min_generation == 9u);
}

BOOST_AUTO_TEST_CASE(permanent_errors_end_at_once) {
    machine m(retry_class::idempotent);
    m.begin();
    exchange_report r;
    r.ec = protocol_errc::bad_http;
    r.written = true;
    r.reply_started = true;
    auto a = m.fsm.on_exchange(r, t0);
    BOOST_TEST((a.how == ending::transport));
    BOOST_TEST(m.fsm.retries() == 0u);
    BOOST_TEST((machine(retry_class::idempotent).fsm.start().what == step::get_token));
}

BOOST_AUTO_TEST_SUITE_END()
