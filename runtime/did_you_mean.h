// Suggestions for a misspelled name (an option, a setting): the known name within two edits.
#pragma once

#include <string>
#include <vector>

namespace engram {

// Edit distance (insertions, deletions, substitutions) between a and b.
size_t edit_distance(const std::string& a, const std::string& b);

// " (did you mean 'NAME'?)" for the known name closest to `key` within two edits (the first
// such on ties), "" when none is that close.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& known);

}  // namespace engram
