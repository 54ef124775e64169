#pragma once

#include <map>
#include <optional>
#include <set>
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

class Directory {
 public:
  void add(AgencyEntry entry) { agencies_[entry.code] = std::move(entry); }
  const AgencyEntry* find(const std::string& code) const {
    auto it = agencies_.find(code);
    return it == agencies_.end() ? nullptr : &it->second;
  }
  std::vector<const AgencyEntry*> all() const {
    std::vector<const AgencyEntry*> out;
    for (const auto& [code, e] : agencies_) out.push_back(&e);
    return out;
  }

 private:
  std::map<std::string, AgencyEntry> agencies_;
};

}  // namespace lienthong
