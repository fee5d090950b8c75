#include "roster/governance/pact.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roster/governance/json_document.hpp"
#include "governance_test_support.hpp"

namespace roster::governance {
namespace {

const char* kOpenApi = R"({
  "openapi": "3.0.3", "info": {"title": "users", "version": "1.0.0"},
  "servers": [{"url": "https://api.example.com/v1/"}],
  "paths": {
    "/users/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {
        "parameters": [{"name": "fields", "in": "query", "schema": {"type": "string"}},
                       {"$ref": "#/components/parameters/Trace"}],
        "responses": {
          "200": {"$ref": "#/components/responses/UserResponse"},
          "404": {"description": "no such user"},
          "4XX": {"description": "bad",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/users/me": {"get": {"responses": {"200": {"description": "me", "content": {"application/json": {"schema": {
        "type": "object", "required": ["me"], "properties": {"me": {"type": "boolean"}}}}}}}}},
    "/users": {
      "get": {
        "parameters": [{"name": "limit", "in": "query", "required": true, "schema": {"type": "integer"}},
                       {"name": "filter", "in": "query", "style": "deepObject", "schema": {"type": "object"}}],
        "responses": {"200": {"description": "users", "content": {"application/json": {"schema": {
            "type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}}
      },
      "post": {
        "parameters": [{"name": "dryRun", "in": "query", "schema": {"type": "boolean"}}],
        "requestBody": {"required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewUser"}}}},
        "responses": {
          "201": {"description": "created",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
          "default": {"description": "error",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
      }
    },
    "/files/{name}.json": {"get": {
      "parameters": [{"name": "session", "in": "cookie", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "file"}}}},
    "/broken": {"get": {"responses": {"200": {"description": "x", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Missing"}}}}}}}
  },
  "components": {
    "schemas": {
      "User": {"type": "object", "required": ["id", "name"],
               "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
      "NewUser": {"type": "object", "required": ["name"],
                  "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}},
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    },
    "responses": {"UserResponse": {"description": "a user",
                                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}},
    "parameters": {"Trace": {"name": "X-Trace-Id", "in": "header", "required": true, "schema": {"type": "string"}}}
  }
})";

std::string pact_with(std::string_view interactions) {
  return R"({"consumer":{"name":"web"},"provider":{"name":"users"},"interactions":[)" + std::string(interactions) +
         R"(],"metadata":{"pactSpecification":{"version":"2.0.0"}}})";
}

ContractVerification verify(std::string_view interactions) {
  const rapidjson::Document pact_doc = json(pact_with(interactions));
  const auto parsed = parse_pact(pact_doc);
  EXPECT_TRUE(parsed) << parsed.error()[0].pointer << ": " << parsed.error()[0].message;
  if (!parsed) return {};
  const rapidjson::Document openapi = json(kOpenApi);
  return verify_pact(*parsed, openapi);
}

std::string describe(const ContractVerification& v) {
  std::string out;
  for (const Finding& f : v.failures) out += "\n  " + f.id + " at '" + f.pointer + "': " + f.message;
  return out.empty() ? " (none)" : out;
}

const Finding* find(const ContractVerification& v, std::string_view id, std::string_view pointer) {
  for (const Finding& f : v.failures)
    if (f.id == id && f.pointer == pointer) return &f;
  return nullptr;
}

#define EXPECT_FAILURE(v, id, pointer) \
  EXPECT_NE(find(v, id, pointer), nullptr) << "expected " << id << " at '" << pointer << "', got" << describe(v)

TEST(Pact, ParsesAV2Pact) {
  const rapidjson::Document pact_doc = json(pact_with(R"(
    {"description": "create user", "providerState": "no users",
     "request": {"method": "post", "path": "/users", "query": "dryRun=true",
                 "headers": {"Content-Type": "application/json"}, "body": {"name": "Bob"}},
     "response": {"status": 201, "body": {"id": 1, "name": "Bob"},
                  "matchingRules": {"$.body.id": {"match": "type"}}}})"));
  const auto parsed = parse_pact(pact_doc);
  ASSERT_TRUE(parsed);
  const Pact& pact = *parsed;
  EXPECT_EQ(pact.consumer, "web");
  EXPECT_EQ(pact.provider, "users");
  EXPECT_EQ(pact.specification, "2.0.0");
  ASSERT_EQ(pact.interactions.size(), 1u);
  const PactInteraction& i = pact.interactions[0];
  EXPECT_EQ(i.description, "create user");
  EXPECT_EQ(i.provider_state, "no users");
  EXPECT_EQ(i.pointer, "/interactions/0");
  EXPECT_EQ(i.request.method, "POST");
  EXPECT_EQ(i.request.query, "dryRun=true");
  ASSERT_EQ(i.request.headers.size(), 1u);
  EXPECT_EQ(i.request.headers[0].second, "application/json");
  EXPECT_EQ(i.request.body, R"({"name":"Bob"})");
  EXPECT_EQ(i.response.status, 201);
  EXPECT_EQ(i.response.body, R"({"id":1,"name":"Bob"})");
}

struct Malformed {
  std::string json;
  std::vector<std::string> pointers;  // every problem, in order
};

TEST(Pact, RejectsMalformedPactsWithEveryProblem) {
  const std::string ok_interaction =
      R"({"description":"d","request":{"method":"GET","path":"/x"},"response":{"status":200}})";
  const Malformed cases[] = {
      {"[]", {""}},
      {R"({"provider":{"name":"p"},"interactions":[]})", {"/consumer"}},
      {R"({"consumer":{"name":7},"provider":{"name":"p"},"interactions":[]})", {"/consumer/name"}},
      {R"({"consumer":{"name":"c"},"provider":"p","interactions":{}})", {"/provider", "/interactions"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"}})", {"/interactions"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"},"interactions":[1]})", {"/interactions/0"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"},"interactions":[{"request":{"method":1,"path":"x",
          "query":{"a":["1"]},"headers":{"X-N":2}},"response":{"status":"200"}}]})",
       {"/interactions/0/description", "/interactions/0/request/method", "/interactions/0/request/path",
        "/interactions/0/request/query", "/interactions/0/request/headers/X-N", "/interactions/0/response/status"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"},"interactions":[)" + ok_interaction +
           R"(,{"description":"e","request":{"path":"/x"},"response":{"status":99}}]})",
       {"/interactions/1/request/method", "/interactions/1/response/status"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"},"interactions":[)" + ok_interaction +
           R"(],"metadata":{"pactSpecification":{"version":"3.0.0"}}})",
       {"/metadata/pactSpecification/version"}},
      {R"({"consumer":{"name":"c"},"provider":{"name":"p"},"interactions":[{"description":"d","response":{"status":200},
          "request":{"method":"GET","path":"/x","matchingRules":[]}}]})",
       {"/interactions/0/request/matchingRules"}},
  };
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.json);
    const rapidjson::Document d = json(c.json);
    const auto parsed = parse_pact(d);
    EXPECT_FALSE(parsed);
    std::vector<std::string> pointers;
    if (!parsed)
      for (const SchemaProblem& p : parsed.error()) pointers.push_back(p.pointer);
    EXPECT_EQ(pointers, c.pointers);
  }
}

TEST(Pact, PassingPactVerifies) {
  const auto v = verify(R"(
    {"description": "get user", "request": {"method": "GET", "path": "/users/42", "query": "fields=name",
                                            "headers": {"x-trace-id": "abc"}},
     "response": {"status": 200, "headers": {"Content-Type": "application/json; charset=utf-8"},
                  "body": {"id": 42, "name": "Ann"}}},
    {"description": "me beats {id}", "request": {"method": "GET", "path": "/users/me"},
     "response": {"status": 200, "body": {"me": true}}},
    {"description": "me under the server's base path", "request": {"method": "GET", "path": "/v1/users/me"},
     "response": {"status": 200, "body": {"me": false}}},
    {"description": "create user", "request": {"method": "POST", "path": "/users", "query": "dryRun=true",
                                               "headers": {"Content-Type": "application/json"},
                                               "body": {"name": "Bob", "age": 3}},
     "response": {"status": 201, "body": {"id": 1, "name": "Bob"}}},
    {"description": "create fails", "request": {"method": "POST", "path": "/users", "body": {"name": "Bob"}},
     "response": {"status": 409, "body": {"error": "exists"}}},
    {"description": "list users",
     "request": {"method": "GET", "path": "/users", "query": "limit=10&filter%5Bname%5D=a"},
     "response": {"status": 200, "body": [{"id": 1, "name": "Ann"}]}},
    {"description": "missing user", "request": {"method": "GET", "path": "/users/7", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 404}},
    {"description": "bad id", "request": {"method": "GET", "path": "/users/x", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 400, "body": {"error": "bad id"}}},
    {"description": "a file", "request": {"method": "GET", "path": "/files/report.json",
                                          "headers": {"Cookie": "theme=dark; session=s1"}},
     "response": {"status": 200}})");
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.interactions_checked, 9u);
}

TEST(Pact, PathsAndQueryKeysArePercentDecoded) {
  const auto v = verify(R"(
    {"description": "me, escaped", "request": {"method": "GET", "path": "/users/m%65"},
     "response": {"status": 200, "body": {"me": true}}},
    {"description": "odd key", "request": {"method": "GET", "path": "/users", "query": "limit=1&a%zz+b=2&c+d%21=3"},
     "response": {"status": 200}})");
  // "/users/m%65" is "/users/me", the literal path (not /users/{id}, which would want X-Trace-Id).
  EXPECT_EQ(v.failures.size(), 2u) << describe(v);
  // A key with a malformed escape stays as written, whole; a well-formed one is decoded, '+' as a space.
  const Finding* odd = find(v, "query-parameter-undocumented", "/interactions/1/request/query");
  ASSERT_NE(odd, nullptr) << describe(v);
  EXPECT_NE(odd->message.find("\"a%zz+b\""), std::string::npos) << odd->message;
  EXPECT_NE(describe(v).find("\"c d!\""), std::string::npos) << describe(v);
}

TEST(Pact, OperationNotFound) {
  const auto v = verify(R"(
    {"description": "unknown path", "request": {"method": "GET", "path": "/nope"}, "response": {"status": 200}},
    {"description": "unknown method", "request": {"method": "DELETE", "path": "/users/42"},
     "response": {"status": 204}},
    {"description": "template needs a non-empty segment", "request": {"method": "GET", "path": "/users/"},
     "response": {"status": 200}},
    {"description": "partial segment", "request": {"method": "GET", "path": "/files/.json"},
     "response": {"status": 200}})");
  EXPECT_FAILURE(v, "operation-not-found", "/interactions/0/request");
  const Finding* f = find(v, "operation-not-found", "/interactions/1/request");
  ASSERT_NE(f, nullptr) << describe(v);
  EXPECT_EQ(f->method, "DELETE");
  EXPECT_EQ(f->path, "/users/42");
  EXPECT_EQ(f->severity, Severity::Breaking);
  EXPECT_NE(f->message.find("unknown method"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("no DELETE operation"), std::string::npos) << f->message;
  EXPECT_FAILURE(v, "operation-not-found", "/interactions/2/request");
  EXPECT_FAILURE(v, "operation-not-found", "/interactions/3/request");
  EXPECT_EQ(v.failures.size(), 4u) << describe(v);
  EXPECT_EQ(v.interactions_checked, 4u);
}

TEST(Pact, Parameters) {
  const auto v = verify(R"(
    {"description": "bogus query", "request": {"method": "GET", "path": "/users/42", "query": "fields=a&bogus=1",
                                               "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 200}},
    {"description": "no limit", "request": {"method": "GET", "path": "/users"}, "response": {"status": 200}},
    {"description": "no trace header", "request": {"method": "GET", "path": "/users/42"}, "response": {"status": 200}},
    {"description": "no session cookie", "request": {"method": "GET", "path": "/files/a.json",
                                                     "headers": {"Cookie": "sessionid=1"}},
     "response": {"status": 200}})");
  const Finding* bogus = find(v, "query-parameter-undocumented", "/interactions/0/request/query");
  ASSERT_NE(bogus, nullptr) << describe(v);
  EXPECT_NE(bogus->message.find("\"bogus\""), std::string::npos) << bogus->message;
  EXPECT_FAILURE(v, "required-query-parameter-missing", "/interactions/1/request/query");
  EXPECT_FAILURE(v, "required-header-missing", "/interactions/2/request/headers");
  EXPECT_FAILURE(v, "required-cookie-missing", "/interactions/3/request/headers");
  EXPECT_EQ(v.failures.size(), 4u) << describe(v);
}

TEST(Pact, StatusUndocumented) {
  const auto v = verify(R"(
    {"description": "server error", "request": {"method": "GET", "path": "/users/me"}, "response": {"status": 500}})");
  const Finding* f = find(v, "status-undocumented", "/interactions/0/response/status");
  ASSERT_NE(f, nullptr) << describe(v);
  EXPECT_EQ(f->path, "/users/me");
  EXPECT_NE(f->message.find("500"), std::string::npos) << f->message;
}

TEST(Pact, RequestBodies) {
  const auto v = verify(R"(
    {"description": "invalid body", "request": {"method": "POST", "path": "/users", "body": {"age": -1}},
     "response": {"status": 201}},
    {"description": "no body", "request": {"method": "POST", "path": "/users"}, "response": {"status": 201}},
    {"description": "body to a GET", "request": {"method": "GET", "path": "/users/me", "body": {"x": 1}},
     "response": {"status": 200}},
    {"description": "text body", "request": {"method": "POST", "path": "/users", "body": "Bob",
                                             "headers": {"Content-Type": "text/plain"}},
     "response": {"status": 201}})");
  const Finding* age = find(v, "request-body-invalid", "/interactions/0/request/body/age");
  ASSERT_NE(age, nullptr) << describe(v);
  EXPECT_NE(age->message.find("invalid body"), std::string::npos) << age->message;
  EXPECT_NE(age->message.find("/age"), std::string::npos) << age->message;
  EXPECT_EQ(age->method, "POST");
  // The missing "name" is a problem at the body's root.
  EXPECT_FAILURE(v, "request-body-invalid", "/interactions/0/request/body");
  EXPECT_FAILURE(v, "request-body-missing", "/interactions/1/request");
  EXPECT_FAILURE(v, "request-body-undocumented", "/interactions/2/request/body");
  EXPECT_FAILURE(v, "request-media-type-undocumented", "/interactions/3/request/body");
}

TEST(Pact, ResponseBodies) {
  const auto v = verify(R"(
    {"description": "id as string", "request": {"method": "GET", "path": "/users/42", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 200, "body": {"id": "42", "name": "Ann"}}},
    {"description": "body on a 404", "request": {"method": "GET", "path": "/users/42", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 404, "body": {"error": "gone"}}},
    {"description": "html", "request": {"method": "GET", "path": "/users/me"},
     "response": {"status": 200, "headers": {"Content-Type": "text/html"}, "body": "<p>me</p>"}},
    {"description": "list item", "request": {"method": "GET", "path": "/users", "query": "limit=1"},
     "response": {"status": 200, "body": [{"id": 1}]}},
    {"description": "broken schema", "request": {"method": "GET", "path": "/broken"},
     "response": {"status": 200, "body": {}}})");
  // The 200 response is a $ref to components/responses, whose schema is a $ref to User.
  const Finding* id = find(v, "response-field-type-mismatch", "/interactions/0/response/body/id");
  ASSERT_NE(id, nullptr) << describe(v);
  EXPECT_NE(id->message.find("id as string"), std::string::npos) << id->message;
  EXPECT_NE(id->message.find("$.body.id as string, which the response schema documents as integer"), std::string::npos)
      << id->message;
  EXPECT_FAILURE(v, "response-body-undocumented", "/interactions/1/response/body");
  EXPECT_FAILURE(v, "response-media-type-undocumented", "/interactions/2/response/body");
  EXPECT_FAILURE(v, "schema-uncompilable", "/interactions/4/response/body");
  // A list item that reads only "id" reads a subset of User: nothing to report there.
  for (const Finding& f : v.failures) EXPECT_EQ(f.pointer.rfind("/interactions/3", 0), std::string::npos) << f.message;
}

// A consumer's expectations are a subset of what the provider documents: it may leave documented
// fields out (required or not), but every field it reads must be documented, with a compatible
// type (as its matching rules say), at any depth and whatever the schema's openness.
TEST(Pact, ResponsesAreReadAsASubsetOfTheSchema) {
  const auto v = verify(R"(
    {"description": "reads only the id", "request": {"method": "GET", "path": "/users/42", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 200, "body": {"id": 42}}},
    {"description": "reads an undocumented eta", "request": {"method": "GET", "path": "/users/42", "headers": {"X-Trace-Id": "t"}},
     "response": {"status": 200, "body": {"id": 42, "eta": 5}}},
    {"description": "deep in a list", "request": {"method": "GET", "path": "/users", "query": "limit=1"},
     "response": {"status": 200, "body": [{"id": 1}, {"id": 2, "nick": "x"}]}},
    {"description": "matchers", "request": {"method": "GET", "path": "/users", "query": "limit=1"},
     "response": {"status": 200, "body": [{"id": 1, "name": "a"}],
                  "matchingRules": {"$.body[*].id": {"match": "decimal"}, "$.body[*].name": {"regex": "^[a-z]+$"}}}},
    {"description": "regex on a number", "request": {"method": "GET", "path": "/users", "query": "limit=1"},
     "response": {"status": 200, "body": [{"id": 1}], "matchingRules": {"$.body[*].id": {"match": "regex", "regex": "\\d+"}}}})");
  for (const Finding& f : v.failures) EXPECT_NE(f.pointer.rfind("/interactions/0", 0), 0u) << f.message;
  EXPECT_FAILURE(v, "response-field-undocumented", "/interactions/1/response/body/eta");
  EXPECT_FAILURE(v, "response-field-undocumented", "/interactions/2/response/body/1/nick");
  // A decimal matcher on an integer field: the provider never sends what the consumer expects.
  EXPECT_FAILURE(v, "response-field-type-mismatch", "/interactions/3/response/body/0/id");
  EXPECT_FAILURE(v, "response-field-type-mismatch", "/interactions/4/response/body/0/id");
  EXPECT_EQ(v.failures.size(), 4u) << describe(v);
}

// allOf branching at every level (2^15 paths if expanded whole; the schema compiler allows no
// deeper nesting) is read once per schema.
TEST(Pact, CombinatorsThatBranchAtEveryLevelAreBounded) {
  std::string schemas;
  for (int k = 0; k < 15; ++k)
    schemas += "\"S" + std::to_string(k) + R"(": {"allOf": [{"$ref": "#/components/schemas/S)" + std::to_string(k + 1) +
               R"("}, {"$ref": "#/components/schemas/S)" + std::to_string(k + 1) + R"("}]},)";
  schemas += R"("S15": {"type": "object", "properties": {"id": {"type": "string"}}})";
  const rapidjson::Document openapi = json(R"({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
      "paths": {"/x": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json":
        {"schema": {"$ref": "#/components/schemas/S0"}}}}}}}}, "components": {"schemas": {)" + schemas + "}}}");
  const rapidjson::Document pact_doc = json(pact_with(R"({"description": "d", "request": {"method": "GET", "path": "/x"},
      "response": {"status": 200, "body": {"id": "1", "other": 2}}})"));
  const auto parsed = parse_pact(pact_doc);
  ASSERT_TRUE(parsed);
  const ContractVerification v = verify_pact(*parsed, openapi);
  // "id" is found down the first branch; "other" nowhere.
  ASSERT_EQ(v.failures.size(), 1u) << describe(v);
  EXPECT_EQ(v.failures[0].id, "response-field-undocumented") << describe(v);
}

TEST(Pact, EmptyOrOddOpenApiDocumentsDoNotCrash) {
  const rapidjson::Document pact_doc =
      json(pact_with(R"({"description":"d","request":{"method":"GET","path":"/x"},"response":{"status":200}})"));
  const auto parsed = parse_pact(pact_doc);
  ASSERT_TRUE(parsed);
  for (const char* openapi : {"{}", "[]", R"({"paths":[]})", R"({"paths":{"/x":{"$ref":"#/nowhere"}}})",
                              R"({"paths":{"/x":{"get":{"responses":[]}}}})"}) {
    SCOPED_TRACE(openapi);
    const rapidjson::Document d = json(openapi);
    const ContractVerification v = verify_pact(*parsed, d);
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.interactions_checked, 1u);
  }
}

}  // namespace
}  // namespace roster::governance
