/// @file
/// @brief Where a client keeps its access token: so that a token can be injected, persisted
/// (CODEF advises keeping it, it lives a week) or shared between clients.
#pragma once

#include <codef/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace codef {

/// The access token and its expiry.
struct token_info {
    std::string access_token;                         ///< a secret: never log it
    std::chrono::system_clock::time_point expires_at; ///< when the token expires (wall clock)
};

/// What a client asks of its store when it needs a token (token_store::refresh).
struct token_request {
    /// The token being replaced (refused by CODEF, or near its expiry); empty when the client has
    /// none. A kept token equal to it is no answer.
    std::string_view replacing;
    /// A kept token is an answer only if it is valid until at least this (now plus
    /// config::token_refresh_margin, by the client's clock).
    std::chrono::system_clock::time_point usable_until;
    /// client::refresh_token(): a kept token is no answer; a new one must be issued.
    bool forced = false;
    /// The store answers by then: waiting for its lock or its backend included.
    std::chrono::steady_clock::time_point deadline;
    /// Whether a kept token answers this request: not empty, not the one being replaced, valid
    /// until usable_until (forced is not looked at: a forced refresh keeps nothing).
    bool accepts(const token_info& kept) const noexcept {
        return !kept.access_token.empty() && kept.access_token != replacing &&
               kept.expires_at > usable_until;
    }
};

/// What a refresh gave the client.
struct token_outcome {
    token_info token;    ///< the token to use
    bool issued = false; ///< asked of CODEF for this client; false: one that was kept
    /// The store's word for the refresh's event (token_refresh_finished_event::store_note), such
    /// as why it fell back to issuing on its own. Never a secret.
    std::string note;
};

/// Asks CODEF for a token on the client's behalf; what token_store::refresh calls when nothing
/// kept will do. Await it (at most once) before refresh completes; it is bounded by the request's
/// deadline.
using issue_function = std::function<boost::asio::awaitable<result<token_info>>()>;

/// Told of tokens obtained elsewhere (token_store::subscribe).
class token_listener {
public:
    virtual ~token_listener() = default;
    /// A token another client (or process) just put in the store.
    virtual void on_token(const token_info& token) = 0;
};

/// A place for the access token outside the client (config::token_store). Without one, each
/// client keeps its token to itself.
///
/// When a client needs a token (it has none, its own is near expiry, or CODEF refused it) it
/// calls refresh(), which by default returns what load() gives if that is neither the token being
/// replaced nor within config::token_refresh_margin of expiry, and otherwise calls issue() and
/// save(). client::refresh_token() skips load(). A store shared by several clients or processes
/// overrides refresh() to make one refresh at a time across all of them: under its lock, it reads
/// again what is kept (another may have refreshed while it waited) and only then issues.
/// memory_token_store does so within a process. load() and save() must not block for long; an
/// exception from either is taken as "nothing kept" (load) or ignored (save): the client goes on
/// with CODEF.
class token_store {
public:
    virtual ~token_store() = default;
    /// The token kept, if any.
    virtual std::optional<token_info> load() = 0;
    /// Keeps a token CODEF just issued.
    virtual void save(const token_info& token) = 0;
    /// A token for a client: one kept that will do, else one issued (and saved). Called by the
    /// client on a strand of its own, at most once at a time per client. Must complete by
    /// req.deadline.
    virtual boost::asio::awaitable<result<token_outcome>> refresh(token_request req,
                                                                  issue_function issue);
    /// Each client using the store calls this once, when it is made: the store may then tell it
    /// of tokens put there by others, so that it stops using its old one before CODEF refuses
    /// it. The store holds the listener weakly (it may outlive the client) and may call it from
    /// any thread. By default nothing is told.
    virtual void subscribe(std::weak_ptr<token_listener> listener);
};

/// A token_store in memory, for clients of one process to share one token, and to inject a token
/// obtained elsewhere (the official libraries' setAccessToken). Thread-safe. Its refresh is single
/// flight across the clients that share it: one asks CODEF, the others wait for its token. A
/// token saved is told to every subscribed client.
class memory_token_store : public token_store {
public:
    memory_token_store(); ///< empty
    /// Holds token from the start.
    explicit memory_token_store(token_info token);
    ~memory_token_store() override;
    /// The token held, if any.
    std::optional<token_info> load() override;
    /// Replaces the token held, and tells the subscribed clients.
    void save(const token_info& token) override;
    /// One refresh at a time across the clients sharing this store.
    boost::asio::awaitable<result<token_outcome>> refresh(token_request req,
                                                          issue_function issue) override;
    /// Keeps listener (weakly) to tell it of each token saved.
    void subscribe(std::weak_ptr<token_listener> listener) override;

private:
    struct state;
    std::shared_ptr<state> state_;
};

} // namespace codef
