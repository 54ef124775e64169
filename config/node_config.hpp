#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace lienthong {

// The configuration of one node (`lienthong serve`): one XML file in the namespace
// urn:lienthong:config:1, checked by config/node.xsd (embedded) and then by the rules of
// load_node_config below. A loaded NodeConfig is plain data, never changed after loading: the
// node keeps it as `const NodeConfig`.
//
// Paths (certificates, keys, the database, folders) are kept as written. A relative path is
// relative to the folder of the configuration file, not to the working directory: use
// NodeConfig::resolve (or resolve_config_path) before opening anything. The embedded default
// configuration has no folder, so its relative paths (`./var/...`) are relative to the working
// directory.

// A date of the Gregorian calendar, written `yyyy-MM-dd`.
struct ConfigDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  friend auto operator<=>(const ConfigDate&, const ConfigDate&) = default;
  std::string to_string() const;  // yyyy-MM-dd
  // Days since 1970-01-01 (negative before).
  std::int64_t day_number() const;
  static ConfigDate from_day_number(std::int64_t days);
};

// `yyyy-MM-dd` with years 0001..9999 and a real date (2026-02-30 is refused). Code `config.date`.
Expected<ConfigDate> parse_config_date(std::string_view text);

// An ISO 8601 duration at the level of seconds: `PT` then hours, minutes and seconds in that
// order, each optional but at least one, whole numbers (`PT30S`, `PT5M`, `PT1H`, `PT1H30M`).
// Days, years and fractions are refused; the result is at most 366 days. Code `config.duration`.
Expected<std::chrono::seconds> parse_config_duration(std::string_view text);

// `+07:00` or `-05:30` (at most 18 hours) as seconds east of UTC. Code `config.utc_offset`.
Expected<int> parse_utc_offset(std::string_view text);

// `base_dir / path` for a relative path, `path` itself when it is absolute (or base_dir is empty).
// `~` and environment variables are not expanded. The result is lexically normalised
// (`conf/./var/../pki` becomes `conf/pki`).
std::string resolve_config_path(std::string_view base_dir, std::string_view path);

// The HTTP API for clerks, administrators and auditors. Port 0 asks the system for a free port
// (tests use it).
struct ListenConfig {
  std::string address;  // an IPv4 or IPv6 literal: 127.0.0.1, 0.0.0.0, ::1
  std::uint16_t port = 0;
};

// Node-to-node HTTPS with mutual TLS. `cert` and `key` are this node's TLS identity, for its
// listener and when it calls peers; peers' client certificates must chain to `client_ca`.
struct PeeringConfig {
  std::string address;
  std::uint16_t port = 0;
  std::string cert;
  std::string key;
  std::string client_ca;
  // Deliveries to peers: the delay after the first failure (doubled after each further one, with
  // jitter), its cap, and the age at which an undelivered item is dead-lettered.
  std::chrono::seconds retry_first{2};
  std::chrono::seconds retry_max{600};
  std::chrono::seconds dead_after{86400};
};

// The drop folder of a legacy document system working for an agency hosted here: packages written
// into <path>/in are imported in the agency's name; documents and status packets that reach the
// agency are written into <path>/out (see adapters/folder).
struct FolderConfig {
  std::string agency;
  std::string path;
  std::chrono::seconds settle{10};   // a file is complete once unchanged this long
  std::chrono::seconds interval{5};  // how often in/ is looked at
  long line = 0;
};

// Bounds on what the node accepts from the network.
struct LimitsConfig {
  // Bytes of one request body (a package): 256 MiB takes a 100 MB attachment, base64-encoded.
  std::uint64_t max_body = 256 * 1024 * 1024;
  std::uint32_t max_header = 16 * 1024;    // bytes of all request headers
  std::uint32_t max_connections = 2000;    // open connections at once
  std::chrono::seconds read_timeout{30};   // to receive a whole request
  std::chrono::seconds write_timeout{30};  // to send a whole response
  int max_xml_depth = 64;                  // element nesting in a package
  std::uint32_t max_xml_nodes = 200'000;   // nodes in a package
};

// How incoming signatures are checked.
struct TrustConfig {
  std::vector<std::string> anchors;  // PEM files of trusted CA certificates (at least one)
  std::vector<std::string> crls;     // PEM CRL files; any CRL turns revocation checking on
  bool allow_sha1 = false;           // accept RSA-SHA1 signatures (reported as weak)
};

// The audit log's Merkle tree (engine/audit_log): the node signs a checkpoint of it once
// `checkpoint_events` events were added since the last, or `checkpoint_interval` after the last
// if any was added, and when it stops.
struct AuditConfig {
  std::chrono::seconds checkpoint_interval{3600};
  std::uint64_t checkpoint_events = 10'000;
  // The Ed25519 key checkpoints are signed with, as a signed-note private key (PRIVATE+KEY+...).
  // Empty: `<store path>.audit-key`, made at the first start; its public key is written beside it
  // as `.pub` (what auditors verify with).
  std::string key;
  // The checkpoints' origin line and the key's name when it is made; empty: lienthong/<id>/audit.
  std::string origin;
};

// A public holiday: one day (from == to) or a range of days, both ends included.
struct Holiday {
  ConfigDate from;
  ConfigDate to;
  std::string name;
  long line = 0;
};

// The business calendar: working days are Monday to Friday minus the holidays, in local time at a
// fixed offset from UTC (UTC+7 for Vietnam, no daylight saving).
struct CalendarConfig {
  int utc_offset_seconds = 7 * 3600;
  std::vector<Holiday> holidays;  // as written, in file order; ranges never overlap
  // Every holiday day, ranges expanded, sorted.
  std::vector<ConfigDate> holiday_dates() const;
};

// Targets the reports compare against (shares from 0 to 1). Defaults: the 2020 provincial plans.
struct TargetsConfig {
  double electronic_share = 1.00;  // hand-overs between agencies done electronically
  double on_time_share = 0.95;     // steps and dossiers completed by their due time
  double online_share = 0.30;      // dossiers submitted online
};

// An agency: hosted on this node (under <agencies>) or on a peer (under <peer>).
struct AgencyConfig {
  std::string code;    // mã định danh, e.g. 000.00.11.H53
  std::string name;    // Sở Tài chính tỉnh Tây Ninh
  std::string parent;  // code of the parent agency, or empty
  // Certificates (PEM files) allowed for the authorised signer's signature. Packages from this
  // agency signed by any other certificate are refused; an empty list means nobody may sign.
  std::vector<std::string> signer_certs;
  // Certificates allowed for the organisation's signature. A local agency has exactly one: the
  // certificate of organisation_key.
  std::vector<std::string> organisation_certs;
  // Local agencies only: the key this node signs with on the agency's behalf (NĐ 30/2020, the
  // organisation's signature). Empty for agencies on peers.
  std::string organisation_key;
  long line = 0;
};

// Another node, and the agencies it hosts (the agency directory).
struct PeerConfig {
  std::string id;
  std::string endpoint;  // https://host[:port][/path]
  std::string tls_cert;  // the certificate (or its CA) the peer presents over mutual TLS
  std::vector<AgencyConfig> agencies;
  long line = 0;
};

enum class Role { clerk, administrator, auditor };
std::string_view to_string(Role role);
// clerk, administrator or auditor. Code `config.role`.
Expected<Role> parse_role(std::string_view text);

struct UserConfig {
  std::string name;
  Role role = Role::clerk;
  // The agency whose records the role applies to. Always set for a clerk; empty for an
  // administrator or auditor of the whole node.
  std::string agency;
  // Lower-case hex SHA-256 of the user's bearer token, or empty.
  std::string token_sha256;
  // Lower-case hex SHA-256 of the user's client certificate (DER), or empty. At least one of the
  // two is set.
  std::string cert_sha256;
  long line = 0;
};

struct NodeConfig {
  std::string id;    // this node's id, e.g. tayninh-province
  std::string name;  // free text, may be empty
  std::string file;  // where it was loaded from (for messages)
  // The folder relative paths are resolved against: the configuration file's folder, or empty
  // (the working directory) for the embedded default.
  std::string base_dir;

  ListenConfig listen;
  std::optional<PeeringConfig> peering;  // set whenever there are peers
  std::string store_path;                // the SQLite database
  LimitsConfig limits;
  TrustConfig trust;
  AuditConfig audit;
  CalendarConfig calendar;
  std::optional<std::string> workflows_dir;  // folder of workflow definitions to deploy
  // Development only: the folder where `lienthong serve` makes a demo PKI if there is none.
  std::optional<std::string> demo_pki_dir;
  TargetsConfig targets;
  std::vector<AgencyConfig> agencies;  // hosted here, in file order, at least one
  std::vector<PeerConfig> peers;
  std::vector<UserConfig> users;
  std::vector<FolderConfig> folders;

  // `path` resolved against base_dir (see resolve_config_path).
  std::string resolve(std::string_view path) const;

  // Lookups (linear: configurations hold at most a few thousand entries). nullptr if none.
  const AgencyConfig* find_local_agency(std::string_view code) const;
  // An agency hosted on a peer, and that peer.
  struct RemoteAgency {
    const PeerConfig* peer = nullptr;
    const AgencyConfig* agency = nullptr;
  };
  std::optional<RemoteAgency> find_remote_agency(std::string_view code) const;
  const PeerConfig* find_peer(std::string_view id) const;
  const UserConfig* find_user(std::string_view name) const;
  // The user whose token hashes to `sha256_hex` (lower-case hex). Compare in constant time on the
  // request path if timing matters; this is a plain lookup.
  const UserConfig* find_user_by_token_sha256(std::string_view sha256_hex) const;
};

// One problem in a configuration file. `line` is 0 when the problem has no line (an unreadable
// file).
struct ConfigDiagnostic {
  std::string file;
  long line = 0;
  std::string message;
  std::string to_string() const;  // file:line: message
};

// Every problem of the file (the schema's and the rules'), sorted by line; `config` is set only
// when there is none. A file that is not well-formed XML gets one diagnostic (the parser stops
// at the first error).
struct ConfigResult {
  std::optional<NodeConfig> config;
  std::vector<ConfigDiagnostic> diagnostics;
  bool ok() const { return config.has_value() && diagnostics.empty(); }
};

// `file` names the source in diagnostics, and its folder becomes base_dir.
ConfigResult load_node_config(std::string_view xml, const std::string& file);
// Reads the file (at most 10 MiB) and loads it; base_dir is the file's folder made absolute.
ConfigResult load_node_config_file(const std::string& path);

// config/node.xsd, embedded at build time.
std::string_view node_config_xsd();

// The configuration `lienthong serve` runs with when given no --config (config/default.xml,
// embedded): node `lienthong-demo`, SQLite at ./var/lienthong.db, HTTP on 127.0.0.1:8080, the
// four demo agencies of `lienthong pki demo` hosted here with their certificates and keys under
// ./var/pki (demo PKI made there if missing), trust in ./var/pki/ca.pem and ./var/pki/crl.pem,
// the bundled workflows, Vietnam's 2026 public holidays, and demo users: a clerk per agency, an
// administrator and an auditor. Development only: its tokens are public (demo_tokens()).
std::string_view default_node_config_xml();
// The default configuration, loaded once. Throws std::logic_error if the embedded text does not
// load (a build defect; the tests load it).
const NodeConfig& default_node_config();

// The plain tokens of the default configuration's users, so `serve` can print them; the
// configuration itself holds only their SHA-256.
struct DemoToken {
  std::string user;
  Role role = Role::clerk;
  std::string agency;  // empty for the administrator and the auditor
  std::string token;
};
std::vector<DemoToken> demo_tokens();

}  // namespace lienthong
