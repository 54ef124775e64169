#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace lienthong {

// An ISO 8601 duration as written in a workflow (`due="P5D"`, `after="PT4H"`). Years, months,
// weeks and days stay separate because their length depends on the calendar they are added on;
// hours, minutes and seconds are folded into `seconds` because they always have a fixed length.
// Parsed durations never have negative components.
struct Duration {
  int years = 0;
  int months = 0;
  int weeks = 0;
  int days = 0;
  std::int64_t seconds = 0;

  bool is_zero() const {
    return years == 0 && months == 0 && weeks == 0 && days == 0 && seconds == 0;
  }
  friend bool operator==(const Duration&, const Duration&) = default;
};

// The largest number accepted in front of any one designator.
inline constexpr int kMaxDurationNumber = 100000;
// The largest time part (hours, minutes and seconds together) accepted: 100000 hours.
inline constexpr std::int64_t kMaxDurationSeconds = std::int64_t{kMaxDurationNumber} * 3600;

// Parses `PnYnMnWnDTnHnMnS`: a `P`, then date components in the order Y, M, W, D, then
// optionally a `T` and time components in the order H, M, S. At least one component is needed,
// each at most once, each a whole number of at most kMaxDurationNumber (leading zeros allowed;
// `P0D` and `PT0S` are the zero duration). Weeks may be combined with the other components.
// Refused with code `duration.invalid`: empty text, a sign, lower case, spaces, fractions
// (`PT0.5H`: write `PT30M`), `P` or `T` with nothing after, a number without a designator,
// a designator without a number, a component out of order or repeated, an unknown
// designator, a number over the cap, or a time part longer than kMaxDurationSeconds.
Expected<Duration> parse_duration(std::string_view text);

// Canonical ISO 8601 text: zero components left out, seconds written as H, M and S
// (`PT90S` becomes `PT1M30S`), the zero duration as `PT0S`. For any parsed duration,
// parse_duration(to_string(d)) gives back d. Expects non-negative components.
std::string to_string(const Duration& duration);

}  // namespace lienthong
