#include "node_builder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "hash.hpp"
#include "roster/model/version_choice.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::shm {

using namespace detail;

void NodeBuilder::add_dependent(std::string_view target, ServiceState* dependent) {
  auto t = dependents.find(target);
  if (t == dependents.end()) t = dependents.emplace(std::string(target), std::unordered_map<ServiceState*, int>()).first;
  ++t->second[dependent];
}
void NodeBuilder::drop_dependent(std::string_view target, ServiceState* dependent) {
  auto t = dependents.find(target);
  if (t == dependents.end()) return;
  if (auto d = t->second.find(dependent); d != t->second.end() && --d->second == 0) t->second.erase(d);
}

const semver::Range* NodeBuilder::range_of(std::string_view text) {
  auto it = ranges.find(text);
  if (it == ranges.end()) it = ranges.emplace(std::string(text), nullptr).first;
  auto& slot = it->second;
  if (!slot) {
    auto parsed = semver::Range::parse(text);
    // Records were verified, but a range that does not parse simply resolves nothing.
    slot = std::make_unique<semver::Range>(parsed ? std::move(*parsed) : *semver::Range::parse("<0.0.0-0"));
  }
  return slot.get();
}

namespace {

wire::LifecycleStage stage_of(const VersionState& v) { return static_cast<wire::LifecycleStage>(v.stage); }

const semver::Version& version_of(const VersionState& v) { return v.parsed; }

// The version a choice made, or null.
template <class Choice>
const VersionState* chosen(const Choice& choice, const std::vector<VersionState>& versions) {
  return choice.chosen == versions.end() ? nullptr : &*choice.chosen;
}

// "Latest" among `versions` (ascending precedence), by the one rule; null when none.
const VersionState* latest(const std::vector<VersionState>& versions, bool every_stage) {
  return chosen(model::choose_latest(versions.begin(), versions.end(), stage_of, version_of, every_stage), versions);
}

}  // namespace

// The version of `service` that `range` chooses (roster/model/version_choice.hpp), or null.
const VersionState* NodeBuilder::resolve(std::string_view service, const semver::Range& range) {
  auto it = services.find(service);
  if (it == services.end()) return nullptr;
  const auto& versions = it->second.versions;
  return chosen(model::choose_version(versions.begin(), versions.end(), stage_of,
                                      [&](const VersionState& v) { return range.satisfies(v.parsed); }),
                versions);
}

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
  std::vector<const VersionState*> resolved;
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
    for (auto& [service, range] : v.dependencies) {
      resolved.push_back(resolve(service, *range));
      if (resolved.back()) strings += resolved.back()->version.size();
    }
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
  node->name_bytes = static_cast<uint32_t>(s.name.size());
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
    e.prerelease = v.parsed.is_prerelease();
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
      const VersionState* target = resolved[dep_index];
      DependencyEdge& edge = edges[dep_index++];
      edge = DependencyEdge{};
      edge.service_hash = key_hash(v.dependencies[d].first);
      edge.dependency_index = static_cast<uint32_t>(d);
      edge.resolved_version = target ? put_string(target->version) : kNone;
      edge.resolved_version_bytes = target ? static_cast<uint32_t>(target->version.size()) : 0;
    }
  }
  auto index_of = [&](const VersionState* v) { return v ? static_cast<uint32_t>(v - s.versions.data()) : kNone; };
  node->latest = index_of(latest(s.versions, false));
  node->latest_any = index_of(latest(s.versions, true));

  ServiceSlot& slot = tables_.service_slot(s.slot);
  if (s.node) heap_.retire(s.node, generation, offset);
  s.node = offset;
  // Release: a reader that loads the new head sees the node's contents, and the slices it points
  // at (written before it).
  heap_.store(slot.head, offset, std::memory_order_release);
}

// The service's state, claiming a table slot for a new name. Every service that ever had a slot
// stays in `services` (a removed one keeps a tombstone node).
ServiceState& NodeBuilder::service(std::string_view name) {
  auto it = services.find(name);
  if (it != services.end()) return it->second;
  ServiceState s;
  s.name = std::string(name);
  s.hash = key_hash(name);
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
  // Services whose node must be rewritten, and those whose versions changed (what their
  // dependents resolve to may have too): each listed once, by its mark.
  std::vector<ServiceState*> touched, version_sets;
  auto touch = [&](ServiceState& s) {
    if (s.touched_at != generation) {
      s.touched_at = generation;
      touched.push_back(&s);
    }
  };
  auto versions_changed = [&](ServiceState& s) {
    touch(s);
    if (s.versions_changed_at != generation) {
      s.versions_changed_at = generation;
      version_sets.push_back(&s);
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
    tables_.index_version(*v, record, generation);
    if (existing) {
      tables_.remove_all(existing->record, generation);
      heap_.retire(existing->record, generation);
      for (auto& [dep, range] : existing->dependencies) drop_dependent(dep, &s);
    } else {
      VersionState fresh;
      fresh.version = std::string(version);
      fresh.parsed = std::move(*semver::Version::parse(version));  // validate() checked it
      auto pos = std::upper_bound(s.versions.begin(), s.versions.end(), fresh.parsed,
                                  [](const semver::Version& a, const VersionState& b) { return a < b.parsed; });
      existing = &*s.versions.insert(pos, std::move(fresh));
    }
    existing->record = record;
    existing->bytes = static_cast<uint32_t>(bytes.size());
    existing->stage = static_cast<uint8_t>(v->stage());
    existing->dependencies.clear();
    // Names viewed in the arena's copy of the record, not the batch's.
    const auto* stored = flatbuffers::GetRoot<wire::ServiceVersion>(heap_.ptr<uint8_t>(record));
    if (stored->dependencies()) {
      existing->dependencies.reserve(stored->dependencies()->size());
      for (auto* d : *stored->dependencies()) {
        existing->dependencies.emplace_back(d->service()->string_view(), range_of(d->range()->string_view()));
        add_dependent(d->service()->string_view(), &s);
      }
    }
    versions_changed(s);
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
    for (auto& [dep, range] : v->dependencies) drop_dependent(dep, &it->second);
    auto& versions = it->second.versions;
    versions.erase(versions.begin() + (v - versions.data()));
    versions_changed(it->second);
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
    tables_.index_contract(*c, record, generation);
  }
  for (auto& key : batch.remove_contracts) {
    auto it = contracts.find(std::make_tuple(key.consumer, key.consumer_version, key.provider));
    if (it == contracts.end()) continue;
    tables_.remove_all(it->second.record, generation);
    heap_.retire(it->second.record, generation);
    contracts.erase(it);
  }
  tables_.flush(generation);

  // A service whose versions changed may change what its dependents resolve to.
  for (ServiceState* changed : version_sets)
    if (auto it = dependents.find(changed->name); it != dependents.end())
      for (auto& [dependent, count] : it->second) touch(*dependent);

  for (ServiceState* s : touched) write_node(*s, generation);
}

Result<void> NodeBuilder::validate(const Batch& batch) const {
  // (service, version) pairs the batch upserts and removes, as views into the batch.
  using Key = std::pair<std::string_view, std::string_view>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>()(k.first) * 31 ^ std::hash<std::string_view>()(k.second);
    }
  };
  std::unordered_set<Key, KeyHash> upserted, removed;
  upserted.reserve(batch.upsert_versions.size());
  for (auto bytes : batch.upsert_versions) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    if (!semver::Version::parse(v->version()->string_view()))
      return fail(ErrorKind::Invalid, "invalid_version",
                  "service " + v->name()->str() + ": invalid version \"" + v->version()->str() + "\"");
    // Verification does not check enum values; the stage indexes the stage lists.
    if (static_cast<size_t>(v->stage()) >= kStageCount)
      return fail(ErrorKind::Invalid, "invalid_stage",
                  "service " + v->name()->str() + "@" + v->version()->str() + ": unknown lifecycle stage " +
                      std::to_string(static_cast<int>(v->stage())));
    upserted.insert({v->name()->string_view(), v->version()->string_view()});
  }
  for (auto& k : batch.remove_versions) removed.insert({k.service, k.version});
  Key last{};  // instances of one version usually come together: checked once
  for (auto bytes : batch.upsert_instances) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(bytes.data());
    const Key key{inst->service()->string_view(), inst->version()->string_view()};
    if (key == last && last.first.data()) continue;
    auto it = services.find(key.first);
    const bool registered = it != services.end() && it->second.find(key.second);
    if (removed.count(key) || (!registered && !upserted.count(key)))
      return fail(ErrorKind::Invalid, "unknown_version",
                  "instance " + inst->id()->str() + " names " + std::string(key.first) + "@" + std::string(key.second) +
                      ", which is not registered");
    last = key;
  }
  return {};
}

void NodeBuilder::visit_records(const std::function<void(ArenaWriter::RecordType, std::span<const uint8_t>)>& visit) const {
  auto bytes = [&](uint64_t offset, uint32_t size) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(heap_.base() + offset), size);
  };
  for (auto& [name, service] : services)
    for (auto& v : service.versions) {
      visit(ArenaWriter::RecordType::Version, bytes(v.record, v.bytes));
      for (auto& inst : v.instances)
        if (inst.slice != kNone) visit(ArenaWriter::RecordType::Instance, bytes(inst.record, inst.bytes));
    }
  for (auto& [key, c] : contracts) visit(ArenaWriter::RecordType::Contract, bytes(c.record, c.bytes));
}

}  // namespace roster::shm
