// Standalone FlatBuffer records stored back to back in large chunks, each record 8-byte aligned:
// decoding a registry of a million records makes a few hundred allocations, not a million, and
// never moves a record once stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace roster::wire {

class RecordList {
 public:
  void append(std::span<const uint8_t> record);
  void clear();

  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  std::span<const uint8_t> operator[](size_t i) const { return records_[i]; }
  size_t total_bytes() const { return total_bytes_; }

 private:
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  struct Chunk {
    std::unique_ptr<uint64_t[]> words;  // uint64_t: 8-byte aligned storage
    size_t capacity = 0, used = 0;      // in bytes
  };
  std::vector<Chunk> chunks_;
  std::vector<std::span<const uint8_t>> records_;
  size_t total_bytes_ = 0;
};

}  // namespace roster::wire
