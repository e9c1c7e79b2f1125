#include "runtime/system_info.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace engram {
namespace {

template <typename Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string real_path(const char* path) {
  char buf[PATH_MAX];
  if (path != nullptr && realpath(path, buf) != nullptr) return buf;
  return path != nullptr ? path : "";
}

// Best OpenBLAS kernel family this CPU supports, or "" when none beats the generic one.
std::string best_coretype_for_cpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "SandyBridge";
#endif
  return "";
}

}  // namespace

BlasInfo probe_blas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm == nullptr) return info;
  info.loaded = true;
  Dl_info where{};
  if (dladdr(sgemm, &where) != 0) info.library_path = real_path(where.dli_fname);

  auto get_config = lookup<char* (*)()>("openblas_get_config");
  auto get_core = lookup<char* (*)()>("openblas_get_corename");
  auto get_threads = lookup<int (*)()>("openblas_get_num_threads");
  auto get_parallel = lookup<int (*)()>("openblas_get_parallel");
  info.is_openblas = get_config != nullptr;
  // Both libraries can be loaded at once (LAPACK may pull in OpenBLAS); what matters is the
  // library that serves sgemm_, so the reference check looks at that path.
  info.is_reference =
      info.library_path.find("/blas/") != std::string::npos ||
      (!info.is_openblas && info.library_path.find("openblas") == std::string::npos);
  if (info.is_reference) info.is_openblas = false;
  if (info.is_openblas) {
    info.config = get_config();
    if (get_core != nullptr) info.core = get_core();
    if (get_threads != nullptr) info.threads = get_threads();
    info.threading = "unknown";
    if (get_parallel != nullptr) {
      switch (get_parallel()) {
        case 0: info.threading = "sequential"; break;
        case 1: info.threading = "pthreads"; break;
        case 2: info.threading = "openmp"; break;
        default: break;
      }
    }
  }
  return info;
}

std::string recommended_openblas_coretype(const BlasInfo& info) {
  if (!info.is_openblas || std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";
  // OpenBLAS names its generic x86-64 fallback "Prescott" (or "Core2"/"Nehalem" on some builds).
  if (info.core != "Prescott" && info.core != "Core2" && info.core != "Nehalem") return "";
  return best_coretype_for_cpu();
}

void reexec_with_fast_blas_if_needed(char** argv) {
  if (std::getenv("ENGRAM_NO_BLAS_FIX") != nullptr) return;
  const std::string coretype = recommended_openblas_coretype(probe_blas());
  if (coretype.empty()) return;
  setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
  // Mark the re-exec so that a second detection failure cannot loop.
  setenv("ENGRAM_NO_BLAS_FIX", "reexec", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the slow kernels; describe_blas() will say so.
  unsetenv("OPENBLAS_CORETYPE");
}

std::string describe_blas(const BlasInfo& info) {
  if (!info.loaded) return "BLAS: none loaded in this process";
  if (info.is_reference) {
    return fmt::format(
        "BLAS: reference (netlib) BLAS at {} -- WARNING: about 14x slower than OpenBLAS; install "
        "libopenblas0-openmp (make deps does)",
        info.library_path);
  }
  if (!info.is_openblas) return fmt::format("BLAS: {} (unrecognised vendor)", info.library_path);
  std::string version = info.config.substr(0, info.config.find(' ', sizeof("OpenBLAS")));
  std::string line = fmt::format("BLAS: {} ({}, {} threads, core {})", version, info.threading,
                                 info.threads, info.core);
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  const char* fixed = std::getenv("ENGRAM_NO_BLAS_FIX");
  if (forced != nullptr && fixed != nullptr && std::strcmp(fixed, "reexec") == 0) {
    line += " [OPENBLAS_CORETYPE set by engram: OpenBLAS did not recognise this CPU]";
  }
  if (info.threading == "pthreads") {
    line +=
        " -- WARNING: the pthreads build oversubscribes cores next to LibTorch's OpenMP pool; "
        "install libopenblas0-openmp";
  }
  const std::string fix = recommended_openblas_coretype(info);
  if (!fix.empty()) {
    line += fmt::format(" -- WARNING: generic kernels on a CPU with {}; set OPENBLAS_CORETYPE={}",
                        fix == "SkylakeX" ? "AVX-512" : "AVX2", fix);
  }
  return line;
}

}  // namespace engram
