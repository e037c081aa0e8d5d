// One HTTP message as one contiguous string, through Beast's serializer: a request or reply
// leaves in a single write.
#pragma once

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>

#include <string>

namespace codef::detail {

template <bool IsRequest, class Body, class Fields>
std::string serialize(boost::beast::http::message<IsRequest, Body, Fields>& m) {
    std::string out;
    boost::beast::http::serializer<IsRequest, Body, Fields> sr{m};
    boost::system::error_code ec;
    do {
        sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
            for (const auto b : boost::beast::buffers_range_ref(buffers))
                out.append(static_cast<const char*>(b.data()), b.size());
            sr.consume(boost::beast::buffer_bytes(buffers));
        });
    } while (!ec && !sr.is_done());
    return out;
}

} // namespace codef::detail
