// The emulator's protocol logic, without sockets: a request in, a reply out. The server feeds it
// parsed HTTP requests and carries out the faults its replies ask for. Thread-safe.
#pragma once

#include "emulator/registry.hpp"
#include "emulator/tls_material.hpp"

#include <codef/emulator.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

namespace codef::emu {

struct product_spec;

struct request {
    std::string_view method;
    std::string_view target; // path and query
    std::string_view authorization;
    std::string_view body;
    // Served again after waiting for another call's two-way authentication (reply::wait_for):
    // not counted again, no fault taken, and never told to wait again.
    bool resumed = false;
};

struct reply {
    unsigned status = 200;
    std::string content_type = "application/json;charset=UTF-8";
    std::string body;
    unsigned retry_after = 0; // seconds; 0: no Retry-After header
    enum class fault { none, reset, truncate, drop } fault_kind = fault::none;
    std::chrono::milliseconds delay{0};
    bool hold = false;  // wait for release_token_replies before sending
    bool close = false; // Connection: close
    // Multiple requests: the call waits until the two-way authentication of this id ends
    // (service::on_two_way_done) or wait_limit passes, and is then handled again, resumed.
    std::string wait_for;
    std::chrono::milliseconds wait_limit{0};
};

// What a product handler returns: the result envelope's fields, the data, and any other
// top-level keys of the reply (a two-way challenge's twoWayInfo and is2Way), written after data
// in their order here.
struct api_result {
    std::string code = "CF-00000";
    std::string message = "성공";
    std::string extra_message;
    boost::json::value data = boost::json::object{};
    boost::json::object top_level = {};
    std::string wait_for; // reply::wait_for
    std::chrono::milliseconds wait_limit{0};
};

class service {
public:
    service(const emulator_options& opts, pkey_ptr password_key, pkey_ptr jwt_key);

    reply handle(const request& r);

    emulator_stats stats() const;
    void reset_stats();
    void count_connection(bool oauth_listener);
    void count_handshake(bool oauth_listener, bool resumed);
    void count_closed();

    void apply(const emulator_faults& f);
    emulator_faults faults() const;
    void revoke_tokens();
    // Set by the server: wakes the held token replies.
    void on_release(std::function<void()> f) { release_ = std::move(f); }
    void release_token_replies();
    // Set by the server: wakes the calls waiting for the two-way authentication of an id.
    void on_two_way_done(std::function<void(const std::string& id)> f) {
        two_way_done_ = std::move(f);
    }
    // Whether the two-way authentication of id is still pending (not answered, failed or
    // expired).
    bool two_way_pending(const std::string& id) const;

    const std::string& public_key() const noexcept { return public_key_; }
    bool password_matches(const std::string& connected_id, const std::string& organization,
                          const std::string& plaintext) const;
    std::size_t connected_id_count() const;

private:
    reply token_endpoint(const request& r);
    reply token_reply(const request& r); // under the lock
    reply admin(const request& r, std::string_view path);
    reply api(const request& r, std::string_view path);
    api_result route(std::string_view path, boost::json::object& params);

    api_result account_change(std::string_view path, boost::json::object& params);
    api_result account_list(const boost::json::object& params);
    api_result connected_id_list(const boost::json::object& params);
    api_result product(const product_spec& spec, const boost::json::object& params, bool resumed);

    struct two_way_job {
        const emulator_two_way_product* product = nullptr; // in opts_.two_way_products
        std::string jti;
        std::int64_t job_index = 0;
        std::int64_t thread_index = 0;
        std::int64_t timestamp = 0; // of the latest challenge, in milliseconds
        unsigned tries = 0;
        std::chrono::steady_clock::time_point started;
        std::string id; // the calls' shared id (multiple requests); empty: none
    };
    // How the two-way authentication shared by an id ended: answered until `until`, or failed
    // with `failure`.
    struct shared_id {
        std::chrono::steady_clock::time_point until;
        std::optional<api_result> failure;
    };
    // The two-way product of a path; null when the path asks for no two-way authentication.
    const emulator_two_way_product* two_way_product(std::string_view path) const;
    // Empty when the call answered its challenge: the product's data follows.
    std::optional<api_result> two_way(const emulator_two_way_product& product,
                                      const boost::json::object& params, bool resumed);
    // A plain call carrying an id: answered with its data (nullopt), told to wait, or told how
    // the shared authentication failed; a new challenge (empty optional in the outer) when
    // the id has none yet.
    std::optional<std::optional<api_result>>
    shared_two_way(const std::string& id, bool resumed, std::chrono::steady_clock::time_point now);
    // The job ended (answered when failure is null); wakes the calls waiting for its id.
    void end_shared(const two_way_job& job, std::chrono::steady_clock::time_point now,
                    const api_result* failure);
    api_result two_way_challenge(two_way_job& job);

    std::string issue_token(const std::string& client_id, std::chrono::seconds lifetime);
    struct token_record;
    // The record of a valid token; null when the token is unknown, expired or revoked.
    const token_record* valid_token(std::string_view authorization) const;

    emulator_options opts_;
    pkey_ptr password_key_;
    pkey_ptr jwt_key_;
    std::string public_key_;
    std::function<void()> release_;
    std::function<void(const std::string&)> two_way_done_;

    mutable std::mutex mutex_;
    registry registry_;
    struct token_record {
        std::int64_t exp;
        std::uint64_t serial;
        unsigned authorities; // a bit per authority (BANK, CARD, ...) the token holds
    };
    std::unordered_map<std::string, token_record> tokens_;
    std::unordered_map<std::string, two_way_job> two_way_jobs_;  // by jti
    std::unordered_map<std::string, std::string> job_of_id_;     // a pending job's jti, by id
    std::unordered_map<std::string, shared_id> shared_ids_;      // ended jobs, by id
    std::unordered_map<std::string, std::string> product_cache_; // question -> encoded data
    std::uint64_t token_serial_ = 0;
    std::uint64_t revoked_below_ = 0;
    std::minstd_rand jitter_; // reply_jitter's draws
    emulator_faults faults_;
    emulator_stats stats_;
};

// The reply encoding of CODEF: the JSON text, form-style percent-encoded.
std::string encode_envelope(const api_result& r, std::string_view transaction_id);
// The same with the data part already form-encoded (r.data is not used).
std::string encode_envelope(const api_result& r, std::string_view transaction_id,
                            std::string_view encoded_data);
// Tolerant request decoding: raw JSON, percent-encoded JSON ('+' as space), empty or null as {}.
// Empty optional: not JSON, or JSON but not an object.
std::optional<boost::json::object> decode_params(std::string_view body);

} // namespace codef::emu
