#include "roster/governance/openapi_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "roster/governance/json_document.hpp"
#include "governance_test_support.hpp"

namespace roster::governance {
namespace {

rapidjson::Document data_file(const std::string& name) {
  const char* root = std::getenv("ROSTER_SOURCE_DIR");
  const std::string path = std::string(root ? root : ".") + "/tests/governance/data/openapi_check/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path << " (is ROSTER_SOURCE_DIR set?)";
  std::stringstream text;
  text << in.rdbuf();
  return json(text.str());
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

// A 3.0 document with the given paths (and components, when given), valid apart from them.
std::string doc30(std::string_view paths, std::string_view components = "{}") {
  return R"({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": )" + std::string(paths) +
         R"(, "components": )" + std::string(components) + "}";
}

// The pointers of the problems check_openapi finds in `text` (parsed without parse_json's depth
// limit, so that check_openapi's own limit is what is tested).
std::vector<std::string> problems_in(const std::string& text) {
  const auto doc = deep_json(text);
  const auto problems = check_openapi(doc);
  EXPECT_EQ(problems.size(), pointers(problems).size());
  for (const auto& p : problems) EXPECT_FALSE(p.message.empty()) << p.pointer;
  return pointers(problems);
}

using Pointers = std::vector<std::string>;

const std::string kOk = R"({"200": {"description": "ok"}})";

TEST(CheckOpenApi, ValidDocumentsHaveNoProblems) {
  for (const char* name : {"valid-3.0.json", "valid-3.1.json"}) {
    const auto doc = data_file(name);
    EXPECT_EQ(describe(check_openapi(doc)), " (none)") << name;
  }
}

TEST(CheckOpenApi, DocumentMustBeAnObject) {
  EXPECT_EQ(problems_in("[]"), Pointers{""});
}

TEST(CheckOpenApi, AbsurdlyDeepDocumentsAreRefusedNotWalked) {
  const std::string deep = std::string(3000, '[') + std::string(3000, ']');
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"x-deep": )" + deep + "}}")), Pointers{""});
}

TEST(CheckOpenApi, VersionIs30xOr31x) {
  const std::string rest = R"("info": {"title": "t", "version": "1"}, "paths": {})";
  EXPECT_EQ(problems_in("{" + rest + "}"), Pointers{"/openapi"});
  for (const char* bad : {"3", "\"2.0\"", "\"3.2.0\"", "\"3.0\"", "\"3.0.x\"", "\"swagger\""})
    EXPECT_EQ(problems_in(std::string(R"({"openapi": )") + bad + ", " + rest + "}"), Pointers{"/openapi"}) << bad;
  for (const char* good : {"\"3.0.0\"", "\"3.0.3\"", "\"3.1.0\"", "\"3.1.12\""})
    EXPECT_EQ(problems_in(std::string(R"({"openapi": )") + good + ", " + rest + "}"), Pointers{}) << good;
}

TEST(CheckOpenApi, InfoHasTitleAndVersion) {
  EXPECT_EQ(problems_in(R"({"openapi": "3.0.3", "paths": {}})"), Pointers{"/info"});
  EXPECT_EQ(problems_in(R"({"openapi": "3.0.3", "info": [], "paths": {}})"), Pointers{"/info"});
  EXPECT_EQ(problems_in(R"({"openapi": "3.0.3", "info": {"version": "1"}, "paths": {}})"), Pointers{"/info/title"});
  EXPECT_EQ(problems_in(R"({"openapi": "3.0.3", "info": {"title": "t", "version": 1}, "paths": {}})"),
            Pointers{"/info/version"});
}

TEST(CheckOpenApi, PathsAreRequiredIn30AndKeyedBySlash) {
  EXPECT_EQ(problems_in(R"({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}})"), Pointers{"/paths"});
  EXPECT_EQ(problems_in(R"({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}})"), Pointers{"/paths"});
  EXPECT_EQ(problems_in(R"({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "webhooks": {}})"), Pointers{});
  EXPECT_EQ(problems_in(R"({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "components": {}})"),
            Pointers{});
  EXPECT_EQ(problems_in(doc30("[]")), Pointers{"/paths"});
  EXPECT_EQ(problems_in(doc30(R"({"users": {}, "/ok": {}, "x-ext": 1})")), Pointers{"/paths/users"});
}

TEST(CheckOpenApi, OperationsAreObjectsWithResponses) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": 5}})")), Pointers{"/paths/~1a/get"});
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {}}})")), Pointers{"/paths/~1a/get/responses"});
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": []}}})")), Pointers{"/paths/~1a/get/responses"});
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": {"x-only": 1}}}})")),
            Pointers{"/paths/~1a/get/responses"});
  // 3.1 made "responses" optional, but not empty.
  const std::string head31 = R"({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": )";
  EXPECT_EQ(problems_in(head31 + R"({"/a": {"get": {}}}})"), Pointers{});
  EXPECT_EQ(problems_in(head31 + R"({"/a": {"get": {"responses": {}}}}})"), Pointers{"/paths/~1a/get/responses"});
}

TEST(CheckOpenApi, ResponseKeysAreStatusCodes) {
  const auto at = [](std::string_view responses) {
    return problems_in(doc30(R"({"/a": {"get": {"responses": )" + std::string(responses) + "}}}"));
  };
  EXPECT_EQ(at(R"({"200": {"description": "a"}, "4XX": {"description": "b"}, "default": {"description": "c"}})"),
            Pointers{});
  for (const char* bad : {"2000", "600", "099", "2xx", "6XX", "ok", "20"})
    EXPECT_EQ(at(std::string(R"({")") + bad + R"(": {"description": "a"}})"),
              Pointers{"/paths/~1a/get/responses/" + std::string(bad)})
        << bad;
}

TEST(CheckOpenApi, ResponsesHaveDescriptions) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": {"200": {}}}}})")),
            Pointers{"/paths/~1a/get/responses/200/description"});
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": {"200": 7}}}})")),
            Pointers{"/paths/~1a/get/responses/200"});
  EXPECT_EQ(problems_in(doc30(R"({})", R"({"responses": {"Bad": {"content": {}}}})")),
            Pointers{"/components/responses/Bad/description"});
}

TEST(CheckOpenApi, RequestBodiesHaveContent) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"post": {"requestBody": {"required": true}, "responses": )" + kOk + "}}}")),
            Pointers{"/paths/~1a/post/requestBody/content"});
  EXPECT_EQ(problems_in(doc30(R"({})", R"({"requestBodies": {"B": {"content": []}}})")),
            Pointers{"/components/requestBodies/B/content"});
}

TEST(CheckOpenApi, ParametersHaveNameAndLocation) {
  const auto at = [](std::string_view parameters) {
    return problems_in(
        doc30(R"({"/a": {"get": {"parameters": )" + std::string(parameters) + R"(, "responses": )" + kOk + "}}}"));
  };
  const std::string p = "/paths/~1a/get/parameters";
  EXPECT_EQ(at(R"({})"), Pointers{p});
  EXPECT_EQ(at(R"([5])"), Pointers{p + "/0"});
  EXPECT_EQ(at(R"([{"in": "query", "schema": {}}])"), Pointers{p + "/0/name"});
  EXPECT_EQ(at(R"([{"name": "q", "schema": {}}])"), Pointers{p + "/0/in"});
  EXPECT_EQ(at(R"([{"name": "q", "in": "body", "schema": {}}])"), Pointers{p + "/0/in"});
  EXPECT_EQ(at(R"([{"name": "q", "in": "query"}])"), Pointers{p + "/0"});
  EXPECT_EQ(at(R"([{"name": "q", "in": "query", "schema": {}, "content": {"text/plain": {}}}])"), Pointers{p + "/0"});
  EXPECT_EQ(problems_in(doc30(R"({})", R"({"parameters": {"P": {"name": "p", "in": "nowhere", "schema": {}}}})")),
            Pointers{"/components/parameters/P/in"});
}

TEST(CheckOpenApi, PathParametersAreRequired) {
  EXPECT_EQ(problems_in(doc30(R"({"/a/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "schema": {}}],
                                                       "responses": )" +
                              kOk + "}}}")),
            Pointers{"/paths/~1a~1{id}/get/parameters/0/required"});
  EXPECT_EQ(problems_in(doc30(R"({"/a/{id}": {"parameters": [{"name": "id", "in": "path", "required": false,
                                                             "schema": {}}]}})")),
            Pointers{"/paths/~1a~1{id}/parameters/0/required"});
}

TEST(CheckOpenApi, NoParameterTwiceInOneList) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"parameters": [
      {"name": "q", "in": "query", "schema": {}}, {"name": "q", "in": "header", "schema": {}},
      {"$ref": "#/components/parameters/Q"}], "responses": )" +
                                  kOk + "}}}",
                              R"({"parameters": {"Q": {"name": "q", "in": "query", "schema": {}}}})")),
            Pointers{"/paths/~1a/get/parameters/2"});
  // An operation's parameter overrides its path item's: that is no duplicate.
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"parameters": [{"name": "q", "in": "query", "schema": {}}],
      "get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "integer"}}], "responses": )" +
                              kOk + "}}}")),
            Pointers{});
}

TEST(CheckOpenApi, TemplatesAndPathParametersMatch) {
  const std::string id = R"({"name": "id", "in": "path", "required": true, "schema": {}})";
  // Declared on the operation, on the path item, or through a reference: all fine.
  EXPECT_EQ(problems_in(doc30(R"({"/u/{id}": {"get": {"parameters": [)" + id + R"(], "responses": )" + kOk + "}}}")),
            Pointers{});
  EXPECT_EQ(problems_in(doc30(R"({"/u/{id}": {"parameters": [)" + id + R"(], "get": {"responses": )" + kOk + "}}}")),
            Pointers{});
  EXPECT_EQ(problems_in(doc30(R"({"/u/{id}": {"get": {"parameters": [{"$ref": "#/components/parameters/Id"}],
                                                       "responses": )" +
                                  kOk + "}}}",
                              R"({"parameters": {"Id": )" + id + "}}")),
            Pointers{});
  // A template nobody declares is the operation's problem.
  EXPECT_EQ(
      problems_in(doc30(R"({"/u/{id}": {"get": {"responses": )" + kOk + "}, \"put\": {\"responses\": " + kOk + "}}}")),
      (Pointers{"/paths/~1u~1{id}/get", "/paths/~1u~1{id}/put"}));
  // A path parameter that is not in the template, on the operation or on the path item.
  EXPECT_EQ(problems_in(doc30(R"({"/u": {"get": {"parameters": [)" + id + R"(], "responses": )" + kOk + "}}}")),
            Pointers{"/paths/~1u/get/parameters/0"});
  EXPECT_EQ(problems_in(doc30(R"({"/u": {"parameters": [)" + id + "]}}")), Pointers{"/paths/~1u/parameters/0"});
  EXPECT_EQ(problems_in(doc30(R"({"/u/{id": {}, "/v/{}": {}})")), (Pointers{"/paths/~1u~1{id", "/paths/~1v~1{}"}));
}

TEST(CheckOpenApi, OperationIdsAreUnique) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"operationId": "x", "responses": )" + kOk +
                              R"(}, "put": {"operationId": "y", "responses": )" + kOk +
                              R"(}}, "/b": {"get": {"operationId": "x", "responses": )" + kOk + "}}}")),
            Pointers{"/paths/~1b/get/operationId"});
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"operationId": 5, "responses": )" + kOk + "}}}")),
            Pointers{"/paths/~1a/get/operationId"});
}

TEST(CheckOpenApi, ReferencesResolveLocally) {
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Gone"}],
                                                  "responses": {"200": {"$ref": "other.yaml#/responses/Ok"}}}}})")),
            (Pointers{"/paths/~1a/get/parameters/0/$ref", "/paths/~1a/get/responses/200/$ref"}));
  EXPECT_EQ(problems_in(doc30(R"({})", R"({"parameters": {"A": {"$ref": "#/components/parameters/B"},
                                                          "B": {"$ref": "#/components/parameters/A"}}})")),
            (Pointers{"/components/parameters/A/$ref", "/components/parameters/B/$ref"}));
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": {"200": {"$ref": 5}}}}})")),
            Pointers{"/paths/~1a/get/responses/200/$ref"});
  // Example values, link parameters and extensions are data: a "$ref" in them is not a reference.
  EXPECT_EQ(problems_in(doc30(R"({"/a": {"get": {"responses": {"200": {"description": "d", "content": {"a/b": {
      "example": {"$ref": "#/x"}, "examples": {"e": {"value": {"$ref": "#/y"}}, "f": {"$ref": "#/z"}}}},
      "links": {"l": {"parameters": {"$ref": "#/w"}}}}}, "x-a": {"$ref": "#/v"}}}})")),
            Pointers{"/paths/~1a/get/responses/200/content/a~1b/examples/f/$ref"});
}

TEST(CheckOpenApi, SchemasAreValidJsonSchemas) {
  EXPECT_EQ(
      problems_in(doc30(R"({"/a": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": 5}}],
      "responses": {"200": {"description": "d", "headers": {"X-Rate": {"schema": {"minimum": "x"}}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}})",
                        R"({"schemas": {"Bad": {"properties": {"n": {"required": "n"}}}, "Good": {}}})")),
      (Pointers{"/paths/~1a/get/parameters/0/schema/type", "/paths/~1a/get/responses/200/headers/X-Rate/schema/minimum",
                "/paths/~1a/get/responses/200/content/application~1json/schema/$ref",
                "/components/schemas/Bad/properties/n/required"}));
  // A schema that loops into itself without reaching the value is refused too.
  EXPECT_EQ(problems_in(doc30(R"({})", R"({"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}}})")),
            Pointers{"/components/schemas/A/allOf/0/$ref"});
}

// JSON lets an object hold a name twice; a JSON Pointer names the first member of that name. A
// schema under the second "/a" has no pointer: it was found by address, its pointer resolved to the
// first "/a" (a number), and check_json_schema dereferenced null (roster-server crashed on such a
// body; found by fuzz/governance_json). It is checked on its own now.
TEST(CheckOpenApi, ASchemaUnderARepeatedNameIsCheckedOnItsOwn) {
  const auto problems = problems_in(doc30(
      R"({"/a": 1, "/a": {"get": {"responses": {"200": {"description": "d",
          "content": {"application/json": {"schema": {"type": 5}}}}}}}})"));
  EXPECT_NE(std::find(problems.begin(), problems.end(), "/paths/~1a/get/responses/200/content/application~1json/schema/type"),
            problems.end());
  const auto doc = json(R"({"a": 1, "a": {"type": "object"}})");
  EXPECT_TRUE(check_json_schema(doc, (doc.MemberEnd() - 1)->value, "/a").empty());  // the second "a"
}

TEST(CheckOpenApi, ReportsEveryProblemInOneDocument) {
  const auto problems = problems_in(R"({
    "openapi": "3.0.3",
    "info": {"title": "t"},
    "paths": {
      "pets": {},
      "/pets/{id}": {
        "get": {"operationId": "get", "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
                "responses": {"200": {}, "999": {"description": "?"}}},
        "post": {"operationId": "get", "requestBody": {}, "responses": {"201": {"$ref": "#/components/responses/No"}}}
      }
    },
    "components": {"schemas": {"S": {"type": "strin"}}}
  })");
  EXPECT_EQ(problems, (Pointers{
                          "/info/version",
                          "/paths/pets",
                          "/paths/~1pets~1{id}/get/responses/200/description",
                          "/paths/~1pets~1{id}/get/responses/999",
                          "/paths/~1pets~1{id}/get/parameters/0/required",
                          "/paths/~1pets~1{id}/post",
                          "/paths/~1pets~1{id}/post/requestBody/content",
                          "/paths/~1pets~1{id}/post/operationId",
                          "/paths/~1pets~1{id}/post/responses/201/$ref",
                          "/components/schemas/S/type",
                      }));
}

// The DOM parser behind every schema rule never builds (or recurses into) a tree deeper than
// kMaxJsonDepth: 150,000 nested arrays are refused with the offset, in one linear pass.
TEST(ParseJson, NestingDeeperThanTheLimitIsRefusedBeforeParsing) {
  const std::string deep = std::string(150'000, '[') + std::string(150'000, ']');
  auto refused = parse_json(deep);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "line 1, column 257 (offset 256): nested deeper than 256 levels");
  const std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json(at_limit));
  // Brackets inside strings are not nesting.
  EXPECT_TRUE(parse_json("[\"" + std::string(1000, '[') + "\\\"\"]"));
  EXPECT_FALSE(parse_json(R"({"a": )" + deep + "}"));
}

}  // namespace
}  // namespace roster::governance
