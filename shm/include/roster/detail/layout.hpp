// The shared-memory layout: what the writer (roster-agent) builds and readers map read-only.
//
// Everything is an offset from the segment base, never a pointer. Published data is immutable;
// MVCC gives each View one consistent generation:
//  - each service has a chain of immutable ServiceNodes, newest first, each tagged with the
//    generation that made it; a View at generation g uses the first node with generation <= g.
//  - secondary indexes (team, stage, tag, dependents, contracts) are append-only lists whose
//    entries carry [added, removed) generation intervals; a View sees the entries live at g.
// The writer links new data first and publishes it last by storing the header's generation
// (release); a View loads the generation (acquire) and so sees everything published up to it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace roster::shm::detail {

inline constexpr uint64_t kSegmentMagic = 0x31474553'52545352;  // "RSTRSEG1"
inline constexpr uint64_t kReaderMagic = 0x31445252'52545352;   // "RSTRRRD1"
// Bump on any change to the structs below: readers refuse a segment of another layout.
inline constexpr uint32_t kLayoutVersion = 6;
inline constexpr uint32_t kNone = 0xffffffffu;
inline constexpr uint64_t kNeverRemoved = ~uint64_t{0};
inline constexpr size_t kRevisionRing = 256;
inline constexpr size_t kStageCount = 7;  // wire::LifecycleStage
inline constexpr size_t kStoreIdBytes = 64;
// Federation: an arena mirrors up to kMaxRegistries registries, each named (at most
// kRegistryNameBytes, NUL-padded). An arena of one unnamed registry is not federated.
inline constexpr size_t kMaxRegistries = 8;
inline constexpr size_t kRegistryNameBytes = 32;

// One registry an arena mirrors. The name is set before the arena takes its name; the rest
// changes while readers run.
struct alignas(64) RegistryInfo {
  char name[kRegistryNameBytes];
  // Offset of a StoreId block in the heap: the upstream store whose revisions this registry's
  // ring holds (0: none yet). Replaced (release) in the batch that changes it; the old block is
  // retired like a record.
  std::atomic<uint64_t> store;
  std::atomic<int64_t> last_upstream_contact_ms;
  uint64_t reserved[2];
};
struct StoreId {
  uint32_t bytes;  // at most kStoreIdBytes
  char text[kStoreIdBytes];
};

struct alignas(64) SegmentHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t segment_bytes;
  uint64_t instance_id;  // random per segment; the reader-slot segment carries the same id
  uint64_t max_pin_age_ms;

  uint64_t service_table;  // ServiceSlot[service_capacity]
  uint64_t service_capacity;
  uint64_t team_table;  // ListSlot[key_capacity]
  uint64_t tag_table;
  uint64_t dependents_table;  // service name (key_hash(name, key) as for nodes) -> versions that declare a dependency on it
  uint64_t contract_table;    // provider name -> contracts
  uint64_t key_capacity;
  uint64_t dependents_capacity;  // a federated arena keys dependents per registry: more keys
  uint64_t stage_lists;  // ListHead[kStageCount]
  uint64_t heap_offset;
  uint64_t heap_bytes;
  // 0: one unnamed registry (registries[0]); else a federated arena of that many, in the order
  // plain names resolve (the first that has a name serves it, unless a service's own rule says
  // otherwise).
  uint32_t federated;
  uint32_t reserved;

  // Written by the writer while readers run.
  alignas(64) std::atomic<uint64_t> generation;  // the published generation (>= 1)
  std::atomic<uint32_t> generation_word;         // futex word: low 32 bits of generation
  std::atomic<uint32_t> replaced;                // 1: a newer segment took this one's name
  RegistryInfo registries[kMaxRegistries];
  // The upstream revision of each registry at generation g, at [registry][g % ring]: revisions
  // are comparable only within one store (RegistryInfo::store).
  std::atomic<uint64_t> revisions[kMaxRegistries][kRevisionRing];
};

// Reader-slot segment: readers write their own slot, the writer reads them all.
struct alignas(64) ReaderSlot {
  std::atomic<uint64_t> pinned;   // generation pinned by the open View; 0 = none
  std::atomic<uint64_t> evicted;  // set by the writer: the pin at this generation was revoked
  std::atomic<uint64_t> owner;    // 0 = free; else the claimer's token
};

struct alignas(64) ReaderSegmentHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t slot_count;
  uint64_t instance_id;  // == SegmentHeader::instance_id of the data segment
  // ReaderSlot slots[slot_count] follow at offset 64.
};

// The "latest" record of a slot's newest node, packed into one word so that a reader loads it
// whole: service(name) reads it from the slot and goes straight to the record, skipping the node
// (one dependent cache miss fewer). 0: none, or a record this word cannot hold (the node path
// then answers). Bits: [0, 3) the node's registry, 3 set for a plain name's slot (key 0),
// [4, 28) the record's bytes, [28, 64) its offset / 8.
struct LatestRecord {
  uint64_t record = 0;
  uint32_t bytes = 0;
  uint16_t registry = 0;
  bool plain = false;
};
inline constexpr uint64_t pack_latest(const LatestRecord& r) {
  if (r.record == 0 || r.record % 8 != 0 || r.record >> 39 != 0 || r.bytes >> 24 != 0 || r.registry >= 8) return 0;
  return (r.record / 8) << 28 | uint64_t{r.bytes} << 4 | uint64_t{r.plain} << 3 | r.registry;
}
inline constexpr LatestRecord unpack_latest(uint64_t word) {
  return {(word >> 28) * 8, static_cast<uint32_t>(word >> 4 & 0xffffff), static_cast<uint16_t>(word & 7),
          (word >> 3 & 1) != 0};
}

// Open-addressing table of services: hash (0 = empty; never reset once set), chain head, and the
// head's "latest" record with the generation from which it is that (two per cache line).
struct alignas(32) ServiceSlot {
  std::atomic<uint64_t> hash;
  std::atomic<uint64_t> head;  // offset of the newest ServiceNode
  // pack_latest() of the newest node's latest record, valid for Views at generations >=
  // latest_since. The writer stores latest_since before latest (release); a reader loads latest
  // (acquire) and then latest_since. latest_since is only ever raised, never put back (a batch
  // undone leaves it higher than needed: readers take the node path until the next change).
  std::atomic<uint64_t> latest;
  std::atomic<uint64_t> latest_since;
};
static_assert(sizeof(ServiceSlot) == 32);

struct VersionEntry {
  uint64_t record;  // offset of the ServiceVersion FlatBuffer
  uint32_t record_bytes;
  uint32_t slice_begin;     // into the node's slices: this version's, healthy ones first
  uint32_t slice_count;
  uint32_t healthy_slices;  // slices [slice_begin, slice_begin + healthy_slices) hold only healthy instances
  uint32_t dependency_begin;  // into the node's dependencies
  uint32_t dependency_count;
  uint8_t stage;
  uint8_t prerelease;
  uint8_t reserved[6];
};

struct InstanceEntry {
  uint64_t record;  // offset of the Instance FlatBuffer
  uint32_t record_bytes;
  uint16_t port;
  uint16_t weight;
  uint8_t health;
  uint8_t reserved[7];
};

// A run of InstanceEntry, all healthy or none: an immutable block of at most kSliceCapacity
// entries of its own (a change to one instance rewrites one slice, not the service's instances),
// or, for a service with few instances, an array inside the node itself (one block to read).
inline constexpr uint32_t kSliceCapacity = 64;
struct SliceRef {
  uint64_t entries;  // offset of InstanceEntry[count]
  uint32_t count;
  uint8_t healthy;  // 1: every entry is Health::Up
  uint8_t reserved[3];
};

// One declared dependency of a version, resolved when written: the highest registered version
// of `service` that satisfies the range (not retired), or none. In a federated arena it resolves
// within the version's own registry: `service_hash` is key_hash(service, registry + 1).
struct DependencyEdge {
  uint64_t service_hash;
  uint32_t resolved_version;  // offset of the resolved version string in the node, or kNone
  uint32_t resolved_version_bytes;
  uint32_t dependency_index;  // into the record's dependencies()
  uint32_t reserved;
};

// An immutable snapshot of one service: all its versions (ascending by precedence), the
// directory of their instance slices, and their resolved dependencies. The name follows the
// header directly (a lookup compares it on the header's cache line), then the arrays
// (8-aligned), then inline instance entries and other string bytes.
struct ServiceNode {
  uint64_t generation;
  std::atomic<uint64_t> older;  // previous node; cleared by the writer when it frees that node
  uint16_t name_offset;  // from the node start: sizeof(ServiceNode)
  uint16_t name_bytes;   // at most wire::kMaxIdentifierBytes
  // The registry its records came from, and the key of the table slot it hangs from: 0 for the
  // plain name (the only key of an arena that is not federated), registry + 1 for the name in
  // that registry (shm/hash.hpp's key_hash(name, key)). A plain node of a federated arena is a
  // copy of the node of the registry that serves the name.
  uint16_t registry;
  uint16_t key;
  uint32_t version_count;
  uint32_t slice_count;
  uint32_t dependency_count;
  // Indexes into versions, or kNone, chosen by the writer with roster/model/version_choice.hpp:
  // what "latest" means, and the highest version in any stage but retired.
  uint32_t latest;
  uint32_t latest_any;
  uint32_t arrays_offset;  // from the node start, 8-aligned
  uint64_t node_bytes;

  const VersionEntry* versions() const {
    return reinterpret_cast<const VersionEntry*>(reinterpret_cast<const char*>(this) + arrays_offset);
  }
  const SliceRef* slices() const { return reinterpret_cast<const SliceRef*>(versions() + version_count); }
  const DependencyEdge* dependencies() const {
    return reinterpret_cast<const DependencyEdge*>(slices() + slice_count);
  }
};
static_assert(sizeof(ServiceNode) % 8 == 0 && sizeof(VersionEntry) % 8 == 0 && sizeof(InstanceEntry) % 8 == 0 &&
              sizeof(SliceRef) % 8 == 0);

// Append-only list with generation intervals (secondary indexes).
struct ListEntry {
  uint64_t record;   // offset of the FlatBuffer the entry stands for
  uint64_t added;    // generation that added it
  std::atomic<uint64_t> removed;  // generation that removed it, or kNeverRemoved
  uint32_t registry;  // the registry the record came from
  uint32_t reserved;
};

struct ListArray {
  uint64_t capacity;
  std::atomic<uint64_t> count;  // entries [0, count) are initialised; published with release
  ListEntry* entries() { return reinterpret_cast<ListEntry*>(this + 1); }
  const ListEntry* entries() const { return reinterpret_cast<const ListEntry*>(this + 1); }
};

struct ListHead {
  std::atomic<uint64_t> array;  // offset of the current ListArray, 0 if none
};

// Keyed lists (team, tag, dependents, contracts): open addressing by key hash.
struct ListSlot {
  std::atomic<uint64_t> hash;  // 0 = empty
  ListHead head;
};

// Where records may lie in a mapped data segment: [begin, end) from its base, as the reader
// validated it when it mapped the segment.
struct HeapBounds {
  uint64_t begin = 0, end = 0;
  // [offset, offset + bytes) inside the bounds (overflow-safe).
  bool contains(uint64_t offset, uint64_t bytes) const {
    return offset >= begin && offset <= end && bytes <= end - offset;
  }
};

template <typename T>
inline T* at(void* base, uint64_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}
template <typename T>
inline const T* at(const void* base, uint64_t offset) {
  return reinterpret_cast<const T*>(static_cast<const char*>(base) + offset);
}

}  // namespace roster::shm::detail
