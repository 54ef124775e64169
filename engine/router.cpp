#include "engine/router.hpp"

#include "base/encoding.hpp"
#include "workflows/calendar.hpp"

namespace lienthong {

DocumentFacts facts_of(const Package& p) {
  DocumentFacts f;
  if (p.kind == PackageKind::document) {
    const DocumentHeader& d = p.document;
    f.type = d.type;
    f.priority = d.other_info.priority.value_or(0);
    f.sender = d.from.organ_id;
    for (const auto& to : d.to) f.recipients.push_back(to.organ_id);
    if (d.due_date) f.due_date = CivilDate{d.due_date->year, d.due_date->month, d.due_date->day};
    f.steering_type = d.steering_type.value_or(0);
  } else {
    f.type = "status";
    f.sender = p.status.from.organ_id;
    f.recipients = {p.status.response_for.organ_id};
  }
  f.attachment_count = static_cast<std::int64_t>(p.attachments.size());
  if (p.trace_header_list && p.trace_header_list->business) {
    const Business& b = *p.trace_header_list->business;
    static const char* kActions[] = {"new", "revoke", "update", "replace"};
    const int type = b.doc_type.value_or(0);
    f.meta.emplace_back("action", type >= 0 && type <= 3 ? kActions[type] : std::to_string(type));
    f.meta.emplace_back("paper", b.paper.value_or(0) == 1 ? "1" : "0");
  }
  return f;
}

namespace {

Expected<void> audit(StoreTx& tx, const Cause& cause, const std::string& agency,
                     const std::string& action, std::int64_t document, std::string detail,
                     Timestamp now, std::optional<Tally> tally = std::nullopt) {
  AuditEvent e;
  e.tally = std::move(tally);
  e.at = now;
  e.actor = cause.actor;
  e.agency = agency;
  e.action = action;
  e.document = document;
  e.detail = std::move(detail);
  e.request_id = cause.request_id;
  auto r = tx.append_audit(std::move(e));
  if (!r) return r.error();
  return {};
}

// A status packet is known by its sender, document, code and time to the second (edXML), and the
// recipient orders one agency's statuses by that time (they may arrive out of order). So each
// status to an agency about a document is stamped at least a second after the one before: the
// same code again within a second is not taken for a copy, and 05 then 06 are not a tie.
Expected<std::int64_t> enqueue_status(StoreTx& tx, OutboxItem item) {
  auto last = tx.last_status_at(item.document, item.to_agency);
  if (!last) return last.error();
  if (*last && **last >= item.created_at) item.created_at = **last + 1;
  return tx.enqueue(item);
}

}  // namespace

Expected<void> Router::received(StoreTx& tx, std::int64_t document, const Package& package,
                                const Cause& cause, Timestamp now) const {
  if (package.kind == PackageKind::status) {
    const StatusHeader& s = package.status;
    auto sent = tx.document_sent(s.response_for.organ_id, s.response_for.document_id);
    if (!sent) return sent.error();
    if (!*sent) return {};  // an answer to nothing we track: kept and audited, routes nowhere
    const AgencyEntry* from = directory_.find(s.from.organ_id);
    if (from && !from->local) {  // from another node: the sender's view of its recipients
      std::optional<std::int64_t> issued;
      if (const auto& t = s.timestamp) {
        issued = days_from_civil({t->date.year, t->date.month, t->date.day}) * 86400 +
                 t->hour * 3600 + t->minute * 60 + t->second;
      }
      if (auto r = tx.record_status(**sent, s.from.organ_id, s.status_code, now, issued); !r)
        return r;
    }
    return status(tx, **sent, s.from.organ_id, s.status_code, cause, now);
  }
  // Sent from here: recipients on other nodes get the package through the outbox (their node
  // hands it over). Received from a peer: only the recipients hosted here are this node's.
  const AgencyEntry* sender = directory_.find(package.document.from.organ_id);
  const bool sent_from_here = sender && sender->local;
  const int action = business_action(package);
  for (const auto& to : package.document.to) {
    const AgencyEntry* agency = directory_.find(to.organ_id);
    if (!agency) continue;
    if (agency->local) {
      auto r = action == 0 ? hand_over(tx, document, package, to.organ_id, cause, now)
                           : revise(tx, document, package, action, to.organ_id, cause, now);
      if (!r) return r;
    } else if (sent_from_here && !agency->node.empty()) {
      OutboxItem item{0, "document", 0, 0, document, to.organ_id, "", now, "pending"};
      auto id = tx.enqueue(item);
      if (!id) return id.error();
      if (auto r =
              audit(tx, cause, sender->code, "delivery.queued", document,
                    "{\"outbox\":" + std::to_string(*id) + ",\"to\":" + json_quote(to.organ_id) +
                        ",\"node\":" + json_quote(agency->node) + "}",
                    now);
          !r) {
        return r;
      }
    }
  }
  return {};
}

int business_action(const Package& package) {
  if (!package.trace_header_list || !package.trace_header_list->business) return 0;
  return package.trace_header_list->business->doc_type.value_or(0);
}

std::optional<HandOver> hand_over_of(std::int64_t document, const Package& package,
                                     const std::string& to, Timestamp at) {
  if (package.kind == PackageKind::document && business_action(package) == 1) return std::nullopt;
  const bool paper = package.trace_header_list && package.trace_header_list->business &&
                     package.trace_header_list->business->paper.value_or(0) == 1;
  const std::string& from = package.kind == PackageKind::document ? package.document.from.organ_id
                                                                  : package.status.from.organ_id;
  return HandOver{
      document, from, to, paper ? "electronic+paper" : "electronic", package.document.type, at};
}

Expected<void> Router::hand_over(StoreTx& tx, std::int64_t document, const Package& package,
                                 const std::string& to, const Cause& cause, Timestamp now) const {
  if (auto h = hand_over_of(document, package, to, now)) {
    h->actor = cause.actor;
    h->request_id = cause.request_id;
    if (auto r = tx.record_hand_over(*h); !r) return r;
  }
  // This instance is `to`'s: "recipient" in its steps is `to`, not the document's first
  // addressee (a document addressed to several agencies starts one instance for each).
  DocumentFacts facts = facts_of(package);
  facts.recipients = {to};
  auto started = start(tx, incoming_workflow_, document, to, std::move(facts), cause, now);
  if (!started) return started.error();
  return {};
}

Expected<void> Router::hand_over_dossier(StoreTx& tx, const StoredDocument& dossier,
                                         const std::string& to, const Cause& cause,
                                         Timestamp now) const {
  if (auto r = tx.record_hand_over(HandOver{dossier.id, dossier.sender, to, "electronic", "dossier",
                                            now, cause.actor, cause.request_id});
      !r) {
    return r;
  }
  DocumentFacts facts;
  facts.type = "dossier";
  facts.sender = dossier.sender;
  facts.recipients = {to};
  facts.meta = {{"code", dossier.document_id}};
  auto started = start(tx, incoming_workflow_, dossier.id, to, std::move(facts), cause, now);
  if (!started) return started.error();
  return {};
}

Expected<void> Router::revise(StoreTx& tx, std::int64_t document, const Package& package,
                              int action, const std::string& to, const Cause& cause,
                              Timestamp now) const {
  static const char* kActions[] = {"new", "recall", "update", "replacement"};
  const std::string what =
      action >= 0 && action <= 3 ? kActions[action] : "action " + std::to_string(action);
  const std::string& from = package.document.from.organ_id;
  // The documents it revises: those sent under its DocumentId (the revision repeats the original's
  // header), or else under the one its Bussiness names.
  std::vector<std::int64_t> versions;  // the original and the updates since, oldest first
  for (const std::string* id :
       {&package.document.document_id, &package.trace_header_list->business->document_id}) {
    auto found = tx.documents_sent(from, *id);
    if (!found) return found.error();
    std::erase(*found, document);
    if (!found->empty()) {
      versions = std::move(*found);
      break;
    }
  }
  // The recipient's latest instance across the versions: the one still open, if any.
  std::optional<InstanceRecord> open, finished;
  for (std::int64_t version : versions) {
    auto instances = tx.instances_of(version);
    if (!instances) return instances.error();
    for (auto& i : *instances) {
      if (i.agency != to || i.workflow != incoming_workflow_) continue;
      (i.finished ? finished : open) = std::move(i);
    }
  }
  const std::string detail_head =
      "{\"action\":" + json_quote(what) + ",\"revision\":" + std::to_string(document);
  if (open) {
    if (auto r = advance(tx, open->id, RecallEvent{""}, cause, now); !r) return r;
    if (auto r = audit(tx, cause, to, "revision.received", open->document,
                       detail_head + ",\"instance\":" + std::to_string(open->id) + "}", now);
        !r) {
      return r;
    }
  } else if (finished) {
    // Too late to take back: the sender is told at once, as the recipient's clerk would.
    auto id = enqueue_status(tx, OutboxItem{0, "status", finished->id, 0, finished->document, from,
                                            "16", now, "pending"});
    if (!id) return id.error();
    if (auto r = audit(tx, cause, to, "revision.refused", finished->document,
                       detail_head + ",\"instance\":" + std::to_string(finished->id) +
                           ",\"reason\":\"the recipient has finished with the document\"}",
                       now);
        !r) {
      return r;
    }
  } else if (auto r = audit(
                 tx, cause, to, "revision.unmatched", document,
                 detail_head + ",\"reason\":\"no document of that id reached " + to + "\"}", now);
             !r) {
    return r;
  }
  if (action == 1) return {};
  return hand_over(tx, document, package, to, cause, now);  // the new version, on its own
}

Expected<void> Router::status(StoreTx& tx, std::int64_t document, const std::string& from,
                              const std::string& code, const Cause& cause, Timestamp now) const {
  auto open = tx.open_instances_of(document);
  if (!open) return open.error();
  for (std::int64_t id : *open) {
    auto r = advance(tx, id, StatusEvent{from, code}, cause, now);
    // An instance not waiting on this agency refuses the event; that is not an error here.
    if (!r && r.error().code != "workflow.event") return r;
  }
  return {};
}

Expected<std::int64_t> Router::start(StoreTx& tx, const std::string& workflow,
                                     std::int64_t document, const std::string& owner,
                                     DocumentFacts facts, const Cause& cause, Timestamp now) const {
  auto def = registry_.latest(workflow);
  if (!def) return Error{"workflow.unknown", "no workflow '" + workflow + "' is deployed"};
  auto t = apply(*def, calendar_, InstanceState(), StartEvent{std::move(facts), owner}, now);
  if (!t) return t.error();
  InstanceRecord record;
  record.document = document;
  record.agency = owner;
  record.workflow = def->id;
  record.version = def->version;
  record.state = serialize(t->state);
  record.started_at = now;
  record.updated_at = now;
  auto id = tx.insert_instance(record);
  if (!id) return id.error();
  record.id = *id;
  if (auto r = audit(tx, cause, owner, "instance.started", document,
                     "{\"instance\":" + std::to_string(*id) + ",\"workflow\":" +
                         json_quote(def->id) + ",\"version\":" + std::to_string(def->version) + "}",
                     now);
      !r) {
    return r.error();
  }
  if (auto r = persist(tx, record, *t, cause, now); !r) return r.error();
  return *id;
}

Expected<void> Router::complete_task(StoreTx& tx, std::int64_t task, const std::string& outcome,
                                     const Cause& cause, Timestamp now) const {
  auto t = tx.task(task);
  if (!t) return t.error();
  if (!*t) return Error{"task.not_found", "there is no task " + std::to_string(task)};
  if (!cause.agency.empty() && (*t)->agency != cause.agency) {
    return Error{"task.forbidden", "task " + std::to_string(task) + " belongs to " + (*t)->agency};
  }
  if ((*t)->state != "open") {
    return Error{"task.closed", "task " + std::to_string(task) + " is already " + (*t)->state};
  }
  return advance(tx, (*t)->instance, OutcomeEvent{(*t)->token, outcome}, cause, now);
}

Expected<void> Router::fire_timer(StoreTx& tx, std::int64_t instance, std::uint32_t timer,
                                  Timestamp now) const {
  Cause node{"node", "", ""};
  // The deadline row goes whether the timer fires or turns out stale (already fired, cancelled):
  // a deadline is acted on once.
  if (auto r = tx.clear_deadline(instance, timer); !r) return r;
  auto r = advance(tx, instance, TimerEvent{timer}, node, now);
  if (!r && (r.error().code == "workflow.event" || r.error().code == "instance.not_found"))
    return {};
  return r;
}

Expected<void> Router::recall(StoreTx& tx, std::int64_t instance, const std::string& recipient,
                              const Cause& cause, Timestamp now) const {
  return advance(tx, instance, RecallEvent{recipient}, cause, now);
}

Expected<void> Router::advance(StoreTx& tx, std::int64_t instance, const Event& event,
                               const Cause& cause, Timestamp now) const {
  auto record = tx.instance(instance);
  if (!record) return record.error();
  if (!*record)
    return Error{"instance.not_found", "there is no instance " + std::to_string(instance)};
  auto def = registry_.get((*record)->workflow, (*record)->version);
  if (!def) {
    return Error{"workflow.unknown", "workflow '" + (*record)->workflow + "' version " +
                                         std::to_string((*record)->version) + " is not deployed"};
  }
  auto state = deserialize((*record)->state);
  if (!state) return state.error();
  auto t = apply(*def, calendar_, std::move(*state), event, now);
  if (!t) return t.error();
  return persist(tx, **record, *t, cause, now);
}

Expected<void> Router::persist(StoreTx& tx, InstanceRecord& record, const Transition& t,
                               const Cause& cause, Timestamp now) const {
  const std::int64_t doc = record.document;
  for (const Effect& e : t.effects) {
    Expected<void> r;
    const std::string detail = "{\"instance\":" + std::to_string(record.id) +
                               ",\"step\":" + json_quote(e.step) +
                               ",\"code\":" + json_quote(e.code) + "}";
    switch (e.kind) {
      case Effect::Kind::create_task: {
        TaskRecord task;
        task.instance = record.id;
        task.token = e.token;
        task.step = e.step;
        task.agency = e.agency;
        task.role = e.role;
        task.due_at = e.at;
        task.created_at = now;
        auto id = tx.insert_task(task);
        if (!id) return id.error();
        r = audit(tx, cause, e.agency, "task.created", doc,
                  detail.substr(0, detail.size() - 1) + ",\"task\":" + std::to_string(*id) +
                      ",\"due\":" + std::to_string(e.at) + "}",
                  now);
        break;
      }
      case Effect::Kind::complete_task:
      case Effect::Kind::cancel_task: {
        auto task = tx.task_by_token(record.id, e.token);
        if (!task) return task.error();
        if (*task) {
          const bool done = e.kind == Effect::Kind::complete_task;
          r = tx.close_task((*task)->id, done ? "completed" : "cancelled", e.code, now, e.on_time);
          if (r) {
            std::optional<Tally> tally;
            if (done) {
              tally = Tally{
                  .agency = e.agency, .steps_completed = 1, .steps_on_time = e.on_time ? 1 : 0};
            }
            r = audit(tx, cause, e.agency, done ? "task.completed" : "task.cancelled", doc,
                      "{\"task\":" + std::to_string((*task)->id) +
                          ",\"outcome\":" + json_quote(e.code) +
                          ",\"on_time\":" + (e.on_time ? "true" : "false") + "}",
                      now, std::move(tally));
          }
        }
        break;
      }
      case Effect::Kind::deliver: {
        OutboxItem item{0, "document", record.id, e.token, doc, e.agency, "", now, "pending"};
        auto id = tx.enqueue(item);
        if (!id) return id.error();
        r = audit(tx, cause, record.agency, "delivery.queued", doc, detail, now);
        break;
      }
      case Effect::Kind::emit_status: {
        auto id = enqueue_status(
            tx, OutboxItem{0, "status", record.id, 0, doc, e.agency, e.code, now, "pending"});
        if (!id) return id.error();
        r = audit(tx, cause, record.agency, "status.queued", doc, detail, now);
        break;
      }
      case Effect::Kind::record_status:
        r = audit(tx, cause, e.agency, "status.recorded", doc, detail, now);
        break;
      case Effect::Kind::set_timer:
        r = tx.set_deadline(record.id, e.timer, e.at);
        break;
      case Effect::Kind::cancel_timer:
        r = tx.clear_deadline(record.id, e.timer);
        break;
      case Effect::Kind::remind:
      case Effect::Kind::escalate:
        r = audit(tx, cause, e.agency,
                  e.kind == Effect::Kind::remind ? "task.reminded" : "task.escalated", doc, detail,
                  now);
        break;
      case Effect::Kind::finish: {
        // A dossier is resolved when its instance ends, on time when none of its steps was late.
        auto dossier = tx.dossier_of_instance(record.id);
        if (!dossier) return dossier.error();
        if (!*dossier) {
          r = audit(tx, cause, record.agency, "instance.finished", doc, detail, now);
          break;
        }
        auto late = tx.late_tasks(record.id);
        if (!late) return late.error();
        r = audit(tx, cause, record.agency, "instance.finished", doc,
                  detail.substr(0, detail.size() - 1) +
                      ",\"dossier\":" + json_quote((*dossier)->code) +
                      ",\"channel\":" + json_quote((*dossier)->channel) +
                      ",\"on_time\":" + (*late == 0 ? "true" : "false") + "}",
                  now,
                  Tally{.agency = (*dossier)->agency,
                        .type = "dossier",
                        .channel = (*dossier)->channel,
                        .dossiers_completed = 1,
                        .dossiers_on_time = *late == 0 ? 1 : 0});
        break;
      }
    }
    if (!r) return r;
  }
  record.state = serialize(t.state);
  record.finished = t.state.finished;
  record.final_status = t.state.final_status;
  record.updated_at = now;
  return tx.update_instance(record);
}

}  // namespace lienthong
