// The server's registry over a real SQLite store: write rules, revisions, leases (with an
// injected clock, never sleeps), self-preservation, and the delta feed agents resume from.
#include "roster/upstream/registry.hpp"

#include <gtest/gtest.h>

#include <map>

#include "roster/wire/json_decoder.hpp"

#include <filesystem>

#include "roster/upstream/sqlite_store.hpp"
#include "registry_fixture.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

namespace roster::upstream {
namespace {

std::string version_doc(const std::string& name, const std::string& version, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version +
         R"(", "lifecycle_stage": "beta", "owner_team": "team-a")" + extra + "}";
}

const std::string kInstance = R"({"id": "i1", "address": "10.0.0.1", "port": 8080})";

using RegistryTest = RegistryFixture;

TEST_F(RegistryTest, PutGetLatestAndRevisions) {
  const uint64_t r1 = put_version(version_doc("svc", "1.0.0"))->revision;
  const uint64_t r2 = put_version(version_doc("svc", "1.10.0"))->revision;
  const uint64_t r3 = put_version(version_doc("svc", "2.0.0-rc.1"))->revision;
  EXPECT_LT(start_revision_, r1);
  EXPECT_LT(r1, r2);
  EXPECT_LT(r2, r3);
  EXPECT_EQ(commits(), 3u);
  EXPECT_EQ(registry_->latest("svc")->version()->str(), "1.10.0");
  EXPECT_EQ(registry_->latest("svc", true)->version()->str(), "2.0.0-rc.1");
  EXPECT_EQ(registry_->versions("svc").size(), 3u);
  EXPECT_EQ(registry_->search("team-a", std::nullopt, std::nullopt).size(), 3u);
  reopen();  // everything acknowledged survives a restart
  EXPECT_EQ(registry_->revision(), r3);
  EXPECT_EQ(registry_->latest("svc")->version()->str(), "1.10.0");
}

// The server keeps a version's times: created when first registered, updated on every write
// (a client's own times are not taken, except from an import of a new version, as a restore);
// and each record carries the revision that wrote it.
TEST_F(RegistryTest, VersionsCarryTheServersTimesAndRevision) {
  const int64_t t1 = now_;
  const uint64_t r1 = put_version(version_doc("svc", "1.0.0", R"(, "created_at": "2001-01-01T00:00:00Z")"))->revision;
  auto* v = registry_->version("svc", "1.0.0");
  EXPECT_EQ(v->created_at_ms(), t1);
  EXPECT_EQ(v->updated_at_ms(), t1);
  EXPECT_EQ(v->revision(), r1);

  now_ += 5'000;
  const uint64_t r2 = put_version(version_doc("svc", "1.0.0", R"(, "description": "again")"))->revision;
  v = registry_->version("svc", "1.0.0");
  EXPECT_EQ(v->created_at_ms(), t1);
  EXPECT_EQ(v->updated_at_ms(), t1 + 5'000);
  EXPECT_EQ(v->revision(), r2);

  now_ += 5'000;
  ASSERT_TRUE(registry_->transition({"svc", "1.0.0"}, wire::LifecycleStage::Stable, ""));
  v = registry_->version("svc", "1.0.0");
  EXPECT_EQ(v->created_at_ms(), t1);
  EXPECT_EQ(v->updated_at_ms(), t1 + 10'000);
  EXPECT_GT(v->revision(), r2);

  wire::JsonDecoder decoder;
  auto doc = decoder.decode(R"({"services": [{"name": "old", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable",
      "owner_team": "team-a", "created_at": "2001-01-01T00:00:00Z", "updated_at": "2002-01-01T00:00:00Z"}]}]})");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(registry_->import(doc));
  v = registry_->version("old", "1.0.0");
  EXPECT_EQ(v->created_at_ms(), 978'307'200'000);
  EXPECT_EQ(v->updated_at_ms(), 1'009'843'200'000);

  reopen();
  EXPECT_EQ(registry_->version("svc", "1.0.0")->created_at_ms(), t1);
}

// Search lists services by name and each one's versions by precedence, not as text sorts them.
TEST_F(RegistryTest, SearchListsVersionsByPrecedence) {
  for (const char* v : {"1.9.0", "1.10.0", "1.2.0", "1.10.0-rc.1"}) ASSERT_TRUE(put_version(version_doc("svc", v)));
  ASSERT_TRUE(put_version(version_doc("app", "10.0.0")));
  ASSERT_TRUE(put_version(version_doc("svc-b", "0.1.0")));  // a name that shares svc's prefix
  std::vector<std::string> found;
  for (auto* v : registry_->search("team-a", std::nullopt, std::nullopt))
    found.push_back(v->name()->str() + "@" + v->version()->str());
  EXPECT_EQ(found, (std::vector<std::string>{"app@10.0.0", "svc@1.2.0", "svc@1.9.0", "svc@1.10.0-rc.1", "svc@1.10.0",
                                             "svc-b@0.1.0"}));
}

TEST_F(RegistryTest, BadDocumentsChangeNothing) {
  auto bad = put_version(R"({"name": "svc", "version": "1.0.0", "owner_team": 5})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error.kind, ErrorKind::Invalid);
  EXPECT_EQ(bad.error().error.where, "owner_team");
  EXPECT_FALSE(put_version("{"));
  // A name that cannot be addressed in a URL is refused at registration, naming the field.
  auto unaddressable = put_version(version_doc("bad\\u0007name", "1.0.0"));
  ASSERT_FALSE(unaddressable);
  EXPECT_EQ(unaddressable.error().error.where, "name");
  EXPECT_NE(unaddressable.error().error.message.find("control character"), std::string::npos);
  EXPECT_EQ(registry_->revision(), start_revision_);
  EXPECT_EQ(store_->revision(), start_revision_);
}

TEST_F(RegistryTest, InstancesNeedTheirVersionAndGoWithIt) {
  auto orphan = put_instance("svc", "1.0.0", kInstance, std::nullopt);
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().error.kind, ErrorKind::NotFound);
  EXPECT_TRUE(put_version(version_doc("svc", "1.0.0")));
  EXPECT_TRUE(put_instance("svc", "1.0.0", kInstance, std::nullopt));
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 1u);
  EXPECT_TRUE(registry_->delete_version({"svc", "1.0.0"}));
  EXPECT_TRUE(registry_->instances("svc", std::nullopt).empty());
  EXPECT_EQ(registry_->delete_version({"svc", "1.0.0"}).error().error.kind, ErrorKind::NotFound);
}

TEST_F(RegistryTest, LeasesExpireUnlessRenewed) {
  EXPECT_TRUE(put_version(version_doc("svc", "1.0.0")));
  EXPECT_TRUE(put_instance("svc", "1.0.0", kInstance, std::nullopt));
  EXPECT_TRUE(put_instance("svc", "1.0.0", R"({"id": "i2", "address": "h", "port": 1})", std::chrono::seconds(10)));
  now_ += 11'000;
  auto expired = registry_->expire_leases();
  EXPECT_GT(expired->revision, 0u);
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 1u);  // i2's 10 s lease ran out
  now_ += 60'000;
  EXPECT_TRUE(registry_->renew({"svc", "1.0.0", "i1"}));
  now_ += 89'000;
  EXPECT_TRUE(registry_->expire_leases());
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 1u);  // renewed 89 s ago
  now_ += 2'000;
  EXPECT_TRUE(registry_->expire_leases());
  EXPECT_TRUE(registry_->instances("svc", std::nullopt).empty());
  EXPECT_EQ(registry_->metrics().lease_expiries, 2u);
  EXPECT_EQ(registry_->renew({"svc", "1.0.0", "i1"}).error().kind, ErrorKind::NotFound);  // must register again
}

// The lease is the server's: an expiry a client sends reaches no reader as if it were the lease,
// whichever way the instance comes in; the lease table has the real one.
TEST_F(RegistryTest, AnExpiryTheClientSendsIsNotStoredAsTheLease) {
  const std::string claimed = R"("lease_expires_at": "2030-01-01T00:00:00Z")";
  ASSERT_TRUE(put_version(version_doc("svc", "1.0.0", R"(, "instances": [{"id": "v", "address": "h", "port": 1, )" +
                                                           claimed + "}]")));
  ASSERT_TRUE(put_instance("svc", "1.0.0", R"({"id": "p", "address": "h", "port": 1, )" + claimed + "}"));
  ASSERT_TRUE(put_instance("svc", "1.0.0", R"({"id": "t", "address": "h", "port": 1, )" + claimed + "}",
                           std::chrono::seconds(30)));
  ASSERT_TRUE(import(R"({"services": [{"name": "doc", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable",
      "owner_team": "t", "instances": [{"id": "d", "address": "h", "port": 1, )" + claimed + "}]}]}]}"));
  auto instances = registry_->instances("svc", std::nullopt);
  const auto from_doc = registry_->instances("doc", std::nullopt);
  instances.insert(instances.end(), from_doc.begin(), from_doc.end());
  ASSERT_EQ(instances.size(), 4u);
  for (const wire::Instance* i : instances) {
    EXPECT_EQ(i->lease_expires_at_ms(), 0) << i->id()->str();
    const auto lease = registry_->lease({i->service()->str(), i->version()->str(), i->id()->str()});
    ASSERT_TRUE(lease) << i->id()->str();
    EXPECT_EQ(lease->expires_at_ms, now_ + (i->id()->str() == "t" ? 30'000 : 90'000)) << i->id()->str();
  }
}

TEST_F(RegistryTest, SelfPreservationStopsMassExpiry) {
  options_.leases.duration = std::chrono::seconds(90);
  options_.leases.renewal_interval = std::chrono::seconds(30);
  options_.leases.renewal_window = std::chrono::seconds(60);
  reopen();
  EXPECT_TRUE(put_version(version_doc("svc", "1.0.0")));
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(put_instance("svc", "1.0.0", R"({"id": "i)" + std::to_string(i) + R"(", "address": "h", "port": 1})"));
  // A first window in which every instance renews as told (2 renewals per minute each).
  now_ += 60'000;
  EXPECT_TRUE(registry_->expire_leases());  // opens the window counting 10 leases
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(registry_->renew({"svc", "1.0.0", "i" + std::to_string(i)}));
    EXPECT_TRUE(registry_->renew({"svc", "1.0.0", "i" + std::to_string(i)}));
  }
  now_ += 60'000;
  EXPECT_TRUE(registry_->expire_leases());
  EXPECT_FALSE(registry_->metrics().self_preservation);
  // Then a partition: no renewals at all for two windows. Leases run out, yet nothing expires.
  now_ += 60'000;
  EXPECT_TRUE(registry_->expire_leases());
  now_ += 60'000;
  EXPECT_TRUE(registry_->expire_leases());
  EXPECT_TRUE(registry_->metrics().self_preservation);
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 10u);
}

// Self-preservation is for a partition, not for a few instances that died: a small registry
// never turns it on, it can be turned off, and a shortfall that lasts past the maximum hold is
// treated as a loss.
TEST_F(RegistryTest, SelfPreservationLetsGoOfSmallRegistriesWhenOffAndAfterItsMaximumHold) {
  // `instances` leases renewing every 30 s; a window with every renewal, then none at all.
  auto silence = [&](int instances) {
    EXPECT_TRUE(put_version(version_doc("svc", "1.0.0")));
    for (int i = 0; i < instances; ++i)
      EXPECT_TRUE(put_instance("svc", "1.0.0", R"({"id": "i)" + std::to_string(i) + R"(", "address": "h", "port": 1})"));
    now_ += 60'000;
    EXPECT_TRUE(registry_->expire_leases());
    for (int i = 0; i < instances; ++i)
      for (int k = 0; k < 2; ++k) EXPECT_TRUE(registry_->renew({"svc", "1.0.0", "i" + std::to_string(i)}));
    for (int k = 0; k < 3; ++k) {
      now_ += 60'000;
      EXPECT_TRUE(registry_->expire_leases());
    }
  };
  options_.leases.duration = std::chrono::seconds(90);
  options_.leases.renewal_interval = std::chrono::seconds(30);
  options_.leases.renewal_window = std::chrono::seconds(60);

  options_.leases.self_preservation_min_leases = 10;
  reopen();
  silence(3);  // fewer leases than the minimum: they expire
  EXPECT_FALSE(registry_->metrics().self_preservation);
  EXPECT_TRUE(registry_->instances("svc", std::nullopt).empty());

  options_.leases.self_preservation = false;
  reopen();
  silence(20);  // turned off: they expire
  EXPECT_FALSE(registry_->metrics().self_preservation);
  EXPECT_TRUE(registry_->instances("svc", std::nullopt).empty());

  options_.leases.self_preservation = true;
  options_.leases.self_preservation_max_hold = std::chrono::minutes(5);
  reopen();
  silence(20);  // held...
  EXPECT_TRUE(registry_->metrics().self_preservation);
  EXPECT_EQ(registry_->instances("svc", std::nullopt).size(), 20u);
  for (int k = 0; k < 6; ++k) {  // ...until the shortfall has lasted past 5 minutes
    now_ += 60'000;
    EXPECT_TRUE(registry_->expire_leases());
    if (k < 2) EXPECT_TRUE(registry_->metrics().self_preservation) << "minute " << k;
  }
  EXPECT_FALSE(registry_->metrics().self_preservation);
  EXPECT_TRUE(registry_->instances("svc", std::nullopt).empty());
}

TEST_F(RegistryTest, FeedResumesFromMemoryStoreOrSnapshot) {
  std::vector<uint64_t> pushed;
  auto subscription = registry_->feed().subscribe([&](const Frame& frame, uint64_t revision) {
    pushed.push_back(revision);
    wire::FrameReader reader;
    reader.feed(*frame);
    auto f = reader.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, wire::FrameType::Delta);
    EXPECT_TRUE(wire::verify<wire::Delta>(f->payload));
  });
  std::vector<uint64_t> revs;
  for (int i = 0; i < 5; ++i) revs.push_back(put_version(version_doc("svc", "1.0." + std::to_string(i)))->revision);
  EXPECT_EQ(pushed, revs);
  EXPECT_EQ(registry_->frames_since(revs[1])->size(), 3u);
  EXPECT_TRUE(registry_->frames_since(revs[4])->empty());
  EXPECT_FALSE(registry_->frames_since(revs[4] + 4));  // ahead of the server: snapshot
  // The memory log is gone with a restart; the store's change log still covers it. A gap with a
  // change of versions comes as one delta, with the resolutions of the current state.
  reopen();
  auto merged = registry_->frames_since(start_revision_);
  ASSERT_TRUE(merged);
  ASSERT_EQ(merged->size(), 1u);
  {
    wire::FrameReader reader;
    reader.feed(*merged->front());
    auto f = reader.next();
    ASSERT_TRUE(f && wire::verify<wire::Delta>(f->payload));
    auto* delta = flatbuffers::GetRoot<wire::Delta>(f->payload.data());
    EXPECT_EQ(delta->from_revision(), start_revision_);
    EXPECT_EQ(delta->revision(), revs[4]);
    EXPECT_EQ(delta->upsert_services()->size(), 5u);
    ASSERT_EQ(delta->resolutions()->size(), 1u);
    EXPECT_EQ(delta->resolutions()->Get(0)->bytes_nested_root()->versions()->size(), 5u);
  }
  EXPECT_EQ(registry_->frames_since(revs[2])->size(), 1u);
  // Instance changes replay revision by revision.
  for (int i = 0; i < 3; ++i)
    revs.push_back(put_instance("svc", "1.0.0", R"({"id": "i)" + std::to_string(i) + R"(", "address": "h", "port": 1})",
                                std::nullopt)
                       ->revision);
  reopen();
  EXPECT_EQ(registry_->frames_since(revs[4])->size(), 3u);
  EXPECT_EQ(registry_->frames_since(revs[5])->size(), 2u);

  auto frames = registry_->snapshot_frames(8192);
  ASSERT_FALSE(frames.empty());
  wire::FrameReader reader(1u << 20);
  size_t versions = 0;
  std::vector<std::string> resolved;  // the services a snapshot resolves: every registered one
  bool last = false;
  for (auto& f : frames) {
    reader.feed(*f);
    auto frame = reader.next();
    ASSERT_TRUE(frame);
    ASSERT_TRUE(wire::verify<wire::Snapshot>(frame->payload));
    auto* snap = flatbuffers::GetRoot<wire::Snapshot>(frame->payload.data());
    EXPECT_EQ(snap->revision(), revs.back());
    versions += snap->services()->size();
    if (snap->resolutions())
      for (auto* r : *snap->resolutions()) {
        resolved.push_back(r->bytes_nested_root()->name()->str());
        EXPECT_EQ(r->bytes_nested_root()->versions()->size(), 5u);
        EXPECT_EQ(r->bytes_nested_root()->latest(), 4u);  // 1.0.4
      }
    last = snap->last();
  }
  EXPECT_EQ(versions, 5u);
  EXPECT_EQ(resolved, std::vector<std::string>{"svc"});
  EXPECT_TRUE(last);
}

// Each delta carries the resolutions of the services whose versions it changes and of those whose
// dependencies now resolve elsewhere (model/service_resolution.hpp); an instance change, none.
TEST_F(RegistryTest, DeltasCarryTheResolutionsOfTheServicesTheyReResolve) {
  std::vector<std::map<std::string, std::vector<std::string>>> sent;  // per delta: service -> web's or api's view
  auto subscription = registry_->feed().subscribe([&](const Frame& frame, uint64_t) {
    wire::FrameReader reader;
    reader.feed(*frame);
    auto f = reader.next();
    ASSERT_TRUE(f && wire::verify<wire::Delta>(f->payload));
    auto* delta = flatbuffers::GetRoot<wire::Delta>(f->payload.data());
    auto& out = sent.emplace_back();
    if (delta->resolutions())
      for (auto* r : *delta->resolutions()) {
        auto* res = r->bytes_nested_root();
        auto& list = out[res->name()->str()];
        for (auto* v : *res->versions()) {
          list.push_back(v->version()->str());
          if (v->resolved())
            for (auto* target : *v->resolved()) list.push_back("->" + target->str());
        }
      }
  });
  using Sent = std::map<std::string, std::vector<std::string>>;
  ASSERT_TRUE(put_version(version_doc("api", "1.0.0")));
  ASSERT_TRUE(put_version(version_doc("web", "1.0.0", R"(, "dependencies": [{"service": "api", "range": "^1.0.0"}])")));
  ASSERT_TRUE(put_instance("api", "1.0.0", kInstance));
  ASSERT_TRUE(put_version(version_doc("api", "1.1.0")));
  ASSERT_TRUE(put_version(version_doc("api", "2.0.0")));  // web's range does not take it
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(sent[0], (Sent{{"api", {"1.0.0"}}}));
  EXPECT_EQ(sent[1], (Sent{{"web", {"1.0.0", "->1.0.0"}}}));
  EXPECT_EQ(sent[2], Sent{});
  EXPECT_EQ(sent[3], (Sent{{"api", {"1.0.0", "1.1.0"}}, {"web", {"1.0.0", "->1.1.0"}}}));
  EXPECT_EQ(sent[4], (Sent{{"api", {"1.0.0", "1.1.0", "2.0.0"}}}));
}

// The revisions the delta frames carry for their upserted versions, frame by frame.
std::vector<std::pair<uint64_t, uint64_t>> delta_version_revisions(const std::vector<Frame>& frames) {
  std::vector<std::pair<uint64_t, uint64_t>> out;  // (delta revision, record revision)
  for (auto& frame : frames) {
    wire::FrameReader reader;
    reader.feed(*frame);
    auto f = reader.next();
    if (!f || !wire::verify<wire::Delta>(f->payload)) return {};
    auto* delta = flatbuffers::GetRoot<wire::Delta>(f->payload.data());
    for (auto* r : *delta->upsert_services())
      out.emplace_back(delta->revision(), r->bytes_nested_root()->revision());
  }
  return out;
}

TEST_F(RegistryTest, RecordsCarryTheRevisionThatWroteThem) {
  // A client's `revision` is ignored (a GET's output can be PUT back): the server assigns it.
  const uint64_t r1 = put_version(version_doc("svc", "1.0.0", R"(, "revision": 999)"))->revision;
  EXPECT_NE(r1, 999u);
  const uint64_t r2 = put_instance("svc", "1.0.0", kInstance)->revision;
  const uint64_t r3 = put_version(version_doc("svc", "1.1.0"))->revision;
  const uint64_t r4 = registry_->transition({"svc", "1.0.0"}, wire::LifecycleStage::Stable, "")->revision;
  EXPECT_EQ(commits(), 4u);
  auto check = [&](bool restarted) {
    EXPECT_EQ(registry_->version("svc", "1.0.0")->revision(), r4);
    EXPECT_EQ(registry_->version("svc", "1.1.0")->revision(), r3);
    ASSERT_EQ(registry_->instances("svc", "1.0.0").size(), 1u);
    EXPECT_EQ(registry_->instances("svc", "1.0.0")[0]->revision(), r2);
    // Deltas from memory. After a restart, from the store's change log: a gap with a change of
    // versions as one delta to the current state (each key's last change).
    if (restarted)
      EXPECT_EQ(delta_version_revisions(*registry_->frames_since(start_revision_)),
                (std::vector<std::pair<uint64_t, uint64_t>>{{r4, r4}, {r4, r3}}));
    else
      EXPECT_EQ(delta_version_revisions(*registry_->frames_since(start_revision_)),
                (std::vector<std::pair<uint64_t, uint64_t>>{{r1, r1}, {r3, r3}, {r4, r4}}));
    wire::FrameReader reader(1u << 20);
    for (auto& f : registry_->snapshot_frames(1 << 20)) reader.feed(*f);
    auto frame = reader.next();
    ASSERT_TRUE(frame && wire::verify<wire::Snapshot>(frame->payload));
    auto records = wire::open_snapshot(*flatbuffers::GetRoot<wire::Snapshot>(frame->payload.data()));
    for (auto* v : records.versions) EXPECT_EQ(v->revision(), v->version()->str() == "1.0.0" ? r4 : r3);
  };
  check(false);
  reopen();
  check(true);
}

TEST_F(RegistryTest, RegisterWholeRegistryDocument) {
  auto out = import(R"({"services": [{"name": "a", "versions": [
      {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t",
       "instances": [{"id": "x", "address": "h", "port": 1}]}]}],
    "contracts": [{"consumer": "b", "consumer_version": "1.0.0", "provider": "a", "provider_range": "^1",
                   "pact": {"consumer": {"name": "b"}, "provider": {"name": "a"}, "interactions": [],
                            "metadata": {"pactSpecification": {"version": "2.0.0"}}}}]})");
  EXPECT_TRUE(out);
  EXPECT_EQ(commits(), 1u);  // one document, one revision
  EXPECT_EQ(out->revision, registry_->revision());
  EXPECT_EQ(registry_->instances("a", "1.0.0").size(), 1u);
  EXPECT_TRUE(registry_->lease({"a", "1.0.0", "x"}));
}

}  // namespace
}  // namespace roster::upstream
