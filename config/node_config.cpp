#include "config/node_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "base/agency_code.hpp"
#include "base/encoding.hpp"
#include "base/xml.hpp"
#include "base/xml_schema.hpp"
#include "config/embedded.hpp"

namespace lienthong {

// ---- values ----------------------------------------------------------------------------------

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

int digits_value(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int month_length(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

constexpr std::string_view kSha256OfEmpty =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace

std::string ConfigDate::to_string() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t ConfigDate::day_number() const {
  const std::int64_t y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

ConfigDate ConfigDate::from_day_number(std::int64_t days) {
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
  return {y, m, d};
}

Expected<ConfigDate> parse_config_date(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error{"config.date", "date " + in_quotes(text) + " " + why};
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !all_digits(text.substr(0, 4)) ||
      !all_digits(text.substr(5, 2)) || !all_digits(text.substr(8, 2))) {
    return bad("is not written yyyy-MM-dd, e.g. 2026-09-02");
  }
  ConfigDate d{digits_value(text.substr(0, 4)), digits_value(text.substr(5, 2)),
               digits_value(text.substr(8, 2))};
  if (d.year < 1) return bad("has year 0000");
  if (d.month < 1 || d.month > 12) return bad("has no month " + std::to_string(d.month));
  if (d.day < 1 || d.day > month_length(d.year, d.month)) return bad("does not exist");
  return d;
}

Expected<std::chrono::seconds> parse_config_duration(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error{"config.duration", "duration " + in_quotes(text) + " " + why};
  };
  constexpr std::string_view kShape =
      "is not an ISO 8601 duration in hours, minutes and seconds, like PT30S, PT5M, PT1H or "
      "PT1H30M";
  if (text.size() < 4 || text.substr(0, 2) != "PT") {
    if (!text.empty() && text[0] == 'P' && text.find('D') != std::string_view::npos) {
      return bad("counts days; write hours instead (P1D is PT24H)");
    }
    return bad(std::string(kShape));
  }
  std::int64_t total = 0;
  int last = -1;  // index of the last designator seen in "HMS"
  std::size_t i = 2;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && is_digit(text[j])) ++j;
    if (j == i || j == text.size()) return bad(std::string(kShape));
    if (j - i > 9) return bad("is too long");
    const std::int64_t n = digits_value(text.substr(i, j - i));
    const char designator = text[j];
    const std::size_t at = std::string_view("HMS").find(designator);
    if (at == std::string_view::npos) {
      if (designator == '.' || designator == ',') return bad("has a fraction; use a smaller unit");
      return bad(std::string(kShape));
    }
    if (static_cast<int>(at) <= last)
      return bad("repeats a unit or has them out of order (H, M, S)");
    last = static_cast<int>(at);
    total += n * (at == 0 ? 3600 : at == 1 ? 60 : 1);
    i = j + 1;
  }
  if (total > 366LL * 86400) return bad("is longer than 366 days");
  return std::chrono::seconds(total);
}

Expected<int> parse_utc_offset(std::string_view text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' ||
      !all_digits(text.substr(1, 2)) || !all_digits(text.substr(4, 2))) {
    return Error{"config.utc_offset",
                 "utc-offset " + in_quotes(text) + " is not written +HH:MM or -HH:MM, e.g. +07:00"};
  }
  const int h = digits_value(text.substr(1, 2));
  const int m = digits_value(text.substr(4, 2));
  if (m > 59 || h * 60 + m > 18 * 60) {
    return Error{"config.utc_offset", "utc-offset " + in_quotes(text) +
                                          " is beyond +/-18:00 or has more than 59 minutes"};
  }
  return (text[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
}

std::string resolve_config_path(std::string_view base_dir, std::string_view path) {
  namespace fs = std::filesystem;
  fs::path p{std::string(path)};
  if (path.empty()) return {};
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (fs::path(std::string(base_dir)) / p).lexically_normal().string();
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::clerk:
      return "clerk";
    case Role::administrator:
      return "administrator";
    case Role::auditor:
      return "auditor";
  }
  return "?";
}

Expected<Role> parse_role(std::string_view text) {
  if (text == "clerk") return Role::clerk;
  if (text == "administrator") return Role::administrator;
  if (text == "auditor") return Role::auditor;
  return Error{"config.role",
               "role " + in_quotes(text) + " is not one of clerk, administrator, auditor"};
}

std::vector<ConfigDate> CalendarConfig::holiday_dates() const {
  std::vector<ConfigDate> out;
  for (const Holiday& h : holidays) {
    for (std::int64_t d = h.from.day_number(); d <= h.to.day_number(); ++d) {
      out.push_back(ConfigDate::from_day_number(d));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- NodeConfig ------------------------------------------------------------------------------

std::string NodeConfig::resolve(std::string_view path) const {
  return resolve_config_path(base_dir, path);
}

const AgencyConfig* NodeConfig::find_local_agency(std::string_view code) const {
  for (const auto& a : agencies) {
    if (a.code == code) return &a;
  }
  return nullptr;
}

std::optional<NodeConfig::RemoteAgency> NodeConfig::find_remote_agency(
    std::string_view code) const {
  for (const auto& p : peers) {
    for (const auto& a : p.agencies) {
      if (a.code == code) return RemoteAgency{&p, &a};
    }
  }
  return std::nullopt;
}

const PeerConfig* NodeConfig::find_peer(std::string_view id) const {
  for (const auto& p : peers) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

const UserConfig* NodeConfig::find_user(std::string_view name) const {
  for (const auto& u : users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const UserConfig* NodeConfig::find_user_by_token_sha256(std::string_view sha256_hex) const {
  if (sha256_hex.empty()) return nullptr;
  for (const auto& u : users) {
    if (u.token_sha256 == sha256_hex) return &u;
  }
  return nullptr;
}

std::string ConfigDiagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ": " + message;
}

std::string_view node_config_xsd() {
  return embedded_node_xsd();
}

std::string_view default_node_config_xml() {
  return embedded_default_config();
}

// ---- loading ---------------------------------------------------------------------------------

namespace {

constexpr std::string_view kNs = "urn:lienthong:config:1";
constexpr const char* kDefaultFile = "(default configuration)";
constexpr std::size_t kMaxFileBytes = 10 * 1024 * 1024;

const XmlSchema& schema() {
  static const XmlSchema compiled(node_config_xsd(), std::string(kNs));
  return compiled;
}

std::optional<std::string> attr(xmlNode* n, const char* name) {
  std::string v;
  if (!xml_attribute(n, name, v)) return std::nullopt;
  return v;
}

bool is_ours(xmlNode* n) {
  return xml_ns_uri(n) == kNs;
}

std::vector<xmlNode*> children(xmlNode* parent, std::string_view name) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = xml_first_element(parent); c; c = xml_next_element(c)) {
    if (is_ours(c) && xml_local_name(c) == name) out.push_back(c);
  }
  return out;
}

bool is_lower_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

// 64 hex digits, either case, optionally as 32 colon-separated pairs (OpenSSL's fingerprint
// output), as lower-case hex without colons.
std::optional<std::string> normalise_sha256(std::string_view text) {
  std::string out;
  if (text.size() == 95) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i % 3 == 2) {
        if (text[i] != ':') return std::nullopt;
      } else {
        out.push_back(text[i]);
      }
    }
  } else {
    out = std::string(text);
  }
  if (out.size() != 64) return std::nullopt;
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!is_lower_hex(c)) return std::nullopt;
  }
  return out;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    return inet_pton(AF_INET6, inner.c_str(), &a6) == 1;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-') {
        return false;
      }
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

class Builder {
 public:
  Builder(const std::string& file, std::vector<ConfigDiagnostic>& diags)
      : file_(file), diags_(diags) {}

  NodeConfig build(xmlNode* root) {
    cfg_.id = id_value(root, "id");
    if (auto name = attr(root, "name")) cfg_.name = text_value(root, "name", *name);
    for (xmlNode* n = xml_first_element(root); n; n = xml_next_element(n)) {
      if (!is_ours(n)) continue;
      auto name = xml_local_name(n);
      if (!seen_.insert(std::string(name)).second) continue;  // the schema reports repeats
      if (name == "listen") {
        listen_line_ = xml_line(n);
        cfg_.listen.address = address(n, "address");
        cfg_.listen.port = port(n, "port", true);
      } else if (name == "peering") {
        build_peering(n);
      } else if (name == "store") {
        cfg_.store_path = path(n, "path");
      } else if (name == "limits") {
        build_limits(n);
      } else if (name == "trust") {
        build_trust(n);
      } else if (name == "audit") {
        build_audit(n);
      } else if (name == "calendar") {
        build_calendar(n);
      } else if (name == "workflows") {
        cfg_.workflows_dir = path(n, "dir");
      } else if (name == "demo-pki") {
        cfg_.demo_pki_dir = path(n, "dir");
      } else if (name == "targets") {
        cfg_.targets.electronic_share = share(n, "electronic-share", cfg_.targets.electronic_share);
        cfg_.targets.on_time_share = share(n, "on-time-share", cfg_.targets.on_time_share);
        cfg_.targets.online_share = share(n, "online-share", cfg_.targets.online_share);
      } else if (name == "agencies") {
        for (xmlNode* a : children(n, "agency")) build_local_agency(a);
      } else if (name == "peers") {
        peers_node_ = n;
      } else if (name == "users") {
        users_node_ = n;
      } else if (name == "folders") {
        folders_node_ = n;
      }
    }
    check_ports();
    // Peers and users refer to local agencies wherever they stand in the file.
    if (peers_node_) {
      for (xmlNode* p : children(peers_node_, "peer")) build_peer(p);
      if (!cfg_.peers.empty() && !cfg_.peering) {
        error(peers_node_,
              "peers are reached over mutual TLS: add <peering> with this node's TLS certificate "
              "and key");
      }
    }
    if (users_node_) {
      for (xmlNode* u : children(users_node_, "user")) build_user(u);
    }
    if (folders_node_) {
      for (xmlNode* f : children(folders_node_, "folder")) build_folder(f);
    }
    return std::move(cfg_);
  }

 private:
  // ---- messages ----
  static std::string label(xmlNode* n) {
    std::string out = "<" + std::string(xml_local_name(n));
    for (const char* key : {"code", "id", "name"}) {
      if (auto v = attr(n, key); v && xml_local_name(n) != "node") {
        out += " " + std::string(key) + "=\"" + *v + "\"";
        break;
      }
    }
    return out + ">";
  }
  void error(xmlNode* n, const std::string& message) {
    diags_.push_back({file_, xml_line(n), label(n) + ": " + message});
  }

  // ---- values: each reports its own problem and returns a harmless value ----
  std::string text_value(xmlNode* n, const char* name, const std::string& v) {
    if (v.empty() || v.front() == ' ' || v.back() == ' ' ||
        v.find_first_of("\t\r\n") != std::string::npos) {
      error(n, std::string(name) + " " + in_quotes(v) +
                   " must be non-empty text on one line, without leading or trailing spaces");
    } else if (v.size() > 300) {
      error(n, std::string(name) + " is longer than 300 bytes");
    }
    return v;
  }

  std::string id_value(xmlNode* n, const char* name) {
    auto v = attr(n, name);
    if (!v) return {};
    const std::string& s = *v;
    bool ok = !s.empty() && s.size() <= 64 && s.front() != '.' && s.front() != '-' &&
              s.back() != '.' && s.back() != '-';
    for (char c : s) ok = ok && (is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '-');
    if (!ok) {
      error(n, std::string(name) + " " + in_quotes(s) +
                   " must be 1 to 64 lower-case letters, digits, dots and hyphens, starting and "
                   "ending with a letter or digit (e.g. tayninh-province)");
    }
    return s;
  }

  std::string path(xmlNode* n, const char* name) {
    auto v = attr(n, name);
    if (!v) return {};
    const std::string& s = *v;
    if (s.empty()) {
      error(n, std::string(name) + " is empty");
    } else if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') {
      error(n, std::string(name) + " " + in_quotes(s) + " has leading or trailing white space");
    } else if (std::any_of(s.begin(), s.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      error(n, std::string(name) + " " + in_quotes(s) + " holds a control character");
    }
    return s;
  }

  std::string address(xmlNode* n, const char* name) {
    auto v = attr(n, name);
    if (!v) return {};
    in_addr a4{};
    in6_addr a6{};
    if (inet_pton(AF_INET, v->c_str(), &a4) != 1 && inet_pton(AF_INET6, v->c_str(), &a6) != 1) {
      std::string hint = !v->empty() && v->front() == '['
                             ? " (write IPv6 addresses without brackets, e.g. ::1)"
                             : " (e.g. 127.0.0.1, 0.0.0.0 or ::1; host names are not resolved)";
      error(n, std::string(name) + " " + in_quotes(*v) + " is not an IPv4 or IPv6 address" + hint);
    }
    return *v;
  }

  std::uint16_t port(xmlNode* n, const char* name, bool zero_ok) {
    auto v = attr(n, name);
    if (!v) return 0;
    long value = -1;
    if (all_digits(*v) && v->size() <= 5) value = std::stol(*v);
    if (value < (zero_ok ? 0 : 1) || value > 65535) {
      error(n, std::string(name) + " " + in_quotes(*v) + " is not a port number from " +
                   (zero_ok ? "0 to 65535 (0 picks a free port)" : "1 to 65535"));
      return 0;
    }
    return static_cast<std::uint16_t>(value);
  }

  template <class T>
  T number(xmlNode* n, const char* name, T fallback, std::uint64_t min, std::uint64_t max) {
    auto v = attr(n, name);
    if (!v) return fallback;
    std::uint64_t value = 0;
    bool ok = all_digits(*v) && v->size() <= 12;
    if (ok) value = std::stoull(*v);
    if (!ok || value < min || value > max) {
      error(n, std::string(name) + " " + in_quotes(*v) + " is not a whole number from " +
                   std::to_string(min) + " to " + std::to_string(max));
      return fallback;
    }
    return static_cast<T>(value);
  }

  std::chrono::seconds duration(xmlNode* n, const char* name, const std::string& v,
                                std::chrono::seconds fallback, std::chrono::seconds min,
                                std::chrono::seconds max) {
    auto d = parse_config_duration(v);
    if (!d) {
      error(n, std::string(name) + ": " + d.error().message);
      return fallback;
    }
    if (*d < min || *d > max) {
      error(n, std::string(name) + " " + in_quotes(v) + " must be from " +
                   std::to_string(min.count()) + " to " + std::to_string(max.count()) + " seconds");
      return fallback;
    }
    return *d;
  }

  double share(xmlNode* n, const char* name, double fallback) {
    auto v = attr(n, name);
    if (!v) return fallback;
    // digits, optionally a point and digits: no sign, exponent, inf or nan.
    const auto point = v->find('.');
    const bool shape = point == std::string::npos
                           ? all_digits(*v)
                           : all_digits(std::string_view(*v).substr(0, point)) &&
                                 all_digits(std::string_view(*v).substr(point + 1));
    double value = shape && v->size() <= 20 ? std::strtod(v->c_str(), nullptr) : -1;
    if (value < 0 || value > 1) {
      error(n, std::string(name) + " " + in_quotes(*v) +
                   " is not a share from 0 to 1 (0.95 means 95%)");
      return fallback;
    }
    return value;
  }

  bool boolean(xmlNode* n, const char* name, bool fallback) {
    auto v = attr(n, name);
    if (!v) return fallback;
    if (*v == "true") return true;
    if (*v == "false") return false;
    error(n, std::string(name) + " " + in_quotes(*v) + " is neither true nor false");
    return fallback;
  }

  std::string agency_code(xmlNode* n, const char* name) {
    auto v = attr(n, name);
    if (!v) return {};
    if (auto ok = validate_agency_code(*v); !ok) {
      error(n, std::string(name) + ": " + ok.error().message + " (e.g. 000.00.11.H53)");
    }
    return *v;
  }

  // ---- elements ----
  void build_peering(xmlNode* n) {
    PeeringConfig p;
    p.address = address(n, "address");
    p.port = port(n, "port", true);
    p.cert = path(n, "cert");
    p.key = path(n, "key");
    p.client_ca = path(n, "client-ca");
    using std::chrono::hours;
    using std::chrono::seconds;
    if (auto v = attr(n, "retry-first"))
      p.retry_first = duration(n, "retry-first", *v, p.retry_first, seconds(1), hours(1));
    if (auto v = attr(n, "retry-max"))
      p.retry_max = duration(n, "retry-max", *v, p.retry_max, seconds(1), hours(24));
    if (auto v = attr(n, "dead-after"))
      p.dead_after = duration(n, "dead-after", *v, p.dead_after, seconds(60), hours(24 * 90));
    if (p.retry_max < p.retry_first) {
      error(n, "retry-max must not be shorter than retry-first");
    }
    peering_node_ = n;
    cfg_.peering = std::move(p);
  }

  void build_audit(xmlNode* n) {
    AuditConfig& a = cfg_.audit;
    if (auto v = attr(n, "checkpoint-interval")) {
      a.checkpoint_interval = duration(n, "checkpoint-interval", *v, a.checkpoint_interval,
                                       std::chrono::seconds(1), std::chrono::hours(24));
    }
    a.checkpoint_events =
        number<std::uint64_t>(n, "checkpoint-events", a.checkpoint_events, 1, 100'000'000);
    a.key = path(n, "key");
    if (auto v = attr(n, "origin")) {
      // A signed note's key name and a checkpoint's first line: no spaces, no '+'.
      if (v->empty() || v->find_first_of(" +\t") != std::string::npos ||
          std::any_of(v->begin(), v->end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
        error(n, "origin " + in_quotes(*v) + " must be non-empty, without spaces or '+'");
      }
      a.origin = *v;
    }
  }

  void build_limits(xmlNode* n) {
    LimitsConfig& l = cfg_.limits;
    // SQLite keeps no value over 1,000,000,000 bytes (SQLITE_MAX_LENGTH).
    l.max_body = number<std::uint64_t>(n, "max-body", l.max_body, 1024, 1000000000);
    l.max_header = number<std::uint32_t>(n, "max-header", l.max_header, 1024, 1 << 20);
    l.max_connections =
        number<std::uint32_t>(n, "max-connections", l.max_connections, 1, 1'000'000);
    if (auto v = attr(n, "read-timeout")) {
      l.read_timeout = duration(n, "read-timeout", *v, l.read_timeout, std::chrono::seconds(1),
                                std::chrono::hours(1));
    }
    if (auto v = attr(n, "write-timeout")) {
      l.write_timeout = duration(n, "write-timeout", *v, l.write_timeout, std::chrono::seconds(1),
                                 std::chrono::hours(1));
    }
    l.max_xml_depth = number<int>(n, "max-xml-depth", l.max_xml_depth, 16, 256);
    l.max_xml_nodes = number<std::uint32_t>(n, "max-xml-nodes", l.max_xml_nodes, 1000, 100'000'000);
  }

  void build_trust(xmlNode* n) {
    TrustConfig& t = cfg_.trust;
    t.allow_sha1 = boolean(n, "allow-sha1", false);
    std::map<std::string, long> seen;
    for (xmlNode* c = xml_first_element(n); c; c = xml_next_element(c)) {
      if (!is_ours(c)) continue;
      auto kind = xml_local_name(c);
      if (kind != "anchor" && kind != "crl") continue;
      std::string f = path(c, "file");
      if (f.empty()) continue;
      if (auto [it, fresh] = seen.emplace(f, xml_line(c)); !fresh) {
        error(c,
              "file " + in_quotes(f) + " is already listed at line " + std::to_string(it->second));
        continue;
      }
      (kind == "anchor" ? t.anchors : t.crls).push_back(std::move(f));
    }
    if (t.anchors.empty() && children(n, "anchor").empty()) {
      error(n,
            "at least one <anchor file=\"…\"/> is needed: without a trust anchor no signature "
            "verifies");
    }
  }

  void build_calendar(xmlNode* n) {
    CalendarConfig& cal = cfg_.calendar;
    if (auto v = attr(n, "utc-offset")) {
      if (auto off = parse_utc_offset(*v)) {
        cal.utc_offset_seconds = *off;
      } else {
        error(n, off.error().message);
      }
    }
    for (xmlNode* h : children(n, "holiday")) {
      auto date = attr(h, "date");
      auto from = attr(h, "from");
      auto to = attr(h, "to");
      Holiday hol;
      hol.line = xml_line(h);
      if (auto name = attr(h, "name")) hol.name = text_value(h, "name", *name);
      auto read = [&](const char* what, const std::string& text) -> std::optional<ConfigDate> {
        auto d = parse_config_date(text);
        if (!d) {
          error(h, (std::string_view(what) == "date" ? "" : std::string(what) + ": ") +
                       d.error().message);
          return std::nullopt;
        }
        return *d;
      };
      if (date && (from || to)) {
        error(h, "give either date=\"…\" or from=\"…\" to=\"…\", not both");
        continue;
      }
      if (date) {
        auto d = read("date", *date);
        if (!d) continue;
        hol.from = hol.to = *d;
      } else if (from && to) {
        auto f = read("from", *from);
        auto t = read("to", *to);
        if (!f || !t) continue;
        if (*t < *f) {
          error(h, "from " + f->to_string() + " is after to " + t->to_string());
          continue;
        }
        if (t->day_number() - f->day_number() >= 31) {
          error(h, "the range " + f->to_string() + " to " + t->to_string() +
                       " is longer than 31 days; is a year wrong?");
          continue;
        }
        hol.from = *f;
        hol.to = *t;
      } else {
        error(h, from ? "from=\"…\" needs to=\"…\""
                 : to ? "to=\"…\" needs from=\"…\""
                      : "a holiday needs date=\"yyyy-MM-dd\", or from=\"…\" and to=\"…\"");
        continue;
      }
      bool overlaps = false;
      for (const Holiday& other : cal.holidays) {
        if (hol.from <= other.to && other.from <= hol.to) {
          error(h, "overlaps the holiday at line " + std::to_string(other.line) + " (" +
                       other.from.to_string() +
                       (other.from == other.to ? "" : " to " + other.to.to_string()) + ")");
          overlaps = true;
          break;
        }
      }
      if (!overlaps) cal.holidays.push_back(std::move(hol));
    }
  }

  // Fills what local and remote agencies share: code, name, parent, signer certificates.
  AgencyConfig agency_common(xmlNode* n) {
    AgencyConfig a;
    a.line = xml_line(n);
    a.code = agency_code(n, "code");
    if (auto name = attr(n, "name")) a.name = text_value(n, "name", *name);
    if (attr(n, "parent")) {
      a.parent = agency_code(n, "parent");
      if (a.parent == a.code && !a.code.empty()) error(n, "an agency cannot be its own parent");
    }
    for (xmlNode* s : children(n, "signer")) {
      std::string cert = path(s, "cert");
      if (!cert.empty()) a.signer_certs.push_back(std::move(cert));
    }
    return a;
  }

  void build_local_agency(xmlNode* n) {
    AgencyConfig a = agency_common(n);
    const auto organisations = children(n, "organisation");
    if (organisations.empty()) {
      error(n,
            "a hosted agency needs <organisation cert=\"…\" key=\"…\"/>: this node signs as the "
            "organisation on its behalf");
    } else {
      std::string cert = path(organisations[0], "cert");
      if (!cert.empty()) a.organisation_certs.push_back(std::move(cert));
      a.organisation_key = path(organisations[0], "key");
      for (std::size_t i = 1; i < organisations.size(); ++i) {
        error(organisations[i], "a hosted agency has one organisation key; the first is at line " +
                                    std::to_string(xml_line(organisations[0])));
      }
    }
    if (!a.code.empty()) {
      if (auto it = agency_lines_.find(a.code); it != agency_lines_.end()) {
        error(n, "agency " + a.code + " is already hosted here (line " +
                     std::to_string(it->second) + ")");
        return;
      }
      agency_lines_.emplace(a.code, a.line);
    }
    cfg_.agencies.push_back(std::move(a));
  }

  void build_peer(xmlNode* n) {
    PeerConfig p;
    p.line = xml_line(n);
    p.id = id_value(n, "id");
    if (!p.id.empty() && p.id == cfg_.id) {
      error(n, "a peer cannot have this node's own id " + in_quotes(p.id));
    }
    if (!p.id.empty()) {
      if (auto [it, fresh] = peer_lines_.emplace(p.id, p.line); !fresh) {
        error(n, "peer id " + in_quotes(p.id) + " is already used at line " +
                     std::to_string(it->second));
      }
    }
    if (auto v = attr(n, "endpoint")) {
      p.endpoint = *v;
      check_endpoint(n, *v);
      if (auto [it, fresh] = endpoint_lines_.emplace(*v, p.line); !fresh) {
        error(n, "endpoint " + in_quotes(*v) + " is already the peer's at line " +
                     std::to_string(it->second));
      }
    }
    p.tls_cert = path(n, "tls-cert");
    for (xmlNode* c : children(n, "agency")) {
      AgencyConfig a = agency_common(c);
      for (xmlNode* o : children(c, "organisation")) {
        std::string cert = path(o, "cert");
        if (!cert.empty()) a.organisation_certs.push_back(std::move(cert));
      }
      if (!a.code.empty()) {
        if (auto it = agency_lines_.find(a.code); it != agency_lines_.end()) {
          error(c, "agency " + a.code + " is hosted on this node (line " +
                       std::to_string(it->second) + "); an agency has one home");
          continue;
        }
        if (auto it = remote_lines_.find(a.code); it != remote_lines_.end()) {
          error(c, "agency " + a.code + " is already listed on a peer at line " +
                       std::to_string(it->second.first) +
                       (it->second.second.empty() ? "" : " (peer '" + it->second.second + "')"));
          continue;
        }
        remote_lines_.emplace(a.code, std::make_pair(a.line, p.id));
      }
      p.agencies.push_back(std::move(a));
    }
    cfg_.peers.push_back(std::move(p));
  }

  void check_endpoint(xmlNode* n, const std::string& v) {
    auto bad = [&](const std::string& why) { error(n, "endpoint " + in_quotes(v) + " " + why); };
    constexpr std::string_view kScheme = "https://";
    if (v.rfind(kScheme, 0) != 0) {
      bad(v.rfind("http://", 0) == 0
              ? "is plain HTTP; peers are reached over HTTPS with mutual TLS only"
              : "must be an https:// URL, e.g. https://lienthong.example.gov.vn:8443");
      return;
    }
    std::string_view rest = std::string_view(v).substr(kScheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos) {
      bad("must not hold a query or a fragment");
      return;
    }
    if (std::any_of(rest.begin(), rest.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20; })) {
      bad("holds white space or control characters");
      return;
    }
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos) {
      bad("must not hold user information (user@host)");
      return;
    }
    std::string_view host = authority;
    std::string_view port_text;
    const auto close = authority.rfind(']');
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      const long port =
          all_digits(port_text) && port_text.size() <= 5 ? std::stol(std::string(port_text)) : 0;
      if (port < 1 || port > 65535) {
        bad("has port " + in_quotes(port_text) + "; a port is a number from 1 to 65535");
        return;
      }
    }
    if (!valid_host(host)) bad("has no valid host name or address");
  }

  void build_folder(xmlNode* n) {
    FolderConfig f;
    f.line = xml_line(n);
    if (attr(n, "agency")) {
      f.agency = agency_code(n, "agency");
      if (validate_agency_code(f.agency) && !agency_lines_.count(f.agency)) {
        error(n,
              "agency " + f.agency +
                  " is not hosted on this node: a drop folder works for an agency of <agencies>");
      }
    }
    f.path = path(n, "path");
    for (const FolderConfig& other : cfg_.folders) {
      if (!f.path.empty() && other.path == f.path) {
        error(n, "path " + in_quotes(f.path) + " is already the drop folder at line " +
                     std::to_string(other.line));
      }
    }
    using std::chrono::hours;
    using std::chrono::seconds;
    if (auto v = attr(n, "settle"))
      f.settle = duration(n, "settle", *v, f.settle, seconds(0), hours(1));
    if (auto v = attr(n, "interval"))
      f.interval = duration(n, "interval", *v, f.interval, seconds(1), hours(1));
    cfg_.folders.push_back(std::move(f));
  }

  void build_user(xmlNode* n) {
    UserConfig u;
    u.line = xml_line(n);
    if (auto name = attr(n, "name")) {
      u.name = *name;
      bool ok =
          !name->empty() && name->size() <= 64 &&
          (is_digit(name->front()) || std::isalpha(static_cast<unsigned char>(name->front())));
      for (char c : *name) {
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '@' || c == '-');
      }
      if (!ok) {
        error(n, "name " + in_quotes(*name) +
                     " must be 1 to 64 ASCII letters, digits and . _ @ -, starting with a letter "
                     "or digit");
      } else if (auto [it, fresh] = user_lines_.emplace(*name, u.line); !fresh) {
        error(n, "user " + in_quotes(*name) + " is already defined at line " +
                     std::to_string(it->second));
      }
    }
    bool role_ok = false;
    if (auto role = attr(n, "role")) {
      if (auto r = parse_role(*role)) {
        u.role = *r;
        role_ok = true;
      } else {
        error(n, r.error().message);
      }
    }
    if (auto agency = attr(n, "agency")) {
      u.agency = agency_code(n, "agency");
      if (validate_agency_code(u.agency) && !agency_lines_.count(u.agency)) {
        if (auto it = remote_lines_.find(u.agency); it != remote_lines_.end()) {
          error(n, "agency " + u.agency + " is hosted on peer '" + it->second.second +
                       "'; users belong to agencies hosted on this node");
        } else {
          error(n, "agency " + u.agency + " is not hosted on this node (see <agencies>)");
        }
      }
    } else if (role_ok && u.role == Role::clerk) {
      error(n, "a clerk needs agency=\"…\": a clerk works for one agency");
    }
    auto token = attr(n, "token-sha256");
    auto cert = attr(n, "cert-sha256");
    if (token) {
      if (auto h = normalise_sha256(*token)) {
        u.token_sha256 = *h;
        if (*h == kSha256OfEmpty) {
          error(n, "token-sha256 is the SHA-256 of the empty string: an empty token would log in");
        } else if (auto [it, fresh] = token_lines_.emplace(*h, u.line); !fresh) {
          error(n, "token-sha256 is the same as the user's at line " + std::to_string(it->second) +
                       "; each user needs a token of their own");
        }
      } else {
        error(n,
              "token-sha256 must be 64 hexadecimal digits (the SHA-256 of the token, e.g. "
              "from `printf %s TOKEN | sha256sum`)");
      }
    }
    if (cert) {
      if (auto h = normalise_sha256(*cert)) {
        u.cert_sha256 = *h;
        if (auto [it, fresh] = cert_lines_.emplace(*h, u.line); !fresh) {
          error(n, "cert-sha256 is the same as the user's at line " + std::to_string(it->second));
        }
      } else {
        error(n,
              "cert-sha256 must be 64 hexadecimal digits, with or without colons (the "
              "SHA-256 fingerprint of the client certificate)");
      }
    }
    if (!token && !cert) {
      error(n, "a user needs token-sha256=\"…\" or cert-sha256=\"…\" to log in");
    }
    cfg_.users.push_back(std::move(u));
  }

  // The HTTP API and the peer listener cannot share a port on overlapping addresses.
  void check_ports() {
    if (!cfg_.peering || !peering_node_ || listen_line_ == 0) return;
    const PeeringConfig& p = *cfg_.peering;
    if (p.port == 0 || p.port != cfg_.listen.port) return;
    auto any = [](const std::string& a) { return a == "0.0.0.0" || a == "::"; };
    if (p.address == cfg_.listen.address || any(p.address) || any(cfg_.listen.address)) {
      error(peering_node_, "port " + std::to_string(p.port) +
                               " is already the port of <listen> (line " +
                               std::to_string(listen_line_) + ")");
    }
  }

  const std::string& file_;
  std::vector<ConfigDiagnostic>& diags_;
  NodeConfig cfg_;
  std::set<std::string> seen_;
  long listen_line_ = 0;
  xmlNode* peering_node_ = nullptr;
  xmlNode* folders_node_ = nullptr;
  xmlNode* peers_node_ = nullptr;
  xmlNode* users_node_ = nullptr;
  std::map<std::string, long, std::less<>> agency_lines_;
  std::map<std::string, std::pair<long, std::string>, std::less<>> remote_lines_;
  std::map<std::string, long> peer_lines_;
  std::map<std::string, long> endpoint_lines_;
  std::map<std::string, long> user_lines_;
  std::map<std::string, long> token_lines_;
  std::map<std::string, long> cert_lines_;
};

ConfigResult load(std::string_view xml, const std::string& file, std::string base_dir) {
  ConfigResult result;
  auto doc = parse_xml(xml);
  if (!doc) {
    auto [line, msg] = error_line(doc.error());
    result.diagnostics.push_back({file, line, std::move(msg)});
    return result;
  }
  xmlNode* root = xmlDocGetRootElement(doc->get());
  if (!root || xml_local_name(root) != "node" || xml_ns_uri(root) != kNs) {
    std::string found;
    if (root) {
      found = " (found <" + std::string(xml_local_name(root)) + "> in " +
              (xml_ns_uri(root).empty() ? std::string("no namespace")
                                        : "namespace " + std::string(xml_ns_uri(root))) +
              ")";
    }
    result.diagnostics.push_back(
        {file, root ? xml_line(root) : 0,
         "the root element must be <node xmlns=\"urn:lienthong:config:1\">" + found});
    return result;
  }
  for (auto& p : schema().validate(doc->get())) {
    result.diagnostics.push_back({file, p.line, std::move(p.message)});
  }
  // The schema checks structure only and the rules check values only, so both always run and
  // one pass shows every problem.
  Builder builder(file, result.diagnostics);
  NodeConfig config = builder.build(root);
  std::stable_sort(
      result.diagnostics.begin(), result.diagnostics.end(),
      [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) { return a.line < b.line; });
  if (result.diagnostics.empty()) {
    config.file = file;
    config.base_dir = std::move(base_dir);
    result.config = std::move(config);
  }
  return result;
}

}  // namespace

ConfigResult load_node_config(std::string_view xml, const std::string& file) {
  return load(xml, file, std::filesystem::path(file).parent_path().string());
}

ConfigResult load_node_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& why) {
    ConfigResult r;
    r.diagnostics.push_back({path, 0, why});
    return r;
  };
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return fail("cannot read the file: it does not exist");
  if (!fs::is_regular_file(status)) return fail("cannot read the file: it is not a regular file");
  std::string bytes;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(std::string("cannot open the file: ") + std::strerror(errno));
  char buf[1 << 16];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) {
    bytes.append(buf, got);
    if (bytes.size() > kMaxFileBytes) {
      std::fclose(f);
      return fail("the file is larger than 10 MiB");
    }
  }
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return fail("cannot read the file");
  fs::path absolute = fs::absolute(fs::path(path), ec);
  std::string base = ec ? fs::path(path).parent_path().string()
                        : absolute.lexically_normal().parent_path().string();
  return load(bytes, path, std::move(base));
}

const NodeConfig& default_node_config() {
  static const NodeConfig config = [] {
    ConfigResult r = load(default_node_config_xml(), kDefaultFile, "");
    if (!r.ok()) {
      std::string all;
      for (const auto& d : r.diagnostics) all += "\n" + d.to_string();
      throw std::logic_error("the embedded default configuration does not load:" + all);
    }
    return std::move(*r.config);
  }();
  return config;
}

std::vector<DemoToken> demo_tokens() {
  return {
      {"clerk-g22", Role::clerk, "000.00.00.G22", "demo-clerk-g22-token"},
      {"clerk-h53", Role::clerk, "000.00.11.H53", "demo-clerk-h53-token"},
      {"clerk-a53", Role::clerk, "000.00.01.A53", "demo-clerk-a53-token"},
      {"clerk-h41", Role::clerk, "000.00.00.H41", "demo-clerk-h41-token"},
      {"admin", Role::administrator, "", "demo-admin-token"},
      {"auditor", Role::auditor, "", "demo-auditor-token"},
  };
}

}  // namespace lienthong
