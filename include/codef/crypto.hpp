// RSA encryption of passwords, as CODEF wants them: RSAES-PKCS1-v1_5 with the client's public key,
// ciphertext in standard base64.
#pragma once

#include <codef/error.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace codef {

// A public key parsed once and reused; cheap to copy, safe to share between threads.
class public_key {
public:
    // base64 of an X.509 SubjectPublicKeyInfo DER holding an RSA key (no PEM armour).
    static result<public_key> parse(std::string_view base64_der);

    // The ciphertext of plaintext (UTF-8), in standard base64.
    result<std::string> encrypt(std::string_view plaintext) const;

    int bits() const noexcept;

private:
    struct key;
    explicit public_key(std::shared_ptr<const key> k)
        : key_(std::move(k)) {}
    std::shared_ptr<const key> key_;
};

// One-shot form; throws codef::error on a bad key.
std::string encrypt_password(std::string_view public_key_base64, std::string_view plaintext);

} // namespace codef
