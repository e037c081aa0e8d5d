/// @file
/// @brief Where a client keeps its access token: so that a token can be injected, persisted
/// (CODEF advises keeping it, it lives a week) or shared between clients.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace codef {

/// The access token and its expiry.
struct token_info {
    std::string access_token;                         ///< a secret: never log it
    std::chrono::system_clock::time_point expires_at; ///< when the token expires (wall clock)
};

/// A place for the access token outside the client (config::token_store). Without one, each
/// client keeps its token to itself.
///
/// The client calls load() when it needs a token (it has none, its own is near expiry, or CODEF
/// refused it) before it asks CODEF for one, and uses what load() returns if that is neither the
/// token it is replacing nor within config::token_refresh_margin of expiry. It calls save() once
/// for each token CODEF issues to it. client::refresh_token() skips load(). Both are called from
/// the client's executor, at most one at a time per client, and must not block for long: a store
/// backed by a database keeps a copy in memory and writes behind. An exception from either is
/// taken as "nothing kept" (load) or ignored (save): the client goes on with CODEF.
class token_store {
public:
    virtual ~token_store() = default;
    /// The token kept, if any.
    virtual std::optional<token_info> load() = 0;
    /// Keeps a token CODEF just issued.
    virtual void save(const token_info& token) = 0;
};

/// A token_store in memory, for clients of one process to share one token, and to inject a token
/// obtained elsewhere (the official libraries' setAccessToken). Thread-safe.
class memory_token_store : public token_store {
public:
    memory_token_store() = default; ///< empty
    /// Holds token from the start.
    explicit memory_token_store(token_info token)
        : token_(std::move(token)) {}
    /// The token held, if any.
    std::optional<token_info> load() override {
        std::lock_guard lock(mutex_);
        return token_;
    }
    /// Replaces the token held.
    void save(const token_info& token) override {
        std::lock_guard lock(mutex_);
        token_ = token;
    }

private:
    std::mutex mutex_;
    std::optional<token_info> token_;
};

} // namespace codef
