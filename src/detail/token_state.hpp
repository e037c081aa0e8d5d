// The refresher's decisions, without I/O: which token a call may use, when a refresh starts, how
// failures back off. The token_refresher shell runs these on the client's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace codef::detail {

using wall_clock = std::chrono::system_clock;
using steady_clock = std::chrono::steady_clock;

struct token {
    std::string value;
    std::string authorization; // the request's header line: "Authorization: Bearer <value>\r\n"
    wall_clock::time_point expires_at;
    wall_clock::time_point issued_at; // when we received it, by our clock
    std::uint64_t generation = 0;     // 1 for the first token, +1 for each reissue
    bool from_store = false;          // loaded from config::token_store, not issued to us
    std::string note;                 // the store's word on the refresh (token_outcome::note)
};
using token_ptr = std::shared_ptr<const token>;

class token_state {
public:
    token_state(std::chrono::seconds refresh_margin, std::chrono::milliseconds initial_backoff,
                std::chrono::milliseconds max_backoff)
        : margin_(refresh_margin)
        , initial_backoff_(initial_backoff)
        , max_backoff_(max_backoff) {}

    enum class verdict {
        use,             // the current token will do
        use_and_refresh, // it will do, but it is past its refresh margin: refresh in the background
        wait,            // a refresh is running: wait for it
        refresh_and_wait, // start a refresh, then wait for it
    };

    // A call needs a token of at least min_generation (0: any). A call that saw a 401 with
    // generation g asks for g + 1; every later call then waits for it too.
    verdict on_request(wall_clock::time_point now, std::uint64_t min_generation);

    void on_refresh_started() { refreshing_ = true; }
    // Installs t as the current token, with the next generation; returns it.
    token_ptr on_refresh_succeeded(token t);
    // A token obtained elsewhere (the store told of it): installed, with the next generation, when
    // no refresh is running and it expires later than the current one. Null when not taken.
    token_ptr on_offered(token t, wall_clock::time_point now);
    void on_refresh_failed(wall_clock::time_point now);

    // How long a refresh starting now must wait for the backoff of earlier failures.
    std::chrono::milliseconds refresh_delay(wall_clock::time_point now) const;
    // When the current token should be refreshed ahead of its expiry; max() without a token.
    wall_clock::time_point background_refresh_at() const;

    const token_ptr& current() const noexcept { return current_; }
    // The current token serves any caller now: not rejected, not expired, not past its margin.
    bool usable_by_anyone(wall_clock::time_point now) const {
        return usable(now, 0) && now < background_refresh_at();
    }
    bool refreshing() const noexcept { return refreshing_; }
    unsigned consecutive_failures() const noexcept { return failures_; }

private:
    bool usable(wall_clock::time_point now, std::uint64_t min_generation) const;
    std::chrono::seconds effective_margin() const;

    std::chrono::seconds margin_;
    std::chrono::milliseconds initial_backoff_;
    std::chrono::milliseconds max_backoff_;
    token_ptr current_;
    std::uint64_t next_generation_ = 1;
    std::uint64_t min_valid_generation_ = 0;
    bool refreshing_ = false;
    unsigned failures_ = 0;
    wall_clock::time_point not_before_{};
};

} // namespace codef::detail
