#include "arena_heap.hpp"

#include <cstring>

namespace roster::shm {

ArenaHeap::ArenaHeap(char* base, uint64_t heap_offset, uint64_t heap_bytes, size_t segment_bytes)
    : base_(base), allocator_(new (base + heap_offset) Allocator(heap_bytes, 0)), segment_bytes_(segment_bytes) {}

void ArenaHeap::out_of_space() const {
  throw OutOfSpace{"the arena's segment is full (" + std::to_string(segment_bytes_) +
                   " bytes): restart the agent with a larger segment"};
}

void ArenaHeap::begin_batch() {
  undo_ = Undo{};
  undo_.active = true;
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
