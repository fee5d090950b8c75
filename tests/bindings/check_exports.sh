#!/usr/bin/env bash
# libroster.so must export the C ABI only: every defined dynamic symbol is roster_* (the
# version nodes aside).   check_exports.sh PATH/TO/libroster.so
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
# Functions added after the first release carry their own version node (bindings/roster.map), so
# a program that calls them refuses to load against an older library instead of failing at a call.
table=$(objdump -T "$1")
missing=$(for f in roster_view_registries roster_where roster_service_registry roster_service_get_in \
                     roster_service_get_version_in roster_instances_begin_in roster_dependencies_in roster_dependents_in; do
            grep -q "ROSTER_2 *$f\$" <<<"$table" || echo "$f"
          done)
[ -z "$missing" ] || { echo "not exported at version ROSTER_2:" $missing; exit 1; }
echo "the federation functions are at version ROSTER_2"
