// A scriptable misbehaving TLS server for tests. It listens on 127.0.0.1 (an ephemeral port) with
// a certificate of the test's choosing (trusted, untrusted, self-signed, expired, not yet valid,
// for another name, or TLS 1.0/1.1 only), reads each HTTP request whole, records it, and answers
// with whatever script a handler picks for it: raw bytes, trickles, silence, a close, a reset,
// endless headers or chunks, 1xx interim replies, redirects...
//
// It runs on threads of its own (one accepting, one per connection, blocking I/O bounded by
// poll()); stop() wakes and joins them all. Every wait is bounded, so a server never hangs a test:
// a connection idles at most a minute, a write gives up after 30 s, `hang` ends when the client
// hangs up or after its limit, `endless` after its byte limit, and stop() ends everything at once.
//
// The header holds no Asio, Beast or OpenSSL: tests that include it stay light to compile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace codef::hostile {

using steady = std::chrono::steady_clock;
using millis = std::chrono::milliseconds;

// The certificate a server shows and the TLS it speaks.
enum class tls_mode {
    trusted,       // for 127.0.0.1 and localhost, from the trusted test CA, valid now
    untrusted_ca,  // the same names, from a CA the client does not know
    self_signed,   // the same names, signed by its own key
    expired,       // trusted CA, right names, expired yesterday
    not_yet_valid, // trusted CA, right names, valid from tomorrow
    wrong_name,    // trusted CA, valid, for wrong.example and other.example only
    old_protocol,  // the trusted certificate, but TLS 1.0 and 1.1 only, at SECLEVEL=0
    no_handshake,  // accepts TCP and never says a word: a TLS handshake that never ends
};
const char* to_string(tls_mode m) noexcept;

// The CA (PEM) behind every trusted server certificate; one per test process.
const std::string& trusted_ca_pem();
// base64 of an RSA public key's SubjectPublicKeyInfo DER (config::public_key), for passwords.
const std::string& password_public_key();

using header_list = std::vector<std::pair<std::string, std::string>>;

// One HTTP request, as it arrived.
struct request {
    std::uint64_t index = 0;          // order of arrival in the server, from 0
    std::uint64_t connection = 0;     // the connection it came on, numbered from 0 in accept order
    std::uint64_t on_connection = 0;  // its place on that connection, from 0
    std::string method, target, path; // path: the target without its query
    std::string version;
    header_list headers;
    std::string authorization; // the Authorization header; empty when absent
    std::string body;
    std::string raw;         // head and body, byte for byte
    steady::time_point at{}; // when it had been read whole

    // The first header of that name (case-insensitive); empty when absent.
    std::string header(std::string_view name) const;
    // How many headers of that name (case-insensitive).
    std::size_t header_count(std::string_view name) const;
};

// One step of a reply script.
struct action {
    enum class kind {
        write,        // bytes, in one go
        trickle,      // bytes, chunk bytes at a time, interval between chunks
        sleep,        // say nothing for interval (then go on with the script)
        close,        // TLS close_notify, then FIN: the connection ends
        close_abrupt, // FIN without close_notify: the connection ends
        reset,        // RST (SO_LINGER 0): the connection ends
        hang,         // say nothing until the client hangs up (or interval): the connection ends
        endless,      // bytes again and again (interval between) until the client hangs up or
                      // limit bytes were written; then the script goes on
    };
    kind what = kind::write;
    std::string bytes;
    std::size_t chunk = 0;
    millis interval{0};
    std::uint64_t limit = 0;
};

namespace act {
action write(std::string bytes);
action trickle(std::string bytes, std::size_t chunk, millis interval);
action sleep(millis d);
action close();
action close_abrupt();
action reset();
action hang(millis at_most = millis(30'000));
action endless(std::string unit, std::uint64_t limit_bytes = 256ull << 20,
               millis interval = millis(0));
} // namespace act

// A reply script. When it ends without ending the connection, the server reads the next request
// on the same connection (keep-alive).
using script = std::vector<action>;
// Picks the script for a request. Called on the connection's thread: several at once, so a
// handler that keeps state must guard it.
using handler = std::function<script(const request&)>;

// --- Building replies.
std::string status_text(int status);
// A complete HTTP/1.1 reply with Content-Length (and the extra headers, in order).
std::string response(int status, std::string_view body, const header_list& extra = {},
                     std::string_view content_type = "application/json");
// A JSON string literal, quoted and escaped.
std::string json_quote(std::string_view s);
// {"access_token": <token as a JSON string>, "token_type": "bearer", "scope": "read",
//  "expires_in": <expires_in_json, verbatim>}; an empty expires_in_json leaves the field out.
std::string token_json(std::string_view access_token, std::string_view expires_in_json = "604799");
// {"result": {"code", "message", "extraMessage", "transactionId"}, "data": <data_json>}.
std::string envelope(std::string_view code, std::string_view message,
                     std::string_view data_json = "{}", std::string_view extra_message = "");
// The project's own encoders (the client decodes with its decoders).
std::string base64(std::string_view data, bool url = false); // url: base64url without padding
// An unsigned JWT-shaped token: base64url({"alg":"RS256","typ":"JWT"}).base64url(payload).sig
std::string jwt(std::string_view payload_json);
std::string percent_encode(std::string_view s);
// Form-style decoding ('+' is a space); a malformed escape is kept as it is.
std::string percent_decode(std::string_view s);

// Answers /oauth/token with token (expires_in a week) and every other path with CF-00000 and
// data {}.
handler standard(std::string token = "hostile-token");
// The script that writes bytes (and keeps the connection).
script reply(std::string bytes);

class server {
public:
    explicit server(handler h = {}, tls_mode mode = tls_mode::trusted);
    ~server(); // stops
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Wakes every thread and joins them; the port refuses connections afterwards.
    void stop();

    std::uint16_t port() const noexcept;
    std::string url() const;       // https://127.0.0.1:port
    std::string oauth_url() const; // https://127.0.0.1:port/oauth/token
    tls_mode mode() const noexcept;

    std::vector<request> requests() const;
    std::size_t request_count() const;
    std::size_t count(std::string_view path) const;  // requests to path
    std::vector<std::string> authorizations() const; // every Authorization value, in order

    std::uint64_t connections() const;       // TCP connections accepted
    std::uint64_t handshakes() const;        // TLS handshakes completed
    std::uint64_t connections_ended() const; // connections over and closed on our side
    std::uint64_t hung_up_by_client() const; // connections the client closed while we waited

    // Waits until cond holds (checked whenever something happens, and every 20 ms), for at most
    // limit; false if it never did.
    bool wait_until(const std::function<bool()>& cond, millis limit = millis(10'000)) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// For the fixture's own checks: the protocol a client limited to [min_version, max_version]
// (TLS1_VERSION and so on, as ints) negotiates with 127.0.0.1:port, without verifying the
// certificate, e.g. "TLSv1.1"; or "error: ..." when no handshake completes.
std::string probe_tls(std::uint16_t port, int min_version, int max_version);

} // namespace codef::hostile
