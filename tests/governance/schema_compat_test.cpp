#include "roster/governance/schema_compat.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roster/governance/json_document.hpp"
#include "governance_test_support.hpp"

namespace roster::governance {
namespace {

std::string describe(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) out += "\n  " + f.id + " at '" + f.pointer + "': " + f.message;
  return out.empty() ? " (none)" : out;
}

// Checks `candidate` against one previous version under `mode`.
std::vector<Finding> check(CompatibilityMode mode, std::string_view previous, std::string_view candidate,
                           CompatibilityOptions options = {}) {
  const rapidjson::Document old_doc = json(previous), new_doc = json(candidate);
  const SchemaVersionRef history[] = {{"1", &old_doc, ""}};
  return check_compatibility(mode, history, {"2", &new_doc, ""}, options);
}

std::vector<Finding> backward(std::string_view previous, std::string_view candidate, CompatibilityOptions o = {}) {
  return check(CompatibilityMode::Backward, previous, candidate, o);
}
std::vector<Finding> forward(std::string_view previous, std::string_view candidate) {
  return check(CompatibilityMode::Forward, previous, candidate);
}

bool has(const std::vector<Finding>& findings, std::string_view id, std::string_view pointer) {
  for (const Finding& f : findings)
    if (f.id == id && f.pointer == pointer) return true;
  return false;
}

#define EXPECT_FINDING(findings, id, pointer) \
  EXPECT_TRUE(has(findings, id, pointer)) << "expected " << id << " at '" << pointer << "', got" << describe(findings)
#define EXPECT_CLEAN(findings) EXPECT_TRUE((findings).empty()) << "expected no findings, got" << describe(findings)

TEST(CompatibilityMode, NamesRoundTripCaseInsensitively) {
  for (auto mode : {CompatibilityMode::Backward, CompatibilityMode::BackwardTransitive, CompatibilityMode::Forward,
                    CompatibilityMode::ForwardTransitive, CompatibilityMode::Full, CompatibilityMode::FullTransitive,
                    CompatibilityMode::None})
    EXPECT_EQ(parse_compatibility_mode(to_string(mode)).value(), mode);
  EXPECT_EQ(to_string(CompatibilityMode::BackwardTransitive), "BACKWARD_TRANSITIVE");
  EXPECT_EQ(parse_compatibility_mode("full_transitive").value(), CompatibilityMode::FullTransitive);
  EXPECT_EQ(parse_compatibility_mode("Forward-Transitive").value(), CompatibilityMode::ForwardTransitive);
  const auto unknown = parse_compatibility_mode("backwards");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "invalid_mode");
  EXPECT_NE(unknown.error().message.find("\"backwards\""), std::string::npos) << unknown.error().message;
  EXPECT_FALSE(parse_compatibility_mode(""));
}

TEST(SchemaCompat, NoneAndEmptyHistoryNeverReport) {
  EXPECT_CLEAN(check(CompatibilityMode::None, R"({"type":"string"})", R"({"type":"integer"})"));
  const rapidjson::Document d = json(R"({"type":"string"})");
  EXPECT_CLEAN(check_compatibility(CompatibilityMode::FullTransitive, {}, {"1", &d, ""}));
}

TEST(SchemaCompat, IdenticalAndAnnotationOnlyChangesAreCompatible) {
  const char* schema = R"({"type":"object","properties":{"a":{"type":"string","maxLength":5}},"required":["a"]})";
  EXPECT_CLEAN(check(CompatibilityMode::FullTransitive, schema, schema));
  EXPECT_CLEAN(check(CompatibilityMode::Full, R"({"type":"string","title":"A"})",
                     R"({"type":"string","title":"B","description":"d","default":"x","examples":["y"]})"));
}

TEST(SchemaCompat, TypeNarrowedAndChanged) {
  // integer ⊂ number: number → integer narrows, the reverse widens.
  EXPECT_FINDING(backward(R"({"type":"number"})", R"({"type":"integer"})"), "type-narrowed", "/type");
  EXPECT_CLEAN(backward(R"({"type":"integer"})", R"({"type":"number"})"));
  EXPECT_CLEAN(backward(R"({"type":"string"})", R"({"type":["string","null"]})"));
  EXPECT_FINDING(backward(R"({"type":["string","null"]})", R"({"type":"string"})"), "type-narrowed", "/type");
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"integer"})"), "type-changed", "/type");
  // A schema without "type" allows every type.
  EXPECT_FINDING(backward(R"({})", R"({"type":"string"})"), "type-narrowed", "/type");
  // OpenAPI 3.0's nullable adds null.
  EXPECT_FINDING(backward(R"({"type":"string","nullable":true})", R"({"type":"string"})"), "type-narrowed", "/type");
}

TEST(SchemaCompat, WideningIsBackwardButNotForwardCompatible) {
  const char* v1 = R"({"type":"integer"})";
  const char* v2 = R"({"type":"number"})";
  EXPECT_CLEAN(backward(v1, v2));
  // Forward: version 1 reads the candidate's data; the finding points into the candidate.
  const auto findings = forward(v1, v2);
  EXPECT_FINDING(findings, "type-narrowed", "/type");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].message.find("version 1 cannot read data written by candidate 2"), std::string::npos)
      << findings[0].message;
  EXPECT_EQ(findings[0].severity, Severity::Breaking);
  // FULL checks both directions.
  EXPECT_FINDING(check(CompatibilityMode::Full, v1, v2), "type-narrowed", "/type");
}

TEST(SchemaCompat, UnconstrainedReaderAndFalseWriter) {
  EXPECT_CLEAN(backward(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"]})", "{}"));
  EXPECT_CLEAN(backward(R"({"type":"array","items":{"type":"string"}})", "true"));
  EXPECT_CLEAN(backward("false", R"({"type":"string","maxLength":1})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", "false"), "type-narrowed", "");
}

TEST(SchemaCompat, RequiredAttributeAdded) {
  const char* v1 = R"({"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}},
                      "required":["id"]})";
  const char* v2 = R"({"type":"object","properties":{"id":{"type":"integer"},"email":{"type":"string"}},
                      "required":["id","email"]})";
  EXPECT_FINDING(backward(v1, v2), "required-attribute-added", "/required/1");
  EXPECT_CLEAN(backward(v2, v1));  // dropping a requirement is backward compatible
  // ... but not forward: version 2 requires what the candidate no longer guarantees.
  EXPECT_FINDING(forward(v2, v1), "required-attribute-added", "/required");
}

TEST(SchemaCompat, PropertyRemovedFromOpenAndClosedContentModels) {
  const char* open_v1 = R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}})";
  const char* open_v2 = R"({"type":"object","properties":{"a":{"type":"string"}}})";
  // Removed from an open model: the reader still accepts "b" as an additional property.
  EXPECT_CLEAN(backward(open_v1, open_v2));
  // Forward, the old reader declares "b" while the candidate lets writers send any "b".
  EXPECT_FINDING(forward(open_v1, open_v2), "property-added-to-open-content-model", "/properties/b");

  const char* closed_v1 =
      R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false})";
  const char* closed_v2 = R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})";
  // Removed from a closed model: old data carrying "b" is rejected.
  EXPECT_FINDING(backward(closed_v1, closed_v2), "property-removed-from-closed-content-model", "/additionalProperties");
  // Removed from a partially open model whose additionalProperties does not take the old "b".
  EXPECT_FINDING(backward(R"({"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":true})",
                          R"({"type":"object","additionalProperties":{"type":"integer"}})"),
                 "property-removed-not-covered-by-partially-open-content-model", "/additionalProperties");
}

TEST(SchemaCompat, PropertyAddedToOpenAndClosedContentModels) {
  const char* open_v1 = R"({"type":"object","properties":{"a":{"type":"string"}}})";
  const char* open_v2 = R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}})";
  // Strict (Confluent's default): old writers could send any "b", so constraining it is incompatible.
  EXPECT_FINDING(backward(open_v1, open_v2), "property-added-to-open-content-model", "/properties/b");
  // Lenient: writers are assumed to send only declared properties.
  EXPECT_CLEAN(backward(open_v1, open_v2, {.lenient = true}));
  // An unconstrained new property is compatible even when strict.
  EXPECT_CLEAN(backward(open_v1, R"({"type":"object","properties":{"a":{"type":"string"},"b":{}}})"));

  const char* closed_v1 = R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})";
  const char* closed_v2 =
      R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false})";
  // Optional property added to a closed model: old data never has "b".
  EXPECT_CLEAN(backward(closed_v1, closed_v2));
  // Forward, the old closed reader rejects the candidate's "b" (ids describe the reader, as Confluent's do).
  EXPECT_FINDING(forward(closed_v1, closed_v2), "property-removed-from-closed-content-model", "/properties/b");
  // A required property added to a closed model is still a new requirement.
  const char* closed_v3 = R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},
                             "required":["b"],"additionalProperties":false})";
  EXPECT_FINDING(backward(closed_v1, closed_v3), "required-attribute-added", "/required/0");
}

TEST(SchemaCompat, PropertyTypeChanged) {
  const auto findings = backward(R"({"type":"object","properties":{"age":{"type":"string"}}})",
                                 R"({"type":"object","properties":{"age":{"type":"integer"}}})");
  EXPECT_FINDING(findings, "type-changed", "/properties/age/type");
  EXPECT_EQ(findings.size(), 1u) << describe(findings);
}

TEST(SchemaCompat, EnumNarrowedAndExtended) {
  EXPECT_FINDING(backward(R"({"enum":["a","b","c"]})", R"({"enum":["a","b"]})"), "enum-array-narrowed", "/enum");
  EXPECT_CLEAN(backward(R"({"enum":["a","b"]})", R"({"enum":["a","b","c"]})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"string","enum":["a"]})"), "enum-array-narrowed", "/enum");
  // The writer's values decide the reader's other limits when it has an enum.
  EXPECT_CLEAN(backward(R"({"type":"string","enum":["ab","cd"]})", R"({"type":"string","maxLength":2})"));
  EXPECT_CLEAN(backward(R"({"enum":[1,2]})", R"({"type":"integer","maximum":2})"));
}

TEST(SchemaCompat, ConstAddedAndChanged) {
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"const":"x"})"), "const-added", "/const");
  EXPECT_FINDING(backward(R"({"const":"x"})", R"({"const":"y"})"), "const-changed", "/const");
  EXPECT_CLEAN(backward(R"({"const":"x"})", R"({"const":"x"})"));
  EXPECT_CLEAN(backward(R"({"const":"x"})", R"({"enum":["x","y"]})"));
}

TEST(SchemaCompat, StringLimits) {
  EXPECT_FINDING(backward(R"({"type":"string","maxLength":10})", R"({"type":"string","maxLength":5})"),
                 "max-length-decreased", "/maxLength");
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"string","maxLength":5})"), "max-length-added",
                 "/maxLength");
  EXPECT_CLEAN(backward(R"({"type":"string","maxLength":5})", R"({"type":"string","maxLength":10})"));
  EXPECT_FINDING(backward(R"({"type":"string","minLength":1})", R"({"type":"string","minLength":3})"),
                 "min-length-increased", "/minLength");
  EXPECT_CLEAN(backward(R"({"type":"string","minLength":3})", R"({"type":"string","minLength":1})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"string","pattern":"^a"})"), "pattern-added", "/pattern");
  EXPECT_FINDING(backward(R"({"type":"string","pattern":"^a"})", R"({"type":"string","pattern":"^b"})"),
                 "pattern-changed", "/pattern");
  EXPECT_CLEAN(backward(R"({"type":"string","pattern":"^a"})", R"({"type":"string"})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"string","format":"uuid"})"), "format-added", "/format");
  // String limits do not apply to a writer that sends no strings.
  EXPECT_CLEAN(backward(R"({"type":"integer"})", R"({"type":["integer","string"],"maxLength":1})"));
}

TEST(SchemaCompat, NumberLimits) {
  EXPECT_FINDING(backward(R"({"type":"number","maximum":10})", R"({"type":"number","maximum":5})"), "maximum-decreased",
                 "/maximum");
  EXPECT_FINDING(backward(R"({"type":"number"})", R"({"type":"number","maximum":5})"), "maximum-added", "/maximum");
  EXPECT_FINDING(backward(R"({"type":"number","minimum":0})", R"({"type":"number","minimum":1})"), "minimum-increased",
                 "/minimum");
  EXPECT_CLEAN(
      backward(R"({"type":"number","minimum":1,"maximum":5})", R"({"type":"number","minimum":0,"maximum":9})"));
  // Exclusive bounds: draft-07 numbers and draft-04 booleans.
  EXPECT_FINDING(backward(R"({"type":"number","maximum":10})", R"({"type":"number","exclusiveMaximum":10})"),
                 "exclusive-maximum-decreased", "/exclusiveMaximum");
  EXPECT_CLEAN(backward(R"({"type":"number","exclusiveMaximum":10})", R"({"type":"number","maximum":10})"));
  EXPECT_FINDING(
      backward(R"({"type":"number","minimum":0})", R"({"type":"number","minimum":0,"exclusiveMinimum":true})"),
      "minimum-increased", "/minimum");
  EXPECT_FINDING(backward(R"({"type":"number"})", R"({"type":"number","multipleOf":2})"), "multiple-of-added",
                 "/multipleOf");
  EXPECT_CLEAN(backward(R"({"type":"number","multipleOf":4})", R"({"type":"number","multipleOf":2})"));
  EXPECT_CLEAN(backward(R"({"type":"integer"})", R"({"type":"integer","multipleOf":1})"));
}

TEST(SchemaCompat, ArrayLimitsAndItems) {
  EXPECT_FINDING(backward(R"({"type":"array","maxItems":10})", R"({"type":"array","maxItems":3})"),
                 "max-items-decreased", "/maxItems");
  EXPECT_FINDING(backward(R"({"type":"array"})", R"({"type":"array","minItems":1})"), "min-items-added", "/minItems");
  EXPECT_FINDING(backward(R"({"type":"array","minItems":1})", R"({"type":"array","minItems":2})"),
                 "min-items-increased", "/minItems");
  EXPECT_FINDING(backward(R"({"type":"array"})", R"({"type":"array","uniqueItems":true})"), "unique-items-added",
                 "/uniqueItems");
  EXPECT_FINDING(
      backward(R"({"type":"array","items":{"type":"number"}})", R"({"type":"array","items":{"type":"integer"}})"),
      "type-narrowed", "/items/type");
  EXPECT_CLEAN(
      backward(R"({"type":"array","items":{"type":"integer"}})", R"({"type":"array","items":{"type":"number"}})"));
  // Tuples: each position, and the closed tail.
  const char* tuple = R"({"type":"array","items":[{"type":"string"},{"type":"integer"}]})";
  EXPECT_FINDING(backward(tuple, R"({"type":"array","items":[{"type":"string"},{"type":"string"}]})"), "type-changed",
                 "/items/1/type");
  EXPECT_FINDING(backward(tuple, R"({"type":"array","items":[{"type":"string"},{"type":"integer"}],
                                    "additionalItems":false})"),
                 "additional-items-narrowed", "/additionalItems");
  EXPECT_FINDING(backward(tuple, R"({"type":"array","items":[{"type":"string"}],"additionalItems":false})"),
                 "item-removed-from-closed-content-model", "/additionalItems");
  EXPECT_FINDING(backward(R"({"type":"array","items":{"type":"string"}})",
                          R"({"type":"array","items":{"type":"string"},"contains":{"const":"x"}})"),
                 "contains-added", "/contains");
}

TEST(SchemaCompat, AdditionalPropertiesNarrowed) {
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"type":"object","additionalProperties":false})"),
                 "additional-properties-narrowed", "/additionalProperties");
  EXPECT_FINDING(backward(R"({"type":"object","additionalProperties":{"type":["string","integer"]}})",
                          R"({"type":"object","additionalProperties":{"type":"string"}})"),
                 "additional-properties-narrowed", "/additionalProperties");
  EXPECT_CLEAN(backward(R"({"type":"object","additionalProperties":false})", R"({"type":"object"})"));
  // Lenient leaves closing an open model alone.
  EXPECT_CLEAN(
      backward(R"({"type":"object"})", R"({"type":"object","additionalProperties":false})", {.lenient = true}));
  EXPECT_FINDING(backward(R"({"type":"object","patternProperties":{"^x-":{"type":"string"}}})",
                          R"({"type":"object","patternProperties":{"^x-":{"type":"integer"}}})"),
                 "pattern-properties-narrowed", "/patternProperties/^x-");
}

TEST(SchemaCompat, PropertyCountsAndDependencies) {
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"type":"object","maxProperties":3})"), "max-properties-added",
                 "/maxProperties");
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"type":"object","minProperties":1})"), "min-properties-added",
                 "/minProperties");
  EXPECT_CLEAN(
      backward(R"({"type":"object","required":["a"]})", R"({"type":"object","required":["a"],"minProperties":1})"));
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"type":"object","dependencies":{"a":["b"]}})"),
                 "dependency-array-added", "/dependencies/a");
  EXPECT_CLEAN(backward(R"({"type":"object","dependencies":{"a":["b","c"]}})",
                        R"({"type":"object","dependencies":{"a":["b"]}})"));
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"type":"object","propertyNames":{"maxLength":3}})"),
                 "property-names-narrowed", "/propertyNames");
}

TEST(SchemaCompat, SumTypes) {
  // Each writer branch must be accepted by some reader branch.
  EXPECT_CLEAN(backward(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})",
                        R"({"anyOf":[{"type":"integer"},{"type":"string"},{"type":"null"}]})"));
  EXPECT_FINDING(backward(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", R"({"anyOf":[{"type":"string"}]})"),
                 "sum-type-narrowed", "/anyOf");
  // A reader union covers a writer of several types one type at a time.
  EXPECT_CLEAN(backward(R"({"type":["string","integer"]})", R"({"oneOf":[{"type":"string"},{"type":"integer"}]})"));
  // A writer branch against a plain reader: the branch's own findings, at the reader's location.
  EXPECT_FINDING(backward(R"({"oneOf":[{"type":"string"},{"type":"integer"}]})", R"({"type":"string"})"),
                 "type-changed", "/type");
  // Data matching two oneOf branches matches none.
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"oneOf":[{"type":"string"},{}]})"), "one-of-ambiguous", "/oneOf");
  // allOf on either side is a conjunction.
  EXPECT_CLEAN(
      backward(R"({"allOf":[{"type":"object"},{"required":["a"]}]})", R"({"type":"object","required":["a"]})"));
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"allOf":[{"type":"object"},{"required":["a"]}]})"),
                 "required-attribute-added", "/allOf/1/required/0");
}

TEST(SchemaCompat, UnionsReportWhatBrokeInsideTheMatchingBranch) {
  // The branch at the same place (or the only one of the writer's type) is compared in detail.
  EXPECT_FINDING(backward(R"({"anyOf":[{"type":"string","maxLength":10},{"type":"integer"}]})",
                          R"({"anyOf":[{"type":"string","maxLength":5},{"type":"integer"}]})"),
                 "max-length-decreased", "/anyOf/0/maxLength");
  const char* v1 = R"({"definitions":{"A":{"type":"object","properties":{"n":{"type":"number"}}}},
                      "oneOf":[{"type":"null"},{"$ref":"#/definitions/A"}]})";
  const char* v2 = R"({"definitions":{"A":{"type":"object","properties":{"n":{"type":"integer"}}}},
                      "oneOf":[{"type":"null"},{"$ref":"#/definitions/A"}]})";
  const auto findings = backward(v1, v2);
  EXPECT_FINDING(findings, "type-narrowed", "/definitions/A/properties/n/type");
  EXPECT_EQ(findings.size(), 1u) << describe(findings);
}

TEST(SchemaCompat, IdenticalUnionsOfOpenModelsAreCompatible) {
  // Cat and Dog overlap (both open), which oneOf on both sides makes no worse.
  const char* pets = R"({"definitions":{
      "Cat":{"type":"object","properties":{"meow":{"type":"string"}}},
      "Dog":{"type":"object","properties":{"bark":{"type":"string"}}}},
    "oneOf":[{"$ref":"#/definitions/Cat"},{"$ref":"#/definitions/Dog"}]})";
  EXPECT_CLEAN(check(CompatibilityMode::Full, pets, pets));
  EXPECT_CLEAN(check(CompatibilityMode::Full, pets, pets, {.lenient = true}));
}

TEST(SchemaCompat, OneOfNeedsExactlyOneMatchingBranch) {
  // Branches the writer cannot match: another type, or another value of a required discriminator.
  EXPECT_CLEAN(backward(R"({"type":"integer"})", R"({"oneOf":[{},{"type":"string"}]})"));
  EXPECT_CLEAN(backward(R"({"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"]})",
                        R"({"oneOf":[{"properties":{"kind":{"const":"a"}},"required":["kind"]},
                   {"properties":{"kind":{"const":"b"},"size":{"type":"integer"}},"required":["kind","size"]}]})"));
  // Data may match a second branch: definitely, or possibly.
  EXPECT_FINDING(backward(R"({"type":"object"})", R"({"oneOf":[{},{"type":"object"}]})"), "one-of-ambiguous", "/oneOf");
  EXPECT_FINDING(backward(R"({"type":"integer"})", R"({"oneOf":[{},{"minimum":5}]})"), "one-of-ambiguous", "/oneOf");
  // anyOf has no such rule.
  EXPECT_CLEAN(backward(R"({"type":"integer"})", R"({"anyOf":[{},{"minimum":5}]})"));
}

TEST(SchemaCompat, NotAndConditionalsAreProvenOrReported) {
  // Disjoint types prove a reader's `not`; the same `not` on both sides does too.
  EXPECT_CLEAN(backward(R"({"type":"string"})", R"({"type":"string","not":{"type":"null"}})"));
  EXPECT_CLEAN(backward(R"({"type":"string","not":{"enum":["x"]}})", R"({"type":"string","not":{"enum":["x"]}})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"type":"string","not":{"enum":["x"]}})"), "not-type-extended",
                 "/not");
  const char* conditional = R"({"type":"object","if":{"properties":{"kind":{"const":"a"}},"required":["kind"]},
                               "then":{"required":["a"]}})";
  EXPECT_CLEAN(backward(conditional, conditional));
  EXPECT_FINDING(backward(R"({"type":"object"})", conditional), "conditional-unproven", "/if");
  // Branches the writer satisfies anyway need no matching condition.
  EXPECT_CLEAN(backward(R"({"type":"object","required":["a"]})", conditional));
}

TEST(SchemaCompat, FollowsRefsAndTerminatesOnCycles) {
  const char* v1 = R"({"$ref":"#/definitions/node","definitions":{"node":{"type":"object","properties":{
      "value":{"type":"number"},"children":{"type":"array","items":{"$ref":"#/definitions/node"}}}}}})";
  const char* v2 = R"({"$ref":"#/definitions/node","definitions":{"node":{"type":"object","properties":{
      "value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/definitions/node"}}}}}})";
  EXPECT_CLEAN(check(CompatibilityMode::Full, v1, v1));
  const auto findings = backward(v1, v2);
  EXPECT_FINDING(findings, "type-narrowed", "/definitions/node/properties/value/type");
  EXPECT_EQ(findings.size(), 1u) << describe(findings);
  // A recursive union (a nullable linked list) compares through its own branches.
  const char* list = R"({"definitions":{"list":{"anyOf":[{"type":"null"},{"type":"object",
      "properties":{"next":{"$ref":"#/definitions/list"}}}]}},"$ref":"#/definitions/list"})";
  EXPECT_CLEAN(check(CompatibilityMode::FullTransitive, list, list));
  // A reference loop and an allOf reaching itself terminate.
  EXPECT_FINDING(backward(R"({"$ref":"#"})", R"({"type":"string"})"), "reference-unresolvable", "");
  EXPECT_CLEAN(backward(R"({"allOf":[{"$ref":"#"}],"type":"string"})", R"({"allOf":[{"$ref":"#"}],"type":"string"})"));
  EXPECT_FINDING(backward(R"({"type":"string"})", R"({"$ref":"#/definitions/missing"})"), "reference-unresolvable", "");
  // Pointers through escaped references are plain JSON Pointers.
  EXPECT_FINDING(backward(R"({"type":"number"})",
                          R"({"$ref":"#/definitions/a%20b~1c","definitions":{"a b/c":{"type":"integer"}}})"),
                 "type-narrowed", "/definitions/a b~1c/type");
}

// {"type":"object","properties":{"p": ... {"type":"string"} ...}} nested `levels` deep, built without the
// (recursive) parser.
rapidjson::Document nested(int levels, const char* leaf_type) {
  rapidjson::Document d;
  auto& alloc = d.GetAllocator();
  rapidjson::Value inner(rapidjson::kObjectType);
  inner.AddMember("type", rapidjson::StringRef(leaf_type), alloc);
  for (int i = 0; i < levels; ++i) {
    rapidjson::Value props(rapidjson::kObjectType), outer(rapidjson::kObjectType);
    props.AddMember("p", inner, alloc);
    outer.AddMember("type", "object", alloc).AddMember("properties", props, alloc);
    inner = outer;
  }
  static_cast<rapidjson::Value&>(d).Swap(inner);
  return d;
}

TEST(SchemaCompat, TooDeepComparisonsAreReportedNotCrashed) {
  const rapidjson::Document shallow_old = nested(300, "number"), shallow_new = nested(300, "integer");
  const SchemaVersionRef shallow[] = {{"1", &shallow_old, ""}};
  std::string pointer;
  for (int i = 0; i < 300; ++i) pointer += "/properties/p";
  EXPECT_FINDING(check_compatibility(CompatibilityMode::Backward, shallow, {"2", &shallow_new, ""}), "type-narrowed",
                 pointer + "/type");
  const rapidjson::Document deep_old = nested(5000, "number"), deep_new = nested(5000, "number");
  const SchemaVersionRef deep[] = {{"1", &deep_old, ""}};
  EXPECT_FINDING(check_compatibility(CompatibilityMode::Backward, deep, {"2", &deep_new, ""}), "comparison-too-complex",
                 "");
}

// History v1 → v2 → candidate where the candidate is fine against v2 but not against v1.
struct TransitiveCase {
  CompatibilityMode plain, transitive;
  const char *v1, *v2, *v3;
  const char* id;
  const char* pointer;
};

TEST(SchemaCompat, TransitiveModesCheckEveryPreviousVersion) {
  // v1 requires "a" as a string, v2 drops it, v3 re-adds it as an integer.
  const char* closed_v1 =
      R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false})";
  const char* closed_v2 = R"({"type":"object","properties":{},"additionalProperties":false})";
  const char* closed_v3 = R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})";
  const char* open_v1 = R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"]})";
  const char* open_v2 = R"({"type":"object"})";
  const char* open_v3 = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  const char* full_v1 = R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})";
  const char* full_v2 = R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})";
  const TransitiveCase cases[] = {
      {CompatibilityMode::Backward, CompatibilityMode::BackwardTransitive, closed_v1, closed_v2, closed_v3,
       "type-changed", "/properties/a/type"},
      {CompatibilityMode::Forward, CompatibilityMode::ForwardTransitive, open_v1, open_v2, open_v3, "type-changed",
       "/properties/a/type"},
      {CompatibilityMode::Full, CompatibilityMode::FullTransitive, full_v1, full_v2, full_v2, "type-changed",
       "/properties/a/type"},
  };
  for (const TransitiveCase& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.transitive)));
    const rapidjson::Document d1 = json(c.v1), d2 = json(c.v2), d3 = json(c.v3);
    const SchemaVersionRef history[] = {{"v1", &d1, ""}, {"v2", &d2, ""}};
    const SchemaVersionRef candidate{"v3", &d3, ""};
    EXPECT_CLEAN(check_compatibility(c.plain, history, candidate));
    const auto findings = check_compatibility(c.transitive, history, candidate);
    EXPECT_FINDING(findings, c.id, c.pointer);
    for (const Finding& f : findings)
      EXPECT_NE(f.message.find("version v1"), std::string::npos)
          << "names the version it conflicts with: " << f.message;
  }
}

TEST(SchemaCompat, SchemasInsideLargerDocuments) {
  const rapidjson::Document d1 = json(R"({"defs":{"A":{"type":"number"}},"other":1})");
  const rapidjson::Document d2 = json(R"({"x":{"y":{"type":"integer"}}})");
  const SchemaVersionRef history[] = {{"1.0.0", &d1, "/defs/A"}};
  const auto findings = check_compatibility(CompatibilityMode::Backward, history, {"2.0.0", &d2, "/x/y"});
  EXPECT_FINDING(findings, "type-narrowed", "/x/y/type");
  // reader_incompatibilities takes values and works out their pointers.
  const auto direct = reader_incompatibilities(d1, d1["defs"]["A"], d2, d2["x"]["y"]);
  EXPECT_FINDING(direct, "type-narrowed", "/x/y/type");
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_NE(direct[0].message.find("#/defs/A"), std::string::npos) << direct[0].message;
  // A pointer that names nothing is reported, not dereferenced.
  EXPECT_FINDING(check_compatibility(CompatibilityMode::Backward, history, {"2.0.0", &d2, "/nope"}), "schema-not-found",
                 "/nope");
  const SchemaVersionRef dangling[] = {{"1.0.0", nullptr, ""}};
  EXPECT_FINDING(check_compatibility(CompatibilityMode::Backward, dangling, {"2.0.0", &d2, ""}), "schema-not-found",
                 "");
}

const char* kOpenApiV1 = R"({
  "openapi": "3.0.3", "info": {"title": "users", "version": "1.0.0"},
  "paths": {
    "/users/{userId}": {"get": {"responses": {
      "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
      "404": {"description": "missing"}}}},
    "/users": {"post": {
      "requestBody": {"content": {"application/json": {"schema": {"type": "object",
        "properties": {"name": {"type": "string"}, "email": {"type": "string"}}, "required": ["name"]}}}},
      "responses": {"201": {"description": "created"}}}}
  },
  "components": {"schemas": {
    "User": {"type": "object", "additionalProperties": false,
             "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "nick": {"type": "string"}}},
    "Unused": {"type": "string", "maxLength": 10}}}
})";

const char* kOpenApiV2 = R"({
  "openapi": "3.0.3", "info": {"title": "users", "version": "2.0.0"},
  "paths": {
    "/users/{id}": {"get": {"responses": {
      "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
      "500": {"description": "new", "content": {"application/json": {"schema": {"type": "integer"}}}}}}},
    "/users": {"post": {
      "requestBody": {"content": {"application/json": {"schema": {"type": "object",
        "properties": {"name": {"type": "string"}, "email": {"type": "string"}}, "required": ["name", "email"]}}}},
      "responses": {"201": {"description": "created"}}}}
  },
  "components": {"schemas": {
    "User": {"type": "object", "additionalProperties": false,
             "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    "Unused": {"type": "string", "maxLength": 5}}}
})";

TEST(OpenApiCompat, PairsOperationsAndComponents) {
  const rapidjson::Document v1 = json(kOpenApiV1), v2 = json(kOpenApiV2);
  const OpenApiVersionRef history[] = {{"1.0.0", &v1}};
  const auto findings = check_openapi_compatibility(CompatibilityMode::Backward, history, {"2.0.0", &v2});
  auto find = [&](std::string_view id, std::string_view method, std::string_view path) -> const Finding* {
    for (const Finding& f : findings)
      if (f.id == id && f.method == method && f.path == path) return &f;
    return nullptr;
  };
  // /users/{userId} and /users/{id} pair up; the shared component is reported once, on the operation.
  const Finding* removed = find("property-removed-from-closed-content-model", "GET", "/users/{id}");
  ASSERT_NE(removed, nullptr) << describe(findings);
  EXPECT_EQ(removed->pointer, "/components/schemas/User/additionalProperties");
  EXPECT_EQ(find("property-removed-from-closed-content-model", "", ""), nullptr) << describe(findings);
  const Finding* required = find("required-attribute-added", "POST", "/users");
  ASSERT_NE(required, nullptr) << describe(findings);
  EXPECT_EQ(required->pointer, "/paths/~1users/post/requestBody/content/application~1json/schema/required/1");
  // A component no operation uses is compared by name.
  const Finding* unused = find("max-length-decreased", "", "");
  ASSERT_NE(unused, nullptr) << describe(findings);
  EXPECT_EQ(unused->pointer, "/components/schemas/Unused/maxLength");
  // The new 500 response has nothing to pair with, so nothing else is reported.
  EXPECT_EQ(findings.size(), 3u) << describe(findings);
  EXPECT_CLEAN(check_openapi_compatibility(CompatibilityMode::Backward, history, {"1.0.0", &v1}));
  EXPECT_CLEAN(check_openapi_compatibility(CompatibilityMode::None, history, {"2.0.0", &v2}));
}

TEST(OpenApiCompat, TransitiveAcrossDocuments) {
  const rapidjson::Document v1 = json(kOpenApiV1), v2 = json(kOpenApiV2);
  // v2 → v2 is clean on its own; transitively the candidate is also checked against v1.
  const OpenApiVersionRef history[] = {{"1.0.0", &v1}, {"2.0.0", &v2}};
  EXPECT_CLEAN(check_openapi_compatibility(CompatibilityMode::Full, history, {"3.0.0", &v2}));
  const auto findings = check_openapi_compatibility(CompatibilityMode::FullTransitive, history, {"3.0.0", &v2});
  EXPECT_FALSE(findings.empty());
  for (const Finding& f : findings) EXPECT_NE(f.message.find("version 1.0.0"), std::string::npos) << f.message;
}

}  // namespace
}  // namespace roster::governance
