// The C ABI over the C++ client: handles, caller-owned storage, error codes. Every entry point
// catches everything: no C++ exception may cross into C.
#include "roster/roster.h"

#include <new>
#include <optional>
#include <string>
#include <vector>

#include "roster/client.hpp"

using roster::Client;
using roster::View;

struct roster_client {
  Client client;
};

struct roster_dependency_iter {
  std::vector<roster::Dependency> items;
  size_t next = 0;
};

struct roster_service_list {
  std::vector<roster::ServiceVersion> items;
  size_t next = 0;
};

namespace {

constexpr uint64_t kViewMagic = 0x524f535445525657;  // "ROSTERVW"
constexpr uint64_t kIterMagic = 0x524f535445524954;  // "ROSTERIT"

thread_local std::string t_last_error;

int fail(int code, const std::string& detail) {
  t_last_error = detail;
  return code;
}

// roster_last_error() is about the last failure: a success leaves it (and costs no TLS access).
int ok() { return ROSTER_OK; }

// roster_view storage: [0] magic, then the C++ View.
static_assert(sizeof(View) <= sizeof(roster_view) - sizeof(uint64_t));
static_assert(alignof(View) <= alignof(uint64_t));

View* view_of(const roster_view* v) {
  if (!v || v->opaque[0] != kViewMagic) return nullptr;
  return std::launder(reinterpret_cast<View*>(const_cast<uint64_t*>(&v->opaque[1])));
}

// Common checks for functions that read through a view.
int check_view(const roster_view* v, View*& out) {
  out = view_of(v);
  if (!out) return fail(ROSTER_E_CLOSED, "the view is not open (roster_view_begin first)");
  if (out->evicted())
    return fail(ROSTER_E_EVICTED, "the view was held past the arena's pin limit and revoked; begin a new one");
  return ROSTER_OK;
}

roster_string str(const flatbuffers::String* s) { return s ? roster_string{s->data(), s->size()} : roster_string{"", 0}; }
roster_string str(std::string_view s) { return {s.data(), s.size()}; }

// Every field is written once (no zeroing first): what the caller pays per lookup.
void fill(const roster::ServiceVersion& sv, roster_service* out) {
  const auto& r = sv.record();
  out->name = str(r.name());
  out->version = str(r.version());
  out->owner_team = str(r.owner_team());
  out->description = str(r.description());
  out->documentation_url = str(r.documentation_url());
  out->deprecation_reason = str(r.deprecation_reason());
  out->stage = static_cast<int>(r.stage());
  out->created_at_ms = r.created_at_ms();
  out->updated_at_ms = r.updated_at_ms();
  out->deprecated_at_ms = r.deprecated_at_ms();
  out->sunset_at_ms = r.sunset_at_ms();
  out->revision = r.revision();
  const auto* schema = r.api_schema();
  out->schema_format = schema ? static_cast<int>(schema->format()) : 0;
  out->schema_document = schema ? str(schema->document()) : roster_string{"", 0};
  out->schema_hash = schema ? schema->hash() : 0;
  out->tag_count = r.tags() ? r.tags()->size() : 0;
  out->label_count = r.labels() ? r.labels()->size() : 0;
  out->dependency_count = r.dependencies() ? r.dependencies()->size() : 0;
  out->endpoint_count = r.endpoints() ? r.endpoints()->size() : 0;
  out->record = &r;
}

void fill(const roster::Instance& inst, roster_instance* out) {
  const auto& r = inst.record();
  *out = roster_instance{};
  out->service = str(r.service());
  out->version = str(r.version());
  out->id = str(r.id());
  out->address = str(r.address());
  out->zone = str(r.zone());
  out->port = inst.port();
  out->weight = inst.weight();
  out->health = static_cast<int>(inst.health());
  out->lease_expires_at_ms = r.lease_expires_at_ms();
  out->metadata_count = r.metadata() ? r.metadata()->size() : 0;
  out->record = &r;
}

const roster::wire::ServiceVersion* record_of(const roster_service* s) {
  return s ? static_cast<const roster::wire::ServiceVersion*>(s->record) : nullptr;
}

// roster_instance_iter storage: the C++ iterator's state.
struct InstanceIterState {
  roster::Instances::iterator at;  // it knows its end
};
static_assert(sizeof(InstanceIterState) <= sizeof(roster_instance_iter));

// roster_service_iter storage: [0] magic, then the list and the iterator.
struct ServiceIterState {
  roster::VersionList list;
  roster::VersionList::iterator at;
};
static_assert(sizeof(ServiceIterState) <= sizeof(roster_service_iter) - sizeof(uint64_t));

// The C code for a client error (roster/client.hpp names the codes).
int fail_with(const roster::Error& e) {
  const std::string message = e.to_string();
  if (e.code == "no_arena") return fail(ROSTER_E_NO_ARENA, message);
  if (e.code == "layout_mismatch" || e.code == "not_an_arena") return fail(ROSTER_E_LAYOUT, message);
  if (e.code == "no_reader_slot") return fail(ROSTER_E_NO_SLOT, message);
  if (e.kind == roster::ErrorKind::Io) return fail(ROSTER_E_IO, message);
  return fail(ROSTER_E_INTERNAL, message);
}

template <typename Fn>
int guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const roster::Exception& e) {
    return fail_with(e.error());
  } catch (const std::bad_alloc&) {
    return fail(ROSTER_E_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(ROSTER_E_INTERNAL, e.what());
  } catch (...) {
    return fail(ROSTER_E_INTERNAL, "unknown error");
  }
}

// The lookups of a plain name (a View) and of a name in one registry (an InRegistry) share
// their bodies: both answer the same calls.
template <typename Source>
int get_service(const Source& source, std::string_view name, const char* version, size_t version_len,
                roster_service* out, std::string_view context) {
  return guarded([&] {
    auto svc = version ? source.service(name, std::string_view(version, version_len)) : source.service(name);
    if (!svc) {
      return version ? fail(ROSTER_E_NOT_FOUND, "no \"" + std::string(name) + "\" version \"" +
                                                    std::string(version, version_len) + "\"" + std::string(context))
                     : fail(ROSTER_E_NOT_FOUND,
                            "no version of \"" + std::string(name) + "\" counts as latest" + std::string(context));
    }
    fill(*svc, out);
    return ok();
  });
}

template <typename Source>
int begin_instances(const Source& source, std::string_view name, const char* version, size_t version_len, int filter,
                    roster_instance_iter* iter) {
  if (filter != ROSTER_ALL && filter != ROSTER_HEALTHY) return fail(ROSTER_E_INVALID_ARGUMENT, "unknown filter");
  return guarded([&] {
    const auto f = filter == ROSTER_HEALTHY ? roster::Filter::Healthy : roster::Filter::All;
    auto range =
        version ? source.instances(name, std::string_view(version, version_len), f) : source.instances(name, f);
    new (iter->opaque) InstanceIterState{range.begin()};
    return ok();
  });
}

roster::Depth depth_of(int depth) {
  return depth == ROSTER_TRANSITIVE ? roster::Depth::Transitive : roster::Depth::Direct;
}

// Of the latest version (version NULL) or the given one.
template <typename Source>
std::vector<roster::Dependency> dependencies_of(const Source& source, std::string_view name, const char* version,
                                                size_t version_len, int depth) {
  return version ? source.dependencies(name, std::string_view(version, version_len), depth_of(depth))
                 : source.dependencies(name, depth_of(depth));
}

// Registry `registry` of the view's arena; ROSTER_E_NOT_FOUND (naming those it has) if it mirrors none of that name.
int find_registry(const View& v, const char* registry, size_t registry_len, std::optional<roster::InRegistry>& out) {
  auto found = v.find_registry(std::string_view(registry, registry_len));
  if (!found) return fail(ROSTER_E_NOT_FOUND, found.error().message);
  out.emplace(*found);
  return ok();
}

std::string in_text(const char* registry, size_t registry_len) {
  return " in registry \"" + std::string(registry, registry_len) + "\"";
}

}  // namespace

extern "C" {

int roster_open(const char* name, roster_client** client) {
  if (client) *client = nullptr;
  if (!name || !client) return fail(ROSTER_E_INVALID_ARGUMENT, "roster_open: name and client must not be NULL");
  return guarded([&] {
    auto opened = Client::open(name);
    if (!opened) return fail_with(opened.error());
    *client = new roster_client{std::move(*opened)};
    return ok();
  });
}

void roster_close(roster_client** client) {
  if (!client || !*client) return;
  delete *client;
  *client = nullptr;
}

int roster_wait_for_change(roster_client* client, uint64_t generation, uint32_t timeout_ms) {
  if (!client) return fail(ROSTER_E_CLOSED, "the client is closed");
  return guarded([&] {
    if (client->client.wait_for_change(generation, std::chrono::milliseconds(timeout_ms))) return ok();
    return fail(ROSTER_E_TIMEOUT, "no change within " + std::to_string(timeout_ms) + " ms");
  });
}

int roster_view_begin(roster_client* client, roster_view* view) {
  if (!view) return fail(ROSTER_E_INVALID_ARGUMENT, "roster_view_begin: view must not be NULL");
  view->opaque[0] = 0;
  if (!client) return fail(ROSTER_E_CLOSED, "the client is closed");
  return guarded([&] {
    new (&view->opaque[1]) View(client->client.view());
    view->opaque[0] = kViewMagic;
    return ok();
  });
}

void roster_view_end(roster_view* view) {
  if (View* v = view_of(view)) {
    v->~View();
    view->opaque[0] = 0;
  }
}

int roster_view_generation(const roster_view* view, uint64_t* generation) {
  View* v = view_of(view);
  if (!v) return fail(ROSTER_E_CLOSED, "the view is not open");
  if (!generation) return fail(ROSTER_E_INVALID_ARGUMENT, "generation must not be NULL");
  *generation = v->generation();
  return ok();
}

int roster_view_revision(const roster_view* view, uint64_t* revision) {
  View* v = view_of(view);
  if (!v) return fail(ROSTER_E_CLOSED, "the view is not open");
  if (!revision) return fail(ROSTER_E_INVALID_ARGUMENT, "revision must not be NULL");
  *revision = v->revision();
  return ok();
}

int roster_view_staleness_ms(const roster_view* view, uint64_t* staleness_ms) {
  View* v = view_of(view);
  if (!v) return fail(ROSTER_E_CLOSED, "the view is not open");
  if (!staleness_ms) return fail(ROSTER_E_INVALID_ARGUMENT, "staleness_ms must not be NULL");
  const auto s = v->staleness();
  *staleness_ms = s == std::chrono::milliseconds::max() ? UINT64_MAX : static_cast<uint64_t>(s.count());
  return ok();
}

int roster_service_get(const roster_view* view, const char* name, size_t name_len, roster_service* out) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "name and out must not be NULL");
  return get_service(*v, std::string_view(name, name_len), nullptr, 0, out, "");
}

int roster_service_get_version(const roster_view* view, const char* name, size_t name_len, const char* version,
                               size_t version_len, roster_service* out) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !version || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "name, version and out must not be NULL");
  return get_service(*v, std::string_view(name, name_len), version, version_len, out, "");
}

int roster_service_tag(const roster_service* service, size_t index, roster_string* tag) {
  auto* r = record_of(service);
  if (!r || !tag) return fail(ROSTER_E_INVALID_ARGUMENT, "service and tag must not be NULL");
  if (!r->tags() || index >= r->tags()->size()) return fail(ROSTER_E_INVALID_ARGUMENT, "tag index out of range");
  *tag = str(r->tags()->Get(static_cast<flatbuffers::uoffset_t>(index)));
  return ok();
}

int roster_service_label(const roster_service* service, size_t index, roster_string* key, roster_string* value) {
  auto* r = record_of(service);
  if (!r || !key || !value) return fail(ROSTER_E_INVALID_ARGUMENT, "service, key and value must not be NULL");
  if (!r->labels() || index >= r->labels()->size()) return fail(ROSTER_E_INVALID_ARGUMENT, "label index out of range");
  auto* l = r->labels()->Get(static_cast<flatbuffers::uoffset_t>(index));
  *key = str(l->key());
  *value = str(l->value());
  return ok();
}

int roster_service_dependency(const roster_service* service, size_t index, roster_string* service_name,
                              roster_string* range) {
  auto* r = record_of(service);
  if (!r || !service_name || !range) return fail(ROSTER_E_INVALID_ARGUMENT, "arguments must not be NULL");
  if (!r->dependencies() || index >= r->dependencies()->size())
    return fail(ROSTER_E_INVALID_ARGUMENT, "dependency index out of range");
  auto* d = r->dependencies()->Get(static_cast<flatbuffers::uoffset_t>(index));
  *service_name = str(d->service());
  *range = str(d->range());
  return ok();
}

int roster_service_endpoint(const roster_service* service, size_t index, roster_string* method, roster_string* path,
                            roster_string* description) {
  auto* r = record_of(service);
  if (!r || !method || !path || !description) return fail(ROSTER_E_INVALID_ARGUMENT, "arguments must not be NULL");
  if (!r->endpoints() || index >= r->endpoints()->size())
    return fail(ROSTER_E_INVALID_ARGUMENT, "endpoint index out of range");
  auto* e = r->endpoints()->Get(static_cast<flatbuffers::uoffset_t>(index));
  *method = str(e->method());
  *path = str(e->path());
  *description = str(e->description());
  return ok();
}

int roster_instances_begin(const roster_view* view, const char* name, size_t name_len, const char* version,
                           size_t version_len, int filter, roster_instance_iter* iter) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "name and iter must not be NULL");
  return begin_instances(*v, std::string_view(name, name_len), version, version_len, filter, iter);
}

int roster_instances_next(roster_instance_iter* iter, roster_instance* out) {
  if (!iter || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "iter and out must not be NULL");
  auto* state = std::launder(reinterpret_cast<InstanceIterState*>(iter->opaque));
  if (state->at.done()) return 0;
  fill(*state->at, out);
  ++state->at;
  return 1;
}

int roster_instance_metadata(const roster_instance* instance, size_t index, roster_string* key, roster_string* value) {
  if (!instance || !instance->record || !key || !value)
    return fail(ROSTER_E_INVALID_ARGUMENT, "instance, key and value must not be NULL");
  auto* r = static_cast<const roster::wire::Instance*>(instance->record);
  if (!r->metadata() || index >= r->metadata()->size())
    return fail(ROSTER_E_INVALID_ARGUMENT, "metadata index out of range");
  auto* l = r->metadata()->Get(static_cast<flatbuffers::uoffset_t>(index));
  *key = str(l->key());
  *value = str(l->value());
  return ok();
}

namespace {
int start_list(roster_service_iter* iter, roster::VersionList list) {
  iter->opaque[0] = kIterMagic;
  auto* state = new (&iter->opaque[1]) ServiceIterState{list, list.begin()};
  state->at = state->list.begin();  // the iterator must point into the stored list, not the argument
  return ok();
}
}  // namespace

int roster_by_team(const roster_view* view, const char* team, size_t team_len, roster_service_iter* iter) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!team || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "team and iter must not be NULL");
  return guarded([&] { return start_list(iter, v->by_team(std::string_view(team, team_len))); });
}

int roster_by_tag(const roster_view* view, const char* tag, size_t tag_len, roster_service_iter* iter) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!tag || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "tag and iter must not be NULL");
  return guarded([&] { return start_list(iter, v->by_tag(std::string_view(tag, tag_len))); });
}

int roster_by_stage(const roster_view* view, int stage, roster_service_iter* iter) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!iter || stage < ROSTER_PROPOSED || stage > ROSTER_RETIRED)
    return fail(ROSTER_E_INVALID_ARGUMENT, "iter must not be NULL and stage must be a roster_stage");
  return guarded([&] { return start_list(iter, v->by_stage(static_cast<roster::wire::LifecycleStage>(stage))); });
}

int roster_service_iter_next(roster_service_iter* iter, roster_service* out) {
  if (!iter || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "iter and out must not be NULL");
  if (iter->opaque[0] != kIterMagic) return fail(ROSTER_E_CLOSED, "the iterator was not started");
  auto* state = std::launder(reinterpret_cast<ServiceIterState*>(&iter->opaque[1]));
  if (state->at == state->list.end()) return 0;
  fill(*state->at, out);
  ++state->at;
  return 1;
}

int roster_dependencies(const roster_view* view, const char* name, size_t name_len, const char* version,
                        size_t version_len, int depth, roster_dependency_iter** iter) {
  if (iter) *iter = nullptr;
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "name and iter must not be NULL");
  return guarded([&] {
    *iter =
        new roster_dependency_iter{dependencies_of(*v, std::string_view(name, name_len), version, version_len, depth)};
    return ok();
  });
}

int roster_dependency_next(roster_dependency_iter* iter, roster_dependency* out) {
  if (!iter || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "iter and out must not be NULL");
  if (iter->next == iter->items.size()) return 0;
  const roster::Dependency& d = iter->items[iter->next++];
  *out = roster_dependency{};
  fill(d.from, &out->from);
  out->service = str(d.service);
  out->range = str(d.range);
  out->resolved = d.resolved.has_value();
  if (d.resolved) fill(*d.resolved, &out->target);
  return 1;
}

void roster_dependency_iter_free(roster_dependency_iter* iter) { delete iter; }

int roster_dependents(const roster_view* view, const char* name, size_t name_len, int depth, roster_service_list** list) {
  if (list) *list = nullptr;
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !list) return fail(ROSTER_E_INVALID_ARGUMENT, "name and list must not be NULL");
  return guarded([&] {
    *list = new roster_service_list{v->dependents(std::string_view(name, name_len), depth_of(depth))};
    return ok();
  });
}

int roster_service_list_next(roster_service_list* list, roster_service* out) {
  if (!list || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "list and out must not be NULL");
  if (list->next == list->items.size()) return 0;
  fill(list->items[list->next++], out);
  return 1;
}

void roster_service_list_free(roster_service_list* list) { delete list; }

// --- federation -------------------------------------------------------------------------------

int roster_view_registries(const roster_view* view, roster_registry* out, size_t capacity, size_t* count) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!count || (!out && capacity))
    return fail(ROSTER_E_INVALID_ARGUMENT, "count (and out, with a capacity) must not be NULL");
  return guarded([&] {
    const auto registries = v->registries();
    *count = registries.size();
    for (size_t i = 0; i < registries.size() && i < capacity; ++i) {
      const roster::RegistryState& r = registries[i];
      out[i] = roster_registry{};
      out[i].name = str(r.name);
      out[i].revision = r.revision;
      out[i].store = str(r.store);
      out[i].staleness_ms =
          r.staleness == std::chrono::milliseconds::max() ? UINT64_MAX : static_cast<uint64_t>(r.staleness.count());
    }
    return ok();
  });
}

int roster_where(const roster_view* view, const char* name, size_t name_len, roster_string* registries, size_t capacity,
                 size_t* count) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!name || !count || (!registries && capacity))
    return fail(ROSTER_E_INVALID_ARGUMENT, "name, count (and registries, with a capacity) must not be NULL");
  return guarded([&] {
    const auto found = v->where(std::string_view(name, name_len));
    *count = found.size();
    for (size_t i = 0; i < found.size() && i < capacity; ++i) registries[i] = str(found[i]);
    return ok();
  });
}

int roster_service_registry(const roster_view* view, const roster_service* service, roster_string* registry) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!service || !service->record || !registry)
    return fail(ROSTER_E_INVALID_ARGUMENT, "service (a filled one) and registry must not be NULL");
  return guarded([&] {
    // The record is the registry's own (a plain lookup reads the serving registry's records): the
    // registry holding this very record at this version is where it came from. Only the service's
    // name and version are read, from the struct, so a record of another view is never touched.
    const std::string_view name(service->name.data, service->name.len);
    const std::string_view version(service->version.data, service->version.len);
    for (const std::string_view r : v->where(name)) {
      auto svc = r.empty() ? v->service(name, version) : v->in(r).service(name, version);
      if (svc && &svc->record() == service->record) {
        *registry = str(r);
        return ok();
      }
    }
    return fail(ROSTER_E_NOT_FOUND, "the record of \"" + std::string(name) + "\" version \"" + std::string(version) +
                                        "\" is not one of this view's");
  });
}

int roster_service_get_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                          size_t name_len, roster_service* out) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!registry || !name || !out) return fail(ROSTER_E_INVALID_ARGUMENT, "registry, name and out must not be NULL");
  std::optional<roster::InRegistry> in;
  if (int rc = find_registry(*v, registry, registry_len, in)) return rc;
  return get_service(*in, std::string_view(name, name_len), nullptr, 0, out, in_text(registry, registry_len));
}

int roster_service_get_version_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                                  size_t name_len, const char* version, size_t version_len, roster_service* out) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!registry || !name || !version || !out)
    return fail(ROSTER_E_INVALID_ARGUMENT, "registry, name, version and out must not be NULL");
  std::optional<roster::InRegistry> in;
  if (int rc = find_registry(*v, registry, registry_len, in)) return rc;
  return get_service(*in, std::string_view(name, name_len), version, version_len, out, in_text(registry, registry_len));
}

int roster_instances_begin_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                              size_t name_len, const char* version, size_t version_len, int filter,
                              roster_instance_iter* iter) {
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!registry || !name || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "registry, name and iter must not be NULL");
  std::optional<roster::InRegistry> in;
  if (int rc = find_registry(*v, registry, registry_len, in)) return rc;
  return begin_instances(*in, std::string_view(name, name_len), version, version_len, filter, iter);
}

int roster_dependencies_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                           size_t name_len, const char* version, size_t version_len, int depth,
                           roster_dependency_iter** iter) {
  if (iter) *iter = nullptr;
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!registry || !name || !iter) return fail(ROSTER_E_INVALID_ARGUMENT, "registry, name and iter must not be NULL");
  std::optional<roster::InRegistry> in;
  if (int rc = find_registry(*v, registry, registry_len, in)) return rc;
  return guarded([&] {
    *iter =
        new roster_dependency_iter{dependencies_of(*in, std::string_view(name, name_len), version, version_len, depth)};
    return ok();
  });
}

int roster_dependents_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                         size_t name_len, int depth, roster_service_list** list) {
  if (list) *list = nullptr;
  View* v;
  if (int rc = check_view(view, v)) return rc;
  if (!registry || !name || !list) return fail(ROSTER_E_INVALID_ARGUMENT, "registry, name and list must not be NULL");
  std::optional<roster::InRegistry> in;
  if (int rc = find_registry(*v, registry, registry_len, in)) return rc;
  return guarded([&] {
    *list = new roster_service_list{in->dependents(std::string_view(name, name_len), depth_of(depth))};
    return ok();
  });
}

const char* roster_strerror(int code) {
  switch (code) {
    case ROSTER_OK: return "ok";
    case ROSTER_E_NO_ARENA: return "no roster arena of that name (is roster-agent running?)";
    case ROSTER_E_NOT_FOUND: return "not found";
    case ROSTER_E_LAYOUT: return "the arena was written by an incompatible roster version";
    case ROSTER_E_IO: return "the arena could not be mapped";
    case ROSTER_E_INVALID_ARGUMENT: return "invalid argument";
    case ROSTER_E_EVICTED: return "the view was held too long and was revoked";
    case ROSTER_E_CLOSED: return "the client or view is closed";
    case ROSTER_E_NO_SLOT: return "every reader slot of the arena is taken";
    case ROSTER_E_TIMEOUT: return "timed out";
    case ROSTER_E_INTERNAL: return "internal error";
  }
  return "unknown error code";
}

const char* roster_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
