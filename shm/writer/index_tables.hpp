// The data segment's tables, as the writer fills them: the service table (a slot per name, never
// emptied) and the keyed and stage lists of interval entries (team, tag, dependents, contracts,
// stage), with the private record of which entries each record owns. A batch's new entries are
// queued and appended list by list at its end (flush): each list found once and grown at most
// once, to the size its count needs, and the lists visited in table order rather than at random.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arena_heap.hpp"
#include "roster/detail/layout.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::shm {

class IndexTables {
 public:
  // `min_pinned`: the oldest generation a live View may read (the publisher's, from its last
  // reclaim); entries removed before it are dropped when a list grows.
  IndexTables(ArenaHeap& heap, detail::SegmentHeader& header, const uint64_t& min_pinned)
      : heap_(heap), header_(header), min_pinned_(min_pinned) {}

  // Claims an empty service-table slot for a new name's hash (hash stored, release); returns its
  // index. Readers skip a slot whose head is still 0.
  uint64_t claim_service_slot(uint64_t hash);
  // Makes the node at `node` (written whole, of `generation`) the newest of slot `index`, and
  // the slot's latest record its latest record.
  void link_service_node(uint64_t index, uint64_t node, uint64_t generation);

  // Interval lists: an entry for `record` (of `registry`) live from `generation` on (queued until
  // flush()), and every entry of `record` ended at `generation` (one still queued is dropped). A
  // version's dependents entries are keyed as its registry's nodes are (`slot_key`, hash.hpp).
  void index_version(const wire::ServiceVersion& v, uint64_t record, uint64_t generation, uint32_t registry,
                     uint64_t slot_key);
  void index_contract(const wire::Contract& c, uint64_t record, uint64_t generation, uint32_t registry);
  void remove_all(uint64_t record, uint64_t generation);
  // Appends the batch's queued entries; the last step of a batch's index changes.
  void flush(uint64_t generation);
  // Room for `records` more records' entries (a snapshot's, up front).
  void reserve(size_t records) { list_refs_.reserve(list_refs_.size() + records); }

 private:
  template <typename Slot, typename Matches>
  Slot* find_slot(uint64_t table, uint64_t capacity, uint64_t hash, Matches&& matches, bool& created);
  detail::ListHead* list_for(uint64_t table, uint64_t hash);
  struct ListRef {
    uint64_t head;  // offset of the ListHead
    uint64_t index;
  };
  struct RecordEntries {
    std::vector<ListRef> refs;  // its appended, live entries
    uint64_t queued_in = 0;     // the generation of the batch that queued entries for it
    bool dropped = false;       // removed in the batch that queued it: its queued entries are skipped
  };
  // Which lists a queued entry goes to.
  enum : uint32_t { kStageTable, kTeamTable, kTagTable, kDependentsTable, kContractTable, kQueueTables };
  struct Queued {
    uint32_t table;  // k*Table
    uint64_t hash;   // the key's hash; for a stage list, the stage
    uint64_t record;
    uint32_t registry;
    RecordEntries* owner;  // list_refs_'s entry for `record` (stable: unordered_map nodes do not move)
  };
  void enqueue(uint32_t table, uint64_t hash, uint64_t record, uint32_t registry, RecordEntries& owner);
  // Appends `entries` (one list's, in batch order) to the list at `head`.
  void append(detail::ListHead* head, std::span<const Queued> entries, uint64_t generation);
  // Swaps in a larger array with room for `incoming` more entries; returns its offset.
  uint64_t grow_list(detail::ListHead* head, detail::ListArray* old, uint64_t incoming, uint64_t generation);

  ArenaHeap& heap_;
  detail::SegmentHeader& header_;
  const uint64_t& min_pinned_;
  // Slots in use per table (slots are never emptied); kept below 7/8 so probes stay short.
  std::unordered_map<uint64_t, uint64_t> slots_used_;
  std::unordered_map<uint64_t, RecordEntries> list_refs_;  // record -> its entries
  std::vector<Queued> queued_;          // the batch's new entries, until flush()
  std::vector<uint64_t> dropped_;       // records of list_refs_ to erase at flush()
};

}  // namespace roster::shm
