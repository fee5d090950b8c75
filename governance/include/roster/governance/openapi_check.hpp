// Structural checks of an OpenAPI 3.0 / 3.1 document: what registration refuses as an invalid schema.
#pragma once

#include <vector>

#include <rapidjson/document.h>

#include "roster/governance/json_schema.hpp"

namespace roster::governance {

// Every structural problem in `doc`, each with the JSON Pointer of where it is (for a missing member, where that
// member belongs). Empty = a valid document. Checked:
//  - "openapi" is "3.0.x" or "3.1.x"; "info" has string "title" and "version";
//  - "paths" (required in 3.0; 3.1 may have "webhooks" or "components" instead) has keys starting with "/";
//  - operations are objects; "responses" (required in 3.0) is a non-empty object keyed by 100-599, 1XX-5XX or
//    "default", each response with a "description"; a "requestBody" has "content";
//  - parameters have a "name" and an "in" of query/header/path/cookie, schema or content (not both), path parameters
//    "required": true, no (name, in) twice in one list, and path parameters match the path's {templates} both ways;
//  - "operationId"s are unique across the document (paths, webhooks and callbacks);
//  - every "$ref" outside schemas resolves inside the document (remote references are problems: never fetched);
//  - every schema (parameters, headers, media types, components/schemas) passes check_json_schema with `doc` as
//    its root. OpenAPI 3.1 schemas (JSON Schema 2020-12) are read with draft-07 semantics: keywords draft-07 lacks
//    ("prefixItems", "dependentRequired", "$anchor", ...) are ignored; references into "$defs" resolve as into
//    "definitions", and what "$defs" holds is checked when something refers to it.
// Extension members ("x-...") are not looked into, nor are example values.
std::vector<SchemaProblem> check_openapi(const rapidjson::Value& doc);

}  // namespace roster::governance
