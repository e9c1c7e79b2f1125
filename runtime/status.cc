#include "runtime/status.h"

namespace engram {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::malformed: return "malformed";
    case ErrorCode::unsupported_version: return "unsupported version";
    case ErrorCode::too_large: return "too large";
    case ErrorCode::io_error: return "i/o error";
    case ErrorCode::not_found: return "not found";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::script_error: return "script error";
    case ErrorCode::budget_exceeded: return "budget exceeded";
    case ErrorCode::full: return "full";
    case ErrorCode::closed: return "closed";
    case ErrorCode::internal: return "internal error";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace engram
