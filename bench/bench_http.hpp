#pragma once

// A kept-alive HTTP/1.1 client on a plain loopback socket, for the benchmarks' load generators.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace lienthong {

class Connection {
 public:
  explicit Connection(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect");
  }
  ~Connection() { ::close(fd_); }
  // One POST on the kept-alive connection; returns the status.
  int post(const std::string& target, const std::string& token, const std::string& body) {
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer " + token +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    req += body;
    for (std::string_view rest = req; !rest.empty();) {
      ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return -1;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return -1;
    }
    const int status = std::stoi(buf_.substr(9, 3));
    std::size_t len = 0;
    if (auto p = buf_.find("Content-Length: "); p != std::string::npos && p < end)
      len = std::stoul(buf_.substr(p + 16));
    while (buf_.size() < end + 4 + len) {
      if (!fill()) return -1;
    }
    buf_.erase(0, end + 4 + len);
    return status;
  }

 private:
  bool fill() {
    char b[16384];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  std::string buf_;
};

}  // namespace lienthong
