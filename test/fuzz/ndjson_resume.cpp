// The resume scan of ndjson_sink::open, which reads whatever an earlier (killed) sweep left in
// its output file. The input is written to a file in a scratch directory (in /dev/shm when there
// is one) and opened, with failed groups kept and with them retried:
// - as a file found on disk: open succeeds and leaves complete lines of it in their order, ending
//   in '\n' (or nothing); a second open changes nothing and resumes the same ids;
// - as the connectedIds of a sweep, one a line: their groups, written by the sink and cut
//   anywhere (a kill mid-write), read back with every group before the cut done (failed ones
//   removed when retried) and nothing after it kept.
#include "fuzz_check.hpp"
#include "scratch_file.hpp"

#include <codef/sweep.hpp>

#include <boost/json/object.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace codef;

namespace {

std::unique_ptr<ndjson_sink> open_sink(bool retry_failed) {
    ndjson_options opts;
    opts.retry_failed = retry_failed;
    auto s = ndjson_sink::open(codef::fuzz::scratch().path(), opts);
    CODEF_FUZZ_CHECK(s.has_value());
    return std::move(*s);
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string_view::npos;
         start = nl + 1)
        out.push_back(text.substr(start, nl - start));
    return out;
}

// Whether every line of kept is a line of in, in the same order.
bool lines_kept_in_order(std::string_view kept, std::string_view in) {
    const auto k = lines_of(kept), i = lines_of(in);
    std::size_t at = 0;
    for (const auto& line : k) {
        while (at < i.size() && i[at] != line)
            ++at;
        if (at == i.size()) return false;
        ++at;
    }
    return true;
}

// The input as a file an earlier run left.
void found_file(std::string_view in, bool retry_failed) {
    codef::fuzz::scratch().assign(in);
    std::uint64_t resumed = 0;
    {
        auto sink = open_sink(retry_failed);
        resumed = sink->resumed_ids();
        const std::string kept = codef::fuzz::scratch().contents();
        CODEF_FUZZ_CHECK(kept.empty() || kept.back() == '\n');
        CODEF_FUZZ_CHECK(lines_kept_in_order(kept, in));
        CODEF_FUZZ_CHECK(resumed <=
                         static_cast<std::uint64_t>(std::count(kept.begin(), kept.end(), '\n')));
        CODEF_FUZZ_CHECK(sink->bytes_cut() <= in.size() - kept.size());
        if (!retry_failed) CODEF_FUZZ_CHECK(sink->failed_removed() == 0);
    }
    const std::string kept = codef::fuzz::scratch().contents();
    auto again = open_sink(retry_failed);
    CODEF_FUZZ_CHECK(again->bytes_cut() == 0);
    CODEF_FUZZ_CHECK(again->failed_removed() == 0);
    CODEF_FUZZ_CHECK(again->resumed_ids() == resumed);
    CODEF_FUZZ_CHECK(codef::fuzz::scratch().contents() == kept);
}

struct group {
    std::string id;
    std::vector<sweep_item> items;
    bool failed = false;
    std::string text; // its lines
};

// The input as a sweep's connectedIds, one a line (each once): 1 to 3 items each, written as
// the sweep writes them.
std::vector<group> groups_of(std::string_view in) {
    std::vector<group> groups;
    std::set<std::string_view> seen;
    for (std::string_view rest = in; !rest.empty() && groups.size() < 16;) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (!seen.insert(line).second) continue;
        group g;
        g.id = std::string(line);
        g.items.resize(1 + line.size() % 3);
        for (std::size_t i = 0; i < g.items.size(); ++i) {
            sweep_item& item = g.items[i];
            item.connected_id = g.id;
            item.organization = "000" + std::to_string(i);
            switch ((line.size() + i) % 4) {
            case 0:
                item.code = "CF-00000";
                item.data = boost::json::object{{"resAccount", line}};
                break;
            case 1:
                item.status = item_status::business_error;
                item.code = "CF-00007";
                item.message = std::string(line);
                break;
            case 2:
                item.status = item_status::failed;
                item.error = make_http_error(503);
                item.diag.http_status = 503;
                item.diag.codef_code = std::string(line);
                g.failed = true;
                break;
            default:
                item.status = item_status::no_match;
            }
        }
        groups.push_back(std::move(g));
    }
    return groups;
}

void written_groups(std::string_view in) {
    std::vector<group> groups = groups_of(in);
    if (groups.empty()) return;
    std::string written;
    for (auto& g : groups) {
        for (const auto& item : g.items)
            g.text += ndjson_sink::line(item, g.items.size()) + '\n';
        written += g.text;
    }
    codef::fuzz::scratch().assign({});
    {
        auto sink = open_sink(true);
        CODEF_FUZZ_CHECK(sink->resumed_ids() == 0);
        for (const auto& g : groups)
            CODEF_FUZZ_CHECK(sink->write(g.items).has_value());
    }
    const std::string full = codef::fuzz::scratch().contents();
    CODEF_FUZZ_CHECK(full == written);

    // A kill in the middle of a write leaves a prefix.
    std::size_t h = 0;
    for (unsigned char c : in)
        h = h * 131 + c;
    const std::size_t cut = h % (full.size() + 1);

    for (const bool retry_failed : {false, true}) {
        codef::fuzz::scratch().assign(std::string_view(full).substr(0, cut));
        auto sink = open_sink(retry_failed);
        std::string expected;
        std::size_t end = 0, removed = 0;
        for (const auto& g : groups) {
            end += g.text.size();
            if (end > cut) {
                CODEF_FUZZ_CHECK(!sink->done(g.id));
                continue;
            }
            if (retry_failed && g.failed) {
                CODEF_FUZZ_CHECK(!sink->done(g.id));
                ++removed;
            } else {
                CODEF_FUZZ_CHECK(sink->done(g.id));
                expected += g.text;
            }
        }
        CODEF_FUZZ_CHECK(codef::fuzz::scratch().contents() == expected);
        CODEF_FUZZ_CHECK(sink->failed_removed() == removed);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);
    found_file(in, false);
    found_file(in, true);
    written_groups(in);
    return 0;
}
