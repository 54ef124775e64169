#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "signing/crypto.hpp"

namespace lienthong {

enum class KeyType { ec_p256, rsa_2048, rsa_1024 /* tests of weak keys only */ };

Pkey generate_key(KeyType type);

struct CertSpec {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;  // the agency code, for agency certificates
  bool is_ca = false;
  // Key usage bits as in X509v3: digitalSignature and nonRepudiation for signers.
  bool digital_signature = true;
  bool non_repudiation = true;
  bool key_usage_extension = true;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  long serial = 1;
  // For TLS: subjectAltName entries ("DNS:localhost", "IP:127.0.0.1") and extended key usage
  // ("serverAuth,clientAuth"); none when empty.
  std::vector<std::string> subject_alt_names;
  std::string extended_key_usage;
};

// Issues a certificate for `subject_key` signed by `issuer` (self-signed when issuer_cert is null).
Cert issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer_cert,
                       EVP_PKEY* issuer_key);

struct RevokedEntry {
  long serial;
  std::time_t when;
};
Crl issue_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedEntry>& revoked,
              std::time_t this_update, std::time_t next_update);

struct DemoAgency {
  const char* code;
  const char* name;
  const char* signer;    // the authorised signer's name
  const char* position;  // and position
};
// The agencies of the demo: the two samples' senders and recipients.
const std::vector<DemoAgency>& demo_agencies();

// Writes a demo PKI (development and demonstrations only): DIR/ca.pem, DIR/ca.key, DIR/crl.pem, and
// per agency DIR/<code>/{organisation,signer}.{key,pem}. Valid from `now` - 1 day for 2 years.
Expected<void> write_demo_pki(const std::filesystem::path& dir, std::time_t now);

}  // namespace lienthong
