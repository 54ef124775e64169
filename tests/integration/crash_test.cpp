// 20,000 submissions to a real `lienthong serve` process that is killed with SIGKILL at random
// moments and restarted. Clients retry what was not acknowledged. Afterwards every acknowledged
// document is present exactly once, each with its workflow in a consistent state, and the audit
// chain verifies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/loopback_http.hpp"
#include "base/encoding.hpp"
#include "engine/sqlite.hpp"
#include "engine/store.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"
#include "tests/app/test_cli.hpp"
#include "tests/integration/node_process.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using testing::NodeProcess;
using testing::spawn_node;
constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";
constexpr int kDocuments = 20000;

TEST(Crash, NothingAcknowledgedIsLostOrDuplicatedAcrossKills) {
  const fs::path dir = fs::temp_directory_path() / ("lt-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ASSERT_TRUE(write_demo_pki(dir / "pki", std::time(nullptr)));
  const std::string agencies = testing::demo_agencies_xml({kH53, kA53});
  ASSERT_TRUE(
      write_file(dir / "node.xml",
                 std::string("<node xmlns=\"urn:lienthong:config:1\" id=\"crash\">") +
                     "<listen address=\"127.0.0.1\" port=\"0\"/><store path=\"node.db\"/>" +
                     "<trust><anchor file=\"pki/ca.pem\"/></trust><workflows dir=\"" +
                     LIENTHONG_SOURCE_DIR + "/workflows/definitions\"/><agencies>" + agencies +
                     "</agencies><users><user name=\"clerk\" role=\"clerk\" agency=\"" + kH53 +
                     "\" token-sha256=\"" + sha256_hex("crash-token") + "\"/></users></node>"));

  // 20,000 distinct signed packages (distinct DocumentIds).
  auto sample =
      decode_edxml(*read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml"));
  ASSERT_TRUE(sample);
  Package p = std::move(*sample);
  p.extra_header.clear();
  p.attachments.front().data = std::string(2000, 'a');
  p.attachments.front().sha256_hex = sha256_hex(p.attachments.front().data);
  auto key = load_signing_key(dir / "pki" / kH53 / "signer.key", dir / "pki" / kH53 / "signer.pem");
  ASSERT_TRUE(key);
  std::vector<std::string> packages(kDocuments);
  for (int i = 0; i < kDocuments; ++i) {
    p.document.code_number = std::to_string(i);
    p.document.document_id = std::string(kH53) + ",2026/11/23," + std::to_string(i) + "/STC";
    packages[i] = *sign_package(encode_edxml(p), *key);
  }

  std::vector<std::uint8_t> acked(kDocuments, 0);
  std::mutex mutex;
  std::vector<int> todo(kDocuments);
  for (int i = 0; i < kDocuments; ++i) todo[i] = kDocuments - 1 - i;
  std::mt19937 rng(20261122);
  int kills = 0;
  while (true) {
    {
      std::lock_guard lock(mutex);
      if (todo.empty()) break;
    }
    NodeProcess child = spawn_node(dir, "node.xml");
    // Kill after a random number of acknowledgements in this round, except in the last rounds.
    const bool kill_this_round = kills < 5;
    const int kill_after = std::uniform_int_distribution<int>(300, 3000)(rng);
    std::atomic<int> acked_this_round{0};
    std::atomic<bool> killed{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&] {
        std::unique_ptr<LoopbackConnection> conn;
        for (;;) {
          int i;
          {
            std::lock_guard lock(mutex);
            if (todo.empty()) return;
            i = todo.back();
            todo.pop_back();
          }
          if (!conn) conn = std::make_unique<LoopbackConnection>(child.port);
          const int status = conn->post("/api/v1/documents", "crash-token", packages[i]);
          if (status == 202 || status == 200) {
            std::lock_guard lock(mutex);
            acked[i]++;
            if (kill_this_round && ++acked_this_round == kill_after && !killed.exchange(true)) {
              ::kill(child.pid, SIGKILL);
            }
            continue;
          }
          {
            std::lock_guard lock(mutex);
            todo.push_back(i);  // not acknowledged: retry later (the node deduplicates)
          }
          if (status < 0) return;  // the node is gone
          ADD_FAILURE() << "unexpected status " << status;
          return;
        }
      });
    }
    for (auto& c : clients) c.join();
    if (killed) {
      ++kills;
    } else {
      ::kill(child.pid, SIGTERM);  // all done: a graceful stop
    }
    int wstatus = 0;
    ::waitpid(child.pid, &wstatus, 0);
  }
  EXPECT_GE(kills, 3);
  for (int i = 0; i < kDocuments; ++i) ASSERT_GE(acked[i], 1) << i;

  // Exactly once, each with one consistent instance, and an intact audit chain.
  auto db = sqlite::Db::open((dir / "node.db").string(), true);
  ASSERT_TRUE(db);
  auto scalar = [&](const std::string& sql) -> std::int64_t {
    auto st = db->prepare(sql);
    EXPECT_TRUE(st) << sql;
    auto row = st->step();
    EXPECT_TRUE(row && *row) << sql;
    return st->int64(0);
  };
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM documents"), kDocuments);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT message_id) FROM documents"), kDocuments);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM instances"), kDocuments);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM documents d WHERE (SELECT COUNT(*) FROM instances i WHERE "
                   "i.document = d.id) != 1"),
            0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM tasks WHERE state = 'open' AND step = 'register'"),
            kDocuments);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM hand_overs"), kDocuments);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'document.received'"),
            kDocuments);
  auto store = open_sqlite_store((dir / "node.db").string());
  auto chain = verify_audit_chain(*store);
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->ok) << chain->problem;
  store.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lienthong
