// The dependency graph between registered service versions.
//
// A version declares dependencies as (service, npm range); each declaration resolves to the
// version of that service the range chooses by the one rule of roster/model/version_choice.hpp:
// among the versions it satisfies (pre-releases only where npm semantics admit them), stable
// first, then deprecated or sunset, then beta; never proposed, development or retired. The graph is kept incrementally: an upsert
// or remove re-resolves only the declarations naming that service, so queries walk cached edges
// and never parse a range.
//
// Ordering: wherever a report is sorted, versions are ordered by service name, then by semver
// precedence (ties, which differ only in build metadata, by their text).
//
// Thread safety: const members may run concurrently; upsert and remove need exclusive access.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/model/lifecycle.hpp"
#include "roster/semver.hpp"

namespace roster::model {

struct DependencyDecl {
  std::string service;
  std::string range;  // npm range, e.g. "^1.2.0"
  bool operator==(const DependencyDecl&) const = default;
};

struct VersionInfo {
  std::string name;
  std::string version;  // SemVer 2.0.0; the exact text identifies the version
  LifecycleStage stage = LifecycleStage::Stable;
  std::vector<DependencyDecl> dependencies;
};

struct VersionRef {
  std::string name, version;
  std::string to_string() const { return name + '@' + version; }
  // Textual (for containers); reports are ordered by precedence as said above.
  auto operator<=>(const VersionRef&) const = default;
};

enum class ResolutionStatus : uint8_t {
  Resolved,
  NoSuchService,  // no version of the service is registered
  NoMatch,        // no registered version satisfies the range
  OnlyRetired,    // only retired versions satisfy it
  OnlyUnreleased, // none it can choose does; proposed or development ones do (not yet chosen)
  InvalidRange,   // the range does not parse (resolve() only: upsert rejects such ranges)
};
std::string_view to_string(ResolutionStatus status);

struct Resolution {
  ResolutionStatus status = ResolutionStatus::NoSuchService;
  VersionRef target;            // when Resolved
  LifecycleStage stage = LifecycleStage::Stable;  // the target's, when Resolved
  bool resolved() const { return status == ResolutionStatus::Resolved; }
  bool operator==(const Resolution&) const = default;
};

// A cycle lists each member once, in dependency order (each depends on the next, the last on the
// first), starting at its smallest member.
struct CycleReport {
  std::vector<std::vector<VersionRef>> cycles;  // sorted
  bool truncated = false;                       // more cycles exist than the limit
};

struct TreeNode {
  enum class Mark : uint8_t {
    None,        // expanded here (children listed; none when it has no dependencies)
    Deduped,     // expanded elsewhere in this tree
    Cycle,       // already on the path from the root
    DepthLimit,  // has dependencies, not expanded: max_depth reached
  };
  VersionRef ref;     // the resolved version; {service, ""} when unresolved
  std::string range;  // as the parent declared it ("" for the root)
  ResolutionStatus status = ResolutionStatus::Resolved;
  LifecycleStage stage = LifecycleStage::Stable;  // when resolved
  Mark mark = Mark::None;
  std::vector<TreeNode> children;  // in declaration order
};

// One dependent in an impact() answer. Its shortest paths form a tree rooted at the target
// versions, so an entry names only its next hop; impact_path() spells a path out.
struct ImpactEntry {
  static constexpr size_t kTarget = SIZE_MAX;  // `via` of an entry that depends on a target directly

  VersionRef dependent;
  size_t depth = 0;      // 1 = depends directly on the target
  std::string range;     // the dependent's declaration on its next hop
  size_t via = kTarget;  // the next hop on a shortest path (via the smallest versions): the index of
                         // its entry in the same answer, one level less deep and earlier; or kTarget
  VersionRef target;     // the target version that path ends at
};

// The path of entries[index] in an impact() answer: [dependent, ..., target], depth + 1 versions.
// Empty when index is out of range.
std::vector<VersionRef> impact_path(const std::vector<ImpactEntry>& entries, size_t index);

struct Dependent {
  VersionRef from;
  std::string range;
  bool operator==(const Dependent&) const = default;
};

struct UpgradeReport {
  semver::ChangeKind change = semver::ChangeKind::None;
  std::vector<Dependent> breaking;    // the range accepts `from` but not `to`
  std::vector<Dependent> compatible;  // the range accepts both
};

struct UnresolvedDependency {
  VersionRef from;
  DependencyDecl dependency;
  ResolutionStatus status = ResolutionStatus::NoMatch;
  bool operator==(const UnresolvedDependency&) const = default;
};

class DependencyGraph {
 public:
  DependencyGraph();
  ~DependencyGraph();
  DependencyGraph(DependencyGraph&&) noexcept;
  DependencyGraph& operator=(DependencyGraph&&) noexcept;

  // Whether upsert() would take `info` (its name, version and ranges are ones the graph can hold),
  // changing nothing: for records read from a store, which another writer may have filled. The
  // version, parsed.
  static Result<semver::Version> check(const VersionInfo& info);
  // Adds or replaces one version (its stage and dependencies may change). Refuses (Invalid), and
  // changes nothing, when a name is empty, the version is not SemVer or a range does not parse.
  Result<void> upsert(const VersionInfo& info);
  // False when name@version is not registered.
  bool remove(std::string_view name, std::string_view version);

  // How (service, range) resolves now (InvalidRange when the range does not parse).
  Resolution resolve(std::string_view service, std::string_view range) const;

  // Every elementary cycle over resolved edges, self-dependencies included, each once; at most
  // `limit` of them (Johnson's algorithm: their number can be exponential).
  CycleReport cycles(size_t limit = 1000) const;

  // The dependency tree of name@version, as `npm ls` prints it: each version is expanded once,
  // its later occurrences are Deduped; unresolved declarations are leaves. Versions max_depth
  // levels below the root (capped at kMaxTreeDepth) are not expanded. nullopt when name@version is
  // not registered.
  static constexpr size_t kMaxTreeDepth = 1024;
  std::optional<TreeNode> tree(std::string_view name, std::string_view version, size_t max_depth = 64) const;

  // Every version depending on `name` (all its versions, or one), directly or transitively, once,
  // sorted by depth, then as above, each with its next hop towards the target (see ImpactEntry).
  // Versions of the target set itself are not listed.
  std::vector<ImpactEntry> impact(std::string_view name, std::optional<std::string_view> version = {}) const;

  // Who breaks if `name` moves from `from` to `to` (neither need be registered). Invalid when
  // either is not SemVer.
  Result<UpgradeReport> upgrade(std::string_view name, std::string_view from, std::string_view to) const;

  // Every declaration that does not resolve, sorted by declaring version, then declaration order.
  std::vector<UnresolvedDependency> unresolved() const;

  // The declarations that resolve to name@version now, sorted by declaring version.
  std::vector<Dependent> dependents_resolving_to(std::string_view name, std::string_view version) const;
  // Those of them that no other live version of `name` satisfies: what removing or retiring
  // name@version would leave unresolved (declarations of name itself included).
  std::vector<Dependent> stranded_without(std::string_view name, std::string_view version) const;

  // Every declaration with its resolution, by declaring version (sorted), then declaration order.
  void for_each_dependency(const std::function<void(const VersionRef& from, const DependencyDecl& decl,
                                                    const Resolution& resolution)>& visit) const;

  size_t version_count() const;

  // The versions of `name`, ascending (as above), each with its stage and, per declaration in
  // declaration order, the version it resolves to (null: none). Nothing when none is registered.
  using VersionVisitor = std::function<void(const semver::Version& version, std::string_view text, LifecycleStage stage,
                                            std::span<const std::string* const> resolved)>;
  void for_each_version(std::string_view name, const VersionVisitor& visit) const;

  // The services a version of which declares a dependency on `name` (each once, sorted).
  std::vector<std::string> declaring_services(std::string_view name) const;

  // The services whose versions were upserted or removed, or a declaration of which came to
  // resolve to another version (or to none), since the last call; each once, sorted. What the
  // server sends agents their resolutions for (model/service_resolution.hpp).
  std::vector<std::string> take_changed_services();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::model
