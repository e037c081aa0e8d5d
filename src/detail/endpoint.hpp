// An https URL split into what a connection needs.
#pragma once

#include <codef/error.hpp>

#include <string>
#include <string_view>

namespace boost::urls {
class url_view;
}

namespace codef::detail {

struct endpoint {
    std::string host;        // without brackets for IPv6
    std::string port;        // "443" when the URL has none
    std::string host_header; // host[:port] as the Host header wants it
    std::string path;        // the URL's path without a trailing '/', possibly empty
    bool host_is_ip = false;
};

// field names the config field in the error's detail.
result<endpoint> parse_endpoint(std::string_view url, std::string_view field);

// The host of a parsed URL (an IPv6 address without brackets) and its port (default_port when the
// URL has none); else client_errc::invalid_config, "field: has no usable host", "... bad port".
struct url_authority {
    std::string host;
    std::string port;
    bool host_is_ip = false;
};
result<url_authority> authority_of(const boost::urls::url_view& u, std::string_view default_port,
                                   std::string_view field);

} // namespace codef::detail
