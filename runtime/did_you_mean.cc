#include "runtime/did_you_mean.h"

#include <algorithm>

namespace engram {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string closest;
  size_t best = 3;  // suggest only names within two edits
  for (const std::string& name : known) {
    const size_t d = edit_distance(key, name);
    if (d < best) best = d, closest = name;
  }
  return closest.empty() ? "" : " (did you mean '" + closest + "'?)";
}

}  // namespace engram
