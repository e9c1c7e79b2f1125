// Named tensors as bytes in engram's own format: what the learning modules' save_state() writes
// and load_state() reads (snapshot sections, caches). It replaces LibTorch archives, whose loader
// compiles the TorchScript stored in them and crashes (SIGSEGV, no exception) on crafted input:
// a snapshot is untrusted input, so its bytes only ever meet the bounded parser below.
//
// Layout (little-endian):
//   magic "ENGRAMTA", u32 format version (1), u32 tensor count, then per tensor:
//   u16 name length, name (UTF-8), u8 dtype (1 f32, 2 f64, 3 i64, 4 u8, 5 i8), u8 dims (0..8),
//   i64 size per dim, u64 data bytes (= product of sizes * dtype size), data (row-major).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "runtime/status.h"

namespace engram {

class TensorArchive {
 public:
  // Adds a contiguous CPU copy of `tensor` (f32, f64, i64, u8 or i8) under `name` (1..65535 bytes),
  // replacing any tensor of that name. Throws std::invalid_argument for another dtype or name:
  // a programming error, never input.
  void put(const std::string& name, const at::Tensor& tensor);
  bool contains(const std::string& name) const;
  // The tensor `name`, which must have exactly this dtype and shape. Errors: malformed, naming
  // the tensor and what differs.
  Expected<at::Tensor> get(const std::string& name, at::ScalarType dtype,
                           at::IntArrayRef shape) const;
  // The tensor `name` of this dtype, any shape. Errors: malformed.
  Expected<at::Tensor> get(const std::string& name, at::ScalarType dtype) const;

  std::string to_bytes() const;
  // Parses to_bytes() output. Every count and length is checked against the input before it
  // is used. Errors: malformed (naming the problem; a LibTorch archive of engram 0.1.0 is
  // recognised and named), unsupported_version.
  static Expected<TensorArchive> from_bytes(const std::string& bytes);

 private:
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace engram
