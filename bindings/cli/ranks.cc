#include "bindings/cli/ranks.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "modules/distributed/process_group.h"
#include "runtime/atomic_file.h"
#include "runtime/log.h"

namespace engram {
namespace {

Status parse_int(const std::string& what, const std::string& text, int* out) {
  const char* end = text.data() + text.size();
  auto [last, err] = std::from_chars(text.data(), end, *out);
  if (text.empty() || err != std::errc() || last != end) {
    return Status(ErrorCode::invalid_argument,
                  fmt::format("{} must be an integer, got \"{}\"", what, text));
  }
  return Status();
}

// 64-bit FNV-1a over the parts, each followed by a separator: what identifies a configuration.
std::string fingerprint(const std::vector<std::string>& parts) {
  uint64_t h = 1469598103934665603ULL;
  for (const std::string& part : parts) {
    for (unsigned char c : part + '\x1f') {
      h ^= c;
      h *= 1099511628211ULL;
    }
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

void add_rank_options(CLI::App& run, RankOptions* o) {
  auto* group = run.add_option_group(
      "data-parallel",
      "learn on several ranks (processes or machines) with LibTorch's c10d/Gloo: each rank learns "
      "its shard of every batch, gradients are averaged, weights stay identical; rank 0 writes "
      "results and snapshots. With a world size above 1 each rank uses one LibTorch thread per "
      "learning actor (the runtime's threads setting can raise it)");
  group->add_option("--world-size", o->world_size, "ranks in the run (default $WORLD_SIZE, else 1)")
      ->type_name("N");
  group->add_option("--rank", o->rank, "this process's rank in [0, N) (default $RANK, else 0)")
      ->type_name("R");
  group
      ->add_option("--master", o->master,
                   "HOST:PORT where rank 0 hosts the rendezvous (default "
                   "$MASTER_ADDR:$MASTER_PORT, else 127.0.0.1:29500)")
      ->type_name("HOST:PORT");
  group
      ->add_option("--rank-timeout", o->timeout_s,
                   "seconds to wait for the master, the other ranks and each gradient exchange "
                   "before failing")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
}

Status join_run_if_asked(const RankOptions& o, const std::string& script,
                         const std::vector<std::string>& sets, const std::vector<std::string>& args,
                         int* rank) {
  *rank = 0;
  auto config = distributed_config_from_environment(DistributedConfig{});
  if (!config.ok()) return config.status();
  DistributedConfig c = *config;
  if (!o.world_size.empty()) {
    if (Status s = parse_int("--world-size", o.world_size, &c.world_size); !s.ok()) return s;
  }
  if (!o.rank.empty()) {
    if (Status s = parse_int("--rank", o.rank, &c.rank); !s.ok()) return s;
  }
  if (!o.master.empty()) {
    const auto colon = o.master.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status(ErrorCode::invalid_argument,
                    fmt::format("--master must be HOST:PORT, got \"{}\"", o.master));
    }
    c.master_addr = o.master.substr(0, colon);
    if (Status s = parse_int("--master port", o.master.substr(colon + 1), &c.master_port);
        !s.ok()) {
      return s;
    }
  }
  c.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::llround(o.timeout_s * 1000)));
  if (Status s = validate(c); !s.ok()) return s;
  if (c.world_size == 1) return Status();
  std::string script_text;
  if (Status s = read_file(script, &script_text); !s.ok()) return s;
  std::vector<std::string> parts{script_text};
  parts.insert(parts.end(), sets.begin(), sets.end());
  parts.push_back("--");
  parts.insert(parts.end(), args.begin(), args.end());
  log_info("engram", fmt::format("rank {} of {}: joining the run at {}:{} (timeout {} s)", c.rank,
                                 c.world_size, c.master_addr, c.master_port, o.timeout_s));
  auto run = DataParallel::connect(c, fingerprint(parts));
  if (!run.ok()) return run.status();
  set_data_parallel(*run);
  at::set_num_threads(1);
  if (c.rank > 0) set_file_writes_enabled(false);
  log_info("engram", fmt::format("rank {} of {}: joined{}", c.rank, c.world_size,
                                 c.rank > 0 ? " (rank 0 writes results and snapshots)" : ""));
  *rank = c.rank;
  return Status();
}

void leave_run() { set_data_parallel(nullptr); }

}  // namespace engram
