// The registry roster-server serves, as a domain core that knows nothing of HTTP: in-memory state
// over a durable Store, the write rules, revisions, instance leases (lease_table.hpp) and the
// change feed agents receive (change_feed.hpp). Records arrive decoded (standalone FlatBuffers
// that wire::JsonDecoder built and checked); refusals are Errors whose kind the HTTP face maps to
// a status. Single-threaded: the server calls it from its event loop.
//
// Over a store only this server writes (SQLite), writes may be committed in the background
// (commit_in_background): a write is checked and applied in memory at once, its revision known,
// and becomes durable with the others of its group; until then it is pending. What leaves the
// server waits for durability: the feed publishes a revision once it is durable, and the server
// holds every response made while writes were pending until they are (durable_revision()).
//
// Over a store several servers share (etcd), each server's Registry is a view of it: writes are
// checked against the revision this view holds and committed only if no other server committed
// since (else the view catches up and checks again), other servers' commits arrive through
// sync(), and the Cluster (cluster.hpp) says who runs the timers and carries renewals.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <rapidjson/document.h>

#include "roster/base/result.hpp"
#include "roster/governance/finding.hpp"
#include "roster/governance/schema_compat.hpp"
#include "roster/model/graph.hpp"
#include "roster/model/lifecycle.hpp"
#include "roster/upstream/change_feed.hpp"
#include "roster/upstream/cluster.hpp"
#include "roster/upstream/group_committer.hpp"
#include "roster/upstream/lease_table.hpp"
#include "roster/upstream/record_keys.hpp"
#include "roster/upstream/store.hpp"
#include "roster/upstream/version_index.hpp"
#include "roster/upstream/write_result.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::upstream {

struct RegistryOptions {
  LeaseOptions leases;
  size_t memory_change_log = 4096;       // delta frames kept in memory for resuming agents
  size_t max_store_catch_up = 100'000;   // changes replayed from the store before a snapshot is cheaper
  model::LifecyclePolicy lifecycle;      // per-service settings override these two
  governance::CompatibilityMode compatibility = governance::CompatibilityMode::Backward;
};

// A service's governance settings: its own where set, else the server's defaults.
struct ServiceSettings {
  governance::CompatibilityMode compatibility;
  model::LifecyclePolicy lifecycle;
};

// A dry run checks everything and writes nothing.
struct WriteOptions {
  bool dry_run = false;
};

using Frame = wire::EncodedFrame;  // one encoded stream frame, shared

// A registry this server follows (roster-server --follow NAME=ADDR): its records are mirrored
// here read-only, each marked with NAME (followed_from); docs/federation.md.
struct FollowedRegistry {
  std::string name;
  std::vector<std::string> addresses;  // its stream addresses, named in refusals: where to write instead
};

// Where this server stands in a followed registry's stream: what it resumes from.
struct FollowPoint {
  uint64_t revision = 0;  // 0: nothing yet (a snapshot)
  std::string store_id;
};

class Registry {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds; injectable for tests
  // Loads every record from the store. Errors: the store's. `cluster`: the servers sharing the
  // store, or none when this one has it alone.
  static Result<std::unique_ptr<Registry>> open(Store& store, RegistryOptions options, Clock clock,
                                                Cluster* cluster = nullptr);

  // Applies what other servers committed to a shared store (and re-reads the whole registry when
  // the store lost track). Call when the store says there are changes (Store::on_changes).
  void sync();
  // As sync(), and waits up to `timeout` until the registry reaches `at_least` (a server that lost
  // a commit race, or that an agent from a server further along comes to). False if it did not.
  bool catch_up(uint64_t at_least, std::chrono::milliseconds timeout);
  // Commits through `committer` from now on (Store::sole_writer stores only; else ignored). The
  // server passes each GroupOutcome back with group_committed(), on this registry's thread; false
  // when the outcome is stale (about writes an earlier failure already refused). On a failure the
  // registry re-reads the store, and every pending write is refused.
  void commit_in_background(GroupCommitter* committer);
  bool group_committed(const GroupOutcome& outcome);
  // The newest revision that is durable (== revision() but while writes are pending).
  uint64_t durable_revision() const { return pending_.empty() ? revision_ : pending_.front().from; }
  // Whether this server runs the timers: lease expiry and scheduled lifecycle moves.
  bool leads() const { return !cluster_ || cluster_->leads(); }

  // --- writes: each successful one is one durable revision (or none if it changed nothing) ---

  // One service version (its record) and its instances. Passes the lifecycle, dependency and
  // schema rules (version_rules.hpp, schema_rules.hpp); a new version starts early in the chain.
  WriteResult put_version(std::span<const uint8_t> version, const wire::RecordList& instances, WriteOptions options = {});
  // A whole decoded document (a registry or one service version): an import, whose new versions
  // keep the stage they are given; everything else is as put_version. Precondition: document.ok().
  WriteResult import(const wire::DecodedDocument& document, WriteOptions options = {});
  // Removes a version with its instances. Refused (409 has_dependents, naming them) while other
  // versions resolve to it and would resolve to no live version without it, unless `force`.
  WriteResult delete_version(const VersionKey& key, bool force = false);
  // Moves a version along its lifecycle; deprecating records `reason` and plans the sunset.
  // Retiring is refused like delete_version while it would leave dependents unresolved, unless
  // `force`.
  WriteResult transition(const VersionKey& key, wire::LifecycleStage to, std::string_view reason, bool force = false);
  // Makes every scheduled lifecycle move that is due, each its own revision, when this server
  // leads. Call periodically.
  WriteResult advance_lifecycle();
  WriteResult set_settings(std::string_view name, std::optional<governance::CompatibilityMode> compatibility,
                           std::optional<model::LifecyclePolicy> lifecycle);
  // A consumer's Pact against the provider versions `provider_range` accepts.
  WriteResult put_contract(const ContractKey& key, std::string_view provider_range, const rapidjson::Value& pact);
  WriteResult delete_contract(const ContractKey& key);
  // An instance record of a registered version, with a lease of `ttl` (or the default).
  WriteResult put_instance(std::span<const uint8_t> instance, std::optional<std::chrono::milliseconds> ttl);
  // Extends the instance's lease (not a write). NotFound: no such instance, register it again.
  Result<Lease> renew(const InstanceKey& key);
  WriteResult delete_instance(const InstanceKey& key);
  // Removes instances whose lease ran out, unless self-preservation holds, when this server
  // leads; first trades renewals with the other servers. Call every second or so.
  WriteResult expire_leases();

  // --- following other registries (registry_follow.cpp, docs/federation.md) ---

  // The registries this server follows, for the refusals' messages. Records of one not named
  // here any more stay, read-only, until it is followed again.
  void set_followed(std::vector<FollowedRegistry> followed) { followed_ = std::move(followed); }
  FollowPoint follow_point(std::string_view registry) const;
  // A whole snapshot of `registry` (its chunks, verified): replaces everything followed from it,
  // as one revision, with the follow point. Records whose name belongs to another owner (this
  // server, or a registry followed first) are skipped, logged once and counted (conflicts).
  // Followed records pass none of this server's rules: their owner judged them. Over a store only
  // this server writes (roster-server refuses --follow over a shared one).
  WriteResult apply_followed_snapshot(std::string_view registry, std::span<const wire::Snapshot* const> chunks);
  // One delta of `registry` (verified), as one revision. Conflict (follow_gap) when it does not
  // start where this server stands: the caller reconnects and resumes.
  WriteResult apply_followed_delta(std::string_view registry, const wire::Delta& delta);
  // The registry `service` is followed from; empty for a service of this server's own (or none).
  std::string_view followed_from(std::string_view service) const;

  // --- reads: records held in memory, valid until the next write ---

  const wire::ServiceVersion* version(std::string_view name, std::string_view version) const;
  // What "latest" means (roster/model/version_choice.hpp); `every_stage`: the highest not retired.
  const wire::ServiceVersion* latest(std::string_view name, bool every_stage = false) const;
  std::vector<const wire::ServiceVersion*> versions(std::string_view name) const;  // ascending precedence
  std::vector<std::string> service_names() const;                                 // sorted, each once
  std::vector<const wire::ServiceVersion*> search(std::optional<std::string_view> team,
                                                  std::optional<wire::LifecycleStage> stage,
                                                  std::optional<std::string_view> tag) const;
  std::vector<const wire::Instance*> instances(std::string_view service, std::optional<std::string_view> version) const;
  std::optional<Lease> lease(const InstanceKey& key) const { return leases_.find(key); }
  std::vector<const wire::Contract*> contracts(std::optional<std::string_view> consumer,
                                               std::optional<std::string_view> provider) const;
  const wire::Contract* contract(const ContractKey& key) const;
  // The resolved dependency graph of every registered version.
  const model::DependencyGraph& graph() const { return graph_; }
  ServiceSettings settings(std::string_view name) const;
  // Everything registered here, for an export (GET /v1/registry): versions, contracts, the
  // services' settings and, when asked, the instances; not the followed records (their owner has
  // them, and a restore would be refused writing them).
  wire::RegistryRecords records(bool with_instances) const;
  int64_t now() const { return clock_(); }
  uint64_t revision() const { return revision_; }
  // The store's identity: revisions are comparable only within one.
  const std::string& store_identity() const { return store_.identity(); }

  // --- the feed agents receive ---

  ChangeFeed& feed() { return feed_; }
  // Delta frames that take an agent from `revision` to durable_revision(); nullopt when a snapshot
  // is needed.
  std::optional<std::vector<Frame>> frames_since(uint64_t revision) const;
  // The whole registry at revision() as Snapshot frames of at most `max_frame_bytes` each; built
  // once per revision and shared by every agent that needs it. With writes pending, hold them
  // until revision() is durable.
  std::vector<Frame> snapshot_frames(size_t max_frame_bytes) const;

  struct Metrics {
    uint64_t lease_expiries = 0;
    uint64_t renewals = 0;
    uint64_t write_conflicts = 0;  // writes checked again because another server committed first
    bool self_preservation = false;
    bool leader = true;
    size_t instances = 0, versions = 0;
    std::map<std::string, uint64_t, std::less<>> follow_conflicts;  // followed records skipped, by registry
  };
  Metrics metrics() const;

 private:
  Registry(Store& store, RegistryOptions options, Clock clock, Cluster* cluster);
  using Bytes = std::vector<uint8_t>;
  struct FollowStateKey {
    std::string registry;
    auto operator<=>(const FollowStateKey&) const = default;
  };
  // One change to the registry, with its typed key (the store sees it encoded).
  struct Change {
    std::variant<VersionKey, InstanceKey, ContractKey, std::string /* policy */, FollowStateKey> key;
    std::optional<Bytes> record;  // nullopt = delete
  };
  Result<void> load();
  // Runs a write; when another server committed first, catches up and runs it again.
  template <typename Attempt>
  WriteResult retrying(Attempt&& attempt);
  bool reload();  // false: the store could not be read (this registry is unchanged)
  // The checked changes for candidate version records, or the refusal.
  // Settings a write brings along (an import's `settings`), in force for its own checks.
  using SettingsByService = std::map<std::string, ServiceSettings, std::less<>>;
  ServiceSettings settings(std::string_view name, const SettingsByService& incoming) const;
  WriteResult check_versions(const std::vector<std::span<const uint8_t>>& candidates, bool import,
                             std::vector<Change>& changes, const SettingsByService& incoming = {});
  static Bytes policy_record(std::string_view name, const ServiceSettings& settings);
  // The versions of `candidate`'s service the schema rules read (check_schema's `others`): those
  // below it in its major line as they will stand with the write (`pending_here`: the write's
  // versions of its service); every one for a transitive mode, else down to the nearest one with a
  // schema of its format and the nearest such release.
  std::vector<const wire::ServiceVersion*> schema_neighbours(
      const wire::ServiceVersion& candidate, governance::CompatibilityMode mode,
      const std::vector<const wire::ServiceVersion*>& pending_here) const;
  WriteResult finish(WriteResult checked, std::vector<Change> changes, WriteOptions options);
  WriteResult commit(std::vector<Change> changes);
  void apply_in_memory(const Change& change);
  // Sets the record's `revision` to the revision that wrote it (policies carry none).
  // Ours: built by this server (the decoder), stamped in place. FromOutside: read from the store
  // (another server's, or a file), whose verified bytes may still overlap: re-encoded.
  enum class Origin { Ours, FromOutside };
  static void stamp_revision(Change& change, uint64_t revision, Origin origin);
  // `resolutions`: ServiceResolution records for the services the changes re-resolved.
  Frame encode_delta(uint64_t from, uint64_t revision, const std::vector<Change>& changes,
                     const std::vector<Bytes>& resolutions) const;
  // The resolutions of the services whose versions or resolved dependencies changed since the
  // last call (model/service_resolution.hpp): what the delta of the changes just applied carries.
  std::vector<Bytes> take_resolutions();
  // Typed changes of stored mutations, their record bytes verified (a shared store's bytes were
  // written by other processes).
  Result<std::vector<Change>> decode_changes(const std::vector<Mutation>& mutations) const;
  // Refused (409 followed_record, naming the owner and where to write) when `service` is followed.
  std::optional<Error> followed_error(std::string_view service) const;
  // A contract belongs to its consumer: refused when the consumer or the contract is followed.
  std::optional<Error> followed_contract_error(const ContractKey& key) const;
  // The changes that bring `registry`'s followed records to `incoming` (records of a snapshot or
  // delta, verified), skipping those whose name another owner holds; `whole`: a snapshot, whose
  // absent records go.
  struct FollowedRecords;
  std::vector<Change> followed_changes(std::string_view registry, const FollowedRecords& incoming, bool whole);
  WriteResult commit_followed(std::string_view registry, std::vector<Change> changes, const FollowPoint& point);
  // The lease an instance record asks for (its lease_ttl_ms), or the default.
  static std::optional<std::chrono::milliseconds> lease_ttl(const std::vector<uint8_t>& instance);

  Store& store_;
  Cluster* cluster_;
  RegistryOptions options_;
  Clock clock_;
  uint64_t revision_ = 0;
  std::map<VersionKey, Bytes> versions_;
  std::map<InstanceKey, Bytes> instances_;
  std::map<ContractKey, Bytes> contracts_;
  std::map<std::string, Bytes, std::less<>> policies_;
  std::map<std::string, Bytes, std::less<>> follow_states_;  // FollowState records, by registry
  std::vector<FollowedRegistry> followed_;
  std::map<std::string, uint64_t, std::less<>> follow_conflicts_;
  std::set<std::pair<std::string, std::string>> conflicts_logged_;  // (registry, what): each logged once
  model::DependencyGraph graph_;  // mirrors versions_
  VersionIndex by_precedence_;     // mirrors versions_
  LeaseTable leases_;
  // Instances by the hash of their store key, which renewal reports name; and the hashes of
  // those renewed here since the last report.
  std::unordered_map<uint64_t, InstanceKey> instance_by_hash_;
  std::vector<uint64_t> renewed_here_;
  ChangeFeed feed_;
  uint64_t lease_expiries_ = 0, write_conflicts_ = 0;
  mutable std::optional<std::pair<uint64_t, std::vector<Frame>>> snapshot_cache_;  // (revision, frames)
  // Background commits: writes applied here but not yet durable (their deltas are published once
  // they are), oldest first; the epoch grows when a group fails and the registry is re-read.
  GroupCommitter* committer_ = nullptr;
  struct Pending {
    uint64_t from, revision;
    Frame delta;
    ChangeFeed::Time written;  // applied here, waiting for its group's fsync
  };
  std::deque<Pending> pending_;
  uint64_t epoch_ = 0;
};

}  // namespace roster::upstream
