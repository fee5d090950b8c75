// JSON Schema (draft-07) through valijson: checking that a document is a valid schema, and
// validating instances against a compiled schema. Local "$ref"s resolve against the document
// the schema lives in, so a schema inside an OpenAPI document can use "#/components/schemas/X".
// Remote references are never fetched (each is a problem), nor are references relative to an "$id".
// OpenAPI's schema dialect is honoured: "nullable": true adds "null" to an explicit "type", and in an
// OpenAPI 3.0 document the boolean exclusiveMinimum/exclusiveMaximum of draft-04 apply. "format"
// asserts date, time and date-time (RFC 3339); other formats are annotations.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "roster/base/result.hpp"

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

// A schema compiled once and used to validate many instances, from any number of threads.
class CompiledSchema {
 public:
  // Compiles the schema found at JSON Pointer `pointer` inside `root` ("" = root itself), with every
  // schema its "$ref"s reach; `root` is not needed afterwards. Fails with
  //  - {Rejected, "invalid_schema"} when any of them has a problem check_json_schema reports (or that
  //    valijson refuses): the first problem's message, `where` its pointer in `root`;
  //  - {Invalid, "invalid_pointer"} when `pointer` is not a JSON Pointer;
  //  - {NotFound, "schema_not_found"} when nothing is there;
  //  - {Unavailable, "no_compile_thread"} when no thread can be started to compile on.
  static Result<CompiledSchema> compile(const rapidjson::Value& root, std::string_view pointer = "");
  ~CompiledSchema();
  CompiledSchema(CompiledSchema&&) noexcept;
  CompiledSchema& operator=(CompiledSchema&&) noexcept;

  // Every way `instance` fails the schema, each with a JSON Pointer into the instance. An instance
  // nested more than 128 deep is refused with one problem rather than validated.
  std::vector<SchemaProblem> validate(const rapidjson::Value& instance) const;

 private:
  struct Impl;
  explicit CompiledSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::governance
