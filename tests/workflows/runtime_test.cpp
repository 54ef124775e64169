#include "workflows/runtime.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace lienthong {
namespace {

using ::testing::HasSubstr;

const std::string kDefinitions = LIENTHONG_WORKFLOW_DEFINITIONS;
constexpr TimePoint kMonday = 1795395600;  // 2026-11-23 08:00 in Hà Nội (UTC+7), a Monday
constexpr TimePoint kHour = 3600;
constexpr TimePoint kDay = 24 * kHour;
constexpr const char* kSender = "000.00.11.H53";
constexpr const char* kHere = "000.00.01.A53";
constexpr const char* kOther = "000.00.00.G22";

WorkflowDef load(const std::string& name) {
  LoadResult r = load_workflow_file(kDefinitions + "/" + name);
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
  return std::move(*r.workflow);
}

WorkflowDef load_text(const char* xml) {
  LoadResult r = load_workflow(xml, "inline.xml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
  return std::move(*r.workflow);
}

// Drives one instance and keeps every effect, as the router will.
class Driver {
 public:
  Driver(const WorkflowDef& wf, DocumentFacts doc, std::string owner, TimePoint at = kMonday,
         BusinessCalendar cal = BusinessCalendar())
      : wf_(wf), cal_(std::move(cal)) {
    expect_ok(StartEvent{std::move(doc), std::move(owner)}, at);
  }
  std::vector<Effect> expect_ok(const Event& e, TimePoint at) {
    auto t = apply(wf_, cal_, state_, e, at);
    EXPECT_TRUE(t) << (t ? "" : t.error().message);
    if (!t) return {};
    state_ = std::move(t->state);
    last_ = t->effects;
    return t->effects;
  }
  Error expect_refused(const Event& e, TimePoint at) {
    const std::string before = serialize(state_);
    auto t = apply(wf_, cal_, state_, e, at);
    EXPECT_FALSE(t) << "event was accepted";
    EXPECT_EQ(serialize(state_), before);
    return t ? Error{} : t.error();
  }
  std::uint32_t task(const std::string& step, const std::string& recipient = "") const {
    for (const auto& t : state_.tokens) {
      if (wf_.steps[t.step].id == step && (recipient.empty() || t.recipient == recipient))
        return t.id;
    }
    ADD_FAILURE() << "no open step " << step;
    return 0;
  }
  std::vector<Effect> act(const std::string& step, const std::string& outcome, TimePoint at) {
    return expect_ok(OutcomeEvent{task(step), outcome}, at);
  }
  const InstanceState& state() const { return state_; }
  const std::vector<Effect>& last() const { return last_; }

 private:
  const WorkflowDef& wf_;
  BusinessCalendar cal_;
  InstanceState state_;
  std::vector<Effect> last_;
};

std::vector<std::string> codes_of(const std::vector<Effect>& fx, Effect::Kind kind) {
  std::vector<std::string> out;
  for (const auto& e : fx) {
    if (e.kind == kind) out.push_back(e.kind == Effect::Kind::create_task ? e.step : e.code);
  }
  return out;
}

const Effect* find(const std::vector<Effect>& fx, Effect::Kind kind) {
  for (const auto& e : fx) {
    if (e.kind == kind) return &e;
  }
  return nullptr;
}

DocumentFacts incoming(int priority = 0) {
  DocumentFacts d;
  d.type = "1";
  d.priority = priority;
  d.sender = kSender;
  d.recipients = {kHere};
  return d;
}

// ---- incoming document -------------------------------------------------------------------

TEST(IncomingDocument, MainPathSendsStatuses01To06) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  EXPECT_EQ(codes_of(run.last(), Effect::Kind::emit_status), std::vector<std::string>{"01"});
  const Effect* created = find(run.last(), Effect::Kind::create_task);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->step, "register");
  EXPECT_EQ(created->agency, kHere);
  EXPECT_EQ(created->role, "clerk");
  EXPECT_EQ(created->at, kMonday + kDay);  // P1D working from Monday 08:00
  const Effect* emitted = find(run.last(), Effect::Kind::emit_status);
  EXPECT_EQ(emitted->agency, kSender);  // statuses go back to the sender

  auto fx = run.act("register", "accept", kMonday + kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::emit_status), std::vector<std::string>{"03"});
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"assign"});
  fx = run.act("assign", "assign", kMonday + 2 * kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::emit_status), (std::vector<std::string>{"04", "05"}));
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"process"});
  EXPECT_EQ(codes_of(fx, Effect::Kind::set_timer),
            (std::vector<std::string>{"remind", "escalate"}));
  fx = run.act("process", "complete", kMonday + 3 * kDay);
  EXPECT_EQ(codes_of(fx, Effect::Kind::emit_status), std::vector<std::string>{"06"});
  EXPECT_EQ(codes_of(fx, Effect::Kind::cancel_timer).size(), 2u);
  const Effect* done = find(fx, Effect::Kind::complete_task);
  ASSERT_NE(done, nullptr);
  EXPECT_TRUE(done->on_time);
  EXPECT_EQ(codes_of(fx, Effect::Kind::finish), std::vector<std::string>{"06"});
  EXPECT_TRUE(run.state().finished);
  EXPECT_EQ(run.state().final_status, "06");
  EXPECT_TRUE(run.state().tokens.empty());
  EXPECT_TRUE(run.state().timers.empty());
  EXPECT_THAT(run.expect_refused(OutcomeEvent{1, "accept"}, kMonday + 4 * kDay).message,
              HasSubstr("finished"));
}

TEST(IncomingDocument, UrgentDocumentsTakeTheFastPath) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(/*priority=*/3), kHere);
  run.act("register", "accept", kMonday);
  auto fx = run.act("assign", "assign", kMonday);
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"process-fast"});
}

TEST(IncomingDocument, RejectionEndsWith02) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  auto fx = run.act("register", "reject", kMonday + kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::emit_status), std::vector<std::string>{"02"});
  EXPECT_EQ(run.state().final_status, "02");
}

TEST(IncomingDocument, LateCompletionIsMarkedAndTimersFireOnce) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  run.act("register", "accept", kMonday);
  run.act("assign", "assign", kMonday);
  std::uint32_t remind = 0, escalate = 0;
  for (const auto& t : run.state().timers) {
    (wf.steps[run.state().tokens[0].step].timers[t.index].kind == TimerKind::remind ? remind
                                                                                    : escalate) =
        t.id;
  }
  ASSERT_NE(remind, 0u);
  // P3D working from Monday 08:00 is Thursday 08:00.
  EXPECT_THAT(run.expect_refused(TimerEvent{remind}, kMonday + 2 * kDay).message,
              HasSubstr("not due"));
  auto fx = run.expect_ok(TimerEvent{remind}, kMonday + 3 * kDay);
  ASSERT_NE(find(fx, Effect::Kind::remind), nullptr);
  EXPECT_EQ(find(fx, Effect::Kind::remind)->role, "specialist");
  // A late duplicate of the same timer never fires twice.
  EXPECT_THAT(run.expect_refused(TimerEvent{remind}, kMonday + 4 * kDay).message,
              HasSubstr("not pending"));
  // P5D working from Monday is the next Monday (weekend skipped); escalate goes to the leader.
  EXPECT_FALSE(
      apply(wf, BusinessCalendar(), run.state(), TimerEvent{escalate}, kMonday + 6 * kDay));
  fx = run.expect_ok(TimerEvent{escalate}, kMonday + 7 * kDay);
  EXPECT_EQ(find(fx, Effect::Kind::escalate)->role, "leader");
  fx = run.act("process", "complete", kMonday + 8 * kDay);
  EXPECT_FALSE(find(fx, Effect::Kind::complete_task)->on_time);
}

TEST(IncomingDocument, HolidaysMoveDeadlines) {
  WorkflowDef wf = load("incoming-document.xml");
  // Tuesday 24 and Wednesday 25 November are made holidays: P1D from Monday lands on Thursday.
  BusinessCalendar cal({{2026, 11, 24}, {2026, 11, 25}});
  Driver run(wf, incoming(), kHere, kMonday, cal);
  EXPECT_EQ(find(run.last(), Effect::Kind::create_task)->at, kMonday + 3 * kDay);
}

TEST(IncomingDocument, RecallByTheSenderCancelsWorkAndAsksTheClerk) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  run.act("register", "accept", kMonday);
  run.act("assign", "assign", kMonday);
  auto fx = run.expect_ok(RecallEvent{}, kMonday + kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::cancel_timer).size(), 2u);
  ASSERT_NE(find(fx, Effect::Kind::cancel_task), nullptr);
  EXPECT_EQ(find(fx, Effect::Kind::cancel_task)->step, "process");
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"recall-received"});
  fx = run.act("recall-received", "accept-recall", kMonday + 2 * kHour);
  EXPECT_EQ(run.state().final_status, "15");
}

TEST(IncomingDocument, RefusedRecallGoesBackToProcessing) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  run.expect_ok(RecallEvent{}, kMonday + kHour);
  auto fx = run.act("recall-received", "refuse-recall", kMonday + 2 * kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::emit_status), (std::vector<std::string>{"16", "05"}));
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"process"});
}

TEST(IncomingDocument, EventsThatDoNotFitAreRefusedAndChangeNothing) {
  WorkflowDef wf = load("incoming-document.xml");
  Driver run(wf, incoming(), kHere);
  EXPECT_THAT(run.expect_refused(OutcomeEvent{run.task("register"), "complete"}, kMonday).message,
              HasSubstr("has no outcome 'complete' (allowed: accept, reject)"));
  EXPECT_THAT(run.expect_refused(OutcomeEvent{999, "accept"}, kMonday).message,
              HasSubstr("no open task 999"));
  EXPECT_THAT(run.expect_refused(StatusEvent{kOther, "06"}, kMonday).message,
              HasSubstr("no delivery to 000.00.00.G22"));
  EXPECT_THAT(run.expect_refused(TimerEvent{12345}, kMonday).message, HasSubstr("not pending"));
  EXPECT_THAT(run.expect_refused(StartEvent{incoming(), kHere}, kMonday).message,
              HasSubstr("already started"));
  EXPECT_THAT(run.expect_refused(RecallEvent{kOther}, kMonday).message,
              HasSubstr("no open branch for recipient"));
  InstanceState fresh;
  auto not_started = apply(wf, BusinessCalendar(), fresh, OutcomeEvent{1, "accept"}, kMonday);
  ASSERT_FALSE(not_started);
  EXPECT_THAT(not_started.error().message, HasSubstr("not started"));
}

// ---- outgoing document: one branch per recipient -----------------------------------------

DocumentFacts outgoing() {
  DocumentFacts d;
  d.type = "1";
  d.sender = kSender;
  d.recipients = {kHere, kOther};
  return d;
}

TEST(OutgoingDocument, EachRecipientIsTrackedOnItsOwn) {
  WorkflowDef wf = load("outgoing-document.xml");
  Driver run(wf, outgoing(), kSender);
  run.act("draft", "submit", kMonday);
  auto fx = run.act("sign", "return", kMonday + kHour);  // the leader sends the draft back
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"draft"});
  run.act("draft", "submit", kMonday + 2 * kHour);
  run.act("sign", "approve", kMonday + 3 * kHour);
  fx = run.act("register", "registered", kMonday + 4 * kHour);
  std::vector<std::string> delivered;
  for (const auto& e : fx) {
    if (e.kind == Effect::Kind::deliver) delivered.push_back(e.agency);
  }
  EXPECT_EQ(delivered, (std::vector<std::string>{kHere, kOther}));

  fx = run.expect_ok(StatusEvent{kHere, "01"}, kMonday + 5 * kHour);  // arrived: recorded only
  ASSERT_NE(find(fx, Effect::Kind::record_status), nullptr);
  EXPECT_EQ(run.state().tokens.size(), 2u);
  run.expect_ok(StatusEvent{kHere, "03"}, kMonday + 6 * kHour);
  run.expect_ok(StatusEvent{kHere, "06"}, kMonday + kDay);
  EXPECT_EQ(run.state().tokens.size(), 1u);
  EXPECT_FALSE(run.state().finished);
  EXPECT_THAT(run.expect_refused(StatusEvent{kHere, "05"}, kMonday + kDay).message,
              HasSubstr("no delivery to " + std::string(kHere)));
  fx = run.expect_ok(StatusEvent{kOther, "02"}, kMonday + 2 * kDay);  // rejected still ends it
  EXPECT_TRUE(run.state().finished);
  EXPECT_TRUE(run.state().frames.empty());
}

TEST(OutgoingDocument, RecallOfOneRecipientEndsItsBranchAndTheJoinStillFires) {
  WorkflowDef wf = load("outgoing-document.xml");
  Driver run(wf, outgoing(), kSender);
  run.act("draft", "submit", kMonday);
  run.act("sign", "approve", kMonday);
  run.act("register", "registered", kMonday);
  auto fx = run.expect_ok(RecallEvent{kOther}, kMonday + kHour);
  EXPECT_EQ(codes_of(fx, Effect::Kind::cancel_timer).size(), 1u);
  EXPECT_EQ(run.state().tokens.size(), 1u);
  EXPECT_EQ(run.state().frames.at(0).ended, 1u);
  EXPECT_EQ(run.state().frames.at(0).completed, 0u);
  run.expect_ok(StatusEvent{kHere, "06"}, kMonday + kDay);
  EXPECT_TRUE(run.state().finished);
}

TEST(OutgoingDocument, NoRecipientsMeansNothingToWaitFor) {
  WorkflowDef wf = load("outgoing-document.xml");
  DocumentFacts d = outgoing();
  d.recipients.clear();
  Driver run(wf, d, kSender);
  run.act("draft", "submit", kMonday);
  run.act("sign", "approve", kMonday);
  run.act("register", "registered", kMonday);
  EXPECT_TRUE(run.state().finished);
}

// ---- recall / update / replace ---------------------------------------------------------

TEST(RecallDocument, ReplacementAsksEachRecipientAndChasesTheSilentOne) {
  WorkflowDef wf = load("recall-document.xml");
  DocumentFacts d = outgoing();
  d.meta = {{"action", "replace"}};
  Driver run(wf, d, kSender);
  auto fx = run.act("request", "confirm", kMonday);
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task),
            std::vector<std::string>{"attach-replacement"});
  run.act("attach-replacement", "attached", kMonday + kHour);
  run.expect_ok(StatusEvent{kHere, "15"}, kMonday + 2 * kHour);
  // The other recipient says nothing for two working days: its timeout moves to `chase`.
  std::uint32_t timeout = run.state().timers.at(0).id;
  fx = run.expect_ok(TimerEvent{timeout}, kMonday + 2 * kDay + kHour);
  ASSERT_NE(find(fx, Effect::Kind::deliver), nullptr);
  EXPECT_EQ(find(fx, Effect::Kind::deliver)->step, "chase");
  run.expect_ok(StatusEvent{kOther, "16"}, kMonday + 3 * kDay);
  EXPECT_TRUE(run.state().finished);
  std::string last_outcome;
  for (const auto& [step, o] : run.state().outcomes) {
    if (wf.steps[step].id == "chase") last_outcome = o;
  }
  EXPECT_EQ(last_outcome, "16");
}

TEST(RecallDocument, RevocationSkipsTheReplacement) {
  WorkflowDef wf = load("recall-document.xml");
  DocumentFacts d = outgoing();
  d.meta = {{"action", "revoke"}};
  Driver run(wf, d, kSender);
  auto fx = run.act("request", "confirm", kMonday);
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{});
  EXPECT_EQ(run.state().tokens.size(), 2u);
  Driver cancelled(wf, d, kSender);
  cancelled.act("request", "cancel", kMonday);
  EXPECT_TRUE(cancelled.state().finished);
}

// ---- one-stop dossier ------------------------------------------------------------------------

DocumentFacts dossier() {
  DocumentFacts d;
  d.type = "dossier";
  d.sender = kSender;  // the district's one-stop desk forwards to two agencies
  d.recipients = {kHere, kOther};
  return d;
}

TEST(OneStopDossier, MainPathThroughThreeAgenciesWithAReturnForMoreDocuments) {
  WorkflowDef wf = load("one-stop-dossier.xml");
  Driver run(wf, dossier(), kSender);
  run.act("receive", "incomplete", kMonday);
  auto fx = run.act("supplement", "supplemented", kMonday + 2 * kDay);
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"receive"});
  run.act("receive", "accept", kMonday + 2 * kDay + kHour);
  fx = run.act("review", "forward", kMonday + 3 * kDay);
  std::vector<std::string> consulted;
  for (const auto& e : fx) {
    if (e.kind == Effect::Kind::deliver) consulted.push_back(e.agency);
  }
  EXPECT_EQ(consulted, (std::vector<std::string>{kHere, kOther}));
  run.expect_ok(StatusEvent{kOther, "06"}, kMonday + 4 * kDay);
  fx = run.expect_ok(StatusEvent{kHere, "06"}, kMonday + 7 * kDay);
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"decide"});
  fx = run.act("decide", "need-more", kMonday + 7 * kDay + kHour);  // the loop back
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"supplement"});
  run.act("supplement", "supplemented", kMonday + 8 * kDay);
  run.act("receive", "accept", kMonday + 8 * kDay);
  run.act("review", "forward", kMonday + 8 * kDay);
  run.expect_ok(StatusEvent{kOther, "06"}, kMonday + 9 * kDay);
  run.expect_ok(StatusEvent{kHere, "06"}, kMonday + 9 * kDay);
  run.act("decide", "approve", kMonday + 9 * kDay);
  fx = run.act("return-result", "returned", kMonday + 10 * kDay);
  EXPECT_EQ(run.state().final_status, "06");
}

TEST(OneStopDossier, AnApplicantWhoNeverSupplementsIsAbandoned) {
  WorkflowDef wf = load("one-stop-dossier.xml");
  Driver run(wf, dossier(), kSender);
  run.act("receive", "incomplete", kMonday);
  std::uint32_t timeout = 0;
  for (const auto& t : run.state().timers) {
    if (wf.find("supplement")->timers[t.index].kind == TimerKind::timeout) timeout = t.id;
  }
  auto fx = run.expect_ok(TimerEvent{timeout}, kMonday + 30 * kDay);
  ASSERT_NE(find(fx, Effect::Kind::cancel_task), nullptr);
  EXPECT_TRUE(run.state().finished);
  EXPECT_EQ(run.state().final_status, "");
}

TEST(OneStopDossier, RefusalAndWithdrawal) {
  WorkflowDef wf = load("one-stop-dossier.xml");
  Driver refused(wf, dossier(), kSender);
  refused.act("receive", "refuse", kMonday);
  EXPECT_EQ(refused.state().final_status, "02");
  Driver withdrawn(wf, dossier(), kSender);
  withdrawn.act("receive", "accept", kMonday);
  withdrawn.act("review", "forward", kMonday);
  auto fx = withdrawn.expect_ok(RecallEvent{}, kMonday + kDay);
  EXPECT_EQ(withdrawn.state().final_status, "15");
  EXPECT_TRUE(withdrawn.state().tokens.empty());
  EXPECT_TRUE(withdrawn.state().frames.empty());
}

// ---- joins -------------------------------------------------------------------------------------

TEST(Parallel, JoinOfTwoOutOfThreeCancelsTheRest) {
  WorkflowDef wf =
      load_text(R"(<workflow xmlns="urn:lienthong:workflow:1" id="j" version="1" name="J">
  <parallel id="fan" join="2" next="after">
    <branch><task id="a" actor="owner" role="r"><outcome name="ok" next="join"/></task></branch>
    <branch><task id="b" actor="owner" role="r"><outcome name="ok" next="join"/></task></branch>
    <branch><task id="c" actor="owner" role="r"><outcome name="ok" next="join"/></task></branch>
  </parallel>
  <task id="after" actor="owner" role="r"><outcome name="ok" next="end"/></task>
  <end id="end"/>
</workflow>)");
  Driver run(wf, dossier(), kSender);
  EXPECT_EQ(run.state().tokens.size(), 3u);
  run.act("a", "ok", kMonday);
  auto fx = run.act("c", "ok", kMonday);
  ASSERT_NE(find(fx, Effect::Kind::cancel_task), nullptr);
  EXPECT_EQ(find(fx, Effect::Kind::cancel_task)->step, "b");
  EXPECT_EQ(codes_of(fx, Effect::Kind::create_task), std::vector<std::string>{"after"});
  EXPECT_TRUE(run.state().frames.empty());
}

// ---- state -------------------------------------------------------------------------------------

TEST(InstanceStateForm, RoundTripsAndReplaysToTheSameBytes) {
  WorkflowDef wf = load("one-stop-dossier.xml");
  auto drive = [&]() {
    Driver run(wf, dossier(), kSender);
    run.act("receive", "accept", kMonday);
    run.act("review", "forward", kMonday + kDay);
    run.expect_ok(StatusEvent{kOther, "06"}, kMonday + 2 * kDay);
    return run.state();
  };
  InstanceState a = drive();
  InstanceState b = drive();
  EXPECT_EQ(serialize(a), serialize(b));
  auto back = deserialize(serialize(a));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, a);
  // The restored state carries on exactly like the original.
  auto next_a = apply(wf, BusinessCalendar(), a, StatusEvent{kHere, "06"}, kMonday + 3 * kDay);
  auto next_b = apply(wf, BusinessCalendar(), *back, StatusEvent{kHere, "06"}, kMonday + 3 * kDay);
  ASSERT_TRUE(next_a && next_b);
  EXPECT_EQ(next_a->effects, next_b->effects);
  EXPECT_EQ(serialize(next_a->state), serialize(next_b->state));
}

TEST(InstanceStateForm, CorruptBytesAreRefused) {
  WorkflowDef wf = load("one-stop-dossier.xml");
  Driver run(wf, dossier(), kSender);
  run.act("receive", "accept", kMonday);
  run.act("review", "forward", kMonday);
  const std::string bytes = serialize(run.state());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(deserialize(bytes.substr(0, n))) << "prefix of " << n << " bytes";
  }
  EXPECT_FALSE(deserialize(bytes + "x"));
  // A well-formed state that does not fit the definition is refused by apply, not followed.
  InstanceState wrong = run.state();
  wrong.tokens[0].step = 999;
  auto r = apply(wf, BusinessCalendar(), wrong, StatusEvent{kHere, "06"}, kMonday);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "workflow.state");
  InstanceState cyclic = run.state();
  cyclic.frames[0].parent_frame = cyclic.frames[0].id;
  EXPECT_FALSE(apply(wf, BusinessCalendar(), cyclic, StatusEvent{kHere, "06"}, kMonday));
}

TEST(InstanceStateForm, InstancesKeepTheirVersion) {
  WorkflowDef v1 = load("incoming-document.xml");
  WorkflowDef v2 = v1;
  v2.version = 2;
  Driver run(v1, incoming(), kHere);
  auto r = apply(v2, BusinessCalendar(), run.state(), OutcomeEvent{run.task("register"), "accept"},
                 kMonday);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "workflow.version");
  EXPECT_TRUE(apply(v1, BusinessCalendar(), run.state(),
                    OutcomeEvent{run.task("register"), "accept"}, kMonday));
}

}  // namespace
}  // namespace lienthong
