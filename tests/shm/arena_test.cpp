// The arena through the writer and the C++ client in one process: every index, MVCC
// consistency of a View, reclamation, re-attach, and the errors of bad input.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <thread>

#include "roster/client.hpp"
#include "arena_test_support.hpp"

namespace roster {
namespace {

using testing::records;
using testing::version_json;

class ArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.name = testing::unique_arena_name("arena");
    options_.segment_bytes = 16u << 20;
    options_.reclaim_interval = std::chrono::microseconds(0);  // what a batch frees is checked after it
    writer_ = shm::ArenaWriter::create(options_).value();
  }
  void TearDown() override { writer_->remove_segments(); }

  uint64_t apply(const std::string& json, uint64_t revision = 0) { return resolver_.apply(*writer_, records(json).batch(revision)).value(); }

  shm::ArenaOptions options_;
  std::unique_ptr<shm::ArenaWriter> writer_;
  shm::BatchResolver resolver_;  // what the server would send with each batch
};

TEST_F(ArenaTest, LatestStableByPrecedence) {
  apply(R"({"services": [{"name": "user-service", "versions": [
      {"version": "1.10.0", "lifecycle_stage": "stable", "owner_team": "identity"},
      {"version": "1.9.0", "lifecycle_stage": "stable", "owner_team": "identity"},
      {"version": "2.0.0-rc.1", "lifecycle_stage": "beta", "owner_team": "identity"}]}]})",
        7);
  Client client = Client::open(options_.name).value();
  View view = client.view();
  auto svc = view.service("user-service");
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->version(), "1.10.0");
  EXPECT_EQ(svc->owner_team(), "identity");
  EXPECT_EQ(view.latest("user-service", Latest::IncludingPrereleases)->version(), "2.0.0-rc.1");
  EXPECT_EQ(view.service("user-service", "1.9.0")->version(), "1.9.0");
  EXPECT_FALSE(view.service("user-service", "3.0.0"));
  EXPECT_FALSE(view.service("nope"));
  auto all = view.versions("user-service");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].version(), "1.9.0");
  EXPECT_EQ(all[2].version(), "2.0.0-rc.1");
  EXPECT_EQ(view.revision(), 7u);
}

// A Snapshot without a store id (an old server's, or a cache file written before it had one)
// reaches set_store as an empty string_view whose data() is null: no store, and no UB (memcpy from
// null is undefined even for 0 bytes; found by fuzz/arena_apply, which UBSan stops on).
TEST_F(ArenaTest, AnEmptyStoreIdClearsTheStore) {
  ASSERT_TRUE(writer_->set_store("store-a"));
  apply(version_json("svc", "1.0.0"), 1);
  EXPECT_EQ(Client::open(options_.name).value().view().store(), "store-a");
  ASSERT_TRUE(writer_->set_store(std::string_view()));
  apply(version_json("svc", "1.0.1"), 2);
  EXPECT_EQ(Client::open(options_.name).value().view().store(), "");
}

TEST_F(ArenaTest, InstancesWithHealthyFilter) {
  apply(version_json("svc", "1.0.0", R"(, "instances": [
      {"id": "a", "address": "10.0.0.1", "port": 80, "health": "down"},
      {"id": "b", "address": "10.0.0.2", "port": 81},
      {"id": "c", "address": "10.0.0.3", "port": 82, "weight": 5}])"));
  Client client = Client::open(options_.name).value();
  View view = client.view();
  size_t all = 0, healthy = 0;
  for (auto inst : view.instances("svc")) {
    ++all;
    EXPECT_FALSE(inst.address().empty());
  }
  for (auto inst : view.instances("svc", Healthy)) {
    ++healthy;
    EXPECT_EQ(inst.health(), wire::Health::Up);
  }
  EXPECT_EQ(all, 3u);
  EXPECT_EQ(healthy, 2u);
  EXPECT_EQ(view.instances("svc", "1.0.0", Healthy).size(), 2u);
  EXPECT_EQ(view.instances("svc", "9.9.9").size(), 0u);
}

TEST_F(ArenaTest, AViewKeepsItsGeneration) {
  apply(version_json("svc", "1.0.0"));
  Client client = Client::open(options_.name).value();
  View before = client.view();
  apply(version_json("svc", "1.1.0"));
  View after = client.view();
  EXPECT_EQ(before.service("svc")->version(), "1.0.0");
  EXPECT_EQ(after.service("svc")->version(), "1.1.0");
  EXPECT_GT(after.generation(), before.generation());
}

// service(name) reads the latest record from the service's table slot when the slot's record is
// not newer than the View: an older View takes the node path and still answers for its own
// generation. An instance change does not touch the slot's record, so no View leaves the fast
// path for it; a service left without versions has none there.
TEST_F(ArenaTest, TheSlotsLatestRecordAnswersOnlyViewsNotOlderThanIt) {
  const std::string one = R"(, "instances": [{"id": "a", "address": "h", "port": 1}])";
  const std::string two = R"(, "instances": [{"id": "a", "address": "h", "port": 1}, {"id": "b", "address": "h", "port": 2}])";
  const uint64_t first = apply(version_json("svc", "1.0.0", one));
  Client client = Client::open(options_.name).value();
  View v1 = client.view();
  const auto at_first = testing::service_slot_in_file(options_.name, "svc");
  ASSERT_NE(at_first.latest, 0u);
  EXPECT_EQ(at_first.latest_since, first);
  EXPECT_EQ(shm::detail::unpack_latest(at_first.latest).bytes, v1.service("svc")->bytes().size());

  const uint64_t second = apply(version_json("svc", "1.1.0", one));
  View v2 = client.view();
  const auto at_second = testing::service_slot_in_file(options_.name, "svc");
  EXPECT_NE(at_second.latest, at_first.latest);
  EXPECT_EQ(at_second.latest_since, second);
  EXPECT_EQ(v1.service("svc")->version(), "1.0.0");  // the node path: the slot's record is newer
  EXPECT_EQ(v1.latest("svc", Latest::Stable)->version(), "1.0.0");
  EXPECT_EQ(v2.service("svc")->version(), "1.1.0");

  // An instance alone, as a delta carries it.
  auto add_instance = [&](const std::string& id) {
    const auto r = records(version_json("svc", "1.1.0", R"(, "instances": [{"id": ")" + id + R"(", "address": "h", "port": 3}])"));
    shm::Batch b;
    b.upsert_instances.push_back(r.doc.instances[0]);
    return resolver_.apply(*writer_, std::move(b)).value();
  };
  apply(version_json("svc", "1.1.0", two));  // the version's record written again
  add_instance("c");
  View v4 = client.view();
  const auto at_fourth = testing::service_slot_in_file(options_.name, "svc");
  EXPECT_EQ(v4.instances("svc", "1.1.0").size(), 3u);
  EXPECT_EQ(v4.service("svc")->version(), "1.1.0");
  EXPECT_EQ(v2.service("svc")->version(), "1.1.0");
  EXPECT_EQ(v1.service("svc")->version(), "1.0.0");
  EXPECT_GT(at_fourth.latest_since, second);  // the version's record was replaced

  const uint64_t since = at_fourth.latest_since;
  add_instance("d");
  EXPECT_EQ(testing::service_slot_in_file(options_.name, "svc").latest_since, since);  // an instance alone
  EXPECT_EQ(testing::service_slot_in_file(options_.name, "svc").latest, at_fourth.latest);

  shm::Batch remove;
  remove.remove_versions.push_back({"svc", "1.0.0"});
  remove.remove_versions.push_back({"svc", "1.1.0"});
  resolver_.apply(*writer_, std::move(remove)).value();
  View gone = client.view();
  EXPECT_EQ(testing::service_slot_in_file(options_.name, "svc").latest, 0u);
  EXPECT_FALSE(gone.service("svc"));
  EXPECT_EQ(v4.service("svc")->version(), "1.1.0");
  EXPECT_EQ(v1.service("svc")->version(), "1.0.0");
}

TEST_F(ArenaTest, SecondaryIndexesAndDependencies) {
  apply(R"({"services": [
    {"name": "gateway", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "edge",
       "tags": ["public"], "dependencies": [{"service": "users", "range": "^2.0.0"}]}]},
    {"name": "users", "versions": [
       {"version": "2.0.0", "lifecycle_stage": "sunset", "owner_team": "identity", "tags": ["public", "core"],
        "dependencies": [{"service": "auth", "range": "~1.4"}]},
       {"version": "2.1.0", "lifecycle_stage": "deprecated", "owner_team": "identity",
        "dependencies": [{"service": "auth", "range": ">=1.0.0"}, {"service": "billing", "range": "*"}]}]},
    {"name": "auth", "versions": [{"version": "1.4.2", "lifecycle_stage": "stable", "owner_team": "identity"}]}]})");
  Client client = Client::open(options_.name).value();
  View view = client.view();
  EXPECT_EQ(view.by_team("identity").to_vector().size(), 3u);
  EXPECT_EQ(view.by_tag("public").to_vector().size(), 2u);
  EXPECT_EQ(view.by_stage(wire::LifecycleStage::Deprecated).to_vector().size(), 1u);
  EXPECT_TRUE(view.by_team("nobody").to_vector().empty());

  auto deps = view.dependencies("gateway");
  ASSERT_EQ(deps.size(), 1u);
  ASSERT_TRUE(deps[0].resolved);
  EXPECT_EQ(deps[0].resolved->version(), "2.1.0");
  // gateway -> users@2.1.0 -> auth@1.4.2, and billing, which resolves to nothing.
  auto transitive = view.dependencies("gateway", "1.0.0", Transitive);
  ASSERT_EQ(transitive.size(), 3u);
  EXPECT_FALSE(transitive[2].resolved);
  EXPECT_EQ(transitive[2].service, "billing");

  auto direct = view.dependents("auth");
  ASSERT_EQ(direct.size(), 2u);  // users@2.0.0 and users@2.1.0
  EXPECT_EQ(direct[0].name(), "users");
  EXPECT_EQ(view.dependents("auth", Transitive).size(), 3u);  // and gateway@1.0.0

  // A new matching version re-resolves the dependents.
  apply(version_json("users", "2.2.0"));
  View newer = client.view();
  EXPECT_EQ(newer.dependencies("gateway")[0].resolved->version(), "2.2.0");
  EXPECT_EQ(view.dependencies("gateway")[0].resolved->version(), "2.1.0");  // the old View is unchanged
}

// A batch's index entries are appended at its end: a version upserted twice in one batch is
// listed once (with its last record), one upserted and removed in the same batch not at all, in
// a fresh arena's first batch (no undo log) as in a later one.
TEST_F(ArenaTest, AVersionReplacedOrRemovedInItsOwnBatchIsIndexedAsItEnds) {
  std::optional<Client> client;  // opened once the first batch gave the arena its name
  for (int round = 0; round < 2; ++round) {
    const std::string suffix = std::to_string(round);
    testing::OwnedBatch b;
    b.upsert(testing::VersionSpec{"svc" + suffix, "1.0.0", wire::LifecycleStage::Beta, "first", "", {"t"}, {}, {}});
    b.upsert(testing::VersionSpec{"svc" + suffix, "1.0.0", wire::LifecycleStage::Stable, "second", "", {"t", "u"}, {}, {}});
    b.upsert(testing::VersionSpec{"gone" + suffix, "1.0.0", wire::LifecycleStage::Stable, "second", "", {"t"}, {}, {}});
    b.remove_version("gone" + suffix, "1.0.0");
    resolver_.apply(*writer_, b.batch).value();
    if (!client) client.emplace(Client::open(options_.name).value());
    View view = client->view();
    EXPECT_TRUE(view.by_team("first").to_vector().empty()) << round;
    EXPECT_TRUE(view.by_stage(wire::LifecycleStage::Beta).to_vector().empty()) << round;
    EXPECT_EQ(view.by_team("second").to_vector().size(), round + 1u);
    EXPECT_EQ(view.by_stage(wire::LifecycleStage::Stable).to_vector().size(), round + 1u);
    EXPECT_EQ(view.by_tag("t").to_vector().size(), round + 1u);
    EXPECT_EQ(view.by_tag("u").to_vector().size(), round + 1u);
    EXPECT_FALSE(view.service("gone" + suffix)) << round;
    for (auto v : view.by_team("second")) EXPECT_EQ(v.stage(), wire::LifecycleStage::Stable);
  }
}

TEST_F(ArenaTest, RemovalsAndReclamation) {
  apply(version_json("svc", "1.0.0", R"(, "instances": [{"id": "a", "address": "h", "port": 1}])"));
  shm::Batch remove;
  remove.remove_versions.push_back({"svc", "1.0.0"});
  Client client = Client::open(options_.name).value();
  {
    View pinned = client.view();
    resolver_.apply(*writer_, remove).value();
    EXPECT_GT(writer_->stats().retired_pending, 0u);  // the View still reaches the old records
    EXPECT_TRUE(pinned.service("svc"));
    EXPECT_FALSE(client.view().service("svc"));
  }
  writer_->reclaim();
  EXPECT_EQ(writer_->stats().retired_pending, 0u);
}

// service_names() lists what a View sees (not a service whose last version went); changed_since()
// names the services whose snapshot is newer than a generation: a new version, an instance, a
// removal, a dependent whose dependency now resolves elsewhere. An older View keeps its own answer.
TEST_F(ArenaTest, ServiceNamesAndWhatChangedSinceAGeneration) {
  using Names = std::vector<std::string_view>;
  apply(R"({"services": [
      {"name": "users", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "a",
                                      "dependencies": [{"service": "db", "range": "^2"}]}]},
      {"name": "db", "versions": [{"version": "2.0.0", "lifecycle_stage": "stable", "owner_team": "b"}]},
      {"name": "billing", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "c"}]}]})");
  Client client = Client::open(options_.name).value();
  View first = client.view();
  const uint64_t g1 = first.generation();
  EXPECT_EQ(first.service_names(), (Names{"billing", "db", "users"}));
  EXPECT_EQ(first.changed_since(g1), Names{});
  EXPECT_EQ(first.changed_since(g1 + 5), Names{});  // not older than the View: nothing
  EXPECT_EQ(first.changed_since(0), (Names{"billing", "db", "users"}));

  // A new version of db: db changed, and users, whose dependency now resolves to it.
  apply(version_json("db", "2.1.0"));
  const uint64_t g2 = client.generation();
  // An instance of billing: billing alone.
  apply(version_json("billing", "1.0.0", R"(, "instances": [{"id": "a", "address": "h", "port": 1}])"));
  {
    View view = client.view();
    EXPECT_EQ(view.changed_since(g1), (Names{"billing", "db", "users"}));
    EXPECT_EQ(view.changed_since(g2), Names{"billing"});
  }
  // A new service, and billing's last version removed: both changed; billing is no longer listed.
  const uint64_t g3 = client.generation();
  apply(version_json("audit", "0.1.0"));
  shm::Batch remove;
  remove.remove_versions.push_back({"billing", "1.0.0"});
  resolver_.apply(*writer_, remove).value();
  View now = client.view();
  EXPECT_EQ(now.service_names(), (Names{"audit", "db", "users"}));
  EXPECT_EQ(now.changed_since(g3), (Names{"audit", "billing"}));
  EXPECT_FALSE(now.service("billing"));
  EXPECT_FALSE(now.corrupt());
  // The View opened first still sees its own generation.
  EXPECT_EQ(first.service_names(), (Names{"billing", "db", "users"}));
  EXPECT_EQ(first.changed_since(g1), Names{});
}

// A burst publishes every batch at once (each its own generation), and leaves the wake-up of
// waiting readers and the reclamation to its end.
TEST_F(ArenaTest, ABurstPublishesEachBatchAndWakesAndReclaimsAtItsEnd) {
  apply(version_json("svc", "1.0.0"));
  Client client = Client::open(options_.name).value();
  const uint64_t before = client.generation();
  std::atomic<bool> woken{false};
  std::thread waiter([&] { woken = client.wait_for_change(before, std::chrono::seconds(10)); });
  writer_->begin_burst();
  apply(version_json("svc", "1.1.0"));
  EXPECT_EQ(client.view().service("svc")->version(), "1.1.0");
  apply(version_json("svc", "1.2.0"));
  {
    View view = client.view();
    EXPECT_EQ(view.service("svc")->version(), "1.2.0");
    EXPECT_EQ(view.generation(), before + 2);
  }
  EXPECT_GT(writer_->stats().retired_pending, 0u);  // nothing reclaimed inside the burst
  writer_->end_burst();
  waiter.join();
  EXPECT_TRUE(woken);
  EXPECT_EQ(writer_->stats().retired_pending, 0u);  // no View is open: all of it freed at the end
  writer_->end_burst();                             // a second end is a no-op
  EXPECT_EQ(client.generation(), before + 2);
}

TEST_F(ArenaTest, InstanceOfUnknownVersionIsRefusedWholeBatch) {
  apply(version_json("svc", "1.0.0"));
  auto bad = records(R"({"services": [{"name": "other", "versions": [{"version": "1.0.0",
      "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  auto orphan = records(R"({"name": "svc", "version": "9.0.0", "lifecycle_stage": "stable", "owner_team": "t",
      "instances": [{"id": "i", "address": "h", "port": 1}]})");
  shm::Batch batch = bad.batch();
  batch.upsert_instances.push_back(orphan.doc.instances[0]);
  const uint64_t before = writer_->generation();
  auto refused = resolver_.apply(*writer_, batch);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
  EXPECT_EQ(refused.error().code, "unknown_version");
  EXPECT_EQ(writer_->generation(), before);
  Client client = Client::open(options_.name).value();
  EXPECT_FALSE(client.view().service("other"));
}

// FlatBuffers verification does not check enum values: a verified record may carry a stage past
// Retired. The writer indexed its stage lists with it and wrote outside them (roster-agent crashed on
// such a Delta; found by fuzz/arena_apply). Refused like an invalid version now: nothing changes.
TEST_F(ArenaTest, AnUnknownStageIsRefusedWholeBatch) {
  apply(version_json("svc", "1.0.0"));
  testing::VersionSpec spec;
  spec.name = "other";
  spec.version = "1.0.0";
  spec.stage = static_cast<wire::LifecycleStage>(200);
  auto bad = testing::version_record(spec);
  shm::Batch batch;
  batch.upsert_versions.push_back(bad);
  const uint64_t before = writer_->generation();
  auto refused = resolver_.apply(*writer_, batch);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
  EXPECT_EQ(refused.error().code, "invalid_stage");
  EXPECT_EQ(writer_->generation(), before);
  Client client = Client::open(options_.name).value();
  EXPECT_FALSE(client.view().service("other"));
  EXPECT_TRUE(client.view().service("svc"));
  apply(version_json("svc", "1.0.1"));  // the writer goes on
}

// A ServiceResolution as the server encodes one: each version with what its dependencies resolve
// to ("": none), in order; `latest` indexes the list.
std::vector<uint8_t> encode_resolution(const std::string& name,
                                       const std::vector<std::pair<std::string, std::vector<std::string>>>& versions,
                                       uint32_t latest = 0) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::ResolvedVersion>> list;
  for (auto& [version, resolved] : versions) {
    std::vector<flatbuffers::Offset<flatbuffers::String>> targets;
    for (auto& t : resolved) targets.push_back(fbb.CreateString(t));
    list.push_back(wire::CreateResolvedVersionDirect(fbb, version.c_str(), false, &targets));
  }
  fbb.Finish(wire::CreateServiceResolutionDirect(fbb, name.c_str(), &list, latest, latest));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

// Resolutions come from the server, across a trust boundary: one that does not match what the
// batch leaves (a version missing, listed twice or unknown, a dependency resolved to a version
// that is not registered, a count of resolved dependencies that is not the record's, a latest
// index past the list, a service resolved twice, none for a service whose versions change) is
// refused with a clear error, and changes nothing.
TEST_F(ArenaTest, ResolutionsThatDoNotMatchTheBatchAreRefusedWholeBatch) {
  apply(R"({"services": [
    {"name": "web", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t",
       "dependencies": [{"service": "api", "range": "^1.0.0"}]}]},
    {"name": "api", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}]})");
  const auto next = records(version_json("api", "1.1.0"));
  struct Case {
    std::string what, code;
    std::vector<std::vector<uint8_t>> resolutions;
  };
  const std::vector<Case> cases = {
      {"none for a service whose versions change", "missing_resolution", {}},
      {"a version missing", "invalid_resolution", {encode_resolution("api", {{"1.1.0", {}}})}},
      {"a version listed twice", "invalid_resolution",
       {encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}, {"1.1.0", {}}})}},
      {"an unknown version", "invalid_resolution", {encode_resolution("api", {{"1.0.0", {}}, {"1.2.0", {}}})}},
      {"a latest index past the list", "invalid_resolution", {encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}}, 2)}},
      {"a service resolved twice", "invalid_resolution",
       {encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}}), encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}})}},
      {"a dependency resolved to a version that is not registered", "invalid_resolution",
       {encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}}), encode_resolution("web", {{"1.0.0", {"9.0.0"}}})}},
      {"more resolved dependencies than the record declares", "invalid_resolution",
       {encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}}), encode_resolution("web", {{"1.0.0", {"1.1.0", ""}}})}},
  };
  Client client = Client::open(options_.name).value();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    shm::Batch batch = next.batch();
    for (auto& r : c.resolutions) batch.resolutions.emplace_back(r.data(), r.size());
    const uint64_t before = writer_->generation();
    auto refused = writer_->apply(batch);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
    EXPECT_EQ(refused.error().code, c.code) << refused.error().message;
    EXPECT_EQ(writer_->generation(), before);
    View view = client.view();
    EXPECT_EQ(view.service("api")->version(), "1.0.0");
    EXPECT_EQ(view.dependencies("web")[0].resolved->version(), "1.0.0");
  }
  // The server's own resolutions apply: web now resolves to api@1.1.0.
  shm::Batch good = next.batch();
  const auto api = encode_resolution("api", {{"1.0.0", {}}, {"1.1.0", {}}}, 1);
  const auto web = encode_resolution("web", {{"1.0.0", {"1.1.0"}}});
  good.resolutions = {api, web};
  writer_->apply(good).value();
  View view = client.view();
  EXPECT_EQ(view.service("api")->version(), "1.1.0");
  EXPECT_EQ(view.dependencies("web")[0].resolved->version(), "1.1.0");
}

TEST_F(ArenaTest, ReplacedArenaIsReattached) {
  apply(version_json("svc", "1.0.0"));
  Client client = Client::open(options_.name).value();
  EXPECT_EQ(client.view().service("svc")->version(), "1.0.0");
  auto second_owner = shm::ArenaWriter::create(options_).value();
  shm::ArenaWriter& second = *second_owner;  // a restarted agent
  shm::BatchResolver second_resolver;  // what the server would send with each batch
  second_resolver.apply(second, records(version_json("svc", "2.0.0")).batch()).value();
  EXPECT_EQ(client.view().service("svc")->version(), "2.0.0");
}

TEST_F(ArenaTest, AWriterTakesTheNameOnlyWithItsFirstBatch) {
  apply(version_json("svc", "1.0.0"));
  Client client = Client::open(options_.name).value();
  auto segments = [&] {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator("/dev/shm"))
      n += e.path().filename().string().find(options_.name) != std::string::npos;
    return n;
  };
  {
    // A restarted agent that gets no data (its upstream is down, it has no cache) must not
    // replace the last registry readers have with an empty one.
    auto idle = shm::ArenaWriter::create(options_).value();
    EXPECT_EQ(client.view().service("svc")->version(), "1.0.0");
    EXPECT_EQ(Client::open(options_.name).value().view().service("svc")->version(), "1.0.0");
  }
  EXPECT_EQ(segments(), 2u);  // its temporary segments went with it
  // One that publishes takes over, and open clients follow it.
  auto next_owner = shm::ArenaWriter::create(options_).value();
  shm::ArenaWriter& next = *next_owner;
  shm::BatchResolver next_resolver;  // what the server would send with each batch
  next_resolver.apply(next, records(version_json("svc", "2.0.0")).batch()).value();
  EXPECT_EQ(client.view().service("svc")->version(), "2.0.0");
  EXPECT_EQ(segments(), 2u);
}

TEST_F(ArenaTest, OpenErrors) {
  auto missing = Client::open("no-such-arena");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.error().code, "no_arena");
  EXPECT_NE(missing.error().message.find("no roster arena named"), std::string::npos);
}

}  // namespace
}  // namespace roster
