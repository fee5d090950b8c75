#!/usr/bin/env bash
# `make demo`: the whole flow on this machine. roster-server (SQLite under var/demo) and
# roster-agent start on loopback, the example registry is registered, the example reader reads
# it from shared memory, rosterctl answers governance questions (dependency tree, impact,
# deprecation timeline, upgrade report, can-i-deploy) and refuses a breaking registration, a
# change made through the API arrives in the reader, and everything stops cleanly.
#   demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
ctl=$build/cli/rosterctl
var=var/demo
arena=roster-demo
rm -rf "$var"
mkdir -p "$var"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
wait_for() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "demo: $1 never appeared" >&2; exit 1; }

step "Validate the example registry (strict: every error names its JSON path)"
"$ctl" validate examples/registry.json
printf '{"services": [{"name": "billing", "versions": [{"version": "1.0", "lifecycle_stage": "live", "owner_team": 7}]}]}' > "$var/broken.json"
"$ctl" validate "$var/broken.json" || true

step "Start roster-server (SQLite in $var/data) and roster-agent (arena \"$arena\") on loopback"
"$build/upstream/roster-server" --listen 127.0.0.1:0 --stream 127.0.0.1:0 --data-dir "$var/data" \
  --ready-file "$var/server.ready" > "$var/server.log" 2>&1 &
pids+=($!)
wait_for "$var/server.ready"
http=$(sed 's/.*http=\([^ ]*\).*/\1/' "$var/server.ready")
stream=$(sed 's/.*stream=\([^ ]*\).*/\1/' "$var/server.ready")
"$build/agent/roster-agent" --upstream "$stream" --arena "$arena" --http 127.0.0.1:0 --segment-bytes 67108864 \
  --cache-file "$var/agent-cache.bin" --ready-file "$var/agent.ready" --remove-on-exit > "$var/agent.log" 2>&1 &
pids+=($!)
wait_for "$var/agent.ready"
cat "$var/server.ready" "$var/agent.ready"

step "Register examples/registry.json through the HTTP API"
"$ctl" register examples/registry.json --server "$http"
for _ in $(seq 100); do "$ctl" get user-service --shm "$arena" > /dev/null 2>&1 && break; sleep 0.02; done

step "Every service the agent's arena holds"
"$ctl" services --shm "$arena"

step "The example reader: lookups from shared memory, no network"
"$build/examples/reader" "$arena"

step "Governance: what depends on what, what is deprecated, what a change breaks"
"$ctl" deps tree api-gateway --server "$http"
"$ctl" deps impact user-service@1.0.0 --server "$http"
"$ctl" lifecycle timeline --server "$http"
"$ctl" deps upgrade user-service 1.0.0 2.0.0 --server "$http" | head -8 || true
"$ctl" can-i-deploy api-gateway 1.0.0 --server "$http"
echo "-- a forbidden lifecycle move is refused, naming the allowed ones:"
"$ctl" lifecycle set user-service 1.0.0 stable --server "$http" || true
echo "-- user-service 2.2.0 drops a path without a major version: refused with the reason:"
python3 - examples/registry.json "$var/user-service-2.2.0.json" <<'PY'
import json, sys
svc = next(s for s in json.load(open(sys.argv[1]))["services"] if s["name"] == "user-service")
v = next(v for v in svc["versions"] if v["version"] == "2.1.0")
v.update(name="user-service", version="2.2.0", lifecycle_stage="beta")
v.pop("instances", None)
paths = v["api_schema"]["document"]["paths"]
paths.pop(next(p for p in paths if "{" in p))
json.dump(v, open(sys.argv[2], "w"))
PY
"$ctl" register "$var/user-service-2.2.0.json" --server "$http" || true

step "A change through the API arrives in a waiting reader"
"$build/examples/reader" "$arena" --watch payment-service &
watcher=$!
sleep 0.3
"$ctl" instances payment-service --shm "$arena" --healthy
"$ctl" instance register payment-service 3.1.0 payment-service-3-1-0-new --address 10.0.9.9 --port 8443 \
  --zone eu-west-1a --weight 200 --ttl 60 --server "$http"
wait "$watcher"

step "Agent status, then stop everything"
"$ctl" status --shm "$arena" --server "$http" --agent "$(sed 's/.*http=\([^ ]*\).*/\1/' "$var/agent.ready")"
cleanup
trap - EXIT
echo "stopped; server data kept in $var/data, agent cache in $var/agent-cache.bin"
