/// @file
/// @brief Multiple requests (다건요청): several calls of a product for one end user that share one
/// two-way authentication (client::multiple_products).
#pragma once

#include <codef/error.hpp>
#include <codef/response.hpp>
#include <codef/two_way.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace codef {

namespace detail {
struct multiple_state;
struct multiple_access;
} // namespace detail

/// Options of client::multiple_products.
struct multiple_options {
    /// The `id` parameter every request carries: unique to the end user, as CODEF asks (e.g. your
    /// user's id and a UUID). Empty: the `id` of the first request's parameters, else a random
    /// UUID (version 4).
    std::string id;
    /// The time between one request and the next: CODEF asks for 0.5 to 1 s; the official Java
    /// 2.x library waits 700 ms. At most 10 s.
    std::chrono::milliseconds stagger{700};
    /// The timeout of each request. The requests after the first wait at the server for the end
    /// user to answer the challenge, so the default is config::call_timeout plus CODEF's two-way
    /// timeout (160 s).
    std::optional<std::chrono::milliseconds> timeout;
};

/// Multiple requests under way or ended (client::multiple_products). While challenge() is not
/// null, one request waits for the end user's answer (client::continue_two_way with this object)
/// and the others for that authentication; when it is null, every request has ended and
/// results() holds what each got.
///
/// Unlike a two_way_challenge, this object holds requests in flight: it cannot be kept as JSON
/// and continued in another process. Dropped while requests are in flight, those not yet sent are
/// not sent, and those sent end on their own (at their timeout at the latest), unseen.
class multiple_call {
public:
    multiple_call();                                         ///< no requests
    ~multiple_call();                                        ///< the requests end on their own
    multiple_call(multiple_call&&) noexcept;                 ///< takes over the requests
    multiple_call& operator=(multiple_call&&) noexcept;      ///< takes over the requests
    multiple_call(const multiple_call&) = delete;            ///< requests are not copied
    multiple_call& operator=(const multiple_call&) = delete; ///< requests are not copied

    /// The challenge to answer with client::continue_two_way; null when every request has ended.
    /// When several requests were challenged (each its own authentication), the first of them.
    const two_way_challenge* challenge() const noexcept;
    /// Which request (an index into the parameters) challenge() belongs to.
    std::size_t challenged() const noexcept;
    /// What each request got, in the order of the parameters: complete when challenge() is
    /// null. A request still waiting holds client_errc::two_way_incomplete.
    const std::vector<result<response>>& results() const noexcept { return results_; }
    /// The `id` the requests share.
    const std::string& id() const noexcept { return id_; }
    /// The number of requests.
    std::size_t size() const noexcept { return results_.size(); }

private:
    friend struct detail::multiple_access;
    /// Where a request stands.
    enum class slot : unsigned char {
        pending,    ///< in flight, or waiting for the authentication
        challenged, ///< got a challenge to answer
        done        ///< ended: results_ holds what it got
    };
    std::shared_ptr<detail::multiple_state> state_;
    std::string path_;
    std::string id_;
    std::vector<boost::json::object> params_;
    std::vector<slot> slots_;
    std::vector<std::optional<two_way_challenge>> challenges_;
    std::vector<result<response>> results_;
};

} // namespace codef
