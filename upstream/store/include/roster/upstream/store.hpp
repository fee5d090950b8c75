// The server's durable store: registry records keyed by (kind, key), a revision that grows with
// every committed transaction, and a bounded change log of them. Narrow on purpose: SQLite
// (sqlite_store.hpp) is one server's own store, whose revisions count its commits; etcd
// (etcd_store.hpp) is shared by several servers, whose revisions are etcd's (they grow, with
// gaps) and whose commits may lose a race to another server. Record bytes are opaque here: the
// server validates and encodes them; the store only keeps them. Typed keys, and the only code
// that builds or splits these encoded ones, are in roster/upstream/record_keys.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::upstream {

// ServicePolicy records (a service's governance settings) and FollowState records (where the
// stream of a registry this server follows stands) stay in the server; agents never get them.
enum class RecordKind : uint8_t { ServiceVersion = 1, Instance = 2, Contract = 3, ServicePolicy = 4, FollowState = 5 };

// Keys are the record's identity fields joined by '\0' (no field may be empty or contain '\0'):
//   ServiceVersion  name\0version
//   Instance        service\0version\0id
//   Contract        consumer\0consumer_version\0provider
//   ServicePolicy   name
//   FollowState     registry (the followed registry's name)
// The '\0'-separated fields of a key, as views into it.
inline std::vector<std::string_view> key_parts(std::string_view key) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = key.find('\0', start);
    if (end == std::string_view::npos) {
      parts.push_back(key.substr(start));
      return parts;
    }
    parts.push_back(key.substr(start, end - start));
    start = end + 1;
  }
}

struct Mutation {
  RecordKind kind;
  std::string key;
  std::optional<std::vector<uint8_t>> record;  // nullopt = delete
  bool operator==(const Mutation&) const = default;
};

// Invalid when the kind is unknown or the key does not have the kind's fields (above); every
// store refuses such a mutation, and with it the whole commit.
Result<void> check_mutation(const Mutation& m);

struct StoredRecord {
  RecordKind kind;
  std::string key;
  std::vector<uint8_t> record;
  uint64_t revision;  // the revision that last wrote this record
  bool operator==(const StoredRecord&) const = default;
};

// One committed transaction.
struct Change {
  uint64_t revision;
  std::vector<Mutation> mutations;  // in the order they were committed
  bool operator==(const Change&) const = default;
};

// Implementations are safe to call from several threads.
class Store {
 public:
  virtual ~Store() = default;

  // Applies every mutation atomically and durably as a new revision, greater than every earlier
  // one, and returns it; the caller acknowledges a write only after this returns. Mutations apply
  // in order (the last one on a key wins). Deleting a missing key is a no-op mutation. An empty
  // list commits nothing and returns revision(). Errors (nothing was applied; the message names
  // the path and the engine's error): Invalid for an invalid mutation (unknown kind, malformed
  // key) or one the engine refuses (too large), Unavailable (store_unavailable) for a failed
  // write.
  virtual Result<uint64_t> commit(const std::vector<Mutation>& mutations) = 0;

  // As commit, but only while the newest committed revision is still `expected` (the one the
  // caller checked its rules against); else Conflict (code revision_moved) and nothing was
  // applied: the caller takes the changes it missed (take_changes) and checks again. A store
  // only this process writes never moves under its caller.
  virtual Result<uint64_t> commit_at(uint64_t expected, const std::vector<Mutation>& mutations) = 0;

  // Several transactions committed with one flush (the group commit of a busy server): each its
  // own revision, expected + 1, expected + 2, ..., all or none, and only while the newest revision
  // is still `expected` (else Conflict revision_moved). Returns the last one. Only a store that
  // numbers its own commits consecutively offers it (sole_writer()); the default commits them one
  // by one, each durable on its own, which is no group at all.
  virtual bool sole_writer() const { return false; }
  virtual Result<uint64_t> commit_group(uint64_t expected, const std::vector<std::vector<Mutation>>& transactions) {
    for (const auto& t : transactions) {
      auto committed = commit_at(expected, t);
      if (!committed) return committed;
      expected = *committed;
    }
    return expected;
  }

  // Who this store is: made once with the store and kept with it, so a revision can be told
  // from the same number of another store (a replaced data dir, an unrelated server). Agents
  // keep it with every revision they hold, and resume by revision only within one identity.
  virtual const std::string& identity() const = 0;

  // The revision of the last commit this store acknowledged (returned from commit). A scan or
  // changes_since begun after revision() returned N sees at least N; a commit whose call has not
  // returned yet may already be visible to them.
  virtual uint64_t revision() const = 0;

  // Visits every live record at one revision, which it returns, in key order (bytewise) per kind,
  // kinds in enum order. Commits may run meanwhile; the scan does not see them. The reference is
  // valid only during the call; visit must not call scan or changes_since (it may commit).
  virtual Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const = 0;

  // Committed changes with revision > after, oldest first, at most `limit`, with no committed
  // revision left out between them; nullopt if the retained change log no longer covers `after`
  // (it was pruned or compacted, or `after` is ahead of revision()): the caller must then send a
  // snapshot.
  virtual Result<std::optional<std::vector<Change>>> changes_since(uint64_t after, size_t limit) const = 0;

  // --- for a store several servers share; one only this process writes keeps the defaults ---

  // The changes committed since the last call or the last scan (this handle's own included),
  // oldest first. Waits up to `timeout` until one with revision >= at_least has arrived (for a
  // caller that lost a commit_at race). Unavailable (code store_resync) when the store can no
  // longer say what changed (its history was compacted while this handle was away): scan again.
  virtual Result<std::vector<Change>> take_changes(uint64_t at_least, std::chrono::milliseconds timeout) {
    (void)at_least, (void)timeout;
    return std::vector<Change>{};
  }
  // Called, from any thread, when take_changes has something new.
  virtual void on_changes(std::function<void()> notify) { (void)notify; }
};

}  // namespace roster::upstream
