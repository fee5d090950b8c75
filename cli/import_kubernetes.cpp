// Kubernetes Services and their EndpointSlices (`kubectl get services,endpointslices -o json`, a
// List; or several such documents one after another) -> a roster registry document. A Service is
// a service at the version its labels give; each endpoint of its EndpointSlices
// (discovery.k8s.io/v1) is an instance. With several documents in the file, paths start with the
// document's place: `[1].items[0].metadata.name`. docs/importing.md has the mapping.
#include <utility>

#include "import_registry.hpp"
#include "importers.hpp"

namespace roster::cli {

namespace {

using importing::Fields;
using importing::member_path;
using importing::Value;

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

struct Item {
  const Value* value;
  std::string path;
};

struct ImportedService {
  importing::ImportedVersion* version;  // nullptr when the Service was refused (already reported)
  std::string path;
};

// namespace/name -> the Service's version.
using Services = std::map<std::pair<std::string, std::string>, ImportedService>;

void import_service(importing::ImportedRegistry& registry, Fields& fields, const Item& item, Services& services,
                    std::map<std::string, std::string>& namespace_of) {
  const Value* metadata = fields.object(*item.value, item.path, "metadata", true);
  if (!metadata) return;
  const std::string metadata_path = member_path(item.path, "metadata");
  auto name = fields.string(*metadata, metadata_path, "name", true);
  auto ns = fields.string(*metadata, metadata_path, "namespace", false).value_or("default");
  auto labels = fields.string_map(*metadata, metadata_path, "labels");
  if (!name) return;
  const std::string name_path = member_path(metadata_path, "name");
  // roster has one namespace of service names: the same name in two namespaces would merge two
  // different services.
  if (auto [it, added] = namespace_of.emplace(*name, ns); !added && it->second != ns)
    return fields.error(name_path, "Service \"" + *name + "\" is in namespaces \"" + it->second + "\" and \"" + ns +
                                       "\"; import one namespace at a time (kubectl get -n NAMESPACE)");

  const std::string labels_path = member_path(metadata_path, "labels");
  importing::Sourced version{std::nullopt, member_path(labels_path, "app.kubernetes.io/version")};
  for (std::string_view key : {"app.kubernetes.io/version", "version"})
    if (auto v = labels.find(std::string(key)); v != labels.end()) {
      version = {v->second, member_path(labels_path, key)};
      break;
    }
  importing::Sourced team{std::nullopt, labels_path};
  if (auto t = importing::owner_team_in(labels)) team = {t->second, member_path(labels_path, t->first)};
  auto* v = registry.version(*name, name_path, version, "label app.kubernetes.io/version or version", team);
  if (!services.emplace(std::pair(ns, *name), ImportedService{v, item.path}).second)
    return fields.error(item.path, "Service \"" + ns + "/" + *name + "\" appears twice");
  if (!v) return;
  v->labels.insert(labels.begin(), labels.end());
  v->labels.emplace("kubernetes.namespace", ns);
}

// The instance's health from an endpoint's conditions: a nil `ready` means ready (the API says to
// read an unknown state so); a terminating endpoint is draining.
std::string health_of(Fields& fields, const Value& endpoint, const std::string& path) {
  const Value* conditions = fields.object(endpoint, path, "conditions", false);
  if (!conditions) return "up";
  const std::string conditions_path = member_path(path, "conditions");
  auto ready = fields.boolean(*conditions, conditions_path, "ready", false);
  auto terminating = fields.boolean(*conditions, conditions_path, "terminating", false);
  fields.boolean(*conditions, conditions_path, "serving", false);  // checked, not used: ready says it for roster
  if (terminating.value_or(false)) return "out_of_service";
  return ready.value_or(true) ? "up" : "down";
}

void import_endpoint_slice(importing::ImportedRegistry& registry, Fields& fields, const Item& item,
                           const Services& services) {
  const Value* metadata = fields.object(*item.value, item.path, "metadata", true);
  auto address_type = fields.string(*item.value, item.path, "addressType", true);
  const Value* endpoints = fields.array(*item.value, item.path, "endpoints", false);
  const Value* ports = fields.array(*item.value, item.path, "ports", false);
  if (!metadata || !address_type) return;
  const std::string metadata_path = member_path(item.path, "metadata");
  auto slice = fields.string(*metadata, metadata_path, "name", true);
  auto ns = fields.string(*metadata, metadata_path, "namespace", false).value_or("default");
  auto labels = fields.string_map(*metadata, metadata_path, "labels");
  const std::string owner_path = member_path(member_path(metadata_path, "labels"), kServiceNameLabel);
  auto owner = labels.find(std::string(kServiceNameLabel));
  if (owner == labels.end())
    return fields.error(owner_path, "required label missing (the Service the slice belongs to)");
  auto service = services.find({ns, owner->second});
  if (service == services.end())
    return fields.error(owner_path, "no Service \"" + ns + "/" + owner->second +
                                        "\" in the file; export both: kubectl get services,endpointslices -o json");
  if (*address_type != "IPv4" && *address_type != "IPv6" && *address_type != "FQDN")
    return fields.error(member_path(item.path, "addressType"),
                        "unknown address type \"" + *address_type + "\" (IPv4, IPv6 or FQDN)");

  // roster's instance has one port: the slice's first; every named one goes into the metadata.
  std::optional<int64_t> port;
  std::map<std::string, std::string> port_metadata;
  const std::string ports_path = member_path(item.path, "ports");
  for (rapidjson::SizeType i = 0; ports && i < ports->Size(); ++i) {
    const std::string port_path = importing::index_path(ports_path, i);
    if (!fields.expect_object((*ports)[i], port_path)) continue;
    auto number = fields.port((*ports)[i], port_path, "port", true);
    auto name = fields.string((*ports)[i], port_path, "name", false).value_or("");
    if (!number) continue;
    if (!port) port = number;
    port_metadata.emplace(name.empty() ? "kubernetes.port" : "kubernetes.port." + name, std::to_string(*number));
  }
  const bool has_endpoints = endpoints && endpoints->Size() > 0;
  if (has_endpoints && (!ports || ports->Empty()))
    return fields.error(ports_path, "no ports: a roster instance needs one (a slice of every port is not imported)");
  if (!has_endpoints || !service->second.version || !port || !slice) return;

  const std::string endpoints_path = member_path(item.path, "endpoints");
  for (rapidjson::SizeType j = 0; j < endpoints->Size(); ++j) {
    const std::string path = importing::index_path(endpoints_path, j);
    const Value& endpoint = (*endpoints)[j];
    if (!fields.expect_object(endpoint, path)) continue;
    importing::ImportedInstance out;
    out.port = *port;
    out.metadata = port_metadata;
    out.health = health_of(fields, endpoint, path);
    auto addresses = fields.strings(endpoint, path, "addresses");
    if (addresses.empty() || addresses[0].empty()) {
      fields.error(member_path(path, "addresses"), "no address");
      continue;
    }
    // Several addresses of one endpoint are interchangeable (the API's words): the first serves.
    out.address = addresses[0];
    out.zone = fields.string(endpoint, path, "zone", false).value_or("");
    auto node = fields.string(endpoint, path, "nodeName", false);
    auto hostname = fields.string(endpoint, path, "hostname", false);
    std::optional<std::string> target;
    if (const Value* ref = fields.object(endpoint, path, "targetRef", false)) {
      const std::string ref_path = member_path(path, "targetRef");
      target = fields.string(*ref, ref_path, "name", true);
      if (auto kind = fields.string(*ref, ref_path, "kind", false); kind && target)
        out.metadata.emplace("kubernetes." + std::string(*kind == "Pod" ? "pod" : "target"), *target);
    }
    if (node) out.metadata.emplace("kubernetes.node", *node);
    if (hostname) out.metadata.emplace("kubernetes.hostname", *hostname);
    out.metadata.emplace("kubernetes.endpointslice", *slice);
    // The pod's name is its identity; a dual-stack pod is in an IPv4 and an IPv6 slice, and is
    // an instance per address family.
    out.id = target.value_or(hostname.value_or(out.address));
    if (*address_type != "IPv4") out.id += "/" + *address_type;
    registry.add_instance(*service->second.version, std::move(out), path);
  }
}

// The file's Services and EndpointSlices, each with its path; anything else is refused.
std::vector<std::pair<Item, bool>> items_of(Fields& fields, const std::vector<rapidjson::Document>& values) {
  std::vector<std::pair<Item, bool>> out;  // (item, is a Service)
  auto classify = [&](const Value& v, const std::string& path) {
    if (!fields.expect_object(v, path)) return;
    auto kind = fields.string(v, path, "kind", true);
    auto api = fields.string(v, path, "apiVersion", true);
    if (!kind || !api) return;
    if (*kind == "Service" && *api == "v1")
      out.push_back({{&v, path}, true});
    else if (*kind == "EndpointSlice" && *api == "discovery.k8s.io/v1")
      out.push_back({{&v, path}, false});
    else
      fields.error(member_path(path, "kind"), "\"" + *kind + "\" (" + *api + ") is not imported: Services (v1) and "
                                              "EndpointSlices (discovery.k8s.io/v1) are");
  };
  for (size_t k = 0; k < values.size(); ++k) {
    const Value& doc = values[k];
    const std::string path = values.size() == 1 ? "" : importing::index_path("", k);
    if (!fields.expect_object(doc, path)) continue;
    auto kind = fields.string(doc, path, "kind", true);
    if (!kind) continue;
    if (*kind != "List" && *kind != "ServiceList" && *kind != "EndpointSliceList") {
      classify(doc, path);
      continue;
    }
    const Value* items = fields.array(doc, path, "items", true);
    for (rapidjson::SizeType i = 0; items && i < items->Size(); ++i) {
      const std::string item_path = importing::index_path(member_path(path, "items"), i);
      // A typed list (ServiceList) leaves kind and apiVersion out of its items.
      if (*kind == "List" || !(*items)[i].IsObject()) {
        classify((*items)[i], item_path);
      } else {
        out.push_back({{&(*items)[i], item_path}, *kind == "ServiceList"});
      }
    }
  }
  return out;
}

}  // namespace

ImportResult import_kubernetes(std::string_view text, const ImportOptions& options) {
  auto values = importing::parse_json_values(text);
  if (!values) return importing::refused(values.error());
  Fields fields;
  importing::ImportedRegistry registry(options, "kubernetes", fields);
  auto items = items_of(fields, *values);
  Services services;
  std::map<std::string, std::string> namespace_of;
  for (const auto& [item, is_service] : items)
    if (is_service) import_service(registry, fields, item, services, namespace_of);
  for (const auto& [item, is_service] : items)
    if (!is_service) import_endpoint_slice(registry, fields, item, services);
  return registry.finish();
}

}  // namespace roster::cli
