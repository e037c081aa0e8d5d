/// @file
/// @brief Beyond one process, on PostgreSQL (the optional library codef::fleet): one access token
/// for a whole fleet of clients (pg_token_store), and sweeps shared by many worker processes
/// (worker and the job functions). libpq is driven asynchronously on Asio: no wait blocks a
/// thread, and every wait is bounded by a deadline.
#pragma once

#include <codef/sweep.hpp>
#include <codef/token_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace codef::fleet {

/// What went wrong with the database (category "codef.fleet").
enum class fleet_errc {
    database_unreachable = 1, ///< no connection to PostgreSQL, or it was lost
    database_error,           ///< PostgreSQL refused a statement; detail holds its SQLSTATE
    no_such_job,              ///< no job of that name
    job_mismatch,             ///< the job exists with another plan; detail names the difference
};
/// The category of fleet_errc, "codef.fleet".
const boost::system::error_category& fleet_category() noexcept;
/// e as an error_code of fleet_category().
inline error_code make_error_code(fleet_errc e) noexcept {
    return {static_cast<int>(e), fleet_category()};
}
/// Writes e's message, category and value, as error_code::what() gives them.
std::ostream& operator<<(std::ostream& os, fleet_errc e);

/// Where a pg_token_store keeps its token.
struct pg_token_store_options {
    /// libpq's connection URI or string, e.g. `postgresql://codef@db.internal/codef`. Its
    /// password is never shown; prefer ~/.pgpass or PGPASSWORD.
    std::string uri;
    /// The token's row: one per CODEF client (client id and environment). Clients sharing a key
    /// share a token; clients of different credentials must not.
    std::string key = "default";
    /// How long the listener waits before reconnecting after losing the database at first; the
    /// wait doubles after each failure, up to reconnect_max.
    std::chrono::milliseconds reconnect_min{200};
    std::chrono::milliseconds reconnect_max{10000}; ///< the longest wait before reconnecting
};

/// A token_store in PostgreSQL, shared by every process that uses the same database and key.
///
/// A refresh takes a transaction-scoped advisory lock on the key, reads the row again (another
/// process may have refreshed while this one waited: then it takes that token) and only then
/// asks CODEF; the new token is written and announced with NOTIFY in the same transaction, and
/// every store that LISTENs tells its clients, which switch before CODEF refuses the old one.
/// One token request at a time across the fleet. The NOTIFY carries the key, never the token.
///
/// When the database cannot be reached by the refresh's deadline (or fails), the client issues a
/// token of its own, and the refresh event's store_note says why. Waiting for another process's
/// refresh is bounded by the refresh's deadline (lock_timeout). The table, codef_token, is
/// created when missing.
class pg_token_store final : public token_store {
public:
    /// A store whose listener runs on ex (a strand of it) until the store is destroyed. Like any
    /// I/O object, the store (and every client holding it) goes before ex's execution context.
    static std::shared_ptr<pg_token_store> make(boost::asio::any_io_executor ex,
                                                pg_token_store_options opts);
    ~pg_token_store() override; ///< stops the listener

    /// The token last seen (read, issued or announced), if any; never waits on the database.
    std::optional<token_info> load() override;
    /// Keeps t here and writes it to the database (in the background) with its announcement.
    void save(const token_info& t) override;
    /// One refresh at a time across the fleet (see the class).
    boost::asio::awaitable<result<token_outcome>> refresh(token_request req,
                                                          issue_function issue) override;
    /// Tells listener of tokens announced by others.
    void subscribe(std::weak_ptr<token_listener> listener) override;

    /// Whether the listener is connected and listening now.
    bool listening() const noexcept;

    struct state;

private:
    explicit pg_token_store(std::shared_ptr<state> st);
    std::shared_ptr<state> state_;
};

/// How a worker takes part in a job (worker).
struct worker_options {
    std::size_t concurrency = 16; ///< connectedIds processed at once by this worker
    /// connectedIds claimed at once (one transaction), and recorded at once: the results wait
    /// for a batch's worth, or at most 200 ms, before they go to the database in one statement.
    std::size_t batch = 100;
    /// How long a claim is this worker's; renewed every third of it while the worker lives. A
    /// worker that dies leaves its connectedIds to others once the lease runs out.
    std::chrono::milliseconds lease{30000};
    /// How long one database operation (claim, commit) may take, reconnecting with backoff,
    /// before the worker gives up: a database down longer than this ends the worker, which can be
    /// started again.
    std::chrono::milliseconds database_patience{60000};
    std::string worker_id{};                                  ///< empty: host name and process id
    call_options call{};                                      ///< as sweep_options::call
    std::function<void(const sweep_progress&)> on_progress{}; ///< as sweep_options::on_progress
    std::chrono::milliseconds progress_interval{250};         ///< as sweep_options
};

/// What a worker's run came to.
struct worker_summary {
    sweep_progress progress;  ///< this worker's part
    bool created = false;     ///< this worker created the job
    bool loaded = false;      ///< this worker loaded (some of) its connectedIds
    bool interrupted = false; ///< stopped before the job ran out of work
};

/// Where a job stands (job_status).
struct job_status {
    std::string name;                ///< the job's name
    std::string path;                ///< its product's path
    std::string state;               ///< "loading", "ready" or "cancelled"
    std::uint64_t total = 0;         ///< connectedIds loaded
    std::uint64_t pending = 0;       ///< not claimed, or whose lease ran out
    std::uint64_t in_flight = 0;     ///< claimed under a live lease
    std::uint64_t done = 0;          ///< recorded
    std::uint64_t failed = 0;        ///< recorded as failed (retry_failed calls them again)
    double rate = 0;                 ///< connectedIds recorded per second, over the last minute
    std::uint64_t workers_alive = 0; ///< workers seen within the last three lease renewals
    /// Nothing left: loaded, and nothing pending or in flight (or cancelled).
    bool finished() const noexcept {
        return state == "cancelled" || (state == "ready" && pending == 0 && in_flight == 0);
    }
};
/// status as one JSON object.
boost::json::object to_json(const job_status& status);

/// A job's plan and its connectedIds' source, for the worker that creates it.
struct job_definition {
    std::string name; ///< the job's name
    sweep_plan plan;  ///< what each connectedId is called with
    id_source* ids;   ///< where the connectedIds come from (loaded by the first worker)
};

/// A worker of a distributed sweep: takes part in job def.name in the database at uri.
///
/// run() creates the job with def.plan and loads def.ids if it does not exist (a worker that
/// finds it half loaded by a worker that died loads the rest), else joins it, refusing
/// (fleet_errc::job_mismatch) a plan that differs. Then it claims connectedIds in batches, calls
/// them as a sweep would, and records each connectedId's items in the statement that marks it
/// done (a batch of connectedIds at a time), guarded by the lease: each result is recorded once,
/// even when a worker is killed or outlives its lease. It returns when the job has nothing left
/// (waiting for the leases of others to end or run out), or after stop().
class worker {
public:
    /// A worker for def with c; c and def.ids must outlive run().
    worker(client& c, std::string uri, job_definition def, worker_options opts = {});
    ~worker();                                 ///< Destroys the worker.
    worker(const worker&) = delete;            ///< not copyable
    worker& operator=(const worker&) = delete; ///< not copyable

    /// Works until the job has nothing left, stop() is called or the database is gone for longer
    /// than worker_options::database_patience. What this worker holds and has not called goes
    /// back to the queue before it returns.
    boost::asio::awaitable<result<worker_summary>> run();
    /// Stop claiming; the calls in flight finish and are recorded. Safe from any thread.
    void stop() noexcept;
    /// This worker's progress now.
    sweep_progress progress() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

/// The status of job name.
boost::asio::awaitable<result<job_status>> status_of_job(std::string uri, std::string name,
                                                         std::chrono::milliseconds timeout);
/// Every job's status, by name.
boost::asio::awaitable<result<std::vector<job_status>>>
list_jobs(std::string uri, std::chrono::milliseconds timeout);
/// Writes the job's recorded items to fd as NDJSON, in the lines of a local sweep (ndjson_sink),
/// in the order the connectedIds were loaded; returns the number of lines.
boost::asio::awaitable<result<std::uint64_t>> export_job(std::string uri, std::string name, int fd,
                                                         std::chrono::milliseconds timeout);
/// Puts the job's failed connectedIds back in the queue (their records go); returns how many.
boost::asio::awaitable<result<std::uint64_t>> retry_failed(std::string uri, std::string name,
                                                           std::chrono::milliseconds timeout);
/// Cancels the job: workers stop claiming and exit once their batches are recorded.
boost::asio::awaitable<result<std::monostate>> cancel_job(std::string uri, std::string name,
                                                          std::chrono::milliseconds timeout);

} // namespace codef::fleet

namespace boost::system {
/// Makes codef::fleet::fleet_errc an error_code enum.
template <>
struct is_error_code_enum<codef::fleet::fleet_errc> : std::true_type {};
} // namespace boost::system
