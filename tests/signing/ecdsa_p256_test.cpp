#include "signing/ecdsa_p256.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <random>
#include <string>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

Pkey generate(const char* curve) {
  return Pkey(EVP_EC_gen(curve));
}

// r || s, 32 bytes each, of a signature OpenSSL makes over `digest`.
std::string sign_raw(EVP_PKEY* key, const std::string& digest) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  EVP_PKEY_CTX_free);
  unsigned char der[80];
  std::size_t len = sizeof der;
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), der, &len,
                          reinterpret_cast<const unsigned char*>(digest.data()), digest.size()),
            1);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

// OpenSSL's own judgement of r || s over `digest`.
bool openssl_verifies(EVP_PKEY* key, const std::string& digest, const std::string& r_s) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* b = reinterpret_cast<const unsigned char*>(r_s.data());
  ECDSA_SIG_set0(sig, BN_bin2bn(b, 32, nullptr), BN_bin2bn(b + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  EVP_PKEY_CTX_free);
  const bool ok =
      EVP_PKEY_verify_init(ctx.get()) == 1 &&
      EVP_PKEY_verify(ctx.get(), der, static_cast<std::size_t>(len),
                      reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

// The group order n plus `add`, as 32 bytes.
std::string order_bytes(unsigned add) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* n = BN_dup(EC_GROUP_get0_order(g));
  BN_add_word(n, add);
  std::string out(32, '\0');
  BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_free(n);
  EC_GROUP_free(g);
  return out;
}

TEST(P256Verifier, OnlyForP256Keys) {
  EXPECT_NE(P256Verifier::of(generate("P-256").get()), nullptr);
  EXPECT_EQ(P256Verifier::of(generate("P-384").get()), nullptr);
  Pkey rsa(EVP_RSA_gen(2048));
  EXPECT_EQ(P256Verifier::of(rsa.get()), nullptr);
  EXPECT_EQ(P256Verifier::of(nullptr), nullptr);
}

TEST(P256Verifier, LeavesTheFirstUsesToOpenSslThenBuildsOneTable) {
  Pkey key = generate("P-256");
  const int before = P256Verifier::tables();
  {
    auto v = P256Verifier::of(key.get(), 3);
    const std::string digest = sha256("warm");
    const std::string sig = sign_raw(key.get(), digest);
    EXPECT_EQ(v->verify(digest, sig), std::nullopt);
    EXPECT_EQ(v->verify(digest, sig), std::nullopt);
    EXPECT_FALSE(v->has_table());
    // The third starts building the table beside it and is left to OpenSSL too.
    EXPECT_EQ(v->verify(digest, sig), std::nullopt);
    v->wait_for_table();
    EXPECT_TRUE(v->has_table());
    EXPECT_EQ(v->verify(digest, sig), true);
    EXPECT_EQ(P256Verifier::tables(), before + 1);
    EXPECT_EQ(v->verify(sha256("other"), sig), false);
  }
  EXPECT_EQ(P256Verifier::tables(), before);
}

// Every answer is OpenSSL's: good signatures, each with one bit flipped in the digest, r or s,
// the other s of the pair (n - s, which ECDSA also accepts), and another key's signatures.
TEST(P256Verifier, JudgesAsOpenSslOnRandomSignaturesAndTheirAlterations) {
  std::mt19937 rng(20261201);
  for (int k = 0; k < 4; ++k) {
    Pkey key = generate("P-256");
    Pkey other = generate("P-256");
    auto v = P256Verifier::of(key.get(), 0);
    (void)v->verify({}, {});
    v->wait_for_table();
    for (int i = 0; i < 60; ++i) {
      const std::string digest = sha256(std::to_string(rng()));
      const std::string sig = sign_raw(key.get(), digest);
      ASSERT_EQ(v->verify(digest, sig), true);

      std::string bad_digest = digest;
      bad_digest[rng() % 32] ^= static_cast<char>(1 << (rng() % 8));
      std::string bad_sig = sig;
      bad_sig[rng() % 64] ^= static_cast<char>(1 << (rng() % 8));
      const std::string foreign = sign_raw(other.get(), digest);
      for (const auto& [d, s] :
           {std::pair{bad_digest, sig}, {digest, bad_sig}, {digest, foreign}}) {
        ASSERT_EQ(v->verify(d, s), false) << i;
        ASSERT_FALSE(openssl_verifies(key.get(), d, s)) << i;
      }

      BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
      BIGNUM* n =
          BN_bin2bn(reinterpret_cast<const unsigned char*>(order_bytes(0).data()), 32, nullptr);
      BN_sub(s, n, s);
      std::string flipped = sig;
      BN_bn2binpad(s, reinterpret_cast<unsigned char*>(flipped.data()) + 32, 32);
      BN_free(s);
      BN_free(n);
      ASSERT_EQ(v->verify(digest, flipped), openssl_verifies(key.get(), digest, flipped));
      ASSERT_EQ(v->verify(digest, flipped), true);
    }
  }
}

TEST(P256Verifier, RefusesOutOfRangeAndMisshapenValues) {
  Pkey key = generate("P-256");
  auto v = P256Verifier::of(key.get(), 0);
  (void)v->verify({}, {});
  v->wait_for_table();
  const std::string digest = sha256("range");
  const std::string sig = sign_raw(key.get(), digest);
  const std::string r = sig.substr(0, 32), s = sig.substr(32);
  const std::string zero(32, '\0'), ones(32, '\xff');
  for (const std::string& bad : {zero + s, r + zero, order_bytes(0) + s, r + order_bytes(0),
                                 order_bytes(1) + s, r + order_bytes(1), ones + s, r + ones}) {
    EXPECT_EQ(v->verify(digest, bad), false);
    EXPECT_FALSE(openssl_verifies(key.get(), digest, bad));
  }
  EXPECT_EQ(v->verify(digest, sig.substr(0, 63)), false);
  EXPECT_EQ(v->verify(digest.substr(1), sig), false);
  EXPECT_EQ(v->verify(digest + "x", sig), false);
}

}  // namespace
}  // namespace lienthong
