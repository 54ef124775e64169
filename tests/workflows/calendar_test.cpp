#include "workflows/calendar.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace lienthong {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kHour = 3600;

CivilDate date(std::string_view text) {
  auto d = parse_civil_date(text);
  EXPECT_TRUE(d) << text;
  return d ? *d : CivilDate{};
}

std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  return ((a % b) + b) % b;
}

// A local time on a business calendar, e.g. at(cal, "2026-02-13", 10) for 10:00 local.
TimePoint at(const BusinessCalendar& cal, std::string_view day, int hour, int minute = 0) {
  return cal.start_of_day(date(day)) + hour * kHour + minute * 60;
}

// "2026-02-23 10:00" in the calendar's local time, for readable failures.
std::string local(const BusinessCalendar& cal, TimePoint t) {
  std::int64_t seconds = floor_mod(t + cal.utc_offset_seconds(), kDay);
  char buf[16];
  std::snprintf(buf, sizeof buf, " %02d:%02d", static_cast<int>(seconds / kHour),
                static_cast<int>(seconds % kHour / 60));
  std::string out = to_string(cal.local_date(t)) + buf;
  if (seconds % 60 != 0) out += ":" + std::to_string(seconds % 60);
  return out;
}

Duration dur(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d) << text;
  return d ? *d : Duration{};
}

std::string add_working(const BusinessCalendar& cal, TimePoint start, std::string_view d) {
  return local(cal, cal.add(start, dur(d), CalendarKind::working));
}
std::string add_calendar(const BusinessCalendar& cal, TimePoint start, std::string_view d) {
  return local(cal, cal.add(start, dur(d), CalendarKind::calendar));
}

// Tết 2026 as configured data: Saturday 2026-02-14 to Sunday 2026-02-22.
std::vector<CivilDate> tet_2026() {
  std::vector<CivilDate> days;
  for (int d = 14; d <= 22; ++d) days.push_back(CivilDate{2026, 2, d});
  return days;
}

TEST(CalendarKind, Parses) {
  EXPECT_EQ(*parse_calendar_kind("calendar"), CalendarKind::calendar);
  EXPECT_EQ(*parse_calendar_kind("working"), CalendarKind::working);
  for (std::string_view bad : {"", "Working", "business", "working "}) {
    auto k = parse_calendar_kind(bad);
    ASSERT_FALSE(k) << bad;
    EXPECT_EQ(k.error().code, "calendar.invalid");
    EXPECT_NE(k.error().message.find("'" + std::string(bad) + "'"), std::string::npos);
  }
  EXPECT_EQ(to_string(CalendarKind::working), "working");
  EXPECT_EQ(to_string(CalendarKind::calendar), "calendar");
}

TEST(CivilDate, KnownDayNumbers) {
  EXPECT_EQ(days_from_civil({1970, 1, 1}), 0);
  EXPECT_EQ(days_from_civil({1969, 12, 31}), -1);
  EXPECT_EQ(days_from_civil({2000, 3, 1}), 11017);
  EXPECT_EQ(days_from_civil({2024, 2, 29}), 19782);
  EXPECT_EQ(days_from_civil({2026, 2, 17}), 20501);
  EXPECT_EQ(days_from_civil({2100, 3, 1}), 47541);
  EXPECT_EQ(days_from_civil({1, 1, 1}), -719162);
  EXPECT_EQ(civil_from_days(19782), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(civil_from_days(19783), (CivilDate{2024, 3, 1}));
  EXPECT_EQ(civil_from_days(47541), (CivilDate{2100, 3, 1}));
  // 2100 is not a leap year: the day before March 1 is February 28.
  EXPECT_EQ(civil_from_days(47540), (CivilDate{2100, 2, 28}));
  // 2000 is.
  EXPECT_EQ(civil_from_days(11016), (CivilDate{2000, 2, 29}));
  EXPECT_EQ(civil_from_days(-1), (CivilDate{1969, 12, 31}));
}

TEST(CivilDate, RoundTripsEveryDayOverCenturies) {
  // 1600-01-01 .. 2400-12-31, checking continuity against an independent day-by-day walk.
  CivilDate walk{1600, 1, 1};
  std::int64_t first = days_from_civil(walk);
  for (std::int64_t n = first; n <= days_from_civil({2400, 12, 31}); ++n) {
    ASSERT_EQ(civil_from_days(n), walk) << n;
    ASSERT_EQ(days_from_civil(walk), n);
    ASSERT_TRUE(is_valid(walk));
    if (++walk.day > days_in_month(walk.year, walk.month)) {
      walk.day = 1;
      if (++walk.month > 12) {
        walk.month = 1;
        ++walk.year;
      }
    }
  }
}

TEST(CivilDate, Weekdays) {
  EXPECT_EQ(weekday({2026, 11, 22}), 0);  // Sunday
  EXPECT_EQ(weekday({1970, 1, 1}), 4);    // Thursday
  EXPECT_EQ(weekday({2026, 2, 17}), 2);   // Tuesday, Tết 2026
  EXPECT_EQ(weekday({2024, 2, 29}), 4);   // Thursday
  EXPECT_EQ(weekday({2100, 3, 1}), 1);    // Monday
  EXPECT_EQ(weekday({2026, 3, 7}), 6);    // Saturday
  EXPECT_EQ(weekday({1969, 12, 28}), 0);  // Sunday, before the epoch
  EXPECT_EQ(weekday({1, 1, 1}), 1);       // Monday (proleptic Gregorian)
}

TEST(CivilDate, Compares) {
  EXPECT_LT((CivilDate{2025, 12, 31}), (CivilDate{2026, 1, 1}));
  EXPECT_LT((CivilDate{2026, 1, 31}), (CivilDate{2026, 2, 1}));
  EXPECT_GT((CivilDate{2026, 2, 2}), (CivilDate{2026, 2, 1}));
  EXPECT_EQ((CivilDate{2026, 2, 1}), (CivilDate{2026, 2, 1}));
}

TEST(CivilDate, Parses) {
  EXPECT_EQ(date("2026-02-17"), (CivilDate{2026, 2, 17}));
  EXPECT_EQ(date("2024-02-29"), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(date("0001-01-01"), (CivilDate{1, 1, 1}));
  EXPECT_EQ(to_string(CivilDate{2026, 2, 7}), "2026-02-07");
  EXPECT_EQ(to_string(CivilDate{33, 12, 31}), "0033-12-31");
  for (std::string_view bad :
       {"", "2026-2-17", "2026/02/17", "2026-02-30", "2025-02-29", "2100-02-29", "2026-13-01",
        "2026-00-10", "2026-01-00", "0000-01-01", "20260217", "2026-02-17T00:00", "2026-0a-17",
        "+026-02-17", " 2026-02-1"}) {
    auto d = parse_civil_date(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, "date.invalid");
    EXPECT_NE(d.error().message.find("'" + std::string(bad) + "'"), std::string::npos);
  }
}

TEST(BusinessCalendar, RefusesBadConfiguration) {
  EXPECT_THROW(BusinessCalendar({{2026, 2, 30}}), std::invalid_argument);
  EXPECT_THROW(BusinessCalendar({}, 19 * 3600), std::invalid_argument);
  EXPECT_NO_THROW(BusinessCalendar({}, -12 * 3600));
}

TEST(BusinessCalendar, WorkingDays) {
  BusinessCalendar cal(tet_2026());
  EXPECT_TRUE(cal.is_working_day(date("2026-02-13")));   // Friday before Tết
  EXPECT_FALSE(cal.is_working_day(date("2026-02-14")));  // Saturday
  EXPECT_FALSE(cal.is_working_day(date("2026-02-16")));  // Monday, holiday
  EXPECT_FALSE(cal.is_working_day(date("2026-02-20")));  // Friday, holiday
  EXPECT_TRUE(cal.is_working_day(date("2026-02-23")));   // Monday after
  EXPECT_FALSE(cal.is_working_day(date("2026-11-22")));  // Sunday
  BusinessCalendar plain;
  EXPECT_TRUE(plain.is_working_day(date("2026-02-16")));
}

TEST(BusinessCalendar, LocalDateAtPlusSeven) {
  BusinessCalendar cal;
  // 2026-03-06T18:00:00Z is Saturday 01:00 in Hà Nội.
  TimePoint t = days_from_civil({2026, 3, 6}) * kDay + 18 * kHour;
  EXPECT_EQ(cal.local_date(t), (CivilDate{2026, 3, 7}));
  EXPECT_EQ(local(cal, t), "2026-03-07 01:00");
  EXPECT_EQ(cal.local_date(t - 1 - kHour), (CivilDate{2026, 3, 6}));  // 16:59:59Z = 23:59:59
  // Before the epoch, division must round down.
  EXPECT_EQ(cal.local_date(-8 * kHour), (CivilDate{1969, 12, 31}));
  EXPECT_EQ(BusinessCalendar({}, 0).local_date(t), (CivilDate{2026, 3, 6}));
  EXPECT_EQ(
      BusinessCalendar({}, -5 * 3600).local_date(days_from_civil({2026, 3, 7}) * kDay + 3 * kHour),
      (CivilDate{2026, 3, 6}));
}

TEST(BusinessCalendar, TheDocumentedExamples) {
  BusinessCalendar cal;
  // 2026-03-06 is a Friday, 03-07 Saturday, 03-09 Monday.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-07", 10), "P1D"), "2026-03-10 00:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-09", 10), "P1D"), "2026-03-10 10:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 10), "P1D"), "2026-03-09 10:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 20), "PT6H"), "2026-03-09 02:00");
  // Exactly midnight lands at the start of the next working day.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 20), "PT4H"), "2026-03-09 00:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 20), "PT3H59M59S"), "2026-03-06 23:59:59");
  // Sunday counts the same as Saturday.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-08", 23, 59), "PT1H"), "2026-03-09 01:00");
  // Zero on a weekend still moves to the next working day.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-07", 10), "P0D"), "2026-03-09 00:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-09", 10), "P0D"), "2026-03-09 10:00");
}

TEST(BusinessCalendar, WorkingDaysAcrossWeekends) {
  BusinessCalendar cal;
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-09", 9), "P5D"), "2026-03-16 09:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-09", 9), "P1W"), "2026-03-16 09:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-11", 9), "P3D"), "2026-03-16 09:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-11", 9), "P2W1D"), "2026-03-26 09:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 15), "P1DT10H"), "2026-03-10 01:00");
  // Working hours across a weekend: Friday 16:00 + 40 working hours = Tuesday 08:00.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-06", 16), "PT40H"), "2026-03-10 08:00");
  // The calendar kind does not skip anything.
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-03-06", 16), "PT40H"), "2026-03-08 08:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-03-06", 10), "P1D"), "2026-03-07 10:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-03-06", 10), "P1W"), "2026-03-13 10:00");
}

TEST(BusinessCalendar, AcrossTet) {
  BusinessCalendar cal(tet_2026());
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-13", 10), "P1D"), "2026-02-23 10:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-12", 10), "P3D"), "2026-02-24 10:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-18", 9), "PT4H"), "2026-02-23 04:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-18", 9), "P1D"), "2026-02-24 00:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-13", 22), "PT4H"), "2026-02-23 02:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-02-09", 8), "P2W"), "2026-03-02 08:00");
  EXPECT_EQ(cal.working_days_between(date("2026-02-13"), date("2026-02-23")), 1);
  EXPECT_EQ(cal.working_days_between(date("2026-02-12"), date("2026-02-24")), 3);
  EXPECT_EQ(cal.working_days_between(date("2026-02-24"), date("2026-02-12")), -3);
  EXPECT_EQ(cal.working_days_between(date("2026-02-14"), date("2026-02-22")), 0);
  EXPECT_EQ(cal.working_days_between(date("2026-02-13"), date("2026-02-13")), 0);
  // Without the holidays, the same span is 6 working days.
  EXPECT_EQ(BusinessCalendar().working_days_between(date("2026-02-13"), date("2026-02-23")), 6);
}

TEST(BusinessCalendar, AcrossMonthAndYearEnds) {
  BusinessCalendar cal;
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-01-31", 9), "P1M"), "2026-02-28 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2024-01-31", 9), "P1M"), "2024-02-29 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2024-02-29", 9), "P1Y"), "2025-02-28 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2024-02-29", 9), "P4Y"), "2028-02-29 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-03-31", 9), "P1M"), "2026-04-30 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-11-30", 9), "P3M"), "2027-02-28 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-12-31", 9), "P1D"), "2027-01-01 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-12-31", 20), "PT5H"), "2027-01-01 01:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-01-31", 9), "P1M1D"), "2026-03-01 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-12-15", 9), "P1Y1M"), "2028-01-15 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2099-02-28", 9), "P1Y1D"), "2100-03-01 09:00");

  // 2026-12-31 is a Thursday.
  EXPECT_EQ(add_working(cal, at(cal, "2026-12-31", 9), "P1D"), "2027-01-01 09:00");
  EXPECT_EQ(add_working(cal, at(cal, "2026-12-31", 9), "P2D"), "2027-01-04 09:00");
  BusinessCalendar new_year({{2027, 1, 1}});
  EXPECT_EQ(add_working(new_year, at(new_year, "2026-12-31", 9), "P1D"), "2027-01-04 09:00");
  EXPECT_EQ(add_working(new_year, at(new_year, "2026-01-30", 9), "P1D"), "2026-02-02 09:00");
}

TEST(BusinessCalendar, TimeZone) {
  BusinessCalendar cal;
  // Friday 2026-03-06 18:00 UTC is already Saturday 01:00 local: a working day starts Monday.
  TimePoint friday_evening_utc = days_from_civil({2026, 3, 6}) * kDay + 18 * kHour;
  TimePoint due = cal.add(friday_evening_utc, dur("P1D"), CalendarKind::working);
  EXPECT_EQ(local(cal, due), "2026-03-10 00:00");
  EXPECT_EQ(due, days_from_civil({2026, 3, 9}) * kDay + 17 * kHour);  // Monday 17:00 UTC
  // In UTC the same instant is still Friday, so the answer differs.
  BusinessCalendar utc({}, 0);
  EXPECT_EQ(utc.add(friday_evening_utc, dur("P1D"), CalendarKind::working),
            days_from_civil({2026, 3, 9}) * kDay + 18 * kHour);
  // 16:59:59Z Friday is 23:59:59 local Friday: one working second leads to Monday 00:00.
  EXPECT_EQ(local(cal, cal.add(friday_evening_utc - kHour - 1, dur("PT1S"), CalendarKind::working)),
            "2026-03-09 00:00");
  // A holiday is a local date: 2027-01-01 00:30 local is 2026-12-31 17:30 UTC.
  BusinessCalendar new_year({{2027, 1, 1}});
  TimePoint t = days_from_civil({2026, 12, 31}) * kDay + 17 * kHour + 30 * 60;
  EXPECT_EQ(local(new_year, new_year.add(t, dur("PT1H"), CalendarKind::working)),
            "2027-01-04 01:00");
}

TEST(BusinessCalendar, LargeValues) {
  BusinessCalendar cal(tet_2026());
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-02-17", 9), "P100Y"), "2126-02-17 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-02-17", 9), "P1200M"), "2126-02-17 09:00");
  EXPECT_EQ(add_calendar(cal, at(cal, "2026-02-17", 9), "PT100000H"), "2037-07-16 01:00");
  // 26000 working days is 5200 weeks of 5; no holidays after 2026 in this calendar.
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-02", 9), "P5200W"),
            local(cal, at(cal, "2026-03-02", 9) + 5200 * 7 * kDay));
  EXPECT_EQ(add_working(cal, at(cal, "2026-03-02", 9), "P26000D"),
            add_working(cal, at(cal, "2026-03-02", 9), "P5200W"));

  // Absurd values built by hand: add must return at once, clamped, without overflow.
  Duration huge{
      .years = INT_MAX, .months = INT_MAX, .weeks = INT_MAX, .days = INT_MAX, .seconds = INT64_MAX};
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cal.add(at(cal, "2026-02-17", 9), huge, CalendarKind::calendar), kMaxTimePoint);
  EXPECT_EQ(cal.add(at(cal, "2026-02-17", 9), huge, CalendarKind::working), kMaxTimePoint);
  EXPECT_EQ(cal.add(INT64_MAX, Duration{.days = 1}, CalendarKind::calendar), kMaxTimePoint);
  Duration negative{.years = -1, .weeks = -3, .days = INT_MIN, .seconds = -5};
  EXPECT_EQ(cal.add(at(cal, "2026-03-02", 9), negative, CalendarKind::calendar),
            at(cal, "2026-03-02", 9));
  EXPECT_EQ(cal.add(INT64_MIN, Duration{}, CalendarKind::calendar), kMinTimePoint);
  EXPECT_EQ(cal.local_date(INT64_MIN), (CivilDate{1, 1, 1}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(BusinessCalendar, Checks) {
  using K = CalendarKind;
  EXPECT_TRUE(BusinessCalendar::check(dur("P1Y2M"), K::calendar));
  EXPECT_TRUE(BusinessCalendar::check(dur("P100Y"), K::calendar));
  EXPECT_TRUE(BusinessCalendar::check(dur("P5D"), K::working));
  EXPECT_TRUE(BusinessCalendar::check(dur("P5200W"), K::working));
  EXPECT_TRUE(BusinessCalendar::check_working(dur("P2W3DT4H")));

  auto months = BusinessCalendar::check(dur("P1M"), K::working);
  ASSERT_FALSE(months);
  EXPECT_EQ(months.error().code, "duration.invalid");
  EXPECT_NE(months.error().message.find("'P1M'"), std::string::npos);
  EXPECT_NE(months.error().message.find("years or months"), std::string::npos);
  EXPECT_FALSE(BusinessCalendar::check_working(dur("P1Y")));

  auto long_calendar = BusinessCalendar::check(dur("P101Y"), K::calendar);
  ASSERT_FALSE(long_calendar);
  EXPECT_EQ(long_calendar.error().code, "duration.invalid");
  EXPECT_NE(long_calendar.error().message.find("too long"), std::string::npos);
  EXPECT_FALSE(BusinessCalendar::check(dur("P100000D"), K::calendar));
  EXPECT_TRUE(BusinessCalendar::check(dur("PT100000H"), K::working));  // 4167 working days
  EXPECT_FALSE(BusinessCalendar::check(dur("P5200W1D"), K::working));
  EXPECT_FALSE(BusinessCalendar::check(Duration{.days = -1}, K::calendar));
  EXPECT_FALSE(BusinessCalendar::check(Duration{.seconds = -1}, K::working));
}

// Independent day-by-day model of the working rules, to compare the fast arithmetic against.
TimePoint slow_working_add(const BusinessCalendar& cal, TimePoint start, const Duration& d) {
  std::int64_t offset = cal.utc_offset_seconds();
  std::int64_t local = start + offset;
  std::int64_t day = (local - floor_mod(local, kDay)) / kDay;
  std::int64_t tod = floor_mod(local, kDay);
  auto working = [&](std::int64_t n) { return cal.is_working_day(civil_from_days(n)); };
  if (!working(day)) {
    while (!working(day)) ++day;
    tod = 0;
  }
  for (std::int64_t i = 0; i < std::int64_t{d.weeks} * 5 + d.days; ++i) {
    do ++day;
    while (!working(day));
  }
  std::int64_t remaining = d.seconds;
  while (remaining >= kDay - tod) {
    remaining -= kDay - tod;
    do ++day;
    while (!working(day));
    tod = 0;
  }
  return day * kDay + tod + remaining - offset;
}

TEST(BusinessCalendar, FastArithmeticMatchesDayByDayModel) {
  // Holidays in clumps, on weekdays and weekends, including long runs.
  std::mt19937_64 rng(20260217);
  std::vector<CivilDate> holidays = tet_2026();
  std::int64_t base = days_from_civil({2026, 1, 1});
  for (int i = 0; i < 120; ++i) {
    std::int64_t first = base + static_cast<std::int64_t>(rng() % 1500);
    int run = 1 + static_cast<int>(rng() % (i % 10 == 0 ? 20 : 3));
    for (int j = 0; j < run; ++j) holidays.push_back(civil_from_days(first + j));
  }
  for (int offset : {7 * 3600, 0, -5 * 3600 - 1800}) {
    BusinessCalendar cal(holidays, offset);
    for (int i = 0; i < 3000; ++i) {
      TimePoint start = (base - 10 + static_cast<std::int64_t>(rng() % 1500)) * kDay +
                        static_cast<std::int64_t>(rng() % kDay);
      Duration d{.weeks = static_cast<int>(rng() % 4), .days = static_cast<int>(rng() % 30)};
      switch (rng() % 4) {
        case 0:
          d.seconds = static_cast<std::int64_t>(rng() % (10 * kDay));
          break;
        case 1:
          d.seconds = static_cast<std::int64_t>(rng() % 24) * kHour;
          break;
        case 2:
          d.seconds = kDay * static_cast<std::int64_t>(rng() % 3);
          break;
        default:
          break;
      }
      ASSERT_EQ(cal.add(start, d, CalendarKind::working), slow_working_add(cal, start, d))
          << "offset " << offset << ", start " << local(cal, start) << " + " << to_string(d);
    }
    for (int i = 0; i < 2000; ++i) {
      std::int64_t a = base - 10 + static_cast<std::int64_t>(rng() % 1500);
      std::int64_t b = a - 40 + static_cast<std::int64_t>(rng() % 400);
      std::int64_t expected = 0;
      for (std::int64_t n = std::min(a, b) + 1; n <= std::max(a, b); ++n) {
        if (cal.is_working_day(civil_from_days(n))) ++expected;
      }
      if (b < a) expected = -expected;
      ASSERT_EQ(cal.working_days_between(civil_from_days(a), civil_from_days(b)), expected)
          << to_string(civil_from_days(a)) << " .. " << to_string(civil_from_days(b));
    }
  }
}

}  // namespace
}  // namespace lienthong
