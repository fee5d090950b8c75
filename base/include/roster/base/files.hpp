// Whole-file reads and crash-safe writes (the agent's cache, rosterctl's inputs and outputs).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::base {

// tmp + fsync + rename (+ fsync of the directory): a reader of `path` sees the old file or the
// whole new one, never half, even across a crash. The file gets exactly `mode` (not the umask's).
Result<void> write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, mode_t mode = 0644);

// The file's bytes in 8-byte aligned storage (FlatBuffers can be verified and read in place).
struct AlignedBytes {
  std::vector<uint64_t> words;
  size_t size = 0;
  std::span<const uint8_t> bytes() const { return {reinterpret_cast<const uint8_t*>(words.data()), size}; }
};
inline constexpr size_t kDefaultMaxFileBytes = size_t{1} << 30;

// Errors: Io (cannot open or read), TooLarge (over max_bytes: refused before reading).
Result<AlignedBytes> read_file_aligned(const std::string& path, size_t max_bytes = kDefaultMaxFileBytes);
Result<std::string> read_file(const std::string& path, size_t max_bytes = kDefaultMaxFileBytes);

}  // namespace roster::base
