/// @file
/// @brief The CODEF emulator: a real HTTPS server that speaks the CODEF protocol, for tests (yours
/// and ours), demos and benchmarks. It makes its own CA and server certificate, issues RS256
/// tokens, keeps a registry of connectedIds and answers the products with canned data. Faults can
/// be injected to see how a client copes.
#pragma once

#include <codef/config.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace codef {

namespace emu {
class server;
}

/// A product path that answers a call made without two-way authentication with a challenge
/// (CF-03002), and the method it asks for (emulator_options::two_way_products).
struct emulator_two_way_product {
    std::string path;   ///< the product path, e.g. /v1/kr/insurance/0001/credit4u/contract-info
    std::string method; ///< secureNo (with a captcha), smsAuthNo, emailAuthNo or simpleAuth
};

/// How an emulator listens, and what it accepts and answers.
struct emulator_options {
    std::string address = "127.0.0.1"; ///< the address both listeners bind to
    std::uint16_t port = 0;            ///< the API listener; 0: an ephemeral port
    /// The OAuth listener: 0 an ephemeral port of its own; empty: OAuth is served on the API
    /// listener. Both listeners answer every route; each counts its own connections.
    std::optional<std::uint16_t> oauth_port = 0;
    unsigned threads = 1; ///< the threads that serve both listeners (at least one)
    /// The subjectAltName of the server certificate.
    std::string certificate_names = "DNS:localhost,IP:127.0.0.1,IP:::1";

    /// Client credentials (id, secret) the token endpoint accepts, besides the public sandbox
    /// pair.
    std::vector<std::pair<std::string, std::string>> credentials;
    bool accept_sandbox_credentials = true; ///< whether the public sandbox pair is accepted
    /// The environment the credentials above belong to: their tokens' service_type is "0"
    /// (production) or "1" (development, CODEF's demo), "2" for sandbox. The public sandbox
    /// pair's tokens always say "2".
    environment credentials_environment = environment::development;
    std::chrono::seconds token_lifetime{604799}; ///< the lifetime of the tokens issued

    /// The RSA key pair passwords are encrypted for (PEM, PKCS#8 or PKCS#1); generated when empty.
    std::string rsa_private_key_pem;

    std::size_t page_size = 50'000;     ///< connectedId-list page size
    std::size_t seed_connected_ids = 0; ///< synthetic connectedIds, each with a few accounts

    /// The product paths that ask for two-way authentication (CF-03002) when called without it,
    /// each with its method. By default the insurance product with a captcha (secureNo) and the
    /// health-checkup product with simple authentication (simpleAuth: its call carries loginType
    /// "5", loginTypeLevel "1" to "8", userName, phoneNo and identity). A path that is not one of
    /// the emulator's products is never reached (404).
    std::vector<emulator_two_way_product> two_way_products = {
        {"/v1/kr/insurance/0001/credit4u/contract-info", "secureNo"},
        {"/v1/kr/public/pp/nhis-health-checkup/result", "simpleAuth"}};
    /// The right secureNo / smsAuthNo / emailAuthNo; simpleAuth's answer is always "1".
    std::string two_way_answer = "123456";
    unsigned two_way_max_tries = 3; ///< wrong answers before CF-12872
    /// How long a challenge may be answered; an older one has expired. Challenges tell it as
    /// twoWayInfo.twoWayTimeout, in seconds (rounded up).
    ///
    /// Multiple requests (다건요청): a two-way product call carrying an `id` parameter shares the
    /// authentication of the other calls with that id. The first one gets the challenge; one that
    /// comes while that challenge is pending waits for it (at most until it expires) and is then
    /// answered with its data, or with the error the authentication ended in; one that comes
    /// after it was answered, within this timeout, is answered at once.
    std::chrono::milliseconds two_way_timeout{160'000};
};

/// Counters kept by the emulator (emulator::stats; GET /_emulator/stats).
struct emulator_stats {
    std::uint64_t token_requests = 0; ///< requests to /oauth/token, whatever came of them
    std::uint64_t tokens_issued = 0;  ///< tokens issued
    std::uint64_t api_requests = 0;   ///< requests to /v1/...
    std::uint64_t unauthorized = 0;   ///< 401 invalid_token answers
    /// 403 access_denied answers: the token lacked the authority the path needs
    /// (emulator_faults::token_authorities).
    std::uint64_t forbidden = 0;
    std::map<std::string, std::uint64_t> requests_by_path; ///< api_requests, by path
    /// API listener: connections accepted. Each listener counts its own connections, full TLS
    /// handshakes and resumed TLS handshakes.
    std::uint64_t connections_accepted = 0;
    std::uint64_t tls_handshakes = 0;             ///< API listener: full TLS handshakes
    std::uint64_t tls_resumed = 0;                ///< API listener: resumed TLS handshakes
    std::uint64_t oauth_connections_accepted = 0; ///< OAuth listener: connections accepted
    std::uint64_t oauth_tls_handshakes = 0;       ///< OAuth listener: full TLS handshakes
    std::uint64_t oauth_tls_resumed = 0;          ///< OAuth listener: resumed TLS handshakes
    std::uint64_t connections_closed = 0;         ///< both listeners: connections that have ended
    std::uint64_t faults_injected = 0;            ///< faults carried out (emulator_faults)
    /// Multiple requests (다건요청): two-way product calls that carried the id of another call's
    /// pending two-way authentication and waited for it before being answered.
    std::uint64_t two_way_waits = 0;
};

/// Faults, settable in-process and at POST /_emulator/faults (a JSON object with these names;
/// durations as numbers: token_lifetime in seconds, the others in milliseconds). A field that is
/// set replaces the current value; an unset one leaves it.
///
/// The counts (fail_next, reset_next, truncate_next, drop_next, malformed_next): the next N API
/// calls (not token requests) each meet one fault.
struct emulator_faults {
    /// The lifetime of the tokens issued from now on (emulator_options::token_lifetime at first).
    std::optional<std::chrono::seconds> token_lifetime;
    /// The authorities of the tokens issued from now on (their JWT's authorities claim); at first
    /// all six: BANK, CARD, INSURANCE, PUBLIC, STOCK, ETC. An API call whose token lacks the one
    /// its path needs (BANK for /v1/kr/bank/..., CARD for /v1/kr/card/..., INSURANCE, PUBLIC and
    /// STOCK likewise, ETC for any other /v1/kr/...; none for /v1/account/...) is answered HTTP
    /// 403 {"error":"access_denied","error_description":"Access is denied"}, as CODEF answers a
    /// token issued before the client's permissions changed. Tokens issued earlier keep theirs.
    /// At POST /_emulator/faults: an array of those names, or null for all six.
    std::optional<std::vector<std::string>> token_authorities;
    std::optional<bool> hold_token_replies; ///< token replies wait until released
    std::optional<bool> reject_tokens;      ///< every API call gets the 401 invalid_token answer
    /// Keep-alive connections idle this long are closed without notice (0: never).
    std::optional<std::chrono::milliseconds> idle_close;
    /// The Nth reply on a connection says Connection: close, and the connection ends (0: never).
    std::optional<unsigned> requests_per_connection;
    std::optional<std::chrono::milliseconds> reply_delay; ///< every API reply waits this long
    /// and then a further while, drawn for each reply evenly from 0 to this (inclusive): calls
    /// that end at scattered times, as the real CODEF's do, rather than in step.
    std::optional<std::chrono::milliseconds> reply_jitter;
    std::optional<unsigned> fail_next;   ///< the next N API calls: answered with fail_status
    std::optional<unsigned> fail_status; ///< default 503
    std::optional<unsigned> retry_after; ///< seconds, sent with fail_next answers when non-zero
    /// The next N API calls: the connection is reset halfway through the reply.
    std::optional<unsigned> reset_next;
    /// The next N API calls: the body is cut short and the connection closed.
    std::optional<unsigned> truncate_next;
    /// The next N API calls: the request is read and carried out, then the connection is closed
    /// without a reply: what a client sees when a server drops a kept-alive connection at the
    /// wrong moment.
    std::optional<unsigned> drop_next;
    /// The next N API calls: the body is not percent-encoded JSON.
    std::optional<unsigned> malformed_next;
    std::optional<unsigned> fail_token_next; ///< the next N token requests get fail_status
    /// Every API call whose connectedId falls in this percentage of all ids (by a hash: the same
    /// ids every time) gets fail_status: faults that retrying does not cure.
    std::optional<unsigned> fail_percent_of_ids;
    /// connectedId-list pages that make no progress (a string at POST /_emulator/faults):
    /// "repeat": hasNext, an empty list and nextPageNo the page asked (the same page forever);
    /// "empty": hasNext, an empty list and nextPageNo the page asked + 1 (empty pages forever);
    /// "wrong_page": the usual pages, but pageNo is not the page asked; "" or "none": off.
    std::optional<std::string> stuck_paging;
};

/// A CODEF emulator in this process: a real HTTPS server that speaks the CODEF protocol, on
/// threads of its own. It makes its own CA and server certificate, issues RS256 tokens, keeps a
/// registry of connectedIds and answers the products with canned data; faults can be injected.
class emulator {
public:
    /// Starts listening at once.
    /// @throws std::runtime_error if it cannot.
    explicit emulator(emulator_options opts = {});
    ~emulator();                                   ///< stops
    emulator(const emulator&) = delete;            ///< not copyable
    emulator& operator=(const emulator&) = delete; ///< not copyable

    /// Stops serving: the threads end and the listeners close, so that clients see the ports
    /// refuse connections at once.
    void stop();

    /// The API listener's port (the one chosen when emulator_options::port is 0).
    std::uint16_t port() const noexcept;
    /// The OAuth listener's port; the API listener's when OAuth is served there.
    std::uint16_t oauth_port() const noexcept;
    /// The API base URL: https://127.0.0.1:port, with the address listened on (emulator_options).
    std::string api_url() const;
    /// The token endpoint: https://127.0.0.1:oauth_port/oauth/token, with the address listened on.
    std::string oauth_url() const;
    /// The PEM of the emulator's own CA, which signed its server certificate.
    const std::string& ca_pem() const noexcept;
    /// base64 of the RSA public key's SubjectPublicKeyInfo DER, as the dashboard shows it
    const std::string& public_key() const noexcept;

    /// A client config for this emulator: its URLs, CA and public key, sandbox credentials.
    config client_config() const;

    /// The counters, as they are now.
    emulator_stats stats() const;
    /// Sets every counter to zero.
    void reset_stats();

    /// Applies faults: a field that is set replaces the current value; an unset one leaves it.
    void apply(const emulator_faults& f);
    /// Sends the token replies held (emulator_faults::hold_token_replies), and holds no more.
    void release_token_replies();
    /// Every token issued so far is answered with 401 from now on.
    void revoke_tokens();
    /// The value of header name (in any case) on the last request served, for the headers a
    /// caller adds (call_options::headers: a traceparent, say); empty when it had none. The
    /// headers every client sends (Host, Authorization, Content-Type, Content-Length, Accept,
    /// User-Agent, Connection) are not kept.
    std::string last_header(std::string_view name) const;

    /// Registry inspection for tests: whether the account of organization in connected_id was
    /// registered (or last updated) with this plaintext password.
    bool password_matches(const std::string& connected_id, const std::string& organization,
                          const std::string& plaintext) const;
    /// The connectedIds the registry holds.
    std::size_t connected_id_count() const;

private:
    std::unique_ptr<emu::server> impl_;
};

} // namespace codef
