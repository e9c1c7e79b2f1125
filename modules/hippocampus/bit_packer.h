// Fixed-width unsigned fields packed back to back in a byte array.
//
// Bit order (part of the snapshot format): stream bit k is bit (k % 8) of byte k / 8, and a
// field's least significant bit comes first. A field of `bits` bits written at offset o
// occupies stream bits [o, o + bits). So item i of W bits occupies [i*W, (i+1)*W).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engram {

// Writes the low `bits` bits of value at bit offset `offset` of data; other bits unchanged.
// Preconditions: 1 <= bits <= 64 (0 is a no-op), data holds at least ceil((offset+bits)/8)
// bytes. Not synchronized.
void write_bits(uint8_t* data, size_t offset, int bits, uint64_t value);

// Reads `bits` bits at bit offset `offset` of data (0 when bits == 0). Preconditions as for
// write_bits. Thread-safe for concurrent readers.
uint64_t read_bits(const uint8_t* data, size_t offset, int bits);

// Bytes needed to hold `bits` bits.
inline size_t bytes_for_bits(size_t bits) { return (bits + 7) / 8; }

// A growable bit stream: append fields with put(), read them back anywhere with get().
// Storage is exactly bytes_for_bits(size_bits()) bytes; unused high bits of the last byte are 0.
class BitPacker {
 public:
  // Appends the low `bits` bits of value (0 <= bits <= 64; higher bits of value are ignored).
  void put(uint64_t value, int bits);
  // The field of `bits` bits at bit_offset. Precondition: bit_offset + bits <= size_bits().
  uint64_t get(size_t bit_offset, int bits) const {
    return read_bits(bytes_.data(), bit_offset, bits);
  }
  // Overwrites the field at bit_offset. Precondition: bit_offset + bits <= size_bits().
  void set(size_t bit_offset, int bits, uint64_t value) {
    write_bits(bytes_.data(), bit_offset, bits, value);
  }

  size_t size_bits() const { return size_bits_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  void clear() {
    bytes_.clear();
    size_bits_ = 0;
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t size_bits_ = 0;
};

}  // namespace engram
