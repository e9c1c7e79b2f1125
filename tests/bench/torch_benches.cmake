# Benchmarks that need LibTorch (included by torch_tests.cmake). They print figures and assert
# nothing about time; run with `make bench`.
engram_bench(NAME bench_learning SOURCES bench/bench_learning.cc LIBS engram_modules CLI11::CLI11)
engram_bench(NAME bench_snapshot SOURCES bench/bench_snapshot.cc LIBS engram_modules)
engram_bench(NAME bench_ingest SOURCES bench/bench_ingest.cc LIBS engram_sensors engram_c CLI11::CLI11)
engram_bench(NAME bench_predict SOURCES bench/bench_predict.cc LIBS engram_modules CLI11::CLI11)
engram_bench(NAME bench_soak SOURCES bench/bench_soak.cc LIBS engram_modules CLI11::CLI11)
# Adam step, fused vs torch::optim::Adam, on the recollections run's two networks.
engram_bench(NAME bench_adam SOURCES bench/bench_adam.cc LIBS engram_modules CLI11::CLI11)
