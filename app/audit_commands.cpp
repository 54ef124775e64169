// `lienthong audit verify --db FILE`: recompute the audit chain of a node's store.
#include <filesystem>
#include <iostream>

#include "app/args.hpp"
#include "app/commands.hpp"
#include "engine/store.hpp"

namespace lienthong::cli {

namespace {

constexpr const char* kAuditHelp = R"(usage: lienthong audit verify --db FILE

Recomputes the hash chain of every audit event in the node's store and names the first event that
does not match (altered, missing, reordered or inserted). Exit 0 when the chain holds, 1 when not.
)";

}  // namespace

int cmd_audit(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") return std::cout << kAuditHelp, 0;
  }
  auto args = parse_args(argv, {.with_value = {"db"}});
  if (!args || args->positional != std::vector<std::string>{"verify"} || !args->has("db")) {
    std::cerr << "lienthong audit: "
              << (args ? "expected 'audit verify --db FILE'" : args.error().message) << "\n\n"
              << kAuditHelp;
    return 2;
  }
  const std::string db = args->get("db");
  if (!std::filesystem::exists(db)) {
    std::cerr << "lienthong audit: no store at " << db << "\n";
    return 2;
  }
  auto store = open_sqlite_store(db);
  auto check = verify_audit_chain(*store);
  if (!check) {
    std::cerr << "lienthong audit: " << check.error().message << "\n";
    return 2;
  }
  if (check->ok) {
    std::cout << "audit chain verified: " << check->events << " events\n";
    return 0;
  }
  std::cout << "audit chain BROKEN at event " << check->first_bad << ": " << check->problem << "\n";
  return 1;
}

}  // namespace lienthong::cli
