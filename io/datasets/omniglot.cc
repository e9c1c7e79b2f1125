#include "io/datasets/omniglot.h"

#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>

#include "io/reports/png_image.h"

namespace engram {
namespace {

// A PNG entry larger than this is not an Omniglot drawing (they are about 300 bytes).
constexpr zip_uint64_t kMaxEntryBytes = 16u << 20;

Status make_status(ErrorCode code, const std::string& where, const std::string& what) {
  return Status(code, where + ": " + what);
}

// Owns an open archive; read-only, so closing discards nothing of value.
class ZipReader {
 public:
  ZipReader() = default;
  ~ZipReader() {
    if (zip_ != nullptr) zip_discard(zip_);
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  Status open(const std::string& path) {
    int code = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (zip_ != nullptr) return Status();
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    const std::string reason = zip_error_strerror(&err);
    zip_error_fini(&err);
    ErrorCode ec = ErrorCode::malformed;  // ZIP_ER_NOZIP, ZIP_ER_INCONS, ...
    if (code == ZIP_ER_NOENT) ec = ErrorCode::not_found;
    if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_SEEK) ec = ErrorCode::io_error;
    if (code == ZIP_ER_MEMORY) ec = ErrorCode::internal;
    return make_status(ec, path, "cannot open zip: " + reason);
  }

  zip_t* get() const { return zip_; }

 private:
  zip_t* zip_ = nullptr;
};

// Reads entry `index` completely, verifying its CRC (libzip checks it once the entry is read
// to its end). `where` names the entry in errors.
Status read_entry(zip_t* za, zip_uint64_t index, const std::string& where,
                  std::vector<uint8_t>* out) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, index, 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
    return make_status(ErrorCode::malformed, where,
                       std::string("cannot stat entry: ") + zip_strerror(za));
  }
  if (st.size > kMaxEntryBytes) {
    return make_status(
        ErrorCode::too_large, where,
        "entry of " + std::to_string(st.size) + " bytes exceeds " + std::to_string(kMaxEntryBytes));
  }
  zip_file_t* zf = zip_fopen_index(za, index, 0);
  if (zf == nullptr) {
    return make_status(ErrorCode::malformed, where,
                       std::string("cannot open entry: ") + zip_strerror(za));
  }
  // One byte of room past the declared size: reading must end exactly there.
  out->resize(static_cast<size_t>(st.size) + 1);
  size_t got = 0;
  Status status;
  for (;;) {
    const zip_int64_t n = zip_fread(zf, out->data() + got, out->size() - got);
    if (n < 0) {
      status = make_status(ErrorCode::malformed, where,
                           std::string("damaged entry: ") + zip_file_strerror(zf));
      break;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got > st.size) {
      status = make_status(ErrorCode::malformed, where, "entry is longer than its declared size");
      break;
    }
  }
  const int close_code = zip_fclose(zf);
  if (!status.ok()) return status;
  if (close_code != 0) {
    zip_error_t err;
    zip_error_init_with_code(&err, close_code);
    status = make_status(ErrorCode::malformed, where,
                         std::string("damaged entry: ") + zip_error_strerror(&err));
    zip_error_fini(&err);
    return status;
  }
  if (got != st.size) {
    return make_status(ErrorCode::malformed, where,
                       "entry holds " + std::to_string(got) + " bytes, not the declared " +
                           std::to_string(st.size));
  }
  out->resize(got);
  return Status();
}

// <split>/<Alphabet>/<character>/<charid>_<drawer>.png -> alphabet, character, drawer (1-based).
bool parse_entry_name(const std::string& name, std::string* alphabet, std::string* character,
                      int* drawer) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t slash = name.find('/', start);
    parts.push_back(name.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 4) return false;
  for (const auto& p : parts) {
    if (p.empty() || p == "." || p == "..") return false;
  }
  const std::string& file = parts[3];
  const size_t underscore = file.rfind('_');
  const size_t dot = file.size() - 4;  // caller checked the ".png" suffix
  if (underscore == std::string::npos || underscore + 1 >= dot || dot - underscore - 1 > 3) {
    return false;
  }
  int d = 0;
  for (size_t i = underscore + 1; i < dot; ++i) {
    if (file[i] < '0' || file[i] > '9') return false;
    d = d * 10 + (file[i] - '0');
  }
  *alphabet = parts[1];
  *character = parts[2];
  *drawer = d;
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string two_digits(int d) { return (d < 10 ? "0" : "") + std::to_string(d); }

struct Character {
  size_t zip = 0;                                               // index of the zip it is taken from
  std::array<std::vector<uint8_t>, kOmniglotDrawers> drawings;  // downsampled ink, by drawer
};

}  // namespace

const std::vector<std::string>& omniglot_zip_names() {
  static const std::vector<std::string> kNames = {"images_background_small1.zip",
                                                  "images_background_small2.zip"};
  return kNames;
}

void downsample_ink(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh) {
  // Per axis, output o covers source [o * scale, (o + 1) * scale); each source pixel s in that
  // range weighs its overlap / scale, so the weights of one output sum to 1.
  struct Taps {
    int first = 0;
    std::vector<double> w;
  };
  auto axis = [](int src_n, int dst_n) {
    std::vector<Taps> taps(static_cast<size_t>(dst_n));
    const double scale = static_cast<double>(src_n) / dst_n;
    for (int o = 0; o < dst_n; ++o) {
      const double lo = o * scale;
      const double hi = std::min<double>(src_n, (o + 1) * scale);
      Taps& t = taps[static_cast<size_t>(o)];
      t.first = static_cast<int>(std::floor(lo));
      for (int s = t.first; s < src_n && s < hi; ++s) {
        const double overlap = std::min<double>(s + 1, hi) - std::max<double>(s, lo);
        t.w.push_back(overlap > 0 ? overlap / scale : 0.0);
      }
    }
    return taps;
  };
  const std::vector<Taps> tx = axis(sw, dw);
  const std::vector<Taps> ty = axis(sh, dh);
  for (int oy = 0; oy < dh; ++oy) {
    const Taps& y = ty[static_cast<size_t>(oy)];
    for (int ox = 0; ox < dw; ++ox) {
      const Taps& x = tx[static_cast<size_t>(ox)];
      double sum = 0.0;
      for (size_t j = 0; j < y.w.size(); ++j) {
        const uint8_t* row = src + static_cast<size_t>(y.first + static_cast<int>(j)) * sw;
        double row_sum = 0.0;
        for (size_t i = 0; i < x.w.size(); ++i) {
          row_sum += x.w[i] * (255 - row[x.first + static_cast<int>(i)]);
        }
        sum += y.w[j] * row_sum;
      }
      dst[static_cast<size_t>(oy) * dw + ox] =
          static_cast<uint8_t>(std::lround(std::min(255.0, std::max(0.0, sum))));
    }
  }
}

Expected<ImageDataset> load_omniglot_zips(const std::vector<std::string>& zip_paths,
                                          const std::string& name, int size) {
  if (zip_paths.empty()) {
    return Status(ErrorCode::invalid_argument, name + ": no zip files given");
  }
  if (size < 1) {
    return Status(ErrorCode::invalid_argument,
                  name + ": image size must be >= 1, got " + std::to_string(size));
  }
  // (alphabet, character) -> drawings; std::map orders classes as the header promises.
  std::map<std::pair<std::string, std::string>, Character> characters;
  int src_w = 0, src_h = 0;
  std::string first_entry;  // names the entry that fixed src_w x src_h, for errors
  std::vector<uint8_t> bytes;
  for (size_t z = 0; z < zip_paths.size(); ++z) {
    const std::string& zip_path = zip_paths[z];
    ZipReader zip;
    Status st = zip.open(zip_path);
    if (!st.ok()) return st;
    const zip_int64_t n = zip_get_num_entries(zip.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const zip_uint64_t index = static_cast<zip_uint64_t>(i);
      const char* raw_name = zip_get_name(zip.get(), index, ZIP_FL_ENC_GUESS);
      if (raw_name == nullptr) {
        return make_status(
            ErrorCode::malformed, zip_path,
            "entry " + std::to_string(i) + " has no name: " + zip_strerror(zip.get()));
      }
      const std::string entry = raw_name;
      const std::string where = zip_path + ":" + entry;
      if (!ends_with(entry, ".png")) continue;  // directories and other files
      std::string alphabet, character;
      int drawer = 0;
      if (!parse_entry_name(entry, &alphabet, &character, &drawer)) {
        return make_status(ErrorCode::malformed, where,
                           "not of the form <split>/<Alphabet>/<character>/<id>_<drawer>.png");
      }
      if (drawer < 1 || drawer > kOmniglotDrawers) {
        return make_status(ErrorCode::malformed, where,
                           "drawer " + std::to_string(drawer) + " is not in 01.." +
                               std::to_string(kOmniglotDrawers));
      }
      auto it = characters.find({alphabet, character});
      if (it == characters.end()) {
        it = characters.emplace(std::make_pair(alphabet, character), Character{}).first;
        it->second.zip = z;
      } else if (it->second.zip != z) {
        continue;  // taken from an earlier zip
      }
      std::vector<uint8_t>& ink = it->second.drawings[static_cast<size_t>(drawer - 1)];
      if (!ink.empty()) {
        return make_status(ErrorCode::malformed, where,
                           "a second drawing of " + alphabet + "/" + character + " by drawer " +
                               two_digits(drawer));
      }
      st = read_entry(zip.get(), index, where, &bytes);
      if (!st.ok()) return st;
      auto img = decode_png_gray(bytes.data(), bytes.size(), where);
      if (!img.ok()) return img.status();
      if (first_entry.empty()) {
        if (img->width < size || img->height < size) {
          return Status(ErrorCode::invalid_argument,
                        where + ": images of " + std::to_string(img->width) + "x" +
                            std::to_string(img->height) + " cannot be downsampled to " +
                            std::to_string(size) + "x" + std::to_string(size));
        }
        src_w = img->width;
        src_h = img->height;
        first_entry = where;
      } else if (img->width != src_w || img->height != src_h) {
        return make_status(ErrorCode::malformed, where,
                           "image is " + std::to_string(img->width) + "x" +
                               std::to_string(img->height) + " but " + first_entry + " is " +
                               std::to_string(src_w) + "x" + std::to_string(src_h));
      }
      ink.resize(static_cast<size_t>(size) * size);
      downsample_ink(img->pixels.data(), src_w, src_h, ink.data(), size, size);
    }
  }
  if (characters.empty()) {
    return make_status(ErrorCode::malformed, zip_paths[0],
                       "no Omniglot drawings (<split>/<Alphabet>/<character>/<id>_<drawer>.png)");
  }
  if (characters.size() > 256) {
    return Status(ErrorCode::too_large,
                  name + ": " + std::to_string(characters.size()) +
                      " characters, but labels are one byte (at most 256 classes)");
  }

  ImageDataset ds;
  ds.name = name;
  ds.source_dir = dir_of(zip_paths[0]);
  ds.rows = size;
  ds.cols = size;
  ds.num_classes = static_cast<int>(characters.size());
  const size_t pixels = static_cast<size_t>(size) * size;
  const size_t train_drawers = kOmniglotDrawers - kOmniglotTestDrawers;
  ds.train_x.reserve(characters.size() * train_drawers * pixels);
  ds.test_x.reserve(characters.size() * kOmniglotTestDrawers * pixels);
  int label = 0;
  for (const auto& [key, ch] : characters) {
    for (size_t d = 0; d < ch.drawings.size(); ++d) {
      if (ch.drawings[d].empty()) {
        int found = 0;
        for (const auto& dr : ch.drawings) found += dr.empty() ? 0 : 1;
        return make_status(ErrorCode::malformed, zip_paths[ch.zip],
                           key.first + "/" + key.second + " has no drawing by drawer " +
                               two_digits(static_cast<int>(d) + 1) + " (" + std::to_string(found) +
                               " of " + std::to_string(kOmniglotDrawers) + " drawings)");
      }
      const bool train = d < train_drawers;
      auto& x = train ? ds.train_x : ds.test_x;
      x.insert(x.end(), ch.drawings[d].begin(), ch.drawings[d].end());
      (train ? ds.train_y : ds.test_y).push_back(static_cast<uint8_t>(label));
    }
    if (ds.group_names.empty() || ds.group_names.back() != key.first) {
      ds.group_names.push_back(key.first);
    }
    ds.class_names.push_back(key.first + "/" + key.second);
    ds.class_group.push_back(static_cast<int>(ds.group_names.size()) - 1);
    ++label;
  }
  return ds;
}

Expected<ImageDataset> load_omniglot_dir(const std::string& dir, int size) {
  std::vector<std::string> paths;
  for (const auto& f : omniglot_zip_names()) {
    const std::string path = dir + "/" + f;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Status(ErrorCode::not_found, dir + ": omniglot is incomplete: " + f + " is missing");
    }
    paths.push_back(path);
  }
  return load_omniglot_zips(paths, "omniglot", size);
}

}  // namespace engram
