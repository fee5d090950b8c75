// Eureka's GET /eureka/apps (Accept: application/json) -> a roster registry document.
// An application is a service (its name in lower case: Eureka upper-cases what applications
// register); each distinct `version` in its instances' metadata is a version of it, holding the
// instances that carry it. docs/importing.md has the whole mapping.
#include <algorithm>
#include <cctype>
#include <utility>

#include "import_registry.hpp"
#include "importers.hpp"

namespace roster::cli {

namespace {

using importing::Fields;
using importing::member_path;
using importing::Value;

// Eureka writes a list of one as the element itself (its JSON codec comes from XML, where the
// two look alike): `application` and `instance` may each be an array or a single object.
std::vector<std::pair<const Value*, std::string>> elements(Fields& fields, const Value& parent, std::string_view path,
                                                           std::string_view key) {
  std::vector<std::pair<const Value*, std::string>> out;
  auto it = parent.FindMember(rapidjson::StringRef(key.data(), key.size()));
  const std::string where = member_path(path, key);
  if (it == parent.MemberEnd() || it->value.IsNull()) {
    fields.error(where, "required field missing");
  } else if (it->value.IsObject()) {
    out.emplace_back(&it->value, where);
  } else if (it->value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i)
      if (fields.expect_object(it->value[i], importing::index_path(where, i)))
        out.emplace_back(&it->value[i], importing::index_path(where, i));
  } else {
    fields.error(where, "expected array or object, got " + std::string(importing::type_name(it->value)));
  }
  return out;
}

std::optional<std::string> health_of(std::string_view status) {
  if (status == "UP") return "up";
  if (status == "DOWN") return "down";
  if (status == "STARTING") return "starting";
  if (status == "OUT_OF_SERVICE") return "out_of_service";
  if (status == "UNKNOWN") return "down";  // not known to be up: no traffic, as Eureka's clients do
  return std::nullopt;
}

// `{"$": 8080, "@enabled": "true"}`: the port when enabled; `@enabled` is a string ("true") in
// what Eureka writes, a boolean in some converters.
std::optional<int64_t> enabled_port(Fields& fields, const Value& instance, std::string_view path,
                                    std::string_view key) {
  const Value* port = fields.object(instance, path, key, false);
  if (!port) return std::nullopt;
  const std::string where = member_path(path, key);
  auto enabled = port->FindMember("@enabled");
  bool on = true;
  if (enabled != port->MemberEnd()) {
    if (enabled->value.IsBool())
      on = enabled->value.GetBool();
    else if (enabled->value.IsString() && (enabled->value.GetString() == std::string_view("true") ||
                                           enabled->value.GetString() == std::string_view("false")))
      on = enabled->value.GetString() == std::string_view("true");
    else
      fields.error(member_path(where, "@enabled"), "expected \"true\" or \"false\"");
  }
  auto number = fields.port(*port, where, "$", true);
  return on ? number : std::nullopt;
}

void import_instance(importing::ImportedRegistry& registry, Fields& fields, const std::string& service,
                     const std::string& application_path, const Value& instance, const std::string& path) {
  importing::ImportedInstance out;
  auto host = fields.string(instance, path, "hostName", false);
  auto ip = fields.string(instance, path, "ipAddr", false);
  auto id = fields.string(instance, path, "instanceId", false);
  auto status = fields.string(instance, path, "status", true);
  auto metadata = fields.string_map(instance, path, "metadata");
  const std::string metadata_path = member_path(path, "metadata");

  if (ip && !ip->empty())
    out.address = *ip;
  else if (host && !host->empty())
    out.address = *host;
  else
    fields.error(member_path(path, "ipAddr"), "no address (ipAddr or hostName)");

  const size_t errors_before_ports = fields.error_count();
  auto port = enabled_port(fields, instance, path, "port");
  auto secure_port = enabled_port(fields, instance, path, "securePort");
  if (port) {
    out.port = *port;
    if (secure_port) out.metadata.emplace("eureka.secure-port", std::to_string(*secure_port));
  } else if (secure_port) {
    out.port = *secure_port;
  } else if (fields.error_count() == errors_before_ports) {
    fields.error(member_path(path, "port"), "no enabled port (port or securePort with \"@enabled\": \"true\")");
  }

  if (status) {
    if (auto health = health_of(*status))
      out.health = *health;
    else
      fields.error(member_path(path, "status"),
                   "unknown status \"" + *status + "\" (UP, DOWN, STARTING, OUT_OF_SERVICE or UNKNOWN)");
  }

  // Spring Cloud's zone is the instance's metadata `zone`; on AWS, the data centre's availability zone.
  if (auto zone = metadata.find("zone"); zone != metadata.end()) {
    out.zone = zone->second;
  } else if (const Value* dc = fields.object(instance, path, "dataCenterInfo", false)) {
    auto dc_metadata = fields.string_map(*dc, member_path(path, "dataCenterInfo"), "metadata");
    if (auto az = dc_metadata.find("availability-zone"); az != dc_metadata.end()) out.zone = az->second;
  }

  if (const Value* lease = fields.object(instance, path, "leaseInfo", false)) {
    const std::string lease_path = member_path(path, "leaseInfo");
    if (auto d = fields.integer(*lease, lease_path, "durationInSecs", false))
      out.metadata.emplace("eureka.lease-duration-secs", std::to_string(*d));
    if (auto r = fields.integer(*lease, lease_path, "renewalIntervalInSecs", false))
      out.metadata.emplace("eureka.renewal-interval-secs", std::to_string(*r));
  }
  if (host && !host->empty()) out.metadata.emplace("eureka.host-name", *host);
  for (auto [key, name] : {std::pair{"vipAddress", "eureka.vip-address"}, {"healthCheckUrl", "eureka.health-check-url"},
                           {"statusPageUrl", "eureka.status-page-url"}, {"homePageUrl", "eureka.home-page-url"}})
    if (auto v = fields.string(instance, path, key, false); v && !v->empty()) out.metadata.emplace(name, *v);
  for (const auto& [k, v] : metadata) out.metadata.emplace(k, v);

  // Eureka's own id is the instanceId; instances registered before it existed are known by host.
  if (id && !id->empty())
    out.id = *id;
  else if (host && !host->empty())
    out.id = *host + ":" + std::to_string(out.port);
  else
    fields.error(member_path(path, "instanceId"), "no instance id (instanceId or hostName)");

  importing::Sourced version{std::nullopt, member_path(metadata_path, "version")};
  if (auto v = metadata.find("version"); v != metadata.end()) version.value = v->second;
  importing::Sourced team{std::nullopt, metadata_path};
  if (auto t = importing::owner_team_in(metadata)) team = {t->second, member_path(metadata_path, t->first)};

  auto* v = registry.version(service, member_path(application_path, "name"), version, "metadata \"version\"", team);
  if (v && !out.id.empty() && out.port != 0 && !out.address.empty()) registry.add_instance(*v, std::move(out), path);
}

}  // namespace

ImportResult import_eureka(std::string_view text, const ImportOptions& options) {
  auto values = importing::parse_json_values(text);
  if (!values) return importing::refused(values.error());
  if (values->size() != 1)
    return importing::refused({ErrorKind::Invalid, "invalid_import",
                               "expected one /eureka/apps document, found " + std::to_string(values->size()) +
                                   " JSON values",
                               ""});
  Fields fields;
  importing::ImportedRegistry registry(options, "eureka", fields);
  const Value& root = values->front();
  if (!fields.expect_object(root, "")) return registry.finish();
  const Value* applications = fields.object(root, "", "applications", true);
  if (!applications) return registry.finish();
  for (const auto& [application, app_path] : elements(fields, *applications, "applications", "application")) {
    auto name = fields.string(*application, app_path, "name", true);
    if (!name) continue;
    std::string service = *name;
    std::transform(service.begin(), service.end(), service.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [instance, inst_path] : elements(fields, *application, app_path, "instance"))
      import_instance(registry, fields, service, app_path, *instance, inst_path);
  }
  return registry.finish();
}

}  // namespace roster::cli
