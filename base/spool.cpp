#include "base/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

constexpr std::size_t kPiece = 1 << 20;

Error io_error(const std::string& what) {
  return Error{"spool.io", what + ": " + std::strerror(errno)};
}

}  // namespace

Expected<std::shared_ptr<Spool>> Spool::create(const std::string& dir) {
  std::error_code ec;
  const std::string where = dir.empty() ? std::filesystem::temp_directory_path(ec).string() : dir;
  if (ec) return Error{"spool.io", "no temporary directory: " + ec.message()};
  int fd = ::open(where.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string name = where + "/lienthong-spool-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0) return io_error("cannot create a temporary file in " + where);
  return std::shared_ptr<Spool>(new Spool(fd));
}

Spool::~Spool() {
  ::close(fd_);
}

Expected<void> Spool::append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write a temporary file");
    }
    size_ += static_cast<std::uint64_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

long Spool::read_at(std::uint64_t offset, char* out, std::size_t n) const {
  std::size_t got = 0;
  while (got < n && offset + got < size_) {
    const ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return static_cast<long>(got);
}

Expected<void> Spool::for_each_piece(
    const std::function<Expected<void>(std::string_view)>& piece) const {
  std::string buffer(kPiece, '\0');
  for (std::uint64_t at = 0; at < size_;) {
    const long n = read_at(at, buffer.data(), buffer.size());
    if (n <= 0) return io_error("cannot read a temporary file");
    if (auto r = piece(std::string_view(buffer.data(), static_cast<std::size_t>(n))); !r) return r;
    at += static_cast<std::uint64_t>(n);
  }
  return {};
}

Expected<std::string> Spool::read_all() const {
  std::string out(size_, '\0');
  if (read_at(0, out.data(), out.size()) != static_cast<long>(size_)) {
    return io_error("cannot read a temporary file");
  }
  return out;
}

Expected<std::string> Spool::sha256_hex() const {
  Sha256 hash;
  auto r = for_each_piece([&](std::string_view p) -> Expected<void> {
    hash.update(p);
    return {};
  });
  if (!r) return r.error();
  return hash.hex();
}

}  // namespace lienthong
