// Lookups through a View. Every offset and count they follow is checked against the mapping the
// client validated (attachment.hpp) before it is dereferenced: a damaged structure makes the
// lookup return nothing and marks the View corrupt, never a signal. The checks are compares on
// values already in registers; bench/shm_bench.cpp measures them against an in-process map.
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "attachment.hpp"
#include "hash.hpp"
#include "roster/base/clock.hpp"
#include "roster/client.hpp"
#include "roster/wire/identifiers.hpp"

namespace roster {

using namespace shm::detail;

namespace {

// A generous bound on a node chain's length: every link is a strictly older generation, so a
// loop is impossible in a sound arena; a damaged one cannot keep a lookup walking.
constexpr int kMaxChain = 1 << 16;

std::string_view node_name(const ServiceNode* n) {
  return {reinterpret_cast<const char*>(n) + n->name_offset, n->name_bytes};
}

// The bytes of a record at `offset` whose size the arena does not say: up to the mapping's end.
std::span<const uint8_t> open_ended(const Bounds& b, uint64_t offset) {
  return {reinterpret_cast<const uint8_t*>(b.base + offset), b.size - offset};
}

template <typename T>
bool verify_record(std::span<const uint8_t> bytes) {
  if (bytes.size() < sizeof(flatbuffers::uoffset_t)) return false;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), 16, 1'000'000);
  return verifier.VerifyBuffer<T>(nullptr);
}

}  // namespace

bool ServiceVersion::verified() const { return verify_record<wire::ServiceVersion>(bytes_); }

std::span<const uint8_t> Instance::bytes() const {
  if (!heap_->contains(entry_->record, entry_->record_bytes)) return {detail::kEmptyTable, sizeof detail::kEmptyTable};
  return {reinterpret_cast<const uint8_t*>(base_ + entry_->record), entry_->record_bytes};
}

bool Instance::verified() const { return verify_record<wire::Instance>(bytes()); }

namespace {

std::string_view store_of(const Bounds& b, const RegistryInfo& info) {
  // Acquire: pairs with the writer's release store of the block's offset.
  const uint64_t store = info.store.load(std::memory_order_acquire);
  if (store % 8 != 0 || !b.heap.contains(store, sizeof(StoreId))) return {};
  const auto* id = at<StoreId>(b.base, store);
  return {id->text, std::min<size_t>(id->bytes, kStoreIdBytes)};
}

std::chrono::milliseconds staleness_of(const RegistryInfo& info) {
  // Relaxed: advisory, ordered with nothing.
  const int64_t contact = info.last_upstream_contact_ms.load(std::memory_order_relaxed);
  if (contact == 0) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds(std::max<int64_t>(0, base::unix_ms() - contact));
}

}  // namespace

std::string_view View::store() const { return store_of(attachment_->bounds, attachment_->header->registries[0]); }

std::chrono::milliseconds View::staleness() const { return staleness_of(attachment_->header->registries[0]); }

const char* View::registry_name(uint32_t registry) const {
  return registry < kMaxRegistries ? attachment_->header->registries[registry].name : nullptr;
}

std::vector<RegistryState> View::registries() const {
  std::vector<RegistryState> out;
  if (!attachment_) return out;
  const SegmentHeader& h = *attachment_->header;
  const uint32_t count = std::max<uint32_t>(1, attachment_->bounds.registries);
  for (uint32_t r = 0; r < count; ++r) {
    RegistryState& state = out.emplace_back();
    state.name = {h.registries[r].name, strnlen(h.registries[r].name, kRegistryNameBytes)};
    // The first registry's was read when the View pinned. The others': the ring entry of this
    // generation, unless the writer has since reused it (as in Client::view: acquire the entry,
    // then check the generation has not moved a ring's length).
    if (r == 0) {
      state.revision = revision_;
    } else {
      const uint64_t revision = h.revisions[r][generation_ % kRevisionRing].load(std::memory_order_acquire);
      state.revision = h.generation.load(std::memory_order_acquire) - generation_ <= kRevisionRing - 2 ? revision : 0;
    }
    state.store = store_of(attachment_->bounds, h.registries[r]);
    state.staleness = staleness_of(h.registries[r]);
  }
  return out;
}

std::vector<std::string_view> View::where(std::string_view name) const {
  std::vector<std::string_view> out;
  if (!attachment_ || attachment_->bounds.registries == 0) {
    if (const ServiceNode* n = node(name); n && n->version_count) out.push_back("");
    return out;
  }
  for (uint16_t r = 0; r < attachment_->bounds.registries; ++r)
    if (const ServiceNode* n = node(name, r + 1); n && n->version_count)
      out.emplace_back(attachment_->header->registries[r].name, strnlen(attachment_->header->registries[r].name, kRegistryNameBytes));
  // The one that serves it first: the arena's order puts it there unless a --prefer rule chose a
  // later one, and the plain name's node is a copy of the serving registry's.
  if (const ServiceNode* plain = node(name); plain && plain->version_count && plain->registry < kMaxRegistries) {
    const char* serving = attachment_->header->registries[plain->registry].name;
    std::stable_partition(out.begin(), out.end(), [&](std::string_view r) {
      return r == std::string_view(serving, strnlen(serving, kRegistryNameBytes));
    });
  }
  return out;
}

Result<InRegistry> View::find_registry(std::string_view registry) const {
  InRegistry in = this->in(registry);
  if (in.mirrored()) return in;
  std::string mirrored;
  if (attachment_)
    for (uint16_t r = 0; r < attachment_->bounds.registries; ++r)
      mirrored += (r ? ", " : "") + std::string(attachment_->header->registries[r].name,
                                                   strnlen(attachment_->header->registries[r].name, kRegistryNameBytes));
  return fail(ErrorKind::NotFound, "no_registry",
              "no registry \"" + std::string(registry) + "\" in this arena (" +
                  (mirrored.empty() ? "it is not federated" : "it mirrors " + mirrored) + ")");
}

InRegistry View::in(std::string_view registry) const {
  if (attachment_)
    for (uint16_t r = 0; r < attachment_->bounds.registries; ++r)
      if (registry == std::string_view(attachment_->header->registries[r].name,
                                       strnlen(attachment_->header->registries[r].name, kRegistryNameBytes)))
        return {this, static_cast<uint16_t>(r + 1)};
  return {this, 0};
}

// --- service nodes --------------------------------------------------------------------------

const ServiceNode* View::node_at(uint64_t offset) const {
  const Bounds& b = attachment_->bounds;
  if (offset % 8 != 0 || !b.heap.contains(offset, sizeof(ServiceNode))) return mark_corrupt(), nullptr;
  const auto* n = at<ServiceNode>(attachment_->bounds.base, offset);
  const uint64_t bytes = n->node_bytes;
  const uint64_t arrays = uint64_t{n->version_count} * sizeof(VersionEntry) +
                          uint64_t{n->slice_count} * sizeof(SliceRef) +
                          uint64_t{n->dependency_count} * sizeof(DependencyEdge);
  if (bytes > b.size - offset || uint64_t{n->name_offset} + n->name_bytes > bytes || n->arrays_offset % 8 != 0 ||
      n->arrays_offset > bytes || arrays > bytes - n->arrays_offset)
    return mark_corrupt(), nullptr;
  return n;
}

// The newest node not newer than this View's generation; links only go to older ones.
[[gnu::always_inline]] inline const ServiceNode* View::visible(const ServiceNode* n) const {
  for (int hops = 0; n->generation > generation_; ++hops) {
    const uint64_t older = n->older.load(std::memory_order_acquire);
    if (!older) return nullptr;  // the service did not exist yet at this generation
    const ServiceNode* next = node_at(older);
    if (!next || next->generation >= n->generation || hops == kMaxChain) return mark_corrupt(), nullptr;
    n = next;
  }
  return n;
}

// The node of `name` under slot key `key`, whose hash is `hash`; visible at this View's generation.
[[gnu::always_inline]] inline const ServiceNode* View::find_node(std::string_view name, uint64_t hash, uint16_t key) const {
  if (!slot_ || evicted()) return nullptr;
  const Bounds& b = attachment_->bounds;
  const ServiceSlot* slots = b.services;
  const uint64_t mask = b.service_mask;
  for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    // Acquire pairs with the writer's release stores of the slot: hash after head after node.
    const uint64_t h = slots[i].hash.load(std::memory_order_acquire);
    if (h == 0) return nullptr;
    if (h != hash) continue;
    const uint64_t head = slots[i].head.load(std::memory_order_acquire);
    if (head == 0) continue;  // claimed by a batch that is not published yet
    const ServiceNode* n = node_at(head);
    if (!n) return nullptr;
    // A different name with the same hash; or the same name under another key whose hash collides.
    if (n->key != key || node_name(n) != name) continue;
    return visible(n);
  }
  return nullptr;
}

const ServiceNode* View::node(std::string_view name) const {
  // No service has a longer name. A damaged record's name (a dependency's target, a dependent) may
  // claim up to 4 GiB of the guard window: hashing that made one lookup take seconds.
  if (name.size() > wire::kMaxIdentifierBytes) return nullptr;
  return find_node(name, key_hash(name), 0);
}

const ServiceNode* View::node(std::string_view name, uint16_t key) const {
  if (name.size() > wire::kMaxIdentifierBytes) return nullptr;
  return find_node(name, key_hash(name, key), key);
}

uint16_t View::dependency_key(const ServiceNode* n) const {
  return attachment_->bounds.registries ? static_cast<uint16_t>(n->registry + 1) : 0;
}

// Every slot of the service table, in table order: a slot's node (once published) holds its name.
std::vector<std::string_view> View::scan_services(uint64_t newer_than, bool live_only) const {
  std::vector<std::string_view> out;
  if (!slot_ || evicted()) return out;
  const Bounds& b = attachment_->bounds;
  const ServiceSlot* slots = b.services;
  for (uint64_t i = 0; i <= b.service_mask; ++i) {
    // Acquire, as in node(): pairs with the writer's release stores of the slot (hash after head
    // after node), so a head read here points at a node whose contents are visible.
    const uint64_t h = slots[i].hash.load(std::memory_order_acquire);
    if (h == 0) continue;
    const uint64_t head = slots[i].head.load(std::memory_order_acquire);
    if (head == 0) continue;  // claimed by a batch that is not published yet
    const ServiceNode* n = node_at(head);
    if (!n) continue;
    const std::string_view name = node_name(n);
    // A name service() would not find under this slot (too long, or not the slot's hash) is not
    // one a reader can use: the arena is damaged.
    if (name.empty() || name.size() > wire::kMaxIdentifierBytes || key_hash(name, n->key) != h) {
      mark_corrupt();
      continue;
    }
    if (n->key != 0) continue;  // a federated arena's name in one registry: its plain slot names it
    n = visible(n);
    if (!n || n->generation <= newer_than || (live_only && n->version_count == 0)) continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  // A damaged table may hold one name twice.
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string_view> View::service_names() const { return scan_services(0, true); }

std::vector<std::string_view> View::changed_since(uint64_t generation) const {
  if (generation >= generation_) return {};
  return scan_services(generation, false);
}

std::optional<ServiceVersion> View::version_at(const ServiceNode* n, uint32_t index) const {
  if (!n || index == kNone) return std::nullopt;
  if (index >= n->version_count) return mark_corrupt(), std::nullopt;
  const VersionEntry& e = n->versions()[index];
  if (!attachment_->bounds.heap.contains(e.record, e.record_bytes)) return mark_corrupt(), std::nullopt;
  const auto* bytes = reinterpret_cast<const uint8_t*>(attachment_->bounds.base + e.record);
  return ServiceVersion(flatbuffers::GetRoot<wire::ServiceVersion>(bytes), {bytes, e.record_bytes},
                        registry_name(n->registry));
}

// The first slot of the service table whose hash is `hash`, in probe order; null once an empty
// slot shows that no name has it.
[[gnu::always_inline]] inline const ServiceSlot* View::first_slot(uint64_t hash) const {
  const Bounds& b = attachment_->bounds;
  const uint64_t mask = b.service_mask;
  for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    // Acquire, as in find_node().
    const uint64_t h = b.services[i].hash.load(std::memory_order_acquire);
    if (h == hash) return &b.services[i];
    if (h == 0) return nullptr;
  }
  return nullptr;
}

// The latest record of `name` under slot key `key` as `slot` holds it, when that is this View's
// (the slot's record is at most as new as the View's generation): no node to read. Otherwise
// (none yet, changed since the View's generation, a hash shared with another name, a damaged
// word) nothing, and the caller takes the node path.
[[gnu::always_inline]] inline std::optional<ServiceVersion> View::slot_latest(const ServiceSlot& slot, std::string_view name,
                                                                              uint16_t key) const {
  // Acquire pairs with the writer's release store of `latest`: latest_since, stored before it,
  // then reads as the generation from which this word holds, or a later one. A word from after
  // this View's generation cannot pass (its latest_since is newer); one this View's generation
  // replaced cannot be loaded (the replacement was stored before that generation was published,
  // which this View's pin loaded with acquire).
  const uint64_t word = slot.latest.load(std::memory_order_acquire);
  if (word == 0 || slot.latest_since.load(std::memory_order_relaxed) > generation_) return std::nullopt;
  const LatestRecord r = unpack_latest(word);
  const Bounds& b = attachment_->bounds;
  if (r.plain != (key == 0) || (key != 0 && r.registry + 1u != key) || !b.heap.contains(r.record, r.bytes))
    return std::nullopt;
  const auto* bytes = reinterpret_cast<const uint8_t*>(b.base + r.record);
  const auto* record = flatbuffers::GetRoot<wire::ServiceVersion>(bytes);
  // The record's own name: a slot of another name with the same hash, or a damaged word, is
  // never answered for this one.
  if (detail::text(record->name()) != name) return std::nullopt;
  return ServiceVersion(record, {bytes, r.bytes}, registry_name(r.registry));
}

std::optional<ServiceVersion> View::latest_of(std::string_view name, uint16_t key) const {
  if (name.size() > wire::kMaxIdentifierBytes || !slot_ || evicted()) return std::nullopt;  // as node()
  const uint64_t hash = key_hash(name, key);
  const ServiceSlot* slot = first_slot(hash);
  if (!slot) return std::nullopt;  // no name has the hash: not probed again
  if (auto fast = slot_latest(*slot, name, key)) return fast;
  const ServiceNode* n = find_node(name, hash, key);
  return n ? version_at(n, n->latest) : std::nullopt;
}

std::optional<ServiceVersion> View::service(std::string_view name) const { return latest_of(name, 0); }

std::optional<ServiceVersion> View::latest(std::string_view name, Latest which) const {
  if (which != Latest::IncludingPrereleases) return latest_of(name, 0);
  const ServiceNode* n = node(name);
  return n ? version_at(n, n->latest_any) : std::nullopt;
}

std::optional<ServiceVersion> View::service(std::string_view name, std::string_view version) const {
  return version_of(node(name), version);
}

std::optional<ServiceVersion> View::version_of(const ServiceNode* n, std::string_view version) const {
  if (!n) return std::nullopt;
  for (uint32_t i = 0; i < n->version_count; ++i) {
    auto v = version_at(n, i);
    if (v && v->version() == version) return v;
  }
  return std::nullopt;
}

std::vector<ServiceVersion> View::versions(std::string_view name) const { return versions_of(node(name)); }

std::vector<ServiceVersion> View::versions_of(const ServiceNode* n) const {
  std::vector<ServiceVersion> out;
  if (n)
    for (uint32_t i = 0; i < n->version_count; ++i)
      if (auto v = version_at(n, i)) out.push_back(*v);
  return out;
}

Instances View::instances(std::string_view name, Filter filter) const { return instances_of(node(name), filter); }

Instances View::instances_of(const ServiceNode* n, Filter filter) const {
  if (!n) return {};
  return {attachment_->bounds.base, &attachment_->bounds.heap, n->slices(), n->slices() + n->slice_count,
          filter == Filter::Healthy};
}

Instances View::instances(std::string_view name, std::string_view version, Filter filter) const {
  return instances_of(node(name), version, filter);
}

Instances View::instances_of(const ServiceNode* n, std::string_view version, Filter filter) const {
  if (!n) return {};
  for (uint32_t i = 0; i < n->version_count; ++i) {
    const VersionEntry& e = n->versions()[i];
    auto v = version_at(n, i);
    if (!v || v->version() != version) continue;
    if (e.slice_count > n->slice_count || e.slice_begin > n->slice_count - e.slice_count ||
        e.healthy_slices > e.slice_count)
      return mark_corrupt(), Instances{};
    const SliceRef* begin = n->slices() + e.slice_begin;
    // The version's healthy slices come first: the healthy filter is a prefix of its directory.
    const SliceRef* end = begin + (filter == Filter::Healthy ? e.healthy_slices : e.slice_count);
    return {attachment_->bounds.base, &attachment_->bounds.heap, begin, end, false};
  }
  return {};
}

size_t Instances::size() const {
  size_t n = 0;
  for (auto it = begin(); !it.done(); ++it) ++n;
  return n;
}

// --- secondary indexes ----------------------------------------------------------------------

uint64_t View::list_head(uint64_t table, std::string_view key) const { return list_head_of(table, key_hash(key)); }

uint64_t View::list_head_of(uint64_t table, uint64_t hash) const {
  if (!slot_ || evicted()) return 0;
  const Bounds& b = attachment_->bounds;
  const auto* slots = at<ListSlot>(attachment_->bounds.base, table);  // the table was validated to fit
  const uint64_t mask = table == b.dependents_table ? b.dependents_mask : b.key_mask;
  for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    const uint64_t h = slots[i].hash.load(std::memory_order_acquire);
    if (h == 0) return 0;
    if (h == hash) return table + i * sizeof(ListSlot) + offsetof(ListSlot, head);
  }
  return 0;
}

VersionList View::list(uint64_t head_offset) const {
  VersionList l;
  if (!head_offset) return l;
  const Bounds& b = attachment_->bounds;
  // Acquire: pairs with the writer's release store of a new array.
  const uint64_t array = at<ListHead>(b.base, head_offset)->array.load(std::memory_order_acquire);
  if (!array) return l;
  if (array % 8 != 0 || !b.heap.contains(array, sizeof(ListArray))) return mark_corrupt(), l;
  const auto* a = at<ListArray>(b.base, array);
  // Acquire: entries below the count are initialised.
  const uint64_t count = a->count.load(std::memory_order_acquire);
  if (count > a->capacity || count > (b.size - array - sizeof(ListArray)) / sizeof(ListEntry)) return mark_corrupt(), l;
  l.base_ = b.base;
  l.heap_ = &b.heap;
  l.registries_ = attachment_->header->registries;
  l.entries_ = a->entries();
  l.count_ = count;
  l.generation_ = generation_;
  return l;
}

VersionList View::by_team(std::string_view team) const {
  VersionList l = list(list_head(attachment_->bounds.team_table, team));
  l.key_kind_ = VersionList::Key::Team;
  l.bind_key(team);
  return l;
}

VersionList View::by_tag(std::string_view tag) const {
  VersionList l = list(list_head(attachment_->bounds.tag_table, tag));
  l.key_kind_ = VersionList::Key::Tag;
  l.bind_key(tag);
  return l;
}

VersionList View::by_stage(wire::LifecycleStage stage) const {
  if (!slot_ || evicted() || static_cast<size_t>(stage) >= kStageCount) return {};
  VersionList l = list(attachment_->bounds.stage_lists + static_cast<size_t>(stage) * sizeof(ListHead));
  l.key_kind_ = VersionList::Key::Stage;
  l.stage_ = stage;
  return l;
}

const wire::ServiceVersion* VersionList::record(uint64_t i) const {
  const uint64_t offset = entries_[i].record;
  if (!heap_->contains(offset, sizeof(flatbuffers::uoffset_t))) return nullptr;
  return flatbuffers::GetRoot<wire::ServiceVersion>(base_ + offset);
}

bool VersionList::matches(const wire::ServiceVersion& v) const {
  switch (key_kind_) {
    case Key::Team: return detail::text(v.owner_team()) == key_;
    case Key::Stage: return v.stage() == stage_;
    case Key::Tag: {
      // A damaged record's tag count is whatever it says (up to 2^32): loop only over a vector
      // that lies inside the heap.
      const auto* tags = v.tags();
      if (!tags) return false;
      const uint64_t offset = reinterpret_cast<uintptr_t>(tags) - reinterpret_cast<uintptr_t>(base_);
      if (!heap_->contains(offset, sizeof(flatbuffers::uoffset_t) * (uint64_t{tags->size()} + 1))) return false;
      for (auto* t : *tags)
        if (detail::text(t) == key_) return true;
      return false;
    }
  }
  return false;
}

void VersionList::bind_key(std::string_view requested) {
  key_ = requested;  // only while looking for the first match below
  for (uint64_t i = 0; i < count_; ++i) {
    const ListEntry& e = entries_[i];
    if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
    const wire::ServiceVersion* v = record(i);
    if (!v || !matches(*v)) continue;
    if (key_kind_ == Key::Team) {
      key_ = detail::text(v->owner_team());
    } else {
      for (auto* t : *v->tags())
        if (detail::text(t) == requested) key_ = detail::text(t);
    }
    return;
  }
  count_ = 0;  // nothing matches: the list is empty, and never reads `requested` again
  key_ = {};
}

void VersionList::iterator::skip() {
  for (; i_ < list_->count_; ++i_) {
    const ListEntry& e = list_->entries_[i_];
    // Live in this generation: added at or before it, removed after it. Relaxed: the entry's
    // removal at a newer generation does not concern this View either way.
    if (e.added > list_->generation_ || e.removed.load(std::memory_order_relaxed) <= list_->generation_) continue;
    // Keys share a table slot when their hashes collide: check the record's own field.
    if (const wire::ServiceVersion* v = list_->record(i_); v && list_->matches(*v)) return;
  }
}

ServiceVersion VersionList::iterator::operator*() const {
  const ListEntry& e = list_->entries_[i_];
  const uint64_t offset = e.record;  // skip() checked it
  return ServiceVersion(list_->record(i_), {reinterpret_cast<const uint8_t*>(list_->base_ + offset), list_->heap_->end - offset},
                        e.registry < kMaxRegistries ? list_->registries_[e.registry].name : nullptr);
}

std::vector<ServiceVersion> VersionList::to_vector() const {
  std::vector<ServiceVersion> out;
  for (auto v : *this) out.push_back(v);
  return out;
}

// --- dependencies ------------------------------------------------------------------------------

std::vector<Dependency> View::dependencies(std::string_view name, Depth depth) const {
  const ServiceNode* n = node(name);
  auto latest = n ? version_at(n, n->latest) : std::nullopt;
  return latest ? dependencies_of(n, latest->version(), depth) : std::vector<Dependency>{};
}

std::vector<Dependency> View::dependencies(std::string_view name, std::string_view version, Depth depth) const {
  return dependencies_of(node(name), version, depth);
}

// Each edge resolves within the registry of the node that holds it (dependency_key).
std::vector<Dependency> View::dependencies_of(const ServiceNode* start, std::string_view version, Depth depth) const {
  std::vector<Dependency> out;
  std::unordered_set<const void*> visited;
  std::vector<std::pair<const ServiceNode*, std::string_view>> queue;
  if (start) queue.emplace_back(start, version);
  while (!queue.empty()) {
    auto [n, ver] = queue.back();
    queue.pop_back();
    const uint16_t key = dependency_key(n);
    for (uint32_t i = 0; i < n->version_count; ++i) {
      const VersionEntry& e = n->versions()[i];
      auto from = version_at(n, i);
      if (!from || from->version() != ver || !visited.insert(&from->record()).second) continue;
      auto* declared_list = from->record().dependencies();
      if (e.dependency_count > n->dependency_count || e.dependency_begin > n->dependency_count - e.dependency_count) {
        mark_corrupt();
        continue;
      }
      for (uint32_t d = 0; d < e.dependency_count; ++d) {
        const DependencyEdge& edge = n->dependencies()[e.dependency_begin + d];
        if (!declared_list || edge.dependency_index >= declared_list->size()) {
          mark_corrupt();
          continue;
        }
        auto* declared = declared_list->Get(edge.dependency_index);
        Dependency dep{*from, detail::text(declared->service()), detail::text(declared->range()), std::nullopt};
        if (edge.resolved_version != kNone) {
          if (uint64_t{edge.resolved_version} + edge.resolved_version_bytes > n->node_bytes) {
            mark_corrupt();
            continue;
          }
          const std::string_view resolved(reinterpret_cast<const char*>(n) + edge.resolved_version,
                                          edge.resolved_version_bytes);
          const ServiceNode* target = key ? node(dep.service, key) : node(dep.service);
          dep.resolved = version_of(target, resolved);
          if (depth == Depth::Transitive && dep.resolved) queue.emplace_back(target, resolved);
        }
        out.push_back(dep);
      }
    }
  }
  return out;
}

std::vector<ServiceVersion> View::dependents(std::string_view name, Depth depth) const {
  return dependents_of(node(name), depth);
}

// Dependents live in the registry of the service they depend on (its dependents list is keyed so).
std::vector<ServiceVersion> View::dependents_of(const ServiceNode* start, Depth depth) const {
  std::vector<ServiceVersion> out;
  if (!start) return out;
  const uint16_t key = dependency_key(start);
  const std::string_view name = node_name(start);
  std::unordered_set<std::string_view> seen_services{name};
  std::unordered_set<const void*> seen_versions;
  std::vector<std::string_view> queue{name};
  while (!queue.empty()) {
    const std::string_view target = queue.back();
    queue.pop_back();
    const uint64_t target_hash = key_hash(target, key);
    VersionList l = list(list_head_of(attachment_->bounds.dependents_table, target_hash));
    for (uint64_t i = 0; i < l.count_; ++i) {
      const ListEntry& e = l.entries_[i];
      if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
      const wire::ServiceVersion* rec = l.record(i);
      if (!rec) {
        mark_corrupt();
        continue;
      }
      // Keep it if one of its declared dependencies on `target` resolved to a version.
      const std::string_view dependent = detail::text(rec->name());
      const ServiceNode* n = key ? node(dependent, key) : node(dependent);
      if (!n) continue;
      bool resolves = false;
      for (uint32_t v = 0; v < n->version_count && !resolves; ++v) {
        const VersionEntry& ve = n->versions()[v];
        if (ve.record != e.record) continue;
        if (ve.dependency_count > n->dependency_count || ve.dependency_begin > n->dependency_count - ve.dependency_count)
          break;
        for (uint32_t d = 0; d < ve.dependency_count; ++d) {
          const DependencyEdge& edge = n->dependencies()[ve.dependency_begin + d];
          auto* declared = rec->dependencies();
          if (edge.service_hash == target_hash && edge.resolved_version != kNone && declared &&
              edge.dependency_index < declared->size() &&
              detail::text(declared->Get(edge.dependency_index)->service()) == target)
            resolves = true;
        }
      }
      if (!resolves || !seen_versions.insert(rec).second) continue;
      out.emplace_back(rec, open_ended(attachment_->bounds, e.record), registry_name(e.registry));
      if (depth == Depth::Transitive && seen_services.insert(dependent).second) queue.push_back(dependent);
    }
  }
  return out;
}

std::vector<const wire::Contract*> View::contracts(std::string_view name) const {
  std::vector<const wire::Contract*> out;
  VersionList l = list(list_head(attachment_->bounds.contract_table, name));
  for (uint64_t i = 0; i < l.count_; ++i) {
    const ListEntry& e = l.entries_[i];
    if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
    if (!attachment_->bounds.heap.contains(e.record, sizeof(flatbuffers::uoffset_t))) {
      mark_corrupt();
      continue;
    }
    auto* c = flatbuffers::GetRoot<wire::Contract>(attachment_->bounds.base + e.record);
    if (detail::text(c->provider()) == name || detail::text(c->consumer()) == name) out.push_back(c);
  }
  return out;
}

// --- one registry of a federated arena --------------------------------------------------------

const ServiceNode* InRegistry::node(std::string_view name) const { return key_ ? view_->node(name, key_) : nullptr; }

std::optional<ServiceVersion> InRegistry::service(std::string_view name) const {
  return key_ ? view_->latest_of(name, key_) : std::nullopt;
}
std::optional<ServiceVersion> InRegistry::service(std::string_view name, std::string_view version) const {
  return view_->version_of(node(name), version);
}
std::optional<ServiceVersion> InRegistry::latest(std::string_view name, Latest which) const {
  if (which != Latest::IncludingPrereleases) return service(name);
  const ServiceNode* n = node(name);
  return n ? view_->version_at(n, n->latest_any) : std::nullopt;
}
std::vector<ServiceVersion> InRegistry::versions(std::string_view name) const { return view_->versions_of(node(name)); }
Instances InRegistry::instances(std::string_view name, Filter filter) const {
  return view_->instances_of(node(name), filter);
}
Instances InRegistry::instances(std::string_view name, std::string_view version, Filter filter) const {
  return view_->instances_of(node(name), version, filter);
}
std::vector<Dependency> InRegistry::dependencies(std::string_view name, Depth depth) const {
  const ServiceNode* n = node(name);
  auto latest = n ? view_->version_at(n, n->latest) : std::nullopt;
  return latest ? view_->dependencies_of(n, latest->version(), depth) : std::vector<Dependency>{};
}
std::vector<Dependency> InRegistry::dependencies(std::string_view name, std::string_view version, Depth depth) const {
  return view_->dependencies_of(node(name), version, depth);
}
std::vector<ServiceVersion> InRegistry::dependents(std::string_view name, Depth depth) const {
  return view_->dependents_of(node(name), depth);
}

}  // namespace roster
