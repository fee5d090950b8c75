#include "roster/client.hpp"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <ctime>
#include <mutex>
#include <unordered_set>

#include "hash.hpp"
#include "roster/base/clock.hpp"
#include "segment.hpp"

namespace roster {

using namespace shm::detail;

namespace {

// One mapping of the arena's two segments. A Client keeps every Attachment it made until it is
// destroyed, so Views opened before a re-attach stay valid.
struct Attachment {
  std::unique_ptr<Mapping> data, readers;
  const SegmentHeader* header = nullptr;
  ReaderSlot* slots = nullptr;
  uint32_t slot_count = 0;
  uint64_t epoch = 0;
};

uint64_t slot_offset(uint32_t i) { return sizeof(ReaderSegmentHeader) + uint64_t{i} * sizeof(ReaderSlot); }

std::string_view node_name(const ServiceNode* n) {
  return {reinterpret_cast<const char*>(n) + n->name_offset, n->name_bytes};
}

// Readers pin with a plain store; the writer's membarrier() makes it visible. Registration is
// per process and once; where it fails the pin falls back to a full fence.
bool register_membarrier() {
  static const bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
  return ok;
}

Result<std::unique_ptr<Attachment>> attach(const std::string& name, uint64_t epoch) {
  const std::string data_path = "/dev/shm/" + data_segment_name(name);
  // The writer names the reader segment first and the data segment second; a reader that
  // races a replacement can see a new reader segment with an old data segment: retry.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto data = Mapping::open(data_segment_name(name), false);
    if (!data && data.error().kind == ErrorKind::NotFound)
      return fail(ErrorKind::NotFound, "no_arena",
                  "no roster arena named \"" + name + "\" (" + data_path + " is missing: is roster-agent running?)");
    if (!data) return fail(data.error());
    if ((*data)->size() < sizeof(SegmentHeader))
      return fail(ErrorKind::Corrupt, "not_an_arena", data_path + " is not a roster arena");
    auto* h = static_cast<const SegmentHeader*>((*data)->base());
    if (h->magic != kSegmentMagic) return fail(ErrorKind::Corrupt, "not_an_arena", data_path + " is not a roster arena");
    if (h->layout_version != kLayoutVersion)
      return fail(ErrorKind::Conflict, "layout_mismatch",
                  "arena \"" + name + "\" has layout version " + std::to_string(h->layout_version) +
                      "; this client reads version " + std::to_string(kLayoutVersion) +
                      " (upgrade the client or the agent)");
    auto readers = Mapping::open(reader_segment_name(name), true);
    if (!readers && readers.error().kind == ErrorKind::NotFound)
      return fail(ErrorKind::NotFound, "no_arena", "/dev/shm/" + reader_segment_name(name) + " is missing");
    if (!readers) return fail(readers.error());
    auto* rh = static_cast<ReaderSegmentHeader*>((*readers)->base());
    if ((*readers)->size() < sizeof(ReaderSegmentHeader) || rh->magic != kReaderMagic ||
        rh->layout_version != kLayoutVersion)
      return fail(ErrorKind::Corrupt, "not_an_arena",
                  "/dev/shm/" + reader_segment_name(name) + " is not a roster reader-slot segment");
    if (h->instance_id != rh->instance_id || (*readers)->size() < slot_offset(rh->slot_count)) {
      usleep(1000);
      continue;
    }
    auto a = std::make_unique<Attachment>();
    a->header = h;
    a->slots = reinterpret_cast<ReaderSlot*>(static_cast<char*>((*readers)->base()) + sizeof(ReaderSegmentHeader));
    a->slot_count = rh->slot_count;
    a->epoch = epoch;
    a->data = std::move(*data);
    a->readers = std::move(*readers);
    return a;
  }
  return fail(ErrorKind::Io, "io_error",
              "arena \"" + name + "\" keeps changing under the reader; is more than one agent running?");
}

std::atomic<uint64_t> next_state_id{1};

// ThreadSanitizer cannot see the ordering membarrier() gives, so TSan builds pin the portable way.
#if defined(__SANITIZE_THREAD__)
constexpr bool kAlwaysFence = true;
#else
constexpr bool kAlwaysFence = false;
#endif

}  // namespace

struct Client::State {
  std::string name;
  uint64_t id = next_state_id.fetch_add(1);
  bool full_fence = kAlwaysFence || !register_membarrier();
  std::atomic<Attachment*> current{nullptr};
  std::mutex mutex;  // re-attach
  std::vector<std::unique_ptr<Attachment>> attachments;

  Attachment* reattach(Attachment* seen) {
    std::lock_guard lock(mutex);
    Attachment* now = current.load(std::memory_order_acquire);
    if (now != seen) return now;  // another thread did it
    auto fresh = attach(name, attachments.size() + 1);
    if (!fresh) return seen;  // keep reading the last generation; try again on the next View
    attachments.push_back(std::move(*fresh));
    // Release: threads that load the pointer see the fully built Attachment.
    current.store(attachments.back().get(), std::memory_order_release);
    return attachments.back().get();
  }
};

namespace {

// This thread's reader slots, one per (client, attachment); released when the thread exits.
}  // namespace

// This thread's reader slot for one (client, attachment). Views opened on this thread share it:
// the slot pins the oldest of their generations, and moves forward as the oldest close.
struct ThreadSlot {
  uint64_t state_id, epoch;
  std::weak_ptr<Client::State> owner;
  Attachment* attachment;
  uint32_t index;
  std::vector<uint64_t> open;  // generations of the open Views (capacity is kept: no allocation)
};

namespace {

struct ThreadSlots {
  std::deque<ThreadSlot> slots;  // a deque: Views point at elements, which must not move
  ~ThreadSlots() {
    for (auto& ts : slots)
      if (auto state = ts.owner.lock()) {
        ReaderSlot& slot = ts.attachment->slots[ts.index];
        slot.pinned.store(0, std::memory_order_release);
        unlock_range(ts.attachment->readers->fd(), slot_offset(ts.index), sizeof(ReaderSlot));
        slot.owner.store(0, std::memory_order_release);
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
  // First pass: free slots. Second: slots whose owner died (its OFD lock went with it).
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
      t_slots.slots.push_back({state->id, a->epoch, state, a, i, {}});
      return t_slots.slots.back();
    }
  throw Exception({ErrorKind::Unavailable, "no_reader_slot",
                   "all " + std::to_string(a->slot_count) + " reader slots of arena \"" + state->name +
                       "\" are taken (start the agent with more --reader-slots)"});
}

}  // namespace

Result<Client> Client::open(std::string_view name) {
  auto state = std::make_shared<State>();
  state->name = std::string(name);
  auto first = attach(state->name, 0);
  if (!first) return fail(std::move(first).error());
  state->attachments.push_back(std::move(*first));
  state->current.store(state->attachments.back().get(), std::memory_order_release);
  return Client(std::move(state));
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

View Client::view() {
  Attachment* a = state_->current.load(std::memory_order_acquire);
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
    if (!ts) ts = &claim_slot(state_, a);
    t_last_slot = ts;
  }

  View v;
  v.base_ = static_cast<const char*>(a->data->base());
  v.header_ = a->header;
  v.slot_ = &a->slots[ts->index];
  v.thread_slot_ = ts;
  uint64_t g = a->header->generation.load(std::memory_order_acquire);
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
  ts->open.push_back(g);
  v.generation_ = g;
  v.revision_ = a->header->revisions[g % kRevisionRing].load(std::memory_order_relaxed);
  return v;
}

uint64_t Client::generation() const {
  return state_->current.load(std::memory_order_acquire)->header->generation.load(std::memory_order_acquire);
}

bool Client::wait_for_change(uint64_t generation, std::chrono::milliseconds timeout) {
  Attachment* a = state_->current.load(std::memory_order_acquire);
  if (a->header->replaced.load(std::memory_order_acquire)) return true;
  if (a->header->generation.load(std::memory_order_acquire) != generation) return true;
  struct timespec ts {
    static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1'000'000
  };
  // A shared (not FUTEX_PRIVATE) wait: the writer is another process. The word's low 32 bits
  // equal the generation; the kernel returns at once if it moved on already.
  syscall(SYS_futex, &a->header->generation_word, FUTEX_WAIT, static_cast<uint32_t>(generation), &ts, nullptr, 0);
  return a->header->generation.load(std::memory_order_acquire) != generation ||
         a->header->replaced.load(std::memory_order_acquire);
}

// --- View -------------------------------------------------------------------------------------

View::View(View&& o) noexcept { *this = std::move(o); }

View& View::operator=(View&& o) noexcept {
  if (this != &o) {
    close();
    base_ = o.base_;
    header_ = o.header_;
    slot_ = o.slot_;
    thread_slot_ = o.thread_slot_;
    generation_ = o.generation_;
    revision_ = o.revision_;
    pin_ = o.pin_;
    o.slot_ = nullptr;
  }
  return *this;
}

View::~View() { close(); }

void View::close() {
  if (!slot_) return;
  auto& open = thread_slot_->open;
  if (open.size() == 1) {  // the common case: the thread's only View
    open.clear();
    // Release: our reads happen-before the writer frees what it no longer sees pinned.
    slot_->pinned.store(0, std::memory_order_release);
    slot_ = nullptr;
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

std::chrono::milliseconds View::staleness() const {
  const int64_t contact = header_->last_upstream_contact_ms.load(std::memory_order_relaxed);
  if (contact == 0) return std::chrono::milliseconds::max();
  const int64_t now = base::unix_ms();
  return std::chrono::milliseconds(std::max<int64_t>(0, now - contact));
}

const ServiceNode* View::node(std::string_view name) const {
  if (!slot_ || evicted()) return nullptr;
  const uint64_t hash = key_hash(name);
  const auto* slots = at<ServiceSlot>(base_, header_->service_table);
  const uint64_t mask = header_->service_capacity - 1;
  for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    // Acquire pairs with the writer's release stores of the slot: hash after head after node.
    const uint64_t h = slots[i].hash.load(std::memory_order_acquire);
    if (h == 0) return nullptr;
    if (h != hash) continue;
    const uint64_t head = slots[i].head.load(std::memory_order_acquire);
    if (head == 0) continue;  // claimed by a batch that is not published yet
    const auto* n = at<ServiceNode>(base_, head);
    if (node_name(n) != name) continue;  // a different name with the same hash
    // The newest node not newer than this View's generation.
    while (n->generation > generation_) {
      const uint64_t older = n->older.load(std::memory_order_acquire);
      if (!older) return nullptr;  // the service did not exist yet at this generation
      n = at<ServiceNode>(base_, older);
    }
    return n;
  }
  return nullptr;
}

std::optional<ServiceVersion> View::version_at(const ServiceNode* n, uint32_t index) const {
  if (!n || index == kNone || index >= n->version_count) return std::nullopt;
  return ServiceVersion(flatbuffers::GetRoot<wire::ServiceVersion>(base_ + n->versions()[index].record));
}

std::optional<ServiceVersion> View::service(std::string_view name) const {
  const ServiceNode* n = node(name);
  return n ? version_at(n, n->latest_stable) : std::nullopt;
}

std::optional<ServiceVersion> View::latest(std::string_view name, Latest which) const {
  const ServiceNode* n = node(name);
  return n ? version_at(n, which == Latest::IncludingPrereleases ? n->latest_any : n->latest_stable) : std::nullopt;
}

std::optional<ServiceVersion> View::service(std::string_view name, std::string_view version) const {
  const ServiceNode* n = node(name);
  if (!n) return std::nullopt;
  for (uint32_t i = 0; i < n->version_count; ++i) {
    auto v = version_at(n, i);
    if (v->version() == version) return v;
  }
  return std::nullopt;
}

std::vector<ServiceVersion> View::versions(std::string_view name) const {
  std::vector<ServiceVersion> out;
  if (const ServiceNode* n = node(name))
    for (uint32_t i = 0; i < n->version_count; ++i) out.push_back(*version_at(n, i));
  return out;
}

Instances View::instances(std::string_view name, Filter filter) const {
  const ServiceNode* n = node(name);
  if (!n) return {};
  return {base_, n->instances(), n->instances() + n->instance_count, filter == Filter::Healthy};
}

Instances View::instances(std::string_view name, std::string_view version, Filter filter) const {
  const ServiceNode* n = node(name);
  if (!n) return {};
  for (uint32_t i = 0; i < n->version_count; ++i) {
    const VersionEntry& e = n->versions()[i];
    if (flatbuffers::GetRoot<wire::ServiceVersion>(base_ + e.record)->version()->string_view() != version) continue;
    const InstanceEntry* begin = n->instances() + e.instance_begin;
    // Healthy instances come first: the healthy filter is a prefix.
    const InstanceEntry* end = begin + (filter == Filter::Healthy ? e.healthy_count : e.instance_count);
    return {base_, begin, end, false};
  }
  return {};
}

size_t Instances::size() const {
  size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

uint64_t View::list_head(uint64_t table, std::string_view key) const {
  if (!slot_ || evicted()) return 0;
  const uint64_t hash = key_hash(key);
  const auto* slots = at<ListSlot>(base_, table);
  const uint64_t mask = header_->key_capacity - 1;
  for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    const uint64_t h = slots[i].hash.load(std::memory_order_acquire);
    if (h == 0) return 0;
    if (h == hash) return table + i * sizeof(ListSlot) + offsetof(ListSlot, head);
  }
  return 0;
}

VersionList View::list(uint64_t head_offset) const {
  VersionList l;
  if (!head_offset) return l;
  // Acquire: pairs with the writer's release store of a new array.
  const uint64_t array = at<ListHead>(base_, head_offset)->array.load(std::memory_order_acquire);
  if (!array) return l;
  const auto* a = at<ListArray>(base_, array);
  l.base_ = base_;
  l.entries_ = a->entries();
  // Acquire: entries below the count are initialised.
  l.count_ = a->count.load(std::memory_order_acquire);
  l.generation_ = generation_;
  return l;
}

VersionList View::by_team(std::string_view team) const {
  VersionList l = list(list_head(header_->team_table, team));
  l.key_kind_ = VersionList::Key::Team;
  l.bind_key(team);
  return l;
}

VersionList View::by_tag(std::string_view tag) const {
  VersionList l = list(list_head(header_->tag_table, tag));
  l.key_kind_ = VersionList::Key::Tag;
  l.bind_key(tag);
  return l;
}

void VersionList::bind_key(std::string_view requested) {
  key_ = requested;  // only while looking for the first match below
  for (uint64_t i = 0; i < count_; ++i) {
    const ListEntry& e = entries_[i];
    if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
    const auto& v = *flatbuffers::GetRoot<wire::ServiceVersion>(base_ + e.record);
    if (!matches(v)) continue;
    if (key_kind_ == Key::Team) {
      key_ = v.owner_team()->string_view();
    } else {
      for (auto* t : *v.tags())
        if (t->string_view() == requested) key_ = t->string_view();
    }
    return;
  }
  count_ = 0;  // nothing matches: the list is empty, and never reads `requested` again
  key_ = {};
}

VersionList View::by_stage(wire::LifecycleStage stage) const {
  if (!slot_ || evicted() || static_cast<size_t>(stage) >= kStageCount) return {};
  VersionList l = list(header_->stage_lists + static_cast<size_t>(stage) * sizeof(ListHead));
  l.key_kind_ = VersionList::Key::Stage;
  l.stage_ = stage;
  return l;
}

bool VersionList::matches(const wire::ServiceVersion& v) const {
  switch (key_kind_) {
    case Key::Team: return v.owner_team()->string_view() == key_;
    case Key::Stage: return v.stage() == stage_;
    case Key::Tag:
      if (v.tags())
        for (auto* t : *v.tags())
          if (t->string_view() == key_) return true;
      return false;
  }
  return false;
}

void VersionList::iterator::skip() {
  for (; i_ < list_->count_; ++i_) {
    const ListEntry& e = list_->entries_[i_];
    // Live in this generation: added at or before it, removed after it. Relaxed: the entry's
    // removal at a newer generation does not concern this View either way.
    if (e.added > list_->generation_ || e.removed.load(std::memory_order_relaxed) <= list_->generation_) continue;
    // Keys share a table slot when their hashes collide: check the record's own field.
    if (list_->matches(*flatbuffers::GetRoot<wire::ServiceVersion>(list_->base_ + e.record))) return;
  }
}

ServiceVersion VersionList::iterator::operator*() const {
  return ServiceVersion(flatbuffers::GetRoot<wire::ServiceVersion>(list_->base_ + list_->entries_[i_].record));
}

std::vector<ServiceVersion> VersionList::to_vector() const {
  std::vector<ServiceVersion> out;
  for (auto v : *this) out.push_back(v);
  return out;
}

// --- dependencies ------------------------------------------------------------------------------

std::vector<Dependency> View::dependencies(std::string_view name, Depth depth) const {
  auto latest = service(name);
  if (!latest) return {};
  return dependencies(name, latest->version(), depth);
}

std::vector<Dependency> View::dependencies(std::string_view name, std::string_view version, Depth depth) const {
  std::vector<Dependency> out;
  std::unordered_set<const void*> visited;
  std::vector<std::pair<std::string_view, std::string_view>> queue{{name, version}};
  while (!queue.empty()) {
    auto [svc, ver] = queue.back();
    queue.pop_back();
    const ServiceNode* n = node(svc);
    if (!n) continue;
    for (uint32_t i = 0; i < n->version_count; ++i) {
      const VersionEntry& e = n->versions()[i];
      auto* rec = flatbuffers::GetRoot<wire::ServiceVersion>(base_ + e.record);
      if (rec->version()->string_view() != ver || !visited.insert(rec).second) continue;
      for (uint32_t d = 0; d < e.dependency_count; ++d) {
        const DependencyEdge& edge = n->dependencies()[e.dependency_begin + d];
        auto* declared = rec->dependencies()->Get(edge.dependency_index);
        Dependency dep{ServiceVersion(rec), declared->service()->string_view(), declared->range()->string_view(),
                       std::nullopt};
        if (edge.resolved_version != kNone) {
          const std::string_view resolved(reinterpret_cast<const char*>(n) + edge.resolved_version,
                                          edge.resolved_version_bytes);
          dep.resolved = service(dep.service, resolved);
          if (depth == Depth::Transitive && dep.resolved) queue.emplace_back(dep.service, resolved);
        }
        out.push_back(dep);
      }
    }
  }
  return out;
}

std::vector<ServiceVersion> View::dependents(std::string_view name, Depth depth) const {
  std::vector<ServiceVersion> out;
  std::unordered_set<std::string_view> seen_services{name};
  std::unordered_set<const void*> seen_versions;
  std::vector<std::string_view> queue{name};
  while (!queue.empty()) {
    const std::string_view target = queue.back();
    queue.pop_back();
    const uint64_t target_hash = key_hash(target);
    VersionList l = list(list_head(header_->dependents_table, target));
    for (uint64_t i = 0; i < l.count_; ++i) {
      const ListEntry& e = l.entries_[i];
      if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
      auto* rec = flatbuffers::GetRoot<wire::ServiceVersion>(base_ + e.record);
      // Keep it if one of its declared dependencies on `target` resolved to a version.
      const ServiceNode* n = node(rec->name()->string_view());
      if (!n) continue;
      bool resolves = false;
      for (uint32_t v = 0; v < n->version_count && !resolves; ++v) {
        const VersionEntry& ve = n->versions()[v];
        if (ve.record != e.record) continue;
        for (uint32_t d = 0; d < ve.dependency_count; ++d) {
          const DependencyEdge& edge = n->dependencies()[ve.dependency_begin + d];
          if (edge.service_hash == target_hash && edge.resolved_version != kNone &&
              rec->dependencies()->Get(edge.dependency_index)->service()->string_view() == target)
            resolves = true;
        }
      }
      if (!resolves || !seen_versions.insert(rec).second) continue;
      out.emplace_back(rec);
      if (depth == Depth::Transitive && seen_services.insert(rec->name()->string_view()).second)
        queue.push_back(rec->name()->string_view());
    }
  }
  return out;
}

std::vector<const wire::Contract*> View::contracts(std::string_view name) const {
  std::vector<const wire::Contract*> out;
  VersionList l = list(list_head(header_->contract_table, name));
  for (uint64_t i = 0; i < l.count_; ++i) {
    const ListEntry& e = l.entries_[i];
    if (e.added > generation_ || e.removed.load(std::memory_order_relaxed) <= generation_) continue;
    auto* c = flatbuffers::GetRoot<wire::Contract>(base_ + e.record);
    if (c->provider()->string_view() == name || c->consumer()->string_view() == name) out.push_back(c);
  }
  return out;
}

}  // namespace roster
