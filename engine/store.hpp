#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/expected.hpp"
#include "base/metrics.hpp"
#include "base/spool.hpp"

namespace lienthong {

using Timestamp = std::int64_t;  // seconds since the epoch, UTC

// A status an agency gave a document.
struct StatusRecord {
  std::string from;  // the agency
  std::string code;
  Timestamp at = 0;  // when this node had it
  // When the agency issued it: the time written in its packet, in seconds since 1970-01-01 of the
  // issuing node's local clock (edXML times carry no offset).
  std::int64_t issued = 0;
};

// Each agency's latest status among `statuses`, by agency: the one issued last; within one second
// the higher code (01 before 03, 06 before 15), then the later arrival. Arrival alone is not the
// order: a status carried back again after its first carrier was lost arrives after later ones.
std::map<std::string, std::string> latest_statuses(const std::vector<StatusRecord>& statuses);

// The local day (days since 1970-01-01) of `at` at `utc_offset` seconds east of UTC.
inline std::int64_t local_day(Timestamp at, int utc_offset) {
  const Timestamp t = at + utc_offset;
  return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

// The months of the monthly report counts, numbered year * 12 + month - 1, and their days.
inline std::int64_t month_number(int year, int month) {
  return std::int64_t{year} * 12 + month - 1;
}
std::int64_t month_of_day(std::int64_t day);
std::int64_t first_day_of_month(std::int64_t month);
std::int64_t last_day_of_month(std::int64_t month);

// What one audit event adds to the report counts (engine/report), for an agency, a type (the
// document type of a hand-over, "dossier" for dossiers, empty for steps) and a channel
// (electronic, paper or electronic+paper for hand-overs; online, in_person or post for dossiers;
// empty for steps). The store adds it to the local day's and month's counts in the event's
// transaction. It is not hashed: the event's detail says the same, so anyone can recount.
struct Tally {
  std::string agency;
  std::string type;
  std::string channel;
  std::int64_t handovers = 0;
  std::int64_t steps_completed = 0;
  std::int64_t steps_on_time = 0;
  std::int64_t dossiers = 0;
  std::int64_t dossiers_completed = 0;
  std::int64_t dossiers_on_time = 0;

  void add(const Tally& other) {
    handovers += other.handovers;
    steps_completed += other.steps_completed;
    steps_on_time += other.steps_on_time;
    dossiers += other.dossiers;
    dossiers_completed += other.dossiers_completed;
    dossiers_on_time += other.dossiers_on_time;
  }
};

// One entry of the tamper-evident log: who did what, for which agency and document, when.
struct AuditEvent {
  std::int64_t seq = 0;
  Timestamp at = 0;
  std::string actor;          // user, node or peer
  std::string agency;         // on whose behalf
  std::string action;         // e.g. document.received, task.completed
  std::int64_t document = 0;  // 0: none
  std::string detail;         // JSON
  std::string request_id;
  std::string prev_hash;       // 32 raw bytes
  std::string hash;            // SHA-256 over prev_hash and the fields above
  std::optional<Tally> tally;  // written beside the event, never read back with it
};

struct NewDocument {
  std::string message_id;  // the deduplication key (see intake)
  std::string kind;        // document | status
  std::string sender;
  std::vector<std::string> recipients;
  std::string document_id;
  std::string subject;
  Timestamp received_at = 0;
  std::string original;  // the signed bytes exactly as received
  // SHA-256 of `original` in hex, computed by the caller off the single writer thread; when empty
  // the store computes it.
  std::string original_sha256_hex;
  // The package as the codec writes it, attachments' content left out: what routing and
  // delivery read, so that they never parse a large original again. Empty for a small one,
  // whose original is parsed instead (cheaper than writing a header for every package).
  std::string header;
  // Or, for a large package, those bytes in a spool file (then `original` is empty): the store
  // copies them into the database a piece at a time.
  std::shared_ptr<const Spool> original_file;
};

struct StoredDocument {
  std::int64_t id = 0;
  std::string message_id;
  std::string kind;
  std::string sender;
  std::vector<std::string> recipients;
  std::string document_id;
  std::string subject;
  Timestamp received_at = 0;
  std::string original;  // empty unless asked for
  std::uint64_t original_size = 0;
  std::string sha256_hex;
  std::string header;  // see NewDocument; empty for small ones and those stored before schema 11
};

// The writes of one request, inside the group transaction. Every write the domain makes is a
// method here, so that another database can implement the same interface.
// A workflow instance as stored: its definition, owner agency and serialised runtime state.
struct InstanceRecord {
  std::int64_t id = 0;
  std::int64_t document = 0;
  std::string agency;  // the owner
  std::string workflow;
  int version = 0;
  std::string state;  // workflows::serialize
  bool finished = false;
  std::string final_status;
  Timestamp started_at = 0;
  Timestamp updated_at = 0;
};

// A task as people see it in their inbox.
struct TaskRecord {
  std::int64_t id = 0;
  std::int64_t instance = 0;
  std::uint32_t token = 0;
  std::string step;
  std::string agency;
  std::string role;
  Timestamp due_at = 0;  // 0: none
  Timestamp created_at = 0;
  std::string state;  // open | completed | cancelled
  std::string outcome;
  Timestamp closed_at = 0;
  bool on_time = true;
};

// Something to hand to another agency (a package, or a status packet back), through the outbox.
struct OutboxItem {
  std::int64_t id = 0;
  std::string kind;  // document | status
  std::int64_t instance = 0;
  std::uint32_t token = 0;
  std::int64_t document = 0;
  std::string to_agency;
  std::string code;  // status code, for status packets
  Timestamp created_at = 0;
  std::string state;  // pending | delivered | dead
  int attempts = 0;   // deliveries tried to a peer node
  Timestamp next_attempt_at = 0;
  std::string last_error;
};

// The node's audit event about an outbox item: its recipient, its document, what happened.
inline AuditEvent delivery_event(const OutboxItem& item, Timestamp at, std::string action,
                                 std::string detail) {
  AuditEvent e;
  e.at = at;
  e.actor = "node";
  e.agency = item.to_agency;
  e.action = std::move(action);
  e.document = item.document;
  e.detail = std::move(detail);
  return e;
}

// One hand-over of a document between agencies, with its channel, for the reports.
struct HandOver {
  std::int64_t document = 0;
  std::string from_agency;
  std::string to_agency;
  std::string channel;  // electronic | paper | electronic+paper
  std::string document_type;
  Timestamp at = 0;
  // Who caused it, for its audit event (handover.recorded).
  std::string actor = "node";
  std::string request_id;
};

// A user added by an administrator through the API (users of the configuration file stay there).
struct UserRecord {
  std::string name;
  std::string role;    // clerk | administrator | auditor
  std::string agency;  // for clerks
  std::string token_sha256;
  Timestamp created_at = 0;
};

// An agency added by an administrator through the API: hosted on this node, or on a peer.
struct AgencyRecord {
  std::string code;
  std::string name;
  std::string parent;
  std::vector<std::string> signer_fingerprints;
  std::vector<std::string> organisation_fingerprints;
  Timestamp created_at = 0;
  std::string node;  // the peer that hosts it; empty: hosted here
};

// An administrative dossier (hồ sơ TTHC) registered at a one-stop desk (NĐ 61/2018).
struct DossierRecord {
  std::string code;  // {agency code}-{yyMMdd}-{NNNN}
  std::string agency;
  std::string procedure;
  std::string applicant;
  std::string channel;  // online | in_person | post
  Timestamp submitted_at = 0;
  std::int64_t document = 0;
  std::int64_t instance = 0;
};

class StoreTx {
 public:
  virtual ~StoreTx() = default;
  virtual Expected<std::optional<std::int64_t>> document_by_message_id(const std::string& id) = 0;
  virtual Expected<std::int64_t> insert_document(const NewDocument& doc) = 0;
  virtual Expected<AuditEvent> append_audit(AuditEvent event) = 0;  // seq and hashes are set here

  // The document an agency first sent under an edXML DocumentId: the one that its later recalls,
  // updates and replacements (the same DocumentId) and every status about it refer to.
  virtual Expected<std::optional<std::int64_t>> document_sent(const std::string& sender,
                                                              const std::string& document_id) = 0;
  // Every document an agency sent under an edXML DocumentId (the original, then its recalls,
  // updates and replacements), oldest first.
  virtual Expected<std::vector<std::int64_t>> documents_sent(const std::string& sender,
                                                             const std::string& document_id) = 0;
  virtual Expected<std::vector<std::int64_t>> open_instances_of(std::int64_t document) = 0;
  // Every instance about a document, finished or not, oldest first.
  virtual Expected<std::vector<InstanceRecord>> instances_of(std::int64_t document) = 0;
  virtual Expected<std::int64_t> insert_instance(const InstanceRecord& instance) = 0;
  virtual Expected<std::optional<InstanceRecord>> instance(std::int64_t id) = 0;
  virtual Expected<void> update_instance(const InstanceRecord& instance) = 0;
  virtual Expected<std::int64_t> insert_task(const TaskRecord& task) = 0;
  virtual Expected<std::optional<TaskRecord>> task(std::int64_t id) = 0;
  virtual Expected<std::optional<TaskRecord>> task_by_token(std::int64_t instance,
                                                            std::uint32_t token) = 0;
  virtual Expected<void> close_task(std::int64_t id, const std::string& state,
                                    const std::string& outcome, Timestamp at, bool on_time) = 0;
  virtual Expected<void> set_deadline(std::int64_t instance, std::uint32_t timer,
                                      Timestamp due) = 0;
  virtual Expected<void> clear_deadline(std::int64_t instance, std::uint32_t timer) = 0;
  virtual Expected<std::int64_t> enqueue(const OutboxItem& item) = 0;
  // When the latest status about `document` was queued for `to_agency`; nullopt if never.
  virtual Expected<std::optional<Timestamp>> last_status_at(std::int64_t document,
                                                            const std::string& to_agency) = 0;
  virtual Expected<std::optional<OutboxItem>> outbox_item(std::int64_t id) = 0;
  // The status packets queued about a document, in any state, oldest first.
  virtual Expected<std::vector<OutboxItem>> statuses_queued(std::int64_t document) = 0;
  virtual Expected<void> set_outbox_state(std::int64_t id, const std::string& state) = 0;
  // After a delivery attempt to a peer: the new state, attempt count, when to try next, and why
  // the last attempt failed (empty when it succeeded).
  virtual Expected<void> record_attempt(std::int64_t id, const std::string& state, int attempts,
                                        Timestamp next_attempt_at,
                                        const std::string& last_error) = 0;
  virtual Expected<std::optional<StoredDocument>> document(std::int64_t id,
                                                           bool with_original = true) = 0;
  // Records a hand-over once per (document, to_agency), with its audit event handover.recorded
  // and its tally; a hand-over already recorded changes nothing.
  virtual Expected<void> record_hand_over(const HandOver& hand_over) = 0;
  // Completed tasks of an instance that were late.
  virtual Expected<std::int64_t> late_tasks(std::int64_t instance) = 0;
  // The dossier an instance handles, if it handles one.
  virtual Expected<std::optional<DossierRecord>> dossier_of_instance(std::int64_t instance) = 0;
  // A status packet received from another node about a document sent from here, at `at`;
  // `issued` is the time in it (see StatusRecord), nullopt when it has none.
  virtual Expected<void> record_status(std::int64_t document, const std::string& from_agency,
                                       const std::string& code, Timestamp at,
                                       std::optional<std::int64_t> issued) = 0;
  // The next dossier number of an agency on a local day (yyMMdd), without gaps: numbers are taken
  // inside the transaction, so a request that fails gives its number back.
  virtual Expected<int> next_dossier_number(const std::string& agency, const std::string& day) = 0;
  virtual Expected<void> insert_dossier(const DossierRecord& dossier) = 0;
  // Keeps a deployed definition's text: once a version is stored, different text under it is
  // refused (`workflow.version_exists`), so running instances never change definition.
  virtual Expected<void> insert_user(const UserRecord& user) = 0;
  virtual Expected<void> insert_agency(const AgencyRecord& agency) = 0;
  virtual Expected<void> save_workflow(const std::string& id, int version,
                                       const std::string& source, Timestamp at) = 0;
};

struct StoredWorkflow {
  std::string id;
  int version = 0;
  std::string source;
  Timestamp deployed_at = 0;
};

struct StoreStats {
  std::uint64_t groups = 0;  // transactions committed
  std::uint64_t writes = 0;  // requests in them
  std::uint64_t largest_group = 0;
  std::uint64_t failed_writes = 0;
  std::uint64_t checkpoints_asked = 0;  // of the checkpointer thread, as the WAL grew
  Histogram::Snapshot commit_seconds;   // BEGIN to durable COMMIT, per group
  Histogram::Snapshot group_sizes;      // requests per group
};

// The node's durable state. Writes go through one writer that groups concurrent requests into one
// transaction (one fsync for the group); each request's `done` runs only after its group is on
// disk, with the request's own result (a failing request rolls back alone).
class Store {
 public:
  using Work = std::function<Expected<void>(StoreTx&)>;
  using Done = std::function<void(Expected<void>)>;

  virtual ~Store() = default;
  virtual void write(Work work, Done done) = 0;
  Expected<void> write_sync(Work work);

  virtual Expected<std::optional<StoredDocument>> document(std::int64_t id,
                                                           bool with_original = true) = 0;
  // Events with seq >= from, in order, at most `limit`.
  virtual Expected<std::vector<AuditEvent>> audit_events(std::int64_t from, std::size_t limit) = 0;
  virtual Expected<std::optional<TaskRecord>> task(std::int64_t id) = 0;
  virtual Expected<std::vector<StoredWorkflow>> workflows() = 0;
  virtual Expected<std::vector<UserRecord>> users() = 0;
  virtual Expected<std::optional<UserRecord>> user_by_token(const std::string& sha256_hex) = 0;
  virtual Expected<std::vector<AgencyRecord>> agencies() = 0;
  // Tasks of an agency in `state` (open, completed, cancelled; empty: all), oldest first, a page
  // of `limit` after `offset`.
  virtual Expected<std::vector<TaskRecord>> tasks_of(const std::string& agency,
                                                     const std::string& state, std::size_t limit,
                                                     std::size_t offset) = 0;
  Expected<std::vector<TaskRecord>> open_tasks(const std::string& agency, std::size_t limit) {
    return tasks_of(agency, "open", limit, 0);
  }
  // Documents and status packets addressed to an agency with an id above `after`, oldest first,
  // without their originals (what a drop folder exports, reading each original in turn).
  virtual Expected<std::vector<StoredDocument>> addressed_to(const std::string& agency,
                                                             std::int64_t after,
                                                             std::size_t limit) = 0;
  // Documents an agency sent, newest first.
  virtual Expected<std::vector<StoredDocument>> sent_by(const std::string& agency,
                                                        std::size_t limit, std::size_t offset) = 0;
  // The audit events about a document, in order: its history.
  virtual Expected<std::vector<AuditEvent>> history(std::int64_t document) = 0;
  // Status packets about a document, in order of arrival; from agencies hosted here and from
  // those on other nodes.
  virtual Expected<std::vector<StatusRecord>> statuses(std::int64_t document) = 0;
  virtual Expected<std::vector<InstanceRecord>> instances_of(std::int64_t document) = 0;
  virtual Expected<std::vector<OutboxItem>> outbox(const std::string& state, std::size_t limit) = 0;
  // How many items of `kind` are in `state`, without reading them.
  virtual Expected<std::int64_t> outbox_count(const std::string& kind,
                                              const std::string& state) = 0;
  // Items in `state` addressed to one of `agencies`, oldest first.
  virtual Expected<std::vector<OutboxItem>> outbox_to(const std::string& state,
                                                      const std::vector<std::string>& agencies,
                                                      std::size_t limit) = 0;
  // When the earliest pending item of `kind` is next due; nullopt when none is pending.
  virtual Expected<std::optional<Timestamp>> next_outbox_attempt(const std::string& kind) = 0;
  // Pending items of `kind` whose next attempt is due at `now`, the most overdue first. An item
  // waits while an older one to the same agency about the same document is pending, so that one
  // recipient's statuses (04 then 05) arrive in the order they arose.
  virtual Expected<std::vector<OutboxItem>> outbox_due(const std::string& kind, Timestamp now,
                                                       std::size_t limit) = 0;
  // The earliest pending deadline: (instance, timer, due).
  virtual Expected<std::optional<std::tuple<std::int64_t, std::uint32_t, Timestamp>>>
  next_deadline() = 0;
  // The report counts of the local days first_day..last_day (days since 1970-01-01, both
  // included), summed per agency, type and channel.
  virtual Expected<std::vector<Tally>> tallies(std::int64_t first_day, std::int64_t last_day) = 0;
  // Open tasks per agency: how many, and how many of them are due before `overdue_before`.
  struct OpenTasks {
    std::string agency;
    std::int64_t open = 0;
    std::int64_t overdue = 0;
  };
  virtual Expected<std::vector<OpenTasks>> open_tasks_by_agency(Timestamp overdue_before) = 0;
  virtual StoreStats stats() const = 0;
  // Called on the writer thread with every audit event once its transaction is durable (for the
  // node's log of state changes). Set it before the first write.
  virtual void on_audit_committed(std::function<void(const AuditEvent&)> listener) = 0;
  virtual int schema_version() const = 0;
};

// Opens (creating if needed) the SQLite store at `path` and applies pending migrations.
// Throws std::runtime_error when the file cannot be opened or migrated (startup).
// Report counts are kept per local day at `utc_offset_seconds` east of UTC (Vietnam's by default).
std::unique_ptr<Store> open_sqlite_store(const std::string& path,
                                         int utc_offset_seconds = 7 * 3600);

// An event's fields (seq, at, actor, agency, action, document, detail, request_id), each as an
// 8-byte big-endian length and its bytes, numbers in decimal: the entry of its Merkle leaf.
std::string audit_entry(const AuditEvent& event);
// The audit hash of `event`: SHA-256 of prev_hash then its entry.
std::string audit_hash(const AuditEvent& event);

// Follows the hash chain one event at a time, from the event `first_seq` and the hash before it.
class AuditChainFollower {
 public:
  explicit AuditChainFollower(std::int64_t first_seq = 1,
                              std::string prev_hash = std::string(32, '\0'))
      : expected_seq_(first_seq), prev_(std::move(prev_hash)) {}
  struct Break {
    std::int64_t seq = 0;  // the first event that is wrong or missing
    std::string problem;
  };
  // Nothing when `event` continues the chain; otherwise what breaks it (do not go on after that).
  std::optional<Break> next(const AuditEvent& event);

 private:
  std::int64_t expected_seq_;
  std::string prev_;
};

struct AuditCheck {
  bool ok = true;
  std::int64_t events = 0;
  std::int64_t first_bad = 0;  // seq of the first event that does not match
  std::string problem;
};
// Recomputes the whole chain; names the first event that does not match.
Expected<AuditCheck> verify_audit_chain(Store& store);

}  // namespace lienthong
