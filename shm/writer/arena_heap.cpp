#include "arena_heap.hpp"

#include <cstring>

namespace roster::shm {

ArenaHeap::ArenaHeap(char* base, uint64_t heap_offset, uint64_t heap_bytes, size_t segment_bytes)
    : base_(base),
      heap_offset_(heap_offset),
      heap_bytes_(heap_bytes),
      allocator_(new (base + heap_offset) Allocator(heap_bytes, 0)),
      segment_bytes_(segment_bytes) {}

void ArenaHeap::reset() {
  allocator_ = new (base_ + heap_offset_) Allocator(heap_bytes_, 0);
  undo_ = Undo{};
  pending_retire_.clear();
}

std::vector<uint64_t> ArenaHeap::copy_records(std::span<const std::span<const uint8_t>> records) {
  std::vector<uint64_t> offsets;
  if (records.empty()) return offsets;
  std::vector<Allocator::size_type> sizes(records.size());
  for (size_t i = 0; i < records.size(); ++i) sizes[i] = records[i].size();
  Allocator::multiallocation_chain chain;
  allocator_->allocate_many(sizes.data(), sizes.size(), 1, chain);  // all or none
  if (chain.empty()) out_of_space();
  offsets.reserve(records.size());
  while (!chain.empty()) offsets.push_back(offset_of(chain.pop_front()));
  for (size_t i = 0; i < records.size(); ++i) std::memcpy(base_ + offsets[i], records[i].data(), records[i].size());
  if (undo_.active) undo_.allocated.insert(undo_.allocated.end(), offsets.begin(), offsets.end());
  return offsets;
}

void ArenaHeap::out_of_space() const {
  throw OutOfSpace{"the arena's segment is full (" + std::to_string(segment_bytes_) +
                   " bytes): restart the agent with a larger segment"};
}

void ArenaHeap::begin_batch(bool undoable) {
  undo_ = Undo{};
  undo_.active = undoable;
  pending_retire_.clear();
}

void ArenaHeap::commit_batch(std::deque<Retired>& retired) {
  undo_ = Undo{};
  retired.insert(retired.end(), pending_retire_.begin(), pending_retire_.end());
  pending_retire_.clear();
}

void ArenaHeap::undo_batch() {
  // Release: a reader that still follows an old link sees what it pointed at before the batch.
  for (auto it = undo_.stores.rbegin(); it != undo_.stores.rend(); ++it) it->first->store(it->second, std::memory_order_release);
  for (uint64_t offset : undo_.allocated) allocator_->deallocate(base_ + offset);
  undo_ = Undo{};
  pending_retire_.clear();
}

size_t ArenaHeap::free(uint64_t offset) {
  const size_t bytes = allocator_->size(base_ + offset);
  allocator_->deallocate(base_ + offset);
  return bytes;
}

size_t ArenaHeap::free_bytes() const { return allocator_->get_free_memory(); }

}  // namespace roster::shm
