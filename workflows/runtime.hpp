#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/expected.hpp"
#include "workflows/calendar.hpp"
#include "workflows/definition.hpp"

namespace lienthong {

// What the workflow knows of the document it routes (the fields expressions may read).
struct DocumentFacts {
  std::string type;
  std::int64_t priority = 0;
  std::string sender;
  std::vector<std::string> recipients;
  std::optional<CivilDate> due_date;
  std::int64_t attachment_count = 0;
  std::int64_t steering_type = 0;
  std::vector<std::pair<std::string, std::string>> meta;
  friend bool operator==(const DocumentFacts&, const DocumentFacts&) = default;
};

// A position in the workflow that waits: at a task or a send.
struct Token {
  std::uint32_t id = 0;
  std::uint32_t step = 0;
  std::uint32_t frame = 0;  // 0: top level, else the id of the JoinFrame it belongs to
  std::string recipient;    // bound by a for-each branch (inherited by nested ones)
  std::string agency;       // resolved actor of the task or send
  TimePoint entered = 0;
  std::optional<TimePoint> due;
  friend bool operator==(const Token&, const Token&) = default;
};

// A parallel step that fanned out and waits for its branches.
struct JoinFrame {
  std::uint32_t id = 0;
  std::uint32_t step = 0;          // the parallel step
  std::uint32_t parent_frame = 0;  // frame of the token that entered the parallel
  std::string recipient;           // binding of that token
  std::uint32_t total = 0;
  std::uint32_t completed = 0;                 // branches that reached join
  std::uint32_t ended = 0;                     // completed, recalled or cancelled
  std::vector<std::string> branch_recipients;  // for-each: one per branch
  friend bool operator==(const JoinFrame&, const JoinFrame&) = default;
};

struct TimerState {
  std::uint32_t id = 0;
  std::uint32_t token = 0;
  std::uint32_t index = 0;  // into the step's timers
  TimePoint at = 0;
  friend bool operator==(const TimerState&, const TimerState&) = default;
};

struct InstanceState {
  std::string workflow_id;
  int version = 0;
  std::string owner;  // agency that started the instance
  DocumentFacts document;
  TimePoint started = 0;
  bool finished = false;
  std::string final_status;
  std::vector<Token> tokens;
  std::vector<JoinFrame> frames;
  std::vector<TimerState> timers;
  std::vector<std::pair<std::uint32_t, std::string>> outcomes;  // step index -> last outcome
  std::uint32_t next_id = 1;
  friend bool operator==(const InstanceState&, const InstanceState&) = default;
};

// ---- events --------------------------------------------------------------------------------

struct StartEvent {
  DocumentFacts document;
  std::string owner;
};
struct OutcomeEvent {
  std::uint32_t task = 0;  // token id of the task
  std::string outcome;
};
struct StatusEvent {
  std::string from;  // agency that sent the status packet
  std::string code;  // edXML status code
};
struct TimerEvent {
  std::uint32_t timer = 0;
};
struct RecallEvent {
  std::string recipient;  // empty: the whole instance; else that recipient's branch
};
using Event = std::variant<StartEvent, OutcomeEvent, StatusEvent, TimerEvent, RecallEvent>;

// ---- effects -------------------------------------------------------------------------------

struct Effect {
  enum class Kind {
    create_task,    // token, step, agency, role, at = due (0: none)
    complete_task,  // token, step, code = outcome, on_time
    cancel_task,    // token, step
    deliver,        // token, step, agency: hand the package over and wait for its status
    record_status,  // token, step, agency, code: a status that does not move the workflow
    emit_status,    // agency (to), code: a status packet back to the sender
    set_timer,      // timer, token, step, at, code = remind|escalate|timeout
    cancel_timer,   // timer
    remind,         // token, step, agency, role
    escalate,       // token, step, agency, role
    finish,         // code = final status
  };
  Kind kind;
  std::uint32_t token = 0;
  std::uint32_t timer = 0;
  std::string step;
  std::string agency;
  std::string role;
  std::string code;
  TimePoint at = 0;
  bool on_time = true;
  friend bool operator==(const Effect&, const Effect&) = default;
};
const char* to_string(Effect::Kind kind);
std::string describe(const Effect& effect);

struct Transition {
  InstanceState state;
  std::vector<Effect> effects;
};

// The pure runtime: (definition, state, event, now) -> (new state, effects). No I/O, no clock.
// An event that does not fit the state is an Error and the given state stays as it was.
Expected<Transition> apply(const WorkflowDef& workflow, const BusinessCalendar& calendar,
                           InstanceState state, const Event& event, TimePoint now);

// Compact binary form for the store; decoding checks every bound.
std::string serialize(const InstanceState& state);
Expected<InstanceState> deserialize(std::string_view bytes);

}  // namespace lienthong
