#include "roster/model/graph.hpp"

#include "roster/model/version_choice.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>

namespace roster::model {

namespace {

using Id = uint32_t;
constexpr Id kNone = std::numeric_limits<Id>::max();

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Adjacency lists packed into two arrays: the cycle search runs over a snapshot of the edges.
struct Csr {
  std::vector<Id> offsets{0}, targets;
  std::span<const Id> successors(Id v) const { return {targets.data() + offsets[v], targets.data() + offsets[v + 1]}; }
  bool has_edge(Id v, Id w) const {
    auto s = successors(v);
    return std::find(s.begin(), s.end(), w) != s.end();
  }
};

// Tarjan's strongly connected components, iterative (a dependency chain may be long), over the
// subgraph induced by the vertices whose in_set flag is set. Scratch arrays are reused between
// runs so that a run costs what its subgraph does, not the whole graph.
class SccFinder {
 public:
  explicit SccFinder(const Csr& g)
      : g_(g), index_(g.offsets.size() - 1), low_(index_.size()), on_stack_(index_.size()) {}

  template <class Emit>
  void run(std::span<const Id> vertices, const std::vector<uint8_t>& in_set, Emit&& emit) {
    for (Id v : vertices) index_[v] = kNone;
    counter_ = 0;
    for (Id root : vertices)
      if (index_[root] == kNone) visit(root, in_set, emit);
  }

 private:
  struct Frame {
    Id v;
    Id pos;
  };

  void enter(Id v) {
    index_[v] = low_[v] = counter_++;
    stack_.push_back(v);
    on_stack_[v] = 1;
    frames_.push_back({v, g_.offsets[v]});
  }

  template <class Emit>
  void visit(Id root, const std::vector<uint8_t>& in_set, Emit& emit) {
    enter(root);
    while (!frames_.empty()) {
      Frame& f = frames_.back();
      if (f.pos < g_.offsets[f.v + 1]) {
        const Id w = g_.targets[f.pos++];
        if (!in_set[w]) continue;
        if (index_[w] == kNone) enter(w);  // invalidates f; the loop re-reads it
        else if (on_stack_[w]) low_[f.v] = std::min(low_[f.v], index_[w]);
        continue;
      }
      const Id v = f.v;
      frames_.pop_back();
      if (!frames_.empty()) low_[frames_.back().v] = std::min(low_[frames_.back().v], low_[v]);
      if (low_[v] != index_[v]) continue;
      component_.clear();
      Id w;
      do {
        w = stack_.back();
        stack_.pop_back();
        on_stack_[w] = 0;
        component_.push_back(w);
      } while (w != v);
      emit(std::span<const Id>(component_));
    }
  }

  const Csr& g_;
  std::vector<Id> index_, low_;
  std::vector<uint8_t> on_stack_;
  std::vector<Id> stack_, component_;
  std::vector<Frame> frames_;
  Id counter_ = 0;
};

// A component can hold a cycle when it has two members, or one that depends on itself.
bool cyclic(const Csr& g, std::span<const Id> component) {
  return component.size() > 1 || g.has_edge(component[0], component[0]);
}

}  // namespace

std::string_view to_string(ResolutionStatus status) {
  switch (status) {
    case ResolutionStatus::Resolved: return "resolved";
    case ResolutionStatus::NoSuchService: return "no-such-service";
    case ResolutionStatus::NoMatch: return "no-match";
    case ResolutionStatus::OnlyRetired: return "only-retired";
    case ResolutionStatus::OnlyUnreleased: return "only-unreleased";
    case ResolutionStatus::InvalidRange: return "invalid-range";
  }
  return "resolved";
}

struct DependencyGraph::Impl {
  struct Service {
    std::string name;
    std::vector<Id> versions;  // by precedence, ascending
    std::vector<Id> incoming;  // declarations naming this service, resolved or not
  };
  struct Edge {
    Id decl, from, range;  // copied so that walks up the graph need not touch the declaration
  };
  struct Node {
    Id service = kNone;  // kNone: a free slot
    semver::Version version;
    std::string text;
    LifecycleStage stage = LifecycleStage::Stable;
    std::vector<Id> decls;  // in declaration order
  };
  struct Decl {
    Id from = kNone;  // kNone: a free slot
    Id service = kNone;
    Id range = kNone;
    Id ordinal = 0;  // position among its version's declarations
    ResolutionStatus status = ResolutionStatus::NoSuchService;
    Id target = kNone;                      // when Resolved
    Id incoming_pos = 0, resolved_pos = 0;  // positions in the two reverse lists, for O(1) removal
  };
  struct CachedRange {
    semver::Range range;
    size_t refs = 0;  // declarations using it; dropped at zero so the cache tracks the live graph
  };

  // Ordered by name so that whole-graph walks come out sorted without sorting.
  std::map<std::string, Id, std::less<>> service_ids;
  std::vector<Service> services;
  std::vector<Node> nodes;
  // Per node, the declarations resolving to it; apart from `nodes` so that impact's walk up the
  // graph touches 24 bytes per version, not a whole Node.
  std::vector<std::vector<Edge>> resolved_from;
  std::vector<Decl> decls;
  std::vector<CachedRange> ranges;
  std::vector<Id> free_services, free_nodes, free_decls, free_ranges;
  // Parsing a range costs microseconds and few distinct texts recur, so each is parsed once.
  std::unordered_map<std::string, Id, StringHash, std::equal_to<>> range_ids;
  // take_changed_services(): names, not ids (a service's id is reused once it is dropped).
  std::set<std::string, std::less<>> changed;

  // --- ordering and lookup ---

  static bool version_before(const Node& a, const Node& b) {
    if (auto c = a.version <=> b.version; c != 0) return c < 0;
    return a.text < b.text;
  }
  bool before(Id a, Id b) const {
    const Node &x = nodes[a], &y = nodes[b];
    if (x.service != y.service) return services[x.service].name < services[y.service].name;
    return version_before(x, y);
  }
  bool decl_before(Id a, Id b) const {
    const Decl &x = decls[a], &y = decls[b];
    return x.from != y.from ? before(x.from, y.from) : x.ordinal < y.ordinal;
  }

  Id find_service(std::string_view name) const {
    auto it = service_ids.find(name);
    return it == service_ids.end() ? kNone : it->second;
  }

  Id find_node(Id service, const semver::Version& v, std::string_view text) const {
    const auto& vs = services[service].versions;
    auto it =
        std::lower_bound(vs.begin(), vs.end(), v, [&](Id n, const semver::Version& x) { return nodes[n].version < x; });
    for (; it != vs.end() && nodes[*it].version == v; ++it)
      if (nodes[*it].text == text) return *it;
    return kNone;
  }
  Id find_node(std::string_view name, std::string_view version) const {
    const Id s = find_service(name);
    if (s == kNone) return kNone;
    auto v = semver::Version::parse(version);
    return v ? find_node(s, *v, version) : kNone;
  }

  VersionRef ref(Id n) const { return {services[nodes[n].service].name, nodes[n].text}; }

  Resolution resolution_of(const Decl& d) const {
    Resolution r;
    r.status = d.status;
    if (d.status == ResolutionStatus::Resolved) {
      r.target = ref(d.target);
      r.stage = nodes[d.target].stage;
    }
    return r;
  }

  // The version of `s` that `range` chooses (the one rule: roster/model/version_choice.hpp).
  ResolutionStatus best_match(const Service& s, const semver::Range& range, Id& target) const {
    target = kNone;
    if (s.versions.empty()) return ResolutionStatus::NoSuchService;
    const auto choice = choose_version(
        s.versions.begin(), s.versions.end(), [&](Id v) { return nodes[v].stage; },
        [&](Id v) { return range.satisfies(nodes[v].version); });
    switch (choice.tier) {
      case ChoiceTier::Unreleased: return ResolutionStatus::OnlyUnreleased;
      case ChoiceTier::Retired: return ResolutionStatus::OnlyRetired;
      case ChoiceTier::NothingFits: return ResolutionStatus::NoMatch;
      default: target = *choice.chosen; return ResolutionStatus::Resolved;
    }
  }

  // --- slots ---

  template <class T>
  static Id allocate(std::vector<T>& slots, std::vector<Id>& free) {
    if (!free.empty()) {
      const Id id = free.back();
      free.pop_back();
      return id;
    }
    slots.emplace_back();
    return static_cast<Id>(slots.size() - 1);
  }

  // Removes entry `pos` of a reverse list, moving the last entry into its place.
  template <class T, class Pos>
  static void unlink(std::vector<T>& list, Id pos, Pos position_of) {
    list[pos] = list.back();
    position_of(list[pos]) = pos;
    list.pop_back();
  }

  Id service_for(std::string_view name) {
    if (Id s = find_service(name); s != kNone) return s;
    const Id s = allocate(services, free_services);
    services[s].name = std::string(name);
    service_ids.emplace(services[s].name, s);
    return s;
  }

  // A name nothing registers and nothing names any more is forgotten.
  void maybe_drop_service(Id s) {
    Service& svc = services[s];
    if (!svc.versions.empty() || !svc.incoming.empty()) return;
    service_ids.erase(svc.name);
    svc = Service{};
    free_services.push_back(s);
  }

  void release_range(Id r) {
    if (--ranges[r].refs > 0) return;
    range_ids.erase(ranges[r].range.text());
    ranges[r] = CachedRange{};
    free_ranges.push_back(r);
  }

  // --- resolution bookkeeping ---

  void set_resolution(Id d, ResolutionStatus status, Id target) {
    Decl& x = decls[d];
    if (x.status == status && x.target == target) return;
    if (x.target != target) changed.insert(services[nodes[x.from].service].name);
    if (x.target != kNone)
      unlink(resolved_from[x.target], x.resolved_pos, [&](Edge e) -> Id& { return decls[e.decl].resolved_pos; });
    x.status = status;
    x.target = target;
    if (target != kNone) {
      x.resolved_pos = static_cast<Id>(resolved_from[target].size());
      resolved_from[target].push_back({d, x.from, x.range});
    }
  }

  void resolve_decl(Id d) {
    Id target;
    const Decl& x = decls[d];
    const ResolutionStatus status = best_match(services[x.service], ranges[x.range].range, target);
    set_resolution(d, status, target);
  }

  // `range_of` holds the declarations' cached ranges, already counted for them.
  void attach_decls(Id node, const std::vector<DependencyDecl>& deps, const std::vector<Id>& range_of) {
    for (size_t i = 0; i < deps.size(); ++i) {
      const Id service = service_for(deps[i].service);
      const Id range = range_of[i];
      const Id d = allocate(decls, free_decls);
      Decl& x = decls[d];
      x = Decl{};
      x.from = node;
      x.service = service;
      x.range = range;
      x.ordinal = static_cast<Id>(i);
      x.incoming_pos = static_cast<Id>(services[service].incoming.size());
      services[service].incoming.push_back(d);
      nodes[node].decls.push_back(d);
      resolve_decl(d);
    }
  }

  void detach_decls(Id node) {
    for (Id d : nodes[node].decls) {
      set_resolution(d, ResolutionStatus::NoSuchService, kNone);
      const Decl x = decls[d];
      unlink(services[x.service].incoming, x.incoming_pos, [&](Id e) -> Id& { return decls[e].incoming_pos; });
      release_range(x.range);
      decls[d] = Decl{};
      free_decls.push_back(d);
      maybe_drop_service(x.service);
    }
    nodes[node].decls.clear();
  }

  // After version `v` of `s` was added or changed, only three kinds of declaration naming `s` can
  // resolve differently: unresolved ones, those resolved to `v`, and those `v` now outranks.
  void recheck_after_upsert(Id s, Id v) {
    const Node& nv = nodes[v];
    for (Id d : services[s].incoming) {
      const Decl& x = decls[d];
      if (x.status != ResolutionStatus::Resolved || x.target == v) {
        resolve_decl(d);
      } else if (preferred(choice_tier(nv.stage), version_before(nodes[x.target], nv), choice_tier(nodes[x.target].stage)) &&
                 ranges[x.range].range.satisfies(nv.version)) {
        set_resolution(d, ResolutionStatus::Resolved, v);
      }
    }
  }

  // --- queries ---

  // Every live version's position in report order (kNone for free slots), from one walk of the
  // ordered names, so that large reports sort integers instead of comparing strings.
  std::vector<Id> report_ranks() const {
    std::vector<Id> rank(nodes.size(), kNone);
    Id next = 0;
    for (const auto& [name, s] : service_ids)
      for (Id v : services[s].versions) rank[v] = next++;
    return rank;
  }

  CycleReport cycles(size_t limit) const;
  void expand(Id n, TreeNode& out, size_t depth, size_t max_depth, std::vector<uint8_t>& on_path,
              std::vector<uint8_t>& expanded) const;
  std::vector<Dependent> to_dependents(std::vector<Id> ds) const {
    std::sort(ds.begin(), ds.end(), [&](Id a, Id b) { return decl_before(a, b); });
    std::vector<Dependent> out;
    out.reserve(ds.size());
    for (Id d : ds) out.push_back({ref(decls[d].from), ranges[decls[d].range].range.text()});
    return out;
  }
};

DependencyGraph::DependencyGraph() : impl_(std::make_unique<Impl>()) {}
DependencyGraph::~DependencyGraph() = default;
DependencyGraph::DependencyGraph(DependencyGraph&&) noexcept = default;
DependencyGraph& DependencyGraph::operator=(DependencyGraph&&) noexcept = default;

size_t DependencyGraph::version_count() const { return impl_->nodes.size() - impl_->free_nodes.size(); }

Result<semver::Version> DependencyGraph::check(const VersionInfo& info) {
  if (info.name.empty()) return fail(ErrorKind::Invalid, "invalid_name", "the service name is empty", "name");
  auto version = semver::Version::parse(info.version);
  if (!version)
    return fail(ErrorKind::Invalid, "invalid_version", "invalid version of " + info.name + ": " + version.error().message,
                "version");
  for (size_t i = 0; i < info.dependencies.size(); ++i) {
    const DependencyDecl& dep = info.dependencies[i];
    const std::string where = "dependencies[" + std::to_string(i) + "]";
    if (dep.service.empty())
      return fail(ErrorKind::Invalid, "invalid_dependency", "dependency " + std::to_string(i) + " has an empty service name",
                  where);
    if (auto range = semver::Range::parse(dep.range); !range)
      return fail(ErrorKind::Invalid, "invalid_range",
                  "invalid range for dependency on " + dep.service + ": " + range.error().message, where);
  }
  return std::move(*version);
}

Result<void> DependencyGraph::upsert(const VersionInfo& info) {
  Impl& g = *impl_;
  // Everything that can fail is checked before anything changes.
  auto checked = check(info);
  if (!checked) return fail(checked.error());
  semver::Version version = std::move(*checked);

  // The ranges the graph does not hold yet (they parse: checked).
  std::vector<std::pair<std::string_view, semver::Range>> fresh;
  for (const DependencyDecl& dep : info.dependencies) {
    if (g.range_ids.contains(dep.range) ||
        std::any_of(fresh.begin(), fresh.end(), [&](const auto& f) { return f.first == dep.range; }))
      continue;
    fresh.emplace_back(dep.range, *semver::Range::parse(dep.range));
  }

  for (auto& [text, range] : fresh) {
    const Id r = Impl::allocate(g.ranges, g.free_ranges);
    g.ranges[r].range = std::move(range);
    g.range_ids.emplace(std::string(text), r);
  }
  // Counted before the version's old declarations release theirs, which may be the same texts.
  std::vector<Id> range_of;
  range_of.reserve(info.dependencies.size());
  for (const DependencyDecl& dep : info.dependencies) {
    range_of.push_back(g.range_ids.find(dep.range)->second);
    ++g.ranges[range_of.back()].refs;
  }
  const Id s = g.service_for(info.name);
  Id node = g.find_node(s, version, info.version);
  if (node == kNone) {
    node = Impl::allocate(g.nodes, g.free_nodes);
    g.resolved_from.resize(g.nodes.size());
    Impl::Node& n = g.nodes[node];
    n.service = s;
    n.version = std::move(version);
    n.text = info.version;
    auto& vs = g.services[s].versions;
    vs.insert(std::upper_bound(vs.begin(), vs.end(), node,
                               [&](Id a, Id b) { return Impl::version_before(g.nodes[a], g.nodes[b]); }),
              node);
  } else {
    g.detach_decls(node);
  }
  g.nodes[node].stage = info.stage;
  g.changed.insert(g.services[s].name);
  g.attach_decls(node, info.dependencies, range_of);
  g.recheck_after_upsert(s, node);
  return {};
}

bool DependencyGraph::remove(std::string_view name, std::string_view version) {
  Impl& g = *impl_;
  const Id node = g.find_node(name, version);
  if (node == kNone) return false;
  const Id s = g.nodes[node].service;
  g.changed.insert(g.services[s].name);
  g.detach_decls(node);
  auto& vs = g.services[s].versions;
  vs.erase(std::find(vs.begin(), vs.end(), node));
  // Those resolved to it must move; unresolved ones may change kind (OnlyRetired → NoMatch).
  for (Id d : g.services[s].incoming)
    if (g.decls[d].status != ResolutionStatus::Resolved || g.decls[d].target == node) g.resolve_decl(d);
  g.nodes[node] = Impl::Node{};
  g.free_nodes.push_back(node);
  g.maybe_drop_service(s);
  return true;
}

void DependencyGraph::for_each_version(std::string_view name, const VersionVisitor& visit) const {
  const Impl& g = *impl_;
  const Id s = g.find_service(name);
  if (s == kNone) return;
  std::vector<const std::string*> resolved;
  for (Id v : g.services[s].versions) {
    const Impl::Node& n = g.nodes[v];
    resolved.clear();
    for (Id d : n.decls) resolved.push_back(g.decls[d].target == kNone ? nullptr : &g.nodes[g.decls[d].target].text);
    visit(n.version, n.text, n.stage, resolved);
  }
}

std::vector<std::string> DependencyGraph::declaring_services(std::string_view name) const {
  const Impl& g = *impl_;
  std::set<std::string_view> names;
  if (const Id s = g.find_service(name); s != kNone)
    for (Id d : g.services[s].incoming) names.insert(g.services[g.nodes[g.decls[d].from].service].name);
  return {names.begin(), names.end()};
}

std::vector<std::string> DependencyGraph::take_changed_services() {
  std::vector<std::string> out(std::make_move_iterator(impl_->changed.begin()),
                               std::make_move_iterator(impl_->changed.end()));
  impl_->changed.clear();
  return out;
}

Resolution DependencyGraph::resolve(std::string_view service, std::string_view range) const {
  const Impl& g = *impl_;
  std::optional<semver::Range> parsed;
  const semver::Range* r = nullptr;
  if (auto it = g.range_ids.find(range); it != g.range_ids.end()) {
    r = &g.ranges[it->second].range;
  } else {
    auto result = semver::Range::parse(range);
    if (!result) return {ResolutionStatus::InvalidRange, {}, LifecycleStage::Stable};
    parsed = std::move(*result);
    r = &*parsed;
  }
  const Id s = g.find_service(service);
  if (s == kNone) return {};
  Impl::Decl d;
  d.status = g.best_match(g.services[s], *r, d.target);
  return g.resolution_of(d);
}

// Johnson's algorithm: for each start vertex s in order, the circuits through s among the
// vertices after it, with blocking so that each search is linear in the graph between outputs.
CycleReport DependencyGraph::Impl::cycles(size_t limit) const {
  CycleReport report;
  const Id n = static_cast<Id>(nodes.size());
  Csr g;
  g.offsets.resize(n + 1);
  for (Id v = 0; v < n; ++v) {
    for (Id d : nodes[v].decls)
      if (decls[d].status == ResolutionStatus::Resolved) g.targets.push_back(decls[d].target);
    g.offsets[v + 1] = static_cast<Id>(g.targets.size());
  }

  // Only vertices of cyclic components can be on a cycle; usually few, so the search runs on
  // them alone, numbered in report order so that each cycle is found from its smallest member.
  std::vector<Id> all(n), component_of(n, kNone), members;
  for (Id v = 0; v < n; ++v) all[v] = v;
  std::vector<uint8_t> everyone(n, 1);
  SccFinder global(g);
  Id components = 0;
  global.run(all, everyone, [&](std::span<const Id> c) {
    if (!cyclic(g, c)) return;
    for (Id v : c) component_of[v] = components;
    members.insert(members.end(), c.begin(), c.end());
    ++components;
  });
  if (members.empty()) return report;
  std::sort(members.begin(), members.end(), [&](Id a, Id b) { return before(a, b); });
  std::vector<Id> local(n, kNone);
  for (Id i = 0; i < members.size(); ++i) local[members[i]] = i;

  const Id k = static_cast<Id>(members.size());
  Csr sub;
  sub.offsets.resize(k + 1);
  std::vector<std::vector<Id>> initial(components);
  for (Id i = 0; i < k; ++i) {
    const Id v = members[i];
    initial[component_of[v]].push_back(i);  // ascending, as i is
    const size_t start = sub.targets.size();
    for (Id w : g.successors(v))
      if (component_of[w] == component_of[v]) sub.targets.push_back(local[w]);
    std::sort(sub.targets.begin() + start, sub.targets.end());
    sub.targets.erase(std::unique(sub.targets.begin() + start, sub.targets.end()), sub.targets.end());
    sub.offsets[i + 1] = static_cast<Id>(sub.targets.size());
  }

  // Components still to search, the one with the smallest first member last.
  std::vector<std::vector<Id>> pending;
  auto push_all = [&](std::vector<std::vector<Id>>& found) {
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a[0] > b[0]; });
    for (auto& c : found) pending.push_back(std::move(c));
  };
  push_all(initial);

  std::vector<std::vector<Id>> found_cycles;
  std::vector<uint8_t> in_comp(k), blocked(k);
  std::vector<std::vector<Id>> blocked_by(k);  // Johnson's B: who to unblock with a vertex
  std::vector<Id> path, unblock_work;
  std::vector<uint8_t> closed;  // per path entry: a cycle was found below it
  struct Frame {
    Id v, pos;
  };
  std::vector<Frame> frames;
  SccFinder split(sub);

  auto unblock = [&](Id u) {
    unblock_work.assign(1, u);
    while (!unblock_work.empty()) {
      const Id x = unblock_work.back();
      unblock_work.pop_back();
      if (!blocked[x]) continue;
      blocked[x] = 0;
      unblock_work.insert(unblock_work.end(), blocked_by[x].begin(), blocked_by[x].end());
      blocked_by[x].clear();
    }
  };

  while (!pending.empty() && !report.truncated) {
    const std::vector<Id> comp = std::move(pending.back());
    pending.pop_back();
    const Id s = comp[0];
    for (Id v : comp) {
      in_comp[v] = 1;
      blocked[v] = 0;
      blocked_by[v].clear();
    }
    path.assign(1, s);
    closed.assign(1, 0);
    frames.assign(1, {s, sub.offsets[s]});
    blocked[s] = 1;
    while (!frames.empty()) {
      Frame& f = frames.back();
      if (f.pos < sub.offsets[f.v + 1]) {
        const Id w = sub.targets[f.pos++];
        if (!in_comp[w]) continue;
        if (w == s) {
          if (found_cycles.size() == limit) {
            report.truncated = true;
            break;
          }
          found_cycles.push_back(path);
          closed.back() = 1;
        } else if (!blocked[w]) {
          blocked[w] = 1;
          path.push_back(w);
          closed.push_back(0);
          frames.push_back({w, sub.offsets[w]});
        }
        continue;
      }
      const Id v = f.v;
      frames.pop_back();
      path.pop_back();
      const bool found = closed.back();
      closed.pop_back();
      if (found) {
        if (!closed.empty()) closed.back() = 1;
        unblock(v);
      } else {
        for (Id w : sub.successors(v)) {
          auto& list = blocked_by[w];
          if (in_comp[w] && std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
        }
      }
    }
    // The rest of the component, without s, may still hold cycles: split it and search again.
    in_comp[s] = 0;
    std::vector<std::vector<Id>> parts;
    split.run(std::span<const Id>(comp).subspan(1), in_comp, [&](std::span<const Id> c) {
      if (!cyclic(sub, c)) return;
      parts.emplace_back(c.begin(), c.end());
      std::sort(parts.back().begin(), parts.back().end());
    });
    for (Id v : comp) in_comp[v] = 0;
    push_all(parts);
  }

  std::sort(found_cycles.begin(), found_cycles.end());
  report.cycles.reserve(found_cycles.size());
  for (const auto& c : found_cycles) {
    std::vector<VersionRef> refs;
    refs.reserve(c.size());
    for (Id i : c) refs.push_back(ref(members[i]));
    report.cycles.push_back(std::move(refs));
  }
  return report;
}

CycleReport DependencyGraph::cycles(size_t limit) const { return impl_->cycles(limit); }

void DependencyGraph::Impl::expand(Id n, TreeNode& out, size_t depth, size_t max_depth, std::vector<uint8_t>& on_path,
                                   std::vector<uint8_t>& expanded) const {
  const Node& node = nodes[n];
  if (node.decls.empty()) return;
  if (depth >= max_depth) {
    out.mark = TreeNode::Mark::DepthLimit;
    return;
  }
  expanded[n] = on_path[n] = 1;
  out.children.reserve(node.decls.size());
  for (Id d : node.decls) {
    const Decl& x = decls[d];
    TreeNode child;
    child.range = ranges[x.range].range.text();
    child.status = x.status;
    if (x.status != ResolutionStatus::Resolved) {
      child.ref.name = services[x.service].name;
    } else {
      child.ref = ref(x.target);
      child.stage = nodes[x.target].stage;
      if (on_path[x.target]) child.mark = TreeNode::Mark::Cycle;
      else if (expanded[x.target]) child.mark = TreeNode::Mark::Deduped;
      else expand(x.target, child, depth + 1, max_depth, on_path, expanded);
    }
    out.children.push_back(std::move(child));
  }
  on_path[n] = 0;
}

std::optional<TreeNode> DependencyGraph::tree(std::string_view name, std::string_view version, size_t max_depth) const {
  const Impl& g = *impl_;
  const Id root = g.find_node(name, version);
  if (root == kNone) return std::nullopt;
  TreeNode out;
  out.ref = g.ref(root);
  out.stage = g.nodes[root].stage;
  std::vector<uint8_t> on_path(g.nodes.size()), expanded(g.nodes.size());
  g.expand(root, out, 0, std::min(max_depth, kMaxTreeDepth), on_path, expanded);
  return out;
}

std::vector<ImpactEntry> DependencyGraph::impact(std::string_view name, std::optional<std::string_view> version) const {
  const Impl& g = *impl_;
  const Id s = g.find_service(name);
  if (s == kNone) return {};
  std::vector<Id> frontier;  // in report order, as a service's versions are kept
  if (version) {
    if (Id v = g.find_node(name, *version); v != kNone) frontier.push_back(v);
  } else {
    frontier = g.services[s].versions;
  }

  // Breadth-first over reversed resolved edges, each level in report order: a dependent's first
  // hop is then the smallest version one step nearer (the same for any history of upserts).
  // Ranks cost a walk of the whole graph: worth it only once the answer is large. With them, a
  // large level is put in order by marking its ranks in a bitmap and reading them back.
  std::vector<Id> rank, by_rank;
  std::vector<uint64_t> marks;
  auto sort_level = [&](std::vector<Id>& level, size_t so_far) {
    if (rank.empty() && so_far + level.size() > 4096) {
      rank = g.report_ranks();
      by_rank.resize(g.nodes.size() - g.free_nodes.size());
      for (Id v = 0; v < rank.size(); ++v)
        if (rank[v] != kNone) by_rank[rank[v]] = v;
      marks.resize(by_rank.size() / 64 + 1);
    }
    if (rank.empty()) {
      std::sort(level.begin(), level.end(), [&](Id a, Id b) { return g.before(a, b); });
    } else if (level.size() < marks.size() / 8) {
      std::sort(level.begin(), level.end(), [&](Id a, Id b) { return rank[a] < rank[b]; });
    } else {
      for (Id v : level) marks[rank[v] / 64] |= uint64_t{1} << (rank[v] % 64);
      auto out = level.begin();
      for (size_t w = 0; w < marks.size(); ++w)
        for (; marks[w] != 0; marks[w] &= marks[w] - 1)
          *out++ = by_rank[w * 64 + static_cast<size_t>(std::countr_zero(marks[w]))];
    }
  };
  // depth apart from the rest, as every edge walked reads it. hop: the next version on the path;
  // pos: a target's position among the targets, a dependent's in the answer.
  struct Visit {
    Id hop = kNone, decl = kNone, range = kNone, pos = kNone;
  };
  std::vector<Id> depth(g.nodes.size(), kNone);
  std::vector<Visit> visit(g.nodes.size());
  for (Id i = 0; i < frontier.size(); ++i) {
    depth[frontier[i]] = 0;
    visit[frontier[i]].pos = i;
  }
  std::vector<VersionRef> target_refs;  // built once, copied into each entry
  target_refs.reserve(frontier.size());
  for (Id t : frontier) target_refs.push_back(g.ref(t));

  std::vector<Id> reached, next;
  for (Id level = 1; !frontier.empty(); ++level) {
    next.clear();
    for (size_t i = 0; i < frontier.size(); ++i) {
      // Each edge list is an allocation of its own: fetch the ones a few steps ahead.
      if (i + 4 < frontier.size()) __builtin_prefetch(g.resolved_from[frontier[i + 4]].data());
      const Id x = frontier[i];
      for (const Impl::Edge& e : g.resolved_from[x]) {
        Id& d = depth[e.from];
        if (d == kNone) {
          d = level;
          Visit& f = visit[e.from];
          f.hop = x;
          f.decl = e.decl;
          f.range = e.range;
          next.push_back(e.from);
        } else if (d == level) {
          Visit& f = visit[e.from];
          if (f.hop == x && g.decls[e.decl].ordinal < g.decls[f.decl].ordinal) {
            f.decl = e.decl;  // two declarations resolve to x: the first one names the hop
            f.range = e.range;
          }
        }
      }
    }
    sort_level(next, reached.size());
    for (size_t i = 0; i < next.size(); ++i) visit[next[i]].pos = static_cast<Id>(reached.size() + i);
    reached.insert(reached.end(), next.begin(), next.end());
    std::swap(frontier, next);
  }

  // Entries at depth d point at entries at depth d - 1, which come before them.
  std::vector<ImpactEntry> out;
  out.reserve(reached.size());  // so that a reference to an earlier entry's target stays valid
  for (size_t i = 0; i < reached.size(); ++i) {
    if (i + 8 < reached.size()) __builtin_prefetch(&g.nodes[reached[i + 8]]);
    const Id v = reached[i];
    const Visit& f = visit[v];
    const Impl::Node& n = g.nodes[v];
    const size_t via = depth[v] == 1 ? ImpactEntry::kTarget : visit[f.hop].pos;
    const VersionRef& target = via == ImpactEntry::kTarget ? target_refs[visit[f.hop].pos] : out[via].target;
    out.push_back(ImpactEntry{VersionRef{g.services[n.service].name, n.text}, depth[v], g.ranges[f.range].range.text(), via,
                              target});
  }
  return out;
}

std::vector<VersionRef> impact_path(const std::vector<ImpactEntry>& entries, size_t index) {
  std::vector<VersionRef> path;
  if (index >= entries.size()) return path;
  path.reserve(entries[index].depth + 1);
  for (size_t i = index; i < entries.size() && path.size() <= entries[index].depth; i = entries[i].via)
    path.push_back(entries[i].dependent);  // bounded, should the links be made up
  path.push_back(entries[index].target);
  return path;
}

Result<UpgradeReport> DependencyGraph::upgrade(std::string_view name, std::string_view from, std::string_view to) const {
  const Impl& g = *impl_;
  auto a = semver::Version::parse(from);
  if (!a) return fail(std::move(a).error());
  auto b = semver::Version::parse(to);
  if (!b) return fail(std::move(b).error());
  UpgradeReport report;
  report.change = semver::change_kind(*a, *b);
  const Id s = g.find_service(name);
  if (s == kNone) return report;
  std::vector<Id> breaking, compatible;
  for (Id d : g.services[s].incoming) {
    const semver::Range& r = g.ranges[g.decls[d].range].range;
    if (!r.satisfies(*a)) continue;
    (r.satisfies(*b) ? compatible : breaking).push_back(d);
  }
  report.breaking = g.to_dependents(std::move(breaking));
  report.compatible = g.to_dependents(std::move(compatible));
  return report;
}

std::vector<UnresolvedDependency> DependencyGraph::unresolved() const {
  const Impl& g = *impl_;
  std::vector<UnresolvedDependency> out;
  for (const auto& [name, s] : g.service_ids) {
    for (Id v : g.services[s].versions) {
      for (Id d : g.nodes[v].decls) {
        const Impl::Decl& x = g.decls[d];
        if (x.status == ResolutionStatus::Resolved) continue;
        out.push_back({g.ref(v), {g.services[x.service].name, g.ranges[x.range].range.text()}, x.status});
      }
    }
  }
  return out;
}

std::vector<Dependent> DependencyGraph::dependents_resolving_to(std::string_view name, std::string_view version) const {
  const Impl& g = *impl_;
  const Id v = g.find_node(name, version);
  if (v == kNone) return {};
  std::vector<Id> ds;
  for (const Impl::Edge& e : g.resolved_from[v]) ds.push_back(e.decl);
  return g.to_dependents(std::move(ds));
}

std::vector<Dependent> DependencyGraph::stranded_without(std::string_view name, std::string_view version) const {
  const Impl& g = *impl_;
  const Id v = g.find_node(name, version);
  if (v == kNone) return {};
  const Impl::Service& service = g.services[g.nodes[v].service];
  std::vector<Id> ds;
  for (const Impl::Edge& e : g.resolved_from[v]) {
    const semver::Range& range = g.ranges[e.range].range;
    bool elsewhere = false;
    for (Id other : service.versions)
      elsewhere |= other != v && choosable(choice_tier(g.nodes[other].stage)) && range.satisfies(g.nodes[other].version);
    if (!elsewhere) ds.push_back(e.decl);
  }
  return g.to_dependents(std::move(ds));
}

void DependencyGraph::for_each_dependency(
    const std::function<void(const VersionRef&, const DependencyDecl&, const Resolution&)>& visit) const {
  const Impl& g = *impl_;
  for (const auto& [name, s] : g.service_ids) {
    for (Id v : g.services[s].versions) {
      const VersionRef from = g.ref(v);
      for (Id d : g.nodes[v].decls) {
        const Impl::Decl& x = g.decls[d];
        visit(from, DependencyDecl{g.services[x.service].name, g.ranges[x.range].range.text()}, g.resolution_of(x));
      }
    }
  }
}

}  // namespace roster::model
