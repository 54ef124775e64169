// `lienthong workflow validate|show|simulate`: the administrators' tools for definitions.
#include <boost/json.hpp>

#include <algorithm>
#include <iostream>
#include <map>

#include "app/args.hpp"
#include "app/commands.hpp"
#include "signing/crypto.hpp"
#include "workflows/definition.hpp"
#include "workflows/runtime.hpp"

namespace lienthong::cli {
namespace json = boost::json;

namespace {

constexpr const char* kWorkflowHelp = R"(usage: lienthong workflow validate FILE...
       lienthong workflow show FILE [--format text|dot]
       lienthong workflow simulate FILE --events EVENTS.json

validate  checks each definition against workflow.xsd and every semantic rule; prints every
          problem as file:line: message; exit 0 only when all are valid
show      the steps and transitions, or a Graphviz graph (dot -Tsvg) with --format dot
simulate  runs the events of EVENTS.json through the runtime with the clock they give, and
          prints each state and effect (see README, "Simulating a workflow")
)";

int usage(const std::string& message) {
  std::cerr << "lienthong workflow: " << message << "\n\n" << kWorkflowHelp;
  return 2;
}

std::optional<WorkflowDef> load_or_report(const std::string& file) {
  LoadResult r = load_workflow_file(file);
  for (const auto& d : r.diagnostics) std::cerr << d.to_string() << "\n";
  if (!r.ok()) return std::nullopt;
  return std::move(r.workflow);
}

std::string actor_text(const Actor& a) {
  switch (a.kind) {
    case Actor::Kind::agency:
      return a.code;
    case Actor::Kind::sender:
      return "sender";
    case Actor::Kind::recipient:
      return "recipient";
    case Actor::Kind::owner:
      return "owner";
  }
  return "?";
}

std::string due_text(const StepDef& s) {
  if (!s.due) return "";
  return " due " + to_string(*s.due) + (s.calendar == CalendarKind::working ? " working" : "");
}

int validate(const std::vector<std::string>& files) {
  if (files.empty()) return usage("validate needs at least one FILE");
  int bad = 0;
  for (const auto& f : files) {
    LoadResult r = load_workflow_file(f);
    for (const auto& d : r.diagnostics) std::cout << d.to_string() << "\n";
    if (r.ok()) {
      std::cout << f << ": valid (" << r.workflow->id << " version " << r.workflow->version << ", "
                << r.workflow->steps.size() << " steps)\n";
    } else {
      ++bad;
    }
  }
  return bad == 0 ? 0 : 1;
}

void show_text(const WorkflowDef& wf) {
  std::cout << wf.id << " version " << wf.version << ": " << wf.name << "\n";
  std::cout << "start: " << wf.steps[wf.start].id << "\n";
  if (wf.on_recall) std::cout << "on recall: " << wf.steps[*wf.on_recall].id << "\n";
  for (const auto& s : wf.steps) {
    std::string indent = "  ";
    for (auto p = s.parallel; p != WorkflowDef::kJoin; p = wf.steps[p].parallel) indent += "  ";
    std::cout << indent << to_string(s.kind) << " " << s.id;
    if (!s.name.empty()) std::cout << " (" << s.name << ")";
    switch (s.kind) {
      case StepKind::task:
        std::cout << ": " << actor_text(s.actor) << " / " << s.role << due_text(s)
                  << (s.status.empty() ? "" : ", status " + s.status + " on entry") << "\n";
        for (const auto& o : s.outcomes) {
          std::cout << indent << "  " << o.name << " -> " << o.next
                    << (o.status.empty() ? "" : " [" + o.status + "]") << "\n";
        }
        break;
      case StepKind::send:
        std::cout << ": to " << actor_text(s.actor) << due_text(s) << "\n";
        for (const auto& o : s.outcomes)
          std::cout << indent << "  status " << o.name << " -> " << o.next << "\n";
        break;
      case StepKind::decision:
        std::cout << "\n";
        for (const auto& w : s.whens)
          std::cout << indent << "  when " << w.test.text() << " -> " << w.next << "\n";
        std::cout << indent << "  otherwise -> " << s.otherwise << "\n";
        break;
      case StepKind::parallel:
        std::cout << ": "
                  << (s.for_each_recipient ? "one branch per recipient"
                                           : std::to_string(s.branch_starts.size()) + " branches")
                  << ", join " << (s.join == 0 ? std::string("all") : std::to_string(s.join))
                  << " -> " << s.next << "\n";
        break;
      case StepKind::end:
        std::cout << (s.status.empty() ? "" : ": status " + s.status) << "\n";
        break;
    }
    for (const auto& t : s.timers) {
      std::cout << indent << "  " << to_string(t.kind) << " after " << to_string(t.after)
                << (t.calendar == CalendarKind::working ? " working" : "")
                << (t.role.empty() ? "" : " to " + t.role)
                << (t.next.empty() ? "" : " -> " + t.next) << "\n";
    }
  }
}

std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void show_dot(const WorkflowDef& wf) {
  std::cout << "digraph " << dot_quote(wf.id)
            << " {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n"
            << "  label="
            << dot_quote(wf.name + " (" + wf.id + " v" + std::to_string(wf.version) + ")") << ";\n";
  auto node_id = [&](std::size_t i) { return dot_quote(wf.steps[i].id); };
  auto join_id = [&](std::size_t par) { return dot_quote(wf.steps[par].id + "/join"); };
  auto target = [&](const StepDef& from, const std::string& next) {
    if (next == kJoinTarget) return join_id(from.parallel);
    return dot_quote(next);
  };
  std::cout << "  \"__start\" [shape=point];\n  \"__start\" -> " << node_id(wf.start) << ";\n";
  for (std::size_t i = 0; i < wf.steps.size(); ++i) {
    const StepDef& s = wf.steps[i];
    std::string label = s.id + (s.name.empty() ? "" : "\\n" + s.name);
    const char* shape = "box";
    switch (s.kind) {
      case StepKind::task:
        label += "\\n" + actor_text(s.actor) + " / " + s.role + due_text(s);
        shape = "box, style=rounded";
        break;
      case StepKind::send:
        label += "\\nsend to " + actor_text(s.actor) + due_text(s);
        shape = "cds";
        break;
      case StepKind::decision:
        shape = "diamond";
        break;
      case StepKind::parallel:
        label += s.for_each_recipient ? "\\nper recipient" : "";
        shape = "trapezium";
        break;
      case StepKind::end:
        label += s.status.empty() ? "" : "\\nstatus " + s.status;
        shape = "doublecircle";
        break;
    }
    std::cout << "  " << node_id(i) << " [label=" << dot_quote(label) << ", shape=" << shape
              << "];\n";
    for (const auto& o : s.outcomes) {
      std::cout << "  " << node_id(i) << " -> " << target(s, o.next) << " [label="
                << dot_quote(o.name + (o.status.empty() || s.kind == StepKind::send
                                           ? ""
                                           : " [" + o.status + "]"))
                << "];\n";
    }
    for (const auto& t : s.timers) {
      if (t.kind == TimerKind::timeout) {
        std::cout << "  " << node_id(i) << " -> " << target(s, t.next)
                  << " [style=dashed, label=" << dot_quote("timeout " + to_string(t.after))
                  << "];\n";
      }
    }
    for (const auto& w : s.whens) {
      std::cout << "  " << node_id(i) << " -> " << target(s, w.next)
                << " [label=" << dot_quote(w.test.text()) << "];\n";
    }
    if (s.kind == StepKind::decision) {
      std::cout << "  " << node_id(i) << " -> " << target(s, s.otherwise)
                << " [label=\"otherwise\"];\n";
    }
    if (s.kind == StepKind::parallel) {
      std::cout << "  " << join_id(i) << " [label="
                << dot_quote("join " + (s.join == 0 ? std::string("all") : std::to_string(s.join)))
                << ", shape=trapezium, style=dashed];\n";
      for (const auto& b : s.branch_starts)
        std::cout << "  " << node_id(i) << " -> " << dot_quote(b) << ";\n";
      std::cout << "  " << join_id(i) << " -> " << target(s, s.next) << ";\n";
    }
  }
  std::cout << "}\n";
}

// ---- simulate ----------------------------------------------------------------------------------

Expected<TimePoint> time_of(const json::value& v, const char* what) {
  if (!v.is_string())
    return Error{"simulate.invalid",
                 std::string(what) + " must be a UTC time like \"2026-11-23T01:00:00Z\""};
  auto t = parse_utc(std::string(v.as_string()));
  if (!t) return Error{"simulate.invalid", std::string(what) + ": " + t.error().message};
  return static_cast<TimePoint>(*t);
}

std::string text_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Expected<DocumentFacts> facts_of(const json::object& o) {
  DocumentFacts d;
  d.type = text_of(o, "type");
  d.sender = text_of(o, "sender");
  if (auto* p = o.if_contains("priority"); p && p->is_int64()) d.priority = p->as_int64();
  if (auto* p = o.if_contains("attachment_count"); p && p->is_int64())
    d.attachment_count = p->as_int64();
  if (auto* p = o.if_contains("steering_type"); p && p->is_int64()) d.steering_type = p->as_int64();
  if (auto* r = o.if_contains("recipients"); r && r->is_array()) {
    for (const auto& x : r->as_array()) {
      if (!x.is_string()) return Error{"simulate.invalid", "document.recipients must hold strings"};
      d.recipients.emplace_back(x.as_string());
    }
  }
  if (auto due = text_of(o, "due_date"); !due.empty()) {
    auto date = parse_civil_date(due);
    if (!date) return Error{"simulate.invalid", "document.due_date: " + date.error().message};
    d.due_date = *date;
  }
  if (auto* m = o.if_contains("meta"); m && m->is_object()) {
    for (const auto& [k, v] : m->as_object()) {
      if (!v.is_string()) return Error{"simulate.invalid", "document.meta values must be strings"};
      d.meta.emplace_back(std::string(k), std::string(v.as_string()));
    }
  }
  return d;
}

void print_state(const WorkflowDef& wf, const InstanceState& s) {
  if (s.finished) {
    std::cout << "  state: finished"
              << (s.final_status.empty() ? "" : " with status " + s.final_status) << "\n";
    return;
  }
  std::cout << "  state:";
  for (const auto& t : s.tokens) {
    const StepDef& step = wf.steps[t.step];
    std::cout << " [" << (step.kind == StepKind::task ? "task " : "waiting ") << t.id << " "
              << step.id << " @" << t.agency << (t.due ? " due " + format_utc(*t.due) : "") << "]";
  }
  for (const auto& tm : s.timers)
    std::cout << " {timer " << tm.id << " at " << format_utc(tm.at) << "}";
  std::cout << "\n";
}

void print_effects(const std::vector<Effect>& effects) {
  for (const auto& e : effects) {
    std::string line = describe(e);
    if (e.at) line += " (" + format_utc(e.at) + ")";
    std::cout << "  -> " << line << "\n";
  }
}

int simulate(const std::string& file, const std::string& events_file) {
  auto wf = load_or_report(file);
  if (!wf) return 2;
  auto bytes = read_file(events_file);
  if (!bytes) return usage(bytes.error().message);
  boost::system::error_code ec;
  json::value root = json::parse(*bytes, ec);
  if (ec || !root.is_object())
    return usage(events_file + ": not a JSON object (" + ec.message() + ")");
  const json::object& o = root.as_object();
  std::vector<CivilDate> holidays;
  if (auto* h = o.if_contains("holidays"); h && h->is_array()) {
    for (const auto& x : h->as_array()) {
      auto d = x.is_string() ? parse_civil_date(std::string(x.as_string()))
                             : Expected<CivilDate>(Error{"", "not a string"});
      if (!d) return usage(events_file + ": holidays: " + d.error().message);
      holidays.push_back(*d);
    }
  }
  BusinessCalendar calendar(holidays);
  auto* start_at = o.if_contains("start");
  auto* doc = o.if_contains("document");
  if (!start_at || !doc || !doc->is_object())
    return usage(events_file + ": needs \"start\" and \"document\"");
  auto t0 = time_of(*start_at, "start");
  if (!t0) return usage(t0.error().message);
  auto facts = facts_of(doc->as_object());
  if (!facts) return usage(facts.error().message);
  InstanceState state;
  StartEvent start{*facts, text_of(o, "owner")};
  if (start.owner.empty()) start.owner = facts->recipients.empty() ? "" : facts->recipients.front();
  std::cout << format_utc(*t0) << " start (owner " << start.owner << ")\n";
  auto first = apply(*wf, calendar, state, start, *t0);
  if (!first) return std::cerr << "start refused: " << first.error().message << "\n", 1;
  print_effects(first->effects);
  state = std::move(first->state);
  print_state(*wf, state);

  int refused = 0;
  const json::value* events = o.if_contains("events");
  if (events && !events->is_array()) return usage(events_file + ": \"events\" must be an array");
  for (const auto& ev : events ? events->as_array() : json::array()) {
    if (!ev.is_object()) return usage(events_file + ": each event is an object");
    const json::object& e = ev.as_object();
    auto at = e.if_contains("at") ? time_of(e.at("at"), "at")
                                  : Expected<TimePoint>(Error{"", "every event needs \"at\""});
    if (!at) return usage(events_file + ": " + at.error().message);
    std::vector<Event> batch;
    std::string what;
    if (e.contains("outcome")) {
      // A task is named by its step (and recipient when several are open at that step).
      const std::string step = text_of(e, "task");
      const std::string recipient = text_of(e, "recipient");
      std::uint32_t token = 0;
      for (const auto& t : state.tokens) {
        if (wf->steps[t.step].id == step && (recipient.empty() || t.recipient == recipient))
          token = t.id;
      }
      batch.push_back(OutcomeEvent{token, text_of(e, "outcome")});
      what = "outcome " + text_of(e, "outcome") + " at " + step;
    } else if (e.contains("status")) {
      batch.push_back(StatusEvent{text_of(e, "from"), text_of(e, "status")});
      what = "status " + text_of(e, "status") + " from " + text_of(e, "from");
    } else if (e.contains("recall")) {
      batch.push_back(RecallEvent{text_of(e, "recipient")});
      what = "recall" +
             (text_of(e, "recipient").empty() ? std::string() : " by " + text_of(e, "recipient"));
    } else if (e.contains("advance")) {
      // Fire every timer due by `at`, in time order.
      std::vector<TimerState> due = state.timers;
      std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.at < b.at || (a.at == b.at && a.id < b.id);
      });
      for (const auto& t : due) {
        if (t.at <= *at) batch.push_back(TimerEvent{t.id});
      }
      what = "advance the clock (" + std::to_string(batch.size()) + " timers due)";
    } else {
      return usage(events_file + ": an event has outcome, status, recall or advance");
    }
    std::cout << format_utc(*at) << " " << what << "\n";
    for (const auto& event : batch) {
      auto next = apply(*wf, calendar, state, event, *at);
      if (!next) {
        std::cout << "  refused: " << next.error().message << "\n";
        ++refused;
        continue;
      }
      print_effects(next->effects);
      state = std::move(next->state);
    }
    print_state(*wf, state);
  }
  return refused == 0 ? 0 : 1;
}

}  // namespace

int cmd_workflow(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") return std::cout << kWorkflowHelp, 0;
  }
  auto args = parse_args(argv, {.with_value = {"format", "events"}});
  if (!args) return usage(args.error().message);
  auto& pos = args->positional;
  if (pos.empty()) return usage("expected validate, show or simulate");
  const std::string sub = pos.front();
  std::vector<std::string> files(pos.begin() + 1, pos.end());
  if (sub == "validate") return validate(files);
  if (sub == "show") {
    if (files.size() != 1) return usage("show takes one FILE");
    auto wf = load_or_report(files[0]);
    if (!wf) return 2;
    const std::string format = args->get("format", "text");
    if (format == "text") {
      show_text(*wf);
    } else if (format == "dot") {
      show_dot(*wf);
    } else {
      return usage("--format is text or dot");
    }
    return 0;
  }
  if (sub == "simulate") {
    if (files.size() != 1 || !args->has("events"))
      return usage("simulate takes FILE --events EVENTS.json");
    return simulate(files[0], args->get("events"));
  }
  return usage("unknown workflow command '" + sub + "'");
}

}  // namespace lienthong::cli
