// Consumer contracts in Pact specification v2, verified statically against the provider's OpenAPI 3.x document:
// no provider is called. Each interaction must name a documented operation, send only documented query
// parameters and every required query, header and cookie parameter, expect a documented status, send a request
// body the documented schema accepts, and read only what the response schema documents: every field of the
// example response body must be documented there with a compatible type (a subset check, as bi-directional
// contract testing does: a consumer need not read every field, and its example values matter only by type).
// A response's `matchingRules` sharpen those types ("$.body.id": integer, decimal, regex, include, type, min, max).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "roster/base/result.hpp"
#include "roster/governance/finding.hpp"
#include "roster/governance/json_schema.hpp"

namespace roster::governance {

using PactHeaders = std::vector<std::pair<std::string, std::string>>;  // in the pact's order

struct PactRequest {
  std::string method;  // upper-case
  std::string path;
  std::string query;  // v2's form, "a=1&b=2", as written; "" when absent
  PactHeaders headers;
  std::optional<std::string> body;  // compact JSON; nullopt when absent or null (no body expected)
};

struct PactResponse {
  int status = 0;
  PactHeaders headers;
  std::optional<std::string> body;
  std::map<std::string, std::string> matching_rules;  // "$.body.a[*].b" -> its kind ("type", "regex", "integer", ...)
};

struct PactInteraction {
  std::string description;
  std::string provider_state;  // "" when none
  PactRequest request;
  PactResponse response;
  std::string pointer;  // where it sits in the pact document ("/interactions/2"), for findings
};

struct Pact {
  std::string consumer, provider;
  std::string specification;  // metadata.pactSpecification.version; "" when the pact does not say
  std::vector<PactInteraction> interactions;
};

// Reads a Pact v2 (or v1) document: the pact, or every problem (not only the first), each with its JSON Pointer in
// the pact document. A pact naming another specification major version is a problem.
Result<Pact, std::vector<SchemaProblem>> parse_pact(const rapidjson::Value& document);

struct ContractVerification {
  std::vector<Finding> failures;  // Breaking; method/path are the pact request's, pointer is in the pact
  size_t interactions_checked = 0;
  bool ok() const { return failures.empty(); }
};

// Verifies every interaction of `pact` against `openapi` (a structurally valid OpenAPI 3.x document). Failure ids:
// operation-not-found, query-parameter-undocumented, required-query-parameter-missing, required-header-missing,
// required-cookie-missing, request-body-undocumented, request-body-missing, request-media-type-undocumented,
// request-body-invalid, status-undocumented, response-body-undocumented, response-media-type-undocumented,
// response-field-undocumented, response-field-type-mismatch, schema-uncompilable.
ContractVerification verify_pact(const Pact& pact, const rapidjson::Value& openapi);

}  // namespace roster::governance
