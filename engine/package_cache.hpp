#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
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
  };

  explicit PackageCache(std::size_t capacity) : capacity_(capacity) {}

  // Only after the document's transaction committed: an id from a rolled-back one is reused.
  void put(std::int64_t document, std::shared_ptr<const Package> package,
           std::uint64_t original_size);
  [[nodiscard]] std::optional<Entry> find(std::int64_t document) const;
  [[nodiscard]] std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::deque<std::int64_t> order_;  // oldest first
};

}  // namespace lienthong
