// The command-line tool's JSON: one line, or indented for a terminal, the same value either way.
#include "cli/output.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

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
