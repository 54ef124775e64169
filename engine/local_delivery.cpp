#include "engine/local_delivery.hpp"

#include "base/encoding.hpp"
#include "base/xml.hpp"
#include "engine/stored_package.hpp"

namespace lienthong {

Expected<std::size_t> LocalDelivery::run_once(std::size_t batch) {
  // Only items for agencies hosted here: those for peers (perhaps thousands, while a peer is
  // down) must not fill the batch.
  std::vector<std::string> local;
  for (const AgencyEntry* a : directory_.all()) {
    if (a->local) local.push_back(a->code);
  }
  auto pending = store_.outbox_to("pending", local, batch);
  if (!pending) return pending.error();
  std::size_t delivered = 0;
  for (const OutboxItem& item : *pending) {
    const AgencyEntry* to = directory_.find(item.to_agency);
    if (!to || !to->local) continue;  // for the peer adapter
    const Timestamp now = clock_.now();
    auto r = store_.write_sync([&](StoreTx& tx) -> Expected<void> {
      auto current = tx.outbox_item(item.id);
      if (!current) return current.error();
      if (!*current || (*current)->state != "pending") return {};  // someone else took it
      auto emitter = tx.instance(item.instance);
      if (!emitter) return emitter.error();
      const std::string from = *emitter ? (*emitter)->agency : std::string();
      Cause cause{"node", "", ""};
      auto cached = item.kind == "document" && cache_ ? cache_->find(item.document) : std::nullopt;
      if (cached) {
        if (auto h =
                router_.hand_over(tx, item.document, *cached->package, item.to_agency, cause, now);
            !h) {
          return h;
        }
      } else if (item.kind == "document") {
        auto doc = tx.document(item.document, false);
        if (!doc) return doc.error();
        if (!*doc)
          return Error{"outbox.missing", "document " + std::to_string(item.document) + " is gone"};
        // The original is read only when needed: a dossier's record, or a document stored
        // without a header (a small one, or one from before headers were kept).
        if ((*doc)->kind == "dossier" || (*doc)->header.empty()) {
          doc = tx.document(item.document);
          if (!doc) return doc.error();
          if (!*doc) {
            return Error{"outbox.missing",
                         "document " + std::to_string(item.document) + " is gone"};
          }
        }
        if ((*doc)->kind == "dossier") {
          if (auto h = router_.hand_over_dossier(tx, **doc, item.to_agency, cause, now); !h)
            return h;
        } else {
          auto package = stored_package(codec_, **doc);
          if (!package) return package.error();
          if (auto h = router_.hand_over(tx, item.document, *package, item.to_agency, cause, now);
              !h) {
            return h;
          }
        }
      } else {
        if (auto s = router_.status(tx, item.document, from, item.code, cause, now); !s) return s;
      }
      if (auto s = tx.set_outbox_state(item.id, "delivered"); !s) return s;
      auto a = tx.append_audit(delivery_event(
          item, now, item.kind == "document" ? "delivery.delivered" : "status.delivered",
          "{\"outbox\":" + std::to_string(item.id) + ",\"from\":" + json_quote(from) +
              ",\"code\":" + json_quote(item.code) + ",\"channel\":\"local\"}"));
      if (!a) return a.error();
      return {};
    });
    if (!r && r.error().code.rfind("store.", 0) == 0) return r.error();  // try again later
    if (!r) {
      // This item can never be handed over (its package no longer decodes, its workflow is gone):
      // dead-lettered, with the reason, so that the items behind it are not held up.
      auto dead = store_.write_sync([&](StoreTx& tx) -> Expected<void> {
        const std::string reason = r.error().code + ": " + r.error().message;
        if (auto w = tx.record_attempt(item.id, "dead", item.attempts + 1, 0, reason); !w) return w;
        auto a = tx.append_audit(delivery_event(item, now, "delivery.dead_lettered",
                                                "{\"outbox\":" + std::to_string(item.id) +
                                                    ",\"reason\":" + json_quote(reason) +
                                                    ",\"channel\":\"local\"}"));
        if (!a) return a.error();
        return {};
      });
      if (!dead) return dead.error();
      continue;
    }
    ++delivered;
  }
  return delivered;
}

}  // namespace lienthong
