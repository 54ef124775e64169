#include "signing/trust_store.hpp"

namespace lienthong {

TrustStore::TrustStore() : store_(X509_STORE_new()) {}

void TrustStore::add_anchor(Cert cert) {
  X509_STORE_add_cert(store_.get(), cert.get());
  ++anchors_;
}

void TrustStore::add_crl(Crl crl) {
  X509_STORE_add_crl(store_.get(), crl.get());
  ++crls_;
}

Expected<void> TrustStore::add_anchors_pem(std::string_view pem) {
  auto certs = load_certificates_pem(pem);
  if (!certs) return certs.error();
  for (auto& c : *certs) add_anchor(std::move(c));
  return {};
}

Expected<void> TrustStore::add_crl_bytes(std::string_view bytes) {
  auto crl = load_crl(bytes);
  if (!crl) return crl.error();
  add_crl(std::move(*crl));
  return {};
}

}  // namespace lienthong
