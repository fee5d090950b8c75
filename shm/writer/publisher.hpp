// Publication and reclamation: makes a batch's generation visible to readers (one release
// point, then the futex wake), scans the readers' pins (after a membarrier), revokes pins held
// past the pin limit, releases the slots of readers that died, and frees what no View can reach.
// The protocol and its races: shm/PROTOCOL.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "arena_heap.hpp"
#include "roster/detail/layout.hpp"
#include "roster/shm/writer.hpp"
#include "segment.hpp"

namespace roster::shm {

class Publisher {
 public:
  // `readers`: the reader-slot segment of `slot_count` slots. `generation`: the empty arena's.
  Publisher(detail::SegmentHeader& header, detail::Mapping& readers, uint32_t slot_count, std::chrono::milliseconds max_pin_age,
            std::chrono::microseconds reclaim_interval, uint64_t generation);

  // Makes `next` (whose batch is written) the published generation, with each registry's upstream
  // revision.
  void publish(uint64_t next, std::span<const uint64_t> revisions);
  // Wakes readers sleeping in wait_for_change (after one publish or several).
  void wake();
  // Frees every retired block no live View can reach; returns the bytes freed.
  size_t reclaim(ArenaHeap& heap);
  // Whether a batch just published should reclaim: the reclaim interval has passed since the
  // last reclaim, or kReclaimBlocks blocks wait (so a run of large batches cannot pile up).
  bool reclaim_due() const {
    return retired_.size() >= kReclaimBlocks || std::chrono::steady_clock::now() - last_reclaim_ >= reclaim_interval_;
  }

  uint64_t generation() const { return generation_; }
  // The oldest generation a live View may read, as of the last reclaim.
  const uint64_t& min_pinned() const { return min_pinned_; }
  std::deque<Retired>& retired() { return retired_; }
  size_t retired_pending() const { return retired_.size(); }
  size_t pinned_views() const { return pinned_views_; }
  size_t evicted_views() const { return evicted_views_; }
  size_t dead_readers() const { return dead_readers_; }
  bool readers_truncated() const { return readers_truncated_; }

 private:
  uint64_t scan_pins();

  detail::SegmentHeader& header_;
  // The reader-slot segment is writable by every reader: its header is never read back, and its
  // slots are only ever compared, never followed. Sizes are the writer's own.
  detail::Mapping& readers_;
  uint32_t slot_count_;
  size_t readers_bytes_;
  std::chrono::milliseconds max_pin_age_;
  std::chrono::microseconds reclaim_interval_;
  std::chrono::steady_clock::time_point last_reclaim_{};
  bool membarrier_ok_;
  uint64_t generation_;            // published
  uint64_t min_pinned_ = 0;        // from the last reclaim: no live View is older
  uint64_t generation_at_last_scan_ = 0;
  std::deque<Retired> retired_;    // oldest first
  struct PinSeen {
    uint64_t generation = 0;
    int64_t since_ms = 0;
  };
  std::vector<PinSeen> pins_seen_;
  size_t pinned_views_ = 0, evicted_views_ = 0, dead_readers_ = 0;
  bool readers_truncated_ = false;
};

}  // namespace roster::shm
