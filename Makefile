# Thin wrapper over CMake. `make demo` and `make test` work on a fresh Debian bookworm machine:
# they install the Debian packages engram needs (when missing), configure, build and run.
#
#   make demo                  run the main experiment (Split MNIST, see README)
#   make test                  build everything and run all tests through CTest
#   make test SANITIZE=address ASan+UBSan build (with LibTorch) of the tests labelled `sanitize`:
#                              every torch-free test, plus the actors with real modules and
#                              Session, the C API's OnlineAgent, the sensor path into learning
#                              and distillation (see README, Development); only what they need
#                              is built (target engram_sanitize_tests)
#   make test SANITIZE=thread  TSan build of the same
#   make bench                 build and run the benchmarks (they print figures)
#   make fuzz                  libFuzzer (clang, ASan+UBSan) on every decoder of untrusted bytes:
#                              snapshot container, sensor frames, envelopes, the C API's JSON
#                              configuration, every module's load_state; FUZZ_RUNS=1000000
#                              executions each from tests/fuzz/corpus (FUZZ_RUNS=10000: quick)
#   make fuzz-seeds            regenerate the seed corpora tests/fuzz/corpus from the modules
#   make format / format-check clang-format the tree / fail on unformatted files

SANITIZE ?=
WERROR   ?= OFF
JOBS     ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo

ifeq ($(SANITIZE),)
  BUILD_DIR ?= build
  TORCH     ?= ON
  BUILD_TARGET ?=
  CTEST_ARGS   ?=
else
  BUILD_DIR ?= build-$(SANITIZE)
  TORCH     ?= ON
  # The full torch test suite is too slow under sanitizers: build and run the `sanitize` subset.
  BUILD_TARGET ?= --target engram_sanitize_tests
  CTEST_ARGS   ?= -L sanitize
endif

# chromium: only for the report_chromium test (reports opened headless); 122 MB to download,
# 411 MB installed, 16 packages with --no-install-recommends.
DEB_PACKAGES := build-essential cmake pkg-config ccache clang-format libgloo-dev \
  libtorch-dev libopenblas0-openmp liblua5.4-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev \
  libzstd-dev zstd zlib1g-dev libpng-dev libzip-dev doctest-dev libcli11-dev nlohmann-json3-dev \
  libfmt-dev libspdlog-dev python3 python3-zmq python3-msgpack dataset-fashion-mnist gnuplot-nox \
  chromium

ENGRAM := $(BUILD_DIR)/bindings/cli/engram
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build demo test bench fuzz fuzz-build fuzz-seeds format format-check clean

all: build

# Install only what is missing; apt-get update only when something is.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
	  -DENGRAM_WITH_TORCH=$(TORCH) -DENGRAM_SANITIZE=$(SANITIZE) -DENGRAM_WERROR=$(WERROR)

configure: deps $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) $(BUILD_TARGET)

# DEMO_ARGS: e.g. DEMO_ARGS='--set iterations=500' for a shorter schedule. The last line printed
# is the path of the run's HTML report (engram run --report).
DEMO_ARGS ?=
demo: build
	$(ENGRAM) run scripts/split_mnist.lua --report $(DEMO_ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

bench: build
	@for b in $(BUILD_DIR)/tests/bench_*; do [ -x "$$b" ] && echo "== $$b" && "$$b"; done

# libFuzzer targets (tests/fuzz/fuzz_*.cc; clang, ASan+UBSan), each run for FUZZ_RUNS executions
# from its committed seed corpus tests/fuzz/corpus/<name> (read only: new inputs go to
# $(FUZZ_DIR)/corpus/<name>). The torch-free ones build in $(FUZZ_DIR); fuzz_agent_config and
# fuzz_load_state link LibTorch and build in $(FUZZ_TORCH_DIR) (LibTorch itself is not
# instrumented: the sanitizers and coverage see engram's code only). A crash stops with the
# input saved as $(FUZZ_DIR)/crash-*; each run's log is $(FUZZ_DIR)/<name>.log.
FUZZ_RUNS      ?= 1000000
# Extra libFuzzer flags for every target, e.g. FUZZ_FLAGS='-fork=1 -ignore_crashes=1' to keep
# going past a crash (artifacts still saved), or -max_total_time=600.
FUZZ_FLAGS     ?=
FUZZ_DIR       := build-fuzz
FUZZ_TORCH_DIR := build-fuzz-torch
FUZZ_JOBS      ?= $(JOBS)
FUZZ_TARGETS       ?= snapshot sensor_frame envelope
FUZZ_TORCH_TARGETS ?= agent_config load_state
# -max_len per target: room around its largest seed.
FUZZ_MAX_LEN_snapshot     := 65536
FUZZ_MAX_LEN_sensor_frame := 4096
FUZZ_MAX_LEN_envelope     := 4096
FUZZ_MAX_LEN_agent_config := 4096
FUZZ_MAX_LEN_load_state   := 81920
# Sanitizer options per target. fuzz_load_state: builds fresh modules and, for accepted input,
# checks that they still learn, allocating heavily: 5-frame allocation stacks (not 30) keep
# reports useful and executions cheaper; lsan.supp is kept for LibTorch's own allocations. About
# 200 executions/s under ASan here, so FUZZ_RUNS=1000000 takes over an hour for it;
# FUZZ_TORCH_TARGETS=agent_config skips it.
FUZZ_ENV_load_state := ASAN_OPTIONS=malloc_context_size=5 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp
FUZZ_CMAKE := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DENGRAM_FUZZ=ON -DENGRAM_SANITIZE=address

FUZZ_BIN_snapshot     := $(FUZZ_DIR)
FUZZ_BIN_sensor_frame := $(FUZZ_DIR)
FUZZ_BIN_envelope     := $(FUZZ_DIR)
FUZZ_BIN_agent_config := $(FUZZ_TORCH_DIR)
FUZZ_BIN_load_state   := $(FUZZ_TORCH_DIR)

fuzz-build: deps
	@command -v clang++ >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends clang; }
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) $(FUZZ_CMAKE) -DENGRAM_WITH_TORCH=OFF
	cmake --build $(FUZZ_DIR) -j $(FUZZ_JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS)) \
	  snapshot_seeds wire_seeds
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_TORCH_DIR) $(FUZZ_CMAKE) -DENGRAM_WITH_TORCH=ON
	cmake --build $(FUZZ_TORCH_DIR) -j $(FUZZ_JOBS) \
	  --target $(addprefix fuzz_,$(FUZZ_TORCH_TARGETS)) load_state_seeds

fuzz: fuzz-build
	@$(MAKE) --no-print-directory -k -j 1 $(addprefix fuzz-run-,$(FUZZ_TARGETS) $(FUZZ_TORCH_TARGETS))

# fuzz-run-<name>: runs fuzz_<name> (already built) and prints libFuzzer's final stats.
fuzz-run-%:
	@mkdir -p $(FUZZ_DIR)/corpus/$*
	@echo "== fuzz_$*: $(FUZZ_RUNS) runs (log: $(FUZZ_DIR)/$*.log)"
	@$(FUZZ_ENV_$*) $(FUZZ_BIN_$*)/tests/fuzz_$* -runs=$(FUZZ_RUNS) \
	  -max_len=$(FUZZ_MAX_LEN_$*) -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_FLAGS) \
	  $$(test -f tests/fuzz/$*.dict && echo -dict=tests/fuzz/$*.dict) \
	  $(FUZZ_DIR)/corpus/$* tests/fuzz/corpus/$* > $(FUZZ_DIR)/$*.log 2>&1 \
	  || { tail -n 60 $(FUZZ_DIR)/$*.log; echo "fuzz_$* FAILED (log: $(FUZZ_DIR)/$*.log)"; exit 1; }
	@grep -E '^(stat::|Done )' $(FUZZ_DIR)/$*.log

# Rewrites the generated seeds (agent_config's are hand-written JSON) of tests/fuzz/corpus.
fuzz-seeds: fuzz-build
	$(FUZZ_DIR)/tests/snapshot_seeds tests/fuzz/corpus/snapshot
	$(FUZZ_DIR)/tests/wire_seeds tests/fuzz/corpus/sensor_frame tests/fuzz/corpus/envelope
	$(FUZZ_TORCH_DIR)/tests/load_state_seeds tests/fuzz/corpus/load_state

FORMAT_FILES = $(shell git ls-files '*.h' '*.cc' '*.c' '*.hpp' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build build-address build-thread build-fuzz build-fuzz-torch
