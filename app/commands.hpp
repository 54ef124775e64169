#pragma once

#include <string>
#include <vector>

namespace lienthong::cli {

// Each subcommand takes the arguments after its name and returns the process exit code:
// 0 success, 1 a negative answer (e.g. an invalid signature), 2 a usage or input error.
int cmd_pki(const std::vector<std::string>& args);
int cmd_sign(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_demo(const std::vector<std::string>& args);
int cmd_workflow(const std::vector<std::string>& args);
int cmd_audit(const std::vector<std::string>& args);
int cmd_serve(const std::vector<std::string>& args);
// Clients of a node's REST API (client_commands.cpp).
int cmd_send(const std::vector<std::string>& args);
int cmd_status(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);

}  // namespace lienthong::cli
