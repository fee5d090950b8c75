// JSON Schema (draft-07) through valijson: checking that a document is a valid schema, and
// validating instances against a compiled schema. Local "$ref"s resolve against the document
// the schema lives in, so a schema inside an OpenAPI document can use "#/components/schemas/X".
// Remote references are never fetched (each is a problem), nor are references relative to an "$id".
// OpenAPI's schema dialect is honoured: "nullable": true adds "null" to an explicit "type", and in an
// OpenAPI 3.0 document the boolean exclusiveMinimum/exclusiveMaximum of draft-04 apply. "format"
// asserts date, time and date-time (RFC 3339); other formats are annotations.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace roster::governance {

// A problem found in a schema or an instance: where (a JSON Pointer) and what.
struct SchemaProblem {
  std::string pointer;
  std::string message;
  bool operator==(const SchemaProblem&) const = default;
};

// Every way `schema` fails the draft-07 metaschema, plus "$ref"s that do not resolve inside
// `root` (the schema's enclosing document; pass the schema itself for a standalone one), and what
// roster cannot use: a regex std::regex refuses, a loop of schemas applied to the same value.
// Pointers are the problem's path inside `schema`, prefixed by `base_pointer` (pass where the
// schema sits in `root`, so that they locate it there). Schemas that the "$ref"s reach elsewhere in
// `root` are checked where they are, not here. Empty = a valid schema.
std::vector<SchemaProblem> check_json_schema(const rapidjson::Value& root, const rapidjson::Value& schema,
                                             std::string_view base_pointer = "");

struct SchemaCompileError : std::runtime_error {
  SchemaCompileError(std::string pointer, const std::string& message)
      : std::runtime_error(message), pointer(std::move(pointer)) {}
  std::string pointer;
};

// A schema compiled once and used to validate many instances, from any number of threads.
class CompiledSchema {
 public:
  // Compiles the schema found at JSON Pointer `pointer` inside `root` ("" = root itself), with every
  // schema its "$ref"s reach; `root` is not needed afterwards. Throws SchemaCompileError, with the
  // pointer (in `root`) of the first problem, when any of them has a problem check_json_schema reports.
  CompiledSchema(const rapidjson::Value& root, std::string_view pointer = "");
  ~CompiledSchema();
  CompiledSchema(CompiledSchema&&) noexcept;
  CompiledSchema& operator=(CompiledSchema&&) noexcept;

  // Every way `instance` fails the schema, each with a JSON Pointer into the instance. An instance
  // nested more than 128 deep is refused with one problem rather than validated.
  std::vector<SchemaProblem> validate(const rapidjson::Value& instance) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::governance
