// Dependency-graph operations on a generated registry of 100k versions (model/graph).
//
// The graph, generated deterministically: 20k services svc-00000..svc-19999 × 5 versions
// (1.0.0, 1.1.0, 1.2.0, 2.0.0, 2.1.0; every 37th service has 3.0.0-beta.1 instead of 2.1.0 and
// every 23rd a retired 1.1.0), ~5 declarations each (~500k) over 8 distinct ranges (^1.0.0,
// ~2.1.0, ">=1.2.0 <3.0.0", ...). svc-00000..00099 are "platform" services depending on lower
// platform services; the rest form domains of 100 services, each depending on up to 3 lower
// services of its own domain and on platform services skewed towards svc-00000 (so that one is
// used, transitively, by most of the graph). Some declarations do not resolve (a missing service,
// a too-high range), 10 two-service back edges and a loop of six within a domain make cycles.
//
// Benchmarks (one iteration each):
//   build            upsert of all 100k versions into an empty graph
//   cycles           cycles() (limit 1000) over the whole graph
//   tree             tree() of svc-19999@2.1.0, the top of the last domain (depth 64)
//   impact           impact() of svc-00000, all versions: most of the graph, with next hops
//                    (a few paths are spelled out with impact_path)
//   impact_version   impact() of svc-00000@1.2.0 alone
//   upgrade          upgrade() of svc-00000 from 1.2.0 to 2.0.0 (all its declarations)
//   unresolved       unresolved() over all declarations
//   upsert_new       upsert of a new version 1.9.0 of svc-00000 (its dependents re-checked);
//                    the remove that restores the graph is not timed
//   remove           remove of that version (its dependents re-resolved); the upsert not timed
//
// Run: build/bench/graph_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_scale.hpp"
#include "roster/model/graph.hpp"

namespace {

using roster::model::DependencyGraph;
using roster::wire::LifecycleStage;
using Stage = roster::wire::LifecycleStage;
using roster::model::VersionInfo;

const int kServices = static_cast<int>(roster::bench::scaled(20'000, 1000));
constexpr int kPlatform = 100;
constexpr int kDomain = 100;

std::string service_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "svc-%05d", i);
  return buf;
}

std::vector<VersionInfo> generate() {
  static const char* const kRanges[] = {"^1.0.0", "~2.1.0", ">=1.2.0 <3.0.0", "^2.0.0", "1.x", "~1.1.0", "*", "^1.2.0"};
  std::mt19937 rng(42);
  auto below = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Skewed towards 0: the product of two uniform picks.
  auto platform = [&] { return below(kPlatform) * below(kPlatform) / kPlatform; };

  std::vector<VersionInfo> out;
  out.reserve(kServices * 5);
  for (int i = 0; i < kServices; ++i) {
    std::vector<std::string> versions = {"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"};
    if (i % 37 == 0) versions.back() = "3.0.0-beta.1";
    for (size_t k = 0; k < versions.size(); ++k) {
      VersionInfo v{service_name(i), versions[k], Stage::Stable, {}};
      if (i % 23 == 0 && k == 1) v.stage = Stage::Retired;
      if (k == 0) v.stage = Stage::Deprecated;
      const int domain_start = i < kPlatform ? 0 : kPlatform + (i - kPlatform) / kDomain * kDomain;
      for (int d = 0; d < 5; ++d) {
        int target;
        if (i == 0) break;
        if (i < kPlatform) target = below(i);
        else if (d < 3 && i > domain_start) target = std::max(domain_start, i - 1 - below(20));
        else target = platform();
        std::string range = kRanges[below(8)];
        if (rng() % 1000 == 0) range = ">=4.0.0";  // resolves to nothing
        v.dependencies.push_back({service_name(target), range});
      }
      if (i % 997 == 0) v.dependencies.push_back({"svc-missing", "^1.0.0"});
      out.push_back(std::move(v));
    }
  }
  // Back edges: platform service k ↔ a domain's first service; and one longer loop in a domain.
  for (int k = 1; k <= 10; ++k) {
    const int x = kPlatform + k * 7 * kDomain;
    for (auto& v : out) {
      if (v.name == service_name(x)) v.dependencies = {{service_name(k), "^2.0.0"}};
      if (v.name == service_name(k)) v.dependencies.push_back({service_name(x), "*"});
    }
  }
  // A loop of six in one domain: 610 → 615 → 614 → 613 → 612 → 611 → 610 (and any other ways
  // back from 615 to 610 the random edges make).
  const int base = kPlatform + 5 * kDomain;
  for (auto& v : out) {
    for (int i = base + 11; i <= base + 15; ++i)
      if (v.name == service_name(i)) v.dependencies[0] = {service_name(i - 1), "*"};
    if (v.name == service_name(base + 10)) v.dependencies.push_back({service_name(base + 15), "*"});
  }
  return out;
}

const std::vector<VersionInfo>& versions() {
  static const std::vector<VersionInfo> all = generate();
  return all;
}

DependencyGraph build() {
  DependencyGraph g;
  for (const VersionInfo& v : versions())
    if (auto added = g.upsert(v); !added) std::fprintf(stderr, "upsert failed: %s\n", added.error().message.c_str());
  return g;
}

DependencyGraph& shared() {
  static DependencyGraph g = build();
  return g;
}

void BM_build(benchmark::State& state) {
  for (auto _ : state) {
    DependencyGraph g = build();
    benchmark::DoNotOptimize(g.version_count());
    state.PauseTiming();  // freeing 100k versions is not the build
    g = DependencyGraph();
    state.ResumeTiming();
  }
  state.counters["versions"] = static_cast<double>(versions().size());
}

void BM_cycles(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t found = 0;
  for (auto _ : state) {
    auto report = g.cycles(1000);
    found = report.cycles.size() + (report.truncated ? 1'000'000 : 0);
    benchmark::DoNotOptimize(report);
  }
  state.counters["cycles"] = static_cast<double>(found);
}

size_t count_nodes(const roster::model::TreeNode& n) {
  size_t total = 1;
  for (const auto& c : n.children) total += count_nodes(c);
  return total;
}

void BM_tree(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t nodes = 0;
  for (auto _ : state) {
    auto tree = g.tree(service_name(kServices - 1), "2.1.0");
    nodes = tree ? count_nodes(*tree) : 0;
    benchmark::DoNotOptimize(tree);
  }
  state.counters["nodes"] = static_cast<double>(nodes);
}

// The answer holds each dependent's next hop only; spelling out a few paths (timed, but a few
// microseconds) shows they are there to be had. Returns the versions on them.
size_t touch_paths(const std::vector<roster::model::ImpactEntry>& impact) {
  size_t versions = 0;
  for (size_t i = 0; i < impact.size(); i += impact.size() / 8 + 1)
    versions += roster::model::impact_path(impact, i).size();
  if (!impact.empty()) versions += roster::model::impact_path(impact, impact.size() - 1).size();
  return versions;
}

void BM_impact(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t entries = 0, max_depth = 0, path_versions = 0;
  for (auto _ : state) {
    auto impact = g.impact("svc-00000");
    entries = impact.size();
    max_depth = impact.empty() ? 0 : impact.back().depth;
    path_versions = touch_paths(impact);
    benchmark::DoNotOptimize(impact);
  }
  state.counters["dependents"] = static_cast<double>(entries);
  state.counters["max_depth"] = static_cast<double>(max_depth);
  state.counters["path_versions"] = static_cast<double>(path_versions);  // over the ~9 paths touched
}

void BM_impact_version(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t entries = 0, path_versions = 0;
  for (auto _ : state) {
    auto impact = g.impact("svc-00000", "1.2.0");
    entries = impact.size();
    path_versions = touch_paths(impact);
    benchmark::DoNotOptimize(impact);
  }
  state.counters["dependents"] = static_cast<double>(entries);
  state.counters["path_versions"] = static_cast<double>(path_versions);
}

void BM_upgrade(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t breaking = 0, compatible = 0;
  for (auto _ : state) {
    auto report = g.upgrade("svc-00000", "1.2.0", "2.0.0");
    breaking = report->breaking.size();
    compatible = report->compatible.size();
    benchmark::DoNotOptimize(report);
  }
  state.counters["breaking"] = static_cast<double>(breaking);
  state.counters["compatible"] = static_cast<double>(compatible);
}

void BM_unresolved(benchmark::State& state) {
  const DependencyGraph& g = shared();
  size_t n = 0;
  for (auto _ : state) {
    auto list = g.unresolved();
    n = list.size();
    benchmark::DoNotOptimize(list);
  }
  state.counters["unresolved"] = static_cast<double>(n);
}

const VersionInfo kNewVersion{"svc-00000", "1.9.0", Stage::Stable, {}};

void BM_upsert_new(benchmark::State& state) {
  DependencyGraph& g = shared();
  for (auto _ : state) {
    auto error = g.upsert(kNewVersion);
    benchmark::DoNotOptimize(error);
    state.PauseTiming();
    g.remove(kNewVersion.name, kNewVersion.version);
    state.ResumeTiming();
  }
  if (!g.upsert(kNewVersion)) state.SkipWithError("upsert failed");
  state.counters["moved"] =
      static_cast<double>(g.dependents_resolving_to(kNewVersion.name, kNewVersion.version).size());
  g.remove(kNewVersion.name, kNewVersion.version);
}

void BM_remove(benchmark::State& state) {
  DependencyGraph& g = shared();
  for (auto _ : state) {
    state.PauseTiming();
    if (!g.upsert(kNewVersion)) state.SkipWithError("upsert failed");
    state.ResumeTiming();
    bool removed = g.remove(kNewVersion.name, kNewVersion.version);
    benchmark::DoNotOptimize(removed);
  }
}

BENCHMARK(BM_build)->Name("build")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cycles)->Name("cycles")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tree)->Name("tree")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_impact)->Name("impact")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_impact_version)->Name("impact_version")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_upgrade)->Name("upgrade")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_unresolved)->Name("unresolved")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_upsert_new)->Name("upsert_new")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_remove)->Name("remove")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
