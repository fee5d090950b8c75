// The plain names of a federated arena. Each registry's nodes hang from slots keyed by the
// registry (hash.hpp); a plain name's slot holds a chain of its own: copies of the node of the
// registry that serves the name (the preferred one for that service when it has the name, else the
// first in the arena's order that has it). So a lookup by plain name costs what it costs in an arena
// that is not federated, and a View sees, at each generation, the serving registry's node of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arena_heap.hpp"
#include "index_tables.hpp"
#include "node_builder.hpp"

namespace roster::shm {

class PlainNames {
 public:
  // `registries`: each registry's mirror, in the arena's order. `preferred`: service -> registry index.
  PlainNames(ArenaHeap& heap, IndexTables& tables, std::vector<const NodeBuilder*> registries,
             ByName<uint16_t> preferred)
      : heap_(heap), tables_(tables), registries_(std::move(registries)), preferred_(std::move(preferred)) {}

  // After a batch of `registry` wrote the nodes of `written` at `generation` (unpublished): the plain
  // chain of each of those names gets a copy of its serving registry's node, when that registry is
  // this one or changed. OutOfSpace when the heap is full.
  void update(uint16_t registry, const std::vector<ServiceState*>& written, uint64_t generation);

 private:
  static constexpr uint16_t kNobody = 0xffff;
  struct Plain {
    uint64_t slot = 0;  // index into the service table
    uint64_t node = 0;  // newest copy
    uint16_t serving = kNobody;
  };
  // The registry that serves `name` now, or kNobody.
  uint16_t serving(std::string_view name) const;
  // Links a copy of `source` (a node of a registry's chain) at the head of `plain`'s chain.
  void link_copy(Plain& plain, uint64_t source, uint64_t generation);

  ArenaHeap& heap_;
  IndexTables& tables_;
  std::vector<const NodeBuilder*> registries_;
  ByName<uint16_t> preferred_;
  ByName<Plain> names_;
};

}  // namespace roster::shm
