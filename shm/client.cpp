// The reader's Client: attaching to the arena, re-attaching when an agent replaced it, pinning a
// generation for each View (roster/client.hpp), and dropping replaced mappings once no View and
// no thread can reach them. Lookups are in view.cpp.
#include "roster/client.hpp"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <deque>
#include <mutex>

#include "attachment.hpp"

namespace roster {

using namespace shm::detail;

namespace {

uint64_t slot_offset(uint32_t i) { return sizeof(ReaderSegmentHeader) + uint64_t{i} * sizeof(ReaderSlot); }

// Readers pin with a plain store; the writer's membarrier() makes it visible. Registration is
// per process and once; where it fails the pin falls back to a full fence.
bool register_membarrier() {
  static const bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
  return ok;
}

// The same asymmetric fence inside this process, for the hazards below.
bool register_private_membarrier() {
  static const bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  return ok;
}

std::atomic<uint64_t> next_state_id{1};

// ThreadSanitizer cannot see the ordering membarrier() gives, so TSan builds pin the portable way.
#if defined(__SANITIZE_THREAD__)
constexpr bool kAlwaysFence = true;
#else
constexpr bool kAlwaysFence = false;
#endif

// What this thread is about to touch before it holds a pin there: the attachment it loaded from
// a Client's `current`. A replaced attachment is unmapped only when no thread announces it.
struct Hazard {
  std::atomic<const Attachment*> attachment{nullptr};
};

struct HazardRegistry {
  std::mutex mutex;
  std::vector<Hazard*> hazards;
};
HazardRegistry& hazard_registry() {
  static HazardRegistry* registry = new HazardRegistry;  // never destroyed: threads outlive statics
  return *registry;
}

struct ThreadHazard {
  Hazard hazard;
  ThreadHazard() {
    auto& r = hazard_registry();
    std::lock_guard lock(r.mutex);
    r.hazards.push_back(&hazard);
  }
  ~ThreadHazard() {
    auto& r = hazard_registry();
    std::lock_guard lock(r.mutex);
    std::erase(r.hazards, &hazard);
  }
};
thread_local ThreadHazard t_hazard;

}  // namespace

// This thread's reader slot for one (client, attachment). Views opened on this thread share it:
// the slot pins the oldest of their generations, and moves forward as the oldest close.
struct ThreadSlot {
  uint64_t state_id, epoch;
  std::weak_ptr<Client::State> owner;
  Attachment* attachment;
  uint32_t index;
  std::vector<uint64_t> open;  // generations of the open Views (capacity is kept: no allocation)
  bool released = false;       // its attachment was dropped (under the State's mutex)
};

struct Client::State {
  std::string name;
  OwnerRule owner_rule;
  uint64_t id = next_state_id.fetch_add(1);
  bool full_fence = kAlwaysFence || !register_membarrier();
  bool private_fence = !kAlwaysFence && register_private_membarrier();
  std::atomic<Attachment*> current{nullptr};
  std::mutex mutex;  // attachments, users; re-attach and reaping
  std::vector<std::unique_ptr<Attachment>> attachments;
  std::vector<ThreadSlot*> users;  // every thread's slot in one of the attachments

  // Announces `a` as this thread's hazard and returns the current attachment, which is `a` again
  // unless it moved meanwhile (then announce that one). The store and the re-load pair with
  // reap()'s swap, membarrier and scan of the hazards: either reap() sees the announcement, or
  // the re-load sees the new attachment.
  Attachment* protect() {
    Attachment* a = current.load(std::memory_order_acquire);
    for (;;) {
      if (private_fence) {
        t_hazard.hazard.attachment.store(a, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);  // compiler barrier; reap() fences
      } else {
        t_hazard.hazard.attachment.store(a, std::memory_order_seq_cst);
      }
      Attachment* now = current.load(private_fence ? std::memory_order_acquire : std::memory_order_seq_cst);
      if (now == a) return a;
      a = now;
    }
  }
  static void unprotect() { t_hazard.hazard.attachment.store(nullptr, std::memory_order_release); }

  Attachment* reattach(Attachment* seen) {
    std::lock_guard lock(mutex);
    Attachment* now = current.load(std::memory_order_acquire);
    if (now != seen) return now;  // another thread did it
    auto fresh = attach(name, attachments.back()->epoch + 1, owner_rule);
    if (!fresh) return seen;  // keep reading the last generation; try again on the next View
    attachments.push_back(std::move(*fresh));
    // Release: threads that load the pointer see the fully built Attachment.
    current.store(attachments.back().get(), std::memory_order_release);
    t_hazard.hazard.attachment.store(attachments.back().get(), std::memory_order_relaxed);
    reap();
    return attachments.back().get();
  }

  // Drops the replaced attachments no View pins and no thread is about to touch. Under `mutex`.
  void reap() {
    if (attachments.size() < 2) return;
    // Makes every thread's hazard store visible (pairs with protect()); seq_cst loads otherwise.
    if (private_fence) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    std::vector<const Attachment*> hazards;
    {
      auto& r = hazard_registry();
      std::lock_guard lock(r.mutex);
      for (Hazard* h : r.hazards) hazards.push_back(h->attachment.load(std::memory_order_seq_cst));
    }
    Attachment* live = current.load(std::memory_order_relaxed);
    std::erase_if(attachments, [&](const std::unique_ptr<Attachment>& a) {
      if (a.get() == live || std::find(hazards.begin(), hazards.end(), a.get()) != hazards.end()) return false;
      // A pin in this attachment's slots means an open View (acquire: pairs with View::close()'s
      // release store of 0, after which that thread never touches the attachment again).
      for (ThreadSlot* ts : users)
        if (ts->attachment == a.get() && a->slots[ts->index].pinned.load(std::memory_order_acquire) != 0) return false;
      for (ThreadSlot* ts : users)
        if (ts->attachment == a.get()) ts->released = true;  // closing the fd releases its OFD lock
      std::erase_if(users, [&](ThreadSlot* ts) { return ts->attachment == a.get(); });
      return true;
    });
  }
};

namespace {

struct ThreadSlots {
  std::deque<ThreadSlot> slots;  // a deque: Views point at elements, which must not move
  ~ThreadSlots() {
    for (auto& ts : slots)
      if (auto state = ts.owner.lock()) {
        std::lock_guard lock(state->mutex);
        if (ts.released) continue;
        ReaderSlot& slot = ts.attachment->slots[ts.index];
        slot.pinned.store(0, std::memory_order_release);
        unlock_range(ts.attachment->readers->fd(), slot_offset(ts.index), sizeof(ReaderSlot));
        slot.owner.store(0, std::memory_order_release);
        std::erase(state->users, &ts);
      }
  }
};

thread_local ThreadSlots t_slots;
// The slot the thread used last: nearly every View goes to the same client and attachment.
thread_local ThreadSlot* t_last_slot = nullptr;
std::atomic<uint64_t> next_token{1};

ThreadSlot& claim_slot(const std::shared_ptr<Client::State>& state, Attachment* a) {
  const uint64_t token = (static_cast<uint64_t>(getpid()) << 32) | (next_token.fetch_add(1) & 0xffffffff);
  const int fd = a->readers->fd();
  // First pass: free slots. Second: slots whose owner died (its OFD lock went with it). Every
  // reader can write these words: they are only ever compared, never followed.
  for (int pass = 0; pass < 2; ++pass)
    for (uint32_t i = 0; i < a->slot_count; ++i) {
      ReaderSlot& slot = a->slots[i];
      uint64_t owner = slot.owner.load(std::memory_order_acquire);
      if (pass == 0 && owner != 0) continue;
      if (pass == 1 && (owner == 0 || range_is_locked(fd, slot_offset(i), sizeof(ReaderSlot)))) continue;
      if (!slot.owner.compare_exchange_strong(owner, token, std::memory_order_acq_rel)) continue;
      if (!lock_range(fd, slot_offset(i), sizeof(ReaderSlot))) {
        slot.owner.store(owner, std::memory_order_release);  // a live reader still holds it
        continue;
      }
      slot.pinned.store(0, std::memory_order_relaxed);
      slot.evicted.store(0, std::memory_order_relaxed);
      t_slots.slots.push_back({state->id, a->epoch, state, a, i, {}, false});
      std::lock_guard lock(state->mutex);
      state->users.push_back(&t_slots.slots.back());
      return t_slots.slots.back();
    }
  throw Exception({ErrorKind::Unavailable, "no_reader_slot",
                   "all " + std::to_string(a->slot_count) + " reader slots of arena \"" + state->name +
                       "\" are taken (start the agent with more --reader-slots)"});
}

}  // namespace

Result<Client> Client::open(std::string_view name, ClientOptions options) {
  auto state = std::make_shared<State>();
  state->name = std::string(name);
  state->owner_rule.owner = options.owner;
  auto first = attach(state->name, 0, state->owner_rule);
  if (!first) return fail(std::move(first).error());
  state->attachments.push_back(std::move(*first));
  state->current.store(state->attachments.back().get(), std::memory_order_release);
  return Client(std::move(state));
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

size_t Client::attachments() const {
  std::lock_guard lock(state_->mutex);
  return state_->attachments.size();
}

View Client::view() {
  Attachment* a = state_->protect();
  // Acquire pairs with the new writer's release store of `replaced`.
  if (a->header->replaced.load(std::memory_order_acquire)) a = state_->reattach(a);

  ThreadSlot* ts = t_last_slot;
  if (!ts || ts->state_id != state_->id || ts->epoch != a->epoch) {
    ts = nullptr;
    for (auto& candidate : t_slots.slots)
      if (candidate.state_id == state_->id && candidate.epoch == a->epoch) {
        ts = &candidate;
        break;
      }
    if (!ts) {
      ts = &claim_slot(state_, a);
      // A thread moving to a new attachment may have been the last one holding an old one.
      std::lock_guard lock(state_->mutex);
      state_->reap();
    }
    t_last_slot = ts;
  }

  View v;
  v.attachment_ = a;
  v.slot_ = &a->slots[ts->index];
  v.thread_slot_ = ts;
  uint64_t g = a->header->generation.load(std::memory_order_acquire);
  for (;;) {
    if (ts->open.empty()) {
      // Pin: store the generation, then check it is still current. The writer publishes, then
      // runs membarrier() (a fence on every CPU running a reader), then scans the pins: either it
      // sees our pin, or our re-load below sees its newer generation and we pin that instead.
      for (;;) {
        uint64_t now;
        if (state_->full_fence) {
          // Without membarrier: a seq_cst store and load (pairs with the writer's seq_cst publish
          // and seq_cst reads of the pins, a Dekker pattern: one side sees the other's store).
          v.slot_->pinned.store(g, std::memory_order_seq_cst);
          now = a->header->generation.load(std::memory_order_seq_cst);
        } else {
          v.slot_->pinned.store(g, std::memory_order_relaxed);
          std::atomic_signal_fence(std::memory_order_seq_cst);  // compiler barrier only
          now = a->header->generation.load(std::memory_order_acquire);
        }
        if (now == g) break;
        g = now;
      }
      v.pin_ = g;
    } else {
      // Another View on this thread already pins an older generation, which protects this one.
      v.pin_ = v.slot_->pinned.load(std::memory_order_relaxed);
    }
    // g's revision, from the ring that keeps the last kRevisionRing generations' revisions. A
    // thread descheduled here while the writer published that many more would read a reused
    // entry. The writer fills the entry of g + ring only after it published g + ring - 1, with a
    // release store: an entry read (acquire) before the generation is seen at most g + ring - 2
    // is g's own. Otherwise take the newer generation (the older pin, if any, protects it too).
    v.revision_ = a->header->revisions[0][g % kRevisionRing].load(std::memory_order_acquire);
    const uint64_t now = a->header->generation.load(std::memory_order_acquire);
    if (now - g <= kRevisionRing - 2) break;
    g = now;
  }
  // The pin protects the attachment from here on.
  State::unprotect();
  ts->open.push_back(g);
  v.generation_ = g;
  return v;
}

uint64_t Client::generation() const {
  const Attachment* a = state_->protect();
  const uint64_t g = a->header->generation.load(std::memory_order_acquire);
  State::unprotect();
  return g;
}

bool Client::wait_for_change(uint64_t generation, std::chrono::milliseconds timeout) {
  const Attachment* a = state_->protect();  // kept mapped for the whole wait
  bool changed = a->header->replaced.load(std::memory_order_acquire) ||
                 a->header->generation.load(std::memory_order_acquire) != generation;
  if (!changed) {
    struct timespec ts {
      static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1'000'000
    };
    // A shared (not FUTEX_PRIVATE) wait: the writer is another process. The word's low 32 bits
    // equal the generation; the kernel returns at once if it moved on already.
    syscall(SYS_futex, &a->header->generation_word, FUTEX_WAIT, static_cast<uint32_t>(generation), &ts, nullptr, 0);
    changed = a->header->generation.load(std::memory_order_acquire) != generation ||
              a->header->replaced.load(std::memory_order_acquire);
  }
  State::unprotect();
  return changed;
}

// --- View: opening and closing --------------------------------------------------------------

View::View(View&& o) noexcept { *this = std::move(o); }

View& View::operator=(View&& o) noexcept {
  if (this != &o) {
    close();
    attachment_ = o.attachment_;
    slot_ = o.slot_;
    thread_slot_ = o.thread_slot_;
    generation_ = o.generation_;
    revision_ = o.revision_;
    pin_ = o.pin_;
    corrupt_ = o.corrupt_;
    o.slot_ = nullptr;
  }
  return *this;
}

View::~View() { close(); }

namespace {

// The last View on a replaced attachment closed: drop what nothing uses any more.
[[gnu::noinline]] void reap_after_close(ThreadSlot* ts) {
  if (auto state = ts->owner.lock()) {
    std::lock_guard lock(state->mutex);
    state->reap();
  }
}

}  // namespace

void View::close() {
  if (!slot_) return;
  auto& open = thread_slot_->open;
  if (open.size() == 1) {  // the common case: the thread's only View
    open.clear();
    // Read before the pin goes: once it is 0, the client may drop the attachment at any moment.
    // Relaxed: a late look only delays the drop to the next close or re-attach.
    const bool replaced = attachment_->header->replaced.load(std::memory_order_relaxed);
    // Release: our reads happen-before the writer frees what it no longer sees pinned (and the
    // client drops a replaced attachment).
    slot_->pinned.store(0, std::memory_order_release);
    slot_ = nullptr;
    if (replaced) reap_after_close(thread_slot_);
    return;
  }
  open.erase(std::find(open.begin(), open.end(), generation_));
  // Release: our reads happen-before the writer frees what it no longer sees pinned. With Views
  // left, the pin moves up to the oldest of them (safe: none needs anything older).
  if (open.empty())
    slot_->pinned.store(0, std::memory_order_release);
  else if (const uint64_t oldest = *std::min_element(open.begin(), open.end());
           oldest > slot_->pinned.load(std::memory_order_relaxed))
    slot_->pinned.store(oldest, std::memory_order_release);
  slot_ = nullptr;
}

bool View::evicted() const {
  // The writer revoked the slot's pin at some generation: every View protected by a pin at or
  // below it is unprotected now.
  return slot_ && slot_->evicted.load(std::memory_order_acquire) >= pin_;
}

}  // namespace roster
