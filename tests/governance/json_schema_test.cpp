#include "roster/governance/json_schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "roster/governance/json_document.hpp"
#include "governance_test_support.hpp"

namespace roster::governance {
namespace {

// A schema the test expects to compile: value() throws, failing the test with the error, when it does not.
CompiledSchema compile(const rapidjson::Value& root, std::string_view pointer = "") {
  return CompiledSchema::compile(root, pointer).value();
}

std::string describe(const std::vector<SchemaProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p.pointer + ": " + p.message;
  return out.empty() ? " (none)" : out;
}

std::vector<std::string> pointers(const std::vector<SchemaProblem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.pointer);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool has_pointer(const std::vector<SchemaProblem>& problems, std::string_view pointer) {
  for (const auto& p : problems)
    if (p.pointer == pointer) return true;
  return false;
}

// ---- JSON-Schema-Test-Suite, draft 7 ------------------------------------------------------------------------------

const std::filesystem::path kSuite = "/usr/share/json-schema-test-suite";

// Groups whose "$ref"s name another document. roster never fetches one (nor resolves a relative reference against
// an "$id"), so instead of validating, each must fail to compile with the reference as the problem. refRemote.json
// (all of it) reads documents from http://localhost:1234; the groups below name the draft-07 metaschema by its URL,
// or refer to "node" and "tree" relative to an "$id" of http://localhost:1234/tree.
const std::set<std::pair<std::string, std::string>> kRemoteGroups = {
    {"definitions.json", "valid definition"},
    {"definitions.json", "invalid definition"},
    {"ref.json", "remote ref, containing refs itself"},
    {"ref.json", "Recursive references between schemas"},
};

// Every other case passes, so there is no skip list.
struct SuiteCount {
  int run = 0, rejected_remote = 0;
};

void run_suite_file(const std::filesystem::path& file, SuiteCount& count) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const rapidjson::Document groups = json(text.str());
  ASSERT_TRUE(groups.IsArray()) << file;
  const std::string name = file.filename().string();
  for (const auto& group : groups.GetArray()) {
    const std::string group_name = group["description"].GetString();
    const rapidjson::Value& schema = group["schema"];
    const auto& cases = group["tests"].GetArray();
    if (name == "refRemote.json" || kRemoteGroups.count({name, group_name})) {
      const auto compiled = CompiledSchema::compile(schema);
      if (compiled)
        ADD_FAILURE() << name << " / " << group_name << " compiled";
      else
        EXPECT_TRUE(compiled.error().where.ends_with("/$ref")) << name << " / " << group_name << ": "
                                                               << compiled.error().where;
      const auto problems = check_json_schema(schema, schema);
      EXPECT_FALSE(problems.empty()) << name << " / " << group_name;
      for (const auto& p : problems) EXPECT_TRUE(p.message.find("remote reference") != std::string::npos) << p.message;
      count.rejected_remote += static_cast<int>(cases.Size());
      continue;
    }
    EXPECT_EQ(describe(check_json_schema(schema, schema)), " (none)") << name << " / " << group_name;
    const auto compiled = CompiledSchema::compile(schema);
    if (!compiled) {
      ADD_FAILURE() << name << " / " << group_name << ": " << compiled.error().to_string();
      continue;
    }
    for (const auto& test : cases) {
      const std::string case_name = test["description"].GetString();
      const bool valid = test["valid"].GetBool();
      const auto problems = compiled->validate(test["data"]);
      EXPECT_EQ(problems.empty(), valid) << name << " / " << group_name << " / " << case_name << describe(problems);
      ++count.run;
    }
  }
}

TEST(JsonSchemaSuite, Draft7) {
  ASSERT_TRUE(std::filesystem::is_directory(kSuite / "tests/draft7")) << "install json-schema-test-suite";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kSuite / "tests/draft7"))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  SuiteCount count;
  for (const auto& file : files) run_suite_file(file, count);
  std::printf("draft7 suite: %zu files, %d cases run, 0 skipped, %d set aside as remote references (rejected)\n",
              files.size(), count.run, count.rejected_remote);
  EXPECT_GE(files.size(), 30u);
  EXPECT_GE(count.run, 350);
}

// ---- Validation problems and their pointers -----------------------------------------------------------------------

TEST(CompiledSchema, ProblemsPointIntoTheInstance) {
  const auto schema = json(R"({
    "type": "object",
    "properties": {
      "users": {"type": "array", "items": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "a/b~c": {"type": "integer"}}
      }}
    }
  })");
  const CompiledSchema compiled = compile(schema);
  EXPECT_TRUE(compiled.validate(json(R"({"users": [{"name": "a"}]})")).empty());
  const auto problems = compiled.validate(json(R"({"users": [{"name": "a"}, {"name": 5}, {"a/b~c": "x"}]})"));
  // valijson's summaries ("Failed to validate item #1 in array.") give way to the problems they summarise.
  EXPECT_EQ(sorted(pointers(problems)), (std::vector<std::string>{"/users/1/name", "/users/2", "/users/2/a~1b~0c"}))
      << describe(problems);
  EXPECT_TRUE(std::any_of(problems.begin(), problems.end(), [](const SchemaProblem& p) {
    return p.pointer == "/users/2" && p.message.find("'name'") != std::string::npos;
  })) << describe(problems);
}

TEST(CompiledSchema, RootProblemsAndFalseSchemas) {
  const auto schema = json(R"({"type": "object", "properties": {"gone": false}})");
  const CompiledSchema compiled = compile(schema);
  EXPECT_EQ(pointers(compiled.validate(json("[]"))), std::vector<std::string>{""});
  // A false subschema says nothing itself; valijson's summary at the parent is what is left, and it names the member.
  const auto problems = compiled.validate(json(R"({"gone": 1})"));
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_NE(problems[0].message.find("gone"), std::string::npos);
  EXPECT_EQ(pointers(compile(json("false")).validate(json("1"))), std::vector<std::string>{""});
}

TEST(CompiledSchema, SchemaInsideAnEnclosingDocument) {
  const auto doc = json(R"({
    "openapi": "3.1.0",
    "components": {"schemas": {
      "Pet": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
      }},
      "Tag": {"type": "object", "properties": {"label": {"type": "string", "maxLength": 3}}}
    }},
    "paths": {"/pets": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
      "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
    }}}}}}}
  })");
  const CompiledSchema pet = compile(doc, "/components/schemas/Pet");
  EXPECT_TRUE(pet.validate(json(R"({"name": "rex", "tags": [{"label": "a"}]})")).empty());
  EXPECT_EQ(pointers(pet.validate(json(R"({"name": "rex", "tags": [{"label": "long"}]})"))),
            std::vector<std::string>{"/tags/0/label"});
  const CompiledSchema list = compile(doc, "/paths/~1pets/get/responses/200/content/application~1json/schema");
  EXPECT_EQ(pointers(list.validate(json(R"([{"name": "a"}, {"tags": []}])"))), std::vector<std::string>{"/1"});
  EXPECT_TRUE(check_json_schema(doc, doc["components"]["schemas"]["Pet"], "/components/schemas/Pet").empty());
}

TEST(CompiledSchema, RecursiveSchemasCompileAndValidate) {
  const auto schema = json(R"({
    "$ref": "#/definitions/node",
    "definitions": {"node": {"type": "object", "required": ["value"], "properties": {
      "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}
    }}}
  })");
  EXPECT_TRUE(check_json_schema(schema, schema).empty());
  const CompiledSchema tree = compile(schema);
  EXPECT_TRUE(tree.validate(json(R"({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]})")).empty());
  const auto problems =
      tree.validate(json(R"({"value": 1, "children": [{"value": 2, "children": [{"value": 3}, {"value": "x"}]}]})"));
  EXPECT_EQ(pointers(problems), std::vector<std::string>{"/children/0/children/1/value"}) << describe(problems);
  // Mutual recursion through properties descends into the value each time, so it is fine too.
  const auto mutual = json(R"({"definitions": {
    "a": {"properties": {"b": {"$ref": "#/definitions/b"}}}, "b": {"properties": {"a": {"$ref": "#/definitions/a"}}}
  }, "$ref": "#/definitions/a"})");
  EXPECT_EQ(pointers(compile(mutual).validate(json(R"({"b": {"a": {"b": 5}}})"))), std::vector<std::string>{});
}

TEST(CompiledSchema, NullableFollowsOpenApi30) {
  const auto doc = json(R"({"openapi": "3.0.3", "components": {"schemas": {
    "Name": {"type": "string", "nullable": true},
    "Plain": {"type": "string"},
    "Untyped": {"enum": ["a"], "nullable": true},
    "Listed": {"type": ["integer", "string"], "nullable": true}
  }}})");
  const CompiledSchema name = compile(doc, "/components/schemas/Name");
  EXPECT_TRUE(name.validate(json("null")).empty());
  EXPECT_TRUE(name.validate(json(R"("x")")).empty());
  EXPECT_FALSE(name.validate(json("5")).empty());
  EXPECT_FALSE(compile(doc, "/components/schemas/Plain").validate(json("null")).empty());
  // OpenAPI 3.0.3: nullable only widens an explicit "type"; other keywords still decide.
  EXPECT_FALSE(compile(doc, "/components/schemas/Untyped").validate(json("null")).empty());
  EXPECT_TRUE(compile(doc, "/components/schemas/Listed").validate(json("null")).empty());
}

TEST(CompiledSchema, OpenApi30BooleanExclusiveBounds) {
  const auto doc = json(R"({"openapi": "3.0.0", "components": {"schemas": {
    "Positive": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": false}
  }}})");
  const auto& schema = doc["components"]["schemas"]["Positive"];
  EXPECT_EQ(describe(check_json_schema(doc, schema, "/components/schemas/Positive")), " (none)");
  const CompiledSchema positive = compile(doc, "/components/schemas/Positive");
  EXPECT_FALSE(positive.validate(json("0")).empty());
  EXPECT_TRUE(positive.validate(json("0.5")).empty());
  EXPECT_TRUE(positive.validate(json("10")).empty());
  // In plain draft-07 the boolean form is not allowed.
  EXPECT_EQ(sorted(pointers(check_json_schema(schema, schema))),
            (std::vector<std::string>{"/exclusiveMaximum", "/exclusiveMinimum"}));
}

TEST(CompiledSchema, FormatsAreCheckedOnStringsOnly) {
  const auto schema = json(R"({"properties": {
    "when": {"type": "string", "format": "date-time"}, "day": {"format": "date"}, "at": {"format": "time"},
    "count": {"type": "integer", "format": "int32"}, "mail": {"type": "string", "format": "email"}
  }})");
  const CompiledSchema compiled = compile(schema);
  EXPECT_TRUE(compiled
                  .validate(json(R"({"when": "2024-02-29T23:59:60.5+01:00", "day": "2023-12-31", "at": "08:00:00Z",
                                         "count": 7, "mail": "not checked"})"))
                  .empty());
  const auto problems =
      compiled.validate(json(R"({"when": "2023-02-29T00:00:00Z", "day": "2023-1-1", "at": "25:00:00Z"})"));
  EXPECT_EQ(sorted(pointers(problems)), (std::vector<std::string>{"/at", "/day", "/when"})) << describe(problems);
  // Formats apply to strings only, so a number with a date format is fine.
  EXPECT_TRUE(compiled.validate(json(R"({"day": 20240101})")).empty());
}

TEST(CompiledSchema, DraftThreeKeywordsAreIgnoredLikeAnyUnknownKeyword) {
  const auto schema = json(R"({"id": "not-a-scope", "divisibleBy": 3, "properties": {"id": {"type": "integer"}},
                               "definitions": {"x": {"type": "string"}},
                               "additionalProperties": {"$ref": "#/definitions/x"}})");
  EXPECT_TRUE(check_json_schema(schema, schema).empty());
  const CompiledSchema compiled = compile(schema);
  EXPECT_TRUE(compiled.validate(json(R"({"id": 4, "other": "s"})")).empty());
  EXPECT_EQ(pointers(compiled.validate(json(R"({"id": "4", "other": 1})"))),
            (std::vector<std::string>{"/id", "/other"}));
}

// ---- Checking schemas ---------------------------------------------------------------------------------------------

TEST(CheckJsonSchema, ReportsMetaschemaViolationsWithPointers) {
  for (const auto& [text, pointer] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type": 5})", "/type"},
           {R"({"type": "int"})", "/type"},
           {R"({"required": "a"})", "/required"},
           {R"({"minimum": "x"})", "/minimum"},
           {R"({"maxLength": -1})", "/maxLength"},
           {R"({"properties": {"a": {"items": 3}}})", "/properties/a/items"},
           {R"({"allOf": []})", "/allOf"},
           {R"({"anyOf": [{"type": "string"}, {"enum": 1}]})", "/anyOf/1/enum"},
       }) {
    const auto schema = json(text);
    const auto problems = check_json_schema(schema, schema);
    EXPECT_FALSE(problems.empty()) << text;
    for (const auto& p : problems) EXPECT_EQ(p.pointer, pointer) << text << describe(problems);
    const auto compiled = CompiledSchema::compile(schema);
    ASSERT_FALSE(compiled) << text << " compiled";
    EXPECT_EQ(compiled.error().kind, ErrorKind::Rejected) << text;
    EXPECT_EQ(compiled.error().code, "invalid_schema") << text;
    EXPECT_EQ(compiled.error().where, pointer) << text;
  }
  const auto fine = json(R"({"type": ["string", "null"], "required": [], "minimum": 1.5, "items": [true, {}]})");
  EXPECT_EQ(describe(check_json_schema(fine, fine)), " (none)");
}

TEST(CheckJsonSchema, PointersStartAtTheBasePointer) {
  const auto doc = json(R"({"components": {"schemas": {"Bad": {"properties": {"n": {"type": 5}}}}}})");
  const auto& bad = doc["components"]["schemas"]["Bad"];
  EXPECT_EQ(pointers(check_json_schema(doc, bad, "/components/schemas/Bad")),
            std::vector<std::string>{"/components/schemas/Bad/properties/n/type"});
  // A document embedded in a request body: problems point into the body.
  EXPECT_EQ(pointers(check_json_schema(bad, bad, "/document")),
            std::vector<std::string>{"/document/properties/n/type"});
}

TEST(CheckJsonSchema, ReportsReferencesThatDoNotResolve) {
  const auto schema = json(R"({
    "properties": {
      "a": {"$ref": "#/definitions/missing"},
      "b": {"$ref": "http://example.com/other.json#/x"},
      "c": {"$ref": "#/definitions/list"},
      "d": {"$ref": "#anchor"},
      "e": {"$ref": "#/definitions/ok"},
      "$ref": {"type": "string"}
    },
    "definitions": {"list": [1], "ok": {"type": "string"}, "inner": {"items": {"$ref": "#/nowhere"}}}
  })");
  const auto problems = check_json_schema(schema, schema);
  // "list" is no schema: the metaschema says so where it is, and the reference to it where that is.
  EXPECT_EQ(pointers(problems),
            (std::vector<std::string>{"/definitions/list", "/properties/a/$ref", "/properties/b/$ref",
                                      "/properties/c/$ref", "/properties/d/$ref", "/definitions/inner/items/$ref"}))
      << describe(problems);
  const auto compiled = CompiledSchema::compile(schema);
  ASSERT_FALSE(compiled) << "compiled";
  EXPECT_TRUE(has_pointer(problems, compiled.error().where)) << compiled.error().where;
}

TEST(CheckJsonSchema, ReferencesResolveAgainstTheRoot) {
  const auto doc = json(R"({"components": {"schemas": {
    "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
    "B": {"$ref": "#/components/schemas/Gone"}
  }}})");
  const auto& schemas = doc["components"]["schemas"];
  EXPECT_TRUE(check_json_schema(doc, schemas["A"], "/components/schemas/A").empty()) << "B's problem is B's";
  EXPECT_EQ(pointers(check_json_schema(doc, schemas["B"], "/components/schemas/B")),
            std::vector<std::string>{"/components/schemas/B/$ref"});
  // Compiling A needs B, so the problem stops it, reported where it is.
  const auto a = CompiledSchema::compile(doc, "/components/schemas/A");
  ASSERT_FALSE(a) << "compiled";
  EXPECT_EQ(a.error().where, "/components/schemas/B/$ref");
  // A schema passed alone (not inside root) resolves against itself.
  const auto alone = json(R"({"$ref": "#/definitions/x", "definitions": {"x": {"type": "string"}}})");
  EXPECT_TRUE(check_json_schema(doc, alone).empty());
}

TEST(CheckJsonSchema, ReferencesArePercentDecodedStrictly) {
  const auto schema = json(R"({
    "properties": {"a": {"$ref": "#/definitions/a%20b"}, "bad": {"$ref": "#/definitions/a%2"}},
    "definitions": {"a b": {"type": "string"}}
  })");
  const auto problems = check_json_schema(schema, schema);
  ASSERT_EQ(pointers(problems), std::vector<std::string>{"/properties/bad/$ref"}) << describe(problems);
  EXPECT_NE(problems[0].message.find("not a valid URI fragment"), std::string::npos) << problems[0].message;
  const auto fine =
      json(R"({"properties": {"a": {"$ref": "#/definitions/a%20b"}}, "definitions": {"a b": {"type": "string"}}})");
  EXPECT_EQ(pointers(compile(fine).validate(json(R"({"a": 1})"))), std::vector<std::string>{"/a"});
  // resolve_local_ref, which the OpenAPI checks use, decodes as strictly, and takes %00 for a NUL in a key.
  const auto doc = json(R"({"a b": 1, "n\u0000l": 2})");
  EXPECT_EQ(resolve_local_ref(doc, "#/a%20b"), &doc["a b"]);
  EXPECT_EQ(resolve_local_ref(doc, "#/a%2"), nullptr);
  const rapidjson::Value* nul = resolve_local_ref(doc, "#/n%00l");
  ASSERT_NE(nul, nullptr);
  EXPECT_EQ(nul->GetInt(), 2);
}

TEST(CheckJsonSchema, LoopsThatNeverReachTheValueAreProblems) {
  const auto self = json(R"({"$ref": "#"})");
  EXPECT_EQ(pointers(check_json_schema(self, self)), std::vector<std::string>{"/$ref"});
  EXPECT_FALSE(CompiledSchema::compile(self));
  const auto through_all_of = json(R"({"definitions": {
    "a": {"allOf": [{"$ref": "#/definitions/b"}]}, "b": {"anyOf": [{"type": "null"}, {"$ref": "#/definitions/a"}]}
  }, "$ref": "#/definitions/a"})");
  const auto problems = check_json_schema(through_all_of, through_all_of);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_TRUE(problems[0].pointer.ends_with("/$ref")) << problems[0].pointer;
  EXPECT_FALSE(CompiledSchema::compile(through_all_of));
  // Inside a document: the loop closes beyond A, so A reports it at its own "$ref".
  const auto doc = json(R"({"components": {"schemas": {"A": {"not": {"$ref": "#/components/schemas/B"}},
                                                       "B": {"oneOf": [{"$ref": "#/components/schemas/A"}]}}}})");
  EXPECT_EQ(pointers(check_json_schema(doc, doc["components"]["schemas"]["A"], "/components/schemas/A")),
            std::vector<std::string>{"/components/schemas/A/not/$ref"});
}

TEST(CheckJsonSchema, BadRegularExpressionsAreProblems) {
  const auto schema = json(R"({"properties": {
    "a": {"pattern": "("}, "b": {"pattern": "(x)\\1"}, "c": {"pattern": "(a{1000}){1000}"}, "d": {"pattern": "^[a-z]+$"}
  }, "patternProperties": {"[": {}}})");
  const auto problems = check_json_schema(schema, schema);
  EXPECT_EQ(pointers(problems), (std::vector<std::string>{"/patternProperties/[", "/properties/a/pattern",
                                                          "/properties/b/pattern", "/properties/c/pattern"}))
      << describe(problems);
}

// ---- Bad input never crashes --------------------------------------------------------------------------------------

TEST(CompiledSchema, LongStringsMatchPatternsWithoutExhaustingTheStack) {
  // std::regex's default matcher recurses per character and dies on strings of a few tens of KiB.
  const auto schema = json(R"({"pattern": "^(a|b)*$", "properties": {"d": {"format": "date-time"}}})");
  const CompiledSchema compiled = compile(schema);
  rapidjson::Document big;
  big.SetString(std::string(1 << 17, 'a'), big.GetAllocator());  // four times what overflows an 8 MiB stack
  EXPECT_TRUE(compiled.validate(big).empty());
  big.SetString(std::string(1 << 17, 'a') + "c", big.GetAllocator());
  EXPECT_FALSE(compiled.validate(big).empty());
  rapidjson::Document date;
  date.SetObject();
  date.AddMember("d", rapidjson::Value(std::string(1 << 20, '1'), date.GetAllocator()), date.GetAllocator());
  EXPECT_EQ(pointers(compiled.validate(date)), std::vector<std::string>{"/d"});
}

TEST(CompiledSchema, LongPropertyNamesUnderPatternPropertiesAreRefused) {
  const auto schema = json(R"({"patternProperties": {"^(a|b)*$": {"type": "integer"}}})");
  const CompiledSchema compiled = compile(schema);
  EXPECT_EQ(pointers(compiled.validate(json(R"({"ab": "x"})"))), std::vector<std::string>{"/ab"});
  rapidjson::Document doc;
  doc.SetObject();
  const std::string name(100000, 'a');
  doc.AddMember(rapidjson::Value(name, doc.GetAllocator()), rapidjson::Value(1), doc.GetAllocator());
  const auto problems = compiled.validate(doc);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "/" + name);
}

TEST(CompiledSchema, DeepValuesAndSchemasAreRefused) {
  const CompiledSchema any_array = compile(json(R"({"items": {"$ref": "#"}})"));
  EXPECT_TRUE(any_array.validate(json(std::string(100, '[') + std::string(100, ']'))).empty());
  const auto deep = any_array.validate(deep_json(std::string(5000, '[') + std::string(5000, ']')));
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_EQ(deep[0].pointer, "");
  std::string schema_text = "{}";
  for (int i = 0; i < 3000; ++i) schema_text = R"({"not": )" + schema_text + "}";
  const auto schema = deep_json(schema_text);
  EXPECT_EQ(pointers(check_json_schema(schema, schema)), std::vector<std::string>{""});
  EXPECT_FALSE(CompiledSchema::compile(schema));
}

TEST(CompiledSchema, BadPointersAreErrors) {
  const auto doc = json(R"({"a": {"type": "string"}})");
  const auto missing = CompiledSchema::compile(doc, "/missing");
  ASSERT_FALSE(missing) << "compiled";
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.error().where, "/missing");
  const auto not_a_pointer = CompiledSchema::compile(doc, "a");
  ASSERT_FALSE(not_a_pointer) << "compiled";
  EXPECT_EQ(not_a_pointer.error().code, "invalid_pointer");
  const auto not_a_schema = CompiledSchema::compile(doc, "/a/type");  // a string is not a schema
  ASSERT_FALSE(not_a_schema) << "compiled";
  EXPECT_EQ(not_a_schema.error().code, "invalid_schema");
}

TEST(CompiledSchema, MovesAndValidatesFromManyThreads) {
  CompiledSchema moved = compile(json(R"({"properties": {"id": {"pattern": "^[0-9]{3}$"}}})"));
  CompiledSchema compiled(std::move(moved));
  const auto good = json(R"({"id": "123"})");
  const auto bad = json(R"({"id": "12a"})");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (!compiled.validate(good).empty() || pointers(compiled.validate(bad)) != std::vector<std::string>{"/id"})
          ++wrong;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace roster::governance
