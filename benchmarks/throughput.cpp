// throughput: N calls at concurrency C against a CODEF emulator, and what they cost.
//
//   throughput [--calls N] [--concurrency C] [--threads T] [--max-connections M]
//              [--path PATH] [--api-url URL --oauth-url URL --ca-file PEM]
//              [--params-file FILE [--no-warmup]] [--observer] [--json]
//
// Without --api-url it starts an emulator in its own process (a smoke run: the figures then
// include the server's work). benchmarks/run-throughput.sh runs the emulator as a separate,
// pinned process instead. Prints calls/s, latency percentiles, CPU seconds, peak RSS, heap
// allocations per call and the client's connection and token counters. --observer installs an
// observer that counts every event (relaxed atomics): the CPU per call with and without it is
// what delivering events costs (benchmarks/observer-overhead.sh).
//
// What comes before the timed calls (the "warm-up"):
//   - without --params-file, two calls (connectedId-list, account/list) that find the call's
//     parameters: the token is issued and one connection is open when the timing starts;
//   - with --params-file FILE (the parameters as a JSON object), the token alone, and no API
//     call: what every client of benchmarks/compare.sh holds when its timing starts;
//   - with --no-warmup as well, nothing: the first timed call asks for the token and opens the
//     first connection (the cold start).
// first_call_ms: from the program's start (a static initialised when the program is loaded,
// before main) to the end of its first good timed call.
#include <codef/client.hpp>
#include <codef/emulator.hpp>
#include <codef/observer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

namespace {
// Initialised with the program's statics, before main: with the highest priority a program may
// give (101), before the other C++ statics of the program and of the codef library it links; the
// shared libraries (libstdc++, OpenSSL) are loaded and initialised before it.
__attribute__((init_priority(101))) const clock_type::time_point program_start = clock_type::now();
} // namespace

// Heap allocations, counted by this program's own operator new (the benchmark binary only): what
// a call costs in allocations, the figure the cost-per-call work is judged by. With the embedded
// emulator the count includes the server's.
namespace {
std::atomic<std::uint64_t> heap_allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
    heap_allocations.fetch_add(1, std::memory_order_relaxed);
    if (n == 0) n = 1;
    void* p = align <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) throw std::bad_alloc();
    return p;
}
} // namespace

void* operator new(std::size_t n) {
    return counted_alloc(n, alignof(std::max_align_t));
}
void* operator new[](std::size_t n) {
    return counted_alloc(n, alignof(std::max_align_t));
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

namespace {

struct options {
    std::size_t calls = 10'000;
    std::size_t concurrency = 32;
    unsigned threads = 1;
    std::size_t max_connections = 0; // 0: the concurrency
    std::string path = "/v1/kr/bank/b/account/list";
    std::string api_url, oauth_url, ca_file;
    std::string params_file;
    bool warmup = true;
    bool json_out = false;
    bool observer = false;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr
        << "throughput: " << why << "\n"
        << "usage: throughput [--calls N] [--concurrency C] [--threads T] [--max-connections M]\n"
           "                  [--path PATH] [--api-url URL --oauth-url URL --ca-file PEM]\n"
           "                  [--params-file FILE [--no-warmup]] [--observer] [--json]\n";
    std::exit(2);
}

std::size_t number(const std::string& flag, const char* v) {
    std::size_t n = 0;
    const std::string_view s(v);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || p != s.data() + s.size() || n == 0)
        usage(flag + " needs a positive number");
    return n;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--json") {
            o.json_out = true;
            continue;
        }
        if (a == "--no-warmup") {
            o.warmup = false;
            continue;
        }
        if (a == "--observer") {
            o.observer = true;
            continue;
        }
        if (i + 1 >= argc) usage(a + " needs a value (or is unknown)");
        const char* v = argv[++i];
        if (a == "--calls")
            o.calls = number(a, v);
        else if (a == "--concurrency")
            o.concurrency = number(a, v);
        else if (a == "--threads")
            o.threads = static_cast<unsigned>(number(a, v));
        else if (a == "--max-connections")
            o.max_connections = number(a, v);
        else if (a == "--path")
            o.path = v;
        else if (a == "--api-url")
            o.api_url = v;
        else if (a == "--oauth-url")
            o.oauth_url = v;
        else if (a == "--ca-file")
            o.ca_file = v;
        else if (a == "--params-file")
            o.params_file = v;
        else
            usage("unknown option " + a);
    }
    if (o.api_url.empty() != o.oauth_url.empty()) usage("--api-url and --oauth-url go together");
    if (!o.warmup && o.params_file.empty())
        usage("--no-warmup needs --params-file (finding the parameters takes calls)");
    return o;
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// The parameters of one call: a registered connectedId and one of its organizations.
asio::awaitable<json::object> call_params(codef::client& c) {
    auto ids = co_await c.request("/v1/account/connectedId-list", {});
    const auto& list = ids.data.at("connectedIdList").as_array();
    if (list.empty())
        throw std::runtime_error("the emulator has no connectedIds (start it with --seed-ids)");
    json::object by_id{{"connectedId", list.at(0)}};
    auto accounts = co_await c.request("/v1/account/list", by_id);
    json::object p{
        {"connectedId", list.at(0)},
        {"organization", accounts.data.at("accountList").as_array().at(0).at("organizationCode")},
        {"startDate", "20190401"},
        {"endDate", "20190630"}};
    co_return p;
}

json::object read_params(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    if (!f) throw std::runtime_error("--params-file: cannot read " + path);
    boost::system::error_code ec;
    json::value v = json::parse(text.str(), ec);
    if (ec || !v.is_object())
        throw std::runtime_error("--params-file: " + path + " does not hold a JSON object");
    return std::move(v.as_object());
}

// Counts every event, as the cheapest useful observer would: a relaxed atomic increment each.
class counting_observer : public codef::observer {
public:
    void on_call_started(const codef::call_started_event&) override { bump(); }
    void on_call_finished(const codef::call_finished_event&) override { bump(); }
    void on_retry(const codef::retry_event&) override { bump(); }
    void on_token_refresh_started(const codef::token_refresh_started_event&) override { bump(); }
    void on_token_refresh_finished(const codef::token_refresh_finished_event&) override { bump(); }
    void on_connection_opened(const codef::connection_opened_event&) override { bump(); }
    void on_connection_closed(const codef::connection_closed_event&) override { bump(); }
    void on_connection_stale(const codef::connection_stale_event&) override { bump(); }
    void on_pool_wait(const codef::pool_wait_event&) override { bump(); }
    std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }

private:
    void bump() { events_.fetch_add(1, std::memory_order_relaxed); }
    std::atomic<std::uint64_t> events_{0};
};

struct run_state {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> errors{0};
    // Nanoseconds from program_start to the end of the first good call; 0: none yet.
    std::atomic<std::int64_t> first_good_ns{0};
    std::vector<std::uint32_t> latency_us;
};

asio::awaitable<void> worker(codef::client& c, const options& o, const json::object& params,
                             run_state& s) {
    for (;;) {
        const std::size_t i = s.next.fetch_add(1);
        if (i >= o.calls) co_return;
        const auto start = clock_type::now();
        auto r = co_await c.try_request(o.path, params);
        const auto end = clock_type::now();
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
        s.latency_us[i] = static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX));
        if (!r || !r->ok()) {
            s.errors.fetch_add(1);
        } else if (s.first_good_ns.load(std::memory_order_relaxed) == 0) {
            std::int64_t none = 0;
            s.first_good_ns.compare_exchange_strong(
                none,
                std::chrono::duration_cast<std::chrono::nanoseconds>(end - program_start).count());
        }
    }
}

double percentile_ms(std::vector<std::uint32_t> v, double p) {
    if (v.empty()) return 0;
    const std::size_t k =
        std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k] / 1000.0;
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    std::optional<codef::emulator> embedded;
    codef::config cfg;
    if (o.api_url.empty()) {
        codef::emulator_options eo;
        eo.seed_connected_ids = 10;
        embedded.emplace(eo);
        cfg = embedded->client_config();
    } else {
        cfg.api_url = o.api_url;
        cfg.oauth_url = o.oauth_url;
        cfg.ca_file = o.ca_file;
    }
    cfg.max_connections = o.max_connections ? o.max_connections : o.concurrency;
    // One thread runs the io_context: the calls need no strand of their own (no hop at all).
    cfg.thread_safe = o.threads > 1;
    std::shared_ptr<counting_observer> counter;
    if (o.observer) {
        counter = std::make_shared<counting_observer>();
        cfg.observer = counter;
    }

    try {
        asio::io_context ioc(static_cast<int>(o.threads));
        codef::client client(ioc.get_executor(), cfg);
        json::object params;
        std::exception_ptr failed;
        const char* warmup = "none";
        if (o.params_file.empty()) {
            warmup = "lookup calls";
            asio::co_spawn(ioc, call_params(client), [&](std::exception_ptr e, json::object p) {
                failed = e;
                params = std::move(p);
            });
        } else {
            params = read_params(o.params_file);
            if (o.warmup) {
                warmup = "token";
                asio::co_spawn(
                    ioc,
                    [&]() -> asio::awaitable<void> {
                        auto t = co_await client.try_token();
                        if (!t) throw std::runtime_error("token: " + t.error().message());
                    },
                    [&](std::exception_ptr e) { failed = e; });
            }
        }
        ioc.run();
        if (failed) std::rethrow_exception(failed);
        const auto warm = client.stats();

        run_state s;
        s.latency_us.assign(o.calls, 0);
        const double cpu0 = cpu_seconds();
        const std::uint64_t allocs0 = heap_allocations.load();
        const std::uint64_t events0 = counter ? counter->events() : 0;
        const auto t0 = clock_type::now();
        ioc.restart();
        for (std::size_t w = 0; w < o.concurrency; ++w)
            asio::co_spawn(ioc, worker(client, o, params, s), [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        std::vector<std::thread> extra;
        for (unsigned t = 1; t < o.threads; ++t)
            extra.emplace_back([&] { ioc.run(); });
        ioc.run();
        for (auto& t : extra)
            t.join();
        const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
        const double cpu = cpu_seconds() - cpu0;
        const double allocs_per_call =
            static_cast<double>(heap_allocations.load() - allocs0) / static_cast<double>(o.calls);
        const auto st = client.stats();
        const std::uint64_t events = counter ? counter->events() - events0 : 0;
        const double cpu_us_per_call = cpu * 1e6 / static_cast<double>(o.calls);

        const double rate = static_cast<double>(o.calls) / wall;
        json::object out{{"calls", o.calls},
                         {"concurrency", o.concurrency},
                         {"threads", o.threads},
                         {"errors", s.errors.load()},
                         {"wall_s", wall},
                         {"calls_per_s", rate},
                         {"p50_ms", percentile_ms(s.latency_us, 0.50)},
                         {"p99_ms", percentile_ms(s.latency_us, 0.99)},
                         {"p999_ms", percentile_ms(s.latency_us, 0.999)},
                         {"cpu_s", cpu},
                         {"cpu_s_per_10k_calls", cpu * 10'000.0 / static_cast<double>(o.calls)},
                         {"cpu_us_per_call", cpu_us_per_call},
                         {"observer", o.observer},
                         {"observer_events", events},
                         {"peak_rss_mib", peak_rss_mib()},
                         {"allocations_per_call", allocs_per_call},
                         {"connections_opened", st.connections_opened},
                         {"tls_resumed", st.tls_resumed},
                         {"token_requests", st.token_requests},
                         {"token_requests_during_run", st.token_requests - warm.token_requests},
                         {"warmup", warmup},
                         {"first_call_ms", s.first_good_ns.load() == 0
                                               ? -1.0
                                               : static_cast<double>(s.first_good_ns.load()) / 1e6},
                         {"retries", st.retries},
                         {"embedded_emulator", embedded.has_value()}};
        if (o.json_out) {
            std::cout << json::serialize(out) << std::endl;
        } else {
            std::printf("calls %zu at concurrency %zu on %u thread(s)%s\n", o.calls, o.concurrency,
                        o.threads,
                        embedded ? " (embedded emulator: figures include the server)" : "");
            std::printf("  %.0f calls/s, wall %.2f s, errors %zu\n", rate, wall, s.errors.load());
            std::printf("  latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
                        out["p50_ms"].as_double(), out["p99_ms"].as_double(),
                        out["p999_ms"].as_double());
            std::printf("  CPU %.2f s (%.1f us per call, %.3f s per 10,000 calls), peak RSS %.1f "
                        "MiB\n",
                        cpu, cpu_us_per_call, out["cpu_s_per_10k_calls"].as_double(),
                        peak_rss_mib());
            if (o.observer)
                std::printf("  observer: %llu events counted (%.2f per call)\n",
                            static_cast<unsigned long long>(events),
                            static_cast<double>(events) / static_cast<double>(o.calls));
            std::printf("  heap allocations per call %.1f\n", allocs_per_call);
            std::printf("  warm-up: %s; first good call %.1f ms after the program's start\n",
                        warmup, out["first_call_ms"].as_double());
            std::printf("  connections opened %llu (TLS resumed %llu), token requests %llu\n",
                        static_cast<unsigned long long>(st.connections_opened),
                        static_cast<unsigned long long>(st.tls_resumed),
                        static_cast<unsigned long long>(st.token_requests));
        }
        return s.errors.load() == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "throughput: " << e.what() << "\n";
        return 1;
    }
}
