#pragma once

// What the command-line and node tests share: running the lienthong binary, and the agencies of
// the demo PKI as a node's configuration names them.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <initializer_list>
#include <string>

namespace lienthong::testing {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr together
};

inline CliRun run_cli(const std::string& args) {
  std::string cmd = std::string(LIENTHONG_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// <agency> elements for agencies of a demo PKI written to pki/ (write_demo_pki), each with its
// signer's and organisation's certificates and the organisation's key.
inline std::string demo_agencies_xml(std::initializer_list<const char*> codes) {
  std::string xml;
  for (const char* code : codes) {
    const std::string p = "pki/" + std::string(code) + "/";
    xml += std::string("<agency code=\"") + code + "\" name=\"" + code + "\"><signer cert=\"" + p +
           "signer.pem\"/><organisation cert=\"" + p + "organisation.pem\" key=\"" + p +
           "organisation.key\"/></agency>";
  }
  return xml;
}

}  // namespace lienthong::testing
