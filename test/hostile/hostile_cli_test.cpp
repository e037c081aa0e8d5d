// The codef command-line tool as a child process against hostile servers: exit statuses with one
// clear line on stderr, signals during each wait, a prompt exit after the last call, bounded
// memory (peak RSS, measured by rss_launcher), no secret in any output or file, and a sweep
// through resets.
#include "hostile_support.hpp"
#include "process.hpp"

#include <codef/emulator.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace json = boost::json;
using namespace codef;
using namespace codef::hostile_test;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HOSTILE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HOSTILE_SANITIZED 1
#endif
#endif

// The CLI's peak RSS. Under a sanitizer (the CLI is built as the tests are) the allocator's own
// reserve comes on top: ASan's quarantine alone keeps up to 256 MiB of freed memory.
#ifdef HOSTILE_SANITIZED
constexpr long max_rss_kib = (200 + 320) * 1024;
#else
constexpr long max_rss_kib = 200 * 1024;
#endif

int lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

struct cli_run {
    codef::test::process_result p;
    millis took{};
    long peak_rss_kib = -1; // the CLI's own, measured by the launcher
};

struct cli_rig {
    codef::test::temp_dir dir;
    std::string ca; // the trusted test CA (and the emulator's, once there is one)
    int runs = 0;

    cli_rig() {
        ca = dir.path() + "/ca.pem";
        std::ofstream(ca) << hs::trusted_ca_pem();
    }
    void trust_too(const std::string& pem) { std::ofstream(ca, std::ios::app) << pem; }

    std::vector<std::string> args(const std::string& api_url, const std::string& oauth_url,
                                  const std::vector<std::string>& rest) const {
        std::vector<std::string> all{CODEF_CLI_PATH, "--env",   "production", "--api-url", api_url,
                                     "--oauth-url",  oauth_url, "--ca-file",  ca};
        all.insert(all.end(), rest.begin(), rest.end());
        return all;
    }
    std::vector<std::string> args(const hs::server& s, const std::vector<std::string>& rest) const {
        return args(s.url(), s.oauth_url(), rest);
    }
    static std::vector<std::string> env() {
        return {std::string("CODEF_CLIENT_ID=") + client_id,
                std::string("CODEF_CLIENT_SECRET=") + secret_canary,
                "CODEF_PUBLIC_KEY=" + hs::password_public_key()};
    }

    // The CLI started through the launcher (rss_launcher.cpp), which measures its peak RSS; it
    // passes signals on and exits as the CLI did.
    struct started {
        std::unique_ptr<codef::test::child> child;
        std::string rss_file;
    };
    started start(const std::vector<std::string>& a, const std::string& input = {}) {
        started s;
        s.rss_file = dir.path() + "/rss." + std::to_string(runs++);
        std::vector<std::string> all{CODEF_RSS_LAUNCHER_PATH, s.rss_file};
        all.insert(all.end(), a.begin(), a.end());
        s.child = std::make_unique<codef::test::child>(all, dir.path(), input, env());
        return s;
    }
    // Waits for it; every run: peak RSS under 200 MiB, no canary on stdout or stderr.
    static cli_run finish(started& s, std::chrono::seconds limit = std::chrono::seconds(90)) {
        cli_run r;
        r.p = s.child->wait(limit);
        std::ifstream(s.rss_file) >> r.peak_rss_kib;
        BOOST_TEST(r.peak_rss_kib > 0, "the launcher measured no RSS");
        BOOST_TEST(r.peak_rss_kib < max_rss_kib, "peak RSS " << r.peak_rss_kib / 1024 << " MiB");
        BOOST_TEST(canary_in(r.p.out).empty(), "a canary on stdout: " << r.p.out.substr(0, 300));
        BOOST_TEST(canary_in(r.p.err).empty(), "a canary on stderr: " << r.p.err);
        return r;
    }
    cli_run run(const std::vector<std::string>& a, const std::string& input = {}) {
        const auto begin = steady::now();
        auto s = start(a, input);
        cli_run r = finish(s);
        r.took = std::chrono::duration_cast<millis>(steady::now() - begin);
        return r;
    }
};

hs::handler silent_token_host() {
    return [](const hs::request& r) {
        if (r.path == "/oauth/token") return hs::script{hs::act::hang(60s)};
        return hs::reply(hs::response(200, ok_body));
    };
}

std::string file_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_cli)

BOOST_FIXTURE_TEST_CASE(a_bad_certificate_is_status_4_naming_the_reason, cli_rig) {
    hs::server bad(hs::standard(), hs::tls_mode::expired);
    auto r = run(args(bad, {"call", product, "{}"}));
    BOOST_TEST(r.p.status == 4);
    BOOST_TEST(lines(r.p.err) == 1, r.p.err);
    BOOST_TEST(lowercase(r.p.err).find("expired") != std::string::npos, r.p.err);
    BOOST_TEST(r.p.out.empty());
    BOOST_TEST(bad.request_count() == 0u);
}

BOOST_FIXTURE_TEST_CASE(statuses_map_to_exit_codes_with_one_line, cli_rig) {
    {
        hs::server s([](const hs::request&) {
            return hs::reply(hs::response(403, R"({"error":"access_denied"})"));
        });
        auto r = run(args(s, {"token"}));
        BOOST_TEST(r.p.status == 3);
        BOOST_TEST(lines(r.p.err) == 1, r.p.err);
    }
    {
        hs::server s(api_only([](const hs::request&) {
            return hs::reply(hs::response(401, R"({"error":"invalid_token","code":"CF-99997"})"));
        }));
        auto r = run(args(s, {"call", product, "{}"}));
        BOOST_TEST(r.p.status == 3);
        BOOST_TEST(lines(r.p.err) == 1, r.p.err);
        BOOST_TEST(s.count(product) == 2u); // one reissue, one resend
        BOOST_TEST(s.count("/oauth/token") == 2u);
    }
    {
        hs::server s(api_only([](const hs::request&) {
            return hs::reply(hs::response(503, "busy", {{"Retry-After", "30"}}, "text/plain"));
        }));
        auto r = run(args(s, {"--timeout", "1", "call", product, "{}"}));
        BOOST_TEST(r.p.status == 4);
        BOOST_TEST(lines(r.p.err) == 1, r.p.err);
        BOOST_TEST(r.took < 1000ms + 3000ms);
        BOOST_TEST(s.count(product) == 1u);
    }
}

BOOST_FIXTURE_TEST_CASE(signals_during_each_wait_end_the_process_with_130, cli_rig) {
    enum class stage { connect_tls, token, api };
    for (stage st : {stage::connect_tls, stage::token, stage::api}) {
        for (int sig : {SIGINT, SIGTERM}) {
            const char* name = st == stage::connect_tls ? "connect/TLS"
                               : st == stage::token     ? "the token"
                                                        : "the API reply";
            BOOST_TEST_CONTEXT("waiting on " << name << ", signal " << sig) {
                std::optional<hs::server> s;
                if (st == stage::connect_tls)
                    s.emplace(hs::standard(), hs::tls_mode::no_handshake);
                else if (st == stage::token)
                    s.emplace(silent_token_host());
                else
                    s.emplace(api_only(
                        [](const hs::request&) { return hs::script{hs::act::hang(60s)}; }));
                auto ch = start(args(*s, {"--timeout", "60", "call", product, "{}"}));
                const bool waiting = s->wait_until(
                    [&] {
                        if (st == stage::connect_tls) return s->connections() >= 1u;
                        if (st == stage::token) return s->count("/oauth/token") >= 1u;
                        return s->count(product) >= 1u;
                    },
                    20'000ms);
                BOOST_TEST(waiting);
                if (!waiting) continue;
                const auto sent = steady::now();
                ch.child->signal(sig);
                auto r = finish(ch, std::chrono::seconds(30));
                const auto took = std::chrono::duration_cast<millis>(steady::now() - sent);
                BOOST_TEST_MESSAGE(name << ", signal " << sig << ": status " << r.p.status << " in "
                                        << took.count() << " ms");
                BOOST_TEST(r.p.status == 130);
                BOOST_TEST(took < 3000ms);
            }
        }
    }
}

BOOST_FIXTURE_TEST_CASE(the_process_exits_promptly_after_its_last_call_ends, cli_rig) {
    const std::pair<const char*, hs::handler> hosts[] = {
        {"token host silent", silent_token_host()},
        {"API host silent",
         api_only([](const hs::request&) { return hs::script{hs::act::hang(60s)}; })}};
    for (const auto& [name, handler] : hosts) {
        BOOST_TEST_CONTEXT(name) {
            hs::server s(handler);
            auto r = run(args(s, {"--timeout", "2", "call", product, "{}"}));
            BOOST_TEST_MESSAGE(name << ": status " << r.p.status << " in " << r.took.count()
                                    << " ms");
            BOOST_TEST(r.p.status == 4);
            BOOST_TEST(lines(r.p.err) == 1, r.p.err);
            BOOST_TEST(r.took < 2000ms + 3000ms);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(many_tiny_values_keep_the_memory_bounded, cli_rig) {
    std::string data = "[";
    data.reserve(24u << 20);
    while (data.size() < (24u << 20))
        data += "[],";
    data += "[]]";
    const std::string body = hs::envelope("CF-00000", "ok", data);
    data.clear();
    data.shrink_to_fit();
    hs::server s(api_only([&](const hs::request&) { return hs::reply(hs::response(200, body)); }));
    auto r = run(args(s, {"call", product, "{}"}));
    BOOST_TEST_MESSAGE("[[],[],...]: status " << r.p.status << ", peak RSS "
                                              << r.peak_rss_kib / 1024 << " MiB, " << r.p.err);
    BOOST_TEST(r.p.status == 4);
    BOOST_TEST(lines(r.p.err) == 1, r.p.err);
    BOOST_TEST(r.p.out.empty());
    BOOST_TEST(s.count(product) == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_non_finite_number_is_an_error_never_infinity, cli_rig) {
    for (const std::string& data :
         std::vector<std::string>{R"({"amount":1e999999})", R"({"amount":[-1e999999]})"}) {
        BOOST_TEST_CONTEXT(data) {
            hs::server s(api_only([&](const hs::request&) {
                return hs::reply(hs::response(200, hs::envelope("CF-00000", "ok", data)));
            }));
            auto r = run(args(s, {"call", product, "{}"}));
            BOOST_TEST(r.p.status == 4);
            BOOST_TEST(lines(r.p.err) == 1, r.p.err);
            BOOST_TEST(lowercase(r.p.out + r.p.err).find("infinity") == std::string::npos, r.p.out);
            BOOST_TEST(r.p.out.find("1e99999") == std::string::npos, r.p.out);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(a_token_with_cr_lf_is_refused_and_nothing_is_sent, cli_rig) {
    hs::server s([](const hs::request& r) {
        if (r.path == "/oauth/token")
            return hs::reply(hs::response(200, hs::token_json("abc\r\nX-Injected: yes")));
        return hs::reply(hs::response(200, ok_body));
    });
    auto r = run(args(s, {"call", product, "{}"}));
    BOOST_TEST(r.p.status == 4);
    BOOST_TEST(lines(r.p.err) == 1, r.p.err);
    BOOST_TEST(s.count(product) == 0u);
    for (const auto& req : s.requests())
        BOOST_TEST(req.raw.find("X-Injected") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(echoed_secrets_reach_no_output, cli_rig) {
    const std::string token_error = "{\"error\":\"invalid_client\",\"error_description\":" +
                                    hs::json_quote(echo_known(false, false)) +
                                    ",\"message\":" + hs::json_quote(echo_known(false, false)) +
                                    "}";
    {BOOST_TEST_CONTEXT("token 401 echoing the credential"){
        hs::server s([&](const hs::request&) { return hs::reply(hs::response(401, token_error)); });
    auto r = run(args(s, {"call", product, "{}"}));
    BOOST_TEST(r.p.status == 3);
    BOOST_TEST(lines(r.p.err) == 1, r.p.err);
}
}
{BOOST_TEST_CONTEXT("the token command, the token a canary"){
    hs::server s(hs::standard(token_canary));
auto r = run(args(s, {"token"}));
BOOST_TEST(r.p.status == 0);
}
}
{BOOST_TEST_CONTEXT("a reply echoing secrets in its messages"){hs::server s(api_only(
    [&](const hs::request&) {
        return hs::reply(
            hs::response(200, hs::percent_encode(hs::envelope("CF-00000", echo_known(true, false),
                                                              "{}", echo_known(true, false)))));
    },
    token_canary));
auto r = run(args(s, {"call", product, "{}"}));
BOOST_TEST(r.p.status == 0);
}
}
{BOOST_TEST_CONTEXT("a 500 echoing secrets"){hs::server s(api_only(
    [&](const hs::request&) {
        return hs::reply(hs::response(500, hs::envelope("CF-09999", echo_known(true, false))));
    },
    token_canary));
auto r = run(args(s, {"call", product, "{}"}));
BOOST_TEST(r.p.status == 4);
BOOST_TEST(lines(r.p.err) == 1, r.p.err);
}
}
{BOOST_TEST_CONTEXT("an account create echoing the password"){hs::server s(api_only(
    [&](const hs::request&) {
        return hs::reply(
            hs::response(200, hs::envelope("CF-04000", echo_known(true, true),
                                           R"({"connectedId":"","successList":[],"errorList":[]})",
                                           echo_known(true, true))));
    },
    token_canary));
const std::string input =
    std::string(R"({"accountList":[{"businessType":"BK","organization":"0004",)") +
    R"("id":"u1","password":")" + password_canary + "\"}]}";
auto r = run(args(s, {"accounts", "create", "-"}), input);
BOOST_TEST(r.p.status == 1);
for (const auto& req : s.requests())
    BOOST_TEST(req.raw.find(password_canary) == std::string::npos);
}
}
{
    BOOST_TEST_CONTEXT("a sweep whose replies echo the token") {
        hs::server s(api_only(
            [&](const hs::request&) {
                return hs::reply(hs::response(200, hs::envelope("CF-00000", echo_known(true, false),
                                                                "{}", echo_known(true, false))));
            },
            token_canary));
        const std::string ids = dir.path() + "/echo-ids.txt";
        {
            std::ofstream f(ids);
            for (int i = 0; i < 20; ++i)
                f << "cid-echo-" << i << "\n";
        }
        const std::string out = dir.path() + "/echo.ndjson";
        auto r = run(args(s, {"sweep", product, "--ids-file", ids, "--out", out}));
        BOOST_TEST(r.p.status == 0);
        const std::string written = file_text(out);
        BOOST_TEST(lines(written) == 20);
        BOOST_TEST(canary_in(written).empty(), "a canary in the sweep's output");
    }
}
}

namespace {
// The API of a sweep, resetting about one request in ten (after reading it, or halfway through
// the reply); the rest answered: each connectedId cid-N holds N % 3 + 1 organizations.
const std::vector<std::string> all_orgs{"0004", "0011", "0020"};

std::vector<std::string> orgs_of(const std::string& cid) {
    const auto n = std::stoul(cid.substr(4)) % 3 + 1;
    return {all_orgs.begin(), all_orgs.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

hs::handler resetting_api(std::uint64_t seed, std::atomic<std::uint64_t>& resets) {
    return [seed, &resets](const hs::request& r) -> hs::script {
        boost::system::error_code ec;
        const json::value v = json::parse(hs::percent_decode(r.body), ec);
        if (ec || !v.is_object() || !v.as_object().contains("connectedId"))
            return hs::reply(hs::response(400, "{}"));
        const std::string cid(v.at("connectedId").as_string());
        std::string body;
        if (r.path == "/v1/account/list") {
            json::array list;
            for (const auto& org : orgs_of(cid))
                list.push_back(json::object{{"organizationCode", org},
                                            {"businessType", "BK"},
                                            {"clientType", "P"},
                                            {"loginType", "1"},
                                            {"countryCode", "KR"}});
            json::object data{{"connectedId", cid}, {"accountList", list}};
            body = hs::envelope("CF-00000", "ok", json::serialize(data));
        } else {
            const std::string org(v.at("organization").as_string());
            json::object data{{"resAccount", cid + "/" + org}};
            body = hs::envelope("CF-00000", "ok", json::serialize(data));
        }
        const std::uint64_t h = mix(seed ^ r.index);
        if (h % 10 == 0) {
            ++resets;
            if (h % 20 == 0) return hs::script{hs::act::reset()};
            const std::string full = hs::response(200, body);
            return hs::script{hs::act::write(full.substr(0, full.size() - body.size() / 2)),
                              hs::act::reset()};
        }
        return hs::reply(hs::response(200, body));
    };
}
} // namespace

BOOST_FIXTURE_TEST_CASE(a_sweep_through_random_resets_writes_every_id_once, cli_rig) {
    emulator_options eo;
    eo.credentials.emplace_back(client_id, secret_canary);
    emulator emu(eo);
    trust_too(emu.ca_pem());
    const std::uint64_t seed = std::random_device{}();
    BOOST_TEST_MESSAGE("sweep seed " << seed);
    std::atomic<std::uint64_t> resets{0};
    hs::server api(resetting_api(seed, resets));

    constexpr int count = 1500;
    const std::string ids = dir.path() + "/ids.txt";
    std::set<std::string> expected;
    {
        std::ofstream f(ids);
        for (int i = 0; i < count; ++i) {
            const std::string cid = "cid-" + std::to_string(i);
            f << cid << "\n";
            expected.insert(cid);
        }
    }
    const std::string out = dir.path() + "/out.ndjson";
    auto r = run(args(api.url(), emu.oauth_url(),
                      {"--concurrency", "64", "--timeout", "30", "sweep", product,
                       "--per-organization", "--ids-file", ids, "--out", out}));
    BOOST_TEST_MESSAGE("sweep: status " << r.p.status << " in " << r.took.count() << " ms, "
                                        << resets.load() << " resets, peak RSS "
                                        << r.peak_rss_kib / 1024 << " MiB; " << r.p.err);
    BOOST_TEST(resets.load() > 0u);
    BOOST_TEST(emu.stats().token_requests <= 2u);

    // Every line parses; each connectedId's lines are together, as many as its group says;
    // each (connectedId, organization) once.
    std::map<std::string, std::vector<json::object>> by_id;
    std::set<std::pair<std::string, std::string>> pairs;
    std::string previous;
    int torn = 0, split = 0, repeated = 0;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        json::value v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            ++torn;
            continue;
        }
        const std::string cid(v.at("connectedId").as_string());
        const std::string org(v.at("organization").as_string());
        if (cid != previous && by_id.count(cid)) ++split;
        previous = cid;
        if (!pairs.emplace(cid, org).second) ++repeated;
        by_id[cid].push_back(std::move(v.as_object()));
    }
    BOOST_TEST(torn == 0);
    BOOST_TEST(split == 0);
    BOOST_TEST(repeated == 0);
    BOOST_TEST(by_id.size() == expected.size());
    int wrong_group = 0, unexpected = 0, incomplete = 0, failed = 0;
    for (const auto& [cid, items] : by_id) {
        if (!expected.count(cid)) ++unexpected;
        for (const auto& item : items)
            if (item.at("group").as_int64() != static_cast<std::int64_t>(items.size()))
                ++wrong_group;
        // The listing failed (one line, no organization) or every organization has its line.
        if (items.size() == 1 && items[0].at("organization").as_string().empty()) {
            ++failed;
            continue;
        }
        std::set<std::string> orgs;
        for (const auto& item : items)
            orgs.emplace(item.at("organization").as_string());
        const auto want = orgs_of(cid);
        if (orgs != std::set<std::string>(want.begin(), want.end())) ++incomplete;
        for (const auto& item : items)
            if (item.at("status").as_string() == "failed") ++failed;
    }
    BOOST_TEST(wrong_group == 0);
    BOOST_TEST(unexpected == 0);
    BOOST_TEST(incomplete == 0);
    BOOST_TEST_MESSAGE("sweep: " << failed << " items failed after retries");
    // 0, or 5 when some items failed after the retries (a rerun retries them).
    BOOST_TEST(r.p.status == (failed > 0 ? 5 : 0));
    BOOST_TEST(r.p.err.find("sweep done: 1,500 connectedIds") != std::string::npos, r.p.err);
}

BOOST_AUTO_TEST_SUITE_END()
