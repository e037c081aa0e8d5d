// The telemetry hub without sockets: the metrics each event moves, what the observer and the log
// hook receive, the logfmt lines, and the Prometheus text.
#include "detail/telemetry.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>

using namespace codef;
using namespace codef::detail;
using namespace std::chrono_literals;

namespace {

struct throwing : observer {
    int calls = 0;
    void on_call_finished(const call_finished_event&) override {
        ++calls;
        throw std::runtime_error("observer failed");
    }
};

call_finished_event finished(std::string_view code, error_code ec = {}) {
    call_finished_event e;
    e.path = "/v1/kr/bank/p/account/account-list";
    e.kind = path_class::product;
    e.attempts = 1;
    e.http_status = ec ? 0 : 200;
    e.codef_code = code;
    e.duration = 30ms;
    e.bytes_out = 100;
    e.bytes_in = 250;
    e.error = ec;
    e.kind_of_error = kind_of(ec);
    return e;
}

} // namespace

BOOST_AUTO_TEST_SUITE(telemetry_hub)

BOOST_AUTO_TEST_CASE(calls_are_counted_by_class_and_outcome_with_their_latency) {
    telemetry t(nullptr, {}, log_level::info);
    BOOST_TEST(!t.observed());
    t.call_finished(finished("CF-00000"));
    t.call_finished(finished("CF-00000"));
    t.call_finished(finished("CF-12345"));
    t.call_finished(finished("", transport_errc::timeout));
    auto e = finished("CF-00000");
    e.kind = path_class::account;
    e.duration = 3s;
    e.retries = 2;
    t.call_finished(e);
    const auto s = t.snapshot(7);
    BOOST_TEST(s.sum("codef_calls_total") == 5);
    BOOST_TEST(s.sum("codef_calls_total", {{"class", "product"}, {"outcome", "ok"}}) == 2);
    BOOST_TEST(s.sum("codef_calls_total", {{"outcome", "codef_error"}}) == 1);
    BOOST_TEST(s.sum("codef_calls_total", {{"outcome", "timeout"}}) == 1);
    BOOST_TEST(s.sum("codef_calls_total", {{"class", "account"}}) == 1);
    BOOST_TEST(s.sum("codef_retries_total", {{"class", "account"}}) == 2);
    BOOST_TEST(s.sum("codef_calls_in_flight") == 7);
    BOOST_TEST(s.sum("codef_request_bytes_total") == 500);
    BOOST_TEST(s.sum("codef_reply_body_bytes_total") == 1250);
    // 30 ms falls in the 0.05 s bucket; 3 s in the 5 s one.
    const auto* f = s.find("codef_call_duration_seconds");
    BOOST_REQUIRE(f);
    for (const auto& x : f->series) {
        if (x.labels != std::vector<metric_label>{{"class", "product"}, {"outcome", "ok"}})
            continue;
        BOOST_TEST(x.buckets.size() == latency_bounds.size() + 1);
        BOOST_TEST(x.buckets[3] == 0u); // <= 0.025
        BOOST_TEST(x.buckets[4] == 2u); // <= 0.05
        BOOST_TEST(x.buckets.back() == 2u);
        BOOST_TEST(x.value == 0.06, boost::test_tools::tolerance(1e-9));
    }
}

BOOST_AUTO_TEST_CASE(a_throwing_observer_does_not_break_the_client_and_the_log_sees_levels) {
    auto obs = std::make_shared<throwing>();
    std::vector<std::pair<log_level, std::string>> lines;
    telemetry t(
        obs, [&](log_level l, std::string_view s) { lines.emplace_back(l, s); }, log_level::debug);
    BOOST_TEST(t.observed());
    BOOST_CHECK_NO_THROW(t.call_finished(finished("CF-00000")));
    BOOST_CHECK_NO_THROW(t.call_finished(finished("", transport_errc::connection_closed)));
    t.connection_opened({pool_role::api, "api.codef.io", "", true, 5ms}); // trace: not logged
    token_refresh_finished_event refreshed;
    refreshed.reason = refresh_reason::unauthorized;
    refreshed.duration = 40ms;
    t.refresh_finished(refreshed);
    BOOST_TEST(obs->calls == 2);
    BOOST_REQUIRE(lines.size() == 3u);
    BOOST_TEST((lines[0].first == log_level::debug));
    BOOST_TEST((lines[1].first == log_level::warning));
    BOOST_TEST((lines[2].first == log_level::info));
    BOOST_TEST(lines[0].second == "event=call_finished path=/v1/kr/bank/p/account/account-list "
                                  "class=product attempts=1 retries=0 status=200 code=CF-00000 "
                                  "ms=30.000 bytes_out=100 bytes_in=250");
    BOOST_TEST(lines[2].second ==
               "event=token_refresh_finished reason=unauthorized ms=40.000 outcome=issued");
    const auto s = t.snapshot(0);
    BOOST_TEST(s.sum("codef_connections_opened_total", {{"resumed", "true"}}) == 1);
    BOOST_TEST(s.sum("codef_token_refreshes_total", {{"reason", "unauthorized"}}) == 1);
}

BOOST_AUTO_TEST_CASE(a_log_line_is_one_line_whatever_the_server_or_caller_put_in_it) {
    auto e = finished("CF-00000\r\nevent=forged \x1b[31m");
    e.tag = "trace \"7\"";
    e.transaction_id = "\xed\x95\x9c";
    const std::string line = format_event(e);
    BOOST_TEST(line.find('\n') == std::string::npos);
    BOOST_TEST(line.find('\x1b') == std::string::npos);
    BOOST_TEST(line.find(R"(code="CF-00000\x0d\x0aevent=forged \x1b[31m")") != std::string::npos);
    BOOST_TEST(line.find(R"(tag="trace \"7\"")") != std::string::npos);
    BOOST_TEST(line.find(R"(transaction_id="\xed\x95\x9c")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_prometheus_text_of_a_small_snapshot_is_exact) {
    metrics_snapshot s;
    metric_family c;
    c.name = "x_total";
    c.help = "Things.";
    c.series.push_back({{{"k", "a\"b\\c\nd"}}, 3, {}});
    s.families.push_back(c);
    metric_family h;
    h.name = "y_seconds";
    h.help = "Waits.";
    h.type = metric_type::histogram;
    h.bounds = {0.5, 1};
    h.series.push_back({{}, 1.25, {1, 2, 3}});
    s.families.push_back(h);
    BOOST_TEST(to_prometheus(s) == "# HELP x_total Things.\n"
                                   "# TYPE x_total counter\n"
                                   "x_total{k=\"a\\\"b\\\\c\\nd\"} 3\n"
                                   "# HELP y_seconds Waits.\n"
                                   "# TYPE y_seconds histogram\n"
                                   "y_seconds_bucket{le=\"0.5\"} 1\n"
                                   "y_seconds_bucket{le=\"1\"} 2\n"
                                   "y_seconds_bucket{le=\"+Inf\"} 3\n"
                                   "y_seconds_sum 1.25\n"
                                   "y_seconds_count 3\n");
}

BOOST_AUTO_TEST_SUITE_END()
