// The arena writer (used by roster-agent): owns the data segment, applies batches of changes in
// O(size of the batch), publishes each batch as one generation, and frees what no View can reach.
// Single-threaded: one writer per arena name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::shm {

// A batch reclaims once this many retired blocks wait, whatever ArenaOptions::reclaim_interval.
inline constexpr size_t kReclaimBlocks = 256;

struct ArenaOptions {
  std::string name = "roster";
  size_t segment_bytes = size_t{256} << 20;
  size_t max_services = 0;   // 0: derived from segment_bytes
  uint32_t reader_slots = 1024;
  mode_t data_mode = 0640;   // readers need read access only
  mode_t reader_mode = 0660; // readers write their own slot
  std::optional<gid_t> group;
  std::chrono::milliseconds max_pin_age{30'000};  // older pins are revoked (the View reports it)
  // Reclamation (a membarrier, which interrupts every CPU running a reader, and a scan of every
  // reader slot) after a batch at most this often, or once kReclaimBlocks blocks wait; 0: after
  // every batch. What waits is freed by a later batch or by reclaim().
  std::chrono::microseconds reclaim_interval{1000};
  // Federation: the registries the arena mirrors, in the order plain names resolve (the first
  // that has a name serves it), at most detail::kMaxRegistries, each 1-31 bytes of [a-z0-9._-].
  // Empty: one unnamed registry, not federated.
  std::vector<std::string> registries;
  // Per-service rules ahead of that order: service -> the registry that serves it whenever it has it.
  std::map<std::string, std::string> preferred;
};

// What the arena of a name holds now, as readers see it (nullopt: no arena of ours has that name).
struct PublishedArena {
  uint64_t generation = 0, revision = 0;  // revision and store: of the first registry
  std::string store_id;
  struct Registry {
    std::string name, store_id;
    uint64_t revision = 0;
  };
  std::vector<Registry> registries;  // each, in the arena's order
};
Result<std::optional<PublishedArena>> published_arena(const std::string& name);

// What a writer killed mid-way left under arena `name`: replacement segments it never named
// (each data segment's first byte is OFD-locked while its writer lives, so an unlocked one is
// abandoned). They are removed, except when the writer died between naming its two segments:
// then the arena it was publishing is complete, and naming its data segment finishes the job
// (until then readers find two segments that do not belong together). Only this user's
// segments (any, for root). roster-agent calls this before it creates its first writer.
struct AbandonedSegments {
  size_t removed = 0;            // segments removed
  bool publish_finished = false;
};
AbandonedSegments clean_up_abandoned(const std::string& name);

struct VersionKey {
  std::string service, version;
};
struct InstanceKey {
  std::string service, version, id;
};
struct ContractKey {
  std::string consumer, consumer_version, provider;
};

// One atomic change. Records are standalone FlatBuffers that the caller has verified
// (wire::verify); their bytes are copied into the arena unchanged. Resolutions are the server's
// (wire::ServiceResolution, model/service_resolution.hpp; batch_resolver.hpp computes them where
// no server does): one for every service whose versions the batch changes, and for every service
// whose dependencies resolve differently after it. The writer orders versions, resolves
// dependencies and picks "latest" by them alone.
struct Batch {
  uint64_t revision = 0;  // the upstream revision this batch brings its registry to
  // The registry it changes: an index into ArenaOptions::registries (0 when not federated).
  uint32_t registry = 0;
  // The registry's whole state (a snapshot): whatever of that registry the arena holds and the
  // batch lacks is removed in the same generation.
  bool replaces_registry = false;
  std::vector<std::span<const uint8_t>> upsert_versions;
  std::vector<VersionKey> remove_versions;  // removes the version's instances too
  std::vector<std::span<const uint8_t>> upsert_instances;
  std::vector<InstanceKey> remove_instances;
  std::vector<std::span<const uint8_t>> upsert_contracts;
  std::vector<ContractKey> remove_contracts;
  std::vector<std::span<const uint8_t>> resolutions;  // standalone ServiceResolution FlatBuffers, verified
};

struct ArenaStats {
  uint64_t generation;
  size_t services;
  size_t heap_bytes, heap_free_bytes;
  size_t retired_pending;  // freed once no View can reach them
  size_t pinned_views;     // live Views on older generations at the last reclaim
  size_t evicted_views;    // pins revoked for age, in total
  size_t dead_readers;     // slots of killed readers released, in total
  bool readers_truncated;  // a reader shrank the reader-slot file: nothing is freed any more
};

class ArenaWriter {
 public:
  // Creates fresh segments under temporary names. The first published batch gives them the
  // arena's name atomically (a previous segment of that name is marked replaced, and its readers
  // re-attach): readers never see an empty arena in between. Generations go on from the previous
  // arena of the name, so a reader's wait_for_change(old generation) never misses a change.
  // Errors: Invalid (options), Io (the segments cannot be created: /dev/shm full, permissions).
  static Result<std::unique_ptr<ArenaWriter>> create(const ArenaOptions& options);
  ~ArenaWriter();
  ArenaWriter(const ArenaWriter&) = delete;
  ArenaWriter& operator=(const ArenaWriter&) = delete;

  // Applies `batch` and publishes it as the next generation, all or nothing: on an error readers
  // see no part of it. Errors: Invalid (an instance of an unknown version; a resolution missing,
  // or one that does not match the versions and records the batch leaves: nothing changed, the
  // writer goes on), TooLarge (code arena_full: the segment or an
  // index is full), Conflict (another writer took the arena's name), Io (the name could not be
  // taken). After TooLarge, Conflict or Io this writer refuses every later batch: start a new one.
  Result<uint64_t> apply(const Batch& batch);

  // Changes that arrive together (one read of the agent's stream brought several Deltas): between
  // begin_burst() and end_burst(), apply() still publishes each batch as its own generation at
  // once, but the wake-up of readers in wait_for_change and the reclamation (a membarrier and a
  // scan of every reader slot) wait for end_burst(), which does them once for the burst.
  void begin_burst();
  void end_burst();

  // Records when the agent last heard from a registry's upstream (readers compute staleness from it).
  void touch_upstream(int64_t unix_ms, uint32_t registry = 0);

  // The upstream store whose revisions a registry's batches bring (readers see it with the
  // revision). Set it before the registry's first batch, and again before the batch of a new store:
  // the registry's next batch publishes it. Invalid when it does not fit or there is no such registry.
  Result<void> set_store(std::string_view store_id, uint32_t registry = 0);

  // Frees what no live View can reach; apply() does this after a publish when it is due
  // (ArenaOptions::reclaim_interval). Returns bytes freed.
  size_t reclaim();

  uint64_t generation() const;
  ArenaStats stats() const;

  // Every live record of the arena's current state (the agent writes its cache file from it).
  enum class RecordType { Version, Instance, Contract, Resolution };
  void visit_records(const std::function<void(RecordType, std::span<const uint8_t>)>& visit) const;
  // Those of one registry (a federated agent writes a cache file per registry).
  void visit_records(uint32_t registry, const std::function<void(RecordType, std::span<const uint8_t>)>& visit) const;

  // Takes the arena's name now, with what it holds (nothing yet, e.g. a brand-new deployment; or
  // what was published while the name was held).
  Result<void> publish_empty();
  // Batches publish without taking the arena's name until publish_empty(): a federated agent fills
  // a fresh arena with every registry before readers move to it.
  void hold_name();
  bool named() const;

  // Unlinks the arena's names (a clean shutdown that should leave nothing behind).
  void remove_segments();

  // For crash tests: applies the batch's writes but stops before publishing, as a writer
  // killed mid-batch would.
  Result<void> apply_without_publishing(const Batch& batch);

 private:
  ArenaWriter();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace roster::shm
