// What changed between two versions of a JSON Schema, as a changelog lists it: properties added
// and removed, required properties added and removed, types changed, at every depth reached
// through `properties` and `items`. Unlike the compatibility check (schema_compat.hpp), it
// reports changes that break nobody too: dropping an optional property from an open model is a
// change a consumer reading it wants to know about.
//   property-added (info), property-removed (warning), required-added (warning),
//   required-removed (info), type-changed (warning)
// Pointers are in the new document (in the old one for what was removed).
#pragma once

#include <rapidjson/document.h>

#include <vector>

#include "roster/governance/finding.hpp"

namespace roster::governance {

std::vector<Finding> diff_json_schema(const rapidjson::Value& before, const rapidjson::Value& after);

}  // namespace roster::governance
