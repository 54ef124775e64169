#include "engine/store.hpp"

#include <tuple>

namespace lienthong {

std::map<std::string, std::string> latest_statuses(const std::vector<StatusRecord>& statuses) {
  std::map<std::string, const StatusRecord*> latest;
  for (const StatusRecord& s : statuses) {
    const StatusRecord*& best = latest[s.from];
    // Codes are two digits; a later arrival wins a tie (>=).
    if (!best || std::tie(s.issued, s.code) >= std::tie(best->issued, best->code)) best = &s;
  }
  std::map<std::string, std::string> out;
  for (const auto& [agency, s] : latest) out.emplace(agency, s->code);
  return out;
}

}  // namespace lienthong
