// The JSON Schema changelog: every kind of change it lists, at depth, and what it leaves alone.
#include <gtest/gtest.h>

#include "roster/governance/json_document.hpp"
#include "roster/governance/json_schema_diff.hpp"

namespace roster::governance {
namespace {

std::vector<std::string> diff(const char* before, const char* after) {
  auto a = parse_json(before), b = parse_json(after);
  EXPECT_TRUE(a && b);
  std::vector<std::string> out;
  for (auto& f : diff_json_schema(*a, *b))
    out.push_back(std::string(to_string(f.severity)) + " " + f.id + " " + f.pointer);
  return out;
}

TEST(JsonSchemaDiff, ListsPropertiesRequiredAndTypesAtEveryDepth) {
  const char* v1 = R"({"type": "object", "required": ["id"], "properties": {
      "id": {"type": "string"}, "eta": {"type": "integer"},
      "stops": {"type": "array", "items": {"type": "object", "properties": {"city": {"type": "string"}}}}}})";
  const char* v2 = R"({"type": "object", "required": ["id", "status"], "properties": {
      "id": {"type": "integer"}, "status": {"type": ["string", "null"]},
      "stops": {"type": "array", "items": {"type": "object", "properties": {"city": {"type": "string"},
                                                                             "zip": {"type": "string"}}}}}})";
  EXPECT_EQ(diff(v1, v2), (std::vector<std::string>{
                              "warning required-added /required",
                              "warning type-changed /properties/id",
                              "info property-added /properties/status",
                              "info property-added /properties/stops/items/properties/zip",
                              "warning property-removed /properties/eta",
                          }));
  // And back: the reverse of each.
  EXPECT_EQ(diff(v2, v1), (std::vector<std::string>{
                              "info required-removed /required",
                              "warning type-changed /properties/id",
                              "info property-added /properties/eta",
                              "warning property-removed /properties/stops/items/properties/zip",
                              "warning property-removed /properties/status",
                          }));
}

TEST(JsonSchemaDiff, SameSchemaOrNoSchemaObjectsListNothing) {
  EXPECT_TRUE(diff(R"({"type": "object", "properties": {"a": {}}})", R"({"properties": {"a": {}}, "type": "object"})").empty());
  EXPECT_TRUE(diff("true", R"({"type": "object"})").empty());  // boolean schemas have no structure to compare
  EXPECT_EQ(diff(R"({"properties": {"a~b/c": {}}})", "{}"),
            (std::vector<std::string>{"warning property-removed /properties/a~0b~1c"}));
}

// The walk stops at 64 levels of properties: below, nothing is listed (and nothing recursed into).
TEST(JsonSchemaDiff, DeepNestingStopsTheWalk) {
  auto nested = [](int levels, const char* leaf) {
    std::string s = leaf;
    for (int i = 0; i < levels; ++i) s = R"({"properties": {"a": )" + s + "}}";
    return s;
  };
  EXPECT_EQ(diff(nested(10, "{}").c_str(), nested(10, R"({"properties": {"b": {}}})").c_str()).size(), 1u);
  EXPECT_TRUE(diff(nested(70, "{}").c_str(), nested(70, R"({"properties": {"b": {}}})").c_str()).empty());
}

}  // namespace
}  // namespace roster::governance
