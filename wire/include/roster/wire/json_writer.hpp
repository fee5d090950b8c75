// A small streaming JSON writer: correct string escaping, optional two-space indentation.
// The caller is responsible for well-formed nesting (begin/end pairs, key before each value in
// an object); `raw` inserts text that is already valid JSON (an embedded schema document).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roster::wire {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, bool pretty = false) : out_(out), pretty_(pretty) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& number(int64_t n);
  JsonWriter& unsigned_number(uint64_t n);
  JsonWriter& boolean(bool b);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);

  // Appends `s` as a quoted, escaped JSON string (no separators); usable on its own.
  static void append_escaped(std::string& out, std::string_view s);

 private:
  void before_value();
  void newline();

  std::string& out_;
  bool pretty_;
  bool after_key_ = false;
  std::vector<bool> first_in_scope_;  // one entry per open object/array
};

}  // namespace roster::wire
