// codef-emulator: the CODEF emulator as a program. Prints its URLs (key=value lines) and runs
// until SIGINT or SIGTERM.
#include <codef/emulator.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr const char* usage =
    "usage: codef-emulator [--address A] [--port N] [--oauth-port N] [--ca-out FILE]\n"
    "                      [--seed-ids N] [--page-size N] [--threads N] [--token-lifetime "
    "SECONDS]\n"
    "                      [--client-id ID --client-secret SECRET]\n"
    "  --port N          the API port (default 0: any free port)\n"
    "  --oauth-port N    a separate port for /oauth/token (default: the API port)\n"
    "  --ca-out FILE     write the emulator's CA certificate (PEM) there\n"
    "  --seed-ids N      start with N synthetic connectedIds\n"
    "The sandbox credentials are always accepted. Prints api_url=, oauth_url=, public_key= "
    "lines.\n";

bool parse_number(std::string_view s, unsigned long long& out) {
    if (s.empty()) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<unsigned long long>(c - '0');
        if (out > 100'000'000'000ull) return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    codef::emulator_options opts;
    opts.oauth_port.reset();
    std::string ca_out;
    std::string client_id, client_secret;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 >= argc) {
            std::cerr << "codef-emulator: " << arg << " needs a value (or is unknown)\n" << usage;
            return 2;
        }
        const std::string_view value = argv[++i];
        unsigned long long n = 0;
        const bool numeric = parse_number(value, n);
        auto need_number = [&](unsigned long long max) {
            if (!numeric || n > max) {
                std::cerr << "codef-emulator: " << arg << ": not a number up to " << max << "\n";
                std::exit(2);
            }
        };
        if (arg == "--address")
            opts.address = value;
        else if (arg == "--port") {
            need_number(65535);
            opts.port = static_cast<std::uint16_t>(n);
        } else if (arg == "--oauth-port") {
            need_number(65535);
            opts.oauth_port = static_cast<std::uint16_t>(n);
        } else if (arg == "--ca-out")
            ca_out = value;
        else if (arg == "--seed-ids") {
            need_number(100'000'000);
            opts.seed_connected_ids = n;
        } else if (arg == "--page-size") {
            need_number(1'000'000);
            opts.page_size = n == 0 ? 1 : n;
        } else if (arg == "--threads") {
            need_number(64);
            opts.threads = static_cast<unsigned>(n == 0 ? 1 : n);
        } else if (arg == "--token-lifetime") {
            need_number(10'000'000);
            opts.token_lifetime = std::chrono::seconds(n);
        } else if (arg == "--client-id")
            client_id = value;
        else if (arg == "--client-secret")
            client_secret = value;
        else {
            std::cerr << "codef-emulator: unknown option " << arg << "\n" << usage;
            return 2;
        }
    }
    if (client_id.empty() != client_secret.empty()) {
        std::cerr << "codef-emulator: --client-id and --client-secret go together\n";
        return 2;
    }
    if (!client_id.empty()) opts.credentials.emplace_back(client_id, client_secret);

    // The server's threads inherit this mask; the main thread waits for the signal.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        codef::emulator emu(opts);
        if (!ca_out.empty()) {
            std::ofstream f(ca_out, std::ios::binary | std::ios::trunc);
            f << emu.ca_pem();
            if (!f.flush()) {
                std::cerr << "codef-emulator: cannot write " << ca_out << "\n";
                return 1;
            }
        }
        std::cout << "api_url=" << emu.api_url() << "\n"
                  << "oauth_url=" << emu.oauth_url() << "\n"
                  << "public_key=" << emu.public_key() << "\n"
                  << "ready" << std::endl;
        int sig = 0;
        sigwait(&signals, &sig);
        emu.stop();
    } catch (const std::exception& e) {
        std::cerr << "codef-emulator: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
