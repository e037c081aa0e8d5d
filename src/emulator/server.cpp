// The emulator's server and the public codef::emulator on top of it.
#include "emulator/server.hpp"

#include "detail/http_serialize.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/ssl.h>

#include <cctype>
#include <stdexcept>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace codef::emu {
namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// How long a connection may take over its TLS handshake, from its accept: nginx's default (its
// client_header_timeout and ssl_handshake_timeout). A client opening thousands of connections at
// once (benchmarks/compare.sh's slow scenario: 10,000) finishes their handshakes one after the
// other on its own core; ten seconds dropped many of them, a failure of this server's and not of
// the client's. A client that never answers still ends by it.
constexpr auto handshake_deadline = std::chrono::seconds(60);

// Generating RSA keys takes a while; instances in one process share theirs unless given one.
const pkey_ptr& shared_jwt_key() {
    static const pkey_ptr k = generate_rsa(2048);
    return k;
}
const pkey_ptr& shared_password_key() {
    static const pkey_ptr k = generate_rsa(2048);
    return k;
}

} // namespace

server::server(emulator_options opts)
    : opts_(std::move(opts))
    , tls_(asio::ssl::context::tls_server) {
    auto password_key = opts_.rsa_private_key_pem.empty() ? shared_password_key()
                                                          : rsa_from_pem(opts_.rsa_private_key_pem);
    service_ = std::make_unique<service>(opts_, password_key, shared_jwt_key());
    service_->on_release([this] { release_all(); });
    service_->on_two_way_done([this](const std::string& id) { wake_two_way(id); });

    const tls_material m = make_tls_material(opts_.certificate_names);
    ca_pem_ = m.ca_pem;
    tls_.use_certificate_chain(asio::buffer(m.server_cert_pem));
    tls_.use_private_key(asio::buffer(m.server_key_pem), asio::ssl::context::pem);
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);

    const auto addr = asio::ip::make_address(opts_.address);
    auto listen = [&](std::uint16_t port) {
        tcp::acceptor a(ioc_);
        const tcp::endpoint ep(addr, port);
        a.open(ep.protocol());
        a.set_option(tcp::acceptor::reuse_address(true));
        a.bind(ep);
        a.listen(asio::socket_base::max_listen_connections);
        return a;
    };
    try {
        api_acceptor_.emplace(listen(opts_.port));
        port_ = api_acceptor_->local_endpoint().port();
        if (opts_.oauth_port) {
            oauth_acceptor_.emplace(listen(*opts_.oauth_port));
            oauth_port_ = oauth_acceptor_->local_endpoint().port();
        } else {
            oauth_port_ = port_;
        }
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("codef emulator: cannot listen on " + opts_.address + ": " +
                                 e.code().message());
    }
    asio::co_spawn(ioc_, accept_loop(*api_acceptor_, false), asio::detached);
    if (oauth_acceptor_) asio::co_spawn(ioc_, accept_loop(*oauth_acceptor_, true), asio::detached);
    for (unsigned i = 0; i < std::max(1u, opts_.threads); ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

server::~server() {
    stop();
}

void server::stop() {
    if (stopped_) return;
    stopped_ = true;
    release_all();
    wake_all_two_way();
    ioc_.stop();
    for (auto& t : threads_)
        t.join();
    threads_.clear();
    // No thread runs the server now: its sockets can be closed from here. Clients see the port
    // refuse connections at once.
    error_code ignored;
    if (api_acceptor_) api_acceptor_->close(ignored);
    if (oauth_acceptor_) oauth_acceptor_->close(ignored);
}

void server::release_all() {
    std::lock_guard lock(held_mutex_);
    for (auto& t : held_)
        asio::post(t->get_executor(), [t] { t->cancel(); });
    held_.clear();
}

void server::wake_all_two_way() {
    std::lock_guard lock(held_mutex_);
    for (auto& [id, timers] : waiting_)
        for (auto& t : timers)
            asio::post(t->get_executor(), [t] { t->cancel(); });
    waiting_.clear();
}

void server::wake_two_way(const std::string& id) {
    std::lock_guard lock(held_mutex_);
    const auto it = waiting_.find(id);
    if (it == waiting_.end()) return;
    for (auto& t : it->second)
        asio::post(t->get_executor(), [t] { t->cancel(); });
    waiting_.erase(it);
}

asio::awaitable<void> server::wait_for_two_way(std::string id, std::chrono::milliseconds limit) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, limit);
    {
        std::lock_guard lock(held_mutex_);
        waiting_[id].push_back(timer);
    }
    // An end between the service's decision and our registration would be missed: ask again.
    if (service_->two_way_pending(id)) co_await timer->async_wait(tuple_awaitable);
    std::lock_guard lock(held_mutex_);
    if (const auto it = waiting_.find(id); it != waiting_.end()) {
        std::erase(it->second, timer);
        if (it->second.empty()) waiting_.erase(it);
    }
}

asio::awaitable<void> server::wait_for_release() {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                      std::chrono::minutes(1));
    {
        std::lock_guard lock(held_mutex_);
        held_.push_back(timer);
    }
    // A release between the service's decision and our registration would be missed: ask again.
    if (!service_->faults().hold_token_replies.value_or(false)) co_return;
    co_await timer->async_wait(tuple_awaitable);
}

asio::awaitable<void> server::accept_loop(tcp::acceptor& acceptor, bool oauth) {
    for (;;) {
        auto [ec, socket] =
            co_await acceptor.async_accept(asio::make_strand(ioc_), tuple_awaitable);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) continue; // e.g. too many open files: keep serving the others
        service_->count_connection(oauth);
        auto ex = socket.get_executor();
        asio::co_spawn(ex, session(std::move(socket), oauth),
                       [svc = service_.get()](std::exception_ptr) { svc->count_closed(); });
    }
}

asio::awaitable<void> server::session(tcp::socket socket, bool oauth) {
    asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls_);
    auto& tcp_layer = beast::get_lowest_layer(stream);
    error_code ignored;
    tcp_layer.socket().set_option(tcp::no_delay(true), ignored);
    tcp_layer.expires_after(handshake_deadline);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
    if (hec) co_return;
    service_->count_handshake(oauth, SSL_session_reused(stream.native_handle()) == 1);

    beast::flat_buffer buffer;
    for (unsigned served = 0;;) {
        // Between requests the connection idles: the idle-close fault ends it without notice.
        const auto idle_close =
            service_->faults().idle_close.value_or(std::chrono::milliseconds(0));
        if (served > 0 && idle_close.count() > 0)
            tcp_layer.expires_after(idle_close);
        else
            tcp_layer.expires_after(std::chrono::minutes(2));

        http::request_parser<http::string_body> parser;
        parser.body_limit(16 * 1024 * 1024);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        if (rec) co_return; // closed, idle too long, or not HTTP
        auto& req = parser.get();
        tcp_layer.expires_after(std::chrono::minutes(2));

        {
            // The headers a caller added, for emulator::last_header.
            std::vector<std::pair<std::string, std::string>> kept;
            for (const auto& f : req) {
                switch (f.name()) {
                case http::field::host:
                case http::field::authorization:
                case http::field::content_type:
                case http::field::content_length:
                case http::field::accept:
                case http::field::user_agent:
                case http::field::connection:
                    continue;
                default:
                    break;
                }
                std::string name(f.name_string());
                for (auto& c : name)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                kept.emplace_back(std::move(name), std::string(f.value()));
            }
            std::lock_guard lock(headers_mutex_);
            last_headers_ = std::move(kept);
        }
        const auto auth = req[http::field::authorization];
        request in{std::string_view(req.method_string()), req.target(), std::string_view(auth),
                   req.body(), false};
        reply rep = service_->handle(in);
        if (!rep.wait_for.empty()) {
            // A multiple request's call: answered once the shared authentication ends.
            co_await wait_for_two_way(rep.wait_for, rep.wait_limit);
            in.resumed = true;
            const auto fault = rep.fault_kind; // taken on the first pass: carried out now
            rep = service_->handle(in);
            if (rep.fault_kind == reply::fault::none) rep.fault_kind = fault;
            tcp_layer.expires_after(std::chrono::minutes(2));
        }
        if (rep.hold) co_await wait_for_release();
        if (rep.delay.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, rep.delay);
            co_await t.async_wait(tuple_awaitable);
        }
        ++served;
        const unsigned limit = service_->faults().requests_per_connection.value_or(0);
        const bool close = rep.close || !req.keep_alive() || (limit > 0 && served >= limit);

        http::response<http::string_body> res{static_cast<http::status>(rep.status), req.version()};
        res.set(http::field::server, "codef-emulator");
        res.set(http::field::content_type, rep.content_type);
        if (rep.retry_after > 0) res.set(http::field::retry_after, std::to_string(rep.retry_after));
        res.body() = std::move(rep.body);
        res.keep_alive(!close);
        res.prepare_payload();
        std::string bytes = detail::serialize(res);

        if (rep.fault_kind == reply::fault::drop) {
            tcp_layer.socket().close(ignored);
            co_return;
        }
        if (rep.fault_kind != reply::fault::none) {
            // Half of the reply, then a reset (RST) or a plain close with the body cut short.
            bytes.resize(bytes.size() / 2 + (bytes.size() - res.body().size()) / 2);
            co_await asio::async_write(stream, asio::buffer(bytes), tuple_awaitable);
            if (rep.fault_kind == reply::fault::reset)
                tcp_layer.socket().set_option(asio::socket_base::linger(true, 0), ignored);
            tcp_layer.socket().close(ignored);
            co_return;
        }
        auto [wec, written] =
            co_await asio::async_write(stream, asio::buffer(bytes), tuple_awaitable);
        if (wec || close) break;
    }
    tcp_layer.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(tuple_awaitable);
}

} // namespace codef::emu

// ---------------------------------------------------------------------------------------------

namespace codef {

emulator::emulator(emulator_options opts)
    : impl_(std::make_unique<emu::server>(std::move(opts))) {}
emulator::~emulator() = default;
void emulator::stop() {
    impl_->stop();
}
std::uint16_t emulator::port() const noexcept {
    return impl_->port();
}
std::uint16_t emulator::oauth_port() const noexcept {
    return impl_->oauth_port();
}

namespace {
std::string url_host(const std::string& address) {
    return address.find(':') != std::string::npos ? "[" + address + "]" : address;
}
} // namespace

std::string emulator::api_url() const {
    return "https://" + url_host(impl_->address()) + ":" + std::to_string(port());
}
std::string emulator::oauth_url() const {
    return "https://" + url_host(impl_->address()) + ":" + std::to_string(oauth_port()) +
           "/oauth/token";
}
const std::string& emulator::ca_pem() const noexcept {
    return impl_->ca_pem();
}
const std::string& emulator::public_key() const noexcept {
    return impl_->svc().public_key();
}

config emulator::client_config() const {
    config c;
    c.env = environment::sandbox;
    c.api_url = api_url();
    c.oauth_url = oauth_url();
    c.ca_pem = ca_pem();
    c.public_key = public_key();
    return c;
}

emulator_stats emulator::stats() const {
    return impl_->svc().stats();
}
void emulator::reset_stats() {
    impl_->svc().reset_stats();
}
void emulator::apply(const emulator_faults& f) {
    impl_->svc().apply(f);
}
void emulator::release_token_replies() {
    impl_->svc().release_token_replies();
}
namespace emu {
std::string server::last_header(std::string_view name) const {
    std::string lower(name);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::lock_guard lock(headers_mutex_);
    for (const auto& [k, v] : last_headers_)
        if (k == lower) return v;
    return {};
}
} // namespace emu

std::string emulator::last_header(std::string_view name) const {
    return impl_->last_header(name);
}

void emulator::revoke_tokens() {
    impl_->svc().revoke_tokens();
}
bool emulator::password_matches(const std::string& connected_id, const std::string& organization,
                                const std::string& plaintext) const {
    return impl_->svc().password_matches(connected_id, organization, plaintext);
}
std::size_t emulator::connected_id_count() const {
    return impl_->svc().connected_id_count();
}

} // namespace codef
