// The command-line tool's argument pieces that need no process: the bash completion made from a
// CLI11 app, and the profile's check (no secret, global settings only, the key named, never the
// value).
#include "cli/completion.hpp"
#include "cli/profile.hpp"
#include "cli/terminal.hpp"
#include "cli/two_way.hpp"
#include "completion_words.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

using namespace codef::cli;

namespace {

using codef::test::completion_opts;

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
    BOOST_TEST((completion_opts(s, "''") ==
                std::set<std::string>{"--env", "--url", "-u", "--quiet", "--help", "-h"}));
    BOOST_TEST(
        (completion_opts(s, "run") == std::set<std::string>{"--out", "--every", "--help", "-h",
                                                            "--env", "--url", "-u", "--quiet"}));
    // A command that takes no global option gets only its own.
    BOOST_TEST((completion_opts(s, "raw-mode") == std::set<std::string>{"--port", "--loud"}));
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

BOOST_AUTO_TEST_SUITE(cli_two_way)

BOOST_AUTO_TEST_CASE(base64_is_decoded_with_or_without_padding_and_refused_when_broken) {
    BOOST_TEST(base64_decoded("").value() == "");
    BOOST_TEST(base64_decoded("Zg==").value() == "f");
    BOOST_TEST(base64_decoded("Zm8=").value() == "fo");
    BOOST_TEST(base64_decoded("Zm9v").value() == "foo");
    BOOST_TEST(base64_decoded("Zm9vYg").value() == "foob"); // unpadded
    BOOST_TEST(base64_decoded("Zm9v\nYmFy\r\n").value() == "foobar");
    BOOST_TEST(base64_decoded("/9j/").value() == std::string("\xff\xd8\xff", 3));
    for (const char* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Zm=v", "Zm9v!", "Zm9v-_"})
        BOOST_TEST(!base64_decoded(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(a_data_url_gives_its_media_type_and_bytes) {
    auto jpeg = data_url_of("data:img/jpeg;base64,/9j/2w==");
    BOOST_TEST_REQUIRE(jpeg.has_value());
    BOOST_TEST(jpeg->media_type == "img/jpeg");
    BOOST_TEST(jpeg->bytes == std::string("\xff\xd8\xff\xdb", 4));
    BOOST_TEST(extension_of(jpeg->media_type) == ".jpg");
    BOOST_TEST(extension_of("image/png") == ".png");
    BOOST_TEST(extension_of("application/x-unknown") == ".bin");
    for (const char* not_one : {"0", "", "https://example.com/a.jpg", "data:img/jpeg,abc",
                                "data:img/jpeg;base64,not base64!"})
        BOOST_TEST(!data_url_of(not_one).has_value(), not_one);
}

BOOST_AUTO_TEST_CASE(server_text_loses_its_control_characters) {
    BOOST_TEST(printable("추가 정보를 입력하세요.") == "추가 정보를 입력하세요.");
    BOOST_TEST(printable("a\x1b[2Jb\nc\x7f") == "a?[2Jb?c?");
    // C1 controls (an 8-bit CSI), raw or as UTF-8, and bytes that are not UTF-8.
    BOOST_TEST(printable("a\xc2\x9b"
                         "2Jb") == "a?"
                                   "?2Jb");
    BOOST_TEST(printable("a\x9b"
                         "2J") == "a?2J");
    BOOST_TEST(printable("\xe0\x82\x9b") == "???"); // an overlong form of U+009B
    BOOST_TEST(printable("\xed\xa0\x80") == "???"); // a surrogate
    BOOST_TEST(printable("\xea\xb0") == "??");      // cut short
    BOOST_TEST(printable("\xc2\xa0\xf0\x9f\x98\x80") == "\xc2\xa0\xf0\x9f\x98\x80");
}

BOOST_AUTO_TEST_CASE(what_is_asked_and_the_answer_made_of_what_was_typed) {
    BOOST_TEST(prompt_for("secureNo") == "code (empty: a new captcha): ");
    BOOST_TEST(prompt_for("simpleAuth") == "confirm in the app, then press Enter: ");
    BOOST_TEST(prompt_for("smsAuthNo") == "code: ");
    // secureNo: a code, or an empty line for a new captcha.
    auto code = answer_typed("secureNo", "123456");
    BOOST_TEST_REQUIRE(code.has_value());
    BOOST_TEST(code->value == "123456");
    BOOST_TEST(!code->refresh);
    auto refresh = answer_typed("secureNo", "");
    BOOST_TEST_REQUIRE(refresh.has_value());
    BOOST_TEST(refresh->refresh);
    // simpleAuth: confirmed whatever was typed; other methods ask again after an empty line.
    BOOST_TEST(answer_typed("simpleAuth", "").value().value == "1");
    BOOST_TEST(answer_typed("simpleAuth", "yes").value().value == "1");
    BOOST_TEST(!answer_typed("smsAuthNo", "").has_value());
    BOOST_TEST(answer_typed("smsAuthNo", "987654").value().value == "987654");
    // --answer: the code, or confirmed for simpleAuth.
    BOOST_TEST(answer_given("secureNo", "123456").value == "123456");
    BOOST_TEST(answer_given("simpleAuth", "anything").value == "1");
    BOOST_TEST(answer_placeholder("simpleAuth") == "1");
    BOOST_TEST(answer_placeholder("secureNo") == "CODE");
}

BOOST_AUTO_TEST_CASE(one_trailing_newline_is_removed) {
    for (const auto& [in, out] :
         std::vector<std::pair<std::string, std::string>>{{"pw\n", "pw"},
                                                          {"pw\r\n", "pw"},
                                                          {"pw\n\n", "pw\n"},
                                                          {"pw", "pw"},
                                                          {"a\nb\n", "a\nb"},
                                                          {"\n", ""},
                                                          {"pw\r", "pw\r"}}) {
        std::string s = in;
        drop_one_newline(s);
        BOOST_TEST(s == out);
    }
}

BOOST_AUTO_TEST_CASE(a_line_is_read_up_to_its_newline_and_bounded) {
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe(fds) == 0);
    const std::string input = "first\r\nsecond\n" + std::string(20, 'x') + "\nlast";
    BOOST_TEST_REQUIRE(::write(fds[1], input.data(), input.size()) ==
                       static_cast<ssize_t>(input.size()));
    ::close(fds[1]);
    auto first = read_line(fds[0], 10);
    BOOST_TEST(first.text == "first"); // the "\r" too is gone
    BOOST_TEST(!first.eof);
    BOOST_TEST(read_line(fds[0], 10).text == "second");
    auto long_one = read_line(fds[0], 10);
    BOOST_TEST(long_one.too_long);
    BOOST_TEST(long_one.text == std::string(10, 'x'));
    auto last = read_line(fds[0], 10);
    BOOST_TEST(last.text == "last"); // the input ended without a newline
    BOOST_TEST(!last.eof);
    BOOST_TEST(read_line(fds[0], 10).eof);
    {
        no_echo nothing(fds[0]); // not a terminal: nothing to turn off, nothing to restore
    }
    ::close(fds[0]);
}

BOOST_AUTO_TEST_SUITE_END()
