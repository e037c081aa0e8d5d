// Sweeps against the emulator: every connectedId once, one token for the whole sweep, failing
// items as items, stop and resume.
#include "emulator/service.hpp"
#include "emulator/tls_material.hpp"
#include "process.hpp"
#include "support.hpp"

#include <codef/emulator.hpp>
#include <codef/sweep.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <set>
#include <unordered_map>

namespace asio = boost::asio;
using namespace codef;
using namespace std::chrono_literals;

namespace {

// Collects items in memory, counting each connectedId's appearances.
class counting_sink final : public sweep_sink {
public:
    result<std::monostate> write(std::span<const sweep_item> items) override {
        ++groups[items.front().connected_id];
        for (const auto& i : items)
            all.push_back(i);
        if (on_write) on_write();
        return std::monostate{};
    }
    std::unordered_map<std::string, int> groups;
    std::vector<sweep_item> all;
    std::function<void()> on_write;
};

emulator_options seeded(std::size_t n) {
    emulator_options o;
    o.seed_connected_ids = n;
    o.threads = 2;
    return o;
}

struct fixture {
    explicit fixture(std::size_t ids)
        : emu(seeded(ids)) {}
    emulator emu;
    asio::io_context ioc;
    client c{ioc.get_executor(), [&] {
                 config cfg = emu.client_config();
                 cfg.retry.initial_backoff = 5ms;
                 cfg.retry.max_backoff = 20ms;
                 return cfg;
             }()};
};

} // namespace

BOOST_AUTO_TEST_SUITE(sweeps)

BOOST_AUTO_TEST_CASE(twenty_thousand_ids_each_once_with_one_token_request) {
    fixture f(20'000);
    counting_sink out;
    bool revoked = false;
    // Half way, every token is revoked: the whole sweep pays one reissue.
    out.on_write = [&] {
        if (!revoked && out.groups.size() == 10'000) {
            f.emu.revoke_tokens();
            revoked = true;
        }
    };
    sweep_options opts;
    opts.concurrency = 32;
    sweep_plan plan{"/v1/kr/bank/b/account/list", {{"startDate", "20190601"}}, true, "BK", ""};
    sweep job(f.c, plan, opts);
    auto ids = listing_source(f.c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, out), 300s, 2);
    BOOST_TEST_REQUIRE(summary.has_value());
    BOOST_TEST(!summary->interrupted);
    BOOST_TEST(summary->progress.ids_done == 20'000u);
    BOOST_TEST(out.groups.size() == 20'000u);
    BOOST_TEST(std::all_of(out.groups.begin(), out.groups.end(),
                           [](const auto& g) { return g.second == 1; }));
    BOOST_TEST(summary->progress.ok == summary->progress.items);
    BOOST_TEST(summary->progress.items > 20'000u);  // one or two banks each
    BOOST_TEST(f.emu.stats().token_requests == 2u); // the first token and the one reissue
    BOOST_TEST(f.emu.stats().requests_by_path.at("/v1/account/connectedId-list") == 1u);
}

BOOST_AUTO_TEST_CASE(each_call_of_a_sweep_is_tagged_with_its_connected_id) {
    fixture f(20);
    struct tags : observer {
        std::mutex m;
        std::multiset<std::string> seen;
        void on_call_finished(const call_finished_event& e) override {
            std::lock_guard l(m);
            seen.emplace(e.tag);
        }
    };
    auto t = std::make_shared<tags>();
    config cfg = f.emu.client_config();
    cfg.observer = t;
    client c(f.ioc.get_executor(), cfg);
    counting_sink out;
    sweep job(c, {"/v1/kr/bank/b/account/list", {}}, {});
    auto ids = listing_source(c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, out));
    BOOST_TEST_REQUIRE(summary.has_value());
    BOOST_TEST_REQUIRE(out.groups.size() == 20u);
    std::lock_guard l(t->m);
    for (const auto& [id, n] : out.groups)
        BOOST_TEST(t->seen.count(id) == 1u, id);
    // The listing's pages are the only calls without a tag.
    BOOST_TEST(t->seen.size() - t->seen.count("") == 20u);
    BOOST_TEST(t->seen.count("") ==
               f.emu.stats().requests_by_path.at("/v1/account/connectedId-list"));
}

BOOST_AUTO_TEST_CASE(per_organization_with_filters) {
    fixture f(50);
    counting_sink out;
    sweep_plan plan{"/v1/kr/bank/p/account/account-list", {}, true, "BK", ""};
    sweep job(f.c, plan, {});
    auto ids = listing_source(f.c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, out));
    BOOST_TEST_REQUIRE(summary.has_value());
    BOOST_TEST(out.groups.size() == 50u);
    // Seeded connectedIds hold one or two banks and a card: only the banks are called.
    BOOST_TEST(out.all.size() > 50u);
    BOOST_TEST(std::all_of(out.all.begin(), out.all.end(), [](const sweep_item& i) {
        return i.status == item_status::ok && !i.organization.empty() &&
               i.organization.rfind("03", 0) != 0;
    }));
    BOOST_TEST(f.emu.stats().requests_by_path.at("/v1/account/list") == 50u);
    // A filter nothing passes gives each connectedId one no_match item.
    counting_sink none;
    sweep nothing(f.c, {"/v1/kr/bank/p/account/account-list", {}, true, "ST", ""}, {});
    auto ids2 = listing_source(f.c);
    codef::test::run(f.ioc, nothing.run(*ids2, none));
    BOOST_TEST(none.all.size() == 50u);
    BOOST_TEST((none.all[0].status == item_status::no_match));
}

BOOST_AUTO_TEST_CASE(failing_items_are_error_items_never_missing) {
    fixture f(2'000);
    emulator_faults faults;
    faults.fail_percent_of_ids = 10; // the same ids every time: retries cannot cure them
    faults.fail_status = 503;
    f.emu.apply(faults);
    counting_sink out;
    sweep_options opts;
    opts.concurrency = 16;
    sweep job(f.c, {"/v1/kr/bank/b/account/list", {}}, opts);
    auto ids = listing_source(f.c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, out), 300s, 2);
    BOOST_TEST_REQUIRE(summary.has_value());
    BOOST_TEST(out.groups.size() == 2'000u);
    const auto failed = std::count_if(out.all.begin(), out.all.end(), [](const sweep_item& i) {
        return i.status == item_status::failed;
    });
    BOOST_TEST(failed == static_cast<long>(summary->progress.failed));
    BOOST_TEST(failed > 100);
    BOOST_TEST(failed < 320);
    for (const auto& i : out.all)
        if (i.status == item_status::failed) BOOST_TEST(i.error == make_http_error(503));
}

BOOST_AUTO_TEST_CASE(a_stopped_sweep_resumes_with_every_id_exactly_once) {
    fixture f(3'000);
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    std::uint64_t first_run = 0;
    {
        // Writes to the file and stops the sweep after 1,000 connectedIds, as Ctrl-C would.
        struct stopping_sink : sweep_sink {
            ndjson_sink* file = nullptr;
            sweep* job = nullptr;
            int written = 0;
            result<std::monostate> write(std::span<const sweep_item> items) override {
                if (++written == 1'000) job->stop();
                return file->write(items);
            }
        } out;
        auto file = ndjson_sink::open(path).value();
        sweep_options opts;
        opts.concurrency = 16;
        sweep job(f.c, {"/v1/kr/bank/b/account/list", {}}, opts);
        out.file = file.get();
        out.job = &job;
        auto ids = listing_source(f.c);
        auto summary = codef::test::run(f.ioc, job.run(*ids, out));
        BOOST_TEST_REQUIRE(summary.has_value());
        BOOST_TEST(summary->interrupted);
        BOOST_TEST(summary->progress.ids_done >= 1'000u);
        BOOST_TEST(summary->progress.ids_done < 1'100u); // at most the calls in flight more
        first_run = summary->progress.ids_done;
    }
    BOOST_TEST(first_run > 0u);
    auto sink = ndjson_sink::open(path).value();
    BOOST_TEST(sink->resumed_ids() == first_run);
    sweep_options opts;
    opts.skip = [&](std::string_view id) { return sink->done(id); };
    sweep job(f.c, {"/v1/kr/bank/b/account/list", {}}, opts);
    auto ids = listing_source(f.c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, *sink));
    BOOST_TEST(summary->progress.ids_skipped == first_run);
    BOOST_TEST(summary->progress.ids_done + first_run == 3'000u);

    std::unordered_map<std::string, int> seen;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        ++seen[std::string(boost::json::parse(line).at("connectedId").as_string())];
    BOOST_TEST(seen.size() == 3'000u);
    BOOST_TEST(std::all_of(seen.begin(), seen.end(), [](const auto& s) { return s.second == 1; }));
}

BOOST_AUTO_TEST_CASE(sources_from_a_file_and_a_list) {
    fixture f(5);
    codef::test::temp_dir dir;
    const std::string file = dir.path() + "/ids.txt";
    auto page = codef::test::run(f.ioc, f.c.connected_ids_page(0));
    {
        std::ofstream out(file);
        out << "# the first three\n"
            << page->ids[0] << "\n\n  " << page->ids[1] << "  \n"
            << page->ids[2] << "\n";
    }
    auto src = file_source(file).value();
    BOOST_TEST(src->size().value() == 3u);
    counting_sink out;
    sweep job(f.c, {"/v1/kr/bank/b/account/list", {}}, {});
    codef::test::run(f.ioc, job.run(*src, out));
    BOOST_TEST(out.groups.size() == 3u);
    BOOST_TEST(out.groups.count(page->ids[1]) == 1u);
    BOOST_TEST(file_source(dir.path() + "/missing.txt").error() == client_errc::invalid_argument);

    auto list = list_source({"unknown-id"});
    counting_sink one;
    sweep single(f.c, {"/v1/kr/bank/b/account/list", {}}, {});
    codef::test::run(f.ioc, single.run(*list, one));
    BOOST_TEST_REQUIRE(one.all.size() == 1u);
    BOOST_TEST((one.all[0].status == item_status::business_error));
    BOOST_TEST(one.all[0].code == "CF-00001"); // organization is missing in this plan
}

namespace {

// A fixture whose product calls are slow, so that calls are in flight when run() is cancelled.
struct slow_fixture : fixture {
    slow_fixture()
        : fixture(400) {
        emulator_faults slow;
        slow.reply_delay = 40ms;
        emu.apply(slow);
    }
    static constexpr const char* path = "/v1/kr/bank/b/account/list";
    // Every call made was written, once: the calls in flight when the run was cancelled finished
    // and were written before run() completed.
    void check_written(const counting_sink& out, const sweep& job) {
        const auto p = job.progress();
        BOOST_TEST(p.in_flight == 0u);
        BOOST_TEST(p.ids_done == out.groups.size());
        BOOST_TEST(out.groups.size() >= 10u);
        BOOST_TEST(out.groups.size() < 400u);
        BOOST_TEST(std::all_of(out.groups.begin(), out.groups.end(),
                               [](const auto& g) { return g.second == 1; }));
        BOOST_TEST(emu.stats().requests_by_path.at(path) == out.all.size());
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(cancelling_run_acts_as_stop_and_waits_for_the_calls_in_flight) {
    slow_fixture f;
    counting_sink out;
    asio::cancellation_signal cancel;
    // Once ten connectedIds are written, the coroutine awaiting run() is cancelled.
    out.on_write = [&] {
        if (out.groups.size() == 10)
            asio::post(f.ioc, [&] { cancel.emit(asio::cancellation_type::terminal); });
    };
    sweep_options opts;
    opts.concurrency = 8;
    sweep job(f.c, {slow_fixture::path, {}}, opts);
    auto ids = listing_source(f.c);
    auto cancellable = [&]() -> asio::awaitable<result<sweep_summary>> {
        co_return co_await asio::co_spawn(
            f.ioc, job.run(*ids, out),
            asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
    };
    auto summary = codef::test::run(f.ioc, cancellable());
    BOOST_TEST_REQUIRE(summary.has_value());
    BOOST_TEST(summary->interrupted);
    BOOST_TEST(summary->progress.ids_done == out.groups.size());
    f.check_written(out, job);
}

BOOST_AUTO_TEST_CASE(run_cancelled_by_an_or_with_another_awaitable) {
    using namespace asio::experimental::awaitable_operators;
    slow_fixture f;
    counting_sink out;
    asio::steady_timer trigger(f.ioc, std::chrono::steady_clock::time_point::max());
    out.on_write = [&] {
        if (out.groups.size() == 10) asio::post(f.ioc, [&] { trigger.cancel(); });
    };
    sweep_options opts;
    opts.concurrency = 8;
    sweep job(f.c, {slow_fixture::path, {}}, opts);
    auto ids = listing_source(f.c);
    auto race = [&]() -> asio::awaitable<std::size_t> {
        auto wait = trigger.async_wait(asio::as_tuple(asio::use_awaitable));
        auto which = co_await (job.run(*ids, out) || std::move(wait));
        co_return which.index();
    };
    BOOST_TEST(codef::test::run(f.ioc, race()) == 1u); // the trigger won; run() was cancelled
    f.check_written(out, job);
    // The sweep can run again afterwards, and is still stopped.
    auto again = codef::test::run(f.ioc, job.run(*ids, out));
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->interrupted);
}

BOOST_AUTO_TEST_CASE(an_ids_file_with_an_absurd_line_is_refused_naming_the_line) {
    codef::test::temp_dir dir;
    const std::string file = dir.path() + "/ids.txt";
    std::ofstream(file) << "# ids\nabc\n" << std::string(5'000, 'x') << "\ndef\n";
    auto src = file_source(file);
    BOOST_TEST_REQUIRE(!src.has_value());
    BOOST_TEST(src.error() == client_errc::invalid_argument);
    BOOST_TEST(src.diag().detail == file + ":3: a line longer than 4096 bytes (a connectedId is "
                                           "about 22 characters)");
    // 4,096 bytes is still a line (of a strange id), and a last line needs no newline.
    std::ofstream(file) << std::string(4'096, 'y') << "\n  last  ";
    auto ok = file_source(file);
    BOOST_TEST_REQUIRE(ok.has_value());
    BOOST_TEST((*ok)->size().value() == 2u);
    asio::io_context ioc;
    auto batch = codef::test::run(ioc, (*ok)->next(10));
    BOOST_TEST_REQUIRE(batch.has_value());
    BOOST_TEST_REQUIRE(batch->size() == 2u);
    BOOST_TEST((*batch)[0].size() == 4'096u);
    BOOST_TEST((*batch)[1] == "last");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(paging)

namespace {
struct paging_fixture : fixture {
    explicit paging_fixture(const char* mode)
        : fixture(30) {
        emulator_faults stuck;
        stuck.stuck_paging = mode;
        emu.apply(stuck);
    }
    std::uint64_t list_requests() {
        return emu.stats().requests_by_path.at("/v1/account/connectedId-list");
    }
    result<std::vector<std::string>> next_page() {
        auto ids = c.connected_ids();
        return codef::test::run(ioc, ids.next_page(), 60s);
    }
};
} // namespace

BOOST_AUTO_TEST_CASE(a_page_pointing_back_to_itself_is_a_protocol_error) {
    paging_fixture f("repeat");
    auto r = f.next_page();
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == protocol_errc::paging_stalled);
    BOOST_TEST(kind_of(r.error()) == error_kind::protocol);
    BOOST_TEST(r.diag().detail == "connectedId-list page 0: hasNext with nextPageNo 0");
    BOOST_TEST(f.list_requests() == 1u);
    // One page asked directly says the same.
    auto page = codef::test::run(f.ioc, f.c.connected_ids_page(4));
    BOOST_TEST(page.error() == protocol_errc::paging_stalled);
    BOOST_TEST(page.diag().detail == "connectedId-list page 4: hasNext with nextPageNo 4");
}

BOOST_AUTO_TEST_CASE(empty_pages_that_say_there_is_more_stop_after_three) {
    paging_fixture f("empty");
    auto r = f.next_page();
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == protocol_errc::paging_stalled);
    BOOST_TEST(r.diag().detail ==
               "connectedId-list page 2: 3 empty pages in a row, each with hasNext");
    BOOST_TEST(f.list_requests() == 3u);
}

BOOST_AUTO_TEST_CASE(a_page_that_is_not_the_page_asked_is_a_protocol_error) {
    paging_fixture f("wrong_page");
    auto r = f.next_page();
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == protocol_errc::paging_stalled);
    BOOST_TEST(r.diag().detail == "connectedId-list page 0: the server answered pageNo 1");
    // Paging that works still reads every page.
    emulator_faults fixed;
    fixed.stuck_paging = "none";
    f.emu.apply(fixed);
    auto ids = f.c.connected_ids();
    auto all = codef::test::run(f.ioc, ids.next_page());
    BOOST_TEST(all.value().size() == 30u);
}

BOOST_AUTO_TEST_CASE(a_sweep_over_stalled_paging_fails_with_the_protocol_error) {
    paging_fixture f("repeat");
    counting_sink out;
    sweep job(f.c, {"/v1/kr/bank/b/account/list", {}}, {});
    auto ids = listing_source(f.c);
    auto summary = codef::test::run(f.ioc, job.run(*ids, out));
    BOOST_TEST_REQUIRE(!summary.has_value());
    BOOST_TEST(summary.error() == protocol_errc::paging_stalled);
    BOOST_TEST(out.all.empty());
}

BOOST_AUTO_TEST_CASE(the_paging_fault_is_set_over_the_admin_endpoint) {
    const auto key = emu::generate_rsa(2048);
    emu::service svc(emulator_options{}, key, key);
    auto set = svc.handle({"POST", "/_emulator/faults", "", R"({"stuck_paging":"empty"})"});
    BOOST_TEST(set.status == 200u);
    BOOST_TEST(svc.faults().stuck_paging.value_or("") == "empty");
    auto bad = svc.handle({"POST", "/_emulator/faults", "", R"({"stuck_paging":"sideways"})"});
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(boost::json::parse(bad.body).at("field").as_string() == "stuck_paging");
}

BOOST_AUTO_TEST_SUITE_END()
