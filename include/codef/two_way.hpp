// Two-way (additional) authentication: a product call that answers CF-03002 gives a challenge;
// client::continue_two_way sends the answer with the original parameters, is2Way and twoWayInfo,
// and may get another challenge.
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

struct two_way_challenge {
    std::string method; // secureNo, smsAuthNo, simpleAuth, emailAuthNo, ...
    std::int64_t job_index = 0;
    std::int64_t thread_index = 0;
    std::string jti;
    std::int64_t two_way_timestamp = 0; // milliseconds
    boost::json::value extra_info;      // e.g. {"reqSecureNo": "data:image/png;base64,..."}
    response reply;                     // the CF-03002 reply whole
    std::string path;                   // the call to send again, with the answer
    boost::json::object params;

    // The challenge in a reply, when it is CF-03002 with data.continue2Way; empty otherwise.
    // Keys the reply lacks stay empty (0 or ""): continue_two_way then refuses to send.
    static std::optional<two_way_challenge> from(const response& r, std::string path,
                                                 boost::json::object params);
};

// What the end user answered.
struct two_way_answer {
    std::string value;    // the code typed (secureNo, smsAuthNo, emailAuthNo)
    bool refresh = false; // secureNo: ask for a new captcha instead

    static two_way_answer code(std::string v) { return {std::move(v), false}; }
    static two_way_answer confirmed() { return {"1", false}; } // simpleAuth: done in the app
    static two_way_answer new_captcha() { return {"", true}; }
};

// A product call ends in a response or in a challenge to answer.
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
