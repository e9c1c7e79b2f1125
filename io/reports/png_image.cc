#include "io/reports/png_image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include "runtime/atomic_file.h"

namespace engram {
namespace {

// Largest side decode_png_gray accepts (a 16384^2 image is 256 MiB of gray bytes).
constexpr int kMaxDecodeSide = 16384;
// Largest side write_png_gray / write_image_grid_png produce.
constexpr int64_t kMaxWriteSide = 1 << 15;

// Why the libpng calls live in small C-style helpers: libpng reports errors by longjmp to the
// frame that called setjmp. Jumping over live C++ objects with destructors, or reading
// non-volatile locals changed after setjmp, is undefined behaviour. So the frame that calls
// setjmp (decode_rows / encode_rows) owns no C++ objects and all state it changes lives in the
// caller's frame, reached through pointers; the caller frees the libpng structures with a guard.

// Shared by the error callback and the I/O callbacks: the first error message libpng reported.
struct PngCtx {
  const uint8_t* data = nullptr;  // reading: the input bytes
  size_t size = 0;
  size_t pos = 0;
  std::vector<uint8_t>* out = nullptr;  // writing: the encoded bytes
  char error[256] = {0};
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* ctx = static_cast<PngCtx*>(png_get_error_ptr(png));
  if (ctx != nullptr && ctx->error[0] == '\0') {
    std::snprintf(ctx->error, sizeof(ctx->error), "%s", message != nullptr ? message : "error");
  }
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void read_from_memory(png_structp png, png_bytep dst, size_t length) {
  auto* ctx = static_cast<PngCtx*>(png_get_io_ptr(png));
  if (length > ctx->size - ctx->pos) png_error(png, "truncated data");
  std::memcpy(dst, ctx->data + ctx->pos, length);
  ctx->pos += length;
}

void write_to_memory(png_structp png, png_bytep src, size_t length) {
  auto* ctx = static_cast<PngCtx*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    ctx->out->insert(ctx->out->end(), src, src + length);
  } catch (const std::bad_alloc&) {
    failed = true;
  }
  if (failed) png_error(png, "out of memory");
}

void flush_memory(png_structp) {}

struct ReadGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadGuard() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

struct WriteGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteGuard() {
    if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  }
};

// Reads header and pixels into *out, converting to 8-bit gray. Returns 0 on success, 1 after a
// libpng error (message in the PngCtx), 2 when the image is larger than kMaxDecodeSide, 3 when
// the conversion did not give one byte per pixel. *rows is scratch owned by the caller.
int decode_rows(png_structp png, png_infop info, GrayImage* out, std::vector<png_bytep>* rows) {
  if (setjmp(png_jmpbuf(png))) return 1;
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  if (width > static_cast<png_uint_32>(kMaxDecodeSide) ||
      height > static_cast<png_uint_32>(kMaxDecodeSide)) {
    out->width = static_cast<int>(std::min<png_uint_32>(width, 1u << 30));
    out->height = static_cast<int>(std::min<png_uint_32>(height, 1u << 30));
    return 2;
  }
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (bit_depth == 16) png_set_strip_16(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0) png_set_strip_alpha(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE || (color_type & PNG_COLOR_MASK_COLOR) != 0) {
    png_set_rgb_to_gray(png, PNG_ERROR_ACTION_NONE, -1, -1);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 1 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != width) {
    return 3;
  }
  out->width = static_cast<int>(width);
  out->height = static_cast<int>(height);
  out->pixels.resize(static_cast<size_t>(width) * height);
  rows->resize(height);
  for (png_uint_32 y = 0; y < height; ++y) (*rows)[y] = out->pixels.data() + size_t{y} * width;
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  return 0;
}

// Encodes width x height gray bytes through the write callback. Returns false after a libpng
// error (message in the PngCtx).
bool encode_rows(png_structp png, png_infop info, int width, int height, png_bytep* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

Expected<std::vector<uint8_t>> encode_png_gray(int width, int height, const uint8_t* pixels,
                                               const std::string& name) {
  if (width < 1 || height < 1 || width > kMaxWriteSide || height > kMaxWriteSide) {
    return Status(ErrorCode::invalid_argument,
                  name + ": image size " + std::to_string(width) + "x" + std::to_string(height) +
                      " is not within 1.." + std::to_string(kMaxWriteSide) + " a side");
  }
  if (pixels == nullptr) return Status(ErrorCode::invalid_argument, name + ": null pixels");

  PngCtx ctx;
  std::vector<uint8_t> encoded;
  ctx.out = &encoded;
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    // libpng's row pointers are not const, but writing only reads them.
    rows[y] = const_cast<png_bytep>(pixels + static_cast<size_t>(y) * width);
  }
  WriteGuard guard;
  guard.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  if (guard.png == nullptr) return Status(ErrorCode::internal, name + ": libpng setup failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) return Status(ErrorCode::internal, name + ": libpng setup failed");
  png_set_write_fn(guard.png, &ctx, write_to_memory, flush_memory);
  if (!encode_rows(guard.png, guard.info, width, height, rows.data())) {
    return Status(ErrorCode::internal,
                  name + ": cannot encode PNG: " + std::string(ctx.error[0] ? ctx.error : "error"));
  }
  return encoded;
}

Status write_png_gray(const std::string& path, int width, int height, const uint8_t* pixels) {
  if (path.empty()) return Status(ErrorCode::invalid_argument, "write_png_gray: empty path");
  auto encoded = encode_png_gray(width, height, pixels, path);
  if (!encoded.ok()) return encoded.status();
  return write_file_atomically(path, encoded->data(), encoded->size());
}

Status write_image_grid_png(const std::string& path, const float* images, int count, int rows,
                            int cols, int grid_columns, int padding) {
  if (count < 1 || rows < 1 || cols < 1 || grid_columns < 1 || padding < 0) {
    return Status(ErrorCode::invalid_argument,
                  path + ": image grid needs count, rows, cols, grid_columns >= 1 and padding >= " +
                      "0, got count " + std::to_string(count) + ", rows " + std::to_string(rows) +
                      ", cols " + std::to_string(cols) + ", grid_columns " +
                      std::to_string(grid_columns) + ", padding " + std::to_string(padding));
  }
  if (images == nullptr) return Status(ErrorCode::invalid_argument, path + ": null images");
  const int64_t grid_rows = (int64_t{count} + grid_columns - 1) / grid_columns;
  const int64_t width = int64_t{grid_columns} * cols + int64_t{grid_columns - 1} * padding;
  const int64_t height = grid_rows * rows + (grid_rows - 1) * int64_t{padding};
  if (width > kMaxWriteSide || height > kMaxWriteSide) {
    return Status(ErrorCode::invalid_argument,
                  path + ": image grid of " + std::to_string(width) + "x" + std::to_string(height) +
                      " pixels exceeds " + std::to_string(kMaxWriteSide) + " a side");
  }
  std::vector<uint8_t> canvas(static_cast<size_t>(width * height), 128);
  const size_t per_image = static_cast<size_t>(rows) * cols;
  for (int i = 0; i < count; ++i) {
    const float* img = images + static_cast<size_t>(i) * per_image;
    const int64_t x0 = (i % grid_columns) * int64_t{cols + padding};
    const int64_t y0 = (i / grid_columns) * int64_t{rows + padding};
    for (int r = 0; r < rows; ++r) {
      uint8_t* dst = canvas.data() + (y0 + r) * width + x0;
      for (int c = 0; c < cols; ++c) {
        const float v = img[static_cast<size_t>(r) * cols + c];
        if (std::isnan(v)) {
          return Status(ErrorCode::invalid_argument, path + ": image " + std::to_string(i) +
                                                         " has NaN at row " + std::to_string(r) +
                                                         ", col " + std::to_string(c));
        }
        const float clamped = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
        dst[c] = static_cast<uint8_t>(std::lround(255.0f * clamped));
      }
    }
  }
  return write_png_gray(path, static_cast<int>(width), static_cast<int>(height), canvas.data());
}

Expected<GrayImage> decode_png_gray(const uint8_t* data, size_t size, const std::string& name) {
  if (data == nullptr && size > 0) return Status(ErrorCode::invalid_argument, name + ": null data");
  if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    return Status(ErrorCode::malformed, name + ": not a PNG (" +
                                            (size < 8 ? "only " + std::to_string(size) + " bytes"
                                                      : std::string("bad signature")) +
                                            ")");
  }
  PngCtx ctx;
  ctx.data = data;
  ctx.size = size;
  GrayImage image;
  std::vector<png_bytep> rows;
  ReadGuard guard;
  guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  if (guard.png == nullptr) return Status(ErrorCode::internal, name + ": libpng setup failed");
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) return Status(ErrorCode::internal, name + ": libpng setup failed");
  png_set_read_fn(guard.png, &ctx, read_from_memory);
  switch (decode_rows(guard.png, guard.info, &image, &rows)) {
    case 0: return image;
    case 1:
      return Status(ErrorCode::malformed,
                    name + ": corrupt PNG: " + std::string(ctx.error[0] ? ctx.error : "error"));
    case 2:
      return Status(ErrorCode::too_large, name + ": PNG of " + std::to_string(image.width) + "x" +
                                              std::to_string(image.height) + " exceeds " +
                                              std::to_string(kMaxDecodeSide) + " pixels a side");
    default:
      return Status(ErrorCode::malformed,
                    name + ": PNG layout cannot be converted to 8-bit grayscale");
  }
}

Expected<GrayImage> read_png_gray(const std::string& path) {
  std::string bytes;
  Status st = read_file(path, &bytes, size_t{1} << 30);
  if (!st.ok()) return st;
  return decode_png_gray(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace engram
