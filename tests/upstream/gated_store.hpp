// Test helpers for group commit: a SQLite store whose group commits can be held back (so a
// queue builds up) or made to fail, and the committer's outcomes collected for the test thread.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "roster/upstream/group_committer.hpp"
#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {

// A SQLite store whose group commits can be held back (to let a queue build up) or made to fail.
class GatedStore final : public Store {
 public:
  explicit GatedStore(const std::filesystem::path& dir) : inner_(std::move(*SqliteStore::open(dir.string()))) {}
  Result<uint64_t> commit(const std::vector<Mutation>& m) override { return inner_->commit(m); }
  Result<uint64_t> commit_at(uint64_t e, const std::vector<Mutation>& m) override { return inner_->commit_at(e, m); }
  bool sole_writer() const override { return true; }
  Result<uint64_t> commit_group(uint64_t expected, const std::vector<std::vector<Mutation>>& transactions) override {
    std::unique_lock lock(mu_);
    group_sizes.push_back(transactions.size());
    entered_.notify_all();
    opened_.wait(lock, [&] { return open_; });
    if (fail_next) {
      fail_next = false;
      return fail(ErrorKind::Unavailable, "store_unavailable", "disk I/O error (injected)");
    }
    lock.unlock();
    return inner_->commit_group(expected, transactions);
  }
  uint64_t revision() const override { return inner_->revision(); }
  const std::string& identity() const override { return inner_->identity(); }
  Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const override {
    return inner_->scan(visit);
  }
  Result<std::optional<std::vector<Change>>> changes_since(uint64_t after, size_t limit) const override {
    return inner_->changes_since(after, limit);
  }

  void close_gate() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    opened_.notify_all();
  }
  // Waits until `n` groups have reached the store.
  void wait_for_groups(size_t n) {
    std::unique_lock lock(mu_);
    entered_.wait(lock, [&] { return group_sizes.size() >= n; });
  }
  std::vector<size_t> sizes() {
    std::lock_guard lock(mu_);
    return group_sizes;
  }
  bool fail_next = false;  // set while the gate is closed

 private:
  std::unique_ptr<SqliteStore> inner_;
  std::mutex mu_;
  std::condition_variable entered_, opened_;
  bool open_ = true;
  std::vector<size_t> group_sizes;
};

// Outcomes reported on the committer's thread, collected for the test's thread.
struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<GroupOutcome> seen;
  GroupCommitter::Report report() {
    return [this](const GroupOutcome& o) {
      std::lock_guard lock(mu);
      seen.push_back(o);
      cv.notify_all();
    };
  }
  // Waits until `n` outcomes (groups) were reported, returns them all.
  std::vector<GroupOutcome> wait_for(size_t n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return seen.size() >= n; });
    return seen;
  }
};

}  // namespace roster::upstream
