// What the server sends agents for a service (model/service_resolution.hpp): which services a
// change re-resolves, and each one's versions in order, "latest" and resolved dependencies.
#include "roster/model/service_resolution.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roster::model {
namespace {

using Stage = wire::LifecycleStage;
using Names = std::vector<std::string>;

struct Decoded {
  std::vector<uint8_t> bytes;
  const wire::ServiceResolution* root() const { return flatbuffers::GetRoot<wire::ServiceResolution>(bytes.data()); }
  std::vector<std::string> versions() const {
    std::vector<std::string> out;
    for (auto* v : *root()->versions()) out.push_back(v->version()->str());
    return out;
  }
  std::vector<std::string> resolved(size_t version) const {
    std::vector<std::string> out;
    if (auto* list = root()->versions()->Get(static_cast<flatbuffers::uoffset_t>(version))->resolved())
      for (auto* r : *list) out.push_back(r->str());
    return out;
  }
};

Decoded resolution_of(const DependencyGraph& g, std::string_view name) {
  Decoded d{resolution_record(g, name)};
  flatbuffers::Verifier verifier(d.bytes.data(), d.bytes.size());
  EXPECT_TRUE(verifier.VerifyBuffer<wire::ServiceResolution>(nullptr));
  return d;
}

TEST(ServiceResolution, AChangeReResolvesItsServiceAndTheDependentsWhoseEdgesMove) {
  DependencyGraph g;
  ASSERT_TRUE(g.upsert({"api", "1.0.0", Stage::Stable, {}}));
  ASSERT_TRUE(g.upsert({"api", "2.0.0-rc.1", Stage::Beta, {}}));
  ASSERT_TRUE(g.upsert({"web", "1.0.0", Stage::Stable, {{"api", "^1.0.0"}, {"db", "*"}}}));
  ASSERT_TRUE(g.upsert({"cli", "1.0.0", Stage::Stable, {{"api", "~1.0.0"}}}));
  EXPECT_EQ(g.take_changed_services(), (Names{"api", "cli", "web"}));
  EXPECT_EQ(g.take_changed_services(), Names{});

  // web's range chooses the new version, cli's does not: api and web only.
  ASSERT_TRUE(g.upsert({"api", "1.1.0", Stage::Stable, {}}));
  EXPECT_EQ(g.take_changed_services(), (Names{"api", "web"}));
  // A version no range moves to: api alone.
  ASSERT_TRUE(g.upsert({"api", "0.9.0", Stage::Stable, {}}));
  EXPECT_EQ(g.take_changed_services(), Names{"api"});

  const Decoded api = resolution_of(g, "api");
  EXPECT_EQ(api.root()->name()->str(), "api");
  EXPECT_EQ(api.versions(), (Names{"0.9.0", "1.0.0", "1.1.0", "2.0.0-rc.1"}));  // by precedence
  EXPECT_FALSE(api.root()->versions()->Get(2)->prerelease());
  EXPECT_TRUE(api.root()->versions()->Get(3)->prerelease());
  EXPECT_EQ(api.root()->latest(), 2u);      // the highest stable release
  EXPECT_EQ(api.root()->latest_any(), 3u);  // any stage
  const Decoded web = resolution_of(g, "web");
  EXPECT_EQ(web.resolved(0), (Names{"1.1.0", ""}));  // db is not registered

  // Retiring what web resolves to moves it back; removing a version moves the dependents on it.
  ASSERT_TRUE(g.upsert({"api", "1.1.0", Stage::Retired, {}}));
  EXPECT_EQ(g.take_changed_services(), (Names{"api", "web"}));
  EXPECT_EQ(resolution_of(g, "web").resolved(0), (Names{"1.0.0", ""}));
  EXPECT_TRUE(g.remove("api", "1.0.0"));
  EXPECT_EQ(g.take_changed_services(), (Names{"api", "cli", "web"}));
  EXPECT_EQ(resolution_of(g, "cli").resolved(0), Names{""});
}

TEST(ServiceResolution, AServiceWithNoVersionHasAnEmptyListAndNoLatest) {
  DependencyGraph g;
  ASSERT_TRUE(g.upsert({"api", "1.0.0-alpha", Stage::Development, {}}));
  const Decoded api = resolution_of(g, "api");
  EXPECT_EQ(api.versions(), Names{"1.0.0-alpha"});
  EXPECT_EQ(api.root()->latest(), 0xffffffffu);  // neither a release nor choosable
  EXPECT_EQ(api.root()->latest_any(), 0u);
  EXPECT_TRUE(g.remove("api", "1.0.0-alpha"));
  const Decoded gone = resolution_of(g, "api");
  EXPECT_EQ(gone.versions(), Names{});
  EXPECT_EQ(gone.root()->latest(), 0xffffffffu);
  EXPECT_EQ(gone.root()->latest_any(), 0xffffffffu);
}

}  // namespace
}  // namespace roster::model
