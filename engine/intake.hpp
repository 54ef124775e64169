#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/metrics.hpp"
#include "base/xml.hpp"
#include "engine/directory.hpp"
#include "engine/package_cache.hpp"
#include "engine/ports.hpp"
#include "engine/router.hpp"
#include "engine/store.hpp"
#include "signing/trust_store.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {

// A status an agency hosted here owes the sender of a package it received from a peer, to go back
// in the acknowledgement (Submitter::statuses_in_ack) rather than through the outbox.
struct OwedStatus {
  std::string from;  // the answering agency
  std::string code;
  Timestamp at = 0;  // when it arose: the packet's timestamp, so that it is the same packet again
};

struct IntakeReceipt {
  std::int64_t document = 0;
  std::string message_id;
  bool duplicate = false;  // already held: the original's id, nothing changed
  Verdict verdict;
  // With Submitter::statuses_in_ack: the statuses to sign and return, and the package they answer.
  std::vector<OwedStatus> statuses;
  std::shared_ptr<const Package> package;
};

// What intake did, since the node started: for /metrics.
struct IntakeCounters {
  LabeledCounter accepted;    // by source: api, peer, folder
  LabeledCounter duplicates;  // by source
  LabeledCounter refused;     // by error code
};

// Who hands a package in: a clerk through the API, a peer node, or the drop folder.
struct Submitter {
  std::string actor;   // user name, peer id, "folder"
  std::string agency;  // the agency the submitter acts for (a clerk's own agency)
  std::string request_id;
  std::string node;  // a peer node, identified by its TLS certificate: From must be hosted there
  // The peer stores the status packets returned in its acknowledgement: those that the agencies
  // hosted here emit on arrival go back that way and count as delivered (attempts 0, audited with
  // the channel "ack"). A copy sent again gets them again.
  bool statuses_in_ack = false;
};

// A package that passed every check of intake, ready to be stored (see Intake::check).
struct CheckedPackage {
  NewDocument record;
  std::shared_ptr<Package> package;
  std::uint64_t original_size = 0;
  Submitter who;
  IntakeReceipt receipt;
};

struct IntakePolicy {
  std::size_t max_bytes = 10 << 20;
  XmlLimits xml;
  VerifyPolicy verify;
  std::string spool_dir;  // where a large package signed here is written; empty: the system's
};

// The intake path of DESIGN.md section 4: limits, decode, verify, the signer's certificate must be
// allowed for the From agency, duplicate check by message id, durable write; only then the receipt.
// Every refusal is an Error with a stable code, and leaves nothing behind.
class Intake {
 public:
  Intake(Store& store, const Codec& codec, const TrustStore& trust, const Directory& directory,
         const Clock& clock, IntakePolicy policy)
      : store_(store),
        codec_(codec),
        trust_(trust),
        directory_(directory),
        clock_(clock),
        policy_(std::move(policy)) {}

  // With a router, an accepted package starts or advances workflows in the same transaction.
  void set_router(const Router* router) { router_ = router; }
  // The organisation keys of agencies hosted here, by agency code: a document a clerk hands in
  // with only the signer's signature gets its organisation's signature from the node.
  void set_organisation_keys(const std::map<std::string, SigningKey>* keys) { keys_ = keys; }
  // Documents accepted are remembered there once durable (see PackageCache).
  void set_package_cache(PackageCache* cache) { cache_ = cache; }
  // Only statuses of agencies it signs for go back in acknowledgements
  // (Submitter::statuses_in_ack).
  void set_status_packager(const StatusPackager* packager) { packager_ = packager; }

  // The three steps of `submit`, for a caller that stores packages in a write of its own:
  // the checks (no store access; a refusal is counted and leaves nothing behind), then inside a
  // write the duplicate check, the insert and the routing, then once durable the bookkeeping.
  Expected<CheckedPackage> check(PackageBytes bytes, Submitter who);
  Expected<void> store(StoreTx& tx, CheckedPackage& checked) const;
  void stored(CheckedPackage& checked, const Expected<void>& written);

  // `done` runs once: after the durable commit, or at once with the refusal.
  void submit(PackageBytes bytes, Submitter who, std::function<void(Expected<IntakeReceipt>)> done);
  void submit(std::string bytes, Submitter who, std::function<void(Expected<IntakeReceipt>)> done) {
    submit(PackageBytes{std::move(bytes), nullptr}, std::move(who), std::move(done));
  }
  Expected<IntakeReceipt> submit_sync(PackageBytes bytes, Submitter who);
  const IntakeCounters& counters() const { return counters_; }
  Expected<IntakeReceipt> submit_sync(std::string bytes, Submitter who) {
    return submit_sync(PackageBytes{std::move(bytes), nullptr}, std::move(who));
  }

 private:
  Store& store_;
  const Codec& codec_;
  const TrustStore& trust_;
  const Directory& directory_;
  const Clock& clock_;
  IntakePolicy policy_;
  const Router* router_ = nullptr;
  const std::map<std::string, SigningKey>* keys_ = nullptr;
  Expected<CheckedPackage> check_package(PackageBytes bytes, Submitter who);
  Expected<void> owed_statuses(StoreTx& tx, CheckedPackage& checked, bool fresh) const;

  PackageCache* cache_ = nullptr;
  const StatusPackager* packager_ = nullptr;
  IntakeCounters counters_;
};

// The deduplication key of a package: a document by sender, DocumentId and business type; a status
// packet by sender, the document it answers, its code and timestamp. An update or a replacement
// (business type 2, 3) also by its content, `revision` (the codec's writing of the package and its
// attachments' digests): a document may be updated more than once, and each update is a document
// of its own, while the same update sent again is still a copy.
std::string message_id_of(const Package& package, std::string_view revision = {});

}  // namespace lienthong
