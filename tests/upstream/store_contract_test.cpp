// What every Store promises (store.hpp), checked against each implementation: SQLite in a temp
// dir and etcd (a real one-member cluster per test process). Behaviour only one store has is in
// store_test.cpp (SQLite's files, pruning, crashes) and etcd_store_test.cpp (several servers).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>

#include "etcd_process.hpp"
#include "roster/upstream/etcd_store.hpp"
#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {
namespace {

using K = RecordKind;

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }
Mutation put(K kind, std::string key, std::string_view record) { return {kind, std::move(key), bytes(record)}; }
Mutation del(K kind, std::string key) { return {kind, std::move(key), std::nullopt}; }
std::string key2(std::string_view a, std::string_view b) { return std::string(a) + '\0' + std::string(b); }
std::string key3(std::string_view a, std::string_view b, std::string_view c) { return key2(a, b) + '\0' + std::string(c); }

std::vector<StoredRecord> scan_all(const Store& store, uint64_t* at = nullptr) {
  std::vector<StoredRecord> out;
  uint64_t rev = store.scan([&](const StoredRecord& r) { out.push_back(r); }).value();
  if (at) *at = rev;
  return out;
}

// The records a change log leaves when applied in order, as scan shows them.
std::map<std::pair<K, std::string>, std::string> replay(const std::vector<Change>& changes) {
  std::map<std::pair<K, std::string>, std::string> out;
  for (auto& c : changes)
    for (auto& m : c.mutations) {
      if (m.record)
        out[{m.kind, m.key}] = text(*m.record);
      else
        out.erase({m.kind, m.key});
    }
  return out;
}

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roster_store_contract.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (GetParam() == "etcd" && !etcd_) etcd_ = EtcdProcess::start();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  // The store under test, opened afresh on the same data each call; `place` picks another one.
  std::unique_ptr<Store> open(const std::string& place = "main") {
    if (GetParam() == "sqlite") return SqliteStore::open(dir_ + "/" + place).value();
    EtcdOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.prefix = dir_ + "/" + place + "/";  // unique per test
    return EtcdStore::open(options).value();
  }

  std::string dir_;
  static inline std::unique_ptr<EtcdProcess> etcd_;
};

TEST_P(StoreContract, CommitThenScanSeesEveryKindInKeyOrderAtOneRevision) {
  auto store = open();
  EXPECT_TRUE(scan_all(*store).empty());
  const uint64_t rev = store->commit({put(K::Contract, key3("web", "1.0.0", "user"), "contract"),
                                      put(K::Instance, key3("user", "1.0.0", "b"), "inst-b"),
                                      put(K::ServiceVersion, key2("user", "1.0.0"), "svc"),
                                      put(K::ServicePolicy, "user", "policy"),
                                      put(K::Instance, key3("user", "1.0.0", "a"), "inst-a")}).value();
  EXPECT_GT(rev, 0u);
  EXPECT_EQ(store->revision(), rev);
  uint64_t at = 0;
  auto records = scan_all(*store, &at);
  EXPECT_EQ(at, rev);
  std::vector<StoredRecord> want = {
      {K::ServiceVersion, key2("user", "1.0.0"), bytes("svc"), rev},
      {K::Instance, key3("user", "1.0.0", "a"), bytes("inst-a"), rev},
      {K::Instance, key3("user", "1.0.0", "b"), bytes("inst-b"), rev},
      {K::Contract, key3("web", "1.0.0", "user"), bytes("contract"), rev},
      {K::ServicePolicy, "user", bytes("policy"), rev},
  };
  EXPECT_EQ(records, want);
}

TEST_P(StoreContract, KeysSortBytewiseWithTheSeparatorFirst) {
  auto store = open();
  store->commit({put(K::ServiceVersion, key2("ab", "1.0.0"), "3"), put(K::ServiceVersion, key2("a-b", "1.0.0"), "2"),
                 put(K::ServiceVersion, key2("a", "2.0.0"), "1"), put(K::ServiceVersion, key2("a", "10.0.0"), "0")})
      .value();
  std::vector<std::string> order;
  store->scan([&](const StoredRecord& r) { order.push_back(text(r.record)); }).value();
  EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST_P(StoreContract, RevisionsGrowAndUntouchedRecordsKeepTheirs) {
  auto store = open();
  const uint64_t first = store->commit({put(K::ServiceVersion, key2("u", "1.0.0"), "v1"),
                                        put(K::Instance, key3("u", "1.0.0", "i"), "i1")}).value();
  const uint64_t second = store->commit({put(K::ServiceVersion, key2("u", "1.0.0"), "v2")}).value();
  EXPECT_GT(second, first);
  auto records = scan_all(*store);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (StoredRecord{K::ServiceVersion, key2("u", "1.0.0"), bytes("v2"), second}));
  EXPECT_EQ(records[1].revision, first);
  const uint64_t third = store->commit({del(K::ServiceVersion, key2("u", "1.0.0"))}).value();
  EXPECT_GT(third, second);
  EXPECT_EQ(scan_all(*store).size(), 1u);
}

TEST_P(StoreContract, TheLastMutationOfAKeyInOneCommitWins) {
  auto store = open();
  const auto k = key3("s", "1.0.0", "i");
  store->commit({put(K::Instance, k, "a"), put(K::Instance, k, "b"), del(K::Instance, k), put(K::Instance, k, "c")})
      .value();
  auto records = scan_all(*store);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(text(records[0].record), "c");
}

TEST_P(StoreContract, AnEmptyCommitChangesNothingAndAnEmptyRecordIsNotADelete) {
  auto store = open();
  const uint64_t rev = store->commit({put(K::Contract, key3("w", "1.0.0", "u"), "")}).value();
  EXPECT_EQ(store->commit({}).value(), rev);
  EXPECT_EQ(store->revision(), rev);
  auto records = scan_all(*store);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].record.empty());
}

TEST_P(StoreContract, ChangesSinceReplaysToWhatScanShows) {
  auto store = open();
  std::vector<uint64_t> revs;
  const auto sv = key2("user", "1.0.0"), inst = key3("user", "1.0.0", "i");
  for (auto& mutations : std::vector<std::vector<Mutation>>{
           {put(K::ServiceVersion, sv, "v1"), put(K::Instance, inst, "up")},
           {put(K::Instance, inst, "down"), put(K::Contract, key3("w", "1.0.0", "user"), "c")},
           {del(K::Instance, inst)},
           {put(K::Instance, inst, "up"), del(K::ServiceVersion, sv)}})
    revs.push_back(store->commit(mutations).value());
  auto all = store->changes_since(0, 100).value();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*all)[i].revision, revs[i]);
  std::map<std::pair<K, std::string>, std::string> scanned;
  for (auto& r : scan_all(*store)) scanned[{r.kind, r.key}] = text(r.record);
  EXPECT_EQ(replay(*all), scanned);

  auto tail = store->changes_since(revs[1], 100).value();
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ(tail->front().revision, revs[2]);
  EXPECT_EQ(tail->front().mutations, (std::vector<Mutation>{del(K::Instance, inst)}));
  EXPECT_EQ(store->changes_since(revs[3], 100).value(), std::vector<Change>{});
  auto limited = store->changes_since(0, 2).value();
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 2u);
  EXPECT_EQ(store->changes_since(revs[3] + 1000, 10).value(), std::nullopt);  // ahead: a snapshot
}

TEST_P(StoreContract, CommitAtAppliesOnlyAtTheExpectedRevision) {
  auto store = open();
  const uint64_t first = store->commit_at(store->revision(), {put(K::ServiceVersion, key2("a", "1.0.0"), "x")}).value();
  auto stale = store->commit_at(first - 1, {put(K::ServiceVersion, key2("b", "1.0.0"), "y")});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(stale.error().code, "revision_moved");
  EXPECT_EQ(scan_all(*store).size(), 1u);  // nothing of it applied
  EXPECT_GT(store->commit_at(first, {put(K::ServiceVersion, key2("b", "1.0.0"), "y")}).value(), first);
}

TEST_P(StoreContract, ReopeningKeepsRecordsRevisionAndIdentityAndAnotherStoreIsAnotherIdentity) {
  std::string identity;
  uint64_t rev = 0;
  {
    auto store = open();
    rev = store->commit({put(K::ServiceVersion, key2("a", "1.0.0"), "x")}).value();
    identity = store->identity();
    EXPECT_FALSE(identity.empty());
  }
  auto again = open();
  EXPECT_EQ(again->identity(), identity);
  uint64_t at = 0;
  EXPECT_EQ(scan_all(*again, &at).size(), 1u);
  EXPECT_EQ(at, rev);
  EXPECT_EQ(again->revision(), rev);
  EXPECT_NE(open("other")->identity(), identity);
}

TEST_P(StoreContract, AnInvalidMutationAppliesNothing) {
  auto store = open();
  for (auto& bad : {put(static_cast<K>(9), "k", "y"), put(K::Instance, key2("a", "1.0.0"), "too few fields"),
                    put(K::ServiceVersion, key2("", "1.0.0"), "an empty field")}) {
    auto refused = store->commit({put(K::ServiceVersion, key2("a", "1.0.0"), "x"), bad});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
    EXPECT_NE(refused.error().message.find("mutation 1"), std::string::npos) << refused.error().message;
  }
  EXPECT_TRUE(scan_all(*store).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace roster::upstream
