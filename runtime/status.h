// Status and Expected<T>: how engram reports errors inside C++ code.
//
// Exceptions are only used where a library forces them (cppzmq, LibTorch) and are
// converted to Status at actor, Lua and C boundaries.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace engram {

enum class ErrorCode {
  ok = 0,
  invalid_argument,     // caller passed something that can never be valid
  malformed,            // input bytes do not follow the format
  unsupported_version,  // well-formed input of a format version we do not read
  too_large,            // input exceeds a configured limit
  io_error,             // the operating system refused a read or write
  not_found,            // a named thing does not exist
  timeout,              // an operation did not complete in time
  script_error,         // a Lua script raised an error
  budget_exceeded,      // a Lua script ran out of instructions or memory
  full,                 // a bounded queue or buffer has no room
  closed,               // the peer or resource has shut down
  internal,             // a bug or an unexpected library failure
};

// Short stable name of an error code, e.g. "malformed".
const char* error_code_name(ErrorCode code);

// The outcome of an operation: ok, or an error code with a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == ErrorCode::ok; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "malformed: header is not a msgpack map" or "ok".
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

// Either a value or an error Status. Access to value() on an error is a bug (checked).
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design
  Expected(ErrorCode code, std::string message) : v_(Status(code, std::move(message))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  // The error; an ok Status when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace engram
