// The sweep engine: a producer reads connectedIds into a bounded channel, workers call the product
// and hand each connectedId's items to the sink. Everything but the calls themselves runs on the
// sweep's strand.
#include <codef/sweep.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;

namespace codef {

const char* to_string(item_status s) noexcept {
    switch (s) {
    case item_status::ok:
        return "ok";
    case item_status::business_error:
        return "business_error";
    case item_status::failed:
        return "failed";
    case item_status::no_match:
        return "no_match";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Sources

namespace {

class listing : public id_source {
public:
    listing(client& c, call_options opts)
        : stream_(c.connected_ids(opts)) {}
    asio::awaitable<result<std::vector<std::string>>> next(std::size_t) override {
        // A page at a time: pages are what the server gives.
        co_return co_await stream_.next_page();
    }

private:
    connected_id_stream stream_;
};

// Reads one line of at most max_id_line bytes (the newline not counted).
enum class line_read { line, end, too_long };
line_read read_line(std::istream& in, std::string& line) {
    line.clear();
    std::streambuf* sb = in.rdbuf();
    for (bool any = false;; any = true) {
        const int c = sb->sbumpc();
        if (c == std::char_traits<char>::eof()) return any ? line_read::line : line_read::end;
        if (c == '\n') return line_read::line;
        if (line.size() == max_id_line) return line_read::too_long;
        line.push_back(static_cast<char>(c));
    }
}

// The connectedId of a line; empty for a blank line or a comment.
std::string_view id_of(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.remove_suffix(1);
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') return {};
    return line.substr(start);
}

failure too_long(const std::string& path, std::uint64_t line_no) {
    return make_failure(client_errc::invalid_argument,
                        path + ":" + std::to_string(line_no) + ": a line longer than " +
                            std::to_string(max_id_line) +
                            " bytes (a connectedId is about 22 characters)");
}

class file_ids : public id_source {
public:
    file_ids(std::ifstream in, std::string path, std::uint64_t total)
        : in_(std::move(in))
        , path_(std::move(path))
        , total_(total) {}
    asio::awaitable<result<std::vector<std::string>>> next(std::size_t max) override {
        std::vector<std::string> out;
        std::string line;
        while (out.size() < max) {
            const auto got = read_line(in_, line);
            if (got == line_read::end) break;
            ++line_no_;
            if (got == line_read::too_long) co_return too_long(path_, line_no_);
            if (const auto id = id_of(line); !id.empty()) out.emplace_back(id);
        }
        co_return out;
    }
    std::optional<std::uint64_t> size() const override { return total_; }

private:
    std::ifstream in_;
    std::string path_;
    std::uint64_t total_;
    std::uint64_t line_no_ = 0;
};

class listed : public id_source {
public:
    explicit listed(std::vector<std::string> ids)
        : ids_(std::move(ids)) {}
    asio::awaitable<result<std::vector<std::string>>> next(std::size_t max) override {
        const std::size_t n = std::min(max, ids_.size() - pos_);
        std::vector<std::string> out(
            std::make_move_iterator(ids_.begin() + static_cast<std::ptrdiff_t>(pos_)),
            std::make_move_iterator(ids_.begin() + static_cast<std::ptrdiff_t>(pos_ + n)));
        pos_ += n;
        co_return out;
    }
    std::optional<std::uint64_t> size() const override { return ids_.size(); }

private:
    std::vector<std::string> ids_;
    std::size_t pos_ = 0;
};

} // namespace

std::unique_ptr<id_source> listing_source(client& c, call_options opts) {
    return std::make_unique<listing>(c, opts);
}

result<std::unique_ptr<id_source>> file_source(const std::string& path) {
    // A first pass counts the ids (for the ETA) and checks every line before anything is sent.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return make_failure(client_errc::invalid_argument, path + ": is a directory");
    std::ifstream count(path, std::ios::binary);
    if (!count) return make_failure(client_errc::invalid_argument, path + ": cannot be read");
    std::uint64_t total = 0, line_no = 0;
    std::string line;
    for (line_read got; (got = read_line(count, line)) != line_read::end;) {
        ++line_no;
        if (got == line_read::too_long) return too_long(path, line_no);
        if (!id_of(line).empty()) ++total;
    }
    if (count.bad()) return make_failure(client_errc::invalid_argument, path + ": cannot be read");
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_failure(client_errc::invalid_argument, path + ": cannot be read");
    return std::unique_ptr<id_source>(std::make_unique<file_ids>(std::move(in), path, total));
}

std::unique_ptr<id_source> list_source(std::vector<std::string> ids) {
    return std::make_unique<listed>(std::move(ids));
}

// ---------------------------------------------------------------------------------------------
// The NDJSON sink

namespace {

// Two independent 64-bit hashes: 128 bits make a false "already done" vanishingly unlikely.
std::pair<std::uint64_t, std::uint64_t> id_key(std::string_view id) {
    std::uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    for (unsigned char c : id) {
        a = (a ^ c) * 0x100000001b3ull;
        b = (b + c) * 0x9e3779b97f4a7c15ull;
        b ^= b >> 29;
    }
    return {a, b};
}

// The value after pattern ("key":) in a line we wrote (keys come in a fixed order).
// A string comes back as its JSON text, escapes included (see json_unescape).
std::optional<std::string_view> field(std::string_view line, std::string_view pattern) {
    const auto at = line.find(pattern);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(at + pattern.size());
    if (!rest.empty() && rest.front() == '"') {
        for (std::size_t i = 1; i < rest.size(); ++i) {
            if (rest[i] == '\\')
                ++i; // an escaped character, '"' included
            else if (rest[i] == '"')
                return rest.substr(1, i - 1);
        }
        return std::nullopt;
    }
    const auto end = rest.find_first_of(",}");
    if (end == std::string_view::npos) return std::nullopt;
    return rest.substr(0, end);
}

// The string a JSON string's text (without its quotes) stands for; empty when it is not valid.
std::optional<std::string> json_unescape(std::string_view text) {
    std::string quoted;
    quoted.reserve(text.size() + 2);
    (quoted += '"').append(text) += '"';
    // The sink writes an id's bytes as they are, UTF-8 or not (json::serialize does not check).
    json::parse_options opts;
    opts.allow_invalid_utf8 = true;
    boost::system::error_code ec;
    const json::value v = json::parse(quoted, ec, {}, opts);
    if (ec || !v.is_string()) return std::nullopt;
    return std::string(v.get_string());
}

json::object error_json(const sweep_item& item) {
    json::object e;
    e["kind"] = to_string(kind_of(item.error));
    e["category"] = item.error.category().name();
    e["value"] = item.error.value();
    e["message"] = item.error.message();
    e["httpStatus"] = item.diag.http_status;
    e["code"] = item.diag.codef_code;
    e["detail"] = item.diag.detail;
    return e;
}

} // namespace

std::string ndjson_sink::line(const sweep_item& item, std::size_t group) {
    json::object o;
    o["connectedId"] = item.connected_id;
    o["organization"] = item.organization;
    o["group"] = group;
    o["status"] = to_string(item.status);
    if (item.status == item_status::failed) {
        o["error"] = error_json(item);
    } else {
        o["code"] = item.code;
        o["message"] = item.message;
        o["extraMessage"] = item.extra_message;
        if (item.status != item_status::no_match) o["data"] = item.data;
    }
    return json::serialize(o);
}

namespace {

// A complete group (every line its group field announces) in a file an earlier run wrote.
struct group_span {
    std::uint64_t begin = 0, end = 0; // byte offsets in the file
    std::string_view id;
    bool failed = false; // an item of it is failed
};

struct scan_result {
    std::uint64_t good_end = 0; // the end of the last complete group: what can be trusted
    bool holes = false;         // an incomplete group before good_end (not of our making)
};

failure io_failure(const std::string& path, const char* what) {
    return make_failure(client_errc::invalid_argument,
                        path + ": " + what + ": " + std::strerror(errno));
}

// Reads what an earlier run wrote and calls on_group for each complete group, in order. Lines
// end in '\n' (JSON strings escape newlines), so a line without one was torn by a kill; a group
// with fewer lines than it announces was too. A line that is not ours ends what is trusted.
template <class OnGroup>
result<scan_result> scan(int fd, const std::string& path, OnGroup on_group) {
    scan_result out;
    std::string buf;
    std::uint64_t offset = 0; // of buf's first byte in the file
    std::string group_id;
    std::uint64_t group_begin = 0, group_size = 0, group_seen = 0;
    bool group_failed = false;
    std::vector<char> chunk(1 << 16);
    for (bool corrupt = false; !corrupt;) {
        const ssize_t n =
            ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset + buf.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_failure(path, "cannot be read");
        }
        if (n == 0) break;
        buf.append(chunk.data(), static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
            const std::string_view ln(buf.data() + start, nl - start);
            const auto id = field(ln, R"("connectedId":)");
            const auto size = field(ln, R"("group":)");
            std::uint64_t g = 0;
            if (!id || !size ||
                std::from_chars(size->data(), size->data() + size->size(), g).ec != std::errc{} ||
                g == 0) {
                corrupt = true; // not a line of ours: keep what came before it
                break;
            }
            // connectedIds are plain base64url; one from an ids file may need escapes in JSON,
            // and is compared (and remembered as done) as the string it stands for.
            std::optional<std::string> unescaped;
            std::string_view id_text = *id;
            if (id_text.find('\\') != std::string_view::npos) {
                unescaped = json_unescape(id_text);
                if (!unescaped) {
                    corrupt = true;
                    break;
                }
                id_text = *unescaped;
            }
            if (group_seen == 0 || id_text != group_id) {
                if (group_seen != 0) out.holes = true; // an unfinished group stays out
                group_id = std::string(id_text);
                group_begin = offset + start;
                group_size = g;
                group_seen = 0;
                group_failed = false;
            }
            if (field(ln, R"("status":)") == std::string_view("failed")) group_failed = true;
            if (++group_seen == group_size) {
                out.good_end = offset + nl + 1;
                on_group(group_span{group_begin, out.good_end, group_id, group_failed});
                group_seen = 0;
            }
        }
        offset += start;
        buf.erase(0, start);
    }
    return out;
}

// One connectedId's group as NDJSON lines, to be written at once.
std::string group_text(std::span<const sweep_item> items) {
    std::string text;
    for (const auto& item : items) {
        text += ndjson_sink::line(item, items.size());
        text += '\n';
    }
    return text;
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Copies [begin, end) of from into to.
bool copy_range(int from, int to, std::uint64_t begin, std::uint64_t end) {
    std::vector<char> chunk(1 << 16);
    while (begin < end) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), end - begin));
        const ssize_t n = ::pread(from, chunk.data(), want, static_cast<off_t>(begin));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO; // the file shrank under us
            return false;
        }
        if (!write_all(to, chunk.data(), static_cast<std::size_t>(n))) return false;
        begin += static_cast<std::uint64_t>(n);
    }
    return true;
}

} // namespace

result<std::unique_ptr<ndjson_sink>> ndjson_sink::open(const std::string& path,
                                                       ndjson_options opts) {
    std::unique_ptr<ndjson_sink> s(new ndjson_sink());
    s->path_ = path;
    s->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd_ < 0) return io_failure(path, "cannot be opened");

    // What is done: the complete groups, except those with failed items when they are retried.
    bool drop_failed = false;
    auto first = scan(s->fd_, path, [&](const group_span& g) {
        if (g.failed && opts.retry_failed) {
            ++s->failed_removed_;
            drop_failed = true;
        } else {
            s->done_.push_back(id_key(g.id));
        }
    });
    if (!first) return first.get_failure();
    struct stat st {};
    if (::fstat(s->fd_, &st) != 0) return io_failure(path, "cannot be read");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > first->good_end) s->bytes_cut_ = size - first->good_end;

    if (drop_failed || first->holes) {
        // Rewrite the file with the groups kept, beside it, then rename it over the old one.
        const auto slash = path.rfind('/');
        std::string tmp = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
                          "." + path.substr(slash == std::string::npos ? 0 : slash + 1) + ".XXXXXX";
        const int out = ::mkostemp(tmp.data(), O_CLOEXEC); // mode 0600
        if (out < 0) return io_failure(tmp, "cannot be created");
        auto give_up = [&](const char* what) {
            const int e = errno;
            ::close(out);
            ::unlink(tmp.c_str());
            errno = e;
            return io_failure(path, what);
        };
        // Contiguous groups that are kept are copied together.
        std::optional<std::pair<std::uint64_t, std::uint64_t>> run;
        bool copied = true;
        auto copy_run = [&] {
            if (run && copied) copied = copy_range(s->fd_, out, run->first, run->second);
            run.reset();
        };
        auto second = scan(s->fd_, path, [&](const group_span& g) {
            if (g.failed && opts.retry_failed) return;
            if (run && run->second != g.begin) copy_run();
            if (!run) run.emplace(g.begin, g.begin);
            run->second = g.end;
        });
        copy_run();
        if (!second) {
            give_up("cannot be read");
            return second.get_failure();
        }
        if (!copied) return give_up("cannot be rewritten");
        if (::fsync(out) != 0) return give_up("cannot be synced");
        if (::rename(tmp.c_str(), path.c_str()) != 0) return give_up("cannot be replaced");
        // The rename itself, durable: sync the directory (best effort).
        const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
        if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
            ::fsync(d);
            ::close(d);
        }
        ::close(s->fd_);
        s->fd_ = out;
        if (const int fl = ::fcntl(out, F_GETFL);
            fl < 0 || ::fcntl(out, F_SETFL, fl | O_APPEND) != 0)
            return io_failure(path, "cannot be opened for appending");
    } else if (s->bytes_cut_ > 0) {
        if (::ftruncate(s->fd_, static_cast<off_t>(first->good_end)) != 0)
            return io_failure(path, "cannot be truncated");
    }
    std::sort(s->done_.begin(), s->done_.end());
    s->done_.erase(std::unique(s->done_.begin(), s->done_.end()), s->done_.end());
    return s;
}

ndjson_sink::~ndjson_sink() {
    if (fd_ >= 0) ::close(fd_);
}

bool ndjson_sink::done(std::string_view connected_id) const {
    return std::binary_search(done_.begin(), done_.end(), id_key(connected_id));
}

result<std::monostate> ndjson_sink::write(std::span<const sweep_item> items) {
    // One write for the whole group; a short write goes on where it stopped.
    const std::string text = group_text(items);
    if (!write_all(fd_, text.data(), text.size()))
        return make_failure(client_errc::invalid_argument,
                            path_ + ": cannot be written: " + std::strerror(errno));
    return std::monostate{};
}

result<std::monostate> ndjson_stream_sink::write(std::span<const sweep_item> items) {
    const std::string text = group_text(items);
    if (!write_all(fd_, text.data(), text.size()))
        return make_failure(client_errc::invalid_argument,
                            name_ + ": cannot be written: " + std::strerror(errno));
    return std::monostate{};
}

result<std::monostate> ndjson_sink::flush() {
    if (::fdatasync(fd_) != 0)
        return make_failure(client_errc::invalid_argument,
                            path_ + ": cannot be synced: " + std::strerror(errno));
    return std::monostate{};
}

// ---------------------------------------------------------------------------------------------
// The engine

struct sweep::state {
    state(client& c, sweep_plan p, sweep_options o)
        : cl(c)
        , plan(std::move(p))
        , opts(std::move(o))
        , strand(asio::make_strand(c.get_executor())) {
        if (opts.concurrency == 0) opts.concurrency = 1;
    }

    client& cl;
    sweep_plan plan;
    sweep_options opts;
    asio::strand<asio::any_io_executor> strand;
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};

    // Counters, read by progress() from any thread.
    std::atomic<std::uint64_t> ids_done{0}, ids_skipped{0}, items{0}, ok{0}, business_errors{0},
        failed{0}, no_match{0}, in_flight{0};
    std::optional<std::uint64_t> ids_total;
    std::chrono::steady_clock::time_point started{};
    mutable std::mutex rate_mutex;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples;

    sweep_progress snapshot() const;
    void sample();
    asio::awaitable<std::vector<sweep_item>> process(std::string connected_id);
    sweep_item call(const std::string& connected_id, const std::string& organization,
                    result<response> r);
};

sweep_progress sweep::state::snapshot() const {
    sweep_progress p;
    p.ids_done = ids_done.load();
    p.ids_skipped = ids_skipped.load();
    p.items = items.load();
    p.ok = ok.load();
    p.business_errors = business_errors.load();
    p.failed = failed.load();
    p.no_match = no_match.load();
    p.in_flight = in_flight.load();
    p.ids_total = ids_total;
    const auto now = std::chrono::steady_clock::now();
    p.elapsed = started == std::chrono::steady_clock::time_point{}
                    ? std::chrono::steady_clock::duration{}
                    : now - started;
    std::lock_guard lock(rate_mutex);
    if (samples.size() >= 2) {
        const double dt =
            std::chrono::duration<double>(samples.back().first - samples.front().first).count();
        if (dt > 0)
            p.rate = static_cast<double>(samples.back().second - samples.front().second) / dt;
    }
    if (p.ids_total && p.rate > 0) {
        const std::uint64_t finished = p.ids_done + p.ids_skipped;
        const std::uint64_t left = *p.ids_total > finished ? *p.ids_total - finished : 0;
        p.eta = std::chrono::seconds(static_cast<std::int64_t>(static_cast<double>(left) / p.rate));
    }
    return p;
}

void sweep::state::sample() {
    std::lock_guard lock(rate_mutex);
    const auto now = std::chrono::steady_clock::now();
    samples.emplace_back(now, ids_done.load());
    while (samples.size() > 2 && now - samples.front().first > std::chrono::seconds(5))
        samples.pop_front();
}

sweep_item sweep::state::call(const std::string& connected_id, const std::string& organization,
                              result<response> r) {
    sweep_item item;
    item.connected_id = connected_id;
    item.organization = organization;
    if (!r) {
        item.status = item_status::failed;
        item.error = r.error();
        item.diag = r.diag();
        return item;
    }
    item.status = r->ok() ? item_status::ok : item_status::business_error;
    item.code = std::move(r->code);
    item.message = std::move(r->message);
    item.extra_message = std::move(r->extra_message);
    // Constructed, not assigned: the reply's data keeps the memory resource it was parsed into,
    // and a move assignment across resources would copy it.
    std::destroy_at(&item.data);
    std::construct_at(&item.data, std::move(r->data));
    return item;
}

asio::awaitable<std::vector<sweep_item>> sweep::state::process(std::string connected_id) {
    std::vector<sweep_item> out;
    // Each call's events name its connectedId, unless the caller chose a tag of its own.
    call_options each = opts.call;
    if (each.tag.empty()) each.tag = connected_id;
    if (!plan.per_organization) {
        json::object params = plan.params;
        params["connectedId"] = connected_id;
        out.push_back(
            call(connected_id, "", co_await cl.try_request(plan.path, std::move(params), each)));
        co_return out;
    }
    auto accounts = co_await cl.list_accounts(connected_id, each);
    if (!accounts || !accounts->reply.ok()) {
        // The list itself failed: one item for the connectedId says so.
        out.push_back(call(connected_id, "",
                           accounts ? result<response>(accounts->reply)
                                    : result<response>(accounts.get_failure())));
        co_return out;
    }
    std::vector<std::string> orgs;
    for (const auto& a : accounts->accounts)
        if ((plan.business_type.empty() || a.business_type == plan.business_type) &&
            (plan.client_type.empty() || a.client_type == plan.client_type) &&
            std::find(orgs.begin(), orgs.end(), a.organization) == orgs.end())
            orgs.push_back(a.organization);
    if (orgs.empty()) {
        sweep_item none;
        none.connected_id = connected_id;
        none.status = item_status::no_match;
        none.message = "no registered organization passes the filters";
        out.push_back(std::move(none));
        co_return out;
    }
    for (const auto& org : orgs) {
        json::object params = plan.params;
        params["connectedId"] = connected_id;
        params["organization"] = org;
        out.push_back(
            call(connected_id, org, co_await cl.try_request(plan.path, std::move(params), each)));
    }
    co_return out;
}

sweep::sweep(client& c, sweep_plan plan, sweep_options opts)
    : state_(std::make_shared<state>(c, std::move(plan), std::move(opts))) {}
sweep::~sweep() = default;

void sweep::stop() noexcept {
    state_->stopping = true;
}
sweep_progress sweep::progress() const {
    return state_->snapshot();
}

namespace {

using id_channel = asio::experimental::channel<void(error_code, std::string)>;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// What one run shares between its producer, workers and ticker. Each holds it by shared_ptr, so
// none depends on another's frame; run_on_strand joins them all before it completes, so ids and
// out (the caller's) outlive every use.
struct run_state {
    run_state(const asio::strand<asio::any_io_executor>& strand, std::size_t workers, id_source& i,
              sweep_sink& o)
        : channel(strand, workers * 2)
        , all_ended(strand, std::chrono::steady_clock::time_point::max())
        , tick(strand)
        , ids(&i)
        , out(&o)
        , running(workers + 1) {}

    id_channel channel;
    asio::steady_timer all_ended; // cancelled when the last worker or the ticker ends
    asio::steady_timer tick;
    id_source* ids;
    sweep_sink* out;
    std::size_t running; // workers and the ticker still going
    bool ticking = true;
    std::optional<failure> fatal; // the source or the sink failed
    std::exception_ptr exception; // something threw where nothing should

    void ended() {
        if (--running == 0) all_ended.cancel();
    }
};

void count(sweep::state& st, std::span<const sweep_item> items) {
    for (const auto& item : items) {
        ++st.items;
        switch (item.status) {
        case item_status::ok:
            ++st.ok;
            break;
        case item_status::business_error:
            ++st.business_errors;
            break;
        case item_status::failed:
            ++st.failed;
            break;
        case item_status::no_match:
            ++st.no_match;
            break;
        }
    }
    ++st.ids_done;
}

std::string what_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an unknown exception";
    }
}

// Takes a connectedId, processes it, writes its items. Ends at an empty id or a closed channel,
// never otherwise (a worker that left early would leave the producer's sends without a taker).
asio::awaitable<void> worker(std::shared_ptr<sweep::state> st, std::shared_ptr<run_state> rs) {
    for (;;) {
        auto [ec, id] = co_await rs->channel.async_receive(tuple_awaitable);
        if (ec || id.empty()) co_return;
        if (st->stopping || rs->fatal) continue; // taken but not started: the resume does it
        ++st->in_flight;
        std::vector<sweep_item> items;
        std::exception_ptr thrown;
        try {
            items = co_await st->process(id);
        } catch (...) {
            thrown = std::current_exception();
        }
        --st->in_flight;
        if (thrown) {
            // Whatever went wrong, the connectedId gets its line: nothing is lost silently.
            sweep_item item;
            item.connected_id = id;
            item.status = item_status::failed;
            item.error = make_error_code(boost::system::errc::state_not_recoverable);
            item.diag.detail = what_of(thrown);
            items.clear();
            items.push_back(std::move(item));
        }
        if (rs->fatal) continue;
        result<std::monostate> w = std::monostate{};
        try {
            w = rs->out->write(items);
        } catch (...) {
            w = make_failure(client_errc::invalid_argument,
                             "the sink threw: " + what_of(std::current_exception()));
        }
        if (!w) {
            rs->fatal = w.get_failure();
            st->stopping = true;
            continue;
        }
        count(*st, items);
    }
}

// Progress, at the interval asked for, until the run ends.
asio::awaitable<void> ticker(std::shared_ptr<sweep::state> st, std::shared_ptr<run_state> rs) {
    const auto interval = std::max<std::chrono::milliseconds>(st->opts.progress_interval,
                                                              std::chrono::milliseconds(10));
    while (rs->ticking) {
        rs->tick.expires_after(interval);
        co_await rs->tick.async_wait(tuple_awaitable);
        st->sample();
        if (rs->ticking && st->opts.on_progress) st->opts.on_progress(st->snapshot());
    }
}

// Reads ids from the source into the channel, skipping those already done, until the source
// ends, fails, or the sweep stops.
asio::awaitable<void> produce(std::shared_ptr<sweep::state> st, std::shared_ptr<run_state> rs) {
    while (!st->stopping && !rs->fatal) {
        auto batch = co_await rs->ids->next(1000);
        if (!batch) {
            rs->fatal = batch.get_failure();
            co_return;
        }
        if (batch->empty()) co_return;
        for (auto& id : *batch) {
            if (st->stopping || rs->fatal) co_return;
            if (id.empty()) continue;
            if (st->opts.skip && st->opts.skip(id)) {
                ++st->ids_skipped;
                continue;
            }
            auto [ec] =
                co_await rs->channel.async_send(error_code{}, std::move(id), tuple_awaitable);
            if (ec) co_return; // the channel was closed: a worker died
        }
    }
}

// The run itself, on the sweep's strand. Whatever happens, it completes only once every worker
// and the ticker have ended.
asio::awaitable<result<sweep_summary>> run_on_strand(std::shared_ptr<sweep::state> st,
                                                     id_source& ids, sweep_sink& out) {
    auto strand = st->strand;
    const std::size_t workers = st->opts.concurrency;
    auto rs = std::make_shared<run_state>(strand, workers, ids, out);
    st->started = std::chrono::steady_clock::now();
    st->ids_total = ids.size();
    st->sample();

    // Each one ends by calling ended(); an exception that escapes (none should) stops the sweep.
    auto on_end = [st, rs](bool is_worker) {
        return asio::bind_executor(st->strand, [st, rs, is_worker](std::exception_ptr e) {
            if (e) {
                if (!rs->exception) rs->exception = e;
                st->stopping = true;
                if (is_worker) {
                    // Fewer takers than sends to come: end the others through the channel.
                    rs->channel.cancel();
                    rs->channel.close();
                }
            }
            rs->ended();
        });
    };
    for (std::size_t i = 0; i < workers; ++i)
        asio::co_spawn(strand, worker(st, rs), on_end(true));
    asio::co_spawn(strand, ticker(st, rs), on_end(false));

    std::exception_ptr thrown;
    try {
        co_await produce(st, rs);
    } catch (...) {
        thrown = std::current_exception();
        st->stopping = true;
    }

    // The join: an empty id ends a worker; the ticker ends when its timer is cancelled.
    for (std::size_t i = 0; i < workers; ++i) {
        auto [ec] = co_await rs->channel.async_send(error_code{}, std::string(), tuple_awaitable);
        if (ec) break; // closed: the workers end by that
    }
    rs->ticking = false;
    rs->tick.cancel();
    while (rs->running > 0)
        co_await rs->all_ended.async_wait(tuple_awaitable);
    st->sample();

    if (auto f = out.flush(); !f && !rs->fatal) rs->fatal = f.get_failure();
    if (thrown) std::rethrow_exception(thrown);
    if (rs->exception) std::rethrow_exception(rs->exception);
    sweep_summary summary;
    summary.progress = st->snapshot();
    summary.interrupted = st->stopping && !rs->fatal;
    if (st->opts.on_progress) st->opts.on_progress(summary.progress);
    if (rs->fatal) co_return *rs->fatal;
    co_return summary;
}

} // namespace

asio::awaitable<result<sweep_summary>> sweep::run(id_source& ids, sweep_sink& out) {
    auto st = state_;
    if (st->running.exchange(true))
        co_return make_failure(client_errc::invalid_argument, "sweep: already running");

    // The caller's cancellation is taken as stop(), and only that: the run itself is not given the
    // caller's slot, so nothing of it is torn down while its calls are in flight. (The handler
    // only sets an atomic flag: safe from whichever thread cancels.)
    asio::cancellation_slot slot = (co_await asio::this_coro::cancellation_state).slot();
    if (slot.is_connected())
        slot.assign([st](asio::cancellation_type type) {
            if (type != asio::cancellation_type::none) st->stopping = true;
        });
    result<sweep_summary> r;
    std::exception_ptr thrown;
    try {
        r = co_await asio::co_spawn(
            st->strand, run_on_strand(st, ids, out),
            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
    } catch (...) {
        thrown = std::current_exception();
    }
    if (slot.is_connected()) slot.clear();
    st->running = false;
    if (thrown) std::rethrow_exception(thrown);
    co_return r;
}

} // namespace codef
