// A client's metrics served for Prometheus to scrape: GET /metrics over plain HTTP on 127.0.0.1,
// answered with to_prometheus(client.metrics()), while a workload of calls runs against the
// embedded emulator. After --seconds N it stops the workload and the server, drains the client
// (the calls in flight end, no new one starts) and exits.
//
//   metrics_server [PORT] [--seconds N]      PORT 0 (the default): an ephemeral port, printed
//   curl -s http://127.0.0.1:PORT/metrics
#include "example.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// GET /metrics on 127.0.0.1:port. Every connection is tracked, so that stop() ends them all and
// nothing outlives the program's run.
class metrics_endpoint {
public:
    metrics_endpoint(asio::any_io_executor ex, const codef::client& client, unsigned short port)
        : acceptor_(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port))
        , client_(client) {}

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

    void stop() {
        acceptor_.close();
        for (auto* stream : open_)
            stream->close(); // the connection's coroutine ends with operation_aborted
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (ec) co_return; // closed by stop()
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    // Requests answered in turn until the peer closes, 10 s of silence, or stop().
    asio::awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        open_.insert(&stream);
        struct forget {
            std::set<beast::tcp_stream*>& open;
            beast::tcp_stream* stream;
            ~forget() { open.erase(stream); }
        } guard{open_, &stream};
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            stream.expires_after(10s);
            auto [read_ec, read] = co_await http::async_read(stream, buffer, req, use_tuple);
            if (read_ec) break;
            http::response<http::string_body> res = answer(req);
            auto [write_ec, written] = co_await http::async_write(stream, res, use_tuple);
            if (write_ec || !res.keep_alive()) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    http::response<http::string_body> answer(const http::request<http::string_body>& req) const {
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        if (req.target() != "/metrics") {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "not found: the metrics are at /metrics\n";
        } else if (req.method() != http::verb::get) {
            res.result(http::status::method_not_allowed);
            res.set(http::field::allow, "GET");
        } else {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain; version=0.0.4");
            res.body() = codef::to_prometheus(client_.metrics());
        }
        res.prepare_payload();
        return res;
    }

    tcp::acceptor acceptor_;
    const codef::client& client_;
    std::set<beast::tcp_stream*> open_; // one thread runs the io_context: no lock
};

struct arguments {
    unsigned short port = 0;
    std::chrono::seconds duration = 5s;
};

[[noreturn]] void usage(const char* why) {
    std::cerr << "metrics_server: " << why << "\nusage: metrics_server [PORT] [--seconds N]\n";
    std::exit(2);
}

unsigned number(std::string_view v, unsigned max, const char* why) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n > max) usage(why);
    return n;
}

arguments parse(int argc, char** argv) {
    arguments a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--sandbox") continue; // example::run's
        if (arg == "--seconds") {
            if (++i == argc) usage("--seconds needs a value");
            a.duration = std::chrono::seconds(number(argv[i], 86'400, "--seconds: 0 to 86400"));
        } else {
            a.port = static_cast<unsigned short>(number(arg, 65'535, "PORT: 0 to 65535"));
        }
    }
    return a;
}

// One of the workload's callers: a call, a pause, again, until stopping. The calls alternate
// between the end user's accounts and a bank product (which the emulator answers with a CODEF
// error for a connectedId alone: an outcome of its own in the metrics).
asio::awaitable<void> caller(codef::client& client, boost::json::object params,
                             const bool& stopping) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    bool product = false;
    while (!stopping) { // stopping is set by serve_while_working, between two calls
        const char* path = product ? "/v1/kr/bank/b/account/list" : "/v1/account/list";
        product = !product;
        auto r = co_await client.try_request(path, params);
        if (!r && codef::kind_of(r.error()) == codef::error_kind::client) co_return; // draining
        pause.expires_after(20ms);
        co_await pause.async_wait(use_tuple);
    }
}

asio::awaitable<void> serve_while_working(codef::client& client, arguments args) {
    auto ex = co_await asio::this_coro::executor;
    metrics_endpoint endpoint(ex, client, args.port);
    endpoint.start();
    std::cout << "metrics at http://127.0.0.1:" << endpoint.port() << "/metrics for "
              << args.duration.count() << " s" << std::endl;

    boost::json::object page; // the first page
    codef::response ids = co_await client.request("/v1/account/connectedId-list", page);
    const auto& list = ids.data.at("connectedIdList").as_array();
    bool stopping = false;
    for (std::size_t i = 0; i < 4 && i < list.size(); ++i) {
        boost::json::object params{{"connectedId", list[i]}};
        asio::co_spawn(ex, caller(client, std::move(params), stopping), asio::detached);
    }

    asio::steady_timer timer(ex);
    timer.expires_after(args.duration);
    co_await timer.async_wait(use_tuple);

    // The end: no new call, the server closed, then the calls in flight given a bounded time.
    stopping = true;
    endpoint.stop();
    auto drained = co_await client.drain(std::chrono::steady_clock::now() + 5s);
    const auto m = client.metrics();
    std::cout << "drained" << (drained ? "" : " (deadline passed)") << ": "
              << m.sum("codef_calls_total") << " calls ("
              << m.sum("codef_calls_total", {{"outcome", "ok"}}) << " ok), "
              << client.calls_in_flight() << " in flight" << std::endl;
}

} // namespace

int main(int argc, char** argv) {
    const arguments args = parse(argc, argv);
    codef::emulator_options opts;
    opts.seed_connected_ids = 10;
    return example::run(
        argc, argv, [&](codef::client& c) { return serve_while_working(c, args); },
        std::move(opts));
}
