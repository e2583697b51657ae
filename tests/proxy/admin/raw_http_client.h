// A blocking test client over a plain TCP socket: sends raw bytes and reads HTTP responses
// (Content-Length framing only), with a receive timeout so a broken server fails the test
// instead of hanging it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace ringleader::proxy::admin::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class RawHttpClient {
 public:
  // Connects to 127.0.0.1:`port`; connected() tells whether it worked. A `receive_buffer`
  // above 0 fixes the socket's receive buffer (SO_RCVBUF) at that many bytes.
  explicit RawHttpClient(uint16_t port, int receive_buffer = 0);
  ~RawHttpClient();
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // The next response; nullopt on EOF, timeout or garbage. `head_only`: the answer to HEAD.
  std::optional<RawResponse> read_response(bool head_only = false);
  // From now on, waits `pause_ms` after each read of at most 16 KiB: a client that reads
  // steadily, but slowly.
  void pace_reads(int pause_ms) { read_pause_ms_ = pause_ms; }
  // True when the server closes the connection (EOF) with no more bytes.
  bool reads_eof();
  // Closes the sending side only (shutdown SHUT_WR): the server sees EOF, answers can still come.
  void shutdown_write();
  void close();

 private:
  bool fill();  // reads more into buffer_; false on EOF/error/timeout

  int fd_ = -1;
  int read_pause_ms_ = 0;
  std::string buffer_;
};

}  // namespace ringleader::proxy::admin::testing
