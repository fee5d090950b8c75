#!/usr/bin/env bash
# `make bench`: runs every benchmark and writes Google Benchmark JSON under bench/results/.
#   bench.sh BUILD_DIR [BENCHMARK_FILTER]
# Then, without a filter and where etcd is installed, bench/ha_bench.py (roster-server on a 3-member
# etcd cluster; ~1 minute; its figures in bench/results/ha_bench.json). ROSTER_HA_BENCH=0 skips it.
set -euo pipefail
build=${1:-build}
filter=${2:-.}
mkdir -p bench/results
for b in codec_bench shm_bench c_abi_bench e2e_bench graph_bench schema_bench write_bench; do
  echo "== $b"
  "$build/bench/$b" --benchmark_filter="$filter" --benchmark_out="bench/results/$b.json" \
    --benchmark_out_format=json --benchmark_counters_tabular=true
done
if [[ "$filter" == . ]]; then
  echo "== python_bench"
  python3 bench/python_bench.py "$build" --out bench/results/python_bench.json
fi
if [[ "$filter" == . && "${ROSTER_HA_BENCH:-1}" != 0 ]]; then
  if command -v etcd >/dev/null; then
    echo "== ha_bench"
    python3 bench/ha_bench.py "$build" --out bench/results/ha_bench.json
  else
    echo "== ha_bench skipped: no etcd on PATH"
  fi
fi
