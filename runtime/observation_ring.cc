#include "runtime/observation_ring.h"

#include <stdexcept>

namespace engram {

ObservationRing::ObservationRing(size_t capacity, size_t values_per_record)
    : capacity_(capacity), width_(values_per_record) {
  if (capacity == 0 || values_per_record == 0) {
    throw std::invalid_argument("ObservationRing: capacity and record size must be >= 1");
  }
  values_.resize(capacity * values_per_record);
  labels_.resize(capacity);
  tasks_.resize(capacity);
}

}  // namespace engram
