#!/usr/bin/env bash
# libroster.so must export the C ABI only: every defined dynamic symbol is roster_* (the
# version node ROSTER_1 aside).   check_exports.sh PATH/TO/libroster.so
set -euo pipefail
others=$(nm -D --defined-only "$1" | awk '$2 != "A" {print $3}' | grep -v '^roster_' || true)
count=$(nm -D --defined-only "$1" | awk '$2 != "A" {print $3}' | grep -c '^roster_' || true)
if [ -n "$others" ]; then
  echo "libroster.so exports symbols outside the C ABI:"
  echo "$others"
  exit 1
fi
[ "$count" -gt 20 ] || { echo "libroster.so exports only $count roster_ symbols"; exit 1; }
echo "libroster.so exports $count roster_* symbols and nothing else"
