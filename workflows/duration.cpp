#include "workflows/duration.hpp"

#include <array>

namespace lienthong {
namespace {

Error invalid(std::string_view text, std::string_view what) {
  return Error{"duration.invalid",
               "duration '" + std::string(text) + "' is invalid: " + std::string(what)};
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

Error unexpected(std::string_view text, char c) {
  return invalid(text, std::string("unexpected character '") + c + "'" +
                           (c == ' ' ? " (spaces are not allowed)" : ""));
}

constexpr std::string_view kDateDesignators = "YMWD";
constexpr std::string_view kTimeDesignators = "HMS";
constexpr std::string_view kOrderHint = "; the order is P, then Y, M, W, D, then T and H, M, S";

}  // namespace

Expected<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return Error{"duration.invalid", "duration is empty; write for example P1D"};
  if (text.front() == '-' || text.front() == '+') {
    return invalid(text, "a duration cannot have a sign; negative durations are not allowed");
  }
  if (text.front() != 'P') {
    return invalid(text, "it must start with an upper-case 'P', as in P1D or PT4H");
  }
  if (text.size() == 1) return invalid(text, "'P' must be followed by at least one component");

  Duration result;
  std::int64_t hours = 0, minutes = 0, secs = 0;
  bool in_time = false;
  bool time_has_component = false;
  int last_index = -1;  // index of the last designator seen in the current part
  std::size_t i = 1;
  while (i < text.size()) {
    char c = text[i];
    if (c == 'T') {
      if (in_time) return invalid(text, "'T' appears more than once");
      in_time = true;
      last_index = -1;
      ++i;
      continue;
    }
    if (!is_digit(c)) {
      if (c >= 'A' && c <= 'Z') {
        return invalid(text, std::string("designator '") + c + "' has no number before it");
      }
      if (is_lower(c)) {
        return invalid(text, std::string("'") + c + "' must be upper case");
      }
      return unexpected(text, c);
    }
    std::size_t start = i;
    std::int64_t number = 0;
    bool too_big = false;
    while (i < text.size() && is_digit(text[i])) {
      if (!too_big) {
        number = number * 10 + (text[i] - '0');
        if (number > kMaxDurationNumber) too_big = true;
      }
      ++i;
    }
    std::string digits(text.substr(start, i - start));
    if (i == text.size()) {
      return invalid(text, "number " + digits + " has no designator after it (such as D or H)");
    }
    char d = text[i];
    if (d == '.' || d == ',') {
      return invalid(text,
                     "fractions are not supported; use a smaller unit instead, such as PT30M "
                     "for half an hour");
    }
    if (too_big) {
      return invalid(text,
                     "number " + digits + " is larger than " + std::to_string(kMaxDurationNumber));
    }
    if (is_lower(d)) return invalid(text, std::string("'") + d + "' must be upper case");
    if (d < 'A' || d > 'Z') return unexpected(text, d);
    std::string_view designators = in_time ? kTimeDesignators : kDateDesignators;
    std::size_t index = designators.find(d);
    if (index == std::string_view::npos) {
      if (!in_time && kTimeDesignators.find(d) != std::string_view::npos) {
        return invalid(text, std::string("'") + d + "' belongs in the time part, after 'T' (PT" +
                                 digits + d + ")");
      }
      if (in_time && kDateDesignators.find(d) != std::string_view::npos) {
        return invalid(text, std::string("'") + d + "' belongs in the date part, before 'T'");
      }
      return invalid(text, std::string("unknown designator '") + d + "'" + std::string(kOrderHint));
    }
    if (static_cast<int>(index) == last_index) {
      return invalid(text, std::string("'") + d + "' appears more than once");
    }
    if (static_cast<int>(index) < last_index) {
      return invalid(text, std::string("'") + d + "' comes after '" + designators[last_index] +
                               "'" + std::string(kOrderHint));
    }
    last_index = static_cast<int>(index);
    int value = static_cast<int>(number);
    if (in_time) {
      time_has_component = true;
      std::array<std::int64_t*, 3> slots{&hours, &minutes, &secs};
      *slots[index] = value;
    } else {
      std::array<int*, 4> slots{&result.years, &result.months, &result.weeks, &result.days};
      *slots[index] = value;
    }
    ++i;
  }
  if (in_time && !time_has_component) {
    return invalid(text, "'T' must be followed by at least one of H, M, S");
  }
  result.seconds = hours * 3600 + minutes * 60 + secs;
  if (result.seconds > kMaxDurationSeconds) {
    return invalid(text, "hours, minutes and seconds together exceed " +
                             std::to_string(kMaxDurationNumber) + " hours");
  }
  return result;
}

std::string to_string(const Duration& duration) {
  if (duration.is_zero()) return "PT0S";
  std::string out = "P";
  auto put = [&out](std::int64_t n, char designator) {
    if (n != 0) out += std::to_string(n) + designator;
  };
  put(duration.years, 'Y');
  put(duration.months, 'M');
  put(duration.weeks, 'W');
  put(duration.days, 'D');
  if (duration.seconds != 0) {
    out += 'T';
    put(duration.seconds / 3600, 'H');
    put(duration.seconds % 3600 / 60, 'M');
    put(duration.seconds % 60, 'S');
  }
  return out;
}

}  // namespace lienthong
