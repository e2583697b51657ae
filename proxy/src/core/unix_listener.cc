#include "unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/socket_address.h"

namespace ringleader::proxy {
namespace {

Result<sockaddr_storage> socket_address(const std::string& path) {
  std::optional<sockaddr_storage> address = unix_socket_address(path);
  if (!address) {
    return Status::error("Unix socket path \"" + path + "\" must be 1 to " +
                         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  }
  return *address;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// What is at `path`: ok when nothing is, or a socket nobody accepts on (`*stale` set).
Status inspect(const std::string& path, bool* stale) {
  *stale = false;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return Status::error("cannot listen on unix:" + path + ": " + errno_text(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::error("cannot listen on unix:" + path + ": the path exists and is not a socket");
  }
  auto address = socket_address(path);
  if (!address) return address.status();
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return Status::error("socket: " + errno_text(errno));
  const int rc =
      ::connect(probe, reinterpret_cast<const sockaddr*>(&address.value()), sizeof(sockaddr_un));
  const int err = errno;
  ::close(probe);
  if (rc == 0) {
    return Status::error("cannot listen on unix:" + path + ": another process listens there");
  }
  if (err == ECONNREFUSED) {
    *stale = true;  // left by a process that is gone
    return Status::ok();
  }
  return Status::error("cannot listen on unix:" + path + ": " + errno_text(err));
}

}  // namespace

Status UnixListener::check_free(const std::string& path) {
  bool stale = false;
  return inspect(path, &stale);
}

Status UnixListener::check_place(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISSOCK(st.st_mode)) return Status::ok();
    return Status::error("cannot listen on unix:" + path + ": the path exists and is not a socket");
  }
  if (errno != ENOENT)
    return Status::error("cannot listen on unix:" + path + ": " + errno_text(errno));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::error("cannot listen on unix:" + path + ": " + dir + ": " + errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::error("cannot listen on unix:" + path + ": " + dir + " is not a directory");
  }
  return Status::ok();
}

Result<std::unique_ptr<UnixListener>> UnixListener::open(const std::string& path, unsigned mode) {
  auto address = socket_address(path);
  if (!address) return address.status();
  bool stale = false;
  if (Status s = inspect(path, &stale); !s) return s;
  if (stale && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::error("cannot replace the stale socket unix:" + path + ": " + errno_text(errno));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("socket: " + errno_text(errno));
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    return Status::error("cannot listen on unix:" + path + ": " + what + errno_text(err));
  };
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.value()), sizeof(sockaddr_un)) != 0) {
    return fail("", errno);
  }
  struct stat st {};
  if (::chmod(path.c_str(), mode) != 0 || ::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return fail("setting its mode: ", err);
  }
  return std::unique_ptr<UnixListener>(new UnixListener(fd, path, st.st_dev, st.st_ino));
}

void UnixListener::close_descriptor() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UnixListener::~UnixListener() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
  close_descriptor();
}

}  // namespace ringleader::proxy
