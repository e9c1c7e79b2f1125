#include "modules/association/raw_codec.h"

#include <ATen/ATen.h>

namespace engram {

at::Tensor RawCodec::encode(const at::Tensor& x) {
  return (x.detach().cpu().clamp(0, 1) * 255).round_().to(at::kLong);
}

at::Tensor RawCodec::recall(const at::Tensor& codes) { return codes.to(at::kFloat).div_(255); }

}  // namespace engram
