// The emulator as a command: options, start, URLs out, run until SIGINT or SIGTERM.
#include "emulator/program.hpp"

#include <codef/emulator.hpp>

#include <charconv>
#include <csignal>
#include <fstream>
#include <ostream>
#include <string>

#include <pthread.h>

namespace codef::emu {
namespace {

constexpr const char* options_help =
    "  --address A              listen on A (default 127.0.0.1)\n"
    "  --port N                 the API port (default 0: any free port)\n"
    "  --oauth-port N           a separate port for /oauth/token (default: the API port)\n"
    "  --ca-out FILE            write the emulator's CA certificate (PEM) there\n"
    "  --seed-ids N             start with N synthetic connectedIds, each with a few accounts\n"
    "  --page-size N            connectedId-list page size (default 50000)\n"
    "  --threads N              server threads (default 1)\n"
    "  --token-lifetime SECONDS token lifetime (default 604799)\n"
    "  --client-id ID --client-secret SECRET   credentials accepted besides the sandbox pair\n"
    "  --environment ENV        what those credentials are for: development (default; their\n"
    "                           tokens say service_type \"1\") or production (\"0\")\n"
    "Prints api_url=, oauth_url=, public_key= and ready lines; runs until SIGINT or SIGTERM.\n";

struct bad_option {
    std::string what;
};

std::uint64_t number(std::string_view flag, std::string_view value, std::uint64_t max) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size() || n > max)
        throw bad_option{std::string(flag) + ": not a number from 0 to " + std::to_string(max)};
    return n;
}

} // namespace

int run_program(const std::vector<std::string_view>& args, std::string_view name, std::ostream& out,
                std::ostream& err) {
    emulator_options opts;
    opts.oauth_port.reset();
    std::string ca_out, client_id, client_secret;
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string_view arg = args[i];
            if (arg == "--help" || arg == "-h") {
                out << "usage: " << name << " [options]\n" << options_help;
                return 0;
            }
            if (i + 1 >= args.size())
                throw bad_option{std::string(arg) + ": needs a value, or is unknown"};
            const std::string_view value = args[++i];
            if (arg == "--address")
                opts.address = value;
            else if (arg == "--port")
                opts.port = static_cast<std::uint16_t>(number(arg, value, 65535));
            else if (arg == "--oauth-port")
                opts.oauth_port = static_cast<std::uint16_t>(number(arg, value, 65535));
            else if (arg == "--ca-out")
                ca_out = value;
            else if (arg == "--seed-ids")
                opts.seed_connected_ids = number(arg, value, 1'000'000'000);
            else if (arg == "--page-size")
                opts.page_size = std::max<std::uint64_t>(1, number(arg, value, 10'000'000));
            else if (arg == "--threads")
                opts.threads =
                    static_cast<unsigned>(std::max<std::uint64_t>(1, number(arg, value, 64)));
            else if (arg == "--token-lifetime")
                opts.token_lifetime = std::chrono::seconds(number(arg, value, 100'000'000));
            else if (arg == "--client-id")
                client_id = value;
            else if (arg == "--client-secret")
                client_secret = value;
            else if (arg == "--environment") {
                if (value == "development")
                    opts.credentials_environment = environment::development;
                else if (value == "production")
                    opts.credentials_environment = environment::production;
                else
                    throw bad_option{"--environment: development or production"};
            } else
                throw bad_option{"unknown option " + std::string(arg)};
        }
        if (client_id.empty() != client_secret.empty())
            throw bad_option{"--client-id and --client-secret go together"};
    } catch (const bad_option& e) {
        err << name << ": " << e.what << " (see --help)\n";
        return 2;
    }
    if (!client_id.empty()) opts.credentials.emplace_back(client_id, client_secret);

    // The server's threads inherit this mask; this thread waits for the signal.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    try {
        emulator emu(opts);
        if (!ca_out.empty()) {
            std::ofstream f(ca_out, std::ios::binary | std::ios::trunc);
            f << emu.ca_pem();
            if (!f.flush()) {
                err << name << ": cannot write " << ca_out << "\n";
                return 1;
            }
        }
        out << "api_url=" << emu.api_url() << "\n"
            << "oauth_url=" << emu.oauth_url() << "\n"
            << "public_key=" << emu.public_key() << "\n"
            << "ready" << std::endl;
        int sig = 0;
        sigwait(&signals, &sig);
        emu.stop();
    } catch (const std::exception& e) {
        err << name << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

} // namespace codef::emu
