// Canned product replies, shaped like CODEF's (Korean names, amounts and dates as strings), and
// the parameters each product requires.
#pragma once

#include "emulator/registry.hpp"
#include "emulator/service.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace codef::emu {

struct product_spec {
    std::string_view path;
    std::vector<std::string_view> required;
    bool needs_connected_id = true; // the organization must be registered in the connectedId
    // Parameters that, when present, must be RSA ciphertexts of the emulator's public key.
    std::vector<std::string_view> encrypted = {};
    // Checks of the parameters' values, once the required ones are there: a business error
    // (CF-00007 naming the parameter), or none.
    std::optional<api_result> (*check)(const boost::json::object& params) = nullptr;
};

// The spec of a product path; null when the path is not a product.
const product_spec* find_product(std::string_view path);

// The reply data of a product for a registered account (reg may be null for products that need
// no connectedId).
api_result product_data(const product_spec& spec, const boost::json::object& params,
                        const registration* reg);

} // namespace codef::emu
