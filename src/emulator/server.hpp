// The emulator's HTTPS server: listeners, TLS sessions, keep-alive, and the faults the service's
// replies ask for (delays, held token replies, resets, truncation, idle closes).
#pragma once

#include "emulator/service.hpp"

#include <codef/emulator.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace codef::emu {

class server {
public:
    explicit server(emulator_options opts);
    ~server();

    void stop();

    std::uint16_t port() const noexcept { return port_; }
    std::uint16_t oauth_port() const noexcept { return oauth_port_; }
    const std::string& ca_pem() const noexcept { return ca_pem_; }
    const std::string& address() const noexcept { return opts_.address; }
    service& svc() noexcept { return *service_; }
    // The value of header name (any case) on the last request, when it is not one every client
    // sends (Host, Authorization and the like are not kept); empty otherwise.
    std::string last_header(std::string_view name) const;

private:
    boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, bool oauth);
    boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket, bool oauth);
    // Parks a held token reply until release_token_replies (or a minute passes).
    boost::asio::awaitable<void> wait_for_release();
    void release_all();
    // Parks a call of a multiple request until the two-way authentication of id ends (or limit
    // passes).
    boost::asio::awaitable<void> wait_for_two_way(std::string id, std::chrono::milliseconds limit);
    void wake_two_way(const std::string& id);
    void wake_all_two_way(); // stopping

    emulator_options opts_;
    std::unique_ptr<service> service_;
    std::string ca_pem_;
    boost::asio::io_context ioc_;
    boost::asio::ssl::context tls_;
    std::optional<boost::asio::ip::tcp::acceptor> api_acceptor_;
    std::optional<boost::asio::ip::tcp::acceptor> oauth_acceptor_;
    std::uint16_t port_ = 0;
    std::uint16_t oauth_port_ = 0;
    std::vector<std::thread> threads_;
    bool stopped_ = false;

    mutable std::mutex headers_mutex_;
    std::vector<std::pair<std::string, std::string>> last_headers_; // lowercase names

    std::mutex held_mutex_;
    std::vector<std::shared_ptr<boost::asio::steady_timer>> held_;
    std::map<std::string, std::vector<std::shared_ptr<boost::asio::steady_timer>>> waiting_;
};

} // namespace codef::emu
