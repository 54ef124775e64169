#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "base/xml.hpp"

namespace lienthong::cli {

// Parsed command-line options of one subcommand: `--name value`, `--name=value`, flags, repeats.
struct Args {
  std::map<std::string, std::vector<std::string>> options;
  std::set<std::string> flags;
  std::vector<std::string> positional;

  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  const std::vector<std::string>& all(const std::string& name) const;
  bool has(const std::string& name) const { return options.count(name) > 0; }
};

struct ArgSpec {
  std::set<std::string> with_value;  // e.g. "key", "o"
  std::set<std::string> flags;       // e.g. "json"
};

// Unknown options are errors; `-o` and `--o` are the same; `--` ends the options.
Expected<Args> parse_args(const std::vector<std::string>& argv, const ArgSpec& spec);

// What every subcommand does alike. usage_error and fail print "lienthong COMMAND: message" to
// standard error (usage_error adds the help) and return exit code 2.
int usage_error(const char* command, const std::string& message, const char* help);
int fail(const char* command, const std::string& message);
bool wants_help(const std::vector<std::string>& args);  // --help or -h among them
// How large a package the commands read: the user's own files, bounded only by what a node
// could store (SQLite's 1,000,000,000 bytes).
inline constexpr std::size_t kMaxPackageBytes = 1'000'000'000;
inline const XmlLimits kPackageLimits{.max_bytes = kMaxPackageBytes};
// The bytes of `path`, or of standard input for "-" (at most kMaxPackageBytes).
Expected<std::string> read_input(const std::string& path);

}  // namespace lienthong::cli
