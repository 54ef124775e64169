#include "signing/pki.hpp"

#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace lienthong {
namespace {

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error(openssl_error("cannot build certificate extension"));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void add_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return;
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

}  // namespace

Pkey generate_key(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ec_p256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::rsa_2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::rsa_1024:
      key = EVP_RSA_gen(1024);
      break;
  }
  if (!key) throw std::runtime_error(openssl_error("key generation failed"));
  return Pkey(key);
}

Cert issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer_cert,
                       EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  add_entry(name, "C", "VN");
  add_entry(name, "O", spec.organization);
  add_entry(name, "OU", spec.organizational_unit);
  add_entry(name, "CN", spec.common_name);
  X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert) : name);
  X509* issuer = issuer_cert ? issuer_cert : cert.get();
  if (spec.is_ca) {
    add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    std::string usage;
    if (spec.digital_signature) usage += ",digitalSignature";
    if (spec.non_repudiation) usage += ",nonRepudiation";
    if (usage.empty()) usage = ",keyEncipherment";
    if (spec.key_usage_extension)
      add_ext(cert.get(), issuer, NID_key_usage, ("critical" + usage).c_str());
  }
  if (!spec.subject_alt_names.empty()) {
    std::string names;
    for (const auto& n : spec.subject_alt_names) names += (names.empty() ? "" : ",") + n;
    add_ext(cert.get(), issuer, NID_subject_alt_name, names.c_str());
  }
  if (!spec.extended_key_usage.empty()) {
    add_ext(cert.get(), issuer, NID_ext_key_usage, spec.extended_key_usage.c_str());
  }
  add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (issuer_cert) add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    throw std::runtime_error(openssl_error("certificate signing failed"));
  }
  return cert;
}

Crl issue_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedEntry>& revoked,
              std::time_t this_update, std::time_t next_update) {
  Crl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert));
  ASN1_TIME* t = ASN1_TIME_set(nullptr, this_update);
  X509_CRL_set1_lastUpdate(crl.get(), t);
  ASN1_TIME_set(t, next_update);
  X509_CRL_set1_nextUpdate(crl.get(), t);
  ASN1_TIME_free(t);
  for (const auto& r : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ASN1_INTEGER* serial = ASN1_INTEGER_new();
    ASN1_INTEGER_set(serial, r.serial);
    X509_REVOKED_set_serialNumber(entry, serial);
    ASN1_INTEGER_free(serial);
    ASN1_TIME* when = ASN1_TIME_set(nullptr, r.when);
    X509_REVOKED_set_revocationDate(entry, when);
    ASN1_TIME_free(when);
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key, EVP_sha256()) <= 0) {
    throw std::runtime_error(openssl_error("CRL signing failed"));
  }
  return crl;
}

const std::vector<DemoAgency>& demo_agencies() {
  static const std::vector<DemoAgency> agencies = {
      {"000.00.00.G22", "Văn phòng Chính phủ", "Nguyễn Văn An", "Bộ trưởng, Chủ nhiệm"},
      {"000.00.11.H53", "Sở Tài chính tỉnh Tây Ninh", "Trần Thị Bình", "Giám đốc"},
      {"000.00.01.A53", "Văn phòng Tỉnh ủy Tây Ninh", "Lê Văn Cường", "Chánh Văn phòng"},
      {"000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An", "Phạm Thị Dung", "Chủ tịch"},
      {"000.00.12.H53", "Sở Tư pháp tỉnh Tây Ninh", "Võ Minh Hải", "Giám đốc"},
  };
  return agencies;
}

Expected<void> write_demo_pki(const std::filesystem::path& dir, std::time_t now) {
  const std::time_t from = now - 86400;
  const std::time_t to = now + 2 * 365 * 86400;
  Pkey ca_key = generate_key(KeyType::ec_p256);
  CertSpec ca_spec;
  ca_spec.common_name = "Lienthong Demo CA (not for production)";
  ca_spec.organization = "Lienthong demo";
  ca_spec.is_ca = true;
  ca_spec.not_before = from;
  ca_spec.not_after = to + 365 * 86400;
  Cert ca = issue_certificate(ca_spec, ca_key.get(), nullptr, ca_key.get());
  if (auto r = write_file(dir / "ca.pem", to_pem(ca.get())); !r) return r;
  if (auto r = write_file(dir / "ca.key", to_pem(ca_key.get()), true); !r) return r;
  Crl crl = issue_crl(ca.get(), ca_key.get(), {}, from, now + 30 * 86400);
  if (auto r = write_file(dir / "crl.pem", to_pem(crl.get())); !r) return r;

  long serial = 100;
  for (const auto& agency : demo_agencies()) {
    const auto folder = dir / agency.code;
    struct Holder {
      const char* file;
      std::string cn;
    } holders[] = {{"organisation", agency.name},
                   {"signer", std::string(agency.signer) + " (" + agency.position + ")"}};
    for (const auto& h : holders) {
      Pkey key = generate_key(KeyType::ec_p256);
      CertSpec spec;
      spec.common_name = h.cn;
      spec.organization = agency.name;
      spec.organizational_unit = agency.code;
      spec.not_before = from;
      spec.not_after = to;
      spec.serial = serial++;
      Cert cert = issue_certificate(spec, key.get(), ca.get(), ca_key.get());
      if (auto r = write_file(folder / (std::string(h.file) + ".key"), to_pem(key.get()), true);
          !r) {
        return r;
      }
      if (auto r = write_file(folder / (std::string(h.file) + ".pem"), to_pem(cert.get())); !r) {
        return r;
      }
    }
  }
  return {};
}

}  // namespace lienthong
