// JSON Schema compatibility modes as Confluent Schema Registry defines them. A reader schema is compatible with a
// writer schema when it accepts every instance the writer accepts; BACKWARD makes the candidate the reader of the
// previous version's data, FORWARD the reverse, FULL both. The check is structural and conservative: what it cannot
// prove is reported too (unresolvable $refs, a reader's `not` or if/then/else it cannot match, a oneOf the data
// might match twice, comparisons too large), so a clean result is a proof for the draft-07 keywords it knows
// (format is compared by name; readOnly/writeOnly and other annotations are ignored). Every finding is Breaking.
//
// Finding ids describe the reader against the writer, as Confluent's do: under FORWARD, where the previous version
// reads, a property the candidate added to a closed model reads "property-removed-from-closed-content-model".
//   type-narrowed, type-changed, enum-array-narrowed, const-added, const-changed,
//   max-length-added/-decreased, min-length-added/-increased, pattern-added/-changed, format-added/-changed,
//   maximum-added/-decreased, minimum-added/-increased, exclusive-maximum-*, exclusive-minimum-*,
//   multiple-of-added/-changed, max-items-added/-decreased, min-items-added/-increased, unique-items-added,
//   additional-items-narrowed, item-removed-from-closed-content-model, contains-added,
//   required-attribute-added, max-properties-added/-decreased, min-properties-added/-increased,
//   property-added-to-open-content-model, property-added-not-covered-by-partially-open-content-model,
//   property-removed-from-closed-content-model, property-removed-not-covered-by-partially-open-content-model,
//   additional-properties-narrowed, pattern-properties-narrowed, property-names-narrowed,
//   dependency-array-added/-extended, dependency-schema-added/-narrowed, sum-type-narrowed, one-of-ambiguous,
//   not-type-extended, conditional-unproven, reference-unresolvable, comparison-too-complex, schema-not-found.
// Nested findings (a property's type, an item's limit) carry the nested pointer. The comparison recurses, within
// three quarters of the calling thread's free stack; what needs more is reported as comparison-too-complex.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "roster/base/result.hpp"
#include "roster/governance/finding.hpp"

namespace roster::governance {

enum class CompatibilityMode { Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None };

std::string_view to_string(CompatibilityMode mode);  // "BACKWARD", "BACKWARD_TRANSITIVE", ..., "NONE"
// A transitive mode checks a schema against every earlier version of its line, not only the last.
bool is_transitive(CompatibilityMode mode);
// Case-insensitive; '-' may stand for '_'. Anything else is {Invalid, "invalid_mode"}, whose message lists the modes.
Result<CompatibilityMode> parse_compatibility_mode(std::string_view text);

struct CompatibilityOptions {
  // Confluent's lenient policy: assume writers only ever send the properties their schema declares, so giving a
  // new meaning to an undeclared property of an open content model, or closing one, is not reported. Off (the
  // default, like Confluent's) reports both, since an open model lets writers send any property with any value.
  bool lenient = false;
};

// Ways `reader` fails to accept everything `writer` accepts. `writer` and `reader` are schemas inside
// `writer_root` and `reader_root` (their "$ref"s resolve there; pass the schema itself for a standalone one).
// Each finding's pointer is in the reader's document; its message names the writer's location.
std::vector<Finding> reader_incompatibilities(const rapidjson::Value& writer_root, const rapidjson::Value& writer,
                                              const rapidjson::Value& reader_root, const rapidjson::Value& reader,
                                              const CompatibilityOptions& options = {});

// One version of a schema: a JSON Schema document, or one schema inside a larger document (an OpenAPI one).
struct SchemaVersionRef {
  std::string label;                       // how messages name the version ("1.2.0"); "" = its position
  const rapidjson::Value* root = nullptr;  // the enclosing document, which "$ref"s resolve against
  std::string pointer;                     // JSON Pointer of the schema inside `root`; "" = the root itself
};

// Checks `candidate` against `history` (previous versions, oldest first) under `mode`: the non-transitive modes
// look only at the latest previous version. Findings point into the candidate's document and their messages say
// which previous version they conflict with and which side reads which. NONE, or an empty history, reports nothing.
std::vector<Finding> check_compatibility(CompatibilityMode mode, std::span<const SchemaVersionRef> history,
                                         const SchemaVersionRef& candidate, const CompatibilityOptions& options = {});

struct OpenApiVersionRef {
  std::string label;
  const rapidjson::Value* document = nullptr;  // an OpenAPI 3.x document
};

// check_compatibility for each schema an OpenAPI candidate shares with a previous version: request bodies and
// responses paired by path template shape ("/a/{x}" = "/a/{y}"), method, status and media type, plus
// components/schemas by name. Findings carry the candidate's method and path template; a components finding that
// an operation already reported is not repeated. Operations, statuses or media types present on one side only
// are not compared here (that is the OpenAPI diff's job).
std::vector<Finding> check_openapi_compatibility(CompatibilityMode mode, std::span<const OpenApiVersionRef> history,
                                                 const OpenApiVersionRef& candidate,
                                                 const CompatibilityOptions& options = {});

}  // namespace roster::governance
