// libpq on Asio: the connection's socket is watched by a stream_descriptor (released, never
// closed, by us: libpq owns it), each wait raced against a timer at the caller's deadline.
#include "fleet/pg.hpp"

#include "detail/redact.hpp"

#include <codef/fleet.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>

#include <algorithm>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace codef::fleet::detail {
namespace {

std::string trimmed(const char* s) {
    std::string t = s ? s : "";
    while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
        t.pop_back();
    return t;
}

// The password of a connection string, to be cut out of whatever libpq says.
std::string password_of(const std::string& uri) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(uri.c_str(), &err);
    if (err) PQfreemem(err);
    if (!opts) return {};
    std::string pw;
    for (auto* o = opts; o->keyword; ++o)
        if (std::string_view(o->keyword) == "password" && o->val) pw = o->val;
    PQconninfoFree(opts);
    return pw;
}

} // namespace

const std::string& pg_rows::text(std::size_t r, std::size_t c) const {
    static const std::string none;
    if (r >= rows.size() || c >= rows[r].size() || !rows[r][c]) return none;
    return *rows[r][c];
}

std::string shown_uri(std::string_view uri) {
    std::string s(uri);
    // postgresql://user:password@host/...: the password goes.
    if (auto scheme = s.find("://"); scheme != std::string::npos) {
        const auto start = scheme + 3;
        const auto end = s.find_first_of("/?", start);
        const auto at = s.rfind('@', end == std::string::npos ? s.size() : end);
        if (at != std::string::npos && at > start) {
            const auto colon = s.find(':', start);
            if (colon != std::string::npos && colon < at) s.erase(colon, at - colon);
        }
    }
    // password=... as a parameter (URI query or keyword form).
    for (auto p = s.find("password="); p != std::string::npos; p = s.find("password=", p + 1)) {
        const auto v = p + 9;
        const auto end = s.find_first_of("& ", v);
        s.replace(v, (end == std::string::npos ? s.size() : end) - v, "********");
    }
    return s;
}

std::int64_t millis_left(steady_time deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return std::max<std::int64_t>(1, left.count());
}

std::string sql_literal(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

struct pg_connection::impl {
    impl(asio::any_io_executor ex, PGconn* c, std::string uri)
        : conn(c)
        , socket(std::move(ex))
        , shown(shown_uri(uri))
        , password(password_of(uri)) {}
    ~impl() {
        if (socket.is_open()) socket.release(); // libpq's descriptor: PQfinish closes it
        PQfinish(conn);
    }

    PGconn* conn;
    asio::posix::stream_descriptor socket;
    std::string shown, password;
    bool broken = false;

    // Watches libpq's socket (it may change while connecting).
    void watch() {
        const int fd = PQsocket(conn);
        if (socket.is_open() && socket.native_handle() == fd) return;
        if (socket.is_open()) socket.release();
        if (fd >= 0) socket.assign(fd);
    }

    std::string said() const {
        auto m = trimmed(PQerrorMessage(conn));
        codef::detail::redact(m, password);
        return m;
    }

    failure fail(error_code ec, std::string what) {
        broken = true;
        auto s = said();
        if (!s.empty()) what += ": " + s;
        return make_failure(ec, std::move(what));
    }

    // Waits until the socket is ready for w or deadline; false at the deadline or on error.
    asio::awaitable<result<std::monostate>> wait(asio::posix::descriptor_base::wait_type w,
                                                 steady_time deadline, const char* doing) {
        watch();
        if (!socket.is_open())
            co_return fail(fleet_errc::database_unreachable, std::string(doing) + " on " + shown);
        asio::steady_timer timer(socket.get_executor(), deadline);
        auto done = co_await (socket.async_wait(w, asio::as_tuple(asio::use_awaitable)) ||
                              timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (done.index() == 1) {
            broken = true;
            co_return make_failure(transport_errc::timeout,
                                   std::string(doing) + " on " + shown + ": the deadline passed");
        }
        if (auto [ec] = std::get<0>(done); ec)
            co_return make_failure(fleet_errc::database_unreachable,
                                   std::string(doing) + " on " + shown + ": " + ec.message());
        co_return std::monostate{};
    }

    // Sends what libpq holds (nonblocking mode), reading meanwhile as libpq asks.
    asio::awaitable<result<std::monostate>> flush(steady_time deadline) {
        for (;;) {
            const int f = PQflush(conn);
            if (f == 0) co_return std::monostate{};
            if (f < 0) co_return fail(fleet_errc::database_unreachable, "writing to " + shown);
            auto w = co_await wait(asio::posix::descriptor_base::wait_write, deadline, "writing");
            if (!w) co_return w.get_failure();
            if (!PQconsumeInput(conn))
                co_return fail(fleet_errc::database_unreachable, "reading from " + shown);
        }
    }

    // Reads every result of what was sent; the first error wins, the last rows are kept.
    asio::awaitable<result<pg_rows>> collect(steady_time deadline, std::string& sqlstate) {
        pg_rows out;
        std::optional<failure> first_error;
        sqlstate.clear();
        for (;;) {
            while (PQisBusy(conn)) {
                auto w =
                    co_await wait(asio::posix::descriptor_base::wait_read, deadline, "reading");
                if (!w) co_return w.get_failure();
                if (!PQconsumeInput(conn))
                    co_return fail(fleet_errc::database_unreachable, "reading from " + shown);
            }
            PGresult* r = PQgetResult(conn);
            if (!r) break;
            const auto st = PQresultStatus(r);
            if (st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) {
                out.rows.clear();
                const int n = PQntuples(r), m = PQnfields(r);
                out.rows.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) {
                    auto& row = out.rows.emplace_back();
                    row.reserve(static_cast<std::size_t>(m));
                    for (int j = 0; j < m; ++j)
                        if (PQgetisnull(r, i, j))
                            row.emplace_back();
                        else
                            row.emplace_back(
                                std::string(PQgetvalue(r, i, j),
                                            static_cast<std::size_t>(PQgetlength(r, i, j))));
                }
                out.affected = static_cast<std::uint64_t>(n);
            } else if (st == PGRES_COMMAND_OK) {
                const char* t = PQcmdTuples(r);
                out.affected = t && *t ? std::stoull(t) : 0;
            } else if (!first_error) {
                const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                sqlstate = code ? code : "";
                auto msg = trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
                if (msg.empty()) msg = trimmed(PQresultErrorMessage(r));
                codef::detail::redact(msg, password);
                first_error =
                    make_failure(fleet_errc::database_error, "PostgreSQL " + sqlstate + ": " + msg);
            }
            PQclear(r);
        }
        if (PQstatus(conn) == CONNECTION_BAD) broken = true;
        if (first_error) co_return *first_error;
        co_return out;
    }
};

pg_connection::pg_connection(std::unique_ptr<impl> p)
    : impl_(std::move(p)) {}

pg_connection::~pg_connection() = default;

bool pg_connection::broken() const noexcept {
    return impl_->broken || PQstatus(impl_->conn) == CONNECTION_BAD;
}

asio::awaitable<result<std::unique_ptr<pg_connection>>>
pg_connection::connect(asio::any_io_executor ex, std::string uri, steady_time deadline) {
    PGconn* raw = PQconnectStart(uri.c_str());
    if (!raw) co_return make_failure(fleet_errc::database_unreachable, "out of memory");
    auto p = std::make_unique<impl>(ex, raw, uri);
    // Notices ("relation already exists, skipping") are not ours to print.
    PQsetNoticeProcessor(
        raw, [](void*, const char*) {}, nullptr);
    if (PQstatus(raw) == CONNECTION_BAD)
        co_return p->fail(fleet_errc::database_unreachable, "connecting to " + p->shown);
    for (auto poll = PGRES_POLLING_WRITING;;) {
        if (poll == PGRES_POLLING_OK) break;
        if (poll == PGRES_POLLING_FAILED)
            co_return p->fail(fleet_errc::database_unreachable, "connecting to " + p->shown);
        auto w = co_await p->wait(poll == PGRES_POLLING_READING
                                      ? asio::posix::descriptor_base::wait_read
                                      : asio::posix::descriptor_base::wait_write,
                                  deadline, "connecting");
        if (!w) co_return w.get_failure();
        poll = PQconnectPoll(raw);
    }
    if (PQsetnonblocking(raw, 1) != 0)
        co_return p->fail(fleet_errc::database_unreachable, "connecting to " + p->shown);
    p->watch();
    co_return std::unique_ptr<pg_connection>(new pg_connection(std::move(p)));
}

asio::awaitable<result<pg_rows>>
pg_connection::query(std::string_view sql, std::span<const pg_value> params, steady_time deadline) {
    auto& p = *impl_;
    if (broken()) co_return make_failure(fleet_errc::database_unreachable, "connection lost");
    std::vector<const char*> values;
    std::vector<int> lengths;
    values.reserve(params.size());
    for (const auto& v : params) {
        values.push_back(v ? v->c_str() : nullptr);
        lengths.push_back(v ? static_cast<int>(v->size()) : 0);
    }
    const std::string text(sql);
    if (!PQsendQueryParams(p.conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), lengths.data(), nullptr, 0))
        co_return p.fail(fleet_errc::database_unreachable, "sending to " + p.shown);
    if (auto f = co_await p.flush(deadline); !f) co_return f.get_failure();
    co_return co_await p.collect(deadline, sqlstate_);
}

asio::awaitable<result<std::monostate>> pg_connection::exec(std::string_view sql,
                                                            steady_time deadline) {
    auto& p = *impl_;
    if (broken()) co_return make_failure(fleet_errc::database_unreachable, "connection lost");
    const std::string text(sql);
    if (!PQsendQuery(p.conn, text.c_str()))
        co_return p.fail(fleet_errc::database_unreachable, "sending to " + p.shown);
    if (auto f = co_await p.flush(deadline); !f) co_return f.get_failure();
    auto r = co_await p.collect(deadline, sqlstate_);
    if (!r) co_return r.get_failure();
    co_return std::monostate{};
}

asio::awaitable<result<std::vector<pg_notification>>>
pg_connection::notifications(steady_time deadline) {
    auto& p = *impl_;
    std::vector<pg_notification> out;
    for (;;) {
        if (broken()) co_return make_failure(fleet_errc::database_unreachable, "connection lost");
        if (!PQconsumeInput(p.conn))
            co_return p.fail(fleet_errc::database_unreachable, "reading from " + p.shown);
        while (PGnotify* n = PQnotifies(p.conn)) {
            out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : ""});
            PQfreemem(n);
        }
        if (!out.empty() || std::chrono::steady_clock::now() >= deadline) co_return out;
        auto w = co_await p.wait(asio::posix::descriptor_base::wait_read, deadline, "listening");
        if (!w) {
            if (w.error() == transport_errc::timeout) {
                p.broken = false; // nothing was in progress: the connection is as it was
                co_return out;
            }
            co_return w.get_failure();
        }
    }
}

} // namespace codef::fleet::detail
