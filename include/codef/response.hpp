// A CODEF reply: the result envelope and its data, exactly as the server sent them.
#pragma once

#include <codef/error.hpp>

#include <boost/json/value.hpp>

#include <string>

namespace codef {

inline constexpr const char* success_code = "CF-00000";

struct response {
    std::string code;           // result.code, verbatim (e.g. "CF-00000", "CF-03002")
    std::string message;        // result.message
    std::string extra_message;  // result.extraMessage
    std::string transaction_id; // result.transactionId (empty when absent)
    // An object for most products, an array for some; null if absent. As parsed, it lives in a
    // few blocks (data.storage()) freed with it; what an edit allocates comes from the heap.
    boost::json::value data;

    // A business result other than CF-00000 is not an error of the call: check here.
    bool ok() const noexcept { return code == success_code; }
    // code as an error_code of codef::result_category() (result_codes.hpp); empty on success.
    error_code error() const noexcept;
};

} // namespace codef
