#include "engine/package_cache.hpp"

namespace lienthong {

void PackageCache::put(std::int64_t document, std::shared_ptr<const Package> package,
                       std::uint64_t original_size, std::shared_ptr<const std::string> original) {
  if (capacity_ == 0) return;
  if (original && original->size() > original_budget_ / 4) original.reset();
  std::lock_guard lock(mutex_);
  auto [it, added] = entries_.try_emplace(document);
  if (it->second.original) original_bytes_ -= it->second.original->size();
  if (original) original_bytes_ += original->size();
  it->second = Entry{std::move(package), original_size, std::move(original)};
  if (added) order_.push_back(document);
  while (order_.size() > capacity_ || original_bytes_ > original_budget_) forget_oldest();
}

void PackageCache::forget_oldest() {
  auto it = entries_.find(order_.front());
  if (it->second.original) original_bytes_ -= it->second.original->size();
  entries_.erase(it);
  order_.pop_front();
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

std::size_t PackageCache::original_bytes() const {
  std::lock_guard lock(mutex_);
  return original_bytes_;
}

}  // namespace lienthong
