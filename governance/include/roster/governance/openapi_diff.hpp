// Breaking-change detection between two versions of an OpenAPI 3.0/3.1 document: what an
// existing client of the old contract would notice against the new one. Pure: DOMs in,
// findings out; the server decides what a finding means for the version number.
//
// Paths match by template shape (/users/{id} == /users/{userId}); $refs are followed
// everywhere, recursive schemas terminate. Finding ids, stable (severity in brackets):
//
//   path-removed [B]                 path-added [I]
//   operation-removed [B]            operation-added [I]          operation-deprecated [I]
//   parameter-removed [B]            parameter-renamed [B]        (removed + added with the same `in`)
//   parameter-added-required [B]     parameter-made-required [B]  parameter-type-changed [B] (type or format)
//   parameter-added [I]              parameter-added-to-deprecated [W] (optional, on a deprecated operation)
//   request-body-required [B]        (made required, or a new required body)
//   request-body-added [I]           request-body-removed [W]
//   request-media-type-removed [B]   request-media-type-added [I]
//   request-property-added-required [B]   request-property-made-required [B]
//   request-property-type-changed [B]     request-enum-narrowed [B]
//   request-property-removed [W]     request-property-removed-closed [B] (new schema rejects unknown properties)
//   request-property-added [I]
//   response-success-removed [B]     (a 2xx status)               response-status-removed [I] (other statuses)
//   response-status-added [I]
//   response-media-type-removed [B]  response-media-type-added [I]
//   response-property-removed [B]    response-property-type-changed [B]   response-enum-widened [B]
//   response-property-made-optional [B]
//   response-property-added [I]      response-property-added-closed [W] (old schema was closed)
//   schema-composition-changed [W]   (oneOf / anyOf / not changed: not judged, only flagged)
//   security-requirement-added [B]   (effective security: operation-level, else global)
//   security-requirement-removed [I] (a credential set the old contract refused is now accepted)
//
// Type changes respect direction: a request may widen (integer → number, adding null), a
// response may narrow. readOnly properties are ignored in requests, writeOnly in responses.
// A change inside a shared schema is reported once per operation and body (or parameter, or
// response), at the shortest property path reaching it. Descriptions, summaries, examples and
// key order are never reported.
#pragma once

#include <vector>

#include <rapidjson/document.h>

#include "roster/governance/finding.hpp"

namespace roster::governance {

struct OpenApiDiff {
  // Sorted by path, method, pointer (then id and message); no duplicates.
  std::vector<Finding> findings;
  bool breaking() const;
};

// Compares two parsed documents. Shapes that are not what OpenAPI expects are skipped, not
// fatal: anything (even a non-object root) yields a result.
OpenApiDiff diff_openapi(const rapidjson::Value& old_doc, const rapidjson::Value& new_doc);

// True when any finding is breaking: the new document needs a new major version (the caller
// owns the semver comparison).
bool needs_major_bump(const std::vector<Finding>& findings);

}  // namespace roster::governance
