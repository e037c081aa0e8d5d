// What the hostile tests share: canaries, a client config pointed at hostile servers, calls timed.
#pragma once

#include "hostile_server.hpp"
#include "support.hpp"

#include <codef/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace codef::hostile_test {

namespace hs = codef::hostile;
using namespace std::chrono_literals;
using hs::millis;
using hs::steady;

// Secrets the servers echo back; none may ever show in an error, a message or an output.
inline constexpr const char* client_id = "hostile-client";
inline constexpr const char* secret_canary = "CANARY-SECRET-6f1d2c";
inline constexpr const char* token_canary = "CANARY-TOKEN-93ab7e";
inline constexpr const char* password_canary = "CANARY-PW-4c2e";
inline std::string basic_canary() {
    return hs::base64(std::string(client_id) + ":" + secret_canary);
}
// Which canary text holds (the first found), or empty.
inline std::string canary_in(std::string_view text) {
    const std::vector<std::string> all{secret_canary, token_canary, password_canary,
                                       basic_canary()};
    for (const auto& c : all)
        if (text.find(c) != std::string_view::npos) return c;
    return {};
}

// What a server echoes back: the credentials, and the token and the password when the client has
// them (a client cannot hide what it never knew).
inline std::string echo_known(bool token, bool password) {
    std::string s =
        std::string("client_secret=") + secret_canary + " Authorization: Basic " + basic_canary();
    if (token) (s += " Bearer ") += token_canary;
    if (password) (s += " password=") += password_canary;
    return s;
}

inline constexpr const char* product = "/v1/kr/bank/p/account/account-list";
inline const std::string ok_body = hs::envelope("CF-00000", "ok", R"({"n":1})");

// Tokens from the server (a week), everything else from f.
inline hs::handler api_only(std::function<hs::script(const hs::request&)> f,
                            std::string token = "hostile-token") {
    return [f = std::move(f), token = std::move(token)](const hs::request& r) {
        if (r.path == "/oauth/token") return hs::reply(hs::response(200, hs::token_json(token)));
        return f(r);
    };
}

// Every event and log line of every client config_for makes, searched for canaries as it comes:
// events and logs must hold none, whatever a server echoes.
class canary_watch : public observer {
public:
    void seen(std::string_view line) {
        std::lock_guard lock(mutex_);
        ++lines_;
        if (!canary_in(line).empty()) leaks_.emplace_back(line);
    }
    std::size_t lines() {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    std::vector<std::string> leaks() {
        std::lock_guard lock(mutex_);
        return leaks_;
    }

    void on_call_started(const call_started_event& e) override { seen(format_event(e)); }
    void on_call_finished(const call_finished_event& e) override {
        seen(format_event(e));
        seen(e.error.message()); // what an observer might print besides the line
    }
    void on_retry(const retry_event& e) override { seen(format_event(e)); }
    void on_token_refresh_started(const token_refresh_started_event& e) override {
        seen(format_event(e));
    }
    void on_token_refresh_finished(const token_refresh_finished_event& e) override {
        seen(format_event(e));
    }
    void on_connection_opened(const connection_opened_event& e) override { seen(format_event(e)); }
    void on_connection_closed(const connection_closed_event& e) override { seen(format_event(e)); }
    void on_connection_stale(const connection_stale_event& e) override { seen(format_event(e)); }
    void on_pool_wait(const pool_wait_event& e) override { seen(format_event(e)); }

private:
    std::mutex mutex_;
    std::size_t lines_ = 0;
    std::vector<std::string> leaks_;
};

inline const std::shared_ptr<canary_watch>& watch() {
    static const auto w = std::make_shared<canary_watch>();
    return w;
}

// A client config for api (and oauth, api when null): the trusted test CA, our credentials,
// quick retries.
inline config config_for(const hs::server& api, const hs::server* oauth = nullptr) {
    config c;
    c.env = environment::production;
    c.api_url = api.url();
    c.oauth_url = (oauth ? *oauth : api).oauth_url();
    c.ca_pem = hs::trusted_ca_pem();
    c.client_id = client_id;
    c.client_secret = secret_canary;
    c.public_key = hs::password_public_key();
    c.connect_timeout = 5s;
    c.token_timeout = 5s;
    c.retry.initial_backoff = 10ms;
    c.retry.max_backoff = 50ms;
    c.observer = watch();
    c.log_level = log_level::trace;
    c.log = [w = watch()](log_level, std::string_view line) { w->seen(line); };
    return c;
}

inline std::string what_of(const error_code& ec, const diagnostics& d) {
    return codef::error(ec, d).what();
}

inline std::string lowercase(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

template <class T>
struct timed {
    result<T> r;
    millis took{};
    std::string what; // codef::error(...).what() of a failure; empty on success
};

template <class T>
timed<T> run_timed(boost::asio::io_context& ioc, boost::asio::awaitable<result<T>> aw) {
    const auto start = steady::now();
    timed<T> out;
    out.r = codef::test::run(ioc, std::move(aw), std::chrono::seconds(90));
    out.took = std::chrono::duration_cast<millis>(steady::now() - start);
    if (!out.r) out.what = what_of(out.r.error(), out.r.diag());
    return out;
}

// One call of path with params, bounded by timeout.
inline timed<response> call(boost::asio::io_context& ioc, client& c, millis timeout,
                            std::string path = product, boost::json::object params = {}) {
    call_options o;
    o.timeout = timeout;
    return run_timed(ioc, c.try_request(std::move(path), std::move(params), o));
}

} // namespace codef::hostile_test
