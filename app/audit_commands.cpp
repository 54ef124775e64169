// `lienthong audit`: verify a node's audit log, prove an event or that the log only grew, export a
// stretch of it as a bundle that verifies on another machine without the database.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "app/args.hpp"
#include "app/commands.hpp"
#include "base/encoding.hpp"
#include "config/node_config.hpp"
#include "engine/audit_log.hpp"
#include "signing/crypto.hpp"

namespace lienthong::cli {

namespace {

namespace json = boost::json;

constexpr const char* kAuditHelp = R"(usage: lienthong audit verify --db FILE [--key VKEY]
       lienthong audit prove EVENT --db FILE [--checkpoint SIZE] [--out FILE]
       lienthong audit prove --consistency OLD NEW --db FILE [--out FILE]
       lienthong audit export --db FILE [--from DATE] [--to DATE] [--utc-offset +07:00]
                              [--cert PEM] --out FILE
       lienthong audit verify --bundle FILE [--key VKEY]

The audit events of a node are the leaves of an RFC 9162 Merkle tree, and the node signs
checkpoints of it (C2SP tlog-checkpoint signed notes, Ed25519).

verify --db       checks the whole log: the hash chain, the stored subtrees, every checkpoint's
                  signature and root. Names the first bad event.
prove EVENT       an inclusion proof of event EVENT (its seq) against the checkpoint of SIZE
                  events, or the latest checkpoint; JSON, on standard output or into --out.
prove --consistency OLD NEW
                  a consistency proof: the checkpoint of NEW events extends that of OLD.
export            the events from DATE to DATE (yyyy-MM-dd, local time at --utc-offset, Vietnam's
                  by default, both included; default: all, at most 1,000,000 events) with the
                  checkpoints that cover them, a range proof of the events against the first of
                  those, consistency proofs between them, the node's verifier key and certificate
                  (--cert): one self-contained JSON file.
verify --bundle   checks an exported bundle or a proof of `prove`, without the database.

VKEY is the node's signed-note verifier key (a file holding `name+id+key`): the node writes it
beside its key as `<key>.pub`; by default `<db>.audit-key.pub`. Without --key, a bundle is checked
with the key it carries, which proves only that it is consistent: get the node's key from the
node's operators to know it is the node's log.

Exit 0 when everything holds, 1 when something does not, 2 on usage or input errors.
)";

constexpr const char* kInclusionKind = "lienthong-audit-inclusion-proof/1";
constexpr const char* kConsistencyKind = "lienthong-audit-consistency-proof/1";
constexpr const char* kBundleKind = "lienthong-audit-bundle/1";
// A bundle is one JSON document, held whole by whoever writes or checks it: about 300 MB at most.
constexpr std::uint64_t kMaxBundleEvents = 1'000'000;

std::string hex(const MerkleHash& h) {
  return merkle_hex(h);
}

json::array hex_list(const std::vector<MerkleHash>& hashes) {
  json::array out;
  for (const auto& h : hashes) out.emplace_back(hex(h));
  return out;
}

json::object event_json(const AuditEvent& e) {
  return json::object{{"seq", e.seq},
                      {"at", e.at},
                      {"actor", e.actor},
                      {"agency", e.agency},
                      {"action", e.action},
                      {"document", e.document},
                      {"detail", e.detail},
                      {"request_id", e.request_id},
                      {"prev_hash", to_hex(e.prev_hash)},
                      {"hash", to_hex(e.hash)}};
}

// Reading what someone else wrote: every field is checked, and a problem is one sentence.
struct Reader {
  std::string problem;

  const json::value* field(const json::object& o, const char* name) {
    const json::value* v = o.if_contains(name);
    if (!v && problem.empty()) problem = std::string("'") + name + "' is missing";
    return v;
  }
  std::string text(const json::object& o, const char* name) {
    const json::value* v = field(o, name);
    if (v && v->is_string()) return std::string(v->get_string());
    if (v && problem.empty()) problem = std::string("'") + name + "' is not a string";
    return {};
  }
  std::int64_t number(const json::object& o, const char* name) {
    const json::value* v = field(o, name);
    if (v && v->is_int64()) return v->get_int64();
    if (v && v->is_uint64() && v->get_uint64() <= INT64_MAX) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    if (v && problem.empty()) problem = std::string("'") + name + "' is not a whole number";
    return 0;
  }
  std::string bytes(const json::object& o, const char* name) {
    auto b = from_hex(text(o, name));
    if (!b && problem.empty()) problem = std::string("'") + name + "': " + b.error().message;
    return b ? *b : std::string();
  }
  MerkleHash hash(std::string_view hex_text) {
    MerkleHash h{};
    auto b = from_hex(hex_text);
    if (!b || b->size() != h.size()) {
      if (problem.empty()) problem = "'" + std::string(hex_text) + "' is not a SHA-256 in hex";
      return h;
    }
    std::copy(b->begin(), b->end(), h.begin());
    return h;
  }
  std::vector<MerkleHash> hashes(const json::object& o, const char* name) {
    std::vector<MerkleHash> out;
    const json::value* v = field(o, name);
    if (!v) return out;
    if (!v->is_array()) {
      if (problem.empty()) problem = std::string("'") + name + "' is not a list";
      return out;
    }
    for (const auto& x : v->get_array()) {
      out.push_back(hash(x.is_string() ? std::string_view(x.get_string()) : std::string_view()));
    }
    return out;
  }
  AuditEvent event(const json::value& v) {
    AuditEvent e;
    if (!v.is_object()) {
      if (problem.empty()) problem = "an event is not an object";
      return e;
    }
    const auto& o = v.get_object();
    e.seq = number(o, "seq");
    e.at = number(o, "at");
    e.actor = text(o, "actor");
    e.agency = text(o, "agency");
    e.action = text(o, "action");
    e.document = number(o, "document");
    e.detail = text(o, "detail");
    e.request_id = text(o, "request_id");
    e.prev_hash = bytes(o, "prev_hash");
    e.hash = bytes(o, "hash");
    return e;
  }
};

int write_output(const Args& args, const json::value& doc) {
  const std::string text = json::serialize(doc) + "\n";
  if (!args.has("out")) return std::cout << text, 0;
  if (auto w = write_file(args.get("out"), text); !w) return fail("audit", w.error().message);
  return 0;
}

std::uint64_t parse_count(const std::string& text, const char* what, std::string& problem) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    problem = std::string(what) + " '" + text + "' is not a number";
    return 0;
  }
  return std::stoull(text);
}

// The verifier key from --key, or beside the database.
Expected<NoteVerifier> key_from(const Args& args, const std::string& db) {
  const std::string path = args.has("key") ? args.get("key") : audit_key_path_for(db) + ".pub";
  auto text = read_file(path, 64 << 10);
  if (!text) return Error{text.error().code, "verifier key " + path + ": " + text.error().message};
  auto key = parse_note_verifier(*text);
  if (!key) return Error{key.error().code, "verifier key " + path + ": " + key.error().message};
  return key;
}

// The audit log of the store at `db`, read-only.
Expected<std::unique_ptr<AuditLog>> open_log(const std::string& db) {
  if (!std::filesystem::exists(db)) return Error{"audit.no_store", "no store at " + db};
  try {
    return std::make_unique<AuditLog>(db, true);
  } catch (const std::exception& e) {
    return Error{"audit.no_store", e.what()};
  }
}

int verify_db(const Args& args) {
  const std::string db = args.get("db");
  if (!std::filesystem::exists(db)) return fail("audit", "no store at " + db);
  // Without a key (none given, none beside the database) the checkpoints' roots are still
  // compared with the events, but their signatures cannot be checked.
  std::optional<NoteVerifier> key;
  if (args.has("key") || std::filesystem::exists(audit_key_path_for(db) + ".pub")) {
    auto k = key_from(args, db);
    if (!k) return fail("audit", k.error().message);
    key = std::move(*k);
  }
  auto opened = open_log(db);
  if (!opened) return fail("audit", opened.error().message);
  AuditLog& log = **opened;
  auto check = log.verify(key ? &*key : nullptr);
  if (!check) return fail("audit", check.error().message);
  if (!check->ok) {
    std::cout << "audit log BROKEN";
    if (check->first_bad > 0) std::cout << " at event " << check->first_bad;
    std::cout << ": " << check->problem << "\n";
    return 1;
  }
  std::cout << "audit log verified: " << check->events << " events, hash chain whole, "
            << check->checkpoints << " signed checkpoints match the events"
            << (key || check->checkpoints == 0
                    ? ""
                    : " (no verifier key: their signatures were not checked; pass --key)")
            << "\n";
  return 0;
}

int prove(const Args& args) {
  const std::string db = args.get("db");
  auto opened = open_log(db);
  if (!opened) return fail("audit", opened.error().message);
  AuditLog& log = **opened;
  auto vkey = read_file(audit_key_path_for(db) + ".pub", 64 << 10);
  std::string problem;
  auto checkpoint_of = [&](std::uint64_t size) -> Expected<StoredCheckpoint> {
    auto c = size == 0 ? log.latest_checkpoint() : log.checkpoint_at(size);
    if (!c) return c.error();
    if (!*c) {
      return Error{"audit.no_checkpoint",
                   size == 0 ? "the node has signed no checkpoint yet"
                             : "there is no checkpoint of " + std::to_string(size) + " events"};
    }
    return **c;
  };
  json::object doc;
  if (args.flag("consistency")) {
    if (args.positional.size() != 3)
      return usage_error("audit", "expected OLD and NEW", kAuditHelp);
    const auto old_size = parse_count(args.positional[1], "OLD", problem);
    const auto new_size = parse_count(args.positional[2], "NEW", problem);
    if (!problem.empty()) return usage_error("audit", problem, kAuditHelp);
    if (old_size == 0 || new_size == 0) return fail("audit", "checkpoint sizes start at 1");
    auto old_c = checkpoint_of(old_size);
    if (!old_c) return fail("audit", old_c.error().message);
    auto new_c = checkpoint_of(new_size);
    if (!new_c) return fail("audit", new_c.error().message);
    auto proof = log.consistency_proof(old_size, new_size);
    if (!proof) return fail("audit", proof.error().message);
    doc = {{"lienthong", kConsistencyKind},
           {"old_checkpoint", old_c->note},
           {"new_checkpoint", new_c->note},
           {"proof", hex_list(*proof)}};
  } else {
    if (args.positional.size() != 2) return usage_error("audit", "expected EVENT", kAuditHelp);
    const auto seq = parse_count(args.positional[1], "EVENT", problem);
    const auto at =
        args.has("checkpoint") ? parse_count(args.get("checkpoint"), "SIZE", problem) : 0;
    if (!problem.empty()) return usage_error("audit", problem, kAuditHelp);
    auto c = checkpoint_of(at);
    if (!c) return fail("audit", c.error().message);
    if (seq == 0 || seq > c->size) {
      return fail("audit", "event " + std::to_string(seq) + " is not in the checkpoint of " +
                               std::to_string(c->size) +
                               " events (a later event is in the next checkpoint)");
    }
    auto events = log.events(seq, 1);
    if (!events) return fail("audit", events.error().message);
    if (events->empty() || static_cast<std::uint64_t>(events->front().seq) != seq) {
      return fail("audit", "event " + std::to_string(seq) + " is missing from the log");
    }
    auto proof = log.inclusion_proof(seq - 1, c->size);
    if (!proof) return fail("audit", proof.error().message);
    doc = {{"lienthong", kInclusionKind},
           {"event", event_json(events->front())},
           {"leaf_index", seq - 1},
           {"checkpoint", c->note},
           {"proof", hex_list(*proof)}};
  }
  if (vkey) doc["verifier_key"] = vkey->substr(0, vkey->find('\n'));
  return write_output(args, doc);
}

// yyyy-MM-dd at 00:00 local time, as seconds since the epoch.
Expected<Timestamp> day_start(const std::string& text, int utc_offset) {
  auto d = parse_config_date(text);
  if (!d) return d.error();
  return d->day_number() * 86400 - utc_offset;
}

int export_bundle(const Args& args) {
  const std::string db = args.get("db");
  if (!std::filesystem::exists(db)) return fail("audit", "no store at " + db);
  if (!args.has("out")) return usage_error("audit", "export needs --out FILE", kAuditHelp);
  Timestamp from = std::numeric_limits<Timestamp>::min();
  Timestamp to = std::numeric_limits<Timestamp>::max();
  auto offset = parse_utc_offset(args.get("utc-offset", "+07:00"));
  if (!offset) return usage_error("audit", "--utc-offset: " + offset.error().message, kAuditHelp);
  if (args.has("from")) {
    auto t = day_start(args.get("from"), *offset);
    if (!t) return usage_error("audit", "--from: " + t.error().message, kAuditHelp);
    from = *t;
  }
  if (args.has("to")) {
    auto t = day_start(args.get("to"), *offset);
    if (!t) return usage_error("audit", "--to: " + t.error().message, kAuditHelp);
    to = *t + 86400 - 1;
  }
  if (from > to) return usage_error("audit", "--from is after --to", kAuditHelp);
  std::string certificate;
  if (args.has("cert")) {
    auto pem = read_file(args.get("cert"), 1 << 20);
    if (!pem) return fail("audit", "--cert " + args.get("cert") + ": " + pem.error().message);
    if (auto certs = load_certificates_pem(*pem); !certs)
      return fail("audit", "--cert " + args.get("cert") + ": " + certs.error().message);
    certificate = *pem;
  }
  auto opened = open_log(db);
  if (!opened) return fail("audit", opened.error().message);
  AuditLog& log = **opened;
  auto vkey = read_file(audit_key_path_for(db) + ".pub", 64 << 10);
  if (!vkey) return fail("audit", "the node's verifier key: " + vkey.error().message);
  auto range = log.seq_range(from, to);
  if (!range) return fail("audit", range.error().message);
  if (!*range) return fail("audit", "no audit event in that period");
  auto [first, last] = **range;
  if (last - first + 1 > kMaxBundleEvents) {
    return fail("audit", "the period holds " + std::to_string(last - first + 1) +
                             " events; a bundle holds at most " + std::to_string(kMaxBundleEvents) +
                             ": export a shorter period");
  }
  auto all = log.checkpoints();
  if (!all) return fail("audit", all.error().message);
  std::vector<StoredCheckpoint> covering;
  for (auto& c : *all) {
    if (c.size >= last) covering.push_back(std::move(c));
  }
  if (covering.empty()) {
    return fail("audit", "event " + std::to_string(last) +
                             " is not in a signed checkpoint yet (the latest covers " +
                             std::to_string(all->empty() ? 0 : all->back().size) +
                             " events): export again after the next checkpoint");
  }
  json::array events;
  for (std::uint64_t seq = first; seq <= last;) {
    auto batch = log.events(seq, 4096);
    if (!batch) return fail("audit", batch.error().message);
    if (batch->empty()) return fail("audit", "event " + std::to_string(seq) + " is missing");
    for (const auto& e : *batch) {
      if (static_cast<std::uint64_t>(e.seq) > last) break;
      events.emplace_back(event_json(e));
    }
    seq = batch->back().seq + 1;
  }
  auto proof = log.range_proof(first - 1, last, covering.front().size);
  if (!proof) return fail("audit", proof.error().message);
  json::array notes, consistency;
  for (std::size_t i = 0; i < covering.size(); ++i) {
    notes.emplace_back(covering[i].note);
    if (i == 0) continue;
    auto c = log.consistency_proof(covering[i - 1].size, covering[i].size);
    if (!c) return fail("audit", c.error().message);
    consistency.emplace_back(hex_list(*c));
  }
  json::object doc{{"lienthong", kBundleKind},
                   {"verifier_key", vkey->substr(0, vkey->find('\n'))},
                   {"certificate", certificate},
                   {"first", first},
                   {"last", last},
                   {"events", std::move(events)},
                   {"checkpoints", std::move(notes)},
                   {"range_proof", hex_list(*proof)},
                   {"consistency_proofs", std::move(consistency)}};
  if (int rc = write_output(args, doc); rc != 0) return rc;
  std::cout << "exported events " << first << " to " << last << " with " << covering.size()
            << " checkpoint(s) into " << args.get("out") << "\n";
  return 0;
}

// What a verification found: empty when everything holds.
struct Finding {
  std::int64_t event = 0;
  std::string problem;
};

std::optional<Finding> verify_inclusion(const json::object& doc, const NoteVerifier& key,
                                        std::string& said) {
  Reader r;
  const json::value* ev = r.field(doc, "event");
  const AuditEvent e = ev ? r.event(*ev) : AuditEvent{};
  const auto index = r.number(doc, "leaf_index");
  const std::string note = r.text(doc, "checkpoint");
  const auto proof = r.hashes(doc, "proof");
  if (!r.problem.empty()) return Finding{0, "malformed proof: " + r.problem};
  if (e.seq < 1) return Finding{0, "malformed proof: an event's seq starts at 1"};
  auto c = open_checkpoint(note, key);
  if (!c) return Finding{0, "the checkpoint: " + c.error().message};
  if (index != e.seq - 1) return Finding{e.seq, "the leaf index is not the event's"};
  if (audit_hash(e) != e.hash) {
    return Finding{e.seq, "event " + std::to_string(e.seq) + " does not match its own hash"};
  }
  if (auto v = merkle_verify_inclusion(static_cast<std::uint64_t>(index), c->size, audit_leaf(e),
                                       proof, c->root);
      !v) {
    return Finding{e.seq, "event " + std::to_string(e.seq) + " is not in the checkpoint of " +
                              std::to_string(c->size) + " events: " + v.error().message};
  }
  said = "event " + std::to_string(e.seq) + " is in the signed checkpoint of " +
         std::to_string(c->size) + " events of " + c->origin;
  return std::nullopt;
}

std::optional<Finding> verify_consistency(const json::object& doc, const NoteVerifier& key,
                                          std::string& said) {
  Reader r;
  const std::string old_note = r.text(doc, "old_checkpoint");
  const std::string new_note = r.text(doc, "new_checkpoint");
  const auto proof = r.hashes(doc, "proof");
  if (!r.problem.empty()) return Finding{0, "malformed proof: " + r.problem};
  auto old_c = open_checkpoint(old_note, key);
  if (!old_c) return Finding{0, "the old checkpoint: " + old_c.error().message};
  auto new_c = open_checkpoint(new_note, key);
  if (!new_c) return Finding{0, "the new checkpoint: " + new_c.error().message};
  if (auto v = merkle_verify_consistency(old_c->size, new_c->size, proof, old_c->root, new_c->root);
      !v) {
    return Finding{0, "the checkpoint of " + std::to_string(new_c->size) +
                          " events does not extend that of " + std::to_string(old_c->size) + ": " +
                          v.error().message};
  }
  said = "the checkpoint of " + std::to_string(new_c->size) + " events extends that of " +
         std::to_string(old_c->size) + ": the log only grew";
  return std::nullopt;
}

std::optional<Finding> verify_bundle(const json::object& doc, const NoteVerifier& key,
                                     std::string& said) {
  Reader r;
  const auto first = r.number(doc, "first");
  const auto last = r.number(doc, "last");
  std::vector<AuditEvent> events;
  if (const json::value* v = r.field(doc, "events"); v && v->is_array()) {
    for (const auto& x : v->get_array()) events.push_back(r.event(x));
  } else if (v && r.problem.empty()) {
    r.problem = "'events' is not a list";
  }
  std::vector<std::string> notes;
  if (const json::value* v = r.field(doc, "checkpoints"); v && v->is_array()) {
    for (const auto& x : v->get_array()) {
      notes.push_back(x.is_string() ? std::string(x.get_string()) : std::string());
    }
  }
  const auto range = r.hashes(doc, "range_proof");
  std::vector<std::vector<MerkleHash>> consistency;
  if (const json::value* v = r.field(doc, "consistency_proofs"); v && v->is_array()) {
    for (const auto& x : v->get_array()) {
      json::object holder{{"p", x}};
      consistency.push_back(r.hashes(holder, "p"));
    }
  }
  if (!r.problem.empty()) return Finding{0, "malformed bundle: " + r.problem};
  if (first < 1 || last < first) {
    return Finding{0, "malformed bundle: events " + std::to_string(first) + " to " +
                          std::to_string(last) + " are not a range of the log (it starts at 1)"};
  }
  if (notes.empty()) return Finding{0, "the bundle holds no checkpoint"};
  if (consistency.size() + 1 != notes.size()) {
    return Finding{0, "the bundle needs one consistency proof between each two checkpoints"};
  }
  // The checkpoints: each signed by the key, each extending the one before.
  std::vector<Checkpoint> cps;
  for (const auto& note : notes) {
    auto c = open_checkpoint(note, key);
    if (!c)
      return Finding{0, "checkpoint " + std::to_string(cps.size() + 1) + ": " + c.error().message};
    cps.push_back(std::move(*c));
  }
  for (std::size_t i = 1; i < cps.size(); ++i) {
    if (auto v = merkle_verify_consistency(cps[i - 1].size, cps[i].size, consistency[i - 1],
                                           cps[i - 1].root, cps[i].root);
        !v) {
      return Finding{0, "the checkpoint of " + std::to_string(cps[i].size) +
                            " events does not extend that of " + std::to_string(cps[i - 1].size) +
                            ": " + v.error().message};
    }
  }
  // The events: a whole chain from `first` to `last`, each matching its hash.
  if (events.empty()) return Finding{0, "the bundle holds no event"};
  AuditChainFollower chain(first, events.front().prev_hash);
  std::vector<MerkleHash> leaves;
  for (const AuditEvent& e : events) {
    if (auto broken = chain.next(e)) return Finding{broken->seq, broken->problem};
    leaves.push_back(audit_leaf(e));
  }
  if (events.back().seq != last) {
    return Finding{events.back().seq + 1, "the events end at " + std::to_string(events.back().seq) +
                                              ", not at " + std::to_string(last) +
                                              ": the last were removed"};
  }
  // And exactly the log's events in the first checkpoint that covers them.
  if (static_cast<std::uint64_t>(last) > cps.front().size) {
    return Finding{0, "event " + std::to_string(last) + " is beyond the bundle's first checkpoint"};
  }
  if (auto v = merkle_verify_range(cps.front().size, static_cast<std::uint64_t>(first - 1), leaves,
                                   range, cps.front().root);
      !v) {
    return Finding{first, "events " + std::to_string(first) + " to " + std::to_string(last) +
                              " are not the log's events in its signed checkpoint of " +
                              std::to_string(cps.front().size) +
                              " (one was changed and the chain recomputed): " + v.error().message};
  }
  said = "events " + std::to_string(first) + " to " + std::to_string(last) + " of " +
         cps.front().origin + " verified: hash chain whole, in the signed checkpoint of " +
         std::to_string(cps.front().size) + " events" +
         (cps.size() > 1
              ? ", which the " + std::to_string(cps.size() - 1) + " later checkpoint(s) extend"
              : std::string());
  return std::nullopt;
}

int verify_file(const Args& args) {
  const std::string path = args.has("bundle") ? args.get("bundle") : args.get("proof");
  auto text = read_input(path);
  if (!text) return fail("audit", path + ": " + text.error().message);
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec);
  if (ec || !doc.is_object()) return fail("audit", path + ": not a JSON object");
  const json::object& o = doc.get_object();
  const json::value* kind = o.if_contains("lienthong");
  const std::string k = kind && kind->is_string() ? std::string(kind->get_string()) : "";
  Expected<NoteVerifier> key = Error{"", ""};
  if (args.has("key")) {
    key = key_from(args, "");
  } else {
    const json::value* v = o.if_contains("verifier_key");
    key = v && v->is_string() ? parse_note_verifier(std::string(v->get_string()))
                              : Expected<NoteVerifier>(Error{"audit.no_key", "it carries no key"});
    if (key) {
      std::cerr << "lienthong audit: checking with the key the file carries ("
                << note_verifier_text(*key)
                << "); pass --key with the node's published key to know the log is the node's\n";
    }
  }
  if (!key) return fail("audit", key.error().message);
  std::string said;
  std::optional<Finding> finding;
  if (k == kBundleKind) {
    finding = verify_bundle(o, *key, said);
  } else if (k == kInclusionKind) {
    finding = verify_inclusion(o, *key, said);
  } else if (k == kConsistencyKind) {
    finding = verify_consistency(o, *key, said);
  } else {
    return fail("audit", path + ": not an audit bundle or proof of lienthong");
  }
  if (finding) {
    std::cout << "NOT VERIFIED";
    if (finding->event > 0) std::cout << " at event " << finding->event;
    std::cout << ": " << finding->problem << "\n";
    return 1;
  }
  std::cout << said << "\n";
  return 0;
}

}  // namespace

int cmd_audit(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kAuditHelp, 0;
  auto args = parse_args(argv, {.with_value = {"db", "key", "checkpoint", "out", "from", "to",
                                               "cert", "bundle", "proof", "utc-offset"},
                                .flags = {"consistency"}});
  if (!args) return usage_error("audit", args.error().message, kAuditHelp);
  const std::string verb = args->positional.empty() ? "" : args->positional.front();
  if (verb == "verify" && args->positional.size() == 1) {
    if (args->has("bundle") || args->has("proof")) return verify_file(*args);
    if (args->has("db")) return verify_db(*args);
    return usage_error("audit", "verify needs --db FILE or --bundle FILE", kAuditHelp);
  }
  if (verb == "prove" && args->has("db")) return prove(*args);
  if (verb == "export" && args->positional.size() == 1 && args->has("db")) {
    return export_bundle(*args);
  }
  return usage_error("audit", "expected verify, prove or export with their options", kAuditHelp);
}

}  // namespace lienthong::cli
