// Sweeps against the emulator: every connectedId once, one token for the whole sweep, failing
// items as items, stop and resume.
#include "process.hpp"
#include "support.hpp"

#include <codef/emulator.hpp>
#include <codef/sweep.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <unordered_map>

namespace asio = boost::asio;
using namespace codef;
using namespace std::chrono_literals;

namespace {

// Collects items in memory, counting each connectedId's appearances.
class counting_sink : public sweep_sink {
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

BOOST_AUTO_TEST_SUITE_END()
