#include "base/agency_code.hpp"

#include <string>

namespace lienthong {

Expected<void> validate_agency_code(std::string_view code) {
  auto bad = [&](const std::string& why) {
    return Error{"agency_code.invalid", "agency code '" + std::string(code) + "' " + why};
  };
  if (code.empty()) return bad("is empty");
  if (code.size() > 35) return bad("is longer than 35 characters");
  std::size_t group = 0;
  for (char c : code) {
    if (c == '.') {
      if (group == 0) return bad("has an empty group");
      group = 0;
    } else if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
      ++group;
    } else {
      return bad("may hold only digits, capital letters and dots");
    }
  }
  if (group == 0) return bad("has an empty group");
  return {};
}

}  // namespace lienthong
