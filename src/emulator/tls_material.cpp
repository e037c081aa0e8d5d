// OpenSSL 3 key and certificate generation for the emulator.
#include "emulator/tls_material.hpp"

#include "detail/encoding.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace codef::emu {
namespace {

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("emulator key material: ") + what);
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

} // namespace

void pkey_deleter::operator()(EVP_PKEY* p) const noexcept {
    EVP_PKEY_free(p);
}

void x509_deleter::operator()(X509* p) const noexcept {
    X509_free(p);
}

std::string x509_pem(X509* cert) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    return bio_text(bio.get());
}

x509_ptr make_cert(EVP_PKEY* key, const char* organization, const char* cn, cert_role role,
                   X509* issuer, EVP_PKEY* issuer_key, const char* names, long not_before,
                   long not_after) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    long serial = 0;
    check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) == 1, "RAND_bytes");
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), (serial & 0x7fffffffL) | 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(organization), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    const bool self = role != cert_role::leaf;
    X509* iss = self ? cert.get() : issuer;
    X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
    switch (role) {
    case cert_role::ca:
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
        break;
    case cert_role::leaf:
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), iss, NID_subject_alt_name, names);
        add_ext(cert.get(), iss, NID_authority_key_identifier, "keyid");
        break;
    case cert_role::self_signed_leaf:
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), iss, NID_subject_alt_name, names);
        break;
    }
    check(X509_sign(cert.get(), self ? key : issuer_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

tls_material make_tls_material(const std::string& names) {
    pkey_ptr ca_key(EVP_EC_gen("P-256"), pkey_deleter{});
    pkey_ptr server_key(EVP_EC_gen("P-256"), pkey_deleter{});
    check(ca_key && server_key, "EVP_EC_gen");
    constexpr long day = 86'400;
    auto ca = make_cert(ca_key.get(), "codef emulator", "codef emulator CA", cert_role::ca, nullptr,
                        nullptr, nullptr, -3600, 3650 * day);
    auto server = make_cert(server_key.get(), "codef emulator", "localhost", cert_role::leaf,
                            ca.get(), ca_key.get(), names.c_str(), -3600, 825 * day);
    tls_material m;
    m.ca_pem = x509_pem(ca.get());
    m.server_cert_pem = x509_pem(server.get());
    m.server_key_pem = private_key_pem(server_key.get());
    return m;
}

pkey_ptr generate_rsa(int bits) {
    pkey_ptr k(EVP_RSA_gen(static_cast<unsigned>(bits)), pkey_deleter{});
    check(k != nullptr, "EVP_RSA_gen");
    return k;
}

pkey_ptr rsa_from_pem(std::string_view pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    pkey_ptr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), pkey_deleter{});
    if (!k || EVP_PKEY_get_base_id(k.get()) != EVP_PKEY_RSA)
        throw std::runtime_error("rsa_private_key_pem: not an RSA private key in PEM");
    return k;
}

std::string private_key_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

std::string public_key_base64(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key, &der);
    check(n > 0, "i2d_PUBKEY");
    std::string out = detail::base64_encode(
        std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
    OPENSSL_free(der);
    return out;
}

std::optional<std::string> rsa_decrypt(EVP_PKEY* key, std::string_view base64_ciphertext) {
    const auto ct = detail::base64_decode(base64_ciphertext);
    if (!ct || ct->empty()) return std::nullopt;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr), &EVP_PKEY_CTX_free);
    const auto* in = reinterpret_cast<const unsigned char*>(ct->data());
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_decrypt(ctx.get(), nullptr, &len, in, ct->size()) <= 0)
        return std::nullopt;
    std::string out(len, '\0');
    if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in,
                         ct->size()) <= 0)
        return std::nullopt;
    out.resize(len);
    return out;
}

std::string rs256_sign(EVP_PKEY* key, std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t len = 0;
    check(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestSign(ctx.get(), nullptr, &len,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
          "EVP_DigestSign");
    std::string sig(len, '\0');
    check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                         reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
          "EVP_DigestSign");
    sig.resize(len);
    return sig;
}

bool rs256_verify(EVP_PKEY* key, std::string_view data, std::string_view signature) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

std::string random_bytes(std::size_t n) {
    std::string raw(n, '\0');
    check(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) == 1,
          "RAND_bytes");
    return raw;
}

std::string random_hex(std::size_t bytes) {
    const std::string raw = random_bytes(bytes);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
    return out;
}

} // namespace codef::emu
