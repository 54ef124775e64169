#include "engine/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "adapters/edxml/edxml_codec.hpp"
#include "engine/intake.hpp"
#include "engine/local_delivery.hpp"
#include "engine/registration.hpp"
#include "engine/report.hpp"
#include "signing/pki.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr std::int64_t kMonday = 1795395600;   // 2026-11-23 08:00 in Hà Nội
constexpr const char* kH53 = "000.00.11.H53";  // Sở Tài chính, the sample's sender
constexpr const char* kA53 = "000.00.01.A53";  // Văn phòng Tỉnh ủy, its recipient
constexpr const char* kH41 = "000.00.00.H41";  // UBND Tỉnh Nghệ An, on the peer node "nghe-an"

// The sample, addressed to A53 here and to H41 on another node as well.
std::string to_both(std::string xml) {
  const std::string to = "<edXML:To>";
  const auto at = xml.find(to);
  xml.insert(at,
             "<edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId>"
             "<edXML:OrganName>UBND Tỉnh Nghệ An</edXML:OrganName></edXML:To>\n        ");
  return xml;
}

std::string data(const char* name) {
  auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/" + name);
  EXPECT_TRUE(bytes);
  return *bytes;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// A node hosting both agencies, with a real store, intake, router and the bundled workflows.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-router-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = open_sqlite_store((dir_ / "node.db").string());
    CertSpec ca;
    ca.common_name = "Test CA";
    ca.is_ca = true;
    ca.not_before = kMonday - 86400;
    ca.not_after = kMonday + 86400 * 3650;
    ca_ = issue_certificate(ca, ca_key_.get(), nullptr, ca_key_.get());
    trust_.add_anchor(share(ca_.get()));
    for (const char* code : {kH53, kA53}) {
      Keys& k = keys_[code];
      k.signer = issue(std::string("signer ") + code);
      k.organisation = issue(std::string("organisation ") + code);
      AgencyEntry e{code, code, "", true, "", {}, {}};
      e.signer_fingerprints.insert(cert_fingerprint_sha256(k.signer.cert.get()));
      e.organisation_fingerprints.insert(cert_fingerprint_sha256(k.organisation.cert.get()));
      directory_.add(e);
    }
    {  // hosted on another node
      Keys& k = keys_[kH41];
      k.signer = issue("signer H41");
      k.organisation = issue("organisation H41");
      AgencyEntry e{kH41, "UBND Tỉnh Nghệ An", "", false, "nghe-an", {}, {}};
      e.signer_fingerprints.insert(cert_fingerprint_sha256(k.signer.cert.get()));
      e.organisation_fingerprints.insert(cert_fingerprint_sha256(k.organisation.cert.get()));
      directory_.add(e);
    }
    for (const char* wf :
         {"incoming-document.xml", "outgoing-document.xml", "one-stop-dossier.xml"}) {
      const std::string path = std::string(LIENTHONG_WORKFLOW_DEFINITIONS) + "/" + wf;
      auto text = read_file(path);
      LoadResult r = load_workflow(*text, path);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(registry_.deploy(std::move(*r.workflow), *text));
    }
    router_ = std::make_unique<Router>(registry_, calendar_, directory_);
    intake_ = std::make_unique<Intake>(*store_, codec_, trust_, directory_, clock_, IntakePolicy{});
    intake_->set_router(router_.get());
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  SigningKey issue(const std::string& cn) {
    SigningKey k;
    k.key = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = cn;
    spec.not_before = kMonday - 86400;
    spec.not_after = kMonday + 86400 * 365;
    spec.serial = ++serial_;
    k.cert = issue_certificate(spec, k.key.get(), ca_.get(), ca_key_.get());
    return k;
  }
  std::string sign_as(const std::string& agency, const std::string& xml) {
    SignOptions s;
    s.at = clock_.now();
    auto one = sign_package(xml, keys_[agency].signer, s);
    s.role = SignatureRole::organisation;
    auto two = sign_package(*one, keys_[agency].organisation, s);
    EXPECT_TRUE(two);
    return *two;
  }
  // The sample status packet from `agency`, answering the sample document (sent by H53).
  static std::string status_from(const std::string& agency, const std::string& code,
                                 const std::string& time) {
    std::string status = data("status_processing_05.edxml");
    replace_all(status, "000.00.00.H41", agency);
    replace_all(status, "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
                "000.00.11.H53,2020/10/30,2491/STC-BCTC");
    replace_all(status, "<edXML:OrganId>000.00.00.G22</edXML:OrganId>",
                std::string("<edXML:OrganId>") + kH53 + "</edXML:OrganId>");
    replace_all(status, "<edXML:StatusCode>05</edXML:StatusCode>",
                "<edXML:StatusCode>" + code + "</edXML:StatusCode>");
    replace_all(status, "<edXML:Timestamp>2015/09/20 11:08:36</edXML:Timestamp>",
                "<edXML:Timestamp>" + time + "</edXML:Timestamp>");
    return status;
  }
  IntakeReceipt receive(const std::string& from, const std::string& xml) {
    auto r = intake_->submit_sync(sign_as(from, xml), {"clerk", from, "req"});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : IntakeReceipt{};
  }
  std::vector<TaskRecord> open(const std::string& agency) {
    auto t = store_->open_tasks(agency, 100);
    EXPECT_TRUE(t);
    return t ? *t : std::vector<TaskRecord>{};
  }
  std::vector<std::string> outbox_codes() {
    auto items = store_->outbox("pending", 100);
    std::vector<std::string> out;
    for (const auto& i : *items) out.push_back(i.kind + ":" + i.to_agency + ":" + i.code);
    return out;
  }
  Expected<void> act(std::int64_t task, const std::string& outcome, const std::string& agency) {
    return store_->write_sync([&](StoreTx& tx) {
      return router_->complete_task(tx, task, outcome, {"clerk", agency, "req"}, clock_.now());
    });
  }
  std::vector<std::string> actions() {
    std::vector<std::string> out;
    auto events = store_->audit_events(1, 1000);
    for (const auto& e : *events) out.push_back(e.action);
    return out;
  }

  struct Keys {
    SigningKey signer, organisation;
  };
  fs::path dir_;
  std::unique_ptr<Store> store_;
  Pkey ca_key_ = generate_key(KeyType::ec_p256);
  Cert ca_;
  long serial_ = 10;
  std::map<std::string, Keys> keys_;
  TrustStore trust_;
  Directory directory_;
  WorkflowRegistry registry_;
  BusinessCalendar calendar_;
  EdxmlCodec codec_;
  ManualClock clock_{kMonday};
  std::unique_ptr<Router> router_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(RouterTest, AReceivedDocumentStartsTheIncomingWorkflowInTheSameTransaction) {
  IntakeReceipt receipt = receive(kH53, data("edoc_new.edxml"));
  auto tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step, "register");
  EXPECT_EQ(tasks[0].role, "clerk");
  EXPECT_EQ(tasks[0].due_at, kMonday + 86400);
  EXPECT_EQ(outbox_codes(), std::vector<std::string>{"status:000.00.11.H53:01"});
  auto instances = store_->instances_of(receipt.document);
  ASSERT_TRUE(instances);
  ASSERT_EQ(instances->size(), 1u);
  EXPECT_EQ((*instances)[0].agency, kA53);
  EXPECT_EQ((*instances)[0].workflow, "incoming-document");
  EXPECT_EQ(actions(),
            (std::vector<std::string>{"document.received", "handover.recorded", "instance.started",
                                      "task.created", "status.queued"}));

  // A clerk of another agency can neither see nor act on the task.
  EXPECT_TRUE(open(kH53).empty());
  auto forbidden = act(tasks[0].id, "accept", kH53);
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, "task.forbidden");
  auto wrong = act(tasks[0].id, "approve", kA53);
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message, HasSubstr("allowed: accept, reject"));

  clock_.advance(3600);
  ASSERT_TRUE(act(tasks[0].id, "accept", kA53));
  EXPECT_EQ(store_->task(tasks[0].id)->value().state, "completed");
  auto again = act(tasks[0].id, "accept", kA53);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "task.closed");
  tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step, "assign");
  ASSERT_TRUE(act(tasks[0].id, "assign", kA53));
  tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step, "process");
  EXPECT_EQ(outbox_codes(),
            (std::vector<std::string>{"status:000.00.11.H53:01", "status:000.00.11.H53:03",
                                      "status:000.00.11.H53:04", "status:000.00.11.H53:05"}));

  // One deadline table row per pending timer; the earliest wakes the scheduler.
  auto next = store_->next_deadline();
  ASSERT_TRUE(next && *next);
  auto [instance, timer, due] = **next;
  EXPECT_EQ(due, kMonday + 3600 + 3 * 86400);  // remind after P3D working
  clock_.set(due);
  ASSERT_TRUE(store_->write_sync(
      [&](StoreTx& tx) { return router_->fire_timer(tx, instance, timer, due); }));
  EXPECT_EQ(actions().back(), "task.reminded");
  // Firing the same deadline again changes nothing.
  const auto count = actions().size();
  ASSERT_TRUE(store_->write_sync(
      [&](StoreTx& tx) { return router_->fire_timer(tx, instance, timer, due); }));
  EXPECT_EQ(actions().size(), count);

  ASSERT_TRUE(act(tasks[0].id, "complete", kA53));
  EXPECT_TRUE(open(kA53).empty());
  EXPECT_FALSE(store_->next_deadline()->has_value());  // the escalation timer went with the task
  EXPECT_TRUE(store_->instances_of(receipt.document)->at(0).finished);
  auto chain = verify_audit_chain(*store_);
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
}

TEST_F(RouterTest, RecipientsOnAnotherNodeGetThePackageThroughTheOutbox) {
  IntakeReceipt receipt = receive(kH53, to_both(data("edoc_new.edxml")));
  EXPECT_EQ(open(kA53).size(), 1u);  // handed over here, to A53 though H41 is named first
  auto items = store_->outbox("pending", 100);
  ASSERT_TRUE(items);
  std::vector<std::string> documents;
  for (const auto& i : *items) {
    if (i.kind == "document") documents.push_back(i.to_agency);
  }
  EXPECT_EQ(documents, std::vector<std::string>{kH41});
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "delivery.queued"), 1);
  EXPECT_EQ(std::count(a.begin(), a.end(), "instance.started"), 1);  // none for H41 here
  (void)receipt;
}

TEST_F(RouterTest, LocalDeliveryIsNotStarvedByABacklogForPeers) {
  // A peer down for a while: 300 deliveries to it wait in the outbox, then a local status.
  ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
    NewDocument d{"backlog", "document", kH53, {kH41}, "1/STC", "s", clock_.now(), "<x/>", ""};
    auto doc = tx.insert_document(d);
    if (!doc) return doc.error();
    for (int i = 0; i < 300; ++i) {
      auto id =
          tx.enqueue(OutboxItem{0, "document", 0, 0, *doc, kH41, "", clock_.now(), "pending"});
      if (!id) return id.error();
    }
    return {};
  }));
  receive(kH53, data("edoc_new.edxml"));  // A53's instance emits status 01 to H53, here
  LocalDelivery local(*store_, *router_, directory_, codec_, clock_);
  auto delivered = local.run_once();
  ASSERT_TRUE(delivered) << delivered.error().message;
  EXPECT_EQ(*delivered, 1u);
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "status.delivered"), 1);
}

TEST_F(RouterTest, APeerNodeSendsOnlyInTheNameOfTheAgenciesItHosts) {
  std::string from_h41 = to_both(data("edoc_new.edxml"));
  const std::string h53 = "<edXML:OrganId>000.00.11.H53</edXML:OrganId>";
  from_h41.replace(from_h41.find(h53), h53.size(), "<edXML:OrganId>000.00.00.H41</edXML:OrganId>");
  const std::string signed_h41 = sign_as(kH41, from_h41);

  auto impostor = intake_->submit_sync(signed_h41, {"peer:quang-tri", "", "req", "quang-tri"});
  ASSERT_FALSE(impostor);
  EXPECT_EQ(impostor.error().code, "intake.not_your_agency");
  EXPECT_THAT(impostor.error().message, HasSubstr("its node is nghe-an"));
  auto local_name = intake_->submit_sync(sign_as(kH53, data("edoc_new.edxml")),
                                         {"peer:nghe-an", "", "req", "nghe-an"});
  ASSERT_FALSE(local_name);
  EXPECT_EQ(local_name.error().code, "intake.not_your_agency");
  EXPECT_TRUE(actions().empty());  // refusals leave nothing behind

  auto r = intake_->submit_sync(signed_h41, {"peer:nghe-an", "", "req", "nghe-an"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(open(kA53).size(), 1u);
  // Received from a peer: nothing goes back out to the other node's own agency.
  auto items = store_->outbox("pending", 100);
  for (const auto& i : *items) EXPECT_NE(i.kind, "document") << i.to_agency;
}

TEST_F(RouterTest, StatusPacketsAdvanceTheSendersInstance) {
  // The sample goes out through the outgoing workflow of its sender.
  IntakeReceipt receipt = receive(kH53, data("edoc_new.edxml"));
  DocumentFacts facts;
  facts.sender = kH53;
  facts.recipients = {kA53};
  ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
    auto id = router_->start(tx, "outgoing-document", receipt.document, kH53, facts,
                             {"clerk", kH53, "req"}, clock_.now());
    return id ? Expected<void>() : Expected<void>(id.error());
  }));
  for (const char* outcome : {"submit", "approve", "registered"}) {
    auto tasks = open(kH53);
    ASSERT_EQ(tasks.size(), 1u);
    ASSERT_TRUE(act(tasks[0].id, outcome, kH53));
  }
  auto pending_items = store_->outbox("pending", 100);
  auto& pending = *pending_items;
  EXPECT_EQ(pending.back().kind, "document");
  EXPECT_EQ(pending.back().to_agency, kA53);

  // The recipient answers 06 (completed) for that document.
  IntakeReceipt answer = receive(kA53, status_from(kA53, "06", "2015/09/20 11:08:36"));
  EXPECT_FALSE(answer.duplicate);
  bool outgoing_finished = false;
  auto instances = store_->instances_of(receipt.document);
  for (const auto& i : *instances) {
    if (i.workflow == "outgoing-document") outgoing_finished = i.finished;
  }
  EXPECT_TRUE(outgoing_finished);
  auto chain = verify_audit_chain(*store_);
  EXPECT_TRUE(chain && chain->ok);
}

TEST_F(RouterTest, TheLatestStatusIsTheOneIssuedLastWhateverTheOrderOfArrival) {
  IntakeReceipt receipt = receive(kH53, to_both(data("edoc_new.edxml")));
  auto from_h41 = [&](const std::string& code, const std::string& time) {
    auto r = intake_->submit_sync(sign_as(kH41, status_from(kH41, code, time)),
                                  {"peer:nghe-an", "", "req", "nghe-an"});
    ASSERT_TRUE(r) << r.error().message;
  };
  // 03 arrives first; then 01, issued before it, carried back again after a crash lost its first
  // carrier; then 04 and 05 issued in the same second, 05 first.
  from_h41("03", "2020/10/30 10:00:05");
  from_h41("01", "2020/10/30 10:00:00");
  auto statuses = store_->statuses(receipt.document);
  ASSERT_TRUE(statuses);
  std::vector<std::string> arrived;
  std::vector<std::int64_t> issued;
  for (const StatusRecord& s : *statuses) {
    if (s.from != kH41) continue;
    arrived.push_back(s.code);
    issued.push_back(s.issued);
  }
  EXPECT_EQ(arrived, (std::vector<std::string>{"03", "01"}));
  const std::int64_t ten = days_from_civil({2020, 10, 30}) * 86400 + 10 * 3600;
  EXPECT_EQ(issued, (std::vector<std::int64_t>{ten + 5, ten}));
  EXPECT_EQ(latest_statuses(*statuses).at(kH41), "03");

  from_h41("05", "2020/10/30 10:00:09");
  from_h41("04", "2020/10/30 10:00:09");
  statuses = store_->statuses(receipt.document);
  ASSERT_TRUE(statuses);
  EXPECT_EQ(latest_statuses(*statuses).at(kH41), "05");
}

TEST_F(RouterTest, ADossierIsConsultedByAnAgencyHereAndItsAnswerJoinsTheDossier) {
  DossierRecord dossier;
  ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
    auto r =
        register_dossier(tx, *router_, calendar_,
                         DossierRegistration{kH53, "1.004227", "Nguyễn Văn An", "online", {kA53}},
                         "one-stop-dossier", {"clerk", kH53, "req"}, clock_.now());
    if (!r) return r.error();
    dossier = *r;
    return {};
  }));
  ASSERT_TRUE(act(open(kH53)[0].id, "accept", kH53));   // receive
  ASSERT_TRUE(act(open(kH53)[0].id, "forward", kH53));  // review: consult A53
  LocalDelivery local(*store_, *router_, directory_, codec_, clock_);
  ASSERT_TRUE(local.run_once());
  auto tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);  // A53's clerk registers the dossier like a document
  EXPECT_EQ(tasks[0].step, "register");
  ASSERT_TRUE(act(tasks[0].id, "reject", kA53));  // 02: the consultation is answered
  ASSERT_TRUE(local.run_once());
  tasks = open(kH53);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step, "decide");  // every consulted agency answered
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "delivery.dead_lettered"), 0);
}

TEST_F(RouterTest, AnItemThatCanNeverBeHandedOverIsDeadLetteredAndHoldsNothingUp) {
  ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
    NewDocument d{"broken", "document", kH53, {kA53}, "1/STC", "s", clock_.now(), "<x/>", ""};
    auto doc = tx.insert_document(d);
    if (!doc) return doc.error();
    auto id = tx.enqueue(OutboxItem{0, "document", 0, 0, *doc, kA53, "", clock_.now(), "pending"});
    if (!id) return id.error();
    return {};
  }));
  receive(kH53, data("edoc_new.edxml"));  // A53's instance emits status 01 to H53, behind it
  LocalDelivery local(*store_, *router_, directory_, codec_, clock_);
  auto delivered = local.run_once();
  ASSERT_TRUE(delivered) << delivered.error().message;
  EXPECT_EQ(*delivered, 1u);
  auto dead = store_->outbox("dead", 10);
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_THAT(dead->front().last_error, HasSubstr("edXML"));
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "delivery.dead_lettered"), 1);
  EXPECT_EQ(std::count(a.begin(), a.end(), "status.delivered"), 1);
}

// The sample as a recall (1), update (2) or replacement (3) of itself.
std::string revision(int action) {
  std::string xml = data("edoc_new.edxml");
  replace_all(xml, "<edXML:BussinessDocType>0</edXML:BussinessDocType>",
              "<edXML:BussinessDocType>" + std::to_string(action) + "</edXML:BussinessDocType>");
  return xml;
}

TEST_F(RouterTest, ARecallAsksTheRecipientWhoseAnswerGoesBack) {
  receive(kH53, data("edoc_new.edxml"));
  ASSERT_EQ(open(kA53).size(), 1u);
  receive(kH53, revision(1));
  auto tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);  // the register task made way for the question
  EXPECT_EQ(tasks[0].step, "recall-received");
  ASSERT_TRUE(act(tasks[0].id, "accept-recall", kA53));
  EXPECT_THAT(outbox_codes(), ::testing::ElementsAre(std::string("status:") + kH53 + ":01",
                                                     std::string("status:") + kH53 + ":15"));
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "revision.received"), 1);
  EXPECT_EQ(std::count(a.begin(), a.end(), "instance.started"), 1);  // a recall starts nothing
}

TEST_F(RouterTest, ARecallOfADocumentAlreadyDealtWithIsRefusedAtOnce) {
  receive(kH53, data("edoc_new.edxml"));
  ASSERT_TRUE(act(open(kA53)[0].id, "reject", kA53));
  receive(kH53, revision(1));
  EXPECT_TRUE(open(kA53).empty());
  auto codes = outbox_codes();
  EXPECT_EQ(codes.back(), std::string("status:") + kH53 + ":16");
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "revision.refused"), 1);
}

TEST_F(RouterTest, AnUpdateAsksAboutTheOldVersionAndHandsOverTheNewOne) {
  receive(kH53, data("edoc_new.edxml"));
  IntakeReceipt update = receive(kH53, revision(2));
  auto tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].step, "recall-received");
  EXPECT_EQ(tasks[1].step, "register");
  auto instances = store_->instances_of(update.document);
  ASSERT_TRUE(instances);
  EXPECT_EQ(instances->size(), 1u);  // the new version's own instance
  // Refused (16): the old version goes back to processing (05).
  ASSERT_TRUE(act(tasks[0].id, "refuse-recall", kA53));
  auto codes = outbox_codes();
  ASSERT_GE(codes.size(), 2u);
  EXPECT_EQ(codes[codes.size() - 2], std::string("status:") + kH53 + ":16");
  EXPECT_EQ(codes.back(), std::string("status:") + kH53 + ":05");
}

TEST_F(RouterTest, EachStatusToAnAgencyIsStampedASecondAfterTheOneBefore) {
  receive(kH53, data("edoc_new.edxml"));               // 01
  ASSERT_TRUE(act(open(kA53)[0].id, "accept", kA53));  // 03
  ASSERT_TRUE(act(open(kA53)[0].id, "assign", kA53));  // 04, then 05 on entering "process"
  receive(kH53, revision(1));
  ASSERT_TRUE(act(open(kA53)[0].id, "refuse-recall", kA53));  // 16, then 05 again
  // All within one second of the clock. The receiver knows a status packet by sender, document,
  // code and second (the second 05 in the same second would be taken for a copy of the first),
  // and orders one agency's statuses by that second (16 then 05 again is not a tie).
  std::vector<std::string> codes;
  std::vector<Timestamp> at;
  for (const auto& i : *store_->outbox("pending", 100)) {
    if (i.kind != "status") continue;
    codes.push_back(i.code);
    at.push_back(i.created_at);
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"01", "03", "04", "05", "16", "05"}));
  const Timestamp now = clock_.now();
  EXPECT_EQ(at, (std::vector<Timestamp>{now, now + 1, now + 2, now + 3, now + 4, now + 5}));
}

TEST_F(RouterTest, AReplacementAfterAnAcceptedUpdateAsksAboutTheUpdate) {
  receive(kH53, data("edoc_new.edxml"));
  receive(kH53, revision(2));
  ASSERT_TRUE(act(open(kA53)[0].id, "accept-recall", kA53));  // the original is withdrawn (15)
  auto tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step, "register");  // the update's own instance
  const std::int64_t update_instance = tasks[0].instance;
  receive(kH53, revision(3));
  // The question goes to the update's instance, still open; the original's finished one is left.
  tasks = open(kA53);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].step, "recall-received");
  EXPECT_EQ(tasks[0].instance, update_instance);
  EXPECT_EQ(tasks[1].step, "register");  // the replacement's own instance
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "revision.refused"), 0);
}

TEST_F(RouterTest, ARecallOfAnUnknownDocumentIsRecordedAndChangesNothing) {
  receive(kH53, revision(1));
  EXPECT_TRUE(open(kA53).empty());
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "revision.unmatched"), 1);
  EXPECT_EQ(std::count(a.begin(), a.end(), "instance.started"), 0);
}

// What a report says is what the audit events say: a week of hand-overs (electronic, paper,
// electronic with a paper copy), steps, dossiers (online and in person, one resolved late) and a
// task left open past its due time, recounted here from the raw events alone.
TEST_F(RouterTest, TheReportIsTheAuditEventsRecounted) {
  receive(kH53, data("edoc_new.edxml"));  // H53 -> A53, electronic; a register task at A53
  for (const char* channel : {"paper", "electronic+paper"}) {
    ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
      auto r = register_paper(
          tx,
          PaperRegistration{std::string("A53/") + channel, "Công văn", "1", kA53, kH53, channel},
          {"clerk", kH53, "req"}, clock_.now());
      return r ? Expected<void>() : Expected<void>(r.error());
    }));
  }
  auto dossier = [&](const char* channel) {
    ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
      auto r = register_dossier(tx, *router_, calendar_,
                                DossierRegistration{kH53, "1.004227", "Trần Thị Bình", channel, {}},
                                "one-stop-dossier", {"clerk", kH53, "req"}, clock_.now());
      return r ? Expected<void>() : Expected<void>(r.error());
    }));
  };
  dossier("online");
  ASSERT_TRUE(act(open(kH53)[0].id, "refuse", kH53));  // resolved the same day: on time
  dossier("in_person");
  clock_.advance(3 * 86400);                           // its receive step was due in one day
  ASSERT_TRUE(act(open(kH53)[0].id, "refuse", kH53));  // resolved late
  clock_.advance(86400);  // A53's register task is now past its due time, still open

  ReportQuery q;
  q.period = *report_period_between("2026-11-23", "2026-11-29");
  q.now = clock_.now();
  std::vector<ReportAgency> agencies{{kH53, "Sở Tài chính", ""}, {kA53, "Văn phòng Tỉnh ủy", ""}};
  auto report = make_report(*store_, agencies, TargetsConfig{}, q);
  ASSERT_TRUE(report) << report.error().message;

  // The recount: nothing but the events and their details.
  // "name":"text" or "name":true/false/123 in a detail, read by hand (details are flat JSON).
  auto field = [](const std::string& detail, const std::string& name) {
    const std::string key = "\"" + name + "\":";
    const auto at = detail.find(key);
    if (at == std::string::npos) return std::string();
    std::size_t from = at + key.size();
    if (detail[from] == '"') {
      ++from;
      return detail.substr(from, detail.find('"', from) - from);
    }
    return detail.substr(from, detail.find_first_of(",}", from) - from);
  };
  std::map<std::string, ReportFigures> expected;
  std::map<std::string, std::pair<std::string, Timestamp>> open_tasks;  // task -> agency, due
  for (const AuditEvent& e : *store_->audit_events(1, 10000)) {
    if (e.action == "handover.recorded") {
      ReportFigures& f = expected[field(e.detail, "from")];
      const std::string channel = field(e.detail, "channel");
      ++f.handovers;
      f.electronic += channel == "electronic" || channel == "electronic+paper";
      f.with_paper += channel == "electronic+paper";
      f.paper += channel == "paper";
    } else if (e.action == "task.completed") {
      ++expected[e.agency].steps_completed;
      expected[e.agency].steps_on_time += field(e.detail, "on_time") == "true";
    } else if (e.action == "dossier.registered") {
      ReportFigures& f = expected[e.agency];
      ++f.dossiers;
      f.dossiers_online += field(e.detail, "channel") == "online";
      f.dossiers_in_person += field(e.detail, "channel") == "in_person";
    } else if (e.action == "instance.finished" && !field(e.detail, "dossier").empty()) {
      ++expected[e.agency].dossiers_completed;
      expected[e.agency].dossiers_on_time += field(e.detail, "on_time") == "true";
    }
    if (e.action == "task.created") {
      open_tasks[field(e.detail, "task")] = {e.agency, std::stoll(field(e.detail, "due"))};
    } else if (e.action == "task.completed" || e.action == "task.cancelled") {
      open_tasks.erase(field(e.detail, "task"));
    }
  }
  for (const auto& [task, open] : open_tasks) {
    if (open.second > 0 && open.second < clock_.now()) ++expected[open.first].overdue_open;
  }

  ASSERT_EQ(report->rows.size(), 2u);
  ReportFigures total;
  for (const ReportRow& row : report->rows) {
    const ReportFigures& want = expected[row.agency];
    total.add(want);
    const ReportFigures& got = row.figures;
    EXPECT_EQ(got.handovers, want.handovers) << row.agency;
    EXPECT_EQ(got.electronic, want.electronic) << row.agency;
    EXPECT_EQ(got.with_paper, want.with_paper) << row.agency;
    EXPECT_EQ(got.paper, want.paper) << row.agency;
    EXPECT_EQ(got.steps_completed, want.steps_completed) << row.agency;
    EXPECT_EQ(got.steps_on_time, want.steps_on_time) << row.agency;
    EXPECT_EQ(got.dossiers, want.dossiers) << row.agency;
    EXPECT_EQ(got.dossiers_online, want.dossiers_online) << row.agency;
    EXPECT_EQ(got.dossiers_in_person, want.dossiers_in_person) << row.agency;
    EXPECT_EQ(got.dossiers_completed, want.dossiers_completed) << row.agency;
    EXPECT_EQ(got.dossiers_on_time, want.dossiers_on_time) << row.agency;
    EXPECT_EQ(got.overdue_open, want.overdue_open) << row.agency;
  }
  // And the figures themselves, as the scenario made them.
  const ReportFigures& h53 =
      report->rows[0].agency == kA53 ? report->rows[1].figures : report->rows[0].figures;
  const ReportFigures& a53 =
      report->rows[0].agency == kA53 ? report->rows[0].figures : report->rows[1].figures;
  EXPECT_EQ(h53.handovers, 1);
  EXPECT_EQ(h53.electronic_share(), 1.0);
  EXPECT_EQ(a53.handovers, 2);
  EXPECT_EQ(a53.electronic_share(), 0.5);  // electronic with a paper copy counts as electronic
  EXPECT_EQ(h53.dossiers, 2);
  EXPECT_EQ(h53.online_share(), 0.5);
  EXPECT_EQ(h53.dossiers_completed, 2);
  EXPECT_EQ(h53.dossiers_on_time, 1);
  EXPECT_EQ(a53.overdue_open, 1);
  EXPECT_EQ(report->total.figures.handovers, total.handovers);
  // A53 falls short of the electronic target (100%) by half; H53 of the on-time target (95%).
  ASSERT_EQ(a53.handovers, 2);
  const auto& a53_row = report->rows[0].agency == kA53 ? report->rows[0] : report->rows[1];
  ASSERT_FALSE(a53_row.shortfalls.empty());
  EXPECT_EQ(a53_row.shortfalls[0].figure, "electronic_share");
  EXPECT_DOUBLE_EQ(a53_row.shortfalls[0].gap, 0.5);

  // Nothing the day before.
  q.period = *parse_report_period("2026-11-22");
  auto before = make_report(*store_, agencies, TargetsConfig{}, q);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->rows.empty());
  EXPECT_TRUE(before->total.figures.empty());
}

}  // namespace
}  // namespace lienthong
