// Schema rules for a version write: the API schema must be valid (OpenAPI 3.x or JSON Schema
// draft-07), must keep the service's compatibility mode with the previous versions of its
// major line, and an OpenAPI change that breaks clients needs a version bump that caret ranges
// do not cross (1.4.0 → 2.0.0, 0.3.1 → 0.4.0). Re-registering a version may not break it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "roster/governance/finding.hpp"
#include "roster/governance/json_schema.hpp"
#include "roster/governance/schema_compat.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/upstream/write_result.hpp"

namespace roster::upstream {

// `others`: the service's other versions as they will stand (registered and in the same
// write); `existing`: the version registered under the candidate's own key, if any. Refusals list
// every finding: Rejected (invalid_schema), Conflict (incompatible_schema).
Result<void, Refusal> check_schema(const wire::ServiceVersion& candidate, const std::vector<const wire::ServiceVersion*>& others,
                           const wire::ServiceVersion* existing, governance::CompatibilityMode mode);

// Every problem that makes `doc` an invalid schema of `format` (for /v1/schemas/check too).
std::vector<governance::SchemaProblem> schema_problems(wire::SchemaFormat format, const rapidjson::Value& doc);

// The format a document declares: OpenAPI when it has an "openapi" member, else JSON Schema.
wire::SchemaFormat detect_format(const rapidjson::Value& doc);

// The compatibility findings of `candidate` against `history` (oldest first) under `mode`.
std::vector<governance::Finding> compatibility_findings(governance::CompatibilityMode mode, wire::SchemaFormat format,
                                                   const std::vector<std::pair<std::string, const rapidjson::Value*>>& history,
                                                   const std::string& candidate_label, const rapidjson::Value& candidate);

}  // namespace roster::upstream
