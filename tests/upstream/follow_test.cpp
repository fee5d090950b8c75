// A registry following another one (roster-server --follow, docs/federation.md), on the Registry's
// side: a real leader Registry over its own SQLite store writes; its snapshot and delta frames, as
// its stream server sends them, are fed to the follower (the fixture's registry).
#include <gtest/gtest.h>

#include "registry_fixture.hpp"
#include "roster/upstream/http_api.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/upstream/sqlite_store.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/verify.hpp"

namespace roster::upstream {
namespace {

std::string version_doc(const std::string& name, const std::string& version, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version +
         R"(", "lifecycle_stage": "beta", "owner_team": "team-a")" + extra + "}";
}
std::string instance_doc(const std::string& id) {
  return R"({"id": ")" + id + R"(", "address": "10.0.0.1", "port": 8080})";
}
const std::string kPact = R"({"consumer": {"name": "billing"}, "provider": {"name": "users"},
    "interactions": [{"description": "a user", "request": {"method": "GET", "path": "/users/1"},
    "response": {"status": 200}}], "metadata": {"pactSpecification": {"version": "2.0.0"}}})";
// A registry document whose one contract is billing@VERSION's with users.
std::string contract_doc(const std::string& version) {
  return R"({"services": [], "contracts": [{"consumer": "billing", "consumer_version": ")" + version +
         R"(", "provider": "users", "provider_range": "^1.0.0", "pact": )" + kPact + "}]}";
}

class FollowTest : public RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    leader_dir_ = dir_.string() + "-leader";
    std::filesystem::remove_all(leader_dir_);
    leader_store_ = SqliteStore::open(leader_dir_).value();
    leader_ = Registry::open(*leader_store_, {}, [this] { return now_; }).value();
    registry_->set_followed({{"global", {"10.0.0.1:7071", "10.0.0.2:7071"}}});
  }
  void TearDown() override {
    leader_.reset();
    leader_store_.reset();
    std::filesystem::remove_all(leader_dir_);
    RegistryFixture::TearDown();
  }

  void lead(std::string_view json) {
    auto doc = decoder_.decode(json);
    ASSERT_TRUE(doc.ok()) << doc.errors.front().message;
    auto out = doc.kind == wire::DocumentKind::ServiceVersion ? leader_->put_version(doc.services[0], doc.instances)
                                                              : leader_->import(doc);
    ASSERT_TRUE(out) << out.error().error.message;
  }
  void lead_instance(const std::string& service, const std::string& version, const std::string& id) {
    auto doc = decoder_.decode_instance(instance_doc(id), service, version);
    ASSERT_TRUE(leader_->put_instance(doc.instances[0], std::nullopt));
  }

  // The payloads of encoded frames, each verified as T.
  template <typename T>
  static std::vector<const T*> payloads(const std::vector<Frame>& frames, std::vector<std::vector<uint8_t>>& keep) {
    std::vector<const T*> out;
    for (auto& frame : frames) {
      keep.emplace_back(frame->begin() + wire::kFrameHeaderBytes, frame->end());  // 8-byte aligned by the allocator
      EXPECT_TRUE(wire::verify<T>(keep.back()));
      out.push_back(flatbuffers::GetRoot<T>(keep.back().data()));
    }
    return out;
  }
  // The leader's whole registry, in chunks of at most 8 KiB.
  WriteResult follow_snapshot() {
    std::vector<std::vector<uint8_t>> keep;
    auto chunks = payloads<wire::Snapshot>(leader_->snapshot_frames(8192), keep);
    return registry_->apply_followed_snapshot("global", chunks);
  }
  // What the leader sends a follower that stands where this one does: its deltas, each applied.
  void follow_deltas() {
    auto frames = leader_->frames_since(registry_->follow_point("global").revision);
    ASSERT_TRUE(frames);
    std::vector<std::vector<uint8_t>> keep;
    for (auto* delta : payloads<wire::Delta>(*frames, keep)) {
      auto out = registry_->apply_followed_delta("global", *delta);
      ASSERT_TRUE(out) << out.error().error.message;
    }
  }
  static std::string owner(const flatbuffers::String* followed_from) {
    return followed_from ? followed_from->str() : "(local)";
  }

  std::string leader_dir_;
  std::unique_ptr<Store> leader_store_;
  std::unique_ptr<Registry> leader_;
};

TEST_F(FollowTest, ASnapshotThenDeltasMirrorTheLeadersRecordsMarkedWithTheirOwner) {
  lead(version_doc("billing", "1.0.0", R"(, "instances": [)" + instance_doc("b1") + "]"));
  lead(version_doc("users", "1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  EXPECT_EQ(commits(), 1u);  // a snapshot is one revision
  ASSERT_TRUE(registry_->version("billing", "1.0.0"));
  EXPECT_EQ(owner(registry_->version("billing", "1.0.0")->followed_from()), "global");
  EXPECT_EQ(registry_->version("billing", "1.0.0")->revision(), registry_->revision());  // the follower's revision
  ASSERT_EQ(registry_->instances("billing", std::nullopt).size(), 1u);
  EXPECT_EQ(owner(registry_->instances("billing", std::nullopt)[0]->followed_from()), "global");
  EXPECT_EQ(registry_->followed_from("users"), "global");
  EXPECT_EQ(registry_->follow_point("global").revision, leader_->revision());
  EXPECT_EQ(registry_->follow_point("global").store_id, leader_->store_identity());

  lead(version_doc("billing", "1.1.0"));
  lead_instance("billing", "1.1.0", "b2");
  ASSERT_TRUE(leader_->delete_instance({"billing", "1.0.0", "b1"}));
  ASSERT_TRUE(leader_->delete_version({"users", "1.0.0"}));
  lead(version_doc("users", "2.0.0"));
  lead(contract_doc("1.1.0"));
  follow_deltas();
  EXPECT_EQ(commits(), 1u + 6u);  // and each of the six deltas one
  EXPECT_EQ(registry_->versions("billing").size(), 2u);
  EXPECT_FALSE(registry_->version("users", "1.0.0"));
  ASSERT_TRUE(registry_->version("users", "2.0.0"));
  ASSERT_EQ(registry_->instances("billing", std::nullopt).size(), 1u);
  EXPECT_EQ(registry_->instances("billing", std::nullopt)[0]->id()->str(), "b2");
  ASSERT_EQ(registry_->contracts("billing", std::nullopt).size(), 1u);
  EXPECT_EQ(owner(registry_->contracts("billing", std::nullopt)[0]->followed_from()), "global");
  EXPECT_EQ(registry_->follow_point("global").revision, leader_->revision());

  // Kept like the server's own records, with where the stream stands; no lease of this server's.
  reopen();
  EXPECT_EQ(registry_->versions("billing").size(), 2u);
  EXPECT_EQ(owner(registry_->version("users", "2.0.0")->followed_from()), "global");
  EXPECT_EQ(registry_->follow_point("global").revision, leader_->revision());
  EXPECT_EQ(registry_->follow_point("global").store_id, leader_->store_identity());
  EXPECT_FALSE(registry_->lease({"billing", "1.1.0", "b2"}));
  // An export is this server's own records: what a restore here could write.
  EXPECT_TRUE(registry_->records(true).versions.empty());
  EXPECT_TRUE(registry_->records(true).contracts.empty());
}

TEST_F(FollowTest, ASnapshotReplacesEverythingFollowedFromItsRegistry) {
  lead(version_doc("billing", "1.0.0", R"(, "instances": [)" + instance_doc("b1") + "]"));
  lead(version_doc("users", "1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  ASSERT_TRUE(put_version(version_doc("web", "1.0.0")));  // the follower's own

  ASSERT_TRUE(leader_->delete_version({"billing", "1.0.0"}));
  lead(version_doc("users", "1.1.0"));
  const size_t before = commits();
  ASSERT_TRUE(follow_snapshot());
  EXPECT_EQ(commits(), before + 1);
  EXPECT_TRUE(registry_->versions("billing").empty());
  EXPECT_TRUE(registry_->instances("billing", std::nullopt).empty());
  EXPECT_EQ(registry_->versions("users").size(), 2u);
  EXPECT_TRUE(registry_->version("web", "1.0.0"));  // not the followed registry's to remove

  // The same snapshot again changes no record (only where the stream stands).
  const uint64_t users_revision = registry_->version("users", "1.0.0")->revision();
  ASSERT_TRUE(follow_snapshot());
  EXPECT_EQ(registry_->version("users", "1.0.0")->revision(), users_revision);
}

TEST_F(FollowTest, EveryWriteToAFollowedRecordIsRefusedNamingItsOwner) {
  lead(version_doc("billing", "1.0.0", R"(, "instances": [)" + instance_doc("b1") + "]"));
  lead(version_doc("users", "1.0.0"));
  lead(contract_doc("1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  const uint64_t revision = registry_->revision();
  const std::string owner = "registry global (10.0.0.1:7071, 10.0.0.2:7071); write it there";
  auto refused = [&](const WriteResult& out, const std::string& what) {
    ASSERT_FALSE(out) << what;
    EXPECT_EQ(out.error().error.kind, ErrorKind::Conflict) << what;
    EXPECT_EQ(out.error().error.code, "followed_record") << what;
    EXPECT_NE(out.error().error.message.find(owner), std::string::npos) << what << ": " << out.error().error.message;
  };
  refused(put_version(version_doc("billing", "1.0.0")), "put an existing followed version");
  refused(put_version(version_doc("billing", "2.0.0")), "put a new version of a followed service");
  refused(put_version(version_doc("billing", "2.0.0"), {.dry_run = true}), "a dry run");
  refused(import(R"({"services": [{"name": "billing", "versions": [{"version": "3.0.0", "lifecycle_stage": "beta",
      "owner_team": "t"}]}]})"), "import a version");
  refused(import(R"({"services": [{"name": "billing", "settings": {"compatibility": "NONE"}, "versions": []}]})"),
          "import settings");
  refused(import(contract_doc("9.0.0")), "import a contract");
  refused(registry_->delete_version({"billing", "1.0.0"}), "delete a version");
  refused(registry_->transition({"billing", "1.0.0"}, wire::LifecycleStage::Stable, ""), "transition");
  refused(registry_->set_settings("billing", governance::CompatibilityMode::None, std::nullopt), "settings");
  refused(put_instance("billing", "1.0.0", instance_doc("b9")), "put an instance");
  refused(registry_->delete_instance({"billing", "1.0.0", "b1"}), "delete an instance");
  auto pact = governance::parse_json(kPact);
  ASSERT_TRUE(pact);
  refused(registry_->put_contract({"billing", "1.0.0", "users"}, "^1.0.0", *pact), "put a contract");
  refused(registry_->delete_contract({"billing", "1.0.0", "users"}), "delete a contract");
  auto renewed = registry_->renew({"billing", "1.0.0", "b1"});
  ASSERT_FALSE(renewed);
  EXPECT_EQ(renewed.error().code, "followed_record");
  EXPECT_NE(renewed.error().message.find("service billing is followed from " + owner), std::string::npos)
      << renewed.error().message;
  EXPECT_EQ(registry_->revision(), revision);  // nothing written

  // The mark is the follower's to set: a client sending it is refused, naming the field.
  auto marked = decoder_.decode(version_doc("web", "1.0.0", R"(, "followed_from": "global")"));
  ASSERT_FALSE(marked.ok());
  EXPECT_EQ(marked.errors.front().where, "followed_from");
}

// Through the HTTP face: every write route touching a followed record answers 409 naming the
// owner and its addresses; the read routes show the mark.
TEST_F(FollowTest, EveryWriteRouteAnswers409NamingTheOwnerAndReadsShowTheMark) {
  lead(version_doc("billing", "1.0.0", R"(, "instances": [)" + instance_doc("b1") + "]"));
  lead(version_doc("users", "1.0.0"));
  lead(contract_doc("1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  net::EventLoop loop;  // times blocking queries; not run here
  HttpApi api(loop, *registry_, {});
  auto call = [&](std::string method, std::string target, std::string body = {}) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    EXPECT_TRUE(net::parse_target(req)) << req.target;
    return api.handle(req);
  };
  const std::string version = "/v1/services/billing/versions/1.0.0";
  const std::string pact_body = R"({"provider_range": "^1.0.0", "pact": )" + kPact + "}";
  const std::vector<std::tuple<std::string, std::string, std::string>> writes{
      {"PUT", version, version_doc("billing", "1.0.0")},
      {"PUT", version + "?dry_run=true", version_doc("billing", "1.0.0")},
      {"PUT", "/v1/services/billing/versions/2.0.0", version_doc("billing", "2.0.0")},
      {"DELETE", version, ""},
      {"POST", version + "/lifecycle", R"({"stage": "stable"})"},
      {"PUT", "/v1/services/billing/compatibility", R"({"mode": "NONE"})"},
      {"PUT", "/v1/services/billing/lifecycle-policy", R"({"sunset_after_days": 5})"},
      {"PUT", version + "/instances/b9", instance_doc("b9")},
      {"DELETE", version + "/instances/b1", ""},
      {"PUT", version + "/instances/b1/heartbeat", ""},
      {"POST", version + "/instances/b1/heartbeat", ""},
      {"PUT", "/v1/contracts/billing/1.0.0/users", pact_body},
      {"DELETE", "/v1/contracts/billing/1.0.0/users", ""},
      {"POST", "/v1/registry", R"({"services": [{"name": "billing", "versions": [{"version": "3.0.0",
          "lifecycle_stage": "beta", "owner_team": "t"}]}]})"},
  };
  const uint64_t revision = registry_->revision();
  for (auto& [method, target, body] : writes) {
    auto r = call(method, target, body);
    // A dry run answers what the write would get, in a 200 (accepted: false).
    const bool dry_run = target.find("dry_run") != std::string::npos;
    EXPECT_EQ(r.status, dry_run ? 200u : 409u) << method << " " << target << ": " << r.body;
    EXPECT_NE(r.body.find(R"("code":"followed_record")"), std::string::npos) << method << " " << target;
    EXPECT_NE(r.body.find("followed from registry global (10.0.0.1:7071, 10.0.0.2:7071); write it there"),
              std::string::npos)
        << method << " " << target << ": " << r.body;
  }
  EXPECT_EQ(registry_->revision(), revision);

  const std::string mark = R"("followed_from":"global")";
  const std::vector<std::string> reads{"/v1/services/billing",           version,
                                       "/v1/services/billing/versions",  "/v1/services/billing/instances",
                                       "/v1/services?team=team-a",       "/v1/contracts",
                                       "/v1/contracts/billing/1.0.0/users"};
  for (const std::string& target : reads) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    EXPECT_NE(r.body.find(mark), std::string::npos) << target << ": " << r.body;
  }
  // A client sending the mark is refused at that field.
  auto marked =
      call("PUT", "/v1/services/web/versions/1.0.0", version_doc("web", "1.0.0", R"(, "followed_from": "x")"));
  EXPECT_EQ(marked.status, 400u) << marked.body;
  EXPECT_NE(marked.body.find(R"("path":"followed_from")"), std::string::npos) << marked.body;
}

// A name is whoever's had it first: a followed record whose name is this server's own is skipped
// (and counted), and a local write to a followed name is refused (above).
TEST_F(FollowTest, ALocalServiceIsNotOverwrittenByAFollowedOneOfTheSameName) {
  ASSERT_TRUE(put_version(version_doc("billing", "1.0.0", R"(, "description": "ours")")));
  lead(version_doc("billing", "1.0.0", R"(, "description": "theirs", "instances": [)" + instance_doc("b1") + "]"));
  lead(version_doc("billing", "1.5.0"));
  lead(version_doc("users", "1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  EXPECT_EQ(registry_->version("billing", "1.0.0")->description()->str(), "ours");
  EXPECT_FALSE(registry_->version("billing", "1.0.0")->followed_from());
  EXPECT_FALSE(registry_->version("billing", "1.5.0"));
  EXPECT_TRUE(registry_->instances("billing", std::nullopt).empty());
  EXPECT_EQ(registry_->followed_from("users"), "global");
  EXPECT_EQ(registry_->metrics().follow_conflicts.at("global"), 3u);  // two versions and an instance
  ASSERT_TRUE(put_version(version_doc("billing", "1.1.0")));          // still the follower's own

  // Deltas too; and the leader removing its billing leaves the follower's alone.
  lead(version_doc("billing", "1.6.0"));
  ASSERT_TRUE(leader_->delete_version({"billing", "1.0.0"}));
  follow_deltas();
  EXPECT_FALSE(registry_->version("billing", "1.6.0"));
  EXPECT_EQ(registry_->version("billing", "1.0.0")->description()->str(), "ours");
  EXPECT_EQ(registry_->metrics().follow_conflicts.at("global"), 4u);
}

// The owner keeps a followed record's lease and lifecycle: the follower expires and moves nothing.
TEST_F(FollowTest, FollowedInstancesAndVersionsFollowOnlyTheirOwnersTimers) {
  lead(version_doc("billing", "1.0.0", R"(, "instances": [)" + instance_doc("b1") + "]"));
  ASSERT_TRUE(leader_->transition({"billing", "1.0.0"}, wire::LifecycleStage::Stable, ""));
  ASSERT_TRUE(leader_->transition({"billing", "1.0.0"}, wire::LifecycleStage::Deprecated, "old"));
  ASSERT_TRUE(follow_snapshot());
  ASSERT_TRUE(put_version(version_doc("web", "1.0.0", R"(, "instances": [)" + instance_doc("w1") + "]")));
  now_ += 400LL * 24 * 3600 * 1000;  // past every lease and every scheduled sunset and retirement
  ASSERT_TRUE(registry_->expire_leases());
  ASSERT_TRUE(registry_->advance_lifecycle());
  EXPECT_EQ(registry_->instances("billing", std::nullopt).size(), 1u);
  EXPECT_TRUE(registry_->instances("web", std::nullopt).empty());  // the follower's own lease ran out
  EXPECT_EQ(registry_->version("billing", "1.0.0")->stage(), wire::LifecycleStage::Deprecated);
  reopen();  // nor after a restart, which grants the follower's own instances new leases
  now_ += 400LL * 24 * 3600 * 1000;
  ASSERT_TRUE(registry_->expire_leases());
  EXPECT_EQ(registry_->instances("billing", std::nullopt).size(), 1u);
}

// Local services may depend on followed ones: the follower's graph, and so what its agents
// receive, resolves across them.
TEST_F(FollowTest, LocalDependenciesResolveToFollowedVersions) {
  lead(version_doc("users", "1.2.0"));
  ASSERT_TRUE(leader_->transition({"users", "1.2.0"}, wire::LifecycleStage::Stable, ""));
  ASSERT_TRUE(follow_snapshot());
  auto out = put_version(version_doc("web", "1.0.0", R"(, "dependencies": [{"service": "users", "range": "^1.0.0"}])"));
  ASSERT_TRUE(out) << out.error().error.message;
  auto resolved = registry_->graph().resolve("users", "^1.0.0");
  ASSERT_TRUE(resolved.resolved());
  EXPECT_EQ(resolved.target.version, "1.2.0");

  // A followed upgrade re-resolves the local dependent, in the delta the follower's agents get.
  lead(version_doc("users", "1.3.0"));
  ASSERT_TRUE(leader_->transition({"users", "1.3.0"}, wire::LifecycleStage::Stable, ""));
  const uint64_t before = registry_->revision();
  follow_deltas();
  auto frames = registry_->frames_since(before);
  ASSERT_TRUE(frames);
  std::vector<std::vector<uint8_t>> keep;
  std::map<std::string, std::string> web_resolves;
  for (auto* delta : payloads<wire::Delta>(*frames, keep))
    if (delta->resolutions())
      for (auto* r : *delta->resolutions())
        if (r->bytes_nested_root()->name()->str() == "web")
          web_resolves["users"] = r->bytes_nested_root()->versions()->Get(0)->resolved()->Get(0)->str();
  EXPECT_EQ(web_resolves["users"], "1.3.0");
}

// A delta that does not start where the follower stands is refused, changing nothing: the
// follower's link reconnects and resumes from where it stands.
TEST_F(FollowTest, ADeltaFromAnotherRevisionIsRefused) {
  lead(version_doc("users", "1.0.0"));
  ASSERT_TRUE(follow_snapshot());
  const uint64_t start = registry_->follow_point("global").revision;
  lead(version_doc("users", "1.1.0"));
  lead(version_doc("users", "1.2.0"));
  auto frames = leader_->frames_since(start);
  ASSERT_TRUE(frames);
  ASSERT_EQ(frames->size(), 2u);
  std::vector<std::vector<uint8_t>> keep;
  auto deltas = payloads<wire::Delta>(*frames, keep);
  const uint64_t revision = registry_->revision();
  auto out = registry_->apply_followed_delta("global", *deltas[1]);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().error.code, "follow_gap");
  EXPECT_EQ(registry_->revision(), revision);
  EXPECT_FALSE(registry_->version("users", "1.2.0"));
}

}  // namespace
}  // namespace roster::upstream
