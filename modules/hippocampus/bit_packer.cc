#include "modules/hippocampus/bit_packer.h"

namespace engram {

void write_bits(uint8_t* data, size_t offset, int bits, uint64_t value) {
  if (bits <= 0) return;
  if (bits < 64) value &= (uint64_t{1} << bits) - 1;
  size_t byte = offset / 8;
  int shift = static_cast<int>(offset % 8);
  int left = bits;
  while (left > 0) {
    const int n = left < 8 - shift ? left : 8 - shift;
    const unsigned mask = ((1u << n) - 1u) << shift;
    data[byte] = static_cast<uint8_t>((data[byte] & ~mask) |
                                      ((static_cast<unsigned>(value) << shift) & mask));
    value >>= n;
    left -= n;
    shift = 0;
    ++byte;
  }
}

uint64_t read_bits(const uint8_t* data, size_t offset, int bits) {
  if (bits <= 0) return 0;
  size_t byte = offset / 8;
  int shift = static_cast<int>(offset % 8);
  uint64_t value = 0;
  int done = 0;
  while (done < bits) {
    const int n = bits - done < 8 - shift ? bits - done : 8 - shift;
    const uint64_t part = (static_cast<unsigned>(data[byte]) >> shift) & ((1u << n) - 1u);
    value |= part << done;
    done += n;
    shift = 0;
    ++byte;
  }
  return value;
}

void BitPacker::put(uint64_t value, int bits) {
  if (bits <= 0) return;
  bytes_.resize(bytes_for_bits(size_bits_ + static_cast<size_t>(bits)), 0);
  write_bits(bytes_.data(), size_bits_, bits, value);
  size_bits_ += static_cast<size_t>(bits);
}

}  // namespace engram
