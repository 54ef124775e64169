#include "base/agency_code.hpp"

#include <gtest/gtest.h>


namespace lienthong {
namespace {

TEST(AgencyCode, AcceptsNationalCodes) {
  for (const char* code : {"000.00.00.G22", "000.00.11.H53", "000.20.31.H53", "G22", "A.B.C"}) {
    EXPECT_TRUE(validate_agency_code(code)) << code;
  }
}

TEST(AgencyCode, RejectsMalformedCodesWithReason) {
  struct Case {
    const char* code;
    const char* why;
  } cases[] = {{"", "empty"},
               {"000..00.G22", "empty group"},
               {".000", "empty group"},
               {"000.", "empty group"},
               {"000.00.00.g22", "capital"},
               {"000 00", "capital"},
               {"000.00.00.G22.0000000000.0000000000.0", "35"}};
  for (const auto& c : cases) {
    auto r = validate_agency_code(c.code);
    ASSERT_FALSE(r) << c.code;
    EXPECT_EQ(r.error().code, "agency_code.invalid");
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace lienthong
