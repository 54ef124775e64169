#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/package.hpp"

namespace lienthong {

// The models of the documents stored last (their attachments' content left out), by document
// id: delivering a document, or answering it with a status, soon after it arrived then needs
// neither its stored header read nor parsed again. Stored documents never change, so an entry
// is never stale; a miss falls back to the store. The oldest entry goes first once full.
class PackageCache {
 public:
  struct Entry {
    std::shared_ptr<const Package> package;
    std::uint64_t original_size = 0;  // of the stored original, in bytes
    // The stored original itself, kept while the entries' originals fit in the byte budget, so
    // that delivering the document reads nothing from the store; null otherwise.
    std::shared_ptr<const std::string> original;
  };

  explicit PackageCache(std::size_t capacity, std::size_t original_bytes = 0)
      : capacity_(capacity), original_budget_(original_bytes) {}

  // Only after the document's transaction committed: an id from a rolled-back one is reused.
  // `original` is kept only if no larger than a quarter of the byte budget; the oldest entries go
  // first when the originals kept would exceed it.
  void put(std::int64_t document, std::shared_ptr<const Package> package,
           std::uint64_t original_size, std::shared_ptr<const std::string> original = nullptr);
  [[nodiscard]] std::optional<Entry> find(std::int64_t document) const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t original_bytes() const;

 private:
  void forget_oldest();

  const std::size_t capacity_;
  const std::size_t original_budget_;
  std::size_t original_bytes_ = 0;  // of the originals held
  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::deque<std::int64_t> order_;  // oldest first
};

}  // namespace lienthong
