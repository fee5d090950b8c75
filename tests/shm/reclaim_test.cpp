// Reclamation in one process: memory comes back only when no View can reach it, pinned Views keep
// their bytes, nested Views, pin-age eviction, and the arena's space errors (a segment larger
// than /dev/shm, a full segment) and option errors.
#include <sys/statvfs.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "roster/client.hpp"
#include "arena_test_support.hpp"

namespace roster {
namespace {

using namespace std::chrono_literals;
using testing::OwnedBatch;

std::string padded(uint64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(n % 1000000));
  return buf;
}

std::string svc(int i) { return "svc-" + padded(static_cast<uint64_t>(i)); }

// A registry of `services` services with versions 1.0.0 and 1.1.0, each with `instances`
// instances; every record is stamped with `round` (fixed width, so every round's records have the
// same sizes and freed blocks fit the next round's records exactly).
struct Registry {
  int services = 20, instances = 3;

  testing::VersionSpec version(int i, const std::string& v, uint64_t round) const {
    return {svc(i), v, wire::LifecycleStage::Stable, i % 2 ? "team-odd" : "team-even",
            "round " + padded(round), {"t"}, {{"round", padded(round)}}, {}};
  }
  testing::InstanceSpec instance(int i, const std::string& v, int k, uint64_t round) const {
    return {svc(i), v, "i-" + std::to_string(k), "10.0." + padded(static_cast<uint64_t>(i)), static_cast<uint16_t>(8000 + k),
            100, wire::Health::Up, "z", {{"round", padded(round)}}};
  }
  // Every record of every service at `round`.
  OwnedBatch all(uint64_t round) const {
    OwnedBatch b;
    for (int i = 0; i < services; ++i)
      for (const char* v : {"1.0.0", "1.1.0"}) {
        b.upsert(version(i, v, round));
        for (int k = 0; k < instances; ++k) b.upsert(instance(i, v, k, round));
      }
    return b;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (int i = 0; i < services; ++i) out.push_back(svc(i));
    return out;
  }
};

class ReclaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::remove_stale_test_arenas();
    options_.name = testing::unique_arena_name("reclaim");
    options_.segment_bytes = 16u << 20;
    // These tests count what each batch frees: reclaim after every one.
    options_.reclaim_interval = std::chrono::microseconds(0);
  }
  void TearDown() override {
    if (writer_) writer_->remove_segments();
    writer_.reset();
    testing::remove_arena(options_.name);
    EXPECT_TRUE(testing::arena_files(options_.name).empty());
  }
  // The arena is visible from the start (a writer otherwise takes the name at its first batch).
  void start() {
    writer_ = shm::ArenaWriter::create(options_).value();
    writer_->publish_empty().value();
  }
  uint64_t apply(const OwnedBatch& b) { return resolver_.apply(*writer_, b.batch).value(); }
  std::string dump(const View& v) const { return testing::dump_view(v, registry_.names(), {"team-odd", "team-even"}, {"t"}); }

  shm::ArenaOptions options_;
  std::unique_ptr<shm::ArenaWriter> writer_;
  shm::BatchResolver resolver_;  // what the server would send with each batch
  Registry registry_;
};

// With an interval, a batch reclaims only once it is due: a lone change makes no membarrier and
// no scan of the reader slots until the interval has passed since the last reclaim, or until
// kReclaimBlocks blocks wait. reclaim() (the agent's upkeep, each second) frees the
// rest. Views are protected throughout: deferring a free is always safe.
TEST_F(ReclaimTest, ABatchReclaimsOnlyOnceItIsDue) {
  options_.reclaim_interval = std::chrono::hours(1);
  start();
  apply(registry_.all(0));  // never reclaimed before: due
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
  Client client = Client::open(options_.name).value();
  size_t most = 0;
  bool reclaimed_by_count = false;
  for (uint64_t b = 1; b <= 600; ++b) {
    OwnedBatch batch;
    batch.upsert(registry_.version(static_cast<int>(b % static_cast<uint64_t>(registry_.services)), "1.1.0", b));
    const size_t before = writer_->stats().retired_pending;
    apply(batch);
    const size_t after = writer_->stats().retired_pending;
    reclaimed_by_count |= after < before;
    most = std::max(most, after);
  }
  EXPECT_TRUE(reclaimed_by_count);
  EXPECT_GE(most, 64u);  // the lone changes did not reclaim
  EXPECT_LT(most, 2 * shm::kReclaimBlocks);
  EXPECT_EQ(client.view().service(svc(1))->version(), "1.1.0");
  writer_->reclaim();
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
  // A short interval: a batch after it has passed reclaims.
  writer_->remove_segments();
  options_.reclaim_interval = std::chrono::milliseconds(1);
  options_.name = testing::unique_arena_name("reclaim");
  start();
  apply(registry_.all(0));
  OwnedBatch one;
  one.upsert(registry_.version(1, "1.1.0", 1));
  apply(one);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  OwnedBatch two;
  two.upsert(registry_.version(1, "1.1.0", 2));
  apply(two);
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
}

// 2000 batches that replace instances (and re-upsert versions) leave the heap exactly where it
// was: nothing retired stays pending, nothing leaks. Views opened now and then delay reclamation
// but do not change the end result.
TEST_F(ReclaimTest, MemoryReturnsToTheSameLevelAfterManyBatches) {
  start();
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  // Current instance ids per service (version 1.0.0): each batch swaps them for new ids.
  std::vector<int> generation_of_ids(static_cast<size_t>(registry_.services), 0);
  auto churn = [&](uint64_t b) {
    OwnedBatch batch;
    const int i = static_cast<int>(b % static_cast<uint64_t>(registry_.services));
    const int old_base = generation_of_ids[i], new_base = 1 + old_base % 8;  // ids i-10 .. i-82: same sizes
    for (int k = 0; k < registry_.instances; ++k) {
      batch.remove_instance(svc(i), "1.0.0", "i-" + std::to_string(old_base * 10 + k));
      batch.upsert(registry_.instance(i, "1.0.0", new_base * 10 + k, b));
    }
    generation_of_ids[i] = new_base;
    if (b % 4 == 0) batch.upsert(registry_.version(i, "1.1.0", b));
    if (b % 7 == 0) batch.upsert(registry_.instance(i, "1.1.0", 0, b));  // a health-check style update
    return batch;
  };
  // Warm up: list arrays and the allocator's free blocks settle into their steady shape.
  uint64_t b = 1;
  for (; b <= 400; ++b) apply(churn(b));
  writer_->reclaim();
  const shm::ArenaStats before = writer_->stats();
  EXPECT_EQ(before.retired_pending, 0u);
  EXPECT_EQ(before.pinned_views, 0u);

  size_t pending_without_views = 0, max_pending_with_view = 0;
  for (uint64_t end = b + 2000; b < end; ++b) {
    if (b % 50 == 0) {
      // A View held across three batches: their garbage waits for it, then goes.
      View view = client.view();
      for (int k = 0; k < 3; ++k, ++b) apply(churn(b));
      max_pending_with_view = std::max(max_pending_with_view, writer_->stats().retired_pending);
      EXPECT_EQ(view.service(svc(0))->version(), "1.1.0");
    }
    apply(churn(b));
    pending_without_views += writer_->stats().retired_pending;
  }
  writer_->reclaim();
  const shm::ArenaStats after = writer_->stats();
  EXPECT_EQ(pending_without_views, 0u) << "with no View open, apply() must free everything it retired";
  EXPECT_GT(max_pending_with_view, 0u) << "a held View must delay reclamation";
  EXPECT_EQ(after.retired_pending, 0u);
  EXPECT_EQ(after.heap_bytes, before.heap_bytes);
  // The live data has the same shape as before: the free space is back to the same level (a
  // little slack for how full the append-only index arrays happen to be).
  const long drift = static_cast<long>(before.heap_free_bytes) - static_cast<long>(after.heap_free_bytes);
  EXPECT_LE(std::labs(drift), 16 * 1024) << "free bytes before " << before.heap_free_bytes << ", after " << after.heap_free_bytes;
}

// A View pinned at an old generation reads exactly the bytes it pinned (byte-compared with the
// records as built) while the writer replaces every record 100 times.
TEST_F(ReclaimTest, PinnedViewKeepsItsBytesWhileTheWriterMovesOn) {
  start();
  const OwnedBatch first = registry_.all(0);
  apply(first);
  Client client = Client::open(options_.name).value();
  View pinned = client.view();
  const uint64_t pinned_generation = pinned.generation();
  const std::string before = dump(pinned);

  for (uint64_t round = 1; round <= 100; ++round) {
    apply(registry_.all(round));
    ASSERT_EQ(writer_->stats().pinned_views, 1u) << "round " << round;
  }
  EXPECT_GT(writer_->stats().retired_pending, 0u);

  EXPECT_EQ(pinned.generation(), pinned_generation);
  EXPECT_FALSE(pinned.evicted());
  EXPECT_EQ(testing::first_difference(dump(pinned), before), "");
  // Byte for byte: the records the View reaches are the ones written in round 0.
  size_t record = 0;
  for (int i = 0; i < registry_.services; ++i)
    for (const char* v : {"1.0.0", "1.1.0"}) {
      auto version = pinned.service(svc(i), v);
      ASSERT_TRUE(version);
      EXPECT_TRUE(testing::same_record_bytes(&version->record(), first.records[record])) << svc(i) << "@" << v;
      ++record;
      size_t k = 0;
      for (auto inst : pinned.instances(svc(i), v)) {
        EXPECT_TRUE(testing::same_record_bytes(&inst.record(), first.records[record + k])) << svc(i) << " " << inst.id();
        ++k;
      }
      EXPECT_EQ(k, static_cast<size_t>(registry_.instances));
      record += static_cast<size_t>(registry_.instances);
    }

  {
    View drop = std::move(pinned);  // closes the old pin
  }
  View fresh = client.view();
  EXPECT_EQ(testing::label(fresh.service(svc(3))->record().labels(), "round"), padded(100));
  writer_->reclaim();
  EXPECT_EQ(writer_->stats().pinned_views, 0u);
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
}

// Views nest on one thread: the inner one sees the newer generation, the shared pin stays at the
// outer one's generation until the last View closes (in any order), and moves keep the pin.
TEST_F(ReclaimTest, NestedViewsOnOneThread) {
  start();
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  auto outer = std::make_unique<View>(client.view());
  const std::string outer_dump = dump(*outer);
  apply(registry_.all(1));
  View inner = client.view();
  EXPECT_GT(inner.generation(), outer->generation());
  const std::string inner_dump = dump(inner);
  EXPECT_NE(inner_dump, outer_dump);
  EXPECT_EQ(testing::label(inner.service(svc(0))->record().labels(), "round"), padded(1));
  EXPECT_EQ(testing::label(outer->service(svc(0))->record().labels(), "round"), padded(0));

  for (uint64_t round = 2; round < 30; ++round) apply(registry_.all(round));
  EXPECT_EQ(testing::first_difference(dump(*outer), outer_dump), "");
  EXPECT_EQ(testing::first_difference(dump(inner), inner_dump), "");
  EXPECT_EQ(writer_->stats().pinned_views, 1u);  // one slot, pinned at the outer generation

  outer.reset();  // the outer View closes first: the inner one must stay protected
  for (uint64_t round = 30; round < 60; ++round) apply(registry_.all(round));
  EXPECT_EQ(testing::first_difference(dump(inner), inner_dump), "");
  EXPECT_EQ(writer_->stats().pinned_views, 1u);

  View moved = std::move(inner);
  for (uint64_t round = 60; round < 70; ++round) apply(registry_.all(round));
  EXPECT_EQ(testing::first_difference(dump(moved), inner_dump), "");
  {
    View third = client.view();
    EXPECT_EQ(testing::label(third.service(svc(0))->record().labels(), "round"), padded(69));
  }
  EXPECT_EQ(testing::first_difference(dump(moved), inner_dump), "");

  {
    View drop = std::move(moved);  // the last View closes: the slot is unpinned
  }
  writer_->reclaim();
  EXPECT_EQ(writer_->stats().pinned_views, 0u);
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
}

// The common refresh idiom `view = client.view()` opens the new View before the old one closes
// (a nested View for an instant). The pin must still move forward with it: after 200 such
// refreshes, each followed by a batch, the writer must be able to free all but the newest garbage.
TEST_F(ReclaimTest, ReassigningAViewMovesThePinForward) {
  start();
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  View view = client.view();
  for (uint64_t round = 1; round <= 200; ++round) {
    apply(registry_.all(round));
    view = client.view();
    ASSERT_EQ(testing::label(view.service(svc(0))->record().labels(), "round"), padded(round));
  }
  writer_->reclaim();
  const shm::ArenaStats stats = writer_->stats();
  EXPECT_EQ(stats.pinned_views, 0u) << "the only open View is at the newest generation";
  EXPECT_EQ(stats.retired_pending, 0u) << "a View refreshed by assignment still pins generation 2: "
                                       << stats.retired_pending << " retired blocks wait for it";
}

// A thread that opens more Clients (or re-attaches to a restarted arena) while it holds a View
// claims more reader slots. Closing that View afterwards must unpin its slot, and the thread's
// next View on the same Client must pin again. Run in a child process: if the View's
// bookkeeping moved under it, closing it writes to freed memory.
TEST_F(ReclaimTest, ViewStaysValidWhileItsThreadClaimsMoreSlots) {
  start();
  apply(registry_.all(0));
  const std::string name = options_.name;
  const Registry registry = registry_;
  auto child = testing::ChildProcess::spawn([name, registry](testing::Channel& channel) {
    Client client = Client::open(name).value();
    {
      View held = client.view();
      channel.send_u64(held.generation());
      channel.receive_u64(20s);  // the writer moves on
      for (int k = 0; k < 40; ++k) {
        Client other = Client::open(name).value();
        View v = other.view();  // a new reader slot for this thread
      }
      channel.send_u64(held.service(svc(0)) ? 1 : 0);
    }  // closes `held`: its slot must be unpinned now
    channel.send_u64(2);
    channel.receive_u64(20s);
    View again = client.view();  // must pin its generation like any View
    const std::string before = testing::dump_view(again, registry.names());
    channel.send_u64(again.generation());
    channel.receive_u64(20s);  // the writer replaces everything again
    channel.send_u64(testing::dump_view(again, registry.names()) == before ? 1 : 0);
    return 0;
  });
  ASSERT_TRUE(child->channel().receive_u64());
  apply(registry_.all(1));
  EXPECT_EQ(writer_->stats().pinned_views, 1u);
  child->channel().send_u64(1);
  const auto still_reads = child->channel().receive_u64();
  ASSERT_TRUE(still_reads);
  EXPECT_EQ(*still_reads, 1u);
  ASSERT_TRUE(child->channel().receive_u64());  // `held` is closed
  apply(registry_.all(2));
  EXPECT_EQ(writer_->stats().pinned_views, 0u) << "the closed View's slot is still pinned";
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
  child->channel().send_u64(1);
  ASSERT_TRUE(child->channel().receive_u64());  // `again` is open
  for (uint64_t round = 3; round < 10; ++round) apply(registry_.all(round));
  EXPECT_EQ(writer_->stats().pinned_views, 1u) << "the thread's next View did not pin its generation";
  child->channel().send_u64(1);
  const auto intact = child->channel().receive_u64();
  ASSERT_TRUE(intact) << "the reader died";
  EXPECT_EQ(*intact, 1u) << "the unpinned View's data was freed and reused under it";
  const auto status = child->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "the reader crashed: status " << *status;
}

// A View held past max_pin_age while the writer keeps publishing is revoked: evicted() turns
// true, every lookup returns nothing, and what it pinned is freed. A new View works normally.
TEST_F(ReclaimTest, PinAgeEvictionRevokesOldViewsAndFreesTheirMemory) {
  options_.max_pin_age = 50ms;
  start();
  uint64_t round = 0;
  for (; round < 20; ++round) apply(registry_.all(round));  // index arrays reach their steady size
  const size_t free_before = writer_->stats().heap_free_bytes;
  Client client = Client::open(options_.name).value();
  View old = client.view();
  ASSERT_TRUE(old.service(svc(1)));
  ASSERT_FALSE(old.evicted());
  // What one round of updates keeps alive while a View pins the round before it.
  apply(registry_.all(round++));
  const size_t round_bytes = free_before - writer_->stats().heap_free_bytes;
  ASSERT_GT(round_bytes, 0u);

  const auto start_time = std::chrono::steady_clock::now();
  while (!old.evicted() && std::chrono::steady_clock::now() - start_time < 5s) {
    apply(registry_.all(round++));
    std::this_thread::sleep_for(5ms);
  }
  const auto held = std::chrono::steady_clock::now() - start_time;
  ASSERT_TRUE(old.evicted()) << "not evicted after " << round << " batches";
  EXPECT_GE(held, 50ms);
  EXPECT_EQ(writer_->stats().evicted_views, 1u);

  EXPECT_FALSE(old.service(svc(1)));
  EXPECT_FALSE(old.service(svc(1), "1.0.0"));
  EXPECT_FALSE(old.latest(svc(1), Latest::IncludingPrereleases));
  EXPECT_TRUE(old.versions(svc(1)).empty());
  EXPECT_TRUE(old.instances(svc(1)).empty());
  EXPECT_TRUE(old.instances(svc(1), "1.0.0").empty());
  EXPECT_TRUE(old.by_team("team-odd").to_vector().empty());
  EXPECT_TRUE(old.by_tag("t").to_vector().empty());
  EXPECT_TRUE(old.by_stage(wire::LifecycleStage::Stable).to_vector().empty());
  EXPECT_TRUE(old.dependencies(svc(1)).empty());
  EXPECT_TRUE(old.dependents(svc(1)).empty());
  EXPECT_TRUE(old.contracts(svc(1)).empty());

  // The revoked pin no longer holds memory back: nothing waits, and after some more rounds the
  // free space is back within less than one round's worth of the level before the pin (the
  // slack is how full the index arrays happen to be).
  apply(registry_.all(round++));
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
  EXPECT_EQ(writer_->stats().pinned_views, 0u);
  for (int k = 0; k < 20; ++k) apply(registry_.all(round++));
  const long drift = static_cast<long>(free_before) - static_cast<long>(writer_->stats().heap_free_bytes);
  EXPECT_LT(std::labs(drift), static_cast<long>(round_bytes))
      << "free before the pin " << free_before << ", now " << writer_->stats().heap_free_bytes << "; one round is "
      << round_bytes << " bytes";

  {
    View drop = std::move(old);
  }
  View fresh = client.view();
  EXPECT_FALSE(fresh.evicted());
  EXPECT_EQ(testing::label(fresh.service(svc(1))->record().labels(), "round"), padded(round - 1));
  EXPECT_EQ(writer_->stats().evicted_views, 1u);
}

// A nested View shares its thread's pin, which sits at the OUTER View's generation. When the
// writer revokes that pin, the inner View is unprotected as well: it must report evicted() (and
// return nothing) rather than go on reading memory the writer frees and reuses.
TEST_F(ReclaimTest, NestedViewIsEvictedWithItsOuterView) {
  options_.max_pin_age = 50ms;
  start();
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  View outer = client.view();
  apply(registry_.all(1));
  View inner = client.view();
  ASSERT_GT(inner.generation(), outer.generation());
  const std::string inner_dump = dump(inner);

  const auto start_time = std::chrono::steady_clock::now();
  uint64_t round = 2;
  while (!outer.evicted() && std::chrono::steady_clock::now() - start_time < 5s) {
    apply(registry_.all(round++));
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(outer.evicted());
  // The writer no longer honours the pin: generation 1's records (what `inner` reads) are freed
  // and their space reused by the next rounds.
  for (int k = 0; k < 20; ++k) apply(registry_.all(round++));
  EXPECT_EQ(writer_->stats().retired_pending, 0u);

  EXPECT_TRUE(inner.evicted()) << "the inner View's pin was revoked with the outer one's";
  if (!inner.evicted()) {
    // Not reported evicted, so it must still read what it read before: it does not (the
    // writer freed generation 1's nodes and cut their chain links, so services vanish from it).
    EXPECT_TRUE(dump(inner) == inner_dump) << "an inner View that is not reported evicted reads freed memory: "
                                           << svc(0) << " is " << (inner.service(svc(0)) ? "still there" : "gone");
  }
}

// A segment bigger than /dev/shm can hold fails at creation with a clear error naming /dev/shm,
// leaves nothing behind, and does not disturb an arena that already has the name.
TEST_F(ReclaimTest, SegmentLargerThanDevShmIsAClearError) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  if (fs.f_blocks == 0) GTEST_SKIP() << "/dev/shm has no size limit here";
  // Larger than the whole filesystem (not just its free space), so tmpfs refuses the reservation
  // up front instead of filling /dev/shm (and the machine's memory) first.
  const size_t total = static_cast<size_t>(fs.f_blocks) * fs.f_frsize;
  const size_t free = static_cast<size_t>(fs.f_bavail) * fs.f_frsize;
  shm::ArenaOptions big = options_;
  big.segment_bytes = std::max(total, free) + (size_t{1} << 30);

  {
    auto refused = shm::ArenaWriter::create(big);
    ASSERT_FALSE(refused) << "a " << big.segment_bytes << "-byte segment was created";
    const std::string message = refused.error().message;
    EXPECT_NE(message.find("/dev/shm"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(big.segment_bytes)), std::string::npos) << message;
  }
  EXPECT_TRUE(testing::arena_files(options_.name).empty());
  EXPECT_FALSE(Client::open(options_.name));

  // Same again with an arena of that name already running: it keeps working, unreplaced.
  start();
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  EXPECT_FALSE(shm::ArenaWriter::create(big));
  EXPECT_EQ(testing::arena_files(options_.name).size(), 2u);
  EXPECT_EQ(testing::label(client.view().service(svc(0))->record().labels(), "round"), padded(0));
  apply(registry_.all(1));
  EXPECT_EQ(testing::label(client.view().service(svc(0))->record().labels(), "round"), padded(1));
  EXPECT_EQ(testing::label(Client::open(options_.name).value().view().service(svc(0))->record().labels(), "round"), padded(1));
}

// Upserting into a small segment until it is full: the failing batch throws ArenaError("full"),
// changes nothing readers can see (old and new Views read the last published generation exactly),
// and the writer refuses further batches; a new writer can take over the name.
TEST_F(ReclaimTest, FullSegmentThrowsAndReadersKeepTheLastGeneration) {
  options_.segment_bytes = 2u << 20;
  start();
  Client client = Client::open(options_.name).value();
  // One new service per batch (big records), so the batch that fails is about space alone.
  const std::string filler(16000, 'x');
  std::vector<std::string> names;
  uint64_t last_generation = writer_->generation();
  std::optional<View> held;
  std::string held_dump, failure;
  for (int round = 0; round < 1000 && failure.empty(); ++round) {
    OwnedBatch b;
    const std::string name = "fill-" + padded(static_cast<uint64_t>(round));
    b.upsert(testing::VersionSpec{name, "1.0.0", wire::LifecycleStage::Stable, "team-fill", filler, {"t"}, {}, {}});
    b.upsert(testing::InstanceSpec{name, "1.0.0", "i", "10.0.0.1", 80, 100, wire::Health::Up, "", {}});
    // ... and a change to services already there, so undoing the batch must restore them.
    for (size_t k = 0; k < names.size() && k < 4; ++k)
      b.upsert(testing::InstanceSpec{names[k], "1.0.0", "i", "10.0.0.1", static_cast<uint16_t>(1000 + round), 100,
                                     wire::Health::Up, "", {}});
    names.push_back(name);
    try {
      last_generation = apply(b);
      if (round == 5) {
        held.emplace(client.view());
        held_dump = testing::dump_view(*held, names, {"team-fill"}, {"t"});
      }
    } catch (const Exception& e) {
      failure = e.what();
    }
  }
  ASSERT_FALSE(failure.empty()) << "a 2 MiB segment never filled up";
  EXPECT_NE(failure.find("full"), std::string::npos) << failure;
  EXPECT_EQ(writer_->generation(), last_generation);
  ASSERT_TRUE(held);

  View after = client.view();
  EXPECT_EQ(after.generation(), last_generation);
  // Everything published is there; the failed batch's services are not.
  const size_t published = names.size() - 1;
  for (size_t k = 0; k < names.size(); ++k) {
    auto v = after.service(names[k]);
    if (k < published) {
      ASSERT_TRUE(v) << names[k];
      EXPECT_EQ(v->description(), filler) << names[k];
      ASSERT_EQ(after.instances(names[k]).size(), 1u) << names[k];
      // The last published round changed the first four services' instance port.
      if (k < 4) {
        EXPECT_EQ((*after.instances(names[k]).begin()).port(), 1000 + published - 1) << names[k];
      }
    } else {
      EXPECT_FALSE(v) << names[k] << " of the failed batch is visible";
    }
  }
  EXPECT_EQ(after.by_team("team-fill").to_vector().size(), published);
  // A View opened before the failure still reads its own generation.
  EXPECT_EQ(held->by_team("team-fill").to_vector().size(), 6u);
  EXPECT_EQ((*held->instances(names[0]).begin()).port(), 1005);
  EXPECT_EQ(held->service(names[5])->description(), filler);
  EXPECT_FALSE(held->service(names[6]));
  EXPECT_EQ(testing::first_difference(testing::dump_view(*held, std::vector<std::string>(names.begin(), names.begin() + 6),
                                                        {"team-fill"}, {"t"}),
                                      held_dump),
            "");

  // The writer stopped: its private state ran ahead of the arena.
  OwnedBatch small;
  small.upsert(testing::VersionSpec{"late", "1.0.0", wire::LifecycleStage::Stable, "t", "", {}, {}, {}});
  try {
    apply(small);
    ADD_FAILURE() << "a writer whose segment filled up accepted another batch";
  } catch (const Exception& e) {
    EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(client.view().generation(), last_generation);

  // A new, larger arena takes the name; the client re-attaches by itself.
  held.reset();
  options_.segment_bytes = 16u << 20;
  writer_.reset();
  start();
  apply(small);
  EXPECT_TRUE(client.view().service("late"));
  EXPECT_FALSE(client.view().service(names[0]));
}

// A fresh arena's load keeps no undo log: when it does not fit, the whole arena is emptied, no
// reader ever saw it, and the same writer loads what fits afterwards.
TEST_F(ReclaimTest, AFreshArenaWhoseLoadDoesNotFitIsEmptiedAndStaysUsable) {
  options_.segment_bytes = 2u << 20;
  writer_ = shm::ArenaWriter::create(options_).value();
  const size_t empty_free = writer_->stats().heap_free_bytes;
  OwnedBatch too_big;
  const std::string filler(16000, 'x');
  for (int i = 0; i < 200; ++i) {
    too_big.upsert(testing::VersionSpec{svc(i), "1.0.0", wire::LifecycleStage::Stable, "team-fill", filler, {"t"}, {}, {}});
    too_big.upsert(testing::InstanceSpec{svc(i), "1.0.0", "i", "10.0.0.1", 80, 100, wire::Health::Up, "", {}});
  }
  auto failed = resolver_.apply(*writer_, too_big.batch);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "arena_full") << failed.error().message;
  EXPECT_NE(failed.error().message.find("still empty"), std::string::npos) << failed.error().message;
  EXPECT_FALSE(Client::open(options_.name)) << "a failed load must not publish";
  EXPECT_EQ(writer_->stats().heap_free_bytes, empty_free);
  EXPECT_EQ(writer_->stats().services, 0u);

  registry_.services = 5;
  apply(registry_.all(0));
  Client client = Client::open(options_.name).value();
  View view = client.view();
  EXPECT_FALSE(view.service(svc(100)));
  EXPECT_EQ(view.by_team("team-fill").to_vector().size(), 0u);
  EXPECT_EQ(view.by_tag("t").to_vector().size(), 10u);  // 5 services x 2 versions, nothing of the failed load
  for (int i = 0; i < registry_.services; ++i) EXPECT_EQ(view.instances(svc(i)).size(), 6u) << svc(i);
}

// A snapshot's records are cut from one run of the heap, but each is a block of its own: records
// replaced later are freed one by one and their space reused, so replacing every record again
// and again keeps the heap at the level of the load; removing them frees their space.
TEST_F(ReclaimTest, RecordsOfAFreshLoadAreFreedOneByOneWhenReplaced) {
  writer_ = shm::ArenaWriter::create(options_).value();
  const size_t empty_free = writer_->stats().heap_free_bytes;
  registry_.services = 200;
  const OwnedBatch load = registry_.all(0);
  size_t record_bytes = 0;
  for (auto& record : load.records) record_bytes += record.size();
  apply(load);  // the fresh arena's load
  writer_->reclaim();
  // Round 1 settles the index arrays and the nodes' sizes; each later round replaces every record.
  apply(registry_.all(1));
  writer_->reclaim();
  const shm::ArenaStats settled = writer_->stats();
  for (uint64_t round = 2; round < 6; ++round) {
    apply(registry_.all(round));
    writer_->reclaim();
    const shm::ArenaStats now = writer_->stats();
    EXPECT_EQ(now.retired_pending, 0u);
    const long drift = static_cast<long>(settled.heap_free_bytes) - static_cast<long>(now.heap_free_bytes);
    EXPECT_LE(std::labs(drift), 16 * 1024) << "round " << round << ": free " << now.heap_free_bytes << ", settled "
                                            << settled.heap_free_bytes;
  }
  OwnedBatch remove;
  for (int i = 0; i < registry_.services; ++i)
    for (const char* v : {"1.0.0", "1.1.0"}) remove.remove_version(svc(i), v);
  apply(remove);
  writer_->reclaim();
  // Every record's block is back (and the nodes shrink to tombstones); the index arrays stay.
  const size_t used_settled = empty_free - settled.heap_free_bytes, used = empty_free - writer_->stats().heap_free_bytes;
  EXPECT_LE(used + record_bytes, used_settled) << "bytes used with every record " << used_settled << ", after they went "
                                               << used << "; the records are " << record_bytes;
  Client client = Client::open(options_.name).value();
  EXPECT_TRUE(client.view().by_tag("t").to_vector().empty());
}

TEST_F(ReclaimTest, InvalidOptionsAreRefusedAndCreateNothing) {
  auto message_of = [](const shm::ArenaOptions& o) -> std::string {
    auto w = shm::ArenaWriter::create(o);
    return w ? "created" : w.error().message;
  };
  shm::ArenaOptions o = options_;
  o.name = "";
  EXPECT_NE(message_of(o).find("invalid arena name"), std::string::npos) << message_of(o);
  o.name = options_.name + "/sub";
  EXPECT_NE(message_of(o).find("invalid arena name"), std::string::npos) << message_of(o);
  EXPECT_NE(message_of(o).find("'/'"), std::string::npos);
  o.name = options_.name;
  o.segment_bytes = 1000;
  EXPECT_NE(message_of(o).find("at least 1 MiB"), std::string::npos) << message_of(o);
  o.segment_bytes = 1u << 20;  // 1 MiB: too small for its own tables
  EXPECT_NE(message_of(o).find("too small"), std::string::npos) << message_of(o);
  o.segment_bytes = 16u << 20;
  o.reader_slots = 0;
  EXPECT_NE(message_of(o).find("reader slot"), std::string::npos) << message_of(o);
  EXPECT_TRUE(testing::arena_files(options_.name).empty());
}

// The secondary indexes (team, stage, tag) stay exact while one version is re-upserted over and
// over: every round frees the previous record, whose block the next round's record reuses. A
// fresh View must list the version once, and a View's lists must not change under it. Run in a
// child process, because a list entry that points at freed memory can crash the reader.
TEST_F(ReclaimTest, SecondaryIndexesStayExactWhenRecordBlocksAreReused) {
  const shm::ArenaOptions options = options_;
  auto child = testing::ChildProcess::spawn([options](testing::Channel& channel) {
    auto writer_owner = shm::ArenaWriter::create(options).value();
    shm::ArenaWriter& writer = *writer_owner;
    shm::BatchResolver writer_resolver;  // what the server would send with each batch
    writer.publish_empty().value();
    Client client = Client::open(options.name).value();
    auto spec = [](uint64_t round) {
      return testing::VersionSpec{"svc", "1.0.0", wire::LifecycleStage::Stable, "team-a", "round " + padded(round), {"t"}, {}, {}};
    };
    {
      OwnedBatch first;
      first.upsert(spec(0));
      writer_resolver.apply(writer, first.batch).value();
    }
    std::string problem;
    for (uint64_t round = 1; round <= 300 && problem.empty(); ++round) {
      channel.send_u64(round);  // progress, in case a lookup crashes
      View held = client.view();
      const size_t team_before = held.by_team("team-a").to_vector().size();
      OwnedBatch b;
      b.upsert(spec(round));
      writer_resolver.apply(writer, b.batch).value();
      const size_t team_after = held.by_team("team-a").to_vector().size();
      if (team_before != 1 || team_after != team_before)
        problem = "round " + std::to_string(round) + ": a View at generation " + std::to_string(held.generation()) +
                  " listed " + std::to_string(team_before) + " then " + std::to_string(team_after) + " versions of team-a";
      View fresh = client.view();
      const size_t team = fresh.by_team("team-a").to_vector().size();
      const size_t stage = fresh.by_stage(wire::LifecycleStage::Stable).to_vector().size();
      const size_t tag = fresh.by_tag("t").to_vector().size();
      if (problem.empty() && (team != 1 || stage != 1 || tag != 1))
        problem = "round " + std::to_string(round) + ": a fresh View lists the one version " + std::to_string(team) + "/" +
                  std::to_string(stage) + "/" + std::to_string(tag) + " times (team/stage/tag)";
      for (auto v : fresh.by_team("team-a"))
        if (problem.empty() && v.description() != "round " + padded(round))
          problem = "round " + std::to_string(round) + ": by_team lists a stale record";
    }
    channel.send_u64(0);
    channel.send_string(problem);
    writer.remove_segments();
    return 0;
  });
  uint64_t last_round = 0;
  std::optional<std::string> problem;
  for (;;) {
    auto round = child->channel().receive_u64(20s);
    if (!round) break;
    if (*round == 0) {
      problem = child->channel().receive_string(5s);
      break;
    }
    last_round = *round;
  }
  const auto status = child->wait(10s);
  ASSERT_TRUE(status);
  if (WIFSIGNALED(*status))
    ADD_FAILURE() << "the reader died of signal " << WTERMSIG(*status) << " in round " << last_round
                  << ": a secondary-index entry pointed at a freed (reused) record";
  ASSERT_TRUE(problem) << "the child reported nothing (last round " << last_round << ")";
  EXPECT_EQ(*problem, "");
}

}  // namespace
}  // namespace roster
