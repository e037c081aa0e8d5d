/// @file
/// @brief Two-way (additional) authentication: a product call that answers CF-03002 gives a
/// challenge; client::continue_two_way sends the answer with the original parameters, is2Way and
/// twoWayInfo, and may get another challenge.
#pragma once

#include <codef/error.hpp>
#include <codef/response.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace codef {

/// A request for additional authentication: the data of a CF-03002 reply, and the call to send
/// again with the end user's answer (client::continue_two_way).
struct two_way_challenge {
    std::string method;                 ///< secureNo, smsAuthNo, simpleAuth, emailAuthNo, ...
    std::int64_t job_index = 0;         ///< data.jobIndex
    std::int64_t thread_index = 0;      ///< data.threadIndex
    std::string jti;                    ///< data.jti
    std::int64_t two_way_timestamp = 0; ///< data.twoWayTimestamp, in milliseconds
    boost::json::value extra_info;      ///< e.g. {"reqSecureNo": "data:image/png;base64,..."}
    response reply;                     ///< the CF-03002 reply whole
    std::string path;                   ///< the call to send again, with the answer
    /// The call's original parameters (without is2Way and twoWayInfo), sent again with the answer.
    boost::json::object params;

    /// The challenge in a reply, when it is CF-03002 with data.continue2Way; empty otherwise.
    /// Keys the reply lacks stay empty (0 or ""): continue_two_way then refuses to send.
    /// @param r The reply.
    /// @param path The path of the call that got it.
    /// @param params The parameters of the call that got it; is2Way and twoWayInfo are dropped,
    ///               so that a follow-up of a follow-up starts again from the original ones.
    static std::optional<two_way_challenge> from(const response& r, std::string path,
                                                 boost::json::object params);

    /// The challenge as JSON, to keep between two HTTP requests of a web backend (in a session or
    /// a database) and continue in another process or on another server: every member, the
    /// reply in CODEF's own envelope shape. It holds no token and no client secret; the
    /// parameters are kept as they were sent (a password among them is RSA ciphertext, as on the
    /// wire).
    boost::json::object to_json() const;
    /// A challenge from to_json's output, ready for client::continue_two_way.
    /// @return The challenge, or client_errc::invalid_argument naming the first key that is
    ///         missing or of the wrong type.
    static result<two_way_challenge> from_json(const boost::json::value& v);
};

/// What the end user answered.
struct two_way_answer {
    std::string value;    ///< the code typed (secureNo, smsAuthNo, emailAuthNo)
    bool refresh = false; ///< secureNo: ask for a new captcha instead

    /// The code the end user typed (secureNo, smsAuthNo, emailAuthNo).
    static two_way_answer code(std::string v) { return {std::move(v), false}; }
    /// simpleAuth: done in the app.
    static two_way_answer confirmed() { return {"1", false}; }
    /// secureNo: ask for a new captcha instead of answering.
    static two_way_answer new_captcha() { return {"", true}; }
};

/// A product call ends in a response or in a challenge to answer.
using product_outcome = std::variant<response, two_way_challenge>;

namespace detail {
// The follow-up's parameters: the original ones, the answer, is2Way and twoWayInfo.
boost::json::object two_way_params(const two_way_challenge& c, const two_way_answer& a);
// The guards of every official library, before sending: a follow-up needs is2Way == true and
// twoWayInfo with jobIndex, threadIndex, jti and twoWayTimestamp (else
// client_errc::two_way_incomplete, naming the key); a plain call must carry neither (else
// client_errc::two_way_in_plain_call).
result<std::monostate> check_two_way_follow_up(const boost::json::object& params);
result<std::monostate> check_plain_call(const boost::json::object& params);
product_outcome to_outcome(response r, std::string path, boost::json::object params);
} // namespace detail

} // namespace codef
