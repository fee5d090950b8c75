// The HTTP face over a real registry and SQLite store: routing on decoded path segments (a name
// holding '/' is addressable), 404 vs 405 with Allow, HEAD, the JSON boundary (mismatches between
// the URL and the document, unaddressable names), the one status mapping, auth, and leases as
// the heartbeat reports them. Real sockets are covered by tests/integration.
#include "roster/upstream/http_api.hpp"

#include <gtest/gtest.h>

#include <tuple>

#include "roster/governance/json_document.hpp"

#include "registry_fixture.hpp"
#include "roster/base/percent.hpp"

namespace roster::upstream {
namespace {

class HttpApiTest : public RegistryFixture {
 protected:
  net::HttpResponse call(std::string method, std::string target, std::string body = {},
                         std::optional<std::string> authorization = std::nullopt) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    if (authorization) req.headers.add("Authorization", *authorization);
    EXPECT_TRUE(net::parse_target(req)) << req.target;
    return api().handle(req);
  }
  HttpApi& api() {
    if (!api_) api_ = std::make_unique<HttpApi>(loop_, *registry_, api_options_);
    return *api_;
  }
  static std::string version_doc(const std::string& name, const std::string& version) {
    return R"({"name": ")" + name + R"(", "version": ")" + version + R"(", "lifecycle_stage": "beta", "owner_team": "t"})";
  }
  static std::string service_path(const std::string& name) { return "/v1/services/" + base::percent_encode(name); }

  net::EventLoop loop_;  // times blocking queries; not run here (they are tested end to end)
  ApiOptions api_options_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(HttpApiTest, ANameWithASlashCanBeRegisteredReadAndDeleted) {
  const std::string name = "team/users?v=1";
  auto put = call("PUT", service_path(name) + "/versions/1.0.0", version_doc(name, "1.0.0"));
  ASSERT_EQ(put.status, 200u) << put.body;
  auto get = call("GET", service_path(name) + "/versions/1.0.0");
  EXPECT_EQ(get.status, 200u) << get.body;
  EXPECT_NE(get.body.find(R"("name":"team/users?v=1")"), std::string::npos) << get.body;
  EXPECT_EQ(call("GET", service_path(name)).status, 200u);
  EXPECT_EQ(call("GET", service_path(name) + "/versions").status, 200u);
  EXPECT_EQ(call("DELETE", service_path(name) + "/versions/1.0.0").status, 200u);
  EXPECT_EQ(call("GET", service_path(name) + "/versions/1.0.0").status, 404u);
  // The same name imported as part of a registry document is as addressable.
  auto imported = call("POST", "/v1/registry", R"({"services": [{"name": "a/b", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  ASSERT_EQ(imported.status, 200u) << imported.body;
  EXPECT_EQ(call("GET", "/v1/services/a%2Fb").status, 200u);
  EXPECT_EQ(call("GET", "/v1/services/a/b").status, 404u);  // two segments: another resource
}

TEST_F(HttpApiTest, UnaddressableNamesAreRefusedAtRegistrationNamingTheField) {
  // A NUL once reached SQLite's key and came back as 503 store_unavailable with the db's path.
  for (const char* bad : {R"(bad\u0001name)", R"(line\nbreak)", "..", R"(nul\u0000byte)"}) {
    auto r = call("POST", "/v1/registry", R"({"services": [{"name": ")" + std::string(bad) +
                                               R"(", "versions": [{"version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"}]}]})");
    EXPECT_EQ(r.status, 400u) << bad << ": " << r.body;
    EXPECT_NE(r.body.find(R"("path":"services[0].name")"), std::string::npos) << r.body;
  }
  // An instance id and a contract party follow the same rule.
  ASSERT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.0")).status, 200u);
  auto id = call("PUT", "/v1/services/svc/versions/1.0.0/instances/x%07y", R"({"id": "x\u0007y", "address": "h", "port": 1})");
  EXPECT_EQ(id.status, 400u) << id.body;
  EXPECT_NE(id.body.find(R"("path":"id")"), std::string::npos) << id.body;
  auto contract = call("PUT", "/v1/contracts/c%01d/1.0.0/svc", R"({"provider_range": "^1", "pact": {}})");
  EXPECT_EQ(contract.status, 400u) << contract.body;
  EXPECT_NE(contract.body.find(R"("path":"consumer")"), std::string::npos) << contract.body;
  EXPECT_EQ(commits(), 1u);  // nothing else was written
}

TEST_F(HttpApiTest, TheUrlAndTheDocumentMustAgree) {
  auto name = call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("other", "1.0.0"));
  EXPECT_EQ(name.status, 400u);
  EXPECT_NE(name.body.find(R"("code":"name_mismatch")"), std::string::npos) << name.body;
  auto version = call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.1"));
  EXPECT_NE(version.body.find(R"("code":"version_mismatch")"), std::string::npos) << version.body;
  ASSERT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.0")).status, 200u);
  auto id = call("PUT", "/v1/services/svc/versions/1.0.0/instances/i2", R"({"id": "i1", "address": "h", "port": 1})");
  EXPECT_EQ(id.status, 400u);
  EXPECT_NE(id.body.find(R"("code":"id_mismatch")"), std::string::npos) << id.body;
  auto broken = call("PUT", "/v1/services/svc/versions/1.0.0", R"({"name": "svc", "version": "1.0.0", "owner_team": 5})");
  EXPECT_EQ(broken.status, 400u);
  EXPECT_NE(broken.body.find(R"("code":"invalid_document")"), std::string::npos) << broken.body;
  EXPECT_EQ(commits(), 1u);
}

TEST_F(HttpApiTest, UnknownPathsAre404WrongMethods405WithAllowAndHeadRunsGet) {
  auto missing = call("GET", "/v1/nothing");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find(R"("code":"not_found")"), std::string::npos);
  auto wrong = call("PATCH", "/v1/services/svc/versions/1.0.0");
  EXPECT_EQ(wrong.status, 405u) << wrong.body;
  EXPECT_EQ(wrong.header("Allow"), "PUT, GET, DELETE, HEAD");
  EXPECT_EQ(call("POST", "/v1/revision").header("Allow"), "GET, HEAD");
  EXPECT_EQ(call("HEAD", "/v1/revision").status, 200u);
  EXPECT_EQ(call("GET", "/v1/services/").status, 404u);  // an empty name is no name
}

TEST_F(HttpApiTest, DomainErrorsMapToStatusesInOnePlace) {
  EXPECT_EQ(http_status(ErrorKind::Invalid), 400u);
  EXPECT_EQ(http_status(ErrorKind::Unauthorized), 401u);
  EXPECT_EQ(http_status(ErrorKind::NotFound), 404u);
  EXPECT_EQ(http_status(ErrorKind::Conflict), 409u);
  EXPECT_EQ(http_status(ErrorKind::TooLarge), 413u);
  EXPECT_EQ(http_status(ErrorKind::Rejected), 422u);
  EXPECT_EQ(http_status(ErrorKind::Unavailable), 503u);
  EXPECT_EQ(http_status(ErrorKind::Io), 500u);
  // And through the API: a forbidden lifecycle move is a Conflict.
  ASSERT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.0")).status, 200u);
  auto move = call("POST", "/v1/services/svc/versions/1.0.0/lifecycle", R"({"stage": "proposed"})");
  EXPECT_EQ(move.status, 409u) << move.body;
  EXPECT_NE(move.body.find(R"("code":"invalid_transition")"), std::string::npos) << move.body;
}

// DELETE of a version and its retirement are refused while a dependency would be stranded,
// and go through with ?force=true, the stranded dependency then a warning.
TEST_F(HttpApiTest, RemovingWhatADependencyNeedsTakesForce) {
  for (const char* v : {"1.0.0", "2.0.0"})
    ASSERT_EQ(call("PUT", std::string("/v1/services/db/versions/") + v, version_doc("db", v)).status, 200u);
  ASSERT_EQ(call("PUT", "/v1/services/app/versions/1.0.0",
                 R"({"name": "app", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t",
                     "dependencies": [{"service": "db", "range": "^1.0.0"}]})").status,
            200u);
  for (const auto& [method, path, body] :
       {std::tuple<std::string, std::string, std::string>{"DELETE", "/v1/services/db/versions/1.0.0", ""},
        {"POST", "/v1/services/db/versions/1.0.0/lifecycle", R"({"stage": "retired"})"}}) {
    auto refused = call(method, path, body);
    EXPECT_EQ(refused.status, 409u) << refused.body;
    EXPECT_NE(refused.body.find(R"("code":"has_dependents")"), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find("app@1.0.0 (db ^1.0.0)"), std::string::npos) << refused.body;
    EXPECT_EQ(call("GET", "/v1/services/db/versions/1.0.0").status, 200u);
  }
  EXPECT_EQ(call("DELETE", "/v1/services/db/versions/2.0.0").status, 200u);  // nothing needs it
  auto forced = call("DELETE", "/v1/services/db/versions/1.0.0?force=true");
  EXPECT_EQ(forced.status, 200u) << forced.body;
  EXPECT_NE(forced.body.find("app@1.0.0 depends on db ^1.0.0, which no longer resolves"), std::string::npos) << forced.body;
  EXPECT_EQ(call("GET", "/v1/services/db/versions/1.0.0").status, 404u);
}

// A JSON Schema's evolution lists what changed, compatible or not: a property dropped from an
// open model is compatible, and still a change a consumer wants to see.
TEST_F(HttpApiTest, EvolutionListsJsonSchemaChanges) {
  auto version = [](const char* v, const char* properties) {
    return std::string(R"({"name": "courier", "version": ")") + v +
           R"(", "lifecycle_stage": "beta", "owner_team": "t", "api_schema": {"format": "json_schema", "document":
               {"type": "object", "properties": {)" + properties + "}}}}";
  };
  ASSERT_EQ(call("PUT", "/v1/services/courier/versions/1.0.0",
                 version("1.0.0", R"("id": {"type": "string"}, "eta": {"type": "integer"})")).status, 200u);
  auto put = call("PUT", "/v1/services/courier/versions/2.0.0", version("2.0.0", R"("id": {"type": "string"})"));
  ASSERT_EQ(put.status, 200u) << put.body;
  auto evolution = call("GET", "/v1/services/courier/evolution");
  ASSERT_EQ(evolution.status, 200u) << evolution.body;
  auto doc = governance::parse_json(evolution.body);
  ASSERT_TRUE(doc);
  const auto& versions = (*doc)["versions"];
  ASSERT_EQ(versions.Size(), 2u);
  const auto& removed = versions[1]["removed"];
  ASSERT_EQ(removed.Size(), 1u) << evolution.body;
  EXPECT_STREQ(removed[0]["id"].GetString(), "property-removed");
  EXPECT_STREQ(removed[0]["pointer"].GetString(), "/properties/eta");
  EXPECT_EQ(versions[1]["added"].Size(), 0u);
}

TEST_F(HttpApiTest, WritesNeedTheTokenInAnyCaseOfTheScheme) {
  api_options_.token = "s3cret";
  const std::string doc = version_doc("svc", "1.0.0");
  EXPECT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", doc).status, 401u);
  EXPECT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", doc, "Bearer wrong").status, 401u);
  EXPECT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", doc, "Basic s3cret").status, 401u);
  EXPECT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", doc, "bearer s3cret").status, 200u);
  EXPECT_EQ(call("DELETE", "/v1/services/svc/versions/1.0.0", "", "BEARER s3cret").status, 200u);
  EXPECT_EQ(call("GET", "/v1/revision").status, 200u);  // reads need none
}

TEST_F(HttpApiTest, AHeartbeatRenewsTheInstancesOwnLeaseAndReportsTheNewExpiry) {
  ASSERT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.0")).status, 200u);
  auto put = call("PUT", "/v1/services/svc/versions/1.0.0/instances/i1?ttl=60", R"({"id": "i1", "address": "h", "port": 1})");
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_NE(put.body.find("\"lease_expires_at_ms\":" + std::to_string(now_ + 60'000)), std::string::npos) << put.body;
  EXPECT_NE(put.body.find(R"("renew_every_seconds":20)"), std::string::npos) << put.body;  // a third of 60 s
  now_ += 10'000;
  auto beat = call("PUT", "/v1/services/svc/versions/1.0.0/instances/i1/heartbeat");
  ASSERT_EQ(beat.status, 200u) << beat.body;
  // The renewed lease, from now and as long as the instance asked for (not the server default).
  EXPECT_NE(beat.body.find("\"lease_expires_at_ms\":" + std::to_string(now_ + 60'000)), std::string::npos) << beat.body;
  now_ += 59'000;
  EXPECT_TRUE(registry_->expire_leases());
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 1u);
  auto gone = call("PUT", "/v1/services/svc/versions/1.0.0/instances/nope/heartbeat");
  EXPECT_EQ(gone.status, 404u);
  EXPECT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0/instances/i1?ttl=0", "{}").status, 400u);
}

// 150,000 nested arrays (300 KB) once overflowed the stack of the recursive DOM parser behind
// every route that reads a JSON body: each now answers 400 and the server goes on.
TEST_F(HttpApiTest, DeeplyNestedBodiesAreRefusedOnEveryDomRoute) {
  const std::string deep = std::string(150'000, '[') + std::string(150'000, ']');
  const std::string deep_in_object = R"({"stage": )" + deep + "}";
  ASSERT_EQ(call("PUT", "/v1/services/svc/versions/1.0.0", version_doc("svc", "1.0.0")).status, 200u);
  const std::pair<std::string, std::string> routes[] = {
      {"POST", "/v1/schemas/check"},
      {"POST", "/v1/schemas/diff"},
      {"POST", "/v1/schemas/compat"},
      {"POST", "/v1/services/svc/versions/1.0.0/lifecycle"},
      {"PUT", "/v1/services/svc/compatibility"},
      {"PUT", "/v1/services/svc/lifecycle-policy"},
      {"PUT", "/v1/contracts/web/1.0.0/svc"},
      {"PUT", "/v1/services/svc/versions/1.0.1"},  // the registry decoder (simdjson), too
      {"POST", "/v1/registry"},
  };
  for (const auto& [method, path] : routes)
    for (const std::string* body : {&deep, &deep_in_object}) {
      auto r = call(method, path, *body);
      EXPECT_EQ(r.status, 400u) << method << " " << path << ": " << r.body;
    }
  EXPECT_EQ(commits(), 1u);
}

TEST_F(HttpApiTest, DryRunsAnswerWithoutWriting) {
  auto dry = call("PUT", "/v1/services/svc/versions/1.0.0?dry_run=true", version_doc("svc", "1.0.0"));
  EXPECT_EQ(dry.status, 200u);
  EXPECT_NE(dry.body.find(R"("accepted":true)"), std::string::npos) << dry.body;
  auto refused = call("POST", "/v1/registry?dry_run=1", R"({"services": [{"name": "a", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t",
       "dependencies": [{"service": "old", "range": "^9"}]}]}]})");
  EXPECT_NE(refused.body.find(R"("accepted":true)"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("does not resolve"), std::string::npos) << refused.body;  // a warning
  EXPECT_EQ(registry_->revision(), 0u);
}

// Big answers: pages by limit and cursor (no version twice or lost, even when one is written
// between pages), listings without schema documents, the document at its own URL, the names.
TEST_F(HttpApiTest, ListingsPageByCursorLeaveSchemasOutAndNamesAreListed) {
  auto with_schema = [](const std::string& name, const std::string& version) {
    return R"({"name": ")" + name + R"(", "version": ")" + version +
           R"(", "lifecycle_stage": "beta", "owner_team": "t", "api_schema": {"format": "json_schema",
              "document": {"type": "object", "description": "big"}}})";
  };
  for (const char* version : {"1.2.0", "1.10.0", "1.9.0"})
    ASSERT_EQ(call("PUT", service_path("a@b") + "/versions/" + version, with_schema("a@b", version)).status, 200u);
  ASSERT_EQ(call("PUT", service_path("z") + "/versions/1.0.0", version_doc("z", "1.0.0")).status, 200u);

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = call("GET", "/v1/services?limit=2&schema=false" + (cursor.empty() ? "" : "&cursor=" + base::percent_encode(cursor)));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body.find("\"document\""), std::string::npos) << r.body;
    auto doc = governance::parse_json(r.body);
    ASSERT_TRUE(doc);
    for (const auto& v : (*doc)["services"].GetArray())
      seen.push_back(std::string(v["name"].GetString()) + "@" + v["version"].GetString());
    if (page == 0)  // written between pages, before the cursor: not in the next pages
      ASSERT_EQ(call("PUT", service_path("a@b") + "/versions/1.0.0", version_doc("a@b", "1.0.0")).status, 200u);
    if (!doc->HasMember("next_cursor")) break;
    cursor = (*doc)["next_cursor"].GetString();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a@b@1.2.0", "a@b@1.9.0", "a@b@1.10.0", "z@1.0.0"}));

  auto full = call("GET", "/v1/services?team=t");
  EXPECT_NE(full.body.find(R"("document":{"type":"object","description":"big"})"), std::string::npos) << full.body;
  auto schema = call("GET", service_path("a@b") + "/versions/1.9.0/schema");
  EXPECT_EQ(schema.status, 200u);
  EXPECT_EQ(schema.body, R"({"type":"object","description":"big"})");
  EXPECT_EQ(call("GET", service_path("z") + "/versions/1.0.0/schema").status, 404u);
  EXPECT_EQ(call("GET", "/v1/services?limit=0").status, 400u);
  EXPECT_EQ(call("GET", service_path("a@b") + "/versions?schema=false").body.find("\"document\""), std::string::npos);

  auto names = call("GET", "/v1/service-names");
  EXPECT_EQ(names.body, R"({"services":["a@b","z"]})");
}

TEST_F(HttpApiTest, EveryAnswerCarriesTheRevisionItWasComputedAt) {
  EXPECT_EQ(call("GET", "/v1/services").header("X-Roster-Index"), "0");
  auto put = call("PUT", "/v1/services/a/versions/1.0.0", version_doc("a", "1.0.0"));
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(put.header("X-Roster-Index"), std::to_string(registry_->revision()));
  EXPECT_EQ(call("GET", "/v1/services/nope").header("X-Roster-Index"), std::to_string(registry_->revision()));
  EXPECT_EQ(call("GET", "/no/such/route").header("X-Roster-Index"), std::to_string(registry_->revision()));
}

TEST_F(HttpApiTest, AGetAnsweredWithTheETagItsClientHoldsIs304UntilTheNextWrite) {
  ASSERT_EQ(call("PUT", "/v1/services/a/versions/1.0.0", version_doc("a", "1.0.0")).status, 200u);
  auto first = call("GET", "/v1/services/a");
  ASSERT_EQ(first.status, 200u);
  const std::string etag(first.header("ETag").value_or(""));
  ASSERT_FALSE(etag.empty());
  auto conditional = [&](std::string_view route, std::string field) {
    net::HttpRequest req;
    req.method = "GET";
    req.target = std::string(route);
    req.headers.add("If-None-Match", std::move(field));
    EXPECT_TRUE(net::parse_target(req));
    return api().handle(req);
  };
  auto again = conditional("/v1/services/a", etag);
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("ETag"), etag);
  EXPECT_EQ(conditional("/v1/services/a", "\"other\", W/" + etag).status, 304u);  // a list; weak comparison
  EXPECT_EQ(conditional("/v1/services/a", "\"other\"").status, 200u);
  EXPECT_EQ(conditional("/v1/services/missing", etag).status, 404u);  // only a 200 becomes 304
  ASSERT_EQ(call("PUT", "/v1/services/b/versions/1.0.0", version_doc("b", "1.0.0")).status, 200u);
  auto after_write = conditional("/v1/services/a", etag);
  EXPECT_EQ(after_write.status, 200u);
  EXPECT_NE(after_write.header("ETag"), etag);
  EXPECT_FALSE(call("PUT", "/v1/services/c/versions/1.0.0", version_doc("c", "1.0.0")).header("ETag"));
}

TEST_F(HttpApiTest, ABadIndexOrWaitIs400NamingTheParameter) {
  for (const char* target : {"/v1/services?index=abc", "/v1/services?index=-1", "/v1/services?index=",
                             "/v1/services?index=99999999999999999999999", "/v1/revision?index=1.5"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_NE(r.body.find(R"("code":"invalid_index")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("path":"index")"), std::string::npos) << r.body;
  }
  for (const char* target : {"/v1/services?index=0&wait=soon", "/v1/services?index=0&wait=5d",
                             "/v1/services?index=0&wait=-5s", "/v1/services?index=0&wait=", "/v1/services?wait=5s"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_NE(r.body.find(R"("code":"invalid_wait")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("path":"wait")"), std::string::npos) << r.body;
  }
}

TEST_F(HttpApiTest, ABlockingQueryBehindTheRegistryOrAheadOfItIsAnsweredAtOnce) {
  ASSERT_EQ(call("PUT", "/v1/services/a/versions/1.0.0", version_doc("a", "1.0.0")).status, 200u);
  const uint64_t now = registry_->revision();
  for (uint64_t index : {now - 1, now + 1, now + 1000}) {
    auto r = call("GET", "/v1/services/a?index=" + std::to_string(index) + "&wait=10s");
    EXPECT_EQ(r.status, 200u) << index;
    EXPECT_FALSE(r.deferred) << index;
    EXPECT_EQ(r.header("X-Roster-Index"), std::to_string(now));
  }
  // At the registry's revision it is parked: the server gets a deferred answer.
  auto parked = call("GET", "/v1/services/a?index=" + std::to_string(now));
  EXPECT_TRUE(parked.deferred);
  // Not when waiting cannot help: no such route, a bad parameter.
  EXPECT_EQ(call("GET", "/v1/nothing?index=" + std::to_string(now)).status, 404u);
  EXPECT_EQ(call("GET", "/v1/services?stage=nope&index=" + std::to_string(now)).status, 400u);
}

}  // namespace
}  // namespace roster::upstream
