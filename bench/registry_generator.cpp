#include "registry_generator.hpp"

#include <algorithm>
#include <random>

#include "roster/wire/json_writer.hpp"

namespace roster::bench {
namespace {

constexpr const char* kDomains[] = {"user", "auth", "order", "payment", "inventory", "search", "catalog",
                                    "shipping", "billing", "notification", "media", "analytics"};
constexpr const char* kRoles[] = {"api", "service", "worker", "gateway", "store", "indexer"};
constexpr const char* kTeams[] = {"identity-team", "commerce-team", "payments-team", "platform-team",
                                  "data-team", "growth-team", "messaging-team", "search-team"};
constexpr const char* kZones[] = {"eu-west-1a", "eu-west-1b", "eu-west-1c"};
constexpr const char* kStages[] = {"stable", "stable", "stable", "beta", "deprecated", "development"};

template <typename T, size_t N>
const char* pick(const T (&list)[N], uint64_t r) {
  return list[r % N];
}

std::string version_of(size_t v) { return std::to_string(1 + v / 3) + "." + std::to_string(v % 3) + ".0"; }

void write_schema(wire::JsonWriter& w, const std::string& name) {
  w.key("api_schema").begin_object().key("format").string("openapi").key("document").begin_object();
  w.key("openapi").string("3.0.3");
  w.key("info").begin_object().key("title").string(name).key("version").string("1.0.0").end_object();
  w.key("paths").begin_object();
  w.key("/items/{id}").begin_object().key("get").begin_object();
  w.key("parameters").begin_array().begin_object();
  w.key("name").string("id").key("in").string("path").key("required").boolean(true);
  w.key("schema").begin_object().key("type").string("string").end_object();
  w.end_object().end_array();
  w.key("responses").begin_object().key("200").begin_object().key("description").string("The item");
  w.key("content").begin_object().key("application/json").begin_object().key("schema").begin_object();
  w.key("$ref").string("#/components/schemas/Item");
  w.end_object().end_object().end_object().end_object().end_object();
  w.end_object().end_object();
  w.end_object();
  w.key("components").begin_object().key("schemas").begin_object().key("Item").begin_object();
  w.key("type").string("object").key("required").begin_array().string("id").end_array();
  w.key("properties").begin_object();
  w.key("id").begin_object().key("type").string("string").end_object();
  w.key("name").begin_object().key("type").string("string").end_object();
  w.key("created").begin_object().key("type").string("string").key("format").string("date-time").end_object();
  w.end_object().end_object().end_object().end_object();
  w.end_object().end_object();
}

}  // namespace

std::string service_name(size_t index) {
  const size_t domain = index % std::size(kDomains), role = (index / std::size(kDomains)) % std::size(kRoles);
  return std::string(kDomains[domain]) + "-" + kRoles[role] + "-" + std::to_string(index);
}

size_t service_index(std::string_view name) {
  size_t index = 0;
  for (char c : name.substr(name.rfind('-') + 1)) index = index * 10 + static_cast<size_t>(c - '0');
  return index;
}

std::string generate_registry_json(const GeneratorOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::string out;
  out.reserve(o.services * o.versions_per_service * (700 + o.instances_per_version * 190));
  wire::JsonWriter w(out);
  w.begin_object().key("services").begin_array();
  for (size_t s = 0; s < o.services; ++s) {
    const std::string name = service_name(o.first_service + s);
    const char* team = pick(kTeams, s);
    w.begin_object().key("name").string(name).key("versions").begin_array();
    for (size_t v = 0; v < o.versions_per_service; ++v) {
      const std::string version = version_of(v);
      w.begin_object();
      w.key("version").string(version);
      w.key("lifecycle_stage").string(v + 1 == o.versions_per_service ? "stable" : pick(kStages, rng()));
      w.key("owner_team").string(team);
      w.key("description").string("The " + name + " service, version " + version);
      w.key("tags").begin_array().string(kDomains[s % std::size(kDomains)]).string(v % 2 ? "tier-2" : "tier-1").end_array();
      w.key("labels").begin_object().key("cost-center").string("cc-" + std::to_string(s % 97)).end_object();
      if (o.schemas) write_schema(w, name);
      if (o.dependencies_per_version && o.services > 1) {
        w.key("dependencies").begin_array();
        for (size_t d = 0; d < o.dependencies_per_version; ++d) {
          size_t target = rng() % o.services;
          if (target == s) target = (target + 1) % o.services;
          const std::string range = (d % 2 ? "~" : "^") + version_of(rng() % o.versions_per_service);
          w.begin_object().key("service").string(service_name(o.first_service + target)).key("range").string(range).end_object();
        }
        w.end_array();
      }
      w.key("endpoints").begin_array();
      w.begin_object().key("method").string("GET").key("path").string("/items/{id}").key("description").string("Get an item").end_object();
      w.end_array();
      w.key("documentation_url").string("https://docs.example.com/" + name);
      w.key("created_at").string("2025-03-01T10:00:00Z").key("updated_at").string("2026-01-15T08:30:00Z");
      w.key("instances").begin_array();
      for (size_t i = 0; i < o.instances_per_version; ++i) {
        const uint64_t r = rng();
        w.begin_object();
        w.key("id").string(name + "-" + version + "-" + std::to_string(i));
        w.key("address").string("10." + std::to_string(s / 65536 % 256) + "." + std::to_string(s / 256 % 256) + "." +
                                 std::to_string(i + 1));
        w.key("port").number(static_cast<int64_t>(8000 + r % 1000));
        w.key("zone").string(pick(kZones, r >> 10));
        w.key("weight").number(static_cast<int64_t>(50 + r % 100));
        w.key("health").string(r % 10 == 0 ? "down" : "up");
        w.key("metadata").begin_object().key("node").string("node-" + std::to_string(r % 5000)).end_object();
        w.end_object();
      }
      w.end_array();
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return out;
}

std::vector<std::string> shuffled_service_names(size_t services, uint64_t seed) {
  std::vector<std::string> names;
  names.reserve(services);
  for (size_t i = 0; i < services; ++i) names.push_back(service_name(i));
  std::shuffle(names.begin(), names.end(), std::mt19937_64(seed));
  return names;
}

}  // namespace roster::bench
