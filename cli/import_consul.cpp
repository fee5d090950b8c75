// Consul's service listings -> a roster registry document. The file holds one or more JSON arrays
// one after another (`curl .../v1/health/service/a; curl .../v1/health/service/b`), each either
// GET /v1/health/service/NAME (node, service and checks per instance) or GET
// /v1/catalog/service/NAME (no checks). Paths start with the array's place in the file:
// `[1][0].Service.Port` is the first entry of the second array. docs/importing.md has the mapping.
#include <utility>

#include "import_registry.hpp"
#include "importers.hpp"

namespace roster::cli {

namespace {

using importing::Fields;
using importing::member_path;
using importing::Value;

// One instance as both listings describe it, with the paths of what errors may be about.
struct Entry {
  std::optional<std::string> name, id, node, node_address, address, datacenter, kind;
  std::optional<int64_t> port;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta, node_meta;
  std::string health = "up", consul_health = "unknown";
  std::string name_path, meta_path, tags_path, id_path;
};

// The worst of an instance's checks (its node's included, as Consul's /v1/health does): a
// maintenance check (critical, with the id Consul gives it) takes the instance out of service,
// another critical one marks it down, warning leaves it up (Consul's DNS still answers with it).
void read_checks(Fields& fields, const Value& entry, const std::string& path, Entry& out) {
  out.consul_health = "passing";
  const Value* checks = fields.array(entry, path, "Checks", false);
  if (!checks) return;
  const std::string checks_path = member_path(path, "Checks");
  int worst = 0;  // passing, warning, critical, maintenance
  for (rapidjson::SizeType i = 0; i < checks->Size(); ++i) {
    const std::string check_path = importing::index_path(checks_path, i);
    if (!fields.expect_object((*checks)[i], check_path)) continue;
    auto status = fields.string((*checks)[i], check_path, "Status", true);
    auto id = fields.string((*checks)[i], check_path, "CheckID", false).value_or("");
    if (!status) continue;
    int level;
    if (*status == "passing") {
      level = 0;
    } else if (*status == "warning") {
      level = 1;
    } else if (*status == "critical") {
      level = id == "_node_maintenance" || id.starts_with("_service_maintenance:") ? 3 : 2;
    } else {
      fields.error(member_path(check_path, "Status"), "unknown status \"" + *status + "\" (passing, warning or critical)");
      continue;
    }
    worst = std::max(worst, level);
  }
  static constexpr const char* kNames[] = {"passing", "warning", "critical", "maintenance"};
  static constexpr const char* kHealth[] = {"up", "up", "down", "out_of_service"};
  out.consul_health = kNames[worst];
  out.health = kHealth[worst];
}

// A /v1/health/service entry: {Node: {...}, Service: {...}, Checks: [...]}.
Entry read_health_entry(Fields& fields, const Value& entry, const std::string& path) {
  Entry out;
  if (const Value* node = fields.object(entry, path, "Node", true)) {
    const std::string node_path = member_path(path, "Node");
    out.node = fields.string(*node, node_path, "Node", true);
    out.node_address = fields.string(*node, node_path, "Address", false);
    out.datacenter = fields.string(*node, node_path, "Datacenter", false);
    out.node_meta = fields.string_map(*node, node_path, "Meta");
  }
  if (const Value* service = fields.object(entry, path, "Service", true)) {
    const std::string service_path = member_path(path, "Service");
    out.name = fields.string(*service, service_path, "Service", true);
    out.id = fields.string(*service, service_path, "ID", true);
    out.address = fields.string(*service, service_path, "Address", false);
    out.port = fields.port(*service, service_path, "Port", true);
    out.kind = fields.string(*service, service_path, "Kind", false);
    out.tags = fields.strings(*service, service_path, "Tags");
    out.meta = fields.string_map(*service, service_path, "Meta");
    out.name_path = member_path(service_path, "Service");
    out.id_path = member_path(service_path, "ID");
    out.meta_path = member_path(service_path, "Meta");
    out.tags_path = member_path(service_path, "Tags");
  }
  read_checks(fields, entry, path, out);
  return out;
}

// A /v1/catalog/service entry: the node's and the service's fields side by side, no checks.
Entry read_catalog_entry(Fields& fields, const Value& entry, const std::string& path) {
  Entry out;
  out.node = fields.string(entry, path, "Node", true);
  out.node_address = fields.string(entry, path, "Address", false);
  out.datacenter = fields.string(entry, path, "Datacenter", false);
  out.node_meta = fields.string_map(entry, path, "NodeMeta");
  out.name = fields.string(entry, path, "ServiceName", true);
  out.id = fields.string(entry, path, "ServiceID", true);
  out.address = fields.string(entry, path, "ServiceAddress", false);
  out.port = fields.port(entry, path, "ServicePort", true);
  out.kind = fields.string(entry, path, "ServiceKind", false);
  out.tags = fields.strings(entry, path, "ServiceTags");
  out.meta = fields.string_map(entry, path, "ServiceMeta");
  out.name_path = member_path(path, "ServiceName");
  out.id_path = member_path(path, "ServiceID");
  out.meta_path = member_path(path, "ServiceMeta");
  out.tags_path = member_path(path, "ServiceTags");
  return out;
}

void add_entry(importing::ImportedRegistry& registry, Fields& fields, Entry e, const std::string& path) {
  if (!e.name || !e.id || !e.node || !e.port) return;  // each already reported
  importing::ImportedInstance out;
  // Consul's service ids are unique per node (every node may run a "web"): the node makes it one.
  out.id = *e.id + "@" + *e.node;
  out.port = *e.port;
  // An empty service address means the node's, as Consul's DNS answers.
  out.address = e.address && !e.address->empty() ? *e.address : e.node_address.value_or("");
  if (out.address.empty()) return fields.error(member_path(path, "Node.Address"), "no address (service or node)");
  if (auto z = e.meta.find("zone"); z != e.meta.end())
    out.zone = z->second;
  else if (auto nz = e.node_meta.find("zone"); nz != e.node_meta.end())
    out.zone = nz->second;
  else
    out.zone = e.datacenter.value_or("");
  out.health = e.health;
  out.metadata = e.meta;
  out.metadata.emplace("consul.node", *e.node);
  out.metadata.emplace("consul.health", e.consul_health);
  if (e.datacenter && !e.datacenter->empty()) out.metadata.emplace("consul.datacenter", *e.datacenter);
  if (e.kind && !e.kind->empty()) out.metadata.emplace("consul.kind", *e.kind);

  importing::Sourced version{std::nullopt, member_path(e.meta_path, "version")};
  if (auto v = e.meta.find("version"); v != e.meta.end()) version.value = v->second;
  importing::Sourced team{std::nullopt, e.meta_path};
  if (auto t = importing::owner_team_in(e.meta)) team = {t->second, member_path(e.meta_path, t->first)};
  auto* v = registry.version(*e.name, e.name_path, version, "Meta \"version\"", team);
  if (!v) return;
  for (size_t i = 0; i < e.tags.size(); ++i) {
    if (e.tags[i].empty())
      fields.error(importing::index_path(e.tags_path, i), "an empty tag");
    else
      v->tags.insert(e.tags[i]);
  }
  registry.add_instance(*v, std::move(out), path);
}

}  // namespace

ImportResult import_consul(std::string_view text, const ImportOptions& options) {
  auto values = importing::parse_json_values(text);
  if (!values) return importing::refused(values.error());
  Fields fields;
  importing::ImportedRegistry registry(options, "consul", fields);
  for (size_t k = 0; k < values->size(); ++k) {
    const Value& list = (*values)[k];
    const std::string list_path = importing::index_path("", k);
    if (!list.IsArray()) {
      fields.error(list_path, "expected an array (GET /v1/health/service/NAME or /v1/catalog/service/NAME), got " +
                                  std::string(importing::type_name(list)));
      continue;
    }
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      const std::string path = importing::index_path(list_path, i);
      const Value& entry = list[i];
      if (!fields.expect_object(entry, path)) continue;
      if (entry.HasMember("Service"))
        add_entry(registry, fields, read_health_entry(fields, entry, path), path);
      else if (entry.HasMember("ServiceName"))
        add_entry(registry, fields, read_catalog_entry(fields, entry, path), path);
      else
        fields.error(path, "neither a /v1/health/service entry (Node, Service, Checks) nor a /v1/catalog/service "
                           "entry (Node, ServiceName, ServiceID, ...)");
    }
  }
  return registry.finish();
}

}  // namespace roster::cli
