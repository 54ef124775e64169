#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"

namespace lienthong {

using Timestamp = std::int64_t;  // seconds since the epoch, UTC

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
  std::string prev_hash;  // 32 raw bytes
  std::string hash;       // SHA-256 over prev_hash and the fields above
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
  std::string original;
  std::string sha256_hex;
};

// The writes of one request, inside the group transaction. Every write the domain makes is a
// method here, so that another database can implement the same interface.
class StoreTx {
 public:
  virtual ~StoreTx() = default;
  virtual Expected<std::optional<std::int64_t>> document_by_message_id(const std::string& id) = 0;
  virtual Expected<std::int64_t> insert_document(const NewDocument& doc) = 0;
  virtual Expected<AuditEvent> append_audit(AuditEvent event) = 0;  // seq and hashes are set here
};

struct StoreStats {
  std::uint64_t groups = 0;  // transactions committed
  std::uint64_t writes = 0;  // requests in them
  std::uint64_t largest_group = 0;
  std::uint64_t failed_writes = 0;
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

  virtual Expected<std::optional<StoredDocument>> document(std::int64_t id) = 0;
  // Events with seq >= from, in order, at most `limit`.
  virtual Expected<std::vector<AuditEvent>> audit_events(std::int64_t from, std::size_t limit) = 0;
  virtual StoreStats stats() const = 0;
  virtual int schema_version() const = 0;
};

// Opens (creating if needed) the SQLite store at `path` and applies pending migrations.
// Throws std::runtime_error when the file cannot be opened or migrated (startup).
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

// The audit hash of `event` over its fields and prev_hash.
std::string audit_hash(const AuditEvent& event);

struct AuditCheck {
  bool ok = true;
  std::int64_t events = 0;
  std::int64_t first_bad = 0;  // seq of the first event that does not match
  std::string problem;
};
// Recomputes the whole chain; names the first event that does not match.
Expected<AuditCheck> verify_audit_chain(Store& store);

}  // namespace lienthong
