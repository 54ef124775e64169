#include "app/args.hpp"

#include <iostream>
#include <iterator>

#include "signing/crypto.hpp"

namespace lienthong::cli {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = options.find(name);
  return it == options.end() ? none : it->second;
}

Expected<Args> parse_args(const std::vector<std::string>& argv, const ArgSpec& spec) {
  Args args;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (spec.flags.count(name)) {
      if (inline_value) return Error{"cli.usage", "option --" + name + " takes no value"};
      args.flags.insert(name);
    } else if (spec.with_value.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) return Error{"cli.usage", "option --" + name + " needs a value"};
        value = argv[++i];
      }
      args.options[name].push_back(value);
    } else {
      return Error{"cli.usage", "unknown option " + a};
    }
  }
  return args;
}

int usage_error(const char* command, const std::string& message, const char* help) {
  std::cerr << "lienthong " << command << ": " << message << "\n\n" << help;
  return 2;
}

int fail(const char* command, const std::string& message) {
  std::cerr << "lienthong " << command << ": " << message << "\n";
  return 2;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

Expected<std::string> read_input(const std::string& path) {
  if (path == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return s;
  }
  return read_file(path, kMaxPackageBytes);
}

}  // namespace lienthong::cli
