// The hostile server: OpenSSL on blocking threads, every wait a poll() that also watches the stop
// pipe and a deadline.
#include "hostile_server.hpp"

#include "detail/encoding.hpp"
#include "emulator/tls_material.hpp"

#include <boost/json/serialize.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace codef::hostile {
namespace {

using namespace std::chrono_literals;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("hostile server: ") + what);
}

// --- Key material -----------------------------------------------------------------------------

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
// Certificates as the emulator makes them, in every role the tests need.
using emu::cert_role;
using emu::x509_ptr;

x509_ptr make_cert(EVP_PKEY* key, const char* cn, cert_role role, X509* issuer,
                   EVP_PKEY* issuer_key, const char* names, long not_before, long not_after) {
    return emu::make_cert(key, "codef hostile tests", cn, role, issuer, issuer_key, names,
                          not_before, not_after);
}

pkey_ptr ec_key() {
    pkey_ptr k(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    check(k != nullptr, "EVP_EC_gen");
    return k;
}

struct authority {
    pkey_ptr key{nullptr, &EVP_PKEY_free};
    x509_ptr cert;
    std::string pem;
};

authority make_ca(const char* cn) {
    authority a;
    a.key = ec_key();
    a.cert =
        make_cert(a.key.get(), cn, cert_role::ca, nullptr, nullptr, nullptr, -3600, 3650L * 86400);
    a.pem = emu::x509_pem(a.cert.get());
    return a;
}

const authority& trusted_ca() {
    static const authority a = make_ca("codef hostile trusted CA");
    return a;
}
const authority& untrusted_ca() {
    static const authority a = make_ca("codef hostile untrusted CA");
    return a;
}

constexpr const char* right_names = "IP:127.0.0.1,DNS:localhost";
constexpr long day = 86400;

SSL_CTX* make_context(tls_mode mode) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    check(ctx != nullptr, "SSL_CTX_new");
    pkey_ptr key = ec_key();
    x509_ptr cert;
    const authority& ca = mode == tls_mode::untrusted_ca ? untrusted_ca() : trusted_ca();
    auto leaf = [&](const char* names, long nb, long na) {
        return make_cert(key.get(), "127.0.0.1", cert_role::leaf, ca.cert.get(), ca.key.get(),
                         names, nb, na);
    };
    switch (mode) {
    case tls_mode::trusted:
    case tls_mode::untrusted_ca:
    case tls_mode::old_protocol:
    case tls_mode::no_handshake:
        cert = leaf(right_names, -3600, 30 * day);
        break;
    case tls_mode::self_signed:
        cert = make_cert(key.get(), "127.0.0.1", cert_role::self_signed_leaf, nullptr, nullptr,
                         right_names, -3600, 30 * day);
        break;
    case tls_mode::expired:
        cert = leaf(right_names, -30 * day, -day);
        break;
    case tls_mode::not_yet_valid:
        cert = leaf(right_names, day, 30 * day);
        break;
    case tls_mode::wrong_name:
        cert = leaf("DNS:wrong.example,DNS:other.example", -3600, 30 * day);
        break;
    }
    check(SSL_CTX_use_certificate(ctx, cert.get()) == 1, "SSL_CTX_use_certificate");
    check(SSL_CTX_use_PrivateKey(ctx, key.get()) == 1, "SSL_CTX_use_PrivateKey");
    if (mode == tls_mode::old_protocol) {
        SSL_CTX_set_security_level(ctx, 0);
        check(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") == 1, "SSL_CTX_set_cipher_list");
        SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    } else {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A client that hangs up without close_notify reads as a plain end of the connection.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

// --- Text helpers -----------------------------------------------------------------------------

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

// --- Public helpers ---------------------------------------------------------------------------

const char* to_string(tls_mode m) noexcept {
    switch (m) {
    case tls_mode::trusted:
        return "trusted";
    case tls_mode::untrusted_ca:
        return "untrusted_ca";
    case tls_mode::self_signed:
        return "self_signed";
    case tls_mode::expired:
        return "expired";
    case tls_mode::not_yet_valid:
        return "not_yet_valid";
    case tls_mode::wrong_name:
        return "wrong_name";
    case tls_mode::old_protocol:
        return "old_protocol";
    case tls_mode::no_handshake:
        return "no_handshake";
    }
    return "?";
}

const std::string& trusted_ca_pem() {
    return trusted_ca().pem;
}

const std::string& password_public_key() {
    static const std::string key = [] {
        pkey_ptr k(EVP_RSA_gen(2048), &EVP_PKEY_free);
        check(k != nullptr, "EVP_RSA_gen");
        unsigned char* der = nullptr;
        const int n = i2d_PUBKEY(k.get(), &der);
        check(n > 0, "i2d_PUBKEY");
        std::string out =
            base64(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
        OPENSSL_free(der);
        return out;
    }();
    return key;
}

std::string request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

std::size_t request::header_count(std::string_view name) const {
    return static_cast<std::size_t>(std::count_if(
        headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

namespace act {
action write(std::string bytes) {
    action a;
    a.what = action::kind::write;
    a.bytes = std::move(bytes);
    return a;
}
action trickle(std::string bytes, std::size_t chunk, millis interval) {
    action a;
    a.what = action::kind::trickle;
    a.bytes = std::move(bytes);
    a.chunk = std::max<std::size_t>(chunk, 1);
    a.interval = interval;
    return a;
}
action sleep(millis d) {
    action a;
    a.what = action::kind::sleep;
    a.interval = d;
    return a;
}
action close() {
    action a;
    a.what = action::kind::close;
    return a;
}
action close_abrupt() {
    action a;
    a.what = action::kind::close_abrupt;
    return a;
}
action reset() {
    action a;
    a.what = action::kind::reset;
    return a;
}
action hang(millis at_most) {
    action a;
    a.what = action::kind::hang;
    a.interval = at_most;
    return a;
}
action endless(std::string unit, std::uint64_t limit_bytes, millis interval) {
    action a;
    a.what = action::kind::endless;
    a.bytes = std::move(unit);
    a.limit = limit_bytes;
    a.interval = interval;
    return a;
}
} // namespace act

std::string status_text(int status) {
    static const std::map<int, const char*> texts{
        {100, "Continue"},
        {101, "Switching Protocols"},
        {102, "Processing"},
        {103, "Early Hints"},
        {200, "OK"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    const auto it = texts.find(status);
    return it == texts.end() ? "Whatever" : it->second;
}

std::string response(int status, std::string_view body, const header_list& extra,
                     std::string_view content_type) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) + "\r\n";
    out += "Server: codef-hostile\r\n";
    if (!content_type.empty()) (out += "Content-Type: ") += std::string(content_type) + "\r\n";
    for (const auto& [k, v] : extra)
        out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

std::string json_quote(std::string_view s) {
    return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

std::string token_json(std::string_view access_token, std::string_view expires_in_json) {
    std::string out = "{\"access_token\":" + json_quote(access_token) +
                      ",\"token_type\":\"bearer\",\"scope\":\"read\"";
    if (!expires_in_json.empty()) (out += ",\"expires_in\":") += expires_in_json;
    return out + "}";
}

std::string envelope(std::string_view code, std::string_view message, std::string_view data_json,
                     std::string_view extra_message) {
    return "{\"result\":{\"code\":" + json_quote(code) +
           ",\"extraMessage\":" + json_quote(extra_message) +
           ",\"message\":" + json_quote(message) +
           ",\"transactionId\":\"hostile-tx\"},\"data\":" + std::string(data_json) + "}";
}

std::string base64(std::string_view data, bool url) {
    return url ? detail::base64url_encode(data) : detail::base64_encode(data);
}

std::string jwt(std::string_view payload_json) {
    return base64(R"({"alg":"RS256","typ":"JWT"})", true) + "." + base64(payload_json, true) + "." +
           base64("not a real signature", true);
}

std::string percent_encode(std::string_view s) {
    return detail::percent_encode(s);
}

std::string percent_decode(std::string_view s) {
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && val(s[i + 1]) >= 0 && val(s[i + 2]) >= 0) {
            out += static_cast<char>(val(s[i + 1]) * 16 + val(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

handler standard(std::string token) {
    return [token = std::move(token)](const request& r) -> script {
        if (r.path == "/oauth/token") return reply(response(200, token_json(token)));
        return reply(response(200, envelope("CF-00000", "ok")));
    };
}

script reply(std::string bytes) {
    return script{act::write(std::move(bytes))};
}

// --- The server -------------------------------------------------------------------------------

struct server::impl {
    handler on_request;
    tls_mode mode;
    SSL_CTX* ctx = nullptr;
    int listen_fd = -1;
    int stop_pipe[2] = {-1, -1};
    std::uint16_t port = 0;
    std::atomic<bool> stopping{false};
    bool stopped = false;
    std::thread acceptor;

    struct slot {
        std::thread thread;
        std::atomic<bool> done{false};
    };
    std::list<std::unique_ptr<slot>> slots; // the acceptor's, until it is joined

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<request> log;
    std::atomic<std::uint64_t> accepted{0}, handshakes{0}, ended{0}, hung_up{0};

    void notify() {
        { std::lock_guard lock(mutex); }
        changed.notify_all();
    }

    void accept_loop();
    void serve(int fd, std::uint64_t connection);
};

namespace {

enum class wait_end { ready, timeout, stopped };

// One connection's I/O: every wait is a poll() on the socket and the stop pipe, with a deadline.
class conn_io {
public:
    conn_io(int fd, int stop_fd, const std::atomic<bool>& stopping)
        : fd_(fd)
        , stop_fd_(stop_fd)
        , stopping_(stopping) {}
    ~conn_io() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    conn_io(const conn_io&) = delete;
    conn_io& operator=(const conn_io&) = delete;

    int fd() const noexcept { return fd_; }
    SSL* ssl() const noexcept { return ssl_; }
    bool client_hung_up() const noexcept { return hung_up_; }

    wait_end wait(short events, steady::time_point deadline) {
        for (;;) {
            if (stopping_) return wait_end::stopped;
            const auto now = steady::now();
            if (deadline <= now) return wait_end::timeout;
            const auto left = std::chrono::duration_cast<millis>(deadline - now).count() + 1;
            pollfd p[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
            const int r = ::poll(p, 2, static_cast<int>(std::clamp<long long>(left, 1, 1000)));
            if (r < 0 && errno != EINTR) return wait_end::stopped;
            if (r <= 0) continue;
            if (p[1].revents) return wait_end::stopped;
            if (p[0].revents) return wait_end::ready;
        }
    }

    // Sleeps for d unless the server stops; false if it did.
    bool pause(millis d) {
        const auto until = steady::now() + d;
        for (;;) {
            if (stopping_) return false;
            const auto left = std::chrono::duration_cast<millis>(until - steady::now()).count();
            if (left <= 0) return true;
            pollfd p{stop_fd_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
            if (r > 0) return false;
        }
    }

    bool handshake(SSL_CTX* ctx) {
        ssl_ = SSL_new(ctx);
        if (!ssl_) return false;
        SSL_set_fd(ssl_, fd_);
        return call([&] { return SSL_accept(ssl_); }, steady::now() + 10s) > 0;
    }

    // Runs an SSL operation to completion; its result when positive, else 0 (the connection is
    // over: closed, failed, timed out or stopped).
    template <class F>
    int call(F op, steady::time_point deadline) {
        for (;;) {
            ERR_clear_error();
            const int r = op();
            if (r > 0) return r;
            const int e = SSL_get_error(ssl_, r);
            short events = 0;
            if (e == SSL_ERROR_WANT_READ)
                events = POLLIN;
            else if (e == SSL_ERROR_WANT_WRITE)
                events = POLLOUT;
            else {
                if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL)
                    hung_up_ = true;
                return 0;
            }
            if (wait(events, deadline) != wait_end::ready) return 0;
        }
    }

    bool read_some(std::string& buf, steady::time_point deadline) {
        char tmp[16384];
        const int n = call([&] { return SSL_read(ssl_, tmp, sizeof tmp); }, deadline);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<std::size_t>(n));
        return true;
    }

    bool write_all(std::string_view data) {
        const auto deadline = steady::now() + 30s;
        while (!data.empty()) {
            const int len = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20));
            const int n = call([&] { return SSL_write(ssl_, data.data(), len); }, deadline);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads and drops whatever comes until the client hangs up, for at most d.
    void hang(millis d) {
        const auto deadline = steady::now() + d;
        if (!ssl_) {
            char tmp[4096];
            while (wait(POLLIN, deadline) == wait_end::ready) {
                const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    hung_up_ = true;
                    return;
                }
            }
            return;
        }
        std::string sink;
        while (read_some(sink, deadline))
            sink.clear();
    }

    // close_notify, then FIN.
    void close_gracefully() {
        if (ssl_) {
            const auto deadline = steady::now() + 1s;
            for (;;) {
                ERR_clear_error();
                const int r = SSL_shutdown(ssl_);
                if (r >= 0) break; // 0: our close_notify is out; we do not wait for theirs
                const int e = SSL_get_error(ssl_, r);
                if (e != SSL_ERROR_WANT_WRITE || wait(POLLOUT, deadline) != wait_end::ready) break;
            }
        }
        ::shutdown(fd_, SHUT_WR);
    }

    void reset() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
    int stop_fd_;
    const std::atomic<bool>& stopping_;
    SSL* ssl_ = nullptr;
    bool hung_up_ = false;
};

constexpr std::size_t max_head = 256 * 1024;
constexpr std::size_t max_body = 64 * 1024 * 1024;

// Reads one request into out; false when the connection is over (or the request is beyond our
// limits).
bool read_request(conn_io& io, std::string& buf, request& out) {
    const auto deadline = steady::now() + 60s; // the longest a connection idles
    std::size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (buf.size() > max_head) return false;
        if (!io.read_some(buf, deadline)) return false;
    }
    const std::string_view head(buf.data(), head_end);
    std::size_t line_end = head.find("\r\n");
    const std::string_view first = head.substr(0, line_end);
    const auto sp1 = first.find(' ');
    const auto sp2 = first.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return false;
    out.method = std::string(first.substr(0, sp1));
    out.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    out.version = std::string(first.substr(sp2 + 1));
    out.path = out.target.substr(0, out.target.find('?'));
    std::size_t content_length = 0;
    while (line_end != std::string_view::npos && line_end < head.size()) {
        const std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string_view line =
            head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        out.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                 std::string(trim(line.substr(colon + 1))));
        if (iequals(out.headers.back().first, "content-length"))
            content_length = std::strtoull(out.headers.back().second.c_str(), nullptr, 10);
    }
    if (content_length > max_body) return false;
    out.authorization = out.header("authorization");
    const std::size_t total = head_end + 4 + content_length;
    while (buf.size() < total)
        if (!io.read_some(buf, deadline)) return false;
    out.raw = buf.substr(0, total);
    out.body = buf.substr(head_end + 4, content_length);
    buf.erase(0, total);
    out.at = steady::now();
    return true;
}

} // namespace

void server::impl::accept_loop() {
    for (;;) {
        pollfd p[2] = {{listen_fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
        const int r = ::poll(p, 2, 1000);
        if (stopping || p[1].revents) return;
        // Threads of connections that are over.
        for (auto it = slots.begin(); it != slots.end();) {
            if ((*it)->done) {
                (*it)->thread.join();
                it = slots.erase(it);
            } else {
                ++it;
            }
        }
        if (r <= 0 || !(p[0].revents & POLLIN)) continue;
        const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) continue;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const std::uint64_t id = accepted.fetch_add(1);
        notify();
        auto s = std::make_unique<slot>();
        slot* raw = s.get();
        raw->thread = std::thread([this, fd, id, raw] {
            try {
                serve(fd, id);
            } catch (...) {
                // A handler that threw: the connection just ends.
            }
            ended.fetch_add(1);
            raw->done = true;
            notify();
        });
        slots.push_back(std::move(s));
    }
}

void server::impl::serve(int fd, std::uint64_t connection) {
    conn_io io(fd, stop_pipe[0], stopping);
    if (mode == tls_mode::no_handshake) {
        io.hang(60s);
        if (io.client_hung_up()) hung_up.fetch_add(1);
        return;
    }
    if (!io.handshake(ctx)) return;
    handshakes.fetch_add(1);
    notify();
    std::string buf;
    for (std::uint64_t n = 0;; ++n) {
        request req;
        if (!read_request(io, buf, req)) {
            if (io.client_hung_up()) hung_up.fetch_add(1);
            return;
        }
        req.connection = connection;
        req.on_connection = n;
        {
            std::lock_guard lock(mutex);
            req.index = log.size();
            log.push_back(req);
        }
        changed.notify_all();
        const script s = on_request(req);
        bool over = false;
        for (const action& a : s) {
            switch (a.what) {
            case action::kind::write:
                over = !io.write_all(a.bytes);
                break;
            case action::kind::trickle:
                for (std::size_t i = 0; i < a.bytes.size() && !over; i += a.chunk) {
                    if (i > 0 && !io.pause(a.interval)) over = true;
                    if (!over) over = !io.write_all(std::string_view(a.bytes).substr(i, a.chunk));
                }
                break;
            case action::kind::sleep:
                over = !io.pause(a.interval);
                break;
            case action::kind::close:
                io.close_gracefully();
                over = true;
                break;
            case action::kind::close_abrupt:
                ::shutdown(io.fd(), SHUT_WR);
                over = true;
                break;
            case action::kind::reset:
                io.reset();
                over = true;
                break;
            case action::kind::hang:
                io.hang(a.interval);
                if (io.client_hung_up()) hung_up.fetch_add(1);
                over = true;
                break;
            case action::kind::endless: {
                std::uint64_t written = 0;
                while (!over && written < a.limit && !stopping) {
                    if (!io.write_all(a.bytes)) over = true;
                    written += a.bytes.size();
                    if (!over && a.interval.count() > 0 && !io.pause(a.interval)) over = true;
                }
                if (over && io.client_hung_up()) hung_up.fetch_add(1);
                break;
            }
            }
            if (over) break;
        }
        if (over) return;
    }
}

server::server(handler h, tls_mode mode)
    : impl_(std::make_unique<impl>()) {
    impl_->on_request = h ? std::move(h) : standard();
    impl_->mode = mode;
    impl_->ctx = make_context(mode);
    check(::pipe2(impl_->stop_pipe, O_CLOEXEC) == 0, "pipe2");
    impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    check(impl_->listen_fd >= 0, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(::bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    check(::listen(impl_->listen_fd, 1024) == 0, "listen");
    socklen_t len = sizeof addr;
    check(::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0,
          "getsockname");
    impl_->port = ntohs(addr.sin_port);
    impl_->acceptor = std::thread([p = impl_.get()] {
        // A write to a socket the client closed must fail with EPIPE, not kill the test process:
        // SIGPIPE is blocked on the server's threads (connection threads inherit the mask).
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        p->accept_loop();
    });
}

server::~server() {
    stop();
}

void server::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
    [[maybe_unused]] const auto n = ::write(impl_->stop_pipe[1], "x", 1);
    impl_->acceptor.join();
    for (auto& s : impl_->slots)
        s->thread.join();
    impl_->slots.clear();
    ::close(impl_->listen_fd);
    ::close(impl_->stop_pipe[0]);
    ::close(impl_->stop_pipe[1]);
    SSL_CTX_free(impl_->ctx);
    impl_->ctx = nullptr;
}

std::uint16_t server::port() const noexcept {
    return impl_->port;
}
std::string server::url() const {
    return "https://127.0.0.1:" + std::to_string(impl_->port);
}
std::string server::oauth_url() const {
    return url() + "/oauth/token";
}
tls_mode server::mode() const noexcept {
    return impl_->mode;
}

std::vector<request> server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log;
}
std::size_t server::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log.size();
}
std::size_t server::count(std::string_view path) const {
    std::lock_guard lock(impl_->mutex);
    return static_cast<std::size_t>(std::count_if(
        impl_->log.begin(), impl_->log.end(), [&](const request& r) { return r.path == path; }));
}
std::vector<std::string> server::authorizations() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    for (const auto& r : impl_->log)
        if (!r.authorization.empty()) out.push_back(r.authorization);
    return out;
}
std::uint64_t server::connections() const {
    return impl_->accepted.load();
}
std::uint64_t server::handshakes() const {
    return impl_->handshakes.load();
}
std::uint64_t server::connections_ended() const {
    return impl_->ended.load();
}
std::uint64_t server::hung_up_by_client() const {
    return impl_->hung_up.load();
}

bool server::wait_until(const std::function<bool()>& cond, millis limit) const {
    const auto until = steady::now() + limit;
    std::unique_lock lock(impl_->mutex);
    for (;;) {
        lock.unlock();
        const bool ok = cond();
        lock.lock();
        if (ok) return true;
        if (steady::now() >= until) return false;
        impl_->changed.wait_for(lock, std::min<steady::duration>(20ms, until - steady::now()));
    }
}

// --- The probe --------------------------------------------------------------------------------

namespace {
std::string probe_tls_here(std::uint16_t port, int min_version, int max_version);
}

std::string probe_tls(std::uint16_t port, int min_version, int max_version) {
    // On a thread of its own with SIGPIPE blocked, as the server's: a write to a closed socket
    // must not kill the test process.
    std::string out;
    std::thread([&] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        out = probe_tls_here(port, min_version, max_version);
    }).join();
    return out;
}

namespace {
std::string probe_tls_here(std::uint16_t port, int min_version, int max_version) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          &SSL_CTX_free);
    check(ctx != nullptr, "SSL_CTX_new");
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx.get(), min_version);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(fd >= 0, "socket");
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        out = std::string("error: connect: ") + std::strerror(errno);
    } else {
        SSL* ssl = SSL_new(ctx.get());
        SSL_set_fd(ssl, fd);
        ERR_clear_error();
        if (SSL_connect(ssl) == 1) {
            out = SSL_get_version(ssl);
            SSL_shutdown(ssl);
        } else {
            char text[256];
            ERR_error_string_n(ERR_get_error(), text, sizeof text);
            out = std::string("error: ") + text;
        }
        SSL_free(ssl);
    }
    ::close(fd);
    return out;
}
} // namespace

} // namespace codef::hostile
