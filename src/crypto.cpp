// RSA password encryption with OpenSSL 3's EVP interface.
#include <codef/crypto.hpp>

#include "detail/encoding.hpp"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace codef {

struct public_key::key {
    EVP_PKEY* pkey = nullptr;
    ~key() { EVP_PKEY_free(pkey); }
};

result<public_key> public_key::parse(std::string_view base64_der) {
    // Keys are often pasted with line breaks; they are not part of the key.
    std::string compact;
    compact.reserve(base64_der.size());
    for (char c : base64_der)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
    const auto der = detail::base64_decode(compact);
    if (!der || der->empty())
        return make_failure(client_errc::invalid_public_key, "public_key: not base64");
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    auto k = std::make_shared<key>();
    k->pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size()));
    if (!k->pkey)
        return make_failure(client_errc::invalid_public_key,
                            "public_key: not an X.509 SubjectPublicKeyInfo");
    if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA)
        return make_failure(client_errc::invalid_public_key, "public_key: not an RSA key");
    return public_key(std::move(k));
}

int public_key::bits() const noexcept {
    return key_ ? EVP_PKEY_get_bits(key_->pkey) : 0;
}

result<std::string> public_key::encrypt(std::string_view plaintext) const {
    if (!key_) return make_failure(client_errc::missing_public_key);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, key_->pkey, nullptr), &EVP_PKEY_CTX_free);
    std::size_t out_len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, in, plaintext.size()) <= 0)
        return make_failure(client_errc::encryption_failed);
    std::string out(out_len, '\0');
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len, in,
                         plaintext.size()) <= 0)
        // The usual cause: the plaintext is longer than the key allows (245 bytes for 2048 bits).
        return make_failure(client_errc::encryption_failed,
                            "the plaintext is too long for the key");
    out.resize(out_len);
    return detail::base64_encode(out);
}

std::string encrypt_password(std::string_view public_key_base64, std::string_view plaintext) {
    return public_key::parse(public_key_base64).value().encrypt(plaintext).value();
}

} // namespace codef
