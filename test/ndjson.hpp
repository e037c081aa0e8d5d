// Test support: reading back a sweep's NDJSON output (a local sweep's file, a job's export).
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>
#include <unordered_map>

namespace codef::test {

// Every line of an NDJSON file parsed (the test fails at a line that does not parse), and how
// often each connectedId appears.
inline std::unordered_map<std::string, int> ids_in(const std::string& path) {
    std::unordered_map<std::string, int> seen;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        BOOST_TEST_REQUIRE(!ec, "a torn or broken line: " << line.substr(0, 80));
        ++seen[std::string(v.at("connectedId").as_string())];
    }
    return seen;
}

} // namespace codef::test
