// The project's one JSON writer: RapidJSON's Writer (PrettyWriter when asked to indent by two
// spaces), behind a small chainable face so call sites read like the document they write. Output
// is appended to `out` as each call is made. The caller nests begin/end pairs and puts a key
// before each value in an object (RapidJSON asserts it in debug builds); `raw` inserts text that
// is already valid JSON (an embedded schema document).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace roster::wire {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, bool pretty = false);
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::wire
