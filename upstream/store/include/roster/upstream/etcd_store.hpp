// A Store on an etcd cluster (its v3 API over gRPC), shared by any number of roster-servers so
// the registry survives the loss of any one machine. Under a key prefix:
//   PREFIX rev              written by every registry commit: its mod revision is the registry's
//                           revision, and commit_at compares on it
//   PREFIX r/K/KEY          one registry record (K: the RecordKind's digit; KEY as in store.hpp)
//   PREFIX leader           the elected server's id, on its session lease (cluster.hpp)
//   PREFIX renewals/ID      the instances that renewed at server ID in its last second, on its
//                           session lease
// A watch on the prefix feeds take_changes (every server's commits) and the renewal reports.
// The leader compacts etcd's history older than keep_history.
// Revisions are etcd's own, so every server and agent agrees on them; the identity is
// "etcd:" + the cluster id + the prefix.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "roster/upstream/cluster.hpp"
#include "roster/upstream/store.hpp"

namespace roster::upstream {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // host:port of the members, any number
  std::string prefix = "roster/";      // every key lives under it
  // A commit that etcd has not acknowledged by then fails with store_unavailable (503).
  std::chrono::milliseconds commit_timeout{3000};
  // The session lease behind the election and the renewal reports: a server that dies loses
  // the election this long after its last keepalive.
  std::chrono::seconds session_ttl{3};
  std::chrono::milliseconds report_interval{1000};  // how often renewals are reported
  // The leader compacts etcd's history older than this (0: never; then etcd's own
  // --auto-compaction-* must, or its database grows until it refuses writes).
  std::chrono::seconds keep_history{600};
};

class EtcdStore final : public Store, public Cluster {
 public:
  // Connects, reads the cluster's identity and starts the watch and the session (election and
  // renewal reports). Unavailable when no member answers within the commit timeout.
  static Result<std::unique_ptr<EtcdStore>> open(EtcdOptions options);
  ~EtcdStore() override;  // resigns (revokes the session lease) and stops its threads
  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  Result<uint64_t> commit(const std::vector<Mutation>& mutations) override;
  Result<uint64_t> commit_at(uint64_t expected, const std::vector<Mutation>& mutations) override;
  uint64_t revision() const override;
  const std::string& identity() const override;
  Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const override;
  Result<std::optional<std::vector<Change>>> changes_since(uint64_t after, size_t limit) const override;
  Result<std::vector<Change>> take_changes(uint64_t at_least, std::chrono::milliseconds timeout) override;
  void on_changes(std::function<void()> notify) override;

  bool leads() const override;
  void report_renewals(std::vector<uint64_t> instance_hashes) override;
  std::vector<std::vector<uint64_t>> take_renewal_reports() override;

  const std::string& server_id() const;

  struct Impl;

 private:
  explicit EtcdStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::upstream
