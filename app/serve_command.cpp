// `lienthong serve [--config FILE]`: run a node.
#include <filesystem>
#include <iostream>
#include <mutex>

#include "app/args.hpp"
#include "app/commands.hpp"
#include "app/node.hpp"
#include "signing/pki.hpp"

namespace lienthong::cli {

namespace {

constexpr const char* kServeHelp = R"(usage: lienthong serve [--config FILE] [--quiet]

Runs a node: the REST API, the store, intake, workflows and the audit log. Without --config it runs
the embedded demo configuration (development only): SQLite at ./var/lienthong.db, the four demo
agencies with a demo PKI made in ./var/pki when missing, demo tokens, on 127.0.0.1:8080.
SIGINT or SIGTERM stop it gracefully: no new connections, in-flight requests finish, then exit.
Every request and every state change (each audit event, with the request id of the request that
caused it) is logged to standard error as one JSON object per line (--quiet: none).
)";

}  // namespace

int cmd_serve(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") return std::cout << kServeHelp, 0;
  }
  auto args = parse_args(argv, {.with_value = {"config"}, .flags = {"quiet"}});
  if (!args || !args->positional.empty()) {
    std::cerr << "lienthong serve: "
              << (args ? "unexpected argument " + args->positional.front() : args.error().message)
              << "\n\n"
              << kServeHelp;
    return 2;
  }
  const bool demo = !args->has("config");
  std::optional<ConfigResult> loaded;
  if (!demo) {
    loaded = load_node_config_file(args->get("config"));
    for (const auto& d : loaded->diagnostics) std::cerr << d.to_string() << "\n";
    if (!loaded->ok()) return 2;
  }
  const NodeConfig& config = demo ? default_node_config() : *loaded->config;

  if (config.demo_pki_dir) {
    const std::filesystem::path dir = config.resolve(*config.demo_pki_dir);
    if (!std::filesystem::exists(dir / "ca.pem")) {
      if (auto r = write_demo_pki(dir, std::time(nullptr)); !r) {
        std::cerr << "lienthong serve: " << r.error().message << "\n";
        return 2;
      }
      std::cout << "made a demo PKI in " << dir.string() << " (development only)\n";
    }
  }

  // Request logs go to standard error, one JSON object per line; --quiet turns them off.
  static std::mutex log_mutex;
  std::function<void(const std::string&)> log;
  if (!args->flag("quiet")) {
    log = [](const std::string& line) {
      std::lock_guard lock(log_mutex);
      std::cerr << line << '\n';
    };
  }
  Node node(config, Node::system_clock(), log);
  node.start();
  const std::string url = "http://" + config.listen.address + ":" + std::to_string(node.port());
  std::cout << "lienthong node '" << config.id << "' listening on " << url << "\n"
            << "store: " << config.resolve(config.store_path) << "\n";
  if (demo) {
    std::cout << "\ndemo users (tokens are public: development only):\n";
    for (const auto& t : demo_tokens()) {
      std::cout << "  " << t.user << " (" << to_string(t.role)
                << (t.agency.empty() ? "" : ", " + t.agency) << "): " << t.token << "\n";
    }
    std::cout << "\ntry:\n  curl " << url << "/healthz\n"
              << "  curl -H 'Authorization: Bearer demo-clerk-a53-token' " << url
              << "/api/v1/agencies/000.00.01.A53/inbox\n"
              << "  build/release/app/lienthong sign --key var/pki/000.00.11.H53/signer.key --cert "
                 "var/pki/000.00.11.H53/signer.pem tests/data/edxml/edoc_new.edxml -o - |\n"
              << "    curl -H 'Authorization: Bearer demo-clerk-h53-token' --data-binary @- " << url
              << "/api/v1/documents\n";
  }
  std::cout << "\nstop with Ctrl-C\n" << std::flush;
  node.wait_for_signals();
  node.stop();
  std::cout << "stopped\n";
  return 0;
}

}  // namespace lienthong::cli
