// Tensors in envelopes: payload frames that share memory with tensors instead of copying.
#pragma once

#include <ATen/core/Tensor.h>

#include "runtime/envelope.h"
#include "runtime/status.h"

namespace engram {

// Appends a CPU tensor (u8, i32, i64 or f32) as a payload frame. The frame keeps a reference to
// the tensor's storage until libzmq releases it, so in-process (inproc) sends copy nothing.
// A non-contiguous tensor is made contiguous first. Errors on other dtypes or devices.
Status add_tensor(Message& msg, const at::Tensor& tensor);

// Takes payload `index` of msg as a tensor of the dtype and shape its header declares. The tensor
// owns the frame (no copy); the frame in msg is left empty. Errors if index is out of range.
Expected<at::Tensor> take_tensor(Message& msg, size_t index);

// take_tensor that also checks the rank and the element type; names the payload in errors.
Expected<at::Tensor> take_tensor(Message& msg, size_t index, const char* what, int64_t rank,
                                 std::initializer_list<DType> dtypes);

}  // namespace engram
