// png_regions FILE [X Y W H]...: what a screenshot shows, for report_chromium.py.
//
// Decodes FILE (any PNG, through libpng's simplified API, as 8-bit RGB) and prints
//   image WIDTH HEIGHT DISTINCT_COLOURS
// then, for each region (clipped to the image), one line
//   region I PIXELS NONWHITE_FRACTION CHROMATIC_FRACTION DISTINCT_COLOURS
// where a pixel is non-white when any channel is below 245 and chromatic when its channels differ
// by more than 24 (a plotted series, a heatmap cell or a bar, not black/grey axes, grid or text).
// Exit 0 on success, 2 for usage errors, 1 when the file cannot be decoded.
#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace {

struct Stats {
  long pixels = 0, nonwhite = 0, chromatic = 0;
  std::set<unsigned> colours;
};

Stats measure(const std::vector<unsigned char>& rgb, int width, int height, long x0, long y0,
              long w, long h) {
  Stats s;
  const long x1 = std::min<long>(width, x0 + w), y1 = std::min<long>(height, y0 + h);
  for (long y = std::max<long>(0, y0); y < y1; ++y) {
    for (long x = std::max<long>(0, x0); x < x1; ++x) {
      const unsigned char* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
      const int lo = std::min({p[0], p[1], p[2]}), hi = std::max({p[0], p[1], p[2]});
      ++s.pixels;
      if (lo < 245) ++s.nonwhite;
      if (hi - lo > 24) ++s.chromatic;
      s.colours.insert((unsigned{p[0]} << 16) | (unsigned{p[1]} << 8) | p[2]);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (argc - 2) % 4 != 0) {
    std::fprintf(stderr, "usage: png_regions FILE [X Y W H]...\n");
    return 2;
  }
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, argv[1])) {
    std::fprintf(stderr, "png_regions: %s: %s\n", argv[1], image.message);
    return 1;
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> rgb(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr)) {
    std::fprintf(stderr, "png_regions: %s: %s\n", argv[1], image.message);
    png_image_free(&image);
    return 1;
  }
  const int width = static_cast<int>(image.width), height = static_cast<int>(image.height);
  const Stats all = measure(rgb, width, height, 0, 0, width, height);
  std::printf("image %d %d %zu\n", width, height, all.colours.size());
  for (int i = 2, region = 0; i + 3 < argc; i += 4, ++region) {
    const Stats s = measure(rgb, width, height, std::atol(argv[i]), std::atol(argv[i + 1]),
                            std::atol(argv[i + 2]), std::atol(argv[i + 3]));
    const double n = s.pixels > 0 ? static_cast<double>(s.pixels) : 1.0;
    std::printf("region %d %ld %.5f %.5f %zu\n", region, s.pixels, s.nonwhite / n, s.chromatic / n,
                s.colours.size());
  }
  return 0;
}
