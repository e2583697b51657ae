#include "raw_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace ringleader::proxy::admin::testing {

RawHttpClient::RawHttpClient(uint16_t port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  if (receive_buffer > 0) {  // before connect, so the window is sized by it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  timeval timeout{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) close();
}

RawHttpClient::~RawHttpClient() {
  close();
}

void RawHttpClient::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void RawHttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawHttpClient::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawHttpClient::fill() {
  char chunk[16384];
  while (true) {
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    if (read_pause_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(read_pause_ms_));
    return true;
  }
}

std::optional<RawResponse> RawHttpClient::read_response(bool head_only) {
  size_t end = 0;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return std::nullopt;
  RawResponse response;
  const std::string head = buffer_.substr(0, end + 2);
  buffer_.erase(0, end + 4);
  if (head.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
  response.status = std::atoi(head.c_str() + 9);
  size_t line = head.find("\r\n") + 2;
  while (line < head.size()) {
    const size_t eol = head.find("\r\n", line);
    const std::string field = head.substr(line, eol - line);
    const size_t colon = field.find(':');
    std::string name = field.substr(0, colon);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response.headers[name] = field.substr(colon + 2);
    line = eol + 2;
  }
  size_t length = std::strtoul(response.headers["content-length"].c_str(), nullptr, 10);
  if (head_only) return response;
  while (buffer_.size() < length)
    if (!fill()) return std::nullopt;
  response.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return response;
}

bool RawHttpClient::reads_eof() {
  if (!buffer_.empty()) return false;
  char c;
  while (true) {
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    return n == 0;
  }
}

}  // namespace ringleader::proxy::admin::testing
