#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace lienthong {

// What the node knows of an agency: where it is hosted and which certificates may sign for it.
struct AgencyEntry {
  std::string code;
  std::string name;
  std::string parent;                         // for roll-ups (commune -> district -> province)
  bool local = false;                         // hosted on this node
  std::string node;                           // the peer that hosts it, when not local
  std::set<std::string> signer_fingerprints;  // SHA-256 of allowed signer certificates
  std::set<std::string> organisation_fingerprints;  // and of organisation certificates
};

// The agencies this node knows. Read by every request while an administrator may add one:
// entries are only ever added, never changed, so a pointer from find() stays valid.
class Directory {
 public:
  // false when the code is already known.
  bool add(AgencyEntry entry) {
    std::unique_lock lock(mutex_);
    return agencies_.emplace(entry.code, std::move(entry)).second;
  }
  const AgencyEntry* find(const std::string& code) const {
    std::shared_lock lock(mutex_);
    auto it = agencies_.find(code);
    return it == agencies_.end() ? nullptr : &it->second;
  }
  std::vector<const AgencyEntry*> all() const {
    std::shared_lock lock(mutex_);
    std::vector<const AgencyEntry*> out;
    for (const auto& [code, e] : agencies_) out.push_back(&e);
    return out;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, AgencyEntry> agencies_;
};

}  // namespace lienthong
