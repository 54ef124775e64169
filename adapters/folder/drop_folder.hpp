#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "base/expected.hpp"
#include "base/spool.hpp"
#include "engine/ports.hpp"

namespace lienthong {

struct DropFolderOptions {
  // A file is complete once its last write is at least this old: the legacy system may still be
  // writing it in place.
  std::int64_t settle_seconds = 10;
  std::uint64_t max_bytes = 10 << 20;  // larger files go to failed/ unread (folder.too_large)
  std::string spool_dir;  // where files over kSpoolAbove are copied; empty: the system's temp
};

struct ScanResult {
  std::size_t imported = 0;  // moved to done/
  std::size_t failed = 0;    // moved to failed/
  std::size_t waiting = 0;   // complete-looking names whose last write is not settled yet
};

// The drop folder of a legacy document system, under one root: it drops edXML packages into in/;
// each is imported and moved to done/ (with <name>.receipt) or failed/ (with <name>.reason: code
// and message, one line each); the node writes packages and status packets for it into out/.
// Files are only ever renamed, never overwritten: a taken name gets a numeric suffix before its
// extension (x.1.edxml). Every file is written under a temporary dot name and then renamed.
// scan and export_package may be called from different threads.
class DropFolder {
 public:
  // Imports one package, returning a short receipt ("document 42") or why it was refused.
  // A file over kSpoolAbove bytes comes spooled, never read into memory.
  using Import = std::function<Expected<std::string>(PackageBytes bytes)>;

  // Creates in/, done/, failed/ and out/ if missing; throws std::runtime_error if it cannot.
  DropFolder(std::filesystem::path root, const Clock& clock, Import import,
             DropFolderOptions options = {});

  DropFolder(const DropFolder&) = delete;
  DropFolder& operator=(const DropFolder&) = delete;

  // One pass over in/, oldest last write first (then by name). Takes regular files named *.edxml
  // or *.xml (any case; not dot files) whose last write has settled, and hands each to `import`.
  // A file that cannot be read stays in in/ and the pass goes on; a failure to move a file or to
  // write its receipt or reason ends the pass. Either way the pass returns a `folder.io` error
  // naming the path (the one that ended it, else the first) instead of the counts. A package
  // whose move failed after `import` accepted it stays in in/ and is offered again.
  Expected<ScanResult> scan();

  // Writes out/<name> atomically (out/.<name>.tmp, fsync, rename) and returns its path. The name
  // is sanitized: characters other than [A-Za-z0-9._-] become '_', a leading dot becomes '_', and
  // it is cut to 200 characters (keeping a short extension). `folder.bad_name` if empty,
  // `folder.io` on a filesystem error.
  Expected<std::filesystem::path> export_package(std::string_view name, std::string_view bytes);

  // How far export has gone: the id of the last item exported, kept in <root>/.exported (written
  // atomically) so that a restart goes on from there; 0 before the first.
  Expected<std::int64_t> exported_up_to() const;
  Expected<void> set_exported_up_to(std::int64_t id);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path in_dir() const { return root_ / "in"; }
  std::filesystem::path done_dir() const { return root_ / "done"; }
  std::filesystem::path failed_dir() const { return root_ / "failed"; }
  std::filesystem::path out_dir() const { return root_ / "out"; }

 private:
  std::filesystem::path root_;
  const Clock& clock_;
  Import import_;
  DropFolderOptions options_;
  std::mutex scan_mutex_;
  std::mutex export_mutex_;
};

// The name export_package writes under (before any collision suffix); empty if `name` is empty.
std::string sanitize_drop_name(std::string_view name);

}  // namespace lienthong
