/// @file
/// @brief Batch sweeps: for every connectedId from a source, call a product (once, or once per
/// registered organization), at a bounded concurrency, writing each outcome to a sink. Memory is
/// bounded by the concurrency, not by the number of connectedIds; a failing item never stops the
/// sweep; an interrupted sweep resumes from its output file (ndjson_sink) with every item exactly
/// once.
#pragma once

#include <codef/client.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace codef {

/// Where connectedIds come from.
class id_source {
public:
    virtual ~id_source() = default; ///< destroyed through the base
    /// Up to max ids; an empty vector at the end.
    virtual boost::asio::awaitable<result<std::vector<std::string>>> next(std::size_t max) = 0;
    /// How many there are, when known (for the ETA).
    virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
};

/// Every connectedId of the credentials, page by page (client::connected_ids). The source refers
/// to c: it must not outlive it.
std::unique_ptr<id_source> listing_source(client& c, call_options opts = {});
/// The longest line file_source accepts, in bytes (the newline not counted); connectedIds are
/// about 22 characters.
constexpr std::size_t max_id_line = 4096;
/// The connectedIds of a file: one connectedId a line (blank lines and lines starting with '#'
/// are skipped), read as needed. A line longer than max_id_line (connectedIds are about 22
/// characters) is refused with client_errc::invalid_argument naming the file and the line
/// number. The file is read through once first, to count the ids (for the ETA) and to check
/// every line before anything is sent.
result<std::unique_ptr<id_source>> file_source(const std::string& path);
/// The connectedIds of a list, in order.
std::unique_ptr<id_source> list_source(std::vector<std::string> ids);

/// What a sweep calls for each connectedId.
struct sweep_plan {
    std::string path;             ///< the product
    boost::json::object params{}; ///< sent with connectedId (and organization) added
    /// Two steps: list the connectedId's accounts, then one call per registered organization
    /// (filtered by business and client type when set) with organization set.
    bool per_organization = false;
    std::string business_type{}; ///< e.g. "BK"; empty: any
    std::string client_type{};   ///< e.g. "P"; empty: any
};

/// How one item of a sweep ended.
enum class item_status {
    ok,             ///< CF-00000
    business_error, ///< another CODEF code, kept
    failed,         ///< no usable reply after retries (error holds why)
    no_match,       ///< per organization: no registered organization passes the filters
};
/// The name of s, as spelled in item_status: "ok", "business_error", "failed", "no_match".
const char* to_string(item_status s) noexcept;

/// One outcome of a sweep: one call, or a connectedId with no organization to call.
struct sweep_item {
    std::string connected_id;             ///< the connectedId
    std::string organization{};           ///< per-organization plans
    item_status status = item_status::ok; ///< how it ended
    /// @var std::string code
    /// CODEF's result code
    /// @var std::string message
    /// CODEF's message
    /// @var std::string extra_message
    /// CODEF's extra message
    std::string code{}, message{}, extra_message{};
    boost::json::value data{}; ///< the reply's data (ok, business_error)
    error_code error{};        ///< failed
    diagnostics diag{};        ///< failed
};

/// Where outcomes go: all items of one connectedId at once, from one coroutine at a time.
class sweep_sink {
public:
    virtual ~sweep_sink() = default; ///< destroyed through the base
    /// Writes the items of one connectedId. A failure stops the sweep (sweep::run fails with it).
    virtual result<std::monostate> write(std::span<const sweep_item> items) = 0;
    /// Makes what was written durable; the sweep calls it once, at the end of run(). Does nothing
    /// unless overridden.
    virtual result<std::monostate> flush() { return std::monostate{}; }
};

/// How ndjson_sink::open treats the file it finds.
struct ndjson_options {
    /// A connectedId with a failed item (no usable reply after retries) is not done: its group is
    /// removed from the file when it is opened, and the sweep calls it again. false: it is done
    /// (kept as it is, skipped). business_error items are final either way.
    bool retry_failed = true;
};

/// The resumable output: NDJSON, one line per item, the items of one connectedId in one write.
/// The file is created with mode 0600 (it holds financial data). Opening an existing file reads
/// it first: a torn last line or an incomplete group (a process killed in the middle of a write)
/// is cut off, and the connectedIds already done are remembered (16 bytes each) so that done()
/// lets a resumed sweep skip them. Groups with failed items are retried (see ndjson_options):
/// the file is then rewritten without them (a temporary file in the same directory, created
/// 0600, synced and renamed over it), so that every connectedId is in it once after the rerun.
class ndjson_sink : public sweep_sink {
public:
    /// Opens (or creates) the file at path for appending, after reading what it holds.
    static result<std::unique_ptr<ndjson_sink>> open(const std::string& path,
                                                     ndjson_options opts = {});
    ~ndjson_sink() override; ///< closes the file

    /// Whether the file held connected_id's items when it was opened (a sweep_options::skip).
    bool done(std::string_view connected_id) const;
    /// The connectedIds already done when the file was opened.
    std::uint64_t resumed_ids() const noexcept { return done_.size(); }
    std::uint64_t bytes_cut() const noexcept { return bytes_cut_; } ///< torn tail removed on open
    /// connectedIds whose failed groups were removed on open, to be called again.
    std::uint64_t failed_removed() const noexcept { return failed_removed_; }

    /// Appends the items' lines in one write.
    result<std::monostate> write(std::span<const sweep_item> items) override;
    result<std::monostate> flush() override; ///< fdatasync

    /// One item as its NDJSON line (without the newline).
    /// @param item The item.
    /// @param group The number of items of its connectedId, written in the line: how a reader
    ///              knows that a group is complete.
    static std::string line(const sweep_item& item, std::size_t group);

private:
    ndjson_sink() = default;
    int fd_ = -1;
    std::string path_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> done_; // sorted keys of done ids
    std::uint64_t bytes_cut_ = 0;
    std::uint64_t failed_removed_ = 0;
};

/// The same NDJSON lines to a descriptor the sink does not own (stdout, a pipe), each group in
/// one write. Nothing to resume from: a rerun calls every connectedId again.
class ndjson_stream_sink : public sweep_sink {
public:
    /// A sink writing to fd; name: what error messages call it ("stdout").
    ndjson_stream_sink(int fd, std::string name)
        : fd_(fd)
        , name_(std::move(name)) {}
    /// Writes the items' lines in one write.
    result<std::monostate> write(std::span<const sweep_item> items) override;

private:
    int fd_;
    std::string name_;
};

/// Where a sweep is: counts of connectedIds and items, and the pace.
struct sweep_progress {
    std::uint64_t ids_done = 0;    ///< this run
    std::uint64_t ids_skipped = 0; ///< already in the output (resumed)
    std::uint64_t items = 0;       ///< items written, this run
    /// @var std::uint64_t ok
    /// items with item_status::ok
    /// @var std::uint64_t business_errors
    /// items with item_status::business_error
    /// @var std::uint64_t failed
    /// items with item_status::failed
    /// @var std::uint64_t no_match
    /// items with item_status::no_match
    std::uint64_t ok = 0, business_errors = 0, failed = 0, no_match = 0;
    std::uint64_t in_flight = 0;            ///< connectedIds being processed now
    std::optional<std::uint64_t> ids_total; ///< when the source knows
    double rate = 0;                        ///< ids per second, over the last few seconds
    /// The time left at the current rate, when ids_total and a rate are known.
    std::optional<std::chrono::seconds> eta;
    std::chrono::steady_clock::duration elapsed{}; ///< since run() started
};

/// How a sweep runs.
struct sweep_options {
    std::size_t concurrency = 16; ///< connectedIds processed at once (0 counts as 1)
    /// The options of every call. Without a tag of its own, each call is tagged with its
    /// connectedId (observer.hpp: its events and log lines carry it).
    call_options call{};
    std::function<void(const sweep_progress&)> on_progress{}; ///< on the sweep's strand
    /// How often on_progress is called (at least 10 ms apart); it is called once more at the end.
    std::chrono::milliseconds progress_interval{250};
    std::function<bool(std::string_view connected_id)> skip{}; ///< e.g. ndjson_sink::done
};

/// What a run came to.
struct sweep_summary {
    sweep_progress progress;  ///< the progress at the end
    bool interrupted = false; ///< stop() was called, or run() was cancelled: resumable
};

/// A batch sweep: for every connectedId from an id_source, the plan's calls, at a bounded
/// concurrency, each connectedId's items written to a sweep_sink.
class sweep {
public:
    /// A sweep of plan with c. The sweep refers to c: c must outlive it.
    sweep(client& c, sweep_plan plan, sweep_options opts = {});
    ~sweep();                                ///< Destroys the sweep.
    sweep(const sweep&) = delete;            ///< not copyable
    sweep& operator=(const sweep&) = delete; ///< not copyable

    /// Runs until the source is exhausted or stop() is called. Fails only when the source or the
    /// sink fails (items that fail are items); calls in flight finish within their deadline.
    /// Cancelling the coroutine that awaits run() (terminal cancellation: a cancellation_signal,
    /// awaitable_operators' ||) acts as stop(): no new connectedIds, the calls in flight finish
    /// and are written, then run() completes with interrupted set. run() never completes,
    /// whichever way, while a call of its own is still in flight: ids and out need only outlive
    /// it. One run at a time: a second concurrent run() fails with client_errc::invalid_argument.
    boost::asio::awaitable<result<sweep_summary>> run(id_source& ids, sweep_sink& out);

    /// Stop taking new connectedIds. Safe from any thread and from a signal handler's strand.
    void stop() noexcept;
    /// Where the sweep is now.
    sweep_progress progress() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

} // namespace codef
