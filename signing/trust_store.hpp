#pragma once

#include <openssl/x509_vfy.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "signing/crypto.hpp"
#include "signing/ecdsa_p256.hpp"

namespace lienthong {

// What a verdict tells of a certificate, worked out once per certificate (see TrustStore).
struct CertificateFacts {
  std::string subject;  // RFC 2253
  std::string common_name;
  std::string issuer;
  std::string serial;
  std::string fingerprint_sha256;
};

// Trust anchors and CRLs. Built once, then shared read-only by every verification.
class TrustStore {
 public:
  TrustStore();
  TrustStore(TrustStore&&) noexcept = default;
  TrustStore& operator=(TrustStore&&) noexcept = default;

  void add_anchor(Cert cert);
  void add_crl(Crl crl);
  Expected<void> add_anchors_pem(std::string_view pem);
  Expected<void> add_crl_bytes(std::string_view pem_or_der);

  bool empty() const { return anchors_ == 0; }
  bool checks_revocation() const { return crls_ > 0; }
  X509_STORE* store() const { return store_.get(); }

  // Parsed certificates by their DER bytes: parsing is pure, and OpenSSL 3 decodes public keys
  // slowly, so a certificate seen on every package is parsed once.
  Expected<Cert> certificate(std::string_view der) const;
  // The same, with its facts (names printed once, not for every package) and, for a P-256 key,
  // the verifier that gets a table of the key's multiples once the key is seen often.
  struct Parsed {
    Cert cert;
    std::shared_ptr<const CertificateFacts> facts;
    std::shared_ptr<const P256Verifier> p256;
  };
  Expected<Parsed> parsed_certificate(std::string_view der) const;

  // A chain that validated stays valid while the time stays inside every certificate's validity
  // and every CRL's [thisUpdate, nextUpdate], with anchors and CRLs unchanged (adding either
  // forgets all results). `chain_key` names the leaf and intermediates.
  bool chain_known_valid(const std::string& chain_key, std::time_t at) const;
  void remember_valid_chain(const std::string& chain_key, std::time_t from,
                            std::time_t until) const;
  // The interval in which every CRL of the store is current.
  std::time_t crl_from() const { return crl_from_; }
  std::time_t crl_until() const { return crl_until_; }

 private:
  struct Cache;
  struct CacheFree {
    void operator()(Cache* c) const noexcept;
  };
  std::unique_ptr<Cache, CacheFree> cache_;
  std::time_t crl_from_ = 0;
  std::time_t crl_until_ = INT64_MAX;
  struct StoreFree {
    void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
  };
  std::unique_ptr<X509_STORE, StoreFree> store_;
  int anchors_ = 0;
  int crls_ = 0;
};

}  // namespace lienthong
