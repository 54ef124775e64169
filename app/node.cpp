#include "app/node.hpp"

#include <algorithm>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "base/encoding.hpp"
#include "base/thread_name.hpp"
#include "engine/report.hpp"
#include "signing/crypto.hpp"
#include "workflows/definition.hpp"

namespace lienthong {

namespace {

std::string fingerprint_of(const NodeConfig& config, const std::string& file) {
  auto pem = read_file(config.resolve(file));
  if (!pem) throw std::runtime_error("certificate " + file + ": " + pem.error().message);
  auto certs = load_certificates_pem(*pem);
  if (!certs) throw std::runtime_error("certificate " + file + ": " + certs.error().message);
  return cert_fingerprint_sha256(certs->front().get());
}

AgencyEntry entry_of(const NodeConfig& config, const AgencyConfig& a, bool local,
                     const std::string& node) {
  AgencyEntry e{a.code, a.name, a.parent, local, node, {}, {}};
  for (const auto& c : a.signer_certs) e.signer_fingerprints.insert(fingerprint_of(config, c));
  for (const auto& c : a.organisation_certs)
    e.organisation_fingerprints.insert(fingerprint_of(config, c));
  return e;
}

// The node's checkpoint key: read from `path`, or made there (owner-only) with its public key
// beside it as `path.pub`.
NoteSigner load_or_make_audit_key(const std::string& path, const std::string& name) {
  if (std::filesystem::exists(path)) {
    auto text = read_file(path);
    if (!text) throw std::runtime_error("audit key " + path + ": " + text.error().message);
    auto signer = parse_note_signer(*text);
    if (!signer) throw std::runtime_error("audit key " + path + ": " + signer.error().message);
    return std::move(*signer);
  }
  auto signer = generate_note_signer(name);
  if (!signer) throw std::runtime_error("audit key: " + signer.error().message);
  if (auto w = write_file(path, note_signer_text(*signer) + "\n", true); !w)
    throw std::runtime_error("audit key " + path + ": " + w.error().message);
  return std::move(*signer);
}

// Tiles of 256 events a checkpoint pass stores at most: 65,536 events, a fraction of a second.
constexpr std::uint64_t kCatchUpTiles = 256;
constexpr std::chrono::milliseconds kCoalesceWrites{5};

}  // namespace

const Clock& Node::system_clock() {
  static const SystemClock clock;
  return clock;
}

Node::Node(const NodeConfig& config, const Clock& clock,
           std::function<void(const std::string&)> log)
    : config_(config), clock_(clock), log_(std::move(log)) {
  for (const auto& file : config.trust.anchors) {
    auto pem = read_file(config.resolve(file));
    if (!pem) throw std::runtime_error("trust anchor " + file + ": " + pem.error().message);
    if (auto r = trust_.add_anchors_pem(*pem); !r)
      throw std::runtime_error("trust anchor " + file + ": " + r.error().message);
  }
  for (const auto& file : config.trust.crls) {
    auto bytes = read_file(config.resolve(file));
    if (!bytes) throw std::runtime_error("CRL " + file + ": " + bytes.error().message);
    if (auto r = trust_.add_crl_bytes(*bytes); !r)
      throw std::runtime_error("CRL " + file + ": " + r.error().message);
  }
  for (const auto& a : config.agencies) directory_.add(entry_of(config, a, true, config.id));
  for (const auto& p : config.peers) {
    for (const auto& a : p.agencies) directory_.add(entry_of(config, a, false, p.id));
  }
  std::vector<CivilDate> holidays;
  for (const auto& d : config.calendar.holiday_dates())
    holidays.push_back({d.year, d.month, d.day});
  calendar_ =
      std::make_unique<BusinessCalendar>(std::move(holidays), config.calendar.utc_offset_seconds);

  const std::string db = config.resolve(config.store_path);
  if (auto parent = std::filesystem::path(db).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  store_ = open_sqlite_store(db, config.calendar.utc_offset_seconds);
  if (log_) {
    // Every state change, as one JSON line, once durable; its request id ties it to the request's
    // own line.
    store_->on_audit_committed([log = log_](const AuditEvent& e) {
      log("{\"event\":\"audit\",\"seq\":" + std::to_string(e.seq) +
          ",\"at\":" + std::to_string(e.at) + ",\"action\":" + json_quote(e.action) +
          ",\"agency\":" + json_quote(e.agency) + ",\"actor\":" + json_quote(e.actor) +
          ",\"document\":" + std::to_string(e.document) +
          ",\"request_id\":" + json_quote(e.request_id) + "}");
    });
  }
  audit_log_ = std::make_unique<AuditLog>(db);
  audit_origin_ =
      config.audit.origin.empty() ? "lienthong/" + config.id + "/audit" : config.audit.origin;
  const std::string key_path =
      config.audit.key.empty() ? audit_key_path_for(db) : config.resolve(config.audit.key);
  audit_key_ = load_or_make_audit_key(key_path, audit_origin_);
  audit_vkey_ = note_verifier_text(audit_key_);
  if (auto w = write_file(key_path + ".pub", audit_vkey_ + "\n"); !w)
    throw std::runtime_error("audit key " + key_path + ".pub: " + w.error().message);
  if (auto latest = audit_log_->latest_checkpoint(); latest && *latest) {
    checkpointed_size_ = (*latest)->size;
    checkpointed_at_ = (*latest)->at;
  } else if (!latest) {
    throw std::runtime_error("audit log: " + latest.error().message);
  }
  if (checkpointed_at_ == 0) checkpointed_at_ = clock.now();
  // Large packages are spooled beside the database: on its disk, not in a /tmp that may be RAM.
  std::string spool_dir = std::filesystem::path(db).parent_path().string();
  if (spool_dir.empty()) spool_dir = ".";
  // Definitions deployed earlier (through the API) come back first; the folder's are deployed
  // and kept in the store too, so a definition changed under a version it already ran is refused.
  auto stored = store_->workflows();
  if (!stored) throw std::runtime_error(stored.error().message);
  for (const auto& w : *stored) {
    LoadResult r = load_workflow(w.source, "store:" + w.id + "@" + std::to_string(w.version));
    if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
    if (auto d = registry_.deploy(std::move(*r.workflow), w.source); !d)
      throw std::runtime_error(d.error().message);
  }
  if (config.workflows_dir) {
    const std::string dir = config.resolve(*config.workflows_dir);
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
      if (f.path().extension() != ".xml") continue;
      auto text = read_file(f.path());
      if (!text) throw std::runtime_error(text.error().message);
      LoadResult r = load_workflow(*text, f.path().string());
      if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
      const std::string id = r.workflow->id;
      const int version = r.workflow->version;
      auto saved = store_->write_sync(
          [&](StoreTx& tx) { return tx.save_workflow(id, version, *text, clock_.now()); });
      if (!saved) throw std::runtime_error(f.path().string() + ": " + saved.error().message);
      if (auto d = registry_.deploy(std::move(*r.workflow), *text); !d)
        throw std::runtime_error(d.error().message);
    }
    if (ec) throw std::runtime_error("workflows " + dir + ": " + ec.message());
  }
  // Agencies added by administrators through the API.
  auto added = store_->agencies();
  if (!added) throw std::runtime_error(added.error().message);
  for (const auto& a : *added) {
    AgencyEntry e{a.code, a.name, a.parent, a.node.empty(), a.node.empty() ? config.id : a.node,
                  {},     {}};
    e.signer_fingerprints.insert(a.signer_fingerprints.begin(), a.signer_fingerprints.end());
    e.organisation_fingerprints.insert(a.organisation_fingerprints.begin(),
                                       a.organisation_fingerprints.end());
    directory_.add(std::move(e));
  }
  router_ = std::make_unique<Router>(registry_, *calendar_, directory_);
  IntakePolicy policy;
  policy.max_bytes = config.limits.max_body;
  policy.xml.max_bytes = config.limits.max_body;
  policy.xml.max_depth = config.limits.max_xml_depth;
  policy.xml.max_nodes = config.limits.max_xml_nodes;
  policy.verify.allow_sha1 = config.trust.allow_sha1;
  policy.verify.limits = policy.xml;
  policy.spool_dir = spool_dir;
  for (const auto& a : config.agencies) {
    if (a.organisation_key.empty() || a.organisation_certs.empty()) continue;
    auto key = load_signing_key(config.resolve(a.organisation_key),
                                config.resolve(a.organisation_certs.front()));
    if (!key) throw std::runtime_error("agency " + a.code + ": " + key.error().message);
    organisation_keys_.emplace(a.code, std::move(*key));
  }
  intake_ = std::make_unique<Intake>(*store_, codec_, trust_, directory_, clock_, policy);
  intake_->set_router(router_.get());
  intake_->set_organisation_keys(&organisation_keys_);
  intake_->set_package_cache(&packages_);
  local_ = std::make_unique<LocalDelivery>(*store_, *router_, directory_, codec_, clock_);
  local_->set_package_cache(&packages_);
  for (const FolderConfig& f : config.folders) {
    const std::string agency = f.agency;
    folders_.push_back(std::make_unique<DropFolder>(
        config.resolve(f.path), clock_,
        [this, agency](PackageBytes bytes) -> Expected<std::string> {
          auto r =
              intake_->submit_sync(std::move(bytes), Submitter{"folder:" + agency, agency, "", ""});
          if (!r) return r.error();
          changed();
          return std::string(r->duplicate ? "already held: document " : "document ") +
                 std::to_string(r->document) + " (" + r->message_id + ")";
        },
        DropFolderOptions{f.settle.count(), config.limits.max_body, spool_dir}));
  }
  api_ = std::make_unique<Api>(ApiContext{config, *store_, *intake_, *router_, registry_,
                                          directory_, *calendar_, clock_, [this] { changed(); },
                                          log_, [this] { return metrics_text(); }});
  HttpLimits limits;
  limits.max_body_bytes = config.limits.max_body;
  limits.max_header_bytes = config.limits.max_header;
  limits.max_connections = config.limits.max_connections;
  limits.read_timeout = config.limits.read_timeout;
  limits.write_timeout = config.limits.write_timeout;
  limits.spool_dir = spool_dir;
  server_ = std::make_unique<HttpServer>(config.listen.address, config.listen.port, limits,
                                         [this](HttpRequest&& r, Responder respond) {
                                           api_->handle(std::move(r), std::move(respond));
                                         });
  if (config.peering) {
    const PeeringConfig& peering = *config.peering;
    // The revocation lists of <trust> apply to peers' TLS certificates too.
    std::vector<std::string> crls;
    for (const auto& f : config.trust.crls) crls.push_back(config.resolve(f));
    std::vector<PeerEndpoint> endpoints;
    for (const auto& p : config.peers) {
      const std::string trust = config.resolve(p.tls_cert);
      auto pem = read_file(trust);
      if (!pem) throw std::runtime_error("peer " + p.id + ": " + pem.error().message);
      if (auto r = peer_identities_.add(p.id, *pem); !r)
        throw std::runtime_error("peer " + p.id + " " + p.tls_cert + ": " + r.error().message);
      endpoints.push_back({p.id, p.endpoint, trust});
    }
    // Status packets to senders on other nodes are signed as the answering agency: those emitted
    // on arrival go back in the acknowledgement, the others through the outbox.
    status_packager_ = std::make_unique<SignedStatusPackager>(
        directory_, config.calendar.utc_offset_seconds, organisation_keys_);
    intake_->set_status_packager(status_packager_.get());
    peer_api_ = std::make_unique<PeerApi>(PeerApiContext{config.id, *intake_, peer_identities_,
                                                         [this] { changed(); }, log_,
                                                         status_packager_.get()});
    peer_server_ = std::make_unique<HttpServer>(
        peering.address, peering.port, limits,
        [this](HttpRequest&& r, Responder respond) {
          peer_api_->handle(std::move(r), std::move(respond));
        },
        std::thread::hardware_concurrency(),
        TlsOptions{config.resolve(peering.cert), config.resolve(peering.key),
                   config.resolve(peering.client_ca), crls});
    PeerClientOptions client{config.resolve(peering.cert), config.resolve(peering.key)};
    client.crl_files = crls;
    peer_client_ = std::make_unique<PeerClient>(client, endpoints);
    peer_delivery_ = std::make_unique<PeerDelivery>(
        *store_, directory_, codec_, *peer_client_, clock_,
        RetryPolicy{peering.retry_first.count(), 2.0, peering.retry_max.count(),
                    peering.dead_after.count()},
        std::random_device{}());
    peer_delivery_->set_status_packager(status_packager_.get());
    peer_delivery_->set_package_cache(&packages_);
    peer_delivery_->set_intake(intake_.get());
  }
}

void Node::changed() {
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
    peer_changed_ = true;
  }
  wake_.notify_one();
  peer_wake_.notify_one();
}

Node::~Node() {
  stop(std::chrono::milliseconds(0));
}

void Node::start() {
  server_->start();
  if (peer_server_) peer_server_->start();
  worker_ = std::thread([this] {
    name_this_thread("lt-timer");
    background();
  });
  if (!folders_.empty()) {
    folder_worker_ = std::thread([this] {
      name_this_thread("lt-folder");
      folder_background();
    });
  }
  if (peer_delivery_) {
    peer_worker_ = std::thread([this] {
      name_this_thread("lt-peer");
      peer_background();
    });
  }
}

void Node::stop(std::chrono::milliseconds grace) {
  if (server_) server_->stop(grace);  // in-flight requests finish first
  if (peer_server_) peer_server_->stop(grace);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  peer_wake_.notify_all();
  folder_wake_.notify_all();
  if (folder_worker_.joinable()) folder_worker_.join();
  if (worker_.joinable()) worker_.join();
  if (peer_worker_.joinable()) peer_worker_.join();
  if (peer_delivery_) peer_delivery_->drain();
  if (audit_log_) checkpoint_if_due(true);
}

std::string Node::metrics_text() {
  PrometheusText m;
  const IntakeCounters& intake = intake_->counters();
  m.family("lienthong_documents_accepted_total", "counter",
           "Packages accepted and stored, by where they came from (api, peer, folder).");
  for (const auto& [source, n] : intake.accepted.snapshot())
    m.sample("lienthong_documents_accepted_total", {{"source", source}}, static_cast<double>(n));
  m.family("lienthong_documents_duplicate_total", "counter",
           "Packages handed in again and recognised as copies, by source.");
  for (const auto& [source, n] : intake.duplicates.snapshot())
    m.sample("lienthong_documents_duplicate_total", {{"source", source}}, static_cast<double>(n));
  m.family("lienthong_documents_refused_total", "counter", "Packages refused, by error code.");
  for (const auto& [reason, n] : intake.refused.snapshot())
    m.sample("lienthong_documents_refused_total", {{"reason", reason}}, static_cast<double>(n));

  m.family("lienthong_outbox_items", "gauge",
           "Deliveries and status packets waiting (pending) or dead-lettered (dead).");
  for (const char* kind : {"document", "status"}) {
    for (const char* state : {"pending", "dead"}) {
      if (auto n = store_->outbox_count(kind, state)) {
        m.sample("lienthong_outbox_items", {{"kind", kind}, {"state", state}},
                 static_cast<double>(*n));
      }
    }
  }
  if (peer_delivery_) {
    const auto& peers = peer_delivery_->metrics();
    m.family("lienthong_peer_request_seconds", "histogram",
             "Time to hand a package or status to a peer node and get its answer, by peer.");
    for (const auto& [peer, h] : peers.seconds.snapshot())
      m.histogram("lienthong_peer_request_seconds", {{"peer", peer}}, h);
    m.family("lienthong_peer_request_failures_total", "counter",
             "Calls to a peer that failed (each is retried later, or dead-lettered), by peer.");
    for (const auto& [peer, n] : peers.failed.snapshot())
      m.sample("lienthong_peer_request_failures_total", {{"peer", peer}}, static_cast<double>(n));
  }

  const Timestamp now = clock_.now();
  if (auto tasks = store_->open_tasks_by_agency(now)) {
    m.family("lienthong_tasks_open", "gauge", "Workflow tasks open, by agency.");
    for (const auto& t : *tasks)
      m.sample("lienthong_tasks_open", {{"agency", t.agency}}, static_cast<double>(t.open));
    m.family("lienthong_tasks_overdue", "gauge", "Open workflow tasks past their due time.");
    for (const auto& t : *tasks)
      m.sample("lienthong_tasks_overdue", {{"agency", t.agency}}, static_cast<double>(t.overdue));
  }

  const StoreStats store = store_->stats();
  m.family("lienthong_store_commit_seconds", "histogram",
           "Time from BEGIN to a durable COMMIT of one group of writes.");
  m.histogram("lienthong_store_commit_seconds", {}, store.commit_seconds);
  m.family("lienthong_store_group_size", "histogram", "Writes committed together in one group.");
  m.histogram("lienthong_store_group_size", {}, store.group_sizes);
  m.family("lienthong_store_failed_writes_total", "counter", "Writes rolled back.");
  m.sample("lienthong_store_failed_writes_total", {}, static_cast<double>(store.failed_writes));

  // Today's electronic share, as the report computes it.
  const std::int64_t today = local_day(now, config_.calendar.utc_offset_seconds);
  ReportQuery q{ReportPeriod{today, today, "today"},
                "",
                {ReportDimension::agency},
                now,
                config_.calendar.utc_offset_seconds};
  if (auto report = make_report(*store_, {}, config_.targets, q)) {
    const ReportFigures& f = report->total.figures;
    m.family("lienthong_handovers_today", "gauge", "Hand-overs recorded today (local time).");
    m.sample("lienthong_handovers_today", {}, static_cast<double>(f.handovers));
    m.family("lienthong_electronic_share_today", "gauge",
             "Share of today's hand-overs made electronically (absent before the first).");
    if (auto share = f.electronic_share()) m.sample("lienthong_electronic_share_today", {}, *share);
  }
  {
    std::lock_guard lock(audit_mutex_);
    if (auto n = audit_log_->size()) {
      m.family("lienthong_audit_events", "gauge", "Events in the audit log.");
      m.sample("lienthong_audit_events", {}, static_cast<double>(*n));
    }
    m.family("lienthong_audit_checkpoint_size", "gauge",
             "Events covered by the latest signed checkpoint.");
    m.sample("lienthong_audit_checkpoint_size", {}, static_cast<double>(checkpointed_size_));
  }
  const HttpServer::Stats http = server_->stats();
  m.family("lienthong_http_requests_total", "counter", "HTTP requests read by the REST API.");
  m.sample("lienthong_http_requests_total", {}, static_cast<double>(http.requests));
  m.family("lienthong_http_connections", "gauge", "Open connections to the REST API.");
  m.sample("lienthong_http_connections", {}, static_cast<double>(http.active));
  m.family("lienthong_http_refused_total", "counter",
           "Requests refused before the API: malformed, too large, timed out, too many.");
  m.sample("lienthong_http_refused_total", {{"why", "malformed"}},
           static_cast<double>(http.bad_requests));
  m.sample("lienthong_http_refused_total", {{"why", "too_large"}},
           static_cast<double>(http.rejected_too_large));
  m.sample("lienthong_http_refused_total", {{"why", "timeout"}},
           static_cast<double>(http.timeouts));
  m.sample("lienthong_http_refused_total", {{"why", "busy"}},
           static_cast<double>(http.rejected_busy));
  return m.text();
}

Expected<std::optional<StoredCheckpoint>> Node::checkpoint_audit_log() {
  std::lock_guard lock(audit_mutex_);
  return checkpoint_locked();
}

Expected<std::optional<StoredCheckpoint>> Node::checkpoint_locked() {
  auto c = audit_log_->checkpoint(audit_key_, audit_origin_, clock_.now());
  if (c && *c) {
    checkpointed_size_ = (*c)->size;
    checkpointed_at_ = (*c)->at;
    if (log_) {
      log_("{\"event\":\"audit.checkpoint\",\"size\":" + std::to_string((*c)->size) +
           ",\"root\":\"" + merkle_hex((*c)->root) + "\"}");
    }
  }
  return c;
}

void Node::checkpoint_if_due(bool stopping) {
  std::lock_guard lock(audit_mutex_);
  auto n = audit_log_->size();
  if (n) audit_size_seen_ = *n;
  if (!n || *n <= checkpointed_size_) return;
  const bool enough = *n - checkpointed_size_ >= config_.audit.checkpoint_events;
  const bool late = clock_.now() - checkpointed_at_ >= config_.audit.checkpoint_interval.count();
  if (!enough && !late && !stopping) return;
  // A long log without its stored subtrees (a node upgraded with years of events) is caught up a
  // step per pass, so that this thread's other work waits at most one step.
  auto covered = audit_log_->extend(kCatchUpTiles);
  if (!covered) {
    if (log_) {
      log_("{\"event\":\"error\",\"what\":\"audit checkpoint\",\"error\":" +
           json_quote(covered.error().message) + "}");
    }
    return;
  }
  if (*covered + AuditLog::kTile <= *n) return;
  if (auto c = checkpoint_locked(); !c && log_) {
    log_("{\"event\":\"error\",\"what\":\"audit checkpoint\",\"error\":" +
         json_quote(c.error().message) + "}");
  }
}

void Node::run_background_once() {
  if (auto r = local_->run_once(); !r) {
    if (log_)
      log_("{\"event\":\"error\",\"what\":\"local delivery\",\"error\":" +
           json_quote(r.error().message) + "}");
  }
  // Fire every deadline that is due, earliest first.
  bool fired = false;
  for (int guard = 0; guard < 10'000; ++guard) {
    auto next = store_->next_deadline();
    if (!next || !*next) break;
    auto [instance, timer, due] = **next;
    const Timestamp now = clock_.now();
    if (due > now) break;
    auto r = store_->write_sync(
        [&](StoreTx& tx) { return router_->fire_timer(tx, instance, timer, now); });
    if (!r) {
      if (log_)
        log_("{\"event\":\"error\",\"what\":\"deadline\",\"error\":" +
             json_quote(r.error().message) + "}");
      break;
    }
    fired = true;
  }
  // A fired timer may have queued local deliveries.
  if (fired) (void)local_->run_once();
  checkpoint_if_due();
}

void Node::peer_background() {
  for (;;) {
    // A pass returns once its deliveries are answered; its outcomes are committed meanwhile, and
    // the commit wakes this loop again.
    auto taken = peer_delivery_->run_pipelined(64, [this](Expected<PeerDelivery::Round> r) {
      if (!r && log_) {
        log_("{\"event\":\"error\",\"what\":\"peer delivery\",\"error\":" +
             json_quote(r.error().message) + "}");
      }
      if (r && r->statuses > 0) return changed();  // statuses stored: workflows moved here
      {
        std::lock_guard lock(mutex_);
        peer_changed_ = true;
      }
      peer_wake_.notify_one();
    });
    if (!taken && log_) {
      log_("{\"event\":\"error\",\"what\":\"peer delivery\",\"error\":" +
           json_quote(taken.error().message) + "}");
    }
    const bool worked = taken && *taken > 0;
    // Sleep until the next attempt is due (at least a second, at most a minute), or until a
    // write queues something; after a pass that took work, look again at once.
    std::chrono::seconds wait(worked ? 0 : 60);
    for (const char* kind : {"document", "status"}) {
      if (worked) break;
      if (auto next = store_->next_outbox_attempt(kind); next && *next) {
        wait = std::min(wait,
                        std::chrono::seconds(std::clamp<Timestamp>(**next - clock_.now(), 1, 60)));
      }
    }
    std::unique_lock lock(mutex_);
    peer_wake_.wait_for(lock, wait, [&] { return stopping_ || peer_changed_; });
    if (stopping_) return;
    peer_changed_ = false;
  }
}

void Node::run_folders_once() {
  for (std::size_t i = 0; i < folders_.size(); ++i) run_folder(i);
}

void Node::run_folder(std::size_t i) {
  std::lock_guard passes(folder_mutex_);  // the folder thread and run_folders_once take turns
  DropFolder& folder = *folders_[i];
  auto report = [&](const std::string& what, const Error& e) {
    if (log_) {
      log_("{\"event\":\"error\",\"what\":\"" + what +
           "\",\"folder\":" + json_quote(folder.root().string()) +
           ",\"error\":" + json_quote(e.code + ": " + e.message) + "}");
    }
  };
  if (auto scanned = folder.scan(); !scanned) report("folder import", scanned.error());
  // Export: what reached the agency since the cursor, each under its id, kind and sender. A crash
  // between a file and the cursor exports that one again (under a suffixed name).
  auto cursor = folder.exported_up_to();
  if (!cursor) return report("folder export", cursor.error());
  auto items = store_->addressed_to(config_.folders[i].agency, *cursor, 256);
  if (!items) return report("folder export", items.error());
  for (const StoredDocument& d : *items) {
    auto whole = store_->document(d.id);  // one original in memory at a time
    if (!whole || !*whole) {
      return report("folder export",
                    whole ? Error{"store.missing", "document " + std::to_string(d.id) + " is gone"}
                          : whole.error());
    }
    auto written = folder.export_package(
        std::to_string(d.id) + "-" + d.kind + "-from-" + d.sender + ".edxml", (*whole)->original);
    auto moved = written ? folder.set_exported_up_to(d.id) : Expected<void>(written.error());
    if (!moved) return report("folder export", moved.error());
  }
}

void Node::folder_background() {
  using Steady = std::chrono::steady_clock;
  std::vector<Steady::time_point> due(folders_.size(), Steady::now());
  for (;;) {
    for (std::size_t i = 0; i < folders_.size(); ++i) {
      if (Steady::now() < due[i]) continue;
      run_folder(i);
      due[i] = Steady::now() + config_.folders[i].interval;
    }
    std::unique_lock lock(mutex_);
    folder_wake_.wait_until(lock, *std::min_element(due.begin(), due.end()),
                            [&] { return stopping_; });
    if (stopping_) return;
  }
}

void Node::background() {
  for (;;) {
    run_background_once();
    // Sleep until the next deadline (at most a minute), or until a write changes something.
    std::chrono::seconds wait(60);
    {
      // The next checkpoint by time, once the log has grown (checkpoint_if_due signs it).
      std::lock_guard lock(audit_mutex_);
      if (audit_size_seen_ > checkpointed_size_) {
        wait = std::chrono::seconds(std::clamp<Timestamp>(
            checkpointed_at_ + config_.audit.checkpoint_interval.count() - clock_.now(), 1, 60));
      }
    }
    if (auto next = store_->next_deadline(); next && *next) {
      const Timestamp due = std::get<2>(**next);
      wait = std::min(wait, std::chrono::seconds(std::clamp<Timestamp>(due - clock_.now(), 0, 60)));
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [&] { return stopping_ || changed_; });
    // Writes come in bursts (every document accepted is one): one pass per few milliseconds of
    // them, rather than one per write.
    wake_.wait_for(lock, kCoalesceWrites, [&] { return stopping_; });
    if (stopping_) return;
    changed_ = false;
  }
}

}  // namespace lienthong
