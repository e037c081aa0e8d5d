// codef::client: awaitable CODEF calls over pooled, kept-alive TLS connections, with one shared,
// single-flight access token. One client may be shared by calls on any number of threads.
#pragma once

#include <codef/accounts.hpp>
#include <codef/config.hpp>
#include <codef/error.hpp>
#include <codef/products.hpp>
#include <codef/response.hpp>
#include <codef/two_way.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace codef {

namespace detail {
class client_impl;
}
class connected_id_stream;

// Whether a call may be sent twice. Inquiries may; account changes and two-way follow-ups are
// only retried when nothing of them reached the server.
enum class idempotency { automatic, idempotent, non_idempotent };

struct call_options {
    std::optional<std::chrono::milliseconds> timeout; // overrides config::call_timeout
    idempotency retry_class = idempotency::automatic; // automatic: judged by the path
};

struct token_info {
    std::string access_token; // a secret: never log it
    std::chrono::system_clock::time_point expires_at;
};

// Counters kept by the client, for benchmarks and monitoring.
struct client_stats {
    std::uint64_t calls = 0;
    std::uint64_t token_requests = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t tls_resumed = 0; // of connections_opened, handshakes that resumed a session
    std::uint64_t retries = 0;
    std::uint64_t stale_connection_retries = 0;   // resent on a fresh connection (never a change
                                                  // of which a byte was written)
    std::uint64_t stale_connections_detected = 0; // idle ones found closed before reuse
};

class client {
public:
    // Throws codef::error (client_errc::invalid_config, detail naming the field) when cfg is
    // invalid. All I/O runs on ex; completions come back on the awaiting coroutine's executor.
    client(boost::asio::any_io_executor ex, config cfg);
    ~client();
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // POST path with params. A CODEF business result, errors included, is a response; transport,
    // TLS, HTTP and decoding failures are errors. try_request returns them, request throws
    // codef::error.
    boost::asio::awaitable<result<response>>
    try_request(std::string path, boost::json::object params, call_options opts = {});
    boost::asio::awaitable<response> request(std::string path, boost::json::object params,
                                             call_options opts = {});

    // The access token, issued if there is none yet (or it is too old), otherwise the cached one.
    boost::asio::awaitable<result<token_info>> try_token(call_options opts = {});

    // --- Accounts (accounts.hpp). Plaintext passwords are RSA-encrypted with
    // config::public_key before sending; without a key such a call is refused before sending.
    boost::asio::awaitable<result<account_result>> create_accounts(std::vector<account> accounts,
                                                                   call_options opts = {});
    boost::asio::awaitable<result<account_result>>
    add_accounts(std::string connected_id, std::vector<account> accounts, call_options opts = {});
    boost::asio::awaitable<result<account_result>> update_accounts(std::string connected_id,
                                                                   std::vector<account> accounts,
                                                                   call_options opts = {});
    boost::asio::awaitable<result<account_result>> delete_accounts(std::string connected_id,
                                                                   std::vector<account_key> keys,
                                                                   call_options opts = {});
    boost::asio::awaitable<result<account_list>> list_accounts(std::string connected_id,
                                                               call_options opts = {});
    // One page of the connectedIds this client's credentials hold (page 0 first).
    boost::asio::awaitable<result<connected_id_page>> connected_ids_page(std::int64_t page_no = 0,
                                                                         call_options opts = {});
    // Every connectedId, page after page, holding one page at a time. The stream refers to this
    // client: it must not outlive it.
    connected_id_stream connected_ids(call_options opts = {});

    // --- Products (products.hpp, two_way.hpp). A CF-03002 reply becomes a two_way_challenge.
    boost::asio::awaitable<result<product_outcome>>
    try_product(std::string path, boost::json::object params, call_options opts = {});
    // Sends the answer with the challenge's original parameters, is2Way and twoWayInfo.
    boost::asio::awaitable<result<product_outcome>>
    continue_two_way(two_way_challenge challenge, two_way_answer answer, call_options opts = {});
    // A follow-up built by the caller (as with the official libraries): params must hold
    // is2Way: true and twoWayInfo with its four keys.
    boost::asio::awaitable<result<product_outcome>>
    continue_two_way(std::string path, boost::json::object params, call_options opts = {});
    boost::asio::awaitable<result<bank_account_list>> bank_accounts(bank_account_query q,
                                                                    call_options opts = {});
    boost::asio::awaitable<result<bank_transaction_list>>
    bank_transactions(bank_transaction_query q, call_options opts = {});
    boost::asio::awaitable<result<card_list>> cards(card_query q, call_options opts = {});
    boost::asio::awaitable<result<card_approval_list>> card_approvals(card_approval_query q,
                                                                      call_options opts = {});

    // plaintext RSA-encrypted with config::public_key (base64), as CODEF wants passwords.
    result<std::string> encrypt(std::string_view plaintext) const;

    client_stats stats() const;
    const config& get_config() const noexcept;
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

// Every connectedId, across pages (hasNext / nextPageNo), one page in memory at a time.
//   auto ids = client.connected_ids();
//   for (;;) {
//       auto id = co_await ids.next();      // result<std::optional<std::string>>
//       if (!id) { /* error: calling next() again retries the same page */ }
//       if (!*id) break;                    // the end
//   }
class connected_id_stream {
public:
    // The next connectedId; an empty optional after the last.
    boost::asio::awaitable<result<std::optional<std::string>>> next();
    // The rest of the current page, or the next page; an empty vector after the last.
    boost::asio::awaitable<result<std::vector<std::string>>> next_page();
    // connectedIds held now (at most one page).
    std::size_t buffered() const noexcept { return page_.size() - pos_; }
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
