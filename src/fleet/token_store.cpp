// pg_token_store: the fleet's token in a row of codef_token. A refresh is one transaction under an
// advisory lock (read again, issue only if still needed, write, NOTIFY); a listener on a
// connection of its own tells the store's clients of tokens that others wrote.
#include <codef/fleet.hpp>

#include "detail/redact.hpp"
#include "detail/token_listeners.hpp"
#include "fleet/pg.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <ostream>

namespace asio = boost::asio;

namespace codef::fleet {

using detail::pg_connection;
using detail::pg_value;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view channel = "codef_token";

constexpr std::string_view schema = R"(CREATE TABLE IF NOT EXISTS codef_token (
    key text PRIMARY KEY,
    access_token text NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()))";

constexpr std::string_view read_row =
    "SELECT access_token, (extract(epoch FROM expires_at) * 1000)::bigint FROM codef_token "
    "WHERE key = $1";

constexpr std::string_view write_row =
    "INSERT INTO codef_token (key, access_token, expires_at) "
    "VALUES ($1, $2, to_timestamp($3::double precision / 1000)) "
    "ON CONFLICT (key) DO UPDATE SET access_token = EXCLUDED.access_token, "
    "expires_at = EXCLUDED.expires_at, updated_at = now()";

std::string millis_of(const token_info& t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.expires_at.time_since_epoch())
            .count());
}

std::optional<token_info> token_of(const detail::pg_rows& r) {
    if (r.empty() || r.text(0, 0).empty()) return std::nullopt;
    try {
        return token_info{r.text(0, 0), std::chrono::system_clock::time_point(
                                            std::chrono::milliseconds(std::stoll(r.text(0, 1))))};
    } catch (...) {
        return std::nullopt;
    }
}

} // namespace

struct pg_token_store::state {
    state(asio::any_io_executor ex, pg_token_store_options o)
        : opts(std::move(o))
        , strand(asio::make_strand(std::move(ex))) {}

    pg_token_store_options opts;
    asio::strand<asio::any_io_executor> strand;
    asio::cancellation_signal stop; // emitted on the strand
    std::atomic<bool> stopped{false}, listening{false};

    std::mutex mutex; // guards what follows
    std::optional<token_info> token;
    codef::detail::token_listeners listeners;

    // A token seen: kept, and told to the clients when it is new to this store.
    void publish(const token_info& t) {
        std::vector<std::shared_ptr<token_listener>> told;
        {
            std::lock_guard lock(mutex);
            if (token && token->access_token == t.access_token) return;
            token = t;
            told = listeners.alive();
        }
        codef::detail::tell(told, t);
    }

    std::array<pg_value, 1> key_param() const { return {opts.key}; }
};

namespace {

// Reads the row and tells of its token when it is new here.
asio::awaitable<void> reread(std::shared_ptr<pg_token_store::state> st, pg_connection& conn) {
    const auto params = st->key_param();
    auto r = co_await conn.query(read_row, params, steady::now() + std::chrono::seconds(10));
    if (r)
        if (auto t = token_of(*r)) st->publish(*t);
}

// LISTEN on a connection of its own, reconnecting with backoff, until the store goes.
asio::awaitable<void> listen(std::shared_ptr<pg_token_store::state> st) {
    auto backoff = st->opts.reconnect_min;
    while (!st->stopped) {
        auto conn = co_await pg_connection::connect(st->strand, st->opts.uri,
                                                    steady::now() + std::chrono::seconds(10));
        if (conn && !st->stopped) {
            auto& c = **conn;
            auto ok = co_await c.exec("LISTEN " + std::string(channel),
                                      steady::now() + std::chrono::seconds(10));
            if (ok) {
                st->listening = true;
                backoff = st->opts.reconnect_min;
                co_await reread(st, c); // what was announced while this one was away
                while (!st->stopped) {
                    auto n = co_await c.notifications(steady::now() + std::chrono::seconds(60));
                    if (!n) break;
                    if (std::any_of(n->begin(), n->end(), [&](const detail::pg_notification& x) {
                            return x.payload == st->opts.key;
                        }))
                        co_await reread(st, c);
                }
                st->listening = false;
            }
        }
        if (st->stopped) break;
        asio::steady_timer t(st->strand, backoff);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min(backoff * 2, st->opts.reconnect_max);
    }
}

// Writes t to the database and announces it (save()), bounded.
asio::awaitable<void> write_token(std::shared_ptr<pg_token_store::state> st, token_info t) {
    const auto deadline = steady::now() + std::chrono::seconds(10);
    auto conn = co_await pg_connection::connect(st->strand, st->opts.uri, deadline);
    if (!conn) co_return;
    auto& c = **conn;
    if (!co_await c.exec(schema, deadline)) co_return;
    const std::array<pg_value, 3> params{st->opts.key, t.access_token, millis_of(t)};
    if (!co_await c.query(write_row, params, deadline)) co_return;
    const std::array<pg_value, 2> note{std::string(channel), st->opts.key};
    co_await c.query("SELECT pg_notify($1, $2)", note, deadline);
}

// Issues without the database: the fleet's single flight is lost for this refresh, not the call.
asio::awaitable<result<token_outcome>>
issue_alone(pg_token_store::state& st, const issue_function& issue, const failure& why) {
    auto t = co_await issue();
    if (!t) co_return t.get_failure();
    st.publish(*t);
    auto note = "the token database failed (" + why.diag.detail +
                "): this process issued a token of its own";
    co_return token_outcome{std::move(*t), true, std::move(note)};
}

} // namespace

pg_token_store::pg_token_store(std::shared_ptr<state> st)
    : state_(std::move(st)) {}

std::shared_ptr<pg_token_store> pg_token_store::make(asio::any_io_executor ex,
                                                     pg_token_store_options opts) {
    auto st = std::make_shared<state>(std::move(ex), std::move(opts));
    asio::co_spawn(st->strand, listen(st),
                   asio::bind_cancellation_slot(st->stop.slot(), asio::detached));
    return std::shared_ptr<pg_token_store>(new pg_token_store(st));
}

pg_token_store::~pg_token_store() {
    state_->stopped = true;
    asio::post(state_->strand, [st = state_] { st->stop.emit(asio::cancellation_type::terminal); });
}

std::optional<token_info> pg_token_store::load() {
    std::lock_guard lock(state_->mutex);
    return state_->token;
}

void pg_token_store::save(const token_info& t) {
    state_->publish(t);
    asio::co_spawn(state_->strand, write_token(state_, t), asio::detached);
}

void pg_token_store::subscribe(std::weak_ptr<token_listener> listener) {
    std::lock_guard lock(state_->mutex);
    state_->listeners.add(std::move(listener));
}

bool pg_token_store::listening() const noexcept {
    return state_->listening;
}

asio::awaitable<result<token_outcome>> pg_token_store::refresh(token_request req,
                                                               issue_function issue) {
    auto st = state_;
    const auto ex = co_await asio::this_coro::executor;
    // Half of what is left for reaching the database: the other half is for CODEF if it is down.
    const auto reach_by = steady::now() + (req.deadline - steady::now()) / 2;
    auto conn = co_await pg_connection::connect(ex, st->opts.uri, reach_by);
    if (!conn) co_return co_await issue_alone(*st, issue, conn.get_failure());
    auto& c = **conn;

    // One refresh at a time across the fleet: the wait for the lock is bounded by the deadline.
    const auto left = std::to_string(detail::millis_left(req.deadline));
    auto begun = co_await c.exec("BEGIN; SET LOCAL lock_timeout = " + left +
                                     "; SET LOCAL statement_timeout = " + left,
                                 req.deadline);
    if (!begun) co_return co_await issue_alone(*st, issue, begun.get_failure());
    const std::array<pg_value, 1> lock_key{std::string(channel)};
    auto locked =
        co_await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key, req.deadline);
    if (!locked) {
        if (c.sqlstate() == "55P03" || c.sqlstate() == "57014" ||
            locked.error() == transport_errc::timeout)
            co_return make_failure(transport_errc::timeout,
                                   "waiting for another process's token refresh");
        co_return co_await issue_alone(*st, issue, locked.get_failure());
    }
    if (auto made = co_await c.exec(schema, req.deadline); !made)
        co_return co_await issue_alone(*st, issue, made.get_failure());

    // Another process may have refreshed while this one waited for the lock.
    const auto key = st->key_param();
    auto row = co_await c.query(read_row, key, req.deadline);
    if (!row) co_return co_await issue_alone(*st, issue, row.get_failure());
    if (auto kept = token_of(*row); kept && !req.forced && req.accepts(*kept)) {
        co_await c.exec("COMMIT", req.deadline);
        st->publish(*kept);
        co_return token_outcome{std::move(*kept), false, "the fleet's token, from the database"};
    }

    auto t = co_await issue();
    if (!t) co_return t.get_failure(); // the transaction ends with the connection
    st->publish(*t);
    const std::array<pg_value, 3> params{st->opts.key, t->access_token, millis_of(*t)};
    const std::array<pg_value, 2> note{std::string(channel), st->opts.key};
    auto written = co_await c.query(write_row, params, req.deadline);
    if (written) written = co_await c.query("SELECT pg_notify($1, $2)", note, req.deadline);
    std::string detail = written.diag().detail;
    if (written) {
        auto committed = co_await c.exec("COMMIT", req.deadline);
        if (committed) co_return token_outcome{std::move(*t), true, {}};
        detail = committed.diag().detail;
    }
    // The server's words may quote what it was sent: the token is cut out of the note.
    auto why = "issued, but not stored: " + detail;
    codef::detail::redact(why, t->access_token);
    co_return token_outcome{std::move(*t), true, std::move(why)};
}

// ---------------------------------------------------------------------------------------------

namespace {
class fleet_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "codef.fleet"; }
    std::string message(int ev) const override {
        switch (static_cast<fleet_errc>(ev)) {
        case fleet_errc::database_unreachable:
            return "the database cannot be reached";
        case fleet_errc::database_error:
            return "the database refused a statement";
        case fleet_errc::no_such_job:
            return "no such job";
        case fleet_errc::job_mismatch:
            return "the job exists with another plan";
        }
        return "unknown fleet error";
    }
};
} // namespace

const boost::system::error_category& fleet_category() noexcept {
    static const fleet_category_impl c;
    return c;
}

std::ostream& operator<<(std::ostream& os, fleet_errc e) {
    return os << make_error_code(e).what();
}

} // namespace codef::fleet
