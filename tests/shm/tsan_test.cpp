// Threads in one process, built with -fsanitize=thread (its own executable, shm_tsan_tests): a
// writer thread applies batches while reader threads share a Client, open Views (nested ones
// too) and check them; short-lived threads claim and release reader slots; the writer restarts
// under the readers so they re-attach concurrently.
//
// What TSan can and cannot see here: the writer and each Client map the segments separately, at
// different addresses, so TSan cannot relate the writer's stores to the readers' loads through
// shared memory (it tracks virtual addresses). What it does check is everything process-local
// that threads share: Client::State (re-attach, the attachment list), the per-thread reader
// slots and their release at thread exit, and the library's globals. The consistency checks
// (testing::ViewChecker) run under real concurrency either way. TSan builds pin with a full
// fence (client.cpp, kAlwaysFence), since TSan cannot model membarrier().
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "roster/client.hpp"
#include "arena_test_support.hpp"

namespace roster {
namespace {

using namespace std::chrono_literals;

constexpr int kServices = 24;

struct ReaderResult {
  uint64_t views = 0, violations = 0, generations = 0, epochs = 0;
  std::string text;
};

// Views in a loop until `stop`, each checked; every 16th with a nested View inside.
void read_until(Client& client, const std::atomic<bool>& stop, bool restarts, ReaderResult& result,
                std::atomic<uint64_t>& progress) {
  testing::ViewChecker checker(kServices, restarts);
  try {
    while (!stop.load(std::memory_order_relaxed)) {
      progress.store(checker.views, std::memory_order_relaxed);
      View view = client.view();
      checker.check(view, checker.views % 8 == 0);  // whole every 8th View, else a sample
      if (checker.views % 16 == 1) {
        View inner = client.view();
        checker.check(inner, false);
      }
    }
  } catch (const std::exception& e) {
    checker.fail("exception", e.what());
  }
  result.views = checker.views;
  result.violations = checker.violations;
  result.generations = checker.generations.size();
  result.epochs = checker.epochs.size();
  result.text = checker.summary() + "\n" + checker.messages;
}

// `federated`: the workload is the second registry of a federated arena, so readers read every name
// through the plain name's copies of its nodes, which the writer replaces with each batch.
void writer_thread_and_three_reader_threads(bool federated) {
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("tsan");
  options.segment_bytes = 32u << 20;
  if (federated) options.registries = {"a", "b"};
  testing::ArenaCleanup cleanup{options.name};
  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  testing::Workload workload(kServices, /*seed=*/99);
  auto to_registry = [&](shm::Batch batch) {
    batch.registry = federated ? 1 : 0;
    return batch;
  };
  writer_resolver.apply(writer, to_registry(workload.full(writer.generation() + 1).batch)).value();

  Client shared = Client::open(options.name).value();
  std::atomic<bool> stop{false};
  std::vector<ReaderResult> results(3);
  std::vector<std::thread> readers;
  // Two readers share one Client; the third has its own.
  std::atomic<uint64_t> progress[3] = {0, 0, 0};
  readers.emplace_back([&] { read_until(shared, stop, false, results[0], progress[0]); });
  readers.emplace_back([&] { read_until(shared, stop, false, results[1], progress[1]); });
  readers.emplace_back([&] {
    Client own = Client::open(options.name).value();
    read_until(own, stop, false, results[2], progress[2]);
  });

  uint64_t batches = 0;
  std::string writer_error;
  std::thread writer_thread([&] {
    try {
      // 1 s, or longer (up to 5 s) until every reader has checked 50 Views.
      const auto start = std::chrono::steady_clock::now();
      auto busy = [&] {
        const auto now = std::chrono::steady_clock::now();
        if (now < start + 1s) return true;
        for (auto& p : progress)
          if (p.load() < 50 && now < start + 5s) return true;
        return false;
      };
      while (busy()) {
        writer_resolver.apply(writer, to_registry(workload.next(writer.generation() + 1).batch)).value();
        ++batches;
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    stop.store(true);
  });
  writer_thread.join();
  for (auto& t : readers) t.join();

  EXPECT_EQ(writer_error, "");
  EXPECT_GT(batches, 20u);
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_GT(results[r].views, 20u) << "reader " << r << ": " << results[r].text;
    EXPECT_EQ(results[r].violations, 0u) << "reader " << r << ": " << results[r].text;
    std::printf("reader %zu: %s", r, results[r].text.substr(0, results[r].text.find('\n') + 1).c_str());
  }
  writer.reclaim();
  EXPECT_EQ(writer.stats().retired_pending, 0u);
  writer.remove_segments();
}

TEST(ShmTsan, WriterThreadAndThreeReaderThreads) { writer_thread_and_three_reader_threads(false); }
TEST(ShmTsan, WriterThreadAndThreeReaderThreadsInAFederatedArena) { writer_thread_and_three_reader_threads(true); }

// The writer is restarted (a new ArenaWriter takes the name) several times while readers that
// share one Client keep opening Views: they re-attach concurrently, and no View ever mixes two
// arenas or goes back in time.
TEST(ShmTsan, ReadersReattachWhileTheWriterRestarts) {
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("tsan-restart");
  options.segment_bytes = 16u << 20;
  testing::ArenaCleanup cleanup{options.name};
  testing::Workload workload(kServices, /*seed=*/5, /*epoch=*/1);
  auto writer = shm::ArenaWriter::create(options).value();
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  writer_resolver.apply(*writer, workload.full(writer->generation() + 1).batch).value();

  Client shared = Client::open(options.name).value();
  std::atomic<bool> stop{false};
  std::vector<ReaderResult> results(3);
  std::vector<std::thread> readers;
  std::atomic<uint64_t> progress[3] = {0, 0, 0};
  for (size_t r = 0; r < results.size(); ++r)
    readers.emplace_back([&, r] { read_until(shared, stop, true, results[r], progress[r]); });

  int restarts = 0;
  std::string writer_error;
  std::thread writer_thread([&] {
    try {
      const auto start = std::chrono::steady_clock::now();
      auto next_restart = start + 150ms;
      while (std::chrono::steady_clock::now() < start + 1200ms) {
        if (std::chrono::steady_clock::now() >= next_restart) {
          auto fresh = shm::ArenaWriter::create(options).value();  // marks the old arena replaced
          shm::BatchResolver fresh_resolver;  // what the server would send with each batch
          workload.set_epoch(static_cast<uint64_t>(++restarts) + 1);
          fresh_resolver.apply(*fresh, workload.full(fresh->generation() + 1).batch).value();
          writer = std::move(fresh);
          writer_resolver = std::move(fresh_resolver);
          next_restart += 150ms;
        }
        writer_resolver.apply(*writer, workload.next(writer->generation() + 1).batch).value();
        std::this_thread::sleep_for(200us);
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    stop.store(true);
  });
  writer_thread.join();
  for (auto& t : readers) t.join();

  EXPECT_EQ(writer_error, "");
  EXPECT_GE(restarts, 3);
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_GT(results[r].views, 20u) << "reader " << r << ": " << results[r].text;
    EXPECT_GE(results[r].epochs, 2u) << "reader " << r << " never re-attached: " << results[r].text;
    EXPECT_EQ(results[r].violations, 0u) << "reader " << r << ": " << results[r].text;
  }
  // After the last restart every reader reads the newest arena.
  View view = shared.view();
  EXPECT_EQ(view.generation(), writer->generation());
  writer->remove_segments();
}

// Threads that open a View and exit give their reader slot back (thread-exit cleanup runs while
// other threads claim slots): with 8 slots, 400 short-lived threads never run out.
TEST(ShmTsan, ShortLivedThreadsReleaseTheirSlots) {
  shm::ArenaOptions options;
  options.name = testing::unique_arena_name("tsan-slots");
  options.segment_bytes = 8u << 20;
  options.reader_slots = 8;
  testing::ArenaCleanup cleanup{options.name};
  auto writer_owner = shm::ArenaWriter::create(options).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  testing::Workload workload(kServices, /*seed=*/3);
  writer_resolver.apply(writer, workload.full(writer.generation() + 1).batch).value();
  Client client = Client::open(options.name).value();

  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::mutex error_mutex;
  for (int wave = 0; wave < 100; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        try {
          View view = client.view();
          const std::string name = testing::Workload::service_name(1);
          const auto versions = view.versions(name);
          const bool live = std::any_of(versions.begin(), versions.end(),
                                        [](const auto& v) { return v.stage() != wire::LifecycleStage::Retired; });
          if (live == view.latest(name, Latest::IncludingPrereleases).has_value()) ok.fetch_add(1);
        } catch (const std::exception& e) {
          failed.fetch_add(1);
          std::lock_guard lock(error_mutex);
          if (first_error.empty()) first_error = e.what();
        }
      });
    if (wave % 10 == 0) writer_resolver.apply(writer, workload.next(writer.generation() + 1).batch).value();
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_EQ(ok.load(), 400);
  writer.remove_segments();
}

}  // namespace
}  // namespace roster
