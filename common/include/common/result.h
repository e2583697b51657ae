// Errors as values: Status (ok or a message) and Result<T> (a value or a Status).
// Used everywhere a step can fail on input the process does not control; nothing on the data
// path throws.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ringleader {

// Status: either ok, or an error with a human-readable message that says what went wrong and,
// where it helps, what was expected.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message), false); }
  // An error that says the request itself cannot be carried out (it contradicts the state it
  // applies to, or is malformed): repeating it unchanged fails again. Other errors may pass
  // on a retry (no leader yet, a timeout, a process stopping).
  static Status refused(std::string message) { return Status(std::move(message), true); }

  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const { return message_; }
  bool is_refused() const { return refused_; }

 private:
  Status(std::string message, bool refused)
      : message_(std::move(message)), failed_(true), refused_(refused) {}

  std::string message_;
  bool failed_ = false;
  bool refused_ = false;
};

// Result<T>: a T, or the Status that explains why there is none.
// Invariant: holds a T exactly when status().is_ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {
    assert(!std::get<Status>(state_).is_ok() && "Result built from an ok Status holds no value");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }

  // Precondition: is_ok().
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; an ok Status when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(state_); }
  const std::string& error() const {
    static const std::string kNone;
    return is_ok() ? kNone : std::get<Status>(state_).message();
  }

 private:
  std::variant<T, Status> state_;
};

}  // namespace ringleader
