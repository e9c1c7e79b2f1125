# Thin wrapper over CMake. `make demo` and `make test` work on a fresh Debian bookworm machine:
# they install the Debian packages engram needs (when missing), configure, build and run.
#
#   make demo                  run the main experiment (Split MNIST, see README)
#   make test                  build everything and run all tests through CTest
#   make test SANITIZE=address ASan+UBSan build of everything that does not link LibTorch
#   make test SANITIZE=thread  TSan build of the same
#   make bench                 build and run the benchmarks (they print figures)
#   make fuzz                  libFuzzer on the snapshot loader (clang; FUZZ_RUNS=1000000)
#   make format / format-check clang-format the tree / fail on unformatted files

SANITIZE ?=
WERROR   ?= OFF
JOBS     ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo

ifeq ($(SANITIZE),)
  BUILD_DIR ?= build
  TORCH     ?= ON
else
  BUILD_DIR ?= build-$(SANITIZE)
  TORCH     ?= OFF
endif

DEB_PACKAGES := build-essential cmake pkg-config ccache clang-format \
  libtorch-dev libopenblas0-openmp liblua5.4-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev \
  libzstd-dev zstd zlib1g-dev libpng-dev doctest-dev libcli11-dev nlohmann-json3-dev libfmt-dev \
  libspdlog-dev python3 python3-zmq python3-msgpack dataset-fashion-mnist

ENGRAM := $(BUILD_DIR)/bindings/cli/engram
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build demo test bench fuzz format format-check clean

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
	cmake --build $(BUILD_DIR) -j $(JOBS)

# DEMO_ARGS: e.g. DEMO_ARGS='--set iterations=500' for a shorter schedule.
DEMO_ARGS ?=
demo: build
	$(ENGRAM) run scripts/split_mnist.lua $(DEMO_ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@for b in $(BUILD_DIR)/tests/bench_*; do [ -x "$$b" ] && echo "== $$b" && "$$b"; done

# The snapshot loader under libFuzzer (clang + ASan/UBSan), seeded with valid snapshots.
FUZZ_RUNS ?= 1000000
FUZZ_DIR  := build-fuzz
fuzz: deps
	@command -v clang++ >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends clang; }
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DENGRAM_WITH_TORCH=OFF -DENGRAM_FUZZ=ON \
	  -DENGRAM_SANITIZE=address
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_snapshot snapshot_seeds
	mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_DIR)/tests/snapshot_seeds $(FUZZ_DIR)/corpus
	$(FUZZ_DIR)/tests/fuzz_snapshot -runs=$(FUZZ_RUNS) -max_len=65536 -print_final_stats=1 \
	  $(FUZZ_DIR)/corpus

FORMAT_FILES = $(shell git ls-files '*.h' '*.cc' '*.c' '*.hpp' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build build-address build-thread build-fuzz
