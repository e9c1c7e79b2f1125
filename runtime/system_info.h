// What the process computes with: which BLAS library serves sgemm, its threading and kernels.
//
// Why this exists: Debian's LibTorch calls whatever libblas.so.3 the system selects. The netlib
// reference BLAS is about 14x slower than OpenBLAS for an MLP training step, and OpenBLAS 0.3.21
// falls back to its generic "Prescott" (SSE3) kernels on virtual CPUs whose model it does not
// recognise, even when they have AVX-512: measured here 19 vs 120 GFLOPS for a 256x784x400 sgemm.
// engram reports both at the start of every run and can fix the second one for its own process.
//
// This file needs no BLAS at link time: it looks up symbols in whatever the process has loaded.
#pragma once

#include <string>

namespace engram {

struct BlasInfo {
  bool loaded = false;        // some library in the process provides sgemm_
  std::string library_path;   // real path of the library providing sgemm_
  bool is_openblas = false;   // OpenBLAS entry points found
  bool is_reference = false;  // netlib reference BLAS (slow)
  std::string config;         // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  std::string core;           // openblas_get_corename(), e.g. "SkylakeX"
  std::string threading;      // "sequential", "pthreads", "openmp" or "unknown"
  int threads = 0;            // openblas_get_num_threads(), 0 when unknown
};

// Inspects the BLAS the process has loaded. Thread-safe; cheap (a few dlsym calls).
BlasInfo probe_blas();

// The OPENBLAS_CORETYPE that would select fast kernels when OpenBLAS runs its generic kernels on
// a CPU with AVX2/AVX-512; empty when nothing needs fixing or the variable is already set.
std::string recommended_openblas_coretype(const BlasInfo& info);

// When recommended_openblas_coretype() is non-empty, sets OPENBLAS_CORETYPE and re-executes the
// current program (/proc/self/exe) with the same arguments, because OpenBLAS chooses its kernels
// once, when it is loaded. Returns normally when no re-exec is needed, when ENGRAM_NO_BLAS_FIX is
// set, or when exec fails. Call first thing in main(), before any thread starts.
void reexec_with_fast_blas_if_needed(char** argv);

// One human-readable line for --version and run headers, with a warning when the BLAS is slow,
// e.g. "BLAS: OpenBLAS 0.3.21 (openmp, 2 threads, core SkylakeX)".
std::string describe_blas(const BlasInfo& info);

}  // namespace engram
