// Experience replay as an association: a code is the raw 8-bit image itself (c = pixels,
// l = 256, 8 bits per pixel), so ER and recollections share the code buffer, the byte budget
// and the replay path, and differ only in what a code holds.
#pragma once

#include "modules/association/association.h"

namespace engram {

class RawCodec final : public Association {
 public:
  // pixels: values per observation (784 for 28x28).
  explicit RawCodec(int pixels) : pixels_(pixels) {}

  std::string kind() const override { return "raw"; }
  CodeShape code_shape() const override { return {pixels_, 256}; }
  // Nothing learns, so nothing to synchronise across ranks.
  Status set_gradient_sync(std::shared_ptr<GradientSync>) override { return Status(); }
  // Quantises x to 8 bits; nothing to learn.
  at::Tensor learn(const at::Tensor& x, const at::Tensor&, const at::Tensor&,
                   AssociationStats*) override {
    return encode(x);
  }
  at::Tensor encode(const at::Tensor& x) override;
  at::Tensor recall(const at::Tensor& codes) override;
  at::Tensor decode_live(const at::Tensor& codes) override { return recall(codes); }
  void consolidate() override {}
  int64_t decoder_weight_bytes() const override { return 0; }
  int64_t weight_bytes() const override { return 0; }
  std::string save_state() const override { return {}; }
  // Accepts only the empty state save_state() writes.
  Status load_state(const std::string& bytes) override {
    if (bytes.empty()) return {};
    return {ErrorCode::malformed, "raw codec: expected an empty state"};
  }

 private:
  int pixels_;
};

}  // namespace engram
