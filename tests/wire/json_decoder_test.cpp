// Strictness of the registry JSON decoder: every malformed-input class gives errors with paths,
// never a crash, and a document with any error yields no records.
#include "roster/wire/json_decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "roster/wire/roster_generated.h"

namespace roster::wire {
namespace {

std::string version_json(const std::string& extra = "") {
  return R"({"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "platform-team")" + extra + "}";
}

std::string registry_json(const std::string& versions) {
  return R"({"services": [{"name": "user-service", "versions": [)" + versions + "]}]}";
}

bool has_error(const DecodedDocument& doc, const std::string& path, const std::string& message_part) {
  return std::any_of(doc.errors.begin(), doc.errors.end(), [&](const Error& e) {
    return e.where == path && e.message.find(message_part) != std::string::npos;
  });
}

std::string all_errors(const DecodedDocument& doc) {
  std::string s;
  for (auto& e : doc.errors) s += e.to_string() + "\n";
  return s;
}

class JsonDecoderTest : public ::testing::Test {
 protected:
  DecodedDocument decode(const std::string& json) { return decoder_.decode(json); }
  JsonDecoder decoder_;
};

TEST_F(JsonDecoderTest, DecodesMinimalRegistry) {
  auto doc = decode(registry_json(version_json()));
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  EXPECT_EQ(doc.kind, DocumentKind::Registry);
  ASSERT_EQ(doc.services.size(), 1u);
  auto* v = flatbuffers::GetRoot<ServiceVersion>(doc.services[0].data());
  EXPECT_EQ(v->name()->str(), "user-service");
  EXPECT_EQ(v->version()->str(), "1.0.0");
  EXPECT_EQ(v->stage(), LifecycleStage::Stable);
  EXPECT_EQ(v->owner_team()->str(), "platform-team");
}

TEST_F(JsonDecoderTest, DecodesSingleServiceVersionDocument) {
  auto doc = decode(R"({"name": "auth-service", "version": "2.0.0-rc.1", "lifecycle_stage": "beta",
                        "owner_team": "identity-team",
                        "instances": [{"id": "a", "address": "10.0.0.1", "port": 8080}]})");
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  EXPECT_EQ(doc.kind, DocumentKind::ServiceVersion);
  ASSERT_EQ(doc.services.size(), 1u);
  ASSERT_EQ(doc.instances.size(), 1u);
  auto* inst = flatbuffers::GetRoot<Instance>(doc.instances[0].data());
  EXPECT_EQ(inst->service()->str(), "auth-service");
  EXPECT_EQ(inst->version()->str(), "2.0.0-rc.1");
  EXPECT_EQ(inst->weight(), 100);
  EXPECT_EQ(inst->health(), Health::Up);
}

TEST_F(JsonDecoderTest, FieldsMayComeInAnyOrder) {
  auto doc = decode(R"({"services": [{"versions": [{"instances": [{"port": 1, "address": "h", "id": "i"}],
                         "owner_team": "t", "lifecycle_stage": "beta", "version": "0.1.0"}], "name": "late-name"}]})");
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  auto* inst = flatbuffers::GetRoot<Instance>(doc.instances[0].data());
  EXPECT_EQ(inst->service()->str(), "late-name");
  EXPECT_EQ(inst->version()->str(), "0.1.0");
}

TEST_F(JsonDecoderTest, WrongTypeNamesThePath) {
  auto doc = decode(R"({"services": [{"name": "a", "versions": []}, {"name": "b", "versions": []},
      {"name": "c", "versions": []}, {"name": "d", "versions": [
        {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": 42}]}]})");
  EXPECT_FALSE(doc.ok());
  EXPECT_TRUE(has_error(doc, "services[3].versions[0].owner_team", "expected string, got number")) << all_errors(doc);
  EXPECT_EQ(doc.services.size(), 0u);
}

TEST_F(JsonDecoderTest, ReportsEveryErrorNotJustTheFirst) {
  auto doc = decode(registry_json(
      R"({"version": "1.0", "lifecycle_stage": "live", "owner_team": "", "colour": "red",
          "dependencies": [{"service": "x", "range": "^^1"}],
          "endpoints": [{"method": "FETCH", "path": "users"}],
          "instances": [{"id": "i", "address": "h", "port": 70000, "health": "sick", "weight": -1}],
          "created_at": "yesterday"})"));
  const std::string p = "services[0].versions[0]";
  EXPECT_TRUE(has_error(doc, p + ".version", "invalid semver")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".lifecycle_stage", "invalid lifecycle stage \"live\"")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".owner_team", "must not be empty")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".colour", "unknown field")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".dependencies[0].range", "invalid semver range")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".endpoints[0].method", "invalid HTTP method")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".endpoints[0].path", "must start with '/'")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".instances[0].port", "between 1 and 65535")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".instances[0].health", "invalid health")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".instances[0].weight", "between 0 and 65535")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, p + ".created_at", "RFC 3339")) << all_errors(doc);
  EXPECT_GE(doc.errors.size(), 11u);
}

TEST_F(JsonDecoderTest, MissingRequiredFields) {
  auto doc = decode(registry_json(R"({"description": "no version"})"));
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].version", "missing required field")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].lifecycle_stage", "missing required field"));
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].owner_team", "missing required field"));
  EXPECT_TRUE(has_error(decode(R"({"contracts": []})"), "services", "missing required field"));
  EXPECT_TRUE(has_error(decode(version_json()), "name", "missing required field"));
  auto inst = decode(registry_json(version_json(R"(, "instances": [{}])")));
  EXPECT_TRUE(has_error(inst, "services[0].versions[0].instances[0].id", "missing required field"));
  EXPECT_TRUE(has_error(inst, "services[0].versions[0].instances[0].address", "missing required field"));
  EXPECT_TRUE(has_error(inst, "services[0].versions[0].instances[0].port", "missing required field"));
}

TEST_F(JsonDecoderTest, DuplicatesAreErrors) {
  EXPECT_TRUE(has_error(decode(registry_json(version_json(R"(, "owner_team": "x")"))),
                        "services[0].versions[0].owner_team", "duplicate field"));
  auto dup_versions = decode(registry_json(version_json() + "," + version_json()));
  EXPECT_TRUE(has_error(dup_versions, "services[0].versions[1]", "duplicate version \"1.0.0\""))
      << all_errors(dup_versions);
  auto same_precedence = decode(registry_json(
      R"({"version": "1.0.0+a", "lifecycle_stage": "stable", "owner_team": "t"},
         {"version": "1.0.0+b", "lifecycle_stage": "stable", "owner_team": "t"})"));
  EXPECT_TRUE(has_error(same_precedence, "services[0].versions[1]", "same precedence")) << all_errors(same_precedence);
  auto dup_services = decode(R"({"services": [{"name": "a", "versions": []}, {"name": "a", "versions": []}]})");
  EXPECT_TRUE(has_error(dup_services, "services[1].name", "duplicate service \"a\"")) << all_errors(dup_services);
  auto dup_instances = decode(registry_json(version_json(
      R"(, "instances": [{"id": "i", "address": "h", "port": 1}, {"id": "i", "address": "h", "port": 2}])")));
  EXPECT_TRUE(has_error(dup_instances, "services[0].versions[0].instances", "duplicate instance id \"i\""));
  EXPECT_TRUE(has_error(decode(registry_json(version_json(R"(, "tags": ["a", "b", "a"])"))),
                        "services[0].versions[0].tags", "duplicate tag \"a\""));
  EXPECT_TRUE(has_error(decode(registry_json(version_json(R"(, "labels": {"k": "1", "k": "2"})"))),
                        "services[0].versions[0].labels.k", "duplicate key"));
}

TEST_F(JsonDecoderTest, LabelsAreSortedByKey) {
  auto doc = decode(registry_json(version_json(R"(, "labels": {"zone": "z", "app": "a", "mid": "m"})")));
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  auto* v = flatbuffers::GetRoot<ServiceVersion>(doc.services[0].data());
  ASSERT_EQ(v->labels()->size(), 3u);
  EXPECT_EQ(v->labels()->Get(0)->key()->str(), "app");
  EXPECT_EQ(v->labels()->LookupByKey("zone")->value()->str(), "z");
}

TEST_F(JsonDecoderTest, ApiSchemaIsMinifiedAndHashed) {
  auto doc = decode(registry_json(version_json(
      R"(, "api_schema": {"format": "openapi", "document": { "openapi" : "3.0.3", "paths" : { } }})")));
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  auto* schema = flatbuffers::GetRoot<ServiceVersion>(doc.services[0].data())->api_schema();
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->format(), SchemaFormat::OpenApi);
  EXPECT_EQ(schema->document()->str(), R"({"openapi":"3.0.3","paths":{}})");
  EXPECT_NE(schema->hash(), 0u);
}

TEST_F(JsonDecoderTest, BadApiSchema) {
  auto doc = decode(registry_json(version_json(R"(, "api_schema": {"format": "wsdl", "document": []})")));
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].api_schema.format", "invalid schema format")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].api_schema.document", "expected object, got array"));
  auto missing = decode(registry_json(version_json(R"(, "api_schema": {"format": "openapi"})")));
  EXPECT_TRUE(has_error(missing, "services[0].versions[0].api_schema.document", "missing required field"));
}

TEST_F(JsonDecoderTest, EmbeddedDocumentIsFullyValidated) {
  // On-Demand parsing skips what it does not read; the embedded document must still be valid.
  auto doc = decode(registry_json(version_json(R"(, "api_schema": {"format": "openapi", "document": {"a": tru}})")));
  EXPECT_FALSE(doc.ok());
  EXPECT_EQ(doc.services.size(), 0u);
}

TEST_F(JsonDecoderTest, EmptyDocument) {
  auto doc = decode("");
  ASSERT_EQ(doc.errors.size(), 1u);
  EXPECT_EQ(doc.errors[0].message, "document is empty");
  EXPECT_FALSE(decode("   \n").ok());
}

TEST_F(JsonDecoderTest, NotAnObject) {
  EXPECT_TRUE(has_error(decode("[1, 2]"), "", "expected an object, got array"));
  EXPECT_TRUE(has_error(decode("42"), "", "expected an object, got number"));
  EXPECT_TRUE(has_error(decode(R"({"services": {}})"), "services", "expected array, got object"));
}

TEST_F(JsonDecoderTest, TruncatedDocuments) {
  const std::string full = registry_json(version_json(R"(, "instances": [{"id": "i", "address": "h", "port": 1}])"));
  ASSERT_TRUE(decode(full).ok());
  // Every proper prefix is an error, never a crash or a partial result.
  for (size_t n = 1; n < full.size(); ++n) {
    auto doc = decode(full.substr(0, n));
    EXPECT_FALSE(doc.ok()) << "prefix of " << n << " bytes was accepted";
    EXPECT_EQ(doc.services.size() + doc.instances.size(), 0u);
  }
}

TEST_F(JsonDecoderTest, TrailingContent) {
  auto doc = decode(registry_json(version_json()) + " {}");
  EXPECT_FALSE(doc.ok());
  EXPECT_EQ(doc.services.size(), 0u);
}

TEST_F(JsonDecoderTest, InvalidUtf8) {
  std::string json = registry_json(version_json(R"(, "description": "caf)" + std::string("\xC3\x28") + "\""));
  auto doc = decode(json);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(all_errors(doc).find("UTF-8"), std::string::npos) << all_errors(doc);
}

TEST_F(JsonDecoderTest, DeepNesting) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  // Deep inside an unknown field, inside an embedded document, and as the whole document.
  EXPECT_FALSE(decode(registry_json(version_json(R"(, "extra": )" + deep))).ok());
  EXPECT_FALSE(decode(registry_json(version_json(
                          R"(, "api_schema": {"format": "openapi", "document": {"a": )" + deep + "}}")))
                   .ok());
  EXPECT_FALSE(decode(deep).ok());
  std::string deep_objects;
  for (int i = 0; i < 10000; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(10000, '}');
  EXPECT_FALSE(decode(deep_objects).ok());
}

TEST_F(JsonDecoderTest, DocumentOverTheSizeLimit) {
  // A 100 MB document is refused by size before it is parsed.
  std::string big = registry_json(version_json(R"(, "description": ")" + std::string(100u << 20, 'x') + "\""));
  auto doc = decode(big);
  ASSERT_EQ(doc.errors.size(), 1u);
  EXPECT_NE(doc.errors[0].message.find("the limit is"), std::string::npos);
}

TEST_F(JsonDecoderTest, LargeDocumentWithinARaisedLimit) {
  CodecLimits limits;
  limits.max_document_bytes = 128u << 20;
  JsonDecoder decoder(limits);
  std::string big = registry_json(version_json(R"(, "description": ")" + std::string(100u << 20, 'x') + "\""));
  auto doc = decoder.decode(big);
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  EXPECT_EQ(flatbuffers::GetRoot<ServiceVersion>(doc.services[0].data())->description()->size(), 100u << 20);
}

TEST_F(JsonDecoderTest, EmbeddedDocumentOverItsLimit) {
  CodecLimits limits;
  limits.max_embedded_document_bytes = 64;
  JsonDecoder decoder(limits);
  auto doc = decoder.decode(registry_json(version_json(
      R"(, "api_schema": {"format": "json_schema", "document": {"description": ")" + std::string(100, 'x') + "\"}}")));
  EXPECT_TRUE(has_error(doc, "services[0].versions[0].api_schema.document", "the limit is")) << all_errors(doc);
}

TEST_F(JsonDecoderTest, ErrorFloodIsCapped) {
  std::string versions;
  for (int i = 0; i < 3000; ++i) versions += std::string(i ? "," : "") + R"({"bad": 1})";
  auto doc = decode(registry_json(versions));
  ASSERT_FALSE(doc.ok());
  EXPECT_LE(doc.errors.size(), 1001u);
  EXPECT_NE(doc.errors.back().message.find("more errors not shown"), std::string::npos);
}

TEST_F(JsonDecoderTest, Contracts) {
  auto doc = decode(R"({"services": [], "contracts": [{"consumer": "api-gateway", "consumer_version": "1.0.0",
      "provider": "user-service", "provider_range": "^2.0.0", "pact": {"interactions": []}}]})");
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  ASSERT_EQ(doc.contracts.size(), 1u);
  auto* c = flatbuffers::GetRoot<Contract>(doc.contracts[0].data());
  EXPECT_EQ(c->pact()->str(), R"({"interactions":[]})");
  auto bad = decode(R"({"services": [], "contracts": [{"consumer": "a", "consumer_version": "x",
      "provider": "b", "provider_range": ">>1"}]})");
  EXPECT_TRUE(has_error(bad, "contracts[0].consumer_version", "invalid semver")) << all_errors(bad);
  EXPECT_TRUE(has_error(bad, "contracts[0].provider_range", "invalid semver range"));
  EXPECT_TRUE(has_error(bad, "contracts[0].pact", "missing required field"));
}

TEST_F(JsonDecoderTest, TimesAreMilliseconds) {
  auto doc = decode(registry_json(version_json(R"(, "created_at": "2024-05-01T12:00:00.250Z")")));
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  EXPECT_EQ(flatbuffers::GetRoot<ServiceVersion>(doc.services[0].data())->created_at_ms(), 1714564800250);
}

TEST_F(JsonDecoderTest, DecoderIsReusable) {
  EXPECT_FALSE(decode(registry_json(R"({"bad": 1})")).ok());
  auto doc = decode(registry_json(version_json()));
  EXPECT_TRUE(doc.ok()) << all_errors(doc);
  EXPECT_EQ(doc.services.size(), 1u);
}


TEST_F(JsonDecoderTest, RecordsAreAligned) {
  auto doc = decode(registry_json(version_json(R"(, "instances": [{"id": "a", "address": "h", "port": 1},
                                                                   {"id": "b", "address": "h", "port": 2}])")));
  ASSERT_TRUE(doc.ok());
  for (size_t i = 0; i < doc.instances.size(); ++i)
    EXPECT_EQ(reinterpret_cast<uintptr_t>(doc.instances[i].data()) % 8, 0u);
}

TEST_F(JsonDecoderTest, ServiceSettingsAreDecodedWithTheFieldsGiven) {
  auto doc = decode(R"({"services": [
      {"name": "a", "settings": {"compatibility": "FULL_TRANSITIVE", "sunset_after_days": 30, "retire_after_days": 7},
       "versions": [)" + version_json() + R"(]},
      {"name": "b", "versions": [], "settings": {"retire_after_days": 3650}},
      {"name": "c", "versions": []}]})");
  ASSERT_TRUE(doc.ok()) << all_errors(doc);
  ASSERT_EQ(doc.settings.size(), 2u);
  EXPECT_EQ(doc.settings[0].service, "a");
  EXPECT_EQ(doc.settings[0].compatibility, CompatibilityMode::FullTransitive);
  EXPECT_EQ(doc.settings[0].sunset_after_days, 30);
  EXPECT_EQ(doc.settings[0].retire_after_days, 7);
  EXPECT_EQ(doc.settings[1].service, "b");
  EXPECT_FALSE(doc.settings[1].compatibility.has_value());
  EXPECT_FALSE(doc.settings[1].sunset_after_days.has_value());
  EXPECT_EQ(doc.settings[1].retire_after_days, 3650);
}

TEST_F(JsonDecoderTest, BadServiceSettingsNameTheirPathAndYieldNothing) {
  auto doc = decode(R"({"services": [{"name": "a", "versions": [)" + version_json() + R"(],
      "settings": {"compatibility": "backwards", "sunset_after_days": 0, "retire_after_days": 3651, "mode": "NONE"}},
      {"name": "b", "versions": [], "settings": {"sunset_after_days": "30"}},
      {"name": "c", "versions": [], "settings": []}]})");
  ASSERT_FALSE(doc.ok());
  EXPECT_TRUE(has_error(doc, "services[0].settings.compatibility", "unknown compatibility mode \"backwards\""))
      << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[0].settings.sunset_after_days", "between 1 and 3650")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[0].settings.retire_after_days", "between 1 and 3650")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[0].settings.mode", "unknown field")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[1].settings.sunset_after_days", "expected integer")) << all_errors(doc);
  EXPECT_TRUE(has_error(doc, "services[2].settings", "object")) << all_errors(doc);
  EXPECT_TRUE(doc.settings.empty());
  EXPECT_TRUE(doc.services.empty());
}

}  // namespace
}  // namespace roster::wire
