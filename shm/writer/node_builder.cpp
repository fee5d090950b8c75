#include "node_builder.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "hash.hpp"
#include "roster/wire/identifiers.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::shm {

using namespace detail;

namespace {

bool is_up(uint8_t health) { return health == static_cast<uint8_t>(wire::Health::Up); }

// The arena's entries for `slice`'s members, in order.
InstanceEntry* fill_entries(const VersionState& v, const SliceState& slice, InstanceEntry* out) {
  for (uint32_t m : slice.members) {
    const InstanceState& is = v.instances[m];
    *out++ = InstanceEntry{is.record, is.bytes, is.port, is.weight, is.health, {}};
  }
  return out;
}

}  // namespace

bool NodeBuilder::write_slices(ServiceState& s, uint64_t generation) {
  size_t total = 0;
  for (auto& v : s.versions) total += v.live_instances();
  // Few instances lie inside the node: copying them with it is bounded, and a reader follows one
  // block. Otherwise each slice has a block of its own and only the changed ones are rewritten.
  const bool inline_instances = total <= kSliceCapacity;
  for (auto& v : s.versions)
    for (auto& slice : v.slices) {
      const bool own_block = !inline_instances && !slice.members.empty();
      if (slice.block && (!own_block || slice.changed_at == generation)) {
        heap_.retire(slice.block, generation);
        slice.block = 0;
      }
      if (own_block && !slice.block) {
        slice.block = heap_.allocate(slice.members.size() * sizeof(InstanceEntry));
        fill_entries(v, slice, heap_.ptr<InstanceEntry>(slice.block));
      }
    }
  return inline_instances;
}

// Writes a new immutable node for `s` at `generation` and links it at the chain head.
void NodeBuilder::write_node(ServiceState& s, uint64_t generation) {
  const bool inline_instances = write_slices(s, generation);
  size_t refs = 0, inline_entries = 0, deps = 0, strings = s.name.size();
  for (auto& v : s.versions) {
    if (inline_instances) {
      bool has[2] = {false, false};
      for (auto& slice : v.slices) has[slice.healthy] |= !slice.members.empty();
      refs += has[0] + has[1];
      inline_entries += v.live_instances();
    } else {
      for (auto& slice : v.slices) refs += !slice.members.empty();
    }
    deps += v.dependencies.size();
    for (std::string_view target : v.resolved) strings += target.size();
  }
  const size_t arrays_offset = (sizeof(ServiceNode) + s.name.size() + 7) & ~size_t{7};
  const size_t inline_offset = arrays_offset + s.versions.size() * sizeof(VersionEntry) + refs * sizeof(SliceRef) +
                               deps * sizeof(DependencyEdge);
  const size_t fixed = inline_offset + inline_entries * sizeof(InstanceEntry);
  const size_t bytes = fixed + strings - s.name.size();
  const uint64_t offset = heap_.allocate(bytes);
  auto* node = heap_.ptr<ServiceNode>(offset);
  node->generation = generation;
  node->older.store(s.node, std::memory_order_relaxed);
  node->version_count = static_cast<uint32_t>(s.versions.size());
  node->slice_count = static_cast<uint32_t>(refs);
  node->dependency_count = static_cast<uint32_t>(deps);
  node->arrays_offset = static_cast<uint32_t>(arrays_offset);
  node->node_bytes = bytes;
  node->name_offset = sizeof(ServiceNode);
  node->name_bytes = static_cast<uint16_t>(s.name.size());  // validate() bounds names
  node->registry = registry_;
  node->key = static_cast<uint16_t>(slot_key_);
  std::memcpy(reinterpret_cast<char*>(node) + sizeof(ServiceNode), s.name.data(), s.name.size());
  char* text = reinterpret_cast<char*>(node) + fixed;  // resolved version strings
  auto put_string = [&](std::string_view sv) {
    std::memcpy(text, sv.data(), sv.size());
    const uint32_t at_offset = static_cast<uint32_t>(text - reinterpret_cast<char*>(node));
    text += sv.size();
    return at_offset;
  };

  auto* versions = const_cast<VersionEntry*>(node->versions());
  auto* dir = const_cast<SliceRef*>(node->slices());
  auto* edges = const_cast<DependencyEdge*>(node->dependencies());
  auto* inline_at = reinterpret_cast<InstanceEntry*>(reinterpret_cast<char*>(node) + inline_offset);
  uint32_t ref_index = 0, dep_index = 0;
  for (size_t i = 0; i < s.versions.size(); ++i) {
    VersionState& v = s.versions[i];
    VersionEntry& e = versions[i];
    e = VersionEntry{};
    e.record = v.record;
    e.record_bytes = v.bytes;
    e.stage = v.stage;
    e.prerelease = v.prerelease;
    // Healthy slices first, so the healthy filter is a prefix of the version's directory.
    e.slice_begin = ref_index;
    for (bool healthy : {true, false}) {
      if (inline_instances) {
        InstanceEntry* run = inline_at;
        for (auto& slice : v.slices)
          if (slice.healthy == healthy) inline_at = fill_entries(v, slice, inline_at);
        if (inline_at != run)
          dir[ref_index++] = SliceRef{heap_.offset_of(run), static_cast<uint32_t>(inline_at - run), healthy, {}};
      } else {
        for (auto& slice : v.slices)
          if (slice.healthy == healthy && !slice.members.empty())
            dir[ref_index++] = SliceRef{slice.block, static_cast<uint32_t>(slice.members.size()), healthy, {}};
      }
      if (healthy) e.healthy_slices = ref_index - e.slice_begin;
    }
    e.slice_count = ref_index - e.slice_begin;
    e.dependency_begin = dep_index;
    e.dependency_count = static_cast<uint32_t>(v.dependencies.size());
    for (size_t d = 0; d < v.dependencies.size(); ++d) {
      const std::string_view target = v.resolved[d];
      DependencyEdge& edge = edges[dep_index++];
      edge = DependencyEdge{};
      edge.service_hash = key_hash(v.dependencies[d], slot_key_);
      edge.dependency_index = static_cast<uint32_t>(d);
      edge.resolved_version = target.empty() ? kNone : put_string(target);
      edge.resolved_version_bytes = static_cast<uint32_t>(target.size());
    }
  }
  node->latest = s.latest;
  node->latest_any = s.latest_any;

  if (s.node) heap_.retire(s.node, generation, offset);
  s.node = offset;
  tables_.link_service_node(s.slot, offset, generation);
}

// The service's state, claiming a table slot for a new name. Every service that ever had a slot
// stays in `services` (a removed one keeps a tombstone node).
ServiceState& NodeBuilder::service(std::string_view name) {
  auto it = services.find(name);
  if (it != services.end()) return it->second;
  ServiceState s;
  s.name = std::string(name);
  s.hash = key_hash(name, slot_key_);
  s.slot = tables_.claim_service_slot(s.hash);
  return services.emplace(std::string(name), std::move(s)).first->second;
}

// The instance `id` of `v`, or null. Versions with many instances keep an index by id.
InstanceState* NodeBuilder::find_instance(VersionState& v, std::string_view id) {
  if (v.by_id) {
    auto it = v.by_id->find(id);
    return it == v.by_id->end() ? nullptr : &v.instances[it->second];
  }
  for (auto& i : v.instances)
    if (i.slice != kNone && i.id == id) return &i;
  return nullptr;
}
void NodeBuilder::index_instances(VersionState& v) {
  v.by_id = std::make_unique<ByName<uint32_t>>();
  v.by_id->reserve(v.instances.size());
  for (uint32_t k = 0; k < v.instances.size(); ++k)
    if (v.instances[k].slice != kNone) v.by_id->emplace(v.instances[k].id, k);
}
uint32_t NodeBuilder::add_instance(VersionState& v, std::string_view id) {
  uint32_t slot;
  if (!v.free_instances.empty()) {
    slot = v.free_instances.back();
    v.free_instances.pop_back();
  } else {
    slot = static_cast<uint32_t>(v.instances.size());
    v.instances.emplace_back();
  }
  v.instances[slot].id = std::string(id);
  // index_instances() skips the new slot (not in a slice yet): it is added here either way.
  if (!v.by_id && v.live_instances() > kIndexInstancesAbove) index_instances(v);
  if (v.by_id) v.by_id->emplace(v.instances[slot].id, slot);
  return slot;
}
void NodeBuilder::remove_instance(VersionState& v, uint32_t slot, uint64_t generation) {
  leave_slice(v, slot, generation);
  if (v.by_id) v.by_id->erase(v.instances[slot].id);
  v.instances[slot] = InstanceState{};
  v.free_instances.push_back(slot);
}

void NodeBuilder::join_slice(VersionState& v, uint32_t slot, uint64_t generation) {
  InstanceState& is = v.instances[slot];
  const bool healthy = is_up(is.health);
  uint32_t& filling = v.filling[healthy];
  if (filling == kNone || v.slices[filling].members.size() >= kSliceCapacity) {
    filling = kNone;
    while (filling == kNone && !v.free_slices.empty()) {
      const uint32_t k = v.free_slices.back();
      v.free_slices.pop_back();
      if (v.slices[k].members.empty()) filling = k;
    }
    if (filling == kNone) {
      filling = static_cast<uint32_t>(v.slices.size());
      v.slices.emplace_back();
    }
    v.slices[filling].healthy = healthy;
  }
  SliceState& slice = v.slices[filling];
  slice.members.push_back(slot);
  slice.changed_at = generation;
  is.slice = filling;
}
void NodeBuilder::leave_slice(VersionState& v, uint32_t slot, uint64_t generation) {
  InstanceState& is = v.instances[slot];
  SliceState& slice = v.slices[is.slice];
  slice.members.erase(std::find(slice.members.begin(), slice.members.end(), slot));
  slice.changed_at = generation;
  uint32_t& filling = v.filling[slice.healthy];
  if (slice.members.empty() && filling != is.slice)
    v.free_slices.push_back(is.slice);
  else if (filling == kNone || v.slices[filling].members.size() >= kSliceCapacity)
    filling = is.slice;  // new instances fill the room this left
  is.slice = kNone;
}

void NodeBuilder::apply(const Batch& batch, uint64_t generation) {
  // Services whose node must be rewritten, each listed once, by its mark.
  std::vector<ServiceState*>& touched = written_;
  touched.clear();
  auto touch = [&](ServiceState& s) {
    if (s.touched_at != generation) {
      s.touched_at = generation;
      touched.push_back(&s);
    }
  };

  // A snapshot brings many services at once: room for them up front, not rehash after rehash.
  services.reserve(services.size() + batch.upsert_versions.size());
  tables_.reserve(batch.upsert_versions.size() + batch.upsert_contracts.size());
  // Each kind's records are copied in one pass (ArenaHeap::copy_records), before they are indexed.
  const std::vector<uint64_t> version_records = heap_.copy_records(batch.upsert_versions);
  ServiceState* last = nullptr;  // a snapshot lists a service's versions together
  for (size_t i = 0; i < batch.upsert_versions.size(); ++i) {
    const auto bytes = batch.upsert_versions[i];
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    const std::string_view name = v->name()->string_view(), version = v->version()->string_view();
    if (!last || last->name != name) last = &service(name);
    ServiceState& s = *last;
    VersionState* existing = s.find(version);
    const uint64_t record = version_records[i];
    tables_.index_version(*v, record, generation, registry_, slot_key_);
    if (existing) {
      tables_.remove_all(existing->record, generation);
      heap_.retire(existing->record, generation);
    } else {
      // Placed where the service's resolution (validated to be in the batch) says, below.
      existing = &s.versions.emplace_back();
      existing->version = std::string(version);
    }
    existing->record = record;
    existing->bytes = static_cast<uint32_t>(bytes.size());
    existing->stage = static_cast<uint8_t>(v->stage());
    existing->dependencies.clear();
    // Names viewed in the arena's copy of the record, not the batch's.
    const auto* stored = flatbuffers::GetRoot<wire::ServiceVersion>(heap_.ptr<uint8_t>(record));
    if (stored->dependencies()) {
      existing->dependencies.reserve(stored->dependencies()->size());
      for (auto* d : *stored->dependencies()) existing->dependencies.push_back(d->service()->string_view());
    }
    touch(s);
  }

  for (auto& key : batch.remove_versions) {
    auto it = services.find(key.service);
    VersionState* v = it == services.end() ? nullptr : it->second.find(key.version);
    if (!v) continue;  // removing what is not there changes nothing
    tables_.remove_all(v->record, generation);
    heap_.retire(v->record, generation);
    for (auto& inst : v->instances)
      if (inst.slice != kNone) heap_.retire(inst.record, generation);
    for (auto& slice : v->slices)
      if (slice.block) heap_.retire(slice.block, generation);
    auto& versions = it->second.versions;
    versions.erase(versions.begin() + (v - versions.data()));
    touch(it->second);
  }

  // The server's order, resolutions and latest, for every service whose versions changed and
  // every one whose dependencies resolve differently now.
  for (auto bytes : batch.resolutions) {
    auto* r = flatbuffers::GetRoot<wire::ServiceResolution>(bytes.data());
    auto it = services.find(r->name()->string_view());
    if (it == services.end() && (!r->versions() || r->versions()->size() == 0)) continue;  // nothing to hold
    ServiceState& s = it == services.end() ? service(r->name()->string_view()) : it->second;
    adopt_resolution(s, bytes);
    touch(s);
  }

  // Instances of one version usually arrive together (a snapshot is ordered by key): the last
  // version found is tried first.
  ServiceState* last_service = nullptr;
  VersionState* last_version = nullptr;
  const std::vector<uint64_t> instance_records = heap_.copy_records(batch.upsert_instances);
  for (size_t i = 0; i < batch.upsert_instances.size(); ++i) {
    const auto bytes = batch.upsert_instances[i];
    auto* inst = flatbuffers::GetRoot<wire::Instance>(bytes.data());
    const std::string_view name = inst->service()->string_view(), version = inst->version()->string_view();
    if (!last_version || last_service->name != name || last_version->version != version) {
      auto it = services.find(name);
      last_service = it == services.end() ? nullptr : &it->second;
      last_version = last_service ? last_service->find(version) : nullptr;
      if (!last_version) throw std::logic_error("validate() let an instance of an unknown version through");
    }
    VersionState& v = *last_version;
    const uint64_t record = instance_records[i];
    InstanceState* same = find_instance(v, inst->id()->string_view());
    uint32_t slot;
    if (same) {
      heap_.retire(same->record, generation);
      slot = static_cast<uint32_t>(same - v.instances.data());
    } else {
      slot = add_instance(v, inst->id()->string_view());  // the id is copied only for a new instance
    }
    InstanceState& is = v.instances[slot];
    const auto health = static_cast<uint8_t>(inst->health());
    if (is.slice != kNone && is_up(is.health) != is_up(health)) leave_slice(v, slot, generation);
    is.record = record;
    is.bytes = static_cast<uint32_t>(bytes.size());
    is.port = inst->port();
    is.weight = inst->weight();
    is.health = health;
    if (is.slice == kNone)
      join_slice(v, slot, generation);
    else
      v.slices[is.slice].changed_at = generation;
    touch(*last_service);
  }

  for (auto& key : batch.remove_instances) {
    auto it = services.find(key.service);
    VersionState* v = it == services.end() ? nullptr : it->second.find(key.version);
    InstanceState* same = v ? find_instance(*v, key.id) : nullptr;
    if (!same) continue;
    heap_.retire(same->record, generation);
    remove_instance(*v, static_cast<uint32_t>(same - v->instances.data()), generation);
    touch(it->second);
  }

  const std::vector<uint64_t> contract_records = heap_.copy_records(batch.upsert_contracts);
  for (size_t i = 0; i < batch.upsert_contracts.size(); ++i) {
    const auto bytes = batch.upsert_contracts[i];
    auto* c = flatbuffers::GetRoot<wire::Contract>(bytes.data());
    auto key = std::make_tuple(c->consumer()->str(), c->consumer_version()->str(), c->provider()->str());
    const uint64_t record = contract_records[i];
    if (auto it = contracts.find(key); it != contracts.end()) {
      tables_.remove_all(it->second.record, generation);
      heap_.retire(it->second.record, generation);
    }
    contracts[key] = {record, static_cast<uint32_t>(bytes.size()), c->provider()->str(), c->consumer()->str()};
    tables_.index_contract(*c, record, generation, registry_);
  }
  for (auto& key : batch.remove_contracts) {
    auto it = contracts.find(std::make_tuple(key.consumer, key.consumer_version, key.provider));
    if (it == contracts.end()) continue;
    tables_.remove_all(it->second.record, generation);
    heap_.retire(it->second.record, generation);
    contracts.erase(it);
  }
  tables_.flush(generation);

  for (ServiceState* s : touched) write_node(*s, generation);
}

void NodeBuilder::adopt_resolution(ServiceState& s, std::span<const uint8_t> resolution) {
  s.resolution.assign(resolution.begin(), resolution.end());
  // Views into the service's own copy, which stays until the next resolution replaces them all.
  auto* r = flatbuffers::GetRoot<wire::ServiceResolution>(s.resolution.data());
  const uint32_t count = r->versions() ? r->versions()->size() : 0;
  auto listed = [&](uint32_t k) { return r->versions()->Get(k)->version()->string_view(); };
  // Usually the versions are in that order already (a snapshot lists them so; a new version
  // is most often the highest): they are moved only when not.
  bool in_order = true;
  for (uint32_t k = 0; k < count && in_order; ++k) in_order = s.versions[k].version == listed(k);
  if (!in_order) {
    ByName<uint32_t> at;  // version -> its index in s.versions now
    at.reserve(count);
    for (uint32_t i = 0; i < count; ++i) at.emplace(s.versions[i].version, i);
    std::vector<VersionState> ordered(count);
    for (uint32_t k = 0; k < count; ++k) ordered[k] = std::move(s.versions[at.find(listed(k))->second]);
    s.versions = std::move(ordered);
  }
  for (uint32_t k = 0; k < count; ++k) {
    auto* rv = r->versions()->Get(k);
    VersionState& v = s.versions[k];
    v.prerelease = rv->prerelease();
    v.resolved.clear();
    if (rv->resolved())
      for (auto* target : *rv->resolved()) v.resolved.push_back(target->string_view());
  }
  s.latest = r->latest() < count ? r->latest() : kNone;
  s.latest_any = r->latest_any() < count ? r->latest_any() : kNone;
}

namespace {

Unexpected<Error> invalid_resolution(std::string_view service, const std::string& what) {
  return fail(ErrorKind::Invalid, "invalid_resolution", "resolution of service " + std::string(service) + ": " + what);
}

}  // namespace

// The batch's resolutions against the registry as the batch leaves it: one for every service
// whose versions the batch changes; each lists exactly the service's versions, each once, with
// one resolved version per declared dependency, naming a version of that dependency's service
// (or none), and latest pointers inside the list. They come from the server, across a trust
// boundary: what does not hold is refused before anything changes.
Result<void> NodeBuilder::validate_resolutions(const Batch& batch, const UpsertedVersions& upserted,
                                               const RemovedVersions& removed) const {
  if (batch.upsert_versions.empty() && batch.remove_versions.empty() && batch.resolutions.empty()) return {};
  auto registered = [&](std::string_view service, std::string_view version) -> const VersionState* {
    auto it = services.find(service);
    return it == services.end() ? nullptr : it->second.find(version);
  };
  auto exists_after = [&](std::string_view service, std::string_view version) {
    return (removed.empty() || !removed.count({service, version})) &&
           (upserted.count({service, version}) || registered(service, version));
  };
  // Services whose versions the batch changes, or that it resolves: how many versions they will
  // have, and whether a resolution of them was seen. Keys view the batch.
  struct Changed {
    size_t versions = 0;
    bool resolved = false;
  };
  std::unordered_map<std::string_view, Changed> changed;
  changed.reserve(batch.resolutions.size());
  auto changed_entry = [&](std::string_view service) -> Changed& {
    auto it = changed.find(service);
    if (it != changed.end()) return it->second;
    auto s = services.find(service);
    return changed.emplace(service, Changed{s == services.end() ? 0 : s->second.versions.size()}).first->second;
  };
  for (auto& [key, record] : upserted) changed_entry(key.first).versions += !registered(key.first, key.second);
  for (auto& key : removed)
    if (upserted.count(key) || registered(key.first, key.second)) --changed_entry(key.first).versions;

  for (auto bytes : batch.resolutions) {
    auto* r = flatbuffers::GetRoot<wire::ServiceResolution>(bytes.data());
    const std::string_view name = r->name()->string_view();
    Changed& mark = changed_entry(name);
    if (mark.resolved) return invalid_resolution(name, "the batch resolves it twice");
    mark.resolved = true;
    const uint32_t count = r->versions() ? r->versions()->size() : 0;
    std::unordered_set<std::string_view> listed;  // for long lists; short ones are scanned
    for (uint32_t k = 0; k < count; ++k) {
      auto* rv = r->versions()->Get(k);
      const std::string_view version = rv->version()->string_view();
      auto where = [&] { return "versions[" + std::to_string(k) + "] (" + std::string(version) + ")"; };
      bool twice = false;
      if (count <= 16) {
        for (uint32_t j = 0; j < k && !twice; ++j) twice = r->versions()->Get(j)->version()->string_view() == version;
      } else {
        twice = !listed.insert(version).second;
      }
      if (twice) return invalid_resolution(name, where() + " is listed twice");
      if (!exists_after(name, version)) return invalid_resolution(name, where() + " is not registered");
      // The record the version will have: the batch's, or the one the arena holds.
      auto up = upserted.find({name, version});
      const wire::ServiceVersion* record = up == upserted.end() ? nullptr : up->second;
      const VersionState* held = record ? nullptr : registered(name, version);
      const size_t declared = record ? (record->dependencies() ? record->dependencies()->size() : 0) : held->dependencies.size();
      auto dependency = [&](uint32_t d) {
        return record ? record->dependencies()->Get(d)->service()->string_view() : held->dependencies[d];
      };
      const uint32_t resolved = rv->resolved() ? rv->resolved()->size() : 0;
      if (resolved != declared)
        return invalid_resolution(name, where() + " resolves " + std::to_string(resolved) +
                                            " dependencies; its record declares " + std::to_string(declared));
      for (uint32_t d = 0; d < resolved; ++d) {
        const std::string_view target = rv->resolved()->Get(d)->string_view();
        if (!target.empty() && !exists_after(dependency(d), target))
          return invalid_resolution(name, where() + ".resolved[" + std::to_string(d) + "] names " +
                                              std::string(dependency(d)) + "@" + std::string(target) +
                                              ", which is not registered");
      }
    }
    if (count != mark.versions)
      return invalid_resolution(name, "lists " + std::to_string(count) + " versions; the service has " +
                                          std::to_string(mark.versions));
    for (uint32_t index : {r->latest(), r->latest_any()})
      if (index != kNone && index >= count)
        return invalid_resolution(name, "latest index " + std::to_string(index) + " is past its " + std::to_string(count) +
                                            " versions");
  }
  for (auto& [name, entry] : changed)
    if (!entry.resolved)
      return fail(ErrorKind::Invalid, "missing_resolution",
                  "the batch changes the versions of service " + std::string(name) + " but carries no resolution of it");
  return {};
}

Result<void> NodeBuilder::validate(const Batch& batch) const {
  // The versions the batch upserts (with their records) and removes, as views into the batch.
  UpsertedVersions upserted;
  RemovedVersions removed;
  upserted.reserve(batch.upsert_versions.size());
  for (auto bytes : batch.upsert_versions) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    // Verification does not check enum values; the stage indexes the stage lists.
    if (static_cast<size_t>(v->stage()) >= kStageCount)
      return fail(ErrorKind::Invalid, "invalid_stage",
                  "service " + v->name()->str() + "@" + v->version()->str() + ": unknown lifecycle stage " +
                      std::to_string(static_cast<int>(v->stage())));
    // A node keeps a name's length in 16 bits; the server never sends longer names.
    if (v->name()->size() > wire::kMaxIdentifierBytes)
      return fail(ErrorKind::Invalid, "invalid_name",
                  "a service name of " + std::to_string(v->name()->size()) + " bytes (at most " +
                      std::to_string(wire::kMaxIdentifierBytes) + ")");
    upserted[{v->name()->string_view(), v->version()->string_view()}] = v;
  }
  for (auto& k : batch.remove_versions) removed.insert({k.service, k.version});
  VersionName last{};  // instances of one version usually come together: checked once
  for (auto bytes : batch.upsert_instances) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(bytes.data());
    const VersionName key{inst->service()->string_view(), inst->version()->string_view()};
    if (key == last && last.first.data()) continue;
    auto it = services.find(key.first);
    const bool registered = it != services.end() && it->second.find(key.second);
    if (removed.count(key) || (!registered && !upserted.count(key)))
      return fail(ErrorKind::Invalid, "unknown_version",
                  "instance " + inst->id()->str() + " names " + std::string(key.first) + "@" + std::string(key.second) +
                      ", which is not registered");
    last = key;
  }
  return validate_resolutions(batch, upserted, removed);
}

NodeBuilder::Replacement NodeBuilder::replacing(const Batch& full) const {
  Replacement replacement{full, {}};
  Batch& out = replacement.batch;
  out.replaces_registry = false;
  // What the full state keeps, as views into it.
  std::unordered_set<VersionName, VersionNameHash> versions;
  std::unordered_set<std::string_view> resolved;
  std::set<std::tuple<std::string_view, std::string_view, std::string_view>> instances, kept_contracts;
  for (auto bytes : full.upsert_versions) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    versions.insert({v->name()->string_view(), v->version()->string_view()});
  }
  for (auto bytes : full.upsert_instances) {
    auto* i = flatbuffers::GetRoot<wire::Instance>(bytes.data());
    instances.insert({i->service()->string_view(), i->version()->string_view(), i->id()->string_view()});
  }
  for (auto bytes : full.upsert_contracts) {
    auto* c = flatbuffers::GetRoot<wire::Contract>(bytes.data());
    kept_contracts.insert({c->consumer()->string_view(), c->consumer_version()->string_view(), c->provider()->string_view()});
  }
  for (auto bytes : full.resolutions) resolved.insert(flatbuffers::GetRoot<wire::ServiceResolution>(bytes.data())->name()->string_view());
  for (auto& [name, s] : services) {
    for (auto& v : s.versions) {
      if (!versions.count({name, v.version})) {
        out.remove_versions.push_back({name, v.version});  // its instances go with it
        continue;
      }
      for (auto& i : v.instances)
        if (i.slice != kNone && !instances.count({name, v.version, i.id})) out.remove_instances.push_back({name, v.version, i.id});
    }
    // A service the full state does not resolve has no versions in it (else validate() refuses
    // the batch): its empty resolution is what the server would send.
    if (!s.versions.empty() && !resolved.count(name)) {
      flatbuffers::FlatBufferBuilder fbb;
      fbb.Finish(wire::CreateServiceResolution(fbb, fbb.CreateString(name)));
      replacement.resolutions.emplace_back(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
    }
  }
  for (auto& owned : replacement.resolutions) out.resolutions.emplace_back(owned);
  for (auto& [key, c] : contracts)
    if (!kept_contracts.count({std::get<0>(key), std::get<1>(key), std::get<2>(key)}))
      out.remove_contracts.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key)});
  return replacement;
}

void NodeBuilder::visit_records(const std::function<void(ArenaWriter::RecordType, std::span<const uint8_t>)>& visit) const {
  auto bytes = [&](uint64_t offset, uint32_t size) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(heap_.base() + offset), size);
  };
  for (auto& [name, service] : services) {
    if (!service.versions.empty())
      visit(ArenaWriter::RecordType::Resolution, {service.resolution.data(), service.resolution.size()});
    for (auto& v : service.versions) {
      visit(ArenaWriter::RecordType::Version, bytes(v.record, v.bytes));
      for (auto& inst : v.instances)
        if (inst.slice != kNone) visit(ArenaWriter::RecordType::Instance, bytes(inst.record, inst.bytes));
    }
  }
  for (auto& [key, c] : contracts) visit(ArenaWriter::RecordType::Contract, bytes(c.record, c.bytes));
}

}  // namespace roster::shm
