#include "app/demo_federation.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "app/federation.hpp"
#include "app/loopback_http.hpp"
#include "app/node.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kG22 = "000.00.00.G22";
constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";
constexpr const char* kH12 = "000.00.12.H53";
constexpr const char* kH41 = "000.00.00.H41";

std::string name_of(const std::string& code) {
  for (const auto& a : demo_agencies()) {
    if (code == a.code) return a.name;
  }
  return code;
}

const char* meaning(const std::string& code) {
  static const std::map<std::string, const char*> kMeanings = {
      {"01", "arrived"},  {"02", "rejected"},        {"03", "accepted"},
      {"04", "assigned"}, {"05", "processing"},      {"06", "completed"},
      {"13", "recalled"}, {"15", "recall accepted"}, {"16", "recall refused"}};
  auto it = kMeanings.find(code);
  return it == kMeanings.end() ? "?" : it->second;
}

class Demo {
 public:
  Demo(const fs::path& dir, const fs::path& workflows, std::ostream& out)
      : federation_(dir,
                    {{"chinh-phu", {kG22}}, {"tay-ninh", {kH53, kA53, kH12}}, {"nghe-an", {kH41}}},
                    std::time(nullptr)),
        out_(out) {
    for (std::size_t i = 0; i < federation_.nodes().size(); ++i) {
      ConfigResult r = load_node_config(
          federation_.config_xml(i, workflows.string(), "retry-first=\"PT1S\" retry-max=\"PT5S\""),
          federation_.config_path(i));
      if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
      configs_.push_back(std::make_unique<NodeConfig>(std::move(*r.config)));
      nodes_.push_back(std::make_unique<Node>(*configs_.back()));
      nodes_.back()->start();
      for (const auto& a : federation_.nodes()[i].agencies) host_[a] = i;
    }
  }
  ~Demo() {
    for (auto& n : nodes_) n->stop(std::chrono::milliseconds(200));
  }

  void describe_nodes() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      out_ << "   " << federation_.nodes()[i].id << ": API 127.0.0.1:" << nodes_[i]->port()
           << ", peering 127.0.0.1:" << nodes_[i]->peer_port() << ", hosts";
      for (const auto& a : federation_.nodes()[i].agencies) out_ << " " << a;
      out_ << "\n";
    }
  }
  const std::string& node_of(const std::string& agency) {
    return federation_.nodes()[host_.at(agency)].id;
  }

  json::value call(const std::string& agency, const std::string& method, const std::string& target,
                   const std::string& body = "", int* status = nullptr) {
    LoopbackReply r = loopback_http(nodes_[host_.at(agency)]->port(), method, target,
                                    LoopbackFederation::clerk_token(agency), body);
    if (status) *status = r.status;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    return ec ? json::value() : v;
  }

  // Waits (up to 20 s) for `agency` to have an open task at `step`; returns its id or 0.
  std::int64_t task(const std::string& agency, const std::string& step) {
    for (int i = 0; i < 1000; ++i) {
      json::value v = call(agency, "GET", "/api/v1/agencies/" + agency + "/inbox");
      if (const json::object* o = v.if_object(); o && o->contains("tasks")) {
        for (const auto& t : o->at("tasks").as_array()) {
          if (t.at("step").as_string() == step) return t.at("id").as_int64();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ++failures_;
    out_ << "   !! " << agency << " never had a task at " << step << "\n";
    return 0;
  }
  // Completes `agency`'s task at `step` with `outcome`.
  void act(const std::string& agency, const std::string& step, const std::string& outcome) {
    const std::int64_t id = task(agency, step);
    if (id == 0) return;
    int status = 0;
    json::value v = call(agency, "POST", "/api/v1/tasks/" + std::to_string(id),
                         "{\"outcome\":\"" + outcome + "\"}", &status);
    if (status != 200) {
      ++failures_;
      out_ << "   !! " << agency << " " << step << " " << outcome << ": HTTP " << status << " "
           << json::serialize(v) << "\n";
    }
  }
  // The latest status each recipient sent back about `sender`'s first document, once `expected`
  // are all there (up to 20 s).
  // `expected` lists the codes each recipient may show (a refused recall shows 16, or 05 once
  // processing resumes and its packet is newer).
  std::map<std::string, std::string> latest(
      const std::string& sender, const std::map<std::string, std::set<std::string>>& expected) {
    std::map<std::string, std::string> seen;
    auto as_expected = [&] {
      if (seen.size() != expected.size()) return false;
      for (const auto& [agency, codes] : expected) {
        auto it = seen.find(agency);
        if (it == seen.end() || !codes.count(it->second)) return false;
      }
      return true;
    };
    for (int i = 0; i < 1000; ++i) {
      seen.clear();
      json::value v = call(sender, "GET", "/api/v1/agencies/" + sender + "/outbox");
      if (const json::object* o = v.if_object(); o && o->contains("documents")) {
        const auto& docs = o->at("documents").as_array();
        if (!docs.empty()) {
          for (const auto& [k, code] : docs.back().at("latest_status").as_object())
            seen[std::string(k)] = std::string(code.as_string());
        }
      }
      if (as_expected()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!as_expected()) {
      ++failures_;
      out_ << "   !! the statuses did not all come back\n";
    }
    out_ << "   at the sender:";
    for (const auto& [agency, code] : seen)
      out_ << "  " << agency << " " << code << " (" << meaning(code) << ")";
    out_ << "\n";
    return seen;
  }

  std::string signed_by_signer(const std::string& agency, const std::string& xml) {
    const fs::path p = federation_.dir() / "pki" / agency;
    auto signer = load_signing_key(p / "signer.key", p / "signer.pem");
    if (!signer) throw std::runtime_error(signer.error().message);
    auto signed_once = sign_package(xml, *signer);
    if (!signed_once) throw std::runtime_error(signed_once.error().message);
    return *signed_once;
  }

  int run(const std::string& sample) {
    out_ << "\n3. A federation on loopback: three nodes, mutual TLS between them, under "
         << federation_.dir().string() << "\n";
    describe_nodes();

    // The sample, addressed to A53 (same node), G22 and H41 (two other nodes).
    std::string xml = sample;
    for (const char* to : {kH41, kG22}) {
      xml.insert(xml.find("<edXML:To>"), std::string("<edXML:To><edXML:OrganId>") + to +
                                             "</edXML:OrganId><edXML:OrganName>" + name_of(to) +
                                             "</edXML:OrganName></edXML:To>");
    }
    out_ << "\n4. " << name_of(kH53) << " (" << kH53 << ", " << node_of(kH53)
         << ") sends a document to " << kA53 << ", " << kG22 << " and " << kH41 << "\n";
    int status = 0;
    json::value sent =
        call(kH53, "POST", "/api/v1/documents", signed_by_signer(kH53, xml), &status);
    if (status != 202) {
      out_ << "   !! refused: " << json::serialize(sent) << "\n";
      return 1;
    }
    out_ << "   signed by its signer; " << node_of(kH53)
         << " added the organisation's signature and accepted it as document "
         << sent.at("id").as_int64() << "\n";
    for (const char* to : {kA53, kG22, kH41}) {
      if (task(to, "register") == 0) continue;
      out_ << "   " << to << " (" << name_of(to) << ") on " << node_of(to) << ": "
           << (node_of(to) == node_of(kH53) ? "handed over on the same node"
                                            : "delivered over mutual TLS, verified, stored")
           << "; its clerk has a task \"register\"\n";
    }

    out_ << "\n5. The recipients act; each status packet travels back signed by its agency\n";
    act(kG22, "register", "accept");
    act(kG22, "assign", "assign");
    out_ << "   " << kG22 << " accepts (03), assigns (04); processing starts (05)\n";
    act(kH41, "register", "accept");
    out_ << "   " << kH41 << " accepts (03)\n";
    act(kA53, "register", "reject");
    out_ << "   " << kA53 << " rejects (02)\n";
    latest(kH53, {{kA53, {"02"}}, {kG22, {"05"}}, {kH41, {"03"}}});

    out_ << "\n6. The sender recalls the document (a package of its own, BussinessDocType 1)\n";
    std::string recall = xml;
    const std::string type = "<edXML:BussinessDocType>0</edXML:BussinessDocType>";
    if (auto at = recall.find(type); at != std::string::npos)
      recall.replace(at, type.size(), "<edXML:BussinessDocType>1</edXML:BussinessDocType>");
    call(kH53, "POST", "/api/v1/documents", signed_by_signer(kH53, recall), &status);
    if (status != 202) ++failures_;
    act(kG22, "recall-received", "refuse-recall");
    out_ << "   " << kG22 << " refuses the recall (16) and goes on processing (05)\n";
    act(kH41, "recall-received", "accept-recall");
    out_ << "   " << kH41 << " accepts the recall (15): withdrawn\n";
    out_ << "   " << kA53 << " had already rejected it: its node answers 16 at once\n";
    latest(kH53, {{kA53, {"16"}}, {kG22, {"16", "05"}}, {kH41, {"15"}}});
    act(kG22, "process", "complete");
    out_ << "   " << kG22 << " completes it (06)\n";
    latest(kH53, {{kA53, {"16"}}, {kG22, {"06"}}, {kH41, {"15"}}});

    out_ << "\n7. A dossier at the one-stop desk of " << name_of(kH12) << " (" << kH12
         << "), consulting " << kH53 << " and " << kA53 << "\n";
    json::value dossier =
        call(kH12, "POST", "/api/v1/dossiers",
             std::string(R"({"procedure":"1.001234 Cấp phiếu lý lịch tư pháp","applicant":)") +
                 R"("Nguyễn Văn An","channel":"online","consulted":[")" + kH53 + R"(",")" + kA53 +
                 R"("]})",
             &status);
    if (status != 201) {
      out_ << "   !! refused: " << json::serialize(dossier) << "\n";
      return 1;
    }
    out_ << "   registered as " << std::string(dossier.at("code").as_string())
         << " (NĐ 61/2018: agency, day, number); the desk accepts it and the specialist forwards "
            "it\n";
    act(kH12, "receive", "accept");
    act(kH12, "review", "forward");
    for (const char* agency : {kH53, kA53}) {
      act(agency, "register", "accept");
      act(agency, "assign", "assign");
      act(agency, "process", "complete");
      out_ << "   " << agency << " registers, assigns and completes its part (06)\n";
    }
    act(kH12, "decide", "approve");
    act(kH12, "return-result", "returned");
    out_ << "   every consulted agency answered: the leader approves, the desk returns the result "
            "(06)\n";

    out_ << "\n8. The audit logs\n";
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      auto check = verify_audit_chain(nodes_[i]->store());
      const bool ok = check && check->ok;
      if (!ok) ++failures_;
      out_ << "   " << federation_.nodes()[i].id << ": " << (check ? check->events : 0)
           << " events, hash chain " << (ok ? "intact" : "BROKEN") << "\n";
    }
    out_ << "\n"
         << (failures_ == 0 ? "Everything happened as expected." : "Something went wrong.")
         << " The nodes' databases stay under " << federation_.dir().string() << "\n";
    return failures_ == 0 ? 0 : 1;
  }

 private:
  LoopbackFederation federation_;
  std::ostream& out_;
  std::vector<std::unique_ptr<NodeConfig>> configs_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, std::size_t> host_;
  int failures_ = 0;
};

}  // namespace

int run_demo_federation(const fs::path& dir, const fs::path& sample, const fs::path& workflows,
                        std::ostream& out) {
  auto xml = read_file(sample);
  if (!xml) {
    out << "lienthong demo: " << xml.error().message << "\n";
    return 2;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  Demo demo(dir, workflows, out);
  return demo.run(*xml);
}

}  // namespace lienthong::cli
