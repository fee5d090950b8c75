// What a registry does when its shared store moves under it, driven exactly by a stand-in Store:
// a store that lost track of its changes (etcd compacted the revisions its watch had not
// delivered) makes it re-read the whole registry, and one that cannot be read leaves what it
// serves as it was; a write that keeps losing commit races gives up with 409, and one whose server
// cannot catch up with 503.
#include <gtest/gtest.h>

#include <utility>

#include "roster/upstream/registry.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {
namespace {

class ResyncingStore final : public Store {
 public:
  Result<uint64_t> commit(const std::vector<Mutation>&) override { return fail(ErrorKind::Invalid, "x", "read-only"); }
  // Another server always commits first (and the next revision is already taken).
  Result<uint64_t> commit_at(uint64_t, const std::vector<Mutation>&) override {
    ++revision_;
    return fail(ErrorKind::Conflict, "revision_moved", "another server committed first");
  }
  uint64_t revision() const override { return revision_; }
  const std::string& identity() const override { return identity_; }
  Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const override {
    if (unreadable) return fail(ErrorKind::Unavailable, "store_unavailable", "etcd did not answer");
    for (auto& r : records) visit(r);
    return revision_;
  }
  Result<std::optional<std::vector<Change>>> changes_since(uint64_t, size_t) const override {
    return std::optional<std::vector<Change>>();
  }
  Result<std::vector<Change>> take_changes(uint64_t, std::chrono::milliseconds) override {
    if (lost_track) return fail(ErrorKind::Unavailable, "store_resync", "compacted");
    if (watch_down) return std::vector<Change>{};
    if (!next_change.empty()) return std::vector<Change>{{++revision_, std::exchange(next_change, {})}};
    return std::vector<Change>{{revision_, {}}};  // the other server's commit (changing nothing here)
  }

  // The registry as it stands at `revision`: one version per name.
  void hold(uint64_t revision, std::initializer_list<const char*> names) {
    revision_ = revision;
    records.clear();
    wire::JsonDecoder decoder;
    for (const char* name : names) {
      auto doc = decoder.decode(std::string(R"({"name": ")") + name +
                                R"(", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"})");
      records.push_back({RecordKind::ServiceVersion, std::string(name) + '\0' + "1.0.0",
                         std::vector<uint8_t>(doc.services[0].begin(), doc.services[0].end()), revision});
    }
  }

  std::vector<StoredRecord> records;
  std::vector<Mutation> next_change;  // what another server commits next
  bool lost_track = false, unreadable = false, watch_down = false;

 private:
  uint64_t revision_ = 0;
  std::string identity_ = "test:resync";
};

TEST(RegistryResync, ALostWatchRereadsTheWholeRegistryAndAnUnreadableStoreChangesNothing) {
  ResyncingStore store;
  store.hold(10, {"a", "b"});
  auto registry = Registry::open(store, {}, [] { return int64_t{1'700'000'000'000}; }).value();
  ASSERT_TRUE(registry->version("a", "1.0.0"));
  ASSERT_TRUE(registry->frames_since(10));  // up to date

  // The store can say what the registry is, but not how it got there: read it again.
  store.hold(20, {"b", "c"});
  store.lost_track = true;
  registry->sync();
  EXPECT_EQ(registry->revision(), 20u);
  EXPECT_FALSE(registry->version("a", "1.0.0"));
  EXPECT_TRUE(registry->version("c", "1.0.0"));
  EXPECT_EQ(registry->graph().resolve("c", "^1").resolved(), true);
  EXPECT_FALSE(registry->frames_since(10));  // agents at the old revision get a snapshot

  // Lost track and unreadable: what is served stays as it was (no empty registry for agents).
  store.hold(30, {});
  store.unreadable = true;
  registry->sync();
  EXPECT_EQ(registry->revision(), 20u);
  EXPECT_TRUE(registry->version("c", "1.0.0"));
  EXPECT_EQ(registry->search(std::nullopt, std::nullopt, std::nullopt).size(), 2u);
}

TEST(RegistryResync, AWriteThatKeepsLosingRacesGivesUpAndOneThatCannotCatchUpSaysSo) {
  ResyncingStore store;
  store.hold(10, {"a"});
  auto registry = Registry::open(store, {}, [] { return int64_t{1'700'000'000'000}; }).value();
  wire::JsonDecoder decoder;
  auto doc = decoder.decode(R"({"name": "b", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"})");

  auto lost = registry->put_version(doc.services[0], doc.instances);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().error.code, "write_conflict");
  EXPECT_EQ(lost.error().error.kind, ErrorKind::Conflict);
  EXPECT_EQ(registry->metrics().write_conflicts, 33u);  // the first try and 32 more
  EXPECT_FALSE(registry->version("b", "1.0.0"));

  store.watch_down = true;  // the other server's commit never arrives here
  auto behind = registry->put_version(doc.services[0], doc.instances);
  ASSERT_FALSE(behind);
  EXPECT_EQ(behind.error().error.code, "store_unavailable");
  EXPECT_EQ(behind.error().error.kind, ErrorKind::Unavailable);
  EXPECT_FALSE(registry->version("b", "1.0.0"));
}

// A version record written to the store behind the servers' back whose dependency range does not
// parse: served, it would have no resolution, and every agent would refuse every snapshot and
// ask again. It is refused like a damaged record: a server does not start on it (naming it), and
// a running one leaves that change out.
std::vector<uint8_t> version_with_range(const std::string& name, const std::string& range) {
  flatbuffers::FlatBufferBuilder fbb;
  auto dep = wire::CreateDependency(fbb, fbb.CreateString("b"), fbb.CreateString(range));
  auto deps = fbb.CreateVector(std::vector{dep});
  wire::ServiceVersionBuilder v(fbb);
  auto owner = fbb.CreateString("t");
  auto n = fbb.CreateString(name);
  auto ver = fbb.CreateString("1.0.0");
  v.add_name(n);
  v.add_version(ver);
  v.add_owner_team(owner);
  v.add_stage(wire::LifecycleStage::Beta);
  v.add_dependencies(deps);
  fbb.Finish(v.Finish());
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

TEST(RegistryResync, AStoredVersionTheGraphCannotHoldIsRefusedNotServedWithoutAResolution) {
  ResyncingStore store;
  store.hold(10, {"a"});
  store.records.push_back({RecordKind::ServiceVersion, std::string("bad") + '\0' + "1.0.0",
                           version_with_range("bad", "not a range"), 10});
  auto refused = Registry::open(store, {}, [] { return int64_t{1'700'000'000'000}; });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "invalid_record");
  EXPECT_NE(refused.error().message.find("bad@1.0.0"), std::string::npos) << refused.error().message;

  store.hold(10, {"a"});
  auto registry = Registry::open(store, {}, [] { return int64_t{1'700'000'000'000}; }).value();
  store.next_change = {{RecordKind::ServiceVersion, std::string("bad") + '\0' + "1.0.0", version_with_range("bad", "not a range")},
                       {RecordKind::ServiceVersion, std::string("a") + '\0' + "1.0.0", version_with_range("a", "^1")}};
  registry->sync();
  EXPECT_EQ(registry->revision(), 11u);
  EXPECT_FALSE(registry->version("bad", "1.0.0"));
  // The whole change is left out, as an unreadable one is: "a" keeps the version it had.
  ASSERT_TRUE(registry->version("a", "1.0.0"));
  EXPECT_TRUE(registry->graph().resolve("a", "^1").resolved());
}

}  // namespace
}  // namespace roster::upstream
