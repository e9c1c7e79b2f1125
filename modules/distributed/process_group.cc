#include "modules/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace engram {
namespace {

std::string endpoint(const DistributedConfig& c) {
  return fmt::format("{}:{}", c.master_addr, c.master_port);
}

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// The first line of a c10d message (the rest is often a C++ backtrace).
std::string first_line(const std::exception& e) {
  std::string text = e.what();
  const auto nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::mutex g_mutex;
std::shared_ptr<DataParallel> g_run;

}  // namespace

Status validate(const DistributedConfig& c) {
  if (c.world_size < 1) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("world size must be >= 1, got {}", c.world_size));
  }
  if (c.rank < 0 || c.rank >= c.world_size) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("rank {} is outside [0, {}) (world size {})", c.rank, c.world_size,
                              c.world_size));
  }
  if (c.master_addr.empty()) {
    return Status(ErrorCode::invalid_argument, "the master address is empty");
  }
  if (c.master_port < 1 || c.master_port > 65535) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("master port {} is outside [1, 65535]", c.master_port));
  }
  if (c.timeout.count() < 1) {
    return Status(ErrorCode::invalid_argument, "the rendezvous timeout must be positive");
  }
  return Status();
}

Expected<DistributedConfig> distributed_config_from_environment(DistributedConfig base) {
  auto integer = [](const char* name, int* out) -> Status {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return Status();
    const char* end = text + std::char_traits<char>::length(text);
    int v = 0;
    auto [last, err] = std::from_chars(text, end, v);
    if (err != std::errc() || last != end) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("environment variable {}={} is not an integer", name, text));
    }
    *out = v;
    return Status();
  };
  for (auto [name, field] : {std::pair<const char*, int*>{"WORLD_SIZE", &base.world_size},
                             {"RANK", &base.rank},
                             {"MASTER_PORT", &base.master_port}}) {
    if (Status s = integer(name, field); !s.ok()) return s;
  }
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    base.master_addr = addr;
  }
  return base;
}

std::pair<int64_t, int64_t> shard_rows(int64_t rows, int rank, int world_size) {
  const int64_t n = world_size, r = rank;
  const int64_t base = rows / n, extra = rows % n;
  const int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

// ---------------------------------------------------------------------------------------------

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::string name;
  std::chrono::milliseconds timeout;
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->pg->getRank(); }
int ProcessGroup::world_size() const { return impl_->pg->getSize(); }

namespace {

// Runs one collective and waits for it, turning c10d's exceptions into a Status.
template <typename Issue>
Status run_collective(const char* what, const std::string& group, std::chrono::milliseconds limit,
                      Issue issue) {
  try {
    c10::intrusive_ptr<c10d::Work> work = issue();
    work->wait();
    return Status();
  } catch (const std::exception& e) {
    const std::string text = first_line(e);
    const bool timed_out =
        text.find("imed out") != std::string::npos || text.find("imeout") != std::string::npos;
    return Status(timed_out ? ErrorCode::timeout : ErrorCode::internal,
                  fmt::format("data-parallel {} on group '{}' failed{}: {} (a rank stopped, or "
                              "the ranks learn different schedules)",
                              what, group,
                              timed_out ? fmt::format(" after {} s", seconds(limit)) : "", text));
  }
}

}  // namespace

Status ProcessGroup::all_reduce_sum(at::Tensor& t) {
  return run_collective("all-reduce", impl_->name, impl_->timeout, [&] {
    std::vector<at::Tensor> tensors{t};
    return impl_->pg->allreduce(tensors);
  });
}

Status ProcessGroup::broadcast_from_root(at::Tensor& t) {
  return run_collective("broadcast", impl_->name, impl_->timeout, [&] {
    std::vector<at::Tensor> tensors{t};
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    return impl_->pg->broadcast(tensors, options);
  });
}

Status ProcessGroup::gather_to_root(at::Tensor& t, std::vector<at::Tensor>& gathered) {
  return run_collective("gather", impl_->name, impl_->timeout, [&] {
    std::vector<at::Tensor> inputs{t};
    std::vector<std::vector<at::Tensor>> outputs;
    if (rank() == 0) outputs.push_back(gathered);
    c10d::GatherOptions options;
    options.rootRank = 0;
    return impl_->pg->gather(outputs, inputs, options);
  });
}

// ---------------------------------------------------------------------------------------------

struct DataParallel::Impl {
  DistributedConfig config;
  c10::intrusive_ptr<c10d::Store> store;
  std::mutex mutex;  // group(): the store client is not meant for concurrent use
  std::unique_ptr<ProcessGroup> driver;  // driver_group(), opened on first use
};

DataParallel::DataParallel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DataParallel::~DataParallel() = default;

const DistributedConfig& DataParallel::config() const { return impl_->config; }
int DataParallel::rank() const { return impl_->config.rank; }
int DataParallel::world_size() const { return impl_->config.world_size; }

Expected<std::shared_ptr<DataParallel>> DataParallel::connect(const DistributedConfig& config,
                                                              const std::string& fingerprint) {
  if (Status s = validate(config); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const bool server = config.rank == 0;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(config.master_port);
    options.isServer = server;
    options.numWorkers = static_cast<std::size_t>(config.world_size);
    options.waitWorkers = true;
    options.timeout = config.timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
  } catch (const std::exception& e) {
    if (server) {
      return Status(
          ErrorCode::io_error,
          fmt::format("rank 0 cannot host the rendezvous at {} or not every one of the "
                      "{} ranks arrived within {} s: {}",
                      endpoint(config), config.world_size, seconds(config.timeout), first_line(e)));
    }
    return Status(
        ErrorCode::timeout,
        fmt::format("rank {} cannot reach the master at {} within {} s (is rank 0 "
                    "running there?): {}",
                    config.rank, endpoint(config), seconds(config.timeout), first_line(e)));
  }
  // Every rank publishes what it runs and compares everyone's with its own; rank 0 (the store's
  // host) stays until every rank has read, so that a refused rank hears why, not a lost store.
  try {
    c10d::Store& store = *impl->store;
    const auto bytes = [](const std::string& s) {
      return std::vector<uint8_t>(s.begin(), s.end());
    };
    store.set(fmt::format("engram/fingerprint/{}", config.rank), bytes(fingerprint));
    std::string mismatch;
    for (int r = 0; r < config.world_size; ++r) {
      const std::vector<uint8_t> theirs = store.get(fmt::format("engram/fingerprint/{}", r));
      if (std::string(theirs.begin(), theirs.end()) != fingerprint && mismatch.empty()) {
        mismatch = fmt::format(
            "rank {} runs a different configuration than rank {} (script, --set values or "
            "arguments differ: configuration hashes {} and {})",
            r, config.rank, std::string(theirs.begin(), theirs.end()), fingerprint);
      }
    }
    store.set(fmt::format("engram/read/{}", config.rank), bytes("1"));
    if (server) {
      std::vector<std::string> keys;
      for (int r = 0; r < config.world_size; ++r) keys.push_back(fmt::format("engram/read/{}", r));
      store.wait(keys, config.timeout);
    }
    if (!mismatch.empty()) return Status(ErrorCode::invalid_argument, mismatch);
  } catch (const std::exception& e) {
    return Status(
        ErrorCode::timeout,
        fmt::format("rank {}: the ranks did not all check in at {} within {} s: {}", config.rank,
                    endpoint(config), seconds(config.timeout), first_line(e)));
  }
  return std::shared_ptr<DataParallel>(new DataParallel(std::move(impl)));
}

Expected<std::unique_ptr<ProcessGroup>> DataParallel::group(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const DistributedConfig& c = impl_->config;
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(c.timeout);
    // One Gloo thread: the learners' own threads are the budget (one per rank by default).
    options->threads = 1;
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (is_loopback(c.master_addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(c.master_addr));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto store = c10::make_intrusive<c10d::PrefixStore>("engram/group/" + name, impl_->store);
    auto impl = std::make_unique<ProcessGroup::Impl>();
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, c.rank, c.world_size, options);
    impl->name = name;
    impl->timeout = c.timeout;
    return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
  } catch (const std::exception& e) {
    return Status(ErrorCode::timeout,
                  fmt::format("rank {}: cannot open process group '{}' with "
                              "all {} ranks within {} s: {}",
                              c.rank, name, c.world_size, seconds(c.timeout), first_line(e)));
  }
}

Expected<ProcessGroup*> DataParallel::driver_group() {
  if (!impl_->driver) {
    auto opened = group("driver");
    if (!opened.ok()) return opened.status();
    impl_->driver = std::move(*opened);
  }
  return impl_->driver.get();
}

void set_data_parallel(std::shared_ptr<DataParallel> run) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_run = std::move(run);
}

std::shared_ptr<DataParallel> data_parallel() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_run;
}

}  // namespace engram
