#!/usr/bin/env bash
# Runs the libFuzzer harnesses of the fuzz preset (build-fuzz/), one after another (`make fuzz`).
#
#   scripts/fuzz.sh [HARNESS...]          every harness when none is named
#
# Each runs for FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus,
# build-fuzz/corpus/<name>/ (fuzz/corpus/<name>/ is only read: new inputs never go into the source
# tree by themselves), with the dictionary fuzz/<dict>.dict where one applies. Findings (crash-*,
# leak-*, timeout-*, oom-*) land in build-fuzz/findings/<name>/ and make this script fail.
# FUZZ_ARGS adds libFuzzer options, e.g. FUZZ_ARGS="-jobs=2 -workers=2" or "-seed=1".
set -uo pipefail

cd "$(dirname "$0")/.."
ALL=(registry_json governance_json stream_frames arena_apply http_request cache_file shm_reader shared_store_changes importers)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${ALL[@]}")
seconds=${FUZZ_SECONDS:-60}
build=build-fuzz

# Readable stacks in sanitizer reports; UB and leaks are findings too.
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

dict_for() {
  case "$1" in
    registry_json | governance_json) echo fuzz/json.dict ;;
    http_request) echo fuzz/http.dict ;;
  esac
}

failed=()
for name in "${harnesses[@]}"; do
  binary=$build/fuzz/fuzz_$name
  if [ ! -x "$binary" ]; then
    echo "fuzz: $binary is missing (cmake --preset fuzz && cmake --build --preset fuzz)" >&2
    failed+=("$name")
    continue
  fi
  corpus=$build/corpus/$name
  findings=$build/findings/$name
  mkdir -p "$corpus" "$findings"
  cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$findings"/)
  dict=$(dict_for "$name")
  [ -n "$dict" ] && args+=(-dict="$dict")
  echo "== fuzz $name: ${seconds}s on $corpus ($(ls "$corpus" | wc -l) inputs)"
  # shellcheck disable=SC2086
  if ! "$binary" "${args[@]}" ${FUZZ_ARGS:-} "$corpus" 2>"$build/fuzz-$name.log"; then
    failed+=("$name")
    if [ -n "$(ls "$findings")" ]; then
      echo "fuzz: $name found something: $(ls "$findings" | head -3 | tr '\n' ' ') (log: $build/fuzz-$name.log)" >&2
    else
      echo "fuzz: $name failed: $(tail -2 "$build/fuzz-$name.log" | tr '\n' ' ')" >&2
    fi
  fi
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|Done [0-9]+ runs)" \
    "$build/fuzz-$name.log" | tail -3
done
# Arenas of harness processes that did not exit normally (shm_reader, arena_apply): those whose
# process is gone (another fuzz.sh may be running harnesses beside this one).
for file in /dev/shm/roster.fuzz.*; do
  [ -e "$file" ] || continue
  pid=${file#/dev/shm/roster.fuzz.}
  pid=${pid%%.*}
  kill -0 "$pid" 2>/dev/null || rm -f "$file"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings or failures in: ${failed[*]} (see fuzz/README.md to reproduce and keep one)" >&2
  exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses ran ${seconds}s each, nothing found"
