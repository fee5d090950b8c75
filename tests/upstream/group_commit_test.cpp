// Group commit: the SQLite store's commit_group (one transaction, a revision per write, all or
// nothing), the GroupCommitter that feeds it off the caller's thread (writes that arrive while a
// group is flushed form the next one; a failure refuses the rest of its epoch), and a Registry
// that commits in the background (pending writes are applied at once, published when durable,
// and dropped with the registry re-read when their group fails).
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gated_store.hpp"
#include "roster/upstream/group_committer.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/sqlite_store.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("roster-group-" + std::to_string(getpid()) + "-" + std::to_string(rand()));
  ~TempDir() { fs::remove_all(path); }
};

Mutation put(const std::string& service, const std::string& text) {
  return {RecordKind::ServicePolicy, service, std::vector<uint8_t>(text.begin(), text.end())};
}

std::map<std::string, std::string> records(const Store& store) {
  std::map<std::string, std::string> out;
  (void)store.scan([&](const StoredRecord& r) { out[r.key] = std::string(r.record.begin(), r.record.end()); });
  return out;
}

TEST(SqliteCommitGroup, OneTransactionARevisionPerWriteAllOrNothing) {
  TempDir dir;
  auto store = std::move(*SqliteStore::open(dir.path.string()));
  ASSERT_TRUE(store->sole_writer());
  auto last = store->commit_group(0, {{put("a", "1")}, {put("b", "1"), put("a", "2")}, {put("c", "1")}});
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(*last, 3u);
  auto changes = store->changes_since(0, 100);
  ASSERT_TRUE(changes && *changes);
  ASSERT_EQ((*changes)->size(), 3u);  // each write its own revision, in order
  EXPECT_EQ((**changes)[1].revision, 2u);
  EXPECT_EQ((**changes)[1].mutations.size(), 2u);
  EXPECT_EQ(records(*store), (std::map<std::string, std::string>{{"a", "2"}, {"b", "1"}, {"c", "1"}}));

  // A group not at the expected revision, one holding an empty write, one holding an invalid
  // mutation: refused whole, nothing applied.
  auto moved = store->commit_group(2, {{put("d", "1")}});
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, "revision_moved");
  auto empty = store->commit_group(3, {{put("d", "1")}, {}});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "empty_commit");
  auto invalid = store->commit_group(3, {{put("d", "1")}, {Mutation{RecordKind::ServiceVersion, "no-version", {}}}});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().kind, ErrorKind::Invalid);
  EXPECT_EQ(store->revision(), 3u);
  EXPECT_EQ(records(*store).count("d"), 0u);
}

TEST(GroupCommitter, WritesThatArriveDuringAFlushGoTogetherInOrder) {
  TempDir dir;
  GatedStore store(dir.path);
  Outcomes outcomes;
  {
    GroupCommitter committer(store, outcomes.report());
    store.close_gate();
    committer.submit(0, 1, {put("a", "1")});
    store.wait_for_groups(1);  // the first group is at the store, held there
    for (uint64_t r = 2; r <= 50; ++r) committer.submit(0, r, {put("k" + std::to_string(r), "v")});
    store.open_gate();
    auto seen = outcomes.wait_for(2);
    EXPECT_EQ(store.sizes(), (std::vector<size_t>{1, 49}));  // everything queued meanwhile: one group
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].revision, 1u);
    EXPECT_EQ(seen[1].revision, 50u);
    EXPECT_FALSE(seen[1].error);
    EXPECT_EQ(store.revision(), 50u);
    // What is submitted before the committer is destroyed is committed.
    committer.submit(0, 51, {put("last", "v")});
  }
  EXPECT_EQ(store.revision(), 51u);
  EXPECT_EQ(records(store).count("last"), 1u);
}

TEST(GroupCommitter, AFailedGroupRefusesTheRestOfItsEpochUntriedAndTheNextEpochCommits) {
  TempDir dir;
  GatedStore store(dir.path);
  Outcomes outcomes;
  GroupCommitter committer(store, outcomes.report());
  store.close_gate();
  store.fail_next = true;
  committer.submit(0, 1, {put("a", "1")});
  store.wait_for_groups(1);
  committer.submit(0, 2, {put("b", "1")});  // builds on revision 1
  store.open_gate();
  auto seen = outcomes.wait_for(2);
  ASSERT_TRUE(seen[0].error);
  EXPECT_EQ(seen[0].error->code, "store_unavailable");
  ASSERT_TRUE(seen[1].error);  // refused without being tried
  EXPECT_EQ(seen[1].revision, 2u);
  EXPECT_EQ(store.sizes().size(), 1u);
  EXPECT_EQ(store.revision(), 0u);
  // The caller re-read the store and starts epoch 1 from its revision.
  committer.submit(1, 1, {put("c", "1")});
  seen = outcomes.wait_for(3);
  EXPECT_FALSE(seen[2].error);
  EXPECT_EQ(seen[2].epoch, 1u);
  EXPECT_EQ(records(store), (std::map<std::string, std::string>{{"c", "1"}}));
}

// A registry committing through a committer whose outcomes the test hands back, as the server's
// loop does.
struct BackgroundRegistry {
  TempDir dir;
  GatedStore store{dir.path};
  Outcomes outcomes;
  GroupCommitter committer{store, outcomes.report()};
  std::unique_ptr<Registry> registry = std::move(*Registry::open(store, {}, [] { return int64_t{1'000'000}; }));
  wire::JsonDecoder decoder;
  size_t handed_back = 0;
  BackgroundRegistry() { registry->commit_in_background(&committer); }

  WriteResult put_version(const std::string& name) {
    auto doc = decoder.decode(R"({"name": ")" + name + R"(", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"})");
    return registry->put_version(doc.services[0], doc.instances);
  }
  // Waits for `n` outcomes in all and hands those not handed back yet to the registry.
  void hand_back(size_t n) {
    auto seen = outcomes.wait_for(n);
    for (; handed_back < seen.size(); ++handed_back) registry->group_committed(seen[handed_back]);
  }
};

TEST(BackgroundCommit, AWriteIsVisibleAtOnceAndPublishedToAgentsOnceDurable) {
  BackgroundRegistry b;
  std::vector<uint64_t> published;
  auto subscription = b.registry->feed().subscribe([&](const Frame& f, uint64_t r) {
    if (f) published.push_back(r);
  });
  b.store.close_gate();
  ASSERT_TRUE(b.put_version("a"));
  b.store.wait_for_groups(1);
  ASSERT_TRUE(b.put_version("b"));
  // Applied (the next write is checked against it) but not durable: agents have nothing yet.
  EXPECT_EQ(b.registry->revision(), 2u);
  EXPECT_EQ(b.registry->durable_revision(), 0u);
  EXPECT_NE(b.registry->version("b", "1.0.0"), nullptr);
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(b.registry->frames_since(0)->size(), 0u);  // nothing durable to resume with
  b.store.open_gate();
  b.hand_back(2);  // two groups: [a], [b]
  EXPECT_EQ(b.registry->durable_revision(), 2u);
  EXPECT_EQ(published, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(b.registry->frames_since(0)->size(), 2u);
  EXPECT_EQ(b.store.revision(), 2u);
}

TEST(BackgroundCommit, AFailedGroupDropsItsWritesRereadsTheStoreAndResetsTheFeed) {
  BackgroundRegistry b;
  ASSERT_TRUE(b.put_version("kept"));
  b.hand_back(1);
  int resets = 0;
  auto subscription = b.registry->feed().subscribe([&](const Frame& f, uint64_t) {
    if (!f) ++resets;
  });
  b.store.close_gate();
  b.store.fail_next = true;
  ASSERT_TRUE(b.put_version("lost"));
  b.store.wait_for_groups(2);
  ASSERT_TRUE(b.put_version("also-lost"));  // checked against "lost": goes with it
  b.store.open_gate();
  b.hand_back(2);  // "lost"'s group failed
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(b.registry->revision(), 1u);
  EXPECT_EQ(b.registry->durable_revision(), 1u);
  EXPECT_NE(b.registry->version("kept", "1.0.0"), nullptr);
  EXPECT_EQ(b.registry->version("lost", "1.0.0"), nullptr);
  EXPECT_EQ(b.registry->version("also-lost", "1.0.0"), nullptr);
  // The refusal of "also-lost" arrives for the old epoch: stale, ignored.
  b.hand_back(3);
  EXPECT_EQ(b.registry->revision(), 1u);
  // Writes go on from the store's revision.
  ASSERT_TRUE(b.put_version("after"));
  EXPECT_EQ(b.registry->revision(), 2u);
  b.hand_back(4);
  EXPECT_EQ(b.registry->durable_revision(), 2u);
  EXPECT_EQ(b.store.revision(), 2u);
}

}  // namespace
}  // namespace roster::upstream
