#include "publisher.hpp"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "roster/base/clock.hpp"

namespace roster::shm {

using namespace detail;

namespace {
bool membarrier_available() {
  const long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  return commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED);
}
}  // namespace

Publisher::Publisher(SegmentHeader& header, Mapping& readers, uint32_t slot_count, std::chrono::milliseconds max_pin_age,
                     std::chrono::microseconds reclaim_interval, uint64_t generation)
    : header_(header),
      readers_(readers),
      slot_count_(slot_count),
      readers_bytes_(readers.size()),
      max_pin_age_(max_pin_age),
      reclaim_interval_(reclaim_interval),
      membarrier_ok_(membarrier_available()),
      generation_(generation),
      pins_seen_(slot_count) {}

void Publisher::publish(uint64_t next, std::span<const uint64_t> revisions) {
  // Release: a reader that reads these entries also sees generation next - 1 (Client::view checks
  // the entry it read was not reused this way).
  for (size_t r = 0; r < revisions.size(); ++r)
    header_.revisions[r][next % kRevisionRing].store(revisions[r], std::memory_order_release);
  // Release: everything written for this batch happens-before a View that acquires `next`;
  // seq_cst also orders it before the pin reads in scan_pins for readers without membarrier.
  header_.generation.store(next, std::memory_order_seq_cst);
  header_.generation_word.store(static_cast<uint32_t>(next), std::memory_order_release);
  generation_ = next;
}

void Publisher::wake() { syscall(SYS_futex, &header_.generation_word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

// The oldest generation a live View may be reading; revokes pins that are too old and
// releases the slots of readers that died.
uint64_t Publisher::scan_pins() {
  // Readers pin with a plain store and no fence; this barrier on every CPU running a reader
  // makes those stores visible before we read them (pairs with the reader's pin loop).
  // Readers without membarrier pin with seq_cst operations instead, which pair with the
  // seq_cst publish above and the seq_cst pin reads below.
  if (membarrier_ok_) syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
  // A reader could shrink the file under us; then nothing it says can be read safely, and
  // nothing is freed until the arena is replaced.
  struct stat st {};
  if (::fstat(readers_.fd(), &st) != 0 || static_cast<size_t>(st.st_size) < readers_bytes_) {
    readers_truncated_ = true;
    return min_pinned_;
  }
  auto* slots = reinterpret_cast<ReaderSlot*>(static_cast<char*>(readers_.base()) + sizeof(ReaderSegmentHeader));
  const int64_t now = base::steady_ms();
  uint64_t oldest = generation_;
  pinned_views_ = 0;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    const uint64_t pinned = slots[i].pinned.load(std::memory_order_seq_cst);
    if (pinned == 0 || pinned >= generation_) continue;
    // A pin at or below the revoked one belongs to Views that already report eviction.
    if (pinned <= slots[i].evicted.load(std::memory_order_relaxed)) continue;
    PinSeen& seen = pins_seen_[i];
    // A reader pins the generation current when it opens a View, so a fresh pin is at least
    // the generation of the previous scan: only that restarts its age. A pin written any other
    // way (moved back, or crept forward slowly by something that is not a reader) keeps aging,
    // so nothing can hold memory past the pin limit by rewriting its slot. (A thread that
    // closes its older View of two keeps the older one's age: evicted early, never late.)
    if (seen.since_ms == 0 || (pinned > seen.generation && pinned >= generation_at_last_scan_)) seen = {pinned, now};
    const int64_t age = now - seen.since_ms;
    const uint64_t slot_offset = sizeof(ReaderSegmentHeader) + i * sizeof(ReaderSlot);
    if (age > 100 && !range_is_locked(readers_.fd(), slot_offset, sizeof(ReaderSlot))) {
      // The reader died holding a View (its OFD lock went with it): release its slot.
      slots[i].pinned.store(0, std::memory_order_relaxed);
      slots[i].owner.store(0, std::memory_order_release);
      ++dead_readers_;
      continue;
    }
    if (age > max_pin_age_.count()) {
      // Revoke the pin: the View reports itself evicted from now on (it checks `evicted`).
      slots[i].evicted.store(pinned, std::memory_order_release);
      ++evicted_views_;
      continue;
    }
    ++pinned_views_;
    oldest = std::min(oldest, pinned);
  }
  generation_at_last_scan_ = generation_;
  return oldest;
}

size_t Publisher::reclaim(ArenaHeap& heap) {
  last_reclaim_ = std::chrono::steady_clock::now();
  min_pinned_ = scan_pins();
  size_t freed = 0;
  while (!retired_.empty() && retired_.front().generation <= min_pinned_) {
    Retired r = retired_.front();
    retired_.pop_front();
    // No View can reach it: one at generation >= r.generation stops at a newer node.
    if (r.unlink) heap.ptr<ServiceNode>(r.unlink)->older.store(0, std::memory_order_relaxed);
    freed += heap.free(r.offset);
  }
  return freed;
}

}  // namespace roster::shm
