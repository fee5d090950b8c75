// A federated arena through the writer and the C++ client in one process: several registries in
// one arena, plain names served by the registry that has them first (or by a service's own rule),
// lookups in a given registry, dependencies within a registry, a registry's whole state replacing
// what the arena held of it, and each registry's revision, store and staleness.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "arena_test_support.hpp"
#include "roster/base/clock.hpp"
#include "roster/client.hpp"
#include "roster/shm/batch_resolver.hpp"

namespace roster {
namespace {

using testing::records;
using testing::version_json;

std::string team(const ServiceVersion& v) { return std::string(v.owner_team()); }

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override { open({}); }
  void TearDown() override { writer_->remove_segments(); }

  void open(std::map<std::string, std::string> preferred) {
    if (writer_) writer_->remove_segments();
    options_.name = testing::unique_arena_name("federation");
    options_.segment_bytes = 16u << 20;
    options_.registries = {"local", "eu", "us"};
    options_.preferred = std::move(preferred);
    writer_ = shm::ArenaWriter::create(options_).value();
    resolvers_ = std::vector<shm::BatchResolver>(3);
  }

  // `json`'s records as a change to `registry` (each registry's server resolves its own graph).
  uint64_t apply(uint32_t registry, const std::string& json, uint64_t revision = 0) {
    const auto decoded = records(json);  // the batch's spans point into it
    shm::Batch batch = decoded.batch(revision);
    batch.registry = registry;
    auto done = resolvers_[registry].apply(*writer_, std::move(batch));
    EXPECT_TRUE(done) << done.error().message;
    return done.value_or(0);
  }
  uint64_t remove(uint32_t registry, const std::string& service, const std::string& version) {
    shm::Batch batch;
    batch.registry = registry;
    batch.remove_versions.push_back({service, version});
    return resolvers_[registry].apply(*writer_, std::move(batch)).value();
  }
  // One service of a registry document, with one version.
  static std::string with_team(const std::string& name, const std::string& version, const std::string& owner,
                               const std::string& extra = "") {
    return R"({"name": ")" + name + R"(", "versions": [{"version": ")" + version +
           R"(", "lifecycle_stage": "stable", "owner_team": ")" + owner + "\"" + extra + "}]}";
  }

  // users in every registry, billing in eu only, search in eu and us.
  void overlapping() {
    apply(0, R"({"services": [)" + with_team("users", "1.0.0", "local-team") + "]}", 10);
    apply(1, R"({"services": [)" + with_team("users", "2.0.0", "eu-team") + "," + with_team("billing", "1.0.0", "eu-team") +
                 "," + with_team("search", "1.0.0", "eu-team") + "]}",
          20);
    apply(2, R"({"services": [)" + with_team("users", "3.0.0", "us-team") + "," + with_team("search", "5.0.0", "us-team") + "]}",
          30);
  }

  shm::ArenaOptions options_;
  std::unique_ptr<shm::ArenaWriter> writer_;
  std::vector<shm::BatchResolver> resolvers_;
};

TEST_F(FederationTest, APlainNameIsServedByTheFirstRegistryThatHasIt) {
  overlapping();
  Client client = Client::open(options_.name).value();
  View view = client.view();
  EXPECT_EQ(team(*view.service("users")), "local-team");
  EXPECT_EQ(view.service("users")->registry(), "local");
  EXPECT_EQ(team(*view.service("billing")), "eu-team");
  EXPECT_EQ(view.service("billing")->registry(), "eu");
  EXPECT_EQ(view.service("search")->version(), "1.0.0");
  EXPECT_EQ(view.service("search")->registry(), "eu");
  EXPECT_FALSE(view.service("nothing"));

  EXPECT_EQ(view.where("users"), (std::vector<std::string_view>{"local", "eu", "us"}));
  EXPECT_EQ(view.where("search"), (std::vector<std::string_view>{"eu", "us"}));
  EXPECT_TRUE(view.where("nothing").empty());

  EXPECT_EQ(view.in("us").service("search")->version(), "5.0.0");
  EXPECT_EQ(view.in("us").service("search")->registry(), "us");
  EXPECT_EQ(view.in("eu").service("users")->version(), "2.0.0");
  EXPECT_EQ(view.in("us").service("users", "3.0.0")->registry(), "us");
  EXPECT_FALSE(view.in("us").service("billing"));
  EXPECT_FALSE(view.in("asia").service("users"));  // not a registry of this arena
  EXPECT_EQ(view.in("eu").versions("users").size(), 1u);
  EXPECT_EQ(view.versions("users").front().version(), "1.0.0");

  // Each name once, whatever registries have it.
  EXPECT_EQ(view.service_names(), (std::vector<std::string_view>{"billing", "search", "users"}));
  // The secondary indexes span every registry, each version saying where it came from.
  std::vector<std::string> eu_team;
  for (auto v : view.by_team("eu-team")) eu_team.push_back(std::string(v.name()) + "@" + std::string(v.registry()));
  std::sort(eu_team.begin(), eu_team.end());
  EXPECT_EQ(eu_team, (std::vector<std::string>{"billing@eu", "search@eu", "users@eu"}));
  EXPECT_FALSE(view.corrupt());
}

TEST_F(FederationTest, ANameMovesToTheNextRegistryWhenItsServerDropsItAndAnOlderViewKeepsItsOwn) {
  overlapping();
  Client client = Client::open(options_.name).value();
  View before = client.view();
  remove(0, "users", "1.0.0");
  View after = client.view();
  EXPECT_EQ(before.service("users")->registry(), "local");
  EXPECT_EQ(after.service("users")->registry(), "eu");
  EXPECT_EQ(after.where("users"), (std::vector<std::string_view>{"eu", "us"}));
  // And back: a registry earlier in the order takes a name over as soon as it has it.
  apply(0, R"({"services": [)" + with_team("users", "1.1.0", "local-team") + "]}");
  EXPECT_EQ(client.view().service("users")->version(), "1.1.0");
  EXPECT_EQ(after.service("users")->registry(), "eu");
  // Gone from every registry: gone.
  remove(0, "users", "1.1.0");
  remove(1, "users", "2.0.0");
  remove(2, "users", "3.0.0");
  View none = client.view();
  EXPECT_FALSE(none.service("users"));
  EXPECT_TRUE(none.where("users").empty());
  EXPECT_EQ(none.service_names(), (std::vector<std::string_view>{"billing", "search"}));
}

TEST_F(FederationTest, AServicesOwnRuleComesBeforeTheOrderWhileItsRegistryHasIt) {
  open({{"search", "us"}});
  overlapping();
  Client client = Client::open(options_.name).value();
  EXPECT_EQ(client.view().service("search")->registry(), "us");
  EXPECT_EQ(client.view().service("users")->registry(), "local");
  remove(2, "search", "5.0.0");
  EXPECT_EQ(client.view().service("search")->registry(), "eu");
}

TEST_F(FederationTest, DependenciesResolveWithinTheirOwnRegistry) {
  overlapping();
  const std::string deps = R"(, "dependencies": [{"service": "users", "range": ">=1.0.0"}])";
  apply(0, R"({"services": [)" + with_team("gateway", "1.0.0", "local-team", deps) + "]}");
  apply(1, R"({"services": [)" + with_team("checkout", "1.0.0", "eu-team", deps) + "]}");
  Client client = Client::open(options_.name).value();
  View view = client.view();
  auto gateway = view.dependencies("gateway");
  ASSERT_EQ(gateway.size(), 1u);
  ASSERT_TRUE(gateway[0].resolved);
  EXPECT_EQ(gateway[0].resolved->version(), "1.0.0");
  EXPECT_EQ(gateway[0].resolved->registry(), "local");
  auto checkout = view.dependencies("checkout");  // served by eu: its users is eu's
  ASSERT_EQ(checkout.size(), 1u);
  ASSERT_TRUE(checkout[0].resolved);
  EXPECT_EQ(checkout[0].resolved->version(), "2.0.0");
  EXPECT_EQ(checkout[0].resolved->registry(), "eu");

  auto names = [](const std::vector<ServiceVersion>& list) {
    std::vector<std::string> out;
    for (auto& v : list) out.push_back(std::string(v.name()) + "@" + std::string(v.registry()));
    return out;
  };
  EXPECT_EQ(names(view.dependents("users")), (std::vector<std::string>{"gateway@local"}));
  EXPECT_EQ(names(view.in("eu").dependents("users")), (std::vector<std::string>{"checkout@eu"}));
  EXPECT_TRUE(view.in("us").dependents("users").empty());
  EXPECT_EQ(view.in("eu").dependencies("checkout").size(), 1u);
}

TEST_F(FederationTest, ARegistrysWholeStateReplacesWhatTheArenaHeldOfItInOneGeneration) {
  overlapping();
  apply(1, R"({"services": [)" +
               with_team("payments", "1.0.0", "eu-team", R"(, "instances": [{"id": "p1", "address": "10.0.0.1", "port": 80}])") +
               "]}");
  Client client = Client::open(options_.name).value();
  View before = client.view();
  // eu's server now has users 2.1.0 and search only: billing, payments (with its instance) and
  // users 2.0.0 go; the other registries stay as they were.
  shm::BatchResolver fresh;  // a snapshot resolves the whole state
  auto snapshot = records(R"({"services": [)" + with_team("users", "2.1.0", "eu-team") + "," +
                          with_team("search", "1.0.0", "eu-team") + "]}");
  shm::Batch batch = snapshot.batch(99);
  batch.registry = 1;
  batch.replaces_registry = true;
  auto owned = fresh.resolve(batch);
  const uint64_t generation = writer_->apply(batch).value();
  EXPECT_EQ(generation, before.generation() + 1);
  View after = client.view();
  EXPECT_FALSE(after.service("billing"));
  EXPECT_FALSE(after.service("payments"));
  EXPECT_TRUE(after.instances("payments").empty());
  EXPECT_EQ(after.in("eu").versions("users").size(), 1u);
  EXPECT_EQ(after.in("eu").service("users")->version(), "2.1.0");
  EXPECT_EQ(after.service("users")->registry(), "local");
  EXPECT_EQ(after.in("us").service("search")->version(), "5.0.0");
  EXPECT_EQ(after.registries()[1].revision, 99u);
  // The View opened before still sees all of it.
  EXPECT_EQ(before.service("billing")->registry(), "eu");
  EXPECT_EQ(before.instances("payments").size(), 1u);
}

TEST_F(FederationTest, EachRegistryHasItsOwnRevisionStoreAndStaleness) {
  ASSERT_TRUE(writer_->set_store("store-eu", 1));
  overlapping();
  writer_->touch_upstream(base::unix_ms() - 5000, 1);
  writer_->touch_upstream(base::unix_ms(), 2);
  Client client = Client::open(options_.name).value();
  View view = client.view();
  auto registries = view.registries();
  ASSERT_EQ(registries.size(), 3u);
  EXPECT_EQ(registries[0].name, "local");
  EXPECT_EQ(registries[0].revision, 10u);
  EXPECT_EQ(registries[1].name, "eu");
  EXPECT_EQ(registries[1].revision, 20u);
  EXPECT_EQ(registries[1].store, "store-eu");
  EXPECT_EQ(registries[2].revision, 30u);
  EXPECT_EQ(registries[2].store, "");
  EXPECT_EQ(registries[0].staleness, std::chrono::milliseconds::max());  // never heard from
  EXPECT_GE(registries[1].staleness, std::chrono::milliseconds(5000));
  EXPECT_LT(registries[2].staleness, std::chrono::milliseconds(5000));
  // The View's own revision and store are the first registry's.
  EXPECT_EQ(view.revision(), 10u);
  // published_arena() (the agent's warm-start check) reads each registry too.
  auto published = shm::published_arena(options_.name).value();
  ASSERT_TRUE(published);
  ASSERT_EQ(published->registries.size(), 3u);
  EXPECT_EQ(published->registries[1].store_id, "store-eu");
  EXPECT_EQ(published->registries[1].revision, 20u);
}

TEST_F(FederationTest, AnArenaOfOneRegistryIsNotFederated) {
  shm::ArenaOptions plain;
  plain.name = testing::unique_arena_name("not-federated");
  plain.segment_bytes = 16u << 20;
  auto writer = shm::ArenaWriter::create(plain).value();
  shm::BatchResolver resolver;
  ASSERT_TRUE(resolver.apply(*writer, records(version_json("users", "1.0.0")).batch(4)));
  Client client = Client::open(plain.name).value();
  View view = client.view();
  EXPECT_EQ(view.service("users")->registry(), "");
  EXPECT_EQ(view.where("users"), (std::vector<std::string_view>{""}));
  EXPECT_FALSE(view.in("local").service("users"));
  ASSERT_EQ(view.registries().size(), 1u);
  EXPECT_EQ(view.registries()[0].revision, 4u);
  EXPECT_EQ(writer->set_store("store-b", 1).error().code, "unknown_registry");
  shm::Batch other;
  other.registry = 1;
  auto refused = writer->apply(other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "unknown_registry");
  writer->remove_segments();
}

TEST_F(FederationTest, RegistryOptionsAreChecked) {
  auto refused = [](std::vector<std::string> registries, std::map<std::string, std::string> preferred = {}) {
    shm::ArenaOptions o;
    o.name = testing::unique_arena_name("bad-registries");
    o.registries = std::move(registries);
    o.preferred = std::move(preferred);
    auto created = shm::ArenaWriter::create(o);
    return created ? std::string("created") : created.error().message;
  };
  EXPECT_NE(refused({"eu", "eu"}).find("named twice"), std::string::npos);
  EXPECT_NE(refused({"EU"}).find("invalid registry name"), std::string::npos);
  EXPECT_NE(refused({""}).find("invalid registry name"), std::string::npos);
  EXPECT_NE(refused({std::string(32, 'a')}).find("invalid registry name"), std::string::npos);
  EXPECT_NE(refused({"a", "b", "c", "d", "e", "f", "g", "h", "i"}).find("at most 8"), std::string::npos);
  EXPECT_NE(refused({"eu"}, {{"search", "us"}}).find("does not mirror"), std::string::npos);
}

// Random changes to every registry, with old Views closed and memory reclaimed between them: the
// plain name always reads exactly what the serving registry's own lookup reads (versions and
// instances, slices kept inside the node and in blocks of their own), so a copy never points at
// memory its registry freed.
TEST_F(FederationTest, PlainNamesAlwaysReadTheServingRegistrysState) {
  std::mt19937 rng(7);
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  apply(0, version_json("seed", "1.0.0"));
  Client client = Client::open(options_.name).value();
  for (int round = 0; round < 300; ++round) {
    const uint32_t registry = rng() % 3;
    const std::string& name = names[rng() % names.size()];
    const int action = rng() % 4;
    if (action == 0 && client.view().in(options_.registries[registry]).service(name)) {
      remove(registry, name, "1.0.0");
    } else {
      // 0 to 150 instances, some down: inline (<= 64) or in slices of their own.
      const int count = rng() % 151;
      std::string list;
      for (int i = 0; i < count; ++i)
        list += std::string(i ? "," : "") + R"({"id": "i)" + std::to_string(i) + R"(", "address": "10.0.0.)" +
                std::to_string(i % 250) + R"(", "port": )" + std::to_string(1000 + i) +
                (rng() % 3 == 0 ? R"(, "health": "down"})" : "}");
      apply(registry, version_json(name, "1.0.0", R"(, "instances": [)" + list + "]"));
    }
    writer_->reclaim();
    View view = client.view();
    for (auto& n : names) {
      auto where = view.where(n);
      auto plain = view.service(n);
      ASSERT_EQ(plain.has_value(), !where.empty()) << n;
      if (!plain) continue;
      ASSERT_EQ(plain->registry(), where.front());
      auto own = view.in(where.front());
      std::vector<std::pair<std::string, uint16_t>> a, b;
      for (auto i : view.instances(n)) a.emplace_back(std::string(i.id()), i.port());
      for (auto i : own.instances(n)) b.emplace_back(std::string(i.id()), i.port());
      ASSERT_EQ(a, b) << n << " in round " << round;
      size_t healthy = 0;
      for (auto i : view.instances(n, Filter::Healthy)) healthy += i.health() == wire::Health::Up;
      ASSERT_EQ(healthy, own.instances(n, Filter::Healthy).size());
    }
    ASSERT_FALSE(view.corrupt());
  }
}

}  // namespace
}  // namespace roster
