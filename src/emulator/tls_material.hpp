// Key material the emulator makes for itself: a CA and a server certificate for 127.0.0.1, ::1
// and localhost; RSA keys for JWT signatures and for decrypting passwords.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace codef::emu {

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const noexcept;
};
using pkey_ptr = std::shared_ptr<EVP_PKEY>;

struct tls_material {
    std::string ca_pem;          // the CA a client must trust
    std::string server_cert_pem; // signed by the CA
    std::string server_key_pem;
};

struct x509_deleter {
    void operator()(X509* p) const noexcept;
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

// ca: a CA certificate. leaf: a server certificate signed by issuer. self_signed_leaf: a server
// certificate signed by its own key (no key usage: with one lacking keyCertSign OpenSSL would not
// call it self-signed).
enum class cert_role { ca, leaf, self_signed_leaf };

// A certificate for key with a random serial, valid from not_before to not_after seconds from
// now, O=organization, CN=cn; names is a leaf's subjectAltName ("DNS:localhost,IP:127.0.0.1").
// A leaf is signed with issuer_key, the others with key. Throws std::runtime_error.
x509_ptr make_cert(EVP_PKEY* key, const char* organization, const char* cn, cert_role role,
                   X509* issuer, EVP_PKEY* issuer_key, const char* names, long not_before,
                   long not_after);
std::string x509_pem(X509* cert);

// A fresh CA (EC P-256) and server certificate; each emulator has its own.
// names: the server certificate's subjectAltName, e.g. "DNS:localhost,IP:127.0.0.1".
tls_material make_tls_material(const std::string& names);

pkey_ptr generate_rsa(int bits);
// Throws std::runtime_error on a key that is not an RSA private key in PEM.
pkey_ptr rsa_from_pem(std::string_view pem);
std::string private_key_pem(EVP_PKEY* key);
// base64 of the SubjectPublicKeyInfo DER, as the CODEF dashboard shows the public key.
std::string public_key_base64(EVP_PKEY* key);

// RSAES-PKCS1-v1_5 of a base64 ciphertext; empty when it does not decrypt.
std::optional<std::string> rsa_decrypt(EVP_PKEY* key, std::string_view base64_ciphertext);
// RSASSA-PKCS1-v1_5 with SHA-256 (the JWT RS256 signature).
std::string rs256_sign(EVP_PKEY* key, std::string_view data);
bool rs256_verify(EVP_PKEY* key, std::string_view data, std::string_view signature);

std::string sha256_hex(std::string_view data);
std::string random_bytes(std::size_t n);
std::string random_hex(std::size_t bytes);

} // namespace codef::emu
