// The clients subscribed to a token store, held weakly (a client may end before its store), and
// how they are told of a new token: shared by every store that tells (memory_token_store and
// fleet::pg_token_store).
#pragma once

#include <codef/token_store.hpp>

#include <memory>
#include <vector>

namespace codef::detail {

class token_listeners {
public:
    void add(std::weak_ptr<token_listener> listener) { list_.push_back(std::move(listener)); }

    // The clients still alive, the others forgotten. Taken under the store's lock; they are told
    // after it is released (tell), since a listener may load() at once.
    std::vector<std::shared_ptr<token_listener>> alive() {
        std::vector<std::shared_ptr<token_listener>> out;
        std::erase_if(list_, [&](const std::weak_ptr<token_listener>& w) {
            auto l = w.lock();
            if (!l) return true;
            out.push_back(std::move(l));
            return false;
        });
        return out;
    }

private:
    std::vector<std::weak_ptr<token_listener>> list_;
};

inline void tell(const std::vector<std::shared_ptr<token_listener>>& listeners,
                 const token_info& token) {
    for (const auto& l : listeners)
        l->on_token(token);
}

} // namespace codef::detail
