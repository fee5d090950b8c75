// The importers (cli/import_*.cpp) on documents written from Eureka's, Consul's and Kubernetes'
// published formats (tests/fixtures/import/), and on those documents broken one way at a time:
// every refusal names the JSON path of what is wrong and produces no document.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "import_registry.hpp"
#include "importers.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::cli {
namespace {

std::string fixture(const std::string& name) {
  const char* root = std::getenv("ROSTER_SOURCE_DIR");
  const std::string path = std::string(root ? root : ".") + "/tests/fixtures/import/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path << " (is ROSTER_SOURCE_DIR set?)";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `text` with its only occurrence of `from` replaced by `to` (the test fails when it is not there once).
std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs more than once";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The converted document, parsed; the test fails when it is not a valid registry document.
rapidjson::Document parsed(const ImportResult& r) {
  for (const auto& e : r.errors) ADD_FAILURE() << e.to_string();
  EXPECT_TRUE(wire::JsonDecoder().decode(r.document).ok());
  rapidjson::Document doc;
  doc.Parse(r.document.c_str());
  EXPECT_FALSE(doc.HasParseError());
  return doc;
}

const rapidjson::Value* find(const rapidjson::Value& array, const char* key, std::string_view value) {
  for (const auto& v : array.GetArray())
    if (v[key].GetString() == value) return &v;
  ADD_FAILURE() << "no " << key << " " << value;
  return nullptr;
}

struct Found {
  const rapidjson::Value* version = nullptr;
  const rapidjson::Value* instance = nullptr;
};

Found lookup(const rapidjson::Document& doc, std::string_view service, std::string_view version,
             std::string_view instance = {}) {
  Found f;
  const auto* s = find(doc["services"], "name", service);
  if (!s) return f;
  f.version = find((*s)["versions"], "version", version);
  if (f.version && !instance.empty()) f.instance = find((*f.version)["instances"], "id", instance);
  return f;
}

std::string_view text(const rapidjson::Value& object, const char* key) {
  return object.HasMember(key) ? std::string_view(object[key].GetString()) : std::string_view("(missing)");
}

// A refusal: no document, and one error at `where` whose message contains `says`.
void expect_refused(const ImportResult& r, const std::string& where, const std::string& says) {
  EXPECT_TRUE(r.document.empty());
  std::string all;
  for (const auto& e : r.errors) all += "\n  " + e.to_string();
  ASSERT_EQ(r.errors.size(), 1u) << all;
  EXPECT_EQ(r.errors[0].where, where) << r.errors[0].to_string();
  EXPECT_NE(r.errors[0].message.find(says), std::string::npos) << r.errors[0].to_string();
}

ImportOptions options(std::string owner_team, std::string default_version) {
  ImportOptions o;
  o.owner_team = std::move(owner_team);
  o.default_version = std::move(default_version);
  return o;
}

const ImportOptions kDefaults = options("platform-team", "1.0.0");

TEST(ImportVersions, SemVerKeptShortOrPrefixedVersionsCompletedOthersRefused) {
  using importing::to_semver;
  EXPECT_EQ(to_semver("2.1.0"), "2.1.0");
  EXPECT_EQ(to_semver("3.0.0-rc.1+build.5"), "3.0.0-rc.1+build.5");
  EXPECT_EQ(to_semver("v2.1.0"), "2.1.0");
  EXPECT_EQ(to_semver("V1.4"), "1.4.0");
  EXPECT_EQ(to_semver("2"), "2.0.0");
  EXPECT_EQ(to_semver("v1.4-rc.1"), "1.4.0-rc.1");
  for (const char* refused : {"1.0.0.RELEASE", "latest", "", "v", "1..2", "1.", ".1", "01.2", "1.2.3.4", "1.x"})
    EXPECT_EQ(to_semver(refused), std::nullopt) << refused;
}

// --- Eureka ---

TEST(EurekaImport, ConvertsApplicationsVersionsAndInstances) {
  auto r = import_eureka(fixture("eureka-apps.json"), kDefaults);
  auto doc = parsed(r);
  EXPECT_EQ(r.services, 3u);
  EXPECT_EQ(r.versions, 4u);
  EXPECT_EQ(r.instances, 6u);

  auto up = lookup(doc, "user-service", "2.1.0", "10.0.1.12:user-service:8080");
  ASSERT_TRUE(up.instance);
  EXPECT_EQ(text(*up.version, "owner_team"), "identity-team");
  EXPECT_EQ(text(*up.version, "lifecycle_stage"), "stable");
  EXPECT_EQ(text((*up.version)["labels"], "imported-from"), "eureka");
  EXPECT_EQ((*up.version)["instances"].Size(), 2u);
  EXPECT_EQ(text(*up.instance, "address"), "10.0.1.12");
  EXPECT_EQ((*up.instance)["port"].GetInt(), 8080);
  EXPECT_EQ(text(*up.instance, "zone"), "eu-west-1a");
  EXPECT_EQ(text(*up.instance, "health"), "up");
  const auto& meta = (*up.instance)["metadata"];
  EXPECT_EQ(text(meta, "eureka.secure-port"), "8443");
  EXPECT_EQ(text(meta, "eureka.lease-duration-secs"), "90");
  EXPECT_EQ(text(meta, "eureka.health-check-url"), "http://10.0.1.12:8081/actuator/health");
  EXPECT_EQ(text(meta, "management.port"), "8081");

  auto down = lookup(doc, "user-service", "2.0.0", "10.0.3.21:user-service:8080");
  ASSERT_TRUE(down.instance);
  EXPECT_EQ(text(*down.instance, "health"), "down");

  // A single instance written as an object, a `v1.4` version, the team under `owner`.
  auto auth = lookup(doc, "auth-service", "1.4.0", "auth-7f9c4:auth-service:9000");
  ASSERT_TRUE(auth.instance);
  EXPECT_EQ(text(*auth.version, "owner_team"), "security-team");
  EXPECT_EQ(text((*auth.version)["labels"], "imported-version"), "v1.4");

  // No version, no team: the defaults; only the secure port enabled; the zone from AWS.
  auto starting = lookup(doc, "order-service", "1.0.0", "i-0a1b2c3d4e5f60001");
  ASSERT_TRUE(starting.instance);
  EXPECT_EQ(text(*starting.version, "owner_team"), "platform-team");
  EXPECT_EQ(text((*starting.version)["labels"], "imported-version"), "none");
  EXPECT_EQ(text(*starting.instance, "health"), "starting");
  EXPECT_EQ((*starting.instance)["port"].GetInt(), 7002);
  EXPECT_EQ(text(*starting.instance, "zone"), "eu-west-1a");
  auto parked = lookup(doc, "order-service", "1.0.0", "i-0a1b2c3d4e5f60002");
  ASSERT_TRUE(parked.instance);
  EXPECT_EQ(text(*parked.instance, "health"), "out_of_service");
}

TEST(EurekaImport, WithoutDefaultsAServiceWithoutVersionOrTeamIsRefused) {
  const std::string apps = fixture("eureka-apps.json");
  for (const auto& [given, says] : {std::pair{options("platform-team", ""), "--default-version"},
                                      std::pair{options("", "1.0.0"), "--owner-team"}}) {
    auto r = import_eureka(apps, given);
    EXPECT_TRUE(r.document.empty());
    ASSERT_EQ(r.errors.size(), 2u);  // both instances of order-service
    EXPECT_EQ(r.errors[0].where, std::string("applications.application[2].instance[0].metadata") +
                                     (given.owner_team.empty() ? "" : ".version"));
    EXPECT_NE(r.errors[0].message.find(says), std::string::npos) << r.errors[0].to_string();
    EXPECT_EQ(r.errors[1].where.substr(0, 39), "applications.application[2].instance[1]");
  }
}

TEST(EurekaImport, BrokenInputNamesItsPath) {
  const std::string apps = fixture("eureka-apps.json");
  expect_refused(import_eureka(with(apps, R"("port": {"$": 9000,)", R"("port": {"$": "90o0",)"), kDefaults),
                 "applications.application[1].instance.port.$", "expected a port number");
  expect_refused(import_eureka(with(apps, R"("port": {"$": 9000,)", R"("port": {"$": 90000,)"), kDefaults),
                 "applications.application[1].instance.port.$", "not in 1-65535");
  expect_refused(import_eureka(with(apps, R"("status": "DOWN")", R"("status": "SLEEPING")"), kDefaults),
                 "applications.application[0].instance[2].status", "unknown status \"SLEEPING\"");
  expect_refused(import_eureka(with(apps, R"("version": "2.0.0")", R"("version": "2.0.0.RELEASE")"), kDefaults),
                 "applications.application[0].instance[2].metadata.version", "not SemVer");
  expect_refused(import_eureka(with(apps, R"("2.0.0", "team": "identity-team")", R"("2.1.0", "team": "other-team")"),
                               kDefaults),
                 "applications.application[0].instance[2].metadata.team", "differs from \"identity-team\"");
  expect_refused(import_eureka(with(apps, R"("instanceId": "10.0.2.7:user-service:8080")",
                                    R"("instanceId": "10.0.1.12:user-service:8080")"),
                               kDefaults),
                 "applications.application[0].instance[1]", "repeats the one at applications.application[0].instance[0]");
  expect_refused(import_eureka(with(apps, R"("port": {"$": 9000, "@enabled": "true"})",
                                    R"("port": {"$": 9000, "@enabled": "false"})"),
                               kDefaults),
                 "applications.application[1].instance.port", "no enabled port");
  expect_refused(import_eureka(with(apps, R"("hostName": "auth-7f9c4",)", R"("hostName": ["auth-7f9c4"],)"), kDefaults),
                 "applications.application[1].instance.hostName", "expected string, got array");
  expect_refused(import_eureka(with(apps, R"("name": "AUTH-SERVICE",)", R"("name": 7,)"), kDefaults),
                 "applications.application[1].name", "expected string, got integer");
  expect_refused(import_eureka(with(apps, R"("metadata": {"version": "v1.4", "owner": "security-team"})",
                                    R"("metadata": {"version": ["v1.4"], "owner": "security-team"})"),
                               kDefaults),
                 "applications.application[1].instance.metadata.version", "expected string, got array");
  // Not Eureka's document at all; not JSON; two documents.
  expect_refused(import_eureka(fixture("kubernetes-list.json"), kDefaults), "applications", "required field missing");
  expect_refused(import_eureka(R"({"applications": {"application": [{"name": "A", "instance": [1]}]}})", kDefaults),
                 "applications.application[0].instance[0]", "expected object, got integer");
  auto invalid = import_eureka(apps.substr(0, 500), kDefaults);
  ASSERT_EQ(invalid.errors.size(), 1u);
  EXPECT_EQ(invalid.errors[0].code, "invalid_json");
  EXPECT_NE(invalid.errors[0].message.find("line "), std::string::npos);
  expect_refused(import_eureka(apps + apps, kDefaults), "", "found 2 JSON values");
}

TEST(EurekaImport, EveryProblemIsReportedAtOnce) {
  std::string apps = fixture("eureka-apps.json");
  apps = with(apps, R"("status": "DOWN")", R"("status": "ASLEEP")");
  apps = with(apps, R"("port": {"$": 9000,)", R"("port": {"$": -1,)");
  auto r = import_eureka(apps, kDefaults);
  EXPECT_TRUE(r.document.empty());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].where, "applications.application[0].instance[2].status");
  EXPECT_EQ(r.errors[1].where, "applications.application[1].instance.port.$");
}

// --- Consul ---

TEST(ConsulImport, ConvertsHealthAndCatalogListings) {
  auto r = import_consul(fixture("consul-health.json"), kDefaults);
  auto doc = parsed(r);
  EXPECT_EQ(r.services, 3u);
  EXPECT_EQ(r.versions, 4u);
  EXPECT_EQ(r.instances, 6u);

  auto passing = lookup(doc, "billing", "3.2.0", "billing-1@node-a");
  ASSERT_TRUE(passing.instance);
  EXPECT_EQ(text(*passing.version, "owner_team"), "payments-team");
  const auto& tags = (*passing.version)["tags"];
  ASSERT_EQ(tags.Size(), 3u);  // the union of its instances' tags, sorted
  EXPECT_EQ(std::string_view(tags[0].GetString()), "http");
  EXPECT_EQ(std::string_view(tags[2].GetString()), "secondary");
  EXPECT_EQ(text(*passing.instance, "health"), "up");
  EXPECT_EQ(text(*passing.instance, "zone"), "eu-central-1a");
  EXPECT_EQ(text((*passing.instance)["metadata"], "consul.datacenter"), "dc1");

  // A critical check: down; an empty service address: the node's.
  auto critical = lookup(doc, "billing", "3.2.0", "billing-2@node-b");
  ASSERT_TRUE(critical.instance);
  EXPECT_EQ(text(*critical.instance, "health"), "down");
  EXPECT_EQ(text(*critical.instance, "address"), "10.1.11.40");
  EXPECT_EQ(text((*critical.instance)["metadata"], "consul.health"), "critical");

  // A warning: still up; no zone in any Meta: the datacenter.
  auto warning = lookup(doc, "billing", "3.3.0-rc.1", "billing-canary@node-c");
  ASSERT_TRUE(warning.instance);
  EXPECT_EQ(text(*warning.instance, "health"), "up");
  EXPECT_EQ(text(*warning.instance, "zone"), "dc1");
  EXPECT_EQ(text((*warning.instance)["metadata"], "consul.health"), "warning");

  // Maintenance mode: out of service; the same service id on two nodes: two instances.
  auto maintenance = lookup(doc, "ledger", "1.7.2", "ledger@node-a");
  ASSERT_TRUE(maintenance.instance);
  EXPECT_EQ(text(*maintenance.instance, "health"), "out_of_service");
  EXPECT_EQ(text(*maintenance.version, "owner_team"), "platform-team");
  ASSERT_TRUE(lookup(doc, "ledger", "1.7.2", "ledger@node-b").instance);

  // The catalog shape: no checks, so up with the health unknown.
  auto catalog = lookup(doc, "notifier", "0.9.1", "notifier-1@node-a");
  ASSERT_TRUE(catalog.instance);
  EXPECT_EQ(text(*catalog.version, "owner_team"), "messaging-team");
  EXPECT_EQ(text(*catalog.instance, "address"), "10.1.10.12");
  EXPECT_EQ((*catalog.instance)["port"].GetInt(), 5672);
  EXPECT_EQ(text((*catalog.instance)["metadata"], "consul.health"), "unknown");
}

TEST(ConsulImport, BrokenInputNamesItsPath) {
  const std::string health = fixture("consul-health.json");
  expect_refused(import_consul(with(health, R"("Port": 8001,)", R"("Port": "8001x",)"), kDefaults),
                 "[0][2].Service.Port", "expected a port number");
  expect_refused(import_consul(with(health, R"("Status": "warning")", R"("Status": "degraded")"), kDefaults),
                 "[0][2].Checks[1].Status", "unknown status \"degraded\"");
  expect_refused(import_consul(with(health, R"("3.3.0-rc.1")", R"("latest")"), kDefaults),
                 "[0][2].Service.Meta.version", "not SemVer");
  expect_refused(import_consul(with(health, R"("ServicePort": 5672,)", R"()"), kDefaults),
                 "[2][0].ServicePort", "required field missing");
  expect_refused(import_consul(with(health, R"("Tags": ["canary"],)", R"("Tags": ["canary", 3],)"), kDefaults),
                 "[0][2].Service.Tags[1]", "expected string, got integer");
  expect_refused(import_consul(health + R"({"billing": []})", kDefaults), "[3]", "expected an array");
  expect_refused(import_consul(R"([{"Node": "n", "Checks": []}])", kDefaults), "[0][0]", "neither");
  expect_refused(import_consul(fixture("eureka-apps.json"), kDefaults), "[0]", "expected an array");
}

// --- Kubernetes ---

TEST(KubernetesImport, ConvertsServicesAndEndpointSlices) {
  auto r = import_kubernetes(fixture("kubernetes-list.json"), kDefaults);
  auto doc = parsed(r);
  EXPECT_EQ(r.services, 3u);
  EXPECT_EQ(r.versions, 3u);
  EXPECT_EQ(r.instances, 5u);

  auto ready = lookup(doc, "catalog-api", "2.4.1", "catalog-api-7d9f8b6c5-abcde");
  ASSERT_TRUE(ready.instance);
  EXPECT_EQ(text(*ready.version, "owner_team"), "catalog-team");
  EXPECT_EQ(text((*ready.version)["labels"], "app.kubernetes.io/part-of"), "shop");
  EXPECT_EQ(text((*ready.version)["labels"], "kubernetes.namespace"), "shop");
  EXPECT_EQ(text(*ready.instance, "address"), "10.244.1.17");
  EXPECT_EQ((*ready.instance)["port"].GetInt(), 8080);
  EXPECT_EQ(text(*ready.instance, "zone"), "europe-west4-a");
  EXPECT_EQ(text(*ready.instance, "health"), "up");
  EXPECT_EQ(text((*ready.instance)["metadata"], "kubernetes.port.metrics"), "9102");
  EXPECT_EQ(text((*ready.instance)["metadata"], "kubernetes.node"), "worker-1");
  auto not_ready = lookup(doc, "catalog-api", "2.4.1", "catalog-api-7d9f8b6c5-fghij");
  ASSERT_TRUE(not_ready.instance);
  EXPECT_EQ(text(*not_ready.instance, "health"), "down");
  auto terminating = lookup(doc, "catalog-api", "2.4.1", "catalog-api-6c8e7a5b4-klmno");
  ASSERT_TRUE(terminating.instance);
  EXPECT_EQ(text(*terminating.instance, "health"), "out_of_service");

  auto checkout = lookup(doc, "checkout", "5.0.0", "checkout-5b6c7d8e9-uvwxy");
  ASSERT_TRUE(checkout.instance);
  EXPECT_EQ(text(*checkout.version, "owner_team"), "payments-team");
  EXPECT_EQ(text((*checkout.version)["labels"], "imported-version"), "v5.0");
  EXPECT_EQ(text(*checkout.instance, "health"), "up");  // ready without serving/terminating

  auto headless = lookup(doc, "legacy-reports", "1.0.0");
  ASSERT_TRUE(headless.version);
  EXPECT_EQ((*headless.version)["instances"].Size(), 0u);
}

constexpr const char* kDeployment =
    R"("items": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "checkout"}, "spec": {}},)";

TEST(KubernetesImport, SeveralDocumentsOneAfterAnother) {
  const std::string list = fixture("kubernetes-list.json");
  // The Services in one document, the slices in another (two kubectl runs into one file).
  auto r = import_kubernetes(list + "\n" + R"({"apiVersion": "v1", "kind": "List", "items": []})", kDefaults);
  EXPECT_EQ(r.instances, 5u);
  expect_refused(import_kubernetes(R"({"kind": "List", "items": []})" + std::string("\n") + with(list, "\"items\": [", kDeployment),
                                   kDefaults),
                 "[1].items[0].kind", "\"Deployment\" (apps/v1) is not imported");
}

TEST(KubernetesImport, BrokenInputNamesItsPath) {
  const std::string list = fixture("kubernetes-list.json");
  expect_refused(import_kubernetes(with(list, "\"items\": [", kDeployment), kDefaults), "items[0].kind",
                 "\"Deployment\" (apps/v1) is not imported");
  expect_refused(import_kubernetes(with(list, R"("kubernetes.io/service-name": "checkout")",
                                        R"("kubernetes.io/service-name": "checkout-v2")"),
                                   kDefaults),
                 "items[4].metadata.labels[\"kubernetes.io/service-name\"]", "no Service \"shop/checkout-v2\"");
  expect_refused(import_kubernetes(with(list, R"("ports": [{"name": "grpc", "port": 50051, "protocol": "TCP", "appProtocol": "grpc"}])",
                                        R"("ports": [])"),
                                   kDefaults),
                 "items[4].ports", "no ports");
  expect_refused(import_kubernetes(with(list, R"("conditions": {"ready": true},)", R"("conditions": {"ready": "yes"},)"),
                                   kDefaults),
                 "items[4].endpoints[1].conditions.ready", "expected boolean, got string");
  expect_refused(import_kubernetes(with(list, R"("addresses": ["10.244.2.45"],)", R"("addresses": [],)"), kDefaults),
                 "items[4].endpoints[1].addresses", "no address");
  expect_refused(import_kubernetes(with(list, R"("version": "v5.0")", R"("version": "five")"), kDefaults),
                 "items[1].metadata.labels.version", "not SemVer");
  expect_refused(import_kubernetes(with(list, R"("addressType": "IPv4",
      "endpoints": null)", R"("addressType": "IPX",
      "endpoints": null)"),
                                   kDefaults),
                 "items[5].addressType", "unknown address type");
  expect_refused(import_kubernetes(with(with(list, R"("name": "legacy-reports",
        "namespace": "shop",
        "uid")", R"("name": "checkout",
        "namespace": "billing",
        "uid")"), R"("kubernetes.io/service-name": "legacy-reports")", R"("kubernetes.io/service-name": "catalog-api")"),
                                   kDefaults),
                 "items[2].metadata.name", "namespaces \"shop\" and \"billing\"");
  expect_refused(import_kubernetes(list, options("platform-team", "")), "items[2].metadata.labels[\"app.kubernetes.io/version\"]",
                 "--default-version");
}

}  // namespace
}  // namespace roster::cli
