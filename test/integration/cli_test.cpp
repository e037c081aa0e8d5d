// The codef command-line tool as a child process against the in-process emulator: each command,
// each exit status, bad input, and sweeps interrupted by SIGINT and SIGKILL, then resumed.
#include "completion_words.hpp"
#include "ndjson.hpp"
#include "process.hpp"
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>
#include <codef/emulator.hpp>
#include <codef/emulator_proxy.hpp>
#include <codef/two_way.hpp>
#include <codef/version.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> problems_in(const std::string& path,
                                     std::map<std::string, std::vector<std::string>>* statuses);

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
    std::unordered_map<std::string, int> ids_in(const std::string& path) {
        return codef::test::ids_in(path);
    }
    // Every item of the file exactly once (see problems_in); the connectedIds, with their
    // statuses.
    std::map<std::string, std::vector<std::string>> check_exactly_once(const std::string& path) {
        std::map<std::string, std::vector<std::string>> statuses;
        const auto problems = problems_in(path, &statuses);
        BOOST_TEST(problems.empty(), problems.size() << " problems, the first: "
                                                     << (problems.empty() ? "" : problems[0]));
        return statuses;
    }
};

// What is wrong in a sweep's output: an item (connectedId, organization) on more than one line,
// or a connectedId whose line count is not its group field (counted over the whole file, so a
// group written twice, even right after itself, is caught).
std::vector<std::string> problems_in(const std::string& path,
                                     std::map<std::string, std::vector<std::string>>* statuses) {
    std::vector<std::string> problems;
    std::map<std::pair<std::string, std::string>, int> items;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> groups; // announced, lines
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        const auto v = json::parse(line);
        const std::string id(v.at("connectedId").as_string());
        ++items[{id, std::string(v.at("organization").as_string())}];
        auto& g = groups[id];
        if (g.first != 0 && g.first != v.at("group").as_int64())
            problems.push_back(id + ": two group sizes");
        g.first = v.at("group").as_int64();
        ++g.second;
        if (statuses) (*statuses)[id].emplace_back(v.at("status").as_string());
    }
    for (const auto& [key, n] : items)
        if (n != 1)
            problems.push_back(key.first + "/" + key.second + ": " + std::to_string(n) + " lines");
    for (const auto& [id, g] : groups)
        if (g.first != g.second)
            problems.push_back(id + ": " + std::to_string(g.second) + " lines, group of " +
                               std::to_string(g.first));
    return problems;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777u;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The tool runs without the caller's CODEF_ variables and profile: only what a test gives it.
struct isolated_environment {
    isolated_environment() {
        for (const char* v : {"CODEF_ENV", "CODEF_API_URL", "CODEF_OAUTH_URL", "CODEF_CA_FILE",
                              "CODEF_CLIENT_ID", "CODEF_CLIENT_SECRET", "CODEF_PUBLIC_KEY",
                              "CODEF_PROFILE", "CODEF_LOG_FILE", "CODEF_PROXY", "XDG_CONFIG_HOME"})
            ::unsetenv(v);
        ::setenv("HOME", "/nonexistent/codef-cli-test-home", 1);
    }
};

// The names a help section lists: each line indented by two spaces, up to its first two
// spaces; option lines split at ", " ("--pretty, --compact"), each name its first word.
std::set<std::string> names_in(const std::string& help, const std::string& section) {
    std::set<std::string> names;
    std::istringstream in(help);
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (!inside) {
            inside = line == section + ":";
            continue;
        }
        if (line.empty() || line[0] != ' ') break;
        if (line.size() < 3 || line[1] != ' ' || line[2] == ' ') continue; // a continuation
        const std::string head = line.substr(2, line.find("  ", 2) - 2);
        std::istringstream parts(head);
        for (std::string part; std::getline(parts, part, ',');) {
            part.erase(0, part.find_first_not_of(' '));
            names.insert(part.substr(0, part.find(' ')));
        }
    }
    return names;
}

using codef::test::completion_opts;

// The two-way products of the emulator, and parameters they take. The insurance product's id
// names the end user: calls with the same id share one authentication (다건요청), so each flow
// of a test has its own.
const std::string insurance = "/v1/kr/insurance/0001/credit4u/contract-info";
const std::string checkup = "/v1/kr/public/pp/nhis-health-checkup/result";

std::string insurance_params(const emulator& emu, const std::string& id) {
    return json::serialize(json::object{
        {"id", id}, {"password", codef::encrypt_password(emu.public_key(), "insurance-pw")}});
}

std::string checkup_params(const std::string& name) {
    return json::serialize(json::object{{"loginType", "5"},
                                        {"loginTypeLevel", "1"},
                                        {"userName", name},
                                        {"phoneNo", "01012345678"},
                                        {"identity", "19800101"}});
}

// The files of dir whose names start with prefix.
std::vector<std::string> files_named(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path().string());
    return out;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A child whose stdin and stderr are a pseudo-terminal and whose stdout is a file: the tool as
// a person at a terminal runs it. What the terminal shows is read from the master side; every
// wait is bounded.
class pty_child {
public:
    pty_child(const std::vector<std::string>& args, const std::string& dir,
              const std::vector<std::string>& env = {}) {
        BOOST_TEST_REQUIRE(::openpty(&master_, &slave_, nullptr, nullptr, nullptr) == 0);
        ::fcntl(master_, F_SETFD, FD_CLOEXEC);
        ::fcntl(slave_, F_SETFD, FD_CLOEXEC);
        static int n = 0;
        out_ = dir + "/pty-stdout." + std::to_string(n++);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, slave_, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, slave_, 2);
        echoed_at_start_ = echoes();
        pid_ = codef::test::spawn_child(args, env, fa);
        posix_spawn_file_actions_destroy(&fa);
    }
    ~pty_child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(master_);
        ::close(slave_);
    }
    pty_child(const pty_child&) = delete;
    pty_child& operator=(const pty_child&) = delete;

    // Whether the terminal shows text (after what an earlier expect found) within limit.
    bool expect(const std::string& text, std::chrono::seconds limit = 30s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        for (;;) {
            if (const auto at = seen_.find(text, from_); at != std::string::npos) {
                from_ = at + text.size();
                return true;
            }
            if (std::chrono::steady_clock::now() > until) return false;
            read_some(100);
        }
    }
    // Typed at the terminal.
    void type(const std::string& text) {
        BOOST_TEST_REQUIRE(::write(master_, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()));
    }
    // Whether the terminal echoes what is typed.
    bool echoes() const {
        termios t{};
        BOOST_TEST_REQUIRE(::tcgetattr(slave_, &t) == 0);
        return (t.c_lflag & ECHO) != 0;
    }
    // Whether the terminal echoed before the child started.
    bool echoed_at_start() const noexcept { return echoed_at_start_; }
    // What the terminal showed so far.
    const std::string& shown() const noexcept { return seen_; }
    void signal(int sig) { ::kill(pid_, sig); }

    // The exit (waited for at most limit), stdout, and in err everything the terminal showed.
    codef::test::process_result wait(std::chrono::seconds limit = 60s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        int status = 0;
        for (;;) {
            read_some(0);
            if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
            if (std::chrono::steady_clock::now() > until) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                pid_ = -1;
                BOOST_FAIL("the child did not exit in time: a hang");
            }
            std::this_thread::sleep_for(5ms);
        }
        pid_ = -1;
        while (read_some(0)) {
        }
        codef::test::process_result r;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r.out = file_text(out_);
        r.err = seen_;
        return r;
    }

private:
    // What the master has, waiting at most ms for it.
    bool read_some(int ms) {
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0 || !(p.revents & POLLIN)) return false;
        char buf[4096];
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) return false;
        seen_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int master_ = -1, slave_ = -1;
    pid_t pid_ = -1;
    std::string out_, seen_;
    std::size_t from_ = 0;
    bool echoed_at_start_ = false;
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(isolated_environment);

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
    // Piped, the reply is one line; --pretty indents it, --compact forces one line.
    BOOST_TEST(lines(r.out) == 1);
    auto pretty = run({"--pretty", "call", "/v1/account/connectedId-list", R"({"pageNo":"1"})"});
    BOOST_TEST(pretty.status == 0);
    BOOST_TEST(pretty.out.starts_with("{\n  \"result\": {\n"));
    BOOST_TEST(json::parse(pretty.out).at("data") == reply.at("data"));
    auto compact =
        run({"--pretty", "--compact", "call", "/v1/account/connectedId-list", R"({"pageNo":"1"})"});
    BOOST_TEST(lines(compact.out) == 1);
}

BOOST_FIXTURE_TEST_CASE(proxy_sends_every_connection_through_connect_and_hides_its_password,
                        fixture) {
    emulator_proxy_options po;
    po.username = "cli-user";
    po.password = "CANARY-PROXY-PW-81b2";
    emulator_proxy proxy(po);
    const std::string with_password =
        "http://cli-user:CANARY-PROXY-PW-81b2@127.0.0.1:" + std::to_string(proxy.port());
    auto r = run({"--proxy", with_password, "call", "/v1/account/connectedId-list", "{}"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(json::parse(r.out).at("result").at("code").as_string() == "CF-00000");
    // The token's connection and the API's, each a tunnel to the emulator.
    BOOST_TEST(proxy.stats().tunnels_opened == 2u);
    // The environment variable too; a refusal (wrong password) is a transport failure, status 4,
    // that never shows the password.
    const std::string wrong =
        "http://cli-user:CANARY-WRONG-PW-77@127.0.0.1:" + std::to_string(proxy.port());
    auto refused = codef::test::run_process(cli({"call", "/v1/account/connectedId-list", "{}"}),
                                            dir.path(), {}, {"CODEF_PROXY=" + wrong});
    BOOST_TEST(refused.status == 4);
    BOOST_TEST(refused.err.find("proxy") != std::string::npos, refused.err);
    BOOST_TEST(refused.err.find("CANARY-WRONG-PW-77") == std::string::npos, refused.err);
    BOOST_TEST(refused.err.find("CANARY-PROXY-PW-81b2") == std::string::npos);
    // Never read from a profile: the URL may hold a password.
    const std::string profile = dir.path() + "/proxy.profile";
    std::ofstream(profile) << "proxy = " << with_password << "\n";
    auto in_profile = run({"--profile", profile, "token"});
    BOOST_TEST(in_profile.status == 2);
    BOOST_TEST(in_profile.err.find("CANARY-PROXY-PW-81b2") == std::string::npos, in_profile.err);
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
    BOOST_TEST(r.out.find("5    sweep: some items failed") != std::string::npos);
    BOOST_TEST(r.out.find("--no-retry-failed") != std::string::npos);
    BOOST_TEST(r.out.find("83160c33") == std::string::npos); // no secret, not even the public one
    auto emu_help = codef::test::run_process({CODEF_CLI_PATH, "emulator", "--help"}, dir.path());
    BOOST_TEST(emu_help.status == 0);
    BOOST_TEST(emu_help.out.find("--seed-ids") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(options_take_their_value_after_an_equals_sign_or_from_the_environment,
                        fixture) {
    const std::vector<std::string> equals{CODEF_CLI_PATH,
                                          "--env=sandbox",
                                          "--api-url=" + emu.api_url(),
                                          "--oauth-url=" + emu.oauth_url(),
                                          "--ca-file=" + ca,
                                          "--timeout=30",
                                          "token"};
    auto r = codef::test::run_process(equals, dir.path());
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.starts_with("expires "));
    auto bad = codef::test::run_process({CODEF_CLI_PATH, "--timeout=soon", "token"}, dir.path());
    BOOST_TEST(bad.status == 2);
    BOOST_TEST(bad.err.find("--timeout") != std::string::npos);
    // The same settings from the environment alone.
    const std::vector<std::string> vars{"CODEF_ENV=sandbox", "CODEF_API_URL=" + emu.api_url(),
                                        "CODEF_OAUTH_URL=" + emu.oauth_url(),
                                        "CODEF_CA_FILE=" + ca};
    auto from_env =
        codef::test::run_process({CODEF_CLI_PATH, "--timeout=5", "token"}, dir.path(), {}, vars);
    BOOST_TEST(from_env.status == 0, from_env.err);
    BOOST_TEST(from_env.out.starts_with("expires "));
    BOOST_TEST(emu.stats().token_requests == 2u);
    // An argument overrides its variable; a bad variable is a usage error naming it.
    auto wrong_env =
        codef::test::run_process({CODEF_CLI_PATH, "token"}, dir.path(), {}, {"CODEF_ENV=staging"});
    BOOST_TEST(wrong_env.status == 2);
    BOOST_TEST(wrong_env.err.find("CODEF_ENV") != std::string::npos);
    auto overridden = codef::test::run_process(
        {CODEF_CLI_PATH, "--api-url", emu.api_url(), "call", "/v1/account/connectedId-list", "{}"},
        dir.path(), {},
        {"CODEF_API_URL=https://127.0.0.1:1", "CODEF_OAUTH_URL=" + emu.oauth_url(),
         "CODEF_CA_FILE=" + ca});
    BOOST_TEST(overridden.status == 0, overridden.err);
}

BOOST_FIXTURE_TEST_CASE(each_command_has_its_own_help, fixture) {
    for (const std::string command :
         {"token", "encrypt", "call", "accounts", "connected-ids", "sweep"}) {
        BOOST_TEST_CONTEXT(command) {
            auto r = codef::test::run_process({CODEF_CLI_PATH, command, "--help"}, dir.path());
            BOOST_TEST(r.status == 0);
            // Its own usage first, then the way to the global options.
            BOOST_TEST(r.out.starts_with("usage: codef [global options] " + command));
            BOOST_TEST(r.out.find("codef --help") != std::string::npos);
            BOOST_TEST(r.out.find("exit status:") == std::string::npos);
        }
    }
    auto sweep = codef::test::run_process({CODEF_CLI_PATH, "sweep", "-h"}, dir.path());
    BOOST_TEST(sweep.out.find("--per-organization") != std::string::npos);
    auto global = codef::test::run_process({CODEF_CLI_PATH, "--help", "sweep"}, dir.path());
    BOOST_TEST(global.out.starts_with("usage: codef [global options] <command>"));
    BOOST_TEST(global.out.find("codef COMMAND --help") != std::string::npos);
    // git's habit points the way instead of showing a command's usage.
    for (const auto& words :
         {std::vector<std::string>{"help"}, std::vector<std::string>{"help", "call"}}) {
        auto r = run(words);
        BOOST_TEST(r.status == 2);
        BOOST_TEST(r.err ==
                   "codef: there is no help command: codef --help, or codef COMMAND --help\n");
    }
}

BOOST_FIXTURE_TEST_CASE(version_prints_the_library_version, fixture) {
    auto r = codef::test::run_process({CODEF_CLI_PATH, "--version"}, dir.path());
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.out == "codef " CODEF_VERSION_STRING "\n");
    // The string is the numbers, as CMake reads them.
    BOOST_TEST(std::string(CODEF_VERSION_STRING) == std::to_string(CODEF_VERSION_MAJOR) + "." +
                                                        std::to_string(CODEF_VERSION_MINOR) + "." +
                                                        std::to_string(CODEF_VERSION_PATCH));
}

BOOST_FIXTURE_TEST_CASE(an_option_takes_its_value_after_a_space_or_an_equals_sign_alike, fixture) {
    const std::string listing = "/v1/account/connectedId-list";
    auto spaced = codef::test::run_process({CODEF_CLI_PATH, "--api-url", emu.api_url(),
                                            "--oauth-url", emu.oauth_url(), "--ca-file", ca,
                                            "--timeout", "30", "--concurrency", "2", "--env",
                                            "sandbox", "call", listing, R"({"pageNo":"1"})"},
                                           dir.path());
    auto equals = codef::test::run_process({CODEF_CLI_PATH, "--api-url=" + emu.api_url(),
                                            "--oauth-url=" + emu.oauth_url(), "--ca-file=" + ca,
                                            "--timeout=30", "--concurrency=2", "--env=sandbox",
                                            "call", listing, R"({"pageNo":"1"})"},
                                           dir.path());
    BOOST_TEST_REQUIRE(spaced.status == 0, spaced.err);
    BOOST_TEST_REQUIRE(equals.status == 0, equals.err);
    const auto page = json::parse(spaced.out).at("data").at("connectedIdList");
    BOOST_TEST(page.as_array().size() == 50u);
    BOOST_TEST(json::parse(equals.out).at("data").at("connectedIdList") == page);
    // A command's own option, both ways.
    const std::string cid(page.as_array().at(0).as_string());
    auto listed = run({"accounts", "list", "--connected-id", cid});
    auto listed_eq = run({"accounts", "list", "--connected-id=" + cid});
    BOOST_TEST_REQUIRE(listed.status == 0, listed.err);
    BOOST_TEST(listed_eq.status == 0, listed_eq.err);
    const auto accounts = json::parse(listed.out).at("data").at("accountList");
    BOOST_TEST(accounts.as_array().size() > 0u);
    BOOST_TEST(json::parse(listed_eq.out).at("data").at("accountList") == accounts);
    // A bad value is the same error either way.
    for (const std::string option : {"--timeout", "--concurrency", "--env"}) {
        auto a = run({option, "0", "token"});
        auto b = run({option + "=0", "token"});
        BOOST_TEST_CONTEXT(option) {
            BOOST_TEST(a.status == 2);
            BOOST_TEST(a.err.starts_with("codef: " + option + ": "), a.err);
            BOOST_TEST(b.err == a.err);
        }
    }
    // "--name=" is an empty value, never the next argument.
    auto empty = run({"sweep", "--out=", "/v1/x"});
    BOOST_TEST(empty.status == 2);
    BOOST_TEST(empty.err == "codef: sweep: --out FILE (or - for stdout) is needed\n");
    // Global options also go after the command.
    auto after = run({"call", listing, R"({"pageNo":"1"})", "--pretty", "--timeout", "30"});
    BOOST_TEST(after.status == 0, after.err);
    BOOST_TEST(after.out.starts_with("{\n  \"result\": {\n"));
    BOOST_TEST(emu.stats().api_requests == 5u);
}

BOOST_FIXTURE_TEST_CASE(each_global_environment_variable_takes_effect, fixture) {
    const std::string listing = "/v1/account/connectedId-list";
    const std::string closed = "https://127.0.0.1:1";
    const std::vector<std::string> all{"CODEF_API_URL=" + emu.api_url(),
                                       "CODEF_OAUTH_URL=" + emu.oauth_url(), "CODEF_CA_FILE=" + ca};
    auto with = [&](std::vector<std::string> vars, std::vector<std::string> args) {
        std::vector<std::string> argv{CODEF_CLI_PATH, "--timeout", "5"};
        argv.insert(argv.end(), args.begin(), args.end());
        return codef::test::run_process(argv, dir.path(), {}, vars);
    };
    auto replace = [&](const std::string& var) {
        std::vector<std::string> v;
        for (const auto& x : all)
            if (!x.starts_with(var.substr(0, var.find('=') + 1))) v.push_back(x);
        v.push_back(var);
        return v;
    };
    auto ok = with(all, {"call", listing, "{}"});
    BOOST_TEST(ok.status == 0, ok.err);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().api_requests == 1u);
    // Each one changes where the call goes or what is trusted.
    auto api = with(replace("CODEF_API_URL=" + closed), {"call", listing, "{}"});
    BOOST_TEST(api.status == 4);
    BOOST_TEST(api.err.find("127.0.0.1:1") != std::string::npos, api.err);
    BOOST_TEST(emu.stats().api_requests == 1u);
    BOOST_TEST(emu.stats().token_requests == 2u); // its token came from the emulator
    auto oauth = with(replace("CODEF_OAUTH_URL=" + closed + "/oauth/token"), {"token"});
    BOOST_TEST(oauth.status == 4);
    BOOST_TEST(emu.stats().token_requests == 2u);
    emulator other;
    std::ofstream(dir.path() + "/other.pem") << other.ca_pem();
    auto trust = with(replace("CODEF_CA_FILE=" + dir.path() + "/other.pem"), {"token"});
    BOOST_TEST(trust.status == 4); // the emulator's certificate is not trusted
    auto production = with(replace("CODEF_ENV=production"), {"token"});
    BOOST_TEST(production.status == 2); // production needs credentials
    BOOST_TEST(production.err.find("client_id") != std::string::npos, production.err);
    auto bogus = with(replace("CODEF_ENV=bogus"), {"token"});
    BOOST_TEST(bogus.status == 2);
    BOOST_TEST(bogus.err == "codef: CODEF_ENV: sandbox, development or production\n");
    auto overridden = with(replace("CODEF_ENV=bogus"), {"--env", "sandbox", "token"});
    BOOST_TEST(overridden.status == 0, overridden.err); // not read when the argument is given
    // The public key from the environment encrypts an account's password.
    const std::string input =
        R"({"accountList":[{"businessType":"BK","organization":"0004","id":"u1","password":"pw-env"}]})";
    auto created =
        with(replace("CODEF_PUBLIC_KEY=" + emu.public_key()), {"accounts", "create", input});
    BOOST_TEST_REQUIRE(created.status == 0, created.err);
    const std::string cid(json::parse(created.out).at("data").at("connectedId").as_string());
    BOOST_TEST(emu.password_matches(cid, "0004", "pw-env"));
}

BOOST_FIXTURE_TEST_CASE(the_profile_gives_way_to_the_environment_and_that_to_the_command_line,
                        fixture) {
    const std::string closed = "https://127.0.0.1:1/oauth/token";
    auto profile = [&](const std::string& name, const std::string& oauth) {
        const std::string path = dir.path() + "/" + name;
        std::ofstream(path) << "# a codef profile\n"
                            << "api-url = \"" << emu.api_url() << "\"\n"
                            << "oauth-url = \"" << oauth << "\"\n"
                            << "ca_file = " << ca << "\n"
                            << "timeout = 5\n"
                            << "pretty = true\n";
        return path;
    };
    const std::string closed_oauth = profile("closed.toml", closed);
    const std::string emu_oauth = profile("emulator.toml", emu.oauth_url());
    auto call = [&](std::vector<std::string> args, std::vector<std::string> vars = {}) {
        args.insert(args.begin(), CODEF_CLI_PATH);
        for (const std::string a : {"call", "/v1/account/connectedId-list", R"({"pageNo":"1"})"})
            args.push_back(a);
        return codef::test::run_process(args, dir.path(), {}, vars);
    };
    // The profile alone: its settings are used, its closed token endpoint too.
    auto alone = call({"--profile", emu_oauth});
    BOOST_TEST(alone.status == 0, alone.err);
    BOOST_TEST(alone.out.starts_with("{\n  \"result\""), alone.out.substr(0, 40));
    auto closed_alone = call({"--profile=" + closed_oauth});
    BOOST_TEST(closed_alone.status == 4);
    BOOST_TEST(emu.stats().token_requests == 1u);
    // The environment over the profile, both ways; the profile's other settings stay.
    auto env_open = call({"--profile", closed_oauth}, {"CODEF_OAUTH_URL=" + emu.oauth_url()});
    BOOST_TEST(env_open.status == 0, env_open.err);
    BOOST_TEST(env_open.out.starts_with("{\n"));
    auto env_closed = call({"--profile", emu_oauth}, {"CODEF_OAUTH_URL=" + closed});
    BOOST_TEST(env_closed.status == 4);
    // The command line over the environment.
    auto flag = call({"--profile", closed_oauth, "--oauth-url", emu.oauth_url()},
                     {"CODEF_OAUTH_URL=" + closed});
    BOOST_TEST(flag.status == 0, flag.err);
    auto compact = call({"--profile", emu_oauth, "--compact"});
    BOOST_TEST(compact.status == 0);
    BOOST_TEST(lines(compact.out) == 1);
    // CODEF_PROFILE, else $XDG_CONFIG_HOME/codef/config, is read without --profile.
    auto by_variable = call({}, {"CODEF_PROFILE=" + emu_oauth});
    BOOST_TEST(by_variable.status == 0, by_variable.err);
    BOOST_TEST(by_variable.out.starts_with("{\n"));
    std::filesystem::create_directories(dir.path() + "/xdg/codef");
    std::filesystem::copy_file(emu_oauth, dir.path() + "/xdg/codef/config");
    auto by_default = call({}, {"XDG_CONFIG_HOME=" + dir.path() + "/xdg"});
    BOOST_TEST(by_default.status == 0, by_default.err);
    BOOST_TEST(by_default.out.starts_with("{\n"));
    auto overridden = call({"--profile", closed_oauth}, {"XDG_CONFIG_HOME=" + dir.path() + "/xdg"});
    BOOST_TEST(overridden.status == 4); // --profile instead of the default one
    BOOST_TEST(emu.stats().token_requests == 6u);
}

BOOST_FIXTURE_TEST_CASE(a_profile_with_a_secret_or_a_missing_profile_is_a_usage_error, fixture) {
    const std::string with_secret = dir.path() + "/secret.toml";
    std::ofstream(with_secret) << "api-url = \"" << emu.api_url() << "\"\n"
                               << "client-secret = s3cr3t-in-profile\n";
    const std::vector<codef::test::process_result> refused{
        codef::test::run_process({CODEF_CLI_PATH, "--profile", with_secret, "token"}, dir.path()),
        codef::test::run_process({CODEF_CLI_PATH, "token"}, dir.path(), {},
                                 {"CODEF_PROFILE=" + with_secret})};
    for (const auto& r : refused) {
        BOOST_TEST(r.status == 2);
        BOOST_TEST(r.err == "codef: " + with_secret +
                                ": client-secret: a secret is never read from a profile (give "
                                "it in the environment)\n");
        BOOST_TEST(r.out.empty());
    }
    const std::string with_password = dir.path() + "/password.toml";
    std::ofstream(with_password) << "PASSWORD = \"pw-in-profile\"\n";
    auto password = run({"--profile", with_password, "token"});
    BOOST_TEST(password.status == 2);
    BOOST_TEST(password.err.find("PASSWORD: a secret") != std::string::npos, password.err);
    BOOST_TEST(password.err.find("pw-in-profile") == std::string::npos);
    // Help still works with a broken profile.
    auto help =
        codef::test::run_process({CODEF_CLI_PATH, "--profile", with_secret, "--help"}, dir.path());
    BOOST_TEST(help.status == 0);
    BOOST_TEST(help.out.starts_with("usage: codef"));
    // A profile named and missing is refused; the default one missing is no error.
    const std::string missing = dir.path() + "/missing.toml";
    auto named = run({"--profile", missing, "token"});
    BOOST_TEST(named.status == 2);
    BOOST_TEST(named.err == "codef: --profile: " + missing + ": cannot be read\n");
    auto by_variable =
        codef::test::run_process(cli({"token"}), dir.path(), {}, {"CODEF_PROFILE=" + missing});
    BOOST_TEST(by_variable.status == 2);
    BOOST_TEST(by_variable.err == "codef: CODEF_PROFILE: " + missing + ": cannot be read\n");
    auto no_default = codef::test::run_process(cli({"token"}), dir.path(), {},
                                               {"XDG_CONFIG_HOME=" + dir.path() + "/none"});
    BOOST_TEST(no_default.status == 0, no_default.err);
    BOOST_TEST(emu.stats().token_requests == 1u);
    BOOST_TEST(emu.stats().api_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(parse_errors_never_repeat_a_secret, fixture) {
    const std::string secret = "s3cr3t-value";
    const std::vector<std::vector<std::string>> cases{
        {"--client-secrt", secret, "token"},
        {"--client-secrt=" + secret, "token"},
        {"token", "--client-secret", secret, "extra"},
        {"--client-secret", secret},
        {"--client-secret=" + secret, "--quiet=" + secret, "token"},
        {"--client-secret", secret, "call"},
        {"--client-id", "x", "--client-secret", secret, "frobnicate"},
        {"--client-secret", secret, "accounts", secret},
        {"--client-secret", secret, secret, "token"},
    };
    for (const auto& args : cases) {
        for (bool from_env : {false, true}) {
            std::vector<std::string> vars;
            if (from_env) vars.push_back("CODEF_CLIENT_SECRET=" + secret);
            auto r = codef::test::run_process(cli(args), dir.path(), {}, vars);
            BOOST_TEST_INFO("args: " << args[0] << " " << args[1] << (from_env ? " (env)" : ""));
            BOOST_TEST(r.status == 2);
            BOOST_TEST(lines(r.err) == 1);
            BOOST_TEST(r.err.starts_with("codef: "));
            BOOST_TEST(r.err.find(secret) == std::string::npos, r.err);
        }
    }
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_completion_knows_every_command_and_option_the_help_shows, fixture) {
    auto help = [&](std::vector<std::string> args) {
        args.insert(args.begin(), CODEF_CLI_PATH);
        auto r = codef::test::run_process(args, dir.path());
        BOOST_TEST_REQUIRE(r.status == 0);
        return r.out;
    };
    const std::string global_help = help({"--help"});
    const auto commands = names_in(global_help, "commands");
    const auto global = names_in(global_help, "global options");
    BOOST_TEST(commands.size() >= 7u);
    BOOST_TEST(global.count("--profile") == 1u);
    BOOST_TEST(global.count("--compact") == 1u);
    auto completion = codef::test::run_process({CODEF_CLI_PATH, "completion", "bash"}, dir.path());
    BOOST_TEST_REQUIRE(completion.status == 0);
    const std::string& script = completion.out;
    // The commands: the same in both.
    const std::string list = "if [[ -z $command ]]; then\n        COMPREPLY=($(compgen -W '";
    const auto at = script.find(list);
    BOOST_TEST_REQUIRE(at != std::string::npos);
    std::istringstream words(
        script.substr(at + list.size(), script.find('\'', at + list.size()) - at - list.size()));
    std::set<std::string> completed;
    for (std::string w; words >> w;)
        completed.insert(w);
    BOOST_TEST((completed == commands));
    // The options before the command are the global ones; after it, the command's own (its
    // help) and the global ones; the emulator's are its own help's.
    BOOST_TEST((completion_opts(script, "''") == global));
    for (const auto& command : commands) {
        BOOST_TEST_CONTEXT(command) {
            std::set<std::string> expected;
            if (command == "emulator") {
                std::istringstream in(help({"emulator", "--help"}));
                for (std::string line; std::getline(in, line);) {
                    if (!line.starts_with("  --")) continue;
                    std::istringstream ws(line.substr(0, line.find("  ", 2)));
                    for (std::string w; ws >> w;)
                        if (w.starts_with("--")) expected.insert(w);
                }
                BOOST_TEST(expected.count("--seed-ids") == 1u);
            } else {
                expected = names_in(help({command, "--help"}), "options");
                BOOST_TEST(expected.count("--help") == 1u);
                expected.insert(global.begin(), global.end());
            }
            const auto got = completion_opts(script, command);
            for (const auto& option : expected)
                BOOST_TEST(got.count(option) == 1u, option << " is not completed");
        }
    }
    // And it completes in bash: commands, options, option values, after --name=.
    const std::string file = dir.path() + "/codef.bash";
    std::ofstream(file) << script;
    auto complete = [&](const std::string& words) {
        auto r = codef::test::run_process(
            {"/bin/bash", "-c",
             "source \"$1\"; COMP_WORDS=(" + words +
                 "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _codef; echo \"${COMPREPLY[*]}\"",
             "bash", file},
            dir.path());
        BOOST_TEST(r.err.empty(), r.err);
        return r.out;
    };
    BOOST_TEST(complete("codef sw") == "sweep\n");
    BOOST_TEST(complete("codef --ca-file ca.pem --quiet tok") == "token\n");
    BOOST_TEST(complete("codef --env ''") == "sandbox development production\n");
    BOOST_TEST(complete("codef --env = dev") == "development\n"); // bash splits --env=dev
    BOOST_TEST(complete("codef sweep /v1/x --no-r") == "--no-retry-failed\n");
    BOOST_TEST(complete("codef accounts ''") == "create add update delete list\n");
    BOOST_TEST(complete("codef emulator --seed") == "--seed-ids\n");
    std::istringstream files(complete("codef --profile " + dir.path() + "/c"));
    BOOST_TEST((std::set<std::string>(std::istream_iterator<std::string>(files), {}) ==
                std::set<std::string>{ca, file}));
}

BOOST_AUTO_TEST_CASE(a_sweep_to_stdout_writes_the_same_lines_there) {
    fixture f(40);
    const std::string file = f.dir.path() + "/out.ndjson";
    auto to_file =
        f.run({"sweep", "/v1/kr/bank/p/account/account-list", "--per-organization", "--out", file});
    BOOST_TEST_REQUIRE(to_file.status == 0);
    auto r =
        f.run({"sweep", "/v1/kr/bank/p/account/account-list", "--per-organization", "--out", "-"});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.err.find("sweep done: 40 connectedIds") != std::string::npos);
    // The same lines as the file (in another order: calls end in any order), and no file "-".
    std::ifstream in(file);
    std::vector<std::string> from_file, from_stdout;
    for (std::string line; std::getline(in, line);)
        from_file.push_back(line);
    std::istringstream out(r.out);
    for (std::string line; std::getline(out, line);)
        from_stdout.push_back(line);
    // transactionId-free lines: compare the connectedIds and organizations per line.
    auto keys = [](const std::vector<std::string>& lines) {
        std::multiset<std::string> k;
        for (const auto& l : lines) {
            const auto v = json::parse(l).as_object();
            k.insert(std::string(v.at("connectedId").as_string()) + "/" +
                     std::string(v.at("organization").as_string()) + "/" +
                     std::string(v.at("status").as_string()));
        }
        return k;
    };
    BOOST_TEST(from_stdout.size() == from_file.size());
    BOOST_TEST((keys(from_stdout) == keys(from_file)));
    BOOST_TEST(!std::filesystem::exists(f.dir.path() + "/-"));
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
    BOOST_TEST(f.check_exactly_once(out).size() == 300u);
    BOOST_TEST(mode_of(out) == 0600u); // financial data: the owner's only
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
    BOOST_TEST(f.check_exactly_once(out).size() == 20'000u);
}
} // namespace

BOOST_AUTO_TEST_CASE(a_sweep_stopped_by_sigint_resumes_with_every_item_once) {
    interrupt_then_resume(SIGINT, 130);
}

BOOST_AUTO_TEST_CASE(a_sweep_killed_at_a_random_moment_resumes_with_every_item_once) {
    interrupt_then_resume(SIGKILL, 128 + SIGKILL);
}

BOOST_AUTO_TEST_CASE(failed_items_are_status_5_and_a_rerun_retries_them) {
    fixture f(60);
    emulator_faults failing;
    failing.fail_percent_of_ids = 30; // the same ids every time: retries do not cure them
    failing.fail_status = 503;
    f.emu.apply(failing);
    const std::string out = f.dir.path() + "/out.ndjson";
    const std::vector<std::string> sweep{"sweep", "/v1/kr/bank/b/account/list", "--out", out};
    auto r = f.run(sweep);
    BOOST_TEST(r.status == 5);
    BOOST_TEST(r.err.find("items failed; run the same command again") != std::string::npos);
    auto first = f.check_exactly_once(out);
    BOOST_TEST(first.size() == 60u);
    const auto failed = std::count_if(first.begin(), first.end(),
                                      [](const auto& s) { return s.second[0] == "failed"; });
    BOOST_TEST(failed > 0);
    BOOST_TEST(failed < 60);

    // With --no-retry-failed the failed ones count as done: nothing to do, the file unchanged.
    failing.fail_percent_of_ids = 0;
    f.emu.apply(failing);
    auto kept = f.run({"sweep", "/v1/kr/bank/b/account/list", "--no-retry-failed", "--out", out});
    BOOST_TEST(kept.status == 0);
    BOOST_TEST(kept.err.find("sweep done: 0 connectedIds") != std::string::npos);
    BOOST_TEST(f.check_exactly_once(out) == first);

    // By default a rerun retries them, and each connectedId is still in the file once.
    auto retried = f.run(sweep);
    BOOST_TEST(retried.status == 0);
    BOOST_TEST(retried.err.find(std::to_string(failed) + " failed ones to retry") !=
               std::string::npos);
    BOOST_TEST(retried.err.find("sweep done: " + std::to_string(failed) + " connectedIds") !=
               std::string::npos);
    auto last = f.check_exactly_once(out);
    BOOST_TEST(last.size() == 60u);
    BOOST_TEST(std::none_of(last.begin(), last.end(),
                            [](const auto& s) { return s.second[0] == "failed"; }));
    BOOST_TEST(mode_of(out) == 0600u);
}

BOOST_AUTO_TEST_CASE(a_sweep_with_refused_credentials_is_status_3) {
    fixture f(5);
    const std::string ids = f.dir.path() + "/ids.txt";
    std::ofstream(ids) << "id-one\nid-two\n";
    const std::string out = f.dir.path() + "/out.ndjson";
    auto r = f.run({"--client-id", "someone", "--client-secret", "s3cr3t-value", "sweep",
                    "/v1/kr/bank/b/account/list", "--ids-file", ids, "--out", out});
    BOOST_TEST(r.status == 3);
    BOOST_TEST(r.err.find("2 items failed because the credentials or the token were refused") !=
               std::string::npos);
    BOOST_TEST(r.err.find("s3cr3t-value") == std::string::npos);
    auto written = f.check_exactly_once(out);
    BOOST_TEST(written.size() == 2u);
    BOOST_TEST(written["id-one"] == std::vector<std::string>{"failed"});
}

BOOST_FIXTURE_TEST_CASE(stalled_paging_is_status_4_with_one_line, fixture) {
    emulator_faults stuck;
    stuck.stuck_paging = "repeat";
    emu.apply(stuck);
    auto r = run({"connected-ids"});
    BOOST_TEST(r.status == 4);
    BOOST_TEST(lines(r.err) == 1);
    BOOST_TEST(r.err.find("connectedId-list page 0: hasNext with nextPageNo 0") !=
               std::string::npos);
    BOOST_TEST(r.out.empty());
    BOOST_TEST(emu.stats().requests_by_path.at("/v1/account/connectedId-list") == 1u);
}

BOOST_FIXTURE_TEST_CASE(local_input_is_bounded_and_checked_before_anything_is_sent, fixture) {
    const std::string big = dir.path() + "/big.json";
    {
        // 17 MiB of valid JSON: refused for its size, not its content.
        std::ofstream f(big);
        f << "{\"pad\":\"" << std::string((std::size_t{17} << 20), 'a') << "\"}";
    }
    const std::string long_ids = dir.path() + "/ids.txt";
    std::ofstream(long_ids) << "id-one\n" << std::string(100'000, 'x') << "\n";
    std::string huge_stdin = "[" + std::string((std::size_t{17} << 20), ' ') + "]";
    struct bad_case {
        std::vector<std::string> args;
        std::string input;
        std::string message;
    };
    const std::string out = dir.path() + "/never.ndjson";
    const std::vector<bad_case> cases{
        {{"call", "/v1/account/list", "@" + big}, "", big + ": larger than 16 MiB"},
        {{"call", "/v1/account/list", "-"}, huge_stdin, "standard input: larger than 16 MiB"},
        {{"sweep", "/v1/x", "--out", out, "--params", "@" + big}, "", big + ": larger than 16 MiB"},
        {{"call", "/v1/account/list", R"({"connectedId":"a","n":[1,1e999999]})"},
         "",
         "the input: a number out of range at /n/1"},
        {{"sweep", "/v1/x", "--out", out, "--params", R"({"x":-1e400})"},
         "",
         "the --params: a number out of range at /x"},
        {{"sweep", "/v1/x", "--out", out, "--ids-file", long_ids},
         "",
         long_ids + ":2: a line longer than 4096 bytes"},
    };
    for (const auto& c : cases) {
        auto r = codef::test::run_process(cli(c.args), dir.path(), c.input);
        BOOST_TEST_INFO("expecting: " << c.message);
        BOOST_TEST(r.status == 2);
        BOOST_TEST(lines(r.err) == 1);
        BOOST_TEST(r.err.find(c.message) != std::string::npos, r.err.substr(0, 200));
        BOOST_TEST(r.out.empty());
    }
    BOOST_TEST(!std::filesystem::exists(out));
    BOOST_TEST(emu.stats().token_requests == 0u);
    BOOST_TEST(emu.stats().api_requests == 0u);
}

BOOST_AUTO_TEST_CASE(sigint_ends_a_sweep_with_slow_calls_at_once_and_the_rerun_completes) {
    fixture f(3'000, 50'000);
    const std::string out = f.dir.path() + "/out.ndjson";
    const auto args =
        f.cli({"--concurrency", "16", "sweep", "/v1/kr/bank/b/account/list", "--out", out});
    {
        codef::test::child c(args, f.dir.path());
        // Some connectedIds written, then every reply slow: the calls in flight take 8 s.
        BOOST_TEST_REQUIRE(codef::test::eventually([&] {
            std::error_code ec;
            return std::filesystem::file_size(out, ec) > 2'000 && !ec;
        }));
        emulator_faults slow;
        slow.reply_delay = 8s;
        f.emu.apply(slow);
        const auto requests = f.emu.stats().api_requests;
        BOOST_TEST_REQUIRE(
            codef::test::eventually([&] { return f.emu.stats().api_requests >= requests + 16; }));
        const auto signalled = std::chrono::steady_clock::now();
        c.signal(SIGINT);
        auto r = c.wait(30s);
        const double took = seconds_since(signalled);
        BOOST_TEST(r.status == 130);
        // 0.7 s of grace; the bound only guards against waiting for the slow calls (8 s).
        BOOST_TEST(took < 3.0);
        BOOST_TEST(r.err.find("sweep interrupted") != std::string::npos);
    }
    const auto partial = f.ids_in(out);
    BOOST_TEST(partial.size() > 0u);
    BOOST_TEST(partial.size() < 3'000u);
    emulator_faults quick;
    quick.reply_delay = 0ms;
    f.emu.apply(quick);
    auto r = codef::test::run_process(args, f.dir.path());
    BOOST_TEST(r.status == 0);
    BOOST_TEST(f.check_exactly_once(out).size() == 3'000u);
}

BOOST_AUTO_TEST_CASE(the_process_ends_with_its_last_call_when_the_token_host_never_answers) {
    codef::test::temp_dir dir;
    // A listener that never accepts: connections are made (the backlog), TLS never answers.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_TEST_REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_TEST_REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string silent = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    const auto started = std::chrono::steady_clock::now();
    auto r = codef::test::run_process({CODEF_CLI_PATH, "--api-url", silent, "--oauth-url",
                                       silent + "/oauth/token", "--timeout", "2", "call",
                                       "/v1/account/list", R"({"connectedId":"a"})"},
                                      dir.path());
    const double took = seconds_since(started);
    ::close(fd);
    BOOST_TEST(r.status == 4);
    BOOST_TEST(lines(r.err) == 1);
    // The call's deadline is 2 s; the bound only guards against waiting for the token request's
    // own 30 s.
    BOOST_TEST(took < 8.0);
}

BOOST_AUTO_TEST_CASE(the_exactly_once_check_catches_a_group_written_twice_in_a_row) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string a1 = R"({"connectedId":"A","organization":"0004","group":2,"status":"ok"})";
    const std::string a2 = R"({"connectedId":"A","organization":"0088","group":2,"status":"ok"})";
    const std::string b = R"({"connectedId":"B","organization":"","group":1,"status":"ok"})";
    std::ofstream(path) << a1 << "\n" << a2 << "\n" << b << "\n";
    BOOST_TEST(problems_in(path, nullptr).empty());
    std::ofstream(path) << a1 << "\n" << a2 << "\n" << b << "\n" << b << "\n"; // B right after B
    BOOST_TEST(problems_in(path, nullptr) ==
               (std::vector<std::string>{"B/: 2 lines", "B: 2 lines, group of 1"}));
    std::ofstream(path) << a1 << "\n" << b << "\n"; // a group cut short
    BOOST_TEST(problems_in(path, nullptr) == std::vector<std::string>{"A: 1 lines, group of 2"});
}

BOOST_FIXTURE_TEST_CASE(encrypt_prints_a_ciphertext_that_decrypts_and_never_the_plaintext,
                        fixture) {
    const std::string key = emu.public_key();
    // Refused, each with one line and nothing on stdout, before anything is sent.
    struct bad_case {
        std::vector<std::string> args;
        std::string input;
        std::string message;
    };
    const std::vector<bad_case> cases{
        {{"encrypt"}, "pw-no-key\n", "codef: encrypt: no public key: give --public-key BASE64"},
        {{"--public-key", key, "encrypt"}, "", "codef: encrypt: the plaintext is empty"},
        {{"--public-key", key, "encrypt"}, "\n", "codef: encrypt: the plaintext is empty"},
        {{"--public-key", key, "encrypt"},
         std::string(5000, 'q'),
         "codef: encrypt: the plaintext is longer than 4 KiB"},
        {{"--public-key", key, "encrypt"},
         std::string(300, 'q'),
         "codef: encrypt: the plaintext is 300 bytes, more than the 2048-bit key takes (245)"},
        {{"--public-key", "bm90IGEga2V5", "encrypt"}, "pw-bad-key", "codef: --public-key: "},
        {{"--public-key", key, "encrypt", "pw-as-argument"},
         "",
         "codef: encrypt takes no arguments"},
    };
    for (const auto& c : cases) {
        auto r = run(c.args, c.input);
        BOOST_TEST_INFO("expecting: " << c.message);
        BOOST_TEST(r.status == 2);
        BOOST_TEST(lines(r.err) == 1);
        BOOST_TEST(r.err.starts_with(c.message), r.err);
        BOOST_TEST(r.out.empty());
        for (const std::string secret : {"pw-no-key", "pw-bad-key", "pw-as-argument", "qqqqqqqq"})
            BOOST_TEST(r.err.find(secret) == std::string::npos, r.err);
    }
    BOOST_TEST(emu.stats().token_requests == 0u);
    BOOST_TEST(emu.stats().api_requests == 0u);

    // One trailing newline removed (a CRLF too), inner ones kept; the key from the argument, the
    // environment or the profile. The plaintext is in neither stdout nor stderr.
    const std::string profile = dir.path() + "/profile.toml";
    std::ofstream(profile) << "public-key = \"" << key << "\"\n";
    struct good_case {
        std::vector<std::string> args, vars;
        std::string input, plaintext, organization;
    };
    const std::vector<good_case> good{
        {{"--public-key", key, "encrypt"}, {}, "pw-encrypt-cli\n", "pw-encrypt-cli", "0004"},
        {{"encrypt"}, {"CODEF_PUBLIC_KEY=" + key}, "pw-crlf\r\n", "pw-crlf", "0088"},
        {{"encrypt"}, {"CODEF_PUBLIC_KEY=" + key}, "two\nlines\n", "two\nlines", "0020"},
        {{"--public-key", key, "encrypt"}, {}, "pw-no-newline", "pw-no-newline", "0081"},
        {{"--profile", profile, "encrypt"}, {}, "pw-profile\n", "pw-profile", "0011"},
    };
    std::vector<codef::account> accounts;
    for (const auto& g : good) {
        auto r = codef::test::run_process(cli(g.args), dir.path(), g.input, g.vars);
        BOOST_TEST_INFO("plaintext: " << g.plaintext);
        BOOST_TEST_REQUIRE(r.status == 0, r.err);
        BOOST_TEST(r.err.empty(), r.err);
        BOOST_TEST(lines(r.out) == 1);
        BOOST_TEST(r.out.find(g.plaintext) == std::string::npos);
        const std::string ciphertext = r.out.substr(0, r.out.size() - 1);
        BOOST_TEST(ciphertext.size() == 344u); // a 2048-bit key's, in base64
        codef::account a;
        a.business_type = "BK";
        a.organization = g.organization;
        a.id = "u-" + g.organization;
        a.password = codef::password::encrypted(ciphertext);
        accounts.push_back(std::move(a));
    }
    BOOST_TEST(emu.stats().api_requests == 0u);
    // Each ciphertext decrypts to its plaintext with the emulator's key: registered as they are,
    // the emulator finds each account's password.
    boost::asio::io_context ioc;
    codef::client client(ioc.get_executor(), emu.client_config());
    auto created = codef::test::run(ioc, client.create_accounts(accounts));
    BOOST_TEST_REQUIRE(created.has_value());
    BOOST_TEST(created->success_list.size() == good.size());
    for (const auto& g : good)
        BOOST_TEST(emu.password_matches(created->connected_id, g.organization, g.plaintext),
                   g.organization);
    BOOST_TEST(!emu.password_matches(created->connected_id, "0088", "pw-crlf\r"));
}

BOOST_FIXTURE_TEST_CASE(token_new_asks_for_a_new_token_once, fixture) {
    auto first = run({"token"});
    BOOST_TEST(first.status == 0);
    BOOST_TEST(emu.stats().token_requests == 1u);
    auto fresh = run({"token", "--new"});
    BOOST_TEST(fresh.status == 0, fresh.err);
    BOOST_TEST(fresh.out.starts_with("expires "));
    BOOST_TEST(fresh.out.find("eyJ") == std::string::npos);
    BOOST_TEST(emu.stats().token_requests == 2u); // one request, not one and then another
    BOOST_TEST(emu.stats().tokens_issued == 2u);
    auto shown = run({"token", "--new", "--show-token"});
    BOOST_TEST(shown.status == 0);
    BOOST_TEST(shown.out.find("\neyJ") != std::string::npos);
    BOOST_TEST(emu.stats().token_requests == 3u);
    BOOST_TEST(emu.stats().api_requests == 0u);
    // A command's own option goes after it.
    auto misplaced = run({"--new", "token"});
    BOOST_TEST(misplaced.status == 2);
    BOOST_TEST(misplaced.err == "codef: --new goes after the token command\n");
}

BOOST_FIXTURE_TEST_CASE(call_answers_two_way_authentication_with_answer, fixture) {
    auto right = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-right"),
                      "--answer", "123456"});
    BOOST_TEST_REQUIRE(right.status == 0, right.err);
    const auto reply = json::parse(right.out);
    BOOST_TEST(reply.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(reply.at("data").at("resContractList").as_array().size() > 0u);
    BOOST_TEST(right.err.empty(), right.err);
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 2u); // the call and the follow-up

    // A wrong code: CODEF asks again; that is printed, status 1, no second try.
    auto wrong = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-wrong"),
                      "--answer", "000000"});
    BOOST_TEST(wrong.status == 1);
    const auto again = json::parse(wrong.out);
    BOOST_TEST(again.at("result").at("code").as_string() == "CF-03002");
    BOOST_TEST(again.at("data").at("method").as_string() == "secureNo");
    BOOST_TEST(lines(wrong.err) == 1);
    BOOST_TEST(wrong.err.starts_with("codef: the answer was not accepted"), wrong.err);
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 4u);

    // simpleAuth: --answer 1 says it was confirmed in the app.
    auto simple =
        run({"--timeout", "30", "call", checkup, checkup_params("홍길동"), "--answer", "1"});
    BOOST_TEST_REQUIRE(simple.status == 0, simple.err);
    const auto checkups = json::parse(simple.out);
    BOOST_TEST(checkups.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(checkups.at("data").at("resUserName").as_string() == "홍길동");
    BOOST_TEST(emu.stats().requests_by_path.at(checkup) == 2u);

    // Neither --answer nor a terminal: the challenge printed, status 1, the way on stderr.
    auto asked = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-asked")});
    BOOST_TEST(asked.status == 1);
    BOOST_TEST(json::parse(asked.out).at("result").at("code").as_string() == "CF-03002");
    BOOST_TEST(lines(asked.err) == 1);
    BOOST_TEST(asked.err.find("rerun with --challenge-out FILE") != std::string::npos, asked.err);
    BOOST_TEST(asked.err.find("--resume FILE --answer CODE") != std::string::npos, asked.err);
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 5u);
}

BOOST_FIXTURE_TEST_CASE(a_challenge_kept_with_challenge_out_is_answered_by_another_process,
                        fixture) {
    const std::string kept = dir.path() + "/challenge.json";
    auto first = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-kept"),
                      "--challenge-out", kept});
    BOOST_TEST(first.status == 1);
    BOOST_TEST(json::parse(first.out).at("result").at("code").as_string() == "CF-03002");
    BOOST_TEST(lines(first.err) == 1);
    BOOST_TEST(first.err.find("codef call --resume " + kept + " --answer CODE") !=
                   std::string::npos,
               first.err);
    BOOST_TEST(mode_of(kept) == 0600u);
    auto challenge = two_way_challenge::from_json(json::parse(file_text(kept)));
    BOOST_TEST_REQUIRE(challenge.has_value(), challenge.diag().detail);
    BOOST_TEST(challenge->method == "secureNo");
    BOOST_TEST(challenge->path == insurance);
    BOOST_TEST(challenge->params.at("id").as_string() == "user-kept");

    // A wrong answer from a second process: CODEF's new challenge kept for a third.
    const std::string again = dir.path() + "/again.json";
    auto wrong = run({"--timeout", "30", "call", "--resume", kept, "--answer", "000000",
                      "--challenge-out", again});
    BOOST_TEST(wrong.status == 1);
    BOOST_TEST(json::parse(wrong.out).at("result").at("code").as_string() == "CF-03002");
    BOOST_TEST(wrong.err.starts_with("codef: the answer was not accepted"), wrong.err);
    BOOST_TEST(mode_of(again) == 0600u);
    // Wrong again, with no --challenge-out: the new challenge replaces the one answered.
    const std::string before = file_text(again);
    auto wrong_again = run({"--timeout", "30", "call", "--resume", again, "--answer", "000000"});
    BOOST_TEST(wrong_again.status == 1);
    BOOST_TEST(wrong_again.err.find("kept in " + again) != std::string::npos, wrong_again.err);
    BOOST_TEST(file_text(again) != before);
    BOOST_TEST(mode_of(again) == 0600u);
    auto right = run({"--timeout", "30", "call", "--resume", again, "--answer", "123456"});
    BOOST_TEST_REQUIRE(right.status == 0, right.err);
    const auto reply = json::parse(right.out);
    BOOST_TEST(reply.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(reply.at("data").at("resContractList").as_array().size() > 0u);
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 4u);
    // Answered: the file is gone, so that a rerun cannot send the follow-up again.
    BOOST_TEST(!std::filesystem::exists(again));

    // simpleAuth the same way, answered with 1 (the hint says so).
    const std::string simple = dir.path() + "/simple.json";
    auto asked = run(
        {"--timeout", "30", "call", checkup, checkup_params("김철수"), "--challenge-out", simple});
    BOOST_TEST(asked.status == 1);
    BOOST_TEST(asked.err.find("--answer 1") != std::string::npos, asked.err);
    auto confirmed = run({"--timeout", "30", "call", "--resume", simple, "--answer", "1"});
    BOOST_TEST(confirmed.status == 0, confirmed.err);
    BOOST_TEST(json::parse(confirmed.out).at("data").at("resUserName").as_string() == "김철수");
}

BOOST_FIXTURE_TEST_CASE(a_bad_resume_file_or_two_way_option_is_status_2_naming_it, fixture) {
    const std::string kept = dir.path() + "/challenge.json";
    auto first = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-bad"),
                      "--challenge-out", kept});
    BOOST_TEST_REQUIRE(first.status == 1);
    const json::object good = json::parse(file_text(kept)).as_object();
    auto spoilt = [&](const std::string& name, const std::function<void(json::object&)>& change) {
        json::object o = good;
        change(o);
        const std::string path = dir.path() + "/" + name;
        std::ofstream(path) << json::serialize(o);
        return path;
    };
    const std::string no_jti = spoilt("no-jti.json", [](json::object& o) { o.erase("jti"); });
    const std::string bad_index =
        spoilt("bad-index.json", [](json::object& o) { o["jobIndex"] = "zero"; });
    const std::string not_json = dir.path() + "/not.json";
    std::ofstream(not_json) << "{oops";
    const std::string missing = dir.path() + "/missing.json";
    const auto before = emu.stats();
    struct bad_case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<bad_case> cases{
        {{"call", "--resume", no_jti, "--answer", "123456"},
         "codef: --resume: " + no_jti + ": two_way_challenge JSON: jti: missing"},
        {{"call", "--resume", bad_index, "--answer", "123456"},
         "codef: --resume: " + bad_index + ": two_way_challenge JSON: jobIndex: "},
        {{"call", "--resume", not_json, "--answer", "123456"},
         "codef: --resume: " + not_json + ": not valid JSON"},
        {{"call", "--resume", missing, "--answer", "123456"},
         "codef: --resume: " + missing + ": cannot be read: No such file or directory"},
        {{"call", "--resume", kept}, "codef: call --resume: --answer CODE is needed"},
        {{"call", "--resume", kept, insurance, "--answer", "123456"},
         "codef: call --resume FILE takes no PATH or parameters"},
        {{"call", insurance, "{}", "--answer="}, "codef: --answer: empty"},
        {{"call", insurance, "{}", "--challenge-out", dir.path() + "/no/such/c.json"},
         "codef: --challenge-out: " + dir.path() + "/no/such/c.json: " + dir.path() +
             "/no/such: No such file or directory"},
        {{"call", insurance, "{}", "--challenge-out", dir.path()},
         "codef: --challenge-out: " + dir.path() + ": a directory"},
        {{"call", "--answer", "123456"}, "codef: usage: codef call PATH"},
    };
    for (const auto& c : cases) {
        auto r = run(c.args);
        BOOST_TEST_INFO("expecting: " << c.message);
        BOOST_TEST(r.status == 2);
        BOOST_TEST(lines(r.err) == 1);
        BOOST_TEST(r.err.starts_with(c.message), r.err);
        BOOST_TEST(r.out.empty());
    }
    BOOST_TEST(!std::filesystem::exists(dir.path() + "/no"));
    BOOST_TEST(emu.stats().token_requests == before.token_requests);
    BOOST_TEST(emu.stats().api_requests == before.api_requests);
}

BOOST_FIXTURE_TEST_CASE(certificate_files_given_as_at_paths_are_sent_as_base64, fixture) {
    const std::string der = dir.path() + "/signCert.der";
    const std::string key = dir.path() + "/signPri.key";
    const std::string pfx = dir.path() + "/cert.pfx";
    std::ofstream(der, std::ios::binary) << std::string("\x30\x82\x01\x0a\x00\xff", 6) << "der";
    std::ofstream(key, std::ios::binary) << std::string("\x30\x82\x00\x10\x00\x01", 6) << "key";
    std::ofstream(pfx, std::ios::binary) << std::string("\x30\x82\x0a\x00\x02\x01", 6) << "pfx";
    auto accounts = [](json::object a) {
        a["businessType"] = "BK";
        a["loginType"] = "0";
        return json::serialize(json::object{{"accountList", json::array{std::move(a)}}});
    };
    const std::string pem = emu.public_key();
    auto created = run({"--public-key", pem, "accounts", "create",
                        accounts({{"organization", "0004"},
                                  {"derFile", "@" + der},
                                  {"keyFile", "@" + key},
                                  {"password", "cert-pw"}})});
    BOOST_TEST_REQUIRE(created.status == 0, created.err + created.out);
    const auto reply = json::parse(created.out);
    BOOST_TEST(reply.at("data").at("successList").as_array().size() == 1u);
    const std::string cid(reply.at("data").at("connectedId").as_string());
    BOOST_TEST(emu.password_matches(cid, "0004", "cert-pw"));
    // A PKCS#12 file, added and then updated.
    auto added = run({"--public-key", pem, "accounts", "add", "--connected-id", cid,
                      accounts({{"organization", "0088"},
                                {"certType", "pfx"},
                                {"certFile", "@" + pfx},
                                {"password", "pfx-pw"}})});
    BOOST_TEST_REQUIRE(added.status == 0, added.err + added.out);
    BOOST_TEST(emu.password_matches(cid, "0088", "pfx-pw"));
    auto updated = run({"--public-key", pem, "accounts", "update", "--connected-id", cid,
                        accounts({{"organization", "0088"},
                                  {"certType", "pfx"},
                                  {"certFile", "@" + pfx},
                                  {"password", "pfx-pw-2"}})});
    BOOST_TEST_REQUIRE(updated.status == 0, updated.err + updated.out);
    BOOST_TEST(emu.password_matches(cid, "0088", "pfx-pw-2"));
    auto listed = run({"accounts", "list", "--connected-id", cid});
    BOOST_TEST(json::parse(listed.out).at("data").at("accountList").as_array().size() == 2u);

    // A file that cannot be used: refused naming the field and the file, nothing sent.
    const std::string big = dir.path() + "/big.pfx";
    std::ofstream(big).close();
    std::filesystem::resize_file(big, (std::size_t{1} << 20) + 1);
    const std::string empty = dir.path() + "/empty.der";
    std::ofstream(empty).close();
    const auto before = emu.stats();
    struct bad_case {
        json::object account;
        std::string message;
    };
    const std::vector<bad_case> cases{
        {{{"organization", "0004"},
          {"derFile", "@/nonexistent/x/y"},
          {"keyFile", "@" + key},
          {"password", "bad-pw"}},
         "codef: accountList[0].derFile: /nonexistent/x/y: No such file or directory\n"},
        {{{"organization", "0004"},
          {"derFile", "@" + der},
          {"keyFile", "@" + dir.path()},
          {"password", "bad-pw"}},
         "codef: accountList[0].keyFile: " + dir.path() + ": not a regular file\n"},
        {{{"organization", "0004"},
          {"certType", "pfx"},
          {"certFile", "@" + big},
          {"password", "bad-pw"}},
         "codef: accountList[0].certFile: " + big + ": 1048577 bytes, more than 1048576\n"},
        {{{"organization", "0004"},
          {"derFile", "@"},
          {"keyFile", "@" + key},
          {"password", "bad-pw"}},
         "codef: accountList[0].derFile: @ without a file name\n"},
        {{{"organization", "0004"},
          {"derFile", "@" + empty},
          {"keyFile", "@" + key},
          {"password", "bad-pw"}},
         "codef: accountList[0].derFile: empty with loginType \"0\""},
    };
    for (const auto& c : cases) {
        auto r = run({"--public-key", pem, "accounts", "create", accounts(c.account)});
        BOOST_TEST_INFO("expecting: " << c.message);
        BOOST_TEST(r.status == 2);
        BOOST_TEST(lines(r.err) == 1);
        BOOST_TEST(r.err.starts_with(c.message), r.err);
        BOOST_TEST(r.err.find("bad-pw") == std::string::npos);
        BOOST_TEST(r.out.empty());
    }
    // The second account's field is named as such.
    auto account = [&](const std::string& organization, const std::string& der_file) {
        return json::object{{"businessType", "BK"}, {"organization", organization},
                            {"loginType", "0"},     {"derFile", "@" + der_file},
                            {"keyFile", "@" + key}, {"password", "p"}};
    };
    const json::object both{
        {"accountList",
         json::array{account("0081", der), account("0020", dir.path() + "/gone.der")}}};
    auto two =
        run({"--public-key", pem, "accounts", "add", "--connected-id", cid, json::serialize(both)});
    BOOST_TEST(two.status == 2);
    BOOST_TEST(two.err == "codef: accountList[1].derFile: " + dir.path() +
                              "/gone.der: No such file or directory\n");
    BOOST_TEST(emu.stats().token_requests == before.token_requests);
    BOOST_TEST(emu.stats().api_requests == before.api_requests);
}

// At a terminal: a pseudo-terminal is the child's stdin and stderr (its stdout a file).

BOOST_FIXTURE_TEST_CASE(encrypt_at_a_terminal_asks_without_echo_and_turns_it_back_on, fixture) {
    const std::string plaintext = "tty-secret-pw";
    pty_child c(cli({"--public-key", emu.public_key(), "encrypt"}), dir.path());
    BOOST_TEST(c.echoed_at_start());
    BOOST_TEST_REQUIRE(c.expect("plaintext: "));
    BOOST_TEST(!c.echoes()); // echo is off while it asks
    c.type(plaintext + "\n");
    auto r = c.wait();
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    BOOST_TEST(c.echoes()); // and on again
    BOOST_TEST(r.err.find(plaintext) == std::string::npos, r.err);
    BOOST_TEST(r.out.find(plaintext) == std::string::npos);
    BOOST_TEST(lines(r.out) == 1);
    codef::account a;
    a.business_type = "BK";
    a.organization = "0004";
    a.id = "u-tty";
    a.password = codef::password::encrypted(r.out.substr(0, r.out.size() - 1));
    boost::asio::io_context ioc;
    codef::client client(ioc.get_executor(), emu.client_config());
    auto created = codef::test::run(ioc, client.create_accounts({a}));
    BOOST_TEST_REQUIRE(created.has_value());
    BOOST_TEST(emu.password_matches(created->connected_id, "0004", plaintext));
}

BOOST_FIXTURE_TEST_CASE(encrypt_at_a_terminal_turns_echo_back_on_when_interrupted, fixture) {
    for (int sig : {SIGINT, SIGTERM}) {
        BOOST_TEST_CONTEXT("signal " << sig) {
            pty_child c(cli({"--public-key", emu.public_key(), "encrypt"}), dir.path());
            BOOST_TEST(c.echoed_at_start());
            BOOST_TEST_REQUIRE(c.expect("plaintext: "));
            BOOST_TEST(!c.echoes());
            c.type("half-typed");
            c.signal(sig);
            auto r = c.wait();
            BOOST_TEST(r.status == 130);
            BOOST_TEST(c.echoes());
            BOOST_TEST(r.out.empty());
            BOOST_TEST(r.err.find("half-typed") == std::string::npos, r.err);
        }
    }
}

BOOST_FIXTURE_TEST_CASE(call_at_a_terminal_shows_the_captcha_and_asks_until_the_code_is_right,
                        fixture) {
    const std::string tmp = dir.path() + "/tmp";
    std::filesystem::create_directory(tmp);
    const std::string prompt = "code (empty: a new captcha): ";
    pty_child c(cli({"--timeout", "30", "call", insurance, insurance_params(emu, "user-tty")}),
                dir.path(), {"TMPDIR=" + tmp});
    BOOST_TEST_REQUIRE(c.expect(prompt));
    BOOST_TEST(c.shown().find("CODEF asks for two-way authentication: secureNo") !=
               std::string::npos);
    BOOST_TEST(c.shown().find("추가 정보를 입력하세요") != std::string::npos); // extraMessage
    BOOST_TEST(c.shown().find("reqSecureNoRefresh: 0") != std::string::npos);
    const auto first = files_named(tmp, "codef-captcha-");
    BOOST_TEST_REQUIRE(first.size() == 1u);
    BOOST_TEST(first[0].ends_with(".jpg"));
    BOOST_TEST(c.shown().find("reqSecureNo: an image (img/jpeg), in " + first[0]) !=
               std::string::npos);
    BOOST_TEST(mode_of(first[0]) == 0600u);
    BOOST_TEST(file_text(first[0]).starts_with("\xff\xd8\xff")); // a JPEG
    // An empty line asks for a new captcha; the one answered is removed.
    c.type("\n");
    BOOST_TEST_REQUIRE(c.expect(prompt));
    BOOST_TEST(c.shown().find("a new captcha for two-way authentication: secureNo") !=
               std::string::npos);
    const auto second = files_named(tmp, "codef-captcha-");
    BOOST_TEST_REQUIRE(second.size() == 1u);
    BOOST_TEST(second[0] != first[0]);
    // A wrong code: asked again; then the right one.
    c.type("000000\n");
    BOOST_TEST_REQUIRE(c.expect(prompt));
    BOOST_TEST(c.shown().find("not accepted; CODEF asks again for two-way authentication") !=
               std::string::npos);
    c.type("123456\n");
    auto r = c.wait();
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    const auto reply = json::parse(r.out);
    BOOST_TEST(reply.at("result").at("code").as_string() == "CF-00000");
    BOOST_TEST(reply.at("data").at("resContractList").as_array().size() > 0u);
    BOOST_TEST(r.err.find("base64") == std::string::npos); // the image never on the terminal
    BOOST_TEST(files_named(tmp, "codef-captcha-").empty());
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 4u);
}

BOOST_FIXTURE_TEST_CASE(call_at_a_terminal_exits_1_at_the_end_of_input_and_130_on_sigint, fixture) {
    const std::string tmp = dir.path() + "/tmp";
    std::filesystem::create_directory(tmp);
    const std::string prompt = "code (empty: a new captcha): ";
    {
        pty_child c(cli({"--timeout", "30", "call", insurance, insurance_params(emu, "user-eof")}),
                    dir.path(), {"TMPDIR=" + tmp});
        BOOST_TEST_REQUIRE(c.expect(prompt));
        c.type("\x04"); // Ctrl-D: the end of the input
        auto r = c.wait();
        BOOST_TEST(r.status == 1);
        BOOST_TEST(json::parse(r.out).at("result").at("code").as_string() == "CF-03002");
        BOOST_TEST(files_named(tmp, "codef-captcha-").empty());
    }
    {
        pty_child c(cli({"--timeout", "30", "call", insurance, insurance_params(emu, "user-int")}),
                    dir.path(), {"TMPDIR=" + tmp});
        BOOST_TEST_REQUIRE(c.expect(prompt));
        BOOST_TEST(files_named(tmp, "codef-captcha-").size() == 1u);
        c.signal(SIGINT);
        auto r = c.wait();
        BOOST_TEST(r.status == 130);
        BOOST_TEST(r.out.empty());
        BOOST_TEST(files_named(tmp, "codef-captcha-").empty()); // removed on the way out
    }
    BOOST_TEST(emu.stats().requests_by_path.at(insurance) == 2u);
}

BOOST_FIXTURE_TEST_CASE(simple_authentication_and_a_resumed_challenge_at_a_terminal, fixture) {
    {
        pty_child c(cli({"--timeout", "30", "call", checkup, checkup_params("이영희")}),
                    dir.path());
        BOOST_TEST_REQUIRE(c.expect("confirm in the app, then press Enter: "));
        BOOST_TEST(c.shown().find("two-way authentication: simpleAuth") != std::string::npos);
        c.type("\n");
        auto r = c.wait();
        BOOST_TEST_REQUIRE(r.status == 0, r.err);
        BOOST_TEST(json::parse(r.out).at("data").at("resUserName").as_string() == "이영희");
    }
    // Kept by one process, answered at a terminal by another.
    const std::string kept = dir.path() + "/challenge.json";
    auto first = run({"--timeout", "30", "call", insurance, insurance_params(emu, "user-resumed"),
                      "--challenge-out", kept});
    BOOST_TEST_REQUIRE(first.status == 1);
    const std::string tmp = dir.path() + "/tmp";
    std::filesystem::create_directory(tmp);
    pty_child c(cli({"--timeout", "30", "call", "--resume", kept}), dir.path(), {"TMPDIR=" + tmp});
    BOOST_TEST_REQUIRE(c.expect("code (empty: a new captcha): "));
    BOOST_TEST(files_named(tmp, "codef-captcha-").size() == 1u);
    c.type("123456\n");
    auto r = c.wait();
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    BOOST_TEST(json::parse(r.out).at("result").at("code").as_string() == "CF-00000");
}

namespace {
// A line of the Prometheus text exposition format (0.0.4): a HELP or TYPE comment, or a sample
// (a metric name, labels, a value, an optional timestamp).
bool prometheus_line(const std::string& line) {
    static const std::regex help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
    static const std::regex type(
        R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))");
    static const std::string label = R"([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")";
    static const std::regex sample(
        "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{(" + label + "(," + label + ")*,?)?\\})? " +
        R"((NaN|[+-]?Inf|[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)( -?[0-9]+)?)");
    return std::regex_match(line, help) || std::regex_match(line, type) ||
           std::regex_match(line, sample);
}

// The sum of the samples of the metric name (every series whose labels contain with).
double sum_of(const std::string& text, const std::string& name, const std::string& with = {}) {
    double sum = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(name) || line.size() == name.size()) continue;
        if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
        if (!with.empty() && line.substr(0, line.rfind(' ')).find(with) == std::string::npos)
            continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

bool any_line(const std::vector<std::string>& lines,
              const std::function<bool(const std::string&)>& f) {
    return std::any_of(lines.begin(), lines.end(), f);
}
} // namespace

BOOST_FIXTURE_TEST_CASE(verbose_logs_each_call_on_stderr_and_leaves_stdout_alone, fixture) {
    const std::vector<std::string> call{"call", "/v1/account/connectedId-list",
                                        R"({"pageNo":"1"})"};
    auto with = [&](std::vector<std::string> before, std::vector<std::string> after = {}) {
        before.insert(before.end(), call.begin(), call.end());
        before.insert(before.end(), after.begin(), after.end());
        return run(before);
    };
    auto plain = with({});
    BOOST_TEST_REQUIRE(plain.status == 0, plain.err);
    BOOST_TEST(plain.err.empty(), plain.err);
    auto verbose = with({"-v"});
    BOOST_TEST_REQUIRE(verbose.status == 0, verbose.err);
    // stdout: the same reply, on one line (but its transactionId: each call has its own).
    auto reply_of = [](const std::string& out) {
        auto v = json::parse(out);
        v.at("result").as_object().erase("transactionId");
        return v;
    };
    BOOST_TEST(lines(verbose.out) == 1);
    BOOST_TEST(reply_of(verbose.out) == reply_of(plain.out));
    // stderr: a line an event, "codef: LEVEL: event=...", the call's with its HTTP status; -v
    // logs at debug, so no trace line.
    const std::regex event_line("codef: (debug|info|warning|error): event=[a-z_]+( .*)?");
    const auto err = lines_of(verbose.err);
    BOOST_TEST_REQUIRE(!err.empty());
    for (const auto& l : err)
        BOOST_TEST(std::regex_match(l, event_line), l);
    BOOST_TEST(any_line(err,
                        [](const std::string& l) {
                            return l.starts_with("codef: debug: event=call_finished ") &&
                                   l.find(" path=/v1/account/connectedId-list ") !=
                                       std::string::npos &&
                                   l.find(" status=200 ") != std::string::npos;
                        }),
               verbose.err);
    // -vv (or --verbose twice, after the command too): trace as well, the connections opened.
    for (const auto& very : {with({"-vv"}), with({}, {"--verbose", "--verbose"})}) {
        BOOST_TEST(very.status == 0, very.err);
        BOOST_TEST(very.err.find("codef: trace: event=connection_opened pool=api ") !=
                       std::string::npos,
                   very.err);
        BOOST_TEST(very.err.find("codef: debug: event=call_finished ") != std::string::npos);
        BOOST_TEST(reply_of(very.out) == reply_of(plain.out));
    }
}

BOOST_FIXTURE_TEST_CASE(log_file_appends_lines_with_a_time_and_a_level_to_a_file_of_mode_0600,
                        fixture) {
    const std::string log = dir.path() + "/codef.log";
    const std::vector<std::string> call{"call", "/v1/account/connectedId-list", "{}"};
    auto first_run = run({"--log-file", log, call[0], call[1], call[2]});
    BOOST_TEST_REQUIRE(first_run.status == 0, first_run.err);
    BOOST_TEST(first_run.err.empty(), first_run.err); // no -v: nothing on stderr
    BOOST_TEST(mode_of(log) == 0600u);
    const std::regex stamped(R"(20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9])"
                             R"(\.[0-9]{3}Z (trace|debug|info|warning|error) event=[a-z_]+( .*)?)");
    const auto first = lines_of(file_text(log));
    BOOST_TEST_REQUIRE(!first.empty());
    for (const auto& l : first)
        BOOST_TEST(std::regex_match(l, stamped), l);
    // Without -v, at info: the token's refresh, not each call (debug).
    BOOST_TEST(any_line(first, [](const std::string& l) {
        return l.find(" info event=token_refresh_finished ") != std::string::npos;
    }));
    BOOST_TEST(!any_line(
        first, [](const std::string& l) { return l.find(" debug ") != std::string::npos; }));
    // Appended to, never replaced; from CODEF_LOG_FILE too; with -v at debug, on stderr as well.
    auto second_run = codef::test::run_process(cli({"-v", call[0], call[1], call[2]}), dir.path(),
                                               {}, {"CODEF_LOG_FILE=" + log});
    BOOST_TEST_REQUIRE(second_run.status == 0, second_run.err);
    BOOST_TEST(second_run.err.find("codef: debug: event=call_finished ") != std::string::npos);
    const auto second = lines_of(file_text(log));
    BOOST_TEST_REQUIRE(second.size() > first.size());
    BOOST_TEST(std::equal(first.begin(), first.end(), second.begin()));
    for (const auto& l : second)
        BOOST_TEST(std::regex_match(l, stamped), l);
    BOOST_TEST(any_line(second, [](const std::string& l) {
        return l.find(" debug event=call_finished ") != std::string::npos &&
               l.find(" status=200 ") != std::string::npos;
    }));
    BOOST_TEST(mode_of(log) == 0600u);
    // A file that cannot be opened: status 2, naming it, and nothing sent.
    const auto before = emu.stats();
    const std::string nowhere = dir.path() + "/missing-dir/codef.log";
    auto bad = run({"--log-file", nowhere, "token"});
    BOOST_TEST(bad.status == 2);
    BOOST_TEST(bad.err.starts_with("codef: --log-file: " + nowhere + ": cannot be opened"),
               bad.err);
    BOOST_TEST(lines(bad.err) == 1);
    BOOST_TEST(emu.stats().token_requests == before.token_requests);
}

BOOST_AUTO_TEST_CASE(sweep_metrics_count_every_call_in_the_prometheus_text_format) {
    fixture f(40);
    const std::string product = "/v1/kr/bank/p/account/account-list";
    const std::string out = f.dir.path() + "/out.ndjson";
    const std::string metrics = f.dir.path() + "/sweep.prom";
    const std::vector<std::string> sweep{"sweep",     product, "--per-organization", "--out", out,
                                         "--metrics", metrics};
    auto r = f.run(sweep);
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    BOOST_TEST(r.err.find("sweep done: 40 connectedIds") != std::string::npos);
    const std::string text = file_text(metrics);
    BOOST_TEST_REQUIRE(!text.empty());
    BOOST_TEST(text.back() == '\n');
    for (const auto& l : lines_of(text))
        BOOST_TEST(prometheus_line(l), l);
    for (const auto& e : std::filesystem::directory_iterator(f.dir.path()))
        BOOST_TEST(e.path().filename().string().find("sweep.prom.") != 0, e.path()); // no temporary
    // Every call the sweep made (the listing, each connectedId's accounts, the product per
    // organization) is counted once: the emulator saw as many, none of them retried.
    const auto stats = f.emu.stats();
    BOOST_TEST(stats.api_requests > 40u);
    BOOST_TEST(sum_of(text, "codef_calls_total") == static_cast<double>(stats.api_requests));
    BOOST_TEST(sum_of(text, "codef_calls_total", R"(class="product")") ==
               static_cast<double>(stats.requests_by_path.at(product)));
    BOOST_TEST(static_cast<double>(f.ids_in(out).size()) <=
               sum_of(text, "codef_calls_total", R"(class="product")"));
    BOOST_TEST(sum_of(text, "codef_call_duration_seconds_count") ==
               sum_of(text, "codef_calls_total"));
    BOOST_TEST(sum_of(text, "codef_calls_in_flight") == 0.0);

    // A rerun (nothing left but the listing) replaces the file: its own calls only.
    auto again = f.run(sweep);
    BOOST_TEST_REQUIRE(again.status == 0, again.err);
    const std::string second = file_text(metrics);
    const auto after = f.emu.stats();
    BOOST_TEST(sum_of(second, "codef_calls_total") ==
               static_cast<double>(after.api_requests - stats.api_requests));
    BOOST_TEST(sum_of(second, "codef_calls_total", R"(class="product")") == 0.0);

    // A file that cannot be written: status 2 before anything is sent.
    auto bad = f.run(
        {"sweep", product, "--out", out, "--metrics", f.dir.path() + "/missing-dir/sweep.prom"});
    BOOST_TEST(bad.status == 2);
    BOOST_TEST(bad.err.starts_with("codef: --metrics: "), bad.err);
    BOOST_TEST(f.emu.stats().api_requests == after.api_requests);
}

BOOST_AUTO_TEST_CASE(an_interrupted_sweep_still_writes_its_metrics) {
    fixture f(5'000, 50'000);
    emulator_faults slow;
    slow.reply_delay = 2ms;
    f.emu.apply(slow);
    const std::string out = f.dir.path() + "/out.ndjson";
    const std::string metrics = f.dir.path() + "/sweep.prom";
    codef::test::child c(f.cli({"--concurrency", "8", "sweep", "/v1/kr/bank/b/account/list",
                                "--out", out, "--metrics", metrics}),
                         f.dir.path());
    BOOST_TEST_REQUIRE(codef::test::eventually([&] {
        std::error_code ec;
        const auto size = std::filesystem::file_size(out, ec);
        return !ec && size > 4'000;
    }));
    BOOST_TEST(!std::filesystem::exists(metrics)); // only once the sweep ends
    c.signal(SIGINT);
    auto r = c.wait();
    BOOST_TEST_REQUIRE(r.status == 130, r.err);
    const std::string text = file_text(metrics);
    BOOST_TEST_REQUIRE(!text.empty());
    for (const auto& l : lines_of(text))
        BOOST_TEST(prometheus_line(l), l);
    // Each item written came from a call counted; a call cut short by the exit is in the
    // emulator's count but not in the metrics.
    const double calls = sum_of(text, "codef_calls_total", R"(class="product")");
    BOOST_TEST(static_cast<double>(f.ids_in(out).size()) <= calls);
    BOOST_TEST(calls < 5'000.0);
    BOOST_TEST(sum_of(text, "codef_calls_total") <=
               static_cast<double>(f.emu.stats().api_requests));
}

BOOST_AUTO_TEST_CASE(verbose_logs_never_show_the_client_secret_or_a_token) {
    const std::string id = "canary-client";
    const std::string secret = "canary-secret-5d1e0b7a9c";
    emulator_options o;
    o.credentials = {{id, secret}};
    o.credentials_environment = environment::sandbox;
    o.seed_connected_ids = 20;
    emulator emu(o);
    codef::test::temp_dir dir;
    const std::string ca = dir.path() + "/ca.pem";
    std::ofstream(ca) << emu.ca_pem();
    const std::string log = dir.path() + "/codef.log";
    auto codef = [&](std::vector<std::string> args, bool secret_in_env) {
        std::vector<std::string> all{
            CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url", emu.oauth_url(),
            "--ca-file",    ca};
        for (const std::string& a :
             {std::string("--client-id"), id, std::string("-vv"), std::string("--log-file"), log})
            all.push_back(a);
        if (!secret_in_env) {
            all.push_back("--client-secret");
            all.push_back(secret);
        }
        all.insert(all.end(), args.begin(), args.end());
        return codef::test::run_process(
            all, dir.path(), {},
            secret_in_env ? std::vector<std::string>{"CODEF_CLIENT_SECRET=" + secret}
                          : std::vector<std::string>{});
    };
    auto token = codef({"token", "--show-token"}, false);
    BOOST_TEST_REQUIRE(token.status == 0, token.err);
    const auto shown = lines_of(token.out);
    BOOST_TEST_REQUIRE(shown.size() == 2u);
    const std::string issued = shown[1];
    BOOST_TEST_REQUIRE(issued.starts_with("eyJ")); // a JWT: what to look for below
    auto call = codef({"call", "/v1/account/connectedId-list", "{}"}, true);
    BOOST_TEST(call.status == 0, call.err);
    auto sweep = codef({"sweep", "/v1/kr/bank/p/account/account-list", "--per-organization",
                        "--out", dir.path() + "/out.ndjson"},
                       true);
    BOOST_TEST(sweep.status == 0, sweep.err);
    // Refused: the failure is logged (401 from the token endpoint), the secret given still not.
    auto refused =
        codef::test::run_process({CODEF_CLI_PATH, "--api-url", emu.api_url(), "--oauth-url",
                                  emu.oauth_url(), "--ca-file", ca, "--client-id", id, "-vv",
                                  "--log-file", log, "--client-secret", secret + "-not", "token"},
                                 dir.path());
    BOOST_TEST(refused.status == 3);

    const std::string logged = file_text(log);
    // What is searched holds the events: a check that cannot pass on empty text.
    BOOST_TEST(logged.find(" trace event=connection_opened ") != std::string::npos);
    BOOST_TEST(logged.find(" debug event=call_finished ") != std::string::npos);
    BOOST_TEST(logged.find(" error event=token_refresh_finished ") != std::string::npos, logged);
    BOOST_TEST(call.err.find("event=call_finished") != std::string::npos);
    BOOST_TEST(sweep.err.find("event=call_finished") != std::string::npos);
    const std::vector<std::pair<std::string, const std::string*>> texts{
        {"token's stderr", &token.err},
        {"call's stderr", &call.err},
        {"sweep's stderr", &sweep.err},
        {"refused's stderr", &refused.err},
        {"the log file", &logged}};
    for (const auto& [what, text] : texts) {
        BOOST_TEST_CONTEXT(what) {
            BOOST_TEST(text->find(secret) == std::string::npos);
            BOOST_TEST(text->find("canary-secret") == std::string::npos);
            BOOST_TEST(text->find(issued) == std::string::npos);
            BOOST_TEST(text->find(issued.substr(issued.rfind('.') + 1)) == std::string::npos);
            BOOST_TEST(text->find("eyJ") == std::string::npos); // no token of any process
            BOOST_TEST(text->find("Bearer") == std::string::npos);
            BOOST_TEST(text->find("Basic ") == std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
