#include "roster/shm/writer.hpp"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <climits>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "roster/base/clock.hpp"
#include "roster/semver.hpp"
#include "roster/wire/roster_generated.h"
#include "hash.hpp"
#include "roster/detail/layout.hpp"
#include "segment.hpp"

namespace roster::shm {

using namespace detail;
namespace bip = boost::interprocess;

namespace {

// Boost's best-fit allocator, placed at the start of the heap area. Only the writer allocates
// (null_mutex: no locking); readers never touch its bookkeeping.
using Heap = bip::rbtree_best_fit<bip::null_mutex_family>;

// Space running out deep inside a batch (an allocation, an index slot) unwinds to run(), which
// undoes the batch and reports arena_full. Confined to this file: the API returns Results.
struct OutOfSpace {
  std::string message;
};

uint64_t next_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Private maps keyed by name are looked up by the record's string_view: no std::string per lookup.
struct NameHash : std::hash<std::string_view> {
  using is_transparent = void;
};
template <typename T>
using ByName = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;

struct InstanceState {
  std::string id;
  uint64_t record = 0;
  uint32_t bytes = 0;
  uint16_t port = 0, weight = 0;
  uint8_t health = 0;
};

// Above this many instances a version keeps an index of them by id (below, a scan is faster).
constexpr size_t kIndexInstancesAbove = 32;

struct VersionState {
  std::string version;
  semver::Version parsed;
  uint64_t record = 0;
  uint32_t bytes = 0;
  uint8_t stage = 0;
  std::vector<std::pair<std::string, const semver::Range*>> dependencies;
  std::vector<InstanceState> instances;  // in the order they arrived
  std::unique_ptr<ByName<uint32_t>> by_id;  // id -> index into instances, for large versions
};

struct ServiceState {
  std::string name;
  uint64_t hash = 0;
  uint64_t slot = 0;  // index into the service table
  uint64_t node = 0;  // newest node (published or not)
  // The generation whose batch last marked it: its node must be rewritten, and its versions
  // changed (what dependents resolve to may have too). Marks replace sets of names per batch.
  uint64_t touched_at = 0, versions_changed_at = 0;
  std::vector<VersionState> versions;  // ascending by precedence
  VersionState* find(std::string_view version) {
    for (auto& v : versions)
      if (v.version == version) return &v;
    return nullptr;
  }
  const VersionState* find(std::string_view version) const { return const_cast<ServiceState*>(this)->find(version); }
};

struct ListRef {
  uint64_t head;  // offset of the ListHead
  uint64_t index;
};

struct Retired {
  uint64_t offset;
  uint64_t generation;  // unreachable once every View is at this generation or newer
  uint64_t unlink;      // node whose `older` points at this one (cleared when freed), or 0
};

}  // namespace

struct ArenaWriter::State {
  ArenaOptions options;
  std::unique_ptr<Mapping> data, readers;
  std::string data_name, reader_name;
  std::string suffix;  // the segments' temporary names until they take the arena's name
  bool named = false;
  SegmentHeader* header = nullptr;
  ReaderSegmentHeader* reader_header = nullptr;
  // The reader-slot segment is writable by every reader: its header is never read back, and its
  // slots are only ever compared, never followed. These are the writer's own copies.
  uint32_t slot_count = 0;
  size_t readers_bytes = 0;
  Heap* heap = nullptr;
  uint64_t generation = 0;      // published
  uint64_t min_pinned = 0;      // from the last reclaim: no live View is older
  bool membarrier_ok = false;

  ByName<ServiceState> services;
  // target -> dependent service -> how many of its versions declare the dependency
  ByName<ByName<int>> dependents;

  void add_dependent(std::string_view target, const std::string& dependent) {
    auto t = dependents.find(target);
    if (t == dependents.end()) t = dependents.emplace(std::string(target), ByName<int>()).first;
    auto d = t->second.find(dependent);
    if (d == t->second.end()) d = t->second.emplace(dependent, 0).first;
    ++d->second;
  }
  void drop_dependent(const std::string& target, const std::string& dependent) {
    auto t = dependents.find(target);
    if (t == dependents.end()) return;
    if (auto d = t->second.find(dependent); d != t->second.end() && --d->second == 0) t->second.erase(d);
  }
  ByName<std::unique_ptr<semver::Range>> ranges;                               // parsed once
  std::unordered_map<uint64_t, std::vector<ListRef>> list_refs;                // record -> its entries
  struct ContractState {
    uint64_t record;
    uint32_t bytes;
    std::string provider, consumer;
  };
  std::map<std::tuple<std::string, std::string, std::string>, ContractState> contracts;
  std::deque<Retired> retired;
  struct PinSeen {
    uint64_t generation = 0;
    int64_t since_ms = 0;
  };
  std::vector<PinSeen> pins_seen;
  size_t pinned_views = 0, evicted_views = 0, dead_readers = 0;
  bool readers_truncated = false;
  uint64_t generation_at_last_scan = 0;

  // Undo log of the batch in progress, so a failure leaves nothing half-linked.
  struct Undo {
    std::vector<uint64_t> allocated;
    std::vector<std::pair<std::atomic<uint64_t>*, uint64_t>> stores;  // word, previous value
    bool active = false;
  } undo;
  // Everything the batch replaced, retired only if the batch completes.
  std::vector<Retired> pending_retire;
  std::optional<Error> broken;  // why this writer refuses every batch from now on

  char* base() const { return static_cast<char*>(data->base()); }
  uint64_t offset_of(const void* p) const { return static_cast<uint64_t>(static_cast<const char*>(p) - base()); }
  template <typename T>
  T* ptr(uint64_t offset) const {
    return at<T>(data->base(), offset);
  }

  // --- allocation -----------------------------------------------------------------------

  uint64_t allocate(size_t bytes) {
    void* p = heap->allocate(bytes);  // at least 8-byte aligned; nullptr when full
    if (!p)
      throw OutOfSpace{"the arena's segment is full (" + std::to_string(options.segment_bytes) +
                       " bytes): restart the agent with a larger segment"};
    const uint64_t offset = offset_of(p);
    if (undo.active) undo.allocated.push_back(offset);
    return offset;
  }

  uint64_t copy_record(std::span<const uint8_t> bytes) {
    const uint64_t offset = allocate(bytes.size());
    std::memcpy(base() + offset, bytes.data(), bytes.size());
    return offset;
  }

  // A store readers may observe; remembered so a failed batch can put the old value back.
  void store(std::atomic<uint64_t>& word, uint64_t value, std::memory_order order) {
    if (undo.active) undo.stores.emplace_back(&word, word.load(std::memory_order_relaxed));
    word.store(value, order);
  }

  void retire(uint64_t offset, uint64_t generation, uint64_t unlink = 0) {
    pending_retire.push_back({offset, generation, unlink});
  }

  // --- tables -----------------------------------------------------------------------------

  // Slots in use per table (slots are never emptied); kept below 7/8 so probes stay short.
  std::unordered_map<uint64_t, uint64_t> slots_used;

  // Finds or claims the slot for `hash` in an open-addressing table of `capacity` entries.
  template <typename Slot, typename Matches>
  Slot* find_slot(uint64_t table, uint64_t capacity, uint64_t hash, Matches&& matches, bool& created) {
    Slot* slots = ptr<Slot>(table);
    const uint64_t mask = capacity - 1;
    for (uint64_t i = hash & mask, probes = 0; probes < capacity; i = (i + 1) & mask, ++probes) {
      const uint64_t h = slots[i].hash.load(std::memory_order_relaxed);
      if (h == 0) {
        if (++slots_used[table] > capacity / 8 * 7) break;
        created = true;
        return &slots[i];
      }
      if (h == hash && matches(slots[i])) {
        created = false;
        return &slots[i];
      }
    }
    throw OutOfSpace{"an index of the arena is full: restart the agent with a larger segment"};
  }

  ListHead* list_for(uint64_t table, std::string_view key) {
    const uint64_t hash = key_hash(key);
    bool created = false;
    // Keys in list tables are told apart by their 64-bit hash alone: a collision would merge two
    // teams' lists, which readers guard against by checking the record's own field.
    ListSlot* slot = find_slot<ListSlot>(table, header->key_capacity, hash, [](ListSlot&) { return true; }, created);
    if (created) store(slot->hash, hash, std::memory_order_release);
    return &slot->head;
  }

  // --- interval lists -----------------------------------------------------------------------

  void list_append(ListHead* head, uint64_t record, uint64_t generation) {
    const uint64_t head_offset = offset_of(head);
    uint64_t array_offset = head->array.load(std::memory_order_relaxed);
    ListArray* array = array_offset ? ptr<ListArray>(array_offset) : nullptr;
    if (!array || array->count.load(std::memory_order_relaxed) == array->capacity) {
      array_offset = grow_list(head, array, generation);
      array = ptr<ListArray>(array_offset);
    }
    const uint64_t index = array->count.load(std::memory_order_relaxed);
    ListEntry& e = array->entries()[index];
    e.record = record;
    e.added = generation;
    e.removed.store(kNeverRemoved, std::memory_order_relaxed);
    // Release: a reader that sees the new count sees the entry's fields.
    store(array->count, index + 1, std::memory_order_release);
    list_refs[record].push_back({head_offset, index});
  }

  // Copies the entries some View may still see into a larger array and swaps it in; the old
  // array stays readable for Views older than `generation`.
  uint64_t grow_list(ListHead* head, ListArray* old, uint64_t generation) {
    std::vector<ListEntry*> keep;
    if (old)
      for (uint64_t i = 0; i < old->count.load(std::memory_order_relaxed); ++i)
        if (old->entries()[i].removed.load(std::memory_order_relaxed) > min_pinned) keep.push_back(&old->entries()[i]);
    const uint64_t capacity = std::max<uint64_t>(8, keep.size() * 2);
    const uint64_t offset = allocate(sizeof(ListArray) + capacity * sizeof(ListEntry));
    auto* array = ptr<ListArray>(offset);
    array->capacity = capacity;
    const uint64_t head_offset = offset_of(head);
    for (size_t i = 0; i < keep.size(); ++i) {
      ListEntry& e = array->entries()[i];
      e.record = keep[i]->record;
      e.added = keep[i]->added;
      const uint64_t removed = keep[i]->removed.load(std::memory_order_relaxed);
      e.removed.store(removed, std::memory_order_relaxed);
      if (removed != kNeverRemoved) continue;  // only live entries have refs
      if (auto it = list_refs.find(e.record); it != list_refs.end())
        for (auto& ref : it->second)
          if (ref.head == head_offset) ref.index = i;
    }
    array->count.store(keep.size(), std::memory_order_relaxed);
    if (old) retire(offset_of(old), generation);
    // Release: readers that load the new array see its entries.
    store(head->array, offset, std::memory_order_release);
    return offset;
  }

  // Marks every live list entry of `record` removed as of `generation`. The refs go with it:
  // the record's memory may be reused by a new record, whose entries must not be confused with
  // these (list_refs only ever describes live entries).
  void list_remove_all(uint64_t record, uint64_t generation) {
    auto it = list_refs.find(record);
    if (it == list_refs.end()) return;
    for (auto& ref : it->second) {
      auto* array = ptr<ListArray>(ptr<ListHead>(ref.head)->array.load(std::memory_order_relaxed));
      // Relaxed: Views at older generations see the entry either way; newer ones acquire the
      // generation, which is published after this store.
      store(array->entries()[ref.index].removed, generation, std::memory_order_relaxed);
    }
    list_refs.erase(it);
  }

  void index_version(const wire::ServiceVersion& v, uint64_t record, uint64_t generation) {
    list_append(list_for(header->team_table, v.owner_team()->string_view()), record, generation);
    list_append(&ptr<ListHead>(header->stage_lists)[static_cast<size_t>(v.stage())], record, generation);
    if (v.tags())
      for (auto* tag : *v.tags()) list_append(list_for(header->tag_table, tag->string_view()), record, generation);
    if (v.dependencies()) {
      std::unordered_set<std::string_view> seen;
      for (auto* d : *v.dependencies())
        if (seen.insert(d->service()->string_view()).second)
          list_append(list_for(header->dependents_table, d->service()->string_view()), record, generation);
    }
  }

  // --- service nodes ----------------------------------------------------------------------

  const semver::Range* range_of(std::string_view text) {
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

  // The highest registered, non-retired version of `service` that satisfies `range`.
  const VersionState* resolve(const std::string& service, const semver::Range& range) {
    auto it = services.find(service);
    if (it == services.end()) return nullptr;
    auto& versions = it->second.versions;
    for (auto v = versions.rbegin(); v != versions.rend(); ++v)
      if (v->stage != static_cast<uint8_t>(wire::LifecycleStage::Retired) && range.satisfies(v->parsed)) return &*v;
    return nullptr;
  }

  // Writes a new immutable node for `s` at `generation` and links it at the chain head.
  void write_node(ServiceState& s, uint64_t generation) {
    size_t instances = 0, deps = 0, strings = s.name.size();
    std::vector<const VersionState*> resolved;
    for (auto& v : s.versions) {
      instances += v.instances.size();
      deps += v.dependencies.size();
      for (auto& [service, range] : v.dependencies) {
        resolved.push_back(resolve(service, *range));
        if (resolved.back()) strings += resolved.back()->version.size();
      }
    }
    const size_t arrays_offset = (sizeof(ServiceNode) + s.name.size() + 7) & ~size_t{7};
    const size_t fixed = arrays_offset + s.versions.size() * sizeof(VersionEntry) + instances * sizeof(InstanceEntry) +
                         deps * sizeof(DependencyEdge);
    const size_t bytes = fixed + strings - s.name.size();
    const uint64_t offset = allocate(bytes);
    auto* node = ptr<ServiceNode>(offset);
    node->generation = generation;
    node->older.store(s.node, std::memory_order_relaxed);
    node->version_count = static_cast<uint32_t>(s.versions.size());
    node->instance_count = static_cast<uint32_t>(instances);
    node->dependency_count = static_cast<uint32_t>(deps);
    node->latest_stable = node->latest_any = kNone;
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
    auto* inst = const_cast<InstanceEntry*>(node->instances());
    auto* edges = const_cast<DependencyEdge*>(node->dependencies());
    uint32_t instance_index = 0, dep_index = 0;
    for (size_t i = 0; i < s.versions.size(); ++i) {
      VersionState& v = s.versions[i];
      VersionEntry& e = versions[i];
      e = VersionEntry{};
      e.record = v.record;
      e.record_bytes = v.bytes;
      e.stage = v.stage;
      e.prerelease = v.parsed.is_prerelease();
      // Healthy instances first, so the healthy filter is a prefix; otherwise in arrival order.
      e.instance_begin = instance_index;
      e.instance_count = static_cast<uint32_t>(v.instances.size());
      for (bool healthy : {true, false})
        for (auto& is : v.instances)
          if ((is.health == static_cast<uint8_t>(wire::Health::Up)) == healthy)
            inst[instance_index++] = InstanceEntry{is.record, is.bytes, is.port, is.weight, is.health, {}};
      for (auto& is : v.instances) e.healthy_count += is.health == static_cast<uint8_t>(wire::Health::Up);
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
      const bool live = v.stage != static_cast<uint8_t>(wire::LifecycleStage::Retired);
      if (live) node->latest_any = static_cast<uint32_t>(i);
      if (live && !v.parsed.is_prerelease()) node->latest_stable = static_cast<uint32_t>(i);
    }

    ServiceSlot& slot = ptr<ServiceSlot>(header->service_table)[s.slot];
    if (s.node) retire(s.node, generation, offset);
    s.node = offset;
    // Release: a reader that loads the new head sees the node's contents.
    store(slot.head, offset, std::memory_order_release);
  }

  // The service's state, claiming a table slot for a new name.
  ServiceState& service(std::string_view name) {
    auto it = services.find(name);
    if (it != services.end()) return it->second;
    // Every service that ever had a slot stays in `services` (a removed one keeps a tombstone
    // node), so a new name only ever needs an empty slot. Claim it now, hash first: a second new
    // service in the same batch must not take it too. Readers skip a slot whose head is still 0.
    ServiceState s;
    s.name = std::string(name);
    s.hash = key_hash(name);
    bool created = false;
    auto* slots = ptr<ServiceSlot>(header->service_table);
    ServiceSlot* slot =
        find_slot<ServiceSlot>(header->service_table, header->service_capacity, s.hash, [](ServiceSlot&) { return false; }, created);
    store(slot->hash, s.hash, std::memory_order_release);
    s.slot = static_cast<uint64_t>(slot - slots);
    return services.emplace(std::string(name), std::move(s)).first->second;
  }

  // --- applying a batch ---------------------------------------------------------------------

  // The instance `id` of `v`, or null. Versions with many instances keep an index by id.
  static InstanceState* find_instance(VersionState& v, std::string_view id) {
    if (v.by_id) {
      auto it = v.by_id->find(id);
      return it == v.by_id->end() ? nullptr : &v.instances[it->second];
    }
    for (auto& i : v.instances)
      if (i.id == id) return &i;
    return nullptr;
  }
  static void index_instances(VersionState& v) {
    if (v.instances.size() <= kIndexInstancesAbove) {
      v.by_id.reset();
      return;
    }
    v.by_id = std::make_unique<ByName<uint32_t>>();
    v.by_id->reserve(v.instances.size());
    for (uint32_t k = 0; k < v.instances.size(); ++k) v.by_id->emplace(v.instances[k].id, k);
  }
  static void add_instance(VersionState& v, InstanceState state) {
    v.instances.push_back(std::move(state));
    if (v.by_id)
      v.by_id->emplace(v.instances.back().id, static_cast<uint32_t>(v.instances.size() - 1));
    else if (v.instances.size() > kIndexInstancesAbove)
      index_instances(v);
  }

  void apply_batch(const Batch& batch, uint64_t generation) {
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

    for (auto bytes : batch.upsert_versions) {
      auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
      const std::string_view name = v->name()->string_view(), version = v->version()->string_view();
      ServiceState& s = service(name);
      VersionState* existing = s.find(version);
      const uint64_t record = copy_record(bytes);
      index_version(*v, record, generation);
      if (existing) {
        list_remove_all(existing->record, generation);
        retire(existing->record, generation);
        for (auto& [dep, range] : existing->dependencies) drop_dependent(dep, s.name);
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
      if (v->dependencies())
        for (auto* d : *v->dependencies()) {
          existing->dependencies.emplace_back(d->service()->str(), range_of(d->range()->string_view()));
          add_dependent(d->service()->string_view(), s.name);
        }
      versions_changed(s);
    }

    for (auto& key : batch.remove_versions) {
      auto it = services.find(key.service);
      VersionState* v = it == services.end() ? nullptr : it->second.find(key.version);
      if (!v) continue;  // removing what is not there changes nothing
      list_remove_all(v->record, generation);
      retire(v->record, generation);
      for (auto& inst : v->instances) retire(inst.record, generation);
      for (auto& [dep, range] : v->dependencies) drop_dependent(dep, key.service);
      auto& versions = it->second.versions;
      versions.erase(versions.begin() + (v - versions.data()));
      versions_changed(it->second);
    }

    // Instances of one version usually arrive together (a snapshot is ordered by key): the last
    // version found is tried first.
    ServiceState* last_service = nullptr;
    VersionState* last_version = nullptr;
    for (auto bytes : batch.upsert_instances) {
      auto* inst = flatbuffers::GetRoot<wire::Instance>(bytes.data());
      const std::string_view name = inst->service()->string_view(), version = inst->version()->string_view();
      if (!last_version || last_service->name != name || last_version->version != version) {
        auto it = services.find(name);
        last_service = it == services.end() ? nullptr : &it->second;
        last_version = last_service ? last_service->find(version) : nullptr;
        if (!last_version) throw std::logic_error("validate() let an instance of an unknown version through");
      }
      VersionState& v = *last_version;
      const uint64_t record = copy_record(bytes);
      InstanceState state{inst->id()->str(), record, static_cast<uint32_t>(bytes.size()), inst->port(), inst->weight(),
                          static_cast<uint8_t>(inst->health())};
      if (InstanceState* same = find_instance(v, state.id)) {
        retire(same->record, generation);
        same->record = state.record;
        same->bytes = state.bytes;
        same->port = state.port;
        same->weight = state.weight;
        same->health = state.health;
      } else {
        add_instance(v, std::move(state));
      }
      touch(*last_service);
    }

    for (auto& key : batch.remove_instances) {
      auto it = services.find(key.service);
      VersionState* v = it == services.end() ? nullptr : it->second.find(key.version);
      InstanceState* same = v ? find_instance(*v, key.id) : nullptr;
      if (!same) continue;
      retire(same->record, generation);
      v->instances.erase(v->instances.begin() + (same - v->instances.data()));
      if (v->by_id) index_instances(*v);  // indices behind it moved
      touch(it->second);
    }

    for (auto bytes : batch.upsert_contracts) {
      auto* c = flatbuffers::GetRoot<wire::Contract>(bytes.data());
      auto key = std::make_tuple(c->consumer()->str(), c->consumer_version()->str(), c->provider()->str());
      const uint64_t record = copy_record(bytes);
      if (auto it = contracts.find(key); it != contracts.end()) {
        list_remove_all(it->second.record, generation);
        retire(it->second.record, generation);
      }
      contracts[key] = {record, static_cast<uint32_t>(bytes.size()), c->provider()->str(), c->consumer()->str()};
      list_append(list_for(header->contract_table, c->provider()->string_view()), record, generation);
      if (c->consumer()->string_view() != c->provider()->string_view())
        list_append(list_for(header->contract_table, c->consumer()->string_view()), record, generation);
    }
    for (auto& key : batch.remove_contracts) {
      auto it = contracts.find(std::make_tuple(key.consumer, key.consumer_version, key.provider));
      if (it == contracts.end()) continue;
      list_remove_all(it->second.record, generation);
      retire(it->second.record, generation);
      contracts.erase(it);
    }

    // A service whose versions changed may change what its dependents resolve to.
    for (ServiceState* changed : version_sets)
      if (auto it = dependents.find(changed->name); it != dependents.end())
        for (auto& [dependent, count] : it->second)
          if (auto d = services.find(dependent); d != services.end()) touch(d->second);

    for (ServiceState* s : touched) write_node(*s, generation);
  }

  void undo_batch() {
    for (auto it = undo.stores.rbegin(); it != undo.stores.rend(); ++it) it->first->store(it->second, std::memory_order_release);
    for (uint64_t offset : undo.allocated) heap->deallocate(base() + offset);
  }

  // Checks everything that could make the batch fail, except space, before anything changes.
  Result<void> validate(const Batch& batch) const {
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

  Result<uint64_t> run(const Batch& batch, bool publish) {
    if (broken) return fail(*broken);
    if (header->replaced.load(std::memory_order_acquire))
      return fail(ErrorKind::Conflict, "arena_taken", "arena \"" + options.name + "\" was taken over by another writer");
    if (auto valid = validate(batch); !valid) return fail(valid.error());
    const uint64_t next = generation + 1;
    undo = Undo{};
    undo.active = true;
    pending_retire.clear();
    try {
      apply_batch(batch, next);
    } catch (const OutOfSpace& e) {
      // Only space can run out here (validate() checked the rest). Readers never saw any of
      // it; the private mirror is now ahead of shm, so this writer cannot go on: the agent
      // must start a fresh, larger arena (which readers re-attach to by themselves).
      undo_batch();
      undo = Undo{};
      pending_retire.clear();
      broken = Error{ErrorKind::TooLarge, "arena_full", e.message + " (this writer stopped; start a new arena)", ""};
      return fail(*broken);
    }
    undo = Undo{};
    retired.insert(retired.end(), pending_retire.begin(), pending_retire.end());
    pending_retire.clear();
    if (!publish) return generation;
    publish_generation(next, batch.revision);
    if (!named)
      if (auto taken = take_name(); !taken) {
        broken = taken.error();
        return fail(taken.error());
      }
    reclaim_now();
    return generation;
  }

  void publish_generation(uint64_t next, uint64_t revision) {
    // Release: a reader that reads this entry also sees generation next - 1 (Client::view
    // checks the entry it read was not reused this way).
    header->revisions[next % kRevisionRing].store(revision, std::memory_order_release);
    // Release: everything written for this batch happens-before a View that acquires `next`;
    // seq_cst also orders it before the pin reads in scan_pins for readers without membarrier.
    header->generation.store(next, std::memory_order_seq_cst);
    header->generation_word.store(static_cast<uint32_t>(next), std::memory_order_release);
    generation = next;
    syscall(SYS_futex, &header->generation_word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  }

  // The oldest generation a live View may be reading; revokes pins that are too old and
  // releases the slots of readers that died.
  uint64_t scan_pins() {
    // Readers pin with a plain store and no fence; this barrier on every CPU running a reader
    // makes those stores visible before we read them (pairs with the reader's pin loop).
    // Readers without membarrier pin with seq_cst operations instead, which pair with the
    // seq_cst publish above and the seq_cst pin reads below.
    if (membarrier_ok) syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
    // A reader could shrink the file under us; then nothing it says can be read safely, and
    // nothing is freed until the arena is replaced.
    struct stat st {};
    if (::fstat(readers->fd(), &st) != 0 || static_cast<size_t>(st.st_size) < readers_bytes) {
      readers_truncated = true;
      return min_pinned;
    }
    auto* slots = reinterpret_cast<ReaderSlot*>(reinterpret_cast<char*>(reader_header) + sizeof(ReaderSegmentHeader));
    const int64_t now = base::steady_ms();
    uint64_t oldest = generation;
    pinned_views = 0;
    for (uint32_t i = 0; i < slot_count; ++i) {
      const uint64_t pinned = slots[i].pinned.load(std::memory_order_seq_cst);
      if (pinned == 0 || pinned >= generation) continue;
      // A pin at or below the revoked one belongs to Views that already report eviction.
      if (pinned <= slots[i].evicted.load(std::memory_order_relaxed)) continue;
      PinSeen& seen = pins_seen[i];
      // A reader pins the generation current when it opens a View, so a fresh pin is at least
      // the generation of the previous scan: only that restarts its age. A pin written any other
      // way (moved back, or crept forward slowly by something that is not a reader) keeps aging,
      // so nothing can hold memory past the pin limit by rewriting its slot. (A thread that
      // closes its older View of two keeps the older one's age: evicted early, never late.)
      if (seen.since_ms == 0 || (pinned > seen.generation && pinned >= generation_at_last_scan)) seen = {pinned, now};
      const int64_t age = now - seen.since_ms;
      const uint64_t slot_offset = sizeof(ReaderSegmentHeader) + i * sizeof(ReaderSlot);
      if (age > 100 && !range_is_locked(readers->fd(), slot_offset, sizeof(ReaderSlot))) {
        // The reader died holding a View (its OFD lock went with it): release its slot.
        slots[i].pinned.store(0, std::memory_order_relaxed);
        slots[i].owner.store(0, std::memory_order_release);
        ++dead_readers;
        continue;
      }
      if (age > options.max_pin_age.count()) {
        // Revoke the pin: the View reports itself evicted from now on (it checks `evicted`).
        slots[i].evicted.store(pinned, std::memory_order_release);
        ++evicted_views;
        continue;
      }
      ++pinned_views;
      oldest = std::min(oldest, pinned);
    }
    generation_at_last_scan = generation;
    return oldest;
  }

  // The segments take the arena's name only once they hold a published registry: readers never
  // re-attach to an empty arena, and a writer that never gets data leaves the previous one (and
  // its last registry) in place. Readers first (a reader opens data, then readers, and checks
  // the ids match), then data; an older segment of this name is marked replaced.
  Result<void> take_name() {
    // One we may not open (another user's) is just replaced.
    auto opened = Mapping::open(data_name, Mapping::Access::ReadWrite);
    std::unique_ptr<Mapping> old = opened ? std::move(*opened) : nullptr;
    if (auto renamed = rename_segment(reader_name + suffix, reader_name); !renamed) return renamed;
    if (auto renamed = rename_segment(data_name + suffix, data_name); !renamed) return renamed;
    named = true;
    if (old && old->size() >= sizeof(SegmentHeader)) {
      auto* old_header = static_cast<SegmentHeader*>(old->base());
      if (old_header->magic == kSegmentMagic && old_header->layout_version == kLayoutVersion) {
        // Release: pairs with the readers' acquire load of `replaced` in Client::view().
        old_header->replaced.store(1, std::memory_order_release);
        // Wake waiters on the old segment so they re-attach now.
        old_header->generation_word.fetch_add(1, std::memory_order_release);
        syscall(SYS_futex, &old_header->generation_word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
      }
    }
    return {};
  }

  size_t reclaim_now() {
    min_pinned = scan_pins();
    size_t freed = 0;
    while (!retired.empty() && retired.front().generation <= min_pinned) {
      Retired r = retired.front();
      retired.pop_front();
      // No View can reach it: one at generation >= r.generation stops at a newer node.
      if (r.unlink) ptr<ServiceNode>(r.unlink)->older.store(0, std::memory_order_relaxed);
      freed += heap->size(base() + r.offset);
      heap->deallocate(base() + r.offset);
    }
    return freed;
  }
};

namespace {

Result<void> check_options(const ArenaOptions& o) {
  if (o.name.empty() || o.name.find('/') != std::string::npos)
    return fail(ErrorKind::Invalid, "invalid_arena_name",
                "invalid arena name \"" + o.name + "\": must be non-empty and contain no '/'");
  if (o.segment_bytes < (size_t{1} << 20))
    return fail(ErrorKind::Invalid, "invalid_segment_size", "segment size must be at least 1 MiB");
  if (o.reader_slots == 0) return fail(ErrorKind::Invalid, "invalid_reader_slots", "at least one reader slot is needed");
  return {};
}

}  // namespace

Result<std::optional<PublishedArena>> published_arena(const std::string& name) {
  auto opened = Mapping::open(data_segment_name(name), Mapping::Access::ReadOnly);
  if (!opened && opened.error().kind == ErrorKind::NotFound) return std::optional<PublishedArena>();
  if (!opened) return fail(opened.error());
  const Mapping& m = **opened;
  // Only an arena this user wrote says anything about this deployment's past.
  if (m.owner() != ::geteuid() || m.size() < sizeof(SegmentHeader)) return std::optional<PublishedArena>();
  const auto* h = static_cast<const SegmentHeader*>(m.base());
  if (h->magic != kSegmentMagic || h->layout_version != kLayoutVersion) return std::optional<PublishedArena>();
  PublishedArena out;
  out.generation = h->generation.load(std::memory_order_acquire);
  out.revision = h->revisions[out.generation % kRevisionRing].load(std::memory_order_relaxed);
  out.store_id.assign(h->store_id, strnlen(h->store_id, kStoreIdBytes));
  return std::optional(std::move(out));
}

ArenaWriter::ArenaWriter() : state_(std::make_unique<State>()) {}

// A name another user's file holds cannot be taken: /dev/shm is sticky, so the rename that
// publishes the arena would fail with EPERM. Found out now, before anything is built.
Result<void> check_name_free(const std::string& shm_name) {
  struct stat st {};
  const std::string path = "/dev/shm/" + shm_name;
  // Root may replace anyone's file (and readers refuse one of a stranger anyway).
  if (::geteuid() == 0 || ::lstat(path.c_str(), &st) != 0 || st.st_uid == ::geteuid()) return {};
  return fail(ErrorKind::Conflict, "arena_name_taken",
              path + " belongs to uid " + std::to_string(st.st_uid) +
                  ", so this agent cannot publish under that name: remove the file, or give the agent another --arena");
}

Result<std::unique_ptr<ArenaWriter>> ArenaWriter::create(const ArenaOptions& options) {
  if (auto valid = check_options(options); !valid) return fail(valid.error());
  for (const auto& name : {data_segment_name(options.name), reader_segment_name(options.name)})
    if (auto free = check_name_free(name); !free) return fail(free.error());
  std::unique_ptr<ArenaWriter> writer(new ArenaWriter());
  State& s = *writer->state_;
  const auto previous = published_arena(options.name);
  s.options = options;
  s.data_name = data_segment_name(options.name);
  s.reader_name = reader_segment_name(options.name);
  std::random_device rd;
  const uint64_t instance_id = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(getpid());
  const std::string suffix = ".new." + std::to_string(getpid()) + "." + std::to_string(instance_id & 0xffff);
  s.suffix = suffix;
  // Until the writer exists whole, a failure removes what was created (its destructor does the
  // same for segments that never took the arena's name).
  {
    // Data segment: header, tables, then the heap.
    const size_t max_services = options.max_services ? options.max_services : std::max<size_t>(1024, options.segment_bytes / 2048);
    const uint64_t service_capacity = next_pow2(max_services * 2);
    // Keyed lists can need as many keys as there are services (every service may be some
    // version's dependency target), so they are sized like the service table.
    const uint64_t key_capacity = service_capacity;
    size_t offset = sizeof(SegmentHeader);
    auto reserve = [&](size_t bytes) {
      const size_t at_offset = (offset + 63) & ~size_t{63};
      offset = at_offset + bytes;
      return at_offset;
    };
    const size_t service_table = reserve(service_capacity * sizeof(ServiceSlot));
    const size_t team_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t tag_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t dependents_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t contract_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t stage_lists = reserve(kStageCount * sizeof(ListHead));
    const size_t heap_offset = reserve(0);
    if (heap_offset + (size_t{1} << 20) > options.segment_bytes)
      return fail(ErrorKind::Invalid, "invalid_segment_size",
                  "segment of " + std::to_string(options.segment_bytes) + " bytes is too small for " +
                      std::to_string(max_services) + " services");

    auto data = Mapping::create(s.data_name + suffix, options.segment_bytes, options.data_mode, options.group);
    if (!data) return fail(data.error());
    s.data = std::move(*data);
    // Held for the writer's life (the kernel drops it when the process dies): it tells
    // clean_up_abandoned that this segment is not abandoned.
    if (!lock_range(s.data->fd(), 0, 1))
      return fail(ErrorKind::Io, "io_error", "cannot lock /dev/shm/" + s.data_name + suffix);
    auto readers = Mapping::create(s.reader_name + suffix,
                                   sizeof(ReaderSegmentHeader) + size_t{options.reader_slots} * sizeof(ReaderSlot),
                                   options.reader_mode, options.group);
    if (!readers) return fail(readers.error());  // ~ArenaWriter removes the data segment
    s.readers = std::move(*readers);

    // Fresh tmpfs pages read as zero: every table starts empty.
    auto* h = new (s.data->base()) SegmentHeader();
    h->magic = kSegmentMagic;
    h->layout_version = kLayoutVersion;
    h->header_bytes = sizeof(SegmentHeader);
    h->segment_bytes = options.segment_bytes;
    h->instance_id = instance_id;
    h->max_pin_age_ms = static_cast<uint64_t>(options.max_pin_age.count());
    h->service_table = service_table;
    h->service_capacity = service_capacity;
    h->team_table = team_table;
    h->tag_table = tag_table;
    h->dependents_table = dependents_table;
    h->contract_table = contract_table;
    h->key_capacity = key_capacity;
    h->stage_lists = stage_lists;
    h->heap_offset = heap_offset;
    h->heap_bytes = options.segment_bytes - heap_offset;
    // The empty registry's generation: one past the arena this one will replace, so generations
    // a reader sees never go back across agent restarts.
    const uint64_t first = previous && *previous ? (*previous)->generation + 1 : 1;
    h->generation.store(first, std::memory_order_relaxed);
    h->generation_word.store(static_cast<uint32_t>(first), std::memory_order_relaxed);
    s.header = h;
    s.generation = first;
    s.heap = new (s.base() + heap_offset) Heap(h->heap_bytes, 0);

    auto* rh = new (s.readers->base()) ReaderSegmentHeader();
    rh->magic = kReaderMagic;
    rh->layout_version = kLayoutVersion;
    rh->slot_count = options.reader_slots;
    rh->instance_id = instance_id;
    s.reader_header = rh;
    s.slot_count = options.reader_slots;
    s.readers_bytes = s.readers->size();
    s.pins_seen.resize(options.reader_slots);

    s.membarrier_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) > 0 &&
                      (syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) & MEMBARRIER_CMD_GLOBAL_EXPEDITED);
  }
  return writer;
}

ArenaWriter::~ArenaWriter() {
  // Segments that never took the arena's name would otherwise stay in /dev/shm forever.
  if (state_ && !state_->named) {
    remove_segment(state_->data_name + state_->suffix);
    remove_segment(state_->reader_name + state_->suffix);
  }
}

Result<uint64_t> ArenaWriter::apply(const Batch& batch) { return state_->run(batch, true); }
Result<void> ArenaWriter::apply_without_publishing(const Batch& batch) {
  if (auto done = state_->run(batch, false); !done) return fail(done.error());
  return {};
}

Result<void> ArenaWriter::set_store(std::string_view store_id) {
  if (store_id.size() > kStoreIdBytes)
    return fail(ErrorKind::Invalid, "invalid_store_id",
                "a store id is at most " + std::to_string(kStoreIdBytes) + " bytes, not " + std::to_string(store_id.size()));
  char padded[kStoreIdBytes] = {};
  if (!store_id.empty()) std::memcpy(padded, store_id.data(), store_id.size());  // no store: data() may be null
  std::memcpy(state_->header->store_id, padded, kStoreIdBytes);
  return {};
}

void ArenaWriter::touch_upstream(int64_t unix_ms) {
  state_->header->last_upstream_contact_ms.store(unix_ms, std::memory_order_relaxed);
}

size_t ArenaWriter::reclaim() { return state_->reclaim_now(); }
uint64_t ArenaWriter::generation() const { return state_->generation; }

ArenaStats ArenaWriter::stats() const {
  const State& s = *state_;
  return {s.generation,     s.services.size(), s.header->heap_bytes, s.heap->get_free_memory(),
          s.retired.size(), s.pinned_views,      s.evicted_views,      s.dead_readers,
          s.readers_truncated};
}

void ArenaWriter::visit_records(const std::function<void(RecordType, std::span<const uint8_t>)>& visit) const {
  const State& s = *state_;
  auto bytes = [&](uint64_t offset, uint32_t size) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.base() + offset), size);
  };
  for (auto& [name, service] : s.services)
    for (auto& v : service.versions) {
      visit(RecordType::Version, bytes(v.record, v.bytes));
      for (auto& inst : v.instances) visit(RecordType::Instance, bytes(inst.record, inst.bytes));
    }
  for (auto& [key, c] : s.contracts) visit(RecordType::Contract, bytes(c.record, c.bytes));
}

void ArenaWriter::remove_segments() {
  const std::string suffix = state_->named ? "" : state_->suffix;
  remove_segment(state_->data_name + suffix);
  remove_segment(state_->reader_name + suffix);
}

Result<void> ArenaWriter::publish_empty() {
  if (state_->named) return {};
  return state_->take_name();
}

}  // namespace roster::shm
