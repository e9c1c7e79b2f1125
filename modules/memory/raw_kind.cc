// "raw" (experience replay): the association is the identity codec (a code is the 8-bit image),
// so stored images share the code buffer, the byte budget and the replay path of "dvae".
#include "modules/memory/raw_kind.h"

#include "modules/association/raw_codec.h"

namespace engram {
namespace {

class RawKind final : public MemoryKind {
 public:
  std::string name() const override { return "raw"; }
  std::string summary() const override {
    return "experience replay: 8-bit images in the same byte-budgeted buffer";
  }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> none;
    return none;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    MemoryParts parts;
    parts.association = std::make_unique<RawCodec>(context.rows * context.cols);
    parts.buffer = buffer_for(parts.association->code_shape(), context);
    return parts;
  }
};

}  // namespace

const MemoryKind& raw_memory_kind() {
  static const RawKind kind;
  return kind;
}

}  // namespace engram
