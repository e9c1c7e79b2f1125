// 8-bit grayscale PNG images: writing single images and image grids (recollections, samples of
// a dataset), and reading/decoding any PNG into 8-bit gray (libpng).
//
// Decoding is safe on untrusted bytes: libpng's errors are caught (setjmp/longjmp stays inside
// this file's C-style frames) and returned as a Status naming the input; nothing aborts.
// Every function is thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// An 8-bit grayscale image, row-major, width * height bytes.
struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  uint8_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

// Encodes width x height 8-bit grayscale pixels (row-major, caller-owned, not kept) as PNG
// bytes (e.g. to embed in a report or an archive). Errors: invalid_argument (non-positive or
// too large a size, null pixels), internal for a libpng failure; `name` labels them.
Expected<std::vector<uint8_t>> encode_png_gray(int width, int height, const uint8_t* pixels,
                                               const std::string& name = "PNG image");

// Writes width x height 8-bit grayscale pixels (row-major, caller-owned, not kept) to `path` as
// a PNG, atomically (runtime/atomic_file.h: a crash leaves the old file or the new one).
// Errors: invalid_argument (non-positive or too large a size, null pixels, empty path),
// io_error naming the path when it cannot be written, internal for a libpng failure.
Status write_png_gray(const std::string& path, int width, int height, const uint8_t* pixels);

// Writes `count` images of rows x cols floats (row-major, one after another, caller-owned) as
// one grayscale PNG grid of grid_columns columns and ceil(count / grid_columns) rows, with
// `padding` pixels between neighbouring tiles (none around the border). Padding and the unused
// slots of the last grid row are mid gray (128) so tiles stay distinguishable.
// Pixel value = round(255 * clamp(v, 0, 1)): v = 0 -> 0 (black), v = 1 -> 255 (white).
// Image size: width = grid_columns * cols + (grid_columns - 1) * padding, height likewise.
// Errors: invalid_argument for count/rows/cols/grid_columns < 1, padding < 0, a null pointer,
// a grid too large, or a NaN value (naming the image index and pixel); otherwise as
// write_png_gray. Nothing is written on error.
Status write_image_grid_png(const std::string& path, const float* images, int count, int rows,
                            int cols, int grid_columns, int padding = 2);

// Decodes PNG bytes (data[0..size), caller-owned) into 8-bit gray: 1/2/4-bit gray is expanded
// to 0..255, 16-bit is reduced to 8, palette and RGB(A) are converted to gray (libpng's default
// luminance weights), alpha and transparency are ignored. `name` only labels errors (e.g. a
// zip entry or a file path). Errors: malformed naming `name` for bytes that are not a PNG,
// truncated or corrupt data; too_large for images over 16384 pixels a side.
Expected<GrayImage> decode_png_gray(const uint8_t* data, size_t size, const std::string& name);

// Reads the PNG file at `path` and decodes it as decode_png_gray does (errors name the path;
// not_found / io_error when the file cannot be read).
Expected<GrayImage> read_png_gray(const std::string& path);

}  // namespace engram
