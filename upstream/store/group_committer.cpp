#include "roster/upstream/group_committer.hpp"

#include <algorithm>

namespace roster::upstream {

GroupCommitter::GroupCommitter(Store& store, Report report, size_t max_group)
    : store_(store), report_(std::move(report)), max_group_(std::max<size_t>(1, max_group)), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void GroupCommitter::submit(uint64_t epoch, uint64_t revision, std::vector<Mutation> mutations) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back({epoch, revision, std::move(mutations)});
  }
  wake_.notify_one();
}

void GroupCommitter::run() {
  std::optional<uint64_t> failed_epoch;  // only this thread
  std::vector<Write> group;
  std::vector<std::vector<Mutation>> transactions;
  for (;;) {
    group.clear();
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted was committed
      // One epoch per group: a group never mixes writes from before and after a failure.
      const uint64_t epoch = queue_.front().epoch;
      while (!queue_.empty() && queue_.front().epoch == epoch && group.size() < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const uint64_t epoch = group.front().epoch;
    GroupOutcome outcome{epoch, group.back().revision, std::nullopt};
    if (failed_epoch && epoch <= *failed_epoch) {
      outcome.error = Error{ErrorKind::Unavailable, "store_unavailable",
                            "an earlier write this one builds on could not be committed; nothing was written", ""};
      report_(outcome);
      continue;
    }
    transactions.clear();
    for (auto& w : group) transactions.push_back(std::move(w.mutations));
    auto committed = store_.commit_group(group.front().revision - 1, transactions);
    if (committed && *committed != outcome.revision)
      committed = fail(ErrorKind::Corrupt, "revision_mismatch",
                       "the store committed through revision " + std::to_string(*committed) + ", not " +
                           std::to_string(outcome.revision));
    if (!committed) {
      failed_epoch = epoch;
      outcome.error = committed.error();
    }
    report_(outcome);
  }
}

}  // namespace roster::upstream
