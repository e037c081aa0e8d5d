// The client's shared state: configuration, TLS context, the two pools, the token refresher and
// the retry budget. Owned by codef::client and by every call in flight.
#pragma once

#include "detail/connection_pool.hpp"
#include "detail/endpoint.hpp"
#include "detail/redact.hpp"
#include "detail/retry_policy.hpp"
#include "detail/token_refresher.hpp"

#include <codef/client.hpp>
#include <codef/crypto.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace codef::detail {

// A call's path goes on the request line as it is: a plain absolute path, printable ASCII
// without space, '?' or '#' (else client_errc::invalid_argument naming path).
result<std::monostate> check_path(std::string_view path);

// call_options::headers as header lines ("Name: value\r\n" each), or client_errc::invalid_argument
// naming the header: a name that is not an HTTP token or is one the client writes itself, a value
// that is not a valid field value.
result<std::string> extra_header_lines(std::span<const http_header> headers);

// What a call did, for its call_finished event.
struct call_record {
    std::string_view tag; // call_options::tag (the caller keeps it for the call)
    unsigned attempts = 0;
    unsigned retries = 0;
    int http_status = 0;
    std::size_t bytes_out = 0;
    std::size_t bytes_in = 0;
};

class client_impl : public std::enable_shared_from_this<client_impl> {
public:
    static result<std::shared_ptr<client_impl>> create(boost::asio::any_io_executor ex, config cfg);
    ~client_impl();

    void start();
    void shutdown();

    // Runs the call on a strand of its own (config::thread_safe) or on the caller's executor;
    // completes on the awaiting coroutine's executor.
    // in_flight: the call's secrets besides those in params (plaintext passwords), redacted
    // from whatever the call hands back.
    boost::asio::awaitable<result<response>> call(std::string path, boost::json::object params,
                                                  call_options opts, bool two_way_follow_up,
                                                  std::vector<secret> in_flight);
    boost::asio::awaitable<result<token_info>> current_token(call_options opts,
                                                             std::uint64_t min_generation = 0);
    boost::asio::awaitable<result<token_info>> new_token(call_options opts);

    // A token the store told of (another client's, another process's): offered to the refresher.
    void adopt(const token_info& offered);

    client_stats stats() const;
    metrics_snapshot metrics() const;
    boost::asio::awaitable<result<std::monostate>> drain(steady_clock::time_point deadline);
    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    const config& cfg() const noexcept { return cfg_; }
    const std::optional<public_key>& key() const noexcept { return key_; }
    boost::asio::any_io_executor get_executor() const noexcept { return ex_; }

private:
    client_impl(boost::asio::any_io_executor ex, config cfg,
                std::shared_ptr<boost::asio::ssl::context> tls, std::optional<public_key> key);

    boost::asio::awaitable<result<response>>
    call_on_strand(std::string path, boost::json::object params, call_options opts,
                   bool two_way_follow_up, call_record* record);
    // A call or token request begins: refused (client_errc::draining) once drain() was called.
    // Every begin() that succeeds is matched by one end().
    bool begin() noexcept;
    void end() noexcept;
    // Ends what begin() began, on every way out of a coroutine.
    struct ended_on_exit {
        client_impl* self;
        ~ended_on_exit() { self->end(); }
    };
    // A token for the refresher: through config::token_store when there is one, else CODEF's.
    boost::asio::awaitable<result<token>> fetch_token(steady_clock::time_point deadline);
    // One token request to CODEF, with its retries.
    boost::asio::awaitable<result<token>> request_token(steady_clock::time_point deadline);
    // The store's issue_function: CODEF's token, also kept in issued for fetch_token.
    boost::asio::awaitable<result<token_info>>
    request_for_store(steady_clock::time_point deadline,
                      std::shared_ptr<std::optional<token>> issued);
    std::optional<token> take_stored(token_info kept, std::string note);
    void remember_token(const std::string& value);
    bool needs_own_strand(const boost::asio::any_io_executor& caller) const;
    boost::asio::any_io_executor call_executor() const;
    static retry_class classify(std::string_view path, bool two_way_follow_up,
                                idempotency requested);

    config cfg_;
    boost::asio::any_io_executor ex_;
    boost::asio::strand<boost::asio::any_io_executor> strand_; // the token state
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::optional<public_key> key_;
    endpoint api_ep_;
    endpoint oauth_ep_;
    std::shared_ptr<pool_counters> counters_;
    std::shared_ptr<telemetry> telemetry_;
    std::shared_ptr<connection_pool> api_pool_;
    std::shared_ptr<connection_pool> oauth_pool_;
    std::shared_ptr<token_refresher> tokens_;
    std::string token_request_; // holds the Basic credential: never logged
    std::string api_headers_;   // the API requests' header lines that never change
    secret_book secrets_;       // what is redacted from every text handed back
    retry_budget budget_;
    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> token_requests_{0};
    std::atomic<std::uint64_t> retries_{0};
    // config::token_store: refresh_token() skips the next load; the last token this client took
    // (issued or loaded), which a load must not hand back as new.
    std::atomic<bool> skip_store_load_{false};
    std::mutex last_token_mutex_;
    std::string last_token_;
    // Subscribed to config::token_store (held weakly there): passes its tokens to adopt().
    std::shared_ptr<token_listener> store_listener_;

    // drain(): calls and token requests in flight, and the drains waiting for them to end. The
    // count and the flag are sequentially consistent: a call that counts itself and then finds no
    // drain flag is one every drain waits for.
    std::atomic<std::uint64_t> in_flight_{0};
    std::atomic<bool> draining_{false};
    boost::asio::strand<boost::asio::any_io_executor> drain_strand_; // the drains' timers
    std::mutex drain_mutex_;
    std::vector<std::shared_ptr<boost::asio::steady_timer>> drain_timers_;
};

} // namespace codef::detail
