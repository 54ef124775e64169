#pragma once

#include "engine/directory.hpp"
#include "engine/package_cache.hpp"
#include "engine/ports.hpp"
#include "engine/router.hpp"
#include "engine/store.hpp"

namespace lienthong {

// Hands outbox items addressed to agencies hosted on this node over locally. They went through the
// same outbox, and come out as the same hand-overs, statuses and audit events as a delivery to
// another node, so the trail and the reports treat both alike.
class LocalDelivery {
 public:
  LocalDelivery(Store& store, const Router& router, const Directory& directory, const Codec& codec,
                const Clock& clock)
      : store_(store), router_(router), directory_(directory), codec_(codec), clock_(clock) {}

  // Delivers up to `batch` pending local items, each in its own write; returns how many.
  Expected<std::size_t> run_once(std::size_t batch = 256);
  // Packages remembered at intake, read before the store (see PackageCache).
  void set_package_cache(const PackageCache* cache) { cache_ = cache; }

 private:
  Store& store_;
  const Router& router_;
  const Directory& directory_;
  const Codec& codec_;
  const Clock& clock_;
  const PackageCache* cache_ = nullptr;
};

}  // namespace lienthong
