#include "adapters/folder/drop_folder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace lienthong {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxNameLength = 200;
constexpr int kMaxSuffix = 10000;

Error io_error(std::string_view what, const fs::path& path, int err) {
  return Error{"folder.io", std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - suffix.size(),
                    [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); });
}

// A name the legacy system has finished writing, as far as the name tells (the extension rule
// also leaves out *.tmp and *.part).
bool looks_complete(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return ends_with_ci(name, ".edxml") || ends_with_ci(name, ".xml");
}

// "x.edxml" -> {"x", ".edxml"}; a leading dot does not start an extension.
std::pair<std::string_view, std::string_view> split_extension(std::string_view name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {name, {}};
  return {name.substr(0, dot), name.substr(dot)};
}

std::string with_suffix(std::string_view name, int n) {
  if (n == 0) return std::string(name);
  const auto [stem, extension] = split_extension(name);
  return std::string(stem) + "." + std::to_string(n) + std::string(extension);
}

std::string one_line(std::string_view text) {
  std::string line(text);
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return line;
}

// 1 if `path` exists, 0 if not, -1 (with errno) if that cannot be told.
int exists_no_follow(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return 1;
  return errno == ENOENT ? 0 : -1;
}

// rename(2) that fails with EEXIST instead of replacing `to`.
int rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -1;
  // The filesystem lacks RENAME_NOREPLACE; only this process writes these folders.
  switch (exists_no_follow(to)) {
    case 0:
      return ::rename(from.c_str(), to.c_str());
    case 1:
      errno = EEXIST;
      return -1;
    default:
      return -1;
  }
}

// Makes renames in `dir` durable. Best effort: the rename itself has already happened.
void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Writes `bytes` to `path` and fsyncs it; removes it again on failure.
Expected<void> write_synced(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return io_error("cannot create", path, errno);
  int err = 0;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(path.c_str());
    return io_error("cannot write", path, err);
  }
  return {};
}

// Writes dir/name through a temporary dot name, replacing any earlier dir/name.
Expected<void> write_replacing(const fs::path& dir, const std::string& name,
                               std::string_view bytes) {
  const fs::path tmp = dir / ("." + name + ".tmp");
  const fs::path path = dir / name;
  if (auto written = write_synced(tmp, bytes); !written) return written;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename to", path, err);
  }
  sync_dir(dir);
  return {};
}

// Renames `from` to dir/name, or dir/name.1 ... when taken (or when its `sidecar` file is).
Expected<std::string> move_unique(const fs::path& from, const fs::path& dir, std::string_view name,
                                  std::string_view sidecar) {
  for (int n = 0; n < kMaxSuffix; ++n) {
    std::string candidate = with_suffix(name, n);
    if (!sidecar.empty()) {
      const fs::path sidecar_path = dir / (candidate + std::string(sidecar));
      const int taken = exists_no_follow(sidecar_path);
      if (taken < 0) {
        const int err = errno;
        return io_error("cannot move " + from.string() + ", cannot check", sidecar_path, err);
      }
      if (taken > 0) continue;
    }
    if (rename_no_replace(from, dir / candidate) == 0) {
      sync_dir(dir);
      sync_dir(from.parent_path());
      return candidate;
    }
    if (const int err = errno; err != EEXIST) {
      return io_error("cannot move " + from.string() + " to", dir / candidate, err);
    }
  }
  return io_error("no free name for", dir / name, EEXIST);
}

struct Candidate {
  std::string name;
  struct timespec mtime;
};

struct ReadOutcome {
  enum Kind { kBytes, kTooLarge, kChanged, kGone } kind;
  PackageBytes bytes;
  std::uint64_t size = 0;
};

// Reads a settled file, unless it is larger than `max_bytes` or changes while it is read.
Expected<ReadOutcome> read_candidate(const fs::path& path, const Candidate& c,
                                     std::uint64_t max_bytes, const std::string& spool_dir) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return ReadOutcome{ReadOutcome::kGone};
    return io_error("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error("cannot stat", path, err);
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return ReadOutcome{ReadOutcome::kTooLarge, {}, static_cast<std::uint64_t>(st.st_size)};
  }
  // A large file is copied into a spool a piece at a time, a small one read into memory.
  const bool spool = static_cast<std::uint64_t>(st.st_size) > kSpoolAbove;
  std::shared_ptr<Spool> file;
  if (spool) {
    auto created = Spool::create(spool_dir);
    if (!created) {
      ::close(fd);
      return created.error();
    }
    file = std::move(*created);
  }
  std::string bytes(spool ? kSpoolAbove : static_cast<std::size_t>(st.st_size), '\0');
  std::uint64_t got = 0;
  std::size_t held = 0;  // in `bytes`, not yet in the spool
  for (;;) {
    if (held == bytes.size()) {
      if (spool) {
        if (auto w = file->append(bytes); !w) {
          ::close(fd);
          return w.error();
        }
        held = 0;
        if (got > max_bytes) break;
      } else {
        // The file may have grown since fstat: read one more chunk to find out.
        if (got > max_bytes) break;
        bytes.resize(std::min<std::uint64_t>(bytes.size() + 65536, max_bytes + 1));
      }
    }
    const ssize_t n = ::read(fd, bytes.data() + held, bytes.size() - held);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
    held += static_cast<std::size_t>(n);
  }
  bytes.resize(held);
  if (spool) {
    if (auto w = file->append(bytes); !w) {
      ::close(fd);
      return w.error();
    }
    bytes.clear();
  }
  struct stat after;
  const bool stat_ok = ::fstat(fd, &after) == 0;
  ::close(fd);
  if (got > max_bytes) return ReadOutcome{ReadOutcome::kTooLarge, {}, got};
  if (!stat_ok || static_cast<std::uint64_t>(after.st_size) != got ||
      after.st_mtim.tv_sec != c.mtime.tv_sec || after.st_mtim.tv_nsec != c.mtime.tv_nsec) {
    return ReadOutcome{ReadOutcome::kChanged};
  }
  return ReadOutcome{ReadOutcome::kBytes, PackageBytes{std::move(bytes), std::move(file)}, got};
}

}  // namespace

std::string sanitize_drop_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out.push_back(allowed ? c : '_');
  }
  if (!out.empty() && out.front() == '.') out.front() = '_';
  if (out.size() > kMaxNameLength) {
    // Keep a short extension: the legacy system picks files by it.
    const auto [stem, extension] = split_extension(out);
    if (extension.size() <= 16) {
      out = std::string(stem.substr(0, kMaxNameLength - extension.size())) + std::string(extension);
    } else {
      out.resize(kMaxNameLength);
    }
  }
  return out;
}

DropFolder::DropFolder(fs::path root, const Clock& clock, Import import, DropFolderOptions options)
    : root_(std::move(root)), clock_(clock), import_(std::move(import)), options_(options) {
  for (const fs::path& dir : {in_dir(), done_dir(), failed_dir(), out_dir()}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec && !fs::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
    if (ec) {
      throw std::runtime_error("drop folder: cannot create " + dir.string() + ": " + ec.message());
    }
  }
}

Expected<ScanResult> DropFolder::scan() {
  std::lock_guard lock(scan_mutex_);
  const fs::path in = in_dir();
  const std::int64_t now = clock_.now();
  ScanResult result;
  std::optional<Error> read_error;

  std::vector<Candidate> candidates;
  std::error_code ec;
  for (fs::directory_iterator it(in, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!looks_complete(name)) continue;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      const int err = errno;
      if (err != ENOENT && !read_error) read_error = io_error("cannot stat", it->path(), err);
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (now - static_cast<std::int64_t>(st.st_mtim.tv_sec) < options_.settle_seconds) {
      ++result.waiting;
      continue;
    }
    candidates.push_back(Candidate{std::move(name), st.st_mtim});
  }
  if (ec) return io_error("cannot list", in, ec.value());
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.mtime.tv_sec, a.mtime.tv_nsec, a.name) <
           std::tie(b.mtime.tv_sec, b.mtime.tv_nsec, b.name);
  });

  for (const Candidate& c : candidates) {
    const fs::path path = in / c.name;
    Expected<ReadOutcome> read = read_candidate(path, c, options_.max_bytes, options_.spool_dir);
    if (!read) {
      if (!read_error) read_error = std::move(read).error();
      continue;
    }
    if (read->kind == ReadOutcome::kGone) continue;
    if (read->kind == ReadOutcome::kChanged) {
      ++result.waiting;
      continue;
    }
    Expected<std::string> receipt =
        read->kind == ReadOutcome::kTooLarge
            ? Expected<std::string>(
                  Error{"folder.too_large", c.name + " has " + std::to_string(read->size) +
                                                " bytes, more than the limit of " +
                                                std::to_string(options_.max_bytes)})
            : import_(std::move(read->bytes));
    if (receipt) {
      Expected<std::string> moved = move_unique(path, done_dir(), c.name, ".receipt");
      if (!moved) return std::move(moved).error();
      auto written = write_replacing(done_dir(), *moved + ".receipt", one_line(*receipt) + "\n");
      if (!written) return written.error();
      ++result.imported;
    } else {
      Expected<std::string> moved = move_unique(path, failed_dir(), c.name, ".reason");
      if (!moved) return std::move(moved).error();
      const Error& why = receipt.error();
      auto written = write_replacing(failed_dir(), *moved + ".reason",
                                     one_line(why.code) + "\n" + one_line(why.message) + "\n");
      if (!written) return written.error();
      ++result.failed;
    }
  }
  if (read_error) return std::move(*read_error);
  return result;
}

Expected<fs::path> DropFolder::export_package(std::string_view name, std::string_view bytes) {
  const std::string clean = sanitize_drop_name(name);
  if (clean.empty()) return Error{"folder.bad_name", "an exported package needs a file name"};
  std::lock_guard lock(export_mutex_);
  const fs::path out = out_dir();
  const fs::path tmp = out / ("." + clean + ".tmp");
  if (auto written = write_synced(tmp, bytes); !written) return written.error();
  for (int n = 0; n < kMaxSuffix; ++n) {
    fs::path path = out / with_suffix(clean, n);
    if (rename_no_replace(tmp, path) == 0) {
      sync_dir(out);
      return path;
    }
    if (errno != EEXIST) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return io_error("cannot rename to", path, err);
    }
  }
  ::unlink(tmp.c_str());
  return io_error("no free name for", out / clean, EEXIST);
}

Expected<std::int64_t> DropFolder::exported_up_to() const {
  const fs::path path = root_ / ".exported";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::int64_t{0};
  std::ifstream in(path);
  std::int64_t id = 0;
  if (!(in >> id) || id < 0) {
    return Error{"folder.io", "the export cursor " + path.string() + " is not a number"};
  }
  return id;
}

Expected<void> DropFolder::set_exported_up_to(std::int64_t id) {
  return write_replacing(root_, ".exported", std::to_string(id) + "\n");
}

}  // namespace lienthong
