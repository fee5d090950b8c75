// The writer's heap in the data segment: allocation (Boost's best-fit allocator, its bookkeeping
// at the heap's start, which readers never read), the undo log of the batch in progress, and what
// the batch retires. A failed batch is undone from the log before anything was published; a batch
// into a fresh arena keeps no log (a failure there discards the whole heap, see reset()).
#pragma once

#include <atomic>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "roster/detail/layout.hpp"

namespace roster::shm {

// Space running out deep inside a batch (an allocation, an index slot) unwinds to the writer,
// which undoes the batch and reports arena_full. Confined to the writer: its API returns Results.
struct OutOfSpace {
  std::string message;
};

struct Retired {
  uint64_t offset;
  uint64_t generation;  // unreachable once every View is at this generation or newer
  uint64_t unlink;      // node whose `older` points at this one (cleared when freed), or 0
};

class ArenaHeap {
 public:
  // Places the allocator in [heap_offset, heap_offset + heap_bytes) of the segment at `base`.
  ArenaHeap(char* base, uint64_t heap_offset, uint64_t heap_bytes, size_t segment_bytes);

  char* base() const { return base_; }
  uint64_t offset_of(const void* p) const { return static_cast<uint64_t>(static_cast<const char*>(p) - base_); }
  template <typename T>
  T* ptr(uint64_t offset) const {
    return detail::at<T>(base_, offset);
  }

  // At least 8-byte aligned. OutOfSpace when the heap is full.
  uint64_t allocate(size_t bytes) {
    void* p = allocator_->allocate(bytes);  // nullptr when full
    if (!p) out_of_space();
    const uint64_t offset = offset_of(p);
    if (undo_.active) undo_.allocated.push_back(offset);
    return offset;
  }
  // Copies each of `records` into a block of its own; offsets in their order. The blocks are cut
  // from one run of free space in one pass (Boost's allocate_many): a snapshot's million records
  // cost one search of the free tree, not a million. Each block is an ordinary one, freed on its
  // own when its record is replaced. OutOfSpace when they do not all fit.
  std::vector<uint64_t> copy_records(std::span<const std::span<const uint8_t>> records);
  // A store readers may observe; remembered so a failed batch can put the old value back.
  void store(std::atomic<uint64_t>& word, uint64_t value, std::memory_order order) {
    if (undo_.active) undo_.stores.emplace_back(&word, word.load(std::memory_order_relaxed));
    word.store(value, order);
  }
  // Freed once no View can reach it, if the batch completes.
  void retire(uint64_t offset, uint64_t generation, uint64_t unlink = 0) {
    pending_retire_.push_back({offset, generation, unlink});
  }

  // A batch: begin, then commit (its retirements join `retired`) or undo (every store put back,
  // every allocation freed, nothing retired). Without `undoable` nothing is logged: only for a
  // batch whose failure discards the heap (reset()).
  void begin_batch(bool undoable = true);
  void commit_batch(std::deque<Retired>& retired);
  void undo_batch();

  // Frees a block; returns its size.
  size_t free(uint64_t offset);
  size_t free_bytes() const;
  // Forgets every block: the heap is empty again, as new (the batch in progress is dropped).
  void reset();

 private:
  [[noreturn]] void out_of_space() const;
  using Allocator = boost::interprocess::rbtree_best_fit<boost::interprocess::null_mutex_family>;
  char* base_;
  uint64_t heap_offset_, heap_bytes_;
  Allocator* allocator_;
  size_t segment_bytes_;
  struct Undo {
    std::vector<uint64_t> allocated;
    std::vector<std::pair<std::atomic<uint64_t>*, uint64_t>> stores;  // word, previous value
    bool active = false;
  } undo_;
  std::vector<Retired> pending_retire_;  // what the batch replaced
};

}  // namespace roster::shm
