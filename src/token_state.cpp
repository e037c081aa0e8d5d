// Token decisions: use, refresh ahead of expiry, single flight, backoff after failures.
#include "detail/token_state.hpp"

#include <algorithm>

namespace codef::detail {

std::chrono::seconds token_state::effective_margin() const {
    if (!current_) return margin_;
    // A short-lived token (the emulator's, in tests) is refreshed at half its life at the latest.
    const auto life = std::chrono::duration_cast<std::chrono::seconds>(current_->expires_at -
                                                                       current_->issued_at);
    return std::min(margin_, std::max(life / 2, std::chrono::seconds::zero()));
}

bool token_state::usable(wall_clock::time_point now, std::uint64_t min_generation) const {
    return current_ && current_->generation >= std::max(min_generation, min_valid_generation_) &&
           now < current_->expires_at;
}

token_state::verdict token_state::on_request(wall_clock::time_point now,
                                             std::uint64_t min_generation) {
    min_valid_generation_ = std::max(min_valid_generation_, min_generation);
    if (usable(now, min_generation)) {
        if (!refreshing_ && now >= current_->expires_at - effective_margin())
            return verdict::use_and_refresh;
        return verdict::use;
    }
    return refreshing_ ? verdict::wait : verdict::refresh_and_wait;
}

token_ptr token_state::on_refresh_succeeded(token t) {
    t.generation = next_generation_++;
    current_ = std::make_shared<const token>(std::move(t));
    refreshing_ = false;
    failures_ = 0;
    not_before_ = {};
    return current_;
}

token_ptr token_state::on_offered(token t, wall_clock::time_point now) {
    // A refresh under way will find it in the store itself; the same token, or one that expires
    // sooner, is no news. (Expiries have a JWT's one-second grain: two tokens issued in the same
    // second expire together, and the one offered is the later.)
    if (refreshing_ || now >= t.expires_at) return nullptr;
    if (current_ && (current_->value == t.value || t.expires_at < current_->expires_at))
        return nullptr;
    t.generation = next_generation_++;
    current_ = std::make_shared<const token>(std::move(t));
    return current_;
}

void token_state::on_refresh_failed(wall_clock::time_point now) {
    refreshing_ = false;
    ++failures_;
    auto backoff = initial_backoff_;
    for (unsigned i = 1; i < failures_ && backoff < max_backoff_; ++i)
        backoff *= 2;
    not_before_ = now + std::min(backoff, max_backoff_);
}

std::chrono::milliseconds token_state::refresh_delay(wall_clock::time_point now) const {
    if (now >= not_before_) return std::chrono::milliseconds::zero();
    return std::chrono::ceil<std::chrono::milliseconds>(not_before_ - now);
}

wall_clock::time_point token_state::background_refresh_at() const {
    if (!current_) return wall_clock::time_point::max();
    return current_->expires_at - effective_margin();
}

} // namespace codef::detail
