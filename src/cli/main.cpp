// codef: the command-line tool. Calls CODEF by hand, manages accounts, lists connectedIds, runs
// resumable sweeps, and runs the emulator.
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "emulator/program.hpp"

#include <codef/client.hpp>
#include <codef/sweep.hpp>
#include <codef/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using codef::cli::thousands;

// The exit statuses, documented in --help and the README.
enum exit_status : int {
    exit_ok = 0,
    exit_business_error = 1, // CODEF answered with a result code other than CF-00000
    exit_usage = 2,          // bad command line or input: nothing was sent
    exit_auth = 3,           // the credentials were refused (HTTP 401/403)
    exit_transport = 4,      // the server could not be reached or its reply used
    exit_some_failed = 5,    // a sweep ended with failed items (a rerun retries them)
    exit_interrupted = 130,  // SIGINT or SIGTERM; a sweep reruns from where it stopped
};

// What is read from @FILE, standard input or an argument, at most.
constexpr std::size_t max_input = std::size_t{16} << 20;
constexpr const char* max_input_text = "16 MiB";
// How long the calls in flight of an interrupted sweep are given before the process exits, and
// when it exits whatever its state.
constexpr auto interrupt_grace = std::chrono::milliseconds(700);
constexpr auto interrupt_deadline = std::chrono::milliseconds(950);

constexpr const char* help_text = R"(usage: codef [global options] <command> [arguments]

global options:
  --env sandbox|development|production      or CODEF_ENV (default: sandbox)
  --api-url URL  --oauth-url URL             or CODEF_API_URL, CODEF_OAUTH_URL: explicit
                                             endpoints (a proxy, the emulator)
  --ca-file PEM                              or CODEF_CA_FILE: an extra trusted CA
  --client-id ID  --client-secret SECRET     or CODEF_CLIENT_ID, CODEF_CLIENT_SECRET (prefer
                                             the environment: arguments show in `ps`)
  --public-key BASE64                        or CODEF_PUBLIC_KEY (to encrypt passwords)
  --concurrency N                            calls at once (default 16)
  --timeout SECONDS                          per call, retries included (default 90)
  --quiet                                    no progress, no summary
  --pretty  --compact                        replies indented, or on one line (default:
                                             indented on a terminal, one line when piped)
  --version                                  print the version and exit
  An option's value is the next argument or follows '=' (--timeout=30), for every option.

commands:
  token [--show-token]           issue a token, print its expiry (the token itself only with --show-token)
  call PATH [JSON | @FILE | -]   one call; the decoded reply JSON on stdout
  accounts create|add|update|delete|list [--connected-id ID] [JSON | @FILE | -]
                                 input: {"accountList": [...]} or [...], CODEF's field names;
                                 passwords in the input are plaintext and get encrypted
  connected-ids                  every connectedId, one a line, all pages
  sweep PATH [--params JSON] [--per-organization [--business-type BK] [--client-type P]]
        [--ids-file FILE] [--no-retry-failed] --out FILE|-
                                 NDJSON (mode 0600; --out - for stdout, not resumable): one
                                 line per item (connectedId, organization, status, result
                                 code, message, data or error);
                                 progress on stderr when it is a terminal; a final summary. Rerun
                                 with the same --out to resume: connectedIds done are skipped,
                                 those with failed items are removed from the file and called
                                 again (--no-retry-failed: kept as done); business errors are final
  emulator [--port N] [--ca-out FILE] [--seed-ids N] [--oauth-port N] [--page-size N]
                                 run the CODEF emulator until interrupted

exit status:
  0    success
  1    CODEF answered with a result code other than CF-00000 (the reply is still printed)
  2    usage: bad option, malformed JSON, unreadable file, missing credential (nothing sent)
  3    authentication failure: the credentials or the token were refused
  4    transport failure: unreachable server, TLS, timeout, unusable reply
  5    sweep: some items failed (no usable reply after retries); a rerun retries them
  130  interrupted (SIGINT/SIGTERM); an interrupted sweep resumes when run again with the same --out
       (a sweep finishes its calls in flight for up to 0.7 s; a second signal quits at once)
JSON input (an argument, @FILE, -) is at most 16 MiB; JSON numbers must be finite.

examples:
  codef --api-url https://127.0.0.1:8443 --oauth-url https://127.0.0.1:8443/oauth/token \
        --ca-file ca.pem call /v1/account/connectedId-list '{}'
  CODEF_CLIENT_ID=... CODEF_CLIENT_SECRET=... codef --env production connected-ids
  codef sweep /v1/kr/bank/p/account/account-list --per-organization --business-type BK --out out.ndjson
Each command's own help: codef COMMAND --help.
)";

// A command's own help: its usage first, then what it does, its options and an example. The
// global options and exit statuses are in help_text.
const char* command_help(std::string_view command) {
    if (command == "token")
        return R"(usage: codef [global options] token [--show-token]

Issues an access token and prints its expiry; the token itself only with --show-token.

example:
  CODEF_CLIENT_ID=... CODEF_CLIENT_SECRET=... codef --env development token
(global options and exit statuses: codef --help)
)";
    if (command == "call")
        return R"(usage: codef [global options] call PATH [JSON | @FILE | -]

One call of PATH with the JSON object given (an argument, a file after @, or - for stdin; {} when
none); the decoded reply JSON on stdout. Exit 1 when CODEF answers with a code other than
CF-00000 (the reply is still printed).

example:
  codef call /v1/kr/bank/p/account/account-list '{"connectedId":"...","organization":"0004"}'
(global options and exit statuses: codef --help)
)";
    if (command == "accounts")
        return R"(usage: codef [global options] accounts create|add|update|delete|list
                                        [--connected-id ID] [JSON | @FILE | -]

Registers an end user's accounts (create: a new connectedId), adds, updates or deletes them, or
lists them. Input: {"accountList": [...]} or [...] with CODEF's field names; passwords in it are
plaintext and are encrypted with --public-key (or CODEF_PUBLIC_KEY). add, update, delete and list
need --connected-id. A change is never sent twice.

example:
  codef accounts list --connected-id 8Y1ZsaFeA...
(global options and exit statuses: codef --help)
)";
    if (command == "connected-ids")
        return R"(usage: codef [global options] connected-ids

Every connectedId of the client, one a line, all pages.
(global options and exit statuses: codef --help)
)";
    if (command == "sweep")
        return R"(usage: codef [global options] sweep PATH [--params JSON]
        [--per-organization [--business-type BK] [--client-type P]]
        [--ids-file FILE] [--no-retry-failed] --out FILE|-

Calls PATH once for every connectedId (from the paged listing, or --ids-file, one a line), or
once per organization registered to it (--per-organization, filtered by business and client
type), each call sending --params with connectedId (and organization) added. Writes NDJSON to
--out (mode 0600; --out - writes to stdout and cannot be resumed): one line per item
(connectedId, organization, status, result code, message, data or error). Progress on stderr
when it is a terminal; a final summary. Rerun with the same --out to resume: connectedIds done
are skipped, those with failed items are called again (--no-retry-failed: kept as done). Exit 5
when some items failed; 130 when interrupted (rerun to resume).

example:
  codef --concurrency 32 sweep /v1/kr/bank/p/account/account-list --per-organization \
        --business-type BK --out accounts.ndjson
(global options and exit statuses: codef --help)
)";
    return nullptr;
}

struct usage_error {
    std::string what;
};

struct globals {
    codef::config cfg;
    std::size_t concurrency = 16;
    bool quiet = false;
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::uint64_t positive(std::string_view flag, std::string_view v, std::uint64_t max) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n == 0 || n > max)
        throw usage_error{std::string(flag) + ": not a number from 1 to " + std::to_string(max)};
    return n;
}

// Everything from fd, at most max_input bytes: more is a usage error naming what.
std::string read_bounded(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<std::uint64_t>(st.st_size) > max_input)
        throw usage_error{what + ": larger than " + max_input_text};
    std::string text;
    char chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw usage_error{what + ": cannot be read: " + std::strerror(errno)};
        if (n == 0) return text;
        if (text.size() + static_cast<std::size_t>(n) > max_input)
            throw usage_error{what + ": larger than " + max_input_text};
        text.append(chunk, static_cast<std::size_t>(n));
    }
}

// A JSON number Boost.JSON read as infinity (1e999999) is refused, with where it is.
void check_finite(const json::value& v, const std::string& where, const std::string& source) {
    switch (v.kind()) {
    case json::kind::double_:
        if (!std::isfinite(v.get_double()))
            throw usage_error{source + ": a number out of range at " +
                              (where.empty() ? std::string("the top") : where)};
        break;
    case json::kind::array: {
        const auto& a = v.get_array();
        for (std::size_t i = 0; i < a.size(); ++i)
            check_finite(a[i], where + "/" + std::to_string(i), source);
        break;
    }
    case json::kind::object:
        for (const auto& [k, x] : v.get_object())
            check_finite(x, where + "/" + std::string(k), source);
        break;
    default:
        break;
    }
}

// JSON | @FILE | - (stdin); absent: {}.
json::value read_json(std::optional<std::string_view> arg, std::string_view what) {
    std::string text;
    std::string source = "the " + std::string(what);
    if (!arg) return json::object{};
    if (*arg == "-") {
        source = "standard input";
        text = read_bounded(STDIN_FILENO, source);
    } else if (arg->starts_with("@")) {
        const std::string path(arg->substr(1));
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw usage_error{path + ": cannot be read"};
        struct closer {
            int fd;
            ~closer() { ::close(fd); }
        } guard{fd};
        source = path;
        text = read_bounded(fd, source);
    } else {
        if (arg->size() > max_input) throw usage_error{source + ": larger than " + max_input_text};
        text = *arg;
    }
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) throw usage_error{source + " is not valid JSON (" + ec.message() + ")"};
    check_finite(v, "", source);
    return v;
}

json::object read_object(std::optional<std::string_view> arg, std::string_view what) {
    json::value v = read_json(arg, what);
    if (!v.is_object()) throw usage_error{"the " + std::string(what) + " must be a JSON object"};
    return std::move(v.get_object());
}

int status_for(const codef::failure& f) {
    switch (codef::kind_of(f.code)) {
    case codef::error_kind::client:
        return exit_usage;
    case codef::error_kind::cancelled:
        return exit_interrupted;
    case codef::error_kind::http:
        return f.diag.http_status == 401 || f.diag.http_status == 403 ? exit_auth : exit_transport;
    default:
        return exit_transport;
    }
}

int fail(const codef::failure& f) {
    std::cerr << codef::error(f.code, f.diag).what() << "\n"; // what() starts with "codef"
    return status_for(f);
}

json::object reply_json(const codef::response& r) {
    return json::object{{"result", json::object{{"code", r.code},
                                                {"extraMessage", r.extra_message},
                                                {"message", r.message},
                                                {"transactionId", r.transaction_id}}},
                        {"data", r.data}};
}

// Replies are indented for a person at a terminal, one line when piped (--pretty, --compact).
bool pretty_output = false;

int print_reply(const codef::response& r) {
    std::cout << codef::cli::json_text(reply_json(r), pretty_output) << std::endl;
    return r.ok() ? exit_ok : exit_business_error;
}

// ---------------------------------------------------------------------------------------------
// Commands

asio::awaitable<int> token(codef::client& c, bool show) {
    auto t = co_await c.try_token();
    if (!t) co_return fail(t.get_failure());
    const std::time_t expiry = std::chrono::system_clock::to_time_t(t->expires_at);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expiry));
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        t->expires_at - std::chrono::system_clock::now());
    std::cout << "expires " << when << " (in " << left.count() << " s)\n";
    if (show) std::cout << t->access_token << "\n";
    co_return exit_ok;
}

asio::awaitable<int> call(codef::client& c, std::string path, json::object params) {
    auto r = co_await c.try_product(path, std::move(params));
    if (!r) co_return fail(r.get_failure());
    if (auto* challenge = std::get_if<codef::two_way_challenge>(&*r)) {
        std::cerr << "codef: the server asks for two-way authentication (" << challenge->method
                  << "), which this command does not answer\n";
        co_return print_reply(challenge->reply);
    }
    co_return print_reply(std::get<codef::response>(*r));
}

std::string field(const json::object& o, std::string_view key, const std::string& at) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) throw usage_error{at + std::string(key) + ": not a string"};
    return std::string(v->get_string());
}

json::array account_list_of(const json::value& input) {
    if (input.is_array()) return input.get_array();
    if (const auto* o = input.if_object();
        o && o->contains("accountList") && o->at("accountList").is_array())
        return o->at("accountList").get_array();
    throw usage_error{"the accounts must be {\"accountList\": [...]} or a JSON array"};
}

codef::account_key key_of(const json::object& o, const std::string& at) {
    codef::account_key k;
    if (auto v = field(o, "countryCode", at); !v.empty()) k.country_code = v;
    k.business_type = field(o, "businessType", at);
    if (auto v = field(o, "clientType", at); !v.empty()) k.client_type = v;
    k.organization = field(o, "organization", at);
    if (auto v = field(o, "loginType", at); !v.empty()) k.login_type = v;
    return k;
}

codef::account account_of(const json::object& o, const std::string& at) {
    codef::account a;
    static_cast<codef::account_key&>(a) = key_of(o, at);
    a.id = field(o, "id", at);
    a.password = codef::password::plaintext(field(o, "password", at));
    a.der_file = field(o, "derFile", at);
    a.key_file = field(o, "keyFile", at);
    a.birthday = field(o, "birthday", at);
    for (const auto& [k, v] : o) {
        static const std::string_view known[] = {
            "countryCode", "businessType", "clientType", "organization", "loginType",
            "id",          "password",     "derFile",    "keyFile",      "birthday"};
        if (std::find(std::begin(known), std::end(known), std::string_view(k)) == std::end(known))
            a.extra[k] = v;
    }
    return a;
}

asio::awaitable<int> accounts(codef::client& c, std::string verb, std::string connected_id,
                              json::value input) {
    if (verb != "list" && connected_id.empty())
        if (const auto* o = input.if_object();
            o && o->contains("connectedId") && o->at("connectedId").is_string())
            connected_id = o->at("connectedId").get_string();
    if (verb != "create" && connected_id.empty())
        throw usage_error{"accounts " + verb + ": --connected-id is needed"};
    codef::result<codef::account_result> r =
        codef::make_failure(codef::client_errc::invalid_argument);
    if (verb == "list") {
        auto l = co_await c.list_accounts(connected_id);
        if (!l) co_return fail(l.get_failure());
        co_return print_reply(l->reply);
    }
    const json::array list = account_list_of(input);
    if (verb == "delete") {
        std::vector<codef::account_key> keys;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string at = "accountList[" + std::to_string(i) + "].";
            if (!list[i].is_object())
                throw usage_error{at.substr(0, at.size() - 1) + ": not an object"};
            keys.push_back(key_of(list[i].get_object(), at));
        }
        r = co_await c.delete_accounts(connected_id, std::move(keys));
    } else {
        std::vector<codef::account> accounts;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string at = "accountList[" + std::to_string(i) + "].";
            if (!list[i].is_object())
                throw usage_error{at.substr(0, at.size() - 1) + ": not an object"};
            accounts.push_back(account_of(list[i].get_object(), at));
        }
        if (verb == "create")
            r = co_await c.create_accounts(std::move(accounts));
        else if (verb == "add")
            r = co_await c.add_accounts(connected_id, std::move(accounts));
        else
            r = co_await c.update_accounts(connected_id, std::move(accounts));
    }
    if (!r) co_return fail(r.get_failure());
    co_return print_reply(r->reply);
}

asio::awaitable<int> connected_ids(codef::client& c) {
    auto ids = c.connected_ids();
    std::string out;
    for (;;) {
        auto page = co_await ids.next_page();
        if (!page) co_return fail(page.get_failure());
        if (page->empty()) break;
        out.clear();
        for (const auto& id : *page)
            (out += id) += '\n';
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    std::fflush(stdout);
    co_return exit_ok;
}

struct sweep_args {
    std::string path, out, ids_file;
    json::object params;
    bool per_organization = false;
    bool retry_failed = true;
    std::string business_type, client_type;
};

// What the first SIGINT or SIGTERM does; empty: exit 130 at once. A second one always exits.
using interrupt_fn = std::function<void()>;

void draw_progress(const codef::sweep_progress& p) {
    winsize ws{};
    std::size_t width = 80;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
    // Back to the line's start, the line, the rest of the old one erased: redrawn in place, and
    // never wider than the terminal (a wrapped line would scroll).
    std::cerr << "\r" << codef::cli::progress_line(p, width) << "\x1b[K" << std::flush;
}

// Passes items to the file, counting the failures that are refusals of the credentials or the
// token (HTTP 401 or 403): those make the exit status 3, not 5.
class auth_counting_sink : public codef::sweep_sink {
public:
    explicit auth_counting_sink(codef::sweep_sink& out)
        : out_(out) {}
    codef::result<std::monostate> write(std::span<const codef::sweep_item> items) override {
        for (const auto& i : items)
            if (i.status == codef::item_status::failed &&
                codef::kind_of(i.error) == codef::error_kind::http &&
                (i.diag.http_status == 401 || i.diag.http_status == 403))
                ++auth_failures;
        return out_.write(items);
    }
    codef::result<std::monostate> flush() override { return out_.flush(); }
    std::uint64_t auth_failures = 0;

private:
    codef::sweep_sink& out_;
};

void print_summary(const codef::sweep_progress& p, bool interrupted) {
    const double secs = std::chrono::duration<double>(p.elapsed).count();
    std::cerr << "codef: sweep " << (interrupted ? "interrupted" : "done") << ": "
              << thousands(p.ids_done) << " connectedIds (" << thousands(p.items)
              << " items: " << thousands(p.ok) << " ok, " << thousands(p.business_errors)
              << " business errors, " << thousands(p.failed) << " failed, " << thousands(p.no_match)
              << " without a matching organization), " << thousands(p.ids_skipped)
              << " already done; " << static_cast<std::uint64_t>(secs * 10) / 10.0 << " s, "
              << thousands(secs > 0
                               ? static_cast<std::uint64_t>(static_cast<double>(p.ids_done) / secs)
                               : 0)
              << " connectedIds/s\n";
    if (interrupted) std::cerr << "codef: run the same command again to resume\n";
}

asio::awaitable<int> sweep(codef::client& c, const globals& g, sweep_args a,
                           interrupt_fn& on_interrupt) {
    std::unique_ptr<codef::id_source> source;
    if (!a.ids_file.empty()) {
        auto f = codef::file_source(a.ids_file);
        if (!f) co_return fail(f.get_failure());
        source = std::move(*f);
    } else {
        source = codef::listing_source(c);
    }
    codef::sweep_plan plan{a.path, a.params, a.per_organization, a.business_type, a.client_type};
    codef::sweep_options opts;
    opts.concurrency = g.concurrency;
    // A file (resumable), or stdout with --out -.
    codef::ndjson_stream_sink to_stdout(STDOUT_FILENO, "stdout");
    std::unique_ptr<codef::ndjson_sink> file;
    codef::sweep_sink* target = &to_stdout;
    if (a.out != "-") {
        codef::ndjson_options sink_opts;
        sink_opts.retry_failed = a.retry_failed;
        auto sink = codef::ndjson_sink::open(a.out, sink_opts);
        if (!sink) co_return fail(sink.get_failure());
        file = std::move(*sink);
        target = file.get();
        if (!g.quiet && (file->resumed_ids() > 0 || file->failed_removed() > 0))
            std::cerr << "codef: resuming " << a.out << ": " << thousands(file->resumed_ids())
                      << " connectedIds already done"
                      << (file->failed_removed()
                              ? ", " + thousands(file->failed_removed()) + " failed ones to retry"
                              : std::string())
                      << (file->bytes_cut() ? ", a torn tail removed" : "") << "\n";
        opts.skip = [f = file.get()](std::string_view id) { return f->done(id); };
    }
    auth_counting_sink out(*target);
    const bool bar = !g.quiet && isatty(STDERR_FILENO);
    if (bar) opts.on_progress = draw_progress;
    codef::sweep job(c, plan, opts);

    // The first signal: stop taking connectedIds and give the calls in flight a short grace; then
    // what was written is synced and the process exits (the rerun redoes the calls cut short).
    // Every group is one write(), so the file stays resumable whenever the process ends.
    asio::steady_timer grace(co_await asio::this_coro::executor);
    on_interrupt = [&] {
        if (!g.quiet)
            std::cerr << "\ncodef: stopping: finishing the calls in flight (again to quit now)\n";
        job.stop();
        grace.expires_after(interrupt_grace);
        grace.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            (void)target->flush();
            if (!g.quiet) print_summary(job.progress(), true);
            std::_Exit(exit_interrupted);
        });
    };

    auto r = co_await job.run(*source, out);
    on_interrupt = nullptr;
    grace.cancel();
    if (bar) std::cerr << "\n";
    if (!r) co_return fail(r.get_failure());
    const auto& p = r->progress;
    if (!g.quiet) print_summary(p, r->interrupted);
    if (r->interrupted) co_return exit_interrupted;
    if (out.auth_failures > 0) {
        std::cerr << "codef: " << thousands(out.auth_failures)
                  << " items failed because the credentials or the token were refused\n";
        co_return exit_auth;
    }
    if (p.failed > 0) {
        if (!g.quiet)
            std::cerr << "codef: " << thousands(p.failed)
                      << " items failed; run the same command again to retry them\n";
        co_return exit_some_failed;
    }
    co_return exit_ok;
}

// ---------------------------------------------------------------------------------------------

codef::environment parse_environment(std::string_view v, std::string_view source) {
    if (v == "sandbox") return codef::environment::sandbox;
    if (v == "development") return codef::environment::development;
    if (v == "production") return codef::environment::production;
    throw usage_error{std::string(source) + ": sandbox, development or production"};
}

int run(int argc, char** argv) {
    // "--name=value" is "--name value"; anything else is taken as it is.
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const auto eq = a.find('=');
        if (a.starts_with("--") && eq != std::string_view::npos && eq > 2) {
            args.push_back(a.substr(0, eq));
            args.push_back(a.substr(eq + 1));
        } else {
            args.push_back(a);
        }
    }
    globals g;
    // Every global option but the flags has an environment variable; an argument overrides it.
    g.cfg.client_id = env("CODEF_CLIENT_ID");
    g.cfg.client_secret = env("CODEF_CLIENT_SECRET");
    g.cfg.public_key = env("CODEF_PUBLIC_KEY");
    if (const auto e = env("CODEF_ENV"); !e.empty()) g.cfg.env = parse_environment(e, "CODEF_ENV");
    g.cfg.api_url = env("CODEF_API_URL");
    g.cfg.oauth_url = env("CODEF_OAUTH_URL");
    g.cfg.ca_file = env("CODEF_CA_FILE");
    std::vector<std::string_view> rest; // the command and its arguments
    bool show_token = false;
    std::optional<bool> pretty;
    std::optional<std::chrono::seconds> timeout;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= args.size()) throw usage_error{std::string(a) + ": needs a value"};
            return args[++i];
        };
        if ((a == "--help" || a == "-h") && !(!rest.empty() && rest.front() == "emulator")) {
            // After a command, that command's help (the emulator answers its own).
            const char* h = rest.empty() ? nullptr : command_help(rest.front());
            std::cout << (h ? h : help_text);
            return exit_ok;
        }
        if (a == "--version" && rest.empty()) {
            std::cout << "codef " CODEF_VERSION_STRING "\n";
            return exit_ok;
        }
        if (!rest.empty() && rest.front() == "emulator") {
            rest.push_back(a); // the emulator's own options
        } else if (a == "--env") {
            g.cfg.env = parse_environment(value(), "--env");
        } else if (a == "--api-url")
            g.cfg.api_url = value();
        else if (a == "--oauth-url")
            g.cfg.oauth_url = value();
        else if (a == "--ca-file")
            g.cfg.ca_file = value();
        else if (a == "--client-id")
            g.cfg.client_id = value();
        else if (a == "--client-secret")
            g.cfg.client_secret = value();
        else if (a == "--public-key")
            g.cfg.public_key = value();
        else if (a == "--concurrency")
            g.concurrency = positive(a, value(), 10'000);
        else if (a == "--timeout")
            timeout = std::chrono::seconds(positive(a, value(), 86'400));
        else if (a == "--quiet")
            g.quiet = true;
        else if (a == "--pretty")
            pretty = true;
        else if (a == "--compact")
            pretty = false;
        else if (a == "--show-token")
            show_token = true;
        else
            rest.push_back(a);
    }
    if (rest.empty()) throw usage_error{"no command (see --help)"};
    pretty_output = pretty.value_or(isatty(STDOUT_FILENO) == 1);
    const std::string_view command = rest.front();
    rest.erase(rest.begin());

    if (command == "emulator")
        return codef::emu::run_program(rest, "codef emulator", std::cout, std::cerr);

    // The command's own arguments, checked before anything is sent or created.
    std::optional<std::string_view> input;
    std::string path, verb, connected_id;
    sweep_args sw;
    auto take_options = [&](const std::vector<std::string_view>& opts_with_value,
                            const std::vector<std::string_view>& flags, auto on_option) {
        std::vector<std::string_view> positional;
        for (std::size_t i = 0; i < rest.size(); ++i) {
            const std::string_view a = rest[i];
            if (std::find(opts_with_value.begin(), opts_with_value.end(), a) !=
                opts_with_value.end()) {
                if (i + 1 >= rest.size()) throw usage_error{std::string(a) + ": needs a value"};
                on_option(a, rest[++i]);
            } else if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
                on_option(a, std::string_view());
            } else if (a.starts_with("--")) {
                throw usage_error{"unknown option " + std::string(a) + " for " +
                                  std::string(command)};
            } else {
                positional.push_back(a);
            }
        }
        return positional;
    };
    auto no_options = [](std::string_view, std::string_view) {};
    if (command == "token") {
        if (!take_options({}, {}, no_options).empty())
            throw usage_error{"token takes no arguments"};
    } else if (command == "call") {
        auto pos = take_options({}, {}, no_options);
        if (pos.empty() || pos.size() > 2)
            throw usage_error{"usage: codef call PATH [JSON | @FILE | -]"};
        path = pos[0];
        if (pos.size() == 2) input = pos[1];
    } else if (command == "accounts") {
        auto pos = take_options({"--connected-id"}, {},
                                [&](std::string_view, std::string_view v) { connected_id = v; });
        if (pos.empty() || pos.size() > 2)
            throw usage_error{"usage: codef accounts create|add|update|delete|list [--connected-id "
                              "ID] [JSON | @FILE | -]"};
        verb = pos[0];
        if (verb != "create" && verb != "add" && verb != "update" && verb != "delete" &&
            verb != "list")
            throw usage_error{"accounts: create, add, update, delete or list, not " + verb};
        if (pos.size() == 2) input = pos[1];
        if (verb != "list" && !input)
            throw usage_error{"accounts " + verb + ": the accounts are needed (JSON, @FILE or -)"};
    } else if (command == "connected-ids") {
        if (!take_options({}, {}, no_options).empty())
            throw usage_error{"connected-ids takes no arguments"};
    } else if (command == "sweep") {
        std::optional<std::string_view> params;
        auto pos =
            take_options({"--params", "--out", "--business-type", "--client-type", "--ids-file"},
                         {"--per-organization", "--no-retry-failed"},
                         [&](std::string_view o, std::string_view v) {
                             if (o == "--params")
                                 params = v;
                             else if (o == "--out")
                                 sw.out = v;
                             else if (o == "--business-type")
                                 sw.business_type = v;
                             else if (o == "--client-type")
                                 sw.client_type = v;
                             else if (o == "--ids-file")
                                 sw.ids_file = v;
                             else if (o == "--no-retry-failed")
                                 sw.retry_failed = false;
                             else
                                 sw.per_organization = true;
                         });
        if (pos.size() != 1)
            throw usage_error{
                "usage: codef sweep PATH [--params JSON] [--per-organization] --out FILE|-"};
        sw.path = pos[0];
        if (sw.out.empty()) throw usage_error{"sweep: --out FILE (or - for stdout) is needed"};
        if ((!sw.business_type.empty() || !sw.client_type.empty()) && !sw.per_organization)
            throw usage_error{
                "sweep: --business-type and --client-type go with --per-organization"};
        sw.params = read_object(params, "--params");
        if (!sw.ids_file.empty() && access(sw.ids_file.c_str(), R_OK) != 0)
            throw usage_error{sw.ids_file + ": cannot be read"};
    } else {
        throw usage_error{"unknown command " + std::string(command) + " (see --help)"};
    }
    if (show_token && command != "token")
        throw usage_error{"--show-token goes with the token command"};
    json::value parsed =
        command == "call" || command == "accounts" ? read_json(input, "input") : json::value();
    if (command == "call" && !parsed.is_object())
        throw usage_error{"the parameters must be a JSON object"};
    if (timeout) g.cfg.call_timeout = *timeout;
    g.cfg.max_connections = std::max<std::size_t>(g.concurrency, 1);
    if (auto v = codef::validate(g.cfg); !v) throw usage_error{v.diag().detail};

    asio::io_context ioc;
    std::optional<codef::client> c;
    try {
        c.emplace(ioc.get_executor(), g.cfg);
    } catch (const codef::error& e) {
        throw usage_error{e.diag().detail.empty() ? e.what() : e.diag().detail};
    }
    // SIGINT, SIGTERM: exit 130 at once, except in a sweep (see sweep()); a second one always.
    // The signals are taken on a thread of their own, so that they are heard even while the
    // command's thread is busy (reading a large file, say): a sweep that has not ended
    // interrupt_deadline after the first signal is ended from there.
    interrupt_fn on_interrupt;
    asio::io_context signal_ioc;
    asio::signal_set signals(signal_ioc, SIGINT, SIGTERM);
    asio::steady_timer deadline(signal_ioc);
    const bool graceful = command == "sweep";
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        if (!graceful) std::_Exit(exit_interrupted);
        signals.async_wait([](boost::system::error_code e, int) {
            if (!e) std::_Exit(exit_interrupted);
        });
        deadline.expires_after(interrupt_deadline);
        deadline.async_wait([](boost::system::error_code e) {
            if (!e) std::_Exit(exit_interrupted);
        });
        asio::post(ioc, [&] {
            if (!on_interrupt) std::_Exit(exit_interrupted);
            std::exchange(on_interrupt, nullptr)();
        });
    });
    std::thread signal_thread([&] { signal_ioc.run(); });
    struct joiner {
        asio::io_context& ioc;
        std::thread& thread;
        ~joiner() {
            ioc.stop();
            thread.join();
        }
    } join_signal_thread{signal_ioc, signal_thread};
    int status = exit_ok;
    std::optional<usage_error> late_usage;
    auto body = [&]() -> asio::awaitable<int> {
        if (command == "token") co_return co_await token(*c, show_token);
        if (command == "call") co_return co_await call(*c, path, std::move(parsed.get_object()));
        if (command == "accounts")
            co_return co_await accounts(*c, verb, connected_id, std::move(parsed));
        if (command == "connected-ids") co_return co_await connected_ids(*c);
        co_return co_await sweep(*c, g, std::move(sw), on_interrupt);
    };
    asio::co_spawn(ioc, body(), [&](std::exception_ptr e, int s) {
        // Done: nothing else is waited for (a token refresh still under way, idle connections).
        ioc.stop();
        status = s;
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const usage_error& u) {
            late_usage = u;
        } catch (const std::exception& x) {
            std::cerr << "codef: " << x.what() << "\n";
            status = exit_transport;
        }
    });
    ioc.run();
    if (late_usage) throw *late_usage;
    return status;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "codef: " << e.what << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "codef: " << e.what() << "\n";
        return exit_transport;
    }
}
