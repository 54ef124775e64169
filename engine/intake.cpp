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

}  // namespace

void Intake::submit(PackageBytes bytes, Submitter who,
                    std::function<void(Expected<IntakeReceipt>)> answer) {
  const char* source = !who.node.empty() ? "peer" : who.actor == "folder" ? "folder" : "api";
  auto done = [this, source, answer = std::move(answer)](Expected<IntakeReceipt> r) {
    if (!r) {
      counters_.refused.add(r.error().code);
    } else {
      (r->duplicate ? counters_.duplicates : counters_.accepted).add(source);
    }
    answer(std::move(r));
  };
  if (bytes.size() > policy_.max_bytes) {
    return done(refuse("intake.too_large", "the package is " + std::to_string(bytes.size()) +
                                               " bytes, over the limit of " +
                                               std::to_string(policy_.max_bytes)));
  }
  auto doc = bytes.file ? parse_xml(*bytes.file, policy_.xml) : parse_xml(bytes.text, policy_.xml);
  if (!doc) return done(refuse("intake.malformed", doc.error().message));
  auto package = codec_.decode(doc->get());
  if (!package) return done(refuse("intake.invalid_edxml", package.error().message));

  const std::string& from = package->kind == PackageKind::document ? package->document.from.organ_id
                                                                   : package->status.from.organ_id;
  const AgencyEntry* sender = directory_.find(from);
  if (!sender) {
    return done(refuse("intake.unknown_sender",
                       "the sending agency " + from + " is not in this node's directory"));
  }
  if (!who.node.empty() && (sender->local || sender->node != who.node)) {
    return done(refuse(
        "intake.not_your_agency",
        "node " + who.node + " does not host " + from + " and cannot send in its name" +
            (sender->local ? " (it is hosted here)" : " (its node is " + sender->node + ")")));
  }
  if (!who.agency.empty() && who.agency != from) {
    return done(refuse("intake.not_your_agency", who.actor + " acts for " + who.agency +
                                                     " and cannot send in the name of " + from));
  }
  std::vector<std::string> recipients;
  if (package->kind == PackageKind::document) {
    if (package->document.to.empty()) {
      return done(refuse("intake.no_recipient", "the document names no recipient (<To>)"));
    }
    for (const auto& to : package->document.to) {
      if (!directory_.find(to.organ_id)) {
        return done(refuse("intake.unknown_recipient",
                           "the recipient " + to.organ_id + " is not in this node's directory"));
      }
      recipients.push_back(to.organ_id);
    }
  } else {
    if (!directory_.find(package->status.response_for.organ_id)) {
      return done(refuse("intake.unknown_recipient",
                         "the status answers " + package->status.response_for.organ_id +
                             ", which is not in this node's directory"));
    }
    recipients.push_back(package->status.response_for.organ_id);
  }

  VerifyPolicy verify = policy_.verify;
  if (!verify.at) verify.at = clock_.now();
  Verdict verdict = verify_package_doc(doc->get(), trust_, verify);
  if (!verdict.valid()) {
    return done(Error{"signature." + std::string(to_string(verdict.code)), verdict.reason});
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
      return done(refuse("intake.organisation_unsigned",
                         "the document carries only the signer's signature; its organisation's "
                         "is required, and this node holds no organisation key for " +
                             from));
    }
    SignOptions o;
    o.role = SignatureRole::organisation;
    o.at = clock_.now();
    o.limits = policy_.xml;
    if (auto signed_doc = sign_package_doc(doc->get(), *key, o); !signed_doc) {
      return done(refuse("intake.organisation_unsigned", signed_doc.error().message));
    }
    if (bytes.file) {
      auto both = signed_bytes(doc->get(), *bytes.file, policy_.spool_dir);
      if (!both) return done(refuse("intake.organisation_unsigned", both.error().message));
      bytes.file = std::move(*both);
    } else {
      auto both = signed_bytes(doc->get(), bytes.text);
      if (!both) return done(refuse("intake.organisation_unsigned", both.error().message));
      bytes.text = std::move(*both);
    }
    verdict = verify_package_doc(doc->get(), trust_, verify);
    if (!verdict.valid()) {
      return done(Error{"signature." + std::string(to_string(verdict.code)), verdict.reason});
    }
  }
  if (document && verdict.signatures.size() != 2) {
    return done(refuse("intake.organisation_unsigned",
                       "a document needs the signer's and its organisation's signatures"));
  }
  for (const auto& s : verdict.signatures) {
    const auto& allowed = s.role == SignatureRole::signer ? sender->signer_fingerprints
                                                          : sender->organisation_fingerprints;
    if (!allowed.count(s.fingerprint_sha256)) {
      return done(refuse("intake.signer_not_allowed", "the " + std::string(to_string(s.role)) +
                                                          " certificate of '" + s.common_name +
                                                          "' is not allowed to sign for " + from));
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
  auto receipt = std::make_shared<IntakeReceipt>();
  receipt->message_id = message_id_of(*package, revision);
  receipt->verdict = std::move(verdict);
  NewDocument record;
  record.message_id = receipt->message_id;
  record.kind = package->kind == PackageKind::document ? "document" : "status";
  record.sender = from;
  record.recipients = std::move(recipients);
  record.document_id = package->kind == PackageKind::document
                           ? package->document.document_id
                           : package->status.response_for.document_id;
  record.subject = package->kind == PackageKind::document ? package->document.subject
                                                          : package->status.description;
  record.received_at = clock_.now();
  const std::uint64_t original_size = bytes.size();
  if (bytes.file) {
    auto sha = bytes.file->sha256_hex();
    if (!sha) return done(sha.error());
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
  auto decoded = std::make_shared<Package>(std::move(*package));
  store_.write(
      [receipt, record = std::move(record), who, decoded,
       router = router_](StoreTx& tx) -> Expected<void> {
        auto existing = tx.document_by_message_id(record.message_id);
        if (!existing) return existing.error();
        if (*existing) {
          receipt->document = **existing;
          receipt->duplicate = true;
          return {};
        }
        auto id = tx.insert_document(record);
        if (!id) return id.error();
        receipt->document = *id;
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
        if (router)
          return router->received(tx, *id, *decoded, {who.actor, "", who.request_id},
                                  record.received_at);
        return {};
      },
      [receipt, decoded, original_size, cache = cache_, done = std::move(done)](Expected<void> r) {
        if (!r) return done(r.error());
        if (cache && !receipt->duplicate && decoded->kind == PackageKind::document) {
          for (auto& a : decoded->attachments) std::string().swap(a.data);
          cache->put(receipt->document, std::move(decoded), original_size);
        }
        done(std::move(*receipt));
      });
}

Expected<IntakeReceipt> Intake::submit_sync(PackageBytes bytes, Submitter who) {
  std::promise<Expected<IntakeReceipt>> promise;
  auto future = promise.get_future();
  submit(std::move(bytes), std::move(who),
         [&promise](Expected<IntakeReceipt> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace lienthong
