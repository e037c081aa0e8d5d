// codef: the command-line tool. Calls CODEF by hand, manages accounts, lists connectedIds, runs
// resumable sweeps, and runs the emulator.
#include "cli/completion.hpp"
#include "cli/log_sink.hpp"
#include "cli/output.hpp"
#include "cli/profile.hpp"
#include "cli/progress.hpp"
#include "cli/terminal.hpp"
#include "cli/two_way.hpp"
#include "emulator/program.hpp"

#include <codef/client.hpp>
#include <codef/sweep.hpp>
#if CODEF_WITH_POSTGRESQL
#include <codef/fleet.hpp>
#endif
#include <codef/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
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
#include <map>
#include <memory>
#include <mutex>
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

struct usage_error {
    std::string what;
};

struct globals {
    codef::config cfg;
    std::size_t concurrency = 16;
    bool quiet = false;
    int verbose = 0;      // -v: the client's log on stderr at debug; -vv at trace
    std::string log_file; // --log-file: the client's log appended there
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// n from 1 to max, or what is wrong with v (the value itself is not repeated).
std::string not_positive(std::string_view v, std::uint64_t max) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n == 0 || n > max)
        return "not a number from 1 to " + std::to_string(max);
    return {};
}

std::uint64_t positive(std::string_view v) {
    std::uint64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
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

// The token: the client's (issued when it has none), or with --new a new one whatever it holds.
asio::awaitable<int> token(codef::client& c, bool show, bool fresh) {
    // Not `fresh ? co_await ... : co_await ...`: GCC 12 destroys that result twice.
    codef::result<codef::token_info> t;
    if (fresh)
        t = co_await c.refresh_token();
    else
        t = co_await c.try_token();
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

// What `codef call` does: one call (or the challenge kept by an earlier one, --resume), its
// two-way authentication answered with --answer or at the terminal, or kept (--challenge-out).
struct call_args {
    std::string path;
    json::object params;
    std::optional<codef::two_way_challenge> resumed; // --resume FILE
    std::string resume_file;                         // its FILE
    std::optional<std::string> answer;               // --answer VALUE
    std::string challenge_out;                       // --challenge-out FILE
    bool interactive = false;                        // ask at the terminal
};

// What is read from the terminal or stdin as a typed line or a plaintext, at most.
constexpr std::size_t max_typed = 4096;
constexpr const char* max_typed_text = "4 KiB";

// Every captcha image written and not yet removed, so that an interrupted process removes them
// too (from the signal thread: remove_captchas).
std::mutex captchas_mutex;
std::vector<std::string> captchas_written;

void remove_captchas() {
    std::lock_guard lock(captchas_mutex);
    for (const auto& p : captchas_written)
        ::unlink(p.c_str());
    captchas_written.clear();
}

// The captcha images written for a challenge: removed once it has been answered.
struct captcha_files {
    std::vector<std::string> paths;
    captcha_files() = default;
    captcha_files(const captcha_files&) = delete;
    captcha_files& operator=(const captcha_files&) = delete;
    ~captcha_files() {
        std::lock_guard lock(captchas_mutex);
        for (const auto& p : paths) {
            ::unlink(p.c_str());
            std::erase(captchas_written, p);
        }
    }
    void add(std::string path) {
        std::lock_guard lock(captchas_mutex);
        captchas_written.push_back(path);
        paths.push_back(std::move(path));
    }
};

// bytes in a new file (mode 0600) in $TMPDIR, else /tmp: its path, or empty
// with why set.
std::string new_image_file(const codef::cli::data_url& image, std::string& why) {
    std::string dir = env("TMPDIR");
    if (dir.empty()) dir = "/tmp";
    const std::string ext = codef::cli::extension_of(image.media_type);
    std::string name = dir + "/codef-captcha-XXXXXX" + ext;
    const int fd = ::mkstemps(name.data(), static_cast<int>(ext.size())); // mode 0600
    if (fd < 0) {
        why = name + ": " + std::strerror(errno);
        return {};
    }
    std::size_t done = 0;
    while (done < image.bytes.size()) {
        const ssize_t n = ::write(fd, image.bytes.data() + done, image.bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = name + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(name.c_str());
            return {};
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return name;
}

// A challenge told on stderr: the method, CODEF's messages, and its extraInfo (an image, such as
// the captcha of secureNo, written to a file whose path is told; never its base64).
void describe(const codef::two_way_challenge& ch, std::string_view lead, captcha_files& files) {
    using codef::cli::printable;
    std::cerr << "codef: " << lead << ": " << printable(ch.method) << "\n";
    std::string said = printable(ch.reply.message);
    if (!ch.reply.extra_message.empty())
        said += (said.empty() ? "" : " - ") + printable(ch.reply.extra_message);
    if (!said.empty()) std::cerr << "  " << said << "\n";
    auto show = [&](std::string_view key, const json::value& v) {
        std::string text;
        if (const auto* s = v.if_string()) {
            if (auto image = codef::cli::data_url_of(*s)) {
                std::string why;
                const std::string path = new_image_file(*image, why);
                if (path.empty()) {
                    std::cerr << "  " << printable(key) << ": an image that cannot be written ("
                              << why << ")\n";
                } else {
                    files.add(path);
                    std::cerr << "  " << printable(key) << ": an image ("
                              << printable(image->media_type) << "), in " << path << "\n";
                }
                return;
            }
            text = *s;
        } else {
            text = json::serialize(v);
        }
        if (text.empty()) return;
        if (text.size() > 120)
            std::cerr << "  " << printable(key) << ": (" << text.size()
                      << " characters, not shown)\n";
        else
            std::cerr << "  " << printable(key) << ": " << printable(text) << "\n";
    };
    if (const auto* o = ch.extra_info.if_object()) {
        for (const auto& [k, v] : *o)
            show(k, v);
    } else if (!ch.extra_info.is_null()) {
        show("extraInfo", ch.extra_info);
    }
}

// The challenge to_json() gives in path, mode 0600: written beside it and renamed over it, so
// that a reader never sees half of it. Empty, or what went wrong.
std::string write_challenge(const std::string& path, const codef::two_way_challenge& ch) {
    return codef::cli::write_replacing(path, json::serialize(ch.to_json()) + "\n", 0600);
}

// The challenge kept in a file by --challenge-out; a usage error naming the file and the key.
codef::two_way_challenge read_challenge(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw usage_error{"--resume: " + path + ": cannot be read: " + std::strerror(errno)};
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } guard{fd};
    const std::string text = read_bounded(fd, path);
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec) throw usage_error{"--resume: " + path + ": not valid JSON (" + ec.message() + ")"};
    auto ch = codef::two_way_challenge::from_json(v);
    if (!ch) throw usage_error{"--resume: " + path + ": " + ch.diag().detail};
    return std::move(*ch);
}

// The answers typed at the terminal, challenge after challenge, until a reply that is not one;
// the end of the input gives the last challenge back.
asio::awaitable<codef::result<codef::product_outcome>>
answer_at_the_terminal(codef::client& c, codef::result<codef::product_outcome> r) {
    std::string lead = "CODEF asks for two-way authentication";
    while (r) {
        auto* ch = std::get_if<codef::two_way_challenge>(&*r);
        if (!ch) break;
        captcha_files files;
        describe(*ch, lead, files);
        std::optional<codef::two_way_answer> answer;
        while (!answer) {
            std::cerr << codef::cli::prompt_for(ch->method) << std::flush;
            auto line = codef::cli::read_line(STDIN_FILENO, max_typed);
            if (line.eof || line.error) {
                std::cerr << "\n";
                co_return r; // the challenge, unanswered
            }
            if (line.too_long) {
                std::cerr << "codef: longer than " << max_typed_text << "; again\n";
                continue;
            }
            answer = codef::cli::answer_typed(ch->method, line.text);
        }
        lead = answer->refresh ? "a new captcha for two-way authentication"
                               : "not accepted; CODEF asks again for two-way authentication";
        codef::two_way_challenge challenge = std::move(*ch);
        r = co_await c.continue_two_way(std::move(challenge), std::move(*answer));
    }
    co_return r;
}

asio::awaitable<int> call(codef::client& c, call_args a) {
    codef::result<codef::product_outcome> r;
    if (a.resumed) {
        if (a.answer)
            r = co_await c.continue_two_way(*a.resumed,
                                            codef::cli::answer_given(a.resumed->method, *a.answer));
        else
            r = codef::product_outcome(std::move(*a.resumed));
    } else {
        r = co_await c.try_product(a.path, std::move(a.params));
        if (r && a.answer)
            if (auto* ch = std::get_if<codef::two_way_challenge>(&*r)) {
                codef::two_way_challenge first = std::move(*ch);
                auto answer = codef::cli::answer_given(first.method, *a.answer);
                r = co_await c.continue_two_way(std::move(first), std::move(answer));
            }
    }
    if (r && a.interactive) r = co_await answer_at_the_terminal(c, std::move(r));
    if (!r) co_return fail(r.get_failure());
    if (auto* ch = std::get_if<codef::two_way_challenge>(&*r)) {
        const int status = print_reply(ch->reply);
        const std::string asked =
            (a.answer ? "the answer was not accepted: CODEF asks again for " : "CODEF asks for ") +
            std::string("two-way authentication (") + codef::cli::printable(ch->method) + ")";
        const std::string placeholder = codef::cli::answer_placeholder(ch->method);
        // Kept where asked, else in place of the challenge it follows (--resume): a rerun of the
        // same command then answers the newest one.
        const std::string keep = a.challenge_out.empty() ? a.resume_file : a.challenge_out;
        if (!keep.empty()) {
            if (auto problem = write_challenge(keep, *ch); !problem.empty()) {
                std::cerr << "codef: " << problem << "\n";
                co_return exit_usage;
            }
            std::cerr << "codef: " << asked << ", kept in " << keep
                      << ": answer it with codef call --resume " << keep << " --answer "
                      << placeholder << "\n";
        } else if (!a.interactive) {
            std::cerr << "codef: " << asked
                      << ": rerun with --challenge-out FILE, then answer it with codef call "
                         "--resume FILE --answer "
                      << placeholder << " (or run it on a terminal)\n";
        }
        co_return status;
    }
    // The kept challenge is answered: a rerun would send its follow-up again.
    if (!a.resume_file.empty()) ::unlink(a.resume_file.c_str());
    co_return print_reply(std::get<codef::response>(*r));
}

// The plaintext of `codef encrypt`: standard input, one trailing newline removed; at a terminal
// one line, asked for on stderr with echo off. Held in buffers reserved up front (never moved
// elsewhere by growing) and wiped by codef::secret.
codef::secret read_plaintext() {
    std::string text;
    text.reserve(max_typed + 1); // on the heap: moved, never copied
    if (::isatty(STDIN_FILENO) == 1) {
        codef::cli::no_echo quiet(STDIN_FILENO);
        std::cerr << "plaintext: " << std::flush;
        auto line = codef::cli::read_line(STDIN_FILENO, max_typed);
        codef::secret typed(std::move(line.text));
        if (line.error)
            throw usage_error{std::string("standard input: cannot be read: ") +
                              std::strerror(line.error)};
        if (line.too_long)
            throw usage_error{std::string("encrypt: the plaintext is longer than ") +
                              max_typed_text};
        return typed;
    }
    char chunk[512];
    struct wiper {
        char* p;
        std::size_t n;
        ~wiper() { ::explicit_bzero(p, n); }
    } wipe_chunk{chunk, sizeof chunk};
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            codef::secret drop(std::move(text));
            throw usage_error{std::string("standard input: cannot be read: ") +
                              std::strerror(errno)};
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > max_typed) {
            codef::secret drop(std::move(text));
            throw usage_error{std::string("encrypt: the plaintext is longer than ") +
                              max_typed_text};
        }
        text.append(chunk, static_cast<std::size_t>(n));
    }
    codef::cli::drop_one_newline(text);
    return codef::secret(std::move(text));
}

// codef encrypt: the plaintext's RSA ciphertext (base64) on stdout, as CODEF wants passwords.
// Nothing is sent; the plaintext is never written anywhere.
int encrypt(const std::string& key_text, const std::string& key_source) {
    if (key_text.empty())
        throw usage_error{"encrypt: no public key: give --public-key BASE64 (or CODEF_PUBLIC_KEY, "
                          "or public-key in the profile)"};
    auto key = codef::public_key::parse(key_text);
    if (!key) throw usage_error{key_source + ": " + key.diag().detail};
    const codef::secret plaintext = read_plaintext();
    if (plaintext.empty()) throw usage_error{"encrypt: the plaintext is empty"};
    const std::size_t room = static_cast<std::size_t>(key->bits() / 8 - 11); // PKCS#1 v1.5
    if (plaintext.reveal().size() > room)
        throw usage_error{"encrypt: the plaintext is " + std::to_string(plaintext.reveal().size()) +
                          " bytes, more than the " + std::to_string(key->bits()) +
                          "-bit key takes (" + std::to_string(room) + ")"};
    auto ciphertext = key->encrypt(plaintext.reveal());
    if (!ciphertext) throw usage_error{"encrypt: " + ciphertext.diag().detail};
    std::cout << *ciphertext << std::endl;
    return exit_ok;
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

// A certificate file's field: "@path" is the file's bytes in base64 (codef::file_to_base64, at
// most 1 MiB); anything else is the base64 itself. A file that cannot be read is a usage error
// naming the field and the file.
std::string certificate_file(const json::object& o, std::string_view key, const std::string& at) {
    std::string v = field(o, key, at);
    if (!v.starts_with("@")) return v;
    const std::string name = at + std::string(key);
    if (v.size() == 1) throw usage_error{name + ": @ without a file name"};
    auto bytes = codef::file_to_base64(v.substr(1));
    if (!bytes) {
        std::string why = bytes.diag().detail;
        constexpr std::string_view prefix = "certificate file ";
        if (why.starts_with(prefix)) why.erase(0, prefix.size());
        throw usage_error{name + ": " + why};
    }
    return std::move(*bytes);
}

codef::account account_of(const json::object& o, const std::string& at) {
    codef::account a;
    static_cast<codef::account_key&>(a) = key_of(o, at);
    a.id = field(o, "id", at);
    a.password = codef::password::plaintext(field(o, "password", at));
    a.der_file = certificate_file(o, "derFile", at);
    a.key_file = certificate_file(o, "keyFile", at);
    a.cert_type = field(o, "certType", at);
    a.cert_file = certificate_file(o, "certFile", at);
    a.birthday = field(o, "birthday", at);
    for (const auto& [k, v] : o) {
        static const std::string_view known[] = {
            "countryCode", "businessType", "clientType", "organization", "loginType", "id",
            "password",    "derFile",      "keyFile",    "certType",     "certFile",  "birthday"};
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
    std::string metrics; // --metrics FILE
    // --queue URI --job NAME: a worker of a distributed sweep (codef::fleet).
    std::string queue, job;
    std::size_t batch = 100;
    std::chrono::milliseconds lease{30000};
};

// sweep --metrics FILE: the client's metrics in the Prometheus text format, written once, when
// the sweep ends however it ends: done, failed, interrupted (from the signal thread too, when the
// sweep outlives its deadline). The mutex makes a second saver wait for the first, so that the
// client is never destroyed under a write.
class metrics_file {
public:
    explicit metrics_file(std::string path)
        : path_(std::move(path)) {}
    void watch(const codef::client& c) { client_.store(&c); }
    void save() {
        std::lock_guard lock(mutex_);
        const codef::client* c = client_.load();
        if (path_.empty() || !c || saved_) return;
        saved_ = true;
        if (auto problem = codef::cli::write_replacing(path_, codef::to_prometheus(c->metrics()));
            !problem.empty())
            std::cerr << "codef: --metrics: " << problem << "\n";
    }

private:
    std::string path_; // empty: none asked for
    std::atomic<const codef::client*> client_{nullptr};
    std::mutex mutex_;
    bool saved_ = false;
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
                           interrupt_fn& on_interrupt, metrics_file& metrics) {
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
            metrics.save();
            if (!g.quiet) print_summary(job.progress(), true);
            std::_Exit(exit_interrupted);
        });
    };

    auto r = co_await job.run(*source, out);
    on_interrupt = nullptr;
    grace.cancel();
    metrics.save();
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

// ---------------------------------------------------------------------------------------------
// Beyond one process (codef::fleet, PostgreSQL): the fleet's token, sweep workers, jobs.

#if CODEF_WITH_POSTGRESQL
constexpr auto job_command_timeout = std::chrono::seconds(60);

// sweep --queue URI --job NAME: this process works on the job with others until it has nothing
// left; the first worker creates and loads it.
// The ids file, opened (and read through, to check it) only when the worker loads the job: a
// worker that joins one already loaded never reads it.
class lazy_file_source final : public codef::id_source {
public:
    explicit lazy_file_source(std::string path)
        : path_(std::move(path)) {}
    asio::awaitable<codef::result<std::vector<std::string>>> next(std::size_t max) override {
        if (!file_) {
            auto f = codef::file_source(path_);
            if (!f) co_return f.get_failure();
            file_ = std::move(*f);
        }
        co_return co_await file_->next(max);
    }

private:
    std::string path_;
    std::unique_ptr<codef::id_source> file_;
};

asio::awaitable<int> queue_sweep(codef::client& c, const globals& g, sweep_args a,
                                 interrupt_fn& on_interrupt, metrics_file& metrics) {
    std::unique_ptr<codef::id_source> source;
    if (!a.ids_file.empty())
        source = std::make_unique<lazy_file_source>(a.ids_file);
    else
        source = codef::listing_source(c);
    codef::fleet::job_definition def{
        a.job,
        {a.path, a.params, a.per_organization, a.business_type, a.client_type},
        source.get()};
    codef::fleet::worker_options opts;
    opts.concurrency = g.concurrency;
    opts.batch = a.batch;
    opts.lease = a.lease;
    const bool bar = !g.quiet && isatty(STDERR_FILENO);
    if (bar) opts.on_progress = draw_progress;
    codef::fleet::worker w(c, a.queue, std::move(def), std::move(opts));
    // The first signal: stop claiming, finish and record the calls in flight (what is not called
    // goes back to the queue); a second one quits at once (the lease returns the rest).
    on_interrupt = [&] {
        if (!g.quiet)
            std::cerr << "\ncodef: stopping: recording the calls in flight (again to quit now)\n";
        w.stop();
    };
    auto r = co_await w.run();
    on_interrupt = nullptr;
    metrics.save();
    if (bar) std::cerr << "\n";
    if (!r) co_return fail(r.get_failure());
    if (!g.quiet) {
        print_summary(r->progress, r->interrupted);
        std::cerr << "codef: job " << a.job << ": this worker "
                  << (r->created ? "created" : "joined") << " it"
                  << (r->loaded ? " and loaded its connectedIds" : "")
                  << (r->interrupted ? "" : "; nothing is left") << "\n";
    }
    if (r->interrupted) co_return exit_interrupted;
    co_return r->progress.failed > 0 ? exit_some_failed : exit_ok;
}

std::string status_line(const codef::fleet::job_status& s) {
    return "job " + s.name + " (" + s.state + "): " + thousands(s.done) + " done, " +
           thousands(s.failed) + " failed, " + thousands(s.in_flight) + " in flight, " +
           thousands(s.pending) + " pending of " + thousands(s.total) + "; " +
           std::to_string(static_cast<std::uint64_t>(s.rate)) + " connectedIds/s, " +
           thousands(s.workers_alive) + " workers alive";
}

// job status|list|export|retry-failed|cancel.
asio::awaitable<int> job_command(std::string verb, std::string uri, std::string name,
                                 std::string out) {
    namespace fl = codef::fleet;
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(job_command_timeout);
    if (verb == "status") {
        auto s = co_await fl::status_of_job(uri, name, timeout);
        if (!s) co_return fail(s.get_failure());
        std::cout << codef::cli::json_text(fl::to_json(*s), pretty_output) << std::endl;
        if (isatty(STDERR_FILENO)) std::cerr << status_line(*s) << "\n";
        co_return exit_ok;
    }
    if (verb == "list") {
        auto l = co_await fl::list_jobs(uri, timeout);
        if (!l) co_return fail(l.get_failure());
        json::array a;
        for (const auto& s : *l)
            a.push_back(fl::to_json(s));
        std::cout << codef::cli::json_text(a, pretty_output) << std::endl;
        if (isatty(STDERR_FILENO))
            for (const auto& s : *l)
                std::cerr << status_line(s) << "\n";
        co_return exit_ok;
    }
    if (verb == "export") {
        int fd = STDOUT_FILENO;
        std::string tmp;
        if (out != "-") {
            // Written aside (mode 0600: financial data) and renamed over FILE once complete.
            tmp = out + ".part";
            fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) throw usage_error{"--out: " + out + ": " + std::strerror(errno)};
        }
        auto n = co_await fl::export_job(uri, name, fd, timeout * 10);
        if (fd != STDOUT_FILENO) {
            const bool synced = ::fsync(fd) == 0;
            const int sync_error = errno;
            ::close(fd);
            if (!n || !synced) ::unlink(tmp.c_str());
            if (!n) co_return fail(n.get_failure());
            if (!synced) throw usage_error{"--out: " + out + ": " + std::strerror(sync_error)};
            if (::rename(tmp.c_str(), out.c_str()) != 0) {
                const int rename_error = errno;
                ::unlink(tmp.c_str());
                throw usage_error{"--out: " + out + ": " + std::strerror(rename_error)};
            }
        }
        if (!n) co_return fail(n.get_failure());
        std::cerr << "codef: job " << name << ": " << thousands(*n) << " lines exported\n";
        co_return exit_ok;
    }
    if (verb == "retry-failed") {
        auto n = co_await fl::retry_failed(uri, name, timeout);
        if (!n) co_return fail(n.get_failure());
        std::cerr << "codef: job " << name << ": " << thousands(*n)
                  << " failed connectedIds back in the queue (run a worker to call them)\n";
        co_return exit_ok;
    }
    auto c = co_await fl::cancel_job(uri, name, timeout); // cancel
    if (!c) co_return fail(c.get_failure());
    std::cerr << "codef: job " << name
              << " cancelled: workers stop once their batches are recorded\n";
    co_return exit_ok;
}
#endif

// ---------------------------------------------------------------------------------------------
// The command line: CLI11, with the help laid out as ours always was (usage first).

codef::environment environment_of(std::string_view v) {
    if (v == "development") return codef::environment::development;
    if (v == "production") return codef::environment::production;
    return codef::environment::sandbox; // checked before: sandbox, development or production
}

std::string not_an_environment(const std::string& v) {
    return v == "sandbox" || v == "development" || v == "production"
               ? std::string()
               : "sandbox, development or production";
}

// text re-flowed into lines of at most width columns (a longer word stays whole).
std::string wrapped(std::string_view text, std::size_t width) {
    std::string out, line;
    std::istringstream words{std::string(text)};
    for (std::string w; words >> w;) {
        if (!line.empty() && line.size() + 1 + w.size() > width) {
            out += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + w;
    }
    return out + line;
}

// Help lines are at most this wide.
constexpr std::size_t help_width = 96;

// Help: the usage first, then what the command does, its arguments and options (their lines
// made from the app's own options), then the footer: an example, or the profile, the exit
// statuses and the examples.
class help_format : public CLI::Formatter {
public:
    // A command's synopsis (its name first), a line a vector element; its line in the list of
    // commands.
    std::map<const CLI::App*, std::vector<std::string>> synopsis;
    std::map<const CLI::App*, std::string> summary;

    help_format() {
        column_width(32);
        label("Positionals", "arguments");
    }

    // The synopsis on one line, for a usage error.
    std::string usage_line(const CLI::App* app) const {
        std::string s = "usage: codef";
        for (const auto& line : synopsis.at(app))
            s += " " + line;
        return s;
    }

    std::string make_help(const CLI::App* app, std::string,
                          CLI::AppFormatMode mode) const override {
        if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
        std::string out = "usage: codef [global options] ";
        if (app->get_parent() == nullptr) {
            out += "<command> [arguments]\n";
        } else {
            const auto& lines = synopsis.at(app);
            for (std::size_t i = 0; i < lines.size(); ++i)
                out += (i ? "        " : "") + lines[i] + "\n";
        }
        out += "\n" + app->get_description() + "\n";
        out += make_positionals(app);
        out += make_groups(app, mode);
        out += make_subcommands(app, mode);
        out += "\n" + make_footer(app);
        return out;
    }

    std::string make_subcommand(const CLI::App* sub) const override {
        const auto& lines = synopsis.at(sub);
        // A synopsis's further lines are indented as the summary is (help2man reads them so).
        std::string name = lines.front();
        for (std::size_t i = 1; i < lines.size(); ++i)
            name += "\n" + std::string(column_width_, ' ') + lines[i];
        std::stringstream out;
        CLI::detail::format_help(out, name, wrapped(summary.at(sub), help_width - column_width_),
                                 column_width_);
        return out.str();
    }

    // "-h, --help", "--pretty, --compact".
    std::string make_option_name(const CLI::Option* opt, bool positional) const override {
        if (positional) return opt->get_name(true, false);
        std::string names;
        for (const auto& s : opt->get_snames())
            names += (names.empty() ? "-" : ", -") + s;
        for (const auto& l : opt->get_lnames())
            names += (names.empty() ? "--" : ", --") + l;
        return names;
    }

    // "--env sandbox|development|production": the type name, no default shown (the profile's
    // would be this machine's home).
    std::string make_option_opts(const CLI::Option* opt) const override {
        if (!codef::cli::takes_value(*opt)) return {};
        const std::string type = opt->get_type_name();
        if (opt->get_positional())
            return type.empty() || type == opt->get_name() ? "" : " (" + type + ")";
        return " " + type;
    }

    std::string make_option_desc(const CLI::Option* opt) const override {
        std::string d = opt->get_description();
        if (!opt->get_envname().empty()) d += " (or " + opt->get_envname() + ")";
        return wrapped(d, help_width - column_width_);
    }
};

// What the command line says, before anything is checked against the command.
struct command_line {
    std::string profile_default; // $CODEF_PROFILE, else the XDG place
    std::string env_name;
    std::string concurrency, timeout;
    bool show_token = false, new_token = false;
    std::string path, input, verb, connected_id, params, shell;
    std::string answer, challenge_out, resume; // call
    std::string proxy;                         // --proxy: a URL, or "env"
    std::string token_store;                   // --token-store: a PostgreSQL URI
    std::string batch, lease;                  // sweep --queue
    std::string job_verb;                      // job VERB
    sweep_args sweep;
    bool no_retry_failed = false;
};

// The value of each secret option that could be in a message: from argv, from the environment.
std::vector<std::string> secret_values(int argc, char** argv) {
    std::vector<std::string> out;
    // The proxy's URL may hold its password.
    for (const char* name :
         {"CODEF_CLIENT_SECRET", "CODEF_PROXY", "CODEF_TOKEN_STORE", "CODEF_QUEUE"})
        if (auto e = env(name); !e.empty()) out.push_back(e);
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        for (const std::string_view option :
             {"--client-secret", "--proxy", "--token-store", "--queue"}) {
            if (a == option && i + 1 < argc)
                out.emplace_back(argv[i + 1]);
            else if (a.starts_with(option) && a.size() > option.size() && a[option.size()] == '=')
                out.emplace_back(a.substr(option.size() + 1));
        }
    }
    return out;
}

std::string redacted(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
        if (s.size() < 4) continue; // a shorter one would blank out ordinary words
        for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at))
            text.replace(at, s.size(), "(secret)");
    }
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' '; // one line
    return text;
}

// A CLI11 parse error as our one line, made of option and command names: an unexpected argument
// (which may be a secret typed after a misspelt option) is named only when it is an option.
std::string message_of(const CLI::ParseError& e, const CLI::App& app, const help_format& h) {
    const auto selected = app.get_subcommands();
    const CLI::App* sub = selected.empty() ? nullptr : selected.front();
    std::vector<std::string> extras = app.remaining();
    if (sub)
        for (auto& x : sub->remaining())
            extras.push_back(std::move(x));
    const bool extras_error = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
    const bool no_command = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !sub;
    if (extras_error || no_command) {
        for (const auto& x : extras) {
            if (x.size() < 2 || x[0] != '-') continue;
            const std::string name = x.substr(0, x.find('='));
            // A command's option before it (CLI11 would have taken it after it).
            for (const CLI::App* other : app.get_subcommands({}))
                if (other->get_option_no_throw(name))
                    return name + " goes after the " + other->get_name() + " command";
            return "unknown option " + name + " (see --help)";
        }
        if (std::find(extras.begin(), extras.end(), "help") != extras.end())
            return "there is no help command: codef --help, or codef COMMAND --help";
        if (!sub)
            return extras.empty() ? "no command (see --help)"
                                  : "unknown command " + extras.front() + " (see --help)";
        if (sub->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty())
            return sub->get_name() + " takes no arguments";
        return h.usage_line(sub);
    }
    const std::string what = e.what();
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && what.ends_with(" missing"))
        return what.substr(0, what.find(':')) + ": needs a value";
    // "Could not convert: --quiet = maybe": a flag given a value that is not true or false.
    constexpr std::string_view unconverted = "Could not convert: ";
    if (dynamic_cast<const CLI::ConversionError*>(&e) && what.starts_with(unconverted)) {
        const auto name = what.substr(unconverted.size(), what.find(" = ") - unconverted.size());
        return name + ": a flag (no value, or true or false)";
    }
    return what;
}

// The profile's default place: $CODEF_PROFILE, else $XDG_CONFIG_HOME/codef/config, else
// ~/.config/codef/config.
std::string default_profile() {
    if (auto p = env("CODEF_PROFILE"); !p.empty()) return p;
    if (auto x = env("XDG_CONFIG_HOME"); !x.empty()) return x + "/codef/config";
    if (auto h = env("HOME"); !h.empty()) return h + "/.config/codef/config";
    return {};
}

// Why a file cannot be made at path (its directory missing or not writable, or path a directory);
// empty when it can.
std::string not_writable(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return "a directory";
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string(".")
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return dir + ": " + std::strerror(errno);
    return {};
}

bool regular_readable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), R_OK) == 0;
}

constexpr const char* main_description =
    R"(Calls the Korean CODEF financial API: a token, one call (its two-way authentication answered),
an end user's accounts, every connectedId, and resumable sweeps over them; encrypts passwords;
runs a CODEF emulator. Global options go before or after the command. An option's value is the
next argument or follows '=' (--timeout=30).)";

constexpr const char* exit_statuses = R"(exit status:
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
  $ codef emulator --port 8443 --ca-out ca.pem &
  $ export CODEF_API_URL=https://127.0.0.1:8443 CODEF_OAUTH_URL=https://127.0.0.1:8443/oauth/token
  $ codef --ca-file ca.pem call /v1/account/connectedId-list '{}'
  $ CODEF_PUBLIC_KEY=MIIBIjANBgkqh... codef encrypt < password.txt
  $ CODEF_CLIENT_ID=... CODEF_CLIENT_SECRET=... codef --env production connected-ids
  $ codef sweep /v1/kr/bank/p/account/account-list --per-organization --out accounts.ndjson
  $ source <(codef completion bash)
Each command's own help: codef COMMAND --help.)";

constexpr const char* see_global = "(global options and exit statuses: codef --help)";

// The app: every command and option, their checks, help and environment variables. Values land
// in g and cl.
struct cli {
    CLI::App app{main_description, "codef"};
    std::shared_ptr<help_format> help = std::make_shared<help_format>();
    std::shared_ptr<codef::cli::profile_format> profile;
    CLI::Option* profile_opt = nullptr;
    CLI::Option* pretty_opt = nullptr;
    CLI::App* emulator = nullptr;
    std::map<std::string, codef::cli::setting> settings; // the profile's keys
    bool pretty_flag = false;

    cli(globals& g, command_line& cl);

    // The profile read (or named): the last --profile, else the default one.
    std::string profile_path(const command_line& cl) const {
        const auto& read = profile_opt->results();
        return read.empty() ? cl.profile_default : read.back();
    }

    // Where a checked value came from: the option's name on the command line (global options
    // are parsed by the app, after the command too), else its environment variable. A profile's
    // values are checked when it is read (codef::cli::profile_format).
    std::string source_of(const CLI::Option* o) const {
        const auto& order = app.parse_order();
        if (std::find(order.begin(), order.end(), o) == order.end() && !o->get_envname().empty() &&
            !env(o->get_envname().c_str()).empty())
            return o->get_envname();
        return o->get_name();
    }

    // A check whose problem is a usage error naming where the value came from; CLI11's own
    // validation message (which repeats the value) is never made.
    CLI::Option* checked(CLI::Option* o, std::function<std::string(const std::string&)> problem) {
        o->check(CLI::Validator(
            [this, o, problem](std::string& v) {
                if (auto p = problem(v); !p.empty()) throw usage_error{source_of(o) + ": " + p};
                return std::string();
            },
            ""));
        problems[o] = std::move(problem);
        return o;
    }
    std::map<const CLI::Option*, std::function<std::string(const std::string&)>> problems;

    CLI::App* command(const std::string& name, std::vector<std::string> synopsis,
                      std::string summary, std::string description, std::string footer) {
        CLI::App* sub = app.add_subcommand(name, std::move(description));
        sub->group("commands");
        sub->footer(std::move(footer));
        sub->option_defaults()->group("options");
        sub->get_help_ptr()->group("options")->description("this help");
        help->synopsis[sub] = std::move(synopsis);
        help->summary[sub] = std::move(summary);
        return sub;
    }
};

cli::cli(globals& g, command_line& cl) {
    app.formatter(help);
    app.option_defaults()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->group("global options");
    app.require_subcommand(1);
    app.fallthrough(); // global options after the command too

    // The global options; every one but the flags has an environment variable, and the
    // non-secret ones may be set in the profile.
    checked(app.add_option("--env", cl.env_name, "the environment (default: sandbox)")
                ->type_name("sandbox|development|production")
                ->envname("CODEF_ENV"),
            not_an_environment);
    app.add_option("--api-url", g.cfg.api_url,
                   "the API's base URL instead of the environment's (a proxy, the emulator)")
        ->type_name("URL")
        ->envname("CODEF_API_URL");
    app.add_option("--oauth-url", g.cfg.oauth_url, "the token endpoint instead of CODEF's")
        ->type_name("URL")
        ->envname("CODEF_OAUTH_URL");
    app.add_option("--ca-file", g.cfg.ca_file, "an extra trusted CA")
        ->type_name("PEM")
        ->envname("CODEF_CA_FILE");
    app.add_option("--client-id", g.cfg.client_id, "the client id (none: the sandbox's)")
        ->type_name("ID")
        ->envname("CODEF_CLIENT_ID");
    app.add_option("--client-secret", g.cfg.client_secret,
                   "the client secret; prefer the environment (arguments show in `ps`)")
        ->type_name("SECRET")
        ->envname("CODEF_CLIENT_SECRET");
    app.add_option("--public-key", g.cfg.public_key, "CODEF's RSA public key, to encrypt passwords")
        ->type_name("BASE64")
        ->envname("CODEF_PUBLIC_KEY");
    app.add_option("--proxy", cl.proxy,
                   "an HTTP proxy for every connection (CONNECT), http://[user:password@]host:port;"
                   " `env`: https_proxy and no_proxy as curl reads them")
        ->type_name("URL|env")
        ->envname("CODEF_PROXY");
    app.add_option("--token-store", cl.token_store,
                   "share one token with every process using this PostgreSQL database,\n"
                   "postgresql://user@host/db (its password: ~/.pgpass or PGPASSWORD)")
        ->type_name("URI")
        ->envname("CODEF_TOKEN_STORE");
    checked(app.add_option("--concurrency", cl.concurrency, "calls at once (default 16)")
                ->type_name("N"),
            [](const std::string& v) { return not_positive(v, 10'000); });
    checked(app.add_option("--timeout", cl.timeout, "per call, retries included (default 90)")
                ->type_name("SECONDS"),
            [](const std::string& v) { return not_positive(v, 86'400); });
    app.add_flag("--quiet", g.quiet, "no progress, no summary");
    app.add_flag("-v,--verbose", g.verbose,
                 "the client's log on stderr: -v each call and token refresh (debug), -vv "
                 "connections and pool waits too (trace)");
    app.add_option("--log-file", g.log_file,
                   "append the client's log to FILE (mode 0600), a time on each line; at -v's "
                   "level, else at info")
        ->type_name("FILE")
        ->envname("CODEF_LOG_FILE");
    pretty_opt = app.add_flag("--pretty,!--compact", pretty_flag,
                              "replies indented, or on one line (default: indented on a\n"
                              "terminal, one line when piped)");
    cl.profile_default = default_profile();
    profile_opt = app.set_config("--profile", cl.profile_default,
                                 "settings read first (see \"profile\" below); default:\n"
                                 "$CODEF_PROFILE, else ~/.config/codef/config when it exists");
    profile_opt->type_name("FILE")->group("global options");
    app.set_version_flag("--version", "codef " CODEF_VERSION_STRING, "print the version and exit");
    app.set_help_flag("-h,--help", "this help; after a command, that command's help");

    // The profile: the global options above but the secret ones, by their long names.
    std::string keys;
    for (const CLI::Option* o : app.get_options()) {
        if (o == profile_opt || o == app.get_help_ptr() || o->get_name() == "--version") continue;
        codef::cli::setting s;
        // The proxy's URL may hold its password: like the secret, never in a profile.
        const bool secret = o->get_name() == "--client-secret" || o->get_name() == "--proxy" ||
                            o->get_name() == "--token-store";
        s.what = secret                         ? codef::cli::setting::kind::secret
                 : !codef::cli::takes_value(*o) ? codef::cli::setting::kind::flag
                                                : codef::cli::setting::kind::value;
        s.envname = o->get_envname();
        if (auto p = problems.find(o); p != problems.end()) s.problem = p->second;
        for (const auto& name : o->get_lnames()) {
            settings[name] = s;
            if (!secret) keys += (keys.empty() ? "" : ", ") + name;
        }
    }
    profile = std::make_shared<codef::cli::profile_format>(
        [this](const std::string& key) {
            auto s = settings.find(key);
            return s == settings.end() ? codef::cli::setting{} : s->second;
        },
        [](const std::string& var) { return !env(var.c_str()).empty(); }, "the settings: " + keys);
    app.config_formatter(profile);
    std::string profile_help =
        "Non-secret settings, `key = value` a line (CLI11's TOML/INI form), read from --profile "
        "FILE, else from $CODEF_PROFILE, else from $XDG_CONFIG_HOME/codef/config "
        "(~/.config/codef/config) when it exists. The keys: " +
        keys +
        ". An option on the command line wins over its environment variable, which wins over "
        "the profile. A secret (client-secret, a password, a token) in a profile is refused: "
        "give it in the environment.";
    std::string footer = "profile:\n";
    std::istringstream lines(wrapped(profile_help, help_width - 2));
    for (std::string l; std::getline(lines, l);)
        footer += "  " + l + "\n";
    app.footer(footer + "\n" + exit_statuses);

    // The commands. Each one's help: usage first, what it does, its options, an example.
    CLI::App* token = command(
        "token", {"token [--new] [--show-token]"},
        "issue a token, print its expiry (the token itself only with --show-token);\n"
        "--new: a new one, after the client's permissions changed",
        R"(Issues an access token and prints its expiry; the token itself only with --show-token. With
--new a new token is asked for whatever the client holds: a token keeps the authorities it was
issued with, so after the client's permissions changed on the CODEF dashboard a new one is
needed (the official libraries' requestNewToken).)",
        std::string(
            "example:\n"
            "  $ CODEF_CLIENT_ID=... CODEF_CLIENT_SECRET=... codef --env development token\n") +
            see_global);
    token->add_flag("--new", cl.new_token, "a new token, whatever the client holds");
    token->add_flag("--show-token", cl.show_token, "print the token too");

    command("encrypt", {"encrypt"},
            "RSA-encrypt a password read from stdin (asked for, unechoed, on a\n"
            "terminal): its base64 ciphertext, as CODEF wants passwords",
            R"(Reads a password, or any other plaintext CODEF wants encrypted (accountPassword, a
certificate's password), from standard input, one trailing newline removed, at most 4 KiB; on a
terminal it asks for one line on stderr with echo off. Prints its RSA ciphertext (PKCS#1 v1.5,
base64) made with --public-key (or CODEF_PUBLIC_KEY, or public-key in the profile), as CODEF
wants passwords. Nothing is sent, and the plaintext is never printed. Exit 2 without a key or
with an empty plaintext.)",
            std::string("examples:\n"
                        "  $ codef encrypt                      # asks, without echo\n"
                        "  $ codef encrypt < password.txt\n") +
                see_global);

    CLI::App* call = command(
        "call",
        {"call PATH [JSON | @FILE | -] [--answer CODE]", "[--challenge-out FILE]",
         "or: call --resume FILE [--answer CODE] [--challenge-out FILE]"},
        "one call; the decoded reply JSON on stdout; two-way authentication\n"
        "answered with --answer, at the terminal, or later with --resume",
        R"(One call of PATH with the JSON object given (an argument, a file after @, or - for stdin; {}
when none); the decoded reply JSON on stdout. Exit 1 when CODEF answers with a code other than
CF-00000 (the reply is still printed).
When CODEF asks for two-way authentication (CF-03002): with --answer CODE the follow-up is sent
with that code (simpleAuth: --answer 1, once confirmed in the app); a reply that asks again (a
wrong code) is printed and the exit status is 1. Without --answer, on a terminal (stdin and
stderr), the method, CODEF's message and extraInfo are shown (a captcha image is written to a
new file, mode 0600, in $TMPDIR (else /tmp), its path shown, removed once
answered) and the code is asked for, again until CODEF answers otherwise; the end of the input
exits 1 with the challenge printed. Otherwise the challenge is printed (exit 1); --challenge-out
FILE keeps it (mode 0600), and codef call --resume FILE --answer CODE answers it later, from
another process (a web backend's second request): answered, FILE is removed (a rerun cannot send
the follow-up twice); asked again, the new challenge replaces it (or goes to --challenge-out).)",
        std::string("examples:\n  $ codef call /v1/kr/bank/p/account/account-list "
                    "'{\"connectedId\":\"...\",\"organization\":\"0004\"}'\n"
                    "  $ codef call /v1/kr/insurance/0001/credit4u/contract-info @p.json "
                    "--challenge-out c.json\n"
                    "  $ codef call --resume c.json --answer 123456\n") +
            see_global);
    call->add_option("PATH", cl.path, "the product's path, /v1/...")->type_name("");
    call->add_option("INPUT", cl.input, "the parameters: JSON, @FILE or - (stdin); default {}")
        ->type_name("JSON|@FILE|-");
    call->add_option("--answer", cl.answer,
                     "the two-way authentication code (secureNo, smsAuthNo, emailAuthNo);\n"
                     "1 for simpleAuth, once confirmed in the app")
        ->type_name("CODE");
    call->add_option("--challenge-out", cl.challenge_out,
                     "a two-way challenge left unanswered is kept in FILE (mode 0600)")
        ->type_name("FILE");
    call->add_option("--resume", cl.resume,
                     "answer the challenge kept in FILE by --challenge-out (instead of\n"
                     "PATH and parameters)")
        ->type_name("FILE");

    CLI::App* accounts = command(
        "accounts",
        {"accounts create|add|update|delete|list", "[--connected-id ID] [JSON | @FILE | -]"},
        "register, change or list an end user's accounts; passwords in the input are\n"
        "plaintext and get encrypted",
        R"(Registers an end user's accounts (create: a new connectedId), adds, updates or deletes them, or
lists them. Input: {"accountList": [...]} or [...] with CODEF's field names; passwords in it are
plaintext and are encrypted with --public-key (or CODEF_PUBLIC_KEY). Certificate files (derFile
and keyFile, or certType "pfx" and certFile) are base64, or "@PATH": the file's bytes, in base64
(at most 1 MiB). add, update, delete and list need --connected-id. A change is never sent twice.)",
        std::string("example:\n  $ codef accounts list --connected-id 8Y1ZsaFeA...\n") +
            see_global);
    checked(accounts->add_option("VERB", cl.verb, "what to do")
                ->type_name("create|add|update|delete|list"),
            [](const std::string& v) -> std::string {
                if (v == "create" || v == "add" || v == "update" || v == "delete" || v == "list")
                    return {};
                throw usage_error{"accounts: create, add, update, delete or list, not " + v};
            });
    accounts->add_option("INPUT", cl.input, "the accounts: JSON, @FILE or - (stdin)")
        ->type_name("JSON|@FILE|-");
    accounts
        ->add_option("--connected-id", cl.connected_id,
                     "the end user (add, update, delete, list; or the input's connectedId)")
        ->type_name("ID");

    command("connected-ids", {"connected-ids"}, "every connectedId, one a line, all pages",
            "Every connectedId of the client, one a line, all pages.", see_global);

    CLI::App* sweep = command(
        "sweep",
        {"sweep PATH [--params JSON]",
         "[--per-organization [--business-type BK] [--client-type P]]",
         "[--ids-file FILE] [--no-retry-failed] --out FILE|- [--metrics FILE]"},
        "call PATH for every connectedId (or each of its organizations): NDJSON,\n"
        "resumable; rerun the same command to resume or to retry the failed items",
        R"(Calls PATH once for every connectedId (from the paged listing, or --ids-file, one a line), or
once per organization registered to it (--per-organization, filtered by business and client
type), each call sending --params with connectedId (and organization) added. Writes NDJSON to
--out (mode 0600; --out - writes to stdout and cannot be resumed): one line per item
(connectedId, organization, status, result code, message, data or error). Progress on stderr
when it is a terminal; a final summary. Rerun with the same --out to resume: connectedIds done
are skipped, those with failed items are called again (--no-retry-failed: kept as done). Exit 5
when some items failed; 130 when interrupted (rerun to resume).)",
        std::string("example:\n"
                    "  $ codef --concurrency 32 sweep /v1/kr/bank/p/account/account-list \\\n"
                    "        --per-organization --business-type BK --out accounts.ndjson\n") +
            see_global);
    sweep->add_option("PATH", cl.sweep.path, "the product's path, /v1/...")->type_name("");
    sweep->add_option("--params", cl.params, "sent with every call, connectedId added (default {})")
        ->type_name("JSON");
    CLI::Option* per_org =
        sweep->add_flag("--per-organization", cl.sweep.per_organization,
                        "one call per organization registered to the connectedId");
    sweep
        ->add_option("--business-type", cl.sweep.business_type,
                     "only these organizations (BK, CD, ...)")
        ->type_name("BK")
        ->needs(per_org);
    sweep->add_option("--client-type", cl.sweep.client_type, "only these organizations (P, B, ...)")
        ->type_name("P")
        ->needs(per_org);
    checked(sweep
                ->add_option("--ids-file", cl.sweep.ids_file,
                             "the connectedIds, one a line (default: the listing)")
                ->type_name("FILE"),
            [](const std::string& v) {
                return access(v.c_str(), R_OK) == 0 ? std::string() : v + ": cannot be read";
            });
    sweep->add_flag("--no-retry-failed", cl.no_retry_failed,
                    "keep the failed items of an earlier run as done");
    sweep->add_option("--out", cl.sweep.out, "the NDJSON file, or - for stdout (not resumable)")
        ->type_name("FILE|-");
    sweep
        ->add_option("--metrics", cl.sweep.metrics,
                     "when the sweep ends (interrupted too), the client's metrics written to FILE "
                     "in the Prometheus text format")
        ->type_name("FILE");
    sweep
        ->add_option("--queue", cl.sweep.queue,
                     "work on a job shared by many workers in this PostgreSQL database (no --out:\n"
                     "codef job export); the first worker creates and loads it")
        ->type_name("URI")
        ->envname("CODEF_QUEUE");
    sweep->add_option("--job", cl.sweep.job, "the job's name (with --queue)")->type_name("NAME");
    checked(sweep->add_option("--batch", cl.batch, "connectedIds claimed at once (default 100)")
                ->type_name("N"),
            [](const std::string& v) { return not_positive(v, 100'000); });
    checked(sweep
                ->add_option("--lease", cl.lease,
                             "a claim is this worker's for so long, renewed while it lives "
                             "(default 30)")
                ->type_name("SECONDS"),
            [](const std::string& v) { return not_positive(v, 86'400); });

    CLI::App* job = command(
        "job", {"job status|list|export|retry-failed|cancel --queue URI [--job NAME] [--out FILE]"},
        "a distributed sweep's job in PostgreSQL: its progress, its results, its failures",
        R"(The jobs of distributed sweeps (codef sweep PATH --queue URI --job NAME): status prints the
job's progress as JSON (total, pending, in flight, done, failed, rate, workers alive; a line on
a terminal), list every job's, export writes its recorded items to --out (NDJSON, the lines of a
local sweep, in the order the connectedIds were loaded; - for stdout), retry-failed puts its
failed connectedIds back in the queue for the workers, cancel stops it.)",
        std::string("example:\n"
                    "  $ codef job status --queue postgresql://codef@db/codef --job accounts\n") +
            see_global);
    checked(job->add_option("VERB", cl.job_verb, "what to do")
                ->type_name("status|list|export|retry-failed|cancel"),
            [](const std::string& v) -> std::string {
                for (const char* verb : {"status", "list", "export", "retry-failed", "cancel"})
                    if (v == verb) return {};
                throw usage_error{"job: status, list, export, retry-failed or cancel, not " + v};
            });
    job->add_option("--queue", cl.sweep.queue, "the PostgreSQL database of the jobs")
        ->type_name("URI")
        ->envname("CODEF_QUEUE");
    job->add_option("--job", cl.sweep.job, "the job's name")->type_name("NAME");
    job->add_option("--out", cl.sweep.out, "export: the NDJSON file (mode 0600), or - for stdout")
        ->type_name("FILE|-");

    // The emulator reads its own options (codef emulator --help), the global ones not among them.
    emulator = command("emulator", {"emulator [emulator options]"},
                       "run the CODEF emulator until interrupted (codef emulator --help)",
                       "Runs the CODEF emulator.", "");
    emulator->set_help_flag();
    emulator->prefix_command();
    emulator->fallthrough(false);

    CLI::App* completion = command(
        "completion", {"completion bash"}, "print a bash completion script",
        R"(Prints a bash completion script for codef, made from the program's own commands and
options. Installed as share/bash-completion/completions/codef; by hand: source it.)",
        std::string("example:\n  $ source <(codef completion bash)\n") + see_global);
    checked(completion->add_option("SHELL", cl.shell, "the shell")->type_name("bash"),
            [](const std::string& v) -> std::string {
                if (v == "bash") return {};
                throw usage_error{"completion: bash is the only shell, not " + v};
            });
}

// The arguments for CLI11: "--name=" (an empty value) becomes "--name" "" for an option that
// takes a value (CLI11 would take the next argument as its value).
std::vector<std::string> arguments(int argc, char** argv, const CLI::App& app) {
    auto takes_value = [&](const std::string& name) {
        if (auto* o = app.get_option_no_throw(name)) return codef::cli::takes_value(*o);
        for (const CLI::App* sub : app.get_subcommands({}))
            if (auto* o = sub->get_option_no_throw(name)) return codef::cli::takes_value(*o);
        return false;
    };
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() > 3 && a.starts_with("--") && a.find('=') == a.size() - 1 &&
            takes_value(a.substr(0, a.size() - 1))) {
            a.pop_back();
            args.push_back(std::move(a));
            args.emplace_back();
        } else {
            args.push_back(std::move(a));
        }
    }
    return args;
}

// The emulator's options, from its own help.
std::string emulator_help() {
    std::ostringstream out, err;
    codef::emu::run_program({"--help"}, "codef emulator", out, err);
    return out.str();
}

std::string completion_script(const CLI::App& app) {
    auto model = codef::cli::completion_model_of(app);
    for (auto& c : model.commands) {
        if (c.name != "emulator") continue;
        c.options = codef::cli::options_of_help(emulator_help());
        codef::cli::completion_option help;
        help.names = {"-h", "--help"};
        c.options.push_back(help);
    }
    return codef::cli::bash_completion(model, "codef", CODEF_VERSION_STRING);
}

int run(int argc, char** argv) {
    globals g;
    command_line cl;
    cli line(g, cl);
    CLI::App& app = line.app;
    std::vector<std::string> args = arguments(argc, argv, app);
    std::reverse(args.begin(), args.end()); // CLI11 takes them from the back
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp&) {
        // --help before the command: the global help; after it: the command's.
        const auto selected = app.get_subcommands();
        const CLI::App* of =
            app.get_help_ptr()->count() > 0 || selected.empty() ? &app : selected.front();
        std::cout << line.help->make_help(of, "", CLI::AppFormatMode::Normal);
        return exit_ok;
    } catch (const CLI::CallForVersion& v) {
        std::cout << v.what() << "\n";
        return exit_ok;
    } catch (const CLI::ParseError& e) {
        if (!line.profile->problem().empty())
            throw usage_error{line.profile_path(cl) + ": " + line.profile->problem()};
        if (dynamic_cast<const CLI::FileError*>(&e))
            throw usage_error{"--profile: " + line.profile_path(cl) + ": cannot be read"};
        throw usage_error{message_of(e, app, *line.help)};
    }
    const auto selected = app.get_subcommands();
    const std::string command = selected.front()->get_name();
    const CLI::App& sub = *selected.front();
    auto given = [&](const char* name) { return sub.get_option(name)->count() > 0; };
    // The profile, for the commands that take the global options: its first problem, named with
    // the file; one named by CODEF_PROFILE must exist (CLI11 reads it as the default one).
    if (command != "emulator" && command != "completion") {
        if (!line.profile->problem().empty())
            throw usage_error{line.profile_path(cl) + ": " + line.profile->problem()};
        const auto& order = app.parse_order();
        const bool named = std::find(order.begin(), order.end(), line.profile_opt) != order.end();
        if (!named && !env("CODEF_PROFILE").empty() && !regular_readable(cl.profile_default))
            throw usage_error{"CODEF_PROFILE: " + cl.profile_default + ": cannot be read"};
    }

    if (command == "emulator") {
        // "--name=value" is "--name value" for the emulator's own options.
        std::vector<std::string> rest;
        for (auto& a : line.emulator->remaining()) {
            const auto eq = a.find('=');
            if (a.starts_with("--") && eq != std::string::npos && eq > 2) {
                rest.push_back(a.substr(0, eq));
                rest.push_back(a.substr(eq + 1));
            } else {
                rest.push_back(std::move(a));
            }
        }
        return codef::emu::run_program(std::vector<std::string_view>(rest.begin(), rest.end()),
                                       "codef emulator", std::cout, std::cerr);
    }
    if (command == "completion") {
        if (!given("SHELL")) throw usage_error{line.help->usage_line(&sub)};
        std::cout << completion_script(app);
        return exit_ok;
    }
    if (!cl.env_name.empty()) g.cfg.env = environment_of(cl.env_name);
    if (!cl.concurrency.empty()) g.concurrency = positive(cl.concurrency);
    pretty_output = line.pretty_opt->count() > 0 ? line.pretty_flag : isatty(STDOUT_FILENO) == 1;

    // The command's own arguments, checked before anything is sent or created.
    std::optional<std::string_view> input;
    sweep_args& sw = cl.sweep;
    call_args ca;
    if (command == "call") {
        if (given("--resume")) {
            if (given("PATH") || given("INPUT"))
                throw usage_error{
                    "call --resume FILE takes no PATH or parameters (FILE holds them)"};
            ca.resumed = read_challenge(cl.resume);
            ca.resume_file = cl.resume;
        } else if (!given("PATH")) {
            throw usage_error{line.help->usage_line(&sub)};
        }
        if (given("INPUT")) input = cl.input;
        if (given("--answer")) {
            if (cl.answer.empty())
                throw usage_error{"--answer: empty (the code; 1 for simpleAuth)"};
            ca.answer = cl.answer;
        }
        if (given("--challenge-out")) {
            if (cl.challenge_out.empty()) throw usage_error{"--challenge-out: empty"};
            if (auto problem = not_writable(cl.challenge_out); !problem.empty())
                throw usage_error{"--challenge-out: " + cl.challenge_out + ": " + problem};
            ca.challenge_out = cl.challenge_out;
        }
        // At a terminal, the code is asked for there; a challenge kept for later is not.
        ca.interactive = !ca.answer && ca.challenge_out.empty() && input != "-" &&
                         ::isatty(STDIN_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1;
        if (ca.resumed && !ca.answer && !ca.interactive)
            throw usage_error{"call --resume: --answer CODE is needed (or run it on a terminal)"};
    } else if (command == "accounts") {
        if (!given("VERB")) throw usage_error{line.help->usage_line(&sub)};
        if (given("INPUT")) input = cl.input;
        if (cl.verb != "list" && !input)
            throw usage_error{"accounts " + cl.verb +
                              ": the accounts are needed (JSON, @FILE or -)"};
    } else if (command == "sweep") {
        if (!given("PATH")) throw usage_error{line.help->usage_line(&sub)};
        if (!sw.queue.empty() || given("--job")) {
            if (sw.queue.empty()) throw usage_error{"sweep --job: --queue URI is needed"};
            if (sw.job.empty()) throw usage_error{"sweep --queue: --job NAME is needed"};
            if (given("--out"))
                throw usage_error{"sweep --queue: no --out (the results stay in the database: "
                                  "codef job export)"};
            if (!cl.batch.empty()) sw.batch = positive(cl.batch);
            if (!cl.lease.empty()) sw.lease = std::chrono::seconds(positive(cl.lease));
        } else if (!cl.batch.empty() || !cl.lease.empty()) {
            throw usage_error{"sweep: --batch and --lease go with --queue"};
        } else if (sw.out.empty()) {
            throw usage_error{"sweep: --out FILE (or - for stdout) is needed"};
        }
        sw.retry_failed = !cl.no_retry_failed;
        sw.params = read_object(given("--params") ? std::optional<std::string_view>(cl.params)
                                                  : std::nullopt,
                                "--params");
        if (given("--metrics")) {
            if (sw.metrics.empty()) throw usage_error{"--metrics: empty"};
            if (auto problem = not_writable(sw.metrics); !problem.empty())
                throw usage_error{"--metrics: " + sw.metrics + ": " + problem};
        }
    }
    json::value parsed =
        command == "call" || command == "accounts" ? read_json(input, "input") : json::value();
    if (command == "call" && !parsed.is_object())
        throw usage_error{"the parameters must be a JSON object"};
    const bool needs_postgresql =
        !cl.token_store.empty() || (command == "sweep" && !sw.queue.empty()) || command == "job";
#if !CODEF_WITH_POSTGRESQL
    if (needs_postgresql)
        throw usage_error{"this codef was built without PostgreSQL (codef::fleet): --token-store, "
                          "sweep --queue and job are not available"};
#else
    (void)needs_postgresql;
#endif
    if (command == "job") {
        if (sw.queue.empty()) throw usage_error{"job: --queue URI is needed"};
        if (cl.job_verb != "list" && sw.job.empty())
            throw usage_error{"job " + cl.job_verb + ": --job NAME is needed"};
        if (cl.job_verb == "export" && sw.out.empty())
            throw usage_error{"job export: --out FILE (or - for stdout) is needed"};
    }
    if (!cl.timeout.empty()) g.cfg.call_timeout = std::chrono::seconds(positive(cl.timeout));
    g.cfg.max_connections = std::max<std::size_t>(g.concurrency, 1);
    if (cl.proxy == "env")
        g.cfg.proxy.from_environment = true;
    else
        g.cfg.proxy.url = cl.proxy;

    // SIGINT, SIGTERM: exit 130 at once (a terminal's echo turned back on first), except in a
    // sweep (see sweep()); a second one always. The signals are taken on a thread of their own,
    // so that they are heard even while the command's thread is busy (reading a large file, or
    // waiting for what is typed at a terminal): a sweep that has not ended interrupt_deadline
    // after the first signal is ended from there.
    asio::io_context ioc;
    // The token store (--token-store) runs on ioc: it goes before ioc does, however run() ends.
    struct store_releaser {
        codef::config& cfg;
        ~store_releaser() { cfg.token_store.reset(); }
    } release_store{g.cfg};
    interrupt_fn on_interrupt;
    asio::io_context signal_ioc;
    asio::signal_set signals(signal_ioc, SIGINT, SIGTERM);
    asio::steady_timer deadline(signal_ioc);
    const bool graceful = command == "sweep";
    metrics_file metrics(command == "sweep" ? sw.metrics : std::string());
    const auto interrupted = [&metrics] {
        codef::cli::restore_terminal();
        remove_captchas();
        metrics.save();
        std::_Exit(exit_interrupted);
    };
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        if (!graceful) interrupted();
        signals.async_wait([&](boost::system::error_code e, int) {
            if (!e) interrupted();
        });
        deadline.expires_after(interrupt_deadline);
        deadline.async_wait([&](boost::system::error_code e) {
            if (!e) interrupted();
        });
        asio::post(ioc, [&] {
            if (!on_interrupt) interrupted();
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

    // encrypt needs the key alone: no client, no credentials.
    if (command == "encrypt")
        return encrypt(g.cfg.public_key, line.source_of(app.get_option("--public-key")));
#if CODEF_WITH_POSTGRESQL
    if (command == "job") {
        int job_status = exit_ok;
        std::exception_ptr thrown;
        asio::co_spawn(ioc, job_command(cl.job_verb, sw.queue, sw.job, sw.out),
                       [&](std::exception_ptr e, int st) {
                           thrown = e;
                           job_status = st;
                       });
        ioc.run();
        if (thrown) std::rethrow_exception(thrown);
        return job_status;
    }
    // One token for every process using the database: the row is the credentials' (environment
    // and client id), so that different credentials never share one.
    if (!cl.token_store.empty())
        g.cfg.token_store = codef::fleet::pg_token_store::make(
            ioc.get_executor(),
            {cl.token_store, (cl.env_name.empty() ? std::string("sandbox") : cl.env_name) + ":" +
                                 (g.cfg.client_id.empty() ? "sandbox" : g.cfg.client_id)});
#endif

    // The client's log: stderr with -v, the file with --log-file (opened before anything is
    // sent); neither: the client makes no line at all.
    auto log = std::make_shared<codef::cli::log_sink>();
    g.cfg.log_level = codef::cli::log_level_for(g.verbose, !g.log_file.empty());
    if (g.verbose > 0) log->to_stderr(::isatty(STDERR_FILENO) == 1);
    if (const CLI::Option* o = app.get_option("--log-file"); o->count() > 0 && g.log_file.empty())
        throw usage_error{line.source_of(o) + ": empty"};
    if (!g.log_file.empty())
        if (auto problem = log->open_file(g.log_file); !problem.empty())
            throw usage_error{line.source_of(app.get_option("--log-file")) + ": " + problem};
    if (g.cfg.log_level != codef::log_level::off)
        g.cfg.log = [log](codef::log_level l, std::string_view text) { log->write(l, text); };

    if (auto v = codef::validate(g.cfg); !v) throw usage_error{v.diag().detail};
    std::optional<codef::client> c;
    try {
        c.emplace(ioc.get_executor(), g.cfg);
    } catch (const codef::error& e) {
        throw usage_error{e.diag().detail.empty() ? e.what() : e.diag().detail};
    }
    metrics.watch(*c);
    int status = exit_ok;
    std::optional<usage_error> late_usage;
    auto body = [&]() -> asio::awaitable<int> {
        if (command == "token") co_return co_await token(*c, cl.show_token, cl.new_token);
        if (command == "call") {
            ca.path = cl.path;
            ca.params = std::move(parsed.get_object());
            co_return co_await call(*c, std::move(ca));
        }
        if (command == "accounts")
            co_return co_await accounts(*c, cl.verb, cl.connected_id, std::move(parsed));
        if (command == "connected-ids") co_return co_await connected_ids(*c);
#if CODEF_WITH_POSTGRESQL
        if (!sw.queue.empty())
            co_return co_await queue_sweep(*c, g, std::move(sw), on_interrupt, metrics);
#endif
        co_return co_await sweep(*c, g, std::move(sw), on_interrupt, metrics);
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
    metrics.save(); // a sweep that failed before it began, or ended by an exception
    if (late_usage) throw *late_usage;
    return status;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const usage_error& e) {
        // A secret typed in the wrong place (as a command, a verb) is not repeated.
        std::cerr << "codef: " << redacted(e.what, secret_values(argc, argv)) << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "codef: " << e.what() << "\n";
        return exit_transport;
    }
}
