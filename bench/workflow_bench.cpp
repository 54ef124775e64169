// Workflow runtime transitions per second and definition validation time.
#include <benchmark/benchmark.h>

#include <string>

#include "workflows/definition.hpp"
#include "workflows/runtime.hpp"

namespace lienthong {
namespace {

constexpr TimePoint kMonday = 1795395600;  // 2026-11-23 08:00 in Hà Nội

WorkflowDef load(const char* name) {
  LoadResult r = load_workflow_file(std::string(LIENTHONG_WORKFLOW_DEFINITIONS) + "/" + name);
  if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
  return std::move(*r.workflow);
}

std::uint32_t open_task(const WorkflowDef& wf, const InstanceState& s, const char* step) {
  for (const auto& t : s.tokens) {
    if (wf.steps[t.step].id == step) return t.id;
  }
  return 0;
}

// One dossier from the desk to the result, through two consulted agencies: 7 transitions.
void BM_DossierTransitions(benchmark::State& state) {
  const WorkflowDef wf = load("one-stop-dossier.xml");
  const BusinessCalendar cal({{2026, 12, 31}, {2027, 1, 1}});
  DocumentFacts doc;
  doc.type = "dossier";
  doc.sender = "000.00.11.H53";
  doc.recipients = {"000.00.01.A53", "000.00.00.G22"};
  std::size_t transitions = 0;
  auto step = [&](InstanceState& s, const Event& e, TimePoint at) {
    auto t = apply(wf, cal, std::move(s), e, at);
    if (!t) {
      state.SkipWithError(t.error().message.c_str());
      return false;
    }
    s = std::move(t->state);
    ++transitions;
    benchmark::DoNotOptimize(t->effects.data());
    return true;
  };
  for (auto _ : state) {
    InstanceState s;
    TimePoint at = kMonday;
    if (!step(s, StartEvent{doc, "000.00.11.H53"}, at)) break;
    step(s, OutcomeEvent{open_task(wf, s, "receive"), "accept"}, at += 3600);
    step(s, OutcomeEvent{open_task(wf, s, "review"), "forward"}, at += 86400);
    step(s, StatusEvent{"000.00.01.A53", "06"}, at += 86400);
    step(s, StatusEvent{"000.00.00.G22", "06"}, at += 86400);
    step(s, OutcomeEvent{open_task(wf, s, "decide"), "approve"}, at += 3600);
    step(s, OutcomeEvent{open_task(wf, s, "return-result"), "returned"}, at += 3600);
    if (!s.finished) state.SkipWithError("the dossier did not finish");
  }
  state.SetItemsProcessed(static_cast<int64_t>(transitions));
}
BENCHMARK(BM_DossierTransitions);

// Serialising and reading back the state after each transition, as the store will.
void BM_StateRoundTrip(benchmark::State& state) {
  const WorkflowDef wf = load("one-stop-dossier.xml");
  DocumentFacts doc;
  doc.sender = "000.00.11.H53";
  doc.recipients = {"000.00.01.A53", "000.00.00.G22"};
  auto t =
      apply(wf, BusinessCalendar(), InstanceState(), StartEvent{doc, "000.00.11.H53"}, kMonday);
  InstanceState s = std::move(t->state);
  s = apply(wf, BusinessCalendar(), s, OutcomeEvent{open_task(wf, s, "receive"), "accept"}, kMonday)
          ->state;
  s = apply(wf, BusinessCalendar(), s, OutcomeEvent{open_task(wf, s, "review"), "forward"}, kMonday)
          ->state;
  for (auto _ : state) {
    auto back = deserialize(serialize(s));
    benchmark::DoNotOptimize(back);
  }
  state.counters["bytes"] = static_cast<double>(serialize(s).size());
}
BENCHMARK(BM_StateRoundTrip);

// A definition of `steps` steps: tasks in a chain, a decision every tenth step.
std::string big_definition(int steps) {
  std::string xml =
      "<workflow xmlns=\"urn:lienthong:workflow:1\" id=\"big\" version=\"1\" name=\"Big\">\n";
  for (int i = 0; i < steps - 1; ++i) {
    const std::string id = "s" + std::to_string(i);
    const std::string next = i + 1 < steps - 1 ? "s" + std::to_string(i + 1) : "end";
    if (i % 10 == 9) {
      xml += "  <decision id=\"" + id + "\"><when test=\"document.priority >= 2 and outcome.s" +
             std::to_string(i - 1) + " == 'ok'\" next=\"" + next + "\"/><otherwise next=\"" + next +
             "\"/></decision>\n";
    } else {
      xml += "  <task id=\"" + id +
             "\" actor=\"owner\" role=\"clerk\" due=\"P2D\" calendar=\"working\">"
             "<remind after=\"P1D\" calendar=\"working\"/><outcome name=\"ok\" next=\"" +
             next + "\" status=\"05\"/><outcome name=\"back\" next=\"s0\"/></task>\n";
    }
  }
  xml += "  <end id=\"end\"/>\n</workflow>\n";
  return xml;
}

void BM_Validate1000Steps(benchmark::State& state) {
  const std::string xml = big_definition(1000);
  for (auto _ : state) {
    LoadResult r = load_workflow(xml, "big.xml");
    if (!r.ok()) state.SkipWithError(r.diagnostics.front().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.counters["bytes"] = static_cast<double>(xml.size());
}
BENCHMARK(BM_Validate1000Steps)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lienthong
