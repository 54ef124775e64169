#pragma once

// The audit log as transparency logs keep theirs. Every audit event is a leaf of an RFC 9162
// Merkle tree (leaf i is SHA-256(0x00 || audit_entry(event i+1))), and at intervals the node signs
// a checkpoint of the tree (C2SP tlog-checkpoint: origin, size, root) as a signed note. An auditor
// holding one checkpoint checks that an event is in the log (inclusion proof), that a later
// checkpoint only extends an earlier one (consistency proof), or that an exported run of events
// is exactly the log's (range proof), without the database.
//
// The tree is never needed whole: the perfect subtrees of 256 leaves and more are stored as they
// complete (table merkle_nodes, a cache rebuilt from the events at will), so a proof reads
// O(log n) of them and at most a few hundred events. AuditLog has its own connection to the
// store's database; the store's migrations create its tables.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "base/merkle.hpp"
#include "engine/sqlite.hpp"
#include "engine/store.hpp"
#include "signing/signed_note.hpp"

namespace lienthong {

struct StoredCheckpoint {
  std::uint64_t size = 0;
  MerkleHash root{};
  Timestamp at = 0;
  std::string note;  // the signed note: the checkpoint text, a blank line, the signature line
};

// What `AuditLog::verify` found. `first_bad` is the first event known to be wrong (0 when the
// problem is a checkpoint itself).
struct AuditLogCheck {
  bool ok = true;
  std::uint64_t events = 0;
  std::uint64_t checkpoints = 0;
  std::int64_t first_bad = 0;
  std::string problem;
};

// Where a node keeps its checkpoint key when the configuration names none: beside the database.
std::string audit_key_path_for(const std::string& db_path);

// The leaf hash of an event.
MerkleHash audit_leaf(const AuditEvent& event);

// The checkpoint in `note`, once its signature by `verifier` holds. Error codes
// note.bad_signature, note.unsigned, note.malformed, checkpoint.malformed.
[[nodiscard]] Expected<Checkpoint> open_checkpoint(const std::string& note,
                                                   const NoteVerifier& verifier);

class AuditLog {
 public:
  static constexpr std::uint64_t kTile = 256;

  // Opens the database of a store (which has made the tables). Throws std::runtime_error when it
  // cannot be opened (startup).
  explicit AuditLog(const std::string& db_path, bool read_only = false);

  [[nodiscard]] Expected<std::uint64_t> size();  // events in the log now
  // Events with seq >= from, in order, at most `limit`.
  [[nodiscard]] Expected<std::vector<AuditEvent>> events(std::uint64_t from, std::size_t limit);
  // The events whose time is within [from, to] (seconds), as a range of seq: first, last; nullopt
  // when there is none.
  [[nodiscard]] Expected<std::optional<std::pair<std::uint64_t, std::uint64_t>>> seq_range(
      Timestamp from, Timestamp to);

  // Leaves are numbered from 0: leaf i is event i + 1. Error audit.out_of_range for sizes beyond
  // the log.
  [[nodiscard]] Expected<MerkleHash> root(std::uint64_t size);
  [[nodiscard]] Expected<std::vector<MerkleHash>> inclusion_proof(std::uint64_t index,
                                                                  std::uint64_t size);
  [[nodiscard]] Expected<std::vector<MerkleHash>> consistency_proof(std::uint64_t old_size,
                                                                    std::uint64_t new_size);
  [[nodiscard]] Expected<std::vector<MerkleHash>> range_proof(std::uint64_t begin,
                                                              std::uint64_t end,
                                                              std::uint64_t size);

  // Stores the perfect subtrees of kTile leaves and more completed since the last call, at most
  // `max_tiles` tiles at a time (a long log is caught up in steps); returns how many leaves the
  // stored tiles cover.
  [[nodiscard]] Expected<std::uint64_t> extend(
      std::uint64_t max_tiles = std::numeric_limits<std::uint64_t>::max());
  // Signs a checkpoint of the whole log as `origin` and stores it; nullopt when the log has not
  // grown since the latest checkpoint.
  [[nodiscard]] Expected<std::optional<StoredCheckpoint>> checkpoint(const NoteSigner& signer,
                                                                     const std::string& origin,
                                                                     Timestamp now);
  [[nodiscard]] Expected<std::vector<StoredCheckpoint>> checkpoints();
  [[nodiscard]] Expected<std::optional<StoredCheckpoint>> checkpoint_at(std::uint64_t size);
  [[nodiscard]] Expected<std::optional<StoredCheckpoint>> latest_checkpoint();

  // Everything, from the events up: the hash chain, every stored subtree, and every checkpoint
  // (its signature by `verifier` unless null, and its root against the events). Names the first
  // bad event.
  [[nodiscard]] Expected<AuditLogCheck> verify(const NoteVerifier* verifier);

 private:
  Expected<MerkleHash> subtree(std::uint64_t start, std::uint64_t count);
  Expected<std::vector<MerkleHash>> leaves(std::uint64_t start, std::uint64_t count);
  Expected<std::optional<MerkleHash>> node(int level, std::uint64_t idx);
  Expected<void> in_log(std::uint64_t size);
  MerkleSubtreeRoot source();

  sqlite::Db db_;
};

}  // namespace lienthong
