#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "base/encoding.hpp"
#include "base/thread_name.hpp"
#include "config/node_config.hpp"
#include "engine/sqlite.hpp"
#include "engine/sqlite_audit.hpp"
#include "engine/store.hpp"

namespace lienthong {

std::int64_t month_of_day(std::int64_t day) {
  const ConfigDate d = ConfigDate::from_day_number(day);
  return month_number(d.year, d.month);
}

std::int64_t first_day_of_month(std::int64_t month) {
  const auto year = static_cast<int>(month >= 0 ? month / 12 : -((-month + 11) / 12));
  return ConfigDate{year, static_cast<int>(month - std::int64_t{year} * 12) + 1, 1}.day_number();
}

std::int64_t last_day_of_month(std::int64_t month) {
  return first_day_of_month(month + 1) - 1;
}

Expected<void> Store::write_sync(Work work) {
  std::promise<Expected<void>> promise;
  auto future = promise.get_future();
  write(std::move(work), [&promise](Expected<void> r) { promise.set_value(std::move(r)); });
  return future.get();
}

std::string audit_entry(const AuditEvent& e) {
  const std::string seq = std::to_string(e.seq), at = std::to_string(e.at),
                    document = std::to_string(e.document);
  const std::string_view fields[] = {seq,      at,       e.actor,  e.agency,
                                     e.action, document, e.detail, e.request_id};
  std::size_t size = 0;
  for (std::string_view v : fields) size += 8 + v.size();
  std::string buf;
  buf.reserve(size);
  for (std::string_view v : fields) {  // each field: its length (8 bytes, big-endian), then it
    char length[8];
    for (int i = 0; i < 8; ++i) {
      length[i] = static_cast<char>((static_cast<std::uint64_t>(v.size()) >> (8 * (7 - i))) & 0xff);
    }
    buf.append(length, 8);
    buf.append(v);
  }
  return buf;
}

std::string audit_hash(const AuditEvent& e) {
  return sha256(e.prev_hash + audit_entry(e));
}

namespace {

// Forward-only migrations; the index + 1 is the schema version they lead to.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  document_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  original BLOB NOT NULL,
  sha256 TEXT NOT NULL
);
CREATE TABLE document_recipients (
  document INTEGER NOT NULL REFERENCES documents(id),
  agency TEXT NOT NULL,
  PRIMARY KEY (document, agency)
) WITHOUT ROWID;
CREATE INDEX document_recipients_by_agency ON document_recipients(agency, document);
CREATE INDEX documents_by_sender ON documents(sender, received_at);
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  agency TEXT NOT NULL,
  action TEXT NOT NULL,
  document INTEGER NOT NULL,
  detail TEXT NOT NULL,
  request_id TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
)sql",
    R"sql(
CREATE TABLE instances (
  id INTEGER PRIMARY KEY,
  document INTEGER NOT NULL REFERENCES documents(id),
  agency TEXT NOT NULL,
  workflow TEXT NOT NULL,
  version INTEGER NOT NULL,
  state BLOB NOT NULL,
  finished INTEGER NOT NULL DEFAULT 0,
  final_status TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX instances_by_document ON instances(document);
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  instance INTEGER NOT NULL REFERENCES instances(id),
  token INTEGER NOT NULL,
  step TEXT NOT NULL,
  agency TEXT NOT NULL,
  role TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  closed_at INTEGER NOT NULL DEFAULT 0,
  on_time INTEGER NOT NULL DEFAULT 1,
  UNIQUE (instance, token)
);
CREATE INDEX tasks_open_by_agency ON tasks(agency, state, created_at);
CREATE TABLE deadlines (
  instance INTEGER NOT NULL REFERENCES instances(id),
  timer INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  PRIMARY KEY (instance, timer)
) WITHOUT ROWID;
CREATE INDEX deadlines_by_due ON deadlines(due_at);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  instance INTEGER NOT NULL,
  token INTEGER NOT NULL,
  document INTEGER NOT NULL,
  to_agency TEXT NOT NULL,
  code TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE INDEX outbox_by_state ON outbox(state, id);
CREATE TABLE hand_overs (
  id INTEGER PRIMARY KEY,
  document INTEGER NOT NULL,
  from_agency TEXT NOT NULL,
  to_agency TEXT NOT NULL,
  channel TEXT NOT NULL,
  document_type TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (document, to_agency)
);
CREATE INDEX hand_overs_by_time ON hand_overs(at);
)sql",
    R"sql(
CREATE TABLE dossier_counters (
  agency TEXT NOT NULL,
  day TEXT NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (agency, day)
) WITHOUT ROWID;
CREATE TABLE dossiers (
  code TEXT PRIMARY KEY,
  agency TEXT NOT NULL,
  procedure TEXT NOT NULL,
  applicant TEXT NOT NULL,
  channel TEXT NOT NULL,
  submitted_at INTEGER NOT NULL,
  document INTEGER NOT NULL REFERENCES documents(id),
  instance INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dossiers_by_agency ON dossiers(agency, submitted_at);
)sql",
    R"sql(
CREATE TABLE workflow_definitions (
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  source TEXT NOT NULL,
  deployed_at INTEGER NOT NULL,
  PRIMARY KEY (id, version)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  agency TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE agencies (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  parent TEXT NOT NULL,
  signer_fingerprints TEXT NOT NULL,
  organisation_fingerprints TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE INDEX audit_events_by_document ON audit_events(document, seq);
CREATE INDEX outbox_by_document ON outbox(document, id);
)sql",
    R"sql(
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_due ON outbox(state, kind, next_attempt_at);
)sql",
    R"sql(
CREATE TABLE received_statuses (
  id INTEGER PRIMARY KEY,
  document INTEGER NOT NULL REFERENCES documents(id),
  from_agency TEXT NOT NULL,
  code TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX received_statuses_by_document ON received_statuses(document, id);
)sql",
    R"sql(
CREATE INDEX outbox_pending_by_conversation ON outbox(document, to_agency, id)
  WHERE state = 'pending';
CREATE INDEX outbox_by_agency ON outbox(state, to_agency, id);
CREATE INDEX documents_by_document_id ON documents(sender, document_id, id);
)sql",
    R"sql(
ALTER TABLE agencies ADD COLUMN node TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE documents ADD COLUMN header TEXT NOT NULL DEFAULT '';
CREATE TABLE originals (
  document INTEGER PRIMARY KEY REFERENCES documents(id),
  bytes BLOB NOT NULL
);
)sql",
    // The audit log as a Merkle tree (engine/audit_log): perfect subtrees of 256 leaves and more,
    // and the node's signed checkpoints.
    R"sql(
CREATE TABLE merkle_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  at INTEGER NOT NULL,
  note TEXT NOT NULL
);
)sql",
    // Report counts per local day and per month (engine/report), kept with the events that carry
    // them; earlier hand-overs, completed tasks and registered dossiers are counted in, at the
    // store's UTC offset ({utc_offset} is replaced by it).
    R"sql(
CREATE TABLE report_days (
  day INTEGER NOT NULL,
  agency TEXT NOT NULL,
  type TEXT NOT NULL,
  channel TEXT NOT NULL,
  handovers INTEGER NOT NULL DEFAULT 0,
  steps_completed INTEGER NOT NULL DEFAULT 0,
  steps_on_time INTEGER NOT NULL DEFAULT 0,
  dossiers INTEGER NOT NULL DEFAULT 0,
  dossiers_completed INTEGER NOT NULL DEFAULT 0,
  dossiers_on_time INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, agency, type, channel)
) WITHOUT ROWID;
CREATE TABLE report_months (
  month INTEGER NOT NULL,
  agency TEXT NOT NULL,
  type TEXT NOT NULL,
  channel TEXT NOT NULL,
  handovers INTEGER NOT NULL DEFAULT 0,
  steps_completed INTEGER NOT NULL DEFAULT 0,
  steps_on_time INTEGER NOT NULL DEFAULT 0,
  dossiers INTEGER NOT NULL DEFAULT 0,
  dossiers_completed INTEGER NOT NULL DEFAULT 0,
  dossiers_on_time INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, agency, type, channel)
) WITHOUT ROWID;
CREATE INDEX tasks_open_due ON tasks(due_at) WHERE state = 'open';
CREATE INDEX dossiers_by_instance ON dossiers(instance);
CREATE TEMP TABLE old_counts AS
  SELECT (at + {utc_offset}) / 86400 AS day, from_agency AS agency, document_type AS type, channel,
         1 AS handovers, 0 AS steps_completed, 0 AS steps_on_time, 0 AS dossiers
    FROM hand_overs
  UNION ALL
  SELECT (closed_at + {utc_offset}) / 86400, agency, '', '', 0, 1, on_time, 0
    FROM tasks WHERE state = 'completed'
  UNION ALL
  SELECT (submitted_at + {utc_offset}) / 86400, agency, 'dossier', channel, 0, 0, 0, 1 FROM dossiers;
INSERT INTO report_days(day, agency, type, channel, handovers, steps_completed, steps_on_time,
                        dossiers)
  SELECT day, agency, type, channel, sum(handovers), sum(steps_completed), sum(steps_on_time),
         sum(dossiers)
    FROM old_counts GROUP BY day, agency, type, channel;
INSERT INTO report_months(month, agency, type, channel, handovers, steps_completed, steps_on_time,
                          dossiers)
  -- the month as month_number() numbers it
  SELECT CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 +
             CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,
         agency, type, channel, sum(handovers), sum(steps_completed), sum(steps_on_time),
         sum(dossiers)
    FROM report_days GROUP BY 1, agency, type, channel;
DROP TABLE old_counts;
)sql",
    // When the agency issued each status received from another node (the time in its packet, by
    // that node's local clock): the order of a recipient's statuses, which their arrival is not
    // always. Those received before are taken as issued when they arrived.
    R"sql(
ALTER TABLE received_statuses ADD COLUMN issued INTEGER NOT NULL DEFAULT 0;
UPDATE received_statuses SET issued = at + {utc_offset};
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

void migrate(sqlite::Db& db, const std::string& path, int utc_offset) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("store " + path + ": " + what);
  };
  if (auto r =
          db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      !r) {
    fail(r.error().message);
  }
  auto get = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!get) fail(get.error().message);
  int version = 0;
  if (auto row = get->step(); row && *row) version = std::stoi(get->text(0));
  if (version > kSchemaVersion) {
    fail("schema version " + std::to_string(version) + " is newer than this program (" +
         std::to_string(kSchemaVersion) + "); upgrade lienthong");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    if (auto r = db.exec("BEGIN IMMEDIATE"); !r) fail(r.error().message);
    std::string sql = kMigrations[v];
    for (auto at = sql.find("{utc_offset}"); at != std::string::npos; at = sql.find("{utc_offset}"))
      sql.replace(at, 12, std::to_string(utc_offset));
    auto r = db.exec(sql);
    if (r) {
      r = db.exec("INSERT INTO meta(key, value) VALUES('schema_version', '" +
                  std::to_string(v + 1) +
                  "') ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    }
    if (!r) {
      (void)db.exec("ROLLBACK");
      fail("migration to version " + std::to_string(v + 1) + " failed: " + r.error().message);
    }
    if (auto c = db.exec("COMMIT"); !c) fail(c.error().message);
  }
}

using sqlite::audit_event_from;
using sqlite::one;
using sqlite::rows;

UserRecord user_from(const sqlite::Stmt& r) {
  return UserRecord{r.text(0), r.text(1), r.text(2), r.text(3), r.int64(4)};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

constexpr const char* kTaskColumns =
    "id, instance, token, step, agency, role, due_at, created_at, state, outcome, closed_at, "
    "on_time";

TaskRecord task_from(const sqlite::Stmt& st) {
  TaskRecord t;
  t.id = st.int64(0);
  t.instance = st.int64(1);
  t.token = static_cast<std::uint32_t>(st.int64(2));
  t.step = st.text(3);
  t.agency = st.text(4);
  t.role = st.text(5);
  t.due_at = st.int64(6);
  t.created_at = st.int64(7);
  t.state = st.text(8);
  t.outcome = st.text(9);
  t.closed_at = st.int64(10);
  t.on_time = st.int64(11) != 0;
  return t;
}

constexpr const char* kOutboxColumns =
    "id, kind, instance, token, document, to_agency, code, created_at, state, attempts, "
    "next_attempt_at, last_error";

OutboxItem outbox_from(const sqlite::Stmt& r) {
  OutboxItem o;
  o.id = r.int64(0);
  o.kind = r.text(1);
  o.instance = r.int64(2);
  o.token = static_cast<std::uint32_t>(r.int64(3));
  o.document = r.int64(4);
  o.to_agency = r.text(5);
  o.code = r.text(6);
  o.created_at = r.int64(7);
  o.state = r.text(8);
  o.attempts = static_cast<int>(r.int64(9));
  o.next_attempt_at = r.int64(10);
  o.last_error = r.text(11);
  return o;
}

// SQLite keeps no value larger than this (SQLITE_MAX_LENGTH).
constexpr std::uint64_t kMaxOriginal = 1'000'000'000;

// Since schema 11 the signed bytes are in `originals`, alone in their row: SQLite builds a row
// whole in memory unless its only large value comes last, which is what lets a 100 MB original be
// written a piece at a time. Documents stored before keep theirs in documents.original. length()
// of a blob reads its size, not its content.
constexpr const char* kDocumentColumns =
    "id, message_id, kind, sender, document_id, subject, received_at, "
    "COALESCE((SELECT length(bytes) FROM originals WHERE document = documents.id), "
    "length(original)), sha256, header";

StoredDocument document_from(const sqlite::Stmt& st) {
  StoredDocument d;
  d.id = st.int64(0);
  d.message_id = st.text(1);
  d.kind = st.text(2);
  d.sender = st.text(3);
  d.document_id = st.text(4);
  d.subject = st.text(5);
  d.received_at = st.int64(6);
  d.original_size = static_cast<std::uint64_t>(st.int64(7));
  d.sha256_hex = st.text(8);
  d.header = st.text(9);
  return d;
}

// Incremental blob I/O on documents.original: a large original is read into one string, or
// written from a spool a piece at a time, never copied whole by SQLite on the way.
class OriginalBlob {
 public:
  static Expected<OriginalBlob> open(sqlite::Db& db, std::int64_t id, bool write) {
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(db.handle(), "main", "originals", "bytes", id, write ? 1 : 0, &blob) ==
        SQLITE_OK) {
      return OriginalBlob(blob);
    }
    sqlite3_blob_close(blob);
    blob = nullptr;
    if (write || sqlite3_blob_open(db.handle(), "main", "documents", "original", id, 0, &blob) !=
                     SQLITE_OK) {
      std::string message = db.error_message();
      sqlite3_blob_close(blob);
      return Error{"store.io",
                   "cannot open the original of document " + std::to_string(id) + ": " + message};
    }
    return OriginalBlob(blob);
  }
  OriginalBlob(OriginalBlob&& o) noexcept : blob_(std::exchange(o.blob_, nullptr)) {}
  ~OriginalBlob() { sqlite3_blob_close(blob_); }

  Expected<std::string> read_all() {
    std::string out(static_cast<std::size_t>(sqlite3_blob_bytes(blob_)), '\0');
    if (sqlite3_blob_read(blob_, out.data(), static_cast<int>(out.size()), 0) != SQLITE_OK) {
      return Error{"store.io", "cannot read an original"};
    }
    return out;
  }
  Expected<void> write_from(const Spool& spool) {
    int at = 0;
    return spool.for_each_piece([&](std::string_view piece) -> Expected<void> {
      if (sqlite3_blob_write(blob_, piece.data(), static_cast<int>(piece.size()), at) !=
          SQLITE_OK) {
        return Error{"store.io", "cannot write an original"};
      }
      at += static_cast<int>(piece.size());
      return {};
    });
  }

 private:
  explicit OriginalBlob(sqlite3_blob* blob) : blob_(blob) {}
  sqlite3_blob* blob_;
};

// A stored document with its recipients, read through `db`; its original only when asked.
Expected<std::optional<StoredDocument>> read_document(sqlite::Db& db, std::int64_t id,
                                                      bool with_original) {
  auto st = db.cached(std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, id);
  auto d = one<StoredDocument>(**st, document_from);
  if (!d || !*d) return d;
  if (with_original) {
    auto blob = OriginalBlob::open(db, id, false);
    if (!blob) return blob.error();
    auto bytes = blob->read_all();
    if (!bytes) return bytes.error();
    (*d)->original = std::move(*bytes);
  }
  auto rc = db.cached("SELECT agency FROM document_recipients WHERE document = ? ORDER BY agency");
  if (!rc) return rc.error();
  (*rc)->bind(1, id);
  auto agencies = rows<std::string>(**rc, [](const sqlite::Stmt& r) { return r.text(0); });
  if (!agencies) return agencies.error();
  (*d)->recipients = std::move(*agencies);
  return d;
}

constexpr const char* kInstanceColumns =
    "id, document, agency, workflow, version, state, finished, final_status, started_at, "
    "updated_at";

InstanceRecord instance_from(const sqlite::Stmt& st) {
  InstanceRecord r;
  r.id = st.int64(0);
  r.document = st.int64(1);
  r.agency = st.text(2);
  r.workflow = st.text(3);
  r.version = static_cast<int>(st.int64(4));
  r.state = st.blob(5);
  r.finished = st.int64(6) != 0;
  r.final_status = st.text(7);
  r.started_at = st.int64(8);
  r.updated_at = st.int64(9);
  return r;
}

// Runs a query and collects its rows with `read`.
class SqliteTx final : public StoreTx {
 public:
  SqliteTx(sqlite::Db& db, std::int64_t& last_seq, std::string& last_hash, int utc_offset)
      : db_(db), last_seq_(last_seq), last_hash_(last_hash), utc_offset_(utc_offset) {}
  // Where appended events are kept until their group commits; null: nowhere.
  void keep_appended(std::vector<AuditEvent>* into) { appended_ = into; }

  Expected<std::optional<std::int64_t>> document_by_message_id(const std::string& id) override {
    auto st = stmt(find_, "SELECT id FROM documents WHERE message_id = ?");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    std::optional<std::int64_t> out;
    if (*row) out = (*st)->int64(0);
    (*st)->reset();
    return out;
  }

  Expected<std::int64_t> insert_document(const NewDocument& d) override {
    auto st = stmt(insert_doc_,
                   "INSERT INTO documents(message_id, kind, sender, document_id, subject, "
                   "received_at, original, sha256, header) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, d.message_id).bind(2, d.kind).bind(3, d.sender).bind(4, d.document_id);
    (*st)->bind(5, d.subject).bind(6, d.received_at).bind_blob_static(7, "");
    std::string sha = d.original_sha256_hex;
    if (sha.empty() && d.original_file) {
      auto h = d.original_file->sha256_hex();
      if (!h) return h.error();
      sha = std::move(*h);
    } else if (sha.empty()) {
      sha = sha256_hex(d.original);
    }
    (*st)->bind(8, sha).bind(9, d.header);
    auto r = (*st)->run();
    (*st)->reset();
    if (!r) return r.error();
    const std::int64_t id = db_.last_insert_rowid();
    auto bytes = stmt(insert_original_, "INSERT INTO originals(document, bytes) VALUES(?,?)");
    if (!bytes) return bytes.error();
    (*bytes)->bind(1, id);
    if (d.original_file) {
      if (d.original_file->size() > kMaxOriginal) {
        return Error{"intake.too_large", "the package is " +
                                             std::to_string(d.original_file->size()) +
                                             " bytes once signed, more than the store keeps (" +
                                             std::to_string(kMaxOriginal) + ")"};
      }
      (*bytes)->bind_zeroblob(2, d.original_file->size());
    } else {
      (*bytes)->bind_blob_static(2, d.original);
    }
    auto stored = (*bytes)->run();
    (*bytes)->reset();
    if (!stored) return stored.error();
    if (d.original_file) {
      auto blob = OriginalBlob::open(db_, id, true);
      if (!blob) return blob.error();
      if (auto w = blob->write_from(*d.original_file); !w) return w.error();
    }
    auto rec = stmt(insert_rcpt_,
                    "INSERT OR IGNORE INTO document_recipients(document, agency) VALUES(?,?)");
    if (!rec) return rec.error();
    for (const auto& a : d.recipients) {
      (*rec)->bind(1, id).bind(2, a);
      auto rr = (*rec)->run();
      (*rec)->reset();
      if (!rr) return rr.error();
    }
    return id;
  }

  Expected<std::optional<std::int64_t>> document_sent(const std::string& sender,
                                                      const std::string& document_id) override {
    auto st =
        stmt(document_sent_,
             "SELECT id FROM documents WHERE sender = ? AND document_id = ? AND kind = 'document' "
             "ORDER BY id LIMIT 1");
    if (!st) return st.error();
    (*st)->bind(1, sender).bind(2, document_id);
    return one<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
  }

  Expected<std::vector<std::int64_t>> documents_sent(const std::string& sender,
                                                     const std::string& document_id) override {
    auto st = stmt(documents_sent_,
                   "SELECT id FROM documents WHERE sender = ? AND document_id = ? AND "
                   "kind = 'document' ORDER BY id");
    if (!st) return st.error();
    (*st)->bind(1, sender).bind(2, document_id);
    return rows<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
  }

  Expected<std::vector<std::int64_t>> open_instances_of(std::int64_t document) override {
    auto st = stmt(open_instances_,
                   "SELECT id FROM instances WHERE document = ? AND finished = 0 ORDER BY id");
    if (!st) return st.error();
    (*st)->bind(1, document);
    return rows<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
  }

  Expected<std::optional<Timestamp>> last_status_at(std::int64_t document,
                                                    const std::string& to_agency) override {
    auto st = stmt(last_status_,
                   "SELECT MAX(created_at) FROM outbox WHERE document = ? AND to_agency = ? AND "
                   "kind = 'status'");
    if (!st) return st.error();
    (*st)->bind(1, document).bind(2, to_agency);
    auto at = one<std::optional<Timestamp>>(**st, [](const sqlite::Stmt& r) {
      return r.is_null(0) ? std::optional<Timestamp>() : std::optional<Timestamp>(r.int64(0));
    });
    if (!at) return at.error();
    return at->value_or(std::nullopt);
  }

  Expected<std::vector<InstanceRecord>> instances_of(std::int64_t document) override {
    auto st = stmt(tx_instances_, std::string("SELECT ") + kInstanceColumns +
                                      " FROM instances WHERE document = ? ORDER BY id");
    if (!st) return st.error();
    (*st)->bind(1, document);
    return rows<InstanceRecord>(**st, instance_from);
  }

  Expected<std::int64_t> insert_instance(const InstanceRecord& r) override {
    auto st = stmt(insert_instance_,
                   "INSERT INTO instances(document, agency, workflow, version, state, finished, "
                   "final_status, started_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, r.document).bind(2, r.agency).bind(3, r.workflow).bind(4, r.version);
    (*st)->bind_blob(5, r.state).bind(6, r.finished ? 1 : 0).bind(7, r.final_status);
    (*st)->bind(8, r.started_at).bind(9, r.updated_at);
    auto done = (*st)->run();
    (*st)->reset();
    if (!done) return done.error();
    return db_.last_insert_rowid();
  }

  Expected<std::optional<InstanceRecord>> instance(std::int64_t id) override {
    auto st = stmt(get_instance_,
                   std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return one<InstanceRecord>(**st, instance_from);
  }

  Expected<void> update_instance(const InstanceRecord& r) override {
    auto st = stmt(update_instance_,
                   "UPDATE instances SET state = ?, finished = ?, final_status = ?, updated_at = ? "
                   "WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind_blob(1, r.state).bind(2, r.finished ? 1 : 0).bind(3, r.final_status);
    (*st)->bind(4, r.updated_at).bind(5, r.id);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<std::int64_t> insert_task(const TaskRecord& t) override {
    auto st =
        stmt(insert_task_,
             "INSERT INTO tasks(instance, token, step, agency, role, due_at, created_at, state) "
             "VALUES(?,?,?,?,?,?,?,'open')");
    if (!st) return st.error();
    (*st)->bind(1, t.instance).bind(2, static_cast<std::int64_t>(t.token)).bind(3, t.step);
    (*st)->bind(4, t.agency).bind(5, t.role).bind(6, t.due_at).bind(7, t.created_at);
    auto done = (*st)->run();
    (*st)->reset();
    if (!done) return done.error();
    return db_.last_insert_rowid();
  }

  Expected<std::optional<TaskRecord>> task(std::int64_t id) override {
    auto st = stmt(get_task_, std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return one<TaskRecord>(**st, task_from);
  }

  Expected<std::optional<TaskRecord>> task_by_token(std::int64_t instance,
                                                    std::uint32_t token) override {
    auto st = stmt(get_task_by_token_, std::string("SELECT ") + kTaskColumns +
                                           " FROM tasks WHERE instance = ? AND token = ?");
    if (!st) return st.error();
    (*st)->bind(1, instance).bind(2, static_cast<std::int64_t>(token));
    return one<TaskRecord>(**st, task_from);
  }

  Expected<void> close_task(std::int64_t id, const std::string& state, const std::string& outcome,
                            Timestamp at, bool on_time) override {
    auto st =
        stmt(close_task_,
             "UPDATE tasks SET state = ?, outcome = ?, closed_at = ?, on_time = ? WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, state).bind(2, outcome).bind(3, at).bind(4, on_time ? 1 : 0).bind(5, id);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> set_deadline(std::int64_t instance, std::uint32_t timer, Timestamp due) override {
    auto st = stmt(set_deadline_,
                   "INSERT OR REPLACE INTO deadlines(instance, timer, due_at) VALUES(?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, instance).bind(2, static_cast<std::int64_t>(timer)).bind(3, due);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> clear_deadline(std::int64_t instance, std::uint32_t timer) override {
    auto st = stmt(clear_deadline_, "DELETE FROM deadlines WHERE instance = ? AND timer = ?");
    if (!st) return st.error();
    (*st)->bind(1, instance).bind(2, static_cast<std::int64_t>(timer));
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<std::int64_t> enqueue(const OutboxItem& o) override {
    auto st =
        stmt(enqueue_,
             "INSERT INTO outbox(kind, instance, token, document, to_agency, code, created_at, "
             "state) VALUES(?,?,?,?,?,?,?,'pending')");
    if (!st) return st.error();
    (*st)->bind(1, o.kind).bind(2, o.instance).bind(3, static_cast<std::int64_t>(o.token));
    (*st)->bind(4, o.document).bind(5, o.to_agency).bind(6, o.code).bind(7, o.created_at);
    auto done = (*st)->run();
    (*st)->reset();
    if (!done) return done.error();
    return db_.last_insert_rowid();
  }

  Expected<std::optional<OutboxItem>> outbox_item(std::int64_t id) override {
    auto st =
        stmt(get_outbox_, std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return one<OutboxItem>(**st, outbox_from);
  }

  Expected<std::vector<OutboxItem>> statuses_queued(std::int64_t document) override {
    auto st = stmt(statuses_queued_, std::string("SELECT ") + kOutboxColumns +
                                         " FROM outbox INDEXED BY outbox_by_document WHERE "
                                         "document = ? AND kind = 'status' ORDER BY id");
    if (!st) return st.error();
    (*st)->bind(1, document);
    return rows<OutboxItem>(**st, outbox_from);
  }

  Expected<void> set_outbox_state(std::int64_t id, const std::string& state) override {
    auto st = stmt(set_outbox_, "UPDATE outbox SET state = ? WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, state).bind(2, id);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> record_status(std::int64_t document, const std::string& from_agency,
                               const std::string& code, Timestamp at,
                               std::optional<std::int64_t> issued) override {
    auto st = stmt(record_status_,
                   "INSERT INTO received_statuses(document, from_agency, code, at, issued) "
                   "VALUES(?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, document).bind(2, from_agency).bind(3, code).bind(4, at);
    (*st)->bind(5, issued.value_or(at + utc_offset_));
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> record_attempt(std::int64_t id, const std::string& state, int attempts,
                                Timestamp next_attempt_at, const std::string& last_error) override {
    auto st = stmt(record_attempt_,
                   "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? "
                   "WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, state).bind(2, static_cast<std::int64_t>(attempts)).bind(3, next_attempt_at);
    (*st)->bind(4, last_error).bind(5, id);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<std::optional<StoredDocument>> document(std::int64_t id,
                                                   bool with_original = true) override {
    return read_document(db_, id, with_original);
  }

  Expected<void> record_hand_over(const HandOver& h) override {
    auto st = stmt(hand_over_,
                   "INSERT OR IGNORE INTO hand_overs(document, from_agency, to_agency, channel, "
                   "document_type, at) VALUES(?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, h.document).bind(2, h.from_agency).bind(3, h.to_agency).bind(4, h.channel);
    (*st)->bind(5, h.document_type).bind(6, h.at);
    auto done = (*st)->run();
    (*st)->reset();
    if (!done) return done;
    if (sqlite3_changes(db_.handle()) == 0) return {};  // recorded before
    AuditEvent e;
    e.at = h.at;
    e.actor = h.actor;
    e.agency = h.from_agency;
    e.action = "handover.recorded";
    e.document = h.document;
    e.detail = "{\"from\":" + json_quote(h.from_agency) + ",\"to\":" + json_quote(h.to_agency) +
               ",\"channel\":" + json_quote(h.channel) +
               ",\"type\":" + json_quote(h.document_type) + "}";
    e.request_id = h.request_id;
    e.tally = Tally{
        .agency = h.from_agency, .type = h.document_type, .channel = h.channel, .handovers = 1};
    auto a = append_audit(std::move(e));
    if (!a) return a.error();
    return {};
  }

  Expected<std::int64_t> late_tasks(std::int64_t instance) override {
    auto st = stmt(late_tasks_,
                   "SELECT count(*) FROM tasks WHERE instance = ? AND state = 'completed' AND "
                   "on_time = 0");
    if (!st) return st.error();
    (*st)->bind(1, instance);
    auto n = one<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
    if (!n) return n.error();
    return n->value_or(0);
  }

  Expected<int> next_dossier_number(const std::string& agency, const std::string& day) override {
    auto st = stmt(dossier_counter_,
                   "INSERT INTO dossier_counters(agency, day, last) VALUES(?, ?, 1) "
                   "ON CONFLICT(agency, day) DO UPDATE SET last = last + 1 RETURNING last");
    if (!st) return st.error();
    (*st)->bind(1, agency).bind(2, day);
    auto n = one<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
    if (!n) return n.error();
    return static_cast<int>(**n);
  }

  Expected<std::optional<DossierRecord>> dossier_of_instance(std::int64_t instance) override {
    auto st = stmt(dossier_of_instance_,
                   "SELECT code, agency, procedure, applicant, channel, submitted_at, document, "
                   "instance FROM dossiers WHERE instance = ?");
    if (!st) return st.error();
    (*st)->bind(1, instance);
    return one<DossierRecord>(**st, [](const sqlite::Stmt& r) {
      return DossierRecord{r.text(0), r.text(1),  r.text(2),  r.text(3),
                           r.text(4), r.int64(5), r.int64(6), r.int64(7)};
    });
  }

  Expected<void> insert_dossier(const DossierRecord& d) override {
    auto st =
        stmt(insert_dossier_,
             "INSERT INTO dossiers(code, agency, procedure, applicant, channel, submitted_at, "
             "document, instance) VALUES(?,?,?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, d.code).bind(2, d.agency).bind(3, d.procedure).bind(4, d.applicant);
    (*st)->bind(5, d.channel).bind(6, d.submitted_at).bind(7, d.document).bind(8, d.instance);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> insert_user(const UserRecord& u) override {
    auto st =
        stmt(insert_user_,
             "INSERT INTO users(name, role, agency, token_sha256, created_at) VALUES(?,?,?,?,?)");
    if (!st) return st.error();
    (*st)
        ->bind(1, u.name)
        .bind(2, u.role)
        .bind(3, u.agency)
        .bind(4, u.token_sha256)
        .bind(5, u.created_at);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> insert_agency(const AgencyRecord& a) override {
    auto st = stmt(insert_agency_,
                   "INSERT INTO agencies(code, name, parent, signer_fingerprints, "
                   "organisation_fingerprints, created_at, node) VALUES(?,?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, a.code).bind(2, a.name).bind(3, a.parent).bind(4, join(a.signer_fingerprints));
    (*st)->bind(5, join(a.organisation_fingerprints)).bind(6, a.created_at).bind(7, a.node);
    auto done = (*st)->run();
    (*st)->reset();
    return done;
  }

  Expected<void> save_workflow(const std::string& id, int version, const std::string& source,
                               Timestamp at) override {
    auto get =
        stmt(get_workflow_, "SELECT source FROM workflow_definitions WHERE id = ? AND version = ?");
    if (!get) return get.error();
    (*get)->bind(1, id).bind(2, static_cast<std::int64_t>(version));
    auto existing = one<std::string>(**get, [](const sqlite::Stmt& r) { return r.text(0); });
    if (!existing) return existing.error();
    if (*existing) {
      if (**existing == source) return {};
      return Error{
          "workflow.version_exists",
          "workflow '" + id + "' version " + std::to_string(version) +
              " is already deployed with different content; give the change a new version"};
    }
    auto put =
        stmt(put_workflow_,
             "INSERT INTO workflow_definitions(id, version, source, deployed_at) VALUES(?,?,?,?)");
    if (!put) return put.error();
    (*put)->bind(1, id).bind(2, static_cast<std::int64_t>(version)).bind(3, source).bind(4, at);
    auto done = (*put)->run();
    (*put)->reset();
    return done;
  }

  Expected<AuditEvent> append_audit(AuditEvent e) override {
    e.seq = last_seq_ + 1;
    e.prev_hash = last_hash_;
    e.hash = audit_hash(e);
    auto st = stmt(insert_audit_,
                   "INSERT INTO audit_events(seq, at, actor, agency, action, document, detail, "
                   "request_id, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?)");
    if (!st) return st.error();
    (*st)->bind(1, e.seq).bind(2, e.at).bind(3, e.actor).bind(4, e.agency).bind(5, e.action);
    (*st)->bind(6, e.document).bind(7, e.detail).bind(8, e.request_id).bind_blob(9, e.prev_hash);
    (*st)->bind_blob(10, e.hash);
    auto r = (*st)->run();
    (*st)->reset();
    if (!r) return r.error();
    if (e.tally) {
      tallies_.push_back({local_day(e.at, utc_offset_), std::move(*e.tally)});
      e.tally.reset();
    }
    last_seq_ = e.seq;
    last_hash_ = e.hash;
    if (appended_) appended_->push_back(e);
    return e;
  }

 private:
  Expected<sqlite::Stmt*> stmt(std::optional<sqlite::Stmt>& slot, std::string_view sql) {
    if (!slot) {
      auto s = db_.prepare(sql);
      if (!s) return s.error();
      slot = std::move(*s);
    }
    return &*slot;
  }
  // The counts of a group of writes, added to the tables once per day, month and key when the
  // group commits (one upsert per key instead of two per event).
  struct PendingTally {
    std::int64_t day = 0;
    Tally tally;
  };

 public:
  std::size_t pending_tallies() const { return tallies_.size(); }
  // A failed request's counts go with it.
  void drop_tallies_after(std::size_t kept) { tallies_.resize(kept); }
  void clear_tallies() { tallies_.clear(); }
  // Adds the group's counts to report_days and report_months.
  Expected<void> flush_tallies() {
    using Key = std::tuple<std::int64_t, std::string, std::string, std::string>;
    std::map<Key, Tally> days, months;
    for (const PendingTally& p : tallies_) {
      for (auto [into, key] : {std::pair{&days, p.day}, std::pair{&months, month_of_day(p.day)}}) {
        (*into)[Key{key, p.tally.agency, p.tally.type, p.tally.channel}].add(p.tally);
      }
    }
    tallies_.clear();
    for (auto* slot : {&tally_day_, &tally_month_}) {
      const bool by_day = slot == &tally_day_;
      auto st = stmt(*slot, std::string("INSERT INTO ") +
                                (by_day ? "report_days(day" : "report_months(month") +
                                ", agency, type, channel, handovers, steps_completed, "
                                "steps_on_time, dossiers, dossiers_completed, dossiers_on_time) "
                                "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                                "handovers = handovers + excluded.handovers, "
                                "steps_completed = steps_completed + excluded.steps_completed, "
                                "steps_on_time = steps_on_time + excluded.steps_on_time, "
                                "dossiers = dossiers + excluded.dossiers, "
                                "dossiers_completed = dossiers_completed + "
                                "excluded.dossiers_completed, "
                                "dossiers_on_time = dossiers_on_time + excluded.dossiers_on_time");
      if (!st) return st.error();
      for (const auto& [key, t] : by_day ? days : months) {
        (*st)->bind(1, std::get<0>(key)).bind(2, std::get<1>(key));
        (*st)->bind(3, std::get<2>(key)).bind(4, std::get<3>(key));
        (*st)->bind(5, t.handovers).bind(6, t.steps_completed).bind(7, t.steps_on_time);
        (*st)->bind(8, t.dossiers).bind(9, t.dossiers_completed).bind(10, t.dossiers_on_time);
        auto r = (*st)->run();
        (*st)->reset();
        if (!r) return r;
      }
    }
    return {};
  }

 private:
  std::vector<PendingTally> tallies_;

  sqlite::Db& db_;
  std::int64_t& last_seq_;
  std::string& last_hash_;
  const int utc_offset_;
  std::vector<AuditEvent>* appended_ = nullptr;
  std::optional<sqlite::Stmt> tally_day_, tally_month_, late_tasks_, dossier_of_instance_;
  std::optional<sqlite::Stmt> find_, insert_doc_, insert_original_, insert_rcpt_, insert_audit_,
      insert_instance_, get_instance_, update_instance_, insert_task_, get_task_,
      get_task_by_token_, close_task_, set_deadline_, clear_deadline_, enqueue_, hand_over_,
      document_sent_, open_instances_, get_outbox_, set_outbox_, dossier_counter_, insert_dossier_,
      get_workflow_, put_workflow_, insert_user_, insert_agency_, record_attempt_, record_status_,
      tx_instances_, last_status_, documents_sent_, statuses_queued_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, int utc_offset) : path_(path), utc_offset_(utc_offset) {
    auto db = sqlite::Db::open(path);
    if (!db) throw std::runtime_error(db.error().message);
    writer_db_ = std::move(*db);
    migrate(writer_db_, path, utc_offset);
    auto last = writer_db_.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
    if (!last) throw std::runtime_error(last.error().message);
    last_hash_ = std::string(32, '\0');
    if (auto row = last->step(); row && *row) {
      last_seq_ = last->int64(0);
      last_hash_ = last->blob(1);
    }
    auto reader = sqlite::Db::open(path);
    if (!reader) throw std::runtime_error(reader.error().message);
    reader_db_ = std::move(*reader);
    auto checkpoint_db = sqlite::Db::open(path);
    if (!checkpoint_db) throw std::runtime_error(checkpoint_db.error().message);
    checkpoint_db_ = std::move(*checkpoint_db);
    // Commits do not checkpoint: copying the WAL back into the database (and its fsync) runs on
    // the checkpointer thread, off the one thread every write waits for (see run() for the rest).
    // Each request's SAVEPOINT keeps the pages it changes in a sub-journal; held in memory, not
    // spilled to a temporary file once past 64 KB (two pwrites per page, 65 per package).
    if (auto r = writer_db_.exec(
            "PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY");
        !r)
      throw std::runtime_error(r.error().message);
    for (auto [slot, sql] :
         {std::pair{&begin_, "BEGIN IMMEDIATE"}, std::pair{&commit_, "COMMIT"},
          std::pair{&savepoint_, "SAVEPOINT request"}, std::pair{&release_, "RELEASE request"},
          std::pair{&rollback_to_, "ROLLBACK TO request"}}) {
      auto st = writer_db_.prepare(sql);
      if (!st) throw std::runtime_error(st.error().message);
      slot->emplace(std::move(*st));
    }
    sqlite3_wal_hook(writer_db_.handle(), &SqliteStore::on_wal_commit, this);
    checkpointer_ = std::thread([this] {
      name_this_thread("lt-checkpoint");
      checkpoint_loop();
    });
    writer_ = std::thread([this] {
      name_this_thread("lt-writer");
      run();
    });
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }

  void write(Work work, Done done) override {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back({std::move(work), std::move(done)});
        written_ = true;
        // The writer waits for a first request, or (gathering) for a full group.
        if (queue_.size() == 1 || queue_.size() == kFullGroup) cv_.notify_one();
        return;
      }
    }
    done(Error{"store.closed", "the store is shutting down"});
  }

  Expected<std::optional<StoredDocument>> document(std::int64_t id,
                                                   bool with_original = true) override {
    std::lock_guard lock(read_mutex_);
    return read_document(reader_db_, id, with_original);
  }

  Expected<std::vector<AuditEvent>> audit_events(std::int64_t from, std::size_t limit) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + sqlite::kAuditEventColumns +
                                " FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?");
    if (!st) return st.error();
    (*st)->bind(1, from).bind(2, static_cast<std::int64_t>(limit));
    return rows<AuditEvent>(**st, audit_event_from);
  }

  Expected<std::optional<TaskRecord>> task(std::int64_t id) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return one<TaskRecord>(**st, task_from);
  }

  Expected<std::vector<UserRecord>> users() override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT name, role, agency, token_sha256, created_at FROM users ORDER BY name");
    if (!st) return st.error();
    return rows<UserRecord>(**st, user_from);
  }

  Expected<std::optional<UserRecord>> user_by_token(const std::string& sha256_hex) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT name, role, agency, token_sha256, created_at FROM users WHERE token_sha256 = ?");
    if (!st) return st.error();
    (*st)->bind(1, sha256_hex);
    return one<UserRecord>(**st, user_from);
  }

  Expected<std::vector<AgencyRecord>> agencies() override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT code, name, parent, signer_fingerprints, organisation_fingerprints, created_at, "
        "node FROM agencies ORDER BY code");
    if (!st) return st.error();
    return rows<AgencyRecord>(**st, [](const sqlite::Stmt& r) {
      return AgencyRecord{r.text(0),        r.text(1),  r.text(2), split(r.text(3)),
                          split(r.text(4)), r.int64(5), r.text(6)};
    });
  }

  Expected<std::vector<StoredWorkflow>> workflows() override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT id, version, source, deployed_at FROM workflow_definitions ORDER BY id, version");
    if (!st) return st.error();
    return rows<StoredWorkflow>(**st, [](const sqlite::Stmt& r) {
      return StoredWorkflow{r.text(0), static_cast<int>(r.int64(1)), r.text(2), r.int64(3)};
    });
  }

  Expected<std::vector<TaskRecord>> tasks_of(const std::string& agency, const std::string& state,
                                             std::size_t limit, std::size_t offset) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kTaskColumns +
                                " FROM tasks WHERE agency = ? AND (? = '' OR state = ?) "
                                "ORDER BY created_at, id LIMIT ? OFFSET ?");
    if (!st) return st.error();
    (*st)->bind(1, agency).bind(2, state).bind(3, state).bind(4, static_cast<std::int64_t>(limit));
    (*st)->bind(5, static_cast<std::int64_t>(offset));
    return rows<TaskRecord>(**st, task_from);
  }

  Expected<std::vector<StoredDocument>> addressed_to(const std::string& agency, std::int64_t after,
                                                     std::size_t limit) override {
    std::vector<std::int64_t> ids;
    {
      std::lock_guard lock(read_mutex_);
      auto st = reader_db_.cached(
          "SELECT document FROM document_recipients WHERE agency = ? AND document > ? "
          "ORDER BY document LIMIT ?");
      if (!st) return st.error();
      (*st)->bind(1, agency).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
      auto found = rows<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
      if (!found) return found.error();
      ids = std::move(*found);
    }
    std::vector<StoredDocument> out;
    for (std::int64_t id : ids) {
      auto d = document(id, false);
      if (!d) return d.error();
      if (*d) out.push_back(std::move(**d));
    }
    return out;
  }

  Expected<std::vector<StoredDocument>> sent_by(const std::string& agency, std::size_t limit,
                                                std::size_t offset) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kDocumentColumns +
                                " FROM documents WHERE sender = ? AND kind = 'document' "
                                "ORDER BY id DESC LIMIT ? OFFSET ?");
    if (!st) return st.error();
    (*st)
        ->bind(1, agency)
        .bind(2, static_cast<std::int64_t>(limit))
        .bind(3, static_cast<std::int64_t>(offset));
    auto docs = rows<StoredDocument>(**st, document_from);
    if (!docs) return docs;
    auto rc = reader_db_.cached(
        "SELECT agency FROM document_recipients WHERE document = ? ORDER BY agency");
    if (!rc) return rc.error();
    for (auto& d : *docs) {
      (*rc)->bind(1, d.id);
      auto agencies = rows<std::string>(**rc, [](const sqlite::Stmt& r) { return r.text(0); });
      if (!agencies) return agencies.error();
      d.recipients = std::move(*agencies);
    }
    return docs;
  }

  Expected<std::vector<AuditEvent>> history(std::int64_t document) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + sqlite::kAuditEventColumns +
                                " FROM audit_events WHERE document = ? ORDER BY seq");
    if (!st) return st.error();
    (*st)->bind(1, document);
    return rows<AuditEvent>(**st, audit_event_from);
  }

  Expected<std::vector<StatusRecord>> statuses(std::int64_t document) override {
    std::lock_guard lock(read_mutex_);
    // Statuses of agencies hosted here are issued when queued, by this node's clock.
    auto st = reader_db_.cached(
        "SELECT agency, code, at, issued FROM ("
        " SELECT i.agency AS agency, o.code AS code, o.created_at AS at,"
        "  o.created_at + ?2 AS issued, 0 AS source, o.id AS n"
        " FROM outbox o JOIN instances i ON i.id = o.instance"
        " WHERE o.document = ?1 AND o.kind = 'status'"
        " UNION ALL SELECT from_agency, code, at, issued, 1, id FROM received_statuses"
        " WHERE document = ?1)"
        " ORDER BY at, source, n");
    if (!st) return st.error();
    (*st)->bind(1, document).bind(2, static_cast<std::int64_t>(utc_offset_));
    return rows<StatusRecord>(**st, [](const sqlite::Stmt& r) {
      return StatusRecord{r.text(0), r.text(1), r.int64(2), r.int64(3)};
    });
  }

  Expected<std::vector<InstanceRecord>> instances_of(std::int64_t document) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kInstanceColumns +
                                " FROM instances WHERE document = ? ORDER BY id");
    if (!st) return st.error();
    (*st)->bind(1, document);
    return rows<InstanceRecord>(**st, instance_from);
  }

  Expected<std::vector<OutboxItem>> outbox(const std::string& state, std::size_t limit) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kOutboxColumns +
                                " FROM outbox WHERE state = ? ORDER BY id LIMIT ?");
    if (!st) return st.error();
    (*st)->bind(1, state).bind(2, static_cast<std::int64_t>(limit));
    return rows<OutboxItem>(**st, outbox_from);
  }

  Expected<std::vector<Tally>> tallies(std::int64_t first_day, std::int64_t last_day) override {
    // Whole months from the monthly counts, the days before and after them from the daily ones.
    std::pair<std::int64_t, std::int64_t> days[2] = {{1, 0}, {1, 0}};
    std::pair<std::int64_t, std::int64_t> months = {1, 0};
    for (std::int64_t day = first_day; day <= last_day;) {
      const std::int64_t key = month_of_day(day);
      const std::int64_t month_first = first_day_of_month(key);
      const std::int64_t month_last = last_day_of_month(key);
      if (day == month_first && month_last <= last_day) {
        if (months.first > months.second) months.first = key;
        months.second = key;
      } else if (days[0].first > days[0].second) {
        days[0] = {day, std::min(month_last, last_day)};
      } else if (months.first > months.second) {
        days[0].second = std::min(month_last, last_day);  // two partial months, side by side
      } else {
        days[1] = {day, std::min(month_last, last_day)};
      }
      day = std::min(month_last, last_day) + 1;
    }
    static const std::string kSums =
        "sum(handovers), sum(steps_completed), sum(steps_on_time), sum(dossiers), "
        "sum(dossiers_completed), sum(dossiers_on_time)";
    static const std::string kColumns =
        "agency, type, channel, handovers, steps_completed, steps_on_time, dossiers, "
        "dossiers_completed, dossiers_on_time";
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT agency, type, channel, " + kSums + " FROM (SELECT " + kColumns +
        " FROM report_days WHERE day BETWEEN ?1 AND ?2 UNION ALL SELECT " + kColumns +
        " FROM report_days WHERE day BETWEEN ?3 AND ?4 UNION ALL SELECT " + kColumns +
        " FROM report_months WHERE month BETWEEN ?5 AND ?6) GROUP BY agency, type, channel");
    if (!st) return st.error();
    (*st)->bind(1, days[0].first).bind(2, days[0].second).bind(3, days[1].first);
    (*st)->bind(4, days[1].second).bind(5, months.first).bind(6, months.second);
    return rows<Tally>(**st, [](const sqlite::Stmt& r) {
      return Tally{.agency = r.text(0),
                   .type = r.text(1),
                   .channel = r.text(2),
                   .handovers = r.int64(3),
                   .steps_completed = r.int64(4),
                   .steps_on_time = r.int64(5),
                   .dossiers = r.int64(6),
                   .dossiers_completed = r.int64(7),
                   .dossiers_on_time = r.int64(8)};
    });
  }

  Expected<std::vector<OpenTasks>> open_tasks_by_agency(Timestamp overdue_before) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT agency, count(*), sum(due_at > 0 AND due_at < ?) FROM tasks WHERE state = 'open' "
        "GROUP BY agency");
    if (!st) return st.error();
    (*st)->bind(1, overdue_before);
    return rows<OpenTasks>(**st, [](const sqlite::Stmt& r) {
      return OpenTasks{r.text(0), r.int64(1), r.int64(2)};
    });
  }

  Expected<std::int64_t> outbox_count(const std::string& kind, const std::string& state) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached("SELECT COUNT(*) FROM outbox WHERE state = ? AND kind = ?");
    if (!st) return st.error();
    (*st)->bind(1, state).bind(2, kind);
    auto n = one<std::int64_t>(**st, [](const sqlite::Stmt& r) { return r.int64(0); });
    if (!n) return n.error();
    return n->value_or(0);
  }

  Expected<std::vector<OutboxItem>> outbox_to(const std::string& state,
                                              const std::vector<std::string>& agencies,
                                              std::size_t limit) override {
    if (agencies.empty()) return std::vector<OutboxItem>{};
    std::string in;
    for (std::size_t i = 0; i < agencies.size(); ++i) in += i ? ",?" : "?";
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        std::string("SELECT ") + kOutboxColumns +
        " FROM outbox INDEXED BY outbox_by_agency WHERE state = ? AND to_agency IN (" + in +
        ") ORDER BY id LIMIT ?");
    if (!st) return st.error();
    int k = 1;
    (*st)->bind(k++, state);
    for (const auto& a : agencies) (*st)->bind(k++, a);
    (*st)->bind(k, static_cast<std::int64_t>(limit));
    return rows<OutboxItem>(**st, outbox_from);
  }

  Expected<std::optional<Timestamp>> next_outbox_attempt(const std::string& kind) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND kind = ?");
    if (!st) return st.error();
    (*st)->bind(1, kind);
    auto min = one<std::optional<Timestamp>>(**st, [](const sqlite::Stmt& r) {
      return r.is_null(0) ? std::optional<Timestamp>() : std::optional<Timestamp>(r.int64(0));
    });
    if (!min) return min.error();
    return min->value_or(std::nullopt);
  }

  Expected<std::vector<OutboxItem>> outbox_due(const std::string& kind, Timestamp now,
                                               std::size_t limit) override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(std::string("SELECT ") + kOutboxColumns +
                                " FROM outbox WHERE state = 'pending' AND kind = ? AND "
                                "next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox o2 "
                                "WHERE o2.document = outbox.document AND o2.to_agency = "
                                "outbox.to_agency AND o2.state = 'pending' AND o2.id < outbox.id) "
                                "ORDER BY next_attempt_at, id LIMIT ?");
    if (!st) return st.error();
    (*st)->bind(1, kind).bind(2, now).bind(3, static_cast<std::int64_t>(limit));
    return rows<OutboxItem>(**st, outbox_from);
  }

  Expected<std::optional<std::tuple<std::int64_t, std::uint32_t, Timestamp>>> next_deadline()
      override {
    std::lock_guard lock(read_mutex_);
    auto st = reader_db_.cached(
        "SELECT instance, timer, due_at FROM deadlines ORDER BY due_at, instance, timer LIMIT 1");
    if (!st) return st.error();
    using Row = std::tuple<std::int64_t, std::uint32_t, Timestamp>;
    return one<Row>(**st, [](const sqlite::Stmt& r) {
      return Row{r.int64(0), static_cast<std::uint32_t>(r.int64(1)), r.int64(2)};
    });
  }

  StoreStats stats() const override {
    StoreStats out;
    {
      std::lock_guard lock(mutex_);
      out = stats_;
    }
    out.checkpoints_asked = checkpoints_asked_.load(std::memory_order_relaxed);
    out.commit_seconds = commit_seconds_.snapshot();
    out.group_sizes = group_sizes_.snapshot();
    return out;
  }

  void on_audit_committed(std::function<void(const AuditEvent&)> listener) override {
    std::lock_guard lock(mutex_);
    if (written_) {
      throw std::logic_error("Store::on_audit_committed after the first write");
    }
    listener_ = std::move(listener);
  }
  int schema_version() const override { return kSchemaVersion; }

 private:
  struct Request {
    Work work;
    Done done;
  };

  // The group-commit loop: everything queued while the previous group was being written goes into
  // the next transaction, so the cost of one fsync is shared by the whole group.
  void run() {
    SqliteTx tx(writer_db_, last_seq_, last_hash_, utc_offset_);
    std::vector<AuditEvent> appended;  // this group's events, for the listener
    std::vector<Request> group;
    std::vector<Expected<void>> results;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to write
        if (busy_ && queue_.size() < kFullGroup) {
          cv_.wait_for(lock, kGather, [&] { return stopping_ || queue_.size() >= kFullGroup; });
        }
        group.clear();
        while (!queue_.empty() && group.size() < kMaxGroup) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      results.clear();
      appended.clear();
      tx.clear_tallies();
      // Set before the first write, so read here after taking a group under the queue's mutex.
      tx.keep_appended(listener_ ? &appended : nullptr);
      const auto started = std::chrono::steady_clock::now();
      const std::int64_t seq_before = last_seq_;
      const std::string hash_before = last_hash_;
      auto begin = once(*begin_);
      for (auto& req : group) {
        if (!begin) {
          results.push_back(begin.error());
          continue;
        }
        const std::int64_t seq = last_seq_;
        const std::string hash = last_hash_;
        const std::size_t kept = appended.size();
        const std::size_t kept_tallies = tx.pending_tallies();
        step(*savepoint_);
        Expected<void> r = req.work(tx);
        if (r) {
          step(*release_);
        } else {
          step(*rollback_to_);
          step(*release_);
          last_seq_ = seq;  // the audit chain continues from before the failed request
          last_hash_ = hash;
          appended.resize(kept);
          tx.drop_tallies_after(kept_tallies);
        }
        results.push_back(std::move(r));
      }
      bool committed = false;
      if (begin) {
        auto c = tx.flush_tallies();
        if (c) c = once(*commit_);
        if (!c) {
          (void)writer_db_.exec("ROLLBACK");
          last_seq_ = seq_before;
          last_hash_ = hash_before;
          for (auto& r : results) r = c.error();
        } else {
          committed = true;
        }
      }
      commit_seconds_.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      group_sizes_.observe(static_cast<double>(group.size()));
      if (committed && listener_) {
        for (const AuditEvent& e : appended) listener_(e);
      }
      {
        std::lock_guard lock(mutex_);
        stats_.groups++;
        stats_.writes += group.size();
        stats_.largest_group = std::max<std::uint64_t>(stats_.largest_group, group.size());
        for (const auto& r : results) stats_.failed_writes += r ? 0 : 1;
      }
      busy_ = group.size() >= 4;
      for (std::size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
      // Under continuous writes a checkpoint running beside the writer never catches up with the
      // WAL's end, and the WAL only starts over after one that does. When it has grown this far,
      // the writer copies the rest itself, between two groups; little is left to copy by then.
      if (wal_pages_ >= kWriterCheckpointPages) {
        checkpoint(writer_db_);
        wal_pages_ = 0;
      }
    }
  }

  // Called by SQLite on the writer thread after each commit, with the pages now in the WAL.
  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    auto* store = static_cast<SqliteStore*>(self);
    store->wal_pages_ = pages;
    if (pages < store->checkpoint_asked_at_) store->checkpoint_asked_at_ = 0;  // WAL started over
    if (pages >= kCheckpointPages && (pages >= store->checkpoint_asked_at_ + kCheckpointStep ||
                                      pages >= kWriterCheckpointPages - kCheckpointStep)) {
      store->checkpoint_asked_at_ = pages;
      store->checkpoints_asked_.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(store->checkpoint_mutex_);
        store->checkpoint_wanted_ = true;
      }
      store->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints never block the writer or the readers; the WAL starts over from its
  // beginning at the first commit after a checkpoint that copied everything.
  void checkpoint_loop() {
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_wanted_; });
        if (checkpoint_stopping_) return;
        checkpoint_wanted_ = false;
      }
      checkpoint(checkpoint_db_);
    }
  }

  // SQLite runs one checkpoint at a time; the writer's waits for the checkpointer's to finish.
  void checkpoint(sqlite::Db& db) {
    std::lock_guard running(checkpoint_running_);
    int log = 0, copied = 0;
    sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  }

  // The savepoint statements of the group-commit loop; their errors show in the request's own.
  static void step(sqlite::Stmt& st) { (void)once(st); }
  static Expected<void> once(sqlite::Stmt& st) {
    auto r = st.run();
    st.reset();
    return r;
  }

  static constexpr std::size_t kMaxGroup = 1024;
  // Under load the writer waits up to kGather for kFullGroup requests before it commits: each
  // commit writes every page its group touched (a leaf of each of some twenty indexes, at least),
  // so fewer, larger groups write fewer pages per request.
  static constexpr std::size_t kFullGroup = 16;
  static constexpr auto kGather = std::chrono::microseconds(1000);
  static constexpr int kCheckpointPages = 2000;        // 16 MB
  static constexpr int kWriterCheckpointPages = 6000;  // 48 MB
  // Past kCheckpointPages the checkpointer is asked again each time the WAL has grown this much.
  // Asked after every commit, it ran about 30 times a second under load, each run a sync of the
  // database and one more copy of the pages every commit touches (the indexes' last leaves). In
  // the last step before kWriterCheckpointPages it is asked after every commit again: it then
  // reaches the WAL's end, which starts over, before the writer has to stop and copy.
  static constexpr int kCheckpointStep = 1000;  // 8 MB
  int wal_pages_ = 0;                           // on the writer thread only
  int checkpoint_asked_at_ = 0;                 // the WAL's pages when last asked; writer only
  std::atomic<std::uint64_t> checkpoints_asked_{0};
  bool busy_ = false;  // on the writer thread: its last group had four requests or more
  std::string path_;
  sqlite::Db writer_db_;
  sqlite::Db reader_db_;
  sqlite::Db checkpoint_db_;
  std::optional<sqlite::Stmt> begin_, commit_, savepoint_, release_, rollback_to_;
  std::mutex read_mutex_;
  std::int64_t last_seq_ = 0;
  std::string last_hash_;
  const int utc_offset_;
  Histogram commit_seconds_{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2}};
  Histogram group_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256}};
  std::function<void(const AuditEvent&)> listener_;
  bool written_ = false;  // under mutex_: a write was queued (the listener is set before)
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  StoreStats stats_;
  std::thread writer_;
  std::mutex checkpoint_mutex_;
  std::mutex checkpoint_running_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stopping_ = false;
  std::thread checkpointer_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, int utc_offset_seconds) {
  return std::make_unique<SqliteStore>(path, utc_offset_seconds);
}

std::optional<AuditChainFollower::Break> AuditChainFollower::next(const AuditEvent& e) {
  if (e.seq != expected_seq_) {
    return Break{expected_seq_, "event " + std::to_string(expected_seq_) +
                                    " is missing (the next one is " + std::to_string(e.seq) + ")"};
  }
  if (e.prev_hash != prev_) {
    return Break{e.seq, "event " + std::to_string(e.seq) +
                            " does not chain to the previous event (reordered, inserted or "
                            "removed)"};
  }
  if (audit_hash(e) != e.hash) {
    return Break{e.seq, "event " + std::to_string(e.seq) +
                            " was altered: its content does not match its hash"};
  }
  prev_ = e.hash;
  ++expected_seq_;
  return std::nullopt;
}

Expected<AuditCheck> verify_audit_chain(Store& store) {
  AuditCheck check;
  AuditChainFollower chain;
  for (std::int64_t from = 1;;) {
    auto batch = store.audit_events(from, 4096);
    if (!batch) return batch.error();
    for (const auto& e : *batch) {
      if (auto broken = chain.next(e)) {
        check.ok = false;
        check.first_bad = broken->seq;
        check.problem = std::move(broken->problem);
        return check;
      }
      ++check.events;
    }
    if (batch->size() < 4096) break;
    from = batch->back().seq + 1;
  }
  return check;
}

}  // namespace lienthong
