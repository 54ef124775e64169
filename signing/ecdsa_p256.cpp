#include "signing/ecdsa_p256.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <system_error>

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

// 256-bit numbers as four 64-bit limbs, least significant first, for the one inversion modulo the
// group order that a verification needs: BN_mod_inverse takes 15 µs with inputs that vary, this 5.
using U256 = std::array<std::uint64_t, 4>;
using U128 = unsigned __int128;

U256 from_bytes(const unsigned char* b) {
  U256 x{};
  for (int i = 0; i < 32; ++i) x[3 - i / 8] = (x[3 - i / 8] << 8) | b[i];
  return x;
}

void to_bytes(const U256& x, unsigned char* b) {
  for (int i = 0; i < 32; ++i)
    b[i] = static_cast<unsigned char>(x[3 - i / 8] >> (56 - 8 * (i % 8)));
}

bool less(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a[i] != b[i]) return a[i] < b[i];
  }
  return false;
}

// a += b; the carry out.
std::uint64_t add(U256& a, const U256& b) {
  U128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    carry += static_cast<U128>(a[i]) + b[i];
    a[i] = static_cast<std::uint64_t>(carry);
    carry >>= 64;
  }
  return static_cast<std::uint64_t>(carry);
}

// a -= b; the borrow out.
std::uint64_t sub(U256& a, const U256& b) {
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const U128 d = static_cast<U128>(a[i]) - b[i] - borrow;
    a[i] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) & 1;
  }
  return borrow;
}

// a >>= t, for 0 < t < 64.
void shift_right(U256& a, unsigned t) {
  for (int i = 0; i < 3; ++i) a[i] = (a[i] >> t) | (a[i + 1] << (64 - t));
  a[3] >>= t;
}

// x = x·2⁻ᵗ mod n, for x < n and 0 < t < 64, with minus_inv = -n⁻¹ mod 2⁶⁴: adding k·n, the k
// that clears the low t bits, leaves a multiple of 2ᵗ under 2n.
void divide_by_power_of_two(U256& x, unsigned t, const U256& n, std::uint64_t minus_inv) {
  const std::uint64_t k = (x[0] * minus_inv) & ((std::uint64_t{1} << t) - 1);
  std::uint64_t sum[5];
  U128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    carry += static_cast<U128>(k) * n[i] + x[i];
    sum[i] = static_cast<std::uint64_t>(carry);
    carry >>= 64;
  }
  sum[4] = static_cast<std::uint64_t>(carry);
  for (int i = 0; i < 4; ++i) x[i] = (sum[i] >> t) | (sum[i + 1] << (64 - t));
  if ((sum[4] >> t) != 0 || !less(x, n)) sub(x, n);
}

// Divides w by its largest power of two, and x by the same modulo n.
void make_odd(U256& w, U256& x, const U256& n, std::uint64_t minus_inv) {
  unsigned zeros = 0;
  for (int i = 0; i < 4 && w[i] == 0; ++i) zeros += 64;
  if (zeros < 256) zeros += static_cast<unsigned>(__builtin_ctzll(w[zeros / 64]));
  while (zeros > 0) {
    const unsigned t = zeros > 63 ? 63 : zeros;
    shift_right(w, t);
    divide_by_power_of_two(x, t, n, minus_inv);
    zeros -= t;
  }
}

struct Modulus {
  U256 n;
  std::uint64_t minus_inv;  // -n⁻¹ mod 2⁶⁴
};

// P-256's group order, worked out once.
const Modulus& group_order() {
  static const Modulus order = [] {
    unsigned char bytes[32] = {};
    BN_bn2binpad(EC_GROUP_get0_order(p256()), bytes, 32);
    const U256 n = from_bytes(bytes);
    std::uint64_t inv = 1;  // n⁻¹ mod 2⁶⁴ by Newton's iteration: each step doubles the good bits
    for (int i = 0; i < 6; ++i) inv *= 2 - n[0] * inv;
    return Modulus{n, ~inv + 1};
  }();
  return order;
}

// a⁻¹ mod n for 0 < a < n, n an odd prime: binary extended Euclid on odd u and v, keeping
// x1·a ≡ u and x2·a ≡ v (mod n) with x1, x2 in [0, n), all of a difference's factors of two
// removed at once. Not constant time: it only ever sees public values.
U256 inverse_mod(U256 u, const Modulus& m) {
  const U256& n = m.n;
  const std::uint64_t minus_inv = m.minus_inv;
  U256 v = n, x1{1, 0, 0, 0}, x2{};
  make_odd(u, x1, n, minus_inv);
  while (((u[0] ^ v[0]) | (u[1] ^ v[1]) | (u[2] ^ v[2]) | (u[3] ^ v[3])) != 0) {
    if (less(u, v)) {
      sub(v, u);
      if (sub(x2, x1)) add(x2, n);
      make_odd(v, x2, n, minus_inv);
    } else {
      sub(u, v);
      if (sub(x1, x2)) add(x1, n);
      make_odd(u, x1, n, minus_inv);
    }
  }
  return x1;
}

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
  wait_for_table();
  if (EC_GROUP* t = table_.load()) {
    EC_GROUP_free(t);
    --g_tables;
  }
}

int P256Verifier::tables() {
  return g_tables.load();
}

void P256Verifier::wait_for_table() const {
  std::lock_guard lock(builder_mutex_);
  if (builder_.joinable()) builder_.join();
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
  // Built beside the verifications rather than in one of them, which would wait 19 ms.
  std::lock_guard lock(builder_mutex_);
  try {
    builder_ = std::thread([this] {
      if (EC_GROUP* t = build_table(key_.get())) {
        table_.store(t, std::memory_order_release);
      } else {
        --g_tables;
      }
    });
  } catch (const std::system_error&) {
    --g_tables;  // no thread to be had: this key stays with OpenSSL
  }
  return nullptr;
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
  BIGNUM* x = BN_CTX_get(ctx);  // the sum's Jacobian X
  BIGNUM* z2 = BN_CTX_get(ctx);
  BIGNUM* c = BN_CTX_get(ctx);
  BIGNUM* c_z2 = BN_CTX_get(ctx);
  const auto* rs = reinterpret_cast<const unsigned char*>(r_s.data());
  if (!c_z2 || !BN_bin2bn(rs, 32, r) || !BN_bin2bn(rs + 32, 32, s) ||
      !BN_bin2bn(reinterpret_cast<const unsigned char*>(digest.data()), 32, e)) {
    return std::nullopt;
  }
  if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, n) >= 0 || BN_cmp(s, n) >= 0) return false;
  // With SHA-256 and a 256-bit order the digest is used whole (no leftmost-bits truncation).
  Point sum(EC_POINT_new(g_group));
  Point q_term(EC_POINT_new(q_group));
  unsigned char inverse[32];
  to_bytes(inverse_mod(from_bytes(rs + 32), group_order()), inverse);
  if (!sum || !q_term || !BN_bin2bn(inverse, 32, w) || !BN_mod_mul(u1, e, w, n, ctx) ||
      !BN_mod_mul(u2, r, w, n, ctx) ||
      !EC_POINT_mul(g_group, sum.get(), u1, nullptr, nullptr, ctx) ||
      !EC_POINT_mul(q_group, q_term.get(), u2, nullptr, nullptr, ctx) ||
      !EC_POINT_add(g_group, sum.get(), sum.get(), q_term.get(), ctx)) {
    return std::nullopt;
  }
  if (EC_POINT_is_at_infinity(g_group, sum.get())) return false;
  // The sum's x is X / Z^2 (Jacobian coordinates): it is r mod n when X = c * Z^2 (mod p) for a
  // c = r + k * n below p, which spares the field inversion that its affine x would cost.
  const BIGNUM* p = EC_GROUP_get0_field(g_group);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (!p || !EC_POINT_get_Jprojective_coordinates_GFp(g_group, sum.get(), x, nullptr, z2, ctx) ||
      !BN_mod_sqr(z2, z2, p, ctx) || !BN_copy(c, r)) {
    return std::nullopt;
  }
#pragma GCC diagnostic pop
  while (BN_cmp(c, p) < 0) {
    if (!BN_mod_mul(c_z2, c, z2, p, ctx)) return std::nullopt;
    if (BN_cmp(c_z2, x) == 0) return true;
    if (!BN_add(c, c, n)) return std::nullopt;
  }
  return false;
}

}  // namespace lienthong
