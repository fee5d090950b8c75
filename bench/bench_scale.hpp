// Smoke runs: `make test` runs every benchmark once (tests/bench/run_benchmarks_once.py) with
// ROSTER_BENCH_SMOKE=1, so a benchmark that breaks fails the tests instead of going unnoticed.
// Data sets are then 1000× smaller and repeat counts 1: such a run's figures mean nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace roster::bench {

inline bool smoke_run() {
  static const bool smoke = [] {
    const char* v = std::getenv("ROSTER_BENCH_SMOKE");
    return v && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
  }();
  return smoke;
}

// A data-set size: `n`, or n / 1000 (at least `floor`) in a smoke run.
inline size_t scaled(size_t n, size_t floor = 100) { return smoke_run() ? std::max(n / 1000, std::min(n, floor)) : n; }
// A fixed iteration or repetition count: `n`, or 1 in a smoke run.
inline int repeats(int n) { return smoke_run() ? 1 : n; }
// A minimum measuring time in seconds: `seconds`, or 10 ms in a smoke run.
inline double min_seconds(double seconds) { return smoke_run() ? 0.01 : seconds; }

}  // namespace roster::bench
