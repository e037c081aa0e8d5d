// Distributed sweeps: a job (its plan) and its items (connectedIds) in PostgreSQL. Workers claim
// items in batches (FOR UPDATE SKIP LOCKED, under a lease), call them with codef::sweep, and
// record each connectedId's lines in the statement that marks it done, guarded by the lease: an
// item is recorded once, by the worker that held it, even when a worker dies or its lease ran out
// and another took the item over. Every statement is one transaction of its own, so that one
// lost with its connection (a database restart) can be sent again on a new one.
#include <codef/fleet.hpp>

#include "fleet/pg.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace codef::fleet {

using detail::pg_connection;
using detail::pg_rows;
using detail::pg_value;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view schema = R"(BEGIN;
SELECT pg_advisory_xact_lock(hashtext('codef_job_schema'));
CREATE TABLE IF NOT EXISTS codef_job (
    name text PRIMARY KEY,
    plan jsonb NOT NULL,
    state text NOT NULL DEFAULT 'loading' CHECK (state IN ('loading', 'ready', 'cancelled')),
    total bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS codef_job_item (
    job text NOT NULL REFERENCES codef_job (name) ON DELETE CASCADE,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    connected_id text NOT NULL,
    state smallint NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    finished_at timestamptz,
    PRIMARY KEY (job, seq),
    UNIQUE (job, connected_id));
CREATE INDEX IF NOT EXISTS codef_job_item_open ON codef_job_item (job, seq) WHERE state < 2;
CREATE TABLE IF NOT EXISTS codef_job_result (
    job text NOT NULL,
    seq bigint NOT NULL,
    n integer NOT NULL,
    connected_id text NOT NULL,
    status text NOT NULL,
    line text NOT NULL,
    PRIMARY KEY (job, seq, n),
    FOREIGN KEY (job, seq) REFERENCES codef_job_item (job, seq) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS codef_job_worker (
    job text NOT NULL REFERENCES codef_job (name) ON DELETE CASCADE,
    worker text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now(),
    lease_ms bigint NOT NULL,
    done bigint NOT NULL DEFAULT 0,
    gone boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job, worker));
COMMIT)";

constexpr std::string_view create_job =
    "INSERT INTO codef_job (name, plan) VALUES ($1, $2::jsonb) ON CONFLICT (name) DO NOTHING "
    "RETURNING state";

constexpr std::string_view read_job = "SELECT state, plan::text FROM codef_job WHERE name = $1";

constexpr std::string_view load_ids = "INSERT INTO codef_job_item (job, connected_id) "
                                      "SELECT $1::text, x FROM json_array_elements_text($2::json) "
                                      "WITH ORDINALITY AS a(x, i) ORDER BY i "
                                      "ON CONFLICT (job, connected_id) DO NOTHING";

constexpr std::string_view loaded = "UPDATE codef_job SET state = 'ready', "
                                    "total = (SELECT count(*) FROM codef_job_item WHERE job = $1) "
                                    "WHERE name = $1 AND state = 'loading'";

// $1 job, $2 worker, $3 how many, $4 lease in ms, $5 the seq to look after. Updated rows leave
// dead entries in the index until a vacuum: a scan from the queue's head would step over every
// item done so far, so a worker looks on from where its last claim ended, and from the head only
// when nothing is left there (for ids given back, or whose lease ran out).
constexpr std::string_view claim =
    "WITH c AS (SELECT seq FROM codef_job_item "
    "WHERE job = $1 AND seq > $5::text::bigint AND state < 2 "
    "AND (state = 0 OR lease_until < now()) "
    "AND NOT EXISTS (SELECT 1 FROM codef_job WHERE name = $1 AND state = 'cancelled') "
    "ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) "
    "UPDATE codef_job_item i SET state = 1, lease_owner = $2, "
    "lease_until = now() + $4::text::double precision * interval '1 millisecond', "
    "attempts = attempts + 1 "
    "FROM c WHERE i.job = $1 AND i.seq = c.seq RETURNING i.seq, i.connected_id";

// $1 job, $2 worker, $3 [{seq, failed}], $4 [{seq, n, status, line}]: only what the worker still
// holds is marked and recorded.
constexpr std::string_view record =
    "WITH g AS (SELECT * FROM json_to_recordset($3::json) AS g(seq bigint, failed boolean)), "
    "d AS (UPDATE codef_job_item i SET state = CASE WHEN g.failed THEN 3 ELSE 2 END, "
    "lease_owner = NULL, lease_until = NULL, finished_at = now() FROM g "
    "WHERE i.job = $1 AND i.seq = g.seq AND i.state = 1 AND i.lease_owner = $2 "
    "RETURNING i.seq, i.connected_id), "
    "l AS (SELECT * FROM json_to_recordset($4::json) AS l(seq bigint, n integer, status text, "
    "line json)), "
    "ins AS (INSERT INTO codef_job_result (job, seq, n, connected_id, status, line) "
    "SELECT $1::text, l.seq, l.n, d.connected_id, l.status, l.line::text FROM l "
    "JOIN d ON d.seq = l.seq "
    "ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM ins)";

// $1 job, $2 worker, $3 lease in ms, $4 done.
constexpr std::string_view heartbeat =
    "WITH r AS (UPDATE codef_job_item "
    "SET lease_until = now() + $3::text::double precision * interval '1 millisecond' "
    "WHERE job = $1 AND lease_owner = $2 AND state = 1 RETURNING 1) "
    "INSERT INTO codef_job_worker (job, worker, lease_ms, done) "
    "VALUES ($1, $2, $3::text::bigint, $4::text::bigint) "
    "ON CONFLICT (job, worker) DO UPDATE SET seen_at = now(), lease_ms = EXCLUDED.lease_ms, "
    "done = EXCLUDED.done, gone = false";

constexpr std::string_view release =
    "WITH r AS (UPDATE codef_job_item SET state = 0, lease_owner = NULL, lease_until = NULL "
    "WHERE job = $1 AND lease_owner = $2 AND state = 1 RETURNING 1) "
    "UPDATE codef_job_worker SET gone = true, seen_at = now() WHERE job = $1 AND worker = $2";

// $1: a job's name, or NULL for every job.
constexpr std::string_view status_query =
    "SELECT j.name, j.plan->>'path', j.state, count(i.seq), "
    "count(*) FILTER (WHERE i.state = 0 OR (i.state = 1 AND i.lease_until < now())), "
    "count(*) FILTER (WHERE i.state = 1 AND i.lease_until >= now()), "
    "count(*) FILTER (WHERE i.state = 2), count(*) FILTER (WHERE i.state = 3), "
    "(count(*) FILTER (WHERE i.state >= 2 AND i.finished_at > now() - interval '60 seconds'))"
    "::double precision / greatest(1, least(60, extract(epoch FROM now() - j.created_at))), "
    "(SELECT count(*) FROM codef_job_worker w WHERE w.job = j.name AND NOT w.gone "
    "AND w.seen_at > now() - w.lease_ms * interval '1 millisecond') "
    "FROM codef_job j LEFT JOIN codef_job_item i ON i.job = j.name "
    "WHERE $1::text IS NULL OR j.name = $1 GROUP BY j.name ORDER BY j.name";

// What a worker with nothing to claim waits on: the job's state, its open items, and how many of
// them this worker holds. Through the partial index of open items, which at a job's end are few:
// the whole job's counts (status_query) would read every item, each second, in every worker.
// $1 job, $2 worker.
constexpr std::string_view open_items =
    "SELECT j.state, count(i.seq), count(i.seq) FILTER (WHERE i.state = 1 AND i.lease_owner = $2) "
    "FROM codef_job j LEFT JOIN codef_job_item i ON i.job = j.name AND i.state < 2 "
    "WHERE j.name = $1 GROUP BY j.state";

bool retryable(const failure& f, const pg_connection* c) {
    if (f.code == fleet_errc::database_unreachable || f.code == transport_errc::timeout)
        return true;
    if (!c) return true;
    if (c->broken()) return true;
    const auto& s = c->sqlstate();
    // Connection exceptions, operator intervention (a shutdown or restart), and a serialization
    // failure or deadlock: worth sending again.
    return s.starts_with("08") || s.starts_with("57") || s == "40001" || s == "40P01";
}

// A connection that comes back: each statement is sent on a live connection, and sent again on
// a new one (after a backoff) when the database was lost, until patience runs out.
class database {
public:
    database(asio::any_io_executor ex, std::string uri, milliseconds patience)
        : ex_(std::move(ex))
        , uri_(std::move(uri))
        , patience_(patience) {}

    asio::awaitable<result<pg_rows>> query(std::string_view sql, std::span<const pg_value> params) {
        const auto give_up = steady::now() + patience_;
        auto backoff = milliseconds(100);
        for (;;) {
            const auto deadline = std::min(give_up, steady::now() + std::chrono::seconds(30));
            failure why;
            if (!conn_ || conn_->broken()) {
                conn_.reset();
                auto c = co_await pg_connection::connect(ex_, uri_, deadline);
                if (c) {
                    conn_ = std::move(*c);
                    if (auto s = co_await conn_->exec(schema, deadline); !s) {
                        why = s.get_failure();
                        conn_.reset();
                    }
                } else {
                    why = c.get_failure();
                }
            }
            if (conn_) {
                auto r = co_await conn_->query(sql, params, deadline);
                if (r) co_return r;
                why = r.get_failure();
                const bool again = retryable(why, conn_.get());
                conn_.reset(); // in an unknown state
                if (!again) co_return why;
            }
            if (steady::now() + backoff >= give_up) co_return why;
            asio::steady_timer t(ex_, backoff);
            co_await t.async_wait(tuple_awaitable);
            backoff = std::min(backoff * 2, milliseconds(2000));
        }
    }

    const std::string& uri() const { return uri_; }

private:
    asio::any_io_executor ex_;
    std::string uri_;
    milliseconds patience_;
    std::unique_ptr<pg_connection> conn_;
};

std::uint64_t number(const pg_rows& r, std::size_t row, std::size_t col) {
    const auto& t = r.text(row, col);
    return t.empty() ? 0 : std::stoull(t);
}

// Statement parameters, made before a co_await (g++ 12 mishandles braced temporaries there).
template <class... T>
std::vector<pg_value> args(T&&... v) {
    std::vector<pg_value> out;
    out.reserve(sizeof...(T));
    (out.emplace_back(std::forward<T>(v)), ...);
    return out;
}

json::object plan_json(const sweep_plan& p) {
    return {{"path", p.path},
            {"params", p.params},
            {"perOrganization", p.per_organization},
            {"businessType", p.business_type},
            {"clientType", p.client_type}};
}

std::vector<job_status> statuses_of(const pg_rows& r) {
    std::vector<job_status> out;
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
        job_status s;
        s.name = r.text(i, 0);
        s.path = r.text(i, 1);
        s.state = r.text(i, 2);
        s.total = number(r, i, 3);
        s.pending = number(r, i, 4);
        s.in_flight = number(r, i, 5);
        s.done = number(r, i, 6);
        s.failed = number(r, i, 7);
        s.rate = r.text(i, 8).empty() ? 0 : std::stod(r.text(i, 8));
        s.workers_alive = number(r, i, 9);
        out.push_back(std::move(s));
    }
    return out;
}

std::string default_worker_id() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid());
}

// What a worker holds: the connectedIds claimed and not yet recorded, and the groups written by
// the sweep and waiting to be recorded. Shared by the sweep's strand (source and sink) and the
// recorder.
struct holdings {
    std::mutex mutex;
    std::unordered_map<std::string, std::int64_t> seq_of; // claimed, not yet written
    // Written, not yet recorded: the elements of two JSON arrays, without their brackets. Each
    // line goes in as the JSON it is (a json value, not a string: not escaped twice), and
    // PostgreSQL's json type keeps its text as it came.
    std::string groups, lines;
    std::size_t ready = 0; // groups
    std::uint64_t recorded = 0;
};

} // namespace

struct worker::state {
    state(client& c, asio::any_io_executor ex, std::string uri, job_definition d, worker_options o)
        : client_(c)
        , prefetch_done(ex)
        , db(ex, uri, o.database_patience)
        , recorder_db(ex, uri, o.database_patience)
        , def(std::move(d))
        , opts(std::move(o))
        , strand(asio::make_strand(ex))
        , wake(strand) {}

    client& client_;
    std::atomic<bool> stopping{false};
    std::unique_ptr<codef::sweep> sweep; // while run() runs
    // The claims, on the sweep's strand: where the next one looks from, and the one made ahead.
    std::int64_t cursor = 0;
    std::atomic<bool> prefetching{false}; // set after prefetched
    std::optional<result<std::vector<std::string>>> prefetched;
    asio::steady_timer prefetch_done; // on the sweep's strand: cancelled when a prefetch ends

    database db;          // claims, loading, status
    database recorder_db; // records and heartbeats
    job_definition def;
    worker_options opts;
    std::string worker;
    holdings held;
    asio::strand<asio::any_io_executor> strand; // the recorder's
    asio::steady_timer wake;                    // the recorder's, on its strand
    std::atomic<bool> sweep_over{false};
    // The recorder's failure ends the worker: set once, before has_fatal.
    failure fatal;
    std::atomic<bool> has_fatal{false};
    void fail(failure f) {
        fatal = std::move(f);
        has_fatal = true;
    }
    bool loaded_some = false;
};

namespace {
using worker_state = worker::state;

// One claim: the connectedIds claimed that this worker did not hold already. Empty: nothing was
// there to claim, from the worker's cursor on nor from the head.
asio::awaitable<result<std::vector<std::string>>> claim_once(worker_state& st) {
    for (;;) {
        const auto p =
            args(st.def.name, st.worker, std::to_string(std::max<std::size_t>(st.opts.batch, 1)),
                 std::to_string(st.opts.lease.count()), std::to_string(st.cursor));
        auto r = co_await st.db.query(claim, p);
        if (!r) co_return r.get_failure();
        if (r->empty() && st.cursor > 0) {
            st.cursor = 0; // from the head, once
            continue;
        }
        std::vector<std::string> ids;
        std::lock_guard lock(st.held.mutex);
        for (std::size_t i = 0; i < r->rows.size(); ++i) {
            st.cursor = std::max<std::int64_t>(st.cursor, std::stoll(r->text(i, 0)));
            // One this worker holds already (its lease ran out while the database was away, and
            // it took it again) is being called: not twice.
            auto [it, fresh] = st.held.seq_of.try_emplace(r->text(i, 1), std::stoll(r->text(i, 0)));
            if (fresh) ids.push_back(it->first);
        }
        if (ids.empty() && !r->empty()) continue;
        co_return ids;
    }
}

// The next claim, made while the sweep calls the current one: the calls do not wait for the
// database between batches. On the sweep's strand, like next().
asio::awaitable<void> prefetch(std::shared_ptr<worker_state> st) {
    auto got = co_await claim_once(*st);
    st->prefetched = std::move(got);
    st->prefetching = false;
    st->prefetch_done.cancel();
}

// The connectedIds of the job, from the queue.
class queue_source final : public id_source {
public:
    explicit queue_source(std::shared_ptr<worker_state> st)
        : st_(std::move(st)) {}

    asio::awaitable<result<std::vector<std::string>>> next(std::size_t) override {
        auto& st = *st_;
        const auto ex = co_await asio::this_coro::executor;
        const auto poll = std::clamp(st.opts.lease / 4, milliseconds(50), milliseconds(1000));
        for (;;) {
            if (st.has_fatal || st.stopping) co_return std::vector<std::string>{};
            auto r = co_await take();
            if (!r) co_return r.get_failure();
            if (!r->empty()) {
                if (!st.stopping) {
                    st.prefetching = true;
                    asio::co_spawn(ex, prefetch(st_), asio::detached);
                }
                co_return std::move(*r);
            }
            // Nothing to claim: the job may be over, or held by others (whose leases may run out),
            // or still loading (by a worker that may have died), or left only to this worker's
            // own calls in flight (recorded within moments: looked at again soon).
            const auto p = args(st.def.name, st.worker);
            auto o = co_await st.db.query(open_items, p);
            if (!o) co_return o.get_failure();
            if (o->empty())
                co_return make_failure(fleet_errc::no_such_job, "job " + st.def.name + " is gone");
            const std::string state = o->text(0, 0);
            const auto open = number(*o, 0, 1), mine = number(*o, 0, 2);
            if (state == "cancelled" || (state == "ready" && open == 0))
                co_return std::vector<std::string>{};
            if (state == "loading" && st.def.ids) {
                auto l = co_await take_over_loading();
                if (!l) co_return l.get_failure();
            }
            asio::steady_timer t(ex, open > 0 && open == mine ? std::min(poll, milliseconds(100))
                                                              : poll);
            co_await t.async_wait(tuple_awaitable);
        }
    }

private:
    // Waits for a prefetch still running, on the sweep's strand.
    asio::awaitable<void> settle() {
        while (st_->prefetching) {
            st_->prefetch_done.expires_at(steady::time_point::max());
            co_await st_->prefetch_done.async_wait(tuple_awaitable);
        }
    }

public:
    // Loads the job's ids when no other worker is loading them (the session advisory lock is held
    // by the loader's connection, so that it passes on when the loader dies).
    asio::awaitable<result<std::monostate>> take_over_loading();

private:
    // The prefetched claim, or one made now.
    asio::awaitable<result<std::vector<std::string>>> take() {
        co_await settle();
        if (auto got = std::exchange(st_->prefetched, std::nullopt)) co_return std::move(*got);
        co_return co_await claim_once(*st_);
    }

    std::shared_ptr<worker_state> st_;
};

// Loads every id of source into the job, in batches; ids already there are skipped.
asio::awaitable<result<std::monostate>> load(worker_state& st, pg_connection& c) {
    const std::array<pg_value, 1> job{st.def.name};
    for (;;) {
        auto ids = co_await st.def.ids->next(5000);
        if (!ids) co_return ids.get_failure();
        if (ids->empty()) break;
        json::array a;
        a.reserve(ids->size());
        for (auto& id : *ids)
            if (!id.empty()) a.emplace_back(std::move(id));
        const std::array<pg_value, 2> p{st.def.name, json::serialize(a)};
        auto r = co_await c.query(load_ids, p, steady::now() + std::chrono::seconds(60));
        if (!r) co_return r.get_failure();
        st.loaded_some = true;
    }
    auto r = co_await c.query(loaded, job, steady::now() + std::chrono::seconds(60));
    if (!r) co_return r.get_failure();
    // The planner learns of the new rows now rather than when autovacuum comes by: without it, a
    // claim may scan the whole table.
    auto a = co_await c.exec("ANALYZE codef_job_item", steady::now() + std::chrono::seconds(60));
    if (!a) co_return a.get_failure();
    co_return std::monostate{};
}

asio::awaitable<result<std::monostate>> queue_source::take_over_loading() {
    auto& st = *st_;
    const auto deadline = steady::now() + std::chrono::seconds(30);
    auto c =
        co_await pg_connection::connect(co_await asio::this_coro::executor, st.db.uri(), deadline);
    if (!c) co_return std::monostate{}; // the claim loop retries through its own connection
    const std::array<pg_value, 1> key{"codef_job_load:" + st.def.name};
    auto got = co_await (*c)->query("SELECT pg_try_advisory_lock(hashtext($1))", key, deadline);
    if (!got || got->text(0, 0) != "t") co_return std::monostate{};
    // Under the lock: still loading? (the loader may have finished meanwhile)
    const std::array<pg_value, 1> job{st.def.name};
    auto j = co_await (*c)->query(read_job, job, deadline);
    if (!j || j->text(0, 0) != "loading") co_return std::monostate{};
    co_return co_await load(st, **c);
}

// Collects each connectedId's items as the lines of its group, for the recorder.
class queue_sink final : public sweep_sink {
public:
    explicit queue_sink(std::shared_ptr<worker_state> st)
        : st_(std::move(st)) {}

    result<std::monostate> write(std::span<const sweep_item> items) override {
        if (items.empty()) return std::monostate{};
        auto& h = st_->held;
        bool wake = false;
        {
            std::lock_guard lock(h.mutex);
            auto it = h.seq_of.find(items.front().connected_id);
            if (it == h.seq_of.end()) return std::monostate{}; // not this worker's to record
            const auto seq = it->second;
            h.seq_of.erase(it);
            bool any_failed = false;
            for (std::size_t n = 0; n < items.size(); ++n) {
                any_failed = any_failed || items[n].status == item_status::failed;
                // Appended in place: the line (the bulk of it) is copied once.
                auto& l = h.lines;
                l += l.empty() ? R"({"seq":)" : R"(,{"seq":)";
                l += std::to_string(seq);
                l += R"(,"n":)";
                l += std::to_string(n);
                l += R"(,"status":")";
                l += to_string(items[n].status);
                l += R"(","line":)";
                l += ndjson_sink::line(items[n], items.size());
                l += '}';
            }
            auto& g = h.groups;
            g += g.empty() ? R"({"seq":)" : R"(,{"seq":)";
            g += std::to_string(seq);
            g += any_failed ? R"(,"failed":true})" : R"(,"failed":false})";
            wake = ++h.ready >= std::max<std::size_t>(st_->opts.batch, 1);
        }
        if (wake) asio::post(st_->strand, [st = st_] { st->wake.cancel(); });
        return std::monostate{};
    }

private:
    std::shared_ptr<worker_state> st_;
};

// Records what the sweep wrote (a batch at a time, or what there is every 200 ms) and renews the
// worker's leases, until the sweep is over and everything is recorded.
asio::awaitable<void> recorder(std::shared_ptr<worker_state> st) {
    const auto renew_every = std::max(st->opts.lease / 3, milliseconds(10));
    auto next_renewal = steady::now();
    for (;;) {
        if (steady::now() >= next_renewal) {
            std::uint64_t recorded;
            {
                std::lock_guard lock(st->held.mutex);
                recorded = st->held.recorded;
            }
            const auto p = args(st->def.name, st->worker, std::to_string(st->opts.lease.count()),
                                std::to_string(recorded));
            auto h = co_await st->recorder_db.query(heartbeat, p);
            if (!h) {
                st->fail(h.get_failure());
                co_return;
            }
            next_renewal = steady::now() + renew_every;
        }
        // Read before taking what is held: every write of a sweep that is over came before.
        const bool over = st->sweep_over;
        std::string groups = "[", lines = "[";
        {
            std::lock_guard lock(st->held.mutex);
            groups += st->held.groups;
            lines += st->held.lines;
            st->held.groups.clear();
            st->held.lines.clear();
            st->held.ready = 0;
        }
        if (groups.size() > 1) {
            groups += ']';
            lines += ']';
            const auto p = args(st->def.name, st->worker, std::move(groups), std::move(lines));
            auto r = co_await st->recorder_db.query(record, p);
            if (!r) {
                st->fail(r.get_failure());
                co_return;
            }
            std::lock_guard lock(st->held.mutex);
            st->held.recorded += number(*r, 0, 0);
            // A full batch that came meanwhile goes at once; less waits for the batch to fill
            // (the sink wakes this then) or for the timer: one statement a batch, not one for
            // each few connectedIds that ended while the last was on its way.
            if (over || st->held.ready >= std::max<std::size_t>(st->opts.batch, 1)) continue;
        } else if (over) {
            co_return;
        }
        // The sweep's end wakes this only once it waits (both on the strand): checked here.
        if (st->sweep_over) continue;
        st->wake.expires_at(std::min(next_renewal, steady::now() + milliseconds(200)));
        co_await st->wake.async_wait(tuple_awaitable);
    }
}

// Creates the job, or joins it when its plan is the same.
asio::awaitable<result<bool>> create_or_join(worker_state& st) {
    const auto plan = json::serialize(plan_json(st.def.plan));
    const auto p = args(st.def.name, plan);
    auto made = co_await st.db.query(create_job, p);
    if (!made) co_return made.get_failure();
    if (!made->empty()) co_return true;
    const auto job = args(st.def.name);
    auto j = co_await st.db.query(read_job, job);
    if (!j) co_return j.get_failure();
    if (j->empty()) co_return make_failure(fleet_errc::no_such_job, "job " + st.def.name);
    error_code ec;
    const auto theirs = json::parse(j->text(0, 1), ec);
    if (ec || theirs != json::value(plan_json(st.def.plan))) {
        std::string detail = "job " + st.def.name + " exists with another plan";
        if (!ec && theirs.is_object())
            if (auto* p = theirs.as_object().if_contains("path"); p && p->is_string())
                detail += " (path " + std::string(p->as_string()) + ")";
        co_return make_failure(fleet_errc::job_mismatch, std::move(detail));
    }
    co_return false;
}

} // namespace

boost::json::object to_json(const job_status& s) {
    return {{"job", s.name},           {"path", s.path},
            {"state", s.state},        {"total", s.total},
            {"pending", s.pending},    {"inFlight", s.in_flight},
            {"done", s.done},          {"failed", s.failed},
            {"rate", s.rate},          {"workersAlive", s.workers_alive},
            {"finished", s.finished()}};
}

worker::worker(client& c, std::string uri, job_definition def, worker_options opts)
    : state_(std::make_shared<state>(c, c.get_executor(), std::move(uri), std::move(def),
                                     std::move(opts))) {
    state_->worker = state_->opts.worker_id.empty() ? default_worker_id() : state_->opts.worker_id;
    sweep_options so;
    so.concurrency = state_->opts.concurrency;
    so.call = state_->opts.call;
    so.on_progress = state_->opts.on_progress;
    so.progress_interval = state_->opts.progress_interval;
    state_->sweep = std::make_unique<codef::sweep>(c, state_->def.plan, std::move(so));
}

worker::~worker() = default;

void worker::stop() noexcept {
    state_->stopping = true;
    state_->sweep->stop();
}

sweep_progress worker::progress() const {
    return state_->sweep->progress();
}

namespace {
asio::awaitable<result<sweep_summary>> sweep_then_flush(std::shared_ptr<worker_state> st,
                                                        queue_source& source, queue_sink& sink) {
    auto r = co_await st->sweep->run(source, sink);
    st->sweep_over = true;
    asio::post(st->strand, [st] { st->wake.cancel(); });
    co_return r;
}
} // namespace

asio::awaitable<result<worker_summary>> worker::run() {
    auto st = state_;
    worker_summary summary;
    auto created = co_await create_or_join(*st);
    if (!created) co_return created.get_failure();
    summary.created = *created;
    queue_source source(st);
    queue_sink sink(st);
    if (summary.created && st->def.ids)
        if (auto l = co_await source.take_over_loading(); !l) co_return l.get_failure();

    auto ran = co_await (sweep_then_flush(st, source, sink) &&
                         asio::co_spawn(st->strand, recorder(st), asio::use_awaitable));
    // A claim made ahead (on the sweep's strand) is held too, and given back below: its end is
    // awaited from here by polling, the timer above being the strand's.
    for (asio::steady_timer t(st->strand); st->prefetching;) {
        t.expires_after(milliseconds(5));
        co_await t.async_wait(tuple_awaitable);
    }

    // What this worker still holds (stopped early, or a call never written) goes back.
    const auto mine = args(st->def.name, st->worker);
    auto back = co_await st->recorder_db.query(release, mine);
    summary.loaded = st->loaded_some;
    if (st->has_fatal) co_return st->fatal;
    if (!ran) co_return ran.get_failure();
    if (!back) co_return back.get_failure();
    summary.progress = ran->progress;
    summary.interrupted = ran->interrupted;
    co_return summary;
}

// ---------------------------------------------------------------------------------------------
// The job commands: one statement each, on a connection of their own.

namespace {

asio::awaitable<result<pg_rows>> one_statement(std::string uri, std::string_view sql,
                                               std::vector<pg_value> params, milliseconds timeout) {
    const auto deadline = steady::now() + timeout;
    auto c = co_await pg_connection::connect(co_await asio::this_coro::executor, uri, deadline);
    if (!c) co_return c.get_failure();
    if (auto s = co_await (*c)->exec(schema, deadline); !s) co_return s.get_failure();
    co_return co_await (*c)->query(sql, params, deadline);
}

} // namespace

asio::awaitable<result<job_status>> status_of_job(std::string uri, std::string name,
                                                  milliseconds timeout) {
    auto r = co_await one_statement(std::move(uri), status_query, args(name), timeout);
    if (!r) co_return r.get_failure();
    auto s = statuses_of(*r);
    if (s.empty()) co_return make_failure(fleet_errc::no_such_job, "job " + name);
    co_return std::move(s.front());
}

asio::awaitable<result<std::vector<job_status>>> list_jobs(std::string uri, milliseconds timeout) {
    auto r = co_await one_statement(std::move(uri), status_query, args(std::nullopt), timeout);
    if (!r) co_return r.get_failure();
    co_return statuses_of(*r);
}

asio::awaitable<result<std::uint64_t>> export_job(std::string uri, std::string name, int fd,
                                                  milliseconds timeout) {
    const auto deadline = steady::now() + timeout;
    auto c = co_await pg_connection::connect(co_await asio::this_coro::executor, uri, deadline);
    if (!c) co_return c.get_failure();
    auto& conn = **c;
    if (auto s = co_await conn.exec(schema, deadline); !s) co_return s.get_failure();
    const std::array<pg_value, 1> job{name};
    auto j = co_await conn.query(read_job, job, deadline);
    if (!j) co_return j.get_failure();
    if (j->empty()) co_return make_failure(fleet_errc::no_such_job, "job " + name);
    std::uint64_t lines = 0;
    std::string after_seq = "0", after_n = "-1";
    for (;;) {
        const std::array<pg_value, 3> p{name, after_seq, after_n};
        auto r = co_await conn.query(
            "SELECT seq, n, line FROM codef_job_result WHERE job = $1 AND (seq, n) > ($2, $3) "
            "ORDER BY seq, n LIMIT 10000",
            p, deadline);
        if (!r) co_return r.get_failure();
        if (r->empty()) break;
        std::string out;
        for (std::size_t i = 0; i < r->rows.size(); ++i) {
            out += r->text(i, 2);
            out += '\n';
        }
        for (std::size_t at = 0; at < out.size();) {
            const auto n = ::write(fd, out.data() + at, out.size() - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                co_return make_failure(client_errc::invalid_argument,
                                       std::string("export: write: ") + std::strerror(errno));
            at += static_cast<std::size_t>(n);
        }
        lines += r->rows.size();
        after_seq = r->text(r->rows.size() - 1, 0);
        after_n = r->text(r->rows.size() - 1, 1);
    }
    co_return lines;
}

asio::awaitable<result<std::uint64_t>> retry_failed(std::string uri, std::string name,
                                                    milliseconds timeout) {
    auto j = co_await one_statement(uri, read_job, args(name), timeout);
    if (!j) co_return j.get_failure();
    if (j->empty()) co_return make_failure(fleet_errc::no_such_job, "job " + name);
    auto r = co_await one_statement(
        std::move(uri),
        "WITH f AS (UPDATE codef_job_item SET state = 0, lease_owner = NULL, lease_until = NULL, "
        "finished_at = NULL WHERE job = $1 AND state = 3 RETURNING seq), "
        "d AS (DELETE FROM codef_job_result r USING f WHERE r.job = $1 AND r.seq = f.seq) "
        "SELECT count(*) FROM f",
        args(name), timeout);
    if (!r) co_return r.get_failure();
    co_return number(*r, 0, 0);
}

asio::awaitable<result<std::monostate>> cancel_job(std::string uri, std::string name,
                                                   milliseconds timeout) {
    auto r = co_await one_statement(std::move(uri),
                                    "UPDATE codef_job SET state = 'cancelled' WHERE name = $1 "
                                    "RETURNING 1",
                                    args(name), timeout);
    if (!r) co_return r.get_failure();
    if (r->empty()) co_return make_failure(fleet_errc::no_such_job, "job " + name);
    co_return std::monostate{};
}

} // namespace codef::fleet
