// A registry whose shared store lost track of its changes (etcd compacted the revisions its watch
// had not delivered) re-reads the whole registry; one whose store cannot be read then keeps
// serving what it had. A stand-in Store says "resync" on demand, so the path is driven exactly.
#include <gtest/gtest.h>

#include "roster/upstream/registry.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {
namespace {

class ResyncingStore final : public Store {
 public:
  Result<uint64_t> commit(const std::vector<Mutation>&) override { return fail(ErrorKind::Invalid, "x", "read-only"); }
  Result<uint64_t> commit_at(uint64_t, const std::vector<Mutation>& m) override { return commit(m); }
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
    return std::vector<Change>{};
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
  bool lost_track = false, unreadable = false;

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

}  // namespace
}  // namespace roster::upstream
