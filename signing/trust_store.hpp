#pragma once

#include <openssl/x509_vfy.h>

#include <ctime>
#include <memory>
#include <vector>

#include "signing/crypto.hpp"

namespace lienthong {

struct ChainResult;

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

 private:
  struct StoreFree {
    void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
  };
  std::unique_ptr<X509_STORE, StoreFree> store_;
  int anchors_ = 0;
  int crls_ = 0;
};

}  // namespace lienthong
