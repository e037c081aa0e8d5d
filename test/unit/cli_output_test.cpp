// The command-line tool's JSON: one line, or indented for a terminal, the same value either way;
// and its log lines and files (-v, --log-file, sweep --metrics).
#include "cli/log_sink.hpp"
#include "cli/output.hpp"
#include "process.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

using codef::cli::json_text;

BOOST_AUTO_TEST_SUITE(cli_output)

BOOST_AUTO_TEST_CASE(pretty_json_is_indented_and_reads_back_the_same) {
    const auto v = boost::json::parse(
        R"({"result":{"code":"CF-00000","message":"성공"},"data":{"list":[1,{"a":"x\"y"}],"e":{},"n":[]}})");
    const std::string pretty = json_text(v, true);
    BOOST_TEST(pretty == "{\n"
                         "  \"result\": {\n"
                         "    \"code\": \"CF-00000\",\n"
                         "    \"message\": \"성공\"\n"
                         "  },\n"
                         "  \"data\": {\n"
                         "    \"list\": [\n"
                         "      1,\n"
                         "      {\n"
                         "        \"a\": \"x\\\"y\"\n"
                         "      }\n"
                         "    ],\n"
                         "    \"e\": {},\n"
                         "    \"n\": []\n"
                         "  }\n"
                         "}");
    BOOST_TEST(boost::json::parse(pretty) == v);
    const std::string compact = json_text(v, false);
    BOOST_TEST(compact.find('\n') == std::string::npos);
    BOOST_TEST(boost::json::parse(compact) == v);
    BOOST_TEST(json_text(boost::json::value(42), true) == "42");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cli_log)

BOOST_AUTO_TEST_CASE(verbosity_and_a_log_file_choose_the_level) {
    using codef::log_level;
    using codef::cli::log_level_for;
    BOOST_TEST((log_level_for(0, false) == log_level::off)); // no line is even made
    BOOST_TEST((log_level_for(0, true) == log_level::info));
    BOOST_TEST((log_level_for(1, false) == log_level::debug));
    BOOST_TEST((log_level_for(1, true) == log_level::debug));
    BOOST_TEST((log_level_for(2, false) == log_level::trace));
    BOOST_TEST((log_level_for(5, true) == log_level::trace));
}

BOOST_AUTO_TEST_CASE(times_are_iso_8601_utc_with_milliseconds) {
    using namespace std::chrono;
    BOOST_TEST(codef::cli::iso8601_utc(system_clock::time_point(milliseconds(1'700'000'000'123))) ==
               "2023-11-14T22:13:20.123Z");
    BOOST_TEST(codef::cli::iso8601_utc(system_clock::time_point(milliseconds(5))) ==
               "1970-01-01T00:00:00.005Z");
}

BOOST_AUTO_TEST_CASE(a_log_file_is_appended_to_with_a_time_and_the_level_a_line) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/codef.log";
    for (int run = 0; run < 2; ++run) {
        codef::cli::log_sink sink;
        BOOST_TEST_REQUIRE(sink.open_file(path).empty());
        sink.write(codef::log_level::debug, "event=call_finished status=200");
        sink.write(codef::log_level::error, "event=token_refresh_finished outcome=failed");
    }
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    BOOST_TEST_REQUIRE(lines.size() == 4u); // appended, not replaced
    const std::string written[] = {"debug event=call_finished status=200",
                                   "error event=token_refresh_finished outcome=failed"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
        BOOST_TEST(lines[i].size() > 25u);
        BOOST_TEST(lines[i][23] == 'Z');
        BOOST_TEST(lines[i].substr(24) == " " + written[i % 2]);
    }
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777u) == 0600u);
    codef::cli::log_sink nowhere;
    BOOST_TEST(nowhere.open_file(dir.path() + "/missing/codef.log").find("cannot be opened") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_replaced_file_is_whole_and_leaves_no_temporary_behind) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/sweep.prom";
    BOOST_TEST(codef::cli::write_replacing(path, "first 1\n").empty());
    BOOST_TEST(codef::cli::write_replacing(path, "second 2\n").empty());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    BOOST_TEST(text.str() == "second 2\n");
    // Nothing beside it: the temporary was renamed over it. Its mode is the one asked for.
    const auto entries = std::distance(std::filesystem::directory_iterator(dir.path()),
                                       std::filesystem::directory_iterator());
    BOOST_TEST(entries == 1);
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777u) == 0644u);
    BOOST_TEST(codef::cli::write_replacing(path, "third 3\n", 0600).empty());
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777u) == 0600u);
    const std::string missing = dir.path() + "/missing/sweep.prom";
    BOOST_TEST(codef::cli::write_replacing(missing, "x").find("cannot be written") !=
               std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
