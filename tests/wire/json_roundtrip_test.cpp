// JSON -> FlatBuffers -> JSON -> FlatBuffers gives the same records, byte for byte.
#include <gtest/gtest.h>

#include <cstdlib>

#include "roster/base/files.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

namespace roster::wire {
namespace {

void expect_same_records(const RecordList& a, const RecordList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(std::equal(a[i].begin(), a[i].end(), b[i].begin(), b[i].end())) << "record " << i << " differs";
}

TEST(JsonRoundTrip, ExampleRegistrySurvivesSnapshotAndBack) {
  const char* root = std::getenv("ROSTER_SOURCE_DIR");
  ASSERT_NE(root, nullptr);
  JsonDecoder decoder;
  auto first = decoder.decode(base::read_file(std::string(root) + "/examples/registry.json").value());
  ASSERT_TRUE(first.ok()) << first.errors[0].to_string();
  ASSERT_GT(first.services.size(), 5u);
  ASSERT_GT(first.instances.size(), 5u);

  auto snapshot = build_snapshot(first.services, first.instances, first.contracts, 7);
  std::span<const uint8_t> bytes(snapshot.data(), snapshot.size());
  ASSERT_TRUE(verify<Snapshot>(bytes));
  auto* message = flatbuffers::GetRoot<Snapshot>(bytes.data());
  EXPECT_EQ(message->revision(), 7u);
  auto records = open_snapshot(*message);
  for (auto* v : records.versions) EXPECT_EQ(reinterpret_cast<uintptr_t>(v) % 4, 0u);

  for (bool pretty : {false, true}) {
    std::vector<const Instance*> orphans;
    std::string json = to_registry_json({records.versions, records.instances, records.contracts, {}}, pretty, &orphans);
    EXPECT_TRUE(orphans.empty());
    auto second = decoder.decode(json);
    ASSERT_TRUE(second.ok()) << second.errors[0].to_string() << "\n" << json.substr(0, 2000);
    expect_same_records(first.services, second.services);
    expect_same_records(first.instances, second.instances);
    expect_same_records(first.contracts, second.contracts);
  }
}

TEST(JsonRoundTrip, ServiceSettingsAreWrittenUnderTheirServiceAndReadBack) {
  flatbuffers::FlatBufferBuilder a, b;
  a.Finish(CreateServicePolicy(a, a.CreateString("orders"), CompatibilityMode::None, 30, 0));
  b.Finish(CreateServicePolicy(b, b.CreateString("billing"), CompatibilityMode::ForwardTransitive, 0, 14));
  JsonDecoder decoder;
  auto versions = decoder.decode(R"({"services": [{"name": "orders", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  ASSERT_TRUE(versions.ok());
  RegistryRecords records{{flatbuffers::GetRoot<ServiceVersion>(versions.services[0].data())}, {}, {},
                          {flatbuffers::GetRoot<ServicePolicy>(a.GetBufferPointer()),
                           flatbuffers::GetRoot<ServicePolicy>(b.GetBufferPointer())}};
  const std::string json = to_registry_json(records);
  // A service without versions still carries its settings; the server's default days are left out.
  EXPECT_NE(json.find(R"("name":"orders","settings":{"compatibility":"NONE","sunset_after_days":30},"versions":[{)"),
            std::string::npos) << json;
  EXPECT_NE(json.find(R"({"name":"billing","settings":{"compatibility":"FORWARD_TRANSITIVE","retire_after_days":14},"versions":[]})"),
            std::string::npos) << json;
  auto back = decoder.decode(json);
  ASSERT_TRUE(back.ok()) << back.errors[0].to_string();
  ASSERT_EQ(back.settings.size(), 2u);
  EXPECT_EQ(back.settings[0].service, "orders");
  EXPECT_EQ(back.settings[0].compatibility, CompatibilityMode::None);
  EXPECT_EQ(back.settings[0].sunset_after_days, 30);
  EXPECT_FALSE(back.settings[0].retire_after_days.has_value());
  EXPECT_EQ(back.settings[1].service, "billing");
  EXPECT_EQ(back.settings[1].retire_after_days, 14);
  expect_same_records(versions.services, back.services);
}

TEST(JsonRoundTrip, SingleVersionWithEveryField) {
  const std::string json = R"({"name": "svc", "version": "1.2.3-rc.1+b5", "lifecycle_stage": "deprecated",
    "owner_team": "team \"quoted\" \u00e9", "description": "line\nbreak\ttab",
    "tags": ["a", "b"], "labels": {"k1": "v1", "k0": "v0"},
    "api_schema": {"format": "json_schema", "document": {"type": "object", "properties": {"x": {"type": "string"}}}},
    "dependencies": [{"service": "dep", "range": "^1.0.0 || >=3.0.0-beta <4"}],
    "endpoints": [{"method": "GET", "path": "/x/{id}", "description": "get x"}, {"method": "DELETE", "path": "/x"}],
    "documentation_url": "https://docs.example.com/svc",
    "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05.123Z",
    "deprecated_at": "2025-01-01T00:00:00+02:00", "sunset_at": "2025-04-01T00:00:00Z",
    "deprecation_reason": "replaced by svc 2", "revision": 42,
    "instances": [{"id": "i1", "address": "10.0.0.1", "port": 443, "zone": "z1", "weight": 0,
                   "health": "out_of_service", "lease_expires_at": "2025-01-01T00:01:30Z", "metadata": {"pod": "p"}}]})";
  JsonDecoder decoder;
  auto first = decoder.decode(json);
  ASSERT_TRUE(first.ok()) << first.errors[0].to_string();
  auto* v = flatbuffers::GetRoot<ServiceVersion>(first.services[0].data());
  auto* inst = flatbuffers::GetRoot<Instance>(first.instances[0].data());
  std::string out = to_service_version_json(*v, {inst}, true);
  auto second = decoder.decode(out);
  ASSERT_TRUE(second.ok()) << second.errors[0].to_string() << "\n" << out;
  EXPECT_EQ(second.kind, DocumentKind::ServiceVersion);
  expect_same_records(first.services, second.services);
  expect_same_records(first.instances, second.instances);
  EXPECT_NE(out.find(R"("deprecated_at": "2024-12-31T22:00:00Z")"), std::string::npos) << out;
}

TEST(JsonRoundTrip, OrphanInstancesAreReported) {
  JsonDecoder decoder;
  auto doc = decoder.decode(R"({"name": "svc", "version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t",
                                "instances": [{"id": "i", "address": "h", "port": 1}]})");
  ASSERT_TRUE(doc.ok());
  std::vector<const Instance*> orphans;
  to_registry_json({{}, {flatbuffers::GetRoot<Instance>(doc.instances[0].data())}, {}, {}}, false, &orphans);
  EXPECT_EQ(orphans.size(), 1u);
}

}  // namespace
}  // namespace roster::wire
