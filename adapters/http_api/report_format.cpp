#include "adapters/http_api/report_format.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace lienthong {
namespace {

namespace json = boost::json;

std::string day_text(std::int64_t day) {
  return ConfigDate::from_day_number(day).to_string();
}

std::string percent(std::optional<double> share) {
  if (!share) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *share * 100);
  return buf;
}

json::value share_json(std::optional<double> share) {
  if (!share) return nullptr;
  return *share;
}

const char* dimension_name(ReportDimension d) {
  switch (d) {
    case ReportDimension::agency:
      return "agency";
    case ReportDimension::type:
      return "type";
    case ReportDimension::channel:
      return "channel";
  }
  return "";
}

json::object row_json(const ReportRow& r) {
  const ReportFigures& f = r.figures;
  json::array shortfalls;
  for (const auto& s : r.shortfalls) {
    shortfalls.emplace_back(json::object{
        {"figure", s.figure}, {"value", s.value}, {"target", s.target}, {"gap", s.gap}});
  }
  return json::object{{"agency", r.agency},
                      {"name", r.agency_name},
                      {"depth", r.depth},
                      {"type", r.type},
                      {"channel", r.channel},
                      {"handovers", f.handovers},
                      {"electronic", f.electronic},
                      {"electronic_with_paper", f.with_paper},
                      {"paper", f.paper},
                      {"electronic_share", share_json(f.electronic_share())},
                      {"steps_completed", f.steps_completed},
                      {"steps_on_time", f.steps_on_time},
                      {"dossiers_completed", f.dossiers_completed},
                      {"dossiers_on_time", f.dossiers_on_time},
                      {"on_time_share", share_json(f.on_time_share())},
                      {"overdue_open", f.overdue_open},
                      {"dossiers", f.dossiers},
                      {"dossiers_online", f.dossiers_online},
                      {"dossiers_in_person", f.dossiers_in_person},
                      {"dossiers_post", f.dossiers_post},
                      {"online_share", share_json(f.online_share())},
                      {"shortfalls", std::move(shortfalls)}};
}

std::string as_json(const Report& report) {
  json::array rows;
  for (const auto& r : report.rows) rows.emplace_back(row_json(r));
  json::array group_by;
  for (auto d : report.query.group_by) group_by.emplace_back(dimension_name(d));
  json::object doc{{"period", json::object{{"label", report.query.period.label},
                                           {"from", day_text(report.query.period.first_day)},
                                           {"to", day_text(report.query.period.last_day)}}},
                   {"agency", report.query.agency},
                   {"group_by", std::move(group_by)},
                   {"targets", json::object{{"electronic_share", report.targets.electronic_share},
                                            {"on_time_share", report.targets.on_time_share},
                                            {"online_share", report.targets.online_share}}},
                   {"rows", std::move(rows)},
                   {"total", row_json(report.total)}};
  return json::serialize(doc) + "\n";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string shortfall_text(const ReportRow& r) {
  std::string out;
  for (const auto& s : r.shortfalls) {
    if (!out.empty()) out += "; ";
    out += s.figure + " " + percent(s.value) + " < " + percent(s.target) + " (gap " +
           percent(s.gap) + ")";
  }
  return out;
}

std::string as_csv(const Report& report) {
  std::string out = "\xEF\xBB\xBF";  // UTF-8 byte-order mark: spreadsheets then read UTF-8
  out +=
      "agency,name,type,channel,handovers,electronic,electronic_with_paper,paper,"
      "electronic_share,steps_completed,steps_on_time,dossiers_completed,dossiers_on_time,"
      "on_time_share,overdue_open,dossiers,dossiers_online,dossiers_in_person,dossiers_post,"
      "online_share,short_of_target\r\n";
  auto number = [](std::optional<double> v) {
    if (!v) return std::string();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", *v);
    return std::string(buf);
  };
  auto line = [&](const ReportRow& r, const std::string& agency) {
    const ReportFigures& f = r.figures;
    const std::vector<std::string> cells = {csv_field(agency),
                                            csv_field(r.agency_name),
                                            csv_field(r.type),
                                            csv_field(r.channel),
                                            std::to_string(f.handovers),
                                            std::to_string(f.electronic),
                                            std::to_string(f.with_paper),
                                            std::to_string(f.paper),
                                            number(f.electronic_share()),
                                            std::to_string(f.steps_completed),
                                            std::to_string(f.steps_on_time),
                                            std::to_string(f.dossiers_completed),
                                            std::to_string(f.dossiers_on_time),
                                            number(f.on_time_share()),
                                            std::to_string(f.overdue_open),
                                            std::to_string(f.dossiers),
                                            std::to_string(f.dossiers_online),
                                            std::to_string(f.dossiers_in_person),
                                            std::to_string(f.dossiers_post),
                                            number(f.online_share()),
                                            csv_field(shortfall_text(r))};
    for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
    out += "\r\n";
  };
  for (const auto& r : report.rows) line(r, r.agency);
  line(report.total, "TOTAL");
  return out;
}

// Display width of UTF-8 text: one per code point (Vietnamese names are precomposed).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string as_table(const Report& report) {
  const bool by_type = std::find(report.query.group_by.begin(), report.query.group_by.end(),
                                 ReportDimension::type) != report.query.group_by.end();
  const bool by_channel = std::find(report.query.group_by.begin(), report.query.group_by.end(),
                                    ReportDimension::channel) != report.query.group_by.end();
  std::vector<std::string> header = {"agency"};
  if (by_type) header.push_back("type");
  if (by_channel) header.push_back("channel");
  for (const char* h : {"hand-overs", "electronic", "on time", "overdue", "dossiers", "online",
                        "short of target"}) {
    header.push_back(h);
  }
  std::vector<std::vector<std::string>> cells{header};
  auto add = [&](const ReportRow& r, const std::string& label) {
    const ReportFigures& f = r.figures;
    std::vector<std::string> row = {label};
    if (by_type) row.push_back(r.type.empty() ? "-" : r.type);
    if (by_channel) row.push_back(r.channel.empty() ? "-" : r.channel);
    row.push_back(std::to_string(f.handovers));
    row.push_back(percent(f.electronic_share()));
    row.push_back(percent(f.on_time_share()));
    row.push_back(std::to_string(f.overdue_open));
    row.push_back(std::to_string(f.dossiers));
    row.push_back(percent(f.online_share()));
    row.push_back(shortfall_text(r));
    cells.push_back(std::move(row));
  };
  for (const auto& r : report.rows) {
    add(r, r.agency.empty() ? "(all)"
                            : std::string(2 * static_cast<std::size_t>(r.depth), ' ') + r.agency +
                                  " " + r.agency_name);
  }
  add(report.total, "TOTAL");
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string out = "report " + report.query.period.label + " (" +
                    day_text(report.query.period.first_day) + " to " +
                    day_text(report.query.period.last_day) + ")" +
                    (report.query.agency.empty() ? "" : ", agency " + report.query.agency) +
                    "; targets: electronic " + percent(report.targets.electronic_share) +
                    ", on time " + percent(report.targets.on_time_share) + ", online " +
                    percent(report.targets.online_share) + "\n";
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool text = i == 0 || (by_type && i == 1) ||
                        (by_channel && i == 1 + (by_type ? 1 : 0)) || i + 1 == row.size();
      const std::string pad(widths[i] - width(row[i]), ' ');
      line += (i ? "  " : "") + (text ? row[i] + (i + 1 == row.size() ? "" : pad) : pad + row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

Expected<ReportFormat> parse_report_format(std::string_view text) {
  if (text == "json") return ReportFormat::json;
  if (text == "csv") return ReportFormat::csv;
  if (text == "table") return ReportFormat::table;
  return Error{"report.bad_format", "format '" + std::string(text) + "': use json, csv or table"};
}

std::string_view content_type_of(ReportFormat format) {
  switch (format) {
    case ReportFormat::json:
      return "application/json";
    case ReportFormat::csv:
      return "text/csv; charset=utf-8";
    case ReportFormat::table:
      return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

std::string format_report(const Report& report, ReportFormat format) {
  switch (format) {
    case ReportFormat::json:
      return as_json(report);
    case ReportFormat::csv:
      return as_csv(report);
    case ReportFormat::table:
      return as_table(report);
  }
  return {};
}

}  // namespace lienthong
