#!/usr/bin/env bash
# `make bench`: runs every benchmark and writes Google Benchmark JSON under bench/results/.
#   bench.sh BUILD_DIR [BENCHMARK_FILTER]
set -euo pipefail
build=${1:-build}
filter=${2:-.}
mkdir -p bench/results
for b in codec_bench shm_bench c_abi_bench e2e_bench graph_bench schema_bench; do
  echo "== $b"
  "$build/bench/$b" --benchmark_filter="$filter" --benchmark_out="bench/results/$b.json" \
    --benchmark_out_format=json --benchmark_counters_tabular=true
done
