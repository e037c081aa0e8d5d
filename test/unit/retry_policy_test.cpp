// Retry decisions: transient or not, idempotency, Retry-After, limits and the budget.
#include "detail/retry_policy.hpp"
#include "support.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

using namespace codef;
using namespace codef::detail;
using namespace std::chrono_literals;

namespace {
retry_settings settings() {
    retry_settings s;
    s.max_attempts = 4;
    s.initial_backoff = 100ms;
    s.max_backoff = 400ms;
    return s;
}
attempt_outcome status(int s) {
    return attempt_outcome{{}, s, true, std::nullopt};
}
attempt_outcome transport(error_code ec, bool sent) {
    return attempt_outcome{ec, 0, sent, std::nullopt};
}
} // namespace

BOOST_AUTO_TEST_SUITE(retries)

BOOST_AUTO_TEST_CASE(what_is_transient) {
    for (int s : {429, 502, 503, 504})
        BOOST_TEST(is_transient(status(s)));
    for (int s : {200, 400, 401, 403, 404, 500})
        BOOST_TEST(!is_transient(status(s)));
    BOOST_TEST(is_transient(transport(boost::asio::error::connection_reset, true)));
    BOOST_TEST(is_transient(transport(transport_errc::connection_closed, true)));
    BOOST_TEST(is_transient(transport(transport_errc::timeout, true)));
    BOOST_TEST(!is_transient(transport(protocol_errc::bad_json, true)));
    BOOST_TEST(!is_transient(transport(boost::asio::error::operation_aborted, false)));
    BOOST_TEST(!is_transient(transport(client_errc::invalid_argument, false)));
    const error_code verify_failed(0x1000086, boost::asio::error::get_ssl_category());
    BOOST_TEST(!is_transient(transport(verify_failed, false)));
}

BOOST_AUTO_TEST_CASE(inquiries_retry_after_server_overload) {
    retry_policy p(settings(), 1);
    auto d = p.decide(1, status(503), retry_class::idempotent, 10s, nullptr);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay < 100ms);
    BOOST_TEST(!p.decide(4, status(503), retry_class::idempotent, 10s, nullptr).retry);
}

BOOST_AUTO_TEST_CASE(account_changes_retry_only_when_nothing_was_sent) {
    retry_policy p(settings(), 1);
    BOOST_TEST(!p.decide(1, status(503), retry_class::non_idempotent, 10s, nullptr).retry);
    BOOST_TEST(!p.decide(1, transport(boost::asio::error::connection_reset, true),
                         retry_class::non_idempotent, 10s, nullptr)
                    .retry);
    BOOST_TEST(p.decide(1, transport(boost::asio::error::connection_refused, false),
                        retry_class::non_idempotent, 10s, nullptr)
                   .retry);
}

BOOST_AUTO_TEST_CASE(retry_after_is_a_minimum_capped_by_the_deadline) {
    retry_policy p(settings(), 7);
    auto o = status(429);
    o.retry_after = 2s;
    auto d = p.decide(1, o, retry_class::idempotent, 10s, nullptr);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay.count() == 2000);
    BOOST_TEST(!p.decide(1, o, retry_class::idempotent, 1s, nullptr).retry);
}

BOOST_AUTO_TEST_CASE(backoff_is_exponential_with_full_jitter) {
    retry_policy p(settings(), 42);
    std::chrono::milliseconds max1{0}, max3{0};
    for (int i = 0; i < 2000; ++i) {
        max1 = std::max(max1, p.backoff(1));
        max3 = std::max(max3, p.backoff(3));
        BOOST_TEST(p.backoff(10) < 400ms);
    }
    BOOST_TEST(max1 < 100ms);
    BOOST_TEST(max1 >= 90ms);  // 2000 draws from [0,100): the top decile is hit
    BOOST_TEST(max3 >= 360ms); // the ceiling doubled twice, capped at 400
}

BOOST_AUTO_TEST_CASE(the_budget_stops_retry_storms) {
    retry_budget b(0.5, 3);
    retry_policy p(settings(), 3);
    int granted = 0;
    for (int i = 0; i < 10; ++i)
        if (p.decide(1, status(503), retry_class::idempotent, 10s, &b).retry) ++granted;
    BOOST_TEST(granted == 3);
    b.on_success();
    BOOST_TEST(!p.decide(1, status(503), retry_class::idempotent, 10s, &b).retry); // 0.5 token
    b.on_success();
    BOOST_TEST(p.decide(1, status(503), retry_class::idempotent, 10s, &b).retry);
    for (int i = 0; i < 100; ++i)
        b.on_success();
    BOOST_TEST(b.available() == 3.0); // capped at the floor
}

BOOST_AUTO_TEST_SUITE_END()
