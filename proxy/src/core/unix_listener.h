// UnixListener: the listening Unix-domain socket of a `unix:` proxy.listen, shared by every
// worker: each polls its own duplicate of the descriptor, and the kernel gives a new
// connection to whichever worker accepts it first.
//
// The socket file is created with the configured permission bits (chmod after bind, so the
// umask does not narrow them). A socket file left behind by a process that is gone (connect
// is refused) is replaced; a path on which a process still accepts, or that is not a socket,
// is refused with an error naming the path. The file is removed when the listener is
// destroyed, unless something else has taken its place meanwhile.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace ringleader::proxy {

class UnixListener {
 public:
  // Binds `path` (absolute, at most 107 bytes) and sets its mode; not yet listening (each
  // worker's uv_listen does that on its duplicate).
  static Result<std::unique_ptr<UnixListener>> open(const std::string& path, unsigned mode);
  // Whether open() could take `path` now: nothing there, or a stale socket file.
  static Status check_free(const std::string& path);
  // Whether `path` is a place for a socket at all: its directory exists, and what is at the
  // path, if anything, is a socket. Unlike check_free(), a live socket passes: `check` of
  // the config a running instance serves must not fail for that instance's own socket.
  static Status check_place(const std::string& path);

  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener();

  // The bound socket; -1 after close_descriptor().
  int fd() const { return fd_; }
  // Closes this object's descriptor once every worker holds its duplicate, so that the socket
  // stops accepting as soon as the workers close theirs (at drain), not at exit. The file
  // stays until the destructor.
  void close_descriptor();
  const std::string& path() const { return path_; }

 private:
  UnixListener(int fd, std::string path, dev_t dev, ino_t ino)
      : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}

  int fd_;
  std::string path_;
  dev_t dev_;  // the socket file this listener created, to tell it from a later one
  ino_t ino_;
};

}  // namespace ringleader::proxy
