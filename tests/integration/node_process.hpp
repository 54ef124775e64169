#pragma once

// Real `lienthong serve` processes for the integration tests.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace lienthong::testing {

struct NodeProcess {
  pid_t pid = -1;
  unsigned short port = 0;  // the API's, read from what the node prints
};

// Starts `lienthong serve --config CONFIG --quiet` in `dir` and waits until it listens.
inline NodeProcess spawn_node(const std::filesystem::path& dir, const std::string& config) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::execl(LIENTHONG_BIN, "lienthong", "serve", "--config", config.c_str(), "--quiet",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[512];
  NodeProcess c{pid, 0};
  while (c.port == 0) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (auto p = text.find("http://127.0.0.1:"); p != std::string::npos) {
      auto end = text.find('\n', p);
      if (end != std::string::npos)
        c.port = static_cast<unsigned short>(std::stoi(text.substr(p + 17, end - p - 17)));
    }
  }
  ::close(out[0]);  // the child may still print; SIGPIPE is harmless at that point
  if (c.port == 0) throw std::runtime_error("the node did not start: " + text);
  return c;
}

// Stops a node (SIGTERM: a graceful stop) and waits for it.
inline void stop_node(const NodeProcess& node) {
  ::kill(node.pid, SIGTERM);
  int status = 0;
  ::waitpid(node.pid, &status, 0);
}

// A field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1.
inline long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace lienthong::testing
