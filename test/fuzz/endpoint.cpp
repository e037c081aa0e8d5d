// parse_endpoint: the API and OAuth URLs of a config or of the command line. What it accepts
// must be usable as it is: a host, a port in 1..65535, a Host header and a path without a
// trailing '/'; what it refuses is an invalid_config naming the field.
#include "detail/endpoint.hpp"
#include "fuzz_check.hpp"

#include <charconv>

using namespace codef;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);
    const result<detail::endpoint> e = detail::parse_endpoint(in, "api_url");
    if (!e) {
        CODEF_FUZZ_CHECK(e.error() == client_errc::invalid_config);
        CODEF_FUZZ_CHECK(e.diag().detail.starts_with("api_url: "));
        return 0;
    }
    CODEF_FUZZ_CHECK(in.size() > 6);
    CODEF_FUZZ_CHECK(!e->host.empty());
    CODEF_FUZZ_CHECK(!e->host_header.empty());
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(e->port.data(), e->port.data() + e->port.size(), port);
    CODEF_FUZZ_CHECK(ec == std::errc{} && end == e->port.data() + e->port.size());
    CODEF_FUZZ_CHECK(port >= 1 && port <= 65535);
    CODEF_FUZZ_CHECK(e->path.empty() || e->path.back() != '/');
    CODEF_FUZZ_CHECK(in.find(e->path) != std::string_view::npos);
    CODEF_FUZZ_CHECK(in.find(e->host_header) != std::string_view::npos);
    if (e->host_is_ip && e->host.find(':') != std::string::npos) // IPv6, bracketed in the header
        CODEF_FUZZ_CHECK(e->host_header.front() == '[');
    return 0;
}
