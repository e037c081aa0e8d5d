// Password encryption: what the client encrypts, the emulator's private key decrypts.
#include "emulator/tls_material.hpp"
#include "support.hpp"

#include <codef/crypto.hpp>

#include <openssl/ec.h>
#include <openssl/evp.h>

using namespace codef;

namespace {
struct keys {
    emu::pkey_ptr key = emu::generate_rsa(2048);
    std::string public_b64 = emu::public_key_base64(key.get());
};
const keys& rsa() {
    static const keys k;
    return k;
}
} // namespace

BOOST_AUTO_TEST_SUITE(crypto)

BOOST_AUTO_TEST_CASE(ciphertext_decrypts_to_the_plaintext) {
    auto pk = public_key::parse(rsa().public_b64);
    BOOST_TEST_REQUIRE(pk.has_value());
    BOOST_TEST(pk->bits() == 2048);
    for (std::string plain : {"1234", "p@ss word!", "비밀번호123", ""}) {
        auto ct = pk->encrypt(plain);
        BOOST_TEST_REQUIRE(ct.has_value());
        BOOST_TEST(ct->size() == 344u);
        BOOST_TEST(emu::rsa_decrypt(rsa().key.get(), *ct).value() == plain);
    }
}

BOOST_AUTO_TEST_CASE(padding_is_random) {
    auto pk = public_key::parse(rsa().public_b64).value();
    BOOST_TEST(pk.encrypt("same").value() != pk.encrypt("same").value());
}

BOOST_AUTO_TEST_CASE(one_shot_form_and_line_breaks_in_the_key) {
    std::string wrapped = rsa().public_b64;
    wrapped.insert(64, "\n");
    const std::string ct = encrypt_password(wrapped, "secret");
    BOOST_TEST(emu::rsa_decrypt(rsa().key.get(), ct).value() == "secret");
}

BOOST_AUTO_TEST_CASE(bad_keys_are_refused_with_a_typed_error) {
    BOOST_TEST(public_key::parse("not base64!").error() == client_errc::invalid_public_key);
    BOOST_TEST(public_key::parse("aGVsbG8=").error() == client_errc::invalid_public_key);
    const auto ec_key = emu::pkey_ptr(EVP_EC_gen("P-256"), emu::pkey_deleter{});
    auto r = public_key::parse(emu::public_key_base64(ec_key.get()));
    BOOST_TEST(r.error() == client_errc::invalid_public_key);
    BOOST_TEST(r.diag().detail == "public_key: not an RSA key");
    BOOST_CHECK_THROW(encrypt_password("AAAA", "x"), codef::error);
}

BOOST_AUTO_TEST_CASE(plaintext_too_long_for_the_key) {
    auto pk = public_key::parse(rsa().public_b64).value();
    auto r = pk.encrypt(std::string(300, 'x'));
    BOOST_TEST(r.error() == client_errc::encryption_failed);
}

BOOST_AUTO_TEST_SUITE_END()
