// Percent-encoding, form-style decoding and base64 against the official clients' vectors.
#include "detail/encoding.hpp"
#include "support.hpp"

#include <boost/json.hpp>
#include <boost/url/pct_string_view.hpp>

#include <random>

using namespace codef::detail;

namespace {
const boost::json::array& vectors() {
    static const boost::json::value v = codef::test::read_json_file("percent-encoding.json");
    return v.at("vectors").as_array();
}
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
        s.replace(p, from.size(), to);
    return s;
}
} // namespace

BOOST_AUTO_TEST_SUITE(encoding)

BOOST_AUTO_TEST_CASE(vectors_are_loaded) {
    BOOST_TEST(vectors().size() == 5u);
}

// Ours leaves only A-Z a-z 0-9 - _ . ~ bare: urllib's quote(safe='') without its bare '/'.
BOOST_AUTO_TEST_CASE(percent_encode_leaves_only_unreserved_bare) {
    for (const auto& v : vectors()) {
        const std::string json(v.at("json").as_string());
        const std::string py(v.at("sent_by").at("easycodefpy (urllib quote)").as_string());
        BOOST_TEST(percent_encode(json) == replace_all(py, "/", "%2F"));
    }
    BOOST_TEST(percent_encode("a b") == "a%20b");
    BOOST_TEST(percent_encode("*'()!") == "%2A%27%28%29%21");
    BOOST_TEST(percent_encode("-_.~") == "-_.~");
    BOOST_TEST(percent_encode("한") == "%ED%95%9C");
}

BOOST_AUTO_TEST_CASE(every_official_variant_decodes_to_the_same_json) {
    for (const auto& v : vectors()) {
        const std::string json(v.at("json").as_string());
        for (const auto& [client, body] : v.at("sent_by").as_object()) {
            if (std::string_view(client).find("raw JSON") != std::string_view::npos) continue;
            const auto decoded = form_decode(body.as_string());
            BOOST_TEST_INFO("client " << client);
            BOOST_TEST_REQUIRE(decoded.has_value());
            BOOST_TEST(*decoded == json);
        }
        BOOST_TEST(form_decode(v.at("server_reply_form_style").as_string()).value() == json);
    }
}

BOOST_AUTO_TEST_CASE(our_encoding_round_trips_through_the_form_decoder) {
    for (const auto& v : vectors()) {
        const std::string json(v.at("json").as_string());
        BOOST_TEST(form_decode(percent_encode(json)).value() == json);
    }
}

BOOST_AUTO_TEST_CASE(form_encode_matches_codef_replies) {
    for (const auto& v : vectors())
        BOOST_TEST(form_encode(v.at("json").as_string()) ==
                   std::string(v.at("server_reply_form_style").as_string()));
}

BOOST_AUTO_TEST_CASE(plus_is_a_space_and_escaped_plus_is_a_plus) {
    BOOST_TEST(form_decode("a+b%2Bc").value() == "a b+c");
    BOOST_TEST(form_decode("%ed%95%9c").value() == "한");
}

// form_decode is ours for speed; on any input it must agree with Boost.URL's decoder.
BOOST_AUTO_TEST_CASE(form_decode_matches_boost_url) {
    std::mt19937 rng(12345);
    const std::string alphabet = "%+ab2F9Zz %%+-_.~\xed\x95";
    for (int i = 0; i < 20000; ++i) {
        std::string in;
        const int n = static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k)
            in.push_back(alphabet[rng() % alphabet.size()]);
        std::optional<std::string> expected;
        if (auto pct = boost::urls::make_pct_string_view(in)) {
            boost::urls::encoding_opts opts;
            opts.space_as_plus = true;
            expected = pct->decode(opts);
        }
        BOOST_TEST_INFO("input [" << in << "]");
        BOOST_TEST((form_decode(in) == expected));
    }
}

BOOST_AUTO_TEST_CASE(malformed_escapes_are_refused) {
    BOOST_TEST(!form_decode("%ZZ").has_value());
    BOOST_TEST(!form_decode("abc%4").has_value());
    BOOST_TEST(!form_decode("%").has_value());
}

BOOST_AUTO_TEST_CASE(base64_round_trips_and_is_strict) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
        BOOST_TEST(base64_decode(base64_encode(s)).value() == s);
        BOOST_TEST(base64url_decode(base64url_encode(s)).value() == s);
    }
    BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
    BOOST_TEST(base64_encode("fo") == "Zm8=");
    BOOST_TEST(base64_decode("Zm8").value() == "fo");
    BOOST_TEST(base64_decode("Zm8=").value() == "fo");
    BOOST_TEST(!base64_decode("Zm8*").has_value());
    BOOST_TEST(!base64_decode("Z").has_value());
    BOOST_TEST(!base64_decode("Zm8===").has_value());
    BOOST_TEST(base64url_encode("\xfb\xff") == "-_8");
    BOOST_TEST(!base64url_decode("+/8").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
