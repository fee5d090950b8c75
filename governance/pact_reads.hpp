// What a consumer reads of a response, checked as a subset of what the provider documents (the
// way bi-directional contract tests compare a pact with an OpenAPI document): every field of the
// pact's example body must be documented by the response schema with a compatible type, at every
// depth; fields the provider documents and the pact leaves out are fine (a consumer need not read
// all of them), and the example's values matter only by type. Matching rules ("$.body.a[*].b")
// sharpen the type a field must have: integer, decimal, regex and include (a string), type, min
// and max. Private to governance/ (pact.cpp).
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

namespace roster::governance {

struct ReadProblem {
  std::string id;       // response-field-undocumented, response-field-type-mismatch
  std::string pointer;  // in the example body
  std::string message;  // what the consumer reads and what the schema says
};

// `schema` lies in `openapi` (its $refs resolve there); `rules` maps a matching rule's path to
// its kind ("type", "regex", "include", "integer", "decimal", ...).
std::vector<ReadProblem> check_reads(const rapidjson::Value& openapi, const rapidjson::Value& schema,
                                     const rapidjson::Value& example, const std::map<std::string, std::string>& rules);

}  // namespace roster::governance
