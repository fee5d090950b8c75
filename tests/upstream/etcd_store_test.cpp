// What only a shared store does: several servers (here several EtcdStore handles, and Registries
// on them) on one etcd prefix, a real etcd per test process, which the quorum test kills.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "etcd_process.hpp"
#include "roster/upstream/etcd_store.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/store_url.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {
namespace {

using namespace std::chrono_literals;
using K = RecordKind;

Mutation put(std::string name, std::string_view record) {
  return {K::ServiceVersion, name + '\0' + "1.0.0", std::vector<uint8_t>(record.begin(), record.end())};
}

template <typename Predicate>
bool eventually(Predicate&& done, std::chrono::milliseconds within = 10s) {
  for (auto until = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < until;) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_) etcd_ = EtcdProcess::start();
    prefix_ = "etcd-store-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }
  static void TearDownTestSuite() { etcd_.reset(); }

  std::unique_ptr<EtcdStore> server() {
    EtcdOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.prefix = prefix_;
    return EtcdStore::open(options).value();
  }

  std::string prefix_;
  static inline std::unique_ptr<EtcdProcess> etcd_;
};

TEST_F(EtcdStoreTest, EveryServerSeesEveryCommitAndAStaleOneLosesTheRace) {
  auto a = server(), b = server();
  EXPECT_EQ(a->identity(), b->identity());
  EXPECT_EQ(a->identity().rfind("etcd:", 0), 0u);
  b->scan([](const StoredRecord&) {}).value();  // b's view starts here
  const uint64_t rev = a->commit_at(a->revision(), {put("svc", "from a")}).value();

  auto seen = b->take_changes(rev, 5s).value();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].revision, rev);
  EXPECT_EQ(seen[0].mutations, (std::vector<Mutation>{put("svc", "from a")}));

  // b checked its rules before it saw a's commit: its write must not land.
  auto stale = b->commit_at(rev - 1, {put("other", "from b")});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, "revision_moved");
  EXPECT_GT(b->commit_at(rev, {put("other", "from b")}).value(), rev);
}

TEST_F(EtcdStoreTest, OfManyServersRacingFromOneRevisionExactlyOneCommits) {
  std::vector<std::unique_ptr<EtcdStore>> servers;
  for (int i = 0; i < 4; ++i) servers.push_back(server());
  for (int round = 0; round < 10; ++round) {
    const uint64_t at = servers[0]->scan([](const StoredRecord&) {}).value();
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> racers;
    for (size_t i = 0; i < servers.size(); ++i)
      racers.emplace_back([&, i] {
        auto out = servers[i]->commit_at(at, {put("s" + std::to_string(round) + "-" + std::to_string(i), "x")});
        (out ? won : lost)++;
        if (!out) {
          EXPECT_EQ(out.error().code, "revision_moved");
        }
      });
    for (auto& t : racers) t.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 3) << "round " << round;
  }
}

TEST_F(EtcdStoreTest, OneServerLeadsAndAnotherTakesOverWhenItStops) {
  auto a = server(), b = server();
  ASSERT_TRUE(eventually([&] { return a->leads() != b->leads(); }));
  auto& leader = a->leads() ? a : b;
  auto& other = a->leads() ? b : a;
  leader.reset();  // resigns: its lease, and the leader key with it, is revoked
  EXPECT_TRUE(eventually([&] { return other->leads(); }, 5s));
}

TEST_F(EtcdStoreTest, RenewalsReachTheOtherServersButNotTheReporter) {
  auto a = server(), b = server();
  b->scan([](const StoredRecord&) {}).value();
  a->scan([](const StoredRecord&) {}).value();
  a->report_renewals({1, 2, 3, 2});
  std::vector<uint64_t> heard;
  ASSERT_TRUE(eventually([&] {
    for (auto& report : b->take_renewal_reports()) heard.insert(heard.end(), report.begin(), report.end());
    return !heard.empty();
  }));
  std::sort(heard.begin(), heard.end());
  EXPECT_EQ(heard, (std::vector<uint64_t>{1, 2, 3}));  // once each
  EXPECT_TRUE(a->take_renewal_reports().empty());
}

TEST_F(EtcdStoreTest, WithoutEtcdWritesFailClearlyAndResumeWhenItReturns) {
  auto a = server();
  ASSERT_TRUE(a->commit({put("before", "x")}));
  etcd_->kill();
  const auto started = std::chrono::steady_clock::now();
  auto refused = a->commit({put("during", "x")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(refused.error().code, "store_unavailable");
  EXPECT_NE(refused.error().message.find(etcd_->endpoint()), std::string::npos) << refused.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(eventually([&] { return !a->leads(); }, 5s));  // a server cut off stops running timers
  etcd_->restart();
  std::string last_error;
  EXPECT_TRUE(eventually(
      [&] {
        auto written = a->commit({put("after", "x")});
        if (!written) last_error = written.error().message;
        return bool(written);
      },
      20s))
      << last_error;
  std::vector<std::string> names;
  a->scan([&](const StoredRecord& r) { names.push_back(std::string(key_parts(r.key)[0])); }).value();
  EXPECT_EQ(names, (std::vector<std::string>{"after", "before"}));  // nothing of the refused one
}

TEST_F(EtcdStoreTest, AWriteBeyondEtcdsLimitsIsRefusedNamingThemAndChangesNothing) {
  auto a = server();
  std::vector<Mutation> many;  // the test etcd runs with --max-txn-ops 10000
  for (int i = 0; i < 10001; ++i) many.push_back(put("s" + std::to_string(i), "x"));
  auto refused = a->commit(many);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::TooLarge);
  EXPECT_EQ(refused.error().code, "store_limit");
  EXPECT_NE(refused.error().message.find("--max-txn-ops"), std::string::npos) << refused.error().message;
  size_t records = 0;
  a->scan([&](const StoredRecord&) { ++records; }).value();
  EXPECT_EQ(records, 0u);
}

TEST_F(EtcdStoreTest, ACompactedRevisionAsksForASnapshot) {
  auto a = server();
  const uint64_t first = a->commit({put("a", "1")}).value();
  a->commit({put("b", "2")}).value();
  const uint64_t last = a->commit({put("c", "3")}).value();
  ASSERT_EQ(std::system(("etcdctl --endpoints " + etcd_->endpoint() + " compact " + std::to_string(last) +
                         " >/dev/null 2>&1").c_str()),
            0);
  EXPECT_EQ(a->changes_since(first, 100).value(), std::nullopt);
  EXPECT_EQ(a->changes_since(last, 100).value(), std::vector<Change>{});
}

TEST_F(EtcdStoreTest, TheLeaderCompactsHistoryOlderThanItKeeps) {
  EtcdOptions options;
  options.endpoints = {etcd_->endpoint()};
  options.prefix = prefix_;
  options.keep_history = 1s;
  auto a = EtcdStore::open(options).value();
  const uint64_t first = a->commit({put("a", "1")}).value();
  a->commit({put("b", "2")}).value();
  ASSERT_TRUE(eventually([&] { return a->leads(); }));
  // Once the history before the second commit is compacted, an agent at `first` needs a snapshot.
  EXPECT_TRUE(eventually([&] { return a->changes_since(first, 10).value() == std::nullopt; }, 10s));
}

TEST_F(EtcdStoreTest, StoreUrlsAreCheckedAndNameWhatIsWrong) {
  for (const char* bad : {"etcd://", "etcd://127.0.0.1:1/", "etcd://,127.0.0.1:1/p", "etcd://nohostport/p", "mysql://x",
                          "sqlite:", "etcd://127.0.0.1:1/p?keep-history=-1", "etcd://127.0.0.1:1/p?ttl=3"}) {
    auto out = open_store(bad);
    ASSERT_FALSE(out) << bad;
    EXPECT_EQ(out.error().kind, ErrorKind::Invalid) << bad << ": " << out.error().message;
  }
  // A well-formed URL where nobody answers: Unavailable, naming the endpoint, after the timeout.
  EtcdOptions nobody;
  nobody.endpoints = {"127.0.0.1:1"};
  nobody.commit_timeout = 500ms;
  auto out = EtcdStore::open(nobody);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Unavailable);
  EXPECT_NE(out.error().message.find("127.0.0.1:1"), std::string::npos) << out.error().message;
}

// Two registries (two servers) on one prefix: a write the rules would refuse after the other
// server's write is refused even when its server had not seen that write yet.
TEST_F(EtcdStoreTest, ARegistryThatLostTheRaceChecksItsRulesAgain) {
  auto a_store = server(), b_store = server();
  int64_t now = 1'700'000'000'000;
  auto clock = [&now] { return now; };
  auto a = Registry::open(*a_store, {}, clock, a_store.get()).value();
  auto b = Registry::open(*b_store, {}, clock, b_store.get()).value();  // never synced by hand
  wire::JsonDecoder decoder;
  auto version = [&](Registry& r, const std::string& v, const std::string& schema) {
    auto doc = decoder.decode(R"({"name": "s", "version": ")" + v +
                              R"(", "lifecycle_stage": "beta", "owner_team": "t", "api_schema": {"format": "json_schema", "document": )" +
                              schema + "}}");
    return r.put_version(doc.services[0], doc.instances);
  };
  const std::string v1 = R"({"type": "object", "properties": {"id": {"type": "string"}}})";
  const std::string v2 = R"({"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                            "required": ["name"]})";  // cannot read v1's data (BACKWARD)
  ASSERT_TRUE(version(*a, "1.0.0", v1));
  auto refused = version(*b, "1.1.0", v2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().error.code, "incompatible_schema");
  EXPECT_GE(b->metrics().write_conflicts, 1u);
  EXPECT_TRUE(b->version("s", "1.0.0"));  // b caught up on the way
  EXPECT_FALSE(a->version("s", "1.1.0"));
}

}  // namespace
}  // namespace roster::upstream
