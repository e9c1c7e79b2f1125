#include "modules/distributed/snapshot_ranks.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "modules/distributed/process_group.h"

namespace engram {
namespace {

at::Tensor byte_tensor(const std::vector<uint8_t>& bytes, int64_t size) {
  at::Tensor t = at::zeros({size}, at::kByte);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::vector<uint8_t> tensor_bytes(const at::Tensor& t, int64_t size) {
  const uint8_t* p = t.data_ptr<uint8_t>();
  return std::vector<uint8_t>(p, p + size);
}

// The file's bytes, or io_error / not_found naming it.
Expected<std::vector<uint8_t>> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::not_found, "cannot open snapshot " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return Status(ErrorCode::io_error, "cannot read snapshot " + path);
  return bytes;
}

}  // namespace

Expected<std::vector<std::vector<uint8_t>>> gather_bytes(
    ProcessGroup& group, const Expected<std::vector<uint8_t>>& mine) {
  const int world = group.world_size(), rank = group.rank();
  // Sizes first (-1: this rank failed), summed over ranks: every rank learns every size.
  at::Tensor sizes = at::zeros({world}, at::kLong);
  sizes[rank] = mine.ok() ? static_cast<int64_t>(mine->size()) : int64_t{-1};
  if (Status s = group.all_reduce_sum(sizes); !s.ok()) return s;
  const int64_t* size = sizes.data_ptr<int64_t>();
  int64_t longest = 0;
  for (int r = 0; r < world; ++r) {
    if (size[r] < 0) {
      if (r == rank) return mine.status();
      return Status(ErrorCode::internal,
                    fmt::format("rank {} could not take its part (its own output says why)", r));
    }
    longest = std::max(longest, size[r]);
  }
  // Then the bytes, each rank's padded to the longest (a gather moves equal shapes).
  at::Tensor own = byte_tensor(mine.value(), longest);
  std::vector<at::Tensor> gathered;
  if (rank == 0) {
    for (int r = 0; r < world; ++r) gathered.push_back(at::empty({longest}, at::kByte));
  }
  if (longest > 0) {
    if (Status s = group.gather_to_root(own, gathered); !s.ok()) return s;
  }
  std::vector<std::vector<uint8_t>> out;
  if (rank == 0) {
    if (longest == 0) gathered.assign(static_cast<size_t>(world), own);
    for (int r = 0; r < world; ++r) out.push_back(tensor_bytes(gathered[r], size[r]));
  }
  return out;
}

Expected<std::vector<uint8_t>> broadcast_bytes(ProcessGroup& group,
                                               const Expected<std::vector<uint8_t>>& from_root) {
  const bool root = group.rank() == 0;
  // The size (-1: rank 0 failed, and then its message's length follows), then the bytes.
  at::Tensor head = at::zeros({2}, at::kLong);
  std::vector<uint8_t> message;
  if (root) {
    if (from_root.ok()) {
      head[0] = static_cast<int64_t>(from_root->size());
    } else {
      const std::string text = from_root.status().message();
      message.assign(text.begin(), text.end());
      head[0] = -1;
      head[1] = static_cast<int64_t>(message.size());
    }
  }
  if (Status s = group.broadcast_from_root(head); !s.ok()) return s;
  const int64_t size = head[0].item<int64_t>();
  if (size < 0) {
    const int64_t length = head[1].item<int64_t>();
    at::Tensor text = byte_tensor(message, length);
    if (length > 0) {
      if (Status s = group.broadcast_from_root(text); !s.ok()) return s;
    }
    if (root) return from_root.status();
    const std::vector<uint8_t> bytes = tensor_bytes(text, length);
    return Status(ErrorCode::io_error, "rank 0: " + std::string(bytes.begin(), bytes.end()));
  }
  at::Tensor data = root ? byte_tensor(from_root.value(), size) : at::empty({size}, at::kByte);
  if (size > 0) {
    if (Status s = group.broadcast_from_root(data); !s.ok()) return s;
  }
  if (root) return from_root.value();
  return tensor_bytes(data, size);
}

Expected<SnapshotSections> read_snapshot_on_ranks(const std::string& path, SnapshotInfo* info) {
  std::shared_ptr<DataParallel> run = data_parallel();
  if (!run || run->world_size() == 1) return read_snapshot(path, info);
  auto group = run->driver_group();
  if (!group.ok()) return group.status();
  Expected<std::vector<uint8_t>> bytes =
      run->rank() == 0 ? file_bytes(path) : Expected<std::vector<uint8_t>>(std::vector<uint8_t>());
  auto received = broadcast_bytes(**group, bytes);
  if (!received.ok()) return received.status();
  return parse_snapshot(received->data(), received->size(), info);
}

}  // namespace engram
