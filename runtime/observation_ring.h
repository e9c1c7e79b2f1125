// A bounded queue of labelled observations between a host's threads and a learning thread.
// All memory is allocated at construction: pushing never allocates and never waits for room
// (a full ring refuses the observation), and the consumer never blocks a producer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace engram {

class ObservationRing {
 public:
  // Room for `capacity` observations of `values_per_record` floats each (both >= 1).
  ObservationRing(size_t capacity, size_t values_per_record);

  size_t capacity() const { return capacity_; }
  size_t values_per_record() const { return width_; }

  // Producer side, any thread (producers take turns on a mutex the consumer never takes).
  // Calls fill(float* values) to write the observation's values_per_record() floats straight
  // into its slot, then publishes it with `label` and `task`. Returns false, without calling
  // fill, when the ring is full.
  template <typename Fill>
  bool try_push(Fill&& fill, int32_t label, int32_t task) {
    std::lock_guard<std::mutex> lock(producer_mutex_);
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) >= capacity_) return false;
    const size_t slot = static_cast<size_t>(head % capacity_);
    fill(values_.data() + slot * width_);
    labels_[slot] = label;
    tasks_[slot] = task;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: one thread only. Observations ready to read, oldest first.
  size_t available() const {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) -
                               tail_.load(std::memory_order_relaxed));
  }
  // The i-th oldest unread observation; i < available().
  const float* values(size_t i) const { return values_.data() + slot(i) * width_; }
  int32_t label(size_t i) const { return labels_[slot(i)]; }
  int32_t task(size_t i) const { return tasks_[slot(i)]; }
  // Releases the n oldest observations (n <= available()) for producers to reuse.
  void pop(size_t n) {
    tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  // Observations ever pushed / ever popped (any thread; a snapshot of moving counts).
  uint64_t pushed() const { return head_.load(std::memory_order_acquire); }
  uint64_t popped() const { return tail_.load(std::memory_order_acquire); }

 private:
  size_t slot(size_t i) const {
    return static_cast<size_t>((tail_.load(std::memory_order_relaxed) + i) % capacity_);
  }

  const size_t capacity_, width_;
  std::vector<float> values_;
  std::vector<int32_t> labels_, tasks_;
  std::mutex producer_mutex_;
  std::atomic<uint64_t> head_{0};  // next slot to write (count of pushes)
  std::atomic<uint64_t> tail_{0};  // next slot to read (count of pops)
};

}  // namespace engram
