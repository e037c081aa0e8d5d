// codef::client: a call is one coroutine, on a strand of its own or on the caller's executor
// (config::thread_safe); the pools are guarded by mutexes, the token by the refresher's strand
// (visited only when a token must be waited for).
#include <codef/client.hpp>

#include "detail/call_fsm.hpp"
#include "detail/client_impl.hpp"
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "detail/field_value.hpp"
#include "detail/jwt.hpp"
#include "detail/redact.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>

namespace asio = boost::asio;

namespace codef {
namespace detail {
namespace {

constexpr std::string_view token_body = "grant_type=client_credentials&scope=read";

bool is_account_change(std::string_view path) {
    return path == "/v1/account/create" || path == "/v1/account/add" ||
           path == "/v1/account/update" || path == "/v1/account/delete";
}

} // namespace

result<std::string> extra_header_lines(std::span<const http_header> headers) {
    // The client's own headers: a second one would contradict it (a second Host, Content-Length
    // or Authorization is how requests are smuggled).
    constexpr std::string_view reserved[] = {
        "host",       "authorization", "content-type",      "content-length", "accept",
        "user-agent", "connection",    "transfer-encoding", "expect",         "upgrade",
        "te",         "trailer",       "keep-alive"};
    std::string lines;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto [name, value] = headers[i];
        const std::string where = "call_options.headers[" + std::to_string(i) + "]";
        if (!is_token(name))
            return make_failure(client_errc::invalid_argument,
                                where + ": the name is not an HTTP token");
        std::string lower(name);
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const bool proxy = lower.starts_with("proxy-");
        if (proxy ||
            std::find(std::begin(reserved), std::end(reserved), lower) != std::end(reserved))
            return make_failure(client_errc::invalid_argument,
                                where + " (" + std::string(name) +
                                    "): the client writes this header itself");
        // The value is not repeated: it may be anything the caller holds.
        if (!is_field_value(value))
            return make_failure(client_errc::invalid_argument,
                                where + " (" + std::string(name) +
                                    "): the value is not a valid field value");
        lines.append(name).append(": ").append(value).append("\r\n");
    }
    return lines;
}

// The path goes on the request line as it is: it must be a plain absolute path.
result<std::monostate> check_path(std::string_view path) {
    if (path.empty() || path.front() != '/')
        return make_failure(client_errc::invalid_argument, "path: must start with '/'");
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#')
            return make_failure(client_errc::invalid_argument,
                                "path: only printable ASCII without space, '?' or '#'");
    }
    return std::monostate{};
}

namespace {

// The strings of params that hold passwords (ciphertexts, or whatever the caller put there), at
// any depth: a server may echo them.
bool names_a_password(std::string_view key) {
    constexpr std::string_view word = "password";
    for (std::size_t i = 0; i + word.size() <= key.size(); ++i) {
        std::size_t j = 0;
        while (j < word.size() && std::tolower(static_cast<unsigned char>(key[i + j])) == word[j])
            ++j;
        if (j == word.size()) return true;
    }
    return false;
}

void collect_passwords(const boost::json::value& v, std::vector<secret>& out) {
    if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            if (kv.value().is_string() && names_a_password(kv.key()))
                out.emplace_back(std::string(kv.value().get_string()));
            else if (kv.value().is_structured())
                collect_passwords(kv.value(), out);
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a)
            if (e.is_structured()) collect_passwords(e, out);
    }
}

void scrub_data(const secret_book::snapshot& secrets, boost::json::value& v);

// The values of an object, as scrub_data (a reply's top-level keys).
void scrub_object(const secret_book::snapshot& secrets, boost::json::object& o) {
    for (auto& kv : o)
        if (kv.value().is_string() || kv.value().is_structured()) scrub_data(secrets, kv.value());
}

// Redacts the strings of a reply's data: an account reply's errorList carries the server's
// messages, which may echo what was sent. A string is copied only when it holds a secret.
// Recursive: a parsed reply is at most 32 deep.
void scrub_data(const secret_book::snapshot& secrets, boost::json::value& v) {
    if (auto* s = v.if_string()) {
        if (!secrets.found_in(*s)) return;
        std::string text(s->data(), s->size());
        secrets.redact(text);
        *s = text;
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a)
            if (e.is_string() || e.is_structured()) scrub_data(secrets, e);
    } else if (auto* o = v.if_object()) {
        scrub_object(secrets, *o);
    }
}

// A token to use: its value (a valid field value, checked by the caller), expiry and the request
// header line made once.
token make_token(std::string value, wall_clock::time_point expires_at,
                 wall_clock::time_point issued_at) {
    token t;
    t.issued_at = issued_at;
    t.expires_at = expires_at;
    t.value = std::move(value);
    t.authorization = "Authorization: Bearer " + t.value + "\r\n";
    return t;
}

std::uint64_t random_seed() {
    static std::atomic<std::uint64_t> counter{std::random_device{}()};
    return counter.fetch_add(0x9E3779B97F4A7C15ull);
}

// The failure of an exchange that ended without a usable reply.
failure exchange_failure(const exchange_result& x, std::string_view what) {
    diagnostics d;
    d.detail = std::string(what);
    if (!x.detail.empty()) d.detail += ": " + x.detail;
    d.http_status = static_cast<int>(x.status); // with ec: a proxy's answer to CONNECT, or 0
    if (x.ec) return failure{x.ec, std::move(d)};
    read_error_body(x.body, d);
    return failure{make_http_error(static_cast<int>(x.status)), std::move(d)};
}

exchange_report report_of(const exchange_result& x) {
    exchange_report r;
    r.ec = x.ec;
    r.status = x.ec ? 0 : x.status;
    r.reused = x.reused;
    r.written = x.request_sent;
    r.reply_started = x.reply_started;
    r.retry_after = x.retry_after;
    return r;
}

retry_event retry_event_of(const exchange_result& x, std::string_view path, std::string_view tag,
                           unsigned attempt, std::chrono::milliseconds delay) {
    retry_event e;
    e.path = path;
    e.tag = tag;
    e.attempt = attempt;
    e.http_status = x.ec ? 0 : static_cast<int>(x.status);
    e.error = x.ec;
    e.reason = x.ec ? kind_of(x.ec) : error_kind::http;
    e.delay = delay;
    return e;
}

path_class class_of(std::string_view path, bool two_way_follow_up) {
    if (two_way_follow_up) return path_class::two_way;
    return path.starts_with("/v1/account/") ? path_class::account : path_class::product;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

} // namespace

result<std::shared_ptr<client_impl>> client_impl::create(asio::any_io_executor ex, config cfg) {
    if (auto v = validate(cfg); !v) return v.get_failure();
    if (cfg.env == environment::sandbox && cfg.client_id.empty()) {
        cfg.client_id = sandbox_client_id;
        cfg.client_secret = sandbox_client_secret;
    }
    auto tls = make_tls_context(cfg);
    if (!tls) return tls.get_failure();
    std::optional<public_key> key;
    if (!cfg.public_key.empty()) key = public_key::parse(cfg.public_key).value();
    return std::shared_ptr<client_impl>(
        new client_impl(std::move(ex), std::move(cfg), std::move(*tls), std::move(key)));
}

client_impl::client_impl(asio::any_io_executor ex, config cfg,
                         std::shared_ptr<asio::ssl::context> tls, std::optional<public_key> key)
    : cfg_(std::move(cfg))
    , ex_(std::move(ex))
    , strand_(asio::make_strand(ex_))
    , tls_(std::move(tls))
    , key_(std::move(key))
    , api_ep_(parse_endpoint(cfg_.api_url.empty() ? api_url_of(cfg_.env) : cfg_.api_url, "api_url")
                  .value())
    , oauth_ep_(
          parse_endpoint(cfg_.oauth_url.empty() ? default_oauth_url : cfg_.oauth_url, "oauth_url")
              .value())
    , counters_(std::make_shared<pool_counters>())
    , telemetry_(std::make_shared<telemetry>(cfg_.observer, cfg_.log, cfg_.log_level))
    , budget_(cfg_.retry.budget_ratio, cfg_.retry.budget_floor)
    , drain_strand_(asio::make_strand(ex_)) {
    if (!cfg_.clock) cfg_.clock = [] { return wall_clock::now(); };
    connection_pool::settings api_settings{cfg_.max_connections, cfg_.idle_timeout,
                                           cfg_.connect_timeout, cfg_.max_reply_bytes};
    // One origin when the token endpoint is the API's host and port (the emulator; a gateway):
    // the token connection's TLS session then resumes the first API connections.
    // validate() read the proxy settings and the environment; each origin checks no_proxy.
    const auto proxies = make_proxy_plan(cfg_.proxy, [](const char* n) { return std::getenv(n); });
    auto api_origin = std::make_shared<origin>(api_ep_, proxies.value().for_endpoint(api_ep_));
    const bool shared = oauth_ep_.host == api_ep_.host && oauth_ep_.port == api_ep_.port;
    api_pool_ = std::make_shared<connection_pool>(ex_, tls_, api_origin, api_settings, counters_,
                                                  pool_role::api, telemetry_);
    // One token request at a time; a second connection covers a stale first one.
    connection_pool::settings oauth_settings = api_settings;
    oauth_settings.max_connections = 2;
    oauth_pool_ = std::make_shared<connection_pool>(
        ex_, tls_,
        shared ? api_origin
               : std::make_shared<origin>(oauth_ep_, proxies.value().for_endpoint(oauth_ep_)),
        oauth_settings, counters_, pool_role::oauth, telemetry_);
    const std::string credential = base64_encode(cfg_.client_id + ":" + cfg_.client_secret);
    secrets_.add_fixed(cfg_.client_secret);
    secrets_.add_fixed(cfg_.client_id + ":" + cfg_.client_secret);
    secrets_.add_fixed(credential);
    for (const auto& s : proxies.value().secrets) // the proxy's password and Basic credential
        secrets_.add_fixed(s);
    // validate() refused control characters in the credentials, and base64 has none.
    token_request_ =
        make_post(oauth_ep_, oauth_ep_.path.empty() ? "/" : oauth_ep_.path, "Basic " + credential,
                  "application/x-www-form-urlencoded", std::string(token_body))
            .value();
    api_headers_ = fixed_post_headers(api_ep_, "application/json").value();
}

namespace {
// What the store tells of another's token goes to the client, while it lives.
class store_listener final : public token_listener {
public:
    explicit store_listener(std::weak_ptr<client_impl> c)
        : client_(std::move(c)) {}
    void on_token(const token_info& t) override {
        if (auto c = client_.lock()) c->adopt(t);
    }

private:
    std::weak_ptr<client_impl> client_;
};
} // namespace

void client_impl::start() {
    // The refresher must not own the client (the client owns it): its fetch reaches the client
    // through a weak pointer.
    tokens_ = std::make_shared<token_refresher>(
        strand_, ex_,
        token_state(cfg_.token_refresh_margin, cfg_.retry.initial_backoff, cfg_.retry.max_backoff),
        [weak = weak_from_this()](
            steady_clock::time_point deadline) -> asio::awaitable<result<token>> {
            auto self = weak.lock();
            if (!self) co_return make_failure(client_errc::shut_down);
            co_return co_await self->fetch_token(deadline);
        },
        cfg_.clock, cfg_.token_timeout, telemetry_);
    if (cfg_.token_store) {
        store_listener_ = std::make_shared<store_listener>(weak_from_this());
        cfg_.token_store->subscribe(store_listener_);
    }
}

client_impl::~client_impl() = default;

void client_impl::shutdown() {
    tokens_->close();
    api_pool_->close();
    oauth_pool_->close();
}

client_stats client_impl::stats() const {
    client_stats s;
    s.calls = calls_.load(std::memory_order_relaxed);
    s.token_requests = token_requests_.load(std::memory_order_relaxed);
    s.connections_opened = counters_->connections_opened.load(std::memory_order_relaxed);
    s.tls_resumed = counters_->tls_resumed.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.stale_connection_retries = counters_->stale_retries.load(std::memory_order_relaxed);
    s.stale_connections_detected = counters_->stale_detected.load(std::memory_order_relaxed);
    return s;
}

void client_impl::remember_token(const std::string& value) {
    std::lock_guard lock(last_token_mutex_);
    last_token_ = value;
}

// A token the store handed over, if the client may use it: a valid field value, not the one
// being replaced, valid past the refresh margin.
std::optional<token> client_impl::take_stored(token_info kept, std::string note) {
    if (kept.access_token.empty() || !is_field_value(kept.access_token)) return std::nullopt;
    const auto now = cfg_.clock();
    if (kept.expires_at - cfg_.token_refresh_margin <= now) return std::nullopt;
    {
        std::lock_guard lock(last_token_mutex_);
        if (kept.access_token == last_token_) return std::nullopt; // the one being replaced
        last_token_ = kept.access_token;
    }
    secrets_.add_token(kept.access_token);
    token t = make_token(std::move(kept.access_token), kept.expires_at, now);
    t.from_store = true;
    t.note = std::move(note);
    return t;
}

asio::awaitable<result<token>> client_impl::fetch_token(steady_clock::time_point deadline) {
    const bool forced = skip_store_load_.exchange(false);
    if (!cfg_.token_store) co_return co_await request_token(deadline);
    std::string replacing;
    {
        std::lock_guard lock(last_token_mutex_);
        replacing = last_token_;
    }
    token_request req;
    req.replacing = replacing;
    req.usable_until = cfg_.clock() + cfg_.token_refresh_margin;
    req.forced = forced;
    req.deadline = deadline;
    // The store calls back for a token from CODEF when nothing kept will do (under its lock, when
    // it is shared): the token is then the client's own, saved by the store.
    auto self = shared_from_this();
    auto issued = std::make_shared<std::optional<token>>();
    result<token_outcome> out = make_failure(client_errc::shut_down);
    // Named, not a temporary of the co_await expression (g++ 12 destroys those badly).
    issue_function issue = [self, deadline, issued] {
        return self->request_for_store(deadline, issued);
    };
    try {
        out = co_await cfg_.token_store->refresh(req, std::move(issue));
    } catch (const boost::system::system_error& e) {
        out = make_failure(e.code(), "the token store failed");
    } catch (const std::exception&) {
        out = make_failure(make_error_code(boost::system::errc::state_not_recoverable),
                           "the token store failed");
    }
    if (!out) {
        failure f = out.get_failure();
        secrets_.scrub({}, f.diag);
        co_return f;
    }
    if (out->issued && *issued && (*issued)->value == out->token.access_token) {
        (*issued)->note = std::move(out->note);
        co_return std::move(**issued);
    }
    if (auto kept = take_stored(std::move(out->token), std::move(out->note))) co_return *kept;
    // The store handed over what cannot be used (refused, about to expire, not a field value):
    // CODEF's then, kept for the others.
    auto t = co_await request_token(deadline);
    if (t) {
        try {
            cfg_.token_store->save(token_info{t->value, t->expires_at});
        } catch (...) {
            // A store that fails costs sharing, not the call (token_store.hpp).
        }
    }
    co_return t;
}

asio::awaitable<result<token_info>>
client_impl::request_for_store(steady_clock::time_point deadline,
                               std::shared_ptr<std::optional<token>> issued) {
    auto t = co_await request_token(deadline);
    if (!t) co_return t.get_failure();
    *issued = *t;
    co_return token_info{t->value, t->expires_at};
}

void client_impl::adopt(const token_info& offered) {
    // Told by the store of another's token (token_listener): taken only when it is usable.
    if (offered.access_token.empty() || !is_field_value(offered.access_token)) return;
    const auto now = cfg_.clock();
    if (offered.expires_at - cfg_.token_refresh_margin <= now) return;
    secrets_.add_token(offered.access_token);
    tokens_->offer(make_token(offered.access_token, offered.expires_at, now),
                   [self = weak_from_this(), value = offered.access_token] {
                       if (auto s = self.lock()) s->remember_token(value);
                   });
}

asio::awaitable<result<token>> client_impl::request_token(steady_clock::time_point deadline) {
    // The same decisions as a call's, without a token of its own to reissue: the token endpoint's
    // 401 is a wrong credential.
    retry_policy policy(cfg_.retry, random_seed());
    call_fsm fsm(policy, &budget_, retry_class::idempotent, deadline, false);
    fsm.start();
    exchange_result x;
    for (call_fsm::action a = fsm.on_token(true, 0);;) {
        switch (a.what) {
        case call_fsm::step::get_token: // not asked for without a reissue
        case call_fsm::step::exchange: {
            if (a.fresh) counters_->stale_retries.fetch_add(1, std::memory_order_relaxed);
            token_requests_.fetch_add(1, std::memory_order_relaxed);
            const std::string_view request[] = {token_request_};
            x = co_await oauth_pool_->send(request, deadline, a.fresh);
            a = fsm.on_exchange(report_of(x), steady_clock::now());
            break;
        }
        case call_fsm::step::backoff:
            retries_.fetch_add(1, std::memory_order_relaxed);
            telemetry_->retry(retry_event_of(x, oauth_ep_.path, {}, fsm.attempts(), a.delay), true);
            co_await sleep_for(a.delay);
            a = fsm.on_backoff_done();
            a = fsm.on_token(true, 0);
            break;
        case call_fsm::step::done: {
            if (a.how == call_fsm::ending::reply) {
                auto reply = parse_token_reply(x.body);
                if (!reply) {
                    failure f = reply.get_failure();
                    secrets_.scrub({}, f.diag);
                    co_return f;
                }
                secrets_.add_token(reply->access_token);
                const auto issued_at = cfg_.clock();
                const auto expires_at =
                    token_expiry(reply->expires_in, jwt_exp(reply->access_token), issued_at);
                // parse_token_reply refused a token that is not a valid field value.
                token t = make_token(std::move(reply->access_token), expires_at, issued_at);
                remember_token(t.value);
                co_return t;
            }
            failure f = exchange_failure(x, "token request to " + oauth_ep_.host_header);
            secrets_.scrub({}, f.diag);
            co_return f;
        }
        }
    }
}

bool client_impl::begin() noexcept {
    in_flight_.fetch_add(1);
    if (!draining_.load()) return true;
    end();
    return false;
}

void client_impl::end() noexcept {
    if (in_flight_.fetch_sub(1) != 1 || !draining_.load()) return;
    std::lock_guard lock(drain_mutex_);
    for (const auto& t : drain_timers_)
        asio::post(drain_strand_, [t] { t->cancel(); });
}

asio::awaitable<result<response>> client_impl::call(std::string path, boost::json::object params,
                                                    call_options opts, bool two_way_follow_up,
                                                    std::vector<secret> in_flight) {
    auto self = shared_from_this();
    const auto started = steady_clock::now();
    const path_class kind = class_of(path, two_way_follow_up);
    // The path and tag outlive the call's own copies, for the finished event.
    const std::string path_seen = telemetry_->observed() ? path : std::string();
    call_record record;
    record.tag = opts.tag;
    auto finish = [&](const result<response>& r) {
        call_finished_event e;
        e.path = path_seen;
        e.tag = record.tag;
        e.kind = kind;
        e.attempts = record.attempts;
        e.retries = record.retries;
        e.http_status = record.http_status;
        e.duration = steady_clock::now() - started;
        e.bytes_out = record.bytes_out;
        e.bytes_in = record.bytes_in;
        if (r) {
            e.codef_code = r->code;
            e.transaction_id = r->transaction_id;
        } else {
            e.error = r.error();
            e.kind_of_error = kind_of(e.error);
            e.codef_code = r.diag().codef_code;
            e.transaction_id = r.diag().transaction_id;
        }
        telemetry_->call_finished(e);
    };
    if (!begin()) {
        result<response> refused = make_failure(client_errc::draining, "POST " + path);
        finish(refused);
        co_return refused;
    }
    const ended_on_exit counted{this};
    if (telemetry_->observed()) telemetry_->call_started({path_seen, record.tag, kind});
    // What this call could leak besides the client's own secrets: its passwords, as given and as
    // sent (copied: params go to the call, and are gone when it ends).
    collect_passwords(params, in_flight);
    std::vector<std::string_view> extra;
    for (const auto& s : in_flight)
        extra.push_back(s.reveal());
    result<response> r = make_failure(client_errc::shut_down);
    try {
        if (needs_own_strand(co_await asio::this_coro::executor))
            r = co_await asio::co_spawn(call_executor(),
                                        call_on_strand(std::move(path), std::move(params),
                                                       std::move(opts), two_way_follow_up, &record),
                                        asio::use_awaitable);
        else
            r = co_await call_on_strand(std::move(path), std::move(params), std::move(opts),
                                        two_way_follow_up, &record);
    } catch (const boost::system::system_error& e) {
        r = make_failure(e.code());
    }
    const auto secrets = secrets_.take(extra);
    if (r) {
        for (std::string* text : {&r->message, &r->extra_message, &r->code, &r->transaction_id})
            secrets.redact(*text);
        scrub_data(secrets, r->data);
        scrub_object(secrets, r->top_level);
        finish(r);
        co_return r;
    }
    failure f = r.get_failure();
    secrets.redact(f.diag);
    result<response> failed = std::move(f);
    finish(failed);
    co_return failed;
}

bool client_impl::needs_own_strand(const asio::any_io_executor& caller) const {
    // A call is one coroutine: on a strand, or on a single thread, its steps never overlap.
    if (!cfg_.thread_safe) return false;
    return !caller.target<asio::strand<asio::io_context::executor_type>>() &&
           !caller.target<asio::strand<asio::any_io_executor>>();
}

asio::any_io_executor client_impl::call_executor() const {
    // A strand of the io_context's own executor fits in any_io_executor's small buffer; one of
    // any_io_executor would be allocated at every copy the call makes.
    if (const auto* io = ex_.target<asio::io_context::executor_type>())
        return asio::make_strand(*io);
    return asio::make_strand(ex_);
}

retry_class client_impl::classify(std::string_view path, bool two_way_follow_up,
                                  idempotency requested) {
    if (requested == idempotency::idempotent) return retry_class::idempotent;
    if (requested == idempotency::non_idempotent) return retry_class::non_idempotent;
    if (is_account_change(path) || two_way_follow_up) return retry_class::non_idempotent;
    return retry_class::idempotent;
}

asio::awaitable<result<response>>
client_impl::call_on_strand(std::string path, boost::json::object params, call_options opts,
                            bool two_way_follow_up, call_record* record) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    const auto timeout = opts.timeout.value_or(cfg_.call_timeout);
    const auto deadline = steady_clock::now() + timeout;
    if (auto ok = check_path(path); !ok) co_return ok.get_failure();
    if (auto ok = two_way_follow_up ? check_two_way_follow_up(params) : check_plain_call(params);
        !ok)
        co_return ok.get_failure();
    std::string extra_headers;
    if (!opts.headers.empty()) {
        auto lines = extra_header_lines(opts.headers);
        if (!lines) co_return lines.get_failure();
        extra_headers = std::move(*lines);
    }
    const std::string body = percent_encode(boost::json::serialize(params));
    char length[24];
    const auto length_end = std::to_chars(length, length + sizeof length, body.size()).ptr;
    const retry_class rc = classify(path, two_way_follow_up, opts.retry_class);
    const std::string what = "POST " + path;

    // The state machine decides every resend (call_fsm.hpp); this loop does what it asks.
    retry_policy policy(cfg_.retry, random_seed());
    call_fsm fsm(policy, &budget_, rc, deadline, true);
    token_ptr tok;
    exchange_result x;
    for (call_fsm::action a = fsm.start();;) {
        switch (a.what) {
        case call_fsm::step::get_token: {
            // Asked for a newer token after a 401 or a 403 (call_fsm): the refresh says which.
            auto t = co_await tokens_->get(a.min_generation, deadline,
                                           x.status == 403 ? refresh_reason::forbidden
                                                           : refresh_reason::unauthorized);
            if (!t) co_return t.get_failure();
            tok = std::move(*t);
            a = fsm.on_token(true, tok->generation);
            break;
        }
        case call_fsm::step::exchange: {
            // Gathered by the connection into the buffer it keeps: nothing is copied here.
            // check_path vetted the path; the rest was vetted when made.
            const std::string_view request[] = {"POST ",
                                                api_ep_.path,
                                                path,
                                                " HTTP/1.1\r\n",
                                                api_headers_,
                                                tok->authorization,
                                                extra_headers,
                                                "Content-Length: ",
                                                {length, length_end},
                                                "\r\n\r\n",
                                                body};
            if (a.fresh) counters_->stale_retries.fetch_add(1, std::memory_order_relaxed);
            x = co_await api_pool_->send(request, deadline, a.fresh, record->tag);
            record->attempts = fsm.attempts();
            if (x.request_sent)
                for (const auto& part : request)
                    record->bytes_out += part.size();
            record->bytes_in += x.body.size();
            record->http_status = x.ec ? 0 : static_cast<int>(x.status);
            a = fsm.on_exchange(report_of(x), steady_clock::now());
            break;
        }
        case call_fsm::step::backoff:
            retries_.fetch_add(1, std::memory_order_relaxed);
            record->retries = fsm.retries();
            telemetry_->retry(retry_event_of(x, path, record->tag, fsm.attempts(), a.delay), false);
            co_await sleep_for(a.delay);
            a = fsm.on_backoff_done();
            break;
        case call_fsm::step::done: {
            if (a.how == call_fsm::ending::reply) {
                auto r = parse_api_reply(x.body, cfg_.max_reply_memory);
                if (!r) {
                    failure f = r.get_failure();
                    f.diag.http_status = 200;
                    f.diag.detail = what + (f.diag.detail.empty() ? "" : ": " + f.diag.detail);
                    co_return f;
                }
                co_return r;
            }
            failure f = exchange_failure(x, what);
            if (f.code == transport_errc::timeout)
                f.diag.detail += (x.detail.empty() ? ": no reply" : "") + std::string(" within ") +
                                 std::to_string(timeout.count()) + " ms";
            // Written, at least in part, and no reply read whole: the server may have carried it
            // out. A change is never sent twice, so the caller must find out (list the accounts).
            if (a.outcome_unknown) {
                f.diag.outcome_unknown = true;
                f.diag.detail += "; the request was sent and may have been carried out";
            }
            co_return f;
        }
        }
    }
}

asio::awaitable<result<token_info>> client_impl::new_token(call_options opts) {
    skip_store_load_.store(true);
    co_return co_await current_token(std::move(opts), tokens_->newest_generation() + 1);
}

asio::awaitable<result<token_info>> client_impl::current_token(call_options opts,
                                                               std::uint64_t min_generation) {
    auto self = shared_from_this();
    const auto deadline = steady_clock::now() + opts.timeout.value_or(cfg_.call_timeout);
    if (!begin()) co_return make_failure(client_errc::draining, "a token");
    const ended_on_exit counted{this};
    try {
        // Only new_token asks for a generation beyond the one held: a refresh it starts is forced.
        auto tok = co_await tokens_->get(min_generation, deadline, refresh_reason::forced);
        if (!tok) {
            failure f = tok.get_failure();
            secrets_.scrub({}, f.diag);
            co_return f;
        }
        co_return token_info{(*tok)->value, (*tok)->expires_at};
    } catch (const boost::system::system_error& e) {
        co_return make_failure(e.code());
    }
}

metrics_snapshot client_impl::metrics() const {
    return telemetry_->snapshot(in_flight_.load(std::memory_order_relaxed));
}

asio::awaitable<result<std::monostate>> client_impl::drain(steady_clock::time_point deadline) {
    auto self = shared_from_this();
    draining_.store(true);
    // The wait runs on the drain strand, where end() posts its wake-up: registering the timer and
    // starting its wait is one handler there, so no wake-up falls between them.
    co_await asio::co_spawn(
        drain_strand_,
        [this, deadline]() -> asio::awaitable<void> {
            auto timer = std::make_shared<asio::steady_timer>(drain_strand_, deadline);
            {
                std::lock_guard lock(drain_mutex_);
                if (in_flight_.load() == 0) co_return;
                drain_timers_.push_back(timer);
            }
            co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
            std::lock_guard lock(drain_mutex_);
            std::erase(drain_timers_, timer);
        },
        asio::use_awaitable);
    const auto left = in_flight_.load();
    // Nothing waits for a connection or a token any more (or the deadline passed): idle
    // connections go, and so does a refresh still running.
    shutdown();
    if (left == 0) co_return std::monostate{};
    co_return make_failure(transport_errc::timeout, "drain: " + std::to_string(left) +
                                                        " calls still in flight at the deadline");
}

} // namespace detail

// ---------------------------------------------------------------------------------------------

client::client(asio::any_io_executor ex, config cfg)
    : impl_(detail::client_impl::create(std::move(ex), std::move(cfg)).value()) {
    impl_->start();
}

client::~client() {
    if (impl_) impl_->shutdown();
}

client::client(client&&) noexcept = default;
client& client::operator=(client&& other) noexcept {
    if (this != &other) {
        if (impl_) impl_->shutdown();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

asio::awaitable<result<response>> client::send(std::string path, boost::json::object params,
                                               call_options opts, bool two_way_follow_up,
                                               std::vector<secret> in_flight) {
    auto impl = impl_;
    co_return co_await impl->call(std::move(path), std::move(params), opts, two_way_follow_up,
                                  std::move(in_flight));
}

asio::awaitable<result<response>> client::try_request(std::string path, boost::json::object params,
                                                      call_options opts) {
    return send(std::move(path), std::move(params), opts, false);
}

asio::awaitable<response> client::request(std::string path, boost::json::object params,
                                          call_options opts) {
    auto r = co_await send(std::move(path), std::move(params), opts, false);
    co_return std::move(r).value();
}

const public_key* client::key() const noexcept {
    return impl_->key() ? &*impl_->key() : nullptr;
}

result<std::string> client::encrypt(std::string_view plaintext) const {
    if (!key()) return make_failure(client_errc::missing_public_key, "config.public_key is empty");
    return key()->encrypt(plaintext);
}

asio::awaitable<result<token_info>> client::try_token(call_options opts) {
    auto impl = impl_;
    co_return co_await impl->current_token(opts);
}

asio::awaitable<result<token_info>> client::refresh_token(call_options opts) {
    auto impl = impl_;
    co_return co_await impl->new_token(opts);
}

client_stats client::stats() const {
    return impl_->stats();
}
metrics_snapshot client::metrics() const {
    return impl_->metrics();
}
asio::awaitable<result<std::monostate>>
client::drain(std::chrono::steady_clock::time_point deadline) {
    auto impl = impl_;
    co_return co_await impl->drain(deadline);
}
std::size_t client::calls_in_flight() const noexcept {
    return impl_->in_flight();
}
const config& client::get_config() const noexcept {
    return impl_->cfg();
}
asio::any_io_executor client::get_executor() const noexcept {
    return impl_->get_executor();
}

} // namespace codef
