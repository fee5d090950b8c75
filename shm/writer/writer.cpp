#include "roster/shm/writer.hpp"

#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <random>
#include <utility>

#include "arena_heap.hpp"
#include "index_tables.hpp"
#include "node_builder.hpp"
#include "plain_names.hpp"
#include "publisher.hpp"
#include "roster/detail/layout.hpp"
#include "segment.hpp"

// The writer in parts, each depending only on those after it: ArenaWriter (segments, names, the
// batch's all-or-nothing) -> NodeBuilder (the private mirror and the nodes) -> IndexTables (the
// service table and interval lists) -> ArenaHeap (allocation, undo, retirement); Publisher
// (publication, pins, reclamation) frees through ArenaHeap. shm/PROTOCOL.md has the protocol.

namespace roster::shm {

using namespace detail;

namespace {

uint64_t next_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

struct ArenaWriter::State {
  ArenaOptions options;
  std::unique_ptr<Mapping> data, readers;
  std::string data_name, reader_name;
  std::string suffix;  // the segments' temporary names until they take the arena's name
  bool named = false;
  bool hold_name = false;  // hold_name(): publish without taking the name until publish_empty()
  SegmentHeader* header = nullptr;
  std::unique_ptr<ArenaHeap> heap;
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<IndexTables> tables;
  // One mirror per registry (one when not federated); a federated arena's plain names apart.
  std::vector<std::unique_ptr<NodeBuilder>> builders;
  std::unique_ptr<PlainNames> plain;
  // Per registry: the revision its last batch brought, and a store id its next batch publishes.
  std::vector<uint64_t> revisions;
  std::vector<std::optional<std::string>> staged_stores;
  std::optional<Error> broken;  // why this writer refuses every batch from now on
  bool in_burst = false, burst_published = false;  // begin_burst(): wake and reclaim wait for end_burst()
  bool written = false;  // a batch was applied: the arena is no longer fresh

  Result<uint64_t> run(const Batch& full, bool publish) {
    if (broken) return fail(*broken);
    if (header->replaced.load(std::memory_order_acquire))
      return fail(ErrorKind::Conflict, "arena_taken", "arena \"" + options.name + "\" was taken over by another writer");
    if (full.registry >= builders.size())
      return fail(ErrorKind::Invalid, "unknown_registry",
                  "the batch names registry " + std::to_string(full.registry) + "; the arena has " +
                      std::to_string(builders.size()));
    NodeBuilder& builder = *builders[full.registry];
    // A registry's whole state replaces what the arena holds of it: the difference is removed.
    std::optional<NodeBuilder::Replacement> replacing;
    if (full.replaces_registry && !builder.empty()) replacing = builder.replacing(full);
    const Batch& batch = replacing ? replacing->batch : full;
    if (auto valid = builder.validate(batch); !valid) return fail(valid.error());
    const uint64_t next = publisher->generation() + 1;
    // A fresh arena no reader can open yet (a snapshot's load) keeps no undo log: if its batch
    // fails, the whole arena is emptied instead (reset()).
    const bool fresh = !written && !named;
    heap->begin_batch(!fresh);
    try {
      builder.apply(batch, next);
      if (plain) plain->update(static_cast<uint16_t>(batch.registry), builder.written(), next);
      write_store(batch.registry, next);
    } catch (const OutOfSpace& e) {
      // Only space can run out here (validate() checked the rest). Readers never saw any of it.
      if (fresh) {
        reset();
        return fail(ErrorKind::TooLarge, "arena_full", e.message + " (the arena is still empty)");
      }
      // The private mirror is now ahead of shm, so this writer cannot go on: the agent must start
      // a fresh, larger arena (which readers re-attach to by themselves).
      heap->undo_batch();
      broken = Error{ErrorKind::TooLarge, "arena_full", e.message + " (this writer stopped; start a new arena)", ""};
      return fail(*broken);
    }
    written = true;
    heap->commit_batch(publisher->retired());
    if (!publish) return publisher->generation();
    revisions[batch.registry] = batch.revision;
    publisher->publish(next, revisions);
    if (!named && !hold_name)
      if (auto taken = take_name(); !taken) {
        broken = taken.error();
        return fail(taken.error());
      }
    if (in_burst) {
      burst_published = true;
      return publisher->generation();
    }
    publisher->wake();
    if (publisher->reclaim_due()) publisher->reclaim(*heap);
    return publisher->generation();
  }

  // Empties a fresh arena that no reader can open: its tables zeroed, its heap and the private
  // mirror as new. Nothing was published or retired, so the publisher has nothing to forget.
  void reset() {
    char* base = static_cast<char*>(data->base());
    std::memset(base + header->service_table, 0, header->heap_offset - header->service_table);
    heap->reset();
    for (size_t r = 0; r < builders.size(); ++r)
      if (header->registries[r].store.exchange(0, std::memory_order_relaxed)) staged_stores[r] = stores[r];
    make_mirrors();
  }

  // The registries' mirrors, the plain names and the tables they fill, empty.
  void make_mirrors() {
    plain.reset();  // they refer to the tables
    builders.clear();
    tables = std::make_unique<IndexTables>(*heap, *header, publisher->min_pinned());
    const size_t count = std::max<size_t>(1, options.registries.size());
    const bool federated = !options.registries.empty();
    std::vector<const NodeBuilder*> order;
    for (size_t r = 0; r < count; ++r) {
      builders.push_back(std::make_unique<NodeBuilder>(*heap, *tables, static_cast<uint16_t>(r), federated ? r + 1 : 0));
      order.push_back(builders.back().get());
    }
    if (!federated) return;
    ByName<uint16_t> preferred;
    for (auto& [service, registry] : options.preferred) {
      const auto at = std::find(options.registries.begin(), options.registries.end(), registry);
      preferred.emplace(service, static_cast<uint16_t>(at - options.registries.begin()));
    }
    plain = std::make_unique<PlainNames>(*heap, *tables, std::move(order), std::move(preferred));
  }

  // Publishes a registry's staged store id with its batch (a block of the heap, replaced whole).
  std::vector<std::string> stores;  // each registry's published store id
  void write_store(uint32_t registry, uint64_t generation) {
    auto& staged = staged_stores[registry];
    if (!staged) return;
    const uint64_t offset = heap->allocate(sizeof(StoreId));
    auto* id = heap->ptr<StoreId>(offset);
    std::memset(static_cast<void*>(id), 0, sizeof(StoreId));
    id->bytes = static_cast<uint32_t>(staged->size());
    std::memcpy(id->text, staged->data(), staged->size());
    std::atomic<uint64_t>& word = header->registries[registry].store;
    if (const uint64_t old = word.load(std::memory_order_relaxed)) heap->retire(old, generation);
    // Release: a reader that loads the offset sees the block's bytes.
    heap->store(word, offset, std::memory_order_release);
    stores[registry] = std::move(*staged);
    staged.reset();
  }

  // The segments take the arena's name only once they hold a published registry: readers never
  // re-attach to an empty arena, and a writer that never gets data leaves the previous one (and
  // its last registry) in place. Readers first (a reader opens data, then readers, and checks
  // the ids match), then data; an older segment of this name is marked replaced.
  Result<void> take_name() {
    // One we may not open (another user's) is just replaced.
    auto opened = Mapping::open(data_name, Mapping::Access::ReadWrite);
    std::unique_ptr<Mapping> old = opened ? std::move(*opened) : nullptr;
    if (auto renamed = rename_segment(reader_name + suffix, reader_name); !renamed) return renamed;
    if (auto renamed = rename_segment(data_name + suffix, data_name); !renamed) return renamed;
    named = true;
    if (old && old->size() >= sizeof(SegmentHeader)) {
      auto* old_header = static_cast<SegmentHeader*>(old->base());
      if (old_header->magic == kSegmentMagic && old_header->layout_version == kLayoutVersion) {
        // Release: pairs with the readers' acquire load of `replaced` in Client::view().
        old_header->replaced.store(1, std::memory_order_release);
        // Wake waiters on the old segment so they re-attach now.
        old_header->generation_word.fetch_add(1, std::memory_order_release);
        syscall(SYS_futex, &old_header->generation_word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
      }
    }
    return {};
  }

};

namespace {

Result<void> check_registry_name(const std::string& name) {
  const bool valid = !name.empty() && name.size() < kRegistryNameBytes &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                     });
  if (valid) return {};
  return fail(ErrorKind::Invalid, "invalid_registry_name",
              "invalid registry name \"" + name + "\": 1-" + std::to_string(kRegistryNameBytes - 1) +
                  " bytes of a-z, 0-9, '.', '_' and '-'");
}

Result<void> check_options(const ArenaOptions& o) {
  if (o.name.empty() || o.name.find('/') != std::string::npos)
    return fail(ErrorKind::Invalid, "invalid_arena_name",
                "invalid arena name \"" + o.name + "\": must be non-empty and contain no '/'");
  if (o.segment_bytes < (size_t{1} << 20))
    return fail(ErrorKind::Invalid, "invalid_segment_size", "segment size must be at least 1 MiB");
  if (o.reader_slots == 0) return fail(ErrorKind::Invalid, "invalid_reader_slots", "at least one reader slot is needed");
  if (o.registries.size() > kMaxRegistries)
    return fail(ErrorKind::Invalid, "invalid_registries",
                "an arena mirrors at most " + std::to_string(kMaxRegistries) + " registries, not " +
                    std::to_string(o.registries.size()));
  for (size_t r = 0; r < o.registries.size(); ++r) {
    if (auto valid = check_registry_name(o.registries[r]); !valid) return valid;
    if (std::find(o.registries.begin(), o.registries.begin() + r, o.registries[r]) != o.registries.begin() + r)
      return fail(ErrorKind::Invalid, "invalid_registries", "registry \"" + o.registries[r] + "\" is named twice");
  }
  for (auto& [service, registry] : o.preferred)
    if (std::find(o.registries.begin(), o.registries.end(), registry) == o.registries.end())
      return fail(ErrorKind::Invalid, "invalid_registries",
                  "service " + service + " is to be served by registry \"" + registry + "\", which the arena does not mirror");
  return {};
}

}  // namespace

Result<std::optional<PublishedArena>> published_arena(const std::string& name) {
  auto opened = Mapping::open(data_segment_name(name), Mapping::Access::ReadOnly);
  if (!opened && opened.error().kind == ErrorKind::NotFound) return std::optional<PublishedArena>();
  if (!opened) return fail(opened.error());
  const Mapping& m = **opened;
  // Only an arena this user wrote says anything about this deployment's past.
  if (m.owner() != ::geteuid() || m.size() < sizeof(SegmentHeader)) return std::optional<PublishedArena>();
  const auto* h = static_cast<const SegmentHeader*>(m.base());
  if (h->magic != kSegmentMagic || h->layout_version != kLayoutVersion) return std::optional<PublishedArena>();
  PublishedArena out;
  out.generation = h->generation.load(std::memory_order_acquire);
  const size_t count = std::clamp<size_t>(h->federated, 1, kMaxRegistries);
  for (size_t r = 0; r < count; ++r) {
    PublishedArena::Registry& reg = out.registries.emplace_back();
    reg.name.assign(h->registries[r].name, strnlen(h->registries[r].name, kRegistryNameBytes));
    reg.revision = h->revisions[r][out.generation % kRevisionRing].load(std::memory_order_relaxed);
    // Acquire: pairs with the writer's release store of the block's offset.
    const uint64_t store = h->registries[r].store.load(std::memory_order_acquire);
    if (store % 8 == 0 && store >= h->heap_offset && store <= m.size() - sizeof(StoreId)) {
      const auto* id = at<StoreId>(m.base(), store);
      reg.store_id.assign(id->text, std::min<size_t>(id->bytes, kStoreIdBytes));
    }
  }
  out.revision = out.registries[0].revision;
  out.store_id = out.registries[0].store_id;
  return std::optional(std::move(out));
}

ArenaWriter::ArenaWriter() : state_(std::make_unique<State>()) {}

// A name another user's file holds cannot be taken: /dev/shm is sticky, so the rename that
// publishes the arena would fail with EPERM. Found out now, before anything is built.
Result<void> check_name_free(const std::string& shm_name) {
  struct stat st {};
  const std::string path = "/dev/shm/" + shm_name;
  // Root may replace anyone's file (and readers refuse one of a stranger anyway).
  if (::geteuid() == 0 || ::lstat(path.c_str(), &st) != 0 || st.st_uid == ::geteuid()) return {};
  return fail(ErrorKind::Conflict, "arena_name_taken",
              path + " belongs to uid " + std::to_string(st.st_uid) +
                  ", so this agent cannot publish under that name: remove the file, or give the agent another --arena");
}

Result<std::unique_ptr<ArenaWriter>> ArenaWriter::create(const ArenaOptions& options) {
  if (auto valid = check_options(options); !valid) return fail(valid.error());
  for (const auto& name : {data_segment_name(options.name), reader_segment_name(options.name)})
    if (auto free = check_name_free(name); !free) return fail(free.error());
  std::unique_ptr<ArenaWriter> writer(new ArenaWriter());
  State& s = *writer->state_;
  const auto previous = published_arena(options.name);
  s.options = options;
  s.data_name = data_segment_name(options.name);
  s.reader_name = reader_segment_name(options.name);
  std::random_device rd;
  const uint64_t instance_id = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(getpid());
  const std::string suffix = ".new." + std::to_string(getpid()) + "." + std::to_string(instance_id & 0xffff);
  s.suffix = suffix;
  // Until the writer exists whole, a failure removes what was created (its destructor does the
  // same for segments that never took the arena's name).
  {
    // Data segment: header, tables, then the heap.
    const size_t max_services = options.max_services ? options.max_services : std::max<size_t>(1024, options.segment_bytes / 2048);
    // A federated arena keeps a slot per name in each registry, and one per plain name.
    const size_t keys_per_name = options.registries.empty() ? 1 : options.registries.size() + 1;
    const uint64_t service_capacity = next_pow2(max_services * 2 * keys_per_name);
    // Keyed lists can need as many keys as there are services (every service may be some
    // version's dependency target), so they are sized like a registry's share of the service
    // table; dependents are keyed per registry (hash.hpp), so theirs is that many times larger.
    const uint64_t key_capacity = next_pow2(max_services * 2);
    const uint64_t dependents_capacity = next_pow2(max_services * 2 * std::max<size_t>(1, options.registries.size()));
    size_t offset = sizeof(SegmentHeader);
    auto reserve = [&](size_t bytes) {
      const size_t at_offset = (offset + 63) & ~size_t{63};
      offset = at_offset + bytes;
      return at_offset;
    };
    const size_t service_table = reserve(service_capacity * sizeof(ServiceSlot));
    const size_t team_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t tag_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t dependents_table = reserve(dependents_capacity * sizeof(ListSlot));
    const size_t contract_table = reserve(key_capacity * sizeof(ListSlot));
    const size_t stage_lists = reserve(kStageCount * sizeof(ListHead));
    const size_t heap_offset = reserve(0);
    if (heap_offset + (size_t{1} << 20) > options.segment_bytes)
      return fail(ErrorKind::Invalid, "invalid_segment_size",
                  "segment of " + std::to_string(options.segment_bytes) + " bytes is too small for " +
                      std::to_string(max_services) + " services");

    auto data = Mapping::create(s.data_name + suffix, options.segment_bytes, options.data_mode, options.group);
    if (!data) return fail(data.error());
    s.data = std::move(*data);
    // Held for the writer's life (the kernel drops it when the process dies): it tells
    // clean_up_abandoned that this segment is not abandoned.
    if (!lock_range(s.data->fd(), 0, 1))
      return fail(ErrorKind::Io, "io_error", "cannot lock /dev/shm/" + s.data_name + suffix);
    auto readers = Mapping::create(s.reader_name + suffix,
                                   sizeof(ReaderSegmentHeader) + size_t{options.reader_slots} * sizeof(ReaderSlot),
                                   options.reader_mode, options.group);
    if (!readers) return fail(readers.error());  // ~ArenaWriter removes the data segment
    s.readers = std::move(*readers);

    // Fresh tmpfs pages read as zero: every table starts empty.
    auto* h = new (s.data->base()) SegmentHeader();
    h->magic = kSegmentMagic;
    h->layout_version = kLayoutVersion;
    h->header_bytes = sizeof(SegmentHeader);
    h->segment_bytes = options.segment_bytes;
    h->instance_id = instance_id;
    h->max_pin_age_ms = static_cast<uint64_t>(options.max_pin_age.count());
    h->service_table = service_table;
    h->service_capacity = service_capacity;
    h->team_table = team_table;
    h->tag_table = tag_table;
    h->dependents_table = dependents_table;
    h->contract_table = contract_table;
    h->key_capacity = key_capacity;
    h->dependents_capacity = dependents_capacity;
    h->stage_lists = stage_lists;
    h->heap_offset = heap_offset;
    h->heap_bytes = options.segment_bytes - heap_offset;
    // The empty registry's generation: one past the arena this one will replace, so generations
    // a reader sees never go back across agent restarts.
    const uint64_t first = previous && *previous ? (*previous)->generation + 1 : 1;
    h->generation.store(first, std::memory_order_relaxed);
    h->generation_word.store(static_cast<uint32_t>(first), std::memory_order_relaxed);
    s.header = h;

    auto* rh = new (s.readers->base()) ReaderSegmentHeader();
    rh->magic = kReaderMagic;
    rh->layout_version = kLayoutVersion;
    rh->slot_count = options.reader_slots;
    rh->instance_id = instance_id;

    s.heap = std::make_unique<ArenaHeap>(static_cast<char*>(s.data->base()), heap_offset, h->heap_bytes, options.segment_bytes);
    s.publisher = std::make_unique<Publisher>(*h, *s.readers, options.reader_slots, options.max_pin_age,
                                              options.reclaim_interval, first);
    const size_t registries = std::max<size_t>(1, options.registries.size());
    h->federated = static_cast<uint32_t>(options.registries.size());
    for (size_t r = 0; r < options.registries.size(); ++r)
      std::memcpy(h->registries[r].name, options.registries[r].data(), options.registries[r].size());
    s.revisions.assign(registries, 0);
    s.staged_stores.assign(registries, std::nullopt);
    s.stores.assign(registries, std::string());
    s.make_mirrors();
  }
  return writer;
}

ArenaWriter::~ArenaWriter() {
  // Readers waiting for a generation published in an unfinished burst are not left asleep.
  if (state_ && state_->burst_published) state_->publisher->wake();
  // Segments that never took the arena's name would otherwise stay in /dev/shm forever.
  if (state_ && !state_->named) {
    remove_segment(state_->data_name + state_->suffix);
    remove_segment(state_->reader_name + state_->suffix);
  }
}

Result<uint64_t> ArenaWriter::apply(const Batch& batch) { return state_->run(batch, true); }
Result<void> ArenaWriter::apply_without_publishing(const Batch& batch) {
  if (auto done = state_->run(batch, false); !done) return fail(done.error());
  return {};
}

Result<void> ArenaWriter::set_store(std::string_view store_id, uint32_t registry) {
  if (store_id.size() > kStoreIdBytes)
    return fail(ErrorKind::Invalid, "invalid_store_id",
                "a store id is at most " + std::to_string(kStoreIdBytes) + " bytes, not " + std::to_string(store_id.size()));
  if (registry >= state_->builders.size())
    return fail(ErrorKind::Invalid, "unknown_registry", "no registry " + std::to_string(registry) + " in this arena");
  if (state_->stores[registry] != store_id || state_->staged_stores[registry]) state_->staged_stores[registry] = std::string(store_id);
  return {};
}

void ArenaWriter::touch_upstream(int64_t unix_ms, uint32_t registry) {
  // Relaxed: a reader's staleness is advisory and needs no ordering with the data.
  if (registry < kMaxRegistries) state_->header->registries[registry].last_upstream_contact_ms.store(unix_ms, std::memory_order_relaxed);
}

void ArenaWriter::begin_burst() { state_->in_burst = true; }
void ArenaWriter::end_burst() {
  State& s = *state_;
  s.in_burst = false;
  if (!std::exchange(s.burst_published, false)) return;
  s.publisher->wake();
  if (s.publisher->reclaim_due()) s.publisher->reclaim(*s.heap);
}

size_t ArenaWriter::reclaim() { return state_->publisher->reclaim(*state_->heap); }
uint64_t ArenaWriter::generation() const { return state_->publisher->generation(); }

ArenaStats ArenaWriter::stats() const {
  const State& s = *state_;
  const Publisher& p = *s.publisher;
  size_t services = 0;
  for (auto& b : s.builders) services += b->service_count();
  return {p.generation(), services, s.header->heap_bytes, s.heap->free_bytes(),
          p.retired_pending(), p.pinned_views(), p.evicted_views(), p.dead_readers(),
          p.readers_truncated()};
}

void ArenaWriter::visit_records(const std::function<void(RecordType, std::span<const uint8_t>)>& visit) const {
  for (uint32_t r = 0; r < state_->builders.size(); ++r) visit_records(r, visit);
}

void ArenaWriter::visit_records(uint32_t registry,
                                const std::function<void(RecordType, std::span<const uint8_t>)>& visit) const {
  if (registry < state_->builders.size()) state_->builders[registry]->visit_records(visit);
}

void ArenaWriter::remove_segments() {
  const std::string suffix = state_->named ? "" : state_->suffix;
  remove_segment(state_->data_name + suffix);
  remove_segment(state_->reader_name + suffix);
}

void ArenaWriter::hold_name() { state_->hold_name = true; }

Result<void> ArenaWriter::publish_empty() {
  state_->hold_name = false;
  if (state_->named) return {};
  if (auto taken = state_->take_name(); !taken) {
    state_->broken = taken.error();
    return taken;
  }
  return {};
}

bool ArenaWriter::named() const { return state_->named; }

}  // namespace roster::shm
