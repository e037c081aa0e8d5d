// The sweep engine: a producer reads connectedIds into a bounded channel, workers call the product
// and hand each connectedId's items to the sink. Everything but the calls themselves runs on the
// sweep's strand.
#include <codef/sweep.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
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

class file_ids : public id_source {
public:
    file_ids(std::ifstream in, std::uint64_t total)
        : in_(std::move(in))
        , total_(total) {}
    asio::awaitable<result<std::vector<std::string>>> next(std::size_t max) override {
        std::vector<std::string> out;
        std::string line;
        while (out.size() < max && std::getline(in_, line)) {
            while (!line.empty() &&
                   (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
                line.pop_back();
            const auto start = line.find_first_not_of(" \t");
            if (start == std::string::npos || line[start] == '#') continue;
            out.push_back(line.substr(start));
        }
        co_return out;
    }
    std::optional<std::uint64_t> size() const override { return total_; }

private:
    std::ifstream in_;
    std::uint64_t total_;
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
    std::ifstream count(path);
    if (!count) return make_failure(client_errc::invalid_argument, path + ": cannot be read");
    std::uint64_t total = 0;
    std::string line;
    while (std::getline(count, line)) {
        const auto start = line.find_first_not_of(" \t\r");
        if (start != std::string::npos && line[start] != '#') ++total;
    }
    std::ifstream in(path);
    if (!in) return make_failure(client_errc::invalid_argument, path + ": cannot be read");
    return std::unique_ptr<id_source>(std::make_unique<file_ids>(std::move(in), total));
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
std::optional<std::string_view> field(std::string_view line, std::string_view pattern) {
    const auto at = line.find(pattern);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(at + pattern.size());
    if (!rest.empty() && rest.front() == '"') {
        const auto end = rest.find('"', 1);
        if (end == std::string_view::npos) return std::nullopt;
        return rest.substr(1, end - 1);
    }
    const auto end = rest.find_first_of(",}");
    if (end == std::string_view::npos) return std::nullopt;
    return rest.substr(0, end);
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

result<std::unique_ptr<ndjson_sink>> ndjson_sink::open(const std::string& path) {
    std::unique_ptr<ndjson_sink> s(new ndjson_sink());
    s->path_ = path;
    s->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd_ < 0)
        return make_failure(client_errc::invalid_argument,
                            path + ": cannot be opened: " + std::strerror(errno));

    // Read what an earlier run wrote. Lines end in '\n' (JSON strings escape newlines), so a
    // line without one was torn by a kill; a group with fewer lines than it announces was too.
    std::string buf;
    std::uint64_t offset = 0;   // of buf's first byte in the file
    std::uint64_t good_end = 0; // end of the last complete group
    std::string group_id;
    std::uint64_t group_size = 0, group_seen = 0;
    char chunk[1 << 16];
    bool corrupt = false;
    for (;;) {
        const ssize_t n =
            ::pread(s->fd_, chunk, sizeof chunk, static_cast<off_t>(offset + buf.size()));
        if (n < 0)
            return make_failure(client_errc::invalid_argument,
                                path + ": cannot be read: " + std::strerror(errno));
        if (n == 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; !corrupt && (nl = buf.find('\n', start)) != std::string::npos;
             start = nl + 1) {
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
            if (group_seen == 0 || *id != group_id) {
                group_id = std::string(*id); // a new group; an unfinished previous one stays out
                group_size = g;
                group_seen = 0;
            }
            if (++group_seen == group_size) {
                s->done_.push_back(id_key(group_id));
                good_end = offset + nl + 1;
                group_seen = 0;
            }
        }
        if (corrupt) break;
        offset += start;
        buf.erase(0, start);
    }
    struct stat st {};
    ::fstat(s->fd_, &st);
    if (static_cast<std::uint64_t>(st.st_size) > good_end) {
        s->bytes_cut_ = static_cast<std::uint64_t>(st.st_size) - good_end;
        if (::ftruncate(s->fd_, static_cast<off_t>(good_end)) != 0)
            return make_failure(client_errc::invalid_argument,
                                path + ": cannot be truncated: " + std::strerror(errno));
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
    std::string text;
    for (const auto& item : items) {
        text += line(item, items.size());
        text += '\n';
    }
    // One write for the whole group; a short write goes on where it stopped.
    std::size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return make_failure(client_errc::invalid_argument,
                                path_ + ": cannot be written: " + std::strerror(errno));
        off += static_cast<std::size_t>(n);
    }
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
    item.data = std::move(r->data);
    return item;
}

asio::awaitable<std::vector<sweep_item>> sweep::state::process(std::string connected_id) {
    std::vector<sweep_item> out;
    if (!plan.per_organization) {
        json::object params = plan.params;
        params["connectedId"] = connected_id;
        out.push_back(call(connected_id, "",
                           co_await cl.try_request(plan.path, std::move(params), opts.call)));
        co_return out;
    }
    auto accounts = co_await cl.list_accounts(connected_id, opts.call);
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
        out.push_back(call(connected_id, org,
                           co_await cl.try_request(plan.path, std::move(params), opts.call)));
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

// The run itself, on the sweep's strand.
asio::awaitable<result<sweep_summary>> run_on_strand(std::shared_ptr<sweep::state> st,
                                                     id_source& ids, sweep_sink& out) {
    auto strand = co_await asio::this_coro::executor;
    const std::size_t workers = st->opts.concurrency;
    id_channel channel(strand, workers * 2);
    st->started = std::chrono::steady_clock::now();
    st->ids_total = ids.size();
    st->sample();

    std::optional<failure> fatal; // the source or the sink failed
    std::size_t running = workers;
    asio::steady_timer all_done(strand, std::chrono::steady_clock::time_point::max());

    // Workers: take a connectedId, process it, write its items. An empty id ends a worker.
    auto worker = [&]() -> asio::awaitable<void> {
        for (;;) {
            auto [ec, id] = co_await channel.async_receive(tuple_awaitable);
            if (ec || id.empty()) break;
            if (st->stopping || fatal) continue; // taken but not started: the resume does it
            ++st->in_flight;
            std::vector<sweep_item> items;
            try {
                items = co_await st->process(id);
            } catch (const std::exception& e) {
                // Whatever went wrong, the connectedId gets its line: nothing is lost silently.
                sweep_item item;
                item.connected_id = id;
                item.status = item_status::failed;
                item.error = make_error_code(boost::system::errc::state_not_recoverable);
                item.diag.detail = e.what();
                items = {std::move(item)};
            }
            --st->in_flight;
            if (fatal) continue;
            if (auto w = out.write(items); !w) {
                fatal = w.get_failure();
                st->stopping = true;
                continue;
            }
            for (const auto& item : items) {
                ++st->items;
                switch (item.status) {
                case item_status::ok:
                    ++st->ok;
                    break;
                case item_status::business_error:
                    ++st->business_errors;
                    break;
                case item_status::failed:
                    ++st->failed;
                    break;
                case item_status::no_match:
                    ++st->no_match;
                    break;
                }
            }
            ++st->ids_done;
        }
        if (--running == 0) all_done.cancel();
    };
    for (std::size_t i = 0; i < workers; ++i)
        asio::co_spawn(strand, worker(), asio::detached);

    // Progress, at the interval asked for.
    asio::steady_timer tick(strand);
    asio::steady_timer ticker_done(strand, std::chrono::steady_clock::time_point::max());
    bool ticking = true, ticker_ended = false;
    auto ticker = [&]() -> asio::awaitable<void> {
        while (ticking) {
            tick.expires_after(st->opts.progress_interval);
            co_await tick.async_wait(tuple_awaitable);
            st->sample();
            if (ticking && st->opts.on_progress) st->opts.on_progress(st->snapshot());
        }
        ticker_ended = true;
        ticker_done.cancel();
    };
    asio::co_spawn(strand, ticker(), asio::detached);

    // The producer: ids from the source into the channel, skipping those already done.
    while (!st->stopping) {
        auto batch = co_await ids.next(1000);
        if (!batch) {
            fatal = batch.get_failure();
            break;
        }
        if (batch->empty()) break;
        for (auto& id : *batch) {
            if (st->stopping) break;
            if (id.empty()) continue;
            if (st->opts.skip && st->opts.skip(id)) {
                ++st->ids_skipped;
                continue;
            }
            co_await channel.async_send(error_code{}, std::move(id), tuple_awaitable);
        }
    }
    for (std::size_t i = 0; i < workers; ++i)
        co_await channel.async_send(error_code{}, std::string(), tuple_awaitable);
    if (running > 0) co_await all_done.async_wait(tuple_awaitable);
    ticking = false;
    tick.cancel();
    if (!ticker_ended) co_await ticker_done.async_wait(tuple_awaitable);
    st->sample();

    if (auto f = out.flush(); !f && !fatal) fatal = f.get_failure();
    sweep_summary summary;
    summary.progress = st->snapshot();
    summary.interrupted = st->stopping && !fatal;
    if (st->opts.on_progress) st->opts.on_progress(summary.progress);
    if (fatal) co_return *fatal;
    co_return summary;
}

} // namespace

asio::awaitable<result<sweep_summary>> sweep::run(id_source& ids, sweep_sink& out) {
    auto st = state_;
    if (st->running.exchange(true))
        co_return make_failure(client_errc::invalid_argument, "sweep: already running");
    auto r = co_await asio::co_spawn(st->strand, run_on_strand(st, ids, out), asio::use_awaitable);
    st->running = false;
    co_return r;
}

} // namespace codef
