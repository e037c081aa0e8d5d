// The emulator's connectedIds and the accounts registered under each. Millions of synthetic ids
// cost nothing: a seeded id encodes its index, and its accounts are derived from it until a
// change makes a copy. Not thread-safe: the service guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace codef::emu {

struct registration {
    std::string country_code = "KR";
    std::string business_type; // BK, CD, ...
    std::string client_type;   // P, B
    std::string organization;  // 4 digits
    std::string login_type;    // 0 certificate, 1 id and password
    std::string id;
    std::string birthday;
    std::string password_sha256; // of the decrypted password

    // One registration per organization and client type within a connectedId.
    bool same_slot(const registration& o) const {
        return organization == o.organization && client_type == o.client_type;
    }
};

class registry {
public:
    explicit registry(std::size_t seeded = 0);

    std::string create(std::vector<registration> accounts);
    // Empty when the connectedId is unknown (or all its accounts were deleted).
    std::optional<std::vector<registration>> accounts(std::string_view connected_id) const;
    // Replaces the accounts of a known connectedId.
    void store(std::string_view connected_id, std::vector<registration> accounts);

    struct page {
        std::vector<std::string> ids;
        bool has_next = false;
    };
    page list(std::size_t page_no, std::size_t page_size) const;
    std::size_t size() const noexcept { return seeded_ + created_.size() - deleted_; }

    // The synthetic id of seed index i, and back.
    std::string seeded_id(std::uint64_t i) const;
    std::optional<std::uint64_t> seed_index(std::string_view connected_id) const;
    std::vector<registration> seeded_accounts(std::uint64_t i) const;

private:
    std::string new_random_id() const;

    std::size_t seeded_;
    std::vector<std::string> created_;
    std::size_t deleted_ = 0;
    // Accounts of created ids and of seeded ids that were changed; empty vector: deleted.
    std::unordered_map<std::string, std::vector<registration>> changed_;
    std::size_t changed_seeded_ = 0;
};

} // namespace codef::emu
