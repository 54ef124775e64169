#include "engine/package_cache.hpp"

namespace lienthong {

void PackageCache::put(std::int64_t document, std::shared_ptr<const Package> package,
                       std::uint64_t original_size) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  auto [it, added] = entries_.try_emplace(document);
  it->second = Entry{std::move(package), original_size};
  if (!added) return;
  order_.push_back(document);
  while (order_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<PackageCache::Entry> PackageCache::find(std::int64_t document) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(document);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::size_t PackageCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace lienthong
