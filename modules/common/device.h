// Device selection for the learning modules.
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "runtime/status.h"

namespace engram {

// Resolves "cpu", "cuda" or "cuda:N" to a device. CUDA is chosen at run time: when this
// LibTorch has no CUDA support or no GPU is visible, the result is an error that says so
// (never a silent fall back to the CPU). Thread-safe.
Expected<c10::Device> resolve_device(const std::string& name);

}  // namespace engram
