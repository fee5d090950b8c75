// Reading another system's export (Eureka, Consul, Kubernetes) for the importers, with the JSON
// path of everything read: a missing required field or one of the wrong type is recorded as an
// Error naming its path (`applications.application[2].instance[0].port.$`), and reading goes on
// so that every problem in the file is reported at once. Fields nobody reads are ignored: each of
// those systems adds fields from release to release.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::cli::importing {

using Value = rapidjson::Value;

// The JSON values of a file in order: one, or several one after another separated by whitespace
// (`curl .../a; curl .../b > file`). Invalid JSON is an error naming its line and column.
Result<std::vector<rapidjson::Document>> parse_json_values(std::string_view text);

// `path.key` (`key` alone at the top), or `path["key"]` for a key that is not a plain name (a
// label like app.kubernetes.io/name); `path[index]`.
std::string member_path(std::string_view path, std::string_view key);
std::string index_path(std::string_view path, size_t index);

// JSON's name for a value's type, for messages ("expected integer, got string").
std::string_view type_name(const Value& v);

// The reader of one file: it keeps every problem found, for ImportedRegistry::finish to report.
class Fields {
 public:
  void error(std::string where, std::string message);
  size_t error_count() const { return errors_.size(); }
  std::vector<Error> take_errors() { return std::move(errors_); }

  // The member `key` of `parent` (itself at `path`) when present with the type; else nullptr,
  // after recording an error when it is required or has another type. JSON null counts as absent.
  const Value* object(const Value& parent, std::string_view path, std::string_view key, bool required);
  const Value* array(const Value& parent, std::string_view path, std::string_view key, bool required);
  std::optional<std::string> string(const Value& parent, std::string_view path, std::string_view key, bool required);
  std::optional<bool> boolean(const Value& parent, std::string_view path, std::string_view key, bool required);
  std::optional<int64_t> integer(const Value& parent, std::string_view path, std::string_view key, bool required);
  // A port, 1-65535.
  std::optional<int64_t> port(const Value& parent, std::string_view path, std::string_view key, bool required);
  // An object of string values (labels, metadata): each value not a string is an error; keys
  // starting with '@' are serialisation notes (Eureka's "@class"), not data, and are skipped.
  std::map<std::string, std::string> string_map(const Value& parent, std::string_view path, std::string_view key);
  // An array of strings (tags).
  std::vector<std::string> strings(const Value& parent, std::string_view path, std::string_view key);
  // A value that must be an object (an array's element); false after recording an error.
  bool expect_object(const Value& v, std::string_view path);

 private:
  const Value* member(const Value& parent, std::string_view path, std::string_view key, bool required);
  void wrong_type(std::string_view path, std::string_view expected, const Value& got);

  std::vector<Error> errors_;
};

}  // namespace roster::cli::importing
