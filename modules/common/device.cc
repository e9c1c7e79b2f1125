#include "modules/common/device.h"

#include <torch/cuda.h>

#include <charconv>

namespace engram {

Expected<c10::Device> resolve_device(const std::string& name) {
  if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) != 0) {
    return Status(ErrorCode::invalid_argument,
                  "device '" + name + "' is not one of cpu, cuda, cuda:N");
  }
  int index = 0;
  if (name.size() > 4) {
    if (name[4] != ':' || name.size() == 5 ||
        name.find_first_not_of("0123456789", 5) != std::string::npos) {
      return Status(ErrorCode::invalid_argument, "device '" + name + "' must read cuda or cuda:N");
    }
    const char* first = name.data() + 5;
    const char* last = name.data() + name.size();
    auto [end, err] = std::from_chars(first, last, index);
    if (err != std::errc() || end != last || index > 1023) {
      return Status(ErrorCode::invalid_argument, "device '" + name + "': index out of range");
    }
  }
  if (!torch::cuda::is_available()) {
    return Status(ErrorCode::invalid_argument,
                  "device '" + name +
                      "' requested, but this LibTorch build has no CUDA support or no GPU is "
                      "visible (Debian's libtorch is CPU-only); use device = \"cpu\"");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    return Status(ErrorCode::invalid_argument, "device '" + name + "' requested, but only " +
                                                   std::to_string(count) +
                                                   " CUDA device(s) are visible");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace engram
