#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "workflows/duration.hpp"

namespace lienthong {

// How a duration is counted: on the plain calendar, or in working days of a business calendar.
enum class CalendarKind { calendar, working };

// "calendar" or "working"; anything else is refused with code `calendar.invalid`.
Expected<CalendarKind> parse_calendar_kind(std::string_view text);
std::string_view to_string(CalendarKind kind);

// A date of the proleptic Gregorian calendar.
struct CivilDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

bool is_leap_year(int year);
// 28..31; 0 when month is not 1..12.
int days_in_month(int year, int month);
// True for a real calendar date (month 1..12, day within the month).
bool is_valid(const CivilDate& date);
// Days since 1970-01-01 (negative before it). Howard Hinnant's algorithms; exact for every date
// whose year fits an int.
std::int64_t days_from_civil(const CivilDate& date);
CivilDate civil_from_days(std::int64_t days);
// 0 = Sunday, 1 = Monday, ..., 6 = Saturday.
int weekday(const CivilDate& date);
// ISO `yyyy-MM-dd` with years 0001..9999 and a real date ("2026-02-30" is refused); code
// `date.invalid`.
Expected<CivilDate> parse_civil_date(std::string_view text);
// `yyyy-MM-dd`.
std::string to_string(const CivilDate& date);

// Seconds since 1970-01-01T00:00:00Z. Time points are meaningful from kMinTimePoint
// (0001-01-01T00:00:00Z) to kMaxTimePoint (9999-12-31T23:59:59Z); the calendar clamps anything
// outside into that range.
using TimePoint = std::int64_t;
inline constexpr TimePoint kMinTimePoint = -62135596800;
inline constexpr TimePoint kMaxTimePoint = 253402300799;

// The longest span a duration may have before `add`: 100 years, counted as 36525 calendar days
// (a year as 365 days, a month as 30) or, for working durations, 26000 working days (a week as
// 5, each 24 hours of working time as one).
inline constexpr std::int64_t kMaxSpanCalendarDays = 36525;
inline constexpr std::int64_t kMaxSpanWorkingDays = 26000;

// Working days and local time for deadlines. Working days are Monday to Friday, less the
// configured holidays (holidays that fall on a weekend change nothing). Calendar days are those
// of local time at a fixed UTC offset (UTC+7, Vietnam, by default; there is no daylight saving).
// Nothing here reads the clock: every answer depends only on the arguments and the
// configuration. Every operation is O(log h) or O(h log h) in the number h of holidays,
// whatever the span.
class BusinessCalendar {
 public:
  // Throws std::invalid_argument for a holiday that is not a real date or for an offset beyond
  // +/-18 hours (this is configuration, checked at startup).
  explicit BusinessCalendar(std::vector<CivilDate> holidays = {},
                            int utc_offset_seconds = 7 * 3600);

  int utc_offset_seconds() const { return utc_offset_; }

  bool is_working_day(const CivilDate& date) const;
  // The local date at time t.
  CivilDate local_date(TimePoint t) const;
  // 00:00 local time on that date.
  TimePoint start_of_day(const CivilDate& date) const;

  // Refuses, with code `duration.invalid`, negative components and durations longer than
  // kMaxSpanCalendarDays; for `working`, also what check_working refuses.
  static Expected<void> check(const Duration& duration, CalendarKind kind);
  // Refuses, with code `duration.invalid`, years and months (a working calendar cannot count
  // them), negative components and more than kMaxSpanWorkingDays working days.
  static Expected<void> check_working(const Duration& duration);

  // The time point `duration` after `start`.
  //
  // calendar: years and months are added to the local date, the day clamped to the length of
  //   the month it lands in (Jan 31 + P1M = Feb 28, or Feb 29 in a leap year); then weeks (7
  //   days), days and seconds are added as elapsed time. The local time of day is kept (there
  //   is no daylight saving, so local and UTC elapsed time are the same).
  //
  // working:
  //   1. If `start` falls on a non-working local day, it first moves to 00:00 local time of the
  //      next working day.
  //   2. Time then runs only on working days, 24 hours each, and stops on weekends and
  //      holidays. A day (D) is one working day and keeps the local time of day; a week (W) is
  //      5 working days; seconds (H, M, S) are working time. So Monday 10:00 + P1D = Tuesday
  //      10:00, Friday 10:00 + P1D = Monday 10:00, Saturday 10:00 + P1D = Tuesday 00:00 (all of
  //      Monday to do it), Friday 20:00 + PT6H = Monday 02:00.
  //   3. A result at exactly midnight is the start of the next working day, never the end of
  //      the previous one: Friday 20:00 + PT4H = Monday 00:00, so PT24H and P1D always agree.
  //   Years and months are not allowed here (check_working refuses them) and count as 0.
  //
  // `add` does not fail: validate with `check` first. Negative components count as 0,
  // components far beyond the limits of `check` are cut down to a bound that keeps the
  // arithmetic exact, and the result is clamped to [kMinTimePoint, kMaxTimePoint].
  TimePoint add(TimePoint start, const Duration& duration, CalendarKind kind) const;

  // The number of working days in (from, to]: from Friday to the next Monday is 1, from a day
  // to itself 0. When `to` is before `from` the answer is minus the count in (to, from], so a
  // positive answer for (deadline, completion) says how many working days late.
  std::int64_t working_days_between(const CivilDate& from, const CivilDate& to) const;

 private:
  bool is_working_day_number(std::int64_t day) const;
  // The number of holidays_ in (from, to]; negative when to < from.
  std::int64_t holidays_in(std::int64_t from, std::int64_t to) const;
  std::int64_t nth_working_day_after(std::int64_t day, std::int64_t n) const;

  std::vector<std::int64_t> holidays_;  // day numbers of holidays on Monday..Friday, sorted, unique
  int utc_offset_;
};

}  // namespace lienthong
