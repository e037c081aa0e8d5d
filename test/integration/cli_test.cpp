// The codef command-line tool as a child process against the in-process emulator: each command,
// each exit status, bad input, and sweeps interrupted by SIGINT and SIGKILL, then resumed.
#include "process.hpp"
#include "support.hpp"

#include <codef/emulator.hpp>

#include <boost/json.hpp>

#include <random>
#include <unordered_map>

namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;

namespace {

struct fixture {
    explicit fixture(std::size_t ids = 120, std::size_t page = 50)
        : emu([&] {
            emulator_options o;
            o.seed_connected_ids = ids;
            o.page_size = page;
            o.threads = 2;
            return o;
        }()) {
        ca = dir.path() + "/ca.pem";
        std::ofstream(ca) << emu.ca_pem();
    }
    codef::test::temp_dir dir;
    emulator emu;
    std::string ca;

    std::vector<std::string> cli(std::vector<std::string> args) {
        std::vector<std::string> all{
            CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url", emu.oauth_url(),
            "--ca-file",    ca};
        all.insert(all.end(), args.begin(), args.end());
        return all;
    }
    codef::test::process_result run(std::vector<std::string> args, const std::string& input = {}) {
        return codef::test::run_process(cli(std::move(args)), dir.path(), input);
    }
    // Every line of an NDJSON file parsed, and how often each connectedId appears.
    std::unordered_map<std::string, int> ids_in(const std::string& path) {
        std::unordered_map<std::string, int> seen;
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            boost::system::error_code ec;
            auto v = json::parse(line, ec);
            BOOST_TEST_REQUIRE(!ec, "a torn or broken line: " << line.substr(0, 80));
            ++seen[std::string(v.at("connectedId").as_string())];
        }
        return seen;
    }
};

int lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

BOOST_AUTO_TEST_SUITE(command_line)

BOOST_FIXTURE_TEST_CASE(token_prints_the_expiry_and_the_token_only_when_asked, fixture) {
    auto r = run({"token"});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.out.starts_with("expires "));
    BOOST_TEST(r.out.find("eyJ") == std::string::npos);
    auto shown = run({"token", "--show-token"});
    BOOST_TEST(shown.status == 0);
    BOOST_TEST(shown.out.find("\neyJ") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(call_prints_the_decoded_reply, fixture) {
    auto r = run({"call", "/v1/account/connectedId-list", R"({"pageNo":"1"})"});
    BOOST_TEST(r.status == 0);
    const auto reply = json::parse(r.out);
    BOOST_TEST(reply.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(reply.at("data").at("connectedIdList").as_array().size() == 50u);
    // From a file and from stdin.
    std::ofstream(dir.path() + "/p.json") << R"({"connectedId":"nobody"})";
    auto business = run({"call", "/v1/account/list", "@" + dir.path() + "/p.json"});
    BOOST_TEST(business.status == 1); // CODEF said CF-00007: printed, and the status says so
    BOOST_TEST(json::parse(business.out).at("result").at("code").as_string() == "CF-00007");
    auto piped = run({"call", "/v1/account/list", "-"}, R"({"connectedId":"nobody"})");
    BOOST_TEST(piped.status == 1);
}

BOOST_FIXTURE_TEST_CASE(bad_input_is_one_line_and_status_2_before_anything_is_sent, fixture) {
    const std::vector<std::vector<std::string>> cases{
        {"call", "/v1/account/list", "{bad json"},
        {"call", "/v1/account/list", "@" + dir.path() + "/missing.json"},
        {"call", "/v1/account/list", "[1,2]"},
        {"--no-such-flag", "token"},
        {"frobnicate"},
        {},
        {"sweep", "/v1/x"},
        {"sweep", "/v1/x", "--out", dir.path() + "/never.ndjson", "--params", "{oops"},
        {"sweep", "/v1/x", "--out", dir.path() + "/never.ndjson", "--business-type", "BK"},
        {"--concurrency", "0", "token"},
        {"accounts", "create"},
        {"accounts", "rename", "{}"},
    };
    for (const auto& args : cases) {
        auto r = run(args);
        BOOST_TEST_INFO("args: " << (args.empty() ? "(none)" : args[0]));
        BOOST_TEST(r.status == 2);
        BOOST_TEST(lines(r.err) == 1);
        BOOST_TEST(r.err.starts_with("codef: "));
        BOOST_TEST(r.out.empty());
    }
    BOOST_TEST(!std::filesystem::exists(dir.path() + "/never.ndjson"));
    BOOST_TEST(emu.stats().token_requests == 0u);
    BOOST_TEST(emu.stats().api_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_missing_credential_is_a_usage_error, fixture) {
    auto r = codef::test::run_process({CODEF_CLI_PATH, "--env", "production", "token"}, dir.path());
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("client_id") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(refused_credentials_are_status_3_without_the_secret, fixture) {
    auto r = run({"--client-id", "someone", "--client-secret", "s3cr3t-value", "token"});
    BOOST_TEST(r.status == 3);
    BOOST_TEST(lines(r.err) == 1);
    BOOST_TEST(r.err.find("s3cr3t-value") == std::string::npos);
    // From the environment too.
    auto e =
        codef::test::run_process(cli({"token"}), dir.path(), "",
                                 {"CODEF_CLIENT_ID=someone", "CODEF_CLIENT_SECRET=s3cr3t-value"});
    BOOST_TEST(e.status == 3);
    BOOST_TEST(e.err.find("s3cr3t-value") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(an_unreachable_server_is_status_4, fixture) {
    const std::string closed = "https://127.0.0.1:1";
    auto r = codef::test::run_process({CODEF_CLI_PATH, "--api-url", closed, "--oauth-url",
                                       closed + "/oauth/token", "--timeout", "5", "token"},
                                      dir.path());
    BOOST_TEST(r.status == 4);
    BOOST_TEST(lines(r.err) == 1);
    // A CA that is not the server's: a TLS failure, also status 4.
    emulator other;
    std::ofstream(dir.path() + "/other.pem") << other.ca_pem();
    auto tls =
        codef::test::run_process({CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url",
                                  emu.oauth_url(), "--ca-file", dir.path() + "/other.pem", "token"},
                                 dir.path());
    BOOST_TEST(tls.status == 4);
}

BOOST_FIXTURE_TEST_CASE(accounts_with_plaintext_passwords_encrypted, fixture) {
    const std::string input =
        R"({"accountList":[{"businessType":"BK","organization":"0004","id":"u1","password":"pw-cli"}]})";
    auto no_key = run({"accounts", "create", input});
    BOOST_TEST(no_key.status == 2);
    BOOST_TEST(no_key.err.find("public_key") != std::string::npos);
    BOOST_TEST(no_key.err.find("pw-cli") == std::string::npos);

    auto created = run({"--public-key", emu.public_key(), "accounts", "create", input});
    BOOST_TEST_REQUIRE(created.status == 0);
    const std::string cid(json::parse(created.out).at("data").at("connectedId").as_string());
    BOOST_TEST(emu.password_matches(cid, "0004", "pw-cli"));

    auto listed = run({"accounts", "list", "--connected-id", cid});
    BOOST_TEST(listed.status == 0);
    BOOST_TEST(json::parse(listed.out).at("data").at("accountList").as_array().size() == 1u);
    auto deleted = run({"accounts", "delete", "--connected-id", cid,
                        R"([{"businessType":"BK","organization":"0004"}])"});
    BOOST_TEST(deleted.status == 0);
}

BOOST_FIXTURE_TEST_CASE(connected_ids_prints_every_page, fixture) {
    auto r = run({"connected-ids"});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(lines(r.out) == 120);
    BOOST_TEST(emu.stats().requests_by_path.at("/v1/account/connectedId-list") == 3u);
}

BOOST_FIXTURE_TEST_CASE(help_documents_the_exit_statuses, fixture) {
    auto r = codef::test::run_process({CODEF_CLI_PATH, "--help"}, dir.path());
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.out.find("130  interrupted") != std::string::npos);
    BOOST_TEST(r.out.find("83160c33") == std::string::npos); // no secret, not even the public one
    auto emu_help = codef::test::run_process({CODEF_CLI_PATH, "emulator", "--help"}, dir.path());
    BOOST_TEST(emu_help.status == 0);
    BOOST_TEST(emu_help.out.find("--seed-ids") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_sweep_writes_each_item_once_and_a_rerun_has_nothing_left) {
    fixture f(300);
    const std::string out = f.dir.path() + "/out.ndjson";
    auto r =
        f.run({"sweep", "/v1/kr/bank/p/account/account-list", "--per-organization", "--out", out});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.err.find("sweep done: 300 connectedIds") != std::string::npos);
    auto seen = f.ids_in(out);
    BOOST_TEST(seen.size() == 300u);
    auto again =
        f.run({"sweep", "/v1/kr/bank/p/account/account-list", "--per-organization", "--out", out});
    BOOST_TEST(again.status == 0);
    BOOST_TEST(again.err.find("resuming") != std::string::npos);
    BOOST_TEST(again.err.find("sweep done: 0 connectedIds") != std::string::npos);
    BOOST_TEST(f.ids_in(out) == seen);
}

namespace {
// Runs a sweep over 20,000 ids, interrupts it with sig once some lines are out, then reruns it
// to the end: every connectedId is in the file exactly once, and every line parses.
void interrupt_then_resume(int sig, int expected_status) {
    fixture f(20'000, 50'000);
    emulator_faults slow;
    slow.reply_delay = 1ms;
    f.emu.apply(slow);
    const std::string out = f.dir.path() + "/out.ndjson";
    const auto args = f.cli({"--concurrency", "32", "sweep", "/v1/kr/bank/p/account/account-list",
                             "--per-organization", "--out", out});
    {
        codef::test::child c(args, f.dir.path());
        std::mt19937 rng(std::random_device{}());
        const auto wanted =
            std::uniform_int_distribution<std::uintmax_t>(20'000, 400'000)(rng); // bytes
        BOOST_TEST_REQUIRE(codef::test::eventually([&] {
            std::error_code ec;
            const auto size = std::filesystem::file_size(out, ec);
            return !ec && size > wanted;
        }));
        c.signal(sig);
        auto r = c.wait();
        BOOST_TEST(r.status == expected_status);
    }
    const auto partial = f.ids_in(out);
    BOOST_TEST(partial.size() > 0u);
    BOOST_TEST(partial.size() < 20'000u);
    auto r = codef::test::run_process(args, f.dir.path());
    BOOST_TEST(r.status == 0);
    const auto seen = f.ids_in(out);
    BOOST_TEST(seen.size() == 20'000u);
    // The same connectedId's items come as one group: count groups, not lines.
    std::unordered_map<std::string, int> groups;
    std::ifstream in(out);
    std::string previous;
    for (std::string line; std::getline(in, line);) {
        const auto v = json::parse(line);
        const std::string id(v.at("connectedId").as_string());
        if (id != previous) ++groups[id];
        previous = id;
    }
    BOOST_TEST(
        std::all_of(groups.begin(), groups.end(), [](const auto& g) { return g.second == 1; }));
}
} // namespace

BOOST_AUTO_TEST_CASE(a_sweep_stopped_by_sigint_resumes_with_every_item_once) {
    interrupt_then_resume(SIGINT, 130);
}

BOOST_AUTO_TEST_CASE(a_sweep_killed_at_a_random_moment_resumes_with_every_item_once) {
    interrupt_then_resume(SIGKILL, 128 + SIGKILL);
}

BOOST_AUTO_TEST_SUITE_END()
