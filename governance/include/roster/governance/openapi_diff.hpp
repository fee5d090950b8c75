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
//   parameter-made-optional [I]
//   parameter-style-changed [B]      parameter-explode-changed [B] (effective values, OpenAPI's defaults;
//                                    explode not for a declared scalar)
//   request-body-required [B]        (made required, or a new required body)
//   request-body-added [I]           request-body-removed [W]
//   request-media-type-removed [B]   request-media-type-added [I]
//   request-property-added-required [B]   request-property-made-required [B]
//   request-property-type-changed [B]     request-enum-narrowed [B]
//   request-property-removed [W]     request-property-removed-closed [B] (new schema rejects unknown properties)
//   request-property-added [I]
//   request-max-length-decreased [B] request-min-length-increased [B]    (a bound tightened or added)
//   request-maximum-decreased [B]    request-minimum-increased [B]       (exclusiveMaximum/Minimum folded in)
//   request-max-items-decreased [B]  request-min-items-increased [B]
//   request-pattern-added [B]        request-pattern-changed [W]          (regexes are not compared)
//   request-schema-branch-removed [B]     request-schema-branch-added [I] (oneOf / anyOf)
//   request-discriminator-mapping-removed [B]
//   response-success-removed [B]     (a 2xx status)               response-status-removed [I] (other statuses)
//   response-status-added [I]
//   response-media-type-removed [B]  response-media-type-added [I]
//   response-property-removed [B]    response-property-type-changed [B]   response-enum-widened [B]
//   response-property-made-optional [B]
//   response-property-added [I]      response-property-added-closed [W] (old schema was closed)
//   response-max-length-increased [W]     response-min-length-decreased [W] (a bound loosened or removed)
//   response-maximum-increased [W]   response-minimum-decreased [W]
//   response-max-items-increased [W] response-min-items-decreased [W]
//   response-pattern-changed [W]     response-pattern-removed [W]
//   response-schema-branch-added [W] response-schema-branch-removed [I] (oneOf / anyOf)
//   response-discriminator-mapping-added [W]
//   response-header-removed [B]      (a required one; [W] otherwise)    response-header-added [I]
//   response-header-made-optional [B]     response-header-type-changed [B]
//   discriminator-property-changed [B]
//   schema-composition-changed [W]   (oneOf / anyOf added or removed, `not` or a discriminator changed)
//   security-requirement-added [B]   (effective security: operation-level, else global)
//   security-scopes-added [B]        (the same schemes, more scopes)
//   security-requirement-removed [I] (a credential set the old contract refused is now accepted)
//   security-scopes-removed [I]      (the same schemes, fewer scopes)
//
// Type changes respect direction: a request may widen (integer → number, adding null), a
// response may narrow; so do enums and bounds. oneOf / anyOf branches are matched by $ref, then
// by equivalence, then inline ones by position, and compared like any schema. Response header
// schemas are judged as responses. readOnly properties are ignored in requests, writeOnly in
// responses. A change inside a shared schema is reported once per operation and body (or
// parameter, or response), at the shortest property path reaching it. Descriptions, summaries,
// examples and key order are never reported.
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
