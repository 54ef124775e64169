#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/directory.hpp"
#include "engine/package.hpp"
#include "engine/store.hpp"
#include "workflows/registry.hpp"
#include "workflows/runtime.hpp"

namespace lienthong {

// Who caused a change, for the audit log.
struct Cause {
  std::string actor;
  std::string agency;  // the agency the actor acts for; empty for the node itself
  std::string request_id;
};

// Drives the workflow runtime from what happens to documents, and writes every effect (tasks,
// deadlines, outbox items, audit events, the new state) in the caller's transaction, so that a
// state change and its consequences are durable together or not at all.
class Router {
 public:
  Router(const WorkflowRegistry& registry, const BusinessCalendar& calendar,
         const Directory& directory, std::string incoming_workflow = "incoming-document")
      : registry_(registry),
        calendar_(calendar),
        directory_(directory),
        incoming_workflow_(std::move(incoming_workflow)) {}

  // A package was accepted. A document starts the incoming workflow for each recipient hosted
  // here and records the hand-overs; a status packet advances the sender's instances.
  Expected<void> received(StoreTx& tx, std::int64_t document, const Package& package,
                          const Cause& cause, Timestamp now) const;

  // The document reaches one agency hosted here: the hand-over is recorded and that agency's
  // incoming workflow starts.
  Expected<void> hand_over(StoreTx& tx, std::int64_t document, const Package& package,
                           const std::string& to, const Cause& cause, Timestamp now) const;
  // A dossier (registered here, not an edXML package) reaches agency `to`, hosted here, to be
  // consulted: the hand-over is recorded and `to`'s incoming workflow starts, as for a document.
  Expected<void> hand_over_dossier(StoreTx& tx, const StoredDocument& dossier,
                                   const std::string& to, const Cause& cause, Timestamp now) const;
  // A recall, update or replacement (`action` 1-3) of a document sent earlier reaches agency `to`,
  // hosted here: its instance of the original is asked (the workflow's on-recall step, whose
  // answer is 15 or 16); one that has already finished answers 16 at once. An update or a
  // replacement is also handed over as a document of its own.
  Expected<void> revise(StoreTx& tx, std::int64_t document, const Package& package, int action,
                        const std::string& to, const Cause& cause, Timestamp now) const;
  // A status about `document` from agency `from` advances every open instance waiting on it.
  Expected<void> status(StoreTx& tx, std::int64_t document, const std::string& from,
                        const std::string& code, const Cause& cause, Timestamp now) const;

  Expected<std::int64_t> start(StoreTx& tx, const std::string& workflow, std::int64_t document,
                               const std::string& owner, DocumentFacts facts, const Cause& cause,
                               Timestamp now) const;
  // A person completes a task with one of its outcomes; only the task's agency may.
  Expected<void> complete_task(StoreTx& tx, std::int64_t task, const std::string& outcome,
                               const Cause& cause, Timestamp now) const;
  Expected<void> fire_timer(StoreTx& tx, std::int64_t instance, std::uint32_t timer,
                            Timestamp now) const;
  Expected<void> recall(StoreTx& tx, std::int64_t instance, const std::string& recipient,
                        const Cause& cause, Timestamp now) const;

 private:
  Expected<void> advance(StoreTx& tx, std::int64_t instance, const Event& event, const Cause& cause,
                         Timestamp now) const;
  Expected<void> persist(StoreTx& tx, InstanceRecord& record, const Transition& t,
                         const Cause& cause, Timestamp now) const;

  const WorkflowRegistry& registry_;
  const BusinessCalendar& calendar_;
  const Directory& directory_;
  std::string incoming_workflow_;
};

// The document fields workflow expressions read.
DocumentFacts facts_of(const Package& package);

// BussinessDocType: 0 a new document (also when absent), 1 a recall, 2 an update, 3 a replacement.
int business_action(const Package& package);

// The hand-over of `package` to agency `to` at `at`, as the reports count it: electronic, or
// electronic with a paper copy when its Bussiness says so. A recall hands nothing over: nullopt.
std::optional<HandOver> hand_over_of(std::int64_t document, const Package& package,
                                     const std::string& to, Timestamp at);

}  // namespace lienthong
