#include "modules/common/tensor_archive.h"

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace engram {
namespace {

constexpr char kMagic[8] = {'E', 'N', 'G', 'R', 'A', 'M', 'T', 'A'};
constexpr uint32_t kVersion = 1;
constexpr int kMaxDims = 8;
constexpr uint32_t kMaxTensors = 1u << 20;

struct DtypeCode {
  at::ScalarType type;
  uint8_t code;
};
constexpr DtypeCode kDtypes[] = {
    {at::kFloat, 1}, {at::kDouble, 2}, {at::kLong, 3}, {at::kByte, 4}, {at::kChar, 5}};

int code_of(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.code;
  return -1;
}

template <typename T>
void append(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

// A bounded reader over the input: every read checks what is left first.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : p_(bytes.data()), left_(bytes.size()) {}
  template <typename T>
  bool read(T* v) {
    if (left_ < sizeof(T)) return false;
    std::memcpy(v, p_, sizeof(T));
    p_ += sizeof(T);
    left_ -= sizeof(T);
    return true;
  }
  bool take(size_t n, const char** out) {
    if (left_ < n) return false;
    *out = p_;
    p_ += n;
    left_ -= n;
    return true;
  }
  size_t left() const { return left_; }

 private:
  const char* p_;
  size_t left_;
};

Status bad(const std::string& what) {
  return Status(ErrorCode::malformed, "tensor archive: " + what);
}

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

void TensorArchive::put(const std::string& name, const at::Tensor& tensor) {
  if (name.empty() || name.size() > 65535) throw std::invalid_argument("tensor name length");
  if (code_of(tensor.scalar_type()) < 0) throw std::invalid_argument("tensor dtype of " + name);
  if (tensor.dim() > kMaxDims) throw std::invalid_argument("tensor dims of " + name);
  tensors_[name] = tensor.detach().to(at::kCPU).contiguous().clone();
}

bool TensorArchive::contains(const std::string& name) const { return tensors_.count(name) != 0; }

Expected<at::Tensor> TensorArchive::get(const std::string& name, at::ScalarType dtype) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return bad("'" + name + "' is missing");
  if (it->second.scalar_type() != dtype) {
    return bad("'" + name + "' is " + std::string(c10::toString(it->second.scalar_type())) +
               ", expected " + c10::toString(dtype));
  }
  return it->second;
}

Expected<at::Tensor> TensorArchive::get(const std::string& name, at::ScalarType dtype,
                                        at::IntArrayRef shape) const {
  auto t = get(name, dtype);
  if (!t.ok()) return t;
  if (t->sizes() != shape) {
    return bad("'" + name + "' has shape " + shape_text(t->sizes()) + ", this configuration " +
               shape_text(shape));
  }
  return t;
}

std::string TensorArchive::to_bytes() const {
  std::string out(kMagic, sizeof kMagic);
  append<uint32_t>(out, kVersion);
  append<uint32_t>(out, static_cast<uint32_t>(tensors_.size()));
  for (const auto& [name, t] : tensors_) {
    append<uint16_t>(out, static_cast<uint16_t>(name.size()));
    out += name;
    append<uint8_t>(out, static_cast<uint8_t>(code_of(t.scalar_type())));
    append<uint8_t>(out, static_cast<uint8_t>(t.dim()));
    for (int64_t d : t.sizes()) append<int64_t>(out, d);
    const uint64_t n = static_cast<uint64_t>(t.numel()) * t.element_size();
    append<uint64_t>(out, n);
    out.append(static_cast<const char*>(t.data_ptr()), n);
  }
  return out;
}

Expected<TensorArchive> TensorArchive::from_bytes(const std::string& bytes) {
  if (bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0) {
    return bad(
        "this is a LibTorch archive (engram 0.1.0); engram no longer loads those, "
        "because their loader runs TorchScript from the file: re-create the state");
  }
  Reader r(bytes);
  const char* magic = nullptr;
  if (!r.take(sizeof kMagic, &magic) || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return bad("not an engram tensor archive (bad magic)");
  }
  uint32_t version = 0, count = 0;
  if (!r.read(&version) || !r.read(&count)) return bad("truncated header");
  if (version != kVersion) {
    return Status(ErrorCode::unsupported_version,
                  "tensor archive: format version " + std::to_string(version) +
                      ", this engram reads " + std::to_string(kVersion));
  }
  if (count > kMaxTensors) return bad("too many tensors (" + std::to_string(count) + ")");
  TensorArchive archive;
  for (uint32_t i = 0; i < count; ++i) {
    const std::string where = "tensor " + std::to_string(i);
    uint16_t name_len = 0;
    const char* name = nullptr;
    if (!r.read(&name_len) || name_len == 0 || !r.take(name_len, &name)) {
      return bad(where + ": truncated or empty name");
    }
    const std::string key(name, name_len);
    uint8_t code = 0, dims = 0;
    if (!r.read(&code) || !r.read(&dims)) return bad("'" + key + "': truncated");
    int type_index = -1;
    for (int k = 0; k < static_cast<int>(std::size(kDtypes)); ++k)
      if (kDtypes[k].code == code) type_index = k;
    if (type_index < 0) return bad("'" + key + "': unknown dtype code " + std::to_string(code));
    if (dims > kMaxDims) return bad("'" + key + "': " + std::to_string(dims) + " dims");
    std::vector<int64_t> shape(dims);
    uint64_t numel = 1;
    for (auto& d : shape) {
      if (!r.read(&d)) return bad("'" + key + "': truncated shape");
      if (d < 0 || d > (int64_t{1} << 40)) return bad("'" + key + "': size out of range");
      // Bounded by the input below; checked here so the product cannot overflow.
      if (d != 0 && numel > (uint64_t{1} << 62) / static_cast<uint64_t>(d)) {
        return bad("'" + key + "': too many elements");
      }
      numel *= static_cast<uint64_t>(d);
    }
    const at::ScalarType type = kDtypes[type_index].type;
    const uint64_t expected = numel * static_cast<uint64_t>(c10::elementSize(type));
    uint64_t n = 0;
    const char* data = nullptr;
    if (!r.read(&n)) return bad("'" + key + "': truncated");
    if (n != expected) return bad("'" + key + "': data bytes do not match its shape and dtype");
    if (n > r.left() || !r.take(static_cast<size_t>(n), &data)) {
      return bad("'" + key + "': truncated data");
    }
    if (archive.tensors_.count(key) != 0) return bad("'" + key + "' appears twice");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
    if (n > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(n));
    archive.tensors_.emplace(key, std::move(t));
  }
  if (r.left() != 0) return bad(std::to_string(r.left()) + " bytes after the last tensor");
  return archive;
}

}  // namespace engram
