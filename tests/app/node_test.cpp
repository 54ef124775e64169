// The real node on a loopback port: signed packages over HTTP, the incoming-document workflow
// walked by clerks, statuses back to the sender, roles enforced, and the audit chain intact.
#include "app/node.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/encoding.hpp"
#include "engine/sqlite.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"
#include "test_cli.hpp"
#include "test_http.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

using testing::http;
using testing::Reply;

constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";
constexpr const char* kG22 = "000.00.00.G22";

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-node-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(write_demo_pki(dir_ / "pki", clock_.now()));
    const std::string agencies = testing::demo_agencies_xml({kH53, kA53, kG22});
    auto user = [](const char* name, const char* role, const char* agency) {
      return std::string("<user name=\"") + name + "\" role=\"" + role + "\"" +
             (agency ? std::string(" agency=\"") + agency + "\"" : "") + " token-sha256=\"" +
             sha256_hex(std::string("token-") + name) + "\"/>";
    };
    const std::string xml =
        std::string("<node xmlns=\"urn:lienthong:config:1\" id=\"test-node\">") +
        "<listen address=\"127.0.0.1\" port=\"0\"/><store path=\"node.db\"/>" +
        "<trust><anchor file=\"pki/ca.pem\"/></trust>" + "<workflows dir=\"" +
        std::string(LIENTHONG_SOURCE_DIR) + "/workflows/definitions\"/>" + "<agencies>" + agencies +
        "</agencies><users>" + user("clerk-h53", "clerk", kH53) + user("clerk-a53", "clerk", kA53) +
        user("clerk-g22", "clerk", kG22) + user("auditor", "auditor", nullptr) +
        user("admin", "administrator", nullptr) + "</users></node>";
    ConfigResult r = load_node_config(xml, (dir_ / "node.xml").string());
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
    config_ = std::move(*r.config);
    node_ = std::make_unique<Node>(*config_, clock_);
    node_->start();
    port_ = node_->port();
  }
  void TearDown() override {
    node_.reset();
    fs::remove_all(dir_);
  }
  std::string signed_sample() {
    auto key =
        load_signing_key(dir_ / "pki" / kH53 / "signer.key", dir_ / "pki" / kH53 / "signer.pem");
    EXPECT_TRUE(key);
    auto xml = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml");
    SignOptions o;
    o.at = clock_.now();
    auto s = sign_package(*xml, *key, o);
    EXPECT_TRUE(s);
    return *s;
  }
  json::array inbox(const char* agency, const char* user) {
    Reply r = http(port_, "GET", std::string("/api/v1/agencies/") + agency + "/inbox",
                   std::string("token-") + user);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("tasks").as_array();
  }
  std::int64_t only_task(const char* agency, const char* user, const char* step) {
    json::array tasks = inbox(agency, user);
    EXPECT_EQ(tasks.size(), 1u);
    if (tasks.empty()) return 0;
    EXPECT_EQ(tasks[0].at("step").as_string(), step);
    return tasks[0].at("id").as_int64();
  }
  Reply act(std::int64_t task, const std::string& outcome, const char* user) {
    return http(port_, "POST", "/api/v1/tasks/" + std::to_string(task),
                std::string("token-") + user, "{\"outcome\":\"" + outcome + "\"}");
  }

  fs::path dir_;
  ManualClock clock_{static_cast<std::int64_t>(std::time(nullptr))};
  std::optional<NodeConfig> config_;
  std::unique_ptr<Node> node_;
  unsigned short port_ = 0;
};

TEST_F(NodeTest, SignedPackagesWalkTheIncomingWorkflowOverHttp) {
  EXPECT_EQ(http(port_, "GET", "/healthz").status, 200);
  const std::string pkg = signed_sample();
  Reply sent = http(port_, "POST", "/api/v1/documents", "token-clerk-h53", pkg);
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::int64_t doc = sent.json().at("id").as_int64();
  Reply again = http(port_, "POST", "/api/v1/documents", "token-clerk-h53", pkg);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json().at("id").as_int64(), doc);
  EXPECT_TRUE(again.json().at("duplicate").as_bool());

  Reply original = http(port_, "GET", "/api/v1/documents/" + std::to_string(doc) + "/original",
                        "token-clerk-a53");
  EXPECT_EQ(original.status, 200);
  // The clerk signed as the signer; the node added the organisation's signature at the end of the
  // header and kept every byte before it.
  const std::size_t header_end = pkg.find("</edXML:edXMLHeader>");
  EXPECT_TRUE(original.body.compare(0, header_end, pkg, 0, header_end) == 0);
  EXPECT_NE(original.body.find("Id=\"lienthong-organisation\"", header_end), std::string::npos);

  std::int64_t task = only_task(kA53, "clerk-a53", "register");
  EXPECT_EQ(act(task, "accept", "clerk-a53").status, 200);
  EXPECT_EQ(act(task, "accept", "clerk-a53").status, 409);  // already done
  task = only_task(kA53, "clerk-a53", "assign");
  Reply bad = act(task, "frobnicate", "clerk-a53");
  EXPECT_EQ(bad.status, 409);
  EXPECT_THAT(bad.body, HasSubstr("allowed: assign"));
  EXPECT_EQ(act(task, "assign", "clerk-a53").status, 200);
  task = only_task(kA53, "clerk-a53", "process");
  EXPECT_EQ(act(task, "complete", "clerk-a53").status, 200);
  EXPECT_TRUE(inbox(kA53, "clerk-a53").empty());

  // Statuses 01, 03, 04, 05, 06 went back to the sender through the outbox, delivered locally.
  node_->run_background_once();
  auto delivered = node_->store().outbox("delivered", 100);
  ASSERT_TRUE(delivered);
  std::vector<std::string> codes;
  for (const auto& o : *delivered) codes.push_back(o.to_agency + ":" + o.code);
  EXPECT_EQ(codes,
            (std::vector<std::string>{"000.00.11.H53:01", "000.00.11.H53:03", "000.00.11.H53:04",
                                      "000.00.11.H53:05", "000.00.11.H53:06"}));
  auto chain = verify_audit_chain(node_->store());
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_GT(chain->events, 10);

  // The document shows its history and statuses; the sender's outbox the latest per recipient.
  Reply details = http(port_, "GET", "/api/v1/documents/" + std::to_string(doc), "token-auditor");
  ASSERT_EQ(details.status, 200);
  json::value d = details.json();
  EXPECT_EQ(d.at("latest_status").at(kA53).as_string(), "06");
  EXPECT_EQ(d.at("statuses").as_array().size(), 5u);
  EXPECT_EQ(d.at("history").as_array().at(0).at("action").as_string(), "document.received");
  Reply outbox = http(port_, "GET", "/api/v1/agencies/000.00.11.H53/outbox", "token-clerk-h53");
  ASSERT_EQ(outbox.status, 200);
  EXPECT_EQ(outbox.json().at("documents").as_array().at(0).at("latest_status").at(kA53).as_string(),
            "06");
  // The inbox filters by state and pages.
  Reply done = http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox?state=completed&limit=2",
                    "token-clerk-a53");
  ASSERT_EQ(done.status, 200);
  EXPECT_EQ(done.json().at("tasks").as_array().size(), 2u);
  Reply rest =
      http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox?state=completed&limit=2&offset=2",
           "token-clerk-a53");
  EXPECT_EQ(rest.json().at("tasks").as_array().size(), 1u);
  EXPECT_EQ(
      http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox?limit=0", "token-clerk-a53").status,
      400);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox?state=lost", "token-clerk-a53")
                .status,
            400);
}

TEST_F(NodeTest, TheSenderRecallsADocumentAndTheRecipientDecides) {
  Reply sent = http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample());
  ASSERT_EQ(sent.status, 202);
  const std::string doc = "/api/v1/documents/" + std::to_string(sent.json().at("id").as_int64());
  only_task(kA53, "clerk-a53", "register");
  EXPECT_EQ(http(port_, "POST", doc + "/recall", "token-clerk-a53").status, 403);  // not the sender
  Reply recalled = http(port_, "POST", doc + "/recall", "token-clerk-h53");
  ASSERT_EQ(recalled.status, 200) << recalled.body;
  EXPECT_EQ(recalled.json().at("recalled").as_int64(), 1);
  const std::int64_t task = only_task(kA53, "clerk-a53", "recall-received");
  EXPECT_EQ(act(task, "accept-recall", "clerk-a53").status, 200);
  node_->run_background_once();
  Reply details = http(port_, "GET", doc, "token-clerk-h53");
  EXPECT_EQ(details.json().at("latest_status").at(kA53).as_string(), "15");
  EXPECT_EQ(http(port_, "POST", doc + "/recall", "token-clerk-h53").status,
            409);  // nothing left to recall
}

TEST_F(NodeTest, EachRoleSeesAndDoesOnlyWhatItMay) {
  Reply sent = http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample());
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::string doc = "/api/v1/documents/" + std::to_string(sent.json().at("id").as_int64());
  const std::int64_t task = only_task(kA53, "clerk-a53", "register");

  EXPECT_EQ(http(port_, "GET", doc).status, 401);
  EXPECT_EQ(http(port_, "GET", doc, "wrong-token").status, 401);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox").status, 401);

  // A clerk of another agency can neither read the document nor act on its task.
  EXPECT_EQ(http(port_, "GET", doc, "token-clerk-g22").status, 404);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox", "token-clerk-g22").status,
            403);
  EXPECT_EQ(act(task, "accept", "clerk-g22").status, 403);
  EXPECT_EQ(http(port_, "GET", "/api/v1/tasks/" + std::to_string(task), "token-clerk-g22").status,
            404);
  // Nor send in another agency's name.
  Reply forged = http(port_, "POST", "/api/v1/documents", "token-clerk-g22", signed_sample());
  EXPECT_EQ(forged.status, 403);
  EXPECT_THAT(forged.body, HasSubstr("intake.not_your_agency"));

  // The auditor reads everything and changes nothing.
  EXPECT_EQ(http(port_, "GET", doc, "token-auditor").status, 200);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.01.A53/inbox", "token-auditor").status,
            200);
  Reply audit_write = act(task, "accept", "auditor");
  EXPECT_EQ(audit_write.status, 403);
  EXPECT_THAT(audit_write.body, HasSubstr("auth.read_only"));
  EXPECT_EQ(http(port_, "POST", "/api/v1/documents", "token-auditor", signed_sample()).status, 403);

  // Bad input changes nothing and says why.
  Reply junk = http(port_, "POST", "/api/v1/documents", "token-clerk-h53", "<edXML><broken>");
  EXPECT_EQ(junk.status, 400);
  EXPECT_THAT(junk.body, HasSubstr("intake.malformed"));
  EXPECT_EQ(act(task, "accept", "clerk-a53").status, 200);  // the real clerk still can
  Reply no_body =
      http(port_, "POST", "/api/v1/tasks/" + std::to_string(task), "token-clerk-a53", "nope");
  EXPECT_EQ(no_body.status, 400);
  EXPECT_EQ(http(port_, "GET", "/api/v1/nothing", "token-clerk-a53").status, 404);
  auto chain = verify_audit_chain(node_->store());
  EXPECT_TRUE(chain && chain->ok);
}

TEST_F(NodeTest, PaperHandOversAreRegisteredForTheDenominator) {
  const std::string paper =
      R"({"document_id":"000.00.00.G22,2026/11/20,15/VPCP-KSTT","subject":"Công văn giấy",
    "document_type":"Công văn","from":"000.00.00.G22","to":"000.00.01.A53","channel":"paper"})";
  Reply ok = http(port_, "POST", "/api/v1/paper", "token-clerk-a53", paper);
  ASSERT_EQ(ok.status, 201) << ok.body;
  Reply again = http(port_, "POST", "/api/v1/paper", "token-clerk-a53", paper);
  EXPECT_EQ(again.status, 409);
  EXPECT_THAT(again.body, HasSubstr("registration.duplicate"));
  // Only the sender's or the recipient's clerk registers it; bad input changes nothing.
  EXPECT_EQ(http(port_, "POST", "/api/v1/paper", "token-clerk-h53", paper).status, 403);
  Reply bad =
      http(port_, "POST", "/api/v1/paper", "token-clerk-a53",
           R"({"document_id":"x","from":"000.00.00.G22","to":"000.00.01.A53","channel":"fax"})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.body, HasSubstr("channel must be paper or electronic+paper"));
  EXPECT_EQ(http(port_, "POST", "/api/v1/paper", "token-auditor", paper).status, 403);
  auto db = sqlite::Db::open(config_->resolve(config_->store_path), true);
  ASSERT_TRUE(db);
  auto st = db->prepare("SELECT channel, from_agency, to_agency FROM hand_overs");
  ASSERT_TRUE(st);
  auto row = st->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(st->text(0), "paper");
  EXPECT_EQ(st->text(1), kG22);
  EXPECT_EQ(st->text(2), kA53);
  EXPECT_FALSE(*st->step());
}

TEST_F(NodeTest, DossiersAreNumberedWithoutGapsAndStartTheirWorkflow) {
  const std::string dossier =
      R"({"procedure":"1.004227","applicant":"Nguyễn Văn An","channel":"online","consulted":["000.00.01.A53","000.00.00.G22"]})";
  CivilDate day = BusinessCalendar().local_date(clock_.now());
  char yymmdd[32];
  std::snprintf(yymmdd, sizeof yymmdd, "%02d%02d%02d", day.year % 100, day.month, day.day);
  Reply first = http(port_, "POST", "/api/v1/dossiers", "token-clerk-h53", dossier);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.json().at("code").as_string(), std::string(kH53) + "-" + yymmdd + "-0001");
  // A refused registration does not consume a number.
  EXPECT_EQ(http(port_, "POST", "/api/v1/dossiers", "token-clerk-h53",
                 R"({"procedure":"1.004227","applicant":"B","channel":"pigeon"})")
                .status,
            422);
  EXPECT_EQ(
      http(
          port_, "POST", "/api/v1/dossiers", "token-clerk-h53",
          R"({"procedure":"1.004227","applicant":"B","channel":"post","consulted":["000.00.99.X99"]})")
          .status,
      422);
  Reply second = http(port_, "POST", "/api/v1/dossiers", "token-clerk-h53", dossier);
  ASSERT_EQ(second.status, 201);
  EXPECT_EQ(second.json().at("code").as_string(), std::string(kH53) + "-" + yymmdd + "-0002");
  // Another agency counts on its own.
  Reply other = http(port_, "POST", "/api/v1/dossiers", "token-clerk-a53", dossier);
  EXPECT_EQ(other.json().at("code").as_string(), std::string(kA53) + "-" + yymmdd + "-0001");
  // The dossier workflow starts at the one-stop desk.
  json::array tasks = inbox(kH53, "clerk-h53");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].at("step").as_string(), "receive");
  EXPECT_EQ(tasks[0].at("role").as_string(), "one-stop-clerk");
}

TEST_F(NodeTest, AdministratorsDeployVersionedWorkflowsThatSurviveRestarts) {
  Reply list = http(port_, "GET", "/api/v1/workflows", "token-clerk-a53");
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("\"id\":\"incoming-document\",\"version\":1"));

  const std::string v1 =
      R"(<workflow xmlns="urn:lienthong:workflow:1" id="tiny" version="1" name="Tiny">
  <task id="do" actor="owner" role="clerk"><outcome name="done" next="end"/></task>
  <end id="end"/>
</workflow>)";
  EXPECT_EQ(http(port_, "POST", "/api/v1/workflows", "token-clerk-a53", v1).status, 403);
  EXPECT_EQ(http(port_, "POST", "/api/v1/workflows", "token-auditor", v1).status, 403);
  Reply bad = http(port_, "POST", "/api/v1/workflows", "token-admin",
                   R"(<workflow xmlns="urn:lienthong:workflow:1" id="tiny" version="1" name="Tiny">
  <task id="do" actor="owner" role="clerk"><outcome name="done" next="nowhere"/></task>
  <end id="end"/>
</workflow>)");
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.body, HasSubstr("\"line\":2"));
  EXPECT_THAT(bad.body, HasSubstr("unknown step 'nowhere'"));
  Reply deployed = http(port_, "POST", "/api/v1/workflows", "token-admin", v1);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  EXPECT_EQ(http(port_, "POST", "/api/v1/workflows", "token-admin", v1).status,
            201);  // same text: no-op
  std::string changed = v1;
  changed.replace(changed.find("name=\"Tiny\""), 11, "name=\"Tiny!\"");
  Reply conflict = http(port_, "POST", "/api/v1/workflows", "token-admin", changed);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_THAT(conflict.body, HasSubstr("workflow.version_exists"));
  Reply shown = http(port_, "GET", "/api/v1/workflows/tiny/1", "token-auditor");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.json().at("start").as_string(), "do");

  // After a restart the deployed version is still there, and the changed text still refused.
  node_.reset();
  node_ = std::make_unique<Node>(*config_, clock_);
  node_->start();
  port_ = node_->port();
  EXPECT_EQ(http(port_, "GET", "/api/v1/workflows/tiny", "token-auditor").status, 200);
  EXPECT_EQ(http(port_, "POST", "/api/v1/workflows", "token-admin", changed).status, 409);
}

TEST_F(NodeTest, AdministratorsAddAgenciesAndUsers) {
  // A new agency with its certificates; a user for it; that user's token works at once and after
  // a restart.
  const std::string code = "000.00.12.H53";
  auto signer = read_file(dir_ / "pki" / kH53 / "signer.pem");
  auto organisation = read_file(dir_ / "pki" / kH53 / "organisation.pem");
  json::object agency{{"code", code},
                      {"name", "Sở Nội vụ tỉnh Tây Ninh"},
                      {"parent", "000.00.00.H53"},
                      {"signer_certs", json::array{json::value(*signer)}},
                      {"organisation_certs", json::array{json::value(*organisation)}}};
  const std::string body = json::serialize(agency);
  EXPECT_EQ(http(port_, "POST", "/api/v1/agencies", "token-clerk-h53", body).status, 403);
  EXPECT_EQ(http(port_, "POST", "/api/v1/agencies", "token-auditor", body).status, 403);
  Reply bad =
      http(port_, "POST", "/api/v1/agencies", "token-admin",
           R"({"code":"not a code","name":"x","signer_certs":["x"],"organisation_certs":["x"]})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.body, HasSubstr("agency.invalid"));
  Reply added = http(port_, "POST", "/api/v1/agencies", "token-admin", body);
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(http(port_, "POST", "/api/v1/agencies", "token-admin", body).status, 409);
  EXPECT_THAT(http(port_, "GET", "/api/v1/agencies", "token-clerk-h53").body, HasSubstr(code));

  Reply user = http(port_, "POST", "/api/v1/users", "token-admin",
                    R"({"name":"clerk-snv","role":"clerk","agency":"000.00.12.H53"})");
  ASSERT_EQ(user.status, 201) << user.body;
  const std::string token(user.json().at("token").as_string());
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(http(port_, "POST", "/api/v1/users", "token-admin",
                 R"({"name":"clerk-snv","role":"clerk","agency":"000.00.12.H53"})")
                .status,
            409);
  EXPECT_EQ(http(port_, "POST", "/api/v1/users", "token-admin",
                 R"({"name":"x","role":"clerk","agency":"000.00.99.X99"})")
                .status,
            422);
  EXPECT_EQ(
      http(port_, "POST", "/api/v1/users", "token-admin", R"({"name":"y","role":"king"})").status,
      422);
  EXPECT_EQ(
      http(port_, "POST", "/api/v1/users", "token-clerk-h53", R"({"name":"z","role":"auditor"})")
          .status,
      403);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.12.H53/inbox", token).status, 200);
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.11.H53/inbox", token).status, 403);
  Reply users = http(port_, "GET", "/api/v1/users", "token-auditor");
  EXPECT_THAT(users.body, HasSubstr("\"name\":\"clerk-snv\""));
  EXPECT_THAT(users.body, ::testing::Not(HasSubstr(token)));

  node_.reset();
  node_ = std::make_unique<Node>(*config_, clock_);
  node_->start();
  port_ = node_->port();
  EXPECT_EQ(http(port_, "GET", "/api/v1/agencies/000.00.12.H53/inbox", token).status, 200);
  auto chain = verify_audit_chain(node_->store());
  EXPECT_TRUE(chain && chain->ok);
}

TEST_F(NodeTest, TheNodeSignsCheckpointsOfItsAuditLogOnTimeAndWhenItStops) {
  const std::string key = (dir_ / "node.db.audit-key").string();
  ASSERT_TRUE(fs::exists(key)) << "made at the first start";
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::others_read, fs::perms::none);
  auto vkey = read_file(key + ".pub");
  ASSERT_TRUE(vkey);
  EXPECT_EQ(*vkey, node_->audit_verifier_key() + "\n");
  EXPECT_THAT(*vkey, ::testing::StartsWith("lienthong/test-node/audit+"));
  auto verifier = parse_note_verifier(node_->audit_verifier_key());
  ASSERT_TRUE(verifier);

  ASSERT_EQ(http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample()).status,
            202);
  node_->run_background_once();
  AuditLog log((dir_ / "node.db").string(), true);
  EXPECT_FALSE(*log.latest_checkpoint()) << "neither an hour nor 10,000 events yet";

  clock_.advance(3601);
  node_->run_background_once();
  auto first = log.latest_checkpoint();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->size, *log.size());
  auto opened = open_checkpoint((*first)->note, *verifier);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->origin, "lienthong/test-node/audit");

  EXPECT_EQ(act(only_task(kA53, "clerk-a53", "register"), "accept", "clerk-a53").status, 200);
  node_.reset();  // stopping signs what came since
  auto last = log.latest_checkpoint();
  ASSERT_TRUE(last && *last);
  EXPECT_GT((*last)->size, (*first)->size);
  EXPECT_EQ((*last)->size, *log.size());
  auto check = log.verify(&*verifier);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->checkpoints, 2u);

  auto cli = testing::run_cli("audit verify --db " + (dir_ / "node.db").string());
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
}

TEST_F(NodeTest, AuditorsGetTheReportAsJsonCsvAndTableAndClerksTheirOwnAgencys) {
  ASSERT_EQ(http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample()).status,
            202);  // H53 -> A53, electronic
  // An office under H53 (Vietnamese name), which hands H53 a paper document.
  const std::string pem = *read_file(dir_ / "pki" / kH53 / "signer.pem");
  json::object office{{"code", "000.00.13.H53"},
                      {"name", "Phòng Tư pháp thị xã Hòa Thành"},
                      {"parent", kH53},
                      {"signer_certs", json::array{pem}},
                      {"organisation_certs", json::array{pem}}};
  Reply added = http(port_, "POST", "/api/v1/agencies", "token-admin", json::serialize(office));
  ASSERT_EQ(added.status, 201) << added.body;
  Reply paper = http(port_, "POST", "/api/v1/paper", "token-clerk-h53",
                     R"({"document_id":"13/TP","subject":"Tờ trình","document_type":"Tờ trình",
                         "from":"000.00.13.H53","to":"000.00.11.H53","channel":"paper"})");
  ASSERT_EQ(paper.status, 201) << paper.body;

  const std::string year =
      std::to_string(ConfigDate::from_day_number(local_day(clock_.now(), 7 * 3600)).year);
  Reply r = http(port_, "GET", "/api/v1/reports?period=" + year, "token-auditor");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array rows = r.json().at("rows").as_array();
  auto row = [&](const std::string& agency) {
    for (const auto& x : rows) {
      if (x.at("agency").as_string() == agency) return x.as_object();
    }
    ADD_FAILURE() << "no row for " << agency << " in " << r.body;
    return json::object{};
  };
  // H53's row holds its office's paper hand-over too: half electronic, short of 100% by half.
  const json::object h53 = row(kH53);
  EXPECT_EQ(h53.at("handovers").as_int64(), 2);
  EXPECT_EQ(h53.at("electronic_share").as_double(), 0.5);
  ASSERT_EQ(h53.at("shortfalls").as_array().size(), 1u);
  EXPECT_EQ(h53.at("shortfalls").as_array()[0].at("figure").as_string(), "electronic_share");
  EXPECT_EQ(h53.at("shortfalls").as_array()[0].at("gap").as_double(), 0.5);
  const json::object office_row = row("000.00.13.H53");
  EXPECT_EQ(office_row.at("depth").as_int64(), 1);
  EXPECT_EQ(office_row.at("name").as_string(), "Phòng Tư pháp thị xã Hòa Thành");
  EXPECT_EQ(office_row.at("paper").as_int64(), 1);
  EXPECT_EQ(r.json().at("total").at("handovers").as_int64(), 2);

  Reply csv = http(port_, "GET", "/api/v1/reports?period=" + year + "&format=csv", "token-auditor");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.rfind("\xEF\xBB\xBF"
                           "agency,name,",
                           0),
            0u)
      << "UTF-8 BOM, then the header";
  EXPECT_THAT(csv.body, HasSubstr("000.00.13.H53,Phòng Tư pháp thị xã Hòa Thành,"));
  EXPECT_THAT(csv.body, HasSubstr("electronic_share 50.0% < 100.0% (gap 50.0%)"));

  // A clerk sees their own agency's report, and no other.
  Reply own = http(port_, "GET", "/api/v1/reports?period=" + year, "token-clerk-h53");
  EXPECT_EQ(own.status, 200);
  EXPECT_EQ(own.json().at("agency").as_string(), kH53);
  EXPECT_EQ(
      http(port_, "GET", "/api/v1/reports?period=" + year + "&agency=" + kA53, "token-clerk-h53")
          .status,
      403);
  Reply bad = http(port_, "GET", "/api/v1/reports?period=2026-13", "token-auditor");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("report.bad_period"));
  EXPECT_EQ(
      http(port_, "GET", "/api/v1/reports?period=2026&group_by=colour", "token-auditor").status,
      400);
  EXPECT_EQ(http(port_, "GET", "/api/v1/reports?period=2026&agency=000.00.99.H53", "token-auditor")
                .status,
            404);

  auto table = testing::run_cli("report --server http://127.0.0.1:" + std::to_string(port_) +
                                " --token token-auditor --period " + year);
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_THAT(table.out, HasSubstr("  000.00.13.H53 Phòng Tư pháp thị xã Hòa Thành"));
  EXPECT_THAT(table.out, HasSubstr("TOTAL"));
  auto usage = testing::run_cli("report --server http://127.0.0.1:" + std::to_string(port_) +
                                " --token token-auditor --period 2026-Q5");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.out, HasSubstr("is not a quarter"));
}

TEST_F(NodeTest, MetricsForOperatorsInThePrometheusFormat) {
  ASSERT_EQ(http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample()).status,
            202);
  EXPECT_EQ(http(port_, "POST", "/api/v1/documents", "token-clerk-h53", "<nonsense/>").status, 400);
  // The server sees the earlier requests' connections close a moment after they do.
  Reply m;
  for (int i = 0; i < 200; ++i) {
    m = http(port_, "GET", "/metrics", "token-auditor");
    if (m.body.find("lienthong_http_connections 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(m.status, 200) << m.body;
  for (const char* line : {
           "# TYPE lienthong_documents_accepted_total counter\n",
           "lienthong_documents_accepted_total{source=\"api\"} 1\n",
           "lienthong_documents_refused_total{reason=\"intake.invalid_edxml\"} 1\n",
           "lienthong_outbox_items{kind=\"status\",state=\"dead\"} 0\n",
           "lienthong_tasks_open{agency=\"000.00.01.A53\"} 1\n",
           "lienthong_tasks_overdue{agency=\"000.00.01.A53\"} 0\n",
           "# TYPE lienthong_store_commit_seconds histogram\n",
           "lienthong_store_commit_seconds_bucket{le=\"+Inf\"} ",
           "lienthong_store_group_size_count ",
           "lienthong_handovers_today 1\n",
           "lienthong_electronic_share_today 1\n",
           "lienthong_http_connections 1\n",
       }) {
    EXPECT_THAT(m.body, HasSubstr(line));
  }
  EXPECT_EQ(http(port_, "GET", "/metrics", "token-clerk-h53").status, 403);
  EXPECT_EQ(http(port_, "GET", "/metrics").status, 401);
  clock_.advance(2 * 86400);  // the register task was due in one day
  EXPECT_THAT(http(port_, "GET", "/metrics", "token-admin").body,
              HasSubstr("lienthong_tasks_overdue{agency=\"000.00.01.A53\"} 1\n"));
}

TEST_F(NodeTest, RequestsAndStateChangesAreLoggedAsJsonLinesSharingTheRequestId) {
  std::mutex mutex;
  std::vector<std::string> lines;
  node_.reset();
  node_ = std::make_unique<Node>(*config_, clock_, [&](const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  });
  node_->start();
  port_ = node_->port();
  ASSERT_EQ(http(port_, "POST", "/api/v1/documents", "token-clerk-h53", signed_sample()).status,
            202);
  node_->stop();  // every line written
  std::lock_guard lock(mutex);
  std::vector<json::object> parsed;
  std::string id;
  for (const std::string& line : lines) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    parsed.push_back(v.as_object());
    if (v.at("event").as_string() == "request" && v.at("status").as_int64() == 202) {
      EXPECT_EQ(v.at("target").as_string(), "/api/v1/documents");
      EXPECT_EQ(v.at("user").as_string(), "clerk-h53");
      id = std::string(v.at("request_id").as_string());
    }
  }
  ASSERT_FALSE(id.empty());
  std::vector<std::string> actions;
  for (const auto& o : parsed) {
    if (o.at("event").as_string() == "audit" && o.at("request_id").as_string() == id) {
      actions.emplace_back(o.at("action").as_string());
    }
  }
  ASSERT_GE(actions.size(), 3u);
  EXPECT_EQ(actions[0], "document.received");
  EXPECT_EQ(actions[1], "handover.recorded");
}

TEST_F(NodeTest, AdministratorsSeeDeadLetteredDeliveriesAndRetryThem) {
  // A delivery to an agency no peer hosts, dead-lettered as PeerDelivery leaves it.
  std::int64_t item = 0;
  ASSERT_TRUE(node_->store().write_sync([&](StoreTx& tx) -> Expected<void> {
    NewDocument d{"dead-letter-1", "document",      kH53, {"000.00.02.H41"}, "1/STC", "s",
                  clock_.now(),    signed_sample(), ""};
    auto doc = tx.insert_document(d);
    if (!doc) return doc.error();
    auto id = tx.enqueue(
        OutboxItem{0, "document", 0, 0, *doc, "000.00.02.H41", "", clock_.now(), "pending"});
    if (!id) return id.error();
    item = *id;
    return tx.record_attempt(item, "dead", 3, 0, "peer.unreachable: connection refused");
  }));
  const std::string retry = "/api/v1/outbox/" + std::to_string(item) + "/retry";
  EXPECT_EQ(http(port_, "GET", "/api/v1/outbox", "token-clerk-h53").status, 403);
  Reply listed = http(port_, "GET", "/api/v1/outbox?state=dead", "token-auditor");
  ASSERT_EQ(listed.status, 200) << listed.body;
  json::array items = listed.json().at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("attempts").as_int64(), 3);
  EXPECT_EQ(items[0].at("last_error").as_string(), "peer.unreachable: connection refused");
  EXPECT_EQ(http(port_, "GET", "/api/v1/outbox?state=lost", "token-admin").status, 400);

  EXPECT_EQ(http(port_, "POST", retry, "token-auditor").status, 403);
  EXPECT_EQ(http(port_, "POST", retry, "token-clerk-h53").status, 403);
  EXPECT_EQ(http(port_, "POST", "/api/v1/outbox/999999/retry", "token-admin").status, 404);
  Reply done = http(port_, "POST", retry, "token-admin");
  EXPECT_EQ(done.status, 200) << done.body;
  Reply again = http(port_, "POST", retry, "token-admin");
  EXPECT_EQ(again.status, 409);
  EXPECT_THAT(again.body, HasSubstr("outbox.not_dead"));
  EXPECT_TRUE(http(port_, "GET", "/api/v1/outbox?state=dead", "token-admin")
                  .json()
                  .at("items")
                  .as_array()
                  .empty());
  items = http(port_, "GET", "/api/v1/outbox?state=pending", "token-admin")
              .json()
              .at("items")
              .as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("attempts").as_int64(), 0);
  auto events = node_->store().audit_events(1, 10000);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->back().action, "delivery.retried");
  EXPECT_EQ(events->back().actor, "admin");
}

}  // namespace
}  // namespace lienthong
