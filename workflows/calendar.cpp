#include "workflows/calendar.hpp"

#include <cstdio>

#include <algorithm>
#include <stdexcept>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// 1970-01-05, a Monday: the origin for counting weekdays.
constexpr std::int64_t kMondayDay = 4;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}
std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  return a - floor_div(a, b) * b;
}

// 0 = Sunday .. 6 = Saturday for a day number (1970-01-01 was a Thursday).
int weekday_of_day(std::int64_t day) {
  return static_cast<int>(floor_mod(day + 4, 7));
}

// Monday-to-Friday days among [kMondayDay, kMondayDay + x) for x >= 0, and minus the count among
// [kMondayDay + x, kMondayDay) for x < 0; so prefix(y) - prefix(x) counts [x, y) for any x <= y.
std::int64_t weekday_prefix(std::int64_t x) {
  return floor_div(x, 7) * 5 + std::min<std::int64_t>(floor_mod(x, 7), 5);
}

// Monday-to-Friday days in (from, to]; negative when to < from.
std::int64_t weekdays_between(std::int64_t from, std::int64_t to) {
  return weekday_prefix(to + 1 - kMondayDay) - weekday_prefix(from + 1 - kMondayDay);
}

// The smallest day e > day with weekdays_between(day, e) == k, for k >= 1: the k-th weekday
// after `day`.
std::int64_t nth_weekday_after(std::int64_t day, std::int64_t k) {
  std::int64_t target = weekday_prefix(day + 1 - kMondayDay) + k;
  // The smallest x with weekday_prefix(x) >= target is 7q + r + 1 with target - 1 = 5q + r.
  std::int64_t q = floor_div(target - 1, 5);
  std::int64_t r = target - 1 - 5 * q;
  std::int64_t x = 7 * q + r + 1;
  return x - 1 + kMondayDay;
}

TimePoint clamp_time(std::int64_t t) {
  return std::clamp(t, kMinTimePoint, kMaxTimePoint);
}

// Component bounds for `add`: far beyond what `check` accepts, small enough that no arithmetic
// below can overflow.
std::int64_t bounded(std::int64_t value, std::int64_t max) {
  return std::clamp<std::int64_t>(value, 0, max);
}
constexpr std::int64_t kAddMaxYears = 20000;
constexpr std::int64_t kAddMaxMonths = 240000;
constexpr std::int64_t kAddMaxWeeks = 1100000;
constexpr std::int64_t kAddMaxDays = 7500000;
constexpr std::int64_t kAddMaxSeconds = 7500000 * kSecondsPerDay;

Error duration_error(const Duration& d, std::string_view what) {
  return Error{"duration.invalid", "duration '" + to_string(d) + "' " + std::string(what)};
}

bool has_negative(const Duration& d) {
  return d.years < 0 || d.months < 0 || d.weeks < 0 || d.days < 0 || d.seconds < 0;
}

std::string two_digits(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

}  // namespace

Expected<CalendarKind> parse_calendar_kind(std::string_view text) {
  if (text == "calendar") return CalendarKind::calendar;
  if (text == "working") return CalendarKind::working;
  return Error{"calendar.invalid",
               "calendar '" + std::string(text) + "' is invalid: use 'calendar' or 'working'"};
}

std::string_view to_string(CalendarKind kind) {
  return kind == CalendarKind::working ? "working" : "calendar";
}

bool is_leap_year(int year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int year, int month) {
  switch (month) {
    case 1:
    case 3:
    case 5:
    case 7:
    case 8:
    case 10:
    case 12:
      return 31;
    case 4:
    case 6:
    case 9:
    case 11:
      return 30;
    case 2:
      return is_leap_year(year) ? 29 : 28;
    default:
      return 0;
  }
}

bool is_valid(const CivilDate& date) {
  return date.month >= 1 && date.month <= 12 && date.day >= 1 &&
         date.day <= days_in_month(date.year, date.month);
}

// http://howardhinnant.github.io/date_algorithms.html#days_from_civil
std::int64_t days_from_civil(const CivilDate& date) {
  std::int64_t y = std::int64_t{date.year} - (date.month <= 2 ? 1 : 0);
  std::int64_t era = floor_div(y, 400);
  std::int64_t yoe = y - era * 400;                          // [0, 399]
  std::int64_t mp = (date.month + 9) % 12;                   // March = 0
  std::int64_t doy = (153 * mp + 2) / 5 + date.day - 1;      // [0, 365]
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

// http://howardhinnant.github.io/date_algorithms.html#civil_from_days
CivilDate civil_from_days(std::int64_t days) {
  std::int64_t z = days + 719468;
  std::int64_t era = floor_div(z, 146097);
  std::int64_t doe = z - era * 146097;                                       // [0, 146096]
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;                             // [1, 31]
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;                                // [1, 12]
  std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

int weekday(const CivilDate& date) {
  return weekday_of_day(days_from_civil(date));
}

Expected<CivilDate> parse_civil_date(std::string_view text) {
  auto invalid = [&](std::string_view what) {
    return Error{"date.invalid",
                 "date '" + std::string(text) + "' is invalid: " + std::string(what)};
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return invalid("write it as yyyy-MM-dd, for example 2026-02-17");
  }
  auto number = [&](std::size_t pos, std::size_t len, int& out) {
    return parse_digits(text.substr(pos, len), out);
  };
  CivilDate date;
  if (!number(0, 4, date.year) || !number(5, 2, date.month) || !number(8, 2, date.day)) {
    return invalid("write it as yyyy-MM-dd with digits only, for example 2026-02-17");
  }
  if (date.year == 0) return invalid("there is no year 0000");
  if (date.month < 1 || date.month > 12) return invalid("the month must be 01 to 12");
  if (date.day < 1 || date.day > days_in_month(date.year, date.month)) {
    return invalid("that month has " + std::to_string(days_in_month(date.year, date.month)) +
                   " days");
  }
  return date;
}

std::string to_string(const CivilDate& date) {
  std::string year = std::to_string(date.year);
  if (date.year >= 0 && year.size() < 4) year.insert(0, 4 - year.size(), '0');
  return year + "-" + two_digits(date.month) + "-" + two_digits(date.day);
}

BusinessCalendar::BusinessCalendar(std::vector<CivilDate> holidays, int utc_offset_seconds)
    : utc_offset_(utc_offset_seconds) {
  if (utc_offset_seconds < -18 * 3600 || utc_offset_seconds > 18 * 3600) {
    throw std::invalid_argument("business calendar: UTC offset " +
                                std::to_string(utc_offset_seconds) + " s is beyond +/-18 hours");
  }
  holidays_.reserve(holidays.size());
  for (const CivilDate& date : holidays) {
    if (!is_valid(date)) {
      throw std::invalid_argument("business calendar: holiday " + to_string(date) +
                                  " is not a real date");
    }
    std::int64_t day = days_from_civil(date);
    int wd = weekday_of_day(day);
    if (wd != 0 && wd != 6) holidays_.push_back(day);  // a weekend holiday changes nothing
  }
  std::sort(holidays_.begin(), holidays_.end());
  holidays_.erase(std::unique(holidays_.begin(), holidays_.end()), holidays_.end());
}

bool BusinessCalendar::is_working_day_number(std::int64_t day) const {
  int wd = weekday_of_day(day);
  if (wd == 0 || wd == 6) return false;
  return !std::binary_search(holidays_.begin(), holidays_.end(), day);
}

bool BusinessCalendar::is_working_day(const CivilDate& date) const {
  return is_working_day_number(days_from_civil(date));
}

CivilDate BusinessCalendar::local_date(TimePoint t) const {
  return civil_from_days(floor_div(clamp_time(t) + utc_offset_, kSecondsPerDay));
}

TimePoint BusinessCalendar::start_of_day(const CivilDate& date) const {
  return days_from_civil(date) * kSecondsPerDay - utc_offset_;
}

std::int64_t BusinessCalendar::holidays_in(std::int64_t from, std::int64_t to) const {
  auto upto = [this](std::int64_t day) {
    return std::upper_bound(holidays_.begin(), holidays_.end(), day) - holidays_.begin();
  };
  return upto(to) - upto(from);
}

// The n-th working day after `day`, n >= 1. Guess the n-th weekday, then push the guess on by
// the working days still missing (the holidays met on the way) until none are; each round
// passes at least one more holiday, so there are at most h + 1 rounds. The working-day count
// grows by at most one per weekday, so a guess never overshoots, and when it first reaches n
// the last weekday added was a working day.
std::int64_t BusinessCalendar::nth_working_day_after(std::int64_t day, std::int64_t n) const {
  std::int64_t k = n;
  for (;;) {
    std::int64_t e = nth_weekday_after(day, k);
    std::int64_t working = k - holidays_in(day, e);
    if (working == n) return e;
    k += n - working;
  }
}

std::int64_t BusinessCalendar::working_days_between(const CivilDate& from,
                                                    const CivilDate& to) const {
  std::int64_t a = days_from_civil(from);
  std::int64_t b = days_from_civil(to);
  return weekdays_between(a, b) - holidays_in(a, b);
}

Expected<void> BusinessCalendar::check(const Duration& duration, CalendarKind kind) {
  if (kind == CalendarKind::working) return check_working(duration);
  if (has_negative(duration)) return duration_error(duration, "has a negative component");
  std::int64_t span = std::int64_t{duration.years} * 365 + std::int64_t{duration.months} * 30 +
                      std::int64_t{duration.weeks} * 7 + duration.days +
                      (duration.seconds + kSecondsPerDay - 1) / kSecondsPerDay;
  if (span > kMaxSpanCalendarDays) {
    return duration_error(duration, "is too long: a deadline can be at most 100 years away");
  }
  return {};
}

Expected<void> BusinessCalendar::check_working(const Duration& duration) {
  if (has_negative(duration)) return duration_error(duration, "has a negative component");
  if (duration.years != 0 || duration.months != 0) {
    return duration_error(duration,
                          "uses years or months, which working days cannot count; use days "
                          "(D) or weeks (W, 5 working days) with calendar=\"working\"");
  }
  std::int64_t span = std::int64_t{duration.weeks} * 5 + duration.days +
                      (duration.seconds + kSecondsPerDay - 1) / kSecondsPerDay;
  if (span > kMaxSpanWorkingDays) {
    return duration_error(duration, "is too long: a working-day deadline can be at most " +
                                        std::to_string(kMaxSpanWorkingDays) +
                                        " working days (about 100 years) away");
  }
  return {};
}

TimePoint BusinessCalendar::add(TimePoint start, const Duration& duration,
                                CalendarKind kind) const {
  std::int64_t local = clamp_time(start) + utc_offset_;
  std::int64_t day = floor_div(local, kSecondsPerDay);
  std::int64_t time_of_day = floor_mod(local, kSecondsPerDay);
  std::int64_t weeks = bounded(duration.weeks, kAddMaxWeeks);
  std::int64_t days = bounded(duration.days, kAddMaxDays);
  std::int64_t seconds = bounded(duration.seconds, kAddMaxSeconds);

  if (kind == CalendarKind::calendar) {
    std::int64_t years = bounded(duration.years, kAddMaxYears);
    std::int64_t months = bounded(duration.months, kAddMaxMonths);
    if (years != 0 || months != 0) {
      CivilDate date = civil_from_days(day);
      std::int64_t month_index =
          std::int64_t{date.year} * 12 + (date.month - 1) + years * 12 + months;
      int year = static_cast<int>(floor_div(month_index, 12));
      int month = static_cast<int>(floor_mod(month_index, 12)) + 1;
      day = days_from_civil(CivilDate{year, month, std::min(date.day, days_in_month(year, month))});
    }
    day += weeks * 7 + days;
    return clamp_time(day * kSecondsPerDay + time_of_day + seconds - utc_offset_);
  }

  if (!is_working_day_number(day)) {
    day = nth_working_day_after(day, 1);
    time_of_day = 0;
  }
  // Working time since 00:00 of `day`, in 24-hour working days and a remainder.
  std::int64_t elapsed = time_of_day + seconds;
  std::int64_t working_days = weeks * 5 + days + elapsed / kSecondsPerDay;
  if (working_days > 0) day = nth_working_day_after(day, working_days);
  return clamp_time(day * kSecondsPerDay + elapsed % kSecondsPerDay - utc_offset_);
}

}  // namespace lienthong
