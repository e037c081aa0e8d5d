// codef::emulator_proxy: a CONNECT proxy on a thread of its own, for tests. It reads one request
// head, answers it (407, a refusal, or 200 and a tunnel) and relays bytes until a side closes.
#include <codef/emulator_proxy.hpp>

#include "detail/encoding.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace codef::emu {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// A client that never finishes its request head, or a target that never answers, ends by these.
constexpr auto head_deadline = std::chrono::seconds(30);
constexpr auto upstream_connect_deadline = std::chrono::seconds(30);

std::string reply_head(unsigned status, std::string_view extra_headers = {}) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
    r.append(extra_headers);
    if (status < 200 || status >= 300) r.append("Content-Length: 0\r\nConnection: close\r\n");
    r.append("\r\n");
    return r;
}

// host:port, the host a name, an IPv4 address or a bracketed IPv6 address.
bool split_target(std::string_view target, std::string& host, std::string& port) {
    const auto colon = target.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == target.size()) return false;
    std::string_view h = target.substr(0, colon);
    const std::string_view p = target.substr(colon + 1);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h.empty() || p.size() > 5) return false;
    for (char c : p)
        if (c < '0' || c > '9') return false;
    host.assign(h);
    port.assign(p);
    return true;
}

} // namespace

class connect_proxy {
public:
    explicit connect_proxy(emulator_proxy_options opts)
        : opts_(std::move(opts)) {
        if (!opts_.username.empty())
            expected_auth_ =
                "Basic " + detail::base64_encode(opts_.username + ":" + opts_.password);
        try {
            const tcp::endpoint ep(asio::ip::make_address(opts_.address), opts_.port);
            acceptor_.emplace(ioc_);
            acceptor_->open(ep.protocol());
            acceptor_->set_option(tcp::acceptor::reuse_address(true));
            acceptor_->bind(ep);
            acceptor_->listen(asio::socket_base::max_listen_connections);
            port_ = acceptor_->local_endpoint().port();
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("codef emulator proxy: cannot listen on " + opts_.address +
                                     ": " + e.code().message());
        }
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~connect_proxy() { stop(); }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        ioc_.stop();
        if (thread_.joinable()) thread_.join();
        // No thread runs the proxy now: its sockets can be closed from here; the tunnels' sockets
        // go with their coroutines when ioc_ is destroyed.
        error_code ignored;
        if (acceptor_) acceptor_->close(ignored);
    }

    std::uint16_t port() const noexcept { return port_; }
    const std::string& address() const noexcept { return opts_.address; }

    emulator_proxy_stats stats() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_->async_accept(tuple_awaitable);
            if (ec) {
                if (ec == asio::error::operation_aborted) co_return;
                continue; // too many files, say: the next accept may do
            }
            asio::co_spawn(ioc_, session(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> session(tcp::socket socket) {
        beast::tcp_stream client(std::move(socket));
        beast::flat_buffer buffer;
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(opts_.max_head_bytes));
        client.expires_after(head_deadline);
        auto [rec, read] =
            co_await http::async_read_header(client, buffer, parser, tuple_awaitable);
        if (rec) {
            if (rec == http::error::header_limit) co_await answer(client, reply_head(431));
            co_return;
        }
        const auto& req = parser.get();
        if (req.method() != http::verb::connect) {
            co_await answer(client, reply_head(405, "Allow: CONNECT\r\n"));
            co_return;
        }
        const std::string target(req.target());
        {
            std::lock_guard lock(mutex_);
            ++stats_.connect_requests;
            stats_.targets.push_back(target);
        }
        if (!expected_auth_.empty()) {
            const auto it = req.find(http::field::proxy_authorization);
            if (it == req.end() || it->value() != expected_auth_) {
                co_await answer(client,
                                reply_head(407, "Proxy-Authenticate: Basic realm=\"codef\"\r\n"));
                co_return;
            }
        }
        if (opts_.refuse_status != 0) {
            co_await answer(client, reply_head(opts_.refuse_status));
            co_return;
        }
        std::string host, port;
        if (!split_target(target, host, port)) {
            co_await answer(client, reply_head(400));
            co_return;
        }
        tcp::resolver resolver(ioc_);
        auto [dec, addrs] = co_await resolver.async_resolve(host, port, tuple_awaitable);
        // A test proxy sends nothing off this machine: loopback targets only.
        std::vector<tcp::endpoint> loopback;
        for (const auto& e : addrs)
            if (e.endpoint().address().is_loopback()) loopback.push_back(e.endpoint());
        if (!dec && loopback.empty()) {
            co_await answer(client, reply_head(403));
            co_return;
        }
        beast::tcp_stream upstream(ioc_);
        error_code cec = dec;
        if (!cec) {
            upstream.expires_after(upstream_connect_deadline);
            std::tie(cec, std::ignore) = co_await upstream.async_connect(loopback, tuple_awaitable);
        }
        if (cec) {
            co_await answer(client, reply_head(502));
            co_return;
        }
        client.expires_never();
        upstream.expires_never();
        const std::string ok = reply_head(200);
        auto [wec, written] = co_await asio::async_write(client, asio::buffer(ok), tuple_awaitable);
        if (wec) co_return;
        {
            std::lock_guard lock(mutex_);
            ++stats_.tunnels_opened;
        }
        // What the client sent after its head already belongs to the tunnel.
        if (buffer.size() > 0) {
            auto [fec, n] = co_await asio::async_write(upstream, buffer.data(), tuple_awaitable);
            if (fec) co_return;
            buffer.consume(n);
        }
        auto c = std::make_shared<beast::tcp_stream>(std::move(client));
        auto u = std::make_shared<beast::tcp_stream>(std::move(upstream));
        asio::co_spawn(ioc_, relay(c, u), asio::detached);
        co_await relay(u, c);
    }

    // Copies from one side to the other until either fails or ends; then both close, which ends
    // the relay the other way too.
    static asio::awaitable<void> relay(std::shared_ptr<beast::tcp_stream> from,
                                       std::shared_ptr<beast::tcp_stream> to) {
        std::array<char, 16 * 1024> chunk;
        for (;;) {
            auto [rec, n] = co_await from->async_read_some(asio::buffer(chunk), tuple_awaitable);
            if (n > 0) {
                auto [wec, w] =
                    co_await asio::async_write(*to, asio::buffer(chunk.data(), n), tuple_awaitable);
                if (wec) break;
            }
            if (rec) break;
        }
        error_code ignored;
        from->socket().shutdown(tcp::socket::shutdown_both, ignored);
        to->socket().shutdown(tcp::socket::shutdown_both, ignored);
        from->socket().close(ignored);
        to->socket().close(ignored);
    }

    static asio::awaitable<void> answer(beast::tcp_stream& client, std::string head) {
        client.expires_after(head_deadline);
        co_await asio::async_write(client, asio::buffer(head), tuple_awaitable);
        error_code ignored;
        client.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    emulator_proxy_options opts_;
    std::string expected_auth_;
    asio::io_context ioc_;
    std::optional<tcp::acceptor> acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    bool stopped_ = false;
    mutable std::mutex mutex_;
    emulator_proxy_stats stats_;
};

} // namespace codef::emu

// ---------------------------------------------------------------------------------------------

namespace codef {

emulator_proxy::emulator_proxy(emulator_proxy_options opts)
    : impl_(std::make_unique<emu::connect_proxy>(std::move(opts))) {}
emulator_proxy::~emulator_proxy() = default;
void emulator_proxy::stop() {
    impl_->stop();
}
std::uint16_t emulator_proxy::port() const noexcept {
    return impl_->port();
}
std::string emulator_proxy::url() const {
    const std::string& a = impl_->address();
    return "http://" + (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" +
           std::to_string(port());
}
emulator_proxy_stats emulator_proxy::stats() const {
    return impl_->stats();
}

} // namespace codef
