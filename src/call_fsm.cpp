// The call's decisions. Every rule about sending a request again is here, and only here.
#include "detail/call_fsm.hpp"

#include <boost/asio/error.hpp>

namespace codef::detail {

call_fsm::call_fsm(retry_policy& policy, retry_budget* budget, retry_class rc,
                   steady_clock::time_point deadline, bool reissue_on_auth_failure)
    : policy_(policy)
    , budget_(budget)
    , rc_(rc)
    , deadline_(deadline)
    , reissue_on_auth_failure_(reissue_on_auth_failure) {}

call_fsm::action call_fsm::done(ending how, bool outcome_unknown) {
    action a;
    a.what = step::done;
    a.how = how;
    a.outcome_unknown = outcome_unknown;
    return a;
}

call_fsm::action call_fsm::start() {
    attempt_ = 1;
    reissued_ = stale_resent_ = false;
    action a;
    a.what = step::get_token;
    a.min_generation = min_generation_;
    return a;
}

call_fsm::action call_fsm::on_token(bool ok, std::uint64_t generation) {
    if (!ok) return done(ending::token);
    generation_ = generation;
    action a;
    a.what = step::exchange;
    return a;
}

call_fsm::action call_fsm::on_exchange(const exchange_report& r, steady_clock::time_point now) {
    const bool idempotent = rc_ == retry_class::idempotent;
    if (!r.ec) {
        if (r.status == 200) {
            if (budget_) budget_->on_success();
            return done(ending::reply);
        }
        // The token was refused (401), or issued before the client's permissions changed (403
        // access_denied): one reissue, single flight, and one resend. The server did not carry
        // the request out, so even a change may go again.
        if ((r.status == 401 || r.status == 403) && reissue_on_auth_failure_ && !reissued_) {
            reissued_ = true;
            ++reissues_;
            min_generation_ = generation_ + 1;
            action a;
            a.what = step::get_token;
            a.min_generation = min_generation_;
            return a;
        }
    } else if (r.reused && !r.reply_started && !stale_resent_ && r.ec != transport_errc::timeout &&
               r.ec != boost::asio::error::operation_aborted && now < deadline_ &&
               (idempotent || !r.written)) {
        // A reused connection that failed before any byte of the reply: most likely the server
        // closed it while it sat idle. Once more on a fresh connection; but a request that
        // changes state only if not one byte of it was written (Go's net/http rule).
        stale_resent_ = true;
        ++stale_resends_;
        action a;
        a.what = step::exchange;
        a.fresh = true;
        return a;
    }

    const attempt_outcome o{r.ec, r.ec ? 0 : static_cast<int>(r.status), r.written, r.retry_after};
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
    const auto d = policy_.decide(attempt_, o, rc_, remaining, budget_);
    if (!d.retry) {
        if (!r.ec) return done(ending::http);
        // Written, and no reply read whole: the server may have carried it out.
        return done(ending::transport, !idempotent && r.written);
    }
    ++retries_;
    action a;
    a.what = step::backoff;
    a.delay = d.delay;
    return a;
}

call_fsm::action call_fsm::on_backoff_done() {
    ++attempt_;
    reissued_ = stale_resent_ = false;
    action a;
    a.what = step::get_token;
    a.min_generation = min_generation_;
    return a;
}

} // namespace codef::detail
