// Comparing secrets (tokens) without leaking where they differ through timing.
#pragma once

#include <algorithm>
#include <string_view>

namespace roster::base {

// Walks the longer of the two whatever the contents, so timing does not reveal a prefix.
inline bool constant_time_equals(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace roster::base
