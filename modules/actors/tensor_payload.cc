#include "modules/actors/tensor_payload.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace engram {
namespace {

Expected<DType> dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kByte: return DType::u8;
    case at::kInt: return DType::i32;
    case at::kLong: return DType::i64;
    case at::kFloat: return DType::f32;
    default:
      return Status(ErrorCode::invalid_argument,
                    std::string("tensor dtype ") + c10::toString(t.scalar_type()) +
                        " cannot travel in an envelope (u8, i32, i64, f32)");
  }
}

at::ScalarType scalar_type_of(DType d) {
  switch (d) {
    case DType::u8: return at::kByte;
    case DType::i32: return at::kInt;
    case DType::i64: return at::kLong;
    case DType::f32: return at::kFloat;
  }
  return at::kByte;
}

}  // namespace

Status add_tensor(Message& msg, const at::Tensor& tensor) {
  if (!tensor.defined()) return {ErrorCode::invalid_argument, "undefined tensor"};
  if (!tensor.device().is_cpu()) return {ErrorCode::invalid_argument, "tensor must be on the CPU"};
  auto dtype = dtype_of(tensor);
  if (!dtype.ok()) return dtype.status();
  at::Tensor t = tensor.contiguous();
  // The owner keeps the storage alive while libzmq holds the frame.
  auto owner = std::make_shared<at::Tensor>(t);
  const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  add_payload(msg, PayloadDesc{*dtype, t.sizes().vec()},
              make_payload(std::shared_ptr<const void>(owner, owner.get()), t.data_ptr(), bytes));
  return {};
}

Expected<at::Tensor> take_tensor(Message& msg, size_t index) {
  if (index >= msg.payloads.size() || index >= msg.header.payloads.size()) {
    return Status(ErrorCode::malformed,
                  "message '" + msg.header.type + "' has no payload " + std::to_string(index));
  }
  const PayloadDesc& desc = msg.header.payloads[index];
  auto options = at::TensorOptions().dtype(scalar_type_of(desc.dtype));
  auto frame = std::make_shared<zmq::message_t>(std::move(msg.payloads[index]));
  void* data = frame->data();
  // Frames received from a socket may be unaligned (libzmq stores small ones inline); tensors
  // are expected to be aligned, so such a frame is copied once.
  if (reinterpret_cast<uintptr_t>(data) % 16 != 0 || frame->size() == 0) {
    at::Tensor copy = at::empty(desc.shape, options);
    std::copy_n(static_cast<const uint8_t*>(data), frame->size(),
                static_cast<uint8_t*>(copy.data_ptr()));
    return copy;
  }
  return at::from_blob(
      data, desc.shape, [frame](void*) mutable { frame.reset(); }, options);
}

Expected<at::Tensor> take_tensor(Message& msg, size_t index, const char* what, int64_t rank,
                                 std::initializer_list<DType> dtypes) {
  if (index < msg.header.payloads.size()) {
    const PayloadDesc& d = msg.header.payloads[index];
    if (static_cast<int64_t>(d.shape.size()) != rank) {
      return Status(ErrorCode::malformed, std::string(what) + " must have rank " +
                                              std::to_string(rank) + ", got " +
                                              std::to_string(d.shape.size()));
    }
    if (std::find(dtypes.begin(), dtypes.end(), d.dtype) == dtypes.end()) {
      return Status(ErrorCode::malformed,
                    std::string(what) + " has unexpected dtype " + dtype_name(d.dtype));
    }
  }
  return take_tensor(msg, index);
}

}  // namespace engram
