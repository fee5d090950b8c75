// The registry roster-server serves: in-memory state over a durable Store, the write rules,
// revisions, instance leases (as in Eureka, with self-preservation), and the feed of encoded
// delta frames that agents receive. Single-threaded: the server calls it from its event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/governance/finding.hpp"
#include "roster/model/graph.hpp"
#include "roster/model/lifecycle.hpp"
#include "roster/governance/schema_compat.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/upstream/store.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {

struct RegistryOptions {
  std::chrono::milliseconds lease_renewal_interval{30'000};  // what instances are told to do
  std::chrono::milliseconds lease_duration{90'000};          // expiry without a renewal
  double self_preservation_threshold = 0.85;  // renewals below this share of expected: stop expiring
  std::chrono::milliseconds renewal_window{60'000};
  size_t memory_change_log = 4096;  // encoded deltas kept in memory for resuming agents
  size_t max_store_catch_up = 100'000;  // changes replayed from the store before a snapshot is cheaper
  model::LifecyclePolicy lifecycle;     // per-service settings override these two
  governance::CompatibilityMode compatibility = governance::CompatibilityMode::Backward;
};

// A service's governance settings: its own where set, else the server's defaults.
struct ServiceSettings {
  governance::CompatibilityMode compatibility;
  model::LifecyclePolicy lifecycle;
};

// A refused request: HTTP status, a stable code, a message and (for bad documents) a JSON path.
struct ApiError {
  int status;
  std::string code, message, path;
};

struct WriteOutcome {
  WriteOutcome() = default;
  WriteOutcome(uint64_t revision, std::vector<std::string> warnings, std::optional<ApiError> error,
               std::vector<governance::Finding> findings = {})
      : revision(revision), warnings(std::move(warnings)), error(std::move(error)), findings(std::move(findings)) {}
  uint64_t revision = 0;  // 0 when nothing was written
  std::vector<std::string> warnings;
  std::optional<ApiError> error;
  std::vector<governance::Finding> findings;  // why a schema was refused (or would be, on a dry run)
};

// How a version write is checked: a dry run checks everything and writes nothing.
struct WriteOptions {
  bool dry_run = false;
};

using Frame = wire::EncodedFrame;  // one encoded stream frame, shared

class Registry {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds; injectable for tests
  Registry(Store& store, RegistryOptions options, Clock clock);

  // Writes. Each successful one is one durable revision (or none if it changed nothing).
  // A version write passes the lifecycle, dependency and schema rules (upstream/version_rules.hpp).
  WriteOutcome put_version(std::string_view name, std::string_view version, std::string_view json,
                           WriteOptions options = {});
  WriteOutcome delete_version(std::string_view name, std::string_view version);
  // A whole registry document or one service version, instances included (rosterctl register).
  // Versions it adds keep the stage they are given (an import); everything else is as put_version.
  WriteOutcome register_document(std::string_view json, WriteOptions options = {});
  // Moves a version along its lifecycle; deprecating records `reason` and plans the sunset.
  WriteOutcome transition(std::string_view name, std::string_view version, wire::LifecycleStage to, std::string_view reason);
  // Makes every scheduled lifecycle move that is due, each its own revision. Call periodically.
  WriteOutcome advance_lifecycle();
  WriteOutcome set_settings(std::string_view name, std::optional<governance::CompatibilityMode> compatibility,
                            std::optional<model::LifecyclePolicy> lifecycle);
  // A consumer's Pact against a provider range; `json` is {"provider_range", "pact"}.
  WriteOutcome put_contract(std::string_view consumer, std::string_view consumer_version, std::string_view provider,
                            std::string_view json);
  WriteOutcome delete_contract(std::string_view consumer, std::string_view consumer_version, std::string_view provider);
  WriteOutcome put_instance(std::string_view service, std::string_view version, std::string_view id,
                            std::string_view json, std::optional<std::chrono::milliseconds> ttl);
  WriteOutcome renew(std::string_view service, std::string_view version, std::string_view id);
  WriteOutcome delete_instance(std::string_view service, std::string_view version, std::string_view id);
  // Removes instances whose lease ran out, unless self-preservation holds. Call periodically.
  WriteOutcome expire_leases();

  // Reads: records held in memory, valid until the next write.
  const wire::ServiceVersion* version(std::string_view name, std::string_view version) const;
  const wire::ServiceVersion* latest(std::string_view name, bool include_prerelease = false) const;
  std::vector<const wire::ServiceVersion*> versions(std::string_view name) const;  // ascending precedence
  std::vector<const wire::ServiceVersion*> search(std::optional<std::string_view> team,
                                                  std::optional<wire::LifecycleStage> stage,
                                                  std::optional<std::string_view> tag) const;
  std::vector<const wire::Instance*> instances(std::string_view service, std::optional<std::string_view> version) const;
  std::optional<int64_t> lease_expiry(std::string_view service, std::string_view version, std::string_view id) const;
  std::vector<const wire::Contract*> contracts(std::optional<std::string_view> consumer,
                                               std::optional<std::string_view> provider) const;
  const wire::Contract* contract(std::string_view consumer, std::string_view consumer_version,
                                 std::string_view provider) const;
  // The resolved dependency graph of every registered version.
  const model::DependencyGraph& graph() const { return graph_; }
  ServiceSettings settings(std::string_view name) const;
  int64_t now() const { return clock_(); }

  uint64_t revision() const { return revision_; }
  // How often instances are told to renew their leases.
  std::chrono::milliseconds lease_renewal_interval() const { return options_.lease_renewal_interval; }

  // The feed: `on_delta` runs after every commit with that commit's encoded Delta frame.
  void on_delta(std::function<void(const Frame&, uint64_t revision)> listener) { listener_ = std::move(listener); }
  // Delta frames that take an agent from `revision` to now; nullopt when a snapshot is needed.
  std::optional<std::vector<Frame>> frames_since(uint64_t revision) const;
  // The whole registry as Snapshot frames of at most `max_frame_bytes` each; built once per
  // revision and shared by every agent that needs it.
  std::vector<Frame> snapshot_frames(size_t max_frame_bytes) const;

  struct Metrics {
    uint64_t lease_expiries = 0;
    uint64_t renewals = 0;
    bool self_preservation = false;
    size_t instances = 0, versions = 0;
  };
  const Metrics& metrics() const { return metrics_; }

 private:
  using Records = std::map<std::string, std::vector<uint8_t>, std::less<>>;
  // The checked mutations for version documents (decoded records), or the refusal.
  WriteOutcome check_versions(const std::vector<std::span<const uint8_t>>& candidates, bool import,
                              std::vector<Mutation>& mutations);
  WriteOutcome finish(WriteOutcome checked, std::vector<Mutation> mutations, WriteOptions options);
  WriteOutcome commit(std::vector<Mutation> mutations);
  void apply_in_memory(const Mutation& m);
  Frame encode_delta(uint64_t revision, const std::vector<Mutation>& mutations) const;
  WriteOutcome decode_error(const wire::DecodedDocument& doc) const;
  Records& records(RecordKind kind);
  const Records& records(RecordKind kind) const;

  Store& store_;
  RegistryOptions options_;
  Clock clock_;
  wire::JsonDecoder decoder_;
  uint64_t revision_ = 0;
  Records versions_, instances_, contracts_, policies_;
  model::DependencyGraph graph_;  // mirrors versions_
  std::map<std::string, int64_t, std::less<>> leases_;  // instance key -> expiry (Unix ms)
  std::vector<std::pair<uint64_t, Frame>> recent_;      // (revision, delta frame), oldest first
  std::function<void(const Frame&, uint64_t)> listener_;
  mutable std::optional<std::pair<uint64_t, std::vector<Frame>>> snapshot_cache_;  // (revision, frames)
  // Renewals counted per window for self-preservation.
  int64_t window_start_ms_ = 0;
  uint64_t renewals_in_window_ = 0, renewals_last_window_ = 0;
  size_t leases_at_window_start_ = 0;
  double expected_last_window_ = 0;
  bool have_full_window_ = false;
  Metrics metrics_;
};

}  // namespace roster::upstream
