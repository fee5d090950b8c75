#include "index_tables.hpp"

#include <algorithm>
#include <unordered_set>

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

ListHead* IndexTables::list_for(uint64_t table, std::string_view key) {
  const uint64_t hash = key_hash(key);
  bool created = false;
  // Keys in list tables are told apart by their 64-bit hash alone: a collision would merge two
  // teams' lists, which readers guard against by checking the record's own field.
  ListSlot* slot = find_slot<ListSlot>(table, header_.key_capacity, hash, [](ListSlot&) { return true; }, created);
  if (created) heap_.store(slot->hash, hash, std::memory_order_release);
  return &slot->head;
}

void IndexTables::list_append(ListHead* head, uint64_t record, uint64_t generation, std::vector<ListRef>& refs) {
  const uint64_t head_offset = heap_.offset_of(head);
  uint64_t array_offset = head->array.load(std::memory_order_relaxed);
  ListArray* array = array_offset ? heap_.ptr<ListArray>(array_offset) : nullptr;
  if (!array || array->count.load(std::memory_order_relaxed) == array->capacity) {
    array_offset = grow_list(head, array, generation);
    array = heap_.ptr<ListArray>(array_offset);
  }
  const uint64_t index = array->count.load(std::memory_order_relaxed);
  ListEntry& e = array->entries()[index];
  e.record = record;
  e.added = generation;
  e.removed.store(kNeverRemoved, std::memory_order_relaxed);
  // Release: a reader that sees the new count sees the entry's fields.
  heap_.store(array->count, index + 1, std::memory_order_release);
  refs.push_back({head_offset, index});
}

// Copies the entries some View may still see into a larger array and swaps it in; the old
// array stays readable for Views older than `generation`.
uint64_t IndexTables::grow_list(ListHead* head, ListArray* old, uint64_t generation) {
  std::vector<ListEntry*> keep;
  if (old)
    for (uint64_t i = 0; i < old->count.load(std::memory_order_relaxed); ++i)
      if (old->entries()[i].removed.load(std::memory_order_relaxed) > min_pinned_) keep.push_back(&old->entries()[i]);
  const uint64_t capacity = std::max<uint64_t>(8, keep.size() * 2);
  const uint64_t offset = heap_.allocate(sizeof(ListArray) + capacity * sizeof(ListEntry));
  auto* array = heap_.ptr<ListArray>(offset);
  array->capacity = capacity;
  const uint64_t head_offset = heap_.offset_of(head);
  for (size_t i = 0; i < keep.size(); ++i) {
    ListEntry& e = array->entries()[i];
    e.record = keep[i]->record;
    e.added = keep[i]->added;
    const uint64_t removed = keep[i]->removed.load(std::memory_order_relaxed);
    e.removed.store(removed, std::memory_order_relaxed);
    if (removed != kNeverRemoved) continue;  // only live entries have refs
    if (auto it = list_refs_.find(e.record); it != list_refs_.end())
      for (auto& ref : it->second)
        if (ref.head == head_offset) ref.index = i;
  }
  array->count.store(keep.size(), std::memory_order_relaxed);
  if (old) heap_.retire(heap_.offset_of(old), generation);
  // Release: readers that load the new array see its entries.
  heap_.store(head->array, offset, std::memory_order_release);
  return offset;
}

// The refs go with the entries: the record's memory may be reused by a new record, whose entries
// must not be confused with these (list_refs_ only ever describes live entries).
void IndexTables::remove_all(uint64_t record, uint64_t generation) {
  auto it = list_refs_.find(record);
  if (it == list_refs_.end()) return;
  for (auto& ref : it->second) {
    auto* array = heap_.ptr<ListArray>(heap_.ptr<ListHead>(ref.head)->array.load(std::memory_order_relaxed));
    // Relaxed: Views at older generations see the entry either way; newer ones acquire the
    // generation, which is published after this store.
    heap_.store(array->entries()[ref.index].removed, generation, std::memory_order_relaxed);
  }
  list_refs_.erase(it);
}

void IndexTables::index_version(const wire::ServiceVersion& v, uint64_t record, uint64_t generation) {
  const size_t tags = v.tags() ? v.tags()->size() : 0, deps = v.dependencies() ? v.dependencies()->size() : 0;
  std::vector<ListRef>& refs = list_refs_[record];
  refs.reserve(2 + tags + deps);
  list_append(list_for(header_.team_table, v.owner_team()->string_view()), record, generation, refs);
  list_append(&heap_.ptr<ListHead>(header_.stage_lists)[static_cast<size_t>(v.stage())], record, generation, refs);
  for (size_t i = 0; i < tags; ++i)
    list_append(list_for(header_.tag_table, v.tags()->Get(i)->string_view()), record, generation, refs);
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
    if (!named_before) list_append(list_for(header_.dependents_table, target), record, generation, refs);
  }
}

void IndexTables::index_contract(const wire::Contract& c, uint64_t record, uint64_t generation) {
  std::vector<ListRef>& refs = list_refs_[record];
  list_append(list_for(header_.contract_table, c.provider()->string_view()), record, generation, refs);
  if (c.consumer()->string_view() != c.provider()->string_view())
    list_append(list_for(header_.contract_table, c.consumer()->string_view()), record, generation, refs);
}

}  // namespace roster::shm
