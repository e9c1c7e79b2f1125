// Omniglot (Lake et al. 2015) as an ImageDataset: characters are classes, alphabets are groups
// (the tasks of "alphabets as tasks", io/datasets/scenario.h split_by_groups).
//
// Source: zips laid out as <split>/<Alphabet>/characterNN/<charid>_<drawer>.png, 105x105 1-bit
// grayscale PNGs (1 = white background, 0 = stroke), 20 drawers per character (data/omniglot
// ships the two official "small" background splits; data/omniglot/SOURCE.md).
//
// What the loader makes of them:
// - Each image is downsampled to size x size (28 by default, as papers/000) by area averaging
//   (every output pixel is the mean of the source area it covers, partial pixels weighted by
//   their overlap) and inverted like MNIST: stroke = 255 (ink), background = 0.
// - A character (Alphabet/characterNN) that appears in several zips is taken once, from the
//   first zip that holds it (the two small splits share Greek and Latin).
// - Classes are ordered by alphabet (byte order of the names), then character directory name, so
//   each alphabet's classes are contiguous; class_names, class_group and group_names describe
//   them. The class count comes from the data; more than 256 characters is an error (labels are
//   one byte).
// - Split per character by drawer (papers/000's 90/10): drawers 01..18 train, 19 and 20 test.
//   Every character must have exactly the drawings of drawers 01..20.
// - Within a split, examples are ordered by class, then drawer.
//
// No torch. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "runtime/status.h"

namespace engram {

// The zip files load_omniglot_dir reads, in this order.
const std::vector<std::string>& omniglot_zip_names();

// Drawers (01..20) of each character; the last kOmniglotTestDrawers go to the test split.
inline constexpr int kOmniglotDrawers = 20;
inline constexpr int kOmniglotTestDrawers = 2;

// Loads Omniglot from the zips of omniglot_zip_names() in `dir` (each must exist), named
// "omniglot". Errors as load_omniglot_zips, plus not_found naming a missing zip.
Expected<ImageDataset> load_omniglot_dir(const std::string& dir, int size = 28);

// Loads Omniglot from the given zips (in that order of precedence; see the top of this file),
// downsampled to size x size (1 <= size <= the source images' size; size = the source size
// keeps them as they are, only inverted). The result is named `name`, source_dir is the first
// zip's directory.
// Errors, each naming the zip and, where it applies, the entry:
//   not_found / io_error   a zip cannot be opened or read;
//   malformed              not a zip, a damaged entry (CRC, truncated), a PNG that does not
//                          decode, an entry path not of the layout above, images of different
//                          sizes, a drawer twice or missing (not exactly drawers 01..20), no
//                          character at all;
//   too_large              more than 256 characters;
//   invalid_argument       no zips, or size out of range.
Expected<ImageDataset> load_omniglot_zips(const std::vector<std::string>& zip_paths,
                                          const std::string& name = "omniglot", int size = 28);

// Area-average downsampling with inversion: src is sw x sh gray bytes (0 = stroke), dst gets
// dw x dh bytes of ink, round(mean over the covered source area of (255 - src)). Requires
// 1 <= dw <= sw and 1 <= dh <= sh (not checked). Caller-owned buffers.
void downsample_ink(const uint8_t* src, int sw, int sh, uint8_t* dst, int dw, int dh);

}  // namespace engram
