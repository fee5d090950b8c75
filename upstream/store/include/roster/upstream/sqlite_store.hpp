// The embedded default Store: one SQLite database, <data_dir>/roster.db, in WAL mode with
// synchronous=FULL, so a commit that returned survives a crash of the process or the machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "roster/upstream/store.hpp"

namespace roster::upstream {

struct SqliteOptions {
  // How many of the newest revisions the change log keeps; older ones are pruned at commit, and
  // an agent further behind gets a snapshot. 0 keeps none.
  uint64_t change_log_revisions = 100000;
  // How long a statement waits on a lock held by another connection (e.g. a checkpoint).
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteStore final : public Store {
 public:
  // Creates data_dir if needed (0700; one that exists keeps its mode) and opens (or creates, 0600)
  // data_dir/roster.db. Only one SqliteStore may hold a data dir at a time (an flock on
  // data_dir/roster.lock, released when the process dies). Errors name the path: Io (the dir
  // cannot be created, is not a directory, or anyone may write into it), Conflict
  // (another store holds it), Corrupt (the file is not a SQLite database or not a roster one, or
  // its schema version differs from this build's), Unavailable (SQLite failed).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& data_dir, SqliteOptions options = {});

  // The schema version kept in PRAGMA user_version (a version 1 data dir is migrated on open:
  // version 2 adds the store's identity).
  static constexpr int kSchemaVersion = 2;

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<uint64_t> commit(const std::vector<Mutation>& mutations) override;
  Result<uint64_t> commit_at(uint64_t expected, const std::vector<Mutation>& mutations) override;
  // One SQLite transaction and one fsync for the whole group.
  Result<uint64_t> commit_group(uint64_t expected, const std::vector<std::vector<Mutation>>& transactions) override;
  bool sole_writer() const override { return true; }
  uint64_t revision() const override;
  const std::string& identity() const override;  // "sqlite:" + 32 hex digits made with the store
  Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const override;
  Result<std::optional<std::vector<Change>>> changes_since(uint64_t after, size_t limit) const override;

  const std::string& db_path() const;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::upstream
