#!/usr/bin/env bash
# `make demo`: what roster can do so far, on the example registry.
#   demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
ctl=$build/cli/rosterctl
reg=examples/registry.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Validate the example registry (strict: every error with its JSON path)" "$ctl" validate "$reg"
cat > "$out/broken.json" <<'JSON'
{"services": [{"name": "billing", "versions": [
  {"version": "1.0", "lifecycle_stage": "live", "owner_team": 7, "colour": "red"}]}]}
JSON
step "A broken document is refused with every problem named" "$ctl" validate "$out/broken.json" || true

step "Convert JSON to a FlatBuffers snapshot (one standalone record per version and instance)" \
  "$ctl" convert "$reg" -o "$out/registry.bin"
printf '\n(JSON %s bytes -> FlatBuffers %s bytes)\n' "$(stat -c %s "$reg")" "$(stat -c %s "$out/registry.bin")"
printf '\n\033[1m== Read it back: verified, then printed as JSON (first lines)\033[0m\n$ %s dump %s | head\n' "$ctl" "$out/registry.bin"
"$ctl" dump "$out/registry.bin" | head -n 12

step "Versions sort by SemVer precedence, never string order" "$ctl" semver sort 2.1.0 1.10.0 2.0.0-rc.1 1.9.0 2.0.0
step "Which user-service version does api-gateway's range ^2.0.0 resolve to?" \
  "$ctl" semver max '^2.0.0' 1.0.0 2.0.0 2.1.0 3.0.0-beta.1
step "Pre-releases match only when the range asks for them" "$ctl" semver satisfies 2.0.0-rc.1 '>=1.4.0' || true
step "... as here" "$ctl" semver satisfies 2.0.0-rc.1 '>=2.0.0-rc.0'
