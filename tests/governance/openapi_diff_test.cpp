#include "roster/governance/openapi_diff.hpp"

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "roster/governance/json_document.hpp"

namespace roster::governance {
namespace {

// ---- document builders: every test states only the part it changes --------------------------

std::string Doc(std::string_view paths, std::string_view components = "{}", std::string_view top = "") {
  std::string out = R"({"openapi":"3.0.3","info":{"title":"t","version":"1.0.0"},"paths":)";
  out += paths;
  out += R"(,"components":)";
  out += components;
  if (!top.empty()) out += "," + std::string(top);
  return out + "}";
}

// GET /users answering 200 with `schema`.
std::string GetReturning(std::string_view schema, std::string_view components = "{}") {
  return Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":)" +
                 std::string(schema) + "}}}}}}}",
             components);
}

// POST /users taking a required JSON body with `schema`.
std::string PostTaking(std::string_view schema, std::string_view components = "{}") {
  return Doc(R"({"/users":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":)" +
                 std::string(schema) + R"(}}},"responses":{"204":{"description":"done"}}}}})",
             components);
}

// GET /users with `parameters`.
std::string GetWithParameters(std::string_view parameters, std::string_view components = "{}") {
  return Doc(R"({"/users":{"get":{"parameters":)" + std::string(parameters) +
                 R"(,"responses":{"204":{"description":"done"}}}}})",
             components);
}

// GET /users answering 200 with `headers`.
std::string GetWithHeaders(std::string_view headers, std::string_view components = "{}") {
  return Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok","headers":)" + std::string(headers) + "}}}}}",
             components);
}

constexpr std::string_view kResponseSchema = "/paths/~1users/get/responses/200/content/application~1json/schema";
constexpr std::string_view kBodySchema = "/paths/~1users/post/requestBody/content/application~1json/schema";

struct Expected {
  Severity severity;
  std::string id, method, path, pointer;
};

std::string Describe(Severity severity, std::string_view id, std::string_view method, std::string_view path,
                     std::string_view pointer) {
  return std::string(to_string(severity)) + " " + std::string(id) + " " + std::string(method) + " " +
         std::string(path) + " " + std::string(pointer);
}

class OpenApiDiffTest : public ::testing::Test {
 protected:
  void Diff(const std::string& old_text, const std::string& new_text) {
    const auto old_doc = parse_json(old_text);
    const auto new_doc = parse_json(new_text);
    ASSERT_TRUE(old_doc) << old_doc.error().message << "\n" << old_text;
    ASSERT_TRUE(new_doc) << new_doc.error().message << "\n" << new_text;
    result_ = diff_openapi(*old_doc, *new_doc);
    // The diff is a pure function of its inputs: a second run says exactly the same.
    EXPECT_EQ(diff_openapi(*old_doc, *new_doc).findings, result_.findings);
  }

  // The findings are exactly `expected`, in order (messages are checked where they matter).
  void ExpectFindings(const std::vector<Expected>& expected) {
    std::vector<std::string> got, want;
    for (const Finding& f : result_.findings) got.push_back(Describe(f.severity, f.id, f.method, f.path, f.pointer));
    for (const Expected& e : expected) want.push_back(Describe(e.severity, e.id, e.method, e.path, e.pointer));
    EXPECT_EQ(got, want) << AllMessages();
  }

  void ExpectNoFindings() { ExpectFindings({}); }

  // Nothing breaking or risky (informational notes allowed).
  void ExpectHarmless() {
    for (const Finding& f : result_.findings) EXPECT_EQ(f.severity, Severity::Info) << f.id << ": " << f.message;
    EXPECT_FALSE(result_.breaking());
  }

  std::string AllMessages() const {
    std::string out = "messages:\n";
    for (const Finding& f : result_.findings) out += "  " + f.id + ": " + f.message + "\n";
    return out;
  }

  const Finding& Only() {
    static const Finding kNone{};
    EXPECT_EQ(result_.findings.size(), 1u) << AllMessages();
    return result_.findings.empty() ? kNone : result_.findings.front();
  }

  OpenApiDiff result_;
};

constexpr auto B = Severity::Breaking;
constexpr auto W = Severity::Warning;
constexpr auto I = Severity::Info;

// ---- paths and operations --------------------------------------------------------------------

TEST_F(OpenApiDiffTest, RemovedPathIsBreaking) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}},
                                       "/orders/{id}":{"get":{"responses":{"200":{"description":"ok"}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{B, "path-removed", "", "/orders/{id}", "/paths/~1orders~1{id}"}});
  EXPECT_EQ(result_.findings[0].message, R"(path "/orders/{id}" was removed)");
  EXPECT_TRUE(result_.breaking());
}

TEST_F(OpenApiDiffTest, AddedPathIsInfo) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}},
                                       "/teams":{"get":{"responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{I, "path-added", "", "/teams", "/paths/~1teams"}});
  ExpectHarmless();
}

TEST_F(OpenApiDiffTest, PathsMatchByTemplateShape) {
  // Renaming the placeholder (and its parameter) changes nothing a client sends.
  ASSERT_NO_FATAL_FAILURE(Diff(
      Doc(R"({"/users/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],
                                   "responses":{"200":{"description":"ok"}}}}})"),
      Doc(R"({"/users/{userId}":{"get":{"parameters":[{"name":"userId","in":"path","required":true,
                                                      "schema":{"type":"string"}}],
                                       "responses":{"200":{"description":"ok"}}}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, PathParameterTypeChangeAcrossATemplateRename) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/users/{id}":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer"}}],
                             "get":{"responses":{"200":{"description":"ok"}}}}})"),
           Doc(R"({"/users/{userId}":{"parameters":[{"name":"userId","in":"path","required":true,
        "schema":{"type":"string"}}],
                                 "get":{"responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings(
      {{B, "parameter-type-changed", "GET", "/users/{userId}", "/paths/~1users~1{userId}/parameters/0/schema"}});
  EXPECT_EQ(Only().message, R"(parameter "userId" (path) type changed from integer to string)");
}

TEST_F(OpenApiDiffTest, RemovedAndAddedOperations) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}},
                                                 "delete":{"responses":{"204":{"description":"gone"}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}},
                                                 "post":{"responses":{"201":{"description":"made"}}}}})")));
  ExpectFindings({{B, "operation-removed", "DELETE", "/users", "/paths/~1users/delete"},
                  {I, "operation-added", "POST", "/users", "/paths/~1users/post"}});
}

TEST_F(OpenApiDiffTest, DeprecatingAnOperationIsInfo) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}}})"),
           Doc(R"({"/users":{"get":{"deprecated":true,"responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{I, "operation-deprecated", "GET", "/users", "/paths/~1users/get/deprecated"}});
}

// ---- parameters ------------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, RemovedParameter) {
  ASSERT_NO_FATAL_FAILURE(Diff(GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string"}},
                                 {"name":"limit","in":"query","schema":{"type":"integer"}}])"),
                               GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string"}}])")));
  ExpectFindings({{B, "parameter-removed", "GET", "/users", "/paths/~1users/get/parameters/1"}});
  EXPECT_EQ(Only().message, R"(parameter "limit" (query) was removed)");
}

TEST_F(OpenApiDiffTest, RemovedPlusAddedInTheSamePlaceIsARename) {
  ASSERT_NO_FATAL_FAILURE(Diff(GetWithParameters(R"([{"name":"limit","in":"query","schema":{"type":"integer"}},
                                 {"name":"X-Trace","in":"header","schema":{"type":"string"}}])"),
                               GetWithParameters(R"([{"name":"x-trace","in":"header","schema":{"type":"string"}},
                                 {"name":"max","in":"query","schema":{"type":"integer"}}])")));
  // The header only changed case (HTTP ignores it); the query parameter was renamed.
  ExpectFindings({{B, "parameter-renamed", "GET", "/users", "/paths/~1users/get/parameters/1"}});
  EXPECT_EQ(Only().message, R"(parameter "limit" (query) was renamed to "max")");
}

TEST_F(OpenApiDiffTest, NewRequiredParameter) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithParameters("[]"),
           GetWithParameters(R"([{"name":"tenant","in":"header","required":true,"schema":{"type":"string"}}])")));
  ExpectFindings({{B, "parameter-added-required", "GET", "/users", "/paths/~1users/get/parameters/0"}});
  EXPECT_EQ(Only().message, R"(new required parameter "tenant" (header))");
}

TEST_F(OpenApiDiffTest, NewOptionalParameterIsInfo) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithParameters("[]"), GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string"}}])")));
  ExpectFindings({{I, "parameter-added", "GET", "/users", "/paths/~1users/get/parameters/0"}});
}

TEST_F(OpenApiDiffTest, NewOptionalParameterOnADeprecatedOperationIsAWarning) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      Doc(R"({"/users":{"get":{"deprecated":true,"responses":{"200":{"description":"ok"}}}}})"),
      Doc(R"({"/users":{"get":{"deprecated":true,"parameters":[{"name":"q","in":"query","schema":{"type":"string"}}],
                                    "responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{W, "parameter-added-to-deprecated", "GET", "/users", "/paths/~1users/get/parameters/0"}});
}

TEST_F(OpenApiDiffTest, ParameterMadeRequired) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      Doc(R"({"/users/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}},
                                                 {"name":"limit","in":"query","schema":{"type":"integer"}}],
                                   "responses":{"200":{"description":"ok"}}}}})"),
      Doc(R"({"/users/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}},
                                                 {"name":"limit","in":"query","required":true,
                                                   "schema":{"type":"integer"}}],
                                   "responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{B, "parameter-made-required", "GET", "/users/{id}", "/paths/~1users~1{id}/get/parameters/1"}});
  EXPECT_EQ(Only().message, R"(parameter "limit" (query) is now required)");
}

TEST_F(OpenApiDiffTest, ParameterTypeAndFormatChanges) {
  ASSERT_NO_FATAL_FAILURE(Diff(GetWithParameters(R"([{"name":"limit","in":"query","schema":{"type":"integer"}},
                                 {"name":"since","in":"query","schema":{"type":"integer","format":"int32"}}])"),
                               GetWithParameters(R"([{"name":"limit","in":"query","schema":{"type":"string"}},
                                 {"name":"since","in":"query","schema":{"type":"integer","format":"int64"}}])")));
  ExpectFindings({{B, "parameter-type-changed", "GET", "/users", "/paths/~1users/get/parameters/0/schema"},
                  {B, "parameter-type-changed", "GET", "/users", "/paths/~1users/get/parameters/1/schema"}});
  EXPECT_EQ(result_.findings[1].message, R"(parameter "since" (query) format changed from int32 to int64)");
}

TEST_F(OpenApiDiffTest, ParameterEnumNarrowed) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      GetWithParameters(R"([{"name":"sort","in":"query","schema":{"type":"string","enum":["asc","desc","rand"]}}])"),
      GetWithParameters(R"([{"name":"sort","in":"query","schema":{"type":"string","enum":["desc","asc"]}}])")));
  ExpectFindings({{B, "request-enum-narrowed", "GET", "/users", "/paths/~1users/get/parameters/0/schema"}});
  EXPECT_EQ(Only().message, R"(parameter "sort" (query) no longer accepts "rand")");
}

TEST_F(OpenApiDiffTest, OperationParameterOverridesThePathItemOne) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/users":{"parameters":[{"name":"limit","in":"query","schema":{"type":"integer"}}],
                        "get":{"responses":{"200":{"description":"ok"}}}}})"),
           Doc(R"({"/users":{"parameters":[{"name":"limit","in":"query","schema":{"type":"integer"}}],
                        "get":{"parameters":[{"name":"limit","in":"query","required":true,"schema":{"type":"integer"}}],
                               "responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{B, "parameter-made-required", "GET", "/users", "/paths/~1users/get/parameters/0"}});
}

TEST_F(OpenApiDiffTest, ReferencedParameterChangePointsAtTheComponent) {
  const std::string old_components =
      R"({"parameters":{"Limit":{"name":"limit","in":"query","schema":{"type":"integer"}}}})";
  const std::string new_components =
      R"({"parameters":{"Limit":{"name":"limit","in":"query","required":true,"schema":{"type":"integer"}}}})";
  ASSERT_NO_FATAL_FAILURE(Diff(GetWithParameters(R"([{"$ref":"#/components/parameters/Limit"}])", old_components),
                               GetWithParameters(R"([{"$ref":"#/components/parameters/Limit"}])", new_components)));
  ExpectFindings({{B, "parameter-made-required", "GET", "/users", "/components/parameters/Limit"}});
}

// ---- request bodies --------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, RequestBodyMadeRequired) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/users":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object"}}}},
                                "responses":{"204":{"description":"done"}}}}})"),
           Doc(R"({"/users":{"post":{"requestBody":{"required":true,
        "content":{"application/json":{"schema":{"type":"object"}}}},
                                "responses":{"204":{"description":"done"}}}}})")));
  ExpectFindings({{B, "request-body-required", "POST", "/users", "/paths/~1users/post/requestBody"}});
  EXPECT_EQ(Only().message, "request body is now required");
}

TEST_F(OpenApiDiffTest, NewRequiredAndOptionalRequestBodies) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/a":{"post":{"responses":{"204":{"description":"done"}}}},
              "/b":{"post":{"responses":{"204":{"description":"done"}}}}})"),
           Doc(R"({"/a":{"post":{"requestBody":{"$ref":"#/components/requestBodies/Thing"},
                            "responses":{"204":{"description":"done"}}}},
              "/b":{"post":{"requestBody":{"content":{"text/plain":{}}},"responses":{"204":{"description":"done"}}}}})",
               R"({"requestBodies":{"Thing":{"required":true,"content":{"application/json":{"schema":{}}}}}})")));
  ExpectFindings({{B, "request-body-required", "POST", "/a", "/components/requestBodies/Thing"},
                  {I, "request-body-added", "POST", "/b", "/paths/~1b/post/requestBody"}});
}

TEST_F(OpenApiDiffTest, RemovedRequestBodyIsAWarning) {
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"type":"object"})"),
                               Doc(R"({"/users":{"post":{"responses":{"204":{"description":"done"}}}}})")));
  ExpectFindings({{W, "request-body-removed", "POST", "/users", "/paths/~1users/post/requestBody"}});
}

TEST_F(OpenApiDiffTest, RequestMediaTypesByPresence) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/users":{"post":{"requestBody":{"content":{"application/json":{},"application/xml":{}}},
                                "responses":{"204":{"description":"done"}}}}})"),
           Doc(R"({"/users":{"post":{"requestBody":{"content":{"application/json; charset=utf-8":{},"text/csv":{}}},
                                "responses":{"204":{"description":"done"}}}}})")));
  ExpectFindings(
      {{B, "request-media-type-removed", "POST", "/users", "/paths/~1users/post/requestBody/content/application~1xml"},
       {I, "request-media-type-added", "POST", "/users", "/paths/~1users/post/requestBody/content/text~1csv"}});
}

TEST_F(OpenApiDiffTest, NewRequiredRequestProperty) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"name":{"type":"string"}}})"),
           PostTaking(R"({"type":"object","required":["email"],"properties":{"name":{"type":"string"},
                                                                           "email":{"type":"string"}}})")));
  ExpectFindings(
      {{B, "request-property-added-required", "POST", "/users", std::string(kBodySchema) + "/properties/email"}});
  EXPECT_EQ(Only().message, R"(request property "email" was added as required)");
}

TEST_F(OpenApiDiffTest, RequiredNameWithoutAPropertySchemaIsStillRequired) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object"})"), PostTaking(R"({"type":"object","required":["token"]})")));
  ExpectFindings({{B, "request-property-added-required", "POST", "/users", std::string(kBodySchema) + "/required"}});
}

TEST_F(OpenApiDiffTest, RequestPropertyMadeRequired) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"name":{"type":"string"}}})"),
           PostTaking(R"({"type":"object","required":["name"],"properties":{"name":{"type":"string"}}})")));
  ExpectFindings(
      {{B, "request-property-made-required", "POST", "/users", std::string(kBodySchema) + "/properties/name"}});
}

TEST_F(OpenApiDiffTest, NestedRequestPropertyTypeChangedInAComponent) {
  const std::string schema = R"({"$ref":"#/components/schemas/User"})";
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(
               schema,
               R"({"schemas":{"User":{"type":"object","properties":{"address":{"$ref":"#/components/schemas/Address"}}},
                                        "Address":{"type":"object","properties":{"zip":{"type":"integer"}}}}})"),
           PostTaking(
               schema,
               R"({"schemas":{"User":{"type":"object","properties":{"address":{"$ref":"#/components/schemas/Address"}}},
                                        "Address":{"type":"object","properties":{"zip":{"type":"string"}}}}})")));
  ExpectFindings(
      {{B, "request-property-type-changed", "POST", "/users", "/components/schemas/Address/properties/zip"}});
  EXPECT_EQ(Only().message, R"(request property "address.zip" type changed from integer to string)");
}

TEST_F(OpenApiDiffTest, RequestEnumNarrowed) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"role":{"type":"string","enum":["admin","user","guest"]}}})"),
           PostTaking(R"({"type":"object","properties":{"role":{"type":"string","enum":["admin","user"]}}})")));
  ExpectFindings({{B, "request-enum-narrowed", "POST", "/users", std::string(kBodySchema) + "/properties/role"}});
  EXPECT_EQ(Only().message, R"(request property "role" no longer accepts "guest")");
}

TEST_F(OpenApiDiffTest, RemovedRequestPropertyIsAWarningUnlessTheSchemaIsClosed) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"name":{"type":"string"},"nick":{"type":"string"}}})"),
           PostTaking(R"({"type":"object","properties":{"name":{"type":"string"}}})")));
  ExpectFindings({{W, "request-property-removed", "POST", "/users", std::string(kBodySchema) + "/properties/nick"}});

  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"name":{"type":"string"},"nick":{"type":"string"}}})"),
           PostTaking(R"({"type":"object","additionalProperties":false,"properties":{"name":{"type":"string"}}})")));
  ExpectFindings(
      {{B, "request-property-removed-closed", "POST", "/users", std::string(kBodySchema) + "/properties/nick"}});
}

TEST_F(OpenApiDiffTest, RequestsMayWiden) {
  // integer → number, accepting null, dropping an enum, adding an optional property: all fine to send.
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(R"({"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string","enum":["a"]}}})"),
           PostTaking(R"({"type":"object","properties":{"n":{"type":"number","nullable":true},"s":{"type":"string"},
                                                        "extra":{"type":"boolean"}}})")));
  ExpectFindings({{I, "request-property-added", "POST", "/users", std::string(kBodySchema) + "/properties/extra"}});
}

TEST_F(OpenApiDiffTest, ReadOnlyPropertiesAreNotPartOfRequests) {
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"type":"object","properties":{"name":{"type":"string"}}})"),
                               PostTaking(R"({"type":"object","required":["id"],"properties":{"name":{"type":"string"},
                                                                        "id":{"type":"string","readOnly":true}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, ChangedRequestBodyRootType) {
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"type":"object"})"), PostTaking(R"({"type":"array","items":{}})")));
  ExpectFindings({{B, "request-property-type-changed", "POST", "/users", std::string(kBodySchema)}});
  EXPECT_EQ(Only().message, "request body type changed from object to array");
}

TEST_F(OpenApiDiffTest, ParameterSchemaInContent) {
  auto doc = [](std::string_view type) {
    return GetWithParameters(R"([{"name":"filter","in":"query","content":{"application/json":{"schema":{"type":")" +
                             std::string(type) + R"("}}}}])");
  };
  ASSERT_NO_FATAL_FAILURE(Diff(doc("object"), doc("array")));
  ExpectFindings({{B, "parameter-type-changed", "GET", "/users",
                   "/paths/~1users/get/parameters/0/content/application~1json/schema"}});
}

TEST_F(OpenApiDiffTest, MapValuesAndNestedArrays) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      PostTaking(R"({"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"string"}},
                                                       "grid":{"type":"array","items":{"type":"array",
                                                         "items":{"type":"integer"}}}}})"),
      PostTaking(R"({"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"integer"}},
                                                       "grid":{"type":"array","items":{"type":"array",
                                                         "items":{"type":"string"}}}}})")));
  ExpectFindings({{B, "request-property-type-changed", "POST", "/users",
                   std::string(kBodySchema) + "/properties/grid/items/items"},
                  {B, "request-property-type-changed", "POST", "/users",
                   std::string(kBodySchema) + "/properties/labels/additionalProperties"}});
  EXPECT_EQ(result_.findings[0].message, R"(request property "grid[][]" type changed from integer to string)");
  EXPECT_EQ(result_.findings[1].message, R"(request property "labels.*" type changed from string to integer)");
}

TEST_F(OpenApiDiffTest, ConstIsAOneValueEnum) {
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"type":"object","properties":{"kind":{"type":"string"}}})"),
                               PostTaking(R"({"type":"object","properties":{"kind":{"const":"user"}}})")));
  ExpectFindings({{B, "request-enum-narrowed", "POST", "/users", std::string(kBodySchema) + "/properties/kind"}});
  EXPECT_EQ(Only().message, R"(request property "kind" now accepts only "user")");
}

// ---- responses -------------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, RemovedSuccessStatus) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"post":{"responses":{"200":{"description":"ok"},
                                                                       "409":{"description":"conflict"}}}}})"),
                               Doc(R"({"/users":{"post":{"responses":{"201":{"description":"made"}}}}})")));
  ExpectFindings({{B, "response-success-removed", "POST", "/users", "/paths/~1users/post/responses/200"},
                  {I, "response-status-added", "POST", "/users", "/paths/~1users/post/responses/201"},
                  {I, "response-status-removed", "POST", "/users", "/paths/~1users/post/responses/409"}});
  EXPECT_EQ(result_.findings[0].message, "success response 200 was removed");
}

TEST_F(OpenApiDiffTest, SpecificStatusCoveredByARange) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"2XX":{"description":"ok"}}}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, RemovedResponseProperty) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"id":{"type":"string"},"email":{"type":"string"}}})"),
           GetReturning(R"({"type":"object","properties":{"id":{"type":"string"}}})")));
  ExpectFindings(
      {{B, "response-property-removed", "GET", "/users", std::string(kResponseSchema) + "/properties/email"}});
  EXPECT_EQ(Only().message, R"(response 200 property "email" was removed)");
}

TEST_F(OpenApiDiffTest, ResponsePropertyTypeChanged) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      GetReturning(R"({"type":"object","properties":{"age":{"type":"integer"},"name":{"type":"string"}}})"),
      GetReturning(R"({"type":"object","properties":{"age":{"type":"number"},"name":{"type":["string","null"]}}})")));
  ExpectFindings(
      {{B, "response-property-type-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/age"},
       {B, "response-property-type-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/name"}});
  EXPECT_EQ(result_.findings[1].message, R"(response 200 property "name" type changed from string to null or string)");
}

TEST_F(OpenApiDiffTest, ResponsesMayNarrow) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      GetReturning(R"({"type":"object","properties":{"n":{"type":"number","nullable":true},"s":{"type":"string"}}})"),
      GetReturning(R"({"type":"object","required":["n"],"properties":{"n":{"type":"integer"},
                                                                           "s":{"type":"string","enum":["a"]}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, ResponseEnumWidened) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"state":{"type":"string","enum":["on","off"]},
                                                          "kind":{"type":"string","enum":["a"]}}})"),
           GetReturning(R"({"type":"object","properties":{"state":{"type":"string","enum":["off","on","broken"]},
                                                          "kind":{"type":"string"}}})")));
  ExpectFindings({{B, "response-enum-widened", "GET", "/users", std::string(kResponseSchema) + "/properties/kind"},
                  {B, "response-enum-widened", "GET", "/users", std::string(kResponseSchema) + "/properties/state"}});
  EXPECT_EQ(result_.findings[1].message, R"(response 200 property "state" may now hold "broken")");
}

TEST_F(OpenApiDiffTest, ResponsePropertyMadeOptional) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})"),
           GetReturning(R"({"type":"object","properties":{"id":{"type":"string"}}})")));
  ExpectFindings(
      {{B, "response-property-made-optional", "GET", "/users", std::string(kResponseSchema) + "/properties/id"}});
  EXPECT_EQ(Only().message, R"(response 200 property "id" is no longer required)");
}

TEST_F(OpenApiDiffTest, AddedResponsePropertyIsInfoUnlessTheOldSchemaWasClosed) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"id":{"type":"string"}}})"),
           GetReturning(R"({"type":"object","properties":{"id":{"type":"string"},"at":{"type":"string"}}})")));
  ExpectFindings({{I, "response-property-added", "GET", "/users", std::string(kResponseSchema) + "/properties/at"}});

  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","additionalProperties":false,"properties":{"id":{"type":"string"}}})"),
           GetReturning(R"({"type":"object","properties":{"id":{"type":"string"},"at":{"type":"string"}}})")));
  ExpectFindings(
      {{W, "response-property-added-closed", "GET", "/users", std::string(kResponseSchema) + "/properties/at"}});
}

TEST_F(OpenApiDiffTest, RemovedResponseMediaType) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok",
                                      "content":{"application/json":{},"application/xml":{}}}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok",
                                      "content":{"application/json":{}}}}}}})")));
  ExpectFindings({{B, "response-media-type-removed", "GET", "/users",
                   "/paths/~1users/get/responses/200/content/application~1xml"}});
  EXPECT_EQ(Only().message, R"(response 200 media type "application/xml" was removed)");
  // The other way round, a new media type is only a note.
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok",
                                      "content":{"application/json":{}}}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok",
                                      "content":{"application/json":{},"application/xml":{}}}}}}})")));
  ExpectFindings({{I, "response-media-type-added", "GET", "/users",
                   "/paths/~1users/get/responses/200/content/application~1xml"}});
}

TEST_F(OpenApiDiffTest, ArrayItemsAndVendorJsonMediaTypes) {
  auto doc = [](std::string_view id_type) {
    return Doc(R"({"/users":{"get":{"responses":{"200":{"$ref":"#/components/responses/Users"}}}}})",
               R"({"responses":{"Users":{"description":"ok","content":{"application/vnd.roster+json":{"schema":
                    {"type":"array","items":{"type":"object","properties":{"id":{"type":")" +
                   std::string(id_type) + R"("}}}}}}}}})");
  };
  ASSERT_NO_FATAL_FAILURE(Diff(doc("string"), doc("integer")));
  ExpectFindings({{B, "response-property-type-changed", "GET", "/users",
                   "/components/responses/Users/content/application~1vnd.roster+json/schema/items/properties/id"}});
  EXPECT_EQ(Only().message, R"(response 200 property "[].id" type changed from string to integer)");
}

TEST_F(OpenApiDiffTest, NonJsonMediaTypesCompareByPresenceOnly) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/f":{"get":{"responses":{"200":{"description":"ok",
        "content":{"text/plain":{"schema":{"type":"string"}}}}}}}})"),
                               Doc(R"({"/f":{"get":{"responses":{"200":{"description":"ok",
        "content":{"text/plain":{"schema":{"type":"integer"}}}}}}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, AllOfMergesPropertiesAndRequired) {
  const std::string components = R"({"schemas":{"Base":{"type":"object","required":["id"],
                                                        "properties":{"id":{"type":"string"},
                                                          "etag":{"type":"string"}}}}})";
  const std::string new_components = R"({"schemas":{"Base":{"type":"object","properties":{"id":{"type":"string"}}}}})";
  const std::string schema = R"({"allOf":[{"$ref":"#/components/schemas/Base"},
                                          {"type":"object","properties":{"name":{"type":"string"}}}]})";
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(schema, components), GetReturning(schema, new_components)));
  ExpectFindings({{B, "response-property-removed", "GET", "/users", "/components/schemas/Base/properties/etag"},
                  {B, "response-property-made-optional", "GET", "/users", "/components/schemas/Base/properties/id"}});
}

TEST_F(OpenApiDiffTest, InlinedAllOfEqualsAMergedSchema) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"allOf":[{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}},
                                     {"properties":{"b":{"type":"integer"}}}]})"),
           GetReturning(
               R"({"type":"object","required":["a"],"properties":{"b":{"type":"integer"},"a":{"type":"string"}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, OneOfAndAnyOfChanges) {
  // A whole anyOf removed and a changed `not` are only flagged; oneOf branches are matched (the
  // string one by equivalence) and the leftover inline pair compared like any schema.
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"pet":{"oneOf":[{"type":"string"},{"type":"integer"}]},
                                                          "tag":{"anyOf":[{"type":"string"}]},
                                                          "n":{"not":{"type":"string"}}}})"),
           GetReturning(R"({"type":"object","properties":{"pet":{"oneOf":[{"type":"string"},{"type":"boolean"}]},
                                                          "tag":{"type":"string"},
                                                          "n":{"not":{"type":"integer"}}}})")));
  ExpectFindings(
      {{W, "schema-composition-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/n/not"},
       {B, "response-property-type-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/pet/oneOf/1"},
       {W, "schema-composition-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/tag/anyOf"}});
  EXPECT_EQ(result_.findings[0].message, R"(response 200 property "n" not changed)");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 property "pet" type changed from integer to boolean)");
  EXPECT_EQ(result_.findings[2].message, R"(response 200 property "tag" anyOf was removed)");
}

TEST_F(OpenApiDiffTest, ReorderedOrReferencedOneOfBranchesAreNotAChange) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"oneOf":[{"type":"string","description":"a name"},{"$ref":"#/components/schemas/Id"}]})",
                        R"({"schemas":{"Id":{"type":"integer","format":"int64"}}})"),
           GetReturning(R"({"oneOf":[{"type":"integer","format":"int64"},{"type":"string"}]})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, RemovedDefaultResponseIsInfo) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"},
                                                                      "default":{"description":"error"}}}}})"),
                               Doc(R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{I, "response-status-removed", "GET", "/users", "/paths/~1users/get/responses/default"}});
}

// PUT /items taking and returning the Item component.
constexpr std::string_view kItemPaths = R"({"/items":{"put":{
    "requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Item"}}}},
    "responses":{"200":{"description":"ok",
                        "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Item"}}}}}}}})";

TEST_F(OpenApiDiffTest, OneComponentJudgedAsRequestAndAsResponse) {
  // The same schema walked once for both directions: each use gets its own reading.
  auto doc = [](std::string_view size_type, std::string_view extra) {
    return Doc(kItemPaths,
               R"({"schemas":{"Item":{"type":"object","properties":{"size":{"type":")" + std::string(size_type) +
                   R"("},"id":{"type":"string","readOnly":true},"secret":{"type":"string","writeOnly":true})" +
                   std::string(extra) + "}}}}");
  };
  ASSERT_NO_FATAL_FAILURE(Diff(doc("integer", ""), doc("number", R"(,"note":{"type":"string"})")));
  // integer → number widens a request (fine) but widens a response too (breaking).
  ExpectFindings({{I, "request-property-added", "PUT", "/items", "/components/schemas/Item/properties/note"},
                  {I, "response-property-added", "PUT", "/items", "/components/schemas/Item/properties/note"},
                  {B, "response-property-type-changed", "PUT", "/items", "/components/schemas/Item/properties/size"}});

  // readOnly counts only in responses, writeOnly only in requests.
  auto marked = [](std::string_view id_type, std::string_view secret_type) {
    return Doc(kItemPaths, R"({"schemas":{"Item":{"type":"object","properties":{"id":{"type":")" +
                               std::string(id_type) + R"(","readOnly":true},"secret":{"type":")" +
                               std::string(secret_type) + R"(","writeOnly":true}}}}})");
  };
  ASSERT_NO_FATAL_FAILURE(Diff(marked("string", "string"), marked("integer", "integer")));
  ExpectFindings({{B, "response-property-type-changed", "PUT", "/items", "/components/schemas/Item/properties/id"},
                  {B, "request-property-type-changed", "PUT", "/items", "/components/schemas/Item/properties/secret"}});
}

TEST_F(OpenApiDiffTest, LargeObjectsMatchPropertiesByName) {
  // Over 32 properties (the indexed path), listed in the opposite order, one of them changed.
  std::string forward, backward;
  for (int i = 0; i < 40; ++i) {
    const std::string entry = "\"p" + std::to_string(i) + R"(":{"type":")" + (i == 17 ? "integer" : "string") + "\"}";
    forward += (i ? "," : "") + entry;
  }
  for (int i = 39; i >= 0; --i)
    backward += (i != 39 ? "," : "") + std::string("\"p") + std::to_string(i) + R"(":{"type":"string"})";
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(R"({"type":"object","properties":{)" + forward + "}}"),
                               GetReturning(R"({"type":"object","properties":{)" + backward + "}}")));
  ExpectFindings(
      {{B, "response-property-type-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/p17"}});
}

TEST_F(OpenApiDiffTest, AllOfOwnPropertyWinsOverABranchOne) {
  // The schema's own "id" (a string) is what counts, not the branch's integer.
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"id":{"type":"string"}},
                       "allOf":[{"type":"object","properties":{"id":{"type":"integer"},"x":{"type":"string"}}}]})"),
           GetReturning(R"({"type":"object","properties":{"id":{"type":"string"},"x":{"type":"string"}}})")));
  ExpectNoFindings();
}

// ---- constraints -----------------------------------------------------------------------------

// An object with one property per bound keyword, each with the given extra keywords.
std::string Bounded(std::string_view name, std::string_view nick, std::string_view n, std::string_view m,
                    std::string_view tags, std::string_view ids) {
  return R"({"type":"object","properties":{"name":{"type":"string")" + std::string(name) +
         R"(},"nick":{"type":"string")" + std::string(nick) + R"(},"n":{"type":"number")" + std::string(n) +
         R"(},"m":{"type":"integer")" + std::string(m) + R"(},"tags":{"type":"array","items":{"type":"string"})" +
         std::string(tags) + R"(},"ids":{"type":"array","items":{"type":"integer"})" + std::string(ids) + "}}}";
}
const std::string kLoose = Bounded(R"(,"maxLength":64)", R"(,"minLength":1)", R"(,"maximum":100)",
                                   R"(,"minimum":0)", R"(,"maxItems":10)", "");
const std::string kTight = Bounded(R"(,"maxLength":32)", R"(,"minLength":3)", R"(,"maximum":50.5)",
                                   R"(,"minimum":1)", R"(,"maxItems":5)", R"(,"minItems":2)");

TEST_F(OpenApiDiffTest, RequestBoundsTightenedOrAddedAreBreaking) {
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(kLoose), PostTaking(kTight)));
  const std::string at = std::string(kBodySchema) + "/properties/";
  ExpectFindings({{B, "request-min-items-increased", "POST", "/users", at + "ids"},
                  {B, "request-minimum-increased", "POST", "/users", at + "m"},
                  {B, "request-maximum-decreased", "POST", "/users", at + "n"},
                  {B, "request-max-length-decreased", "POST", "/users", at + "name"},
                  {B, "request-min-length-increased", "POST", "/users", at + "nick"},
                  {B, "request-max-items-decreased", "POST", "/users", at + "tags"}});
  ASSERT_EQ(result_.findings.size(), 6u);
  EXPECT_EQ(result_.findings[0].message, R"(request property "ids" minItems 2 was added)");
  EXPECT_EQ(result_.findings[2].message, R"(request property "n" maximum decreased from 100 to 50.5)");
  EXPECT_EQ(result_.findings[3].message, R"(request property "name" maxLength decreased from 64 to 32)");
  EXPECT_EQ(result_.findings[4].message, R"(request property "nick" minLength increased from 1 to 3)");
  // Loosened (or dropped) request bounds accept everything they accepted: nothing to report.
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(kTight), PostTaking(kLoose)));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, ResponseBoundsLoosenedOrRemovedAreWarnings) {
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(kTight), GetReturning(kLoose)));
  const std::string at = std::string(kResponseSchema) + "/properties/";
  ExpectFindings({{W, "response-min-items-decreased", "GET", "/users", at + "ids"},
                  {W, "response-minimum-decreased", "GET", "/users", at + "m"},
                  {W, "response-maximum-increased", "GET", "/users", at + "n"},
                  {W, "response-max-length-increased", "GET", "/users", at + "name"},
                  {W, "response-min-length-decreased", "GET", "/users", at + "nick"},
                  {W, "response-max-items-increased", "GET", "/users", at + "tags"}});
  ASSERT_EQ(result_.findings.size(), 6u);
  EXPECT_EQ(result_.findings[0].message, R"(response 200 property "ids" minItems 2 was removed)");
  EXPECT_EQ(result_.findings[3].message, R"(response 200 property "name" maxLength increased from 32 to 64)");
  EXPECT_FALSE(result_.breaking());
  // Tighter responses return nothing a client did not expect.
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(kLoose), GetReturning(kTight)));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, ExclusiveBoundsInBothSpellings) {
  auto body = [](std::string_view n) {
    return PostTaking(R"({"type":"object","properties":{"n":{"type":"number")" + std::string(n) + "}}}");
  };
  const std::string at = std::string(kBodySchema) + "/properties/n";
  // 3.0: the same maximum made exclusive is tighter.
  ASSERT_NO_FATAL_FAILURE(Diff(body(R"(,"maximum":10)"), body(R"(,"maximum":10,"exclusiveMaximum":true)")));
  ExpectFindings({{B, "request-maximum-decreased", "POST", "/users", at}});
  EXPECT_EQ(Only().message, R"(request property "n" maximum 10 is now exclusive)");
  // 3.1: a numeric exclusiveMinimum is a bound of its own.
  ASSERT_NO_FATAL_FAILURE(Diff(body(R"(,"minimum":0)"), body(R"(,"exclusiveMinimum":0)")));
  ExpectFindings({{B, "request-minimum-increased", "POST", "/users", at}});
  // Both keywords: the tighter one counts (5 exclusive, below the maximum 10).
  ASSERT_NO_FATAL_FAILURE(Diff(body(R"(,"maximum":10)"), body(R"(,"maximum":10,"exclusiveMaximum":5)")));
  ExpectFindings({{B, "request-maximum-decreased", "POST", "/users", at}});
  EXPECT_EQ(Only().message, R"(request property "n" maximum decreased from 10 to 5 (exclusive))");
  // The same effective bound in the other spelling; non-numeric values are ignored; an
  // explicit minLength 0 adds nothing.
  ASSERT_NO_FATAL_FAILURE(
      Diff(body(R"(,"maximum":10,"exclusiveMaximum":true,"maxLength":"x")"),
           body(R"(,"exclusiveMaximum":10,"maxLength":"y","minLength":0)")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, BoundsOfParametersAndAllOfBranches) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string","maxLength":64}}])"),
           GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string","maxLength":32}}])")));
  ExpectFindings({{B, "request-max-length-decreased", "GET", "/users", "/paths/~1users/get/parameters/0/schema"}});
  EXPECT_EQ(Only().message, R"(parameter "q" (query) maxLength decreased from 64 to 32)");
  // The schema's own bound wins over an allOf branch's; a branch's bound counts when the schema has none.
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"type":"string","maxLength":10,"allOf":[{"maxLength":20}]})"),
                               PostTaking(R"({"type":"string","maxLength":10,"allOf":[{"maxLength":5}]})")));
  ExpectNoFindings();
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(R"({"allOf":[{"$ref":"#/components/schemas/S"}]})",
                                          R"({"schemas":{"S":{"type":"string","minLength":1}}})"),
                               PostTaking(R"({"allOf":[{"$ref":"#/components/schemas/S"}]})",
                                          R"({"schemas":{"S":{"type":"string","minLength":2}}})")));
  ExpectFindings({{B, "request-min-length-increased", "POST", "/users", std::string(kBodySchema)}});
  EXPECT_EQ(Only().message, "request body minLength increased from 1 to 2");
}

TEST_F(OpenApiDiffTest, PatternChanges) {
  auto schema = [](std::string_view pattern) {
    return R"({"type":"object","properties":{"code":{"type":"string")" + std::string(pattern) + "}}}";
  };
  const std::string at = std::string(kBodySchema) + "/properties/code";
  const std::string ra = std::string(kResponseSchema) + "/properties/code";
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(schema("")), PostTaking(schema(R"(,"pattern":"^[a-z]+$")"))));
  ExpectFindings({{B, "request-pattern-added", "POST", "/users", at}});
  EXPECT_EQ(Only().message, R"(request property "code" pattern "^[a-z]+$" was added)");
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(schema(R"(,"pattern":"^[a-z]+$")")), PostTaking(schema(R"(,"pattern":"^[a-z0-9]+$")"))));
  ExpectFindings({{W, "request-pattern-changed", "POST", "/users", at}});
  EXPECT_EQ(Only().message, R"(request property "code" pattern changed from "^[a-z]+$" to "^[a-z0-9]+$")");
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(schema(R"(,"pattern":"^[a-z]+$")")), PostTaking(schema(""))));
  ExpectNoFindings();  // a request pattern dropped accepts more

  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(schema(R"(,"pattern":"^[a-z]+$")")), GetReturning(schema(R"(,"pattern":"^\\w+$")"))));
  ExpectFindings({{W, "response-pattern-changed", "GET", "/users", ra}});
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(schema(R"(,"pattern":"^[a-z]+$")")), GetReturning(schema(""))));
  ExpectFindings({{W, "response-pattern-removed", "GET", "/users", ra}});
  EXPECT_EQ(Only().message, R"(response 200 property "code" pattern "^[a-z]+$" was removed)");
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(schema("")), GetReturning(schema(R"(,"pattern":"^[a-z]+$")"))));
  ExpectNoFindings();  // a response pattern added returns less
  ASSERT_NO_FATAL_FAILURE(
      Diff(PostTaking(schema(R"(,"pattern":"^a$")")), PostTaking(schema(R"(,"pattern":"^a$","description":"x")"))));
  ExpectNoFindings();
}

// ---- parameter serialization -----------------------------------------------------------------

TEST_F(OpenApiDiffTest, ParameterStyleAndExplodeChanges) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      GetWithParameters(R"([{"name":"ids","in":"query","schema":{"type":"array","items":{"type":"integer"}}},
                            {"name":"tags","in":"query","schema":{"type":"array","items":{"type":"string"}}}])"),
      GetWithParameters(R"([{"name":"ids","in":"query","style":"pipeDelimited",
                             "schema":{"type":"array","items":{"type":"integer"}}},
                            {"name":"tags","in":"query","explode":false,
                             "schema":{"type":"array","items":{"type":"string"}}}])")));
  ExpectFindings({{B, "parameter-style-changed", "GET", "/users", "/paths/~1users/get/parameters/0/style"},
                  {B, "parameter-explode-changed", "GET", "/users", "/paths/~1users/get/parameters/1/explode"}});
  ASSERT_EQ(result_.findings.size(), 2u);
  EXPECT_EQ(result_.findings[0].message, R"(parameter "ids" (query) style changed from form to pipeDelimited)");
  EXPECT_EQ(result_.findings[1].message, R"(parameter "tags" (query) explode changed from true to false)");
  // Spelling out the defaults changes nothing; explode does not change how a scalar is written.
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithParameters(R"([{"name":"ids","in":"query","schema":{"type":"array","items":{"type":"integer"}}},
                                 {"name":"id","in":"header","schema":{"type":"array"}},
                                 {"name":"q","in":"query","schema":{"type":"string"}}])"),
           GetWithParameters(R"([{"name":"ids","in":"query","style":"form","explode":true,
                                  "schema":{"type":"array","items":{"type":"integer"}}},
                                 {"name":"id","in":"header","style":"simple","explode":false,
                                  "schema":{"type":"array"}},
                                 {"name":"q","in":"query","explode":false,"schema":{"type":"string"}}])")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, ParameterMadeOptionalIsInfo) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithParameters(R"([{"name":"q","in":"query","required":true,"schema":{"type":"string"}}])"),
           GetWithParameters(R"([{"name":"q","in":"query","schema":{"type":"string"}}])")));
  ExpectFindings({{I, "parameter-made-optional", "GET", "/users", "/paths/~1users/get/parameters/0"}});
  EXPECT_EQ(Only().message, R"(parameter "q" (query) is no longer required)");
  ExpectHarmless();
}

// ---- response headers ------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, ResponseHeaderChanges) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithHeaders(R"({"X-Rate-Limit":{"required":true,"schema":{"type":"integer","maximum":100}},
                             "X-Trace":{"schema":{"type":"string"}},
                             "X-Id":{"required":true,"schema":{"type":"string"}},
                             "X-Gone":{"required":true,"schema":{"type":"string"}},
                             "X-Kind":{"schema":{"type":"string"}},
                             "Content-Type":{"required":true,"schema":{"type":"string"}}})"),
           GetWithHeaders(R"({"x-rate-limit":{"required":true,"schema":{"type":"integer","maximum":1000}},
                             "X-Id":{"schema":{"type":"string"}},
                             "X-Kind":{"schema":{"type":"integer"}},
                             "X-New":{"schema":{"type":"string"}}})")));
  const std::string at = "/paths/~1users/get/responses/200/headers/";
  ExpectFindings({{B, "response-header-removed", "GET", "/users", at + "X-Gone"},
                  {B, "response-header-made-optional", "GET", "/users", at + "X-Id"},
                  {B, "response-header-type-changed", "GET", "/users", at + "X-Kind/schema"},
                  {I, "response-header-added", "GET", "/users", at + "X-New"},
                  {W, "response-header-removed", "GET", "/users", at + "X-Trace"},
                  {W, "response-maximum-increased", "GET", "/users", at + "x-rate-limit/schema"}});
  ASSERT_EQ(result_.findings.size(), 6u);
  EXPECT_EQ(result_.findings[0].message, R"(response 200 header "X-Gone" (required) was removed)");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 header "X-Id" is no longer required)");
  EXPECT_EQ(result_.findings[2].message, R"(response 200 header "X-Kind" type changed from string to integer)");
  EXPECT_EQ(result_.findings[3].message, R"(response 200 header "X-New" was added)");
  EXPECT_EQ(result_.findings[4].message, R"(response 200 header "X-Trace" was removed)");
  EXPECT_EQ(result_.findings[5].message, R"(response 200 header "x-rate-limit" maximum increased from 100 to 1000)");
}

TEST_F(OpenApiDiffTest, ResponseHeadersThatStayCompatible) {
  // A $ref to an equal header, another name case, a header made required, a narrower schema.
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetWithHeaders(R"({"X-Rate-Limit":{"$ref":"#/components/headers/Limit"},
                             "X-Id":{"schema":{"type":"string"}},
                             "X-Count":{"schema":{"type":"integer"}}})",
                          R"({"headers":{"Limit":{"required":true,"schema":{"type":"integer"}}}})"),
           GetWithHeaders(R"({"x-rate-limit":{"required":true,"schema":{"type":"integer"}},
                             "X-Id":{"required":true,"schema":{"type":"string"}},
                             "X-Count":{"schema":{"type":"integer","maximum":10}}})")));
  ExpectNoFindings();
}

// ---- oneOf / anyOf branches and discriminators -------------------------------------------------

constexpr std::string_view kPets = R"({"schemas":{
    "Cat":{"type":"object","properties":{"kind":{"type":"string"},"name":{"type":"string"}}},
    "Dog":{"type":"object","properties":{"kind":{"type":"string"},"bark":{"type":"string"}}},
    "Lizard":{"type":"object","properties":{"kind":{"type":"string"}}}}})";

TEST_F(OpenApiDiffTest, OneOfBranchRemovedFromARequestIsBreaking) {
  const std::string both = R"({"oneOf":[{"$ref":"#/components/schemas/Cat"},{"$ref":"#/components/schemas/Dog"}]})";
  const std::string cat = R"({"oneOf":[{"$ref":"#/components/schemas/Cat"}]})";
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(both, kPets), PostTaking(cat, kPets)));
  ExpectFindings({{B, "request-schema-branch-removed", "POST", "/users", std::string(kBodySchema) + "/oneOf/1"}});
  EXPECT_EQ(Only().message, R"(request body oneOf branch "#/components/schemas/Dog" was removed)");
  // A request that may send one more shape is fine.
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(cat, kPets), PostTaking(both, kPets)));
  ExpectFindings({{I, "request-schema-branch-added", "POST", "/users", std::string(kBodySchema) + "/oneOf/1"}});
}

// Thousands of branches on each side are not matched pairwise: one warning, quickly.
TEST_F(OpenApiDiffTest, HugeOneOfListsAreNotMatchedPairwise) {
  auto branches = [](int n, int shift) {
    std::string out = R"({"oneOf":[)";
    for (int i = 0; i < n; ++i) out += (i ? "," : "") + std::string(R"({"const":)") + std::to_string(i + shift) + "}";
    return out + "]}";
  };
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(branches(5000, 0)), PostTaking(branches(5000, 1))));
  ExpectFindings({{W, "schema-composition-changed", "POST", "/users", std::string(kBodySchema) + "/oneOf"}});
  ASSERT_NO_FATAL_FAILURE(Diff(PostTaking(branches(5000, 0)), PostTaking(branches(5000, 0))));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, AnyOfBranchAddedToAResponseIsAWarning) {
  const std::string old_schema = R"({"anyOf":[{"type":"string"},{"$ref":"#/components/schemas/Cat"}]})";
  const std::string new_schema =
      R"({"anyOf":[{"$ref":"#/components/schemas/Cat"},{"type":"string"},{"type":"integer"}]})";
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(old_schema, kPets), GetReturning(new_schema, kPets)));
  ExpectFindings({{W, "response-schema-branch-added", "GET", "/users", std::string(kResponseSchema) + "/anyOf/2"}});
  EXPECT_EQ(Only().message, "response 200 body anyOf branch 2 (integer) was added");
  EXPECT_FALSE(result_.breaking());
  // A response that returns one shape fewer is fine.
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(new_schema, kPets), GetReturning(old_schema, kPets)));
  ExpectFindings({{I, "response-schema-branch-removed", "GET", "/users", std::string(kResponseSchema) + "/anyOf/2"}});
}

TEST_F(OpenApiDiffTest, ChangesInsideMatchedBranchesAreReportedNormally) {
  // The $ref branch matched by its text, the inline object one by position.
  auto components = [](std::string_view name_type) {
    return R"({"schemas":{"Cat":{"type":"object","properties":{"name":{"type":")" + std::string(name_type) +
           R"("}}}}})";
  };
  auto schema = [](std::string_view bark_type) {
    return R"({"oneOf":[{"$ref":"#/components/schemas/Cat"},{"type":"object","properties":{"bark":{"type":")" +
           std::string(bark_type) + R"("}}}]})";
  };
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(schema("string"), components("string")),
           GetReturning(schema("integer"), components("integer"))));
  ExpectFindings({{B, "response-property-type-changed", "GET", "/users", "/components/schemas/Cat/properties/name"},
                  {B, "response-property-type-changed", "GET", "/users",
                   std::string(kResponseSchema) + "/oneOf/1/properties/bark"}});
  EXPECT_EQ(result_.findings[0].message, R"(response 200 property "name" type changed from string to integer)");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 property "bark" type changed from string to integer)");
}

// A Pet component, taken and returned by PUT /items, with its discriminator.
std::string PetDoc(std::string_view property, std::string_view mapping, std::string_view branches) {
  std::string components(kPets);
  components.pop_back();
  components.pop_back();
  components += R"(,"Item":{"oneOf":)" + std::string(branches) + R"(,"discriminator":{"propertyName":")" +
                std::string(property) + R"(","mapping":)" + std::string(mapping) + "}}}}";
  return Doc(kItemPaths, components);
}
constexpr std::string_view kCatDog = R"([{"$ref":"#/components/schemas/Cat"},{"$ref":"#/components/schemas/Dog"}])";
constexpr std::string_view kCatDogMapping =
    R"({"cat":"#/components/schemas/Cat","dog":"#/components/schemas/Dog"})";

TEST_F(OpenApiDiffTest, DiscriminatorPropertyChangedIsBreaking) {
  ASSERT_NO_FATAL_FAILURE(Diff(PetDoc("kind", kCatDogMapping, kCatDog), PetDoc("type", kCatDogMapping, kCatDog)));
  // Breaking in both directions: clients send and read the old property.
  ExpectFindings({{B, "discriminator-property-changed", "PUT", "/items",
                   "/components/schemas/Item/discriminator/propertyName"},
                  {B, "discriminator-property-changed", "PUT", "/items",
                   "/components/schemas/Item/discriminator/propertyName"}});
  ASSERT_EQ(result_.findings.size(), 2u);
  EXPECT_EQ(result_.findings[0].message, R"(request body discriminator property changed from "kind" to "type")");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 body discriminator property changed from "kind" to "type")");
  ASSERT_NO_FATAL_FAILURE(Diff(PetDoc("kind", kCatDogMapping, kCatDog), PetDoc("kind", kCatDogMapping, kCatDog)));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, DiscriminatorMappingChangesByDirection) {
  const std::string_view cat_lizard = R"({"cat":"#/components/schemas/Cat","lizard":"#/components/schemas/Lizard"})";
  const std::string_view branches =
      R"([{"$ref":"#/components/schemas/Cat"},{"$ref":"#/components/schemas/Dog"},
          {"$ref":"#/components/schemas/Lizard"}])";
  ASSERT_NO_FATAL_FAILURE(Diff(PetDoc("kind", kCatDogMapping, branches), PetDoc("kind", cat_lizard, branches)));
  // "dog" is no longer a value clients may send; "lizard" is one they may now receive.
  ExpectFindings({{B, "request-discriminator-mapping-removed", "PUT", "/items",
                   "/components/schemas/Item/discriminator/mapping/dog"},
                  {W, "response-discriminator-mapping-added", "PUT", "/items",
                   "/components/schemas/Item/discriminator/mapping/lizard"}});
  ASSERT_EQ(result_.findings.size(), 2u);
  EXPECT_EQ(result_.findings[0].message, R"(request body discriminator value "dog" was removed)");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 body discriminator value "lizard" was added)");
  // A mapping reordered, or spelled out with the same values: nothing.
  ASSERT_NO_FATAL_FAILURE(
      Diff(PetDoc("kind", kCatDogMapping, kCatDog),
           PetDoc("kind", R"({"dog":"#/components/schemas/Dog","cat":"#/components/schemas/Cat"})", kCatDog)));
  ExpectNoFindings();
}

// ---- security --------------------------------------------------------------------------------

constexpr std::string_view kSchemes =
    R"({"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-Key"},
                           "oauth":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"https://t/",
                             "scopes":{}}}}}})";

TEST_F(OpenApiDiffTest, GlobalSecurityAddedBreaksEveryOperationWithoutItsOwn) {
  const std::string paths = R"({"/users":{"get":{"responses":{"200":{"description":"ok"}}}},
                                "/health":{"get":{"security":[],"responses":{"200":{"description":"ok"}}}}})";
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(paths, kSchemes), Doc(paths, kSchemes, R"("security":[{"key":[]}])")));
  ExpectFindings({{B, "security-requirement-added", "GET", "/users", "/security"}});
  EXPECT_EQ(Only().message, "authentication is now required: key");
}

TEST_F(OpenApiDiffTest, DroppingAnOperationLevelOverrideExposesTheGlobalRequirement) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/health":{"get":{"security":[],"responses":{"200":{"description":"ok"}}}}})",
                                   kSchemes, R"("security":[{"key":[]}])"),
                               Doc(R"({"/health":{"get":{"responses":{"200":{"description":"ok"}}}}})", kSchemes,
                                   R"("security":[{"key":[]}])")));
  ExpectFindings({{B, "security-requirement-added", "GET", "/health", "/security"}});
}

TEST_F(OpenApiDiffTest, OperationSecurityScopesAndAlternatives) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/a":{"get":{"security":[{"oauth":["read"]}],"responses":{"200":{"description":"ok"}}}},
              "/b":{"get":{"security":[{"oauth":["read"]}],"responses":{"200":{"description":"ok"}}}}})",
               kSchemes),
           Doc(R"({"/a":{"get":{"security":[{"oauth":["read","write"]}],"responses":{"200":{"description":"ok"}}}},
              "/b":{"get":{"security":[{"oauth":["read"]},{"key":[]}],"responses":{"200":{"description":"ok"}}}}})",
               kSchemes)));
  // /a: the same scheme with one more scope; /b: a new alternative.
  ExpectFindings({{B, "security-scopes-added", "GET", "/a", "/paths/~1a/get/security"},
                  {I, "security-requirement-removed", "GET", "/b", "/paths/~1b/get/security"}});
  EXPECT_EQ(result_.findings[0].message, "credentials for oauth[read] now also need the scopes oauth[write]");
}

TEST_F(OpenApiDiffTest, SecuritySchemeChangeIsARequirementNotAScopeChange) {
  // Other schemes: not a scope change, even with scopes involved.
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/a":{"get":{"security":[{"oauth":["read"]}],"responses":{"200":{"description":"ok"}}}}})",
               kSchemes),
           Doc(R"({"/a":{"get":{"security":[{"oauth":["read"],"key":[]}],"responses":{"200":{"description":"ok"}}}}})",
               kSchemes)));
  ExpectFindings({{B, "security-requirement-added", "GET", "/a", "/paths/~1a/get/security"}});
  EXPECT_EQ(Only().message, "credentials for oauth[read] are no longer enough; now required: key + oauth[read]");
}

TEST_F(OpenApiDiffTest, SecurityScopesRemovedIsInfo) {
  auto doc = [](std::string_view scopes) {
    return Doc(R"({"/a":{"get":{"security":[{"oauth":)" + std::string(scopes) +
                   R"(}],"responses":{"200":{"description":"ok"}}}}})",
               kSchemes);
  };
  ASSERT_NO_FATAL_FAILURE(Diff(doc(R"(["read","write","admin"])"), doc(R"(["read"])")));
  ExpectFindings({{I, "security-scopes-removed", "GET", "/a", "/paths/~1a/get/security"}});
  EXPECT_EQ(Only().message, "scopes no longer required: oauth[admin,write] (was: oauth[admin,read,write])");
  // The other way is security-scopes-added; reordered scopes are no change.
  ASSERT_NO_FATAL_FAILURE(Diff(doc(R"(["read"])"), doc(R"(["read","write","admin"])")));
  ExpectFindings({{B, "security-scopes-added", "GET", "/a", "/paths/~1a/get/security"}});
  EXPECT_EQ(Only().message, "credentials for oauth[read] now also need the scopes oauth[admin,write]");
  ASSERT_NO_FATAL_FAILURE(Diff(doc(R"(["write","read"])"), doc(R"(["read","write"])")));
  ExpectNoFindings();
}

// ---- $ref handling and cycles ----------------------------------------------------------------

TEST_F(OpenApiDiffTest, SelfRecursiveSchemaTerminatesAndFindsADeepChange) {
  auto components = [](std::string_view owner_type) {
    return R"({"schemas":{"Tree":{"type":"object","properties":{"root":{"$ref":"#/components/schemas/Node"}}},
               "Node":{"type":"object","properties":{"children":{"type":"array",
                 "items":{"$ref":"#/components/schemas/Node"}},
                                                     "meta":{"$ref":"#/components/schemas/Meta"}}},
               "Meta":{"type":"object","properties":{"owner":{"type":")" +
           std::string(owner_type) + R"("}}}}})";
  };
  const std::string schema = R"({"$ref":"#/components/schemas/Tree"})";
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(schema, components("string")), GetReturning(schema, components("integer"))));
  ExpectFindings({{B, "response-property-type-changed", "GET", "/users", "/components/schemas/Meta/properties/owner"}});
  EXPECT_EQ(Only().message, R"(response 200 property "root.meta.owner" type changed from string to integer)");
}

TEST_F(OpenApiDiffTest, MutuallyRecursiveSchemasTerminateForEveryOperation) {
  auto doc = [](std::string_view extra) {
    return Doc(R"({"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":
                     {"$ref":"#/components/schemas/Person"}}}}}}},
                   "/b":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":
                     {"$ref":"#/components/schemas/Team"}}}}}}}})",
               R"({"schemas":{"Person":{"type":"object","properties":{"team":{"$ref":"#/components/schemas/Team"}}},
                    "Team":{"type":"object","properties":{"lead":{"$ref":"#/components/schemas/Person"})" +
                   std::string(extra) + "}}}}");
  };
  ASSERT_NO_FATAL_FAILURE(Diff(doc(R"(,"name":{"type":"string"})"), doc("")));
  // Once per operation, at the shortest property path (not again through lead.team.name).
  ExpectFindings({{B, "response-property-removed", "GET", "/a", "/components/schemas/Team/properties/name"},
                  {B, "response-property-removed", "GET", "/b", "/components/schemas/Team/properties/name"}});
  EXPECT_EQ(result_.findings[0].message, R"(response 200 property "team.name" was removed)");
  EXPECT_EQ(result_.findings[1].message, R"(response 200 property "name" was removed)");
}

TEST_F(OpenApiDiffTest, RefVersusInlinedEqualSchemaIsNotAChange) {
  ASSERT_NO_FATAL_FAILURE(Diff(GetReturning(R"({"$ref":"#/components/schemas/UserRef"})",
                                            R"({"schemas":{"UserRef":{"$ref":"#/components/schemas/User"},
                                  "User":{"type":"object","required":["id"],"properties":{"id":{"type":"string"},
                                          "tags":{"type":"array","items":{"$ref":"#/components/schemas/Tag"}}}},
                                  "Tag":{"type":"string","enum":["a","b"]}}})"),
                               GetReturning(R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"},
                                       "tags":{"type":"array","items":{"type":"string","enum":["b","a"]}}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, DanglingAndLoopingReferencesDoNotCrash) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(GetReturning(R"({"type":"object","properties":{"a":{"$ref":"#/components/schemas/Missing"},
                                                    "b":{"$ref":"#/components/schemas/Loop"},"c":{"type":"string"}}})",
                        R"({"schemas":{"Loop":{"$ref":"#/components/schemas/Loop"},
                                  "Self":{"allOf":[{"$ref":"#/components/schemas/Self"}]}}})"),
           GetReturning(R"({"type":"object","properties":{"a":{"$ref":"#/components/schemas/Missing"},
                                                    "b":{"$ref":"#/components/schemas/Loop"},
                                                    "d":{"$ref":"#/components/schemas/Self"},"c":{"type":"integer"}}})",
                        R"({"schemas":{"Loop":{"$ref":"#/components/schemas/Loop"},
                                  "Self":{"allOf":[{"$ref":"#/components/schemas/Self"}]}}})")));
  // The property next to them is still compared.
  ExpectFindings(
      {{B, "response-property-type-changed", "GET", "/users", std::string(kResponseSchema) + "/properties/c"},
       {I, "response-property-added", "GET", "/users", std::string(kResponseSchema) + "/properties/d"}});
}

// ---- harmless changes ------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, ReorderedKeysAreNotAChange) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/a":{"get":{"parameters":[{"name":"q","in":"query","schema":{"type":"string"}}],
                           "responses":{"200":{"description":"ok","content":{"application/json":{"schema":
                             {"type":"object","required":["x","y"],"properties":{"x":{"type":"string"},
                               "y":{"type":"integer"}}}}}}}},
                    "post":{"responses":{"204":{"description":"done"}}}},
              "/b":{"get":{"responses":{"200":{"description":"ok"}}}}})"),
                               Doc(R"({"/b":{"get":{"responses":{"200":{"description":"ok"}}}},
              "/a":{"post":{"responses":{"204":{"description":"done"}}},
                    "get":{"responses":{"200":{"content":{"application/json":{"schema":
                             {"properties":{"y":{"type":"integer"},"x":{"type":"string"}},"required":["y","x"],
                               "type":"object"}}},
                                           "description":"ok"}},
                           "parameters":[{"schema":{"type":"string"},"in":"query","name":"q"}]}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, DocumentationEditsAreNotAChange) {
  ASSERT_NO_FATAL_FAILURE(
      Diff(Doc(R"({"/a":{"summary":"A","get":{"summary":"get a","description":"old","operationId":"getA",
                  "responses":{"200":{"description":"ok","content":{"application/json":{"example":{"x":"1"},
                    "schema":{"type":"object","description":"thing","example":{"x":"1"},
                              "properties":{"x":{"type":"string","title":"X"}}}}}}}}}})"),
           Doc(R"({"/a":{"summary":"The A","get":{"summary":"Get an A","description":"new words","operationId":"getA",
                  "responses":{"200":{"description":"fine","content":{"application/json":{"example":{"x":"2"},
                    "schema":{"type":"object","description":"a thing","example":{"x":"2"},
                              "properties":{"x":{"type":"string","title":"The X","description":"x"}}}}}}}}}})")));
  ExpectNoFindings();
}

TEST_F(OpenApiDiffTest, AddedOptionalFieldsAreHarmless) {
  ASSERT_NO_FATAL_FAILURE(Diff(
      Doc(R"({"/u":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object","properties":{}}}}},
                            "responses":{"200":{"description":"ok","content":{"application/json":{"schema":
                              {"type":"object","properties":{}}}}}}}}})"),
      Doc(R"({"/u":{"post":{"parameters":[{"name":"dry","in":"query","schema":{"type":"boolean"}}],
                            "requestBody":{"content":{"application/json":{"schema":{"type":"object",
                              "properties":{"note":{"type":"string"}}}}}},
                            "responses":{"200":{"description":"ok","content":{"application/json":{"schema":
                              {"type":"object","properties":{"note":{"type":"string"}}}}}}}}},
              "/v":{"get":{"responses":{"200":{"description":"ok"}}}}})")));
  ExpectHarmless();
  EXPECT_EQ(result_.findings.size(), 4u) << AllMessages();  // path, parameter, request and response property
}

// ---- odd shapes ------------------------------------------------------------------------------

TEST_F(OpenApiDiffTest, OddShapesDoNotCrash) {
  const std::vector<std::string> docs = {
      "[]",
      "{}",
      R"({"paths":"nope"})",
      R"({"paths":{"/a":[]}})",
      R"({"paths":{"/a":{"get":{"parameters":{"name":"x"},"responses":[]}}}})",
      R"({"paths":{"/a":{"get":{"parameters":[1,{"name":3,"in":"query"},{"$ref":"#/nowhere"},{"$ref":7}],
                                "requestBody":{"content":{"application/json":{"schema":{"type":7,"properties":[],
                                  "required":"x","enum":"y","items":[],"allOf":{},"oneOf":3}}}},
                                "responses":{"":{},"200":{"content":{"application/json":{"schema":true}}}},
                                "security":{"x":1}}}},
          "security":[1,{"k":"scopes"}]})",
      R"({"paths":{"/a":{"$ref":"#/paths/~1a"},"/{b}":{"get":{"responses":{"2XX":{"$ref":"#/x/%zz"}}}}}})",
  };
  for (const auto& a : docs)
    for (const auto& b : docs) {
      SCOPED_TRACE(a + "  vs  " + b);
      ASSERT_NO_FATAL_FAILURE(Diff(a, b));
      if (a == b) {
        ExpectNoFindings();
      }
    }
}

// Deterministic mutation fuzzing: a value of a rich document replaced by an odd one. The diff
// must not crash, must be deterministic (Diff checks), and a document never differs from itself.
TEST_F(OpenApiDiffTest, MutatedDocumentsNeverCrash) {
  const std::string base = Doc(
      R"({"/users/{id}":{"parameters":[{"$ref":"#/components/parameters/Id"}],
            "get":{"parameters":[{"name":"q","in":"query","schema":{"type":"string","enum":["a","b"]}}],
                   "security":[{"key":[]}],
                   "responses":{"200":{"description":"ok",
                     "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Node"}}}},
                                "2XX":{"$ref":"#/components/responses/Plain"}}},
            "put":{"requestBody":{"required":true,"content":{"application/json":{"schema":
                     {"allOf":[{"$ref":"#/components/schemas/Node"},{"required":["extra"],
                       "properties":{"extra":{"type":"integer"}}}]}}}},
                   "responses":{"204":{"description":"done"}}}},
          "/b":{"$ref":"#/paths/~1users~1{id}"}})",
      R"({"parameters":{"Id":{"name":"id","in":"path","required":true,"schema":{"type":"string"}}},
          "responses":{"Plain":{"description":"plain","content":{"text/plain":{}}}},
          "schemas":{"Node":{"type":"object","required":["label"],"properties":{"label":{"type":["string","null"]},
                       "kids":{"type":"array","items":{"$ref":"#/components/schemas/Node"}},
                       "pick":{"oneOf":[{"$ref":"#/components/schemas/Node"},{"type":"string"}]}},
                     "additionalProperties":false}}})",
      R"("security":[{"key":[]}])");
  const std::vector<std::string> odd = {"null",
                                        "7",
                                        "\"x\"",
                                        "[]",
                                        "{}",
                                        "true",
                                        R"({"$ref":"#"})",
                                        R"({"$ref":"#/components/schemas/Node"})",
                                        R"({"$ref":"#/nowhere/%zz"})",
                                        R"([{"$ref":"#/components/parameters/Id"},3])",
                                        R"({"type":["string",7]})",
                                        R"({"allOf":[{"$ref":"#/components/schemas/Node"},5]})"};
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    auto parsed = parse_json(base);
    ASSERT_TRUE(parsed);
    std::vector<rapidjson::Value*> values;
    std::vector<rapidjson::Value*> todo{&*parsed};
    while (!todo.empty()) {
      rapidjson::Value* v = todo.back();
      todo.pop_back();
      values.push_back(v);
      if (v->IsObject())
        for (auto& m : v->GetObject()) todo.push_back(&m.value);
      else if (v->IsArray())
        for (auto& e : v->GetArray()) todo.push_back(&e);
    }
    // One mutation per round (values below the target are gone after it), never the root.
    rapidjson::Value* target = values[1 + rng() % (values.size() - 1)];
    auto replacement = parse_json(odd[rng() % odd.size()]);
    ASSERT_TRUE(replacement);
    target->CopyFrom(*replacement, parsed->GetAllocator());
    const std::string mutated = to_json_text(*parsed);
    SCOPED_TRACE(mutated);
    ASSERT_NO_FATAL_FAILURE(Diff(base, mutated));
    ASSERT_NO_FATAL_FAILURE(Diff(mutated, base));
    ASSERT_NO_FATAL_FAILURE(Diff(mutated, mutated));
    ExpectNoFindings();
  }
}

TEST_F(OpenApiDiffTest, PathsNotAnObjectReadsAsNoPaths) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/a":{"get":{"responses":{"200":{"description":"ok"}}}}})"), Doc("[]")));
  ExpectFindings({{B, "path-removed", "", "/a", "/paths/~1a"}});
}

// ---- ordering and the verdict ----------------------------------------------------------------

TEST_F(OpenApiDiffTest, FindingsAreSortedByPathMethodAndPointer) {
  ASSERT_NO_FATAL_FAILURE(Diff(Doc(R"({"/z":{"get":{"responses":{"200":{"description":"ok"}}}},
              "/m":{"put":{"responses":{"200":{"description":"ok"}}},"get":{"responses":{"200":{"description":"ok"}}}},
              "/a":{"get":{"parameters":[{"name":"p","in":"query"},{"name":"q","in":"query"}],
                           "responses":{"200":{"description":"ok"}}}}})"),
                               Doc(R"({"/m":{"get":{"responses":{}}},
              "/a":{"get":{"parameters":[{"name":"q","in":"query","required":true},{"name":"p","in":"query",
                "required":true}],
                           "responses":{"200":{"description":"ok"}}}}})")));
  ExpectFindings({{B, "parameter-made-required", "GET", "/a", "/paths/~1a/get/parameters/0"},
                  {B, "parameter-made-required", "GET", "/a", "/paths/~1a/get/parameters/1"},
                  {B, "response-success-removed", "GET", "/m", "/paths/~1m/get/responses/200"},
                  {B, "operation-removed", "PUT", "/m", "/paths/~1m/put"},
                  {B, "path-removed", "", "/z", "/paths/~1z"}});
}

TEST(NeedsMajorBump, OnlyBreakingFindingsCount) {
  const Finding warning{Severity::Warning, "schema-composition-changed", "GET", "/a", "/x", "m"};
  const Finding info{Severity::Info, "path-added", "", "/b", "/paths/~1b", "m"};
  const Finding breaking{Severity::Breaking, "path-removed", "", "/c", "/paths/~1c", "m"};
  EXPECT_FALSE(needs_major_bump({}));
  EXPECT_FALSE(needs_major_bump({warning, info}));
  EXPECT_TRUE(needs_major_bump({warning, breaking}));
  EXPECT_TRUE((OpenApiDiff{{info, breaking}}.breaking()));
  EXPECT_FALSE((OpenApiDiff{{info}}.breaking()));
}

}  // namespace
}  // namespace roster::governance
