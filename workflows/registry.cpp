#include "workflows/registry.hpp"

#include <mutex>

#include "base/encoding.hpp"

namespace lienthong {

Expected<std::shared_ptr<const WorkflowDef>> WorkflowRegistry::deploy(WorkflowDef workflow,
                                                                      std::string_view source) {
  const std::string fingerprint = sha256_hex(source);
  const auto key = std::make_pair(workflow.id, workflow.version);
  std::unique_lock lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (it->second.fingerprint == fingerprint) return it->second.workflow;
    return Error{"workflow.version_exists",
                 "workflow '" + workflow.id + "' version " + std::to_string(workflow.version) +
                     " is already deployed with different content; deploy it as version " +
                     std::to_string(latest_locked(workflow.id)->version + 1)};
  }
  auto shared = std::make_shared<const WorkflowDef>(std::move(workflow));
  entries_.emplace(key, Entry{shared, fingerprint});
  return shared;
}

std::shared_ptr<const WorkflowDef> WorkflowRegistry::get(const std::string& id, int version) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find({id, version});
  return it == entries_.end() ? nullptr : it->second.workflow;
}

std::shared_ptr<const WorkflowDef> WorkflowRegistry::latest(const std::string& id) const {
  std::shared_lock lock(mutex_);
  return latest_locked(id);
}

std::shared_ptr<const WorkflowDef> WorkflowRegistry::latest_locked(const std::string& id) const {
  auto it = entries_.upper_bound({id, INT32_MAX});
  if (it == entries_.begin()) return nullptr;
  --it;
  return it->first.first == id ? it->second.workflow : nullptr;
}

std::vector<std::pair<std::string, int>> WorkflowRegistry::list() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, int>> out;
  for (const auto& [key, entry] : entries_) out.push_back(key);
  return out;
}

}  // namespace lienthong
