// file_source, which reads the connectedIds of a sweep from a file (codef sweep --ids-file): the
// input is the file. The ids it yields must be exactly the file's lines without surrounding
// blanks, blank lines and '#' comments, as many as size() announced; a line over max_id_line
// bytes must be refused before any id is yielded.
#include "fuzz_check.hpp"
#include "scratch_file.hpp"

#include <codef/sweep.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <string>
#include <vector>

using namespace codef;
namespace asio = boost::asio;

namespace {

struct expected_ids {
    std::vector<std::string> ids;
    bool too_long = false;
};

// What the file holds, read independently of the library.
expected_ids expected(std::string_view in) {
    expected_ids out;
    while (!in.empty()) {
        const auto nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        if (line.size() > max_id_line) {
            out.too_long = true;
            return out;
        }
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (!line.empty() && line.front() != '#') out.ids.emplace_back(line);
    }
    return out;
}

asio::awaitable<void> read_all(id_source& src, std::size_t batch, std::vector<std::string>& ids,
                               error_code& ec) {
    for (;;) {
        auto got = co_await src.next(batch);
        if (!got) {
            ec = got.error();
            co_return;
        }
        if (got->empty()) co_return;
        CODEF_FUZZ_CHECK(got->size() <= batch);
        for (auto& id : *got)
            ids.push_back(std::move(id));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static asio::io_context ioc;
    const std::string_view in = codef::fuzz::bytes(data, size);
    const expected_ids want = expected(in);

    codef::fuzz::scratch().assign(in);
    auto src = file_source(codef::fuzz::scratch().path());
    if (want.too_long) {
        CODEF_FUZZ_CHECK(!src && src.error() == client_errc::invalid_argument);
        return 0;
    }
    CODEF_FUZZ_CHECK(src.has_value());
    CODEF_FUZZ_CHECK((*src)->size() == want.ids.size());

    std::vector<std::string> ids;
    error_code ec;
    const std::size_t batch = 1 + size % 5;
    asio::co_spawn(ioc, read_all(**src, batch, ids, ec), asio::detached);
    ioc.restart();
    ioc.run();
    CODEF_FUZZ_CHECK(!ec);
    CODEF_FUZZ_CHECK(ids == want.ids);
    return 0;
}
