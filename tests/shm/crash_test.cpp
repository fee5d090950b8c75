// Crashes across processes: a reader killed while it holds a View, a writer killed in the middle
// of a batch, and a View held across a writer restart.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "roster/client.hpp"
#include "arena_test_support.hpp"

namespace roster {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::InstanceSpec;
using testing::OwnedBatch;
using testing::VersionSpec;

std::string svc(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "svc-%03d", i);
  return buf;
}

std::string round_text(uint64_t round) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "r%06llu", static_cast<unsigned long long>(round));
  return buf;
}

// `services` services, each with versions 1.0.0 and 1.2.0 (depending on the next service),
// three instances per version, and a contract; every record stamped with `round`.
OwnedBatch registry(int services, uint64_t round, const std::string& team = "team-a") {
  OwnedBatch b;
  b.batch.revision = round;
  for (int i = 0; i < services; ++i)
    for (const char* v : {"1.0.0", "1.2.0"}) {
      b.upsert(VersionSpec{svc(i), v, wire::LifecycleStage::Stable, team, "round " + round_text(round), {"tag-a"},
                           {{"round", round_text(round)}}, {{svc((i + 1) % services), "^1.0.0"}}});
      for (int k = 0; k < 3; ++k)
        b.upsert(InstanceSpec{svc(i), v, "i-" + std::to_string(k), "10.1." + std::to_string(i) + "." + std::to_string(k),
                              static_cast<uint16_t>(9000 + k), 100, k == 2 ? wire::Health::Down : wire::Health::Up, "z1",
                              {{"round", round_text(round)}}});
    }
  b.upsert(testing::ContractSpec{svc(0), "1.0.0", svc(1), "^1.0.0", "{}"});
  return b;
}

// Only the instances, stamped with `round` (same sizes: the live data keeps its shape).
OwnedBatch instances(int services, uint64_t round) {
  OwnedBatch b;
  for (int i = 0; i < services; ++i)
    for (const char* v : {"1.0.0", "1.2.0"})
      for (int k = 0; k < 3; ++k)
        b.upsert(InstanceSpec{svc(i), v, "i-" + std::to_string(k), "10.1." + std::to_string(i) + "." + std::to_string(k),
                              static_cast<uint16_t>(9000 + k), 100, k == 2 ? wire::Health::Down : wire::Health::Up, "z1",
                              {{"round", round_text(round)}}});
  return b;
}

std::vector<std::string> names(int services, std::vector<std::string> extra = {}) {
  for (int i = 0; i < services; ++i) extra.push_back(svc(i));
  return extra;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::remove_stale_test_arenas();
    options_.name = testing::unique_arena_name("crash");
    options_.segment_bytes = 16u << 20;
  }
  void TearDown() override {
    children_.clear();  // kills and reaps any child still running
    testing::remove_arena(options_.name);
    EXPECT_TRUE(testing::arena_files(options_.name).empty());
  }
  ChildProcess& spawn(const std::function<int(testing::Channel&)>& body) {
    children_.push_back(ChildProcess::spawn(body, /*lifetime_s=*/30));
    return *children_.back();
  }
  static void expect_killed(ChildProcess& child) {
    const auto status = child.wait(5s);
    ASSERT_TRUE(status) << "the child did not die";
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << "status " << *status;
  }

  shm::ArenaOptions options_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

// (a) A reader killed with SIGKILL while its View pins an old generation: the writer notices (its
// OFD lock died with it), releases its slot, and frees what the dead View pinned. A live reader
// holding a View just as long is not mistaken for a dead one.
TEST_F(CrashTest, KilledReaderReleasesItsSlotAndPinnedMemory) {
  constexpr int kServices = 20;
  auto writer_owner = shm::ArenaWriter::create(options_).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  writer_resolver.apply(writer, registry(kServices, 0).batch).value();
  writer.reclaim();
  const size_t free_at_start = writer.stats().heap_free_bytes;

  const std::string name = options_.name;
  auto pin_and_wait = [name](testing::Channel& channel) {
    Client client = Client::open(name).value();
    View view = client.view();
    channel.send_u64(view.generation());
    channel.receive_u64(60s);  // hold the View until killed (or told to go)
    return 0;
  };
  ChildProcess& victim = spawn(pin_and_wait);
  ChildProcess& survivor = spawn(pin_and_wait);
  const auto victim_generation = victim.channel().receive_u64();
  const auto survivor_generation = survivor.channel().receive_u64();
  ASSERT_TRUE(victim_generation && survivor_generation);
  EXPECT_EQ(*victim_generation, writer.generation());

  // Replace every instance a few times: all of it stays pinned by the two readers.
  uint64_t round = 1;
  for (; round <= 5; ++round) writer_resolver.apply(writer, instances(kServices, round).batch).value();
  EXPECT_EQ(writer.stats().pinned_views, 2u);
  EXPECT_GT(writer.stats().retired_pending, 0u);

  // Well past the 100 ms after which the writer checks a pin's liveness: both readers are alive.
  const size_t dead_before = writer.stats().dead_readers;
  const auto live_until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < live_until) {
    writer.reclaim();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(writer.stats().dead_readers, dead_before) << "a live reader was declared dead";
  EXPECT_EQ(writer.stats().pinned_views, 2u);
  const size_t pending_with_both = writer.stats().retired_pending;
  EXPECT_GT(pending_with_both, 0u);

  // The survivor lets go of its View normally; the victim is killed while holding its own.
  survivor.channel().send_u64(1);
  ASSERT_TRUE(survivor.wait(5s));
  victim.kill9();
  expect_killed(victim);

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline &&
         (writer.stats().dead_readers == dead_before || writer.stats().retired_pending != 0)) {
    writer_resolver.apply(writer, instances(kServices, round++).batch).value();
    writer.reclaim();
    std::this_thread::sleep_for(10ms);
  }
  const shm::ArenaStats stats = writer.stats();
  EXPECT_EQ(stats.dead_readers, dead_before + 1);
  EXPECT_EQ(stats.pinned_views, 0u);
  EXPECT_EQ(stats.retired_pending, 0u);
  EXPECT_EQ(stats.heap_free_bytes, free_at_start) << "same live data as at the start, so the same free space";

  // The dead reader's slot is usable again: with one slot left, new readers keep working.
  Client client = Client::open(options_.name).value();
  View view = client.view();
  EXPECT_EQ(testing::label(view.service(svc(3))->record().labels(), "round"), round_text(0));
  writer.remove_segments();
}

// Readers that die (with or without a View) do not use up the reader slots: a new reader
// takes over a dead one's slot.
TEST_F(CrashTest, SlotsOfKilledReadersAreReused) {
  options_.reader_slots = 2;
  auto writer_owner = shm::ArenaWriter::create(options_).value();
  shm::ArenaWriter& writer = *writer_owner;
  shm::BatchResolver writer_resolver;  // what the server would send with each batch
  writer_resolver.apply(writer, registry(2, 0).batch).value();
  const std::string name = options_.name;
  for (int round = 0; round < 3; ++round) {
    ChildProcess& a = spawn([name](testing::Channel& channel) {
      Client client = Client::open(name).value();
      View view = client.view();
      channel.send_u64(view.generation());
      channel.receive_u64(60s);
      return 0;
    });
    ChildProcess& b = spawn([name](testing::Channel& channel) {
      Client client = Client::open(name).value();
      { View view = client.view(); }  // claims a slot, holds no View
      channel.send_u64(1);
      channel.receive_u64(60s);
      return 0;
    });
    ASSERT_TRUE(a.channel().receive_u64());
    ASSERT_TRUE(b.channel().receive_u64());
    a.kill9();
    b.kill9();
    expect_killed(a);
    expect_killed(b);
    children_.clear();
  }
  // Both slots belong to dead processes; this reader must still get one.
  Client client = Client::open(options_.name).value();
  EXPECT_NO_THROW({
    View view = client.view();
    EXPECT_TRUE(view.service(svc(1)));
  });
  writer.remove_segments();
}

// (b) The writer is killed in the middle of a batch (its records written and linked, the
// generation not yet published). Readers, old and new, read the last published generation
// exactly. Then a new writer takes the name, and an already open Client re-attaches by itself.
TEST_F(CrashTest, KilledWriterMidBatchLeavesTheLastGenerationIntact) {
  constexpr int kServices = 30;
  const shm::ArenaOptions options = options_;
  ChildProcess& writer = spawn([options](testing::Channel& channel) {
    auto w_owner = shm::ArenaWriter::create(options).value();
    shm::ArenaWriter& w = *w_owner;
    shm::BatchResolver w_resolver;  // what the server would send with each batch
    for (uint64_t round = 1; round <= 3; ++round) w_resolver.apply(w, registry(kServices, round).batch).value();
    OwnedBatch extra = instances(kServices, 4);
    extra.remove_instance(svc(5), "1.0.0", "i-1");
    w_resolver.apply(w, extra.batch).value();
    channel.send_u64(w.generation());
    if (!channel.receive_u64(30s)) return 1;

    // A big batch touching everything: new versions of every service, new services, new teams
    // and tags (index arrays grow), removals, instance changes, a new contract.
    OwnedBatch big = registry(kServices, 99, "team-b");
    for (int i = 0; i < kServices; ++i)
      big.upsert(VersionSpec{svc(i), "9.0.0", wire::LifecycleStage::Stable, "team-new", "unpublished", {"tag-new"}, {}, {}});
    for (int i = 0; i < 200; ++i) {
      const std::string name = "new-" + std::to_string(i);
      big.upsert(VersionSpec{name, "1.0.0", wire::LifecycleStage::Beta, "team-new", "unpublished", {"tag-a", "tag-new"}, {},
                             {{svc(0), "*"}}});
      big.upsert(InstanceSpec{name, "1.0.0", "x", "10.9.9.9", 1, 100, wire::Health::Up, "", {}});
    }
    big.remove_version(svc(7), "1.0.0");  // (and none of its instances is upserted)
    auto& ups = big.batch.upsert_instances;
    ups.erase(std::remove_if(ups.begin(), ups.end(),
                             [](std::span<const uint8_t> bytes) {
                               auto* inst = flatbuffers::GetRoot<wire::Instance>(bytes.data());
                               return inst->service()->string_view() == svc(7) && inst->version()->string_view() == "1.0.0";
                             }),
              ups.end());
    big.upsert(testing::ContractSpec{svc(2), "1.2.0", svc(3), "*", "{}"});
    const auto resolutions = w_resolver.resolve(big.batch);
    w.apply_without_publishing(big.batch).value();
    channel.send_u64(2);  // the batch is in shm, unpublished
    std::this_thread::sleep_for(50ms);
    ::raise(SIGKILL);
    return 3;
  });

  const auto published = writer.channel().receive_u64();
  ASSERT_TRUE(published);
  ASSERT_EQ(*published, 5u);
  Client client = Client::open(options_.name).value();
  const std::vector<std::string> all_names = names(kServices, {"new-0", "new-199", "new-77"});
  const std::vector<std::string> teams{"team-a", "team-b", "team-new"}, tags{"tag-a", "tag-new"};
  View before = client.view();
  ASSERT_EQ(before.generation(), *published);
  const std::string expected = testing::dump_view(before, all_names, teams, tags);
  ASSERT_EQ(before.instances(svc(5), "1.0.0").size(), 2u);

  ASSERT_TRUE(writer.channel().send_u64(1));
  ASSERT_TRUE(writer.channel().receive_u64(10s)) << "the writer died before writing the batch";
  expect_killed(writer);

  // The open Client, a new View and a brand new Client all read generation 5 exactly.
  View after = client.view();
  EXPECT_EQ(after.generation(), *published);
  EXPECT_EQ(after.revision(), 0u);  // batch 4 carried no revision
  EXPECT_EQ(testing::first_difference(testing::dump_view(after, all_names, teams, tags), expected), "");
  EXPECT_EQ(testing::first_difference(testing::dump_view(before, all_names, teams, tags), expected), "");
  Client late = Client::open(options_.name).value();
  View late_view = late.view();
  EXPECT_EQ(late_view.generation(), *published);
  EXPECT_EQ(testing::first_difference(testing::dump_view(late_view, all_names, teams, tags), expected), "");
  EXPECT_FALSE(after.service("new-0"));
  EXPECT_FALSE(after.service(svc(1), "9.0.0"));
  EXPECT_TRUE(after.by_team("team-new").to_vector().empty());
  EXPECT_TRUE(after.by_tag("tag-new").to_vector().empty());
  EXPECT_EQ(after.by_tag("tag-a").to_vector().size(), static_cast<size_t>(kServices * 2));
  EXPECT_EQ(after.service(svc(7))->version(), "1.2.0");
  EXPECT_EQ(after.versions(svc(7)).size(), 2u);
  EXPECT_EQ(after.contracts(svc(3)).size(), 0u);
  EXPECT_EQ(after.contracts(svc(1)).size(), 1u);
  EXPECT_EQ(after.dependents(svc(0)).size(), 2u);  // svc-029's two versions, not the new-* ones
  EXPECT_EQ(client.generation(), *published);

  // A restarted agent: a new writer takes the name; the open Client re-attaches by itself.
  {
    auto restarted_owner = shm::ArenaWriter::create(options_).value();
    shm::ArenaWriter& restarted = *restarted_owner;
    shm::BatchResolver restarted_resolver;  // what the server would send with each batch
    restarted_resolver.apply(restarted, registry(3, 1000, "team-restarted").batch).value();
    View fresh = client.view();
    EXPECT_GT(fresh.generation(), *published);  // generations go on across agent restarts
    EXPECT_EQ(fresh.revision(), 1000u);
    EXPECT_EQ(fresh.by_team("team-restarted").to_vector().size(), 6u);
    EXPECT_FALSE(fresh.service(svc(10)));
    EXPECT_EQ(testing::label(fresh.service(svc(0))->record().labels(), "round"), round_text(1000));
    // Views of the old arena still read it.
    EXPECT_EQ(testing::first_difference(testing::dump_view(before, all_names, teams, tags), expected), "");
    EXPECT_EQ(testing::first_difference(testing::dump_view(after, all_names, teams, tags), expected), "");
    EXPECT_EQ(testing::arena_files(options_.name).size(), 2u) << "the killed writer's segments were replaced by name";
    restarted.remove_segments();
  }
}

// (c) A reader holds a View while its writer is killed and a new writer (another process)
// replaces the arena and churns through many batches: the View keeps reading its old
// generation, byte for byte; waiters on the old arena wake up; the Client then re-attaches.
TEST_F(CrashTest, ViewHeldAcrossAWriterRestartKeepsItsGeneration) {
  constexpr int kServices = 10;
  const shm::ArenaOptions options = options_;
  ChildProcess& first = spawn([options](testing::Channel& channel) {
    auto w_owner = shm::ArenaWriter::create(options).value();
    shm::ArenaWriter& w = *w_owner;
    shm::BatchResolver w_resolver;  // what the server would send with each batch
    w_resolver.apply(w, registry(kServices, 1).batch).value();
    channel.send_u64(w.generation());
    channel.receive_u64(60s);  // idle until killed
    return 0;
  });
  const auto first_generation = first.channel().receive_u64();
  ASSERT_TRUE(first_generation);

  Client client = Client::open(options_.name).value();
  const OwnedBatch original = registry(kServices, 1);  // the same bytes the first writer copied
  View held = client.view();
  ASSERT_EQ(held.generation(), *first_generation);
  const std::string expected = testing::dump_view(held, names(kServices), {"team-a"}, {"tag-a"});

  first.kill9();
  expect_killed(first);

  ChildProcess& second = spawn([options](testing::Channel& channel) {
    auto w_owner = shm::ArenaWriter::create(options).value();
    shm::ArenaWriter& w = *w_owner;
    shm::BatchResolver w_resolver;  // what the server would send with each batch
    w_resolver.apply(w, registry(kServices, 2, "team-second").batch).value();
    channel.send_u64(w.generation());
    if (!channel.receive_u64(30s)) return 1;
    for (uint64_t round = 3; round < 103; ++round) w_resolver.apply(w, instances(kServices, round).batch).value();
    channel.send_u64(w.generation());
    channel.receive_u64(60s);  // stay up until the test is done
    return 0;
  });
  const auto second_generation = second.channel().receive_u64();
  ASSERT_TRUE(second_generation);

  // A waiter on the old arena returns at once: it was replaced.
  const auto wait_start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_for_change(held.generation(), 2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - wait_start, 1000ms);

  ASSERT_TRUE(second.channel().send_u64(1));
  const auto churned = second.channel().receive_u64();
  ASSERT_TRUE(churned);

  EXPECT_EQ(held.generation(), *first_generation);
  EXPECT_FALSE(held.evicted());
  EXPECT_EQ(testing::first_difference(testing::dump_view(held, names(kServices), {"team-a"}, {"tag-a"}), expected), "");
  size_t compared = 0;
  for (size_t r = 0; r < original.batch.upsert_versions.size(); ++r) {
    auto* rec = flatbuffers::GetRoot<wire::ServiceVersion>(original.batch.upsert_versions[r].data());
    auto v = held.service(rec->name()->string_view(), rec->version()->string_view());
    ASSERT_TRUE(v);
    const std::vector<uint8_t> bytes(original.batch.upsert_versions[r].begin(), original.batch.upsert_versions[r].end());
    EXPECT_TRUE(testing::same_record_bytes(&v->record(), bytes)) << rec->name()->str() << "@" << rec->version()->str();
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<size_t>(kServices * 2));

  View fresh = client.view();
  EXPECT_EQ(fresh.generation(), *churned);
  EXPECT_EQ(fresh.by_team("team-second").to_vector().size(), static_cast<size_t>(kServices * 2));
  EXPECT_TRUE(fresh.by_team("team-a").to_vector().empty());
  EXPECT_EQ(testing::label(fresh.instances(svc(4)).begin().operator*().record().metadata(), "round"), round_text(102));
  // ... while the old View still reads the old arena.
  EXPECT_EQ(testing::first_difference(testing::dump_view(held, names(kServices), {"team-a"}, {"tag-a"}), expected), "");

  second.channel().send_u64(1);
  ASSERT_TRUE(second.wait(5s));
}

}  // namespace
}  // namespace roster
