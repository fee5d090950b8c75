// Where a byte offset lies in a text, for error messages about JSON and other text inputs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace roster::base {

// "line L, column C" of `offset` in `text` (both counted from 1).
inline std::string text_position(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace roster::base
