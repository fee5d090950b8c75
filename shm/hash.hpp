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

// A name's key in one registry of a federated arena (`slot_key` = registry + 1, ServiceNode::key);
// slot_key 0 is the plain name, key_hash(name) (XXH3 with seed 0 is XXH3_64bits).
inline uint64_t key_hash(std::string_view key, uint64_t slot_key) {
  const uint64_t h = XXH3_64bits_withSeed(key.data(), key.size(), slot_key);
  return h ? h : 1;
}

}  // namespace roster::shm::detail
