// The data segment's tables, as the writer fills them: the service table (a slot per name, never
// emptied) and the keyed and stage lists of interval entries (team, tag, dependents, contracts,
// stage), with the private record of which entries each record owns.
#pragma once

#include <cstdint>
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
  detail::ServiceSlot& service_slot(uint64_t index) {
    return heap_.ptr<detail::ServiceSlot>(header_.service_table)[index];
  }

  // Interval lists: an entry for `record` live from `generation` on, and every live entry of
  // `record` ended at `generation`.
  void index_version(const wire::ServiceVersion& v, uint64_t record, uint64_t generation);
  void index_contract(const wire::Contract& c, uint64_t record, uint64_t generation);
  void remove_all(uint64_t record, uint64_t generation);

 private:
  template <typename Slot, typename Matches>
  Slot* find_slot(uint64_t table, uint64_t capacity, uint64_t hash, Matches&& matches, bool& created);
  detail::ListHead* list_for(uint64_t table, std::string_view key);
  struct ListRef {
    uint64_t head;  // offset of the ListHead
    uint64_t index;
  };
  // Appends an entry for `record`, remembered in `refs` (the record's list_refs_).
  void list_append(detail::ListHead* head, uint64_t record, uint64_t generation, std::vector<ListRef>& refs);
  uint64_t grow_list(detail::ListHead* head, detail::ListArray* old, uint64_t generation);

  ArenaHeap& heap_;
  detail::SegmentHeader& header_;
  const uint64_t& min_pinned_;
  // Slots in use per table (slots are never emptied); kept below 7/8 so probes stay short.
  std::unordered_map<uint64_t, uint64_t> slots_used_;
  std::unordered_map<uint64_t, std::vector<ListRef>> list_refs_;  // record -> its live entries
};

}  // namespace roster::shm
