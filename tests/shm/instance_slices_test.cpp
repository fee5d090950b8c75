// Instances held in slices (layout.hpp's SliceRef): random adds, removals and health changes on
// versions that grow past a slice, and past the inline limit, and shrink back, checked after every
// batch against a model through every instance query, with older Views still answering for their
// own generation; and the memory of a removed version's slices comes back.
#include <gtest/gtest.h>

#include "arena_test_support.hpp"
#include "roster/client.hpp"

namespace roster {
namespace {

using testing::InstanceSpec;
using testing::OwnedBatch;
using testing::VersionSpec;

// The model: service -> version -> id -> (port, healthy).
using Model = std::map<std::string, std::map<std::string, std::map<std::string, std::pair<uint16_t, bool>>>>;

using Seen = std::multiset<std::pair<std::string, uint16_t>>;  // (id, port)

Seen expected(const Model& model, const std::string& service, const std::string* version, bool healthy_only) {
  Seen out;
  auto s = model.find(service);
  if (s == model.end()) return out;
  for (const auto& [v, instances] : s->second)
    if (!version || v == *version)
      for (const auto& [id, state] : instances)
        if (!healthy_only || state.second) out.insert({id, state.first});
  return out;
}

// What `list` holds; a healthy-only list must hold only healthy instances.
Seen seen(const Instances& list, bool healthy_only) {
  Seen out;
  for (auto inst : list) {
    if (healthy_only) EXPECT_EQ(inst.health(), wire::Health::Up) << inst.id();
    out.insert({std::string(inst.id()), inst.port()});
  }
  return out;
}

void expect_view_matches(const View& view, const Model& model, const std::string& where) {
  for (const auto& [service, versions] : model) {
    for (bool healthy : {false, true}) {
      const Filter filter = healthy ? Healthy : Filter::All;
      EXPECT_EQ(seen(view.instances(service, filter), healthy), expected(model, service, nullptr, healthy))
          << where << " " << service << (healthy ? " healthy" : " all");
      for (const auto& [version, instances] : versions) {
        EXPECT_EQ(seen(view.instances(service, version, filter), healthy), expected(model, service, &version, healthy))
            << where << " " << service << "@" << version << (healthy ? " healthy" : " all");
        // One version's healthy instances are a prefix of its list.
        bool down_seen = false;
        for (auto inst : view.instances(service, version)) {
          const bool up = inst.health() == wire::Health::Up;
          EXPECT_FALSE(up && down_seen) << where << " " << service << "@" << version << ": healthy after unhealthy";
          down_seen |= !up;
        }
      }
    }
  }
}

class InstanceSlicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.name = testing::unique_arena_name("slices");
    options_.segment_bytes = 64u << 20;
    writer_ = shm::ArenaWriter::create(options_).value();
  }
  void TearDown() override { writer_->remove_segments(); }

  void apply(OwnedBatch& b) { ASSERT_TRUE(resolver_.apply(*writer_, b.batch)) << "batch refused"; }

  shm::ArenaOptions options_;
  std::unique_ptr<shm::ArenaWriter> writer_;
  shm::BatchResolver resolver_;  // what the server would send with each batch
};

TEST_F(InstanceSlicesTest, RandomChangesAcrossSlicesMatchTheModelInEveryViewAndGeneration) {
  Model model;
  {
    OwnedBatch b;
    for (const char* service : {"big", "small"})
      for (const char* version : {"1.0.0", "2.0.0"}) {
        b.upsert(VersionSpec{service, version});
        model[service][version];
      }
    apply(b);
  }
  std::mt19937 rng(20261203);
  Client client = Client::open(options_.name).value();
  std::deque<std::pair<View, Model>> older;  // Views kept open across later batches, with what they must show
  int next_id = 0;
  for (int round = 0; round < 120; ++round) {
    OwnedBatch b;
    // "big" grows to a few hundred instances a version (several slices each), then shrinks to a
    // handful (back inside its node); "small" stays under the inline limit throughout.
    const bool growing = round < 60;
    for (const std::string service : {"big", "small"}) {
      const int changes = service == "big" ? 1 + static_cast<int>(rng() % 60) : 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < changes; ++c) {
        const std::string version = rng() % 2 ? "1.0.0" : "2.0.0";
        auto& instances = model[service][version];
        const size_t cap = service == "big" ? (growing ? 400 : 8) : 20;
        const int op = static_cast<int>(rng() % 10);
        if (!instances.empty() && (instances.size() > cap || op < (growing ? 2 : 4))) {
          auto it = std::next(instances.begin(), static_cast<long>(rng() % instances.size()));
          b.remove_instance(service, version, it->first);
          instances.erase(it);
        } else if (!instances.empty() && op < (growing ? 4 : 7)) {
          auto it = std::next(instances.begin(), static_cast<long>(rng() % instances.size()));
          it->second = {static_cast<uint16_t>(1 + rng() % 60000), rng() % 3 != 0};
          b.upsert(InstanceSpec{service, version, it->first, "10.0.0.1", it->second.first, 100,
                                it->second.second ? wire::Health::Up : wire::Health::Down});
        } else if (instances.size() < cap) {
          const std::string id = "i" + std::to_string(next_id++);
          const std::pair<uint16_t, bool> state{static_cast<uint16_t>(1 + rng() % 60000), rng() % 4 != 0};
          b.upsert(InstanceSpec{service, version, id, "10.0.0.1", state.first, 100,
                                state.second ? wire::Health::Up : wire::Health::Down});
          instances[id] = state;
        }
      }
    }
    // (An id is never removed and then written again in one batch: the writer applies a batch's
    // upserts before its removals, and the model never reuses an id.)
    apply(b);
    if (round == 59)  // the test reaches what it is about: several slices of their own per version
      for (const auto& [version, instances] : model["big"]) ASSERT_GT(instances.size(), 3 * shm::detail::kSliceCapacity);
    if (round == 119)
      for (const auto& [version, instances] : model["big"]) ASSERT_LE(instances.size(), 8u);
    View view = client.view();
    expect_view_matches(view, model, "round " + std::to_string(round));
    older.emplace_back(std::move(view), model);
    if (older.size() > 6) older.pop_front();
    for (auto& [old_view, old_model] : older) expect_view_matches(old_view, old_model, "older view at round " + std::to_string(round));
    if (HasFailure()) return;
  }
}

TEST_F(InstanceSlicesTest, AVersionRemovedWithManySlicesGivesItsMemoryBack) {
  auto fill = [&] {
    OwnedBatch b;
    b.upsert(VersionSpec{"svc", "1.0.0"});
    for (int i = 0; i < 1000; ++i)
      b.upsert(InstanceSpec{"svc", "1.0.0", "id-" + std::to_string(i), "10.0.0.1", 80, 100,
                            i % 3 ? wire::Health::Up : wire::Health::Down});
    apply(b);
  };
  fill();
  {
    OwnedBatch b;
    b.upsert(VersionSpec{"other", "1.0.0"});  // the arena keeps a service besides the one removed
    apply(b);
  }
  Client client = Client::open(options_.name).value();
  EXPECT_EQ(client.view().instances("svc").size(), 1000u);
  EXPECT_EQ(client.view().instances("svc", Healthy).size(), 666u);
  {
    OwnedBatch b;
    b.remove_version("svc", "1.0.0");
    apply(b);
  }
  writer_->reclaim();
  const size_t free_after_first = writer_->stats().heap_free_bytes;
  // The same again: if the first round's slices had leaked, the free space would shrink by them.
  fill();
  {
    OwnedBatch b;
    b.remove_version("svc", "1.0.0");
    apply(b);
  }
  writer_->reclaim();
  EXPECT_EQ(client.view().instances("svc").size(), 0u);
  EXPECT_GE(writer_->stats().heap_free_bytes + 4096, free_after_first);
}

}  // namespace
}  // namespace roster
