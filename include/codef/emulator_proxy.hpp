/// @file
/// @brief An HTTP CONNECT proxy for tests (yours and ours): it tunnels TCP to any host:port, can
/// require Basic credentials or refuse every tunnel, and counts what it was asked. Use it with
/// codef::emulator and config::proxy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace codef {

namespace emu {
class connect_proxy;
}

/// How an emulator_proxy listens and answers.
struct emulator_proxy_options {
    std::string address = "127.0.0.1"; ///< the address it listens on
    std::uint16_t port = 0;            ///< the port it listens on; 0: an ephemeral port
    /// The user name a CONNECT must carry (Proxy-Authorization: Basic). Empty: no credentials are
    /// asked for. Without the right ones a CONNECT gets 407 with
    /// `Proxy-Authenticate: Basic realm="codef"`.
    std::string username;
    std::string password;       ///< the password that goes with username
    unsigned refuse_status = 0; ///< 0: tunnel; otherwise every CONNECT is answered with it (403)
    /// A request head may be at most this long; a longer one gets 431 and is closed.
    std::size_t max_head_bytes = 16 * 1024;
};

/// What an emulator_proxy has seen so far.
struct emulator_proxy_stats {
    std::uint64_t connect_requests = 0; ///< CONNECT requests read whole, answered or not
    std::uint64_t tunnels_opened = 0;   ///< tunnels opened (answered 200)
    std::vector<std::string> targets;   ///< the target (host:port) of each CONNECT, in order
};

/// An HTTP/1.1 CONNECT proxy in this process, on a thread of its own. Each tunnel relays bytes
/// both ways until either side closes; the proxy sees only TLS, never what it carries. It tunnels
/// only to loopback addresses (127.0.0.0/8, ::1): a CONNECT to anything else is answered 403, so
/// that a test sends nothing off the machine.
class emulator_proxy {
public:
    /// Starts listening at once.
    /// @throws std::runtime_error if it cannot.
    explicit emulator_proxy(emulator_proxy_options opts = {});
    ~emulator_proxy();                                         ///< stops
    emulator_proxy(const emulator_proxy&) = delete;            ///< not copyable
    emulator_proxy& operator=(const emulator_proxy&) = delete; ///< not copyable

    /// Stops: its thread ends, the listener and every tunnel close.
    void stop();

    /// The port it listens on (the one chosen when emulator_proxy_options::port is 0).
    std::uint16_t port() const noexcept;
    /// Its URL for proxy_settings::url: http://127.0.0.1:port, with the address listened on.
    std::string url() const;
    /// The counters, as they are now.
    emulator_proxy_stats stats() const;

private:
    std::unique_ptr<emu::connect_proxy> impl_;
};

} // namespace codef
