// Runs the real `lienthong` executable as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/store.hpp"
#include "test_cli.hpp"

namespace {

namespace fs = std::filesystem;

using lienthong::testing::run_cli;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const std::string kSample = std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml";
const std::string kStatus = std::string(LIENTHONG_TEST_DATA) + "/edxml/status_processing_05.edxml";

TEST_F(Cli, PkiSignVerifyRoundTrip) {
  ASSERT_EQ(run_cli("pki demo " + path("pki")).exit_code, 0);
  const std::string agency = path("pki/000.00.11.H53/");
  auto s1 = run_cli("sign --key " + agency + "signer.key --cert " + agency + "signer.pem " +
                    kSample + " -o " + path("one.edxml"));
  ASSERT_EQ(s1.exit_code, 0) << s1.out;
  auto s2 = run_cli("sign --role organisation --key " + agency + "organisation.key --cert " +
                    agency + "organisation.pem " + path("one.edxml") + " -o " + path("two.edxml"));
  ASSERT_EQ(s2.exit_code, 0) << s2.out;

  auto v = run_cli("verify --trust " + path("pki/ca.pem") + " --crl " + path("pki/crl.pem") + " " +
                   path("two.edxml"));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("VALID (valid)"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("#2 organisation: valid"), std::string::npos) << v.out;

  auto j = run_cli("verify --json --trust " + path("pki/ca.pem") + " " + path("two.edxml"));
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_NE(j.out.find("\"valid\":true"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"role\":\"organisation\""), std::string::npos) << j.out;

  // Without the trust anchor the same package is not accepted.
  auto untrusted = run_cli("verify " + path("two.edxml"));
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.out.find("certificate_untrusted"), std::string::npos) << untrusted.out;

  std::string tampered = slurp(path("two.edxml"));
  tampered.replace(tampered.find("Báo cáo tài chính tỉnh"), 6, "Bao ca");
  std::ofstream(path("tampered.edxml"), std::ios::binary) << tampered;
  auto t = run_cli("verify --json --trust " + path("pki/ca.pem") + " " + path("tampered.edxml"));
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.out.find("\"verdict\":\"digest_mismatch\""), std::string::npos) << t.out;
}

TEST_F(Cli, SignRefusesOutOfOrderAndBadInput) {
  ASSERT_EQ(run_cli("pki demo " + path("pki")).exit_code, 0);
  const std::string agency = path("pki/000.00.00.H41/");
  auto r = run_cli("sign --key " + agency + "signer.key --cert " + agency + "organisation.pem " +
                   kStatus + " -o " + path("x.edxml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("does not belong to the certificate"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("x.edxml")));
  std::ofstream(path("junk.xml")) << "<a><b></a>";
  auto junk = run_cli("sign --key " + agency + "signer.key --cert " + agency + "signer.pem " +
                      path("junk.xml") + " -o " + path("y.edxml"));
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_NE(junk.out.find("line 1"), std::string::npos) << junk.out;
}

TEST_F(Cli, InspectPrintsFieldsAndJson) {
  auto text = run_cli("inspect " + kSample);
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("000.00.11.H53,2020/10/30,2491/STC-BCTC"), std::string::npos);
  EXPECT_NE(text.out.find("1896_QD-TTg_m_294779.doc"), std::string::npos);
  auto json = run_cli("inspect --json " + kStatus);
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_NE(json.out.find("\"status_code\":\"05\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"status_meaning\":\"processing\""), std::string::npos);
  std::ofstream(path("bad.edxml")) << "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>";
  auto bad = run_cli("inspect " + path("bad.edxml"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("edxml."), std::string::npos) << bad.out;
}

TEST_F(Cli, HelpAndUsageErrors) {
  for (const char* cmd :
       {"demo", "pki", "sign", "verify", "inspect", "workflow", "audit", "send", "status"}) {
    auto h = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("usage: lienthong"), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_cli("").exit_code, 2);
  EXPECT_EQ(run_cli("help").exit_code, 0);
  auto unknown = run_cli("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("unknown command"), std::string::npos);
  auto bad_opt = run_cli("verify --nope " + kSample);
  EXPECT_EQ(bad_opt.exit_code, 2);
  EXPECT_NE(bad_opt.out.find("unknown option --nope"), std::string::npos);
  EXPECT_EQ(run_cli("verify --at yesterday " + kSample).exit_code, 2);
  EXPECT_EQ(run_cli("verify " + path("missing.edxml")).exit_code, 2);
}

// Mistakes caught before any request (the exchanges with a node are in test_node's ClientCli).
TEST_F(Cli, SendAndStatusUsageErrors) {
  auto expect_usage = [](const std::string& args, const std::string& message) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  };
  const std::string node = " --server http://127.0.0.1:9 --token t ";
  expect_usage("send --token t " + kSample, "missing --server URL");
  expect_usage("send --server ftp://host " + kSample,
               "--server 'ftp://host': expected http://host:port or https://host:port");
  expect_usage("send --server http://host:80x --token t " + kSample, "the port is not a number");
  expect_usage("send --server http://host:0 --token t " + kSample, "the port is not a number");
  expect_usage("send --server http://127.0.0.1:9 " + kSample, "missing --token TOKEN");
  expect_usage("send" + node + "--ca ca.pem " + kSample, "--ca is for https:// servers");
  expect_usage("send" + node + "--timeout 0 " + kSample, "--timeout is a whole number");
  expect_usage("send" + node, "expected one package file");
  expect_usage("send" + node + "--to 000.00.01.a53 --key k --cert c " + kSample,
               "--to '000.00.01.a53'");
  expect_usage("status" + node, "give a document ID or --agency CODE");
  expect_usage("status" + node + "--agency 000.00.11.H53 7", "give a document ID or --agency CODE");
  expect_usage("status" + node + "--limit 5 7", "--limit goes with --agency");
  expect_usage("status" + node + "seven", "a document ID is a positive whole number, not 'seven'");
  expect_usage("status" + node + "--agency 000.00.11.H53 --limit 0", "--limit is a number from 1");
}

const std::string kWorkflows = std::string(LIENTHONG_SOURCE_DIR) + "/workflows";

TEST_F(Cli, WorkflowValidateReportsEveryErrorAsFileLine) {
  auto ok = run_cli("workflow validate " + kWorkflows + "/definitions/incoming-document.xml " +
                    kWorkflows + "/definitions/one-stop-dossier.xml");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("valid (incoming-document version 1"), std::string::npos) << ok.out;
  std::ofstream(path("bad.xml"))
      << R"(<workflow xmlns="urn:lienthong:workflow:1" id="b" version="1" name="B">
  <task id="a" actor="owner" role="clerk" due="P1Q">
    <outcome name="ok" next="nowhere"/>
  </task>
  <end id="end"/>
</workflow>)";
  auto bad = run_cli("workflow validate " + path("bad.xml"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find(path("bad.xml") + ":2: <task id=\"a\">: due: duration 'P1Q'"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find(path("bad.xml") +
                         ":2: <task id=\"a\">: outcome 'ok' leads to unknown step 'nowhere'"),
            std::string::npos)
      << bad.out;
}

TEST_F(Cli, WorkflowShowTextAndDot) {
  auto text = run_cli("workflow show " + kWorkflows + "/definitions/outgoing-document.xml");
  EXPECT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find(
                "parallel deliver (Gửi các nơi nhận): one branch per recipient, join all -> sent"),
            std::string::npos)
      << text.out;
  auto dot =
      run_cli("workflow show --format dot " + kWorkflows + "/definitions/incoming-document.xml");
  EXPECT_EQ(dot.exit_code, 0);
  EXPECT_EQ(dot.out.rfind("digraph \"incoming-document\" {", 0), 0u) << dot.out;
  EXPECT_NE(dot.out.find("\"urgent?\" -> \"process-fast\" [label=\"document.priority >= 2\"]"),
            std::string::npos)
      << dot.out;
  EXPECT_EQ(
      run_cli("workflow show --format svg " + kWorkflows + "/definitions/incoming-document.xml")
          .exit_code,
      2);
}

TEST_F(Cli, WorkflowSimulatePrintsStatesAndEffects) {
  auto sim =
      run_cli("workflow simulate " + kWorkflows + "/definitions/one-stop-dossier.xml --events " +
              kWorkflows + "/examples/one-stop-dossier.events.json");
  EXPECT_EQ(sim.exit_code, 0) << sim.out;
  EXPECT_NE(sim.out.find("-> deliver token="), std::string::npos) << sim.out;
  EXPECT_NE(sim.out.find("-> record_status"), std::string::npos) << sim.out;
  EXPECT_NE(sim.out.find("state: finished with status 06"), std::string::npos) << sim.out;
  std::ofstream(path("events.json"))
      << R"({"start": "2026-11-23T01:00:00Z", "document": {"sender": "000.00.11.H53", "recipients": ["000.00.01.A53"]},
    "events": [{"at": "2026-11-23T02:00:00Z", "task": "register", "outcome": "frobnicate"}]})";
  auto refused = run_cli("workflow simulate " + kWorkflows +
                         "/definitions/incoming-document.xml --events " + path("events.json"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("refused: task 'register' has no outcome 'frobnicate'"),
            std::string::npos)
      << refused.out;
  std::ofstream(path("junk.json")) << "{not json";
  EXPECT_EQ(run_cli("workflow simulate " + kWorkflows +
                    "/definitions/incoming-document.xml --events " + path("junk.json"))
                .exit_code,
            2);
}

TEST_F(Cli, AuditVerifyNamesTheFirstTamperedEvent) {
  const std::string db = path("node.db");
  {
    auto store = lienthong::open_sqlite_store(db);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(store->write_sync([i](lienthong::StoreTx& tx) -> lienthong::Expected<void> {
        lienthong::AuditEvent e;
        e.at = 1795395600 + i;
        e.actor = "clerk";
        e.agency = "000.00.11.H53";
        e.action = "document.received";
        auto r = tx.append_audit(e);
        return r ? lienthong::Expected<void>() : lienthong::Expected<void>(r.error());
      }));
    }
  }
  auto ok = run_cli("audit verify --db " + db);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("audit log verified: 5 events, hash chain whole"), std::string::npos)
      << ok.out;
  ASSERT_EQ(std::system(("sqlite3 '" + db +
                         "' \"UPDATE audit_events SET agency = '000.00.00.G22' WHERE seq = 3\"")
                            .c_str()),
            0);
  auto bad = run_cli("audit verify --db " + db);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("audit log BROKEN at event 3"), std::string::npos) << bad.out;
  EXPECT_EQ(run_cli("audit verify --db " + path("none.db")).exit_code, 2);
  EXPECT_EQ(run_cli("audit check").exit_code, 2);
}

TEST_F(Cli, DemoSignsAndVerifiesTheSamples) {
  auto d = run_cli("demo --dir " + path("demo"));
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_TRUE(fs::exists(path("demo/signed/edoc_new.edxml")));
  EXPECT_TRUE(fs::exists(path("demo/signed/status_processing_05.edxml")));
  EXPECT_NE(d.out.find("tampered copy (one space added to the header): INVALID (digest_mismatch)"),
            std::string::npos)
      << d.out;
  // The federation: three nodes, the document walked and recalled, the dossier, the audit logs.
  for (const char* line :
       {"000.00.00.G22 (Văn phòng Chính phủ) on chinh-phu: delivered over mutual TLS",
        "at the sender:  000.00.00.G22 06 (completed)  000.00.00.H41 15 (recall accepted)  "
        "000.00.01.A53 16 (recall refused)",
        "the leader approves, the desk returns the result (06)",
        "Everything happened as expected."}) {
    EXPECT_NE(d.out.find(line), std::string::npos) << line << "\n" << d.out;
  }
  for (const char* node : {"chinh-phu", "tay-ninh", "nghe-an"}) {
    const auto at = d.out.find(std::string("   ") + node + ": ", d.out.find("8. The audit logs"));
    ASSERT_NE(at, std::string::npos) << node;
    EXPECT_NE(d.out.find("hash chain intact", at), std::string::npos) << node;
    EXPECT_TRUE(fs::exists(path(std::string("demo/federation/") + node + ".db"))) << node;
  }
}

}  // namespace
