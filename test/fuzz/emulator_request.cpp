// The emulator's request handling without sockets: service::handle given arbitrary methods,
// targets, authorizations and bodies, a few requests an input against a fresh service, and its
// tolerant body decoder decode_params on its own. Whatever comes in, what goes out must be a
// reply the client reads.
//
// An input is requests separated by NUL bytes, each
//     METHOD SP TARGET LF AUTHORIZATION LF BODY
// where the authorization "@token" stands for a valid bearer token and "@basic" for the sandbox
// credentials (the fuzzer cannot guess a signed token).
#include "detail/encoding.hpp"
#include "detail/envelope.hpp"
#include "detail/jwt.hpp"
#include "emulator/service.hpp"
#include "fuzz_check.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

using namespace codef;
using namespace codef::emu;

namespace {

// A fixed key, so that an input replays the same and seeds can carry passwords encrypted for it
// (test/fuzz/corpus/emulator_request/*). 512 bits: it signs the token of every input that asks
// for one.
constexpr std::string_view key_pem = R"(-----BEGIN PRIVATE KEY-----
MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA8WRwykzlHIrZ92Cv
tIMXrbSezvdfSfXTlyJw8WaGE9YTKPBG8hko70ZqLhT640KBGwhcfwA+ZahJnbpR
5Z5xoQIDAQABAkEA1d7os8RXReeb4LpwUl3Hj+a0waiYa336/y/Lo4XziwPrJ+Kq
OGty8sEcA3wkAtvB0LCpVtfc9ULJFEpJYAJIMQIhAPqqGbje0skzR9SmXOmGhIWJ
XVFuNX0Gpb6EowBptZsdAiEA9ofQuLsGPJzPdpu2ZQmysEtyPUw+lwqL2MOWrsUF
5VUCIQDvm2XXF/g5p7FEDnrGJ3XKCBKR4l1y08Xfpf4CSQn16QIgaImi2hKETIN5
/aN9rk50dQkpAhEooUeZkWsupCFrpJkCIDU6ShPnS5TzloZXW9mbNlyvMMHIItWR
HHzpg9Wv/zt8
-----END PRIVATE KEY-----
)";

constexpr std::size_t max_requests = 8;

const pkey_ptr& key() {
    static const pkey_ptr k = rsa_from_pem(key_pem);
    return k;
}

const emulator_options& options() {
    static const emulator_options o = [] {
        emulator_options x;
        x.seed_connected_ids = 20;
        x.credentials.emplace_back("fuzz-id", "fuzz-secret");
        return x;
    }();
    return o;
}

const std::string& basic_authorization() {
    static const std::string b = "Basic " + detail::base64_encode(std::string(sandbox_client_id) +
                                                                  ":" + sandbox_client_secret);
    return b;
}

std::string_view take_line(std::string_view& s) {
    const auto nl = s.find('\n');
    const std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    return line;
}

bool one_of(unsigned status, std::initializer_list<unsigned> allowed) {
    for (unsigned s : allowed)
        if (s == status) return true;
    return false;
}

// The replies of a service with no faults set: the statuses the emulator documents, and bodies
// the client's own decoders read.
void check_reply(std::string_view target, const reply& rep) {
    const std::string_view path = target.substr(0, target.find('?'));
    CODEF_FUZZ_CHECK(rep.fault_kind == reply::fault::none && !rep.hold);
    if (rep.content_type.starts_with("application/json"))
        CODEF_FUZZ_CHECK(detail::decode_body(rep.body).has_value());
    if (path == "/oauth/token") {
        CODEF_FUZZ_CHECK(one_of(rep.status, {200, 400, 401, 405}));
        if (rep.status == 200) {
            const auto token = detail::parse_token_reply(rep.body);
            CODEF_FUZZ_CHECK(token.has_value() && token->expires_in > 0);
            CODEF_FUZZ_CHECK(detail::jwt_exp(token->access_token).value_or(0) > 0);
        }
    } else if (path.starts_with("/_emulator/")) {
        CODEF_FUZZ_CHECK(one_of(rep.status, {200, 400, 404, 405}));
    } else {
        CODEF_FUZZ_CHECK(one_of(rep.status, {200, 401, 404, 405}));
        if (rep.status == 200) {
            const auto r = detail::parse_api_reply(rep.body);
            CODEF_FUZZ_CHECK(r.has_value());
            CODEF_FUZZ_CHECK(r->code.size() == 8 && r->code.starts_with("CF-"));
            CODEF_FUZZ_CHECK(!r->transaction_id.empty());
        } else if (rep.status == 401) {
            diagnostics d;
            detail::read_error_body(rep.body, d);
            CODEF_FUZZ_CHECK(d.codef_code == "CF-99997");
        }
    }
}

// decode_params reads a JSON text the same raw and percent-encoded. (Not the same as what it
// read first: Boost.JSON 1.81 reads a long number to a double that its shortest form does not
// give back exactly.)
void check_decode_params(std::string_view body) {
    const auto params = decode_params(body);
    if (!params) return;
    const std::string json = boost::json::serialize(*params);
    const auto raw = decode_params(json);
    CODEF_FUZZ_CHECK(raw.has_value());
    const auto encoded = decode_params(detail::percent_encode(json));
    CODEF_FUZZ_CHECK(encoded && *encoded == *raw);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = codef::fuzz::bytes(data, size);
    service svc(options(), key(), key());
    std::optional<std::string> bearer;
    bool faults_set = false;
    for (std::size_t n = 0; n < max_requests && !in.empty(); ++n) {
        const auto end = in.find('\0');
        std::string_view chunk = in.substr(0, end);
        in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);

        const std::string_view first = take_line(chunk);
        const auto space = first.find(' ');
        const std::string_view method = first.substr(0, space);
        const std::string_view target =
            space == std::string_view::npos ? std::string_view() : first.substr(space + 1);
        std::string_view authorization = take_line(chunk);
        const std::string_view body = chunk;

        check_decode_params(body);

        if (authorization == "@basic") {
            authorization = basic_authorization();
        } else if (authorization == "@token") {
            if (!bearer) {
                const reply t = svc.handle({"POST", "/oauth/token", basic_authorization(),
                                            "grant_type=client_credentials"});
                const auto token = detail::parse_token_reply(t.body);
                // A fault set by an earlier request may refuse it; then the call goes without.
                bearer = "Bearer " + (token ? token->access_token : std::string());
            }
            authorization = *bearer;
        }
        reply rep = svc.handle({method, target, authorization, body, false});
        if (!rep.wait_for.empty()) {
            // A multiple request's call, told to wait for another's two-way authentication: the
            // server answers it by handling it again (here at once: still pending, an error).
            CODEF_FUZZ_CHECK(rep.body.empty() && rep.wait_limit.count() > 0);
            rep = svc.handle({method, target, authorization, body, true});
            CODEF_FUZZ_CHECK(rep.wait_for.empty());
        }
        if (!faults_set) check_reply(target, rep);
        if (target.starts_with("/_emulator/faults") && rep.status == 200) faults_set = true;
    }
    return 0;
}
