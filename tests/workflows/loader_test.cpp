#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "workflows/definition.hpp"
#include "workflows/registry.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;

const std::string kDefinitions = LIENTHONG_WORKFLOW_DEFINITIONS;

std::string join_diagnostics(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
  return out;
}

// Does some diagnostic stand at `line` and say `text`?
bool reports(const LoadResult& r, long line, const std::string& text) {
  for (const auto& d : r.diagnostics) {
    if (d.line == line && d.message.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(LoadWorkflow, BundledDefinitionsAreValid) {
  for (const char* name : {"incoming-document.xml", "outgoing-document.xml", "recall-document.xml",
                           "one-stop-dossier.xml"}) {
    LoadResult r = load_workflow_file(kDefinitions + "/" + name);
    EXPECT_TRUE(r.ok()) << name << "\n" << join_diagnostics(r);
  }
}

TEST(LoadWorkflow, ReadsTheModel) {
  LoadResult r = load_workflow_file(kDefinitions + "/incoming-document.xml");
  ASSERT_TRUE(r.ok()) << join_diagnostics(r);
  const WorkflowDef& wf = *r.workflow;
  EXPECT_EQ(wf.id, "incoming-document");
  EXPECT_EQ(wf.version, 1);
  EXPECT_EQ(wf.name, "Văn bản đến");
  EXPECT_EQ(wf.steps[wf.start].id, "register");
  ASSERT_TRUE(wf.on_recall);
  EXPECT_EQ(wf.steps[*wf.on_recall].id, "recall-received");
  const StepDef* process = wf.find("process");
  ASSERT_NE(process, nullptr);
  EXPECT_EQ(process->kind, StepKind::task);
  EXPECT_EQ(process->actor.kind, Actor::Kind::recipient);
  EXPECT_EQ(process->role, "specialist");
  ASSERT_TRUE(process->due);
  EXPECT_EQ(to_string(*process->due), "P5D");
  EXPECT_EQ(process->calendar, CalendarKind::working);
  EXPECT_EQ(process->status, "05");
  ASSERT_EQ(process->timers.size(), 2u);
  EXPECT_EQ(process->timers[1].kind, TimerKind::escalate);
  EXPECT_EQ(process->timers[1].role, "leader");
  const StepDef* urgent = wf.find("urgent?");
  ASSERT_NE(urgent, nullptr);
  ASSERT_EQ(urgent->whens.size(), 1u);
  EXPECT_EQ(urgent->whens[0].test.text(), "document.priority >= 2");
  EXPECT_EQ(urgent->otherwise, "process");
}

constexpr const char* kBroken = R"(<?xml version="1.0"?>
<workflow xmlns="urn:lienthong:workflow:1" id="broken" version="1" name="Broken">
  <task id="a" actor="owner" role="clerk" due="P2X">
    <outcome name="go" next="nowhere"/>
    <outcome name="ok" next="b"/>
  </task>
  <task id="b" actor="owner" role="clerk">
    <outcome name="loop" next="b"/>
  </task>
  <task id="a" actor="owner" role="clerk">
    <outcome name="done" next="end"/>
  </task>
  <task id="orphan" actor="owner" role="clerk">
    <outcome name="done" next="end"/>
  </task>
  <decision id="d">
    <when test="document.prority &gt; 1" next="end"/>
  </decision>
  <task id="m" actor="owner" role="clerk" due="P1M" calendar="working">
    <outcome name="x" next="end"/>
  </task>
  <end id="end"/>
</workflow>
)";

TEST(LoadWorkflow, ReportsEveryErrorWithFileAndLine) {
  LoadResult r = load_workflow(kBroken, "broken.xml");
  ASSERT_FALSE(r.ok());
  const std::string all = join_diagnostics(r);
  EXPECT_TRUE(reports(r, 3, "due: duration 'P2X'")) << all;
  EXPECT_TRUE(reports(r, 3, "outcome 'go' leads to unknown step 'nowhere'")) << all;
  EXPECT_TRUE(reports(r, 10, "step id 'a' is used twice (first at line 3)")) << all;
  EXPECT_TRUE(reports(r, 17, "unknown field 'document.prority'")) << all;
  EXPECT_TRUE(reports(r, 16, "a decision needs an <otherwise>")) << all;
  EXPECT_TRUE(reports(r, 19, "due: ")) << all;  // months are not working days
  for (const auto& d : r.diagnostics) {
    EXPECT_EQ(d.file, "broken.xml");
    EXPECT_THAT(d.to_string(),
                ::testing::StartsWith("broken.xml:" + std::to_string(d.line) + ": <"));
  }
}

TEST(LoadWorkflow, GraphErrors) {
  const char* xml = R"(<workflow xmlns="urn:lienthong:workflow:1" id="g" version="1" name="G">
  <task id="a" actor="owner" role="clerk">
    <outcome name="ok" next="b"/>
  </task>
  <task id="b" actor="owner" role="clerk">
    <outcome name="again" next="b"/>
  </task>
  <task id="orphan" actor="owner" role="clerk">
    <outcome name="done" next="end"/>
  </task>
  <end id="end"/>
</workflow>)";
  LoadResult r = load_workflow(xml, "g.xml");
  const std::string all = join_diagnostics(r);
  EXPECT_TRUE(reports(r, 2, "no path from this step reaches an <end>")) << all;
  EXPECT_TRUE(reports(r, 5, "no path from this step reaches an <end>")) << all;
  EXPECT_TRUE(reports(r, 8, "unreachable from the start")) << all;
}

TEST(LoadWorkflow, ParallelErrors) {
  const char* xml = R"(<workflow xmlns="urn:lienthong:workflow:1" id="p" version="1" name="P">
  <parallel id="fan" join="3" next="end">
    <branch>
      <task id="x" actor="owner" role="clerk">
        <outcome name="ok" next="join"/>
      </task>
    </branch>
    <branch>
      <task id="y" actor="owner" role="clerk">
        <outcome name="ok" next="end"/>
        <outcome name="spin" next="y"/>
      </task>
      <end id="inner"/>
    </branch>
  </parallel>
  <task id="z" actor="owner" role="clerk">
    <outcome name="ok" next="join"/>
  </task>
  <end id="end"/>
</workflow>)";
  LoadResult r = load_workflow(xml, "p.xml");
  const std::string all = join_diagnostics(r);
  EXPECT_TRUE(reports(r, 2, "join=\"3\" can never fire: there are only 2 branches")) << all;
  EXPECT_TRUE(reports(r, 9, "leads to step 'end' in another scope")) << all;
  EXPECT_TRUE(reports(r, 13, "an <end> inside a branch")) << all;
  EXPECT_TRUE(reports(r, 16, "leads to 'join' outside any branch")) << all;
}

TEST(LoadWorkflow, BranchThatNeverEndsAndDecisionLoops) {
  const char* xml = R"(<workflow xmlns="urn:lienthong:workflow:1" id="q" version="1" name="Q">
  <parallel id="fan" next="d1">
    <branch>
      <task id="x" actor="owner" role="clerk">
        <outcome name="again" next="x"/>
      </task>
    </branch>
  </parallel>
  <decision id="d1">
    <when test="document.priority == 1" next="d2"/>
    <otherwise next="end"/>
  </decision>
  <decision id="d2">
    <otherwise next="d1"/>
  </decision>
  <end id="end"/>
</workflow>)";
  LoadResult r = load_workflow(xml, "q.xml");
  const std::string all = join_diagnostics(r);
  EXPECT_TRUE(reports(r, 4, "the branch never ends")) << all;
  EXPECT_TRUE(reports(r, 9, "decisions loop back here")) << all;
}

TEST(LoadWorkflow, SchemaErrorsAreAllReportedWithLines) {
  const char* xml = R"(<workflow xmlns="urn:lienthong:workflow:1" id="s" version="0" name="S">
  <task id="a" actor="owner">
    <outcome name="ok"/>
  </task>
  <frobnicate id="x"/>
  <task id="b" actor="owner" role="clerk">
    <outcome name="ok" next="nowhere"/>
  </task>
  <end id="end"/>
</workflow>)";
  LoadResult r = load_workflow(xml, "s.xml");
  const std::string all = join_diagnostics(r);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(reports(r, 1, "version")) << all;
  EXPECT_TRUE(reports(r, 2, "role")) << all;
  EXPECT_TRUE(reports(r, 3, "next")) << all;
  EXPECT_TRUE(reports(r, 5, "frobnicate")) << all;
  // Semantic problems elsewhere in the file are reported in the same pass.
  EXPECT_TRUE(reports(r, 6, "outcome 'ok' leads to unknown step 'nowhere'")) << all;
  EXPECT_FALSE(r.workflow);
}

TEST(LoadWorkflow, RefusesWhatIsNotAWorkflow) {
  EXPECT_THAT(
      join_diagnostics(load_workflow("<workflow id='x'/>", "n.xml")),
      HasSubstr("n.xml:1: the root element must be <workflow xmlns=\"urn:lienthong:workflow:1\">"));
  EXPECT_THAT(join_diagnostics(load_workflow("<workflow", "m.xml")), HasSubstr("m.xml:1: "));
  EXPECT_THAT(join_diagnostics(load_workflow("<!DOCTYPE x><x/>", "d.xml")), HasSubstr("DOCTYPE"));
  EXPECT_THAT(join_diagnostics(load_workflow_file("/nonexistent.xml")), HasSubstr("cannot open"));
}

TEST(LoadWorkflow, ActorsAreCheckedAtLoadTime) {
  EXPECT_TRUE(parse_actor("000.00.00.G22"));
  EXPECT_TRUE(parse_actor("sender"));
  EXPECT_FALSE(parse_actor("somebody"));
  EXPECT_FALSE(parse_actor("000..00"));
}

TEST(WorkflowRegistry, VersionsAreImmutable) {
  const char* v1 = R"(<workflow xmlns="urn:lienthong:workflow:1" id="w" version="1" name="W">
  <end id="end"/>
</workflow>)";
  const char* v1_changed =
      R"(<workflow xmlns="urn:lienthong:workflow:1" id="w" version="1" name="W changed">
  <end id="end" status="06"/>
</workflow>)";
  const char* v2 = R"(<workflow xmlns="urn:lienthong:workflow:1" id="w" version="2" name="W">
  <end id="end" status="06"/>
</workflow>)";
  WorkflowRegistry registry;
  auto first = registry.deploy(*load_workflow(v1, "v1").workflow, v1);
  ASSERT_TRUE(first);
  EXPECT_TRUE(registry.deploy(*load_workflow(v1, "v1").workflow, v1));  // same content: no-op
  auto changed = registry.deploy(*load_workflow(v1_changed, "v1b").workflow, v1_changed);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, "workflow.version_exists");
  EXPECT_THAT(changed.error().message, HasSubstr("deploy it as version 2"));
  ASSERT_TRUE(registry.deploy(*load_workflow(v2, "v2").workflow, v2));
  EXPECT_EQ(registry.latest("w")->version, 2);
  EXPECT_EQ(registry.get("w", 1)->name, "W");
  EXPECT_EQ(registry.get("w", 3), nullptr);
  EXPECT_EQ(registry.latest("nope"), nullptr);
  EXPECT_EQ(registry.list().size(), 2u);
}

}  // namespace
}  // namespace lienthong
