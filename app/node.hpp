#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/edxml/edxml_codec.hpp"
#include "adapters/edxml/status_packager.hpp"
#include "adapters/folder/drop_folder.hpp"
#include "adapters/http_api/api.hpp"
#include "adapters/http_api/server.hpp"
#include "adapters/peer/peer_api.hpp"
#include "adapters/peer/peer_client.hpp"
#include "config/node_config.hpp"
#include "engine/audit_log.hpp"
#include "engine/directory.hpp"
#include "engine/intake.hpp"
#include "engine/local_delivery.hpp"
#include "engine/peer_delivery.hpp"
#include "engine/router.hpp"
#include "engine/store.hpp"
#include "signing/trust_store.hpp"
#include "workflows/registry.hpp"

namespace lienthong {

// One running node: the configuration turned into a store, trust, directory, workflows, intake,
// router, the REST API, and one background thread that fires due deadlines (one timer, for the
// earliest) and hands local deliveries over. With <peering>, also the mutual-TLS listener for peer
// nodes and a second background thread that delivers to them. Construction throws on
// configuration problems.
class Node {
 public:
  // `log`: where one JSON line per request and background problem goes (empty: nowhere).
  explicit Node(const NodeConfig& config, const Clock& clock = system_clock(),
                std::function<void(const std::string&)> log = {});
  ~Node();

  void start();  // binds and serves; throws if the address cannot be bound
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  void wait_for_signals() { server_->wait_for_signals(); }
  unsigned short port() const { return server_->port(); }
  unsigned short peer_port() const { return peer_server_ ? peer_server_->port() : 0; }
  Store& store() { return *store_; }
  // Runs the background work once, now (tests drive time through the clock and call this).
  void run_background_once();
  // Wakes the background threads, as a write does (tests that move the clock call this).
  void wake() { changed(); }
  // One pass over every drop folder: import what has settled in in/, export to out/ what reached
  // the folder's agency since the last pass (the folder thread does this every interval).
  void run_folders_once();
  // Signs a checkpoint of the audit log now if it grew since the last one (the timer thread does
  // this per <audit>, and stop() once more, once the stored subtrees have caught up).
  Expected<std::optional<StoredCheckpoint>> checkpoint_audit_log();
  // The key auditors verify this node's checkpoints with (a signed-note verifier key).
  const std::string& audit_verifier_key() const { return audit_vkey_; }
  // GET /metrics: the Prometheus text (counts since the start, gauges read now).
  std::string metrics_text();

  static const Clock& system_clock();

 private:
  void background();
  void peer_background();
  void folder_background();
  void run_folder(std::size_t i);
  void changed();
  // Once enough events or time passed, or when `stopping`; not before the stored subtrees have
  // caught up with the log.
  void checkpoint_if_due(bool stopping = false);
  Expected<std::optional<StoredCheckpoint>> checkpoint_locked();

  const NodeConfig& config_;
  const Clock& clock_;
  std::function<void(const std::string&)> log_;
  TrustStore trust_;
  Directory directory_;
  WorkflowRegistry registry_;
  std::unique_ptr<BusinessCalendar> calendar_;
  EdxmlCodec codec_;
  std::unique_ptr<Store> store_;
  std::mutex audit_mutex_;  // the audit log and the two fields after the key
  std::unique_ptr<AuditLog> audit_log_;
  NoteSigner audit_key_;
  std::string audit_vkey_;
  std::string audit_origin_;
  std::uint64_t checkpointed_size_ = 0;
  std::uint64_t audit_size_seen_ = 0;  // by the last checkpoint_if_due
  Timestamp checkpointed_at_ = 0;
  std::unique_ptr<Router> router_;
  std::map<std::string, SigningKey> organisation_keys_;  // of the agencies hosted here
  PackageCache packages_{4096, 32 << 20};                // documents just accepted, for delivery
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<LocalDelivery> local_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  PeerIdentities peer_identities_;
  std::unique_ptr<PeerApi> peer_api_;
  std::unique_ptr<HttpServer> peer_server_;
  std::unique_ptr<PeerClient> peer_client_;
  std::unique_ptr<SignedStatusPackager> status_packager_;
  std::unique_ptr<PeerDelivery> peer_delivery_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable peer_wake_;
  bool changed_ = false;
  bool peer_changed_ = false;
  bool stopping_ = false;
  std::thread worker_;
  std::thread peer_worker_;
  std::vector<std::unique_ptr<DropFolder>> folders_;  // one per config_.folders entry
  std::condition_variable folder_wake_;
  std::mutex folder_mutex_;
  std::thread folder_worker_;
};

}  // namespace lienthong
