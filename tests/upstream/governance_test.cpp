// The registry's governance rules over a real SQLite store: lifecycle transitions and scheduled
// moves (an injected clock, never sleeps), dependency rules, schema rules with dry runs, per-
// service settings, and contracts with can-i-deploy.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "roster/governance/json_document.hpp"
#include "roster/upstream/contract_checks.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/sqlite_store.hpp"
#include "registry_fixture.hpp"

namespace roster::upstream {
namespace {

constexpr int64_t kDay = model::kDayMs;

std::string doc(const std::string& name, const std::string& version, const std::string& stage = "beta",
                const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version + R"(", "lifecycle_stage": ")" + stage +
         R"(", "owner_team": "team-a")" + extra + "}";
}
std::string deps(const std::string& service, const std::string& range) {
  return R"(, "dependencies": [{"service": ")" + service + R"(", "range": ")" + range + R"("}])";
}
std::string openapi(const std::string& paths) {
  return R"(, "api_schema": {"format": "openapi", "document": {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {)" +
         paths + "}}}";
}
std::string json_schema(const std::string& schema) {
  return R"(, "api_schema": {"format": "json_schema", "document": )" + schema + "}";
}
const std::string kGetUsers = R"("/users": {"get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object",
      "properties": {"id": {"type": "string"}}}}}}}}})";
const std::string kGetUsersLimitRequired = R"("/users": {"get": {"parameters": [{"name": "limit", "in": "query", "required": true,
    "schema": {"type": "integer"}}], "responses": {"200": {"description": "ok", "content": {"application/json": {"schema":
      {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}})";

class GovernanceTest : public RegistryFixture {
 protected:
  GovernanceTest() { now_ = 1'780'000'000'000; }
  // A contract body {"provider_range", "pact"}, taken apart as the HTTP face does.
  WriteResult put_contract(const std::string& consumer, const std::string& version, const std::string& provider,
                           const std::string& body) {
    auto doc = governance::parse_json(body);
    EXPECT_TRUE(doc);
    return registry_->put_contract({consumer, version, provider}, governance::member(*doc, "provider_range")->GetString(),
                                   *governance::member(*doc, "pact"));
  }
  // Registers name@version as beta, then moves it to `stage`.
  void put(const std::string& name, const std::string& version, const std::string& extra = "",
           wire::LifecycleStage stage = wire::LifecycleStage::Stable) {
    auto out = put_version(doc(name, version, "beta", extra));
    ASSERT_TRUE(out) << out.error().error.message;
    if (stage != wire::LifecycleStage::Beta) {
      out = registry_->transition({name, version}, stage, "test");
      ASSERT_TRUE(out) << out.error().error.message;
    }
  }
  wire::LifecycleStage stage(const std::string& name, const std::string& version) {
    return static_cast<wire::LifecycleStage>(registry_->version(name, version)->stage());
  }
};

TEST_F(GovernanceTest, NewVersionsStartEarlyAndMoveOnlyForward) {
  auto out = put_version(doc("a", "1.0.0", "stable"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.kind, ErrorKind::Conflict);
  EXPECT_EQ(out.error().error.code, "invalid_transition");
  EXPECT_NE(out.error().error.message.find("proposed, development or beta"), std::string::npos) << out.error().error.message;
  EXPECT_EQ(commits(), 0u);  // nothing written

  put("a", "1.0.0", "", wire::LifecycleStage::Stable);
  out = registry_->transition({"a", "1.0.0"}, wire::LifecycleStage::Beta, "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.message, "a@1.0.0: cannot move from stable to beta; allowed from stable: deprecated, sunset or retired");
  // A PUT that changes the stage is a transition too.
  out = put_version(doc("a", "1.0.0", "development"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "invalid_transition");
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Stable);
  EXPECT_EQ(registry_->transition({"nope", "1.0.0"}, wire::LifecycleStage::Stable, "").error().error.kind, ErrorKind::NotFound);
}

TEST_F(GovernanceTest, DeprecationScheduleMovesOnTimeEachMoveARevision) {
  put("a", "1.0.0");
  ASSERT_TRUE(registry_->transition({"a", "1.0.0"}, wire::LifecycleStage::Deprecated, "use 2.x"));
  auto* v = registry_->version("a", "1.0.0");
  EXPECT_EQ(v->deprecated_at_ms(), now_);
  EXPECT_EQ(v->sunset_at_ms(), now_ + 90 * kDay);
  EXPECT_EQ(v->deprecation_reason()->str(), "use 2.x");

  const uint64_t before = registry_->revision();
  now_ += 90 * kDay - 1;
  EXPECT_TRUE(registry_->advance_lifecycle());
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Deprecated);
  EXPECT_EQ(registry_->revision(), before);

  now_ += 1;
  EXPECT_TRUE(registry_->advance_lifecycle());
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Sunset);
  EXPECT_EQ(registry_->revision(), before + 1);

  now_ += 30 * kDay;
  EXPECT_TRUE(registry_->advance_lifecycle());
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Retired);
  EXPECT_EQ(registry_->revision(), before + 2);
  EXPECT_EQ(registry_->version("a", "1.0.0")->retired_at_ms(), now_);
  EXPECT_TRUE(registry_->advance_lifecycle());  // nothing more to do
  EXPECT_EQ(registry_->revision(), before + 2);
  reopen();  // the moves are durable
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Retired);
}

TEST_F(GovernanceTest, PerServicePolicyAndSettingsSurviveRestarts) {
  ASSERT_TRUE(registry_->set_settings("a", governance::CompatibilityMode::Full, model::LifecyclePolicy{7, 3}));
  EXPECT_FALSE(registry_->set_settings("a", std::nullopt, model::LifecyclePolicy{0, 3}));  // days ≥ 1
  reopen();
  EXPECT_EQ(registry_->settings("a").compatibility, governance::CompatibilityMode::Full);
  EXPECT_EQ(registry_->settings("a").lifecycle, (model::LifecyclePolicy{7, 3}));
  EXPECT_EQ(registry_->settings("b").compatibility, governance::CompatibilityMode::Backward);  // the default
  put("a", "1.0.0", "", wire::LifecycleStage::Deprecated);
  EXPECT_EQ(registry_->version("a", "1.0.0")->sunset_at_ms(), now_ + 7 * kDay);
  now_ += 10 * kDay;
  EXPECT_TRUE(registry_->advance_lifecycle());
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Retired);  // sunset at day 7, retired at day 10
}

TEST_F(GovernanceTest, DependencyRules) {
  put("db", "1.0.0");
  put("old", "1.0.0", "", wire::LifecycleStage::Retired);
  put("legacy", "1.0.0", "", wire::LifecycleStage::Deprecated);

  auto out = put_version(doc("app", "1.0.0", "beta", deps("old", "^1.0.0")));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.kind, ErrorKind::Rejected);
  EXPECT_EQ(out.error().error.code, "retired_dependency");
  EXPECT_EQ(out.error().error.where, "dependencies[0]");
  EXPECT_FALSE(registry_->version("app", "1.0.0"));
  EXPECT_EQ(registry_->graph().resolve("old", "^1.0.0").status, model::ResolutionStatus::OnlyRetired);

  out = put_version(doc("app", "1.0.0", "beta", deps("legacy", "^1.0.0")));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("resolves to legacy@1.0.0, which is deprecated"), std::string::npos) << out->warnings[0];

  out = put_version(doc("app", "1.1.0", "beta", deps("ghost", "^1.0.0")));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("does not resolve"), std::string::npos);

  // The graph follows the writes (and a restart).
  reopen();
  auto impact = registry_->graph().impact("legacy", std::nullopt);
  ASSERT_EQ(impact.size(), 1u);
  EXPECT_EQ(impact[0].dependent.to_string(), "app@1.0.0");
  auto users = registry_->graph().dependents_resolving_to("legacy", "1.0.0");
  ASSERT_EQ(users.size(), 1u);

  // Retiring it would leave app without a live version: refused, naming app, unless forced
  // (then it warns about the dependents left behind).
  out = registry_->transition({"legacy", "1.0.0"}, wire::LifecycleStage::Retired, "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "has_dependents");
  EXPECT_NE(out.error().error.message.find("app@1.0.0 (legacy ^1.0.0)"), std::string::npos) << out.error().error.message;
  EXPECT_EQ(registry_->version("legacy", "1.0.0")->stage(), wire::LifecycleStage::Deprecated);
  out = registry_->transition({"legacy", "1.0.0"}, wire::LifecycleStage::Retired, "", /*force=*/true);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("app@1.0.0"), std::string::npos);
}

// Deleting or retiring a version is refused while some dependency resolves to it and would
// resolve to no live version without it; one that re-resolves to another version is no reason.
TEST_F(GovernanceTest, RemovingTheOnlyVersionADependencyResolvesToIsRefusedUnlessForced) {
  put("db", "1.0.0");
  put("db", "1.1.0");
  put("db", "2.0.0");
  ASSERT_TRUE(put_version(doc("app", "1.0.0", "beta", deps("db", "^1.0.0"))));
  ASSERT_TRUE(put_version(doc("tool", "1.0.0", "beta", deps("db", "~1.1.0"))));
  const size_t before = commits();

  // app resolves to 1.1.0 but 1.0.0 would do; tool has only 1.1.0: the delete names tool alone.
  auto out = registry_->delete_version({"db", "1.1.0"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.kind, ErrorKind::Conflict);
  EXPECT_EQ(out.error().error.code, "has_dependents");
  EXPECT_EQ(out.error().error.where, "force");
  EXPECT_NE(out.error().error.message.find("tool@1.0.0 (db ~1.1.0)"), std::string::npos) << out.error().error.message;
  EXPECT_EQ(out.error().error.message.find("app@"), std::string::npos) << out.error().error.message;
  EXPECT_TRUE(registry_->version("db", "1.1.0"));
  EXPECT_EQ(commits(), before);
  // Retiring it is refused the same way.
  out = registry_->transition({"db", "1.1.0"}, wire::LifecycleStage::Retired, "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "has_dependents");

  // Nothing depends on 2.0.0 alone: deleted at once, without warnings.
  out = registry_->delete_version({"db", "2.0.0"});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->warnings.empty());

  // Forced: deleted, and the stranded dependency is a warning; app re-resolves to 1.0.0.
  out = registry_->delete_version({"db", "1.1.0"}, /*force=*/true);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("tool@1.0.0 depends on db ~1.1.0"), std::string::npos) << out->warnings[0];
  EXPECT_FALSE(registry_->version("db", "1.1.0"));
  EXPECT_EQ(registry_->graph().resolve("db", "^1.0.0").target.version, "1.0.0");

  // Many stranded dependencies: ten are named, the rest counted.
  for (int k = 0; k < 12; ++k)
    ASSERT_TRUE(put_version(doc("many" + std::to_string(k), "1.0.0", "beta", deps("db", "~1.0.0"))));
  out = registry_->delete_version({"db", "1.0.0"});
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().error.message.find("would leave 13 dependencies"), std::string::npos) << out.error().error.message;
  EXPECT_NE(out.error().error.message.find(" and 3 more; pass force=true"), std::string::npos) << out.error().error.message;

  // A retired version does not count as somewhere else to resolve to.
  ASSERT_TRUE(put_version(doc("db", "1.0.1", "beta")));
  ASSERT_TRUE(registry_->transition({"db", "1.0.1"}, wire::LifecycleStage::Retired, ""));
  out = registry_->delete_version({"db", "1.0.0"});
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().error.message.find("app@1.0.0 (db ^1.0.0)"), std::string::npos) << out.error().error.message;
}

TEST_F(GovernanceTest, InvalidSchemaIsRefusedWithEveryProblem) {
  auto out = put_version(doc("a", "1.0.0", "beta",
      R"(, "api_schema": {"format": "openapi", "document": {"openapi": "3.0.3", "paths": {"users": {}}}})"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.kind, ErrorKind::Rejected);
  EXPECT_EQ(out.error().error.code, "invalid_schema");
  EXPECT_GE(out.error().findings.size(), 2u);  // no info; a path without a leading slash
  for (auto& f : out.error().findings) EXPECT_EQ(f.id, "invalid-schema");
  EXPECT_EQ(commits(), 0u);

  out = put_version(doc("b", "1.0.0", "beta", json_schema(R"({"type": 5})")));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "invalid_schema");
  ASSERT_FALSE(out.error().findings.empty());
  EXPECT_EQ(out.error().findings[0].pointer, "/type");
}

TEST_F(GovernanceTest, BreakingOpenApiChangeNeedsAMajorBumpAndDryRunWritesNothing) {
  put("a", "1.0.0", openapi(kGetUsers));
  const uint64_t before = registry_->revision();

  auto out = put_version(doc("a", "1.1.0", "beta", openapi(kGetUsersLimitRequired)), {.dry_run = true});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "incompatible_schema");
  ASSERT_FALSE(out.error().findings.empty());
  EXPECT_EQ(out.error().findings[0].method, "GET");
  EXPECT_EQ(out.error().findings[0].path, "/users");
  EXPECT_EQ(registry_->revision(), before);

  out = put_version(doc("a", "1.1.0", "beta", openapi(kGetUsersLimitRequired)));
  ASSERT_FALSE(out);
  EXPECT_FALSE(registry_->version("a", "1.1.0"));

  // A harmless change is fine; a dry run of it says so and writes nothing.
  out = put_version(doc("a", "1.1.0", "beta", openapi(kGetUsers)), {.dry_run = true});
  EXPECT_TRUE(out);
  EXPECT_FALSE(registry_->version("a", "1.1.0"));

  // A major version may break.
  out = put_version(doc("a", "2.0.0", "beta", openapi(kGetUsersLimitRequired)));
  EXPECT_TRUE(out) << out.error().error.message;

  // Re-registering a published version may not break it either.
  out = put_version(doc("a", "1.0.0", "stable", openapi(kGetUsersLimitRequired)));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "incompatible_schema");

  // With the mode NONE nothing is compared.
  ASSERT_TRUE(registry_->set_settings("a", governance::CompatibilityMode::None, std::nullopt));
  out = put_version(doc("a", "1.2.0", "beta", openapi(kGetUsersLimitRequired)));
  EXPECT_TRUE(out);
}

TEST_F(GovernanceTest, JsonSchemaCompatibilityModes) {
  const std::string v1 = R"({"type": "object", "properties": {"id": {"type": "string"}}})";
  const std::string v2 = R"({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                            "required": ["name"]})";
  put("s", "1.0.0", json_schema(v1));
  // BACKWARD (the default): v2 cannot read v1 data that lacks "name".
  auto out = put_version(doc("s", "1.1.0", "beta", json_schema(v2)));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "incompatible_schema");
  EXPECT_NE(out.error().error.message.find("BACKWARD"), std::string::npos);
  ASSERT_FALSE(out.error().findings.empty());
  // FORWARD: v1 can read v2 data.
  ASSERT_TRUE(registry_->set_settings("s", governance::CompatibilityMode::Forward, std::nullopt));
  out = put_version(doc("s", "1.1.0", "beta", json_schema(v2)));
  EXPECT_TRUE(out) << out.error().error.message;
  // A new major line starts fresh.
  ASSERT_TRUE(registry_->set_settings("s", governance::CompatibilityMode::FullTransitive, std::nullopt));
  out = put_version(doc("s", "2.0.0", "beta", json_schema(R"({"type": "string"})")));
  EXPECT_TRUE(out) << out.error().error.message;
  out = put_version(doc("s", "1.2.0", "beta", json_schema(R"({"type": "string"})")));
  EXPECT_FALSE(out);
}

// The rules read the versions they need however many stand in between: the nearest version with a
// schema of the same format (past versions without one, and of another format), every earlier one
// of the line for a transitive mode, none of another major line.
TEST_F(GovernanceTest, CompatibilityIsCheckedAgainstTheRightVersionsPastManyOthers) {
  const std::string v1 = R"({"type": "object", "properties": {"id": {"type": "string"}}})";
  const std::string v2 = R"({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                            "required": ["name"]})";
  put("s", "1.0.0", json_schema(v1));
  ASSERT_TRUE(registry_->set_settings("s", governance::CompatibilityMode::None, std::nullopt));
  put("s", "1.1.0", json_schema(v2));  // not backward compatible with 1.0.0: let in with NONE
  for (int patch = 1; patch <= 30; ++patch) put("s", "1.1." + std::to_string(patch));  // no schema
  put("s", "1.1.31", openapi(kGetUsers));  // another format
  put("s", "0.9.0", json_schema(R"({"type": "string"})"));  // another major line

  // BACKWARD compares with the nearest JSON Schema below (1.1.0): compatible.
  ASSERT_TRUE(registry_->set_settings("s", governance::CompatibilityMode::Backward, std::nullopt));
  auto out = put_version(doc("s", "1.2.0", "beta", json_schema(v2)));
  EXPECT_TRUE(out) << out.error().error.message;
  // BACKWARD_TRANSITIVE compares with every one of the line: 1.0.0 lacks "name".
  ASSERT_TRUE(registry_->set_settings("s", governance::CompatibilityMode::BackwardTransitive, std::nullopt));
  out = put_version(doc("s", "1.3.0", "beta", json_schema(v2)));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "incompatible_schema");
  EXPECT_NE(out.error().error.message.find("BACKWARD_TRANSITIVE"), std::string::npos);
  // A 2.0.0 is compared with nothing of line 1.
  out = put_version(doc("s", "2.0.0", "beta", json_schema(R"({"type": "integer"})")));
  EXPECT_TRUE(out) << out.error().error.message;
  EXPECT_EQ(registry_->versions("s").size(), 36u);
  EXPECT_EQ(registry_->versions("s").front()->version()->str(), "0.9.0");
  EXPECT_EQ(registry_->latest("s")->version()->str(), "1.1.31");  // the stable one over the beta 2.0.0
  EXPECT_EQ(registry_->latest("s", true)->version()->str(), "2.0.0");
}

TEST_F(GovernanceTest, ImportKeepsStagesAndChecksTheRest) {
  auto out = import(R"({"services": [{"name": "a", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "deprecated", "owner_team": "t"},
      {"version": "2.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  ASSERT_TRUE(out) << out.error().error.message;
  EXPECT_EQ(stage("a", "1.0.0"), wire::LifecycleStage::Deprecated);
  EXPECT_EQ(registry_->version("a", "1.0.0")->deprecated_at_ms(), now_);  // filled in
  EXPECT_EQ(registry_->version("a", "1.0.0")->sunset_at_ms(), now_ + 90 * kDay);
  // An import still moves existing versions only forward.
  out = import(R"({"services": [{"name": "a", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "invalid_transition");
}

// An import's settings are in force for its own versions, and are written with them or not at all.
TEST_F(GovernanceTest, ImportedSettingsApplyToTheImportsOwnVersionsAllOrNothing) {
  const std::string breaking = R"({"services": [{"name": "a", SETTINGS "versions": [
      {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t")" + openapi(kGetUsers) + R"(},
      {"version": "1.1.0", "lifecycle_stage": "stable", "owner_team": "t")" + openapi(kGetUsersLimitRequired) + R"(}]}]})";
  auto with = [&](const std::string& settings) {
    std::string json = breaking;
    return json.replace(json.find("SETTINGS"), 8, settings);
  };
  // Under the default BACKWARD the 1.x line may not break.
  auto out = import(with(""));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "incompatible_schema");
  // A refused import writes none of its settings either.
  out = import(with(R"("settings": {"compatibility": "BACKWARD", "sunset_after_days": 5},)"));
  ASSERT_FALSE(out);
  EXPECT_EQ(registry_->settings("a").lifecycle.sunset_after_days, 90);
  // NONE in the same document lets it through, and is kept.
  out = import(with(R"("settings": {"compatibility": "NONE", "sunset_after_days": 5},)"));
  ASSERT_TRUE(out) << out.error().error.message;
  EXPECT_EQ(registry_->settings("a").compatibility, governance::CompatibilityMode::None);
  EXPECT_EQ(registry_->settings("a").lifecycle.sunset_after_days, 5);
  EXPECT_EQ(registry_->settings("a").lifecycle.retire_after_days, options_.lifecycle.retire_after_days);
  // A field left out keeps what the server has.
  ASSERT_TRUE(import(R"({"services": [{"name": "a", "versions": [], "settings": {"retire_after_days": 9}}]})"));
  EXPECT_EQ(registry_->settings("a").compatibility, governance::CompatibilityMode::None);
  EXPECT_EQ(registry_->settings("a").lifecycle, (model::LifecyclePolicy{5, 9}));
  const auto revision = registry_->revision();
  ASSERT_TRUE(import(R"({"services": [{"name": "a", "versions": [], "settings": {"retire_after_days": 9}}]})"));
  EXPECT_EQ(registry_->revision(), revision);  // the same settings again change nothing
}

const std::string kProviderApi = R"("/users/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true,
    "schema": {"type": "string"}}], "responses": {"200": {"description": "ok", "content": {"application/json": {"schema":
      {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}}}})";
std::string pact(const std::string& path, int status) {
  return R"({"provider_range": "^1.0.0", "pact": {"consumer": {"name": "web"}, "provider": {"name": "users"},
    "interactions": [{"description": "get a user", "request": {"method": "GET", "path": ")" + path + R"("},
      "response": {"status": )" + std::to_string(status) + R"(, "body": {"id": "42"}}}],
    "metadata": {"pactSpecification": {"version": "2.0.0"}}}})";
}

// An export (GET /v1/registry) imported into an empty registry gives the same registry: versions
// with their stages, dates and schemas, dependencies, contracts and settings.
TEST_F(GovernanceTest, AnExportRestoresTheSameRegistryIntoAnEmptyOne) {
  ASSERT_TRUE(registry_->set_settings("users", governance::CompatibilityMode::None, model::LifecyclePolicy{7, 3}));
  put("users", "1.0.0", openapi(kProviderApi), wire::LifecycleStage::Deprecated);
  put("users", "1.10.0", openapi(kGetUsersLimitRequired));
  put("users", "1.2.0", openapi(kGetUsers));
  put("web", "1.0.0", deps("users", "^1.0.0"));
  ASSERT_TRUE(registry_->set_settings("planned", governance::CompatibilityMode::FullTransitive, std::nullopt));
  ASSERT_TRUE(put_contract("web", "1.0.0", "users", pact("/users/42", 200)));
  ASSERT_TRUE(put_instance("web", "1.0.0", R"({"id": "w1", "address": "10.0.0.1", "port": 80})"));

  const std::string exported = wire::to_registry_json(registry_->records(false));
  EXPECT_EQ(exported.find("\"instances\""), std::string::npos);  // live state stays out unless asked
  EXPECT_NE(wire::to_registry_json(registry_->records(true)).find("\"w1\""), std::string::npos);
  // Versions by precedence within their service.
  EXPECT_LT(exported.find("\"1.2.0\""), exported.find("\"1.10.0\""));

  now_ += kDay;  // a restore later keeps the recorded dates
  auto store = SqliteStore::open((dir_ / "restored").string()).value();
  auto restored = Registry::open(*store, options_, [this] { return now_; }, nullptr).value();
  auto doc = decoder_.decode(exported);
  ASSERT_TRUE(doc.ok()) << doc.errors[0].to_string();
  auto out = restored->import(doc);
  ASSERT_TRUE(out) << out.error().error.message;

  // The same document, but for the revision each record was written at.
  auto without_revisions = [](std::string json) {
    static const std::regex revision(R"("revision":[0-9]+,?)");
    return std::regex_replace(json, revision, "");
  };
  EXPECT_EQ(without_revisions(wire::to_registry_json(restored->records(false))), without_revisions(exported));
  EXPECT_EQ(restored->settings("users").lifecycle, (model::LifecyclePolicy{7, 3}));
  EXPECT_EQ(restored->settings("planned").compatibility, governance::CompatibilityMode::FullTransitive);
  EXPECT_EQ(restored->graph().resolve("users", "^1.0.0").target.version, "1.10.0");
}

TEST_F(GovernanceTest, ContractsAndCanIDeploy) {
  put("users", "1.0.0", openapi(kProviderApi));
  put("web", "1.0.0");
  put("web", "1.1.0");

  auto out = put_contract("web", "1.0.0", "users", R"({"provider_range": "^1.0.0", "pact": {"interactions": 3}})");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "invalid_pact");
  EXPECT_FALSE(out.error().findings.empty());
  out = put_contract("web", "1.0.0", "users", pact("/users/42", 200));
  ASSERT_TRUE(out) << out.error().error.message;
  out = put_contract("web", "1.1.0", "users", pact("/accounts/42", 200));
  ASSERT_TRUE(out) << out.error().error.message;

  auto v = verify_contract(*registry_, *registry_->contract({"web", "1.0.0", "users"}));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].ok) << v[0].message;

  auto yes = can_i_deploy(*registry_, "web", "1.0.0");
  ASSERT_TRUE(yes);
  EXPECT_TRUE(yes->deployable);
  auto no = can_i_deploy(*registry_, "web", "1.1.0");
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->deployable);
  ASSERT_EQ(no->as_consumer.size(), 1u);
  EXPECT_FALSE(no->as_consumer[0].findings.empty());
  // As a provider, users@1.0.0 fails web@1.1.0's contract.
  auto provider = can_i_deploy(*registry_, "users", "1.0.0");
  ASSERT_TRUE(provider);
  EXPECT_FALSE(provider->deployable);
  EXPECT_EQ(provider->as_provider.size(), 2u);
  EXPECT_EQ(contract_matrix(*registry_, "users").size(), 2u);
  EXPECT_FALSE(can_i_deploy(*registry_, "users", "9.9.9"));

  ASSERT_TRUE(registry_->delete_contract({"web", "1.1.0", "users"}));
  EXPECT_TRUE(can_i_deploy(*registry_, "users", "1.0.0")->deployable);
}

// The case that let a breaking provider through: 2.0.0 drops the optional "eta" from an open
// response schema, web's pact reads it and its range takes 2.0.0: can-i-deploy says no, naming
// the field, and the upgrade names web though its range is unaffected.
TEST_F(GovernanceTest, AProviderThatDropsAFieldAConsumerReadsCannotDeploy) {
  auto api = [](const char* properties) {
    return openapi(std::string(R"("/orders/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true,
        "schema": {"type": "string"}}], "responses": {"200": {"description": "ok", "content": {"application/json":
        {"schema": {"type": "object", "required": ["id", "status"], "properties": {)") + properties + "}}}}}}}}");
  };
  put("courier", "1.0.0", api(R"("id": {"type": "string"}, "status": {"type": "string"}, "eta": {"type": "integer"})"));
  // Within the 1.x line the server refuses the same change, counting it in its message.
  auto minor = put_version(doc("courier", "1.1.0", "beta", api(R"("id": {"type": "string"}, "status": {"type": "string"})")));
  ASSERT_FALSE(minor);
  EXPECT_NE(minor.error().error.message.find(": 1 breaking change against 1.0.0"), std::string::npos)
      << minor.error().error.message;
  put("courier", "2.0.0", api(R"("id": {"type": "string"}, "status": {"type": "string"})"));
  put("web", "1.0.0");
  // The pact reads id and eta, not the required status: that part is fine.
  ASSERT_TRUE(put_contract("web", "1.0.0", "courier", R"({"provider_range": ">=1.0.0", "pact": {"consumer": {"name": "web"},
      "provider": {"name": "courier"}, "interactions": [{"description": "an order", "request": {"method": "GET",
      "path": "/orders/7"}, "response": {"status": 200, "body": {"id": "7", "eta": 15}}}],
      "metadata": {"pactSpecification": {"version": "2.0.0"}}}})"));
  EXPECT_TRUE(can_i_deploy(*registry_, "courier", "1.0.0")->deployable);
  auto no = can_i_deploy(*registry_, "courier", "2.0.0");
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->deployable);
  ASSERT_EQ(no->as_provider.size(), 1u);
  ASSERT_EQ(no->as_provider[0].findings.size(), 1u);
  EXPECT_EQ(no->as_provider[0].findings[0].id, "response-field-undocumented");
  EXPECT_EQ(no->as_provider[0].findings[0].pointer, "/interactions/0/response/body/eta");
  auto upgrade = contracts_after_upgrade(*registry_, "courier", "1.0.0", "2.0.0");
  ASSERT_EQ(upgrade.size(), 1u);
  EXPECT_FALSE(upgrade[0].ok);
  EXPECT_EQ(upgrade[0].consumer, "web@1.0.0");
}

}  // namespace
}  // namespace roster::upstream
