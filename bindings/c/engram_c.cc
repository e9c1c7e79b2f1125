// The C API (engram.h) over OnlineAgent: argument checks, status codes, per-thread error text.
// Nothing thrown inside engram crosses into C.
#include "bindings/c/engram.h"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "bindings/c/config_file.h"
#include "modules/session/online_agent.h"
#include "runtime/version.h"

// The first version's fields keep their places: older programs pass that size.
static_assert(offsetof(engram_counters, rejected_non_finite) == ENGRAM_COUNTERS_V1_SIZE,
              "engram_counters may only grow at the end");

// A handle counts the calls in progress on it, so that engram_close can wait for them.
struct engram_handle {
  std::unique_ptr<engram::OnlineAgent> agent;
  std::mutex mutex;                  // guards calls and closing
  std::condition_variable all_left;  // signalled when calls drops to 0 while closing
  int calls = 0;
  bool closing = false;
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

// Keeps the small shell of a closed handle until the process exits, so that a call made with it
// later (a host thread that has not stopped yet) is refused with ENGRAM_E_CLOSED instead of
// touching freed memory, and no new handle can reuse its address.
void retire(engram_t* e) {
  static std::mutex mutex;
  static auto* retired = new std::vector<std::unique_ptr<engram_handle>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mutex);
  retired->emplace_back(e);
}

// Runs body(agent) as one call on handle e: refused with ENGRAM_E_CLOSED once engram_close
// has begun, and counted so that engram_close waits for it to return.
template <typename F>
int on_handle(engram_t* e, const char* function, F&& body) {
  if (e == nullptr) return invalid((std::string(function) + ": handle is NULL").c_str());
  {
    std::lock_guard<std::mutex> lock(e->mutex);
    if (e->closing) {
      last_error = std::string(function) + ": the handle is being closed";
      return ENGRAM_E_CLOSED;
    }
    ++e->calls;
  }
  struct Leave {
    engram_t* e;
    ~Leave() {
      std::lock_guard<std::mutex> lock(e->mutex);
      if (--e->calls == 0 && e->closing) e->all_left.notify_all();
    }
  } leave{e};
  return guarded([&] { return body(*e->agent); });
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
  auto* handle = new engram_handle();
  handle->agent = std::move(*agent);
  *out = handle;
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
  return on_handle(e, "engram_observe", [&](engram::OnlineAgent& agent) {
    if (x == nullptr) return invalid("engram_observe: input is NULL");
    engram::PixelEncoding enc;
    if (!encoding_of(x->encoding, &enc)) {
      return invalid("engram_observe: encoding must be ENGRAM_U8 or ENGRAM_F32");
    }
    return report(agent.observe(x->data, x->size, enc, label, task));
  });
}

int engram_predict(engram_t* e, const engram_input* x, int32_t* label, float* probs,
                   size_t probs_len) {
  return on_handle(e, "engram_predict", [&](engram::OnlineAgent& agent) {
    if (x == nullptr) return invalid("engram_predict: input is NULL");
    if (label == nullptr) return invalid("engram_predict: label is NULL");
    engram::PixelEncoding enc;
    if (!encoding_of(x->encoding, &enc)) {
      return invalid("engram_predict: encoding must be ENGRAM_U8 or ENGRAM_F32");
    }
    int best = -1;
    engram::Status s = agent.predict(x->data, x->size, enc, &best, probs, probs_len);
    if (s.code() == engram::ErrorCode::not_found) {
      last_error = s.message();
      return ENGRAM_NOT_READY;
    }
    if (s.ok()) *label = best;
    return report(s);
  });
}

int engram_flush(engram_t* e, double timeout_s) {
  return on_handle(e, "engram_flush",
                   [&](engram::OnlineAgent& agent) { return report(agent.flush(timeout_s)); });
}

int engram_snapshot(engram_t* e, const char* path) {
  return on_handle(e, "engram_snapshot", [&](engram::OnlineAgent& agent) {
    if (path == nullptr || *path == '\0') return invalid("engram_snapshot: path is NULL or empty");
    return report(agent.snapshot(path));
  });
}

int engram_consolidate(engram_t* e) {
  return on_handle(e, "engram_consolidate",
                   [&](engram::OnlineAgent& agent) { return report(agent.consolidate()); });
}

int engram_get_counters(engram_t* e, engram_counters* out, size_t size) {
  return on_handle(e, "engram_get_counters", [&](engram::OnlineAgent& agent) {
    if (out == nullptr) return invalid("engram_get_counters: out is NULL");
    if (size < ENGRAM_COUNTERS_V1_SIZE) {
      return invalid("engram_get_counters: size is smaller than any engram_counters");
    }
    const engram::AgentCounters c = agent.counters();
    engram_counters all{};
    all.observed = c.observed;
    all.rejected_full = c.rejected_full;
    all.rejected_invalid = c.rejected_invalid;
    all.learned = c.learned;
    all.batches = c.batches;
    all.predictions = c.predictions;
    all.queued = c.queued;
    all.queue_capacity = c.queue_capacity;
    all.model_updates = c.model_updates;
    all.loss_real = c.loss_real;
    all.loss_replay = c.loss_replay;
    all.rejected_non_finite = c.rejected_non_finite;
    all.rejected_out_of_range = c.rejected_out_of_range;
    all.skipped_steps = c.skipped_steps;
    // An older caller gets the fields that fit; a newer one gets zeros past the known ones.
    const size_t known = std::min(size, sizeof(engram_counters));
    std::memcpy(out, &all, known);
    if (size > known) std::memset(reinterpret_cast<char*>(out) + known, 0, size - known);
    last_error.clear();
    return ENGRAM_OK;
  });
}

void engram_close(engram_t* e) {
  guarded([&] {
    if (e == nullptr) return ENGRAM_OK;
    {
      std::lock_guard<std::mutex> lock(e->mutex);
      if (e->closing) return ENGRAM_OK;  // closed, or being closed by another thread
      e->closing = true;
    }
    // Calls waiting for learning (flush, snapshot) return now; the others finish quickly.
    e->agent->interrupt();
    {
      std::unique_lock<std::mutex> lock(e->mutex);
      e->all_left.wait(lock, [&] { return e->calls == 0; });
    }
    e->agent.reset();  // stops learning, frees the model and memory
    retire(e);
    return ENGRAM_OK;
  });
}

}  // extern "C"
