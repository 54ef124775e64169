#include "workflows/duration.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lienthong {
namespace {

Duration parsed(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d) << text << ": " << (d ? "" : d.error().message);
  return d ? *d : Duration{.years = -1};
}

TEST(Duration, ParsesDateComponents) {
  EXPECT_EQ(parsed("P2D"), (Duration{.days = 2}));
  EXPECT_EQ(parsed("P1W"), (Duration{.weeks = 1}));
  EXPECT_EQ(parsed("P1Y2M"), (Duration{.years = 1, .months = 2}));
  EXPECT_EQ(parsed("P3Y6M4W5D"), (Duration{.years = 3, .months = 6, .weeks = 4, .days = 5}));
  EXPECT_EQ(parsed("P007D"), (Duration{.days = 7}));
}

TEST(Duration, FoldsTimeIntoSeconds) {
  EXPECT_EQ(parsed("PT4H"), (Duration{.seconds = 4 * 3600}));
  EXPECT_EQ(parsed("PT90S"), (Duration{.seconds = 90}));
  EXPECT_EQ(parsed("PT1M"), (Duration{.seconds = 60}));
  EXPECT_EQ(parsed("P1DT2H30M"), (Duration{.days = 1, .seconds = 2 * 3600 + 30 * 60}));
  EXPECT_EQ(parsed("PT1H1M1S"), (Duration{.seconds = 3661}));
  // The M before T is months, the M after T minutes.
  EXPECT_EQ(parsed("P1MT1M"), (Duration{.months = 1, .seconds = 60}));
  EXPECT_EQ(parsed("PT60M"), parsed("PT1H"));
}

TEST(Duration, Zero) {
  EXPECT_TRUE(parsed("P0D").is_zero());
  EXPECT_TRUE(parsed("PT0S").is_zero());
  EXPECT_FALSE(parsed("PT1S").is_zero());
  EXPECT_FALSE(parsed("P1W").is_zero());
  EXPECT_EQ(to_string(Duration{}), "PT0S");
}

TEST(Duration, AcceptsTheCaps) {
  EXPECT_EQ(parsed("P100000D"), (Duration{.days = 100000}));
  EXPECT_EQ(parsed("PT100000H"), (Duration{.seconds = kMaxDurationSeconds}));
  EXPECT_EQ(parsed("PT100000S"), (Duration{.seconds = 100000}));
}

struct Refusal {
  std::string text;
  std::string says;  // a piece of the message
};

TEST(Duration, RefusesWithAReason) {
  const std::vector<Refusal> cases = {
      {"", "empty"},
      {"-P1D", "negative"},
      {"+P1D", "sign"},
      {"P", "at least one component"},
      {"PT", "at least one of H, M, S"},
      {"P1DT", "at least one of H, M, S"},
      {"1D", "start with"},
      {"p1d", "upper-case 'P'"},
      {"P1d", "'d' must be upper case"},
      {"P1", "no designator"},
      {"PT5", "no designator"},
      {"PD", "'D' has no number"},
      {"PTH", "'H' has no number"},
      {"P1D2Y", "'Y' comes after 'D'"},
      {"PT1S2H", "'H' comes after 'S'"},
      {"P1D1D", "'D' appears more than once"},
      {"PT1H1H", "'H' appears more than once"},
      {"P1DT1HT1M", "'T' appears more than once"},
      {"P4H", "belongs in the time part"},
      {"PT1D", "belongs in the date part"},
      {"P1X", "unknown designator 'X'"},
      {"PT0.5H", "fractions are not supported"},
      {"P1,5D", "fractions are not supported"},
      {"P1 D", "spaces are not allowed"},
      {"P1+D", "unexpected character '+'"},
      {" P1D", "start with"},
      {"P1D ", "spaces are not allowed"},
      {"P100001D", "larger than 100000"},
      {"P99999999999999999999999D", "larger than 100000"},
      {"PT100000H1S", "exceed 100000 hours"},
      {"PT99999H100000M", "exceed 100000 hours"},
  };
  for (const Refusal& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_FALSE(d) << "accepted '" << c.text << "'";
    EXPECT_EQ(d.error().code, "duration.invalid") << c.text;
    EXPECT_NE(d.error().message.find(c.says), std::string::npos)
        << "'" << c.text << "': " << d.error().message;
    if (!c.text.empty()) {
      EXPECT_NE(d.error().message.find("'" + c.text + "'"), std::string::npos)
          << "message does not quote the text: " << d.error().message;
    }
  }
}

TEST(Duration, CanonicalText) {
  EXPECT_EQ(to_string(parsed("PT90S")), "PT1M30S");
  EXPECT_EQ(to_string(parsed("P1DT2H30M")), "P1DT2H30M");
  EXPECT_EQ(to_string(parsed("P0Y0M0W2DT0H")), "P2D");
  EXPECT_EQ(to_string(parsed("PT3600S")), "PT1H");
  EXPECT_EQ(to_string(parsed("P1Y2M3W4DT5H6M7S")), "P1Y2M3W4DT5H6M7S");
}

TEST(Duration, RoundTrips) {
  for (std::string text : {"P2D", "PT4H", "P1DT2H30M", "P1W", "P1Y2M", "PT90S", "P0D", "PT0S",
                           "P100000Y100000M100000W100000DT100000H", "PT99999H59M59S", "PT100000S",
                           "PT100000M", "P1MT1M", "P1W1D"}) {
    Duration d = parsed(text);
    std::string canonical = to_string(d);
    auto again = parse_duration(canonical);
    ASSERT_TRUE(again) << text << " -> " << canonical << ": " << again.error().message;
    EXPECT_EQ(*again, d) << text << " -> " << canonical;
    EXPECT_EQ(to_string(*again), canonical);
  }
}

}  // namespace
}  // namespace lienthong
