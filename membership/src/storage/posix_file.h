// Thin POSIX file helpers for FileStorage. Every function returns an error Status naming the
// path and the system error instead of throwing.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace ringleader::membership::storage {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// "path: what failed: strerror(errno)".
Status errno_status(std::string_view path, std::string_view what);

bool file_exists(const std::string& path);
// The whole file; fails when it cannot be read (including when it does not exist).
Result<std::string> read_whole_file(const std::string& path);
// Writes all of `data` at the file's current offset, retrying short writes and EINTR.
Status write_all(int fd, std::string_view data, const std::string& path);
// fsync of a directory, so renames and creations in it are durable.
Status fsync_dir(const std::string& dir);
// Replaces dir/name with `data` so that a crash leaves either the old or the new file:
// write dir/name.tmp, fsync it, rename over dir/name, fsync dir.
Status write_file_atomically(const std::string& dir, const std::string& name,
                             std::string_view data);

}  // namespace ringleader::membership::storage
