#include "roster/wire/record_list.hpp"

#include <algorithm>
#include <cstring>

namespace roster::wire {

void RecordList::append(std::span<const uint8_t> record) {
  const size_t padded = (record.size() + 7) & ~size_t{7};
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < padded) {
    const size_t capacity = std::max(kChunkBytes, padded);
    chunks_.push_back({std::unique_ptr<uint64_t[]>(new uint64_t[capacity / 8]), capacity, 0});
  }
  Chunk& chunk = chunks_.back();
  uint8_t* at = reinterpret_cast<uint8_t*>(chunk.words.get()) + chunk.used;
  std::memcpy(at, record.data(), record.size());
  chunk.used += padded;
  records_.emplace_back(at, record.size());
  total_bytes_ += record.size();
}

void RecordList::clear() {
  chunks_.clear();
  records_.clear();
  total_bytes_ = 0;
}

}  // namespace roster::wire
