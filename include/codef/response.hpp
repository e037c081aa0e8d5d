/// @file
/// @brief A CODEF reply: the result envelope and its data, exactly as the server sent them.
#pragma once

#include <codef/error.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace codef {

/// The result code of a successful call, "CF-00000" (codes::success in result_codes.hpp).
inline constexpr const char* success_code = "CF-00000";

/// A CODEF reply: the result envelope ({"result": {"code", "message", "extraMessage",
/// "transactionId"}}) and its data, as the server sent them. A business result, an error code
/// included, is a response: only ok() tells success from failure.
///
/// The client replaces every secret it knows (client secret, tokens, the call's passwords) that a
/// reply's strings hold with "********".
struct response {
    std::string code;           ///< result.code, verbatim (e.g. "CF-00000", "CF-03002")
    std::string message;        ///< result.message
    std::string extra_message;  ///< result.extraMessage
    std::string transaction_id; ///< result.transactionId (empty when absent)
    /// The reply's data. An object for most products, an array for some; null if absent. As
    /// parsed, it lives in a few blocks (data.storage()) freed with it; what an edit allocates
    /// comes from the heap.
    boost::json::value data;
    /// The reply's other top-level keys, beside result and data, as sent: a two-way reply
    /// carries twoWayInfo and is2Way there. Empty for most replies.
    boost::json::object top_level;

    /// Whether code is CF-00000 (success_code). A business result other than CF-00000 is not an
    /// error of the call: check here.
    bool ok() const noexcept { return code == success_code; }
    /// code as an error_code of codef::result_category() (result_codes.hpp); empty on success.
    /// A code that is not of the form CF-nnnnn gives the value -1.
    error_code error() const noexcept;
};

} // namespace codef
