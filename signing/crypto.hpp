#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace lienthong {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct X509CrlFree {
  void operator()(X509_CRL* p) const noexcept { X509_CRL_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Crl = std::unique_ptr<X509_CRL, X509CrlFree>;

inline Pkey share(EVP_PKEY* p) {
  EVP_PKEY_up_ref(p);
  return Pkey(p);
}
inline Cert share(X509* c) {
  X509_up_ref(c);
  return Cert(c);
}

// A private key with its certificate and the intermediates that lead to a trust anchor.
struct SigningKey {
  Pkey key;
  Cert cert;
  std::vector<Cert> chain;
};

// The last OpenSSL error as a sentence (and clears the queue).
std::string openssl_error(std::string_view what);

Expected<std::string> read_file(const std::filesystem::path& path,
                                std::size_t max_bytes = 64 << 20);
Expected<void> write_file(const std::filesystem::path& path, std::string_view bytes,
                          bool private_file = false);

Expected<Pkey> load_private_key_pem(std::string_view pem);
Expected<std::vector<Cert>> load_certificates_pem(std::string_view pem);  // one or more
Expected<Cert> load_certificate_der(std::string_view der);
Expected<Crl> load_crl(std::string_view pem_or_der);
// Accepts ECDSA P-256/P-384 and RSA of 2048 bits or more.
Expected<void> check_key_strength(EVP_PKEY* key);

// Key and certificate (with any chain after it) from PEM files.
Expected<SigningKey> load_signing_key(const std::filesystem::path& key_pem,
                                      const std::filesystem::path& cert_pem);
Expected<SigningKey> load_signing_key_pkcs12(std::string_view der, const std::string& password);

std::string to_pem(EVP_PKEY* key);
std::string to_pem(X509* cert);
std::string to_pem(X509_CRL* crl);
std::string to_der(X509* cert);

// RFC 2253 form of a name, e.g. "CN=Nguyen Van A,O=Sở Tài chính,C=VN".
std::string name_to_string(const X509_NAME* name);
std::string common_name(const X509* cert);
std::string serial_hex(const X509* cert);
std::string cert_fingerprint_sha256(X509* cert);
// An ECDSA signature as XML-DSig writes it, r || s with each `half` bytes long (the group order's
// length), from the DER that OpenSSL makes; nullopt when the DER does not parse or r or s is
// longer.
std::optional<std::string> ecdsa_der_to_raw(std::string_view der, std::size_t half);
std::string format_utc(std::time_t t);  // 2026-11-22T10:00:00Z
Expected<std::time_t> parse_utc(std::string_view text);
std::time_t asn1_to_time(const ASN1_TIME* t);

}  // namespace lienthong
