// Commits a server's writes off its event loop, a group at a time: whatever was submitted while
// the previous group was being flushed goes to the store together, as one transaction and one
// fsync (Store::commit_group), each write keeping its own revision. For a store only this
// process writes (Store::sole_writer), so the caller knows each write's revision in advance and
// can go on checking later writes against it while it is flushed.
//
// Threading: submit() from one thread (the event loop); `report` runs on the committer's own
// thread, once per group, in revision order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/upstream/store.hpp"

namespace roster::upstream {

struct GroupOutcome {
  uint64_t epoch = 0;
  // Durable through `revision`; or, with `error`, nothing of `epoch` from the group's first
  // revision on was committed (the writes after it built on it, so they are refused too).
  uint64_t revision = 0;
  std::optional<Error> error;
};

class GroupCommitter {
 public:
  using Report = std::function<void(const GroupOutcome&)>;
  GroupCommitter(Store& store, Report report, size_t max_group = 4096);
  // Commits what was submitted, then stops.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // `revision` is the one after the previous submission's (or the store's revision, for the first
  // of an epoch). The caller starts a new epoch after a failure: what it submitted in the failed
  // epoch and the committer had not taken yet is refused without being tried.
  void submit(uint64_t epoch, uint64_t revision, std::vector<Mutation> mutations);

 private:
  struct Write {
    uint64_t epoch, revision;
    std::vector<Mutation> mutations;
  };
  void run();

  Store& store_;
  Report report_;
  size_t max_group_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Write> queue_;  // under mu_
  bool stopping_ = false;    // under mu_
  std::thread thread_;       // last: starts once everything above exists
};

}  // namespace roster::upstream
