#include "workflows/runtime.hpp"

#include <algorithm>

namespace lienthong {

const char* to_string(Effect::Kind kind) {
  switch (kind) {
    case Effect::Kind::create_task:
      return "create_task";
    case Effect::Kind::complete_task:
      return "complete_task";
    case Effect::Kind::cancel_task:
      return "cancel_task";
    case Effect::Kind::deliver:
      return "deliver";
    case Effect::Kind::record_status:
      return "record_status";
    case Effect::Kind::emit_status:
      return "emit_status";
    case Effect::Kind::set_timer:
      return "set_timer";
    case Effect::Kind::cancel_timer:
      return "cancel_timer";
    case Effect::Kind::remind:
      return "remind";
    case Effect::Kind::escalate:
      return "escalate";
    case Effect::Kind::finish:
      return "finish";
  }
  return "?";
}

std::string describe(const Effect& e) {
  std::string out = to_string(e.kind);
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) out += std::string(" ") + k + "=" + v;
  };
  if (e.token) add("token", std::to_string(e.token));
  if (e.timer) add("timer", std::to_string(e.timer));
  add("step", e.step);
  add("agency", e.agency);
  add("role", e.role);
  add("code", e.code);
  if (e.at) add("at", std::to_string(e.at));
  if (e.kind == Effect::Kind::complete_task) add("on_time", e.on_time ? "yes" : "no");
  return out;
}

namespace {

constexpr std::size_t kMaxMovesPerEvent = 100'000;

// Reads document facts and outcomes for expressions.
class FactsContext final : public EvalContext {
 public:
  FactsContext(const WorkflowDef& wf, const InstanceState& s) : wf_(wf), s_(s) {}
  Value field(const FieldRef& ref) const override {
    const DocumentFacts& d = s_.document;
    switch (ref.kind) {
      case FieldRef::Kind::document_type:
        return d.type;
      case FieldRef::Kind::document_priority:
        return d.priority;
      case FieldRef::Kind::document_sender:
        return d.sender;
      case FieldRef::Kind::document_recipients:
        return d.recipients;
      case FieldRef::Kind::document_due_date:
        if (d.due_date) return ExprDate{d.due_date->year, d.due_date->month, d.due_date->day};
        return ExprDate{0, 0, 0};
      case FieldRef::Kind::document_attachment_count:
        return d.attachment_count;
      case FieldRef::Kind::document_steering_type:
        return d.steering_type;
      case FieldRef::Kind::document_meta:
        for (const auto& [k, v] : d.meta) {
          if (k == ref.key) return v;
        }
        return std::string();
      case FieldRef::Kind::outcome: {
        auto it = wf_.index.find(ref.key);
        if (it == wf_.index.end()) return std::string();
        for (const auto& [step, outcome] : s_.outcomes) {
          if (step == it->second) return outcome;
        }
        return std::string();
      }
    }
    return std::string();
  }

 private:
  const WorkflowDef& wf_;
  const InstanceState& s_;
};

class Machine {
 public:
  Machine(const WorkflowDef& wf, const BusinessCalendar& cal, InstanceState& s, TimePoint now,
          std::vector<Effect>& fx)
      : wf_(wf), cal_(cal), s_(s), now_(now), fx_(fx) {}

  Expected<void> start(const StartEvent& e) {
    if (!s_.workflow_id.empty()) {
      return Error{"workflow.event", "the instance has already started"};
    }
    s_.workflow_id = wf_.id;
    s_.version = wf_.version;
    s_.owner = e.owner;
    s_.document = e.document;
    s_.started = now_;
    return enter(0, "", static_cast<std::uint32_t>(wf_.start));
  }

  Expected<void> outcome(const OutcomeEvent& e) {
    Token* t = find_token(e.task);
    if (!t || wf_.steps[t->step].kind != StepKind::task) {
      return Error{"workflow.event", "there is no open task " + std::to_string(e.task)};
    }
    const StepDef& step = wf_.steps[t->step];
    const Outcome* o = nullptr;
    std::string allowed;
    for (const auto& c : step.outcomes) {
      if (c.name == e.outcome) o = &c;
      allowed += (allowed.empty() ? "" : ", ") + c.name;
    }
    if (!o) {
      return Error{"workflow.event", "task '" + step.id + "' has no outcome '" + e.outcome +
                                         "' (allowed: " + allowed + ")"};
    }
    Token token = take_token(e.task);
    fx_.push_back({.kind = Effect::Kind::complete_task,
                   .token = token.id,
                   .step = step.id,
                   .agency = token.agency,
                   .code = o->name,
                   .on_time = !token.due || now_ <= *token.due});
    set_outcome(token.step, o->name);
    if (!o->status.empty()) emit_status(o->status);
    return follow(token, o->next);
  }

  Expected<void> status(const StatusEvent& e) {
    Token* t = nullptr;
    for (auto& tok : s_.tokens) {
      if (wf_.steps[tok.step].kind == StepKind::send && tok.agency == e.from) {
        t = &tok;
        break;
      }
    }
    if (!t) {
      return Error{"workflow.event", "no delivery to " + e.from + " is waiting for a status"};
    }
    const StepDef& step = wf_.steps[t->step];
    fx_.push_back({.kind = Effect::Kind::record_status,
                   .token = t->id,
                   .step = step.id,
                   .agency = e.from,
                   .code = e.code});
    for (const auto& o : step.outcomes) {
      if (o.name != e.code) continue;
      Token token = take_token(t->id);
      set_outcome(token.step, e.code);
      return follow(token, o.next);
    }
    return {};
  }

  Expected<void> timer(const TimerEvent& e) {
    auto it = std::find_if(s_.timers.begin(), s_.timers.end(),
                           [&](const TimerState& t) { return t.id == e.timer; });
    if (it == s_.timers.end()) {
      return Error{"workflow.event",
                   "timer " + std::to_string(e.timer) + " is not pending (fired or cancelled)"};
    }
    if (now_ < it->at) {
      return Error{"workflow.event", "timer " + std::to_string(e.timer) + " is not due until " +
                                         std::to_string(it->at)};
    }
    TimerState timer = *it;
    s_.timers.erase(it);
    Token* t = find_token(timer.token);
    const StepDef& step = wf_.steps[t->step];
    const TimerDef& def = step.timers[timer.index];
    switch (def.kind) {
      case TimerKind::remind:
        fx_.push_back({.kind = Effect::Kind::remind,
                       .token = t->id,
                       .step = step.id,
                       .agency = t->agency,
                       .role = step.role});
        return {};
      case TimerKind::escalate:
        fx_.push_back({.kind = Effect::Kind::escalate,
                       .token = t->id,
                       .step = step.id,
                       .agency = t->agency,
                       .role = def.role});
        return {};
      case TimerKind::timeout: {
        Token token = take_token(t->id);
        cancel_work(token);
        if (!def.status.empty()) emit_status(def.status);
        return follow(token, def.next);
      }
    }
    return {};
  }

  Expected<void> recall(const RecallEvent& e) {
    if (e.recipient.empty()) {
      cancel_frame_tree(0);
      s_.frames.clear();
      if (wf_.on_recall) return enter(0, "", static_cast<std::uint32_t>(*wf_.on_recall));
      return finish("13");
    }
    bool found = false;
    // Each for-each frame with a live branch for that recipient ends that branch.
    for (std::size_t i = 0; i < s_.frames.size(); ++i) {
      JoinFrame& f = s_.frames[i];
      if (!wf_.steps[f.step].for_each_recipient) continue;
      bool live = false;
      for (auto& tok : s_.tokens) {
        if (tok.recipient == e.recipient && within(tok.frame, f.id)) live = true;
      }
      if (!live) continue;
      found = true;
      const std::uint32_t frame_id = f.id;
      cancel_tokens_if([&](const Token& tok) {
        return tok.recipient == e.recipient && within(tok.frame, frame_id);
      });
      if (auto r = branch_ended(frame_id, false); !r) return r;
      break;
    }
    if (!found) {
      return Error{"workflow.event", "no open branch for recipient " + e.recipient + " to recall"};
    }
    return {};
  }

 private:
  Token* find_token(std::uint32_t id) {
    for (auto& t : s_.tokens) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }
  JoinFrame* find_frame(std::uint32_t id) {
    for (auto& f : s_.frames) {
      if (f.id == id) return &f;
    }
    return nullptr;
  }
  // Is frame `frame` equal to or nested inside `ancestor`?
  bool within(std::uint32_t frame, std::uint32_t ancestor) {
    for (std::uint32_t f = frame; f != 0;) {
      if (f == ancestor) return true;
      JoinFrame* jf = find_frame(f);
      f = jf ? jf->parent_frame : 0;
    }
    return ancestor == 0;
  }
  Token take_token(std::uint32_t id) {
    auto it = std::find_if(s_.tokens.begin(), s_.tokens.end(),
                           [&](const Token& t) { return t.id == id; });
    Token t = std::move(*it);
    s_.tokens.erase(it);
    cancel_timers(t.id);
    return t;
  }
  void cancel_timers(std::uint32_t token) {
    for (auto it = s_.timers.begin(); it != s_.timers.end();) {
      if (it->token == token) {
        fx_.push_back({.kind = Effect::Kind::cancel_timer, .timer = it->id});
        it = s_.timers.erase(it);
      } else {
        ++it;
      }
    }
  }
  void cancel_work(const Token& t) {
    if (wf_.steps[t.step].kind == StepKind::task) {
      fx_.push_back({.kind = Effect::Kind::cancel_task,
                     .token = t.id,
                     .step = wf_.steps[t.step].id,
                     .agency = t.agency});
    }
  }
  template <class Pred>
  void cancel_tokens_if(Pred pred) {
    for (auto it = s_.tokens.begin(); it != s_.tokens.end();) {
      if (pred(*it)) {
        Token t = std::move(*it);
        it = s_.tokens.erase(it);
        cancel_timers(t.id);
        cancel_work(t);
      } else {
        ++it;
      }
    }
  }
  // Cancels every token inside `frame` (0: all), and the frames nested in it.
  void cancel_frame_tree(std::uint32_t frame) {
    cancel_tokens_if([&](const Token& t) { return within(t.frame, frame); });
    std::erase_if(s_.frames,
                  [&](const JoinFrame& f) { return f.id != frame && within(f.id, frame); });
  }
  void set_outcome(std::uint32_t step, const std::string& name) {
    for (auto& [s, o] : s_.outcomes) {
      if (s == step) {
        o = name;
        return;
      }
    }
    s_.outcomes.emplace_back(step, name);
  }
  void emit_status(const std::string& code) {
    fx_.push_back({.kind = Effect::Kind::emit_status, .agency = s_.document.sender, .code = code});
  }
  Expected<void> finish(const std::string& status) {
    cancel_frame_tree(0);
    s_.frames.clear();
    s_.finished = true;
    s_.final_status = status;
    fx_.push_back({.kind = Effect::Kind::finish, .code = status});
    return {};
  }
  std::string resolve(const Actor& a, const std::string& recipient) const {
    switch (a.kind) {
      case Actor::Kind::agency:
        return a.code;
      case Actor::Kind::sender:
        return s_.document.sender;
      case Actor::Kind::owner:
        return s_.owner;
      case Actor::Kind::recipient:
        if (!recipient.empty()) return recipient;
        return s_.document.recipients.empty() ? s_.owner : s_.document.recipients.front();
    }
    return s_.owner;
  }

  Expected<void> follow(const Token& from, const std::string& next) {
    if (next == kJoinTarget) return branch_ended(from.frame, true);
    return enter(from.frame, from.recipient, static_cast<std::uint32_t>(wf_.index.at(next)));
  }

  // One branch of `frame_id` has ended; fires the join when its condition holds.
  Expected<void> branch_ended(std::uint32_t frame_id, bool completed) {
    JoinFrame* f = find_frame(frame_id);
    f->ended++;
    if (completed) f->completed++;
    const StepDef& par = wf_.steps[f->step];
    const bool fires = par.join == 0 ? f->ended >= f->total
                                     : (f->completed >= static_cast<std::uint32_t>(par.join) ||
                                        f->ended >= f->total);
    if (!fires) return {};
    JoinFrame done = *f;
    cancel_frame_tree(done.id);
    std::erase_if(s_.frames, [&](const JoinFrame& x) { return x.id == done.id; });
    return enter(done.parent_frame, done.recipient,
                 static_cast<std::uint32_t>(wf_.index.at(par.next)));
  }

  Expected<void> enter(std::uint32_t frame, const std::string& recipient,
                       std::uint32_t step_index) {
    if (++moves_ > kMaxMovesPerEvent) {
      return Error{"workflow.runaway", "the event moved the instance more than " +
                                           std::to_string(kMaxMovesPerEvent) + " steps"};
    }
    const StepDef& step = wf_.steps[step_index];
    switch (step.kind) {
      case StepKind::task:
      case StepKind::send: {
        Token t;
        t.id = s_.next_id++;
        t.step = step_index;
        t.frame = frame;
        t.recipient = recipient;
        t.agency = resolve(step.actor, recipient);
        t.entered = now_;
        if (step.due) t.due = cal_.add(now_, *step.due, step.calendar);
        if (step.kind == StepKind::task) {
          fx_.push_back({.kind = Effect::Kind::create_task,
                         .token = t.id,
                         .step = step.id,
                         .agency = t.agency,
                         .role = step.role,
                         .at = t.due.value_or(0)});
          if (!step.status.empty()) emit_status(step.status);
        } else {
          fx_.push_back({.kind = Effect::Kind::deliver,
                         .token = t.id,
                         .step = step.id,
                         .agency = t.agency,
                         .at = t.due.value_or(0)});
        }
        for (std::uint32_t i = 0; i < step.timers.size(); ++i) {
          const TimerDef& d = step.timers[i];
          TimerState timer{s_.next_id++, t.id, i, cal_.add(now_, d.after, d.calendar)};
          fx_.push_back({.kind = Effect::Kind::set_timer,
                         .token = t.id,
                         .timer = timer.id,
                         .step = step.id,
                         .code = to_string(d.kind),
                         .at = timer.at});
          s_.timers.push_back(timer);
        }
        s_.tokens.push_back(std::move(t));
        return {};
      }
      case StepKind::decision: {
        FactsContext ctx(wf_, s_);
        for (const auto& w : step.whens) {
          if (w.test.test(ctx))
            return enter(frame, recipient, static_cast<std::uint32_t>(wf_.index.at(w.next)));
        }
        return enter(frame, recipient, static_cast<std::uint32_t>(wf_.index.at(step.otherwise)));
      }
      case StepKind::parallel: {
        JoinFrame f;
        f.id = s_.next_id++;
        f.step = step_index;
        f.parent_frame = frame;
        f.recipient = recipient;
        std::vector<std::pair<std::uint32_t, std::string>> branches;
        if (step.for_each_recipient) {
          for (const auto& r : s_.document.recipients) {
            branches.emplace_back(static_cast<std::uint32_t>(wf_.index.at(step.branch_starts[0])),
                                  r);
          }
        } else {
          for (const auto& b : step.branch_starts) {
            branches.emplace_back(static_cast<std::uint32_t>(wf_.index.at(b)), recipient);
          }
        }
        f.total = static_cast<std::uint32_t>(branches.size());
        if (step.for_each_recipient) {
          for (const auto& b : branches) f.branch_recipients.push_back(b.second);
        }
        if (f.total == 0)
          return enter(frame, recipient, static_cast<std::uint32_t>(wf_.index.at(step.next)));
        const std::uint32_t id = f.id;
        s_.frames.push_back(std::move(f));
        for (const auto& [start, r] : branches) {
          if (!find_frame(id)) break;  // a join N fired while fanning out
          if (auto ok = enter(id, r, start); !ok) return ok;
        }
        return {};
      }
      case StepKind::end:  // the final status is the instance's; packets go out with outcomes
        return finish(step.status);
    }
    return {};
  }

  const WorkflowDef& wf_;
  const BusinessCalendar& cal_;
  InstanceState& s_;
  TimePoint now_;
  std::vector<Effect>& fx_;
  std::size_t moves_ = 0;
};

}  // namespace

Expected<Transition> apply(const WorkflowDef& workflow, const BusinessCalendar& calendar,
                           InstanceState state, const Event& event, TimePoint now) {
  const bool started = !state.workflow_id.empty();
  if (started && (state.workflow_id != workflow.id || state.version != workflow.version)) {
    return Error{"workflow.version", "the instance runs " + state.workflow_id + " version " +
                                         std::to_string(state.version) + ", not version " +
                                         std::to_string(workflow.version)};
  }
  if (state.finished) {
    return Error{"workflow.event", "the instance has finished (" + state.final_status + ")"};
  }
  // A state read back from the store must fit the definition before anything indexes into it.
  for (const auto& t : state.tokens) {
    if (t.step >= workflow.steps.size() || (workflow.steps[t.step].kind != StepKind::task &&
                                            workflow.steps[t.step].kind != StepKind::send)) {
      return Error{"workflow.state", "the instance state does not fit the definition"};
    }
  }
  auto frame_exists = [&](std::uint32_t id) {
    return id == 0 || std::any_of(state.frames.begin(), state.frames.end(),
                                  [&](const JoinFrame& f) { return f.id == id; });
  };
  for (const auto& t : state.tokens) {
    if (!frame_exists(t.frame)) {
      return Error{"workflow.state", "the instance state does not fit the definition"};
    }
  }
  for (const auto& f : state.frames) {
    // Parents are created before their children, so ids strictly decrease up the tree.
    if (f.step >= workflow.steps.size() || workflow.steps[f.step].kind != StepKind::parallel ||
        f.parent_frame >= f.id || !frame_exists(f.parent_frame)) {
      return Error{"workflow.state", "the instance state does not fit the definition"};
    }
  }
  for (const auto& tm : state.timers) {
    auto it = std::find_if(state.tokens.begin(), state.tokens.end(),
                           [&](const Token& t) { return t.id == tm.token; });
    if (it == state.tokens.end() || tm.index >= workflow.steps[it->step].timers.size()) {
      return Error{"workflow.state", "the instance state does not fit the definition"};
    }
  }
  for (const auto& [step, outcome] : state.outcomes) {
    if (step >= workflow.steps.size()) {
      return Error{"workflow.state", "the instance state does not fit the definition"};
    }
  }
  if (!started && !std::holds_alternative<StartEvent>(event)) {
    return Error{"workflow.event", "the instance has not started"};
  }
  Transition t;
  Machine m(workflow, calendar, state, now, t.effects);
  Expected<void> r = std::visit(
      [&](const auto& e) -> Expected<void> {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, StartEvent>) return m.start(e);
        if constexpr (std::is_same_v<E, OutcomeEvent>) return m.outcome(e);
        if constexpr (std::is_same_v<E, StatusEvent>) return m.status(e);
        if constexpr (std::is_same_v<E, TimerEvent>) return m.timer(e);
        if constexpr (std::is_same_v<E, RecallEvent>) return m.recall(e);
      },
      event);
  if (!r) return r.error();
  t.state = std::move(state);
  return t;
}

}  // namespace lienthong
