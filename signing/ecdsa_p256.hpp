#pragma once

#include <openssl/ec.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "signing/crypto.hpp"

namespace lienthong {

// ECDSA P-256 verification for a public key Q seen often. A signature holds when the x of
// u1·G + u2·Q is r (mod n); OpenSSL has its multiples of G precomputed but builds Q's anew on
// every call. Here Q gets a table of its own, which halves the cost of a verification (about 51 to
// 25 µs on the bench machine). Building it costs about 19 ms and 150 KB, so a key gets one only
// after `warm_uses` verifications, on a thread of its own, and at most kMaxTables keys of the
// process have one; until it is ready verify() answers nullopt and the caller verifies through
// OpenSSL.
class P256Verifier {
 public:
  static constexpr int kWarmUses = 256;
  static constexpr int kMaxTables = 64;

  // nullptr unless `key` is an EC public key on P-256.
  static std::shared_ptr<P256Verifier> of(EVP_PKEY* key, int warm_uses = kWarmUses);
  P256Verifier(Pkey key, int warm_uses) : key_(std::move(key)), warm_uses_(warm_uses) {}
  P256Verifier(const P256Verifier&) = delete;
  P256Verifier& operator=(const P256Verifier&) = delete;
  ~P256Verifier();

  // Whether `r_s` (r then s, 32 bytes each, as XML-DSig writes them) signs the 32-byte SHA-256
  // `digest` under this key; nullopt while the key has no table (or OpenSSL failed to compute).
  [[nodiscard]] std::optional<bool> verify(std::string_view digest, std::string_view r_s) const;
  bool has_table() const { return table_.load(std::memory_order_acquire) != nullptr; }
  // Returns once a table being built is ready (or its building failed).
  void wait_for_table() const;
  // How many keys of the process have a table now.
  static int tables();

 private:
  const EC_GROUP* table() const;

  Pkey key_;
  const int warm_uses_;
  mutable std::atomic<int> uses_{0};
  mutable std::atomic<bool> claimed_{false};       // one thread builds; a refused key never retries
  mutable std::atomic<EC_GROUP*> table_{nullptr};  // P-256 with Q as its generator, precomputed
  mutable std::mutex builder_mutex_;
  mutable std::thread builder_;
};

}  // namespace lienthong
