// Fixed-seed hashing for everything that lives in shared memory: every process must compute the
// same hash for the same key (per-process seeds, as absl uses, would break lookups).
#pragma once

#define XXH_INLINE_ALL  // inlined: a call per lookup costs more than short keys take to hash
#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace roster::shm::detail {

// Never 0: 0 marks an empty table slot.
inline uint64_t key_hash(std::string_view key) {
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  return h ? h : 1;
}

}  // namespace roster::shm::detail
