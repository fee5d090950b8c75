// One mapping of an arena's two segments, checked before anything reads it: the files' owner and
// mode, the header against the mapped size. What the reader follows later (table places and
// sizes, the heap's bounds) is copied out of the header here, validated, so a header changed
// afterwards cannot send a lookup outside the mapping.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "roster/base/result.hpp"
#include "roster/detail/layout.hpp"
#include "segment.hpp"

namespace roster::shm::detail {

// The data segment's geometry, validated against its mapped size.
struct Bounds {
  const char* base = nullptr;
  uint64_t size = 0;                 // of the mapping
  HeapBounds heap;                   // nodes, records and list arrays live here
  const ServiceSlot* services = nullptr;
  uint64_t service_mask = 0;         // capacity - 1 (a power of two)
  uint64_t team_table = 0, tag_table = 0, dependents_table = 0, contract_table = 0;  // offsets
  uint64_t key_mask = 0, dependents_mask = 0;
  uint64_t stage_lists = 0;
  uint32_t registries = 0;           // 0: not federated; else at most kMaxRegistries
};

struct Attachment {
  std::unique_ptr<Mapping> data, readers;
  const SegmentHeader* header = nullptr;  // for the words the writer changes while readers run
  Bounds bounds;
  ReaderSlot* slots = nullptr;
  uint32_t slot_count = 0;  // as many as the reader file holds, whatever its header says
  uint64_t epoch = 0;
};

// Who may own an arena's files: `owner` when given, else $ROSTER_ARENA_OWNER (a uid) when set,
// else root or this process's own user.
struct OwnerRule {
  std::optional<uid_t> owner;
};

// Maps and checks arena `name`. Errors: NotFound (no_arena), Conflict (layout_mismatch), Corrupt
// (not_an_arena: a header that does not fit its file), Unauthorized (untrusted_arena: owned by
// another user, or writable by others), Io.
Result<std::unique_ptr<Attachment>> attach(const std::string& name, uint64_t epoch, const OwnerRule& rule);

}  // namespace roster::shm::detail
