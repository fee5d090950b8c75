// Tests for model/graph: resolution as versions come and go, cycles, trees, impact, upgrade
// reports, and a randomized check of the incremental caches against a from-scratch oracle.
#include "roster/model/graph.hpp"

#include <gtest/gtest.h>

#include "../lifecycle_oracle.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace roster::model {
namespace {

using Status = ResolutionStatus;
using Stage = wire::LifecycleStage;
using Mark = TreeNode::Mark;

// Every declaration as "from -> service range = target-or-status", in the graph's order.
std::vector<std::string> edges_of(const DependencyGraph& g) {
  std::vector<std::string> out;
  g.for_each_dependency([&](const VersionRef& from, const DependencyDecl& d, const Resolution& r) {
    out.push_back(from.to_string() + " -> " + d.service + " " + d.range + " = " +
                  (r.resolved() ? r.target.to_string() : std::string(to_string(r.status))));
  });
  return out;
}

std::vector<std::string> cycle_strings(const CycleReport& report) {
  std::vector<std::string> out;
  for (const auto& cycle : report.cycles) {
    std::string text;
    for (const VersionRef& r : cycle) text += (text.empty() ? "" : " > ") + r.to_string();
    out.push_back(text);
  }
  return out;
}

std::vector<std::string> path_strings(const std::vector<VersionRef>& path) {
  std::vector<std::string> out;
  for (const VersionRef& r : path) out.push_back(r.to_string());
  return out;
}

class GraphTest : public ::testing::Test {
 protected:
  void add(const std::string& name, const std::string& version, std::vector<DependencyDecl> deps = {},
           Stage stage = Stage::Stable) {
    auto added = graph.upsert({name, version, stage, std::move(deps)});
    ASSERT_TRUE(added) << added.error().message;
  }

  // "name@version" of the resolution, or its status when it does not resolve.
  std::string resolved(std::string_view service, std::string_view range) const {
    Resolution r = graph.resolve(service, range);
    return r.resolved() ? r.target.to_string() : std::string(to_string(r.status));
  }

  std::vector<std::string> resolving_to(std::string_view name, std::string_view version) const {
    std::vector<std::string> out;
    for (const Dependent& d : graph.dependents_resolving_to(name, version)) out.push_back(d.from.to_string());
    return out;
  }

  std::vector<std::string> edges() const { return edges_of(graph); }
  std::vector<std::string> cycles(size_t limit = 1000) const { return cycle_strings(graph.cycles(limit)); }

  DependencyGraph graph;
};

// ---------------------------------------------------------------------------------------------
// Resolution

TEST_F(GraphTest, ResolvesToHighestSatisfyingAndMovesAsVersionsComeAndGo) {
  add("lib", "1.0.0");
  add("lib", "1.2.0");
  add("lib", "2.0.0");
  add("app", "1.0.0", {{"lib", "^1.0.0"}});
  EXPECT_EQ(resolved("lib", "^1.0.0"), "lib@1.2.0");
  EXPECT_EQ(resolving_to("lib", "1.2.0"), std::vector<std::string>{"app@1.0.0"});

  add("lib", "1.3.0");  // registered after the dependent: its declaration moves
  EXPECT_EQ(resolving_to("lib", "1.3.0"), std::vector<std::string>{"app@1.0.0"});
  EXPECT_TRUE(resolving_to("lib", "1.2.0").empty());
  EXPECT_EQ(edges(), std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = lib@1.3.0"});

  ASSERT_TRUE(graph.remove("lib", "1.3.0"));
  EXPECT_EQ(edges(), std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = lib@1.2.0"});
  ASSERT_TRUE(graph.remove("lib", "1.2.0"));
  ASSERT_TRUE(graph.remove("lib", "1.0.0"));
  EXPECT_EQ(edges(), std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = no-match"});
  ASSERT_TRUE(graph.remove("lib", "2.0.0"));
  EXPECT_EQ(edges(), std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = no-such-service"});
  EXPECT_FALSE(graph.remove("lib", "2.0.0"));
  EXPECT_EQ(graph.version_count(), 1u);
}

TEST_F(GraphTest, ComparesByPrecedenceNotText) {
  add("lib", "1.9.0");
  add("lib", "1.10.0");
  add("app", "1.0.0", {{"lib", "^1.0.0"}});
  EXPECT_EQ(resolved("lib", "^1.0.0"), "lib@1.10.0");
  EXPECT_EQ(resolving_to("lib", "1.10.0"), std::vector<std::string>{"app@1.0.0"});
}

TEST_F(GraphTest, RetiredVersionsAreSkippedAndOnlyRetiredIsReported) {
  add("lib", "1.0.0", {}, Stage::Deprecated);
  add("lib", "1.1.0", {}, Stage::Sunset);  // sunset still resolves (no stable version fits)
  add("lib", "1.2.0", {}, Stage::Retired);
  add("app", "1.0.0", {{"lib", "^1.0.0"}, {"lib", "1.2.x"}});
  EXPECT_EQ(edges(),
            (std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = lib@1.1.0", "app@1.0.0 -> lib 1.2.x = only-retired"}));
  Resolution r = graph.resolve("lib", "^1.0.0");
  EXPECT_EQ(r.stage, Stage::Sunset);

  add("lib", "1.1.0", {}, Stage::Retired);  // the stage changes: its dependents move down
  EXPECT_EQ(resolved("lib", "^1.0.0"), "lib@1.0.0");
  EXPECT_EQ(resolving_to("lib", "1.0.0"), std::vector<std::string>{"app@1.0.0"});
  add("lib", "1.0.0", {}, Stage::Retired);
  EXPECT_EQ(resolved("lib", "^1.0.0"), "only-retired");
  EXPECT_EQ(graph.unresolved().size(), 2u);

  ASSERT_TRUE(graph.remove("lib", "1.2.0"));  // the retired one that matched 1.2.x is gone
  EXPECT_EQ(edges()[1], "app@1.0.0 -> lib 1.2.x = no-match");
}

TEST_F(GraphTest, PreReleasesOnlyWhereTheRangeAsksForThem) {
  add("lib", "1.0.0");
  add("lib", "1.5.0-beta.1");
  add("app", "1.0.0", {{"lib", "^1.0.0"}, {"lib", "^1.5.0-beta.0"}});
  EXPECT_EQ(edges(), (std::vector<std::string>{"app@1.0.0 -> lib ^1.0.0 = lib@1.0.0",
                                               "app@1.0.0 -> lib ^1.5.0-beta.0 = lib@1.5.0-beta.1"}));
  add("lib", "1.5.0");  // the release outranks its pre-release in both
  EXPECT_EQ(resolving_to("lib", "1.5.0"), (std::vector<std::string>{"app@1.0.0", "app@1.0.0"}));
  add("lib", "2.0.0-rc.1");
  EXPECT_EQ(resolved("lib", ">=1.0.0"), "lib@1.5.0");
  EXPECT_EQ(resolved("lib", ">=2.0.0-rc.0"), "lib@2.0.0-rc.1");
}

// docs/lifecycle.md: stable first, then deprecated or sunset, then beta; never proposed or
// development. The issue's case: a proposal above every release takes nothing over.
TEST_F(GraphTest, ResolutionChoosesByLifecycleTierThenPrecedence) {
  add("lib", "1.0.0");
  add("lib", "1.5.0", {}, Stage::Deprecated);
  add("lib", "2.0.0", {}, Stage::Beta);
  add("lib", "4.0.0", {}, Stage::Proposed);
  add("lib", "4.1.0", {}, Stage::Development);
  add("app", "1.0.0", {{"lib", ">=1.0.0"}, {"lib", ">=1.1.0"}, {"lib", ">=2.0.0"}, {"lib", ">=4.0.0"}});
  EXPECT_EQ(edges(), (std::vector<std::string>{"app@1.0.0 -> lib >=1.0.0 = lib@1.0.0",  // stable over all above it
                                               "app@1.0.0 -> lib >=1.1.0 = lib@1.5.0",  // deprecated over beta
                                               "app@1.0.0 -> lib >=2.0.0 = lib@2.0.0",  // beta when nothing else fits
                                               "app@1.0.0 -> lib >=4.0.0 = only-unreleased"}));
  EXPECT_EQ(graph.resolve("lib", ">=4.0.0").status, ResolutionStatus::OnlyUnreleased);

  // Moves along the lifecycle re-resolve what they change, and only that.
  add("lib", "4.0.0", {}, Stage::Beta);
  EXPECT_EQ(resolved("lib", ">=4.0.0"), "lib@4.0.0");
  EXPECT_EQ(resolved("lib", ">=2.0.0"), "lib@4.0.0");  // the higher beta
  add("lib", "2.0.0", {}, Stage::Stable);
  EXPECT_EQ(edges(), (std::vector<std::string>{"app@1.0.0 -> lib >=1.0.0 = lib@2.0.0",
                                               "app@1.0.0 -> lib >=1.1.0 = lib@2.0.0",
                                               "app@1.0.0 -> lib >=2.0.0 = lib@2.0.0",
                                               "app@1.0.0 -> lib >=4.0.0 = lib@4.0.0"}));
  add("lib", "2.0.0", {}, Stage::Deprecated);  // back to the tier of 1.5.0, above it: 1.0.0 is stable
  EXPECT_EQ(resolved("lib", ">=1.0.0"), "lib@1.0.0");
  EXPECT_EQ(resolved("lib", ">=1.1.0"), "lib@2.0.0");
  EXPECT_EQ(resolved("lib", ">=2.0.0"), "lib@2.0.0");  // deprecated over the higher beta
  EXPECT_EQ(resolving_to("lib", "2.0.0"), (std::vector<std::string>{"app@1.0.0", "app@1.0.0"}));
}

// Removing or retiring a version strands a dependency that only unreleased versions would satisfy.
TEST_F(GraphTest, OnlyAChoosableVersionKeepsADependencyFromBeingStranded) {
  add("lib", "1.0.0");
  add("lib", "1.1.0", {}, Stage::Proposed);
  add("lib", "1.2.0", {}, Stage::Beta);
  add("app", "1.0.0", {{"lib", "~1.1.0"}, {"lib", "^1.0.0"}});
  EXPECT_EQ(edges()[0], "app@1.0.0 -> lib ~1.1.0 = only-unreleased");
  // ^1.0.0 resolves to 1.0.0; without it the beta 1.2.0 takes over, so nothing is stranded.
  EXPECT_TRUE(graph.stranded_without("lib", "1.0.0").empty());
  add("app", "1.0.0", {{"lib", ">=1.0.0 <1.2.0"}});
  // The proposed 1.1.0 fits the range but is never chosen: removing 1.0.0 strands the dependency.
  ASSERT_EQ(graph.stranded_without("lib", "1.0.0").size(), 1u);
}

TEST_F(GraphTest, ResolveReportsEveryStatus) {
  add("lib", "1.0.0");
  add("old", "1.0.0", {}, Stage::Retired);
  EXPECT_EQ(graph.resolve("lib", "~1.0.0").status, Status::Resolved);
  EXPECT_EQ(graph.resolve("lib", "~1.0.0").target, (VersionRef{"lib", "1.0.0"}));
  EXPECT_EQ(graph.resolve("nope", "^1.0.0").status, Status::NoSuchService);
  EXPECT_EQ(graph.resolve("lib", "^2.0.0").status, Status::NoMatch);
  EXPECT_EQ(graph.resolve("old", "*").status, Status::OnlyRetired);
  EXPECT_EQ(graph.resolve("lib", "^^1").status, Status::InvalidRange);
}

TEST_F(GraphTest, UnresolvedListsEachKindSorted) {
  add("lib", "1.0.0");
  add("lib", "0.9.0", {}, Stage::Retired);
  add("web", "2.0.0", {{"ghost", "^1.0.0"}, {"lib", "^1.0.0"}});
  add("app", "1.0.0", {{"lib", ">=5.0.0"}, {"lib", "0.9.x"}});
  std::vector<UnresolvedDependency> want = {
      {{"app", "1.0.0"}, {"lib", ">=5.0.0"}, Status::NoMatch},
      {{"app", "1.0.0"}, {"lib", "0.9.x"}, Status::OnlyRetired},
      {{"web", "2.0.0"}, {"ghost", "^1.0.0"}, Status::NoSuchService},
  };
  EXPECT_EQ(graph.unresolved(), want);
  add("ghost", "1.4.0");
  want.pop_back();
  EXPECT_EQ(graph.unresolved(), want);
}

TEST_F(GraphTest, InvalidInputIsRejectedWithoutChangingTheGraph) {
  add("lib", "1.0.0");
  add("app", "1.0.0", {{"lib", "^1.0.0"}});
  const std::vector<std::string> before = edges();

  auto e = graph.upsert({"app", "1.0", Stage::Stable, {}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("1.0"), std::string::npos) << e.error().message;
  e = graph.upsert({"app", "1.0.0", Stage::Stable, {{"lib", "^2.0.0"}, {"lib", "^^1"}}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("^^1"), std::string::npos) << e.error().message;
  EXPECT_EQ(e.error().where, "dependencies[1]");
  EXPECT_FALSE(graph.upsert({"", "1.0.0", Stage::Stable, {}}));
  EXPECT_FALSE(graph.upsert({"app", "2.0.0", Stage::Stable, {{"", "^1.0.0"}}}));

  EXPECT_EQ(edges(), before);
  EXPECT_EQ(graph.version_count(), 2u);
  EXPECT_EQ(resolved("lib", "^2.0.0"), "no-match");
}

TEST_F(GraphTest, ReplacingAVersionReplacesItsDeclarations) {
  add("a", "1.0.0");
  add("b", "1.0.0");
  add("app", "1.0.0", {{"a", "^1.0.0"}});
  add("app", "1.0.0", {{"b", "^1.0.0"}, {"b", "1.x"}});
  EXPECT_TRUE(resolving_to("a", "1.0.0").empty());
  EXPECT_EQ(resolving_to("b", "1.0.0"), (std::vector<std::string>{"app@1.0.0", "app@1.0.0"}));
  EXPECT_EQ(graph.version_count(), 3u);
}

TEST_F(GraphTest, RemovingADependentForgetsItsDeclarations) {
  add("lib", "1.0.0");
  add("app", "1.0.0", {{"lib", "^1.0.0"}, {"ghost", "1"}});
  ASSERT_TRUE(graph.remove("app", "1.0.0"));
  EXPECT_TRUE(resolving_to("lib", "1.0.0").empty());
  EXPECT_TRUE(graph.unresolved().empty());
  EXPECT_TRUE(edges().empty());
  EXPECT_TRUE(graph.impact("lib").empty());
}

TEST_F(GraphTest, BuildMetadataDistinguishesVersionsOfEqualPrecedence) {
  add("lib", "1.0.0+a");
  add("lib", "1.0.0+b");
  EXPECT_EQ(graph.version_count(), 2u);
  EXPECT_EQ(resolved("lib", "1.0.0"), "lib@1.0.0+b");  // ties go by text
  ASSERT_TRUE(graph.remove("lib", "1.0.0+b"));
  EXPECT_FALSE(graph.remove("lib", "1.0.0"));
  EXPECT_EQ(resolved("lib", "1.0.0"), "lib@1.0.0+a");
}

// ---------------------------------------------------------------------------------------------
// Cycles

TEST_F(GraphTest, SelfDependencyIsACycleOfOne) {
  add("a", "1.0.0", {{"a", "^1.0.0"}});
  EXPECT_EQ(cycles(), std::vector<std::string>{"a@1.0.0"});
}

TEST_F(GraphTest, CyclesOfTwoAndSixRotatedToTheirSmallestMember) {
  add("b", "1.0.0", {{"a", "^1.0.0"}});
  add("a", "1.0.0", {{"b", "^1.0.0"}});
  // m → c → t → q → z → k → m: reported from c.
  add("m", "1.0.0", {{"c", "1"}});
  add("c", "1.0.0", {{"t", "1"}});
  add("t", "1.0.0", {{"q", "1"}});
  add("q", "1.0.0", {{"z", "1"}});
  add("z", "1.0.0", {{"k", "1"}});
  add("k", "1.0.0", {{"m", "1"}});
  const CycleReport report = graph.cycles();
  EXPECT_FALSE(report.truncated);
  EXPECT_EQ(
      cycle_strings(report),
      (std::vector<std::string>{"a@1.0.0 > b@1.0.0", "c@1.0.0 > t@1.0.0 > q@1.0.0 > z@1.0.0 > k@1.0.0 > m@1.0.0"}));
}

TEST_F(GraphTest, TwoCyclesSharingANodeAreEachReportedOnce) {
  add("x", "1.0.0", {{"y", "1"}, {"z", "1"}});
  add("y", "1.0.0", {{"x", "1"}});
  add("z", "1.0.0", {{"x", "1"}, {"w", "1"}});
  add("w", "1.0.0", {{"z", "1"}});
  EXPECT_EQ(cycles(), (std::vector<std::string>{"w@1.0.0 > z@1.0.0", "x@1.0.0 > y@1.0.0", "x@1.0.0 > z@1.0.0"}));
}

TEST_F(GraphTest, CyclesFollowResolvedEdgesOnly) {
  add("a", "1.0.0", {{"b", "^1.0.0"}});
  add("b", "1.0.0", {{"a", "^1.0.0"}});
  add("b", "1.1.0", {{"a", "^2.0.0"}});  // a now resolves to b@1.1.0, whose back edge does not resolve
  EXPECT_TRUE(cycles().empty());
  add("b", "1.1.0", {}, Stage::Retired);  // back to b@1.0.0
  EXPECT_EQ(cycles(), std::vector<std::string>{"a@1.0.0 > b@1.0.0"});
  // Two declarations resolving to the same version are one edge, so still one cycle.
  add("a", "1.0.0", {{"b", "^1.0.0"}, {"b", "1.0.x"}});
  EXPECT_EQ(cycles(), std::vector<std::string>{"a@1.0.0 > b@1.0.0"});
}

TEST_F(GraphTest, CycleLimitTruncatesDeterministically) {
  // Five versions each depending on all others: 10 + 20 + 30 + 24 = 84 elementary cycles.
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  for (const auto& n : names) {
    std::vector<DependencyDecl> deps;
    for (const auto& m : names)
      if (m != n) deps.push_back({m, "^1.0.0"});
    add(n, "1.0.0", deps);
  }
  const std::vector<std::string> all = cycles();
  EXPECT_EQ(all.size(), 84u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 84u);
  for (const auto& c : graph.cycles().cycles) EXPECT_EQ(c.front(), *std::min_element(c.begin(), c.end()));
  EXPECT_FALSE(graph.cycles(84).truncated);
  const CycleReport some = graph.cycles(10);
  EXPECT_TRUE(some.truncated);
  EXPECT_EQ(some.cycles.size(), 10u);
  EXPECT_EQ(cycle_strings(graph.cycles(10)), cycle_strings(some));
  for (const auto& c : cycle_strings(some)) EXPECT_NE(std::find(all.begin(), all.end(), c), all.end()) << c;
  EXPECT_TRUE(graph.cycles(0).truncated);
}

// ---------------------------------------------------------------------------------------------
// Trees

// top → left → base → leaf, top → right → base: the second base is Deduped.
class DiamondTest : public GraphTest {
 protected:
  void SetUp() override {
    add("leaf", "1.0.0");
    add("base", "1.0.0", {{"leaf", "^1.0.0"}});
    add("left", "1.0.0", {{"base", "^1.0.0"}});
    add("right", "1.0.0", {{"base", "~1.0.0"}});
    add("top", "1.0.0", {{"left", "1"}, {"right", "1"}, {"ghost", "^3.0.0"}});
  }
};

TEST_F(DiamondTest, TreeExpandsEachVersionOnceAndMarksTheRestDeduped) {
  auto tree = graph.tree("top", "1.0.0");
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(tree->ref.to_string(), "top@1.0.0");
  ASSERT_EQ(tree->children.size(), 3u);
  const TreeNode& left = tree->children[0];
  EXPECT_EQ(left.ref.to_string(), "left@1.0.0");
  EXPECT_EQ(left.range, "1");
  ASSERT_EQ(left.children.size(), 1u);
  const TreeNode& base = left.children[0];
  EXPECT_EQ(base.mark, Mark::None);
  ASSERT_EQ(base.children.size(), 1u);
  EXPECT_EQ(base.children[0].ref.to_string(), "leaf@1.0.0");
  EXPECT_TRUE(base.children[0].children.empty());

  const TreeNode& right = tree->children[1];
  ASSERT_EQ(right.children.size(), 1u);
  EXPECT_EQ(right.children[0].ref.to_string(), "base@1.0.0");
  EXPECT_EQ(right.children[0].range, "~1.0.0");
  EXPECT_EQ(right.children[0].mark, Mark::Deduped);
  EXPECT_TRUE(right.children[0].children.empty());

  const TreeNode& ghost = tree->children[2];
  EXPECT_EQ(ghost.status, Status::NoSuchService);
  EXPECT_EQ(ghost.ref, (VersionRef{"ghost", ""}));
  EXPECT_EQ(ghost.range, "^3.0.0");

  EXPECT_FALSE(graph.tree("top", "9.9.9").has_value());
  EXPECT_FALSE(graph.tree("nope", "1.0.0").has_value());
}

TEST_F(DiamondTest, ImpactListsEachDependentOnceWithAShortestPath) {
  const auto impact = graph.impact("leaf");
  ASSERT_EQ(impact.size(), 4u);
  EXPECT_EQ(impact[0].dependent.to_string(), "base@1.0.0");
  EXPECT_EQ(impact[0].depth, 1u);
  EXPECT_EQ(impact[0].range, "^1.0.0");
  EXPECT_EQ(impact[1].dependent.to_string(), "left@1.0.0");
  EXPECT_EQ(impact[2].dependent.to_string(), "right@1.0.0");
  EXPECT_EQ(impact[2].range, "~1.0.0");
  EXPECT_EQ(impact[3].dependent.to_string(), "top@1.0.0");
  EXPECT_EQ(impact[3].depth, 3u);
  EXPECT_EQ(path_strings(impact_path(impact, 3)),
            (std::vector<std::string>{"top@1.0.0", "left@1.0.0", "base@1.0.0", "leaf@1.0.0"}));
  EXPECT_EQ(impact[0].via, ImpactEntry::kTarget);
  EXPECT_EQ(impact[1].via, 0u);
  EXPECT_EQ(impact[3].via, 1u);
  for (const ImpactEntry& e : impact) EXPECT_EQ(e.target.to_string(), "leaf@1.0.0");
  EXPECT_EQ(impact[3].range, "1");

  add("top", "1.0.0", {{"left", "1"}, {"right", "1"}, {"base", ">=1.0.0"}});  // a shortcut
  const auto shorter = graph.impact("leaf");
  ASSERT_EQ(shorter.size(), 4u);
  EXPECT_EQ(shorter[3].dependent.to_string(), "top@1.0.0");  // after left and right, also at depth 2
  EXPECT_EQ(shorter[3].depth, 2u);
  EXPECT_EQ(path_strings(impact_path(shorter, 3)), (std::vector<std::string>{"top@1.0.0", "base@1.0.0", "leaf@1.0.0"}));
  EXPECT_EQ(shorter[3].via, 0u);
  EXPECT_EQ(shorter[3].range, ">=1.0.0");
}

TEST_F(GraphTest, TreeMarksCyclesAndStopsAtMaxDepth) {
  add("a", "1.0.0", {{"b", "1"}});
  add("b", "1.0.0", {{"c", "1"}});
  add("c", "1.0.0", {{"d", "1"}, {"a", "1"}});
  add("d", "1.0.0");

  auto full = graph.tree("a", "1.0.0");
  ASSERT_TRUE(full.has_value());
  const TreeNode& c = full->children.at(0).children.at(0);
  ASSERT_EQ(c.children.size(), 2u);
  EXPECT_EQ(c.children[0].ref.to_string(), "d@1.0.0");
  EXPECT_EQ(c.children[1].ref.to_string(), "a@1.0.0");
  EXPECT_EQ(c.children[1].mark, Mark::Cycle);

  auto shallow = graph.tree("a", "1.0.0", 2);
  ASSERT_TRUE(shallow.has_value());
  const TreeNode& b = shallow->children.at(0);
  EXPECT_EQ(b.mark, Mark::None);
  ASSERT_EQ(b.children.size(), 1u);
  EXPECT_EQ(b.children[0].ref.to_string(), "c@1.0.0");
  EXPECT_EQ(b.children[0].mark, Mark::DepthLimit);
  EXPECT_TRUE(b.children[0].children.empty());

  auto root_only = graph.tree("a", "1.0.0", 0);
  EXPECT_EQ(root_only->mark, Mark::DepthLimit);
  EXPECT_TRUE(root_only->children.empty());
  EXPECT_EQ(graph.tree("d", "1.0.0", 0)->mark, Mark::None);  // nothing to expand
}

// ---------------------------------------------------------------------------------------------
// Impact, dependents, upgrade

TEST_F(GraphTest, ImpactOfOneVersionOrTheWholeService) {
  add("base", "1.0.0");
  add("base", "2.0.0", {{"base", "^1.0.0"}});  // its own older version: not listed for the service
  add("x", "1.0.0", {{"base", "^1.0.0"}});
  add("y", "1.0.0", {{"base", "^2.0.0"}});
  add("z", "1.0.0", {{"y", "1"}});

  std::vector<std::string> got;
  for (const auto& e : graph.impact("base", "1.0.0")) got.push_back(e.dependent.to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"base@2.0.0", "x@1.0.0", "y@1.0.0", "z@1.0.0"}));

  got.clear();
  for (const auto& e : graph.impact("base", "2.0.0")) got.push_back(e.dependent.to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"y@1.0.0", "z@1.0.0"}));

  const auto all = graph.impact("base");
  got.clear();
  for (const auto& e : all) got.push_back(e.dependent.to_string() + "/" + std::to_string(e.depth));
  EXPECT_EQ(got, (std::vector<std::string>{"x@1.0.0/1", "y@1.0.0/1", "z@1.0.0/2"}));
  EXPECT_EQ(path_strings(impact_path(all, 2)), (std::vector<std::string>{"z@1.0.0", "y@1.0.0", "base@2.0.0"}));
  EXPECT_EQ(all[0].target.to_string(), "base@1.0.0");  // each entry names the target its path ends at
  EXPECT_EQ(all[1].target.to_string(), "base@2.0.0");
  EXPECT_EQ(all[2].target.to_string(), "base@2.0.0");
  EXPECT_EQ(all[2].via, 1u);
  EXPECT_EQ(path_strings(impact_path(all, 0)), (std::vector<std::string>{"x@1.0.0", "base@1.0.0"}));
  EXPECT_TRUE(impact_path(all, 3).empty());  // no such entry

  EXPECT_TRUE(graph.impact("base", "3.0.0").empty());
  EXPECT_TRUE(graph.impact("nope").empty());
}

TEST_F(GraphTest, ImpactTerminatesOnCycles) {
  add("a", "1.0.0", {{"b", "1"}});
  add("b", "1.0.0", {{"a", "1"}});
  const auto impact = graph.impact("a");
  ASSERT_EQ(impact.size(), 1u);
  EXPECT_EQ(impact[0].dependent.to_string(), "b@1.0.0");
}

TEST_F(GraphTest, DependentsResolvingToAVersion) {
  add("lib", "1.0.0", {}, Stage::Deprecated);
  add("lib", "2.0.0");
  add("b", "1.0.0", {{"lib", "^1.0.0"}});
  add("a", "1.0.0", {{"lib", "~1.0.0"}, {"lib", "*"}});
  const std::vector<Dependent> want = {{{"a", "1.0.0"}, "~1.0.0"}, {{"b", "1.0.0"}, "^1.0.0"}};
  EXPECT_EQ(graph.dependents_resolving_to("lib", "1.0.0"), want);
  EXPECT_EQ(graph.dependents_resolving_to("lib", "2.0.0"), (std::vector<Dependent>{{{"a", "1.0.0"}, "*"}}));
  EXPECT_TRUE(graph.dependents_resolving_to("lib", "3.0.0").empty());
}

TEST_F(GraphTest, UpgradeReportsChangeKindAndWhoBreaks) {
  add("caret", "1.0.0", {{"lib", "^1.0.0"}});
  add("tilde", "1.0.0", {{"lib", "~1.2.0"}});
  add("open", "1.0.0", {{"lib", ">=1.0.0"}});
  add("two", "1.0.0", {{"lib", "^2.0.0"}});
  add("beta", "1.0.0", {{"lib", "^1.3.0-beta.1"}});

  auto names = [](const std::vector<Dependent>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.from.name + " " + d.range);
    return out;
  };
  auto major = graph.upgrade("lib", "1.2.3", "2.0.0");  // neither is registered: fine
  ASSERT_TRUE(major.has_value());
  EXPECT_EQ(major->change, semver::ChangeKind::Major);
  EXPECT_EQ(names(major->breaking), (std::vector<std::string>{"caret ^1.0.0", "tilde ~1.2.0"}));
  EXPECT_EQ(names(major->compatible), std::vector<std::string>{"open >=1.0.0"});

  auto minor = graph.upgrade("lib", "1.2.3", "1.3.0");
  EXPECT_EQ(minor->change, semver::ChangeKind::Minor);
  EXPECT_EQ(names(minor->breaking), std::vector<std::string>{"tilde ~1.2.0"});
  EXPECT_EQ(names(minor->compatible), (std::vector<std::string>{"caret ^1.0.0", "open >=1.0.0"}));

  auto patch = graph.upgrade("lib", "1.2.3", "1.2.4");
  EXPECT_EQ(patch->change, semver::ChangeKind::Patch);
  EXPECT_TRUE(patch->breaking.empty());
  EXPECT_EQ(patch->compatible.size(), 3u);

  // Pre-releases: only `beta` accepts 1.3.0-beta.1; moving to the release keeps it.
  auto pre = graph.upgrade("lib", "1.3.0-beta.1", "1.3.0-beta.2");
  EXPECT_EQ(pre->change, semver::ChangeKind::Prerelease);
  EXPECT_TRUE(pre->breaking.empty());
  EXPECT_EQ(names(pre->compatible), std::vector<std::string>{"beta ^1.3.0-beta.1"});
  auto to_pre = graph.upgrade("lib", "1.2.3", "1.3.0-beta.1");
  EXPECT_EQ(names(to_pre->breaking), (std::vector<std::string>{"caret ^1.0.0", "open >=1.0.0", "tilde ~1.2.0"}));

  EXPECT_EQ(graph.upgrade("lib", "1.0.0", "1.0.0")->change, semver::ChangeKind::None);
  EXPECT_TRUE(graph.upgrade("nope", "1.0.0", "2.0.0")->breaking.empty());
  auto refused = graph.upgrade("lib", "1.2", "2.0.0");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("1.2"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(graph.upgrade("lib", "1.2.0", "v2.0.0"));
}

// impact() as it was first written, from the graph's declarations alone: breadth-first from the
// targets with each level in report order, a version's path going through the first version of
// the level above that reaches it, by its first declaration resolving there. Each entry as
// "dependent/depth/range/path...". Versions without declarations or dependents are never listed.
std::vector<std::string> oracle_impact(const DependencyGraph& g, const std::string& name,
                                       const std::optional<std::string>& version) {
  const auto before = [](const VersionRef& a, const VersionRef& b) {
    return std::make_tuple(a.name, *semver::Version::parse(a.version), a.version) <
           std::make_tuple(b.name, *semver::Version::parse(b.version), b.version);
  };
  std::map<VersionRef, std::vector<std::pair<VersionRef, std::string>>> declared_by;  // target -> (from, range)
  std::set<VersionRef> targets;
  g.for_each_dependency([&](const VersionRef& from, const DependencyDecl& d, const Resolution& r) {
    for (const VersionRef* v : {&from, r.resolved() ? &r.target : nullptr})
      if (v && v->name == name && (!version || v->version == *version)) targets.insert(*v);
    if (r.resolved()) declared_by[r.target].emplace_back(from, d.range);
  });
  std::vector<VersionRef> frontier(targets.begin(), targets.end()), order;
  std::sort(frontier.begin(), frontier.end(), before);
  std::map<VersionRef, std::pair<size_t, std::pair<VersionRef, std::string>>> seen;  // depth, (hop, range)
  for (const VersionRef& t : frontier) seen[t].first = 0;
  for (size_t level = 1; !frontier.empty(); ++level) {
    std::vector<VersionRef> next;
    for (const VersionRef& x : frontier) {
      for (const auto& [from, range] : declared_by[x]) {
        if (seen.contains(from)) continue;
        seen[from] = {level, {x, range}};
        next.push_back(from);
      }
    }
    std::sort(next.begin(), next.end(), before);
    order.insert(order.end(), next.begin(), next.end());
    frontier = std::move(next);
  }
  std::vector<std::string> out;
  for (const VersionRef& v : order) {
    const auto& [depth, hop] = seen[v];
    std::string line = v.to_string() + "/" + std::to_string(depth) + "/" + hop.second + "/";
    for (VersionRef x = v;; x = seen[x].second.first) {
      line += " " + x.to_string();
      if (seen[x].first == 0) break;
    }
    out.push_back(line);
  }
  return out;
}

// The same for an answer of impact(), checking that its `via` links form the tree they describe.
std::vector<std::string> impact_lines(const std::vector<ImpactEntry>& entries) {
  std::vector<std::string> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ImpactEntry& e = entries[i];
    if (e.depth == 1) {
      EXPECT_EQ(e.via, ImpactEntry::kTarget) << e.dependent.to_string();
    } else {
      EXPECT_LT(e.via, i) << e.dependent.to_string();
      if (e.via >= i) return {};
      EXPECT_EQ(entries[e.via].depth + 1, e.depth) << e.dependent.to_string();
      EXPECT_EQ(entries[e.via].target, e.target) << e.dependent.to_string();
    }
    const auto path = impact_path(entries, i);
    EXPECT_EQ(path.size(), e.depth + 1);
    EXPECT_EQ(path.front(), e.dependent);
    EXPECT_EQ(path.back(), e.target);
    std::string line = e.dependent.to_string() + "/" + std::to_string(e.depth) + "/" + e.range + "/";
    for (const VersionRef& x : path) line += " " + x.to_string();
    out.push_back(line);
  }
  return out;
}

// Large enough (over 4096 dependents) for impact() to sort by precomputed ranks.
TEST(GraphLarge, ImpactOfAWidelyUsedServiceIsSortedAndIndependentOfInsertOrder) {
  std::vector<VersionInfo> all = {{"lib", "1.0.0", Stage::Stable, {}}};
  for (int i = 0; i < 1500; ++i) {
    for (const char* version : {"1.9.0", "1.10.0"})
      all.push_back({"mid-" + std::to_string(i), version, Stage::Stable, {{"lib", "^1.0.0"}}});
  }
  auto mid = [](int i) { return "mid-" + std::to_string(i % 1500); };
  for (int i = 0; i < 3000; ++i)
    all.push_back(
        {"top-" + std::to_string(i), "1.0.0", Stage::Stable, {{mid(i * 13), "^1.0.0"}, {mid(i * 7), "1.9.0"}}});

  std::shuffle(all.begin(), all.end(), std::mt19937(7));
  DependencyGraph forward, backward;
  for (const auto& v : all) ASSERT_TRUE(forward.upsert(v));
  for (auto it = all.rbegin(); it != all.rend(); ++it) ASSERT_TRUE(backward.upsert(*it));

  const auto impact = forward.impact("lib");
  ASSERT_EQ(impact.size(), 6000u);
  for (size_t i = 1; i < impact.size(); ++i) {
    const ImpactEntry &a = impact[i - 1], &b = impact[i];
    const auto key = [](const ImpactEntry& e) {
      return std::make_tuple(e.depth, e.dependent.name, *semver::Version::parse(e.dependent.version));
    };
    ASSERT_LT(key(a), key(b)) << a.dependent.to_string() << " then " << b.dependent.to_string();
  }
  EXPECT_EQ(impact[0].dependent.to_string(), "mid-0@1.9.0");  // by precedence: 1.9.0 < 1.10.0
  EXPECT_EQ(impact[1].dependent.to_string(), "mid-0@1.10.0");
  for (size_t k = 0; k < impact.size(); ++k) {
    const ImpactEntry& e = impact[k];
    if (e.depth == 1) continue;
    // Both first hops are one step from lib: the smaller service name wins.
    const int i = std::stoi(e.dependent.name.substr(4));
    const std::string a = mid(i * 13), b = mid(i * 7);
    const bool first = a <= b;  // equal: the same service twice, and its 1.9.0 is the smaller version
    const auto path = impact_path(impact, k);
    ASSERT_EQ(path.size(), 3u);
    EXPECT_EQ(path[1].name, first ? a : b) << e.dependent.to_string();
    EXPECT_EQ(e.range, a == b ? "1.9.0" : first ? "^1.0.0" : "1.9.0") << e.dependent.to_string();
  }

  EXPECT_EQ(impact_lines(impact), oracle_impact(forward, "lib", std::nullopt));

  const auto other = backward.impact("lib");
  ASSERT_EQ(other.size(), impact.size());
  for (size_t i = 0; i < impact.size(); ++i) {
    ASSERT_EQ(impact_path(other, i), impact_path(impact, i));
    ASSERT_EQ(other[i].via, impact[i].via);
    ASSERT_EQ(other[i].range, impact[i].range);
  }
}

// ---------------------------------------------------------------------------------------------
// Randomized: the incremental caches against resolution from scratch.

// The expected resolution of every declaration in `model`, computed with semver alone.
std::vector<std::string> oracle_edges(const std::map<std::pair<std::string, std::string>, VersionInfo>& model) {
  using Entry = std::tuple<std::string, semver::Version, std::string, std::vector<std::string>>;
  std::vector<Entry> sorted;
  for (const auto& [key, info] : model) {
    std::vector<std::string> lines;
    for (const DependencyDecl& d : info.dependencies) {
      const auto range = semver::Range::parse(d.range);
      const VersionInfo* best = nullptr;
      semver::Version best_version;
      int best_tier = 0;
      bool any = false, retired = false, unreleased = false;
      for (const auto& [other_key, other] : model) {
        if (other.name != d.service) continue;
        any = true;
        const auto v = *semver::Version::parse(other.version);
        if (!range->satisfies(v)) continue;
        const int tier = testing::oracle_tier(other.stage);
        retired |= tier == 4;
        unreleased |= tier == 3;
        if (tier > 2) continue;
        if (!best || tier < best_tier ||
            (tier == best_tier && (v > best_version || (v == best_version && other.version > best->version)))) {
          best = &other;
          best_version = v;
          best_tier = tier;
        }
      }
      const std::string outcome = best         ? best->name + "@" + best->version
                                  : !any       ? "no-such-service"
                                  : unreleased ? "only-unreleased"
                                  : retired    ? "only-retired"
                                               : "no-match";
      lines.push_back(info.name + "@" + info.version + " -> " + d.service + " " + d.range + " = " + outcome);
    }
    sorted.emplace_back(info.name, *semver::Version::parse(info.version), info.version, std::move(lines));
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> out;
  for (const auto& e : sorted) out.insert(out.end(), std::get<3>(e).begin(), std::get<3>(e).end());
  return out;
}

TEST(GraphRandomized, IncrementalResolutionMatchesFromScratch) {
  const std::vector<std::string> versions = {"0.1.0",      "1.0.0", "1.1.0", "1.2.0-beta.1", "1.2.0",
                                             "2.0.0-rc.1", "2.0.0", "2.1.3", "3.0.0",        "1.1.0+build"};
  const std::vector<std::string> ranges = {
      "^1.0.0",      "~1.1.0",  ">=1.2.0-beta.0 <2.0.0", "*",      "2.x",
      "^2.0.0-rc.0", ">=3.0.0", "1.2.0 - 2.0.0",         "^0.1.0", "<1.0.0 || >=2.1.0"};
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto service = [&](size_t n) { return "s" + std::to_string(pick(n)); };

  DependencyGraph graph;
  std::map<std::pair<std::string, std::string>, VersionInfo> model;
  std::set<std::string> outcomes;  // so that the comparison is known not to be vacuous
  size_t cycles_seen = 0, impacts_seen = 0;
  for (int step = 0; step < 3000; ++step) {
    if (!model.empty() && pick(10) < 3) {
      auto it = std::next(model.begin(), static_cast<long>(pick(model.size())));
      ASSERT_TRUE(graph.remove(it->second.name, it->second.version));
      model.erase(it);
    } else {
      VersionInfo info{service(10), versions[pick(versions.size())], Stage::Stable, {}};
      const size_t r = pick(10);
      // Every stage, stable the most common.
      constexpr Stage kStages[] = {Stage::Retired, Stage::Retired,  Stage::Deprecated,  Stage::Sunset, Stage::Beta,
                                   Stage::Proposed, Stage::Development, Stage::Stable, Stage::Stable, Stage::Stable};
      info.stage = kStages[r];
      for (size_t n = pick(4); n > 0; --n) info.dependencies.push_back({service(12), ranges[pick(ranges.size())]});
      auto added = graph.upsert(info);
      ASSERT_TRUE(added) << added.error().message;
      model[{info.name, info.version}] = info;
    }
    if (step % 50 != 49) continue;

    const std::vector<std::string> got = edges_of(graph);
    ASSERT_EQ(got, oracle_edges(model)) << "after step " << step;
    ASSERT_EQ(graph.version_count(), model.size());

    DependencyGraph fresh;
    for (const auto& [key, info] : model) ASSERT_TRUE(fresh.upsert(info));
    ASSERT_EQ(edges_of(fresh), got);
    ASSERT_EQ(graph.unresolved(), fresh.unresolved());
    ASSERT_EQ(cycle_strings(graph.cycles()), cycle_strings(fresh.cycles()));
    cycles_seen += fresh.cycles().cycles.size();
    for (const std::string& e : got) {
      const std::string outcome = e.substr(e.rfind(" = ") + 3);
      outcomes.insert(outcome.find('@') != std::string::npos ? "resolved" : outcome);
    }
    for (const auto& [key, info] : model) {
      ASSERT_EQ(graph.dependents_resolving_to(info.name, info.version),
                fresh.dependents_resolving_to(info.name, info.version));
    }
    const std::string target = service(10);
    const auto a = graph.impact(target), b = fresh.impact(target);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].dependent, b[i].dependent);
      ASSERT_EQ(impact_path(a, i), impact_path(b, i));
      ASSERT_EQ(a[i].range, b[i].range);
    }
    ASSERT_EQ(impact_lines(a), oracle_impact(graph, target, std::nullopt)) << "after step " << step;
    impacts_seen += a.size();
    if (!model.empty()) {
      const VersionInfo& one = std::next(model.begin(), static_cast<long>(pick(model.size())))->second;
      ASSERT_EQ(impact_lines(graph.impact(one.name, one.version)), oracle_impact(graph, one.name, one.version))
          << "after step " << step;
    }
  }
  EXPECT_GT(cycles_seen, 0u);
  EXPECT_GT(impacts_seen, 0u);
  EXPECT_EQ(outcomes,
            (std::set<std::string>{"resolved", "no-such-service", "no-match", "only-retired", "only-unreleased"}));
}

}  // namespace
}  // namespace roster::model
