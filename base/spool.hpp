#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace lienthong {

// Bytes too large to hold in memory (a package with large attachments), kept in an unnamed
// temporary file: it has no name on disk, so it is gone when closed, even after a crash.
class Spool {
 public:
  // In `dir`, or the system's temporary directory when empty.
  [[nodiscard]] static Expected<std::shared_ptr<Spool>> create(const std::string& dir = {});
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  [[nodiscard]] Expected<void> append(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  // Up to `n` bytes from `offset`; fewer only at the end. -1 on an I/O error.
  long read_at(std::uint64_t offset, char* out, std::size_t n) const;
  [[nodiscard]] Expected<std::string> read_all() const;
  // Calls `piece` with the content in order, a bounded piece at a time.
  [[nodiscard]] Expected<void> for_each_piece(
      const std::function<Expected<void>(std::string_view)>& piece) const;
  [[nodiscard]] Expected<std::string> sha256_hex() const;

 private:
  explicit Spool(int fd) : fd_(fd) {}
  int fd_;
  std::uint64_t size_ = 0;
};

// A package's bytes: in memory, or spooled to a file when large.
struct PackageBytes {
  std::string text;
  std::shared_ptr<const Spool> file;
  std::uint64_t size() const { return file ? file->size() : text.size(); }
  // The bytes whole in memory (for what is small enough, or must have them so).
  Expected<std::string> read_all() const {
    if (!file) return text;
    return file->read_all();
  }
};

// Bodies and files over this size are spooled rather than held in memory.
inline constexpr std::size_t kSpoolAbove = 1 << 20;

}  // namespace lienthong
