#include "signing/trust_store.hpp"

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace lienthong {

struct TrustStore::Cache {
  static constexpr std::size_t kMaxEntries = 4096;
  std::mutex mutex;
  std::unordered_map<std::string, TrustStore::Parsed> certificates;
  std::unordered_map<std::string, std::pair<std::time_t, std::time_t>> chains;
};

void TrustStore::CacheFree::operator()(Cache* c) const noexcept {
  delete c;
}

TrustStore::TrustStore() : cache_(new Cache), store_(X509_STORE_new()) {}

void TrustStore::add_anchor(Cert cert) {
  X509_STORE_add_cert(store_.get(), cert.get());
  ++anchors_;
  std::lock_guard lock(cache_->mutex);
  cache_->chains.clear();
}

void TrustStore::add_crl(Crl crl) {
  X509_STORE_add_crl(store_.get(), crl.get());
  ++crls_;
  crl_from_ = std::max(crl_from_, asn1_to_time(X509_CRL_get0_lastUpdate(crl.get())));
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) {
    crl_until_ = std::min(crl_until_, asn1_to_time(next));
  }
  std::lock_guard lock(cache_->mutex);
  cache_->chains.clear();
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

Expected<Cert> TrustStore::certificate(std::string_view der) const {
  auto parsed = parsed_certificate(der);
  if (!parsed) return parsed.error();
  return std::move(parsed->cert);
}

Expected<TrustStore::Parsed> TrustStore::parsed_certificate(std::string_view der) const {
  std::string key(der);
  {
    std::lock_guard lock(cache_->mutex);
    if (auto it = cache_->certificates.find(key); it != cache_->certificates.end()) {
      return Parsed{share(it->second.cert.get()), it->second.facts, it->second.p256};
    }
  }
  auto cert = load_certificate_der(der);
  if (!cert) return cert.error();
  auto facts = std::make_shared<CertificateFacts>();
  facts->subject = name_to_string(X509_get_subject_name(cert->get()));
  facts->common_name = common_name(cert->get());
  facts->issuer = name_to_string(X509_get_issuer_name(cert->get()));
  facts->serial = serial_hex(cert->get());
  facts->fingerprint_sha256 = cert_fingerprint_sha256(cert->get());
  auto p256 = P256Verifier::of(X509_get0_pubkey(cert->get()));
  Parsed out{std::move(*cert), std::move(facts), std::move(p256)};
  std::lock_guard lock(cache_->mutex);
  if (cache_->certificates.size() >= Cache::kMaxEntries) cache_->certificates.clear();
  cache_->certificates.emplace(std::move(key), Parsed{share(out.cert.get()), out.facts, out.p256});
  return out;
}

bool TrustStore::chain_known_valid(const std::string& chain_key, std::time_t at) const {
  std::lock_guard lock(cache_->mutex);
  auto it = cache_->chains.find(chain_key);
  return it != cache_->chains.end() && at >= it->second.first && at <= it->second.second;
}

void TrustStore::remember_valid_chain(const std::string& chain_key, std::time_t from,
                                      std::time_t until) const {
  std::lock_guard lock(cache_->mutex);
  if (cache_->chains.size() >= Cache::kMaxEntries) cache_->chains.clear();
  cache_->chains[chain_key] = {from, until};
}

}  // namespace lienthong
