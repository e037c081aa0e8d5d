// The resumable NDJSON output, without sockets: what an earlier run left is read back, torn
// tails and incomplete groups are cut off, finished connectedIds are skipped.
#include "process.hpp"
#include "support.hpp"

#include <codef/sweep.hpp>

#include <boost/json.hpp>

#include <filesystem>

namespace json = boost::json;
using namespace codef;

namespace {

sweep_item ok_item(std::string cid, std::string org = "") {
    sweep_item i;
    i.connected_id = std::move(cid);
    i.organization = std::move(org);
    i.code = "CF-00000";
    i.message = "성공";
    i.data = json::object{{"resAccount", "1002"}};
    return i;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void append(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::app) << text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(ndjson_output)

BOOST_AUTO_TEST_CASE(lines_name_the_item_and_keep_the_data_or_the_error) {
    const auto line = json::parse(ndjson_sink::line(ok_item("cid1", "0004"), 2)).as_object();
    BOOST_TEST(line.at("connectedId").as_string() == "cid1");
    BOOST_TEST(line.at("organization").as_string() == "0004");
    BOOST_TEST(line.at("group").as_int64() == 2);
    BOOST_TEST(line.at("status").as_string() == "ok");
    BOOST_TEST(line.at("message").as_string() == "성공");
    BOOST_TEST(line.at("data").at("resAccount").as_string() == "1002");

    sweep_item failed;
    failed.connected_id = "cid2";
    failed.status = item_status::failed;
    failed.error = make_http_error(503);
    failed.diag.http_status = 503;
    failed.diag.detail = "POST /v1/x";
    const auto f = json::parse(ndjson_sink::line(failed, 1)).as_object();
    BOOST_TEST(f.at("status").as_string() == "failed");
    BOOST_TEST(f.at("error").at("kind").as_string() == "http");
    BOOST_TEST(f.at("error").at("httpStatus").as_int64() == 503);
    BOOST_TEST(!f.contains("data"));
    BOOST_TEST(ndjson_sink::line(failed, 1).find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reopened_file_knows_what_is_done) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    {
        auto s = ndjson_sink::open(path).value();
        BOOST_TEST(s->resumed_ids() == 0u);
        std::vector<sweep_item> a{ok_item("A", "0004"), ok_item("A", "0088")};
        std::vector<sweep_item> b{ok_item("B")};
        BOOST_TEST(s->write(a).has_value());
        BOOST_TEST(s->write(b).has_value());
        BOOST_TEST(s->flush().has_value());
    }
    auto s = ndjson_sink::open(path).value();
    BOOST_TEST(s->resumed_ids() == 2u);
    BOOST_TEST(s->done("A"));
    BOOST_TEST(s->done("B"));
    BOOST_TEST(!s->done("C"));
    BOOST_TEST(s->bytes_cut() == 0u);
}

BOOST_AUTO_TEST_CASE(a_torn_line_and_an_incomplete_group_are_cut_off) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string a = ndjson_sink::line(ok_item("A"), 1) + "\n";
    // B's group announces two items; only one made it, then C's line was torn.
    const std::string b1 = ndjson_sink::line(ok_item("B", "0004"), 2) + "\n";
    const std::string torn = ndjson_sink::line(ok_item("C"), 1).substr(0, 40);
    append(path, a + b1 + torn);
    auto s = ndjson_sink::open(path).value();
    BOOST_TEST(s->done("A"));
    BOOST_TEST(!s->done("B"));
    BOOST_TEST(!s->done("C"));
    BOOST_TEST(s->bytes_cut() == b1.size() + torn.size());
    BOOST_TEST(slurp(path) == a); // every line left is whole
    std::vector<sweep_item> again{ok_item("B", "0004"), ok_item("B", "0088")};
    BOOST_TEST(s->write(again).has_value());
    auto s2 = ndjson_sink::open(path).value();
    BOOST_TEST(s2->done("B"));
    BOOST_TEST(s2->resumed_ids() == 2u);
}

BOOST_AUTO_TEST_CASE(a_line_that_is_not_ours_ends_what_is_trusted) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string a = ndjson_sink::line(ok_item("A"), 1) + "\n";
    append(path, a + "hello world\n" + ndjson_sink::line(ok_item("B"), 1) + "\n");
    auto s = ndjson_sink::open(path).value();
    BOOST_TEST(s->done("A"));
    BOOST_TEST(!s->done("B"));
    BOOST_TEST(slurp(path) == a);
}

BOOST_AUTO_TEST_CASE(an_unwritable_path_is_a_clear_error) {
    auto r = ndjson_sink::open("/nonexistent-dir/out.ndjson");
    BOOST_TEST(r.error() == client_errc::invalid_argument);
    BOOST_TEST(r.diag().detail.starts_with("/nonexistent-dir/out.ndjson: cannot be opened"));
}

BOOST_AUTO_TEST_SUITE_END()
