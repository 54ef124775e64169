#include "adapters/http_api/api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>

#include <openssl/rand.h>

#include "adapters/http_api/report_format.hpp"
#include "base/agency_code.hpp"
#include "base/encoding.hpp"
#include "engine/peer_delivery.hpp"
#include "engine/registration.hpp"
#include "engine/report.hpp"
#include "signing/crypto.hpp"

namespace lienthong {
namespace json = boost::json;

int http_status_of(const Error& e) {
  const std::string& c = e.code;
  auto starts = [&](const char* p) { return c.rfind(p, 0) == 0; };
  if (c == "intake.too_large") return 413;
  if (c == "intake.not_your_agency" || c == "intake.signer_not_allowed" || c == "task.forbidden") {
    return 403;
  }
  if (c == "task.not_found" || c == "instance.not_found" || c == "outbox.not_found") return 404;
  if (c == "task.closed" || c == "outbox.not_dead" || c == "document.not_recallable" ||
      starts("workflow.")) {
    return 409;  // incl. workflow.version_exists
  }
  if (starts("signature.") || c == "intake.unknown_sender" || c == "intake.unknown_recipient" ||
      c == "intake.no_recipient") {
    return 422;
  }
  if (starts("intake.") || starts("xml.") || starts("edxml.")) return 400;
  if (c == "registration.forbidden") return 403;
  if (c == "registration.duplicate") return 409;
  if (starts("registration.")) return 422;
  if (starts("store.")) return 503;
  return 500;
}

namespace {

HttpResponse json_response(int status, const json::value& body) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::vector<std::string_view> split_path(std::string_view target) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string_view> parts;
  while (!target.empty()) {
    if (target.front() == '/') {
      target.remove_prefix(1);
      continue;
    }
    auto slash = target.find('/');
    parts.push_back(target.substr(0, slash));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash);
  }
  return parts;
}

// A query parameter of the target, or `fallback` (values are plain: no percent-decoding needed
// for the numbers and states the API takes).
std::string query(std::string_view target, std::string_view name, std::string fallback = {}) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return fallback;
}

// limit (1..500, default 50) and offset (default 0) of a listing; nullopt when malformed.
std::optional<std::pair<std::size_t, std::size_t>> page(std::string_view target) {
  auto limit = parse_id(query(target, "limit", "50"));
  const std::string off = query(target, "offset", "0");
  std::int64_t offset = 0;
  if (off != "0") {
    auto o = parse_id(off);
    if (!o) return std::nullopt;
    offset = *o;
  }
  if (!limit || *limit > 500) return std::nullopt;
  return std::make_pair(static_cast<std::size_t>(*limit), static_cast<std::size_t>(offset));
}

// A string member of a JSON object, or "" when absent or not a string.
std::string string_field(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object task_json(const TaskRecord& t) {
  return json::object{{"id", t.id},
                      {"instance", t.instance},
                      {"step", t.step},
                      {"agency", t.agency},
                      {"role", t.role},
                      {"due_at", t.due_at},
                      {"created_at", t.created_at},
                      {"state", t.state},
                      {"outcome", t.outcome}};
}

// A clerk reads and acts for their own agency; auditors read everything and change nothing;
// administrators manage the node (and read everything).
bool may_read(const UserConfig& u, const StoredDocument& d) {
  if (u.role != Role::clerk) return true;
  if (d.sender == u.agency) return true;
  for (const auto& r : d.recipients) {
    if (r == u.agency) return true;
  }
  return false;
}

}  // namespace

void Api::handle(HttpRequest&& req, Responder respond) {
  const std::string request_id = ctx_.config.id + "-" + std::to_string(ctx_.clock.now()) + "-" +
                                 std::to_string(next_request_++);
  const auto started = std::chrono::steady_clock::now();
  // One JSON line per request, with the id that also stands in the audit events it caused.
  auto user_name = std::make_shared<std::string>();
  auto reply = [respond, request_id, started, user_name, log = ctx_.log, method = req.method,
                target = req.target, remote = req.remote](HttpResponse r) {
    r.headers.emplace_back("X-Request-Id", request_id);
    if (log) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      char elapsed[32];
      std::snprintf(elapsed, sizeof elapsed, "%.3f", ms);
      log("{\"event\":\"request\",\"request_id\":" + json_quote(request_id) +
          ",\"method\":" + json_quote(method) + ",\"target\":" + json_quote(target) +
          ",\"status\":" + std::to_string(r.status) + ",\"ms\":" + elapsed +
          ",\"user\":" + json_quote(*user_name) + ",\"remote\":" + json_quote(remote) + "}");
    }
    respond(std::move(r));
  };
  auto fail = [&](int status, const std::string& code, const std::string& message) {
    reply(json_error(status, code, message));
  };
  const auto parts = split_path(req.target);

  if (parts.size() == 1 && parts[0] == "healthz") {
    if (req.method != "GET") return fail(405, "http.method", "use GET");
    return reply(json_response(200, json::object{{"status", "ok"}, {"node", ctx_.config.id}}));
  }
  const bool metrics = parts.size() == 1 && parts[0] == "metrics" && ctx_.metrics;
  if (!metrics && (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1")) {
    return fail(404, "http.not_found", "no such resource: " + req.target);
  }

  // Authentication: a bearer token, stored only as its SHA-256.
  const std::string auth = req.header("Authorization");
  if (auth.empty()) return fail(401, "auth.missing", "send Authorization: Bearer <token>");
  if (auth.rfind("Bearer ", 0) != 0)
    return fail(401, "auth.invalid", "the Authorization header is not a bearer token");
  const std::string token_hash = sha256_hex(auth.substr(7));
  const UserConfig* user = ctx_.config.find_user_by_token_sha256(token_hash);
  UserConfig added;  // a user an administrator created through the API
  if (!user) {
    auto stored = ctx_.store.user_by_token(token_hash);
    if (!stored) return fail(503, stored.error().code, stored.error().message);
    if (*stored) {
      auto role = parse_role((*stored)->role);
      if (role) {
        added.name = (*stored)->name;
        added.role = *role;
        added.agency = (*stored)->agency;
        user = &added;
      }
    }
  }
  if (!user) return fail(401, "auth.invalid", "the token is not valid");
  *user_name = user->name;

  // GET /metrics: for the operators' Prometheus, with an administrator's or auditor's token.
  if (metrics) {
    if (req.method != "GET") return fail(405, "http.method", "use GET");
    if (user->role == Role::clerk) {
      return fail(403, "auth.forbidden", "metrics are for administrators and auditors");
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ctx_.metrics();
    return reply(std::move(r));
  }

  std::vector<std::string_view> path(parts.begin() + 2, parts.end());
  // Only a package may be large enough to have been spooled; JSON bodies stay small.
  if (req.body_file && !(path.size() == 1 && path[0] == "documents")) {
    return fail(413, "http.body_too_large",
                "this body is too large for a JSON request; only a package (POST "
                "/api/v1/documents) may be this large");
  }
  const bool write = req.method == "POST" || req.method == "PUT" || req.method == "DELETE";
  if (write && user->role == Role::auditor) {
    return fail(403, "auth.read_only", "auditors read and do not change anything");
  }

  // POST /api/v1/documents: submit a signed edXML package.
  if (path.size() == 1 && path[0] == "documents") {
    if (req.method != "POST") return fail(405, "http.method", "use POST to submit a package");
    if (user->role != Role::clerk) {
      return fail(403, "auth.forbidden", "only an agency's clerk sends documents in its name");
    }
    Submitter who{user->name, user->agency, request_id};
    auto changed = ctx_.changed;
    PackageBytes package{std::move(req.body), std::move(req.body_file)};
    ctx_.intake.submit(std::move(package), who, [reply, changed](Expected<IntakeReceipt> r) {
      if (!r)
        return reply(json_error(http_status_of(r.error()), r.error().code, r.error().message));
      if (changed) changed();
      reply(json_response(r->duplicate ? 200 : 202,
                          json::object{{"id", r->document},
                                       {"message_id", r->message_id},
                                       {"duplicate", r->duplicate},
                                       {"verdict", to_string(r->verdict.code)}}));
    });
    return;
  }

  // GET /api/v1/documents/{id}[/original]
  if ((path.size() == 2 || path.size() == 3) && path[0] == "documents") {
    auto id = parse_id(path[1]);
    if (!id) return fail(400, "http.bad_id", "a document id is a positive integer");
    auto doc = ctx_.store.document(*id, false);
    if (!doc) return fail(503, doc.error().code, doc.error().message);
    // Another agency's document is reported as absent: its existence is not the clerk's business.
    if (!*doc || !may_read(*user, **doc))
      return fail(404, "document.not_found", "no document " + std::string(path[1]));
    if (path.size() == 3 && path[2] == "original" && req.method == "GET") {
      doc = ctx_.store.document(*id);  // the bytes, read only for a reader allowed to have them
      if (!doc) return fail(503, doc.error().code, doc.error().message);
      if (!*doc) return fail(404, "document.not_found", "no document " + std::string(path[1]));
    }
    StoredDocument& d = **doc;
    if (path.size() == 3 && path[2] == "recall") {
      if (req.method != "POST") return fail(405, "http.method", "use POST to recall");
      if (user->role != Role::clerk || user->agency != d.sender) {
        return fail(403, "auth.forbidden", "only the sender's clerks recall a document");
      }
      const std::int64_t document = d.id;
      const std::string sender = d.sender;
      auto count = std::make_shared<int>(0);
      Cause cause{user->name, user->agency, request_id};
      const Router& router = ctx_.router;
      const Timestamp now = ctx_.clock.now();
      auto changed = ctx_.changed;
      ctx_.store.write(
          [&router, document, sender, cause, now, count](StoreTx& tx) -> Expected<void> {
            auto open = tx.open_instances_of(document);
            if (!open) return open.error();
            for (std::int64_t id : *open) {
              auto inst = tx.instance(id);
              if (!inst) return inst.error();
              if (!*inst || (*inst)->agency == sender) continue;  // the recipients' instances
              if (auto r = router.recall(tx, id, "", cause, now); !r) return r;
              ++*count;
            }
            if (*count == 0) {
              return Error{"document.not_recallable",
                           "no recipient is still working on this document"};
            }
            return {};
          },
          [reply, count, changed](Expected<void> r) {
            if (!r) {
              return reply(
                  json_error(http_status_of(r.error()), r.error().code, r.error().message));
            }
            if (changed) changed();
            reply(json_response(200, json::object{{"recalled", *count}}));
          });
      return;
    }
    if (req.method != "GET") return fail(405, "http.method", "use GET");
    if (path.size() == 3) {
      if (path[2] != "original")
        return fail(404, "http.not_found", "no such resource: " + req.target);
      HttpResponse r;
      r.content_type = "application/xml";
      r.body = std::move(d.original);
      return reply(std::move(r));
    }
    json::array recipients;
    for (const auto& r : d.recipients) recipients.push_back(json::value(r));
    json::array instances;
    if (auto list = ctx_.store.instances_of(d.id)) {
      for (const auto& i : *list) {
        if (user->role == Role::clerk && i.agency != user->agency) continue;
        instances.push_back(json::object{{"id", i.id},
                                         {"agency", i.agency},
                                         {"workflow", i.workflow},
                                         {"version", i.version},
                                         {"finished", i.finished},
                                         {"final_status", i.final_status}});
      }
    }
    json::array history;
    if (auto events = ctx_.store.history(d.id)) {
      for (const auto& e : *events) {
        if (user->role == Role::clerk && e.agency != user->agency &&
            e.action != "document.received")
          continue;
        history.push_back(json::object{{"seq", e.seq},
                                       {"at", e.at},
                                       {"actor", e.actor},
                                       {"agency", e.agency},
                                       {"action", e.action},
                                       {"detail", e.detail}});
      }
    }
    json::array statuses;
    json::object latest;
    if (auto list = ctx_.store.statuses(d.id)) {
      for (const StatusRecord& s : *list) {
        statuses.push_back(json::object{{"from", s.from}, {"code", s.code}, {"at", s.at}});
      }
      for (const auto& [from, code] : latest_statuses(*list)) latest[from] = code;
    }
    return reply(json_response(200, json::object{{"id", d.id},
                                                 {"history", history},
                                                 {"statuses", statuses},
                                                 {"latest_status", latest},
                                                 {"message_id", d.message_id},
                                                 {"kind", d.kind},
                                                 {"sender", d.sender},
                                                 {"recipients", recipients},
                                                 {"document_id", d.document_id},
                                                 {"subject", d.subject},
                                                 {"received_at", d.received_at},
                                                 {"sha256", d.sha256_hex},
                                                 {"size", d.original_size},
                                                 {"instances", instances}}));
  }

  // GET /api/v1/agencies/{code}/inbox?state=open|completed|cancelled|all&limit=&offset=: tasks.
  // GET /api/v1/agencies/{code}/outbox?limit=&offset=: documents sent, with each recipient's
  // latest status.
  if (path.size() == 3 && path[0] == "agencies" && (path[2] == "inbox" || path[2] == "outbox")) {
    if (req.method != "GET") return fail(405, "http.method", "use GET");
    const std::string agency(path[1]);
    if (user->role == Role::clerk && user->agency != agency) {
      return fail(403, "auth.forbidden",
                  user->name + " works for " + user->agency + ", not " + agency);
    }
    auto p = page(req.target);
    if (!p) return fail(400, "http.bad_query", "limit is 1 to 500, offset a whole number");
    if (path[2] == "inbox") {
      std::string state = query(req.target, "state", "open");
      if (state != "open" && state != "completed" && state != "cancelled" && state != "all") {
        return fail(400, "http.bad_query", "state is open, completed, cancelled or all");
      }
      auto tasks = ctx_.store.tasks_of(agency, state == "all" ? "" : state, p->first, p->second);
      if (!tasks) return fail(503, tasks.error().code, tasks.error().message);
      json::array items;
      for (const auto& t : *tasks) items.push_back(task_json(t));
      return reply(
          json_response(200, json::object{{"agency", agency}, {"state", state}, {"tasks", items}}));
    }
    auto sent = ctx_.store.sent_by(agency, p->first, p->second);
    if (!sent) return fail(503, sent.error().code, sent.error().message);
    json::array items;
    for (const auto& d : *sent) {
      json::object latest;
      for (const auto& r : d.recipients) latest[r] = "";
      if (auto list = ctx_.store.statuses(d.id)) {
        for (const auto& [from, code] : latest_statuses(*list)) latest[from] = code;
      }
      items.push_back(json::object{{"id", d.id},
                                   {"document_id", d.document_id},
                                   {"subject", d.subject},
                                   {"sent_at", d.received_at},
                                   {"latest_status", latest}});
    }
    return reply(json_response(200, json::object{{"agency", agency}, {"documents", items}}));
  }

  // POST /api/v1/tasks/{id} {"outcome": "..."}: act on a task.
  if (path.size() == 2 && path[0] == "tasks") {
    auto id = parse_id(path[1]);
    if (!id) return fail(400, "http.bad_id", "a task id is a positive integer");
    if (req.method == "GET") {
      auto t = ctx_.store.task(*id);
      if (!t) return fail(503, t.error().code, t.error().message);
      if (!*t || (user->role == Role::clerk && (*t)->agency != user->agency)) {
        return fail(404, "task.not_found", "no task " + std::string(path[1]));
      }
      return reply(json_response(200, task_json(**t)));
    }
    if (req.method != "POST") return fail(405, "http.method", "use GET or POST");
    if (user->role != Role::clerk)
      return fail(403, "auth.forbidden", "tasks are done by the agency's clerks");
    boost::system::error_code ec;
    json::value body = json::parse(req.body, ec);
    const json::object* o = ec ? nullptr : body.if_object();
    const json::value* outcome = o ? o->if_contains("outcome") : nullptr;
    if (!outcome || !outcome->is_string() || outcome->as_string().empty()) {
      return fail(400, "http.bad_body", "send a JSON object like {\"outcome\": \"accept\"}");
    }
    const std::string chosen(outcome->as_string());
    const std::int64_t task = *id;
    Cause cause{user->name, user->agency, request_id};
    const Router& router = ctx_.router;
    const Timestamp now = ctx_.clock.now();
    auto changed = ctx_.changed;
    ctx_.store.write(
        [&router, task, chosen, cause, now](StoreTx& tx) {
          return router.complete_task(tx, task, chosen, cause, now);
        },
        [reply, task, chosen, changed](Expected<void> r) {
          if (!r)
            return reply(json_error(http_status_of(r.error()), r.error().code, r.error().message));
          if (changed) changed();
          reply(json_response(200, json::object{{"task", task}, {"outcome", chosen}}));
        });
    return;
  }

  // Workflows: GET /api/v1/workflows, GET /api/v1/workflows/{id}[/{version}], and for
  // administrators POST /api/v1/workflows (the definition's XML) to deploy a new version.
  if (!path.empty() && path[0] == "workflows") {
    if (path.size() == 1 && req.method == "GET") {
      json::array items;
      for (const auto& [id, version] : ctx_.registry.list()) {
        auto wf = ctx_.registry.get(id, version);
        items.push_back(
            json::object{{"id", id}, {"version", version}, {"name", wf ? wf->name : ""}});
      }
      return reply(json_response(200, json::object{{"workflows", items}}));
    }
    if (path.size() == 1 && req.method == "POST") {
      if (user->role != Role::administrator) {
        return fail(403, "auth.forbidden", "only administrators deploy workflows");
      }
      LoadResult loaded = load_workflow(req.body, "request");
      if (!loaded.ok()) {
        json::array problems;
        for (const auto& d : loaded.diagnostics) {
          problems.push_back(json::object{{"line", d.line}, {"message", d.message}});
        }
        json::object body{{"error", json::object{{"code", "workflow.invalid"},
                                                 {"message", "the definition is not valid"},
                                                 {"problems", problems}}}};
        return reply(json_response(422, body));
      }
      auto workflow = std::make_shared<WorkflowDef>(std::move(*loaded.workflow));
      auto source = std::make_shared<std::string>(std::move(req.body));
      WorkflowRegistry& registry = ctx_.registry;
      const Timestamp now = ctx_.clock.now();
      Cause cause{user->name, "", request_id};
      ctx_.store.write(
          [workflow, source, now, cause](StoreTx& tx) -> Expected<void> {
            if (auto r = tx.save_workflow(workflow->id, workflow->version, *source, now); !r)
              return r;
            AuditEvent e;
            e.at = now;
            e.actor = cause.actor;
            e.action = "workflow.deployed";
            e.detail = "{\"id\":" + json_quote(workflow->id) +
                       ",\"version\":" + std::to_string(workflow->version) + "}";
            e.request_id = cause.request_id;
            auto a = tx.append_audit(std::move(e));
            return a ? Expected<void>() : Expected<void>(a.error());
          },
          [reply, workflow, source, &registry](Expected<void> r) {
            if (!r)
              return reply(
                  json_error(http_status_of(r.error()), r.error().code, r.error().message));
            const std::string id = workflow->id;
            const int version = workflow->version;
            (void)registry.deploy(std::move(*workflow),
                                  *source);  // the store already refused conflicts
            reply(json_response(201, json::object{{"id", id}, {"version", version}}));
          });
      return;
    }
    if ((path.size() == 2 || path.size() == 3) && req.method == "GET") {
      const std::string id(path[1]);
      std::shared_ptr<const WorkflowDef> wf;
      if (path.size() == 3) {
        auto version = parse_id(path[2]);
        if (!version) return fail(400, "http.bad_id", "a version is a positive integer");
        wf = ctx_.registry.get(id, static_cast<int>(*version));
      } else {
        wf = ctx_.registry.latest(id);
      }
      if (!wf) return fail(404, "workflow.not_found", "no workflow " + std::string(req.target));
      json::array steps;
      for (const auto& s : wf->steps) {
        json::array next;
        for (const auto& o : s.outcomes)
          next.push_back(json::object{{"on", o.name}, {"next", o.next}, {"status", o.status}});
        for (const auto& w : s.whens)
          next.push_back(json::object{{"when", w.test.text()}, {"next", w.next}});
        if (!s.otherwise.empty()) next.push_back(json::object{{"otherwise", s.otherwise}});
        if (!s.next.empty())
          next.push_back(
              json::object{{"join", s.join == 0 ? std::string("all") : std::to_string(s.join)},
                           {"next", s.next}});
        steps.push_back(json::object{{"id", s.id},
                                     {"kind", to_string(s.kind)},
                                     {"name", s.name},
                                     {"role", s.role},
                                     {"due", s.due ? to_string(*s.due) : std::string()},
                                     {"status", s.status},
                                     {"transitions", next}});
      }
      return reply(json_response(200, json::object{{"id", wf->id},
                                                   {"version", wf->version},
                                                   {"name", wf->name},
                                                   {"start", wf->steps[wf->start].id},
                                                   {"steps", steps}}));
    }
    return fail(405, "http.method", "use GET, or POST to deploy");
  }

  // Agencies: everyone lists them; administrators add agencies hosted here or on a peer.
  if (path.size() == 1 && path[0] == "agencies") {
    if (req.method == "GET") {
      json::array items;
      for (const AgencyEntry* a : ctx_.directory.all()) {
        items.push_back(json::object{{"code", a->code},
                                     {"name", a->name},
                                     {"parent", a->parent},
                                     {"local", a->local},
                                     {"node", a->node}});
      }
      return reply(json_response(200, json::object{{"agencies", items}}));
    }
    if (req.method != "POST") return fail(405, "http.method", "use GET or POST");
    if (user->role != Role::administrator)
      return fail(403, "auth.forbidden", "only administrators add agencies");
    boost::system::error_code ec;
    json::value body = json::parse(req.body, ec);
    const json::object* o = ec ? nullptr : body.if_object();
    if (!o) return fail(400, "http.bad_body", "send a JSON object");
    auto text = [o](const char* k) { return string_field(*o, k); };
    AgencyRecord record{text("code"), text("name"),     text("parent"), {},
                        {},           ctx_.clock.now(), text("node")};
    if (!record.node.empty() && record.node != ctx_.config.id) {
      const bool known = std::any_of(ctx_.config.peers.begin(), ctx_.config.peers.end(),
                                     [&](const PeerConfig& p) { return p.id == record.node; });
      if (!known) {
        return fail(422, "agency.invalid",
                    "node: no peer '" + record.node + "' is configured here (see <peers>)");
      }
    }
    if (record.node == ctx_.config.id) record.node.clear();
    if (auto ok = validate_agency_code(record.code); !ok)
      return fail(422, "agency.invalid", ok.error().message);
    if (!record.parent.empty()) {
      if (auto ok = validate_agency_code(record.parent); !ok)
        return fail(422, "agency.invalid", "parent: " + ok.error().message);
    }
    if (record.name.empty() || record.name.size() > 200)
      return fail(422, "agency.invalid", "name is required (at most 200 bytes)");
    if (ctx_.directory.find(record.code))
      return fail(409, "agency.exists", "agency " + record.code + " is already known");
    for (const char* key : {"signer_certs", "organisation_certs"}) {
      const json::value* list = o->if_contains(key);
      if (!list || !list->is_array() || list->as_array().empty()) {
        return fail(422, "agency.invalid",
                    std::string(key) + " must list at least one PEM certificate");
      }
      for (const auto& pem : list->as_array()) {
        auto certs = pem.is_string()
                         ? load_certificates_pem(std::string(pem.as_string()))
                         : Expected<std::vector<Cert>>(Error{"cert.invalid", "not a string"});
        if (!certs)
          return fail(422, "agency.invalid", std::string(key) + ": " + certs.error().message);
        auto& into = std::string(key) == "signer_certs" ? record.signer_fingerprints
                                                        : record.organisation_fingerprints;
        for (auto& c : *certs) into.push_back(cert_fingerprint_sha256(c.get()));
      }
    }
    Directory& directory = ctx_.directory;
    const std::string node = ctx_.config.id;
    Cause cause{user->name, "", request_id};
    ctx_.store.write(
        [record, cause](StoreTx& tx) -> Expected<void> {
          if (auto r = tx.insert_agency(record); !r)
            return Error{"agency.exists", "agency " + record.code + " is already known"};
          AuditEvent e;
          e.at = record.created_at;
          e.actor = cause.actor;
          e.agency = record.code;
          e.action = "agency.added";
          e.detail =
              "{\"name\":" + json_quote(record.name) + ",\"node\":" + json_quote(record.node) + "}";
          e.request_id = cause.request_id;
          auto a = tx.append_audit(std::move(e));
          return a ? Expected<void>() : Expected<void>(a.error());
        },
        [reply, record, &directory, node](Expected<void> r) {
          if (!r)
            return reply(json_error(r.error().code == "agency.exists" ? 409 : 503, r.error().code,
                                    r.error().message));
          AgencyEntry e{record.code,
                        record.name,
                        record.parent,
                        record.node.empty(),
                        record.node.empty() ? node : record.node,
                        {},
                        {}};
          e.signer_fingerprints.insert(record.signer_fingerprints.begin(),
                                       record.signer_fingerprints.end());
          e.organisation_fingerprints.insert(record.organisation_fingerprints.begin(),
                                             record.organisation_fingerprints.end());
          directory.add(std::move(e));
          reply(json_response(201, json::object{{"code", record.code}}));
        });
    return;
  }

  // Reports (DESIGN.md section 6): auditors and administrators of any agency, clerks of their own.
  if (!path.empty() && path[0] == "reports") {
    if (path.size() != 1) return fail(404, "http.not_found", "no such resource");
    if (req.method != "GET") return fail(405, "http.method", "use GET");
    const std::string period = query(req.target, "period");
    const std::string from = query(req.target, "from");
    const std::string to = query(req.target, "to");
    Expected<ReportPeriod> p = Error{"report.bad_period", "give period, or from and to"};
    if (!period.empty() && from.empty() && to.empty()) {
      p = parse_report_period(period);
    } else if (period.empty() && !from.empty() && !to.empty()) {
      p = report_period_between(from, to);
    }
    if (!p) return fail(400, p.error().code, p.error().message);
    auto group_by = parse_report_group_by(query(req.target, "group_by", "agency"));
    if (!group_by) return fail(400, group_by.error().code, group_by.error().message);
    auto format = parse_report_format(query(req.target, "format", "json"));
    if (!format) return fail(400, format.error().code, format.error().message);
    std::string agency = query(req.target, "agency");
    if (user->role == Role::clerk) {
      if (agency.empty()) agency = user->agency;
      if (agency != user->agency) {
        return fail(403, "auth.forbidden", "clerks see the report of their own agency");
      }
    }
    std::vector<ReportAgency> agencies;
    for (const AgencyEntry* e : ctx_.directory.all()) {
      agencies.push_back({e->code, e->name, e->parent});
    }
    ReportQuery q{*p, agency, *group_by, ctx_.clock.now(), ctx_.config.calendar.utc_offset_seconds};
    auto report = make_report(ctx_.store, agencies, ctx_.config.targets, q);
    if (!report) {
      return fail(report.error().code == "report.unknown_agency" ? 404 : 503, report.error().code,
                  report.error().message);
    }
    HttpResponse r;
    r.content_type = std::string(content_type_of(*format));
    r.body = format_report(*report, *format);
    return reply(std::move(r));
  }

  // Outbox: administrators and auditors see deliveries by state (dead-lettered ones with why);
  // administrators send a dead-lettered one again.
  if (!path.empty() && path[0] == "outbox") {
    if (user->role == Role::clerk) {
      return fail(403, "auth.forbidden", "clerks see their agency's outbox under /agencies");
    }
    if (path.size() == 1) {
      if (req.method != "GET") return fail(405, "http.method", "use GET");
      const std::string state = query(req.target, "state", "dead");
      if (state != "pending" && state != "delivered" && state != "dead") {
        return fail(400, "http.bad_query", "state is pending, delivered or dead");
      }
      auto p = page(req.target);
      if (!p) return fail(400, "http.bad_query", "limit is 1 to 500");
      auto items = ctx_.store.outbox(state, p->first);
      if (!items) return fail(503, items.error().code, items.error().message);
      json::array out;
      for (const OutboxItem& o : *items) {
        out.push_back(json::object{{"id", o.id},
                                   {"kind", o.kind},
                                   {"document", o.document},
                                   {"to", o.to_agency},
                                   {"code", o.code},
                                   {"created_at", o.created_at},
                                   {"state", o.state},
                                   {"attempts", o.attempts},
                                   {"next_attempt_at", o.next_attempt_at},
                                   {"last_error", o.last_error}});
      }
      return reply(json_response(200, json::object{{"items", out}}));
    }
    if (path.size() == 3 && path[2] == "retry") {
      if (req.method != "POST") return fail(405, "http.method", "use POST to retry");
      if (user->role != Role::administrator) {
        return fail(403, "auth.forbidden", "only administrators retry deliveries");
      }
      auto id = parse_id(path[1]);
      if (!id) return fail(400, "http.bad_id", "an outbox id is a positive integer");
      const std::string actor = user->name;
      const Timestamp now = ctx_.clock.now();
      const std::int64_t item = *id;
      auto changed = ctx_.changed;
      ctx_.store.write(
          [item, actor, now](StoreTx& tx) { return retry_dead_letter(tx, item, actor, now); },
          [reply, item, changed](Expected<void> r) {
            if (!r) {
              return reply(
                  json_error(http_status_of(r.error()), r.error().code, r.error().message));
            }
            if (changed) changed();
            reply(json_response(200, json::object{{"id", item}, {"state", "pending"}}));
          });
      return;
    }
    return fail(404, "http.not_found", "no such resource: " + req.target);
  }

  // Users: administrators and auditors list them; administrators create them, and the new token
  // is shown once (only its SHA-256 is kept).
  if (path.size() == 1 && path[0] == "users") {
    if (user->role == Role::clerk) return fail(403, "auth.forbidden", "clerks do not manage users");
    if (req.method == "GET") {
      json::array items;
      for (const auto& u : ctx_.config.users) {
        items.push_back(json::object{{"name", u.name},
                                     {"role", to_string(u.role)},
                                     {"agency", u.agency},
                                     {"source", "config"}});
      }
      auto stored = ctx_.store.users();
      if (!stored) return fail(503, stored.error().code, stored.error().message);
      for (const auto& u : *stored) {
        items.push_back(json::object{
            {"name", u.name}, {"role", u.role}, {"agency", u.agency}, {"source", "api"}});
      }
      return reply(json_response(200, json::object{{"users", items}}));
    }
    if (req.method != "POST") return fail(405, "http.method", "use GET or POST");
    if (user->role != Role::administrator)
      return fail(403, "auth.forbidden", "only administrators create users");
    boost::system::error_code ec;
    json::value body = json::parse(req.body, ec);
    const json::object* o = ec ? nullptr : body.if_object();
    if (!o) return fail(400, "http.bad_body", "send a JSON object");
    auto text = [o](const char* k) { return string_field(*o, k); };
    UserRecord record{text("name"), text("role"), text("agency"), "", ctx_.clock.now()};
    auto role = parse_role(record.role);
    if (!role) return fail(422, "user.invalid", "role must be clerk, administrator or auditor");
    if (record.name.empty() || record.name.size() > 64 ||
        record.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
            std::string::npos) {
      return fail(422, "user.invalid", "name: 1 to 64 of a-z, 0-9, '-', '_', '.'");
    }
    if (ctx_.config.find_user(record.name))
      return fail(409, "user.exists", "user " + record.name + " exists");
    if (*role == Role::clerk) {
      const AgencyEntry* a = ctx_.directory.find(record.agency);
      if (!a || !a->local)
        return fail(422, "user.invalid", "a clerk needs an agency hosted on this node");
    } else if (!record.agency.empty()) {
      return fail(422, "user.invalid",
                  "administrators and auditors cover the whole node: no agency");
    }
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1)
      return fail(503, "user.random", "no randomness for a token");
    const std::string token =
        to_hex(std::string_view(reinterpret_cast<char*>(random), sizeof random));
    record.token_sha256 = sha256_hex(token);
    Cause cause{user->name, "", request_id};
    ctx_.store.write(
        [record, cause](StoreTx& tx) -> Expected<void> {
          if (auto r = tx.insert_user(record); !r)
            return Error{"user.exists", "user " + record.name + " exists"};
          AuditEvent e;
          e.at = record.created_at;
          e.actor = cause.actor;
          e.agency = record.agency;
          e.action = "user.created";
          e.detail =
              "{\"name\":" + json_quote(record.name) + ",\"role\":" + json_quote(record.role) + "}";
          e.request_id = cause.request_id;
          auto a = tx.append_audit(std::move(e));
          return a ? Expected<void>() : Expected<void>(a.error());
        },
        [reply, record, token](Expected<void> r) {
          if (!r)
            return reply(json_error(r.error().code == "user.exists" ? 409 : 503, r.error().code,
                                    r.error().message));
          reply(json_response(
              201, json::object{{"name", record.name}, {"role", record.role}, {"token", token}}));
        });
    return;
  }

  // POST /api/v1/paper: register a hand-over made on paper.
  // POST /api/v1/dossiers: register a dossier at the one-stop desk and start its workflow.
  if (path.size() == 1 && (path[0] == "paper" || path[0] == "dossiers")) {
    if (req.method != "POST") return fail(405, "http.method", "use POST");
    if (user->role != Role::clerk)
      return fail(403, "auth.forbidden", "registrations are made by an agency's clerks");
    boost::system::error_code ec;
    json::value body = json::parse(req.body, ec);
    const json::object* o = ec ? nullptr : body.if_object();
    if (!o) return fail(400, "http.bad_body", "send a JSON object");
    auto text = [o](const char* k) { return string_field(*o, k); };
    Cause cause{user->name, user->agency, request_id};
    const Timestamp now = ctx_.clock.now();
    auto changed = ctx_.changed;
    if (path[0] == "paper") {
      PaperRegistration paper{text("document_id"),
                              text("subject"),
                              text("document_type"),
                              text("from"),
                              text("to"),
                              text("channel").empty() ? "paper" : text("channel")};
      if (auto ok = check(paper, ctx_.directory, user->agency); !ok) {
        return fail(http_status_of(ok.error()), ok.error().code, ok.error().message);
      }
      auto id = std::make_shared<std::int64_t>(0);
      ctx_.store.write(
          [paper, cause, now, id](StoreTx& tx) -> Expected<void> {
            auto r = register_paper(tx, paper, cause, now);
            if (!r) return r.error();
            *id = *r;
            return {};
          },
          [reply, id, changed](Expected<void> r) {
            if (!r)
              return reply(
                  json_error(http_status_of(r.error()), r.error().code, r.error().message));
            if (changed) changed();
            reply(json_response(201, json::object{{"id", *id}}));
          });
      return;
    }
    DossierRegistration dossier{
        user->agency, text("procedure"), text("applicant"), text("channel"), {}};
    if (const json::value* c = o->if_contains("consulted"); c && c->is_array()) {
      for (const auto& a : c->as_array()) {
        if (!a.is_string())
          return fail(400, "http.bad_body", "consulted is a list of agency codes");
        dossier.consulted.emplace_back(a.as_string());
      }
    }
    if (auto ok = check(dossier, ctx_.directory); !ok) {
      return fail(http_status_of(ok.error()), ok.error().code, ok.error().message);
    }
    auto record = std::make_shared<DossierRecord>();
    const Router& router = ctx_.router;
    const BusinessCalendar& calendar = ctx_.calendar;
    ctx_.store.write(
        [&router, &calendar, dossier, cause, now, record](StoreTx& tx) -> Expected<void> {
          auto r = register_dossier(tx, router, calendar, dossier, "one-stop-dossier", cause, now);
          if (!r) return r.error();
          *record = std::move(*r);
          return {};
        },
        [reply, record, changed](Expected<void> r) {
          if (!r)
            return reply(json_error(http_status_of(r.error()), r.error().code, r.error().message));
          if (changed) changed();
          reply(json_response(201, json::object{{"code", record->code},
                                                {"document", record->document},
                                                {"instance", record->instance}}));
        });
    return;
  }

  return fail(404, "http.not_found", "no such resource: " + req.method + " " + req.target);
}

}  // namespace lienthong
