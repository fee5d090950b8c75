// "Did you mean": the candidate nearest to a mistyped name, for error messages.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace roster {

inline size_t edit_distance(std::string_view a, std::string_view b) {
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

// The candidate fewest edits from `typed`, if it is nearer than about half of `typed` (at least
// two edits: "listen_adress" → "listen", "lifecyle" → "lifecycle"); empty otherwise.
inline std::string nearest(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, (typed.size() + 3) / 2);
  for (const std::string& c : candidates)
    if (const size_t d = edit_distance(typed, c); d < best_distance) {
      best_distance = d;
      best = c;
    }
  return best;
}

}  // namespace roster
