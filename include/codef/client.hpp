/// @file
/// @brief codef::client: awaitable CODEF calls over pooled, kept-alive TLS connections, with one
/// shared, single-flight access token. One client may be shared by calls on any number of threads.
#pragma once

#include <codef/accounts.hpp>
#include <codef/config.hpp>
#include <codef/error.hpp>
#include <codef/metrics.hpp>
#include <codef/multiple.hpp>
#include <codef/products.hpp>
#include <codef/response.hpp>
#include <codef/token_store.hpp>
#include <codef/two_way.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

/// @brief An asynchronous C++20 client for the CODEF API, and a CODEF emulator to test against.
///
/// codef::client makes awaitable calls on Boost.Asio. A CODEF business result, errors included,
/// is a response; transport, TLS, HTTP and decoding failures are errors (error_code, diagnostics,
/// result). codef::emulator is a real HTTPS CODEF server with fault injection, for tests. Names
/// in codef::detail are the implementation's, not part of the API.
namespace codef {

namespace detail {
class client_impl;
}
class connected_id_stream;

/// Whether a call may be sent twice. Inquiries may; account changes and two-way follow-ups are
/// only retried when nothing of them reached the server.
enum class idempotency {
    automatic,     ///< by the path: account changes and two-way follow-ups non_idempotent
    idempotent,    ///< may be sent again, even when some of it reached the server
    non_idempotent ///< sent again only when nothing of it reached the server
};

/// An extra request header of a call (call_options::headers): its name and value, viewed.
struct http_header {
    std::string_view name;  ///< an HTTP token, such as traceparent
    std::string_view value; ///< a valid field value: no CR, LF or other control character
};

/// Options of one call. Trivially destructible on purpose, so that `{}` and a default argument
/// are safe in a co_await expression: g++ 12 destroys such an aggregate argument that owns memory
/// once too often. What headers and tag view must outlive the call.
struct call_options {
    std::optional<std::chrono::milliseconds> timeout; ///< overrides config::call_timeout
    idempotency retry_class = idempotency::automatic; ///< automatic: judged by the path
    /// Extra request headers, sent with every attempt (a W3C traceparent, say). A name must be an
    /// HTTP token and a value a valid field value; the headers the client writes itself (Host,
    /// Authorization, Content-Type, Content-Length, Accept, User-Agent, Connection,
    /// Transfer-Encoding, and the Proxy- ones) are refused. Otherwise the call fails with
    /// client_errc::invalid_argument naming the header, before anything is sent. Viewed, not
    /// copied.
    std::span<const http_header> headers{};
    /// The caller's name for the call, given back in each of its events (observer.hpp) and log
    /// lines, to join them with the caller's own records. Not sent. Viewed, not copied.
    std::string_view tag{};
};
static_assert(std::is_trivially_destructible_v<call_options>,
              "call_options is passed as {} and defaulted in co_await expressions (g++ 12)");

/// Counters kept by the client, for benchmarks and monitoring.
struct client_stats {
    std::uint64_t calls = 0;              ///< calls made (each once, however many attempts)
    std::uint64_t token_requests = 0;     ///< token requests sent (each attempt)
    std::uint64_t connections_opened = 0; ///< connections opened (API and OAuth hosts)
    std::uint64_t tls_resumed = 0; ///< of connections_opened, handshakes that resumed a session
    std::uint64_t retries = 0;     ///< calls and token requests sent again after a backoff
    /// Resent on a fresh connection (never a change of which a byte was written).
    std::uint64_t stale_connection_retries = 0;
    std::uint64_t stale_connections_detected = 0; ///< idle ones found closed before reuse
};

/// Awaitable CODEF calls over pooled, kept-alive TLS connections, with one shared, single-flight
/// access token. One client may be shared by calls on any number of threads (config::thread_safe).
class client {
public:
    /// Makes a client. All I/O runs on ex; completions come back on the awaiting coroutine's
    /// executor.
    /// @throws codef::error (client_errc::invalid_config, detail naming the field) when cfg is
    ///         invalid.
    client(boost::asio::any_io_executor ex, config cfg);
    /// Shuts the client down: calls waiting for a connection or a token end with
    /// client_errc::shut_down, and idle connections are closed.
    ~client();
    /// Takes over the other client; the moved-from one may only be destroyed or assigned to.
    client(client&&) noexcept;
    /// Shuts this client down (as the destructor does) and takes over the other one.
    client& operator=(client&&) noexcept;
    client(const client&) = delete;            ///< not copyable: share one client
    client& operator=(const client&) = delete; ///< not copyable: share one client

    /// POST path with params. A CODEF business result, errors included, is a response;
    /// transport, TLS, HTTP and decoding failures are errors. try_request returns them, request
    /// throws codef::error.
    /// @param path The API path, such as /v1/kr/bank/p/account/account-list: it must start with
    ///             '/' and hold only printable ASCII without space, '?' or '#'.
    /// @param params The parameters, sent as percent-encoded JSON. A plain call must carry
    ///               neither is2Way nor twoWayInfo (client_errc::two_way_in_plain_call).
    /// @param opts The call's timeout and retry class.
    boost::asio::awaitable<result<response>>
    try_request(std::string path, boost::json::object params, call_options opts = {});
    /// POST path with params, as try_request, but a failure is thrown.
    /// @throws codef::error when the call fails (not for a CODEF business result).
    boost::asio::awaitable<response> request(std::string path, boost::json::object params,
                                             call_options opts = {});

    /// The access token, issued if there is none yet (or it is too old), otherwise the cached one.
    boost::asio::awaitable<result<token_info>> try_token(call_options opts = {});
    /// Asks CODEF for a new token whatever the client holds (config::token_store is not
    /// consulted, and the new token is saved to it): after the client's permissions changed on
    /// the CODEF dashboard, since a token keeps the authorities it was issued with (the official
    /// libraries' requestNewToken). Calls waiting for a token at the time get the new one.
    boost::asio::awaitable<result<token_info>> refresh_token(call_options opts = {});

    /// @name Accounts (accounts.hpp)
    /// Plaintext passwords are RSA-encrypted with config::public_key before sending; without a
    /// key such a call is refused before sending.
    /// @{

    /// Registers accounts under a new connectedId (POST /v1/account/create).
    boost::asio::awaitable<result<account_result>> create_accounts(std::vector<account> accounts,
                                                                   call_options opts = {});
    /// Registers more accounts under connected_id (POST /v1/account/add).
    boost::asio::awaitable<result<account_result>>
    add_accounts(std::string connected_id, std::vector<account> accounts, call_options opts = {});
    /// Updates accounts registered under connected_id (POST /v1/account/update).
    boost::asio::awaitable<result<account_result>> update_accounts(std::string connected_id,
                                                                   std::vector<account> accounts,
                                                                   call_options opts = {});
    /// Removes the accounts that keys name from connected_id (POST /v1/account/delete).
    boost::asio::awaitable<result<account_result>> delete_accounts(std::string connected_id,
                                                                   std::vector<account_key> keys,
                                                                   call_options opts = {});
    /// The accounts registered under connected_id (POST /v1/account/list).
    boost::asio::awaitable<result<account_list>> list_accounts(std::string connected_id,
                                                               call_options opts = {});
    /// One page of the connectedIds this client's credentials hold (page 0 first; POST
    /// /v1/account/connectedId-list). A page that makes no progress is
    /// protocol_errc::paging_stalled.
    boost::asio::awaitable<result<connected_id_page>> connected_ids_page(std::int64_t page_no = 0,
                                                                         call_options opts = {});
    /// Every connectedId, page after page, holding one page at a time. The stream refers to this
    /// client: it must not outlive it.
    connected_id_stream connected_ids(call_options opts = {});
    /// @}

    /// @name Products (products.hpp, two_way.hpp)
    /// A CF-03002 reply becomes a two_way_challenge.
    /// @{

    /// POST path with params, as try_request; a CF-03002 reply with data.continue2Way becomes a
    /// two_way_challenge.
    boost::asio::awaitable<result<product_outcome>>
    try_product(std::string path, boost::json::object params, call_options opts = {});
    /// Sends the answer with the challenge's original parameters, is2Way and twoWayInfo. The
    /// outcome may be another challenge.
    boost::asio::awaitable<result<product_outcome>>
    continue_two_way(two_way_challenge challenge, two_way_answer answer, call_options opts = {});
    /// A follow-up built by the caller (as with the official libraries): params must hold
    /// is2Way: true and twoWayInfo with its four keys.
    boost::asio::awaitable<result<product_outcome>>
    continue_two_way(std::string path, boost::json::object params, call_options opts = {});
    /// Multiple requests (다건요청): one call of path for each element of params, for one end
    /// user, sharing one two-way authentication. Each carries the same `id`
    /// (multiple_options::id); each is sent multiple_options::stagger after the one before (the
    /// token is fetched first, so that the gap is the server's). Completes when a request is
    /// challenged (answer it with continue_two_way: the others are answered once it is done) or
    /// when every request has ended.
    /// @return The requests, or client_errc::invalid_argument (params empty or not fewer than
    ///         config::max_connections, since each waiting request holds a connection and the
    ///         follow-up needs one more; a plain call's guard; an `id` in params other than the
    ///         shared one; a bad stagger or timeout: the message names the element and the key),
    ///         or the token's failure. Nothing is sent on error.
    boost::asio::awaitable<result<multiple_call>>
    multiple_products(std::string path, std::vector<boost::json::object> params,
                      multiple_options opts);
    /// multiple_products with the default multiple_options (an overload, not a default argument:
    /// g++ 12 destroys a defaulted argument that owns memory, such as multiple_options::id, once
    /// too often in a co_await expression).
    boost::asio::awaitable<result<multiple_call>>
    multiple_products(std::string path, std::vector<boost::json::object> params) {
        return multiple_products(std::move(path), std::move(params), multiple_options{});
    }
    /// Answers the challenge of multiple requests: sends the follow-up of the challenged request,
    /// then waits until another challenge is pending or every request has ended. A follow-up that
    /// fails (it is never sent twice) is that request's result.
    /// @return The requests, or client_errc::invalid_argument when call has no challenge.
    boost::asio::awaitable<result<multiple_call>>
    continue_two_way(multiple_call call, two_way_answer answer, call_options opts = {});
    /// The accounts of a connectedId at a bank (/v1/kr/bank/{p|b}/account/account-list).
    boost::asio::awaitable<result<bank_account_list>> bank_accounts(bank_account_query q,
                                                                    call_options opts = {});
    /// An account's transactions between two dates (/v1/kr/bank/{p|b}/account/transaction-list).
    boost::asio::awaitable<result<bank_transaction_list>>
    bank_transactions(bank_transaction_query q, call_options opts = {});
    /// The cards of a connectedId at a card company (/v1/kr/card/{p|b}/account/card-list).
    boost::asio::awaitable<result<card_list>> cards(card_query q, call_options opts = {});
    /// Card approvals between two dates (/v1/kr/card/{p|b}/account/approval-list).
    boost::asio::awaitable<result<card_approval_list>> card_approvals(card_approval_query q,
                                                                      call_options opts = {});
    /// @}

    /// plaintext RSA-encrypted with config::public_key (base64), as CODEF wants passwords.
    /// @return The ciphertext, or client_errc::missing_public_key when config::public_key is
    ///         empty.
    result<std::string> encrypt(std::string_view plaintext) const;

    /// The client's counters, as they are now.
    client_stats stats() const;
    /// The client's metrics, as they are now (metrics.hpp; to_prometheus renders them).
    metrics_snapshot metrics() const;

    /// Drains the client: from now on it takes no new call (client_errc::draining); the calls in
    /// flight go on to their end; then idle connections are closed and a token refresh still
    /// running is cancelled, so that the client holds no connection, no timer and no pending
    /// operation and can be destroyed. Completes when the last call in flight has ended, or at
    /// deadline, whichever is first.
    /// @return An empty value once no call is in flight, or transport_errc::timeout at the
    ///         deadline (the detail says how many calls were still in flight; each still ends by
    ///         its own timeout).
    boost::asio::awaitable<result<std::monostate>>
    drain(std::chrono::steady_clock::time_point deadline);
    /// Calls in flight now (started, not yet ended).
    std::size_t calls_in_flight() const noexcept;
    /// The client's config: the one it was made with, the sandbox credentials and the clock
    /// filled in when they were empty.
    const config& get_config() const noexcept;
    /// The executor all I/O runs on (ex of the constructor).
    boost::asio::any_io_executor get_executor() const noexcept;

private:
    // Every call goes through here. two_way_follow_up picks which guard applies; in_flight holds
    // the call's plaintext passwords, redacted from whatever comes back.
    boost::asio::awaitable<result<response>> send(std::string path, boost::json::object params,
                                                  call_options opts, bool two_way_follow_up,
                                                  std::vector<secret> in_flight = {});
    const public_key* key() const noexcept;

    std::shared_ptr<detail::client_impl> impl_;
};

/// Every connectedId, across pages (hasNext / nextPageNo), one page in memory at a time.
/// Made by client::connected_ids.
/// @code
///   auto ids = client.connected_ids();
///   for (;;) {
///       auto id = co_await ids.next();      // result<std::optional<std::string>>
///       if (!id) { /* error: calling next() again retries the same page */ }
///       if (!*id) break;                    // the end
///   }
/// @endcode
class connected_id_stream {
public:
    /// The next connectedId; an empty optional after the last.
    boost::asio::awaitable<result<std::optional<std::string>>> next();
    /// The rest of the current page, or the next page; an empty vector after the last.
    boost::asio::awaitable<result<std::vector<std::string>>> next_page();
    /// connectedIds held now (at most one page).
    std::size_t buffered() const noexcept { return page_.size() - pos_; }
    /// The pages read so far.
    std::int64_t pages_read() const noexcept { return pages_read_; }

private:
    friend class client;
    connected_id_stream(client& c, call_options opts)
        : client_(&c)
        , opts_(opts) {}
    boost::asio::awaitable<result<bool>> fill(); // false at the end

    client* client_;
    call_options opts_;
    std::vector<std::string> page_;
    std::size_t pos_ = 0;
    std::int64_t next_page_no_ = 0;
    std::int64_t pages_read_ = 0;
    bool done_ = false;
};

} // namespace codef
