// form_decode, which every reply body goes through: the same answers as Boost.URL's decoding (the
// decoder it replaced), and the inverse of both our encoders.
#include "detail/encoding.hpp"
#include "fuzz_check.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <optional>
#include <string>

using codef::detail::form_decode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = codef::fuzz::bytes(data, size);
    const std::optional<std::string> decoded = form_decode(in);

    std::optional<std::string> expected;
    if (auto pct = boost::urls::make_pct_string_view(in)) {
        boost::urls::encoding_opts opts;
        opts.space_as_plus = true;
        expected = pct->decode(opts);
    }
    CODEF_FUZZ_CHECK(decoded == expected);
    if (decoded) {
        const auto escapes = static_cast<std::size_t>(std::count(in.begin(), in.end(), '%'));
        CODEF_FUZZ_CHECK(decoded->size() == in.size() - 2 * escapes);
    }

    CODEF_FUZZ_CHECK(form_decode(codef::detail::form_encode(in)) == in);
    CODEF_FUZZ_CHECK(form_decode(codef::detail::percent_encode(in)) == in);
    return 0;
}
