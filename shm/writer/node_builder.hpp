// The writer's private mirror of the registry in the arena, and the node builder that turns a
// batch into new immutable ServiceNodes: every version of a service by precedence, its
// instances (healthy first), its declared dependencies resolved, and its latest versions. The
// order, the resolutions and "latest" are the server's (a batch's ServiceResolution records,
// checked against the records before use): nothing here parses SemVer or resolves a range.
// Index entries go through IndexTables, memory through ArenaHeap.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "arena_heap.hpp"
#include "index_tables.hpp"
#include "roster/base/result.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::shm {

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
  uint32_t slice = detail::kNone;  // index into VersionState::slices; kNone: a free slot
};

// A slice of a version's instances, all healthy or none (layout.hpp's SliceRef).
struct SliceState {
  std::vector<uint32_t> members;  // indices into VersionState::instances, in arrival order
  bool healthy = false;
  uint64_t block = 0;       // its own InstanceEntry array in the heap; 0: none (empty, or inline in the node)
  uint64_t changed_at = 0;  // generation of the last batch that changed a member
};

// Above this many instances a version keeps an index of them by id (below, a scan is faster).
constexpr size_t kIndexInstancesAbove = 32;

struct VersionState {
  std::string version;
  uint64_t record = 0;
  uint32_t bytes = 0;
  uint8_t stage = 0;
  bool prerelease = false;  // the server's word (its resolution)
  // The services its record declares dependencies on, viewing the record in the arena (which
  // lives as long as this entry), and the version of each that the server resolved ("": none),
  // viewing the service's resolution.
  std::vector<std::string_view> dependencies, resolved;
  // Slots, reused once freed: an instance keeps its slot (and so its index) while it lives.
  std::vector<InstanceState> instances;
  std::vector<uint32_t> free_instances;
  size_t live_instances() const { return instances.size() - free_instances.size(); }
  std::vector<SliceState> slices;
  std::vector<uint32_t> free_slices;  // emptied, to be reused
  uint32_t filling[2] = {detail::kNone, detail::kNone};  // per health (0 not, 1 healthy): the slice new instances join
  std::unique_ptr<ByName<uint32_t>> by_id;  // id -> slot, for large versions
};

struct ServiceState {
  std::string name;
  uint64_t hash = 0;
  uint64_t slot = 0;  // index into the service table
  uint64_t node = 0;  // newest node (published or not)
  // The generation whose batch last marked it: its node must be rewritten. A mark replaces a set
  // of names per batch.
  uint64_t touched_at = 0;
  std::vector<VersionState> versions;  // ascending by precedence, as the server ordered them
  std::vector<uint8_t> resolution;     // the server's last ServiceResolution of it (a standalone FlatBuffer)
  uint32_t latest = detail::kNone, latest_any = detail::kNone;  // indexes into versions
  VersionState* find(std::string_view version) {
    for (auto& v : versions)
      if (v.version == version) return &v;
    return nullptr;
  }
  const VersionState* find(std::string_view version) const { return const_cast<ServiceState*>(this)->find(version); }
};


class NodeBuilder {
 public:
  // The mirror of one registry (`registry`): its nodes hang from the table slots of `slot_key`
  // (hash.hpp: 0, the plain names, for an arena that is not federated; registry + 1 otherwise).
  NodeBuilder(ArenaHeap& heap, IndexTables& tables, uint16_t registry = 0, uint64_t slot_key = 0)
      : heap_(heap), tables_(tables), registry_(registry), slot_key_(slot_key) {}

  // Everything that could make `batch` fail, except space, checked before anything changes.
  Result<void> validate(const Batch& batch) const;
  // Writes the batch's records, index entries and new nodes for generation `generation`
  // (unpublished). OutOfSpace when the segment or an index is full.
  void apply(const Batch& batch, uint64_t generation);

  // `full` (the registry's whole state, as a snapshot brings it) as a change to what this mirror
  // holds: it also removes every version, instance and contract `full` lacks, with an empty
  // resolution for each service that goes.
  struct Replacement {
    Batch batch;
    std::vector<std::vector<uint8_t>> resolutions;  // the empty ones batch.resolutions adds, viewed by it
  };
  Replacement replacing(const Batch& full) const;
  // The services whose nodes the last apply() wrote.
  const std::vector<ServiceState*>& written() const { return written_; }
  // The service's state, or null.
  const ServiceState* find(std::string_view name) const {
    auto it = services.find(name);
    return it == services.end() ? nullptr : &it->second;
  }
  size_t service_count() const { return services.size(); }
  bool empty() const { return services.empty() && contracts.empty(); }
  void visit_records(const std::function<void(ArenaWriter::RecordType, std::span<const uint8_t>)>& visit) const;

 private:
  // (service, version) pairs a batch upserts (with its record) or removes, viewing the batch.
  using VersionName = std::pair<std::string_view, std::string_view>;
  struct VersionNameHash {
    size_t operator()(const VersionName& k) const {
      return std::hash<std::string_view>()(k.first) * 31 ^ std::hash<std::string_view>()(k.second);
    }
  };
  using UpsertedVersions = std::unordered_map<VersionName, const wire::ServiceVersion*, VersionNameHash>;
  using RemovedVersions = std::unordered_set<VersionName, VersionNameHash>;
  Result<void> validate_resolutions(const Batch& batch, const UpsertedVersions& upserted,
                                    const RemovedVersions& removed) const;
  // Orders `s`'s versions, and sets their resolved dependencies and its latest, by `resolution`
  // (validated).
  static void adopt_resolution(ServiceState& s, std::span<const uint8_t> resolution);
  // Writes a new immutable node for `s` at `generation` and links it at the chain head.
  void write_node(ServiceState& s, uint64_t generation);
  ServiceState& service(std::string_view name);
  // Writes the slices of `s` that changed at `generation` into blocks of their own, or drops
  // those blocks when the service's instances fit inline in its node. Returns whether they do.
  bool write_slices(ServiceState& s, uint64_t generation);
  static InstanceState* find_instance(VersionState& v, std::string_view id);
  static void index_instances(VersionState& v);
  // Slot of a new instance `id` (not yet in a slice).
  static uint32_t add_instance(VersionState& v, std::string_view id);
  static void remove_instance(VersionState& v, uint32_t slot, uint64_t generation);
  // Puts instance `slot` into a slice of its health with room.
  static void join_slice(VersionState& v, uint32_t slot, uint64_t generation);
  static void leave_slice(VersionState& v, uint32_t slot, uint64_t generation);

  ArenaHeap& heap_;
  IndexTables& tables_;
  uint16_t registry_;
  uint64_t slot_key_;
  std::vector<ServiceState*> written_;
  ByName<ServiceState> services;  // never erased: pointers to them stay valid
  struct ContractState {
    uint64_t record;
    uint32_t bytes;
    std::string provider, consumer;
  };
  std::map<std::tuple<std::string, std::string, std::string>, ContractState> contracts;
};

}  // namespace roster::shm
