// codef::fleet against a real PostgreSQL 15 (pg_server: a throwaway server on a Unix socket) and
// the in-process emulator: the asynchronous libpq driver, the fleet-wide token (in this process,
// then across 8 processes), and distributed sweeps (workers in this process, then codef worker
// processes killed with SIGKILL, joining late, and a database restarted under them).
#include "fleet/pg.hpp"
#include "ndjson.hpp"
#include "pg_server.hpp"
#include "process.hpp"
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>
#include <codef/fleet.hpp>
#include <codef/observer.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <poll.h>
#include <unordered_map>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using codef::fleet::detail::pg_connection;
using codef::fleet::detail::pg_value;

namespace {

auto soon(std::chrono::milliseconds d = 10s) {
    return std::chrono::steady_clock::now() + d;
}

struct fixture {
    codef::test::pg_server pg;
    emulator emu{[] {
        emulator_options o;
        o.seed_connected_ids = 3000;
        o.threads = 2;
        return o;
    }()};
    asio::io_context ioc;
    codef::test::temp_dir dir;

    config cfg_with_store(const std::string& key = "k") {
        config c = emu.client_config();
        c.token_store = fleet::pg_token_store::make(ioc.get_executor(), {pg.uri(), key});
        return c;
    }
};

// One call of the connectedId list: true when CODEF said CF-00000.
asio::awaitable<bool> one_call(client& c) {
    auto r = co_await c.try_request("/v1/account/connectedId-list", {});
    co_return r && r->ok();
}

asio::awaitable<int> many_calls(client& c, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i)
        ok += co_await one_call(c) ? 1 : 0;
    co_return ok;
}

// Every line of an NDJSON export parsed, each a group of one: how often each connectedId appears.
std::unordered_map<std::string, int> ids_in(const std::string& path) {
    auto seen = codef::test::ids_in(path); // every line parses
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        BOOST_TEST_REQUIRE(json::parse(line).at("group").as_int64() == 1);
    return seen;
}

// Every id exactly once.
void check_exactly_once(const std::unordered_map<std::string, int>& seen, std::size_t ids) {
    BOOST_TEST(seen.size() == ids);
    std::size_t twice = 0;
    for (const auto& [id, n] : seen)
        if (n != 1) ++twice;
    BOOST_TEST(twice == 0u, twice << " connectedIds on more than one line");
}

} // namespace

// ---------------------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(pg_driver, fixture)

BOOST_AUTO_TEST_CASE(queries_take_text_parameters_and_nulls_and_name_the_sqlstate_of_an_error) {
    codef::test::run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await pg_connection::connect(ioc.get_executor(), pg.uri(), soon());
        BOOST_TEST_REQUIRE(c.has_value(), c.diag().detail);
        const std::vector<pg_value> p{std::string("it's"), std::nullopt, std::string("41")};
        auto r = co_await (*c)->query("SELECT $1::text, $2::text IS NULL, $3::int + 1", p, soon());
        BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
        BOOST_TEST(r->text(0, 0) == "it's");
        BOOST_TEST(r->text(0, 1) == "t");
        BOOST_TEST(r->text(0, 2) == "42");
        auto bad = co_await (*c)->query("SELEKT 1", {}, soon());
        BOOST_TEST(bad.error() == fleet::fleet_errc::database_error);
        BOOST_TEST(bad.diag().detail.find("42601") != std::string::npos, bad.diag().detail);
        BOOST_TEST((*c)->sqlstate() == "42601");
        // The connection is still good after a statement's error.
        auto again = co_await (*c)->query("SELECT 7", {}, soon());
        BOOST_TEST(again.has_value());
        BOOST_TEST(again->text(0, 0) == "7");
    }());
}

BOOST_AUTO_TEST_CASE(a_query_past_its_deadline_is_a_timeout_and_breaks_the_connection) {
    codef::test::run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await pg_connection::connect(ioc.get_executor(), pg.uri(), soon());
        BOOST_TEST_REQUIRE(c.has_value(), c.diag().detail);
        auto r = co_await (*c)->query("SELECT pg_sleep(30)", {}, soon(200ms));
        BOOST_TEST(r.error() == transport_errc::timeout);
        BOOST_TEST((*c)->broken());
    }());
}

BOOST_AUTO_TEST_CASE(an_unreachable_database_is_named_without_its_password) {
    codef::test::run(ioc, [&]() -> asio::awaitable<void> {
        const std::string uri =
            "postgresql://codef:Hunter2Secret@/postgres?host=" + dir.path() + "/nothing-here";
        auto c = co_await pg_connection::connect(ioc.get_executor(), uri, soon());
        BOOST_TEST(c.error() == fleet::fleet_errc::database_unreachable);
        BOOST_TEST(c.diag().detail.find("Hunter2Secret") == std::string::npos, c.diag().detail);
        BOOST_TEST(c.diag().detail.find("codef@") != std::string::npos, c.diag().detail);
        BOOST_TEST(fleet::detail::shown_uri("postgresql://u:pw12345@h/db?password=pw12345") ==
                   "postgresql://u@h/db?password=********");
    }());
}

BOOST_AUTO_TEST_CASE(a_notification_reaches_the_listening_connection) {
    codef::test::run(ioc, [&]() -> asio::awaitable<void> {
        auto l = co_await pg_connection::connect(ioc.get_executor(), pg.uri(), soon());
        auto n = co_await pg_connection::connect(ioc.get_executor(), pg.uri(), soon());
        BOOST_TEST_REQUIRE((l.has_value() && n.has_value()));
        BOOST_TEST_REQUIRE((co_await (*l)->exec("LISTEN ch", soon())).has_value());
        // Nothing yet: empty at the deadline, and the connection still usable.
        auto none = co_await (*l)->notifications(soon(50ms));
        BOOST_TEST_REQUIRE(none.has_value());
        BOOST_TEST(none->empty());
        BOOST_TEST(!(*l)->broken());
        const std::vector<pg_value> p{std::string("hello")};
        BOOST_TEST_REQUIRE(
            (co_await (*n)->query("SELECT pg_notify('ch', $1)", p, soon())).has_value());
        auto got = co_await (*l)->notifications(soon());
        BOOST_TEST_REQUIRE(got.has_value());
        BOOST_TEST_REQUIRE(got->size() == 1u);
        BOOST_TEST((*got)[0].channel == "ch");
        BOOST_TEST((*got)[0].payload == "hello");
    }());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

// Refresh events, as seen.
struct refresh_watch : observer {
    std::mutex mutex;
    std::vector<std::string> notes;
    std::vector<bool> from_store;
    void on_token_refresh_finished(const token_refresh_finished_event& e) override {
        std::lock_guard lock(mutex);
        notes.emplace_back(e.store_note);
        from_store.push_back(e.from_store);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(fleet_token, fixture)

BOOST_AUTO_TEST_CASE(two_stores_on_one_database_make_one_token_request_and_one_after_a_revocation) {
    // Two stores, as two processes would have: they share only the database.
    client a(ioc.get_executor(), cfg_with_store());
    client b(ioc.get_executor(), cfg_with_store());
    emu.reset_stats();
    auto both = [&]() -> asio::awaitable<int> {
        auto [x, y] = co_await (many_calls(a, 10) && many_calls(b, 10));
        co_return x + y;
    };
    BOOST_TEST(codef::test::run(ioc, both()) == 20);
    BOOST_TEST(emu.stats().token_requests == 1u);

    emu.revoke_tokens();
    BOOST_TEST(codef::test::run(ioc, both()) == 20);
    BOOST_TEST(emu.stats().token_requests == 2u);
    BOOST_TEST(pg.query("SELECT count(*) FROM codef_token") == "1");
}

BOOST_AUTO_TEST_CASE(a_token_announced_by_another_is_taken_before_codef_refuses_the_old_one) {
    auto store_b = fleet::pg_token_store::make(ioc.get_executor(), {pg.uri(), "k"});
    config cb = emu.client_config();
    cb.token_store = store_b;
    client a(ioc.get_executor(), cfg_with_store());
    client b(ioc.get_executor(), cb);
    BOOST_TEST(codef::test::run(ioc, one_call(a)));
    BOOST_TEST(codef::test::run(ioc, one_call(b)));
    emu.revoke_tokens();
    emu.reset_stats();
    BOOST_TEST(codef::test::run(ioc, one_call(a))); // 401, refresh, NOTIFY
    BOOST_TEST(emu.stats().unauthorized == 1u);
    const std::string fresh = codef::test::run(ioc, a.try_token()).value().access_token;
    // b's store hears of it (bounded wait: the listener runs on ioc).
    for (int i = 0; i < 500 && (!store_b->load() || store_b->load()->access_token != fresh); ++i)
        ioc.run_for(10ms);
    BOOST_TEST_REQUIRE(store_b->load().has_value());
    BOOST_TEST((store_b->load()->access_token == fresh));
    BOOST_TEST(codef::test::run(ioc, one_call(b)));
    BOOST_TEST(emu.stats().unauthorized == 1u); // b never met CODEF's refusal
    BOOST_TEST(emu.stats().token_requests == 1u);
}

BOOST_AUTO_TEST_CASE(without_its_database_a_client_issues_its_own_token_and_says_so) {
    auto watch = std::make_shared<refresh_watch>();
    config c = emu.client_config();
    c.observer = watch;
    c.token_store = fleet::pg_token_store::make(
        ioc.get_executor(),
        {"postgresql://codef:Hunter2Secret@/postgres?host=" + dir.path() + "/gone", "k"});
    client cl(ioc.get_executor(), c);
    emu.reset_stats();
    BOOST_TEST(codef::test::run(ioc, many_calls(cl, 3)) == 3);
    BOOST_TEST(emu.stats().token_requests == 1u);
    std::lock_guard lock(watch->mutex);
    BOOST_TEST_REQUIRE(watch->notes.size() == 1u);
    BOOST_TEST(watch->notes[0].find("issued a token of its own") != std::string::npos,
               watch->notes[0]);
    BOOST_TEST(watch->notes[0].find("Hunter2Secret") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

// A child with a pipe to its standard input and one from its standard output, killed by its PID
// if it outlives the test.
class interactive_child {
public:
    explicit interactive_child(const std::vector<std::string>& args) {
        int in[2], out[2];
        BOOST_TEST_REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        BOOST_TEST_REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        pid_ = codef::test::spawn_child(args, {}, fa);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        to_ = in[1];
        from_ = out[0];
    }
    ~interactive_child() {
        if (to_ >= 0) ::close(to_);
        if (pid_ > 0) {
            for (int i = 0; i < 500 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
                std::this_thread::sleep_for(10ms);
            if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
            }
        }
        ::close(from_);
    }
    void send(const std::string& line) {
        const std::string l = line + "\n";
        BOOST_TEST_REQUIRE(::write(to_, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
    }
    // A line of its output, waiting at most limit.
    std::string line(std::chrono::milliseconds limit = 60s) {
        const auto end = std::chrono::steady_clock::now() + limit;
        for (;;) {
            if (auto nl = buf_.find('\n'); nl != std::string::npos) {
                auto l = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                return l;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            BOOST_TEST_REQUIRE(left.count() > 0, "no line from the child in time");
            pollfd p{from_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[256];
            const auto n = ::read(from_, chunk, sizeof chunk);
            BOOST_TEST_REQUIRE(n > 0, "the child closed its output");
            buf_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    // Closes its input and waits for its exit status (bounded).
    int finish() {
        ::close(to_);
        to_ = -1;
        int status = 0;
        for (int i = 0; i < 3000; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(10ms);
        }
        BOOST_FAIL("the child did not exit");
        return -1;
    }

private:
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    std::string buf_;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(fleet_processes, fixture)

BOOST_AUTO_TEST_CASE(eight_processes_make_one_token_request_and_one_more_after_a_revocation) {
    const std::string ca = dir.path() + "/ca.pem";
    std::ofstream(ca) << emu.ca_pem();
    emu.reset_stats();
    std::vector<std::unique_ptr<interactive_child>> fleet;
    for (int i = 0; i < 8; ++i)
        fleet.push_back(std::make_unique<interactive_child>(std::vector<std::string>{
            FLEET_MEMBER_PATH, emu.api_url(), emu.oauth_url(), ca, pg.uri()}));
    // All at once: each process's first calls find no token.
    for (auto& m : fleet)
        m->send("calls 20");
    for (auto& m : fleet)
        BOOST_TEST(m->line() == "ok 20");
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().tokens_issued == 1u);

    emu.revoke_tokens(); // mid-run: every process's token is refused from now on
    for (auto& m : fleet)
        m->send("calls 20");
    for (auto& m : fleet)
        BOOST_TEST(m->line() == "ok 20");
    BOOST_TEST(emu.stats().token_requests == 2u);
    BOOST_TEST(emu.stats().tokens_issued == 2u);
    for (auto& m : fleet)
        BOOST_TEST(m->finish() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

const std::string product = "/v1/kr/bank/p/account/account-list";

sweep_plan plan_of(const std::string& path = product) {
    return {path, json::object{{"organization", "0004"}}};
}

// The emulator's connectedIds, from its listing.
std::vector<std::string> all_ids(asio::io_context& ioc, client& c) {
    return codef::test::run(ioc, [](client& c) -> asio::awaitable<std::vector<std::string>> {
        auto src = listing_source(c);
        std::vector<std::string> out;
        for (;;) {
            auto b = co_await src->next(100000);
            BOOST_TEST_REQUIRE(b.has_value(), b.diag().detail);
            if (b->empty()) co_return out;
            out.insert(out.end(), b->begin(), b->end());
        }
    }(c));
}

// Runs one worker to its end.
result<fleet::worker_summary> work(asio::io_context& ioc, client& c, const std::string& uri,
                                   fleet::job_definition def, fleet::worker_options o = {}) {
    fleet::worker w(c, uri, std::move(def), std::move(o));
    return codef::test::run(ioc, w.run());
}

std::string export_of(asio::io_context& ioc, const std::string& uri, const std::string& job,
                      const std::string& dir) {
    const std::string path = dir + "/" + job + ".ndjson";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BOOST_TEST_REQUIRE(fd >= 0);
    auto n = codef::test::run(ioc, fleet::export_job(uri, job, fd, 60s));
    ::close(fd);
    BOOST_TEST_REQUIRE(n.has_value(), n.diag().detail);
    return path;
}

// Small batches, few calls at once: many claims and records in a short job.
fleet::worker_options small_batches() {
    fleet::worker_options o;
    o.batch = 16;
    o.concurrency = 8;
    return o;
}

fleet::job_status status_of(asio::io_context& ioc, const std::string& uri, const std::string& job) {
    auto s = codef::test::run(ioc, fleet::status_of_job(uri, job, 30s));
    BOOST_TEST_REQUIRE(s.has_value(), s.diag().detail);
    return *s;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(jobs, fixture)

BOOST_AUTO_TEST_CASE(two_workers_in_one_process_record_every_connected_id_once) {
    client c(ioc.get_executor(), emu.client_config());
    const auto ids = all_ids(ioc, c);
    BOOST_TEST_REQUIRE(ids.size() == 3000u);
    auto source = list_source(ids);
    {
        // Created and loaded first (a worker stopped before it claims anything).
        fleet::worker loader(c, pg.uri(), {"two", plan_of(), source.get()});
        loader.stop();
        auto l = codef::test::run(ioc, loader.run());
        BOOST_TEST_REQUIRE(l.has_value(), l.diag().detail);
        BOOST_TEST(l->created);
        BOOST_TEST(l->loaded);
    }
    BOOST_TEST(pg.query("SELECT count(*) FROM codef_job_item WHERE job = 'two'") == "3000");
    const auto o = small_batches();
    fleet::worker a(c, pg.uri(), {"two", plan_of(), nullptr}, o);
    fleet::worker b(c, pg.uri(), {"two", plan_of(), nullptr}, o);
    auto both = [&]() -> asio::awaitable<
                          std::pair<result<fleet::worker_summary>, result<fleet::worker_summary>>> {
        auto [x, y] = co_await (a.run() && b.run());
        co_return std::pair{std::move(x), std::move(y)};
    };
    auto [ra, rb] = codef::test::run(ioc, both());
    BOOST_TEST_REQUIRE(ra.has_value(), ra.diag().detail);
    BOOST_TEST_REQUIRE(rb.has_value(), rb.diag().detail);
    BOOST_TEST(!ra->created); // both joined
    BOOST_TEST(!rb->created);
    BOOST_TEST(ra->progress.ids_done + rb->progress.ids_done == 3000u);
    BOOST_TEST(ra->progress.ids_done > 0u);
    BOOST_TEST(rb->progress.ids_done > 0u);
    const auto s = status_of(ioc, pg.uri(), "two");
    BOOST_TEST(s.total == 3000u);
    BOOST_TEST(s.done == 3000u);
    BOOST_TEST(s.pending + s.in_flight + s.failed == 0u);
    BOOST_TEST(s.finished());
    const auto seen = ids_in(export_of(ioc, pg.uri(), "two", dir.path()));
    check_exactly_once(seen, 3000);
    for (const auto& id : ids)
        BOOST_TEST_REQUIRE(seen.count(id) == 1u);
}

BOOST_AUTO_TEST_CASE(another_plan_is_refused_and_failed_items_are_retried_on_demand) {
    client c(ioc.get_executor(), emu.client_config());
    auto ids = all_ids(ioc, c);
    ids.resize(400);
    emulator_faults f;
    f.fail_percent_of_ids = 20;
    f.fail_status = 400;
    emu.apply(f);
    auto source = list_source(ids);
    auto first = work(ioc, c, pg.uri(), {"retry", plan_of(), source.get()});
    BOOST_TEST_REQUIRE(first.has_value(), first.diag().detail);
    const auto s1 = status_of(ioc, pg.uri(), "retry");
    BOOST_TEST(s1.failed > 20u);
    BOOST_TEST(s1.failed < 160u);
    BOOST_TEST(s1.done + s1.failed == 400u);
    BOOST_TEST(first->progress.failed == s1.failed);

    // A worker with another plan is refused, naming the job's path.
    auto other =
        work(ioc, c, pg.uri(), {"retry", plan_of("/v1/kr/card/p/account/card-list"), nullptr});
    BOOST_TEST(other.error() == fleet::fleet_errc::job_mismatch);
    BOOST_TEST(other.diag().detail.find(product) != std::string::npos, other.diag().detail);

    f.fail_percent_of_ids = 0;
    emu.apply(f);
    auto back = codef::test::run(ioc, fleet::retry_failed(pg.uri(), "retry", 30s));
    BOOST_TEST_REQUIRE(back.has_value(), back.diag().detail);
    BOOST_TEST(*back == s1.failed);
    auto second = work(ioc, c, pg.uri(), {"retry", plan_of(), nullptr});
    BOOST_TEST_REQUIRE(second.has_value(), second.diag().detail);
    BOOST_TEST(second->progress.ids_done == s1.failed); // only the failed ones, again
    const auto s2 = status_of(ioc, pg.uri(), "retry");
    BOOST_TEST(s2.done == 400u);
    BOOST_TEST(s2.failed == 0u);
    const auto path = export_of(ioc, pg.uri(), "retry", dir.path());
    check_exactly_once(ids_in(path), 400);
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        BOOST_TEST_REQUIRE(json::parse(line).at("status").as_string() != "failed");
}

BOOST_AUTO_TEST_CASE(ids_held_by_a_dead_worker_are_taken_over_when_its_lease_runs_out) {
    client c(ioc.get_executor(), emu.client_config());
    auto ids = all_ids(ioc, c);
    ids.resize(300);
    // Load the job, then a "worker" that claims 100 ids and dies: its lease ends in 1 s.
    {
        fleet::worker_options o;
        o.batch = 1;
        auto source = list_source(ids);
        fleet::worker loader(c, pg.uri(), {"lease", plan_of(), source.get()}, o);
        loader.stop(); // creates and loads, claims nothing
        auto r = codef::test::run(ioc, loader.run());
        BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
        BOOST_TEST(r->progress.ids_done == 0u);
    }
    pg.psql("UPDATE codef_job_item SET state = 1, lease_owner = 'ghost', "
            "lease_until = now() + interval '1 second' WHERE job = 'lease' AND seq IN "
            "(SELECT seq FROM codef_job_item WHERE job = 'lease' ORDER BY seq LIMIT 100)");
    fleet::worker_options o;
    o.lease = 1000ms;
    auto r = work(ioc, c, pg.uri(), {"lease", plan_of(), nullptr}, o);
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->progress.ids_done == 300u); // the ghost's 100 too, once its lease ran out
    BOOST_TEST(pg.query("SELECT count(*) FROM codef_job_item WHERE job = 'lease' AND state = 2 "
                        "AND lease_owner IS NULL") == "300");
    check_exactly_once(ids_in(export_of(ioc, pg.uri(), "lease", dir.path())), 300);
}

BOOST_AUTO_TEST_CASE(a_cancelled_job_ends_its_workers_and_unknown_jobs_are_named) {
    client c(ioc.get_executor(), emu.client_config());
    auto ids = all_ids(ioc, c);
    ids.resize(200);
    {
        auto source = list_source(ids);
        fleet::worker loader(c, pg.uri(), {"cancel", plan_of(), source.get()});
        loader.stop();
        BOOST_TEST_REQUIRE(codef::test::run(ioc, loader.run()).has_value());
    }
    BOOST_TEST_REQUIRE(
        codef::test::run(ioc, fleet::cancel_job(pg.uri(), "cancel", 30s)).has_value());
    auto r = work(ioc, c, pg.uri(), {"cancel", plan_of(), nullptr});
    BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
    BOOST_TEST(r->progress.ids_done == 0u);
    const auto s = status_of(ioc, pg.uri(), "cancel");
    BOOST_TEST(s.state == "cancelled");
    BOOST_TEST(s.pending == 200u);
    BOOST_TEST(s.finished());
    auto unknown = codef::test::run(ioc, fleet::status_of_job(pg.uri(), "nope", 30s));
    BOOST_TEST(unknown.error() == fleet::fleet_errc::no_such_job);
    BOOST_TEST(unknown.diag().detail.find("nope") != std::string::npos);
    auto listed = codef::test::run(ioc, fleet::list_jobs(pg.uri(), 30s));
    BOOST_TEST_REQUIRE(listed.has_value());
    BOOST_TEST(listed->size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// The same on 4 threads (ctest fleet_threads, also run under ThreadSanitizer): a worker's sweep
// and its recorder on their own strands, and the token stores' listeners, run on any thread.

BOOST_FIXTURE_TEST_SUITE(fleet_threads, fixture)

BOOST_AUTO_TEST_CASE(two_workers_on_four_threads_record_every_connected_id_once) {
    client c(ioc.get_executor(), emu.client_config());
    auto source = list_source(all_ids(ioc, c));
    const auto o = small_batches();
    // The first creates and loads the job while the second waits for it, then both sweep.
    fleet::worker a(c, pg.uri(), {"threads", plan_of(), source.get()}, o);
    fleet::worker b(c, pg.uri(), {"threads", plan_of(), source.get()}, o);
    std::vector<asio::awaitable<result<fleet::worker_summary>>> both;
    both.push_back(a.run());
    both.push_back(b.run());
    auto r = codef::test::run_all(ioc, std::move(both), 4);
    std::uint64_t done = 0;
    for (const auto& w : r) {
        BOOST_TEST_REQUIRE(w.has_value());
        BOOST_TEST_REQUIRE(w->has_value(), w->diag().detail);
        done += (*w)->progress.ids_done;
    }
    BOOST_TEST(done == 3000u);
    BOOST_TEST(r[0].value()->created != r[1].value()->created); // one created, one joined
    const auto s = status_of(ioc, pg.uri(), "threads");
    BOOST_TEST(s.done == 3000u);
    BOOST_TEST(s.pending + s.in_flight + s.failed == 0u);
    const auto seen = ids_in(export_of(ioc, pg.uri(), "threads", dir.path()));
    check_exactly_once(seen, 3000);
}

BOOST_AUTO_TEST_CASE(calls_on_four_threads_through_two_stores_make_one_token_request_each_time) {
    client a(ioc.get_executor(), cfg_with_store());
    client b(ioc.get_executor(), cfg_with_store());
    emu.reset_stats();
    auto calls = [&] {
        std::vector<asio::awaitable<bool>> v;
        for (int i = 0; i < 100; ++i)
            v.push_back(one_call(i % 2 ? a : b));
        return v;
    };
    auto all_succeeded = [](const std::vector<std::optional<bool>>& r) {
        return std::all_of(r.begin(), r.end(), [](const auto& x) { return x && *x; });
    };
    BOOST_TEST(all_succeeded(codef::test::run_all(ioc, calls(), 4)));
    BOOST_TEST(emu.stats().token_requests == 1u);
    emu.revoke_tokens();
    BOOST_TEST(all_succeeded(codef::test::run_all(ioc, calls(), 4)));
    BOOST_TEST(emu.stats().token_requests == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Worker processes: the codef program with --queue.

namespace {

struct sweep_fleet {
    static constexpr std::size_t ids = 100000;
    codef::test::pg_server pg;
    emulator emu{[] {
        emulator_options o;
        o.seed_connected_ids = ids;
        o.threads = 2;
        return o;
    }()};
    codef::test::temp_dir dir;
    std::string ca = [this] {
        auto p = dir.path() + "/ca.pem";
        std::ofstream(p) << emu.ca_pem();
        return p;
    }();

    std::vector<std::string> cli(std::vector<std::string> args) const {
        std::vector<std::string> all{
            CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url", emu.oauth_url(),
            "--ca-file",    ca,          "--quiet"};
        all.insert(all.end(), args.begin(), args.end());
        return all;
    }
    std::unique_ptr<codef::test::child> worker() const {
        return std::make_unique<codef::test::child>(
            cli({"--concurrency", "16", "sweep", product, "--params", R"({"organization":"0004"})",
                 "--queue", pg.uri(), "--job", "big", "--batch", "200", "--lease", "2"}),
            dir.path());
    }
    std::uint64_t recorded() const {
        if (pg.query("SELECT to_regclass('codef_job_item') IS NOT NULL") != "t") return 0;
        const auto n =
            pg.query("SELECT count(*) FROM codef_job_item WHERE job = 'big' AND state = 2");
        return n.empty() ? 0 : std::stoull(n);
    }
    // Waits (bounded) until at least n ids are recorded.
    void wait_for(std::uint64_t n) const {
        for (int i = 0; i < 2400 && recorded() < n; ++i)
            std::this_thread::sleep_for(50ms);
        BOOST_TEST_REQUIRE(recorded() >= n, "the workers did not get that far");
    }
    void check_export() const {
        const auto out = dir.path() + "/big.ndjson";
        auto e = codef::test::run_process(
            cli({"job", "export", "--queue", pg.uri(), "--job", "big", "--out", out}), dir.path());
        BOOST_TEST_REQUIRE(e.status == 0, e.err);
        check_exactly_once(ids_in(out), ids);
        auto s = codef::test::run_process(
            cli({"job", "status", "--queue", pg.uri(), "--job", "big"}), dir.path());
        BOOST_TEST_REQUIRE(s.status == 0, s.err);
        const auto v = json::parse(s.out);
        BOOST_TEST(v.at("done").to_number<std::uint64_t>() == ids);
        BOOST_TEST(v.at("finished").as_bool());
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(sweep_workers, sweep_fleet)

BOOST_AUTO_TEST_CASE(three_workers_one_killed_and_one_late_record_every_id_once) {
    auto w1 = worker();
    wait_for(200); // w1 created and loaded the job
    auto w2 = worker();
    auto w3 = worker();
    wait_for(ids / 5);
    w1->signal(SIGKILL);
    BOOST_TEST(w1->wait().status == 128 + SIGKILL);
    auto w4 = worker(); // joins late
    for (auto* w : {w2.get(), w3.get(), w4.get()}) {
        const auto r = w->wait(std::chrono::seconds(600));
        BOOST_TEST(r.status == 0, r.err);
    }
    check_export();
}

BOOST_AUTO_TEST_CASE(a_database_restarted_mid_sweep_loses_nothing_and_records_nothing_twice) {
    auto w1 = worker();
    wait_for(200);
    auto w2 = worker();
    auto w3 = worker();
    wait_for(ids / 3);
    pg.restart();
    for (auto* w : {w1.get(), w2.get(), w3.get()}) {
        const auto r = w->wait(std::chrono::seconds(600));
        BOOST_TEST(r.status == 0, r.err);
    }
    check_export();
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// The command line: what it refuses before anything is sent, and what it never shows.

BOOST_FIXTURE_TEST_SUITE(cli_fleet, fixture)

BOOST_AUTO_TEST_CASE(queue_options_are_checked_and_database_passwords_never_shown) {
    const std::string ca = dir.path() + "/ca.pem";
    std::ofstream(ca) << emu.ca_pem();
    auto codef = [&](std::vector<std::string> args) {
        std::vector<std::string> all{
            CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url", emu.oauth_url(),
            "--ca-file",    ca};
        all.insert(all.end(), args.begin(), args.end());
        return codef::test::run_process(all, dir.path());
    };
    auto r = codef({"sweep", product, "--queue", pg.uri()});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("--job NAME is needed") != std::string::npos, r.err);
    r = codef({"sweep", product, "--out", "x.ndjson", "--batch", "10"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("--batch and --lease go with --queue") != std::string::npos, r.err);
    r = codef({"sweep", product, "--queue", pg.uri(), "--job", "j", "--out", "x.ndjson"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("no --out") != std::string::npos, r.err);
    r = codef({"job", "status", "--queue", pg.uri()});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("--job NAME is needed") != std::string::npos, r.err);
    r = codef({"job", "frobnicate", "--queue", pg.uri(), "--job", "j"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("not frobnicate") != std::string::npos, r.err);

    // A database that cannot be reached, named with a password: never shown.
    const std::string gone =
        "postgresql://codef:Sup3rSecretPw@/postgres?host=" + dir.path() + "/nothing-here";
    r = codef({"job", "list", "--queue", gone});
    BOOST_TEST(r.status == 4);
    BOOST_TEST(r.err.find("Sup3rSecretPw") == std::string::npos, r.err);
    BOOST_TEST(r.err.find("cannot be reached") != std::string::npos, r.err);
    // The token store falls back to a token of its own, and its log line says why (-v).
    r = codef({"-v", "--token-store", gone, "token"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.err.find("issued a token of its own") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("Sup3rSecretPw") == std::string::npos, r.err);
    BOOST_TEST(r.out.find("Sup3rSecretPw") == std::string::npos);
    // --token-store holds a URI that may hold a password: never read from a profile.
    const std::string profile = dir.path() + "/profile";
    std::ofstream(profile) << "token-store = " << pg.uri() << "\n";
    r = codef({"--profile", profile, "token"});
    BOOST_TEST(r.status == 2);

    // And with the database there, two commands share the fleet's token.
    emu.reset_stats();
    BOOST_TEST(codef({"--token-store", pg.uri(), "token"}).status == 0);
    BOOST_TEST(codef({"--token-store", pg.uri(), "connected-ids"}).status == 0);
    BOOST_TEST(emu.stats().token_requests == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
