// Many processes at once: a writer applies random batches for a few seconds while reader
// processes open Views in a loop and check every invariant a View promises (whole batches or
// nothing, generations never going back, latest stable by semver, indexes agreeing with the
// service nodes, records intact). Plus in-process runs of the same workload, which make any
// failure deterministic, and the minimal reproductions of what they found.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "roster/client.hpp"
#include "arena_test_support.hpp"

namespace roster {
namespace {

using namespace std::chrono_literals;
using testing::OwnedBatch;
using testing::VersionSpec;

constexpr int kServices = 32;

struct ReaderReport {
  uint64_t views = 0, violations = 0, generations = 0, records = 0, nested = 0, rechecked = 0;
};

// One reader process: Views in a loop until told to stop, every one checked.
int run_reader(const std::string& name, const testing::SharedFlag& stop, std::atomic<uint64_t>& progress,
               testing::Channel& channel) {
  Client client = Client::open(name).value();
  testing::ViewChecker checker(kServices);
  ReaderReport report;
  const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i = 0; i < kServices; ++i) out.push_back(testing::Workload::service_name(i));
    return out;
  }();
  channel.send_u64(1);  // ready
  while (!stop.is_set()) {
    progress.store(checker.views, std::memory_order_relaxed);
    View view = client.view();
    // Every 8th View is checked whole (every service, every index); the others by a sample.
    checker.check(view, checker.views % 8 == 0);
    if (checker.views % 16 == 1) {
      // A nested View on the same thread: newer or equal, and just as consistent.
      View inner = client.view();
      if (inner.generation() < view.generation()) checker.fail("nested", "a nested View went back in time");
      checker.check(inner, false);
      ++report.nested;
    }
    if (checker.views % 128 == 3) {
      // A View reads the same thing however long it is held while the writer moves on.
      const std::string first = testing::dump_view(view, names);
      std::this_thread::sleep_for(300us);
      if (testing::dump_view(view, names) != first)
        checker.fail("repeatable", "a View's contents changed while it was held (generation " +
                                       std::to_string(view.generation()) + ")");
      ++report.rechecked;
    }
  }
  report.views = checker.views;
  report.violations = checker.violations;
  report.generations = checker.generations.size();
  report.records = checker.records;
  channel.send(&report, sizeof report);
  channel.send_string(checker.summary() + "\n" + checker.messages);
  return 0;
}

// `federated`: the workload is the second registry of a federated arena (the first holds other
// names), so the readers read every name through the copies the writer makes for plain names.
void writer_and_four_reader_processes(bool federated) {
  constexpr int kReaders = 4;
  // Write for 3 s, and on a loaded machine or in a sanitizer build go on (up to 60 s) until the
  // writer and every reader did enough to prove something.
  constexpr auto kWriteFor = 3s, kWriteAtMost = 60s;
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("stress");
  options.segment_bytes = 64u << 20;
  if (federated) options.registries = {"first", "second"};
  testing::ArenaCleanup cleanup{options.name};

  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  testing::Workload workload(kServices, /*seed=*/20240611);
  auto to_registry = [&](shm::Batch& batch) -> shm::Batch& {
    batch.registry = federated ? 1 : 0;
    return batch;
  };
  if (federated) {
    OwnedBatch other;
    other.upsert(VersionSpec{.name = "elsewhere", .version = "1.0.0"});
    shm::BatchResolver().apply(writer, other.batch).value();
  }
  {
    OwnedBatch first = workload.full(writer.generation() + 1);
    writer_resolver.apply(writer, to_registry(first.batch)).value();
  }

  testing::SharedFlag stop;
  testing::SharedCounters progress(kReaders);  // Views each reader has checked so far
  std::vector<std::unique_ptr<testing::ChildProcess>> readers;
  for (int r = 0; r < kReaders; ++r)
    readers.push_back(testing::ChildProcess::spawn(
        [&, r](testing::Channel& channel) { return run_reader(options.name, stop, progress[r], channel); },
        /*lifetime_s=*/90));
  for (auto& reader : readers) ASSERT_TRUE(reader->channel().receive_u64(10s)) << "a reader did not start";

  uint64_t batches = 0, max_pinned = 0;
  auto enough_done = [&] {
    if (batches < 600) return false;
    for (int r = 0; r < kReaders; ++r) {
      if (readers[r]->wait(0ms)) return true;  // a reader died: no point waiting for it
      if (progress[r].load(std::memory_order_relaxed) < 1500) return false;
    }
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < start + kWriteFor ||
         (!enough_done() && std::chrono::steady_clock::now() < start + kWriteAtMost)) {
    OwnedBatch b = workload.next(writer.generation() + 1);
    ASSERT_EQ(writer_resolver.apply(writer, to_registry(b.batch)).value(), b.batch.revision);
    ++batches;
    max_pinned = std::max<uint64_t>(max_pinned, writer.stats().pinned_views);
  }
  stop.set();

  uint64_t total_views = 0;
  for (int r = 0; r < kReaders; ++r) {
    ReaderReport report;
    const bool reported = readers[r]->channel().receive(&report, sizeof report, 10s);
    const auto text = reported ? readers[r]->channel().receive_string(5s) : std::nullopt;
    const auto status = readers[r]->wait(5s);
    ASSERT_TRUE(status) << "reader " << r << " did not exit";
    if (!reported || !text) {
      ADD_FAILURE() << "reader " << r << " died without reporting: "
                    << (WIFSIGNALED(*status) ? "killed by signal " + std::to_string(WTERMSIG(*status))
                                             : "exit status " + std::to_string(WEXITSTATUS(*status)))
                    << (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGSEGV ? " (a View followed an offset into freed, reused memory)" : "");
      continue;
    }
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "reader " << r << " status " << *status;
    EXPECT_GT(report.views, 1000u) << "reader " << r << ": " << *text;
    EXPECT_GT(report.generations, 50u) << "reader " << r << " saw too few generations to prove anything: " << *text;
    EXPECT_GT(report.nested, 0u);
    EXPECT_GT(report.rechecked, 0u);
    EXPECT_EQ(report.violations, 0u) << "reader " << r << ": " << *text;
    total_views += report.views;
    std::printf("reader %d: %s", r, text->substr(0, text->find('\n') + 1).c_str());
  }
  std::printf("writer: %llu batches in %lld ms, %llu views in all\n", static_cast<unsigned long long>(batches),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()),
              static_cast<unsigned long long>(total_views));
  EXPECT_GT(batches, 500u);
  EXPECT_GT(max_pinned, 0u) << "the readers never held a View across a batch";

  // The readers are gone: everything they pinned comes back.
  writer.reclaim();
  EXPECT_EQ(writer.stats().retired_pending, 0u);
  writer.remove_segments();
}

TEST(ShmStress, WriterAndFourReaderProcesses) { writer_and_four_reader_processes(false); }
TEST(ShmStress, WriterAndFourReaderProcessesInAFederatedArena) { writer_and_four_reader_processes(true); }

// The same workload in one process, checked after every batch: any inconsistency here is
// deterministic (no timing involved). Views held across batches must not change. Several
// registry sizes and seeds: a small registry makes every service a frequent dependency target.
class RandomBatches : public ::testing::TestWithParam<std::pair<int, uint64_t>> {};

TEST_P(RandomBatches, KeepEveryInvariant) {
  const auto [services, seed] = GetParam();
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("stress-inproc");
  options.segment_bytes = 32u << 20;
  testing::ArenaCleanup cleanup{options.name};
  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  testing::Workload workload(services, seed);
  writer_resolver.apply(writer, workload.full(writer.generation() + 1).batch).value();
  Client client = Client::open(options.name).value();
  testing::ViewChecker checker(services);
  std::vector<std::string> names;
  for (int i = 0; i < services; ++i) names.push_back(testing::Workload::service_name(i));

  std::optional<View> held;
  std::string held_dump;
  for (int b = 0; b < 2000; ++b) {
    writer_resolver.apply(writer, workload.next(writer.generation() + 1).batch).value();
    View view = client.view();
    checker.check(view);
    if (b % 100 == 0) {
      held.reset();
      held.emplace(client.view());
      held_dump = testing::dump_view(*held, names);
    } else if (b % 100 == 50) {
      const std::string diff = testing::first_difference(testing::dump_view(*held, names), held_dump);
      if (!diff.empty()) checker.fail("repeatable", "a held View changed: " + diff);
    }
  }
  EXPECT_EQ(checker.violations, 0u) << checker.summary() << "\n" << checker.messages;
  held.reset();
  writer.reclaim();
  EXPECT_EQ(writer.stats().retired_pending, 0u);
  writer.remove_segments();
}

INSTANTIATE_TEST_SUITE_P(ShmStressInProcess, RandomBatches,
                         ::testing::Values(std::make_pair(32, uint64_t{7}), std::make_pair(24, uint64_t{99}),
                                           std::make_pair(8, uint64_t{3})),
                         [](const auto& info) {
                           return std::to_string(info.param.first) + "Services_Seed" + std::to_string(info.param.second);
                         });

// Found by the runs above, reduced: many services new in one batch must all be findable.
TEST(ShmStressInProcess, ManyNewServicesInOneBatchAreAllFound) {
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("bulk");
  options.segment_bytes = 64u << 20;
  testing::ArenaCleanup cleanup{options.name};
  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  OwnedBatch b;
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i)
    b.upsert(VersionSpec{"bulk-" + std::to_string(i), "1.0.0", wire::LifecycleStage::Stable, "team", "", {}, {}, {}});
  writer_resolver.apply(writer, b.batch).value();
  Client client = Client::open(options.name).value();
  View view = client.view();
  int missing = 0;
  std::string first;
  for (int i = 0; i < kCount; ++i)
    if (!view.service("bulk-" + std::to_string(i))) {
      if (!missing) first = "bulk-" + std::to_string(i);
      ++missing;
    }
  EXPECT_EQ(missing, 0) << missing << " of " << kCount << " services added in one batch cannot be found, e.g. " << first;
  EXPECT_EQ(view.by_team("team").to_vector().size(), static_cast<size_t>(kCount));
  writer.remove_segments();
}

// Found by the runs above, reduced: a version's resolved dependency must follow the target's
// versions even after a sibling version (that declared the same dependency) was removed.
TEST(ShmStressInProcess, DependencyResolutionSurvivesRemovingASiblingVersion) {
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("deps");
  options.segment_bytes = 16u << 20;
  testing::ArenaCleanup cleanup{options.name};
  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  auto version = [](const std::string& name, const std::string& v, std::vector<std::pair<std::string, std::string>> deps = {}) {
    return VersionSpec{name, v, wire::LifecycleStage::Stable, "team", "", {}, {}, std::move(deps)};
  };
  {
    OwnedBatch b;
    b.upsert(version("b", "1.0.0"));
    b.upsert(version("a", "1.0.0", {{"b", "^1.0.0"}}));
    b.upsert(version("a", "2.0.0", {{"b", "^1.0.0"}}));
    writer_resolver.apply(writer, b.batch).value();
  }
  {
    OwnedBatch b;
    b.remove_version("a", "1.0.0");  // a@2.0.0 still depends on b
    writer_resolver.apply(writer, b.batch).value();
  }
  {
    OwnedBatch b;
    b.upsert(version("b", "1.5.0"));
    writer_resolver.apply(writer, b.batch).value();
  }
  Client client = Client::open(options.name).value();
  {
    View view = client.view();
    auto deps = view.dependencies("a", "2.0.0", Direct);
    ASSERT_EQ(deps.size(), 1u);
    ASSERT_TRUE(deps[0].resolved) << "a@2.0.0 -> b ^1.0.0 resolves to nothing";
    EXPECT_EQ(deps[0].resolved->version(), "1.5.0") << "a@2.0.0 -> b ^1.0.0 was not re-resolved when b@1.5.0 came";
  }
  {
    OwnedBatch b;
    b.remove_version("b", "1.0.0");
    b.remove_version("b", "1.5.0");
    b.upsert(version("b", "1.6.0"));
    writer_resolver.apply(writer, b.batch).value();
  }
  View view = client.view();
  auto deps = view.dependencies("a", "2.0.0", Direct);
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_TRUE(deps[0].resolved) << "a@2.0.0 -> b ^1.0.0 still points at a removed version of b";
  if (deps[0].resolved) {
    EXPECT_EQ(deps[0].resolved->version(), "1.6.0");
  }
  EXPECT_EQ(view.dependents("b").size(), 1u);
  writer.remove_segments();
}

}  // namespace
}  // namespace roster
