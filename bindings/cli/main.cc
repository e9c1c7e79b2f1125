// The `engram` command. Exit codes: 0 ok, 1 script or runtime error, 2 usage error.
#include <CLI/CLI.hpp>

#include <iostream>

#include "runtime/system_info.h"
#include "runtime/version.h"

int main(int argc, char** argv) {
  engram::reexec_with_fast_blas_if_needed(argv);
  CLI::App app{"engram: continual learning through lossy recollections"};
  bool version = false;
  app.add_flag("--version", version, "print version, BLAS and threads, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "engram " << ENGRAM_VERSION << "\n" << engram::describe_blas(engram::probe_blas()) << "\n";
  }
  return 0;
}
