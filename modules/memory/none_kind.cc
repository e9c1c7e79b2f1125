// "none": no memory at all (fine-tuning, the lower bound of the comparison tables).
#include "modules/memory/none_kind.h"

namespace engram {
namespace {

class NoneKind final : public MemoryKind {
 public:
  std::string name() const override { return "none"; }
  std::string summary() const override { return "no memory: fine-tuning (the lower bound)"; }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> none;
    return none;
  }
  Expected<MemoryParts> build(const MemoryBuildContext&) const override { return MemoryParts{}; }
};

}  // namespace

const MemoryKind& none_memory_kind() {
  static const NoneKind kind;
  return kind;
}

}  // namespace engram
