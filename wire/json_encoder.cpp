#include "roster/wire/json_encoder.hpp"

#include <map>
#include <string_view>
#include <utility>

#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"
#include "roster/wire/time_format.hpp"

namespace roster::wire {
namespace {

std::string_view view(const flatbuffers::String* s) { return s ? std::string_view(s->data(), s->size()) : std::string_view(); }

void write_optional_string(JsonWriter& w, std::string_view key, const flatbuffers::String* s) {
  if (s) w.key(key).string(view(s));
}

void write_time(JsonWriter& w, std::string_view key, int64_t ms) {
  if (ms) w.key(key).string(format_rfc3339_ms(ms));
}

void write_labels(JsonWriter& w, std::string_view key, const flatbuffers::Vector<flatbuffers::Offset<Label>>* labels) {
  if (!labels) return;
  w.key(key).begin_object();
  for (const Label* l : *labels) w.key(view(l->key())).string(view(l->value()));
  w.end_object();
}

}  // namespace

void write_instance(JsonWriter& w, const Instance& inst, const InstanceJson& options) {
  w.begin_object();
  if (options.with_service) w.key("service").string(view(inst.service())).key("version").string(view(inst.version()));
  w.key("id").string(view(inst.id()));
  w.key("address").string(view(inst.address()));
  w.key("port").number(inst.port());
  write_optional_string(w, "zone", inst.zone());
  w.key("weight").number(inst.weight());
  w.key("health").string(to_string(inst.health()));
  write_time(w, "lease_expires_at", options.lease_expires_at_ms.value_or(inst.lease_expires_at_ms()));
  write_labels(w, "metadata", inst.metadata());
  write_optional_string(w, "followed_from", inst.followed_from());
  w.end_object();
}

namespace {

// The fields of a version entry; `name` only for a standalone document.
void write_version_fields(JsonWriter& w, const ServiceVersion& v, const std::vector<const Instance*>& instances,
                          bool schema_document = true) {
  w.key("version").string(view(v.version()));
  w.key("lifecycle_stage").string(to_string(v.stage()));
  w.key("owner_team").string(view(v.owner_team()));
  write_optional_string(w, "description", v.description());
  if (v.tags()) {
    w.key("tags").begin_array();
    for (auto* t : *v.tags()) w.string(view(t));
    w.end_array();
  }
  write_labels(w, "labels", v.labels());
  if (auto* schema = v.api_schema()) {
    w.key("api_schema").begin_object();
    w.key("format").string(to_string(schema->format()));
    if (schema_document) w.key("document").raw(view(schema->document()));
    w.end_object();
  }
  if (v.dependencies()) {
    w.key("dependencies").begin_array();
    for (auto* d : *v.dependencies())
      w.begin_object().key("service").string(view(d->service())).key("range").string(view(d->range())).end_object();
    w.end_array();
  }
  if (v.endpoints()) {
    w.key("endpoints").begin_array();
    for (auto* e : *v.endpoints()) {
      w.begin_object().key("method").string(view(e->method())).key("path").string(view(e->path()));
      write_optional_string(w, "description", e->description());
      w.end_object();
    }
    w.end_array();
  }
  write_optional_string(w, "documentation_url", v.documentation_url());
  write_time(w, "created_at", v.created_at_ms());
  write_time(w, "updated_at", v.updated_at_ms());
  write_time(w, "deprecated_at", v.deprecated_at_ms());
  write_time(w, "sunset_at", v.sunset_at_ms());
  write_time(w, "retired_at", v.retired_at_ms());
  write_optional_string(w, "deprecation_reason", v.deprecation_reason());
  if (v.revision()) w.key("revision").unsigned_number(v.revision());
  write_optional_string(w, "followed_from", v.followed_from());
  if (!instances.empty()) {
    w.key("instances").begin_array();
    for (auto* inst : instances) write_instance(w, *inst);
    w.end_array();
  }
}

void write_contract(JsonWriter& w, const Contract& c) {
  w.begin_object();
  w.key("consumer").string(view(c.consumer()));
  w.key("consumer_version").string(view(c.consumer_version()));
  w.key("provider").string(view(c.provider()));
  w.key("provider_range").string(view(c.provider_range()));
  w.key("pact").raw(view(c.pact()));
  write_optional_string(w, "followed_from", c.followed_from());
  w.end_object();
}

// The server's default days are left out (0 in the record).
void write_settings(JsonWriter& w, const ServicePolicy& policy) {
  w.key("settings").begin_object().key("compatibility").string(to_string(policy.compatibility()));
  if (policy.sunset_after_days() > 0) w.key("sunset_after_days").number(policy.sunset_after_days());
  if (policy.retire_after_days() > 0) w.key("retire_after_days").number(policy.retire_after_days());
  w.end_object();
}

}  // namespace

std::string to_registry_json(const RegistryRecords& records, bool pretty, std::vector<const Instance*>* orphans) {
  using Key = std::pair<std::string_view, std::string_view>;
  std::map<Key, std::vector<const Instance*>> instances_of;
  for (auto* inst : records.instances) instances_of[{view(inst->service()), view(inst->version())}].push_back(inst);

  // Services in order of first appearance, each with its versions in order.
  std::vector<std::string_view> service_order;
  std::map<std::string_view, std::vector<const ServiceVersion*>> versions_of;
  for (auto* v : records.versions) {
    auto& list = versions_of[view(v->name())];
    if (list.empty()) service_order.push_back(view(v->name()));
    list.push_back(v);
  }

  // A service's settings, and the services that have settings but no version (listed last).
  std::map<std::string_view, const ServicePolicy*> policy_of;
  for (auto* p : records.policies) {
    policy_of[view(p->name())] = p;
    if (!versions_of.count(view(p->name()))) service_order.push_back(view(p->name()));
  }

  std::string out;
  JsonWriter w(out, pretty);
  w.begin_object().key("services").begin_array();
  for (auto name : service_order) {
    w.begin_object().key("name").string(name);
    if (auto it = policy_of.find(name); it != policy_of.end()) write_settings(w, *it->second);
    w.key("versions").begin_array();
    for (auto* v : versions_of[name]) {
      w.begin_object();
      auto it = instances_of.find({name, view(v->version())});
      if (it == instances_of.end()) {
        write_version_fields(w, *v, {});
      } else {
        write_version_fields(w, *v, it->second);
        instances_of.erase(it);
      }
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  if (!records.contracts.empty()) {
    w.key("contracts").begin_array();
    for (auto* c : records.contracts) write_contract(w, *c);
    w.end_array();
  }
  w.end_object();
  if (pretty) out += '\n';
  if (orphans)
    for (auto& [key, list] : instances_of) orphans->insert(orphans->end(), list.begin(), list.end());
  return out;
}

std::string to_service_version_json(const ServiceVersion& version, const std::vector<const Instance*>& instances,
                                    bool pretty, bool schema_document, std::string_view registry) {
  std::string out;
  JsonWriter w(out, pretty);
  w.begin_object().key("name").string(view(version.name()));
  if (!registry.empty()) w.key("registry").string(registry);
  write_version_fields(w, version, instances, schema_document);
  w.end_object();
  if (pretty) out += '\n';
  return out;
}

std::string error_json(std::string_view code, std::string_view message, std::string_view path) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("error").begin_object();
  w.key("code").string(code).key("message").string(message).key("path");
  if (path.empty())
    w.null();
  else
    w.string(path);
  w.end_object().end_object();
  return out;
}

}  // namespace roster::wire
