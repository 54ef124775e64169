#include <algorithm>
#include <set>
#include <unordered_set>

#include "base/agency_code.hpp"
#include "base/xml.hpp"
#include "base/xml_schema.hpp"
#include "workflows/definition.hpp"
#include "workflows/workflow_xsd.hpp"

namespace lienthong {

const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::task:
      return "task";
    case StepKind::decision:
      return "decision";
    case StepKind::parallel:
      return "parallel";
    case StepKind::send:
      return "send";
    case StepKind::end:
      return "end";
  }
  return "?";
}

const char* to_string(TimerKind kind) {
  switch (kind) {
    case TimerKind::remind:
      return "remind";
    case TimerKind::escalate:
      return "escalate";
    case TimerKind::timeout:
      return "timeout";
  }
  return "?";
}

Expected<Actor> parse_actor(std::string_view text) {
  if (text == "sender") return Actor{Actor::Kind::sender, {}};
  if (text == "recipient") return Actor{Actor::Kind::recipient, {}};
  if (text == "owner") return Actor{Actor::Kind::owner, {}};
  if (!validate_agency_code(text)) {
    return Error{"workflow.actor",
                 "actor '" + std::string(text) +
                     "' is neither sender, recipient, owner nor an agency code like 000.00.00.G22"};
  }
  return Actor{Actor::Kind::agency, std::string(text)};
}

namespace {

constexpr std::string_view kNs = "urn:lienthong:workflow:1";

const XmlSchema& schema() {
  static const XmlSchema compiled(workflow_xsd(), std::string(kNs));
  return compiled;
}

// ---- building --------------------------------------------------------------------------------

class Builder {
 public:
  Builder(const std::string& file, std::vector<Diagnostic>& diags) : file_(file), diags_(diags) {}

  std::optional<WorkflowDef> build(xmlNode* root) {
    def_.file = file_;
    def_.name = attr(root, "name");
    def_.id = attr(root, "id");
    def_.version = std::atoi(attr(root, "version").c_str());
    collect(root, WorkflowDef::kJoin, 0);
    for (std::size_t i = 0; i < def_.steps.size(); ++i) {
      if (!def_.index.emplace(def_.steps[i].id, i).second) {
        error(nodes_[i], "step id '" + def_.steps[i].id + "' is used twice (first at line " +
                             std::to_string(def_.steps[def_.index[def_.steps[i].id]].line) + ")");
      }
      if (def_.steps[i].id == kJoinTarget) {
        error(nodes_[i], "'join' is reserved: inside a branch, next=\"join\" ends the branch");
      }
    }
    for (std::size_t i = 0; i < def_.steps.size(); ++i) fill(i);
    resolve_entry(root);
    check_graph();
    if (!diags_.empty()) return std::nullopt;
    return std::move(def_);
  }

 private:
  static std::string attr(xmlNode* n, const char* name) {
    std::string v;
    xml_attribute(n, name, v);
    return v;
  }
  static bool has_attr(xmlNode* n, const char* name) {
    std::string v;
    return xml_attribute(n, name, v);
  }
  std::string label(xmlNode* n) const {
    std::string id = attr(n, "id");
    return "<" + std::string(xml_local_name(n)) + (id.empty() ? "" : " id=\"" + id + "\"") + ">";
  }
  void error(xmlNode* n, const std::string& message) {
    diags_.push_back({file_, xml_line(n), label(step_node(n)) + ": " + message});
  }
  xmlNode* step_node(xmlNode* n) const {
    for (xmlNode* p = n; p; p = p->parent) {
      auto name = xml_local_name(p);
      if (name == "task" || name == "decision" || name == "parallel" || name == "send" ||
          name == "end" || name == "workflow") {
        return p;
      }
    }
    return n;
  }
  static std::optional<StepKind> kind_of(xmlNode* n) {
    auto name = xml_local_name(n);
    if (name == "task") return StepKind::task;
    if (name == "decision") return StepKind::decision;
    if (name == "parallel") return StepKind::parallel;
    if (name == "send") return StepKind::send;
    if (name == "end") return StepKind::end;
    return std::nullopt;
  }

  // Every step in document order, with its scope.
  void collect(xmlNode* parent, std::size_t parallel, std::size_t branch) {
    for (xmlNode* n = xml_first_element(parent); n; n = xml_next_element(n)) {
      auto kind = kind_of(n);
      if (!kind) continue;
      StepDef s;
      s.id = attr(n, "id");
      s.name = attr(n, "name");
      s.kind = *kind;
      s.line = xml_line(n);
      s.parallel = parallel;
      s.branch = branch;
      def_.steps.push_back(std::move(s));
      nodes_.push_back(n);
      if (*kind == StepKind::parallel) {
        const std::size_t me = def_.steps.size() - 1;
        std::size_t b = 0;
        for (xmlNode* br = xml_first_element(n); br; br = xml_next_element(br)) {
          if (xml_local_name(br) == "branch") collect(br, me, b++);
        }
      }
    }
  }

  std::optional<Duration> duration(xmlNode* n, const char* name, CalendarKind kind) {
    if (!has_attr(n, name)) return std::nullopt;
    auto d = parse_duration(attr(n, name));
    if (!d) {
      error(n, std::string(name) + ": " + d.error().message);
      return std::nullopt;
    }
    if (kind == CalendarKind::working) {
      if (auto ok = BusinessCalendar::check_working(*d); !ok) {
        error(n, std::string(name) + ": " + ok.error().message);
        return std::nullopt;
      }
    }
    return *d;
  }

  CalendarKind calendar(xmlNode* n) {
    if (!has_attr(n, "calendar")) return CalendarKind::calendar;
    auto k = parse_calendar_kind(attr(n, "calendar"));
    if (!k) {
      error(n, k.error().message);
      return CalendarKind::calendar;
    }
    return *k;
  }

  void fill_timers(xmlNode* n, StepDef& s) {
    for (xmlNode* c = xml_first_element(n); c; c = xml_next_element(c)) {
      auto name = xml_local_name(c);
      TimerDef t;
      if (name == "remind") {
        t.kind = TimerKind::remind;
      } else if (name == "escalate") {
        t.kind = TimerKind::escalate;
      } else if (name == "timeout") {
        t.kind = TimerKind::timeout;
      } else {
        continue;
      }
      t.line = xml_line(c);
      t.calendar = calendar(c);
      if (auto d = duration(c, "after", t.calendar)) t.after = *d;
      t.role = attr(c, "role");
      t.next = attr(c, "next");
      t.status = attr(c, "status");
      if (t.kind == TimerKind::timeout && t.next.empty()) {
        error(c, "a <timeout> needs next=\"…\": it interrupts the step and moves on");
      }
      if (t.kind != TimerKind::timeout && (!t.next.empty() || !t.status.empty())) {
        error(c, std::string("a <") + to_string(t.kind) +
                     "> does not interrupt the step: next and status belong to <timeout>");
      }
      if (t.kind == TimerKind::escalate && t.role.empty()) {
        error(c, "an <escalate> needs role=\"…\": whom to escalate to");
      }
      s.timers.push_back(std::move(t));
    }
  }

  void fill(std::size_t i) {
    StepDef& s = def_.steps[i];
    xmlNode* n = nodes_[i];
    switch (s.kind) {
      case StepKind::task:
      case StepKind::send: {
        const bool task = s.kind == StepKind::task;
        auto actor = parse_actor(attr(n, task ? "actor" : "to"));
        if (!actor) {
          error(n, actor.error().message);
        } else {
          s.actor = *actor;
        }
        s.role = attr(n, "role");
        s.calendar = calendar(n);
        s.due = duration(n, "due", s.calendar);
        s.status = attr(n, "status");
        fill_timers(n, s);
        std::set<std::string> seen;
        for (xmlNode* c = xml_first_element(n); c; c = xml_next_element(c)) {
          if (xml_local_name(c) != (task ? "outcome" : "on")) continue;
          Outcome o;
          o.name = attr(c, task ? "name" : "status");
          o.next = attr(c, "next");
          o.status = task ? attr(c, "status") : o.name;
          if (!seen.insert(o.name).second) {
            error(c, std::string(task ? "outcome '" : "status '") + o.name + "' is listed twice");
          }
          if (o.next.empty()) error(c, "outcome '" + o.name + "' has no next step");
          s.outcomes.push_back(std::move(o));
        }
        if (s.outcomes.empty()) {
          error(n, task ? "a task needs at least one <outcome>"
                        : "a send needs at least one <on status>");
        }
        break;
      }
      case StepKind::decision: {
        ExpressionSchema schema;
        schema.is_outcome_step = [this](std::string_view id) {
          auto it = def_.index.find(std::string(id));
          return it != def_.index.end() && def_.steps[it->second].kind == StepKind::task;
        };
        for (xmlNode* c = xml_first_element(n); c; c = xml_next_element(c)) {
          if (xml_local_name(c) == "when") {
            auto e = Expression::compile_condition(attr(c, "test"), schema);
            if (!e) {
              error(c, "test \"" + attr(c, "test") + "\": " + e.error().message);
              continue;
            }
            s.whens.push_back(When{std::move(*e), attr(c, "next"), xml_line(c)});
          } else if (xml_local_name(c) == "otherwise") {
            s.otherwise = attr(c, "next");
          }
        }
        if (s.otherwise.empty()) {
          error(n,
                "a decision needs an <otherwise>: an instance would stop there when no test holds");
        }
        break;
      }
      case StepKind::parallel: {
        s.next = attr(n, "next");
        const std::string join = attr(n, "join");
        s.join = join.empty() || join == "all" ? 0 : std::atoi(join.c_str());
        const std::string each = attr(n, "for-each");
        s.for_each_recipient = !each.empty();
        if (!each.empty() && each != "recipient") {
          error(n, "for-each=\"" + each + "\": only for-each=\"recipient\" is known");
        }
        std::size_t branches = 0;
        for (xmlNode* br = xml_first_element(n); br; br = xml_next_element(br)) {
          if (xml_local_name(br) != "branch") continue;
          ++branches;
          xmlNode* first = nullptr;
          for (xmlNode* c = xml_first_element(br); c && !first; c = xml_next_element(c)) {
            if (kind_of(c)) first = c;
          }
          s.branch_starts.push_back(first ? attr(first, "id") : std::string());
        }
        if (s.for_each_recipient && branches != 1) {
          error(n, "for-each=\"recipient\" takes exactly one <branch>, run once per recipient");
        }
        if (!s.for_each_recipient && s.join > 0 && static_cast<std::size_t>(s.join) > branches) {
          error(n, "join=\"" + join + "\" can never fire: there are only " +
                       std::to_string(branches) + " branches");
        }
        break;
      }
      case StepKind::end:
        s.status = attr(n, "status");
        if (s.parallel != WorkflowDef::kJoin) {
          error(n, "an <end> inside a branch would end the whole instance; lead to 'join' instead");
        }
        break;
    }
  }

  void resolve_entry(xmlNode* root) {
    const std::string start = attr(root, "start");
    if (start.empty()) {
      def_.start = 0;
    } else if (auto it = def_.index.find(start); it == def_.index.end()) {
      diags_.push_back(
          {file_, xml_line(root), "<workflow>: start step '" + start + "' does not exist"});
    } else if (def_.steps[it->second].parallel != WorkflowDef::kJoin) {
      diags_.push_back(
          {file_, xml_line(root), "<workflow>: start step '" + start + "' is inside a branch"});
    } else {
      def_.start = it->second;
    }
    const std::string recall = attr(root, "on-recall");
    if (!recall.empty()) {
      auto it = def_.index.find(recall);
      if (it == def_.index.end() || def_.steps[it->second].parallel != WorkflowDef::kJoin) {
        diags_.push_back(
            {file_, xml_line(root),
             "<workflow>: on-recall step '" + recall + "' does not exist at the top level"});
      } else {
        def_.on_recall = it->second;
      }
    }
  }

  // An edge from step `from` to `target`, checked for existence and scope. Returns the target
  // index, kJoin for the reserved join, or nullopt when invalid (already reported).
  std::optional<std::size_t> edge(std::size_t from, const std::string& target, xmlNode* at,
                                  const std::string& what) {
    const StepDef& s = def_.steps[from];
    if (target == kJoinTarget) {
      if (s.parallel == WorkflowDef::kJoin) {
        error(at, what + " leads to 'join' outside any branch");
        return std::nullopt;
      }
      return WorkflowDef::kJoin;
    }
    auto it = def_.index.find(target);
    if (it == def_.index.end()) {
      error(at, what + " leads to unknown step '" + target + "'");
      return std::nullopt;
    }
    const StepDef& t = def_.steps[it->second];
    if (t.parallel != s.parallel || t.branch != s.branch) {
      error(at, what + " leads to step '" + target +
                    "' in another scope (steps of a branch only lead to each other or to 'join')");
      return std::nullopt;
    }
    return it->second;
  }

  xmlNode* child_line(std::size_t step, long line) {
    for (xmlNode* c = xml_first_element(nodes_[step]); c; c = xml_next_element(c)) {
      if (xml_line(c) == line) return c;
    }
    return nodes_[step];
  }

  void check_graph() {
    const std::size_t n = def_.steps.size();
    const std::size_t errors_before = diags_.size();
    // successors[i]: steps reached from i; reaches_join[i]: i can end its branch directly.
    std::vector<std::vector<std::size_t>> succ(n);
    std::vector<bool> ends_branch(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      StepDef& s = def_.steps[i];
      auto add = [&](const std::string& target, xmlNode* at, const std::string& what) {
        if (auto t = edge(i, target, at, what)) {
          if (*t == WorkflowDef::kJoin) {
            ends_branch[i] = true;
          } else {
            succ[i].push_back(*t);
          }
        }
      };
      for (const auto& o : s.outcomes) {
        add(o.next, nodes_[i],
            (s.kind == StepKind::task ? "outcome '" : "status '") + o.name + "'");
      }
      for (const auto& t : s.timers) {
        if (t.kind == TimerKind::timeout) add(t.next, child_line(i, t.line), "timeout");
      }
      for (const auto& w : s.whens)
        add(w.next, child_line(i, w.line), "when \"" + w.test.text() + "\"");
      if (s.kind == StepKind::decision) add(s.otherwise, nodes_[i], "otherwise");
      if (s.kind == StepKind::parallel) {
        add(s.next, nodes_[i], "next");
        for (const auto& b : s.branch_starts) {
          auto it = def_.index.find(b);
          if (it != def_.index.end()) succ[i].push_back(it->second);
        }
      }
    }
    // The graph analyses below need every reference to resolve; errors so far are enough.
    if (diags_.size() != errors_before) return;

    // Reachability from the start (and the recall entry).
    std::vector<bool> reached(n, false);
    std::vector<std::size_t> work{def_.start};
    if (def_.on_recall) work.push_back(*def_.on_recall);
    while (!work.empty()) {
      std::size_t i = work.back();
      work.pop_back();
      if (reached[i]) continue;
      reached[i] = true;
      for (auto t : succ[i]) work.push_back(t);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!reached[i]) error(nodes_[i], "step is unreachable from the start");
    }

    // Termination: a step can finish when it is an end, leads to join, or leads to a step that
    // can. A parallel can finish when its next can (its branches are checked on their own).
    std::vector<std::vector<std::size_t>> pred(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (def_.steps[i].kind == StepKind::parallel) {
        if (auto it = def_.index.find(def_.steps[i].next); it != def_.index.end()) {
          pred[it->second].push_back(i);
        }
      } else {
        for (auto t : succ[i]) pred[t].push_back(i);
      }
    }
    std::vector<bool> can_end(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      if (def_.steps[i].kind == StepKind::end || ends_branch[i]) work.push_back(i);
    }
    while (!work.empty()) {
      std::size_t i = work.back();
      work.pop_back();
      if (can_end[i]) continue;
      can_end[i] = true;
      for (auto p : pred[i]) work.push_back(p);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (reached[i] && !can_end[i]) {
        const bool in_branch = def_.steps[i].parallel != WorkflowDef::kJoin;
        error(nodes_[i], in_branch
                             ? "no path from this step reaches 'join': the branch never ends"
                             : "no path from this step reaches an <end>: it can never finish");
      }
    }

    // Loops made only of decisions and parallels would spin without waiting for anyone.
    // Iterative depth-first search over the instant steps (no recursion: definitions may be big).
    auto instant = [&](std::size_t i) {
      return def_.steps[i].kind == StepKind::decision || def_.steps[i].kind == StepKind::parallel;
    };
    std::vector<int> color(n, 0);                           // 0 new, 1 on the current path, 2 done
    std::vector<std::pair<std::size_t, std::size_t>> path;  // step, next successor to visit
    for (std::size_t root = 0; root < n; ++root) {
      if (color[root] != 0 || !instant(root)) continue;
      path.push_back({root, 0});
      color[root] = 1;
      while (!path.empty()) {
        auto& [i, k] = path.back();
        if (k == succ[i].size()) {
          color[i] = 2;
          path.pop_back();
          continue;
        }
        const std::size_t t = succ[i][k++];
        if (!instant(t)) continue;
        if (color[t] == 1) {
          error(nodes_[t], "decisions loop back here without a task or send in between");
          return;
        }
        if (color[t] == 0) {
          color[t] = 1;
          path.push_back({t, 0});
        }
      }
    }
  }

  const std::string& file_;
  std::vector<Diagnostic>& diags_;
  WorkflowDef def_;
  std::vector<xmlNode*> nodes_;
};

}  // namespace

LoadResult load_workflow(std::string_view xml, const std::string& file) {
  LoadResult result;
  auto doc = parse_xml(xml);
  if (!doc) {
    auto [line, msg] = error_line(doc.error());
    result.diagnostics.push_back({file, line, std::move(msg)});
    return result;
  }
  xmlNode* root = xmlDocGetRootElement(doc->get());
  if (!root || xml_local_name(root) != "workflow" || xml_ns_uri(root) != kNs) {
    result.diagnostics.push_back(
        {file, root ? xml_line(root) : 0,
         "the root element must be <workflow xmlns=\"urn:lienthong:workflow:1\">"});
    return result;
  }
  std::vector<SchemaProblem> problems = schema().validate(doc->get());
  for (auto& p : problems) result.diagnostics.push_back({file, p.line, std::move(p.message)});
  const bool schema_failed = !problems.empty();
  // The semantic rules run even when the schema failed, so one pass shows every problem; on a
  // line the schema already reported, its message is the one kept.
  std::vector<Diagnostic> semantic;
  Builder builder(file, semantic);
  auto workflow = builder.build(root);
  for (auto& d : semantic) {
    const bool shadowed =
        schema_failed && std::any_of(result.diagnostics.begin(), result.diagnostics.end(),
                                     [&](const Diagnostic& x) { return x.line == d.line; });
    if (!shadowed) result.diagnostics.push_back(std::move(d));
  }
  if (!schema_failed) result.workflow = std::move(workflow);
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  return result;
}

LoadResult load_workflow_file(const std::string& path) {
  std::string bytes;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      LoadResult r;
      r.diagnostics.push_back({path, 0, "cannot open the file"});
      return r;
    }
    char buf[1 << 16];
    std::size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, got);
    std::fclose(f);
  }
  return load_workflow(bytes, path);
}

}  // namespace lienthong
