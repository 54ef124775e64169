#include "engine/report.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace lienthong {
namespace {

Error bad_period(std::string_view text, const std::string& why) {
  return Error{"report.bad_period", "period '" + std::string(text) + "' " + why};
}

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t first_of_month(int year, int month) {
  return first_day_of_month(month_number(year, month));
}

std::int64_t last_of_month(int year, int month) {
  return last_day_of_month(month_number(year, month));
}

std::optional<double> share(std::int64_t part, std::int64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

ReportFigures figures_of(const Tally& t) {
  ReportFigures f;
  f.handovers = t.handovers;
  if (t.channel == "electronic" || t.channel == "electronic+paper") f.electronic = t.handovers;
  if (t.channel == "electronic+paper") f.with_paper = t.handovers;
  if (t.channel == "paper") f.paper = t.handovers;
  f.steps_completed = t.steps_completed;
  f.steps_on_time = t.steps_on_time;
  f.dossiers = t.dossiers;
  if (t.channel == "online") f.dossiers_online = t.dossiers;
  if (t.channel == "in_person") f.dossiers_in_person = t.dossiers;
  if (t.channel == "post") f.dossiers_post = t.dossiers;
  f.dossiers_completed = t.dossiers_completed;
  f.dossiers_on_time = t.dossiers_on_time;
  return f;
}

std::vector<ReportShortfall> shortfalls_of(const ReportFigures& f, const TargetsConfig& targets) {
  std::vector<ReportShortfall> out;
  auto check = [&](const char* figure, std::optional<double> value, double target) {
    // A share one part in a million under its target is not flagged: doubles, not judgement.
    if (value && *value < target - 1e-9) {
      out.push_back({figure, *value, target, target - *value});
    }
  };
  check("electronic_share", f.electronic_share(), targets.electronic_share);
  check("on_time_share", f.on_time_share(), targets.on_time_share);
  check("online_share", f.online_share(), targets.online_share);
  return out;
}

bool has(const std::vector<ReportDimension>& dims, ReportDimension d) {
  return std::find(dims.begin(), dims.end(), d) != dims.end();
}

}  // namespace

std::optional<double> ReportFigures::electronic_share() const {
  return share(electronic, handovers);
}

std::optional<double> ReportFigures::on_time_share() const {
  return share(steps_on_time + dossiers_on_time, steps_completed + dossiers_completed);
}

std::optional<double> ReportFigures::online_share() const {
  return share(dossiers_online, dossiers);
}

void ReportFigures::add(const ReportFigures& o) {
  handovers += o.handovers;
  electronic += o.electronic;
  with_paper += o.with_paper;
  paper += o.paper;
  steps_completed += o.steps_completed;
  steps_on_time += o.steps_on_time;
  dossiers += o.dossiers;
  dossiers_online += o.dossiers_online;
  dossiers_in_person += o.dossiers_in_person;
  dossiers_post += o.dossiers_post;
  dossiers_completed += o.dossiers_completed;
  dossiers_on_time += o.dossiers_on_time;
  overdue_open += o.overdue_open;
}

bool ReportFigures::empty() const {
  return handovers == 0 && steps_completed == 0 && dossiers == 0 && dossiers_completed == 0 &&
         overdue_open == 0;
}

Expected<std::vector<ReportDimension>> parse_report_group_by(std::string_view text) {
  std::vector<ReportDimension> out;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    ReportDimension d;
    if (part == "agency") {
      d = ReportDimension::agency;
    } else if (part == "type") {
      d = ReportDimension::type;
    } else if (part == "channel") {
      d = ReportDimension::channel;
    } else {
      return Error{"report.bad_group_by", "cannot group by '" + std::string(part) +
                                              "': use agency, type, channel or a list of them"};
    }
    if (has(out, d)) {
      return Error{"report.bad_group_by", "'" + std::string(part) + "' is named twice"};
    }
    out.push_back(d);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Expected<ReportPeriod> parse_report_period(std::string_view text) {
  const std::string label(text);
  auto year_of = [&](std::string_view y) -> std::optional<int> {
    if (y.size() != 4 || !digits(y)) return std::nullopt;
    const int v = std::stoi(std::string(y));
    if (v < 1) return std::nullopt;
    return v;
  };
  if (text.size() == 4) {
    auto y = year_of(text);
    if (!y) return bad_period(text, "is not a year");
    return ReportPeriod{first_of_month(*y, 1), last_of_month(*y, 12), label};
  }
  if (text.size() == 7 && text[4] == '-' && (text[5] == 'Q' || text[5] == 'q')) {
    auto y = year_of(text.substr(0, 4));
    const int q = text[6] - '0';
    if (!y || q < 1 || q > 4) return bad_period(text, "is not a quarter (2026-Q1 to 2026-Q4)");
    return ReportPeriod{first_of_month(*y, 3 * q - 2), last_of_month(*y, 3 * q), label};
  }
  if (text.size() == 7 && text[4] == '-') {
    auto y = year_of(text.substr(0, 4));
    const std::string_view m = text.substr(5, 2);
    const int month = digits(m) ? std::stoi(std::string(m)) : 0;
    if (!y || month < 1 || month > 12) return bad_period(text, "is not a month (2026-11)");
    return ReportPeriod{first_of_month(*y, month), last_of_month(*y, month), label};
  }
  auto day = parse_config_date(text);
  if (!day) {
    return bad_period(text,
                      "is neither a year (2026), a quarter (2026-Q3), a month (2026-11) "
                      "nor a day (2026-11-30)");
  }
  return ReportPeriod{day->day_number(), day->day_number(), label};
}

Expected<ReportPeriod> report_period_between(std::string_view from, std::string_view to) {
  auto a = parse_config_date(from);
  if (!a) return Error{"report.bad_period", "from: " + a.error().message};
  auto b = parse_config_date(to);
  if (!b) return Error{"report.bad_period", "to: " + b.error().message};
  if (*b < *a) {
    return Error{"report.bad_period", "from " + a->to_string() + " is after to " + b->to_string()};
  }
  return ReportPeriod{a->day_number(), b->day_number(), a->to_string() + ".." + b->to_string()};
}

Expected<Report> make_report(Store& store, const std::vector<ReportAgency>& agencies,
                             const TargetsConfig& targets, const ReportQuery& query) {
  auto tallies = store.tallies(query.period.first_day, query.period.last_day);
  if (!tallies) return tallies.error();
  const Timestamp period_end =
      (query.period.last_day + 1) * 86400 - static_cast<Timestamp>(query.utc_offset);
  auto open_tasks = store.open_tasks_by_agency(std::min(query.now, period_end));
  if (!open_tasks) return open_tasks.error();
  std::vector<std::pair<std::string, std::int64_t>> overdue;
  for (const auto& t : *open_tasks) {
    if (t.overdue > 0) overdue.emplace_back(t.agency, t.overdue);
  }

  // The hierarchy: the directory's agencies, and any other agency the counts name, as a root.
  std::map<std::string, ReportAgency> known;
  for (const auto& a : agencies) known[a.code] = a;
  for (const auto& t : *tallies) known.try_emplace(t.agency, ReportAgency{t.agency, t.agency, ""});
  for (const auto& [code, n] : overdue) known.try_emplace(code, ReportAgency{code, code, ""});
  std::map<std::string, std::vector<std::string>> children;  // sorted by code
  std::vector<std::string> roots;
  for (const auto& [code, a] : known) {
    if (a.parent.empty() || a.parent == code || !known.count(a.parent)) {
      roots.push_back(code);
    } else {
      children[a.parent].push_back(code);
    }
  }
  if (!query.agency.empty()) {
    if (!known.count(query.agency)) {
      return Error{"report.unknown_agency", "agency " + query.agency + " is not in the directory"};
    }
    roots = {query.agency};
  }
  // Pre-order walk of the scope; an agency is walked once, whatever its parents.
  std::vector<std::pair<std::string, int>> order;
  std::set<std::string> seen;
  std::function<void(const std::string&, int)> walk = [&](const std::string& code, int depth) {
    if (!seen.insert(code).second) return;
    order.emplace_back(code, depth);
    for (const auto& c : children[code]) walk(c, depth + 1);
  };
  for (const auto& r : roots) walk(r, 0);
  if (query.agency.empty()) {
    // Agencies whose parents form a cycle have no root above them: each is a root of its own.
    for (const auto& [code, a] : known) walk(code, 0);
  }

  const bool by_agency = has(query.group_by, ReportDimension::agency);
  const bool by_type = has(query.group_by, ReportDimension::type);
  const bool by_channel = has(query.group_by, ReportDimension::channel);
  using Key = std::pair<std::string, std::string>;  // type, channel (empty when not grouped)
  std::map<std::string, std::map<Key, ReportFigures>> own;  // per agency in scope
  auto key_of = [&](const std::string& type, const std::string& channel) {
    return Key{by_type ? type : "", by_channel ? channel : ""};
  };
  for (const auto& t : *tallies) {
    if (!seen.count(t.agency)) continue;
    own[t.agency][key_of(t.type, t.channel)].add(figures_of(t));
  }
  for (const auto& [code, n] : overdue) {
    if (!seen.count(code)) continue;
    ReportFigures f;
    f.overdue_open = n;
    own[code][key_of("", "")].add(f);
  }

  Report report{query, targets, {}, {}};
  const bool flag_rows = !by_channel;
  for (const auto& [code, by_key] : own) {
    for (const auto& [key, f] : by_key) report.total.figures.add(f);
  }
  report.total.shortfalls = shortfalls_of(report.total.figures, targets);

  auto push = [&](const std::string& agency, int depth, const Key& key, const ReportFigures& f) {
    if (f.empty()) return;
    ReportRow row;
    if (by_agency) {
      row.agency = agency;
      row.agency_name = known[agency].name;
      row.depth = depth;
    }
    row.type = key.first;
    row.channel = key.second;
    row.figures = f;
    if (flag_rows) row.shortfalls = shortfalls_of(f, targets);
    report.rows.push_back(std::move(row));
  };
  if (by_agency) {
    // Each agency's row holds everything under it: sums computed bottom-up.
    std::map<std::string, std::map<Key, ReportFigures>> subtotal;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      auto& sum = subtotal[it->first];
      for (const auto& [key, f] : own[it->first]) sum[key].add(f);
      for (const auto& c : children[it->first]) {
        if (!seen.count(c)) continue;
        for (const auto& [key, f] : subtotal[c]) sum[key].add(f);
      }
    }
    for (const auto& [code, depth] : order) {
      for (const auto& [key, f] : subtotal[code]) push(code, depth, key, f);
    }
  } else {
    std::map<Key, ReportFigures> sums;
    for (const auto& [code, by_key] : own) {
      for (const auto& [key, f] : by_key) sums[key].add(f);
    }
    for (const auto& [key, f] : sums) push("", 0, key, f);
  }
  return report;
}

}  // namespace lienthong
