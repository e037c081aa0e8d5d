// The command-line tool's argument pieces that need no process: the bash completion made from a
// CLI11 app, and the profile's check (no secret, global settings only, the key named, never the
// value).
#include "cli/completion.hpp"
#include "cli/profile.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <sstream>

using namespace codef::cli;

namespace {

// The words of the `NAME) opts='...'` line of a completion script ('' for the global one).
std::set<std::string> opts_of(const std::string& script, const std::string& name) {
    const std::string head = "        " + name + ") opts='";
    const auto at = script.find(head);
    if (at == std::string::npos) return {};
    const auto from = at + head.size();
    std::istringstream words(script.substr(from, script.find('\'', from) - from));
    std::set<std::string> out;
    for (std::string w; words >> w;)
        out.insert(w);
    return out;
}

struct small_app {
    CLI::App app{"a test", "prog"};
    std::string env, url, out, verb;
    bool quiet = false, every = false;
    small_app() {
        app.add_option("--env", env)->type_name("one|two");
        app.add_option("-u,--url", url)->type_name("URL");
        app.add_flag("--quiet", quiet);
        app.fallthrough();
        auto* run = app.add_subcommand("run", "runs");
        run->add_option("VERB", verb)->type_name("start|stop");
        run->add_option("--out", out)->type_name("FILE|-");
        run->add_flag("--every", every);
        auto* raw = app.add_subcommand("raw-mode", "its own options");
        raw->fallthrough(false);
        raw->set_help_flag();
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(cli_completion)

BOOST_AUTO_TEST_CASE(value_completion_follows_the_type_name) {
    BOOST_TEST(value_completion_of("FILE").files);
    BOOST_TEST(value_completion_of("FILE|-").files);
    BOOST_TEST(value_completion_of("PEM").files);
    BOOST_TEST(value_completion_of("sandbox|development|production").words ==
               (std::vector<std::string>{"sandbox", "development", "production"}));
    BOOST_TEST(value_completion_of("bash").words == std::vector<std::string>{"bash"});
    for (const char* none : {"URL", "N", "JSON", "JSON|@FILE|-", "", "a||b", "Upper|case"}) {
        BOOST_TEST_CONTEXT(none) {
            BOOST_TEST(!value_completion_of(none).files);
            BOOST_TEST(value_completion_of(none).words.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(the_model_holds_every_command_option_and_positional) {
    small_app a;
    const auto m = completion_model_of(a.app);
    std::set<std::string> global;
    for (const auto& o : m.global)
        for (const auto& n : o.names)
            global.insert(n);
    BOOST_TEST(
        (global == std::set<std::string>{"--env", "--url", "-u", "--quiet", "--help", "-h"}));
    BOOST_TEST_REQUIRE(m.commands.size() == 2u);
    const auto& run = m.commands[0];
    BOOST_TEST(run.name == "run");
    BOOST_TEST(run.global_options);
    BOOST_TEST_REQUIRE(run.positionals.size() == 1u);
    BOOST_TEST(run.positionals[0].words == (std::vector<std::string>{"start", "stop"}));
    std::map<std::string, bool> valued;
    for (const auto& o : run.options)
        valued[o.names.front()] = o.takes_value;
    BOOST_TEST(valued.at("--out"));
    BOOST_TEST(!valued.at("--every"));
    BOOST_TEST(m.commands[1].name == "raw-mode");
    BOOST_TEST(!m.commands[1].global_options);
    BOOST_TEST(m.commands[1].options.empty());
}

BOOST_AUTO_TEST_CASE(the_script_lists_each_commands_options_with_the_global_ones_where_taken) {
    small_app a;
    auto m = completion_model_of(a.app);
    m.commands[1].options = options_of_help("  --port N   a port\n  --loud     no value\n");
    const std::string s = bash_completion(m, "prog", "1.2.3");
    BOOST_TEST(s.find("complete -F _codef prog\n") != std::string::npos);
    BOOST_TEST(s.find("prog 1.2.3") != std::string::npos);
    BOOST_TEST((opts_of(s, "''") ==
                std::set<std::string>{"--env", "--url", "-u", "--quiet", "--help", "-h"}));
    BOOST_TEST((opts_of(s, "run") == std::set<std::string>{"--out", "--every", "--help", "-h",
                                                           "--env", "--url", "-u", "--quiet"}));
    // A command that takes no global option gets only its own.
    BOOST_TEST((opts_of(s, "raw-mode") == std::set<std::string>{"--port", "--loud"}));
    BOOST_TEST(s.find("compgen -W 'run raw-mode'") != std::string::npos);
    // Values: words, files; the positional's words by position.
    BOOST_TEST(s.find("--env) COMPREPLY=($(compgen -W 'one two'") != std::string::npos);
    BOOST_TEST(s.find("--out) COMPREPLY=($(compgen -f") != std::string::npos);
    BOOST_TEST(s.find("'run 0') COMPREPLY=($(compgen -W 'start stop'") != std::string::npos);
    // What takes a value is skipped when looking for the command: --url and -u do, --quiet not.
    BOOST_TEST(s.find("valued=' --env --url -u '") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(options_are_read_from_a_hand_written_help) {
    const auto o = options_of_help("usage: x [options]\n"
                                   "  --address A              listen on A\n"
                                   "  --client-id ID --client-secret SECRET   credentials\n"
                                   "  --verbose                more\n"
                                   "                           --not-an-option, a continuation\n"
                                   "Prints --nothing here.\n");
    std::vector<std::pair<std::string, bool>> got;
    for (const auto& x : o)
        got.emplace_back(x.names.front(), x.takes_value);
    BOOST_TEST((got == std::vector<std::pair<std::string, bool>>{{"--address", true},
                                                                 {"--client-id", true},
                                                                 {"--client-secret", true},
                                                                 {"--verbose", false}}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cli_profile)

namespace {

setting_lookup lookup() {
    return [](const std::string& key) {
        setting s;
        if (key == "client-secret") {
            s.what = setting::kind::secret;
        } else if (key == "quiet") {
            s.what = setting::kind::flag;
        } else if (key == "env") {
            s.what = setting::kind::value;
            s.envname = "X_ENV";
            s.problem = [](const std::string& v) {
                return v == "a" || v == "b" ? std::string() : std::string("a or b");
            };
        } else if (key == "api-url") {
            s.what = setting::kind::value;
        }
        return s;
    };
}

profile_check check(const std::string& text, std::set<std::string> env = {}) {
    std::istringstream in(text);
    return check_profile(
        CLI::ConfigTOML().from_config(in), lookup(),
        [env](const std::string& v) { return env.count(v) > 0; },
        "the settings: env, api-url, quiet");
}

} // namespace

BOOST_AUTO_TEST_CASE(known_settings_pass_named_as_the_options) {
    const auto r = check("# a comment\nENV = a\napi_url = \"https://x.test:8443\"\nquiet = true\n");
    BOOST_TEST(r.problem.empty());
    BOOST_TEST_REQUIRE(r.accepted.size() == 3u);
    BOOST_TEST(r.accepted[0].name == "env");
    BOOST_TEST(r.accepted[1].name == "api-url");
    BOOST_TEST(r.accepted[1].inputs == std::vector<std::string>{"https://x.test:8443"});
    BOOST_TEST(r.accepted[2].name == "quiet");
}

BOOST_AUTO_TEST_CASE(a_secret_is_refused_by_its_key_never_with_its_value) {
    for (const std::string line :
         {"client-secret = s3cr3t-value-1", "CLIENT_SECRET = s3cr3t-value-1",
          "codef_client_secret = s3cr3t-value-1", "password = \"s3cr3t-value-1\"",
          "access-token = s3cr3t-value-1"}) {
        BOOST_TEST_CONTEXT(line) {
            const auto r = check("env = a\n" + line + "\n");
            BOOST_TEST(r.problem.find("a secret is never read from a profile") !=
                       std::string::npos);
            BOOST_TEST(r.problem.find(line.substr(0, line.find(' '))) == 0u); // the key first
            BOOST_TEST(r.problem.find("s3cr3t-value-1") == std::string::npos);
            BOOST_TEST_REQUIRE(r.accepted.size() == 1u); // the rest is still read
            BOOST_TEST(r.accepted[0].name == "env");
        }
    }
    // A line that is nothing but a secret is not echoed either.
    const auto bare = check("ef27cfaa-10c1-4470-adac-60ba476273f9\n");
    BOOST_TEST(bare.problem.find("a line that is not a setting") == 0u);
    BOOST_TEST(bare.problem.find("ef27cfaa") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(sections_unknown_keys_and_bad_values_are_refused_naming_the_key) {
    BOOST_TEST(check("[run]\nout = x\n").problem.find("[run]: a profile holds global settings") ==
               0u);
    const auto unknown = check("colour = blue\n").problem;
    BOOST_TEST(unknown == "colour: not a profile setting (the settings: env, api-url, quiet)");
    BOOST_TEST(check("env = c\n").problem == "env: a or b");
    BOOST_TEST(check("quiet = maybe\n").problem == "quiet: true or false");
    BOOST_TEST(check("quiet\n").problem.empty()); // a bare flag is true
    BOOST_TEST(check("api-url = a b\n").problem.find("api-url: one value is expected") == 0u);
    BOOST_TEST(check("api-url = \"a b\"\n").problem.empty());
}

BOOST_AUTO_TEST_CASE(a_setting_whose_environment_variable_is_set_is_left_to_it) {
    const auto r = check("env = a\napi-url = u\n", {"X_ENV"});
    BOOST_TEST(r.problem.empty());
    BOOST_TEST_REQUIRE(r.accepted.size() == 1u);
    BOOST_TEST(r.accepted[0].name == "api-url");
    // Checked all the same: a bad value is a mistake in the file.
    BOOST_TEST(check("env = c\n", {"X_ENV"}).problem == "env: a or b");
}

BOOST_AUTO_TEST_CASE(the_reader_keeps_its_first_problem_and_refuses_a_large_file) {
    profile_format f(
        lookup(), [](const std::string&) { return false; }, "the settings: env");
    std::istringstream bad("env = c\nclient-secret = s3cr3t\n");
    BOOST_TEST(f.from_config(bad).empty());
    BOOST_TEST(f.problem() == "env: a or b");
    BOOST_TEST(f.problem_file() == 0u);
    profile_format big(
        lookup(), [](const std::string&) { return false; }, "");
    std::istringstream ok("env = a\n");
    BOOST_TEST(big.from_config(ok).size() == 1u);
    std::istringstream huge("# " + std::string(profile_format::max_size, 'x') + "\n");
    BOOST_TEST(big.from_config(huge).empty());
    BOOST_TEST(big.problem() == "larger than 64 KiB");
    BOOST_TEST(big.problem_file() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
