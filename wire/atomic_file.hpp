// Whole-file reads and crash-safe writes (the agent's cache, rosterctl convert's output).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace roster::wire {

// tmp + fsync + rename (+ fsync of the directory): a reader of `path` sees the old file or the
// whole new one, never half, even across a crash. False with `why` set on failure.
bool write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, std::string& why);

// The file's bytes in 8-byte aligned storage (FlatBuffers can be verified and read in place),
// or nullopt with `why` set.
struct AlignedBytes {
  std::vector<uint64_t> words;
  size_t size = 0;
  std::span<const uint8_t> bytes() const { return {reinterpret_cast<const uint8_t*>(words.data()), size}; }
};
std::optional<AlignedBytes> read_file_aligned(const std::string& path, std::string& why);

}  // namespace roster::wire
