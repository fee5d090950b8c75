#include "index_tables.hpp"

#include <algorithm>
#include <bit>
#include <unordered_set>
#include <utility>

#include "hash.hpp"

namespace roster::shm {

using namespace detail;

// Finds or claims the slot for `hash` in an open-addressing table of `capacity` entries.
template <typename Slot, typename Matches>
Slot* IndexTables::find_slot(uint64_t table, uint64_t capacity, uint64_t hash, Matches&& matches, bool& created) {
  Slot* slots = heap_.ptr<Slot>(table);
  const uint64_t mask = capacity - 1;
  for (uint64_t i = hash & mask, probes = 0; probes < capacity; i = (i + 1) & mask, ++probes) {
    const uint64_t h = slots[i].hash.load(std::memory_order_relaxed);
    if (h == 0) {
      if (++slots_used_[table] > capacity / 8 * 7) break;
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

uint64_t IndexTables::claim_service_slot(uint64_t hash) {
  bool created = false;
  auto* slots = heap_.ptr<ServiceSlot>(header_.service_table);
  // Every service that ever had a slot keeps it (a removed one keeps a tombstone node), so a new
  // name only ever needs an empty slot. Hash first: a second new service in the same batch must
  // not take it too.
  ServiceSlot* slot = find_slot<ServiceSlot>(header_.service_table, header_.service_capacity, hash,
                                             [](ServiceSlot&) { return false; }, created);
  heap_.store(slot->hash, hash, std::memory_order_release);
  return static_cast<uint64_t>(slot - slots);
}

void IndexTables::link_service_node(uint64_t index, uint64_t node, uint64_t generation) {
  ServiceSlot& slot = heap_.ptr<ServiceSlot>(header_.service_table)[index];
  const auto* n = heap_.ptr<ServiceNode>(node);
  LatestRecord latest;
  if (n->latest != kNone) {
    const VersionEntry& e = n->versions()[n->latest];
    latest = {e.record, e.record_bytes, n->registry, n->key == 0};
  }
  const uint64_t word = pack_latest(latest);
  // Only a change of the record moves latest_since: an instance change leaves Views of older
  // generations on the fast path. Relaxed: ordered before the release store of `latest` below,
  // so a reader that loads the new word (acquire) loads this generation or a later one. Not in
  // the undo log: an undone batch leaves it raised, which only sends readers to the node path.
  if (slot.latest.load(std::memory_order_relaxed) != word) {
    slot.latest_since.store(generation, std::memory_order_relaxed);
    heap_.store(slot.latest, word, std::memory_order_release);
  }
  // Release: a reader that loads the new head sees the node's contents (and the slices it points
  // at, written before it).
  heap_.store(slot.head, node, std::memory_order_release);
}

ListHead* IndexTables::list_for(uint64_t table, uint64_t hash) {
  bool created = false;
  // Keys in list tables are told apart by their 64-bit hash alone: a collision would merge two
  // teams' lists, which readers guard against by checking the record's own field.
  const uint64_t capacity = table == header_.dependents_table ? header_.dependents_capacity : header_.key_capacity;
  ListSlot* slot = find_slot<ListSlot>(table, capacity, hash, [](ListSlot&) { return true; }, created);
  if (created) heap_.store(slot->hash, hash, std::memory_order_release);
  return &slot->head;
}

void IndexTables::enqueue(uint32_t table, uint64_t hash, uint64_t record, uint32_t registry, RecordEntries& owner) {
  queued_.push_back({table, hash, record, registry, &owner});
}

namespace {

// Sorts `items` by key(item) < `key_limit`, keeping the order of equal keys: an LSD radix sort,
// 11 bits a pass (two passes for a table of a few hundred thousand keys); a delta's few entries by
// comparison.
template <typename T, typename Key>
void stable_sort_by_key(std::vector<T>& items, uint64_t key_limit, Key&& key) {
  if (items.size() < 512) {
    std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
    return;
  }
  constexpr int kDigitBits = 11;
  constexpr uint64_t kDigits = uint64_t{1} << kDigitBits;
  std::vector<T> sorted(items.size());
  for (int shift = 0; shift < std::bit_width(key_limit); shift += kDigitBits) {
    std::vector<size_t> start(kDigits, 0);
    for (const T& item : items) ++start[(key(item) >> shift) & (kDigits - 1)];
    size_t sum = 0;
    for (size_t& n : start) sum += std::exchange(n, sum);
    for (const T& item : items) sorted[start[(key(item) >> shift) & (kDigits - 1)]++] = item;
    items.swap(sorted);
  }
}

}  // namespace

void IndexTables::flush(uint64_t generation) {
  if (queued_.empty() && dropped_.empty()) return;
  std::vector<Queued> queued = std::exchange(queued_, {});
  // By table, then by the slot a key's probe starts at: the probes walk each table in order, and
  // a list's new entries keep the batch's order. Two keys starting at one slot may interleave:
  // their lists are then appended to more than once, which is only slower.
  const uint64_t capacity = std::max(header_.key_capacity, header_.dependents_capacity);
  const uint64_t tables[kQueueTables] = {0, header_.team_table, header_.tag_table, header_.dependents_table,
                                         header_.contract_table};
  stable_sort_by_key(queued, kQueueTables * capacity, [capacity](const Queued& q) { return q.table * capacity + (q.hash & (capacity - 1)); });
  for (size_t begin = 0, end = 0; begin < queued.size(); begin = end) {
    const Queued& first = queued[begin];
    for (end = begin + 1; end < queued.size() && queued[end].table == first.table && queued[end].hash == first.hash;) ++end;
    bool any = false;
    for (size_t i = begin; i < end && !any; ++i) any = !queued[i].owner->dropped;
    if (!any) continue;
    ListHead* head = first.table == kStageTable ? &heap_.ptr<ListHead>(header_.stage_lists)[first.hash]
                                                : list_for(tables[first.table], first.hash);
    append(head, std::span(queued).subspan(begin, end - begin), generation);
  }
  for (uint64_t record : dropped_) list_refs_.erase(record);
  dropped_.clear();
}

void IndexTables::append(ListHead* head, std::span<const Queued> entries, uint64_t generation) {
  const uint64_t head_offset = heap_.offset_of(head);
  uint64_t array_offset = head->array.load(std::memory_order_relaxed);
  ListArray* array = array_offset ? heap_.ptr<ListArray>(array_offset) : nullptr;
  if (!array || array->count.load(std::memory_order_relaxed) + entries.size() > array->capacity) {
    array_offset = grow_list(head, array, entries.size(), generation);
    array = heap_.ptr<ListArray>(array_offset);
  }
  uint64_t count = array->count.load(std::memory_order_relaxed);
  for (const Queued& q : entries) {
    if (q.owner->dropped) continue;
    ListEntry& e = array->entries()[count];
    e.record = q.record;
    e.registry = q.registry;
    e.added = generation;
    e.removed.store(kNeverRemoved, std::memory_order_relaxed);
    q.owner->refs.push_back({head_offset, count++});
  }
  // Release: a reader that sees the new count sees the entries' fields.
  heap_.store(array->count, count, std::memory_order_release);
}

// Copies the entries some View may still see into an array with room for `incoming` more (the
// next power of two: a list grows once per batch, and O(1) per entry over many batches) and
// swaps it in; the old array stays readable for Views older than `generation`.
uint64_t IndexTables::grow_list(ListHead* head, ListArray* old, uint64_t incoming, uint64_t generation) {
  std::vector<ListEntry*> keep;
  if (old)
    for (uint64_t i = 0; i < old->count.load(std::memory_order_relaxed); ++i)
      if (old->entries()[i].removed.load(std::memory_order_relaxed) > min_pinned_) keep.push_back(&old->entries()[i]);
  const uint64_t capacity = std::max<uint64_t>(8, std::bit_ceil(keep.size() + incoming));
  const uint64_t offset = heap_.allocate(sizeof(ListArray) + capacity * sizeof(ListEntry));
  auto* array = heap_.ptr<ListArray>(offset);
  array->capacity = capacity;
  const uint64_t head_offset = heap_.offset_of(head);
  for (size_t i = 0; i < keep.size(); ++i) {
    ListEntry& e = array->entries()[i];
    e.record = keep[i]->record;
    e.registry = keep[i]->registry;
    e.added = keep[i]->added;
    const uint64_t removed = keep[i]->removed.load(std::memory_order_relaxed);
    e.removed.store(removed, std::memory_order_relaxed);
    if (removed != kNeverRemoved) continue;  // only live entries have refs
    if (auto it = list_refs_.find(e.record); it != list_refs_.end())
      for (auto& ref : it->second.refs)
        if (ref.head == head_offset) ref.index = i;
  }
  array->count.store(keep.size(), std::memory_order_relaxed);
  if (old) heap_.retire(heap_.offset_of(old), generation);
  // Release: readers that load the new array see its entries.
  heap_.store(head->array, offset, std::memory_order_release);
  return offset;
}

// The refs go with the entries: the record's memory may be reused by a new record, whose entries
// must not be confused with these (list_refs_ only ever describes live entries). Entries still
// queued for it are dropped at flush(), which erases its list_refs_ entry then (queued entries
// point at it).
void IndexTables::remove_all(uint64_t record, uint64_t generation) {
  auto it = list_refs_.find(record);
  if (it == list_refs_.end()) return;
  for (auto& ref : it->second.refs) {
    auto* array = heap_.ptr<ListArray>(heap_.ptr<ListHead>(ref.head)->array.load(std::memory_order_relaxed));
    // Relaxed: Views at older generations see the entry either way; newer ones acquire the
    // generation, which is published after this store.
    heap_.store(array->entries()[ref.index].removed, generation, std::memory_order_relaxed);
  }
  if (it->second.queued_in == generation) {
    it->second.refs.clear();
    if (!std::exchange(it->second.dropped, true)) dropped_.push_back(record);
    return;
  }
  list_refs_.erase(it);
}

void IndexTables::index_version(const wire::ServiceVersion& v, uint64_t record, uint64_t generation,
                                uint32_t registry, uint64_t slot_key) {
  const size_t tags = v.tags() ? v.tags()->size() : 0, deps = v.dependencies() ? v.dependencies()->size() : 0;
  RecordEntries& owner = list_refs_[record];
  owner.queued_in = generation;
  owner.refs.reserve(2 + tags + deps);
  enqueue(kTeamTable, key_hash(v.owner_team()->string_view()), record, registry, owner);
  enqueue(kStageTable, static_cast<uint64_t>(v.stage()), record, registry, owner);
  for (size_t i = 0; i < tags; ++i) enqueue(kTagTable, key_hash(v.tags()->Get(i)->string_view()), record, registry, owner);
  // One dependents entry per target, however many times the version names it. Most versions name
  // few: comparing with the earlier ones beats building a set (kept for long lists: hostile input).
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < deps; ++i) {
    const std::string_view target = v.dependencies()->Get(i)->service()->string_view();
    bool named_before = false;
    if (deps > 16)
      named_before = !seen.insert(target).second;
    else
      for (size_t j = 0; j < i && !named_before; ++j)
        named_before = v.dependencies()->Get(j)->service()->string_view() == target;
    if (!named_before) enqueue(kDependentsTable, key_hash(target, slot_key), record, registry, owner);
  }
}

void IndexTables::index_contract(const wire::Contract& c, uint64_t record, uint64_t generation, uint32_t registry) {
  RecordEntries& owner = list_refs_[record];
  owner.queued_in = generation;
  enqueue(kContractTable, key_hash(c.provider()->string_view()), record, registry, owner);
  if (c.consumer()->string_view() != c.provider()->string_view())
    enqueue(kContractTable, key_hash(c.consumer()->string_view()), record, registry, owner);
}

}  // namespace roster::shm
