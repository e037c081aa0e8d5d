/// @file
/// @brief RSA encryption of passwords, as CODEF wants them: RSAES-PKCS1-v1_5 with the client's
/// public key, ciphertext in standard base64.
#pragma once

#include <codef/error.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace codef {

/// An RSA public key, parsed once and reused; cheap to copy, safe to share between threads.
class public_key {
public:
    /// Parses a key: base64 of an X.509 SubjectPublicKeyInfo DER holding an RSA key (no PEM
    /// armour). Line breaks, spaces and tabs in the text are ignored.
    /// @return The key, or client_errc::invalid_public_key with a detail that says why.
    static result<public_key> parse(std::string_view base64_der);

    /// The ciphertext of plaintext (UTF-8), in standard base64.
    /// @return The ciphertext, or client_errc::encryption_failed (for one, when the plaintext is
    ///         longer than the key allows: 245 bytes for a 2048-bit key).
    result<std::string> encrypt(std::string_view plaintext) const;

    /// The key's size in bits.
    int bits() const noexcept;

private:
    struct key;
    explicit public_key(std::shared_ptr<const key> k)
        : key_(std::move(k)) {}
    std::shared_ptr<const key> key_;
};

/// One-shot form of public_key::parse and public_key::encrypt.
/// @throws codef::error on a bad key, or when the encryption fails.
std::string encrypt_password(std::string_view public_key_base64, std::string_view plaintext);

} // namespace codef
