// The SQLite store: records, revisions and the change log; durability across reopen and SIGKILL;
// and clear errors that leave the store unchanged.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {

// Readable failure output.
void PrintTo(const Mutation& m, std::ostream* os) {
  std::string key = m.key;
  std::replace(key.begin(), key.end(), '\0', '|');
  *os << "{kind " << int(m.kind) << ", key " << key << ", "
      << (m.record ? std::string(m.record->begin(), m.record->end()) : std::string("<delete>")) << "}";
}
void PrintTo(const StoredRecord& r, std::ostream* os) {
  PrintTo(Mutation{r.kind, r.key, r.record}, os);
  *os << "@" << r.revision;
}

namespace {

namespace fs = std::filesystem;
using K = RecordKind;

// Keys in the store's encoding (store.hpp): the record's identity fields joined by NUL.
std::string joined(std::initializer_list<std::string_view> fields) {
  std::string key;
  bool first = true;
  for (auto f : fields) {
    if (!first) key.push_back('\0');
    key.append(f);
    first = false;
  }
  return key;
}
std::string service_key(std::string_view name, std::string_view version) { return joined({name, version}); }
std::string instance_key(std::string_view s, std::string_view v, std::string_view id) { return joined({s, v, id}); }
std::string contract_key(std::string_view c, std::string_view v, std::string_view p) { return joined({c, v, p}); }

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

Mutation put(K kind, std::string key, std::string_view record) { return {kind, std::move(key), bytes(record)}; }
Mutation del(K kind, std::string key) { return {kind, std::move(key), std::nullopt}; }

std::vector<StoredRecord> scan_all(const Store& store, uint64_t* at = nullptr) {
  std::vector<StoredRecord> out;
  uint64_t rev = store.scan([&](const StoredRecord& r) { out.push_back(r); }).value();
  if (at) *at = rev;
  return out;
}

std::map<std::string, std::string> scan_kind(const Store& store, K kind) {
  std::map<std::string, std::string> out;
  store.scan([&](const StoredRecord& r) {
    if (r.kind == kind) out[r.key] = text(r.record);
  }).value();
  return out;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roster_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    root_ = tmpl;
    dir_ = root_ + "/data";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string db() const { return dir_ + "/roster.db"; }

  // Overwrites one big-endian 32-bit field of the SQLite header (user_version at 60,
  // application_id at 68) in a closed database (a clean close checkpoints and removes the WAL).
  void patch_header(size_t offset, uint32_t value) {
    ASSERT_FALSE(fs::exists(db() + "-wal"));
    std::fstream f(db(), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    char be[4] = {char(value >> 24), char(value >> 16), char(value >> 8), char(value)};
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(be, 4);
  }

  std::string root_, dir_;
};

// Expects open() to fail (value() throws the Error) whose message contains every fragment.
void expect_open_error(const std::string& dir, std::initializer_list<std::string> fragments) {
  try {
    SqliteStore::open(dir).value();
    ADD_FAILURE() << "open(" << dir << ") did not throw";
  } catch (const Exception& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(StoreKeys, BuildAndSplit) {
  EXPECT_EQ(service_key("user", "1.2.3"), std::string("user\0" "1.2.3", 10));
  EXPECT_EQ(instance_key("user", "1.2.3", "i-1"), std::string("user\0" "1.2.3\0" "i-1", 14));
  EXPECT_EQ(key_parts(contract_key("web", "2.0.0", "user")),
            (std::vector<std::string_view>{"web", "2.0.0", "user"}));
}

TEST_F(SqliteStoreTest, CommitScanRoundTripForAllKinds) {
  auto store = SqliteStore::open(dir_).value();
  EXPECT_EQ(store->revision(), 0u);
  EXPECT_TRUE(scan_all(*store).empty());

  // Given out of order: scan sorts by kind, then key.
  uint64_t rev = store->commit({put(K::Contract, contract_key("web", "1.0.0", "user"), "contract"),
                                put(K::Instance, instance_key("user", "1.0.0", "b"), "inst-b"),
                                put(K::ServiceVersion, service_key("user", "1.0.0"), "svc"),
                                put(K::Instance, instance_key("user", "1.0.0", "a"), "inst-a")}).value();
  EXPECT_EQ(rev, 1u);
  EXPECT_EQ(store->revision(), 1u);

  uint64_t at = 0;
  auto records = scan_all(*store, &at);
  EXPECT_EQ(at, 1u);
  std::vector<StoredRecord> want = {
      {K::ServiceVersion, service_key("user", "1.0.0"), bytes("svc"), 1},
      {K::Instance, instance_key("user", "1.0.0", "a"), bytes("inst-a"), 1},
      {K::Instance, instance_key("user", "1.0.0", "b"), bytes("inst-b"), 1},
      {K::Contract, contract_key("web", "1.0.0", "user"), bytes("contract"), 1},
  };
  EXPECT_EQ(records, want);
}

TEST_F(SqliteStoreTest, ScanOrdersKeysBytewisePerKind) {
  auto store = SqliteStore::open(dir_).value();
  // "a\0..." sorts before "a-..." and "ab": the separator is the smallest byte.
  store->commit({put(K::ServiceVersion, service_key("ab", "1.0.0"), "3"),
                 put(K::ServiceVersion, service_key("a-b", "1.0.0"), "2"),
                 put(K::ServiceVersion, service_key("a", "2.0.0"), "1"),
                 put(K::ServiceVersion, service_key("a", "10.0.0"), "0")}).value();
  std::vector<std::string> order;
  store->scan([&](const StoredRecord& r) { order.push_back(text(r.record)); }).value();
  EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST_F(SqliteStoreTest, UpsertReplacesAndDeleteRemoves) {
  auto store = SqliteStore::open(dir_).value();
  auto key = service_key("user", "1.0.0");
  store->commit({put(K::ServiceVersion, key, "v1"), put(K::Instance, instance_key("user", "1.0.0", "i"), "i1")}).value();
  EXPECT_EQ(store->commit({put(K::ServiceVersion, key, "v2")}).value(), 2u);

  auto records = scan_all(*store);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (StoredRecord{K::ServiceVersion, key, bytes("v2"), 2}));
  EXPECT_EQ(records[1].revision, 1u);  // untouched records keep the revision that wrote them

  // The same key under another kind is another record.
  store->commit({put(K::Contract, contract_key("user", "1.0.0", "x"), "c")}).value();
  EXPECT_EQ(store->commit({del(K::ServiceVersion, key)}).value(), 4u);
  EXPECT_TRUE(scan_kind(*store, K::ServiceVersion).empty());
  EXPECT_EQ(scan_kind(*store, K::Instance).size(), 1u);
  EXPECT_EQ(scan_kind(*store, K::Contract).size(), 1u);
}

TEST_F(SqliteStoreTest, RevisionCountsCommitsNotMutations) {
  auto store = SqliteStore::open(dir_).value();
  std::vector<Mutation> many;
  for (int i = 0; i < 50; ++i) many.push_back(put(K::Instance, instance_key("s", "1.0.0", std::to_string(i)), "x"));
  EXPECT_EQ(store->commit(many).value(), 1u);
  EXPECT_EQ(store->commit({del(K::Instance, instance_key("s", "1.0.0", "0"))}).value(), 2u);
  EXPECT_EQ(store->commit(many).value(), 3u);
  EXPECT_EQ(store->revision(), 3u);
  EXPECT_EQ(scan_all(*store).size(), 50u);
}

TEST_F(SqliteStoreTest, EmptyCommitChangesNothing) {
  auto store = SqliteStore::open(dir_).value();
  store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "x")}).value();
  EXPECT_EQ(store->commit({}).value(), 1u);
  EXPECT_EQ(store->revision(), 1u);
  EXPECT_EQ(store->changes_since(0, 10).value()->size(), 1u);
}

TEST_F(SqliteStoreTest, DeletingAMissingKeyIsRecorded) {
  auto store = SqliteStore::open(dir_).value();
  auto key = instance_key("ghost", "1.0.0", "i");
  EXPECT_EQ(store->commit({del(K::Instance, key)}).value(), 1u);
  EXPECT_TRUE(scan_all(*store).empty());
  auto changes = store->changes_since(0, 10).value();
  ASSERT_TRUE(changes);
  EXPECT_EQ(*changes, (std::vector<Change>{{1, {del(K::Instance, key)}}}));
}

TEST_F(SqliteStoreTest, ChangesSinceReturnsExactContentsInOrder) {
  auto store = SqliteStore::open(dir_).value();
  auto sv = service_key("user", "1.0.0");
  auto inst = instance_key("user", "1.0.0", "i");
  std::vector<Change> want = {
      {1, {put(K::ServiceVersion, sv, "v1"), put(K::Instance, inst, "up")}},
      // Two mutations of one key in one commit: both recorded, in order; the last one wins.
      {2, {put(K::Instance, inst, "down"), put(K::Instance, inst, "starting"), put(K::Contract, contract_key("w", "1.0.0", "user"), "")}},
      {3, {del(K::Instance, inst)}},
      {4, {put(K::Instance, inst, "up"), del(K::ServiceVersion, sv)}},
  };
  for (const Change& c : want) ASSERT_EQ(store->commit(c.mutations).value(), c.revision);

  EXPECT_EQ(store->changes_since(0, 100).value(), want);
  EXPECT_EQ(store->changes_since(2, 100).value(), (std::vector<Change>{want[2], want[3]}));
  EXPECT_EQ(store->changes_since(4, 100).value(), std::vector<Change>{});
  // An empty record is kept as an empty record, not a delete.
  EXPECT_EQ((*store->changes_since(1, 1).value())[0].mutations[2].record, std::vector<uint8_t>{});
  EXPECT_EQ(scan_kind(*store, K::Instance)[inst], "up");
  EXPECT_EQ(scan_kind(*store, K::Contract).begin()->second, "");
}

TEST_F(SqliteStoreTest, ChangesSinceHonoursLimit) {
  auto store = SqliteStore::open(dir_).value();
  for (int i = 1; i <= 10; ++i)
    store->commit({put(K::ServiceVersion, service_key("s", std::to_string(i) + ".0.0"), std::to_string(i)),
                   put(K::Instance, instance_key("s", "1.0.0", "i"), std::to_string(i))}).value();
  auto changes = store->changes_since(3, 4).value();
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*changes)[i].revision, 4 + i);
    EXPECT_EQ((*changes)[i].mutations.size(), 2u);
  }
  EXPECT_EQ(store->changes_since(3, 0).value(), std::vector<Change>{});
  EXPECT_EQ(store->changes_since(8, 100).value()->size(), 2u);
  EXPECT_EQ(store->changes_since(0, SIZE_MAX).value()->size(), 10u);
  EXPECT_EQ(store->changes_since(11, 10).value(), std::nullopt);  // ahead of the store: snapshot
}

TEST_F(SqliteStoreTest, RetentionPrunesOldRevisions) {
  auto store = SqliteStore::open(dir_, {.change_log_revisions = 3}).value();
  for (int i = 1; i <= 10; ++i) store->commit({put(K::Instance, instance_key("s", "1.0.0", std::to_string(i)), "x")}).value();

  // Revisions 8..10 are kept: an agent at 7 or later resumes by delta, an older one needs a snapshot.
  auto changes = store->changes_since(7, 100).value();
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ(changes->front().revision, 8u);
  EXPECT_EQ(store->changes_since(6, 100).value(), std::nullopt);
  EXPECT_EQ(store->changes_since(0, 100).value(), std::nullopt);
  EXPECT_EQ(scan_all(*store).size(), 10u);  // pruning touches the log, never the records

  // Reopening with a longer retention does not bring pruned revisions back.
  store.reset();
  store = SqliteStore::open(dir_, {.change_log_revisions = 1000}).value();
  EXPECT_EQ(store->changes_since(6, 100).value(), std::nullopt);
  EXPECT_EQ(store->changes_since(7, 100).value()->size(), 3u);

  // And zero retention keeps no log at all: only an agent already current resumes.
  store.reset();
  store = SqliteStore::open(dir_, {.change_log_revisions = 0}).value();
  store->commit({del(K::Instance, instance_key("s", "1.0.0", "1"))}).value();
  EXPECT_EQ(store->changes_since(10, 100).value(), std::nullopt);
  EXPECT_EQ(store->changes_since(11, 100).value(), std::vector<Change>{});
}

TEST_F(SqliteStoreTest, ReopenKeepsRevisionRecordsAndChangeLog) {
  std::vector<StoredRecord> records;
  std::optional<std::vector<Change>> changes;
  {
    auto store = SqliteStore::open(dir_).value();
    store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "a1"), put(K::Contract, contract_key("b", "1.0.0", "a"), "c")}).value();
    store->commit({put(K::Instance, instance_key("a", "1.0.0", "i"), "i")}).value();
    store->commit({del(K::Contract, contract_key("b", "1.0.0", "a"))}).value();
    records = scan_all(*store);
    changes = store->changes_since(0, 100).value();
  }
  EXPECT_TRUE(fs::exists(db()));
  auto store = SqliteStore::open(dir_).value();
  EXPECT_EQ(store->revision(), 3u);
  EXPECT_EQ(scan_all(*store), records);
  EXPECT_EQ(store->changes_since(0, 100).value(), changes);
  EXPECT_EQ(store->commit({del(K::Instance, instance_key("a", "1.0.0", "i"))}).value(), 4u);
}

TEST_F(SqliteStoreTest, ASecondStoreOnTheSameDataDirIsRefused) {
  auto store = SqliteStore::open(dir_).value();
  expect_open_error(dir_, {dir_, "in use by another roster store"});
  store.reset();
  EXPECT_NO_THROW(SqliteStore::open(dir_).value());
}

// Kills and reaps a child the test did not reap itself (a failed ASSERT returns early).
struct ChildGuard {
  pid_t pid;
  bool reaped = false;
  ~ChildGuard() {
    if (pid > 0 && !reaped) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// One transaction of the crash test: three records carrying the same marker, the revision it
// becomes. The service and contract are overwritten every time; the instance is new each time.
std::vector<Mutation> marked_transaction(uint64_t marker) {
  std::string m = "m" + std::to_string(marker);
  return {put(K::ServiceVersion, service_key("crash", "1.0.0"), m),
          put(K::Instance, instance_key("crash", "1.0.0", "i" + std::to_string(marker)), m),
          put(K::Contract, contract_key("web", "1.0.0", "crash"), m)};
}

TEST_F(SqliteStoreTest, SigkillMidCommitLosesNoAcknowledgedWriteAndAppliesNothingHalfway) {
  std::mt19937 rng(std::random_device{}());
  uint64_t last_acked = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      ::close(fds[0]);
      try {
        auto store = SqliteStore::open(dir_).value();
        for (;;) {
          uint64_t rev = store->commit(marked_transaction(store->revision() + 1)).value();
          // Acknowledged only now, after commit returned.
          if (::dprintf(fds[1], "%llu\n", static_cast<unsigned long long>(rev)) < 0) ::_exit(3);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        ::_exit(2);
      }
    }
    ChildGuard guard{pid};
    ::close(fds[1]);
    FILE* acks = ::fdopen(fds[0], "r");
    ASSERT_NE(acks, nullptr);
    // Kill after a random number of acknowledgements, while the child is inside its next commit.
    int kill_after = std::uniform_int_distribution<int>(5, 40)(rng);
    unsigned long long rev = 0;
    int seen = 0;
    bool killed = false;
    while (std::fscanf(acks, "%llu", &rev) == 1) {
      EXPECT_EQ(rev, last_acked + 1);
      last_acked = rev;
      if (++seen == kill_after && !killed) {
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        killed = true;  // keep reading: acks already in the pipe were given before the kill
      }
    }
    std::fclose(acks);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    guard.reaped = true;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited with status " << status;

    auto store = SqliteStore::open(dir_).value();
    uint64_t now = store->revision();
    EXPECT_GE(now, last_acked);
    EXPECT_LE(now, last_acked + 1);  // at most the one commit in flight made it, unacknowledged
    std::string marker = "m" + std::to_string(now);
    EXPECT_EQ(scan_kind(*store, K::ServiceVersion)[service_key("crash", "1.0.0")], marker);
    EXPECT_EQ(scan_kind(*store, K::Contract)[contract_key("web", "1.0.0", "crash")], marker);
    auto instances = scan_kind(*store, K::Instance);
    EXPECT_EQ(instances.size(), now);
    for (uint64_t r = 1; r <= now; ++r)
      EXPECT_EQ(instances[instance_key("crash", "1.0.0", "i" + std::to_string(r))], "m" + std::to_string(r));
    auto changes = store->changes_since(0, SIZE_MAX).value();
    ASSERT_TRUE(changes);
    ASSERT_EQ(changes->size(), now);
    for (uint64_t r = 1; r <= now; ++r) EXPECT_EQ((*changes)[r - 1], (Change{r, marked_transaction(r)}));
    last_acked = now;
  }
}

TEST_F(SqliteStoreTest, ScanIsOneConsistentRevisionWhileCommitsRun) {
  auto store = SqliteStore::open(dir_).value();
  store->commit(marked_transaction(1)).value();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) store->commit(marked_transaction(store->revision() + 1)).value();
  });
  // Enough scans, and enough commits under them, to see several revisions.
  for (int scans = 0; scans < 30 || store->revision() < 30; ++scans) {
    std::map<std::pair<K, std::string>, std::string> seen;
    uint64_t newest = 0;
    uint64_t acknowledged = store->revision();
    uint64_t at = store->scan([&](const StoredRecord& r) {
      seen[{r.kind, r.key}] = text(r.record);
      newest = std::max(newest, r.revision);
    }).value();
    EXPECT_GE(at, acknowledged);  // a scan sees every commit acknowledged before it began
    EXPECT_EQ(newest, at);
    std::string marker = "m" + std::to_string(at);
    EXPECT_EQ((seen[{K::ServiceVersion, service_key("crash", "1.0.0")}]), marker);
    EXPECT_EQ((seen[{K::Contract, contract_key("web", "1.0.0", "crash")}]), marker);
    EXPECT_EQ(seen.size(), at + 2);
  }
  stop = true;
  writer.join();
}

TEST_F(SqliteStoreTest, DataDirThatIsAFileIsAClearError) {
  std::ofstream(root_ + "/file") << "not a directory";
  expect_open_error(root_ + "/file", {root_ + "/file", "is not a directory"});
  // Under a file the dir cannot be created, even as root.
  expect_open_error(root_ + "/file/data", {root_ + "/file/data", "cannot create data dir"});
}

// `--data-dir data`: a relative dir of one component, in the working directory, is created.
TEST_F(SqliteStoreTest, ARelativeDataDirIsCreatedInTheWorkingDirectory) {
  const fs::path before = fs::current_path();
  fs::current_path(root_);
  auto store = SqliteStore::open("data");
  fs::current_path(before);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(fs::is_directory(root_ + "/data"));
}

TEST_F(SqliteStoreTest, CorruptDatabaseIsAClearError) {
  fs::create_directories(dir_);
  {
    std::ofstream f(db(), std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(i * 7 + 3));
  }
  expect_open_error(dir_, {db(), "file is not a database"});
}

TEST_F(SqliteStoreTest, SchemaVersionMismatchIsAClearError) {
  SqliteStore::open(dir_).value()->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "x")}).value();
  patch_header(60, 99);
  expect_open_error(dir_, {db(), "schema version 99", "reads version 2"});
  patch_header(60, SqliteStore::kSchemaVersion);
  EXPECT_EQ(SqliteStore::open(dir_).value()->revision(), 1u);
}

TEST_F(SqliteStoreTest, AnotherSqliteDatabaseIsAClearError) {
  SqliteStore::open(dir_).value();
  patch_header(68, 0);  // application_id: no longer ours, though it has tables
  expect_open_error(dir_, {db(), "not a roster store"});
}

// Expects commit() to fail (value() throws the Error) whose message contains every fragment.
void expect_commit_error(Store& store, const std::vector<Mutation>& mutations, std::initializer_list<std::string> fragments) {
  try {
    store.commit(mutations).value();
    ADD_FAILURE() << "commit did not throw";
  } catch (const Exception& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, InvalidMutationRollsBackTheWholeCommit) {
  auto store = SqliteStore::open(dir_).value();
  store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "a1")}).value();
  auto before = scan_all(*store);

  // The first mutations are applied before the bad one is reached; all of them roll back.
  expect_commit_error(*store,
                      {put(K::ServiceVersion, service_key("a", "1.0.0"), "a2"), del(K::ServiceVersion, service_key("a", "1.0.0")),
                       put(static_cast<K>(7), std::string("x\0y", 3), "bad")},
                      {db(), "mutation 2", "unknown record kind 7"});
  expect_commit_error(*store, {put(K::Instance, instance_key("a", "1.0.0", "i"), "i"), put(K::Instance, service_key("a", "1.0.0"), "i")},
                      {"mutation 1", "malformed key"});
  expect_commit_error(*store, {put(K::ServiceVersion, service_key("", "1.0.0"), "x")}, {"mutation 0", "malformed key"});

  EXPECT_EQ(store->revision(), 1u);
  EXPECT_EQ(scan_all(*store), before);
  EXPECT_EQ(store->changes_since(0, 100).value()->size(), 1u);
  // The store stays usable and numbers on from where it was.
  EXPECT_EQ(store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "a3")}).value(), 2u);
  store.reset();
  EXPECT_EQ(SqliteStore::open(dir_).value()->revision(), 2u);
}

// A write that fails on the disk (here: over RLIMIT_FSIZE, which fails even as root) rolls back
// and leaves the store usable. In a child, so the limit stays out of the test process.
TEST_F(SqliteStoreTest, FailedWriteRollsBackAndTheStoreRecovers) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto check = [](bool ok, int code, const char* what) {
      if (!ok) {
        std::fprintf(stderr, "child: %s\n", what);
        ::_exit(code);
      }
    };
    try {
      ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death
      auto store = SqliteStore::open(dir_).value();
      store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), "small")}).value();
      auto before = scan_all(*store);

      uintmax_t largest = 0;
      for (const auto& e : fs::directory_iterator(dir_)) largest = std::max(largest, e.file_size());
      rlimit limit{largest + 64 * 1024, RLIM_INFINITY};
      check(::setrlimit(RLIMIT_FSIZE, &limit) == 0, 10, "setrlimit");

      std::string big(1 << 20, 'b');
      bool threw = false;
      try {
        store->commit({put(K::Instance, instance_key("a", "1.0.0", "i"), "i"), put(K::ServiceVersion, service_key("a", "1.0.0"), big)}).value();
      } catch (const Exception& e) {
        threw = true;
        check(std::string(e.what()).find(store->db_path()) != std::string::npos, 11, "message names the path");
        std::fprintf(stderr, "child: expected error: %s\n", e.what());
      }
      check(threw, 12, "the oversized commit did not throw");
      check(store->revision() == 1, 13, "revision changed");
      check(scan_all(*store) == before, 14, "records changed");

      limit.rlim_cur = RLIM_INFINITY;
      check(::setrlimit(RLIMIT_FSIZE, &limit) == 0, 15, "setrlimit");
      check(store->commit({put(K::ServiceVersion, service_key("a", "1.0.0"), big)}).value() == 2, 16, "recommit");
      store.reset();
      store = SqliteStore::open(dir_).value();
      check(store->revision() == 2, 17, "revision after reopen");
      check(scan_kind(*store, K::ServiceVersion)[service_key("a", "1.0.0")] == big, 18, "record after reopen");
      check(scan_kind(*store, K::Instance).empty(), 19, "half-applied instance after reopen");
      check(store->changes_since(0, 10).value()->size() == 2, 20, "change log after reopen");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      ::_exit(2);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's message above";
}

}  // namespace
}  // namespace roster::upstream
