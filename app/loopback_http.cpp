#include "app/loopback_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string_view>

namespace lienthong {

LoopbackReply loopback_http(unsigned short port, const std::string& method,
                            const std::string& target, const std::string& token,
                            const std::string& body) {
  LoopbackReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::string_view rest = req; !rest.empty();) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  std::string raw;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (raw.size() > 12 && raw.compare(0, 5, "HTTP/") == 0) r.status = std::stoi(raw.substr(9, 3));
  if (auto end = raw.find("\r\n\r\n"); end != std::string::npos) r.body = raw.substr(end + 4);
  return r;
}

LoopbackConnection::LoopbackConnection(unsigned short port)
    : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

LoopbackConnection::~LoopbackConnection() {
  if (fd_ >= 0) ::close(fd_);
}

int LoopbackConnection::post(const std::string& target, const std::string& token,
                             const std::string& body) {
  if (!ok_) return -1;
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                    token + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  req += body;
  for (std::string_view rest = req; !rest.empty();) {
    const ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) return ok_ = false, -1;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return -1;
  }
  const int status = std::stoi(buffer_.substr(9, 3));
  std::size_t length = 0;
  if (auto p = buffer_.find("Content-Length: "); p != std::string::npos && p < end)
    length = std::stoul(buffer_.substr(p + 16));
  while (buffer_.size() < end + 4 + length) {
    if (!fill()) return -1;
  }
  buffer_.erase(0, end + 4 + length);
  return status;
}

bool LoopbackConnection::fill() {
  char b[16384];
  const ssize_t n = ::recv(fd_, b, sizeof b, 0);
  if (n <= 0) return ok_ = false;
  buffer_.append(b, static_cast<std::size_t>(n));
  return true;
}

}  // namespace lienthong
