// One call as a state machine without I/O: fed what happened (a token came or did not, an
// exchange ended this way, a backoff passed), it answers what to do next. It alone decides every
// resend: the reissue after a 401 or 403, the resend on a fresh connection after a stale reused
// one, the retries with their backoff and the client-wide budget. The shell (client.cpp) does the
// I/O it asks for; the pool only reports what happened. Unit-tested event by event.
#pragma once

#include "detail/retry_policy.hpp"

#include <codef/error.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace codef::detail {

using steady_clock = std::chrono::steady_clock;

// What became of one exchange of a request on a connection, as the pool saw it.
struct exchange_report {
    error_code ec;              // why no reply was read whole; empty when one was
    unsigned status = 0;        // the reply's HTTP status, when one was read whole
    bool reused = false;        // the connection had served a reply before this request
    bool written = false;       // some byte of the request was written
    bool reply_started = false; // some byte of the reply arrived
    std::optional<std::chrono::milliseconds> retry_after;
};

class call_fsm {
public:
    enum class step {
        get_token, // a token of at least min_generation (0: any), then on_token
        exchange,  // the request on a connection (fresh: a new one), then on_exchange
        backoff,   // wait delay, then on_backoff_done
        done,      // the call is over: succeeded (a 200 to decode) or failed
    };
    enum class ending {
        none,
        reply,     // a 200 reply: the shell decodes it
        http,      // another status: the shell reads its error body
        transport, // no usable reply (the exchange's error)
        token,     // no token (the token's error)
    };
    struct action {
        step what = step::done;
        std::uint64_t min_generation = 0;  // get_token
        bool fresh = false;                // exchange
        std::chrono::milliseconds delay{}; // backoff
        ending how = ending::none;         // done
        // done, failed after the request was written, at least in part, with no reply read
        // whole: a change the server may have carried out. It is never sent again.
        bool outcome_unknown = false;
    };

    // Whether a 401 or 403 may be answered by a token reissue (the token endpoint's own call may
    // not: its 401 is a wrong credential).
    call_fsm(retry_policy& policy, retry_budget* budget, retry_class rc,
             steady_clock::time_point deadline, bool reissue_on_auth_failure);

    action start();
    // The token for the next exchange: its generation (or the failure that ends the call).
    action on_token(bool ok, std::uint64_t generation);
    action on_exchange(const exchange_report& r, steady_clock::time_point now);
    action on_backoff_done();

    unsigned attempts() const noexcept { return attempt_; }
    unsigned retries() const noexcept { return retries_; }
    unsigned stale_resends() const noexcept { return stale_resends_; }
    unsigned reissues() const noexcept { return reissues_; }

private:
    action done(ending how, bool outcome_unknown = false);

    retry_policy& policy_;
    retry_budget* budget_;
    retry_class rc_;
    steady_clock::time_point deadline_;
    bool reissue_on_auth_failure_;

    unsigned attempt_ = 0;         // attempts started (a reissue or stale resend is within one)
    bool reissued_ = false;        // in this attempt
    bool stale_resent_ = false;    // in this attempt
    std::uint64_t generation_ = 0; // of the token in use
    std::uint64_t min_generation_ = 0;
    unsigned retries_ = 0, stale_resends_ = 0, reissues_ = 0;
};

} // namespace codef::detail
