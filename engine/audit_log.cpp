#include "engine/audit_log.hpp"

#include "engine/sqlite_audit.hpp"

#include <bit>
#include <limits>
#include <map>
#include <stdexcept>

namespace lienthong {
namespace {

constexpr int kTileLevel = std::countr_zero(AuditLog::kTile);

MerkleHash hash_of(const std::string& bytes) {
  MerkleHash h{};
  if (bytes.size() == h.size()) std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

std::string_view bytes_of(const MerkleHash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

StoredCheckpoint checkpoint_from(const sqlite::Stmt& st) {
  return StoredCheckpoint{.size = static_cast<std::uint64_t>(st.int64(0)),
                          .root = hash_of(st.blob(1)),
                          .at = st.int64(2),
                          .note = st.text(3)};
}

// The checkpoint text of a signed note, its signatures unchecked: up to the blank line.
Expected<Checkpoint> unsigned_checkpoint(const std::string& note) {
  const auto blank = note.find("\n\n");
  if (blank == std::string::npos) {
    return Error{"note.malformed", "the note has no blank line before its signatures"};
  }
  return parse_checkpoint(std::string_view(note).substr(0, blank + 1));
}

}  // namespace

std::string audit_key_path_for(const std::string& db_path) {
  return db_path + ".audit-key";
}

MerkleHash audit_leaf(const AuditEvent& event) {
  return merkle_leaf_hash(audit_entry(event));
}

Expected<Checkpoint> open_checkpoint(const std::string& note, const NoteVerifier& verifier) {
  auto text = open_note(note, verifier);
  if (!text) return text.error();
  return parse_checkpoint(*text);
}

AuditLog::AuditLog(const std::string& db_path, bool read_only) {
  auto db = sqlite::Db::open(db_path, read_only);
  if (!db) throw std::runtime_error("audit log " + db_path + ": " + db.error().message);
  db_ = std::move(*db);
  auto tables = db_.prepare(
      "SELECT count(*) FROM sqlite_master WHERE name IN ('merkle_nodes', 'audit_checkpoints')");
  auto row = tables ? tables->step() : Expected<bool>(tables.error());
  if (!row || !*row || tables->int64(0) != 2) {
    throw std::runtime_error("audit log " + db_path +
                             ": not a lienthong store of schema 12 or later");
  }
}

Expected<std::uint64_t> AuditLog::size() {
  auto st = db_.cached("SELECT coalesce(max(seq), 0) FROM audit_events");
  if (!st) return st.error();
  auto row = (*st)->step();
  const auto n = row && *row ? static_cast<std::uint64_t>((*st)->int64(0)) : 0;
  (*st)->reset();
  if (!row) return row.error();
  return n;
}

Expected<std::vector<AuditEvent>> AuditLog::events(std::uint64_t from, std::size_t limit) {
  auto st = db_.cached(std::string("SELECT ") + sqlite::kAuditEventColumns +
                       " FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?");
  if (!st) return st.error();
  (*st)->bind(1, static_cast<std::int64_t>(from)).bind(2, static_cast<std::int64_t>(limit));
  return sqlite::rows<AuditEvent>(**st, sqlite::audit_event_from);
}

Expected<std::optional<std::pair<std::uint64_t, std::uint64_t>>> AuditLog::seq_range(Timestamp from,
                                                                                     Timestamp to) {
  // Events are appended in time order, so the run of seq between the two times is contiguous;
  // `at` has no index, and the bounds are found by bisection on seq.
  auto n = size();
  if (!n) return n.error();
  auto at_of = [&](std::uint64_t seq) -> Expected<Timestamp> {
    auto st = db_.cached("SELECT at FROM audit_events WHERE seq = ?");
    if (!st) return st.error();
    (*st)->bind(1, static_cast<std::int64_t>(seq));
    auto row = (*st)->step();
    const Timestamp at = row && *row ? (*st)->int64(0) : 0;
    (*st)->reset();
    if (!row) return row.error();
    if (!*row) return Error{"audit.missing_event", "event " + std::to_string(seq) + " is missing"};
    return at;
  };
  // The first seq in [1, n + 1) whose time is >= t (n + 1 when none).
  auto first_at_or_after = [&](Timestamp t) -> Expected<std::uint64_t> {
    std::uint64_t lo = 1, hi = *n + 1;
    while (lo < hi) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      auto at = at_of(mid);
      if (!at) return at.error();
      if (*at < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  };
  auto first = first_at_or_after(from);
  if (!first) return first.error();
  auto after = to == std::numeric_limits<Timestamp>::max() ? Expected<std::uint64_t>(*n + 1)
                                                           : first_at_or_after(to + 1);
  if (!after) return after.error();
  if (*first >= *after) return std::optional<std::pair<std::uint64_t, std::uint64_t>>();
  return std::optional(std::pair(*first, *after - 1));
}

Expected<std::vector<MerkleHash>> AuditLog::leaves(std::uint64_t start, std::uint64_t count) {
  auto batch = events(start + 1, count);
  if (!batch) return batch.error();
  std::vector<MerkleHash> out;
  out.reserve(count);
  for (const AuditEvent& e : *batch) {
    if (static_cast<std::uint64_t>(e.seq) != start + 1 + out.size()) break;
    out.push_back(audit_leaf(e));
  }
  if (out.size() != count) {
    return Error{"audit.missing_event",
                 "event " + std::to_string(start + 1 + out.size()) + " is missing from the log"};
  }
  return out;
}

Expected<std::optional<MerkleHash>> AuditLog::node(int level, std::uint64_t idx) {
  auto st = db_.cached("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?");
  if (!st) return st.error();
  (*st)->bind(1, level).bind(2, static_cast<std::int64_t>(idx));
  auto row = (*st)->step();
  std::optional<MerkleHash> out;
  std::size_t length = 32;
  if (row && *row) {
    const std::string blob = (*st)->blob(0);
    length = blob.size();
    out = hash_of(blob);
  }
  (*st)->reset();
  if (!row) return row.error();
  if (length != 32) {
    return Error{"audit.corrupt", "the stored subtree " + std::to_string(idx) + " of level " +
                                      std::to_string(level) + " is not a SHA-256"};
  }
  return out;
}

Expected<MerkleHash> AuditLog::subtree(std::uint64_t start, std::uint64_t count) {
  if (std::has_single_bit(count) && count >= kTile && start % count == 0) {
    auto stored = node(std::countr_zero(count), start / count);
    if (!stored) return stored.error();
    if (*stored) return **stored;
  }
  if (count <= kTile) {
    auto l = leaves(start, count);
    if (!l) return l.error();
    return merkle_root(*l);
  }
  const std::uint64_t k = std::bit_floor(count - 1);
  auto left = subtree(start, k);
  if (!left) return left.error();
  auto right = subtree(start + k, count - k);
  if (!right) return right.error();
  return merkle_node_hash(*left, *right);
}

MerkleSubtreeRoot AuditLog::source() {
  return [this](std::uint64_t start, std::uint64_t count) { return subtree(start, count); };
}

Expected<void> AuditLog::in_log(std::uint64_t size) {
  auto n = this->size();
  if (!n) return n.error();
  if (size > *n) {
    return Error{"audit.out_of_range",
                 "the log holds " + std::to_string(*n) + " events, not " + std::to_string(size)};
  }
  return {};
}

Expected<MerkleHash> AuditLog::root(std::uint64_t size) {
  if (auto r = in_log(size); !r) return r.error();
  return merkle_root(size, source());
}

Expected<std::vector<MerkleHash>> AuditLog::inclusion_proof(std::uint64_t index,
                                                            std::uint64_t size) {
  if (auto r = in_log(size); !r) return r.error();
  if (index >= size) {
    return Error{"audit.out_of_range", "event " + std::to_string(index + 1) +
                                           " is not in a tree of " + std::to_string(size)};
  }
  return merkle_inclusion_proof(size, index, source());
}

Expected<std::vector<MerkleHash>> AuditLog::consistency_proof(std::uint64_t old_size,
                                                              std::uint64_t new_size) {
  if (auto r = in_log(new_size); !r) return r.error();
  if (old_size > new_size) {
    return Error{"audit.out_of_range", "a tree of " + std::to_string(new_size) +
                                           " events cannot extend one of " +
                                           std::to_string(old_size)};
  }
  return merkle_consistency_proof(new_size, old_size, source());
}

Expected<std::vector<MerkleHash>> AuditLog::range_proof(std::uint64_t begin, std::uint64_t end,
                                                        std::uint64_t size) {
  if (auto r = in_log(size); !r) return r.error();
  if (begin >= end || end > size) {
    return Error{"audit.out_of_range", "events " + std::to_string(begin + 1) + " to " +
                                           std::to_string(end) + " are not in a tree of " +
                                           std::to_string(size)};
  }
  return merkle_range_proof(size, begin, end, source());
}

Expected<std::uint64_t> AuditLog::extend(std::uint64_t max_tiles) {
  auto n = size();
  if (!n) return n.error();
  auto last = db_.cached("SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = ?");
  if (!last) return last.error();
  (*last)->bind(1, kTileLevel);
  auto row = (*last)->step();
  const std::uint64_t stored = row && *row ? static_cast<std::uint64_t>((*last)->int64(0)) : 0;
  (*last)->reset();
  if (!row) return row.error();

  // The new nodes are computed first, from the events and the stored nodes, so that the write
  // lock (which the store's writer waits for) is held only for the inserts.
  struct NewNode {
    int level;
    std::uint64_t idx;
    MerkleHash hash;
  };
  std::vector<NewNode> nodes;
  std::map<std::pair<int, std::uint64_t>, MerkleHash> made;  // left siblings made in this call
  std::uint64_t tiles = stored;
  for (std::uint64_t done = 0; done < max_tiles && (tiles + 1) * kTile <= *n; ++done, ++tiles) {
    auto l = leaves(tiles * kTile, kTile);
    if (!l) return l.error();
    MerkleHash h = merkle_root(*l);
    nodes.push_back({kTileLevel, tiles, h});
    made[{kTileLevel, tiles}] = h;
    // A right child completes its parent, and so on up.
    for (std::uint64_t idx = tiles, level = kTileLevel; (idx & 1) == 1; idx >>= 1, ++level) {
      const auto key = std::pair{static_cast<int>(level), idx - 1};
      std::optional<MerkleHash> left;
      if (auto it = made.find(key); it != made.end()) {
        left = it->second;
      } else {
        auto found = node(key.first, key.second);
        if (!found) return found.error();
        left = *found;
      }
      if (!left) {
        return Error{"audit.missing_node", "subtree " + std::to_string(idx - 1) + " of level " +
                                               std::to_string(level) + " is missing"};
      }
      h = merkle_node_hash(*left, h);
      nodes.push_back({static_cast<int>(level) + 1, idx >> 1, h});
      made[{static_cast<int>(level) + 1, idx >> 1}] = h;
    }
  }
  if (nodes.empty()) return tiles * kTile;

  if (auto b = db_.exec("BEGIN IMMEDIATE"); !b) return b.error();
  auto fail = [&](Error e) -> Expected<std::uint64_t> {
    (void)db_.exec("ROLLBACK");
    return e;
  };
  // Another process may have stored them meanwhile: INSERT OR IGNORE, the same hashes.
  auto insert = db_.cached("INSERT OR IGNORE INTO merkle_nodes(level, idx, hash) VALUES(?,?,?)");
  if (!insert) return fail(insert.error());
  for (const NewNode& x : nodes) {
    (*insert)->bind(1, x.level).bind(2, static_cast<std::int64_t>(x.idx));
    (*insert)->bind_blob(3, bytes_of(x.hash));
    auto r = (*insert)->run();
    (*insert)->reset();
    if (!r) return fail(r.error());
  }
  if (auto c = db_.exec("COMMIT"); !c) return fail(c.error());
  return tiles * kTile;
}

Expected<std::optional<StoredCheckpoint>> AuditLog::checkpoint(const NoteSigner& signer,
                                                               const std::string& origin,
                                                               Timestamp now) {
  if (auto e = extend(); !e) return e.error();
  auto n = size();
  if (!n) return n.error();
  auto latest = latest_checkpoint();
  if (!latest) return latest.error();
  if (*n == 0 || (*latest && (*latest)->size >= *n)) return std::optional<StoredCheckpoint>();
  auto r = root(*n);
  if (!r) return r.error();
  auto note =
      sign_note(checkpoint_text(Checkpoint{.origin = origin, .size = *n, .root = *r}), signer);
  if (!note) return note.error();
  StoredCheckpoint c{.size = *n, .root = *r, .at = now, .note = std::move(*note)};
  auto st = db_.cached("INSERT INTO audit_checkpoints(size, root, at, note) VALUES(?,?,?,?)");
  if (!st) return st.error();
  (*st)->bind(1, static_cast<std::int64_t>(c.size)).bind_blob(2, bytes_of(c.root));
  (*st)->bind(3, c.at).bind(4, c.note);
  auto done = (*st)->run();
  (*st)->reset();
  if (!done) return done.error();
  return std::optional(std::move(c));
}

Expected<std::vector<StoredCheckpoint>> AuditLog::checkpoints() {
  auto st = db_.cached("SELECT size, root, at, note FROM audit_checkpoints ORDER BY size");
  if (!st) return st.error();
  return sqlite::rows<StoredCheckpoint>(**st, checkpoint_from);
}

Expected<std::optional<StoredCheckpoint>> AuditLog::checkpoint_at(std::uint64_t size) {
  auto st = db_.cached("SELECT size, root, at, note FROM audit_checkpoints WHERE size = ?");
  if (!st) return st.error();
  (*st)->bind(1, static_cast<std::int64_t>(size));
  auto rows = sqlite::rows<StoredCheckpoint>(**st, checkpoint_from);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredCheckpoint>();
  return std::optional(std::move(rows->front()));
}

Expected<std::optional<StoredCheckpoint>> AuditLog::latest_checkpoint() {
  auto st =
      db_.cached("SELECT size, root, at, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1");
  if (!st) return st.error();
  auto rows = sqlite::rows<StoredCheckpoint>(**st, checkpoint_from);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredCheckpoint>();
  return std::optional(std::move(rows->front()));
}

Expected<AuditLogCheck> AuditLog::verify(const NoteVerifier* verifier) {
  AuditLogCheck check;
  auto bad = [&](std::int64_t seq, std::string why) {
    check.ok = false;
    check.first_bad = seq;
    check.problem = std::move(why);
    return check;
  };
  auto cps = checkpoints();
  if (!cps) return cps.error();
  // Each checkpoint: signed by the node's key, and saying what its row says.
  for (const StoredCheckpoint& c : *cps) {
    // Without a key the note's text is still read: its size and root must be the record's.
    auto opened = verifier ? open_checkpoint(c.note, *verifier) : unsigned_checkpoint(c.note);
    if (!opened) {
      return bad(0,
                 "checkpoint of " + std::to_string(c.size) + " events: " + opened.error().message);
    }
    if (opened->size != c.size || opened->root != c.root) {
      return bad(0, "checkpoint of " + std::to_string(c.size) +
                        " events: its signed text says another size or root than its record");
    }
  }
  auto next_checkpoint = cps->begin();

  AuditChainFollower chain;
  MerkleFrontier frontier;
  std::vector<MerkleHash> tile;
  std::vector<MerkleHash> tiles;  // recomputed, to check the stored ones above them
  std::uint64_t vouched = 0;      // leaves from the start whose stored tiles match them
  for (std::uint64_t from = 1;;) {
    auto batch = events(from, 4096);
    if (!batch) return batch.error();
    for (const AuditEvent& e : *batch) {
      if (auto broken = chain.next(e)) return bad(broken->seq, std::move(broken->problem));
      const MerkleHash leaf = audit_leaf(e);
      frontier.append(leaf);
      tile.push_back(leaf);
      ++check.events;
      if (tile.size() == kTile) {
        tiles.push_back(merkle_root(tile));
        tile.clear();
        auto stored = node(kTileLevel, tiles.size() - 1);
        if (!stored) return stored.error();
        if (*stored && **stored != tiles.back()) {
          const std::uint64_t first = (tiles.size() - 1) * kTile + 1;
          return bad(static_cast<std::int64_t>(first),
                     "events " + std::to_string(first) + " to " +
                         std::to_string(first + kTile - 1) +
                         " are not the events the log held when they were added (an event was "
                         "changed and the chain recomputed), or their stored subtree was altered");
        }
        if (*stored && vouched + kTile == tiles.size() * kTile) vouched += kTile;
      }
      for (; next_checkpoint != cps->end() && next_checkpoint->size == frontier.size();
           ++next_checkpoint) {
        if (frontier.root() != next_checkpoint->root) {
          return bad(static_cast<std::int64_t>(vouched + 1),
                     "the signed checkpoint of " + std::to_string(next_checkpoint->size) +
                         " events does not match events 1 to " +
                         std::to_string(next_checkpoint->size) + ": an event from " +
                         std::to_string(vouched + 1) + " on was changed and the chain recomputed");
        }
        ++check.checkpoints;
      }
    }
    if (batch->size() < 4096) break;
    from = batch->back().seq + 1;
  }
  if (next_checkpoint != cps->end()) {
    return bad(static_cast<std::int64_t>(check.events + 1),
               "the signed checkpoint of " + std::to_string(next_checkpoint->size) +
                   " events is beyond the log's " + std::to_string(check.events) +
                   ": events were removed from its end");
  }
  // The stored subtrees above the tiles: each is the hash of its two children.
  std::vector<MerkleHash> level_hashes = std::move(tiles);
  for (int level = kTileLevel + 1; level_hashes.size() >= 2; ++level) {
    std::vector<MerkleHash> parents;
    for (std::size_t i = 0; i + 1 < level_hashes.size(); i += 2) {
      parents.push_back(merkle_node_hash(level_hashes[i], level_hashes[i + 1]));
      auto stored = node(level, parents.size() - 1);
      if (!stored) return stored.error();
      if (*stored && **stored != parents.back()) {
        const std::uint64_t first = (parents.size() - 1) * (std::uint64_t{1} << level) + 1;
        return bad(static_cast<std::int64_t>(first),
                   "the stored subtree of events " + std::to_string(first) + " to " +
                       std::to_string(first + (std::uint64_t{1} << level) - 1) +
                       " does not match them");
      }
    }
    level_hashes = std::move(parents);
  }
  return check;
}

}  // namespace lienthong
