// What a client tells its operator, against the emulator: events under faults and 401 storms, the
// log hook, the metrics and their Prometheus text, per-call headers and tags, and a drain under
// load. Run on several threads (and under ThreadSanitizer: the observer is called concurrently).
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <map>
#include <mutex>
#include <regex>
#include <sstream>

namespace asio = boost::asio;
using namespace codef;
using namespace std::chrono_literals;

namespace {

// Keeps every event, as its logfmt line, and counts each kind.
struct recorder : observer {
    std::mutex m;
    std::vector<std::string> lines;
    std::vector<call_finished_event> finished; // views cleared: only the numbers are kept
    std::vector<std::string> finished_tags;
    std::vector<std::string> retry_tags;
    std::map<std::string, int> counts;
    std::map<refresh_reason, int> refreshes;

    void add(const char* what, std::string line) {
        std::lock_guard l(m);
        ++counts[what];
        lines.push_back(std::move(line));
    }
    void on_call_started(const call_started_event& e) override {
        add("call_started", format_event(e));
    }
    void on_call_finished(const call_finished_event& e) override {
        add("call_finished", format_event(e));
        std::lock_guard l(m);
        call_finished_event kept = e;
        kept.path = kept.codef_code = kept.transaction_id = kept.tag = {};
        finished.push_back(kept);
        finished_tags.emplace_back(e.tag);
    }
    void on_retry(const retry_event& e) override {
        add("retry", format_event(e));
        std::lock_guard l(m);
        retry_tags.emplace_back(e.tag);
    }
    void on_token_refresh_started(const token_refresh_started_event& e) override {
        add("token_refresh_started", format_event(e));
        std::lock_guard l(m);
        ++refreshes[e.reason];
    }
    void on_token_refresh_finished(const token_refresh_finished_event& e) override {
        add("token_refresh_finished", format_event(e));
    }
    void on_connection_opened(const connection_opened_event& e) override {
        add("connection_opened", format_event(e));
    }
    void on_connection_closed(const connection_closed_event& e) override {
        add("connection_closed", format_event(e));
    }
    void on_connection_stale(const connection_stale_event& e) override {
        add("connection_stale", format_event(e));
    }
    void on_pool_wait(const pool_wait_event& e) override { add("pool_wait", format_event(e)); }
    int count(const std::string& what) {
        std::lock_guard l(m);
        return counts[what];
    }
};

struct fixture {
    emulator emu{[] {
        emulator_options o;
        o.seed_connected_ids = 5;
        o.threads = 2;
        return o;
    }()};
    asio::io_context ioc;
    std::shared_ptr<recorder> seen = std::make_shared<recorder>();

    config cfg() {
        config c = emu.client_config();
        c.observer = seen;
        c.retry.initial_backoff = 1ms;
        c.retry.max_backoff = 5ms;
        return c;
    }
};

constexpr const char* ids_path = "/v1/account/connectedId-list";

std::vector<asio::awaitable<error_code>> calls(client& c, int n, call_options opts = {}) {
    std::vector<asio::awaitable<error_code>> v;
    for (int i = 0; i < n; ++i)
        v.push_back([](client& c, call_options opts) -> asio::awaitable<error_code> {
            auto r = co_await c.try_request(ids_path, {}, opts);
            if (r && !r->ok()) co_return make_error_code(boost::system::errc::bad_message);
            co_return r.error();
        }(c, opts));
    return v;
}

std::size_t succeeded(const std::vector<std::optional<error_code>>& results) {
    return std::count_if(results.begin(), results.end(), [](const auto& r) { return r && !*r; });
}

// The Prometheus text exposition format, line by line: a comment (HELP or TYPE), or a sample
// `name{label="value",...} number`.
bool is_exposition_line(const std::string& line) {
    static const std::regex help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
    static const std::regex type(R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))");
    static const std::regex sample(
        R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")"
        R"((,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? )"
        R"(([-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN))");
    return std::regex_match(line, help) || std::regex_match(line, type) ||
           std::regex_match(line, sample);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(observability, fixture)

BOOST_AUTO_TEST_CASE(two_injected_failures_give_two_retry_events_and_one_successful_finish) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value()); // the token first
    emulator_faults f;
    f.fail_next = 2;
    emu.apply(f);
    call_options o;
    o.tag = "job-7/id-42";
    auto r = codef::test::run(ioc, c.try_request(ids_path, {}, o));
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->ok());
    BOOST_TEST(seen->count("retry") == 2);
    BOOST_TEST(seen->count("call_finished") == 1);
    BOOST_TEST(seen->count("call_started") == 1);
    std::lock_guard l(seen->m);
    BOOST_REQUIRE(seen->finished.size() == 1u);
    const auto& e = seen->finished[0];
    BOOST_TEST(!e.error);
    BOOST_TEST(e.attempts == 3u);
    BOOST_TEST(e.retries == 2u);
    BOOST_TEST(e.http_status == 200);
    BOOST_TEST(e.bytes_out > 0u);
    BOOST_TEST(e.bytes_in > 0u);
    BOOST_TEST(seen->finished_tags[0] == "job-7/id-42");
    BOOST_TEST((seen->retry_tags == std::vector<std::string>{"job-7/id-42", "job-7/id-42"}));
    // The retry lines name the cause: the 503 the emulator sent.
    int with_status = 0;
    for (const auto& line : seen->lines)
        if (line.starts_with("event=retry ") && line.find(" status=503 ") != std::string::npos)
            ++with_status;
    BOOST_TEST(with_status == 2);
}

BOOST_AUTO_TEST_CASE(a_401_storm_of_a_thousand_calls_gives_one_token_refresh_event) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value());
    BOOST_TEST(seen->count("token_refresh_started") == 1);
    {
        std::lock_guard l(seen->m);
        BOOST_TEST(seen->refreshes[refresh_reason::first_use] == 1);
    }
    emu.revoke_tokens();
    auto results = codef::test::run_all(ioc, calls(c, 1000));
    BOOST_TEST(succeeded(results) == 1000u);
    BOOST_TEST(seen->count("token_refresh_started") == 2);
    BOOST_TEST(seen->count("token_refresh_finished") == 2);
    BOOST_TEST(seen->count("call_finished") == 1000);
    std::lock_guard l(seen->m);
    BOOST_TEST(seen->refreshes[refresh_reason::unauthorized] == 1);
    const auto m = c.metrics();
    BOOST_TEST(m.sum("codef_token_refreshes_total", {{"reason", "unauthorized"}}) == 1);
    BOOST_TEST(m.sum("codef_token_refreshes_total", {{"outcome", "issued"}}) == 2);
}

BOOST_AUTO_TEST_CASE(a_refresh_says_why_it_began_forced_and_403_included) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value());
    emulator_faults f;
    f.token_authorities = std::vector<std::string>{"CARD"}; // a token that may not read banks
    emu.apply(f);
    BOOST_TEST(codef::test::run(ioc, c.refresh_token()).has_value());
    emulator_faults all;
    all.token_authorities =
        std::vector<std::string>{"BANK", "CARD", "INSURANCE", "PUBLIC", "STOCK", "ETC"};
    emu.apply(all);
    // The bank call meets 403 access_denied, reissues once and goes again.
    auto r = codef::test::run(
        ioc, c.try_request("/v1/kr/bank/p/account/account-list", {{"organization", "0004"}}));
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(emu.stats().forbidden == 1u);
    std::lock_guard l(seen->m);
    BOOST_TEST(seen->refreshes[refresh_reason::first_use] == 1);
    BOOST_TEST(seen->refreshes[refresh_reason::forced] == 1);
    BOOST_TEST(seen->refreshes[refresh_reason::forbidden] == 1);
    BOOST_TEST(seen->refreshes.size() == 3u);
}

BOOST_AUTO_TEST_CASE(the_prometheus_text_parses_and_counts_every_call) {
    client c(ioc.get_executor(), cfg());
    emulator_faults f;
    f.fail_next = 1;
    f.fail_status = 500; // not retried: one call fails with http
    emu.apply(f);
    auto results = codef::test::run_all(ioc, calls(c, 40));
    BOOST_TEST(succeeded(results) == 39u);
    const auto m = c.metrics();
    BOOST_TEST(m.sum("codef_calls_total") == 40);
    BOOST_TEST(m.sum("codef_calls_total", {{"class", "account"}, {"outcome", "ok"}}) == 39);
    BOOST_TEST(m.sum("codef_calls_total", {{"outcome", "http"}}) == 1);
    BOOST_TEST(m.sum("codef_call_duration_seconds") == 40);
    BOOST_TEST(m.sum("codef_calls_in_flight") == 0);
    BOOST_TEST(m.sum("codef_connections_opened_total") ==
               static_cast<double>(c.stats().connections_opened));
    const std::string text = to_prometheus(m);
    std::istringstream in(text);
    int lines = 0;
    double calls_total = 0;
    for (std::string line; std::getline(in, line); ++lines) {
        BOOST_TEST(is_exposition_line(line), "not exposition format: " << line);
        if (line.starts_with("codef_calls_total{"))
            calls_total += std::stod(line.substr(line.rfind(' ') + 1));
    }
    BOOST_TEST(lines > 100);
    BOOST_TEST(calls_total == 40);
    BOOST_TEST(text.find("codef_call_duration_seconds_bucket{class=\"account\",outcome=\"ok\","
                         "le=\"+Inf\"} 39\n") != std::string::npos);
    // The grammar check itself refuses what is not the format.
    BOOST_TEST(!is_exposition_line("codef_calls_total{class=account} 1"));
    BOOST_TEST(!is_exposition_line("codef calls 1"));
}

BOOST_AUTO_TEST_CASE(the_log_hook_gets_lines_at_its_level_and_above) {
    auto log = std::make_shared<std::vector<std::pair<log_level, std::string>>>();
    auto m = std::make_shared<std::mutex>();
    config cfg = emu.client_config();
    cfg.retry.initial_backoff = 1ms;
    cfg.log_level = log_level::info;
    cfg.log = [log, m](log_level l, std::string_view line) {
        std::lock_guard g(*m);
        log->emplace_back(l, std::string(line));
    };
    client c(ioc.get_executor(), cfg);
    emulator_faults f;
    f.fail_next = 1;
    emu.apply(f);
    BOOST_TEST(codef::test::run(ioc, c.try_request(ids_path, {}))->ok());
    std::lock_guard g(*m);
    // info and above: the retry, and the token issued; not the call (debug) nor connections.
    std::vector<std::string> events;
    for (const auto& [level, line] : *log) {
        BOOST_TEST((level >= log_level::info));
        events.push_back(line.substr(0, line.find(' ')));
    }
    BOOST_TEST((events == std::vector<std::string>{"event=token_refresh_finished", "event=retry"}));
}

BOOST_AUTO_TEST_CASE(extra_headers_are_sent_and_bad_ones_refused_before_sending) {
    client c(ioc.get_executor(), cfg());
    call_options o;
    const http_header trace[] = {
        {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
    o.headers = trace;
    auto r = codef::test::run(ioc, c.try_request(ids_path, {}, o));
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->ok());
    BOOST_TEST(emu.last_header("traceparent") ==
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const auto before = emu.stats().api_requests;
    const http_header bad[] = {
        {"X-Trace", "a\r\nHost: evil"}, // header injection
        {"Bad Name", "1"},
        {"Authorization", "Bearer mine"},
        {"content-length", "0"},
        {"Proxy-Authorization", "Basic eA=="},
        {"", "1"},
    };
    for (const auto& h : bad) {
        call_options b;
        b.headers = {&h, 1};
        auto refused = codef::test::run(ioc, c.try_request(ids_path, {}, b));
        BOOST_REQUIRE(!refused.has_value());
        BOOST_TEST(refused.error() == client_errc::invalid_argument);
        BOOST_TEST(refused.diag().detail.find("call_options.headers[0]") != std::string::npos);
        BOOST_TEST(refused.diag().detail.find("evil") == std::string::npos);
    }
    BOOST_TEST(emu.stats().api_requests == before);
}

BOOST_AUTO_TEST_CASE(a_drain_under_load_loses_no_call_and_leaves_the_client_idle) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value());
    emulator_faults f;
    f.reply_delay = 200ms; // calls are in flight when the drain begins
    emu.apply(f);
    codef::test::spawned<error_code> load(ioc, calls(c, 200));
    // A call counts itself before its first wait: once polled, every call has started.
    codef::test::run_until(
        ioc, [&] { return c.calls_in_flight() == 200; }, "every call started");
    std::optional<result<std::monostate>> drained;
    std::optional<result<response>> after;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            drained = co_await c.drain(std::chrono::steady_clock::now() + 60s);
            after = co_await c.try_request(ids_path, {});
        },
        asio::detached);
    auto results = load.run(4);
    codef::test::run_until(
        ioc, [&] { return after.has_value(); }, "the drain");
    BOOST_TEST(succeeded(results) == 200u);
    BOOST_REQUIRE(drained.has_value());
    BOOST_TEST(drained->has_value());
    BOOST_REQUIRE(after.has_value());
    BOOST_REQUIRE(!after->has_value());
    BOOST_TEST(after->error() == client_errc::draining);
    BOOST_TEST(c.calls_in_flight() == 0u);
    const auto m = c.metrics();
    BOOST_TEST(m.sum("codef_calls_total", {{"outcome", "ok"}}) == 200);
    BOOST_TEST(m.sum("codef_calls_total", {{"outcome", "client"}}) == 1);
    // Every connection opened was closed: nothing is left to destroy.
    BOOST_TEST(m.sum("codef_connections_closed_total") == m.sum("codef_connections_opened_total"));
    // Nothing is pending: the io_context runs out of work at once.
    ioc.restart();
    BOOST_TEST(ioc.run_for(5s) == 0u);
}

BOOST_AUTO_TEST_CASE(a_drain_with_nothing_in_flight_completes_at_once) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_request(ids_path, {}))->ok());
    auto r = codef::test::run(ioc, c.drain(std::chrono::steady_clock::now() + 60s));
    BOOST_TEST(r.has_value());
    auto t = codef::test::run(ioc, c.try_token());
    BOOST_REQUIRE(!t.has_value());
    BOOST_TEST(t.error() == client_errc::draining);
}

BOOST_AUTO_TEST_CASE(a_drain_that_reaches_its_deadline_says_how_many_calls_are_left) {
    client c(ioc.get_executor(), cfg());
    BOOST_TEST(codef::test::run(ioc, c.try_token()).has_value());
    emulator_faults f;
    f.hold_token_replies = true;
    emu.apply(f);
    emu.revoke_tokens(); // the call waits for a token reply that is held
    codef::test::spawned<error_code> load(ioc, calls(c, 1, call_options{2s}));
    codef::test::run_until(
        ioc, [&] { return c.calls_in_flight() == 1; }, "the call");
    auto r = codef::test::run(ioc, c.drain(std::chrono::steady_clock::now() + 10ms));
    BOOST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == transport_errc::timeout);
    BOOST_TEST(r.diag().detail.find("1 calls still in flight") != std::string::npos);
    // The drain cancelled the token refresh: the call ends with the client's shut-down.
    auto results = load.run(1);
    BOOST_REQUIRE(results[0].has_value());
    BOOST_TEST(*results[0] == client_errc::shut_down);
    emulator_faults release;
    release.hold_token_replies = false;
    emu.apply(release);
}

BOOST_AUTO_TEST_SUITE_END()
