#include "engine/peer_delivery.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/encoding.hpp"
#include "base/xml.hpp"

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

AuditEvent delivery_event(const OutboxItem& item, Timestamp now, const std::string& action,
                          const std::string& detail) {
  AuditEvent e;
  e.at = now;
  e.actor = "node";
  e.agency = item.to_agency;
  e.action = action;
  e.document = item.document;
  e.detail = detail;
  return e;
}

}  // namespace

Expected<PeerDelivery::Round> PeerDelivery::run_once(std::size_t batch) {
  Round round;
  std::vector<OutboxItem> due;
  for (const char* kind : {"document", "status"}) {
    if (std::string_view(kind) == "status" && !packager_) continue;
    auto items = store_.outbox_due(kind, clock_.now(), batch);
    if (!items) return items.error();
    due.insert(due.end(), items->begin(), items->end());
  }
  // A peer that could not be reached is not called again in this round: its other items share
  // the failure (and the backoff) instead of each waiting for the same timeout.
  std::map<std::string, Error> down;
  for (const OutboxItem& item : due) {
    const AgencyEntry* to = directory_.find(item.to_agency);
    if (to && to->local) continue;  // LocalDelivery's
    Expected<void> outcome;
    if (!to || to->node.empty()) {
      outcome = failed(item, "peer.unknown_agency",
                       "no peer node is known to host agency " + item.to_agency, round);
    } else if (auto it = down.find(to->node); it != down.end()) {
      outcome = failed(item, it->second.code, it->second.message, round);
    } else if (auto p = payload(item); !p) {
      outcome = failed(item, p.error().code, p.error().message, round);
    } else if (auto ack = transport_.deliver(to->node, p->bytes); ack) {
      outcome = succeeded(item, *p, to->node, *ack);
      if (outcome) ++round.delivered;
    } else {
      if (ack.error().code != "peer.refused") down.emplace(to->node, ack.error());
      outcome = failed(item, ack.error().code, ack.error().message, round);
    }
    if (!outcome) return outcome.error();
  }
  return round;
}

Expected<PeerDelivery::Payload> PeerDelivery::payload(const OutboxItem& item) {
  auto doc = store_.document(item.document);
  if (!doc) return doc.error();
  if (!*doc) {
    return Error{"outbox.missing", "document " + std::to_string(item.document) + " is gone"};
  }
  auto xml = parse_xml((*doc)->original, XmlLimits{.max_bytes = (*doc)->original.size() + 1});
  if (!xml) return xml.error();
  auto package = codec_.decode(xml->get());
  if (!package) return package.error();
  Payload out;
  if (item.kind == "document") {
    const bool paper = package->trace_header_list && package->trace_header_list->business &&
                       package->trace_header_list->business->paper.value_or(0) == 1;
    out.from = (*doc)->sender;
    out.hand_over = HandOver{item.document,          out.from,
                             item.to_agency,         paper ? "electronic+paper" : "electronic",
                             package->document.type, 0};
    out.bytes = std::move((*doc)->original);
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

Expected<void> PeerDelivery::succeeded(const OutboxItem& item, const Payload& payload,
                                       const std::string& peer, const std::string& remote_id) {
  const Timestamp now = clock_.now();
  const bool document = item.kind == "document";
  return store_.write_sync([&](StoreTx& tx) -> Expected<void> {
    auto current = tx.outbox_item(item.id);
    if (!current) return current.error();
    if (!*current || (*current)->state != "pending") return {};  // an administrator acted
    if (auto r = tx.record_attempt(item.id, "delivered", item.attempts + 1, now, ""); !r) return r;
    if (document) {
      HandOver h = payload.hand_over;
      h.at = now;
      if (auto r = tx.record_hand_over(h); !r) return r;
    }
    auto a = tx.append_audit(delivery_event(
        item, now, document ? "delivery.delivered" : "status.delivered",
        "{\"outbox\":" + std::to_string(item.id) + ",\"from\":" + json_quote(payload.from) +
            (document ? std::string() : ",\"code\":" + json_quote(item.code)) +
            ",\"channel\":\"peer\",\"peer\":" + json_quote(peer) + ",\"remote_id\":" +
            json_quote(remote_id) + ",\"attempts\":" + std::to_string(item.attempts + 1) + "}"));
    if (!a) return a.error();
    return {};
  });
}

Expected<void> PeerDelivery::failed(const OutboxItem& item, const std::string& code,
                                    const std::string& why, Round& round) {
  const Timestamp now = clock_.now();
  const int attempts = item.attempts + 1;
  const bool final_answer =
      code == "peer.refused" || code == "peer.unknown_agency" || code == "status.unsigned";
  const bool too_old = now - item.created_at >= policy_.dead_after;
  const bool dead = final_answer || too_old;
  const Timestamp next = dead ? 0 : now + retry_delay(policy_, attempts, random_);
  const std::string reason = code + ": " + why;
  auto r = store_.write_sync([&](StoreTx& tx) -> Expected<void> {
    auto current = tx.outbox_item(item.id);
    if (!current) return current.error();
    if (!*current || (*current)->state != "pending") return {};
    if (auto w = tx.record_attempt(item.id, dead ? "dead" : "pending", attempts, next, reason); !w)
      return w;
    if (!dead) return {};  // a retry is not a state change worth an audit event
    auto a = tx.append_audit(delivery_event(
        item, now, "delivery.dead_lettered",
        "{\"outbox\":" + std::to_string(item.id) + ",\"attempts\":" + std::to_string(attempts) +
            ",\"reason\":" + json_quote(final_answer ? reason : "too old after " + reason) + "}"));
    if (!a) return a.error();
    return {};
  });
  if (!r) return r;
  ++(dead ? round.dead_lettered : round.retrying);
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
