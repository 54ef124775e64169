#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/expected.hpp"
#include "workflows/calendar.hpp"
#include "workflows/duration.hpp"
#include "workflows/expression.hpp"

namespace lienthong {

enum class StepKind { task, decision, parallel, send, end };
const char* to_string(StepKind kind);

// Who does a task or receives a package.
struct Actor {
  enum class Kind { agency, sender, recipient, owner };
  Kind kind = Kind::owner;
  std::string code;  // for Kind::agency
  friend bool operator==(const Actor&, const Actor&) = default;
};
Expected<Actor> parse_actor(std::string_view text);

struct Outcome {
  std::string name;
  std::string next;
  std::string status;  // edXML status code emitted, may be empty
};

enum class TimerKind { remind, escalate, timeout };
const char* to_string(TimerKind kind);

struct TimerDef {
  TimerKind kind = TimerKind::remind;
  Duration after;
  CalendarKind calendar = CalendarKind::calendar;
  std::string role;    // escalate: who is told
  std::string next;    // timeout: where the token goes
  std::string status;  // timeout: status emitted
  long line = 0;
};

struct When {
  Expression test;
  std::string next;
  long line = 0;
};

// What ends at a reserved target inside a branch.
inline constexpr const char* kJoinTarget = "join";

struct StepDef {
  std::string id;
  std::string name;
  StepKind kind = StepKind::end;
  long line = 0;
  // Index of the enclosing parallel step and its branch; npos at the top level.
  std::size_t parallel = static_cast<std::size_t>(-1);
  std::size_t branch = 0;

  // task and send
  Actor actor;  // task: who does it; send: who receives
  std::string role;
  std::optional<Duration> due;
  CalendarKind calendar = CalendarKind::calendar;
  std::string status;             // task: emitted on entry; end: final status
  std::vector<Outcome> outcomes;  // task: outcomes; send: `on status` as outcomes named by status
  std::vector<TimerDef> timers;

  // decision
  std::vector<When> whens;
  std::string otherwise;

  // parallel
  std::vector<std::string> branch_starts;  // first step of each branch
  bool for_each_recipient = false;
  int join = 0;  // 0: all branches
  std::string next;
};

// A validated, immutable workflow definition.
struct WorkflowDef {
  std::string id;
  int version = 0;
  std::string name;
  std::string file;  // where it was loaded from, for messages
  std::size_t start = 0;
  std::optional<std::size_t> on_recall;
  std::vector<StepDef> steps;
  std::unordered_map<std::string, std::size_t> index;

  const StepDef* find(const std::string& id) const {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &steps[it->second];
  }
  // Step index of `next` as seen from `from` (resolving the reserved `join` inside a branch to
  // npos).
  static constexpr std::size_t kJoin = static_cast<std::size_t>(-1);
};

// One problem in a definition file.
struct Diagnostic {
  std::string file;
  long line = 0;
  std::string message;
  std::string to_string() const { return file + ":" + std::to_string(line) + ": " + message; }
};

// Loads and validates a definition: the XSD first, then every semantic rule. Every problem is
// reported, not just the first.
struct LoadResult {
  std::optional<WorkflowDef> workflow;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return workflow.has_value() && diagnostics.empty(); }
};
LoadResult load_workflow(std::string_view xml, const std::string& file);
LoadResult load_workflow_file(const std::string& path);

}  // namespace lienthong
