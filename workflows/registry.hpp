#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/expected.hpp"
#include "workflows/definition.hpp"

namespace lienthong {

// Deployed definitions by id and version, safe to read while another thread deploys. A version,
// once deployed, never changes: deploying different content under it is an error (deploying the
// same content again is a no-op), and running instances keep the version they started on.
class WorkflowRegistry {
 public:
  // `source` is the definition's text, fingerprinted to tell a redeploy from a change.
  Expected<std::shared_ptr<const WorkflowDef>> deploy(WorkflowDef workflow,
                                                      std::string_view source);
  std::shared_ptr<const WorkflowDef> get(const std::string& id, int version) const;
  std::shared_ptr<const WorkflowDef> latest(const std::string& id) const;
  std::vector<std::pair<std::string, int>> list() const;

 private:
  struct Entry {
    std::shared_ptr<const WorkflowDef> workflow;
    std::string fingerprint;
  };
  std::shared_ptr<const WorkflowDef> latest_locked(const std::string& id) const;
  mutable std::shared_mutex mutex_;
  std::map<std::pair<std::string, int>, Entry> entries_;
};

}  // namespace lienthong
