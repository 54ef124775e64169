#include <iostream>
#include <string>
#include <vector>

#include "app/commands.hpp"

namespace {

constexpr const char* kHelp =
    R"(lienthong — signed e-documents between government agencies (edXML, QCVN 102:2016)

usage: lienthong COMMAND [OPTIONS]

commands:
  serve      run a node (no --config: the demo node on 127.0.0.1:8080)
  send       send a package to a node as an agency's clerk (optionally signing it first)
  status     ask a node about a document, or list what an agency sent and its statuses
  demo       make a demo PKI, sign the sample packages, verify them
  pki demo   write a demo PKI (CA, organisation and signer certificates per agency)
  sign       add the signer's or the organisation's XML-DSig signature to a package
  verify     check every signature of a package and print the verdict
  inspect    decode a package and print its fields
  workflow   validate, show (text or Graphviz) and simulate workflow definitions
  report     the auditors' report of a node: electronic, on-time and online shares
  audit      verify, prove and export a node's audit log (Merkle tree, checkpoints)
  help       this text

Every command takes --help.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace lienthong::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "serve") return cmd_serve(args);
    if (command == "send") return cmd_send(args);
    if (command == "status") return cmd_status(args);
    if (command == "report") return cmd_report(args);
    if (command == "demo") return cmd_demo(args);
    if (command == "pki") return cmd_pki(args);
    if (command == "sign") return cmd_sign(args);
    if (command == "verify") return cmd_verify(args);
    if (command == "inspect") return cmd_inspect(args);
    if (command == "workflow") return cmd_workflow(args);
    if (command == "audit") return cmd_audit(args);
  } catch (const std::exception& e) {
    std::cerr << "lienthong " << command << ": " << e.what() << "\n";
    return 2;
  }
  std::cerr << "lienthong: unknown command '" << command << "'\n\n" << kHelp;
  return 2;
}
