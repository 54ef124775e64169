#include "engine/peer_delivery.hpp"

#include <chrono>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include "base/encoding.hpp"
#include "base/memory.hpp"
#include "base/xml.hpp"
#include "engine/router.hpp"
#include "engine/stored_package.hpp"

namespace lienthong {

Timestamp retry_delay(const RetryPolicy& policy, int attempts, std::mt19937_64& random) {
  const double grown =
      static_cast<double>(policy.first_delay) * std::pow(policy.factor, std::max(attempts - 1, 0));
  const auto full = static_cast<Timestamp>(std::min(grown, static_cast<double>(policy.max_delay)));
  const Timestamp half = full / 2;
  std::uniform_int_distribution<Timestamp> jitter(0, full - half);
  return std::max<Timestamp>(1, half + jitter(random));
}

namespace {

// A package this large is handed back to the operating system once delivered (see
// release_free_memory).
constexpr std::size_t kLargePayload = 8 << 20;

}  // namespace

// For a delivery's audit event: how many statuses came back in the acknowledgement, and why any
// of them was refused.
std::string PeerDelivery::carried(const Outcome& o) {
  if (o.statuses.empty() && o.refused.empty()) return {};
  std::string out = ",\"statuses\":" + std::to_string(o.statuses.size());
  if (!o.refused.empty()) {
    out += ",\"statuses_refused\":[";
    for (std::size_t i = 0; i < o.refused.size(); ++i)
      out += (i ? "," : "") + json_quote(o.refused[i]);
    out += "]";
  }
  return out;
}

Expected<PeerDelivery::Round> PeerDelivery::run_once(std::size_t batch) {
  auto pass = deliver_due(batch);
  if (!pass) return pass.error();
  Round round;
  auto r = store_.write_sync([&](StoreTx& tx) { return record(tx, **pass, round); });
  release(**pass, r);
  if (!r) return r.error();
  return round;
}

Expected<std::size_t> PeerDelivery::run_pipelined(std::size_t batch,
                                                  std::function<void(Expected<Round>)> recorded) {
  auto pass = deliver_due(batch);
  if (!pass) return pass.error();
  const std::size_t taken = (*pass)->items.size();
  if (taken == 0) return taken;
  auto round = std::make_shared<Round>();
  {
    std::lock_guard lock(mutex_);
    ++recording_;
  }
  store_.write(
      [this, p = *pass, round](StoreTx& tx) {
        *round = Round{};
        return record(tx, *p, *round);
      },
      [this, p = *pass, round, recorded = std::move(recorded)](Expected<void> r) {
        release(*p, r);
        if (recorded) recorded(r ? Expected<Round>(*round) : Expected<Round>(r.error()));
        std::lock_guard lock(mutex_);
        if (--recording_ == 0) recorded_.notify_all();
      });
  return taken;
}

void PeerDelivery::drain() {
  std::unique_lock lock(mutex_);
  recorded_.wait(lock, [&] { return recording_ == 0; });
}

void PeerDelivery::release(Pass& pass, const Expected<void>& recorded) {
  if (intake_) {
    for (auto& o : pass.outcomes) {
      for (auto& s : o.statuses) intake_->stored(s, recorded);
    }
  }
  std::lock_guard lock(mutex_);
  for (const auto& i : pass.items) claimed_.erase(i.id);
}

Expected<std::shared_ptr<PeerDelivery::Pass>> PeerDelivery::deliver_due(std::size_t batch) {
  auto pass = std::make_shared<Pass>();
  std::vector<OutboxItem>& due = pass->items;
  {
    std::lock_guard lock(mutex_);
    for (const char* kind : {"document", "status"}) {
      if (std::string_view(kind) == "status" && !packager_) continue;
      // Items in flight are still pending in the store: ask for enough to see past them.
      auto items = store_.outbox_due(kind, clock_.now(), batch + claimed_.size());
      if (!items) return items.error();
      std::size_t taken = 0;
      for (auto& i : *items) {
        const AgencyEntry* to = directory_.find(i.to_agency);
        if (to && to->local) continue;  // local ones are LocalDelivery's
        if (taken == batch || !claimed_.insert(i.id).second) continue;
        due.push_back(std::move(i));
        ++taken;
      }
    }
  }
  // Several deliveries in flight at once (the receiving node groups them into one commit); a
  // peer that could not be reached is not called again in this pass: its other items share
  // the failure (and the backoff) instead of each waiting for the same timeout.
  std::vector<Outcome>& outcomes = pass->outcomes;
  outcomes.resize(due.size());
  std::map<std::string, Error> down;
  std::mutex down_mutex;
  // What goes to the peer for item k; nothing when its outcome is already settled.
  auto prepare = [&](std::size_t k, std::unique_lock<std::mutex>& large) -> std::optional<Payload> {
    const OutboxItem& item = due[k];
    Outcome& o = outcomes[k];
    const AgencyEntry* to = directory_.find(item.to_agency);
    if (!to || to->node.empty()) {
      o.error =
          Error{"peer.unknown_agency", "no peer node is known to host agency " + item.to_agency};
      return std::nullopt;
    }
    o.peer = to->node;
    {
      std::lock_guard lock(down_mutex);
      if (auto it = down.find(to->node); it != down.end()) {
        o.error = it->second;
        return std::nullopt;
      }
    }
    auto p = payload(item, large);
    if (!p) {
      o.error = p.error();
      return std::nullopt;
    }
    return std::move(*p);
  };
  // The peer's answer about item k.
  auto settle = [&](std::size_t k, Payload&& p, Expected<PeerAck>&& ack) {
    Outcome& o = outcomes[k];
    if (!ack) metrics_.failed.add(o.peer);
    const bool answered = ack || ack.error().code == "peer.refused";
    {
      std::lock_guard lock(mutex_);
      if (answered) {
        healthy_.insert(o.peer);
      } else {
        healthy_.erase(o.peer);
      }
    }
    if (p.bytes.size() > kLargePayload) {
      std::string().swap(p.bytes);
      release_free_memory();
    }
    if (!ack) {
      if (!answered) {
        std::lock_guard lock(down_mutex);
        down.emplace(o.peer, ack.error());
      }
      o.error = ack.error();
      return;
    }
    o.payload = std::move(p);
    std::string().swap(o.payload.bytes);
    o.remote_id = std::move(ack->id);
    o.ok = true;
    for (std::string& packet : ack->statuses) {
      // Checked as if the peer had sent it itself: from an agency it hosts, signed for it.
      auto checked = intake_->check(PackageBytes{std::move(packet), nullptr},
                                    Submitter{"peer:" + o.peer, "", "", o.peer});
      if (checked && checked->package->kind == PackageKind::status) {
        o.statuses.push_back(std::move(*checked));
      } else {
        o.refused.push_back(checked ? "intake.not_a_status: a document, not a status"
                                    : checked.error().code + ": " + checked.error().message);
      }
    }
  };
  auto timed = [&](const std::string& peer, auto call) {
    const auto sent = std::chrono::steady_clock::now();
    auto answer = call();
    metrics_.seconds.observe(
        peer, std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
    return answer;
  };
  // A document's acknowledgement may carry the statuses its recipients emitted on arrival.
  auto with_statuses = [&](std::size_t k) { return intake_ && due[k].kind == "document"; };
  auto send = [&](std::size_t k, Payload&& p) {
    const bool statuses = with_statuses(k);
    auto ack = timed(outcomes[k].peer,
                     [&] { return transport_.deliver(outcomes[k].peer, p.bytes, statuses); });
    settle(k, std::move(p), std::move(ack));
  };
  auto deliver = [&](std::size_t k) {
    std::unique_lock<std::mutex> large;
    if (auto p = prepare(k, large)) send(k, std::move(*p));
  };
  // Items to the same peer in one request: large packages still go alone.
  auto deliver_batch = [&](const std::vector<std::size_t>& unit) {
    std::vector<std::size_t> batched;
    std::vector<Payload> payloads;
    for (std::size_t k : unit) {
      std::unique_lock<std::mutex> large;
      auto p = prepare(k, large);
      if (!p) continue;
      if (large.owns_lock() || p->bytes.size() > kBatchBytes) {
        send(k, std::move(*p));
      } else {
        batched.push_back(k);
        payloads.push_back(std::move(*p));
      }
    }
    if (batched.size() <= 1) {
      if (!batched.empty()) send(batched[0], std::move(payloads[0]));
      return;
    }
    const std::string& peer = outcomes[batched[0]].peer;
    std::vector<std::string_view> bytes;
    for (const Payload& p : payloads) bytes.push_back(p.bytes);
    const bool statuses = with_statuses(batched[0]);  // a unit holds items of one kind
    auto answers = timed(peer, [&] { return transport_.deliver_batch(peer, bytes, statuses); });
    if (!answers && answers.error().code == "peer.no_batches") {
      {
        std::lock_guard lock(mutex_);
        no_batches_.insert(peer);
      }
      for (std::size_t i = 0; i < batched.size(); ++i) send(batched[i], std::move(payloads[i]));
      return;
    }
    for (std::size_t i = 0; i < batched.size(); ++i) {
      settle(batched[i], std::move(payloads[i]),
             answers ? std::move((*answers)[i]) : Expected<PeerAck>(answers.error()));
    }
  };
  // A peer not known to answer gets one item first, so that if it is down it is called once;
  // then the rest in parallel, in batches per peer and kind.
  std::vector<bool> done(due.size(), false);
  std::set<std::string> probed;
  for (std::size_t k = 0; k < due.size(); ++k) {
    const AgencyEntry* to = directory_.find(due[k].to_agency);
    const std::string node = to ? to->node : std::string();
    {
      std::lock_guard lock(mutex_);
      if (healthy_.count(node)) continue;
    }
    if (!probed.insert(node).second) continue;
    deliver(k);
    done[k] = true;
  }
  std::vector<std::vector<std::size_t>> units;
  {
    std::lock_guard lock(mutex_);
    std::map<std::pair<std::string, std::string>, std::size_t> filling;  // (peer, kind) -> unit
    for (std::size_t k = 0; k < due.size(); ++k) {
      if (done[k]) continue;
      const AgencyEntry* to = directory_.find(due[k].to_agency);
      if (!to || to->node.empty() || no_batches_.count(to->node)) {
        units.push_back({k});
        continue;
      }
      auto [at, fresh] = filling.try_emplace({to->node, due[k].kind}, units.size());
      if (fresh || units[at->second].size() == kBatch) {
        at->second = units.size();
        units.emplace_back();
      }
      units[at->second].push_back(k);
    }
  }
  pool_.for_each(units.size(), [&](std::size_t u) {
    if (units[u].size() == 1) {
      deliver(units[u][0]);
    } else {
      deliver_batch(units[u]);
    }
  });
  return pass;
}

Expected<PeerDelivery::Payload> PeerDelivery::payload(const OutboxItem& item,
                                                      std::unique_lock<std::mutex>& large) {
  std::shared_ptr<const Package> package;
  std::optional<StoredDocument> doc;
  if (auto cached = cache_ ? cache_->find(item.document) : std::nullopt) {
    package = std::move(cached->package);
    if (item.kind == "document" && cached->original && cached->original->size() <= kLargePayload) {
      Payload out;
      out.from = package->document.from.organ_id;
      out.hand_over = hand_over_of(item.document, *package, item.to_agency, 0);
      out.bytes = *cached->original;
      return out;
    }
    if (item.kind == "document") {
      if (cached->original_size > kLargePayload) large = std::unique_lock(large_payload_);
      auto full = store_.document(item.document);
      if (!full) return full.error();
      doc = std::move(*full);
    }
  } else {
    // A status packet needs the answered document's header only; a document, its bytes too.
    auto found = store_.document(item.document, false);
    if (!found) return found.error();
    if (*found && (item.kind == "document" || (*found)->header.empty())) {
      if ((*found)->original_size > kLargePayload) large = std::unique_lock(large_payload_);
      found = store_.document(item.document);
      if (!found) return found.error();
    }
    if (*found && (*found)->kind == "dossier") {
      return Error{"delivery.unsupported",
                   "a dossier is consulted on this node only; send its documents to agencies on "
                   "other nodes as a signed edXML package"};
    }
    if (*found) {
      auto decoded = stored_package(codec_, **found);
      if (!decoded) return decoded.error();
      package = std::make_shared<const Package>(std::move(*decoded));
      doc = std::move(*found);
    }
  }
  if (!package || (item.kind == "document" && !doc)) {
    return Error{"outbox.missing", "document " + std::to_string(item.document) + " is gone"};
  }
  Payload out;
  if (item.kind == "document") {
    out.from = doc->sender;
    out.hand_over = hand_over_of(item.document, *package, item.to_agency, 0);
    out.bytes = std::move(doc->original);
    return out;
  }
  // A status: from the agency whose instance emitted it, about the document it received.
  auto instances = store_.instances_of(item.document);
  if (!instances) return instances.error();
  for (const auto& i : *instances) {
    if (i.id == item.instance) out.from = i.agency;
  }
  if (out.from.empty()) {
    return Error{"outbox.missing", "instance " + std::to_string(item.instance) + " is gone"};
  }
  auto bytes = packager_->status_packet(out.from, *package, item.code, item.created_at);
  if (!bytes) return bytes.error();
  out.bytes = std::move(*bytes);
  return out;
}

// Every outcome of a round in one transaction, each item checked afresh: one an administrator
// acted on meanwhile is left as it is.
Expected<void> PeerDelivery::record(StoreTx& tx, Pass& pass, Round& round) {
  const std::vector<OutboxItem>& items = pass.items;
  std::vector<Outcome>& outcomes = pass.outcomes;
  const Timestamp now = clock_.now();
  for (std::size_t k = 0; k < items.size(); ++k) {
    const OutboxItem& item = items[k];
    Outcome& o = outcomes[k];
    // The peer counts the statuses it carried back as delivered, whatever became of the item.
    for (CheckedPackage& status : o.statuses) {
      if (auto w = intake_->store(tx, status); !w) return w;
      ++round.statuses;
    }
    auto current = tx.outbox_item(item.id);
    if (!current) return current.error();
    if (!*current || (*current)->state != "pending") continue;
    const int attempts = item.attempts + 1;
    if (o.ok) {
      const bool document = item.kind == "document";
      if (auto w = tx.record_attempt(item.id, "delivered", attempts, now, ""); !w) return w;
      if (document && o.payload.hand_over) {
        HandOver h = *o.payload.hand_over;
        h.at = now;
        if (auto w = tx.record_hand_over(h); !w) return w;
      }
      auto a = tx.append_audit(delivery_event(
          item, now, document ? "delivery.delivered" : "status.delivered",
          "{\"outbox\":" + std::to_string(item.id) + ",\"from\":" + json_quote(o.payload.from) +
              (document ? std::string() : ",\"code\":" + json_quote(item.code)) +
              ",\"channel\":\"peer\",\"peer\":" + json_quote(o.peer) +
              ",\"remote_id\":" + json_quote(o.remote_id) +
              ",\"attempts\":" + std::to_string(attempts) + carried(o) + "}"));
      if (!a) return a.error();
      ++round.delivered;
      continue;
    }
    const std::string& code = o.error.code;
    const bool final_answer = code == "peer.refused" || code == "peer.unknown_agency" ||
                              code == "status.unsigned" || code == "delivery.unsupported";
    const bool too_old = now - item.created_at >= policy_.dead_after;
    const bool dead = final_answer || too_old;
    const Timestamp next = dead ? 0 : now + retry_delay(policy_, attempts, random_);
    const std::string reason = code + ": " + o.error.message;
    if (auto w = tx.record_attempt(item.id, dead ? "dead" : "pending", attempts, next, reason);
        !w) {
      return w;
    }
    if (!dead) {  // a retry is not a state change worth an audit event
      ++round.retrying;
      continue;
    }
    auto a = tx.append_audit(delivery_event(
        item, now, "delivery.dead_lettered",
        "{\"outbox\":" + std::to_string(item.id) + ",\"attempts\":" + std::to_string(attempts) +
            ",\"reason\":" + json_quote(final_answer ? reason : "too old after " + reason) + "}"));
    if (!a) return a.error();
    ++round.dead_lettered;
  }
  return {};
}

Expected<void> retry_dead_letter(StoreTx& tx, std::int64_t outbox_id, const std::string& actor,
                                 Timestamp now) {
  auto item = tx.outbox_item(outbox_id);
  if (!item) return item.error();
  if (!*item) {
    return Error{"outbox.not_found",
                 "outbox item " + std::to_string(outbox_id) + " does not exist"};
  }
  if ((*item)->state != "dead") {
    return Error{"outbox.not_dead", "outbox item " + std::to_string(outbox_id) + " is " +
                                        (*item)->state + ", not dead-lettered"};
  }
  if (auto r = tx.record_attempt(outbox_id, "pending", 0, now, (*item)->last_error); !r) return r;
  AuditEvent e = delivery_event(**item, now, "delivery.retried",
                                "{\"outbox\":" + std::to_string(outbox_id) + "}");
  e.actor = actor;
  auto a = tx.append_audit(std::move(e));
  if (!a) return a.error();
  return {};
}

}  // namespace lienthong
