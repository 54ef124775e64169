#include "engine/intake.hpp"

#include "base/encoding.hpp"
#include "base/memory.hpp"

#include <cstdio>
#include <ctime>
#include <future>
#include <memory>

namespace lienthong {

std::int64_t SystemClock::now() const {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::string message_id_of(const Package& p, std::string_view revision) {
  if (p.kind == PackageKind::status) {
    const StatusHeader& s = p.status;
    char ts[32] = "";
    if (s.timestamp) {
      const DateTime& t = *s.timestamp;
      std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d", t.date.year, t.date.month,
                    t.date.day, t.hour, t.minute, t.second);
    }
    return "status|" + s.from.organ_id + "|" + s.response_for.document_id + "|" + s.status_code +
           "|" + std::string(ts);
  }
  std::string business = "0";
  if (p.trace_header_list && p.trace_header_list->business &&
      p.trace_header_list->business->doc_type) {
    business = std::to_string(*p.trace_header_list->business->doc_type);
  }
  std::string id =
      "document|" + p.document.from.organ_id + "|" + p.document.document_id + "|" + business;
  if (business == "2" || business == "3") id += "|" + sha256_hex(revision).substr(0, 16);
  return id;
}

namespace {

// Packages up to this size are stored without a separate header (see NewDocument::header).
constexpr std::uint64_t kHeaderAbove = 256 << 10;

Error refuse(const char* code, std::string message) {
  return Error{code, std::move(message)};
}

const char* source_of(const Submitter& who) {
  return !who.node.empty() ? "peer" : who.actor == "folder" ? "folder" : "api";
}

}  // namespace

void Intake::submit(PackageBytes bytes, Submitter who,
                    std::function<void(Expected<IntakeReceipt>)> done) {
  auto checked = check(std::move(bytes), std::move(who));
  if (!checked) return done(checked.error());
  auto c = std::make_shared<CheckedPackage>(std::move(*checked));
  store_.write([this, c](StoreTx& tx) { return store(tx, *c); },
               [this, c, done = std::move(done)](Expected<void> r) {
                 stored(*c, r);
                 if (!r) return done(r.error());
                 done(std::move(c->receipt));
               });
}

Expected<CheckedPackage> Intake::check(PackageBytes bytes, Submitter who) {
  auto checked = check_package(std::move(bytes), std::move(who));
  if (!checked) counters_.refused.add(checked.error().code);
  return checked;
}

Expected<CheckedPackage> Intake::check_package(PackageBytes bytes, Submitter who) {
  if (bytes.size() > policy_.max_bytes) {
    return refuse("intake.too_large", "the package is " + std::to_string(bytes.size()) +
                                          " bytes, over the limit of " +
                                          std::to_string(policy_.max_bytes));
  }
  auto doc = bytes.file ? parse_xml(*bytes.file, policy_.xml) : parse_xml(bytes.text, policy_.xml);
  if (!doc) return refuse("intake.malformed", doc.error().message);
  auto package = codec_.decode(doc->get());
  if (!package) return refuse("intake.invalid_edxml", package.error().message);

  const std::string& from = package->kind == PackageKind::document ? package->document.from.organ_id
                                                                   : package->status.from.organ_id;
  const AgencyEntry* sender = directory_.find(from);
  if (!sender) {
    return refuse("intake.unknown_sender",
                  "the sending agency " + from + " is not in this node's directory");
  }
  if (!who.node.empty() && (sender->local || sender->node != who.node)) {
    return refuse(
        "intake.not_your_agency",
        "node " + who.node + " does not host " + from + " and cannot send in its name" +
            (sender->local ? " (it is hosted here)" : " (its node is " + sender->node + ")"));
  }
  if (!who.agency.empty() && who.agency != from) {
    return refuse("intake.not_your_agency", who.actor + " acts for " + who.agency +
                                                " and cannot send in the name of " + from);
  }
  std::vector<std::string> recipients;
  if (package->kind == PackageKind::document) {
    if (package->document.to.empty()) {
      return refuse("intake.no_recipient", "the document names no recipient (<To>)");
    }
    for (const auto& to : package->document.to) {
      if (!directory_.find(to.organ_id)) {
        return refuse("intake.unknown_recipient",
                      "the recipient " + to.organ_id + " is not in this node's directory");
      }
      recipients.push_back(to.organ_id);
    }
  } else {
    if (!directory_.find(package->status.response_for.organ_id)) {
      return refuse("intake.unknown_recipient", "the status answers " +
                                                    package->status.response_for.organ_id +
                                                    ", which is not in this node's directory");
    }
    recipients.push_back(package->status.response_for.organ_id);
  }

  VerifyPolicy verify = policy_.verify;
  if (!verify.at) verify.at = clock_.now();
  Verdict verdict = verify_package_doc(doc->get(), trust_, verify);
  if (!verdict.valid()) {
    return Error{"signature." + std::string(to_string(verdict.code)), verdict.reason};
  }
  const bool document = package->kind == PackageKind::document;
  if (document && verdict.signatures.size() == 1 &&
      verdict.signatures[0].role == SignatureRole::signer) {
    // NĐ 30/2020: a document needs its organisation's signature too. A clerk of an agency hosted
    // here may leave it to the node, which holds the organisation's key.
    const SigningKey* key = nullptr;
    if (keys_ && who.node.empty() && sender->local) {
      if (auto it = keys_->find(from); it != keys_->end()) key = &it->second;
    }
    if (!key) {
      return refuse("intake.organisation_unsigned",
                    "the document carries only the signer's signature; its organisation's "
                    "is required, and this node holds no organisation key for " +
                        from);
    }
    SignOptions o;
    o.role = SignatureRole::organisation;
    o.at = clock_.now();
    o.limits = policy_.xml;
    if (auto signed_doc = sign_package_doc(doc->get(), *key, o); !signed_doc) {
      return refuse("intake.organisation_unsigned", signed_doc.error().message);
    }
    if (bytes.file) {
      auto both = signed_bytes(doc->get(), *bytes.file, policy_.spool_dir);
      if (!both) return refuse("intake.organisation_unsigned", both.error().message);
      bytes.file = std::move(*both);
    } else {
      auto both = signed_bytes(doc->get(), bytes.text);
      if (!both) return refuse("intake.organisation_unsigned", both.error().message);
      bytes.text = std::move(*both);
    }
    verdict = verify_package_doc(doc->get(), trust_, verify);
    if (!verdict.valid()) {
      return Error{"signature." + std::string(to_string(verdict.code)), verdict.reason};
    }
  }
  if (document && verdict.signatures.size() != 2) {
    return refuse("intake.organisation_unsigned",
                  "a document needs the signer's and its organisation's signatures");
  }
  for (const auto& s : verdict.signatures) {
    const auto& allowed = s.role == SignatureRole::signer ? sender->signer_fingerprints
                                                          : sender->organisation_fingerprints;
    if (!allowed.count(s.fingerprint_sha256)) {
      return refuse("intake.signer_not_allowed", "the " + std::string(to_string(s.role)) +
                                                     " certificate of '" + s.common_name +
                                                     "' is not allowed to sign for " + from);
    }
  }

  std::string revision;
  std::string header;
  if (const auto& t = package->trace_header_list;
      t && t->business && (t->business->doc_type == 2 || t->business->doc_type == 3)) {
    header = codec_.encode(*package);
    revision = header;
    for (const auto& a : package->attachments) revision += "\n" + a.sha256_hex;
  } else if (bytes.size() > kHeaderAbove) {
    header = codec_.encode(*package);
  }
  CheckedPackage out;
  out.receipt.message_id = message_id_of(*package, revision);
  out.receipt.verdict = std::move(verdict);
  NewDocument& record = out.record;
  record.message_id = out.receipt.message_id;
  record.kind = package->kind == PackageKind::document ? "document" : "status";
  record.sender = from;
  record.recipients = std::move(recipients);
  record.document_id = package->kind == PackageKind::document
                           ? package->document.document_id
                           : package->status.response_for.document_id;
  record.subject = package->kind == PackageKind::document ? package->document.subject
                                                          : package->status.description;
  record.received_at = clock_.now();
  out.original_size = bytes.size();
  if (bytes.file) {
    auto sha = bytes.file->sha256_hex();
    if (!sha) return sha.error();
    record.original_sha256_hex = std::move(*sha);
    record.original_file = std::move(bytes.file);
  } else {
    record.original_sha256_hex = sha256_hex(bytes.text);
    record.original = std::move(bytes.text);
  }
  record.header = std::move(header);
  if (record.original_file) {
    doc->reset();
    release_free_memory();  // the tree of a large package, now that it is done with
  }
  out.package = std::make_shared<Package>(std::move(*package));
  out.who = std::move(who);
  return out;
}

Expected<void> Intake::store(StoreTx& tx, CheckedPackage& c) const {
  const NewDocument& record = c.record;
  IntakeReceipt& receipt = c.receipt;
  const Submitter& who = c.who;
  const bool owes = who.statuses_in_ack && packager_ && record.kind == "document";
  auto existing = tx.document_by_message_id(record.message_id);
  if (!existing) return existing.error();
  if (*existing) {
    receipt.document = **existing;
    receipt.duplicate = true;
    if (owes) return owed_statuses(tx, c, false);
    return {};
  }
  auto id = tx.insert_document(record);
  if (!id) return id.error();
  receipt.document = *id;
  AuditEvent e;
  e.at = record.received_at;
  e.actor = who.actor;
  e.agency = record.sender;
  e.action = record.kind == "document" ? "document.received" : "status.received";
  e.document = *id;
  e.detail = "{\"message_id\":" + json_quote(record.message_id) + "}";
  e.request_id = who.request_id;
  auto a = tx.append_audit(std::move(e));
  if (!a) return a.error();
  if (router_) {
    if (auto r = router_->received(tx, *id, *c.package, {who.actor, "", who.request_id},
                                   record.received_at);
        !r) {
      return r;
    }
  }
  if (owes) return owed_statuses(tx, c, true);
  return {};
}

// The statuses about a document just received that go back in the peer's acknowledgement: those
// queued for agencies of the submitting node, which this node signs for. `fresh`: the document
// was stored now, and they are recorded as delivered; otherwise (a copy) those recorded so before
// go back again.
Expected<void> Intake::owed_statuses(StoreTx& tx, CheckedPackage& c, bool fresh) const {
  auto queued = tx.statuses_queued(c.receipt.document);
  if (!queued) return queued.error();
  for (const OutboxItem& item : *queued) {
    const AgencyEntry* to = directory_.find(item.to_agency);
    if (!to || to->local || to->node != c.who.node) continue;
    if (fresh ? item.state != "pending" : item.state != "delivered" || item.attempts != 0) continue;
    auto instance = tx.instance(item.instance);
    if (!instance) return instance.error();
    if (!*instance || !packager_->signs_for((*instance)->agency)) continue;
    const std::string& from = (*instance)->agency;
    if (fresh) {
      const Timestamp now = c.record.received_at;
      if (auto w = tx.record_attempt(item.id, "delivered", 0, now, ""); !w) return w;
      auto a = tx.append_audit(delivery_event(
          item, now, "status.delivered",
          "{\"outbox\":" + std::to_string(item.id) + ",\"from\":" + json_quote(from) +
              ",\"code\":" + json_quote(item.code) +
              ",\"channel\":\"ack\",\"peer\":" + json_quote(c.who.node) + "}"));
      if (!a) return a.error();
    }
    c.receipt.statuses.push_back(OwedStatus{from, item.code, item.created_at});
  }
  if (!c.receipt.statuses.empty()) c.receipt.package = c.package;
  return {};
}

void Intake::stored(CheckedPackage& c, const Expected<void>& written) {
  if (!written) {
    counters_.refused.add(written.error().code);
    return;
  }
  (c.receipt.duplicate ? counters_.duplicates : counters_.accepted).add(source_of(c.who));
  if (cache_ && !c.receipt.duplicate && c.package->kind == PackageKind::document) {
    for (auto& a : c.package->attachments) std::string().swap(a.data);
    std::shared_ptr<const std::string> original;
    if (!c.record.original_file) {
      original = std::make_shared<const std::string>(std::move(c.record.original));
    }
    cache_->put(c.receipt.document, c.package, c.original_size, std::move(original));
  }
}

Expected<IntakeReceipt> Intake::submit_sync(PackageBytes bytes, Submitter who) {
  std::promise<Expected<IntakeReceipt>> promise;
  auto future = promise.get_future();
  submit(std::move(bytes), std::move(who),
         [&promise](Expected<IntakeReceipt> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace lienthong
