#!/usr/bin/env bash
# End-to-end checks of rosterctl's exit codes and output, run by ctest:
#   rosterctl_test.sh PATH/TO/rosterctl SOURCE_DIR
set -u
ctl=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect NAME WANT_EXIT WANT_OUTPUT_SUBSTRING -- COMMAND...
expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local out code
  out=$("$@" 2>&1)
  code=$?
  if [ "$code" -eq "$want_code" ] && [[ "$out" == *"$want_text"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name: exit $code (want $want_code), output:"
    echo "$out" | head -20 | sed 's/^/    /'
    echo "    (wanted to contain: $want_text)"
  fi
}

# semver sort
expect "sort ascending by precedence" 0 $'1.0.0-alpha\n1.0.0-alpha.1\n1.0.0-rc.1\n1.0.0\n1.9.0\n1.10.0' -- \
  "$ctl" semver sort 1.10.0 1.0.0 1.9.0 1.0.0-rc.1 1.0.0-alpha.1 1.0.0-alpha
expect "sort --json" 0 '["0.1.0", "2.0.0"]' -- "$ctl" semver sort --json 2.0.0 0.1.0
expect "sort rejects an invalid version" 2 'invalid version "1.02.0"' -- "$ctl" semver sort 1.0.0 1.02.0
expect "sort needs versions" 2 '' -- "$ctl" semver sort

# semver satisfies
expect "satisfies yes" 0 yes -- "$ctl" semver satisfies 2.1.0 '^2.0.0'
expect "satisfies no" 1 no -- "$ctl" semver satisfies 3.0.0 '^2.0.0'
expect "prerelease excluded by default" 1 no -- "$ctl" semver satisfies 2.1.0-beta '^2.0.0'
expect "prerelease included on request" 0 yes -- "$ctl" semver satisfies --include-prerelease 2.1.0-beta '^2.0.0'
expect "satisfies invalid version" 2 'invalid version' -- "$ctl" semver satisfies 2.x '^2.0.0'
expect "satisfies invalid range" 2 'invalid range' -- "$ctl" semver satisfies 2.0.0 '^^2'

# semver max
expect "max picks highest satisfying" 0 '1.5.0' -- "$ctl" semver max '~1.4 || 1.5.x' 1.3.0 1.4.2 1.5.0 2.0.0
expect "max with none satisfying" 1 'no version satisfies' -- "$ctl" semver max '>=3' 1.0.0 2.0.0
expect "max with invalid version" 2 'invalid version' -- "$ctl" semver max '*' 1.0

# validate / convert / dump
reg=$src/examples/registry.json
expect "validate example" 0 ok -- "$ctl" validate "$reg"
expect "validate --json" 0 '"ok":true' -- "$ctl" validate --json "$reg"
cat > "$tmp/bad.json" <<'JSON'
{"services": [{"name": "a", "versions": [{"version": "1.0", "lifecycle_stage": "stable", "owner_team": 7}]}]}
JSON
expect "validate reports paths" 1 'services[0].versions[0].owner_team: expected string, got number' -- \
  "$ctl" validate "$tmp/bad.json"
expect "validate reports every error" 1 'services[0].versions[0].version: invalid semver' -- \
  "$ctl" validate "$tmp/bad.json"
expect "validate --json errors" 1 '"path":"services[0].versions[0].owner_team"' -- "$ctl" validate --json "$tmp/bad.json"
: > "$tmp/empty.json"
expect "validate empty file" 1 'document is empty' -- "$ctl" validate "$tmp/empty.json"
expect "validate missing file" 1 'cannot read' -- "$ctl" validate "$tmp/nope.json"
expect "validate --max-size" 1 'the limit is 10 bytes' -- "$ctl" validate --max-size 10 "$reg"

expect "convert" 0 "wrote $tmp/reg.bin" -- "$ctl" convert "$reg" -o "$tmp/reg.bin"
expect "dump" 0 '"name": "user-service"' -- "$ctl" dump "$tmp/reg.bin"
"$ctl" dump --compact "$tmp/reg.bin" > "$tmp/roundtrip.json"
expect "dump output validates" 0 ok -- "$ctl" validate "$tmp/roundtrip.json"
"$ctl" convert "$tmp/roundtrip.json" -o "$tmp/reg2.bin" > /dev/null
expect "convert is deterministic across a round trip" 0 '' -- cmp "$tmp/reg.bin" "$tmp/reg2.bin"
expect "convert refuses a bad document" 1 'owner_team' -- "$ctl" convert "$tmp/bad.json" -o "$tmp/bad.bin"
expect "convert wrote nothing for a bad document" 1 '' -- test -e "$tmp/bad.bin"

cp "$tmp/reg.bin" "$tmp/corrupt.bin"
printf '\xff\xff\xff\x7f' | dd of="$tmp/corrupt.bin" bs=1 seek=0 conv=notrunc status=none
expect "dump refuses a corrupt buffer" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$tmp/corrupt.bin"
head -c 100 "$tmp/reg.bin" > "$tmp/truncated.bin"
expect "dump refuses a truncated buffer" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$tmp/truncated.bin"
expect "dump of a JSON file" 1 'not a valid Snapshot buffer' -- "$ctl" dump "$reg"

expect "help" 0 'semver' -- "$ctl" --help
expect "unknown command" 2 '' -- "$ctl" frobnicate

echo "rosterctl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
