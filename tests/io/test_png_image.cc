// io/reports/png_image: grayscale PNG writing (single images and grids) and decoding of any
// PNG layout to 8-bit gray, with errors (never crashes) on damaged bytes.
#include "io/reports/png_image.h"

#include <doctest/doctest.h>
#include <png.h>

#include <cmath>
#include <csetjmp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "tests/temp_dir.h"

namespace engram {
namespace {

using test::TempDir;

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void append_bytes(png_structp png, png_bytep data, size_t n) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
void no_flush(png_structp) {}

// Encodes raw PNG rows (already packed for bit_depth and color_type) with libpng directly, so
// the tests can make layouts write_png_gray never produces. Returns false on a libpng error.
// C-style frame: no C++ objects live across setjmp.
bool encode_raw(png_structp png, png_infop info, int width, int height, int color_type,
                int bit_depth, png_colorp palette, int palette_size, png_bytep* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette != nullptr) png_set_PLTE(png, info, palette, palette_size);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

std::vector<uint8_t> raw_png(int width, int height, int color_type, int bit_depth,
                             std::vector<std::vector<uint8_t>> rows,
                             std::vector<png_color> palette = {}) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  REQUIRE(png != nullptr);
  png_infop info = png_create_info_struct(png);
  REQUIRE(info != nullptr);
  png_set_write_fn(png, &out, append_bytes, no_flush);
  std::vector<png_bytep> row_ptrs;
  for (auto& r : rows) row_ptrs.push_back(r.data());
  const bool ok = encode_raw(png, info, width, height, color_type, bit_depth,
                             palette.empty() ? nullptr : palette.data(),
                             static_cast<int>(palette.size()), row_ptrs.data());
  png_destroy_write_struct(&png, &info);
  REQUIRE(ok);
  return out;
}

TEST_CASE("write_png_gray round-trips through read_png_gray") {
  TempDir dir;
  const std::string path = dir.file("img.png");
  std::vector<uint8_t> pixels(5 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 17);
  REQUIRE(write_png_gray(path, 5, 3, pixels.data()).ok());
  // Written atomically: no temporary file is left beside it.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);

  auto img = read_png_gray(path);
  REQUIRE(img.ok());
  CHECK(img->width == 5);
  CHECK(img->height == 3);
  CHECK(img->pixels == pixels);
  CHECK(img->at(4, 2) == 14 * 17);
}

TEST_CASE("encode_png_gray gives bytes decode_png_gray reads back") {
  const std::vector<uint8_t> pixels = {0, 10, 200, 255, 7, 128};
  auto png = encode_png_gray(3, 2, pixels.data());
  REQUIRE(png.ok());
  auto img = decode_png_gray(png->data(), png->size(), "mem");
  REQUIRE(img.ok());
  CHECK(img->width == 3);
  CHECK(img->height == 2);
  CHECK(img->pixels == pixels);
  auto bad = encode_png_gray(3, -2, pixels.data(), "thumbnail");
  CHECK(bad.status().code() == ErrorCode::invalid_argument);
  CHECK(bad.status().message().find("thumbnail") != std::string::npos);
}

TEST_CASE("write_image_grid_png lays tiles out with gray padding") {
  TempDir dir;
  const std::string path = dir.file("grid.png");
  // 3 images of 2x3, grid of 2 columns (so 2 grid rows), padding 1: 7x5 pixels.
  std::vector<float> images(3 * 6, 0.0f);
  images[0] = 1.0f;    // image 0, (row 0, col 0): white
  images[5] = 0.5f;    // image 0, (row 1, col 2): 127.5 rounds to 128
  images[6] = -0.5f;   // image 1, (row 0, col 0): clamped to 0
  images[7] = 1.5f;    // image 1, (row 0, col 1): clamped to 255
  images[11] = 0.2f;   // image 1, (row 1, col 2): 51
  images[12] = 0.75f;  // image 2, (row 0, col 0): 191.25 -> 191
  REQUIRE(write_image_grid_png(path, images.data(), 3, 2, 3, 2, 1).ok());

  auto img = read_png_gray(path);
  REQUIRE(img.ok());
  CHECK(img->width == 2 * 3 + 1);
  CHECK(img->height == 2 * 2 + 1);
  CHECK(img->at(0, 0) == 255);
  CHECK(img->at(1, 0) == 0);
  CHECK(img->at(2, 1) == 128);
  CHECK(img->at(3, 0) == 128);  // padding column between tiles 0 and 1
  CHECK(img->at(3, 4) == 128);
  CHECK(img->at(4, 0) == 0);  // image 1 starts at x = 3 + 1
  CHECK(img->at(5, 0) == 255);
  CHECK(img->at(6, 1) == 51);
  for (int x = 0; x < 7; ++x) CHECK(img->at(x, 2) == 128);  // padding row
  CHECK(img->at(0, 3) == 191);                              // image 2 starts at y = 2 + 1
  CHECK(img->at(1, 3) == 0);
  CHECK(img->at(4, 3) == 128);  // unused slot of the last grid row
  CHECK(img->at(6, 4) == 128);

  // No padding: tiles touch.
  REQUIRE(write_image_grid_png(path, images.data(), 3, 2, 3, 3, 0).ok());
  img = read_png_gray(path);
  REQUIRE(img.ok());
  CHECK(img->width == 9);
  CHECK(img->height == 2);
  CHECK(img->at(3, 0) == 0);
  CHECK(img->at(6, 0) == 191);
}

TEST_CASE("write_image_grid_png refuses NaN and bad arguments; nothing is written") {
  TempDir dir;
  const std::string path = dir.file("grid.png");
  std::vector<float> images(2 * 4, 0.5f);
  images[4 + 3] = std::numeric_limits<float>::quiet_NaN();
  Status st = write_image_grid_png(path, images.data(), 2, 2, 2, 2);
  CHECK(st.code() == ErrorCode::invalid_argument);
  CHECK(st.message().find("image 1") != std::string::npos);
  CHECK(st.message().find("NaN") != std::string::npos);
  CHECK(!std::filesystem::exists(path));

  CHECK(write_image_grid_png(path, images.data(), 0, 2, 2, 2).code() ==
        ErrorCode::invalid_argument);
  CHECK(write_image_grid_png(path, images.data(), 1, 2, 2, 0).code() ==
        ErrorCode::invalid_argument);
  CHECK(write_image_grid_png(path, images.data(), 1, 2, 2, 1, -1).code() ==
        ErrorCode::invalid_argument);
  CHECK(write_image_grid_png(path, nullptr, 1, 2, 2, 1).code() == ErrorCode::invalid_argument);
  CHECK(write_image_grid_png(path, images.data(), 1, 1, 100000, 1).code() ==
        ErrorCode::invalid_argument);
  CHECK(!std::filesystem::exists(path));

  const uint8_t px[1] = {0};
  CHECK(write_png_gray(path, 0, 1, px).code() == ErrorCode::invalid_argument);
  CHECK(write_png_gray(path, 1, 1, nullptr).code() == ErrorCode::invalid_argument);
  CHECK(write_png_gray("", 1, 1, px).code() == ErrorCode::invalid_argument);
}

TEST_CASE("an unwritable path is an io_error naming it") {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/grid.png");
  const uint8_t px[4] = {1, 2, 3, 4};
  Status st = write_png_gray(path, 2, 2, px);
  CHECK(st.code() == ErrorCode::io_error);
  CHECK(st.message().find(path) != std::string::npos);

  auto missing = read_png_gray(dir.file("absent.png"));
  CHECK(missing.status().code() == ErrorCode::not_found);
  CHECK(missing.status().message().find("absent.png") != std::string::npos);
}

TEST_CASE("decode_png_gray: damaged bytes are errors naming the input") {
  TempDir dir;
  const std::string path = dir.file("img.png");
  std::vector<uint8_t> pixels(16 * 16);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 37) % 251);
  REQUIRE(write_png_gray(path, 16, 16, pixels.data()).ok());
  const std::vector<uint8_t> good = file_bytes(path);
  REQUIRE(decode_png_gray(good.data(), good.size(), "entry.png").ok());

  SUBCASE("not a PNG") {
    const std::string text = "hello, this is not a png";
    auto r =
        decode_png_gray(reinterpret_cast<const uint8_t*>(text.data()), text.size(), "zip:a/b.png");
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(r.status().message().find("zip:a/b.png") != std::string::npos);
    auto empty = decode_png_gray(nullptr, 0, "empty.png");
    CHECK(empty.status().code() == ErrorCode::malformed);
    CHECK(empty.status().message().find("empty.png") != std::string::npos);
  }
  SUBCASE("truncated at every length") {
    for (size_t n = 0; n < good.size(); ++n) {
      auto r = decode_png_gray(good.data(), n, "cut.png");
      INFO("length ", n);
      REQUIRE(!r.ok());
      CHECK(r.status().code() == ErrorCode::malformed);
      CHECK(r.status().message().find("cut.png") != std::string::npos);
    }
  }
  SUBCASE("corrupt header and data") {
    std::vector<uint8_t> bad = good;
    bad[16] ^= 0xff;  // inside IHDR's width: the chunk CRC no longer matches
    auto r = decode_png_gray(bad.data(), bad.size(), "bad-ihdr.png");
    CHECK(r.status().code() == ErrorCode::malformed);
    CHECK(r.status().message().find("bad-ihdr.png") != std::string::npos);

    // Every single-byte corruption after the signature either decodes (an ancillary byte) or is
    // a malformed error; never a crash.
    int errors = 0;
    for (size_t i = 8; i < good.size(); ++i) {
      bad = good;
      bad[i] ^= 0x5a;
      auto d = decode_png_gray(bad.data(), bad.size(), "flip.png");
      if (!d.ok()) {
        ++errors;
        CHECK(d.status().code() == ErrorCode::malformed);
      }
    }
    CHECK(errors > 0);
  }
}

TEST_CASE("decode_png_gray converts 1-bit, 16-bit, palette and RGB input to 8-bit gray") {
  SUBCASE("1-bit gray") {
    // 10x2: row 0 = 1011001110, row 1 = 0000000001 (MSB first, padded).
    auto png = raw_png(10, 2, PNG_COLOR_TYPE_GRAY, 1, {{0xb3, 0x80}, {0x00, 0x40}});
    auto r = decode_png_gray(png.data(), png.size(), "bits.png");
    REQUIRE(r.ok());
    CHECK(r->width == 10);
    CHECK(r->height == 2);
    const int row0[10] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    for (int x = 0; x < 10; ++x) CHECK(r->at(x, 0) == row0[x] * 255);
    for (int x = 0; x < 9; ++x) CHECK(r->at(x, 1) == 0);
    CHECK(r->at(9, 1) == 255);
  }
  SUBCASE("2-bit gray") {
    auto png = raw_png(4, 1, PNG_COLOR_TYPE_GRAY, 2, {{0x1b}});  // 0 1 2 3
    auto r = decode_png_gray(png.data(), png.size(), "two.png");
    REQUIRE(r.ok());
    CHECK(r->pixels == std::vector<uint8_t>{0, 85, 170, 255});
  }
  SUBCASE("16-bit gray") {
    auto png = raw_png(2, 1, PNG_COLOR_TYPE_GRAY, 16, {{0xff, 0xff, 0x80, 0x00}});
    auto r = decode_png_gray(png.data(), png.size(), "deep.png");
    REQUIRE(r.ok());
    CHECK(r->at(0, 0) == 255);
    CHECK(std::abs(r->at(1, 0) - 128) <= 1);
  }
  SUBCASE("palette") {
    auto png = raw_png(3, 1, PNG_COLOR_TYPE_PALETTE, 8, {{0, 1, 2}},
                       {{0, 0, 0}, {255, 255, 255}, {100, 100, 100}});
    auto r = decode_png_gray(png.data(), png.size(), "pal.png");
    REQUIRE(r.ok());
    CHECK(r->pixels == std::vector<uint8_t>{0, 255, 100});
  }
  SUBCASE("RGB and RGBA") {
    auto png = raw_png(2, 1, PNG_COLOR_TYPE_RGB, 8, {{255, 255, 255, 255, 0, 0}});
    auto r = decode_png_gray(png.data(), png.size(), "rgb.png");
    REQUIRE(r.ok());
    CHECK(r->at(0, 0) == 255);
    CHECK(r->at(1, 0) > 30);  // pure red: dark but not black (about 54 with Rec. 709 weights)
    CHECK(r->at(1, 0) < 90);
    auto rgba = raw_png(1, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, {{10, 10, 10, 0}});
    auto a = decode_png_gray(rgba.data(), rgba.size(), "rgba.png");
    REQUIRE(a.ok());
    CHECK(a->pixels == std::vector<uint8_t>{10});  // alpha ignored
  }
}

}  // namespace
}  // namespace engram
