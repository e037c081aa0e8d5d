// The resumable NDJSON output, without sockets: what an earlier run left is read back, torn
// tails and incomplete groups are cut off, finished connectedIds are skipped.
#include "process.hpp"
#include "support.hpp"

#include <codef/sweep.hpp>

#include <boost/json.hpp>

#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

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

sweep_item failed_item(std::string cid, std::string org = "") {
    sweep_item i;
    i.connected_id = std::move(cid);
    i.organization = std::move(org);
    i.status = item_status::failed;
    i.error = make_http_error(503);
    i.diag.http_status = 503;
    return i;
}

sweep_item business_item(std::string cid) {
    sweep_item i = ok_item(std::move(cid));
    i.status = item_status::business_error;
    i.code = "CF-00007";
    return i;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777u;
}

// The lines of a group, as the sink writes them.
std::string group(const std::vector<sweep_item>& items) {
    std::string text;
    for (const auto& i : items)
        text += ndjson_sink::line(i, items.size()) + "\n";
    return text;
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

BOOST_AUTO_TEST_CASE(the_file_is_created_readable_by_its_owner_only) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    auto s = ndjson_sink::open(path).value();
    BOOST_TEST(mode_of(path) == 0600u);
}

BOOST_AUTO_TEST_CASE(failed_groups_are_removed_and_retried) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string a = group({ok_item("A", "0004"), ok_item("A", "0088")});
    const std::string b = group({ok_item("B", "0004"), failed_item("B", "0088")}); // one failed
    const std::string c = group({business_item("C")}); // a business error is final
    const std::string d = group({failed_item("D")});
    const std::string e = group({ok_item("E")});
    const std::string torn = ndjson_sink::line(ok_item("F"), 1).substr(0, 30);
    append(path, a + b + c + d + e + torn);
    ::chmod(path.c_str(), 0644);
    {
        auto s = ndjson_sink::open(path).value();
        BOOST_TEST(s->done("A"));
        BOOST_TEST(!s->done("B"));
        BOOST_TEST(s->done("C"));
        BOOST_TEST(!s->done("D"));
        BOOST_TEST(s->done("E"));
        BOOST_TEST(s->resumed_ids() == 3u);
        BOOST_TEST(s->failed_removed() == 2u);
        BOOST_TEST(s->bytes_cut() == torn.size());
        BOOST_TEST(slurp(path) == a + c + e); // rewritten without them
        BOOST_TEST(mode_of(path) == 0600u);
        // The retry is appended to the new file.
        std::vector<sweep_item> retried{ok_item("B", "0004"), ok_item("B", "0088")};
        BOOST_TEST(s->write(retried).has_value());
        BOOST_TEST(s->flush().has_value());
    }
    BOOST_TEST(slurp(path) == a + c + e + group({ok_item("B", "0004"), ok_item("B", "0088")}));
    // Nothing is left behind in the directory but the file.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
        ++files;
    BOOST_TEST(files == 1u);
    auto again = ndjson_sink::open(path).value();
    BOOST_TEST(again->done("B"));
    BOOST_TEST(!again->done("D")); // its failed group went with the first open
    BOOST_TEST(again->failed_removed() == 0u);
}

BOOST_AUTO_TEST_CASE(failed_groups_are_kept_as_done_when_not_retried) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string text = group({ok_item("A")}) + group({failed_item("B")});
    append(path, text);
    ndjson_options keep;
    keep.retry_failed = false;
    auto s = ndjson_sink::open(path, keep).value();
    BOOST_TEST(s->done("A"));
    BOOST_TEST(s->done("B"));
    BOOST_TEST(s->failed_removed() == 0u);
    BOOST_TEST(slurp(path) == text);
}

BOOST_AUTO_TEST_CASE(an_unfinished_group_inside_the_file_is_dropped_too) {
    codef::test::temp_dir dir;
    const std::string path = dir.path() + "/out.ndjson";
    const std::string a = group({ok_item("A")});
    const std::string half = ndjson_sink::line(ok_item("B", "0004"), 2) + "\n";
    const std::string c = group({ok_item("C")});
    append(path, a + half + c);
    auto s = ndjson_sink::open(path).value();
    BOOST_TEST(!s->done("B"));
    BOOST_TEST(slurp(path) == a + c); // B will be written whole, once
}

BOOST_AUTO_TEST_CASE(a_stream_sink_writes_the_same_lines_to_its_descriptor) {
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe(fds) == 0);
    const std::vector<sweep_item> group{ok_item("cid-1", "0004"), failed_item("cid-1", "0011")};
    ndjson_stream_sink sink(fds[1], "the pipe");
    BOOST_TEST_REQUIRE(sink.write(group).has_value());
    ::close(fds[1]);
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        got.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    BOOST_TEST(got ==
               ndjson_sink::line(group[0], 2) + "\n" + ndjson_sink::line(group[1], 2) + "\n");
    // A closed descriptor: an error naming it, not a crash.
    ndjson_stream_sink closed(fds[1], "the pipe");
    auto r = closed.write(group);
    BOOST_TEST(!r.has_value());
    BOOST_TEST(r.diag().detail.find("the pipe: cannot be written") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
