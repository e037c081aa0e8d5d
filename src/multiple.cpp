// Multiple requests (다건요청): one call per parameter set, sharing one id and so one two-way
// authentication, sent a stagger apart by detached coroutines that own what they use (the
// client's state and the requests' state, by shared pointer); the caller's coroutine gathers
// what they deliver through a thread-safe channel.
#include "detail/client_impl.hpp"

#include <codef/client.hpp>
#include <codef/multiple.hpp>
#include <codef/result_codes.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>

namespace asio = boost::asio;
namespace json = boost::json;

namespace codef {
namespace detail {

// What the requests in flight deliver, and the wake-up of the coroutine that gathers it.
struct multiple_state {
    multiple_state(asio::any_io_executor ex, std::size_t n)
        : arrived(n)
        , ready(std::move(ex), n) {}

    void deliver(std::size_t i, result<response> r) {
        {
            std::lock_guard lock(mutex);
            arrived[i] = std::move(r);
        }
        // Each request delivers once: n places never fill up.
        ready.try_send(boost::system::error_code{});
    }

    std::mutex mutex;
    std::vector<std::optional<result<response>>> arrived;
    // Set when nobody gathers any more (the multiple_call dropped, the wait cancelled): the
    // requests not yet sent are not sent.
    std::atomic<bool> abandoned{false};
    asio::experimental::concurrent_channel<void(boost::system::error_code)> ready;
};

} // namespace detail

namespace {

constexpr auto two_way_timeout = std::chrono::seconds(160); // CODEF's, twoWayInfo.twoWayTimeout
constexpr auto max_stagger = std::chrono::seconds(10);
constexpr auto max_timeout = std::chrono::hours(24);

failure bad(std::string what) {
    return make_failure(client_errc::invalid_argument, std::move(what));
}

// A random (version 4) UUID, as the official libraries make the shared id.
std::optional<std::string> random_uuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return std::nullopt;
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 0x0f];
    }
    return out;
}

// One request: waits its turn, then is sent. Owns everything it touches.
asio::awaitable<void> one_request(std::shared_ptr<detail::client_impl> impl,
                                  std::shared_ptr<detail::multiple_state> state, std::size_t i,
                                  std::chrono::milliseconds delay, std::string path,
                                  json::object params, call_options opts) {
    result<response> r = make_failure(client_errc::shut_down);
    try {
        if (delay.count() > 0) {
            asio::steady_timer wait(co_await asio::this_coro::executor, delay);
            co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (state->abandoned.load()) {
            state->deliver(i, make_failure(client_errc::shut_down, "abandoned before it was sent"));
            co_return;
        }
        r = co_await impl->call(std::move(path), std::move(params), opts, false, {});
    } catch (const std::bad_alloc&) {
        r = make_failure(make_error_code(std::errc::not_enough_memory));
    } catch (const boost::system::system_error& e) {
        r = make_failure(e.code());
    } catch (...) {
        // Whatever it was, the request delivers: the coroutine gathering them waits for each.
        r = make_failure(make_error_code(std::errc::state_not_recoverable));
    }
    state->deliver(i, std::move(r));
}

} // namespace

namespace detail {

// The private parts of multiple_call, for the client's functions below.
struct multiple_access {
    // Files a request's result: a challenge to answer, or what it ended with.
    static void file(multiple_call& m, std::size_t i, result<response> r) {
        if (r)
            if (auto c = two_way_challenge::from(*r, m.path_, m.params_[i])) {
                m.challenges_[i] = std::move(*c);
                m.slots_[i] = multiple_call::slot::challenged;
                return;
            }
        m.challenges_[i].reset();
        m.results_[i] = std::move(r);
        m.slots_[i] = multiple_call::slot::done;
    }

    // Takes in what has arrived until a challenge is pending or every request has ended. Each
    // wait ends: every request delivers once, within its own timeout.
    static asio::awaitable<void> settle(multiple_call& m) {
        const auto state = m.state_;
        for (;;) {
            std::vector<std::pair<std::size_t, result<response>>> taken;
            {
                std::lock_guard lock(state->mutex);
                for (std::size_t i = 0; i < state->arrived.size(); ++i)
                    if (state->arrived[i]) {
                        taken.emplace_back(i, std::move(*state->arrived[i]));
                        state->arrived[i].reset();
                    }
            }
            for (auto& [i, r] : taken)
                file(m, i, std::move(r));
            if (m.challenge()) co_return;
            if (std::find(m.slots_.begin(), m.slots_.end(), multiple_call::slot::pending) ==
                m.slots_.end())
                co_return;
            auto [ec] = co_await state->ready.async_receive(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                // The caller gave up (cancellation): those not yet sent are not; those in flight
                // end on their own, unseen.
                state->abandoned = true;
                for (std::size_t i = 0; i < m.slots_.size(); ++i)
                    if (m.slots_[i] == multiple_call::slot::pending)
                        file(m, i, make_failure(ec, "the wait for this request was cancelled"));
                co_return;
            }
        }
    }

    static multiple_call make(std::shared_ptr<multiple_state> state, std::string path,
                              std::string id, std::vector<json::object> params) {
        multiple_call m;
        const std::size_t n = params.size();
        m.state_ = std::move(state);
        m.path_ = std::move(path);
        m.id_ = std::move(id);
        m.params_ = std::move(params);
        m.slots_.assign(n, multiple_call::slot::pending);
        m.challenges_.resize(n);
        m.results_.assign(n, make_failure(client_errc::two_way_incomplete,
                                          "the request waits for the two-way authentication"));
        return m;
    }

    static std::optional<two_way_challenge> take_challenge(multiple_call& m, std::size_t i) {
        auto c = std::move(m.challenges_[i]);
        m.challenges_[i].reset();
        m.slots_[i] = multiple_call::slot::pending;
        return c;
    }
};

} // namespace detail

multiple_call::multiple_call() = default;
multiple_call::~multiple_call() {
    if (state_) state_->abandoned = true;
}
multiple_call::multiple_call(multiple_call&&) noexcept = default;
multiple_call& multiple_call::operator=(multiple_call&& other) noexcept {
    if (this != &other) {
        if (state_ && state_ != other.state_) state_->abandoned = true;
        state_ = std::move(other.state_);
        path_ = std::move(other.path_);
        id_ = std::move(other.id_);
        params_ = std::move(other.params_);
        slots_ = std::move(other.slots_);
        challenges_ = std::move(other.challenges_);
        results_ = std::move(other.results_);
    }
    return *this;
}

const two_way_challenge* multiple_call::challenge() const noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i] == slot::challenged) return &*challenges_[i];
    return nullptr;
}

std::size_t multiple_call::challenged() const noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i] == slot::challenged) return i;
    return slots_.size();
}

} // namespace codef

namespace codef {

asio::awaitable<result<multiple_call>> client::multiple_products(std::string path,
                                                                 std::vector<json::object> params,
                                                                 multiple_options opts) {
    if (params.empty()) co_return bad("params: no requests");
    if (opts.stagger.count() < 0 || opts.stagger > max_stagger)
        co_return bad("multiple_options::stagger: must be 0 to 10 s");
    if (opts.timeout && (opts.timeout->count() <= 0 || *opts.timeout > max_timeout))
        co_return bad("multiple_options::timeout: must be positive and at most 24 h");
    // The requests after the first hold a connection each while they wait for the answer, which
    // needs one more.
    if (const auto most = impl_->cfg().max_connections; params.size() >= most)
        co_return bad("params: " + std::to_string(params.size()) +
                      " requests; at most config::max_connections - 1 (" +
                      std::to_string(most - 1) + "): the follow-up needs a connection of its own");
    if (auto ok = detail::check_path(path); !ok) co_return ok.get_failure();
    std::string id = opts.id;
    if (id.empty())
        if (const auto* first = params.front().if_contains("id"); first && first->is_string())
            id = first->get_string();
    if (id.empty()) {
        auto uuid = random_uuid();
        if (!uuid)
            co_return make_failure(make_error_code(std::errc::resource_unavailable_try_again),
                                   "multiple_options::id: no random bytes for a UUID");
        id = std::move(*uuid);
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string at = "params[" + std::to_string(i) + "].";
        if (auto ok = detail::check_plain_call(params[i]); !ok)
            co_return bad(at + ok.get_failure().diag.detail);
        if (const auto* own = params[i].if_contains("id"))
            if (!own->is_string() || own->get_string() != id)
                co_return bad(at + "id: differs from the shared id");
        params[i]["id"] = id;
    }
    auto impl = impl_;
    const auto& cfg = impl->cfg();
    // The token first: the stagger is then the gap between the requests at the server.
    if (auto t = co_await impl->current_token({}); !t) co_return t.get_failure();
    call_options each;
    each.timeout = opts.timeout.value_or(
        cfg.call_timeout + std::chrono::duration_cast<std::chrono::milliseconds>(two_way_timeout));
    auto state = std::make_shared<detail::multiple_state>(impl->get_executor(), params.size());
    for (std::size_t i = 0; i < params.size(); ++i)
        asio::co_spawn(
            asio::make_strand(impl->get_executor()),
            one_request(impl, state, i, opts.stagger * static_cast<int>(i), path, params[i], each),
            asio::detached);
    multiple_call m = detail::multiple_access::make(std::move(state), std::move(path),
                                                    std::move(id), std::move(params));
    co_await detail::multiple_access::settle(m);
    co_return m;
}

asio::awaitable<result<multiple_call>>
client::continue_two_way(multiple_call m, two_way_answer answer, call_options opts) {
    if (!m.challenge()) co_return bad("multiple_call: no challenge is pending");
    const std::size_t i = m.challenged();
    auto challenge = detail::multiple_access::take_challenge(m, i);
    std::string path = challenge->path;
    auto r = co_await send(std::move(path), detail::two_way_params(*challenge, answer), opts, true);
    detail::multiple_access::file(m, i, std::move(r));
    co_await detail::multiple_access::settle(m);
    co_return m;
}

} // namespace codef
