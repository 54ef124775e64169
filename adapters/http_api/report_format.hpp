#pragma once

// A report as JSON, CSV (UTF-8 with a byte-order mark, so that a spreadsheet shows Vietnamese names
// as written) or an aligned text table.

#include <string>
#include <string_view>

#include "engine/report.hpp"

namespace lienthong {

enum class ReportFormat { json, csv, table };

// json, csv or table. Error report.bad_format.
[[nodiscard]] Expected<ReportFormat> parse_report_format(std::string_view text);
std::string_view content_type_of(ReportFormat format);
std::string format_report(const Report& report, ReportFormat format);

}  // namespace lienthong
