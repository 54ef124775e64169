#include "signing/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <fstream>
#include <sstream>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio mem_bio(std::string_view bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

std::string openssl_error(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string out(what);
  if (code) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

Expected<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"io.not_found", "cannot open " + path.string()};
  std::string out;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes) {
      return Error{"io.too_large",
                   path.string() + " is larger than " + std::to_string(max_bytes) + " bytes"};
    }
  }
  return out;
}

Expected<void> write_file(const std::filesystem::path& path, std::string_view bytes,
                          bool private_file) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"io.write_failed", "cannot write " + tmp.string()};
    if (private_file) {
      std::filesystem::permissions(
          tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return Error{"io.write_failed", "cannot write " + tmp.string()};
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Error{"io.write_failed", "cannot move " + tmp.string() + " into place: " + ec.message()};
  return {};
}

Expected<Pkey> load_private_key_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Error{"key.invalid", openssl_error("not a PEM private key")};
  return key;
}

Expected<std::vector<Cert>> load_certificates_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  std::vector<Cert> certs;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
  ERR_clear_error();
  if (certs.empty()) return Error{"cert.invalid", "no PEM certificate found"};
  return certs;
}

Expected<Cert> load_certificate_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Cert cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return Error{"cert.invalid", "not a DER X.509 certificate"};
  }
  return cert;
}

Expected<Crl> load_crl(std::string_view bytes) {
  {
    auto bio = mem_bio(bytes);
    if (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr))
      return Crl(crl);
  }
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()))) return Crl(crl);
  ERR_clear_error();
  return Error{"crl.invalid", "not a PEM or DER certificate revocation list"};
}

Expected<void> check_key_strength(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
    std::string_view g(group);
    if (g == "prime256v1" || g == "P-256" || g == "secp384r1" || g == "P-384") return {};
    return Error{"key.weak",
                 "EC key on curve '" + std::string(g) + "' is not allowed (P-256 or P-384)"};
  }
  if (id == EVP_PKEY_RSA) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits >= 2048) return {};
    return Error{"key.weak",
                 "RSA key of " + std::to_string(bits) + " bits is too short (2048 at least)"};
  }
  return Error{"key.weak", "key type is not allowed (ECDSA P-256/P-384 or RSA 2048+)"};
}

static Expected<SigningKey> make_signing_key(Pkey key, std::vector<Cert> certs) {
  if (certs.empty()) return Error{"cert.invalid", "no certificate for the key"};
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{"key.mismatch", "the private key does not belong to the certificate"};
  }
  if (auto ok = check_key_strength(key.get()); !ok) return ok.error();
  SigningKey sk;
  sk.key = std::move(key);
  sk.cert = std::move(certs.front());
  for (std::size_t i = 1; i < certs.size(); ++i) sk.chain.push_back(std::move(certs[i]));
  return sk;
}

Expected<SigningKey> load_signing_key(const std::filesystem::path& key_pem,
                                      const std::filesystem::path& cert_pem) {
  auto key_bytes = read_file(key_pem);
  if (!key_bytes) return key_bytes.error();
  auto cert_bytes = read_file(cert_pem);
  if (!cert_bytes) return cert_bytes.error();
  auto key = load_private_key_pem(*key_bytes);
  if (!key) return Error{key.error().code, key_pem.string() + ": " + key.error().message};
  auto certs = load_certificates_pem(*cert_bytes);
  if (!certs) return Error{certs.error().code, cert_pem.string() + ": " + certs.error().message};
  return make_signing_key(std::move(*key), std::move(*certs));
}

Expected<SigningKey> load_signing_key_pkcs12(std::string_view der, const std::string& password) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(
      d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())), PKCS12_free);
  if (!p12) return Error{"pkcs12.invalid", openssl_error("not a PKCS#12 file")};
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &ca) != 1) {
    return Error{"pkcs12.invalid", openssl_error("cannot open the PKCS#12 file (wrong password?)")};
  }
  std::vector<Cert> certs;
  Pkey k(key);
  if (cert) certs.emplace_back(cert);
  if (ca) {
    for (int i = 0; i < sk_X509_num(ca); ++i) certs.push_back(share(sk_X509_value(ca, i)));
    sk_X509_pop_free(ca, X509_free);
  }
  if (!k) return Error{"pkcs12.invalid", "the PKCS#12 file holds no private key"};
  return make_signing_key(std::move(k), std::move(certs));
}

std::string to_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

std::string to_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_string(bio.get());
}

std::string to_pem(X509_CRL* crl) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl);
  return bio_string(bio.get());
}

std::string to_der(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  std::string out(static_cast<std::size_t>(len > 0 ? len : 0), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509(cert, &p);
  return out;
}

std::string name_to_string(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_string(bio.get());
}

std::string common_name(const X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string serial_hex(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string cert_fingerprint_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kDigits[md[i] >> 4];
    out += kDigits[md[i] & 15];
  }
  return out;
}

std::optional<std::string> ecdsa_der_to_raw(std::string_view der, std::size_t half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
  std::string raw(2 * half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const int n = static_cast<int>(half);
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, n) != n ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + half, n) != n) {
    return std::nullopt;
  }
  return raw;
}

std::string format_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Expected<std::time_t> parse_utc(std::string_view text) {
  // Read by hand: sscanf took a microsecond of every signature's check.
  auto number = [&](std::size_t at, std::size_t digits, int& out) {
    return parse_digits(text.substr(at, digits), out);
  };
  int y, mo, d, h, mi, s;
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z' || !number(0, 4, y) || !number(5, 2, mo) ||
      !number(8, 2, d) || !number(11, 2, h) || !number(14, 2, mi) || !number(17, 2, s) || mo < 1 ||
      mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return Error{"time.invalid",
                 "'" + std::string(text) + "' is not a UTC time like 2026-11-22T10:00:00Z"};
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return timegm(&tm);
}

std::time_t asn1_to_time(const ASN1_TIME* t) {
  std::tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return timegm(&tm);
}

}  // namespace lienthong
