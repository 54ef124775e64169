#pragma once

// The auditors' report (DESIGN.md section 6): for a period, hand-overs and their electronic share,
// completed steps and dossiers and their on-time share, open tasks past their due time, dossiers
// by submission channel and their online share, each share against its target, grouped by agency
// (each agency with everything under it, following the directory's parents), document type and
// channel. Every count comes from audit events (the store keeps them per day and month as the
// events are written; README gives each definition).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "config/node_config.hpp"
#include "engine/store.hpp"

namespace lienthong {

enum class ReportDimension { agency, type, channel };

// `agency`, `type`, `channel` or a comma-separated list of them. Error report.bad_group_by.
[[nodiscard]] Expected<std::vector<ReportDimension>> parse_report_group_by(std::string_view text);

struct ReportPeriod {
  std::int64_t first_day = 0;  // local days since 1970-01-01, both included
  std::int64_t last_day = 0;
  std::string label;  // 2026, 2026-Q3, 2026-11, 2026-11-30 or 2026-01-01..2026-06-30
};
// A year (2026), quarter (2026-Q3), month (2026-11) or day (2026-11-30). Error report.bad_period.
[[nodiscard]] Expected<ReportPeriod> parse_report_period(std::string_view text);
// From one day to another (yyyy-MM-dd, both included). Error report.bad_period.
[[nodiscard]] Expected<ReportPeriod> report_period_between(std::string_view from,
                                                           std::string_view to);

struct ReportAgency {
  std::string code;
  std::string name;
  std::string parent;  // empty for a root
};

struct ReportQuery {
  ReportPeriod period;
  std::string agency;  // empty: every agency; else this one and those under it
  std::vector<ReportDimension> group_by{ReportDimension::agency};
  Timestamp now = 0;
  int utc_offset = 7 * 3600;
};

struct ReportFigures {
  std::int64_t handovers = 0;
  std::int64_t electronic = 0;  // channel electronic or electronic+paper
  std::int64_t with_paper = 0;  // electronic+paper
  std::int64_t paper = 0;       // paper only
  std::int64_t steps_completed = 0;
  std::int64_t steps_on_time = 0;
  std::int64_t dossiers = 0;  // registered
  std::int64_t dossiers_online = 0;
  std::int64_t dossiers_in_person = 0;
  std::int64_t dossiers_post = 0;
  std::int64_t dossiers_completed = 0;
  std::int64_t dossiers_on_time = 0;
  std::int64_t overdue_open = 0;

  // Nothing when there is nothing to divide by.
  std::optional<double> electronic_share() const;
  std::optional<double> on_time_share() const;  // steps and dossiers together
  std::optional<double> online_share() const;
  void add(const ReportFigures& other);
  bool empty() const;
};

struct ReportShortfall {
  std::string figure;  // electronic_share, on_time_share, online_share
  double value = 0;
  double target = 0;
  double gap = 0;  // target - value
};

struct ReportRow {
  std::string agency;  // empty when not grouped by agency
  std::string agency_name;
  int depth = 0;  // of the agency under the report's roots
  std::string type;
  std::string channel;
  ReportFigures figures;
  std::vector<ReportShortfall> shortfalls;  // of rows grouped by agency alone, and the total
};

struct Report {
  ReportQuery query;
  TargetsConfig targets;
  std::vector<ReportRow> rows;
  ReportRow total;  // everything in the report's scope
};

// Error report.unknown_agency when `query.agency` is neither in `agencies` nor in the counts.
[[nodiscard]] Expected<Report> make_report(Store& store, const std::vector<ReportAgency>& agencies,
                                           const TargetsConfig& targets, const ReportQuery& query);

}  // namespace lienthong
