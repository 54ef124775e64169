#include "signing/ecdsa_p256.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

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
  auto r_s = ecdsa_der_to_raw(std::string_view(reinterpret_cast<char*>(der), len), 32);
  EXPECT_TRUE(r_s);
  return r_s.value_or("");
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

// A valid signature whose point R has x(R) >= n, so that r = x(R) - n: made by choosing the
// public key, Q = u2^-1 * (R - u1 * G), since R = u1 * G + u2 * Q is all a verifier checks.
struct SmallR {
  Pkey key;
  std::string digest, r_s;
};

SmallR signature_with_small_r() {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BN_CTX* ctx = BN_CTX_new();
  const BIGNUM* n = EC_GROUP_get0_order(g);
  BIGNUM *x = BN_new(), *r = BN_new(), *s = BN_new(), *e = BN_new(), *w = BN_new(), *u1 = BN_new(),
         *u2 = BN_new();
  EC_POINT *point_r = EC_POINT_new(g), *q = EC_POINT_new(g), *t = EC_POINT_new(g);
  SmallR out;
  out.digest = sha256("small r");
  // The first x = n + k on the curve, below p.
  for (unsigned k = 1; k < 100; ++k) {
    BN_copy(x, n);
    BN_add_word(x, k);
    if (EC_POINT_set_compressed_coordinates(g, point_r, x, 0, ctx) == 1) {
      BN_set_word(r, k);
      break;
    }
  }
  ERR_clear_error();
  BN_set_word(s, 12345);
  BN_bin2bn(reinterpret_cast<const unsigned char*>(out.digest.data()), 32, e);
  BN_mod_inverse(w, s, n, ctx);
  BN_mod_mul(u1, e, w, n, ctx);
  BN_mod_mul(u2, r, w, n, ctx);
  EC_POINT_mul(g, t, u1, nullptr, nullptr, ctx);  // u1 * G
  EC_POINT_invert(g, t, ctx);
  EC_POINT_add(g, t, point_r, t, ctx);  // R - u1 * G
  BN_mod_inverse(u2, u2, n, ctx);
  EC_POINT_mul(g, q, nullptr, t, u2, ctx);
  unsigned char pub[65];
  const std::size_t len = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, 65, ctx);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, len),
                         OSSL_PARAM_END};
  EVP_PKEY_CTX* from = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata_init(from) == 1) EVP_PKEY_fromdata(from, &key, EVP_PKEY_PUBLIC_KEY, params);
  out.key = Pkey(key);
  out.r_s = std::string(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(out.r_s.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(out.r_s.data()) + 32, 32);
  EVP_PKEY_CTX_free(from);
  EC_POINT_free(point_r);
  EC_POINT_free(q);
  EC_POINT_free(t);
  for (BIGNUM* b : {x, r, s, e, w, u1, u2}) BN_free(b);
  BN_CTX_free(ctx);
  EC_GROUP_free(g);
  return out;
}

TEST(P256Verifier, AcceptsASignatureWhosePointLiesBeyondTheOrder) {
  SmallR small = signature_with_small_r();
  ASSERT_TRUE(small.key);
  ASSERT_EQ(small.r_s.substr(0, 30), std::string(30, '\0'));  // r is small indeed
  ASSERT_TRUE(openssl_verifies(small.key.get(), small.digest, small.r_s));
  auto v = P256Verifier::of(small.key.get(), 0);
  ASSERT_TRUE(v);
  (void)v->verify({}, {});
  v->wait_for_table();
  EXPECT_EQ(v->verify(small.digest, small.r_s), true);
  std::string other = small.r_s;
  other[31] ^= 1;  // another small r
  EXPECT_EQ(v->verify(small.digest, other), false);
  EXPECT_FALSE(openssl_verifies(small.key.get(), small.digest, other));
  EXPECT_EQ(v->verify(sha256("another digest"), small.r_s), false);
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
