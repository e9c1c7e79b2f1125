// The C API (engram.h) over OnlineAgent: argument checks, status codes, per-thread error text.
// Nothing thrown inside engram crosses into C.
#include "bindings/c/engram.h"

#include <exception>
#include <new>
#include <string>

#include "bindings/c/config_file.h"
#include "modules/session/online_agent.h"
#include "runtime/version.h"

struct engram_handle {
  std::unique_ptr<engram::OnlineAgent> agent;
};

namespace {

thread_local std::string last_error;

int code_of(engram::ErrorCode code) {
  using engram::ErrorCode;
  switch (code) {
    case ErrorCode::ok: return ENGRAM_OK;
    case ErrorCode::full: return ENGRAM_FULL;
    case ErrorCode::invalid_argument:
    case ErrorCode::too_large: return ENGRAM_E_INVALID_ARGUMENT;
    case ErrorCode::malformed: return ENGRAM_E_MALFORMED;
    case ErrorCode::unsupported_version: return ENGRAM_E_UNSUPPORTED;
    case ErrorCode::io_error: return ENGRAM_E_IO;
    case ErrorCode::not_found: return ENGRAM_E_NOT_FOUND;
    case ErrorCode::timeout: return ENGRAM_E_TIMEOUT;
    case ErrorCode::script_error:
    case ErrorCode::budget_exceeded: return ENGRAM_E_SCRIPT;
    case ErrorCode::closed: return ENGRAM_E_CLOSED;
    case ErrorCode::internal: return ENGRAM_E_INTERNAL;
  }
  return ENGRAM_E_INTERNAL;
}

// Records the status for engram_last_error() and returns its code.
int report(const engram::Status& s) {
  last_error = s.ok() ? std::string() : s.message();
  return code_of(s.code());
}

int invalid(const char* message) {
  last_error = message;
  return ENGRAM_E_INVALID_ARGUMENT;
}

// Runs body, turning any escaping exception into ENGRAM_E_INTERNAL with its text.
template <typename F>
int guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
  } catch (const std::exception& e) {
    last_error = std::string("internal error: ") + e.what();
  } catch (...) {
    last_error = "internal error: unknown exception";
  }
  return ENGRAM_E_INTERNAL;
}

bool encoding_of(int32_t encoding, engram::PixelEncoding* out) {
  if (encoding == ENGRAM_U8)
    *out = engram::PixelEncoding::u8;
  else if (encoding == ENGRAM_F32)
    *out = engram::PixelEncoding::f32;
  else
    return false;
  return true;
}

int open_with(engram::Expected<std::unique_ptr<engram::OnlineAgent>> agent, engram_t** out) {
  if (!agent.ok()) return report(agent.status());
  *out = new engram_handle{std::move(*agent)};
  last_error.clear();
  return ENGRAM_OK;
}

}  // namespace

extern "C" {

const char* engram_version(void) { return ENGRAM_VERSION; }

const char* engram_last_error(void) { return last_error.c_str(); }

int engram_open_json(const char* json, engram_t** out) {
  return guarded([&] {
    if (out == nullptr) return invalid("engram_open_json: out is NULL");
    *out = nullptr;
    if (json == nullptr) return invalid("engram_open_json: json is NULL");
    auto config = engram::agent_config_from_json(json);
    if (!config.ok()) return report(config.status());
    return open_with(engram::OnlineAgent::open(*config), out);
  });
}

int engram_open_file(const char* path, engram_t** out) {
  return guarded([&] {
    if (out == nullptr) return invalid("engram_open_file: out is NULL");
    *out = nullptr;
    if (path == nullptr) return invalid("engram_open_file: path is NULL");
    auto config = engram::read_agent_config_file(path);
    if (!config.ok()) return report(config.status());
    return open_with(engram::OnlineAgent::open(*config), out);
  });
}

int engram_restore(const char* path, engram_t** out) {
  return guarded([&] {
    if (out == nullptr) return invalid("engram_restore: out is NULL");
    *out = nullptr;
    if (path == nullptr) return invalid("engram_restore: path is NULL");
    return open_with(engram::OnlineAgent::restore(path), out);
  });
}

int engram_observe(engram_t* e, const engram_input* x, int32_t label, int32_t task) {
  return guarded([&] {
    if (e == nullptr) return invalid("engram_observe: handle is NULL");
    if (x == nullptr) return invalid("engram_observe: input is NULL");
    engram::PixelEncoding enc;
    if (!encoding_of(x->encoding, &enc)) {
      return invalid("engram_observe: encoding must be ENGRAM_U8 or ENGRAM_F32");
    }
    return report(e->agent->observe(x->data, x->size, enc, label, task));
  });
}

int engram_predict(engram_t* e, const engram_input* x, int32_t* label, float* probs,
                   size_t probs_len) {
  return guarded([&] {
    if (e == nullptr) return invalid("engram_predict: handle is NULL");
    if (x == nullptr) return invalid("engram_predict: input is NULL");
    if (label == nullptr) return invalid("engram_predict: label is NULL");
    engram::PixelEncoding enc;
    if (!encoding_of(x->encoding, &enc)) {
      return invalid("engram_predict: encoding must be ENGRAM_U8 or ENGRAM_F32");
    }
    int best = -1;
    engram::Status s = e->agent->predict(x->data, x->size, enc, &best, probs, probs_len);
    if (s.code() == engram::ErrorCode::not_found) {
      last_error = s.message();
      return ENGRAM_NOT_READY;
    }
    if (s.ok()) *label = best;
    return report(s);
  });
}

int engram_flush(engram_t* e, double timeout_s) {
  return guarded([&] {
    if (e == nullptr) return invalid("engram_flush: handle is NULL");
    return report(e->agent->flush(timeout_s));
  });
}

int engram_snapshot(engram_t* e, const char* path) {
  return guarded([&] {
    if (e == nullptr) return invalid("engram_snapshot: handle is NULL");
    if (path == nullptr || *path == '\0') return invalid("engram_snapshot: path is NULL or empty");
    return report(e->agent->snapshot(path));
  });
}

int engram_get_counters(engram_t* e, engram_counters* out, size_t size) {
  return guarded([&] {
    if (e == nullptr) return invalid("engram_get_counters: handle is NULL");
    if (out == nullptr) return invalid("engram_get_counters: out is NULL");
    if (size != sizeof(engram_counters)) {
      return invalid("engram_get_counters: size must be sizeof(engram_counters)");
    }
    const engram::AgentCounters c = e->agent->counters();
    *out = engram_counters{c.observed,      c.rejected_full, c.rejected_invalid, c.learned,
                           c.batches,       c.predictions,   c.queued,           c.queue_capacity,
                           c.model_updates, c.loss_real,     c.loss_replay};
    last_error.clear();
    return ENGRAM_OK;
  });
}

void engram_close(engram_t* e) {
  guarded([&] {
    delete e;
    return ENGRAM_OK;
  });
}

}  // extern "C"
