// Latency distributions as Google Benchmark counters: a benchmark's JSON then carries enough
// percentiles for bench/plot.py to draw the distribution, with no side file to keep next to it.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

namespace roster::bench {

// The sample at quantile `q` (0..1) of `sorted` (ascending); 0 when there is none.
inline double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

inline double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return quantile_of_sorted(v, q);
}

// Counters `<prefix>p<q>_us` for q in 0 (the minimum) .. 100 (the maximum); the p50 and p99 ones
// keep the names the tables in bench/README.md quote. `samples` are microseconds.
inline void record_distribution(benchmark::State& state, const std::string& prefix, std::vector<double> samples) {
  static constexpr struct {
    const char* name;
    double q;
  } kQuantiles[] = {{"0", 0},      {"1", 0.01},  {"5", 0.05},  {"10", 0.10},  {"25", 0.25},     {"50", 0.50},
                    {"75", 0.75},  {"90", 0.90}, {"95", 0.95}, {"99", 0.99},  {"99.9", 0.999}, {"100", 1.0}};
  std::sort(samples.begin(), samples.end());
  for (const auto& [name, q] : kQuantiles) state.counters[prefix + "p" + name + "_us"] = quantile_of_sorted(samples, q);
}

}  // namespace roster::bench
