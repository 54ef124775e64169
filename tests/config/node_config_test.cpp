#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/encoding.hpp"
#include "config/node_config.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kExamples = LIENTHONG_CONFIG_EXAMPLES;

std::string join(const ConfigResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
  return out;
}

// Does some diagnostic stand at `line` and say `text`?
bool reports(const ConfigResult& r, long line, const std::string& text) {
  for (const auto& d : r.diagnostics) {
    if (d.line == line && d.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// A valid configuration; line 11 holds EXTRA, where the cases below put their snippet.
constexpr const char* kBase = R"(<?xml version="1.0" encoding="UTF-8"?>
<node xmlns="urn:lienthong:config:1" id="test-node">
  <listen address="127.0.0.1" port="0"/>
  <store path="var/test.db"/>
  <trust><anchor file="pki/ca.pem"/></trust>
  <agencies>
    <agency code="000.00.11.H53" name="Sở Tài chính tỉnh Tây Ninh">
      <organisation cert="pki/o.pem" key="pki/o.key"/>
    </agency>
  </agencies>
  EXTRA
</node>
)";

std::string replaced(std::string text, const std::string& what, const std::string& by) {
  auto pos = text.find(what);
  EXPECT_NE(pos, std::string::npos) << what;
  if (pos != std::string::npos) text.replace(pos, what.size(), by);
  return text;
}

std::string with_extra(const std::string& snippet) {
  return replaced(kBase, "EXTRA", snippet);
}

std::string valid() {
  return with_extra("");
}

const std::string kHash = std::string(64, 'a');

// ---- the bundled files -------------------------------------------------------------------------

TEST(NodeConfigExamples, EveryExampleLoadsWithoutDiagnostics) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    if (entry.path().extension() != ".xml") continue;
    ++count;
    ConfigResult r = load_node_config_file(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << "\n" << join(r);
    EXPECT_TRUE(r.diagnostics.empty()) << entry.path();
  }
  EXPECT_GE(count, 2) << "config/examples should hold at least the provincial and minimal nodes";
}

TEST(NodeConfigExamples, ProvincialNodeReadsTheModel) {
  ConfigResult r = load_node_config_file(kExamples + "/provincial-node.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  const NodeConfig& c = *r.config;
  EXPECT_EQ(c.id, "tayninh-province");
  EXPECT_EQ(c.name, "Trục liên thông tỉnh Tây Ninh");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 8080);
  ASSERT_TRUE(c.peering);
  EXPECT_EQ(c.peering->port, 8443);
  EXPECT_EQ(c.peering->client_ca, "/etc/lienthong/tls/peers-ca.pem");
  EXPECT_EQ(c.peering->retry_first, std::chrono::seconds(5));
  EXPECT_EQ(c.peering->retry_max, std::chrono::seconds(900));
  EXPECT_EQ(c.peering->dead_after, std::chrono::seconds(3 * 86400));
  EXPECT_EQ(c.store_path, "/var/lib/lienthong/lienthong.db");
  EXPECT_EQ(c.limits.write_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.trust.anchors.size(), 2u);
  EXPECT_EQ(c.trust.crls.size(), 1u);
  EXPECT_TRUE(c.trust.allow_sha1);
  EXPECT_EQ(c.audit.checkpoint_interval, std::chrono::minutes(15));
  EXPECT_EQ(c.audit.checkpoint_events, 5000u);
  EXPECT_EQ(c.audit.key, "/etc/lienthong/audit/tayninh.audit-key");
  EXPECT_EQ(c.audit.origin, "lienthong.tayninh.gov.vn/audit");
  EXPECT_DOUBLE_EQ(c.targets.online_share, 0.40);
  EXPECT_DOUBLE_EQ(c.targets.on_time_share, 0.95);
  EXPECT_EQ(c.agencies.size(), 6u);
  const AgencyConfig* stc = c.find_local_agency("000.00.11.H53");
  ASSERT_NE(stc, nullptr);
  EXPECT_EQ(stc->name, "Sở Tài chính tỉnh Tây Ninh");
  EXPECT_EQ(stc->parent, "000.00.00.H53");
  EXPECT_EQ(stc->signer_certs, std::vector<std::string>{"pki/000.00.11.H53/signer.pem"});
  EXPECT_EQ(stc->organisation_certs,
            std::vector<std::string>{"pki/000.00.11.H53/organisation.pem"});
  EXPECT_EQ(stc->organisation_key, "pki/000.00.11.H53/organisation.key");
  EXPECT_EQ(c.find_local_agency("000.00.00.H53")->signer_certs.size(), 2u);
  EXPECT_EQ(c.find_local_agency("000.00.00.G22"), nullptr);

  ASSERT_EQ(c.peers.size(), 2u);
  auto g22 = c.find_remote_agency("000.00.00.G22");
  ASSERT_TRUE(g22);
  EXPECT_EQ(g22->peer->id, "vpcp");
  EXPECT_EQ(g22->peer->endpoint, "https://lienthong.chinhphu.vn:8443");
  EXPECT_EQ(g22->agency->name, "Văn phòng Chính phủ");
  EXPECT_TRUE(g22->agency->organisation_key.empty());
  auto h41 = c.find_remote_agency("000.00.00.H41");
  ASSERT_TRUE(h41);
  EXPECT_EQ(h41->peer->id, "nghean-province");
  EXPECT_EQ(h41->agency->organisation_certs.size(), 2u);
  EXPECT_FALSE(c.find_remote_agency("000.00.11.H53"));
  EXPECT_EQ(c.find_peer("vpcp"), g22->peer);

  EXPECT_EQ(c.users.size(), 9u);
  const UserConfig* snv = c.find_user("vanthu.snv");
  ASSERT_NE(snv, nullptr);
  EXPECT_EQ(snv->role, Role::clerk);
  EXPECT_EQ(snv->agency, "000.00.08.H53");
  EXPECT_TRUE(snv->token_sha256.empty());
  // OpenSSL's colon-separated upper-case fingerprint is kept as plain lower-case hex.
  EXPECT_EQ(snv->cert_sha256, sha256_hex("x"));
  const UserConfig* auditor = c.find_user("kiemtra.stc");
  ASSERT_NE(auditor, nullptr);
  EXPECT_EQ(auditor->role, Role::auditor);
  EXPECT_EQ(auditor->agency, "000.00.11.H53");
  EXPECT_EQ(c.find_user("thanhtra")->agency, "");
  EXPECT_EQ(c.find_user_by_token_sha256(sha256_hex("example-c")), c.find_user("vanthu.stc"));
  EXPECT_EQ(c.find_user_by_token_sha256(sha256_hex("nobody")), nullptr);
  EXPECT_EQ(c.find_user_by_token_sha256(""), nullptr);

  ASSERT_EQ(c.calendar.holidays.size(), 6u);
  EXPECT_EQ(c.calendar.holidays[1].name, "Tết Bính Ngọ");
  EXPECT_EQ(c.calendar.holidays[1].from, (ConfigDate{2026, 2, 14}));
  EXPECT_EQ(c.calendar.holidays[1].to, (ConfigDate{2026, 2, 22}));
  EXPECT_EQ(c.calendar.holiday_dates().size(), 1u + 9u + 1u + 1u + 1u + 2u);
}

TEST(NodeConfigExamples, MinimalNodeTakesTheDefaults) {
  ConfigResult r = load_node_config_file(kExamples + "/minimal.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  const NodeConfig& c = *r.config;
  const LimitsConfig limits;
  EXPECT_EQ(c.limits.max_body, limits.max_body);
  EXPECT_EQ(c.limits.max_body, 256u * 1024 * 1024);
  EXPECT_EQ(c.limits.read_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.limits.max_xml_depth, 64);
  EXPECT_DOUBLE_EQ(c.targets.electronic_share, 1.0);
  EXPECT_DOUBLE_EQ(c.targets.on_time_share, 0.95);
  EXPECT_DOUBLE_EQ(c.targets.online_share, 0.30);
  EXPECT_EQ(c.calendar.utc_offset_seconds, 7 * 3600);
  EXPECT_TRUE(c.calendar.holidays.empty());
  EXPECT_FALSE(c.trust.allow_sha1);
  EXPECT_EQ(c.audit.checkpoint_interval, std::chrono::hours(1));
  EXPECT_FALSE(c.peering);
  EXPECT_FALSE(c.workflows_dir);
  EXPECT_FALSE(c.demo_pki_dir);
  EXPECT_TRUE(c.peers.empty());
  EXPECT_TRUE(c.users.empty());
  ASSERT_EQ(c.agencies.size(), 1u);
  EXPECT_TRUE(c.agencies[0].parent.empty());
  // Relative paths are relative to the file's folder, made absolute.
  const fs::path folder = fs::absolute(kExamples).lexically_normal();
  EXPECT_EQ(fs::path(c.base_dir), folder);
  EXPECT_EQ(c.resolve(c.store_path), (folder / "var/lienthong.db").string());
  EXPECT_EQ(c.file, kExamples + "/minimal.xml");
}

TEST(DefaultNodeConfig, LoadsWithTheDemoAgenciesAndUsers) {
  const NodeConfig& c = default_node_config();
  EXPECT_EQ(&c, &default_node_config());  // loaded once
  EXPECT_EQ(c.id, "lienthong-demo");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_EQ(c.store_path, "./var/lienthong.db");
  ASSERT_TRUE(c.demo_pki_dir);
  EXPECT_EQ(*c.demo_pki_dir, "./var/pki");
  EXPECT_EQ(c.trust.anchors, std::vector<std::string>{"./var/pki/ca.pem"});
  ASSERT_TRUE(c.workflows_dir);
  EXPECT_EQ(*c.workflows_dir, "./workflows/definitions");
  EXPECT_FALSE(c.peering);
  EXPECT_TRUE(c.peers.empty());
  // No folder: relative paths stay relative to the working directory.
  EXPECT_EQ(c.base_dir, "");
  EXPECT_EQ(c.resolve(c.store_path), "var/lienthong.db");

  const std::vector<std::pair<std::string, std::string>> agencies = {
      {"000.00.00.G22", "Văn phòng Chính phủ"},
      {"000.00.11.H53", "Sở Tài chính tỉnh Tây Ninh"},
      {"000.00.01.A53", "Văn phòng Tỉnh ủy Tây Ninh"},
      {"000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An"},
  };
  ASSERT_EQ(c.agencies.size(), agencies.size());
  for (std::size_t i = 0; i < agencies.size(); ++i) {
    const AgencyConfig& a = c.agencies[i];
    EXPECT_EQ(a.code, agencies[i].first);
    EXPECT_EQ(a.name, agencies[i].second);
    const std::string dir = "./var/pki/" + a.code + "/";
    EXPECT_EQ(a.signer_certs, std::vector<std::string>{dir + "signer.pem"});
    EXPECT_EQ(a.organisation_certs, std::vector<std::string>{dir + "organisation.pem"});
    EXPECT_EQ(a.organisation_key, dir + "organisation.key");
  }

  const auto tokens = demo_tokens();
  ASSERT_EQ(c.users.size(), tokens.size());
  int clerks = 0;
  for (const DemoToken& t : tokens) {
    const UserConfig* u = c.find_user_by_token_sha256(sha256_hex(t.token));
    ASSERT_NE(u, nullptr) << t.user;
    EXPECT_EQ(u->name, t.user);
    EXPECT_EQ(u->role, t.role);
    EXPECT_EQ(u->agency, t.agency);
    EXPECT_NE(u->token_sha256, t.token);  // only the hash is in the configuration
    EXPECT_EQ(default_node_config_xml().find(t.token), std::string_view::npos) << t.token;
    if (t.role == Role::clerk) {
      ++clerks;
      EXPECT_NE(c.find_local_agency(t.agency), nullptr);
    }
  }
  EXPECT_EQ(clerks, 4);
  EXPECT_NE(c.find_user("admin"), nullptr);
  EXPECT_EQ(c.find_user("admin")->role, Role::administrator);
  EXPECT_EQ(c.find_user("auditor")->role, Role::auditor);
}

TEST(DefaultNodeConfig, TheEmbeddedTextIsTheOneLoaded) {
  ConfigResult r = load_node_config(default_node_config_xml(), "default.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->agencies.size(), default_node_config().agencies.size());
  EXPECT_EQ(r.config->calendar.holiday_dates(), default_node_config().calendar.holiday_dates());
  EXPECT_THAT(std::string(node_config_xsd()), HasSubstr("urn:lienthong:config:1"));
}

// ---- every problem, with its line
// ----------------------------------------------------------------

constexpr const char* kManyErrors = R"(<?xml version="1.0" encoding="UTF-8"?>
<node xmlns="urn:lienthong:config:1" id="Bad Node">
  <listen address="localhost" port="70000"/>
  <store path=""/>
  <limits max-body="12" read-timeout="P1D" colour="blue"/>
  <trust allow-sha1="yes"><anchor file="ca.pem"/></trust>
  <calendar utc-offset="+25:00">
    <holiday date="2026-02-30"/>
    <holiday from="2026-05-02" to="2026-05-01"/>
  </calendar>
  <targets on-time-share="1.5"/>
  <weather/>
  <agencies>
    <agency code="000.00.11.h53" name="lower case"><organisation cert="o.pem" key="o.key"/></agency>
    <agency code="000.00.01.A53" name="A"><organisation cert="o.pem" key="o.key"/></agency>
    <agency code="000.00.01.A53" name="again"><organisation cert="o.pem" key="o.key"/></agency>
  </agencies>
  <peering address="0.0.0.0" port="8443" cert="t.pem" key="t.key" client-ca="ca.pem"/>
  <peers>
    <peer id="p1" endpoint="http://peer.example.vn" tls-cert="p.pem">
      <agency code="000.00.01.A53" name="also local"/>
    </peer>
  </peers>
  <users>
    <user name="u1" role="boss" token-sha256="abc"/>
    <user name="u2" role="clerk" token-sha256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"/>
    <user name="u2" role="auditor" agency="000.00.99.H53"/>
  </users>
</node>
)";

TEST(LoadNodeConfig, ReportsEveryProblemWithItsLine) {
  ConfigResult r = load_node_config(kManyErrors, "bad.xml");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config);
  const std::string all = join(r);
  EXPECT_TRUE(reports(r, 2, "id 'Bad Node' must be")) << all;
  EXPECT_TRUE(reports(r, 3, "address 'localhost' is not an IPv4 or IPv6 address")) << all;
  EXPECT_TRUE(reports(r, 3, "port '70000' is not a port number from 0 to 65535")) << all;
  EXPECT_TRUE(reports(r, 4, "path is empty")) << all;
  EXPECT_TRUE(reports(r, 5, "max-body '12' is not a whole number from 1024")) << all;
  EXPECT_TRUE(reports(r, 5, "read-timeout: duration 'P1D' counts days")) << all;
  EXPECT_TRUE(reports(r, 5, "attribute 'colour' is not allowed")) << all;
  EXPECT_TRUE(reports(r, 6, "allow-sha1 'yes' is neither true nor false")) << all;
  EXPECT_TRUE(reports(r, 7, "utc-offset '+25:00' is beyond")) << all;
  EXPECT_TRUE(reports(r, 8, "date '2026-02-30' does not exist")) << all;
  EXPECT_TRUE(reports(r, 9, "from 2026-05-02 is after to 2026-05-01")) << all;
  EXPECT_TRUE(reports(r, 11, "on-time-share '1.5' is not a share from 0 to 1")) << all;
  EXPECT_TRUE(reports(r, 12, "Element 'weather': This element is not expected")) << all;
  EXPECT_TRUE(reports(r, 14, "agency code '000.00.11.h53' may hold only digits")) << all;
  EXPECT_TRUE(reports(r, 16, "agency 000.00.01.A53 is already hosted here (line 15)")) << all;
  EXPECT_TRUE(reports(r, 20, "endpoint 'http://peer.example.vn' is plain HTTP")) << all;
  EXPECT_TRUE(reports(r, 21, "agency 000.00.01.A53 is hosted on this node (line 15)")) << all;
  EXPECT_TRUE(reports(r, 25, "role 'boss' is not one of clerk, administrator, auditor")) << all;
  EXPECT_TRUE(reports(r, 25, "token-sha256 must be 64 hexadecimal digits")) << all;
  EXPECT_TRUE(reports(r, 26, "a clerk needs agency")) << all;
  EXPECT_TRUE(reports(r, 27, "user 'u2' is already defined at line 26")) << all;
  EXPECT_TRUE(reports(r, 27, "agency 000.00.99.H53 is not hosted on this node")) << all;
  EXPECT_TRUE(reports(r, 27, "needs token-sha256")) << all;
  EXPECT_EQ(r.diagnostics.size(), 23u) << all;
  // Sorted by line, each naming the file.
  for (std::size_t i = 1; i < r.diagnostics.size(); ++i) {
    EXPECT_LE(r.diagnostics[i - 1].line, r.diagnostics[i].line);
  }
  EXPECT_EQ(r.diagnostics.front().to_string().rfind("bad.xml:2: <node>: id 'Bad Node'", 0), 0u)
      << r.diagnostics.front().to_string();
}

TEST(LoadNodeConfig, RefusesUnknownElements) {
  ConfigResult r = load_node_config(with_extra("<cache size=\"1\"/>"), "f.xml");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(reports(r, 11, "Element 'cache': This element is not expected")) << join(r);
  // Also deep inside.
  r = load_node_config(replaced(valid(), "<organisation ", "<seal/><organisation "), "f.xml");
  EXPECT_TRUE(reports(r, 8, "Element 'seal'")) << join(r);
}

TEST(LoadNodeConfig, RefusesUnknownAttributes) {
  ConfigResult r =
      load_node_config(replaced(valid(), "port=\"0\"", "port=\"0\" tls=\"on\""), "f.xml");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(reports(r, 3, "attribute 'tls' is not allowed")) << join(r);
  // A private key never belongs to a peer's agency.
  r = load_node_config(
      with_extra("<peering address=\"::\" port=\"8443\" cert=\"c\" key=\"k\" client-ca=\"a\"/>"
                 "<peers><peer id=\"p\" endpoint=\"https://p.vn\" tls-cert=\"p.pem\">"
                 "<agency code=\"000.00.00.G22\" name=\"G\"><organisation cert=\"o.pem\" "
                 "key=\"o.key\"/></agency></peer></peers>"),
      "f.xml");
  EXPECT_TRUE(reports(r, 11, "attribute 'key' is not allowed")) << join(r);
  // Attributes of other namespaces too.
  r = load_node_config(
      replaced(valid(), "id=\"test-node\"", "id=\"test-node\" xmlns:x=\"urn:x\" x:y=\"1\""),
      "f.xml");
  EXPECT_FALSE(r.ok()) << join(r);
}

TEST(LoadNodeConfig, RefusesMissingAndRepeatedElements) {
  ConfigResult r =
      load_node_config(replaced(valid(), "  <store path=\"var/test.db\"/>\n", "\n"), "f.xml");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(join(r), HasSubstr("store")) << join(r);
  r = load_node_config(with_extra("<store path=\"again.db\"/>"), "f.xml");
  EXPECT_TRUE(reports(r, 11, "Element 'store': This element is not expected")) << join(r);
  r = load_node_config(replaced(valid(), " key=\"pki/o.key\"", ""), "f.xml");
  EXPECT_TRUE(reports(r, 8, "attribute 'key' is required")) << join(r);
}

TEST(LoadNodeConfig, RefusesTheWrongNamespace) {
  ConfigResult r = load_node_config(
      replaced(valid(), "urn:lienthong:config:1", "urn:lienthong:workflow:1"), "f.xml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_TRUE(reports(r, 2, "the root element must be <node xmlns=\"urn:lienthong:config:1\">"))
      << join(r);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("namespace urn:lienthong:workflow:1"));
  r = load_node_config(replaced(valid(), " xmlns=\"urn:lienthong:config:1\"", ""), "f.xml");
  EXPECT_TRUE(reports(r, 2, "(found <node> in no namespace)")) << join(r);
  // A child in another namespace is an unknown element.
  r = load_node_config(with_extra("<x:users xmlns:x=\"urn:other\"/>"), "f.xml");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(reports(r, 11, "Element '{urn:other}users': This element is not expected"))
      << join(r);
}

TEST(LoadNodeConfig, RefusesDoctypeAndEntities) {
  const std::string xxe = R"(<?xml version="1.0"?>
<!DOCTYPE node [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<node xmlns="urn:lienthong:config:1" id="&x;"/>
)";
  ConfigResult r = load_node_config(xxe, "f.xml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("DOCTYPE"));
  EXPECT_FALSE(r.config);
}

TEST(LoadNodeConfig, RefusesMalformedXmlWithTheLine) {
  ConfigResult r = load_node_config(
      replaced(valid(), "<store path=\"var/test.db\"/>", "<store path=\"var/test.db\">"), "f.xml");
  ASSERT_EQ(r.diagnostics.size(), 1u) << join(r);
  EXPECT_GT(r.diagnostics[0].line, 0);
  EXPECT_EQ(r.diagnostics[0].file, "f.xml");
  r = load_node_config("", "empty.xml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("empty"));
  r = load_node_config(replaced(valid(), "id=\"test-node\"", "id=\"test-node\" id=\"x\""), "f.xml");
  EXPECT_TRUE(reports(r, 2, "")) << join(r);
  EXPECT_FALSE(r.config);
}

TEST(LoadNodeConfig, ReadsDropFolders) {
  ConfigResult r =
      load_node_config(with_extra("<folders><folder agency=\"000.00.11.H53\" path=\"exchange/stc\" "
                                  "settle=\"PT30S\"/></folders>"),
                       "/etc/lienthong/node.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  ASSERT_EQ(r.config->folders.size(), 1u);
  const FolderConfig& f = r.config->folders[0];
  EXPECT_EQ(f.agency, "000.00.11.H53");
  EXPECT_EQ(r.config->resolve(f.path), "/etc/lienthong/exchange/stc");
  EXPECT_EQ(f.settle, std::chrono::seconds(30));
  EXPECT_EQ(f.interval, std::chrono::seconds(5));
}

// ---- the rules, one by one
// -----------------------------------------------------------------------

struct RuleCase {
  const char* what;
  std::string snippet;  // goes on line 11
  const char* message;  // expected on line 11
};

void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.what;
}

class Rule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(Rule, IsReportedOnItsLine) {
  const RuleCase& c = GetParam();
  ConfigResult r = load_node_config(with_extra(c.snippet), "f.xml");
  EXPECT_FALSE(r.ok()) << c.what;
  EXPECT_TRUE(reports(r, 11, c.message)) << c.what << "\n" << join(r);
}

const std::string kPeering =
    "<peering address=\"0.0.0.0\" port=\"8443\" cert=\"c\" key=\"k\" client-ca=\"a\"/>";
std::string peer(const std::string& attrs, const std::string& code = "000.00.00.G22") {
  return "<peer " + attrs + " tls-cert=\"p.pem\"><agency code=\"" + code +
         "\" name=\"Văn phòng Chính phủ\"/></peer>";
}
std::string user(const std::string& attrs) {
  return "<users><user " + attrs + "/></users>";
}

INSTANTIATE_TEST_SUITE_P(
    NodeConfig, Rule,
    ::testing::Values(
        RuleCase{"retry cap below the first delay",
                 "<peering address=\"0.0.0.0\" port=\"8443\" cert=\"c\" key=\"k\" "
                 "client-ca=\"a\" retry-first=\"PT1M\" retry-max=\"PT10S\"/>",
                 "retry-max must not be shorter than retry-first"},
        RuleCase{"peers need peering",
                 "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn\"") + "</peers>",
                 "peers are reached over mutual TLS: add <peering>"},
        RuleCase{"peer endpoint without https",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"ftp://p.vn\"") + "</peers>",
                 "must be an https:// URL"},
        RuleCase{"peer endpoint with a bad port",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn:0/x\"") + "</peers>",
                 "has port '0'"},
        RuleCase{
            "peer endpoint with user info",
            kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://u:pw@p.vn\"") + "</peers>",
            "must not hold user information"},
        RuleCase{"peer endpoint with a bad host",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p_q..vn\"") + "</peers>",
                 "has no valid host"},
        RuleCase{
            "peer endpoint with a query",
            kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn/?a=1\"") + "</peers>",
            "must not hold a query"},
        RuleCase{"duplicate peer id",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn\"") +
                     peer("id=\"p\" endpoint=\"https://q.vn\"", "000.00.00.H41") + "</peers>",
                 "peer id 'p' is already used at line 11"},
        RuleCase{"duplicate peer endpoint",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn\"") +
                     peer("id=\"q\" endpoint=\"https://p.vn\"", "000.00.00.H41") + "</peers>",
                 "endpoint 'https://p.vn' is already the peer's at line 11"},
        RuleCase{"agency on two peers",
                 kPeering + "<peers>" + peer("id=\"p\" endpoint=\"https://p.vn\"") +
                     peer("id=\"q\" endpoint=\"https://q.vn\"") + "</peers>",
                 "agency 000.00.00.G22 is already listed on a peer at line 11 (peer 'p')"},
        RuleCase{
            "peer with the node's id",
            kPeering + "<peers>" + peer("id=\"test-node\" endpoint=\"https://p.vn\"") + "</peers>",
            "a peer cannot have this node's own id"},
        RuleCase{"drop folder of an agency not hosted here",
                 "<folders><folder agency=\"000.00.00.G22\" path=\"f\"/></folders>",
                 "agency 000.00.00.G22 is not hosted on this node: a drop folder"},
        RuleCase{"two drop folders on one path",
                 "<folders><folder agency=\"000.00.11.H53\" path=\"f\"/><folder "
                 "agency=\"000.00.11.H53\" path=\"f\"/></folders>",
                 "is already the drop folder at line 11"},
        RuleCase{"drop folder looked at too often",
                 "<folders><folder agency=\"000.00.11.H53\" path=\"f\" "
                 "interval=\"PT0S\"/></folders>",
                 "interval"},
        RuleCase{"bad user name",
                 user("name=\"-x\" role=\"auditor\" token-sha256=\"" + kHash + "\""),
                 "name '-x' must be"},
        RuleCase{"user of a peer's agency",
                 kPeering + "<peers>" + peer("id=\"vpcp\" endpoint=\"https://p.vn\"") + "</peers>" +
                     user("name=\"u\" role=\"clerk\" agency=\"000.00.00.G22\" token-sha256=\"" +
                          kHash + "\""),
                 "agency 000.00.00.G22 is hosted on peer 'vpcp'"},
        RuleCase{"token hash of the empty string",
                 user("name=\"u\" role=\"auditor\" token-sha256=\"" + sha256_hex("") + "\""),
                 "SHA-256 of the empty string"},
        RuleCase{"shared token",
                 "<users><user name=\"a\" role=\"auditor\" token-sha256=\"" + kHash +
                     "\"/><user name=\"b\" role=\"auditor\" token-sha256=\"" + kHash +
                     "\"/></users>",
                 "token-sha256 is the same as the user's at line 11"},
        RuleCase{"bad certificate fingerprint",
                 user("name=\"u\" role=\"auditor\" cert-sha256=\"AB:CD\""),
                 "cert-sha256 must be 64 hexadecimal digits"},
        RuleCase{"holiday with date and range",
                 "<calendar><holiday date=\"2026-01-01\" from=\"2026-01-01\" "
                 "to=\"2026-01-02\"/></calendar>",
                 "give either date"},
        RuleCase{"holiday with no date", "<calendar><holiday name=\"Tết\"/></calendar>",
                 "a holiday needs date"},
        RuleCase{"holiday range without end", "<calendar><holiday from=\"2026-01-01\"/></calendar>",
                 "from=\"…\" needs to=\"…\""},
        RuleCase{"holiday range too long",
                 "<calendar><holiday from=\"2026-02-14\" to=\"2027-02-22\"/></calendar>",
                 "is longer than 31 days"},
        RuleCase{"overlapping holidays",
                 "<calendar><holiday from=\"2026-02-14\" to=\"2026-02-22\"/>"
                 "<holiday date=\"2026-02-16\"/></calendar>",
                 "overlaps the holiday at line 11 (2026-02-14 to 2026-02-22)"},
        RuleCase{"holiday date not ISO", "<calendar><holiday date=\"01/01/2026\"/></calendar>",
                 "is not written yyyy-MM-dd"},
        RuleCase{"utc offset shape", "<calendar utc-offset=\"UTC+7\"/>", "utc-offset 'UTC+7'"},
        RuleCase{"target below zero", "<targets electronic-share=\"-0.1\"/>",
                 "electronic-share '-0.1' is not a share"},
        RuleCase{"target in percent", "<targets online-share=\"30%\"/>",
                 "online-share '30%' is not a share"},
        RuleCase{"target as exponent", "<targets online-share=\"3e-1\"/>", "is not a share"},
        RuleCase{"timeout with a fraction", "<limits read-timeout=\"PT0.5S\"/>", "has a fraction"},
        RuleCase{"timeout of zero", "<limits write-timeout=\"PT0S\"/>",
                 "write-timeout 'PT0S' must be from 1 to 3600 seconds"},
        RuleCase{"xml depth", "<limits max-xml-depth=\"1000\"/>",
                 "max-xml-depth '1000' is not a whole number from 16 to 256"},
        RuleCase{"connections", "<limits max-connections=\"0\"/>", "max-connections '0'"},
        RuleCase{"checkpoint interval", "<audit checkpoint-interval=\"1h\"/>",
                 "checkpoint-interval: duration '1h'"},
        RuleCase{"checkpoint events", "<audit checkpoint-events=\"0\"/>", "checkpoint-events"},
        RuleCase{"checkpoint origin", "<audit origin=\"my log\"/>",
                 "origin 'my log' must be non-empty, without spaces or '+'"},
        RuleCase{"path with spaces", "<workflows dir=\" defs\"/>", "leading or trailing white"}));

TEST(LoadNodeConfig, RefusesPeeringOnTheListenPort) {
  const std::string xml = replaced(valid(), "port=\"0\"", "port=\"8080\"");
  ConfigResult r = load_node_config(replaced(xml, "<store",
                                             "<peering address=\"0.0.0.0\" port=\"8080\" "
                                             "cert=\"c\" key=\"k\" client-ca=\"a\"/>\n<store"),
                                    "f.xml");
  EXPECT_TRUE(reports(r, 4, "port 8080 is already the port of <listen> (line 3)")) << join(r);
  r = load_node_config(replaced(xml, "<store",
                                "<peering address=\"127.0.0.2\" port=\"8080\" cert=\"c\" key=\"k\" "
                                "client-ca=\"a\"/>\n<store"),
                       "f.xml");
  EXPECT_TRUE(r.ok()) << join(r);
}

TEST(LoadNodeConfig, NeedsOneAnchorAndOneOrganisationKeyPerHostedAgency) {
  ConfigResult r = load_node_config(
      replaced(valid(), "<anchor file=\"pki/ca.pem\"/>", "<crl file=\"pki/crl.pem\"/>"), "f.xml");
  EXPECT_TRUE(reports(r, 5, "<trust>: at least one <anchor")) << join(r);
  r = load_node_config(replaced(valid(), "<organisation cert=\"pki/o.pem\" key=\"pki/o.key\"/>",
                                "<signer cert=\"pki/s.pem\"/>"),
                       "f.xml");
  EXPECT_TRUE(reports(r, 7, "a hosted agency needs <organisation")) << join(r);
  r = load_node_config(replaced(valid(), "<organisation cert=\"pki/o.pem\" key=\"pki/o.key\"/>",
                                "<organisation cert=\"pki/o.pem\" key=\"pki/o.key\"/>\n"
                                "<organisation cert=\"pki/o2.pem\" key=\"pki/o2.key\"/>"),
                       "f.xml");
  EXPECT_TRUE(reports(r, 9, "one organisation key; the first is at line 8")) << join(r);
  // Order inside <trust> and <agency> is free.
  r = load_node_config(
      replaced(replaced(valid(), "<anchor file=\"pki/ca.pem\"/>",
                        "<crl file=\"pki/crl.pem\"/><anchor file=\"pki/ca.pem\"/>"),
               "key=\"pki/o.key\"/>", "key=\"pki/o.key\"/><signer cert=\"pki/s.pem\"/>"),
      "f.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->trust.crls, std::vector<std::string>{"pki/crl.pem"});
  EXPECT_EQ(r.config->agencies[0].signer_certs, std::vector<std::string>{"pki/s.pem"});
}

TEST(LoadNodeConfig, RefusesTheSameAnchorTwice) {
  ConfigResult r = load_node_config(
      replaced(valid(), "<trust><anchor file=\"pki/ca.pem\"/></trust>",
               "<trust><anchor file=\"pki/ca.pem\"/>\n<crl file=\"pki/ca.pem\"/></trust>"),
      "f.xml");
  EXPECT_TRUE(reports(r, 6, "file 'pki/ca.pem' is already listed at line 5")) << join(r);
}

TEST(LoadNodeConfig, RefusesInvalidAgencyAttributes) {
  ConfigResult r = load_node_config(replaced(valid(), "name=\"Sở Tài chính tỉnh Tây Ninh\"",
                                             "name=\" padded\" parent=\"000.00.11.H53\""),
                                    "f.xml");
  EXPECT_TRUE(reports(r, 7, "name ' padded' must be non-empty text")) << join(r);
  EXPECT_TRUE(reports(r, 7, "an agency cannot be its own parent")) << join(r);
  r = load_node_config(replaced(valid(), "code=\"000.00.11.H53\"", "code=\"000..11.H53\""),
                       "f.xml");
  EXPECT_TRUE(reports(r, 7, "has an empty group")) << join(r);
}

TEST(LoadNodeConfig, AcceptsPortZeroAndIpv6) {
  ConfigResult r = load_node_config(replaced(valid(), "127.0.0.1", "::1"), "f.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->listen.port, 0);
  EXPECT_EQ(r.config->listen.address, "::1");
  r = load_node_config(replaced(valid(), "127.0.0.1", "[::1]"), "f.xml");
  EXPECT_TRUE(reports(r, 3, "without brackets")) << join(r);
}

TEST(LoadNodeConfig, AdministratorsAndAuditorsMayCoverTheWholeNode) {
  ConfigResult r = load_node_config(
      with_extra("<users><user name=\"root\" role=\"administrator\" token-sha256=\"" +
                 std::string(64, 'B') + "\"/></users>"),
      "f.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->users[0].agency, "");
  EXPECT_EQ(r.config->users[0].token_sha256, std::string(64, 'b'));
}

// ---- paths
// ---------------------------------------------------------------------------------------

TEST(ConfigPaths, ResolveAgainstTheConfigurationFolder) {
  EXPECT_EQ(resolve_config_path("/etc/lienthong", "pki/ca.pem"), "/etc/lienthong/pki/ca.pem");
  EXPECT_EQ(resolve_config_path("/etc/lienthong", "./var/../pki/ca.pem"),
            "/etc/lienthong/pki/ca.pem");
  EXPECT_EQ(resolve_config_path("/etc/lienthong", "../shared/ca.pem"), "/etc/shared/ca.pem");
  EXPECT_EQ(resolve_config_path("/etc/lienthong", "/srv/ca.pem"), "/srv/ca.pem");
  EXPECT_EQ(resolve_config_path("", "./var/pki"), "var/pki");
  EXPECT_EQ(resolve_config_path("conf", "var/x.db"), "conf/var/x.db");
  EXPECT_EQ(resolve_config_path("/etc", ""), "");

  ConfigResult r = load_node_config(valid(), "/etc/lienthong/node.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->base_dir, "/etc/lienthong");
  EXPECT_EQ(r.config->resolve(r.config->store_path), "/etc/lienthong/var/test.db");
  EXPECT_EQ(r.config->resolve(r.config->agencies[0].organisation_key), "/etc/lienthong/pki/o.key");
  r = load_node_config(valid(), "node.xml");
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->base_dir, "");
  EXPECT_EQ(r.config->resolve("var/test.db"), "var/test.db");
}

TEST(ConfigPaths, AFileLoadedByARelativePathResolvesAbsolutely) {
  const fs::path dir = fs::temp_directory_path() /
                       ("lienthong-config-test-" +
                        std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir / "conf");
  {
    std::ofstream out(dir / "conf" / "node.xml");
    out << valid();
  }
  const fs::path old = fs::current_path();
  fs::current_path(dir);
  ConfigResult r = load_node_config_file("conf/node.xml");
  fs::current_path(old);
  ASSERT_TRUE(r.ok()) << join(r);
  EXPECT_EQ(r.config->file, "conf/node.xml");
  EXPECT_EQ(fs::path(r.config->base_dir), (fs::absolute(dir) / "conf").lexically_normal());
  EXPECT_EQ(fs::path(r.config->resolve(r.config->store_path)),
            (fs::absolute(dir) / "conf" / "var" / "test.db").lexically_normal());

  ConfigResult missing = load_node_config_file((dir / "nope.xml").string());
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].line, 0);
  EXPECT_THAT(missing.diagnostics[0].to_string(), HasSubstr("nope.xml:0: cannot read the file"));
  ConfigResult folder = load_node_config_file(dir.string());
  ASSERT_EQ(folder.diagnostics.size(), 1u);
  EXPECT_THAT(folder.diagnostics[0].message, HasSubstr("not a regular file"));
  fs::remove_all(dir);
}

// ---- values
// --------------------------------------------------------------------------------------

TEST(ConfigValues, Durations) {
  EXPECT_EQ(*parse_config_duration("PT30S"), std::chrono::seconds(30));
  EXPECT_EQ(*parse_config_duration("PT5M"), std::chrono::seconds(300));
  EXPECT_EQ(*parse_config_duration("PT1H"), std::chrono::seconds(3600));
  EXPECT_EQ(*parse_config_duration("PT1H30M15S"), std::chrono::seconds(5415));
  EXPECT_EQ(*parse_config_duration("PT0S"), std::chrono::seconds(0));
  EXPECT_EQ(*parse_config_duration("PT8784H"), std::chrono::hours(8784));
  for (const char* bad : {"", "P", "PT", "PT1", "PTH", "30S", "pt30s", "PT1S1H", "PT1H1H", "PT-1S",
                          "PT1.5S", "P1D", "P1DT1H", "PT1X", "PT8785H", "PT1234567890S", " PT1S"}) {
    auto d = parse_config_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, "config.duration");
  }
}

TEST(ConfigValues, Dates) {
  EXPECT_EQ(*parse_config_date("2028-02-29"), (ConfigDate{2028, 2, 29}));
  EXPECT_EQ(parse_config_date("2026-09-02")->to_string(), "2026-09-02");
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "0000-01-01",
                          "2026-1-01", "2026/01/01", "26-01-01", "2026-01-01Z", ""}) {
    auto d = parse_config_date(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, "config.date");
  }
  for (ConfigDate d : {ConfigDate{1970, 1, 1}, ConfigDate{2026, 2, 28}, ConfigDate{2000, 2, 29},
                       ConfigDate{1, 1, 1}, ConfigDate{9999, 12, 31}}) {
    EXPECT_EQ(ConfigDate::from_day_number(d.day_number()), d) << d.to_string();
  }
  EXPECT_EQ((ConfigDate{1970, 1, 1}).day_number(), 0);
  EXPECT_EQ((ConfigDate{2026, 3, 1}).day_number() - (ConfigDate{2026, 2, 28}).day_number(), 1);
}

TEST(ConfigValues, UtcOffsetsAndRoles) {
  EXPECT_EQ(*parse_utc_offset("+07:00"), 25200);
  EXPECT_EQ(*parse_utc_offset("-05:30"), -19800);
  EXPECT_EQ(*parse_utc_offset("+18:00"), 64800);
  for (const char* bad : {"+18:01", "+07:60", "07:00", "+7:00", "Z", "+0700", ""}) {
    EXPECT_FALSE(parse_utc_offset(bad)) << bad;
  }
  EXPECT_EQ(*parse_role("clerk"), Role::clerk);
  EXPECT_EQ(*parse_role("administrator"), Role::administrator);
  EXPECT_EQ(*parse_role("auditor"), Role::auditor);
  EXPECT_FALSE(parse_role("Clerk"));
  EXPECT_EQ(to_string(Role::administrator), "administrator");
}

TEST(ConfigValues, HolidayDatesExpandRanges) {
  CalendarConfig cal;
  cal.holidays.push_back({{2026, 12, 31}, {2027, 1, 2}, "", 1});
  cal.holidays.push_back({{2026, 9, 2}, {2026, 9, 2}, "", 2});
  const std::vector<ConfigDate> want = {{2026, 9, 2}, {2026, 12, 31}, {2027, 1, 1}, {2027, 1, 2}};
  EXPECT_EQ(cal.holiday_dates(), want);
}

}  // namespace
}  // namespace lienthong
