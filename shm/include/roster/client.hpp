// roster's C++ client: read the registry the local agent keeps in shared memory, in-process.
//
//   auto client = roster::Client::open("roster");       // a Result<Client>: check it
//   if (!client) { log(client.error().message); return; }
//   roster::View view = client->view();                 // pins one consistent generation
//   if (auto svc = view.service("user-service"))        // latest (docs/lifecycle.md)
//     for (auto inst : view.instances("user-service", roster::Healthy)) use(inst.address(), inst.port());
//
// Lookups return views into shared memory (string_view, FlatBuffers accessors): no copy, no
// allocation, no lock, no syscall. A View is used, and destroyed, on the thread that opened it;
// a Client may be shared by threads. Keep Views short: a View older than the arena's pin limit
// is revoked, after which its lookups return nothing and evicted() is true.
//
// Nothing in the arena is trusted blindly. open() maps only files owned by root, this user or
// the configured owner that nobody else may write, and checks the header against the file's size.
// Every offset and count a lookup follows is bounded by the mapping: a lookup that meets a
// damaged structure returns nothing and marks the View corrupt(). Records are read in place:
// their accessors never fault (the mapping sits in a window of zero pages that a damaged
// record's offsets cannot leave), and ServiceVersion::verified() checks one fully before a copy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstring>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/detail/layout.hpp"
#include "roster/wire/roster_generated.h"

namespace roster {

enum class Filter { All, Healthy };
inline constexpr Filter Healthy = Filter::Healthy;
enum class Depth { Direct, Transitive };
inline constexpr Depth Direct = Depth::Direct;
inline constexpr Depth Transitive = Depth::Transitive;
// What "latest" means (docs/lifecycle.md): Stable is the lifecycle rule (stable first, then
// deprecated or sunset, then beta; never proposed, development, retired or a pre-release tag), as
// the server's GET /v1/services/{name}; IncludingPrereleases is the highest version not retired.
enum class Latest { Stable, IncludingPrereleases };

namespace detail {
// A FlatBuffers string as a view; empty when the (damaged) record lacks it.
inline std::string_view text(const flatbuffers::String* s) { return s ? s->string_view() : std::string_view(); }
// A valid, empty FlatBuffers table: what a record whose offset lies outside the heap reads as.
alignas(8) inline constexpr uint8_t kEmptyTable[12] = {8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0};
}  // namespace detail

// One version of a service, as registered.
class ServiceVersion {
 public:
  std::string_view name() const { return detail::text(record_->name()); }
  std::string_view version() const { return detail::text(record_->version()); }
  std::string_view owner_team() const { return detail::text(record_->owner_team()); }
  std::string_view description() const { return detail::text(record_->description()); }
  std::string_view documentation_url() const { return detail::text(record_->documentation_url()); }
  wire::LifecycleStage stage() const { return record_->stage(); }
  int64_t deprecated_at_ms() const { return record_->deprecated_at_ms(); }
  int64_t sunset_at_ms() const { return record_->sunset_at_ms(); }
  // Every field, through FlatBuffers accessors into shared memory (a field a damaged record
  // lacks reads as null).
  const wire::ServiceVersion& record() const { return *record_; }
  // The record's bytes: exactly, or (for a list entry, which does not say) up to the end of
  // the mapping.
  std::span<const uint8_t> bytes() const { return bytes_; }
  // True when the record passes FlatBuffers verification: do this before copying every field
  // (as the Python module does), since a damaged record's strings may be long.
  bool verified() const;
  // The registry it came from, in a federated arena ("" in an arena of one registry).
  std::string_view registry() const {
    return registry_ ? std::string_view(registry_, strnlen(registry_, shm::detail::kRegistryNameBytes)) : std::string_view();
  }

  // `registry`: the registry's NUL-padded name in the arena's header, or null.
  ServiceVersion(const wire::ServiceVersion* record, std::span<const uint8_t> bytes, const char* registry = nullptr)
      : record_(record), bytes_(bytes), registry_(registry) {}

 private:
  const wire::ServiceVersion* record_;
  std::span<const uint8_t> bytes_;
  const char* registry_;
};

class Instance {
 public:
  std::string_view id() const { return detail::text(record().id()); }
  std::string_view address() const { return detail::text(record().address()); }
  std::string_view zone() const { return detail::text(record().zone()); }
  uint16_t port() const { return entry_->port; }
  uint16_t weight() const { return entry_->weight; }
  wire::Health health() const { return static_cast<wire::Health>(entry_->health); }
  const wire::Instance& record() const {
    // One compare: an entry pointing outside the heap reads as an empty record.
    return *flatbuffers::GetRoot<wire::Instance>(heap_->contains(entry_->record, entry_->record_bytes)
                                                     ? reinterpret_cast<const uint8_t*>(base_ + entry_->record)
                                                     : detail::kEmptyTable);
  }
  std::span<const uint8_t> bytes() const;
  bool verified() const;

  Instance(const char* base, const shm::detail::HeapBounds* heap, const shm::detail::InstanceEntry* entry)
      : base_(base), heap_(heap), entry_(entry) {}

 private:
  const char* base_;
  const shm::detail::HeapBounds* heap_;
  const shm::detail::InstanceEntry* entry_;
};

// The instances of a service (or of one version), healthy ones first within each version. They
// lie in slices (layout.hpp): iteration walks the slice directory, and the healthy filter skips
// whole slices of unhealthy instances without reading them.
class Instances {
 public:
  class iterator {
   public:
    iterator(const Instances& list, bool at_end)
        : base_(list.base_), heap_(list.heap_), ref_(list.begin_), refs_end_(list.end_), healthy_(list.healthy_) {
      if (!at_end) next_slice();
    }
    Instance operator*() const { return {base_, heap_, at_}; }
    iterator& operator++() {
      if (++at_ == end_) next_slice();
      return *this;
    }
    bool operator==(const iterator& o) const { return at_ == o.at_; }
    bool done() const { return at_ == nullptr; }

   private:
    // Moves to the next non-empty slice the filter keeps, or to the end. A slice that does not
    // lie in the heap (a damaged arena) ends the iteration.
    void next_slice() {
      at_ = end_ = nullptr;
      for (; ref_ != refs_end_; ++ref_) {
        const shm::detail::SliceRef& r = *ref_;
        if (r.count == 0 || (healthy_ && !r.healthy)) continue;
        if (r.entries % 8 != 0 || !heap_->contains(r.entries, uint64_t{r.count} * sizeof(shm::detail::InstanceEntry)))
          break;
        at_ = reinterpret_cast<const shm::detail::InstanceEntry*>(base_ + r.entries);
        end_ = at_ + r.count;
        ++ref_;
        return;
      }
      ref_ = refs_end_;
    }
    const char* base_;
    const shm::detail::HeapBounds* heap_;
    const shm::detail::SliceRef *ref_, *refs_end_;
    const shm::detail::InstanceEntry *at_ = nullptr, *end_ = nullptr;
    bool healthy_;
  };

  Instances() = default;
  // The slices [begin, end); `healthy`: only those marked healthy.
  Instances(const char* base, const shm::detail::HeapBounds* heap, const shm::detail::SliceRef* begin,
            const shm::detail::SliceRef* end, bool healthy)
      : base_(base), heap_(heap), begin_(begin), end_(end), healthy_(healthy) {}
  iterator begin() const { return {*this, false}; }
  iterator end() const { return {*this, true}; }
  bool empty() const { return begin().done(); }
  size_t size() const;

 private:
  const char* base_ = nullptr;
  const shm::detail::HeapBounds* heap_ = nullptr;
  const shm::detail::SliceRef *begin_ = nullptr, *end_ = nullptr;
  bool healthy_ = false;
};

// Matches of a secondary index (team, stage, tag): the versions live in the View's generation.
// Valid while its View is open (it never refers to the string it was asked for).
class VersionList {
 public:
  class iterator {
   public:
    iterator(const VersionList* list, uint64_t i) : list_(list), i_(i) { skip(); }
    ServiceVersion operator*() const;
    iterator& operator++() {
      ++i_;
      skip();
      return *this;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    void skip();
    const VersionList* list_;
    uint64_t i_;
  };

  VersionList() = default;
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }
  std::vector<ServiceVersion> to_vector() const;

 private:
  friend class View;
  enum class Key { Team, Stage, Tag };
  bool matches(const wire::ServiceVersion& v) const;
  // The record of entry i, or nullptr when the entry points outside the heap.
  const wire::ServiceVersion* record(uint64_t i) const;
  // Entries whose records do not match the key (keys whose hashes collide share a list) are
  // skipped. key_ points at the key's bytes in shared memory (in the first matching record), never
  // at the caller's string: a list made from a temporary stays valid as long as its View.
  void bind_key(std::string_view requested);
  const char* base_ = nullptr;
  const shm::detail::HeapBounds* heap_ = nullptr;
  const shm::detail::RegistryInfo* registries_ = nullptr;  // the header's, for each entry's registry name
  const shm::detail::ListEntry* entries_ = nullptr;
  uint64_t count_ = 0, generation_ = 0;
  Key key_kind_ = Key::Team;
  std::string_view key_;
  wire::LifecycleStage stage_ = wire::LifecycleStage::Proposed;
};

struct Dependency {
  ServiceVersion from;                     // the version that declares it
  std::string_view service, range;         // as declared
  std::optional<ServiceVersion> resolved;  // highest registered, non-retired match
};

class Client;
class View;
struct ThreadSlot;
namespace shm::detail {
struct Attachment;
}

// One registry an arena mirrors, as a View sees it.
struct RegistryState {
  std::string_view name;  // "" in an arena of one unnamed registry
  // Its upstream revision at the View's generation, and the store that revision belongs to; 0 when
  // the View is older than the arena's last 254 generations (open a new one).
  uint64_t revision = 0;
  std::string_view store;
  std::chrono::milliseconds staleness{};  // since the agent last heard from its upstream (max(): never)
};

// Lookups in one registry of a federated arena (View::in), whether or not it serves the name by
// plain lookup. Dependencies resolve within the registry of the version that declares them. Valid
// while its View is; a registry the arena does not mirror finds nothing.
class InRegistry {
 public:
  std::optional<ServiceVersion> service(std::string_view name) const;
  std::optional<ServiceVersion> service(std::string_view name, std::string_view version) const;
  std::optional<ServiceVersion> latest(std::string_view name, Latest which) const;
  std::vector<ServiceVersion> versions(std::string_view name) const;
  Instances instances(std::string_view name, Filter filter = Filter::All) const;
  Instances instances(std::string_view name, std::string_view version, Filter filter = Filter::All) const;
  std::vector<Dependency> dependencies(std::string_view name, Depth depth = Depth::Direct) const;
  std::vector<Dependency> dependencies(std::string_view name, std::string_view version,
                                       Depth depth = Depth::Direct) const;
  std::vector<ServiceVersion> dependents(std::string_view name, Depth depth = Depth::Direct) const;

 private:
  friend class View;
  InRegistry(const View* view, uint16_t key) : view_(view), key_(key) {}
  bool mirrored() const { return key_ != 0; }
  const shm::detail::ServiceNode* node(std::string_view name) const;
  const View* view_;
  uint16_t key_;  // the registry's slot key (registry + 1); 0: none
};

class View {
 public:
  View(View&& other) noexcept;
  View& operator=(View&& other) noexcept;
  ~View();

  // The latest version, as Latest::Stable means it.
  std::optional<ServiceVersion> service(std::string_view name) const;
  std::optional<ServiceVersion> service(std::string_view name, std::string_view version) const;
  std::optional<ServiceVersion> latest(std::string_view name, Latest which) const;
  std::vector<ServiceVersion> versions(std::string_view name) const;  // ascending precedence

  Instances instances(std::string_view name, Filter filter = Filter::All) const;
  Instances instances(std::string_view name, std::string_view version, Filter filter = Filter::All) const;

  VersionList by_team(std::string_view team) const;
  VersionList by_stage(wire::LifecycleStage stage) const;
  VersionList by_tag(std::string_view tag) const;

  // Of the service's latest version (or the given one). Transitive follows resolved
  // edges, each service@version once. These allocate the vector they return.
  std::vector<Dependency> dependencies(std::string_view name, Depth depth = Direct) const;
  std::vector<Dependency> dependencies(std::string_view name, std::string_view version, Depth depth) const;
  // Versions whose declared dependencies resolve to some version of `name`.
  std::vector<ServiceVersion> dependents(std::string_view name, Depth depth = Direct) const;
  // Contracts where `name` is the provider or the consumer.
  std::vector<const wire::Contract*> contracts(std::string_view name) const;

  // Federation (docs/federation.md). A plain name resolves in the registry that serves it: the
  // first in the arena's order that has it, unless the agent was told otherwise for that service.
  // The registries the arena mirrors, in that order (one, unnamed, when it is not federated).
  std::vector<RegistryState> registries() const;
  // The registries that have `name` (a version of it), in that order, except that the one serving
  // it (a --prefer rule may pick a later one) comes first.
  std::vector<std::string_view> where(std::string_view name) const;
  // Lookups in the registry `registry` (one the arena does not mirror finds nothing).
  InRegistry in(std::string_view registry) const;
  // The same, or NotFound (no_registry) naming the registries the arena mirrors.
  Result<InRegistry> find_registry(std::string_view registry) const;

  // Every service with a version in this View's generation, by name (sorted, each once). A scan
  // of the whole service table (its capacity, not the services, sets the cost) that allocates the
  // vector: for tools and watchers, not for a request path. The names point into shared memory.
  std::vector<std::string_view> service_names() const;
  // The services whose snapshot in this View is newer than `generation` (sorted): a version or an
  // instance was added, changed or removed, or a dependency now resolves to another version. A
  // service removed since (its last version gone) is named too; service() finds nothing for it.
  // The same scan as service_names(); empty when `generation` is not older than this View's.
  std::vector<std::string_view> changed_since(uint64_t generation) const;

  uint64_t generation() const { return generation_; }
  // The upstream revision this View's generation mirrors, and the store it belongs to:
  // revisions of one store only grow; another store's are not comparable. In a federated arena,
  // these and staleness() are the first registry's (registries() has each).
  uint64_t revision() const { return revision_; }
  std::string_view store() const;
  // Time since the agent last heard from upstream (max() if it never did).
  std::chrono::milliseconds staleness() const;
  // The arena revoked this View's pin (held past the pin limit): lookups return nothing.
  bool evicted() const;
  // A lookup through this View met a structure that does not fit the mapping (a damaged or
  // hostile segment) and returned nothing for it.
  bool corrupt() const { return corrupt_; }

 private:
  friend class Client;
  friend class InRegistry;
  View() = default;
  const shm::detail::ServiceNode* node(std::string_view name) const;
  // The node of `name` under slot key `key` (0: the plain name; registry + 1: in that registry).
  const shm::detail::ServiceNode* node(std::string_view name, uint16_t key) const;
  const shm::detail::ServiceNode* find_node(std::string_view name, uint64_t hash, uint16_t key) const;
  // service(name) and latest(name): the record the slot holds, else the node's.
  std::optional<ServiceVersion> latest_of(std::string_view name, uint16_t key) const;
  const shm::detail::ServiceSlot* first_slot(uint64_t hash) const;
  std::optional<ServiceVersion> slot_latest(const shm::detail::ServiceSlot& slot, std::string_view name, uint16_t key) const;
  // What the lookups read from a service's node (null: none).
  std::optional<ServiceVersion> version_of(const shm::detail::ServiceNode* n, std::string_view version) const;
  std::vector<ServiceVersion> versions_of(const shm::detail::ServiceNode* n) const;
  Instances instances_of(const shm::detail::ServiceNode* n, Filter filter) const;
  Instances instances_of(const shm::detail::ServiceNode* n, std::string_view version, Filter filter) const;
  std::vector<Dependency> dependencies_of(const shm::detail::ServiceNode* n, std::string_view version, Depth depth) const;
  std::vector<ServiceVersion> dependents_of(const shm::detail::ServiceNode* n, Depth depth) const;
  // The slot key a node's dependencies (and its dependents list) resolve under.
  uint16_t dependency_key(const shm::detail::ServiceNode* n) const;
  const char* registry_name(uint32_t registry) const;
  const shm::detail::ServiceNode* node_at(uint64_t offset) const;
  // The newest node of `n`'s chain not newer than this View's generation, or nullptr.
  const shm::detail::ServiceNode* visible(const shm::detail::ServiceNode* n) const;
  // service_names() and changed_since(): the names of visible nodes newer than `newer_than`
  // (with versions only, when `live_only`).
  std::vector<std::string_view> scan_services(uint64_t newer_than, bool live_only) const;
  VersionList list(uint64_t head_offset) const;
  uint64_t list_head(uint64_t table, std::string_view key) const;
  uint64_t list_head_of(uint64_t table, uint64_t hash) const;
  std::optional<ServiceVersion> version_at(const shm::detail::ServiceNode* node, uint32_t index) const;
  void mark_corrupt() const { corrupt_ = true; }
  void close();

  const shm::detail::Attachment* attachment_ = nullptr;
  shm::detail::ReaderSlot* slot_ = nullptr;
  ThreadSlot* thread_slot_ = nullptr;  // this thread's slot bookkeeping (open Views)
  uint64_t generation_ = 0, revision_ = 0;
  uint64_t pin_ = 0;  // the slot's pin that protects this View
  mutable bool corrupt_ = false;
};

// Who may own the arena's files. Without an owner: $ROSTER_ARENA_OWNER (a uid) when set, else
// root or this process's own user. Files writable by others (and a data file writable by its
// group) are refused whoever owns them.
struct ClientOptions {
  std::optional<uid_t> owner;
};

class Client {
 public:
  // Maps the arena `name` read-only. Errors (Error::code): no_arena (NotFound: no agent has
  // created it), layout_mismatch (Conflict: an agent of another roster version), not_an_arena
  // (Corrupt: the header does not fit the file), untrusted_arena (Unauthorized: owned by another
  // user, or writable by others), io_error (Io: the segment cannot be opened or mapped).
  static Result<Client> open(std::string_view name, ClientOptions options = {});
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Pins the newest generation. Re-attaches by itself when a new agent replaced the arena (and
  // keeps serving the last generation while a replacement cannot be opened); the replaced
  // mapping is dropped once no View uses it.
  // Throws roster::Exception (code no_reader_slot) only when every reader slot of the arena is
  // taken and this thread has none yet: a deployment error (more reader threads than the agent's
  // --reader-slots), never a per-request condition. Nothing else throws.
  View view();
  // Waits until the generation differs from `generation` (or the timeout passes, or the
  // arena is replaced); true if it changed.
  bool wait_for_change(uint64_t generation, std::chrono::milliseconds timeout);
  // The newest published generation (of the arena this client is attached to).
  uint64_t generation() const;
  // How many mappings of the arena this client holds (1, more while replaced ones still have Views).
  size_t attachments() const;

  struct State;

 private:
  explicit Client(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace roster
