// The observation ring: FIFO order, refusal when full, and no loss or tearing with concurrent
// producers and a consumer (run under TSan in CI).
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/observation_ring.h"

using engram::ObservationRing;

namespace {

// Writes `value` into every float of a record.
auto constant(float value) {
  return [value](float* dst) {
    for (int i = 0; i < 3; ++i) dst[i] = value;
  };
}

}  // namespace

TEST_CASE("observation ring: FIFO order, full refusal, wrap-around") {
  ObservationRing ring(4, 3);
  CHECK(ring.available() == 0);
  for (int i = 0; i < 4; ++i) CHECK(ring.try_push(constant(static_cast<float>(i)), i, 10 + i));
  bool called = false;
  CHECK_FALSE(ring.try_push([&](float*) { called = true; }, 9, 9));
  CHECK_FALSE(called);  // a full ring does not touch the caller's data
  REQUIRE(ring.available() == 4);
  CHECK(ring.values(0)[2] == 0.0f);
  CHECK(ring.label(3) == 3);
  CHECK(ring.task(1) == 11);
  ring.pop(3);
  CHECK(ring.available() == 1);
  CHECK(ring.label(0) == 3);
  for (int i = 4; i < 7; ++i) CHECK(ring.try_push(constant(static_cast<float>(i)), i, 0));
  CHECK_FALSE(ring.try_push(constant(0), 0, 0));
  for (int i = 0; i < 4; ++i) {
    CHECK(ring.label(static_cast<size_t>(i)) == 3 + i);  // slots reused in order after the wrap
    CHECK(ring.values(static_cast<size_t>(i))[0] == static_cast<float>(3 + i));
  }
  CHECK(ring.pushed() == 7);
  CHECK(ring.popped() == 3);
}

TEST_CASE("observation ring: bad sizes are rejected") {
  CHECK_THROWS_AS(ObservationRing(0, 3), std::invalid_argument);
  CHECK_THROWS_AS(ObservationRing(3, 0), std::invalid_argument);
}

TEST_CASE("observation ring: concurrent producers lose nothing, tear nothing, keep order") {
  constexpr int kProducers = 2, kPerProducer = 20000;
  ObservationRing ring(16, 3);
  std::vector<int> refused(kProducers, 0);  // each written by its producer, read after join
  std::atomic<int> finished{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int seq = 0; seq < kPerProducer; ++seq) {
        // Values encode (producer, seq); a torn record would show mixed values. A full ring
        // refuses; the producer retries the same observation.
        const float v = static_cast<float>(p * kPerProducer + seq);
        while (!ring.try_push(constant(v), p, seq)) {
          ++refused[p];
          std::this_thread::yield();
        }
      }
      finished.fetch_add(1);
    });
  }
  std::vector<int> received(kProducers, 0), last_seq(kProducers, -1);
  bool ordered = true, intact = true;
  for (;;) {
    const bool all_done = finished.load() == kProducers;  // read before draining
    const size_t n = ring.available();
    for (size_t i = 0; i < n; ++i) {
      const int p = ring.label(i), seq = ring.task(i);
      const float* v = ring.values(i);
      const float expect = static_cast<float>(p * kPerProducer + seq);
      intact = intact && v[0] == expect && v[1] == expect && v[2] == expect;
      ordered = ordered && seq == last_seq[p] + 1;  // every accepted one, in order
      last_seq[p] = seq;
      ++received[p];
    }
    ring.pop(n);
    if (all_done && n == 0) break;
    if (n == 0) std::this_thread::yield();
  }
  for (auto& t : producers) t.join();
  CHECK(intact);
  CHECK(ordered);
  for (int p = 0; p < kProducers; ++p) CHECK(received[p] == kPerProducer);
  CHECK(ring.pushed() == static_cast<uint64_t>(kProducers) * kPerProducer);
  CHECK(ring.popped() == ring.pushed());
  MESSAGE("pushes refused while full: " << refused[0] + refused[1]);
}
