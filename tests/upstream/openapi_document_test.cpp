// docs/openapi.json against the server it describes: GET /v1/openapi.json serves the file as built
// in, its (method, path) pairs are exactly the route table's (so a route added without its
// documentation fails here), and roster's own OpenAPI check (POST /v1/schemas/check) accepts it.
// tests/integration/test_openapi.py checks real answers against the document's schemas.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "registry_fixture.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/upstream/http_api.hpp"

namespace roster::upstream {
namespace {

class OpenApiDocumentTest : public RegistryFixture {
 protected:
  net::HttpResponse call(std::string method, std::string target, std::string body = {}) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    EXPECT_TRUE(net::parse_target(req)) << req.target;
    return api().handle(req);
  }
  rapidjson::Document served() {
    auto r = call("GET", "/v1/openapi.json");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "application/json");
    auto doc = governance::parse_json(r.body);
    EXPECT_TRUE(doc) << doc.error().message;
    return doc ? std::move(*doc) : rapidjson::Document();
  }

  HttpApi& api() {
    if (!api_) api_ = std::make_unique<HttpApi>(loop_, *registry_, ApiOptions{});
    return *api_;
  }

  net::EventLoop loop_;  // the API's blocking queries and watch streams need one; not run here
  std::unique_ptr<HttpApi> api_;
};

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(ROSTER_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << ROSTER_SOURCE_DIR << "/" << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(OpenApiDocumentTest, TheServedDocumentIsDocsOpenApiJson) {
  EXPECT_EQ(call("GET", "/v1/openapi.json").body, source_file("docs/openapi.json"))
      << "the server was built from another docs/openapi.json: rebuild";
}

TEST_F(OpenApiDocumentTest, TheDocumentNamesExactlyTheRoutesTheServerHas) {
  std::set<std::string> documented;
  auto doc = served();
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("paths") && doc["paths"].IsObject());
  for (auto& [path, item] : doc["paths"].GetObject())
    for (std::string method : {"get", "put", "post", "delete", "patch", "options", "head", "trace"})
      if (item.HasMember(method.c_str())) {
        std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::toupper(c); });
        documented.insert(method + " " + path.GetString());
      }
  std::set<std::string> routes;
  for (std::string_view label : api().route_labels())
    EXPECT_TRUE(routes.emplace(label).second) << "the route table has " << label << " twice";
  for (auto& label : routes) EXPECT_TRUE(documented.count(label)) << label << " is not in docs/openapi.json";
  for (auto& label : documented)
    EXPECT_TRUE(routes.count(label)) << "docs/openapi.json has " << label << ", the server does not";
  EXPECT_GE(routes.size(), 40u);
}

TEST_F(OpenApiDocumentTest, RostersOwnOpenApiCheckAcceptsTheDocument) {
  auto r = call("POST", "/v1/schemas/check?format=openapi", std::string(call("GET", "/v1/openapi.json").body));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto answer = governance::parse_json(r.body);
  ASSERT_TRUE(answer);
  EXPECT_TRUE((*answer)["valid"].GetBool()) << r.body;
  EXPECT_EQ(std::string((*answer)["format"].GetString()), "openapi");
}

}  // namespace
}  // namespace roster::upstream
