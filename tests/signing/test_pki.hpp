#pragma once

#include <ctime>
#include <string>

#include "signing/crypto.hpp"
#include "signing/pki.hpp"
#include "signing/trust_store.hpp"

namespace lienthong::testing {

// A fixed clock for the whole suite: 2026-11-22T08:00:00Z.
inline constexpr std::time_t kNow = 1795334400;
inline constexpr std::time_t kDay = 86400;

// A small PKI built in memory: one CA and certificates of every kind the verifier must tell apart.
struct TestPki {
  Pkey ca_key = generate_key(KeyType::ec_p256);
  Cert ca;
  Pkey other_ca_key = generate_key(KeyType::ec_p256);
  Cert other_ca;

  TestPki() {
    CertSpec spec;
    spec.common_name = "Test CA";
    spec.is_ca = true;
    spec.not_before = kNow - 365 * kDay;
    spec.not_after = kNow + 3650 * kDay;
    ca = issue_certificate(spec, ca_key.get(), nullptr, ca_key.get());
    spec.common_name = "Untrusted CA";
    other_ca = issue_certificate(spec, other_ca_key.get(), nullptr, other_ca_key.get());
  }

  SigningKey issue(const std::string& cn, long serial, KeyType type = KeyType::ec_p256,
                   std::time_t from = kNow - 30 * kDay, std::time_t to = kNow + 365 * kDay,
                   bool trusted = true, bool signing_usage = true, bool usage_ext = true) {
    SigningKey k;
    k.key = generate_key(type);
    CertSpec spec;
    spec.common_name = cn;
    spec.organization = "Sở Tài chính tỉnh Tây Ninh";
    spec.organizational_unit = "000.00.11.H53";
    spec.not_before = from;
    spec.not_after = to;
    spec.serial = serial;
    spec.digital_signature = signing_usage;
    spec.non_repudiation = signing_usage;
    spec.key_usage_extension = usage_ext;
    k.cert = trusted ? issue_certificate(spec, k.key.get(), ca.get(), ca_key.get())
                     : issue_certificate(spec, k.key.get(), other_ca.get(), other_ca_key.get());
    return k;
  }

  TrustStore trust() const {
    TrustStore store;
    store.add_anchor(share(ca.get()));
    return store;
  }
};

}  // namespace lienthong::testing
