#include "engine/package.hpp"

namespace lienthong {

const char* status_code_meaning(std::string_view code) {
  if (code == "01") return "arrived";
  if (code == "02") return "rejected";
  if (code == "03") return "accepted";
  if (code == "04") return "assigned";
  if (code == "05") return "processing";
  if (code == "06") return "completed";
  if (code == "13") return "recalled by sender";
  if (code == "15") return "recall/update accepted";
  if (code == "16") return "recall/update refused";
  return nullptr;
}

}  // namespace lienthong
