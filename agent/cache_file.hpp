// The agent's cache file: the arena's state as one Snapshot (with its revision and the store it
// belongs to), behind a header with a checksum, so a file damaged on disk or by someone else is
// refused before anything reads it.
//
//   u64 magic "RSTRCACH" | u32 format (1) | u32 reserved | u64 payload bytes | u64 XXH3-64 of the
//   payload | payload: the Snapshot FlatBuffer, 8-aligned
#pragma once

#include <span>
#include <string>

#include "roster/base/files.hpp"
#include "roster/base/result.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::agent {

struct CachedState {
  base::AlignedBytes file;
  const wire::Snapshot* snapshot = nullptr;  // into `file`, verified
};

// Written atomically, readable by its owner only (it holds the whole registry).
Result<void> write_cache_file(const std::string& path, std::span<const uint8_t> snapshot);
// Errors: Io (unreadable, or missing: NotFound), Corrupt (the header, the checksum or the
// Snapshot's verification failed; the message says which).
Result<CachedState> read_cache_file(const std::string& path);

}  // namespace roster::agent
