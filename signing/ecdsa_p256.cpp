#include "signing/ecdsa_p256.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <cstring>

namespace lienthong {
namespace {

std::atomic<int> g_tables{0};

const EC_GROUP* p256() {
  static const EC_GROUP* const group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  return group;
}

struct BnCtxFree {
  void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};
struct PointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
using Point = std::unique_ptr<EC_POINT, PointFree>;

BN_CTX* thread_ctx() {
  thread_local std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  return ctx.get();
}

// The group with `key`'s point as generator and that generator's multiples precomputed, which
// EC_POINT_mul then uses for the generator's term.
EC_GROUP* build_table(EVP_PKEY* key) {
  unsigned char pub[65];
  std::size_t len = 0;
  BN_CTX* ctx = thread_ctx();
  if (!ctx || !p256() ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len) != 1) {
    return nullptr;
  }
  Point q(EC_POINT_new(p256()));
  EC_GROUP* group = EC_GROUP_dup(p256());
  bool ok =
      q && group && EC_POINT_oct2point(p256(), q.get(), pub, len, ctx) == 1 &&
      EC_POINT_is_on_curve(p256(), q.get(), ctx) == 1 &&
      EC_POINT_is_at_infinity(p256(), q.get()) == 0 &&
      EC_GROUP_set_generator(group, q.get(), EC_GROUP_get0_order(p256()), BN_value_one()) == 1;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  // Deprecated in OpenSSL 3 with the rest of the low-level EC API, and still the only way to
  // precompute a point's multiples.
  ok = ok && EC_GROUP_precompute_mult(group, ctx) == 1;
#pragma GCC diagnostic pop
  if (!ok) {
    EC_GROUP_free(group);
    return nullptr;
  }
  return group;
}

}  // namespace

std::shared_ptr<P256Verifier> P256Verifier::of(EVP_PKEY* key, int warm_uses) {
  char name[32] = {};
  if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(key, name, sizeof name, nullptr) != 1 ||
      std::strcmp(name, "prime256v1") != 0) {
    return nullptr;
  }
  return std::make_shared<P256Verifier>(share(key), warm_uses);
}

P256Verifier::~P256Verifier() {
  if (EC_GROUP* t = table_.load()) {
    EC_GROUP_free(t);
    --g_tables;
  }
}

int P256Verifier::tables() {
  return g_tables.load();
}

const EC_GROUP* P256Verifier::table() const {
  if (const EC_GROUP* t = table_.load(std::memory_order_acquire)) return t;
  if (uses_.load(std::memory_order_relaxed) < warm_uses_ &&
      uses_.fetch_add(1, std::memory_order_relaxed) + 1 < warm_uses_) {
    return nullptr;
  }
  if (claimed_.exchange(true)) return nullptr;
  if (g_tables.fetch_add(1) >= kMaxTables) {
    --g_tables;
    return nullptr;
  }
  EC_GROUP* t = build_table(key_.get());
  if (!t) {
    --g_tables;
    return nullptr;
  }
  table_.store(t, std::memory_order_release);
  return t;
}

std::optional<bool> P256Verifier::verify(std::string_view digest, std::string_view r_s) const {
  const EC_GROUP* q_group = table();
  if (!q_group) return std::nullopt;
  if (digest.size() != 32 || r_s.size() != 64) return false;
  const EC_GROUP* g_group = p256();
  const BIGNUM* n = EC_GROUP_get0_order(g_group);
  BN_CTX* ctx = thread_ctx();
  if (!ctx) return std::nullopt;
  BN_CTX_start(ctx);
  struct End {
    BN_CTX* ctx;
    ~End() { BN_CTX_end(ctx); }
  } end{ctx};
  BIGNUM* r = BN_CTX_get(ctx);
  BIGNUM* s = BN_CTX_get(ctx);
  BIGNUM* e = BN_CTX_get(ctx);
  BIGNUM* w = BN_CTX_get(ctx);
  BIGNUM* u1 = BN_CTX_get(ctx);
  BIGNUM* u2 = BN_CTX_get(ctx);
  BIGNUM* x = BN_CTX_get(ctx);
  const auto* rs = reinterpret_cast<const unsigned char*>(r_s.data());
  if (!x || !BN_bin2bn(rs, 32, r) || !BN_bin2bn(rs + 32, 32, s) ||
      !BN_bin2bn(reinterpret_cast<const unsigned char*>(digest.data()), 32, e)) {
    return std::nullopt;
  }
  if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, n) >= 0 || BN_cmp(s, n) >= 0) return false;
  // With SHA-256 and a 256-bit order the digest is used whole (no leftmost-bits truncation).
  Point sum(EC_POINT_new(g_group));
  Point q_term(EC_POINT_new(q_group));
  if (!sum || !q_term || !BN_mod_inverse(w, s, n, ctx) || !BN_mod_mul(u1, e, w, n, ctx) ||
      !BN_mod_mul(u2, r, w, n, ctx) ||
      !EC_POINT_mul(g_group, sum.get(), u1, nullptr, nullptr, ctx) ||
      !EC_POINT_mul(q_group, q_term.get(), u2, nullptr, nullptr, ctx) ||
      !EC_POINT_add(g_group, sum.get(), sum.get(), q_term.get(), ctx)) {
    return std::nullopt;
  }
  if (EC_POINT_is_at_infinity(g_group, sum.get())) return false;
  if (!EC_POINT_get_affine_coordinates(g_group, sum.get(), x, nullptr, ctx) ||
      !BN_nnmod(x, x, n, ctx)) {
    return std::nullopt;
  }
  return BN_cmp(x, r) == 0;
}

}  // namespace lienthong
