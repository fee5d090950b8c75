#include "roster/wire/json_writer.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/writer.h>

#include <optional>

namespace roster::wire {

namespace {

// RapidJSON output stream that appends to the caller's string.
struct Appender {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

}  // namespace

struct JsonWriter::Impl {
  Appender out;
  std::optional<rapidjson::Writer<Appender>> compact;
  std::optional<rapidjson::PrettyWriter<Appender>> pretty;

  template <typename Fn>
  void write(Fn&& fn) {
    if (pretty)
      fn(*pretty);
    else
      fn(*compact);
  }
};

JsonWriter::JsonWriter(std::string& out, bool pretty) : impl_(std::make_unique<Impl>()) {
  impl_->out.out = &out;
  if (pretty) {
    impl_->pretty.emplace(impl_->out);
    impl_->pretty->SetIndent(' ', 2);
  } else {
    impl_->compact.emplace(impl_->out);
  }
}

JsonWriter::~JsonWriter() = default;

JsonWriter& JsonWriter::begin_object() {
  impl_->write([](auto& w) { w.StartObject(); });
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  impl_->write([](auto& w) { w.EndObject(); });
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  impl_->write([](auto& w) { w.StartArray(); });
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  impl_->write([](auto& w) { w.EndArray(); });
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  impl_->write([&](auto& w) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); });
  return *this;
}
JsonWriter& JsonWriter::string(std::string_view s) {
  impl_->write([&](auto& w) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); });
  return *this;
}
JsonWriter& JsonWriter::number(int64_t n) {
  impl_->write([&](auto& w) { w.Int64(n); });
  return *this;
}
JsonWriter& JsonWriter::unsigned_number(uint64_t n) {
  impl_->write([&](auto& w) { w.Uint64(n); });
  return *this;
}
JsonWriter& JsonWriter::boolean(bool b) {
  impl_->write([&](auto& w) { w.Bool(b); });
  return *this;
}
JsonWriter& JsonWriter::null() {
  impl_->write([](auto& w) { w.Null(); });
  return *this;
}
JsonWriter& JsonWriter::raw(std::string_view json) {
  // The type only tells RapidJSON that a value (not a key) was written here.
  impl_->write([&](auto& w) { w.RawValue(json.data(), json.size(), rapidjson::kObjectType); });
  return *this;
}

}  // namespace roster::wire
