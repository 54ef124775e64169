// Signing and verification of edXML packages next to the primitives that bound them: bare
// ECDSA P-256 sign/verify, SHA-256 and a libxml2 parse of the same bytes, in one run.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/edxml/codec.hpp"
#include "base/encoding.hpp"
#include "signing/crypto.hpp"
#include "signing/ecdsa_p256.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {
namespace {

struct Fixture {
  Pkey ca_key = generate_key(KeyType::ec_p256);
  Cert ca;
  SigningKey signer;
  SigningKey organisation;
  TrustStore trust;
  std::string package_10k;
  std::string package_1m;
  std::string signed_10k;   // signer only
  std::string signed2_10k;  // signer + organisation
  std::string signed_1m;
  std::string signed2_1m;

  SigningKey issue(const char* cn, long serial) {
    SigningKey k;
    k.key = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = cn;
    spec.not_before = std::time(nullptr) - 86400;
    spec.not_after = std::time(nullptr) + 86400 * 365;
    spec.serial = serial;
    k.cert = issue_certificate(spec, k.key.get(), ca.get(), ca_key.get());
    return k;
  }

  // A document package of about `size` bytes: the sample header plus one attachment.
  static std::string make_package(std::size_t size) {
    auto sample = decode_edxml(*read_file(std::string(LIENTHONG_SAMPLES_DIR) + "/edoc_new.edxml"));
    Package p = std::move(*sample);
    p.extra_header.clear();
    Attachment a = p.attachments.front();
    std::size_t header = encode_edxml(Package{p.kind,
                                              p.document,
                                              {},
                                              p.trace_header_list,
                                              p.manifest_version,
                                              p.manifest,
                                              p.has_body,
                                              {},
                                              {},
                                              {},
                                              {}})
                             .size();
    std::size_t raw = size > header + 600 ? (size - header - 600) * 3 / 4 : 16;
    a.data = std::string(raw, 'x');
    for (std::size_t i = 0; i < raw; ++i) a.data[i] = static_cast<char>((i * 131) & 0xff);
    a.sha256_hex = sha256_hex(a.data);
    p.attachments = {a};
    return encode_edxml(p);
  }

  Fixture() {
    CertSpec spec;
    spec.common_name = "Bench CA";
    spec.is_ca = true;
    spec.not_before = std::time(nullptr) - 86400;
    spec.not_after = std::time(nullptr) + 86400 * 3650;
    ca = issue_certificate(spec, ca_key.get(), nullptr, ca_key.get());
    trust.add_anchor(share(ca.get()));
    signer = issue("Signer", 2);
    organisation = issue("Organisation", 3);
    package_10k = make_package(10 * 1024);
    package_1m = make_package(1024 * 1024);
    SignOptions org;
    org.role = SignatureRole::organisation;
    signed_10k = *sign_package(package_10k, signer);
    signed2_10k = *sign_package(signed_10k, organisation, org);
    signed_1m = *sign_package(package_1m, signer);
    signed2_1m = *sign_package(signed_1m, organisation, org);
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

// Built before main so that profiles of one benchmark hold only its loop.
[[maybe_unused]] Fixture& eager_fixture = fx();

void report_size(benchmark::State& state, const std::string& bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["bytes"] = static_cast<double>(bytes.size());
}

void BM_Sign(benchmark::State& state, const std::string* package) {
  for (auto _ : state) {
    auto s = sign_package(*package, fx().signer);
    if (!s) state.SkipWithError(s.error().message.c_str());
    benchmark::DoNotOptimize(s);
  }
  report_size(state, *package);
}

void BM_Verify(benchmark::State& state, const std::string* package) {
  VerifyPolicy policy;
  for (auto _ : state) {
    Verdict v = verify_package(*package, fx().trust, policy);
    if (!v.valid()) state.SkipWithError(v.reason.c_str());
    benchmark::DoNotOptimize(v);
  }
  report_size(state, *package);
}

void BM_Parse(benchmark::State& state, const std::string* package) {
  XmlLimits limits;
  limits.max_bytes = 64 << 20;
  for (auto _ : state) {
    auto doc = parse_xml(*package, limits);
    benchmark::DoNotOptimize(doc);
  }
  report_size(state, *package);
}

void BM_Sha256(benchmark::State& state, const std::string* package) {
  for (auto _ : state) benchmark::DoNotOptimize(sha256(*package));
  report_size(state, *package);
}

void BM_EcdsaP256Sign(benchmark::State& state) {
  const std::string digest = sha256("lienthong");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(fx().signer.key.get(), nullptr);
  EVP_PKEY_sign_init(ctx);
  unsigned char sig[128];
  for (auto _ : state) {
    size_t len = sizeof sig;
    EVP_PKEY_sign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(digest.data()),
                  digest.size());
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_CTX_free(ctx);
}

void BM_EcdsaP256Verify(benchmark::State& state) {
  const std::string digest = sha256("lienthong");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(fx().signer.key.get(), nullptr);
  EVP_PKEY_sign_init(ctx);
  unsigned char sig[128];
  size_t len = sizeof sig;
  EVP_PKEY_sign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(digest.data()),
                digest.size());
  EVP_PKEY_CTX_free(ctx);
  ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(fx().signer.cert.get()), nullptr);
  EVP_PKEY_verify_init(ctx);
  for (auto _ : state) {
    int ok = EVP_PKEY_verify(ctx, sig, len, reinterpret_cast<const unsigned char*>(digest.data()),
                             digest.size());
    if (ok != 1) state.SkipWithError("verify failed");
  }
  EVP_PKEY_CTX_free(ctx);
}

BENCHMARK_CAPTURE(BM_Sign, 10KB, &fx().package_10k);
BENCHMARK_CAPTURE(BM_Sign, 1MB, &fx().package_1m);
BENCHMARK_CAPTURE(BM_Verify, one_signature_10KB, &fx().signed_10k);
BENCHMARK_CAPTURE(BM_Verify, two_signatures_10KB, &fx().signed2_10k);
BENCHMARK_CAPTURE(BM_Verify, one_signature_1MB, &fx().signed_1m);
BENCHMARK_CAPTURE(BM_Verify, two_signatures_1MB, &fx().signed2_1m);
BENCHMARK_CAPTURE(BM_Parse, 10KB, &fx().signed2_10k);
BENCHMARK_CAPTURE(BM_Parse, 1MB, &fx().signed2_1m);
BENCHMARK_CAPTURE(BM_Sha256, 10KB, &fx().signed2_10k);
BENCHMARK_CAPTURE(BM_Sha256, 1MB, &fx().signed2_1m);
// Verification through a table of the key's multiples (signing/ecdsa_p256), as a key seen often
// is, over 64 different signatures (its inversion's branches depend on the value).
void BM_EcdsaP256VerifyWithTable(benchmark::State& state) {
  std::vector<std::pair<std::string, std::string>> signed_digests;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(fx().signer.key.get(), nullptr);
  EVP_PKEY_sign_init(ctx);
  for (int i = 0; i < 64; ++i) {
    const std::string digest = sha256("lienthong " + std::to_string(i));
    unsigned char der[128];
    size_t len = sizeof der;
    EVP_PKEY_sign(ctx, der, &len, reinterpret_cast<const unsigned char*>(digest.data()),
                  digest.size());
    auto r_s = ecdsa_der_to_raw(std::string_view(reinterpret_cast<char*>(der), len), 32);
    signed_digests.emplace_back(digest, r_s.value_or(""));
  }
  EVP_PKEY_CTX_free(ctx);
  auto verifier = P256Verifier::of(X509_get0_pubkey(fx().signer.cert.get()), 0);
  (void)verifier->verify({}, {});
  verifier->wait_for_table();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& [digest, r_s] = signed_digests[i++ % signed_digests.size()];
    if (verifier->verify(digest, r_s) != true) state.SkipWithError("verify failed");
  }
}

BENCHMARK(BM_EcdsaP256Sign)->Name("BM_EcdsaP256Sign_primitive_10KB");
BENCHMARK(BM_EcdsaP256Verify)->Name("BM_EcdsaP256Verify_primitive_10KB");
BENCHMARK(BM_EcdsaP256VerifyWithTable)->Name("BM_EcdsaP256Verify_with_table");

}  // namespace
}  // namespace lienthong
