#!/usr/bin/env bash
# `make demo-ha`: roster as a highly available registry on this machine. Three etcd members and
# three roster-servers sharing them start on loopback, an agent lists all three servers, the
# example registry is registered through one server and read back through another and through the
# agent's shared memory; then the leader server is killed with kill -9 and a write through a
# surviving server still reaches the agent. Everything runs under a temp dir and is stopped and
# removed on exit.
#   demo-ha.sh BUILD_DIR
#
# Fixed loopback ports (the demo refuses to start if one is taken):
#   etcd members  etcd1 client 12379 peer 12380, etcd2 22379/22380, etcd3 32379/32380
#                 (not 2379: Debian's etcd-server package may run its own etcd there)
#   roster-server server1 http 7070 stream 7071, server2 7080/7081, server3 7090/7091
#   roster-agent  http 7072, arena "roster-demo-ha"
set -euo pipefail
build=${1:-build}
ctl=$build/cli/rosterctl
server_bin=$build/upstream/roster-server
agent_bin=$build/agent/roster-agent
arena=roster-demo-ha
prefix=roster-demo-ha/
etcd_clients=(12379 22379 32379)
etcd_peers=(12380 22380 32380)
http_ports=(7070 7080 7090)
stream_ports=(7071 7081 7091)
agent_http=127.0.0.1:7072
endpoints=127.0.0.1:12379,127.0.0.1:22379,127.0.0.1:32379

for bin in "$ctl" "$server_bin" "$agent_bin"; do
  [ -x "$bin" ] || { echo "demo-ha: $bin is missing: run make build first" >&2; exit 1; }
done
for tool in etcd etcdctl; do
  command -v "$tool" > /dev/null || { echo "demo-ha: $tool is missing: run scripts/install-deps.sh (etcd-server, etcd-client)" >&2; exit 1; }
done
for port in "${etcd_clients[@]}" "${etcd_peers[@]}" "${http_ports[@]}" "${stream_ports[@]}" 7072; do
  if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    echo "demo-ha: 127.0.0.1:$port is already in use (another demo, or a system etcd?): stop it first" >&2
    exit 1
  fi
done

tmp=$(mktemp -d /tmp/roster-demo-ha.XXXXXX)
declare -A pid
cleanup() {
  local group name
  # The agent and the servers first, then etcd (the servers would only log its absence).
  for group in "agent server1 server2 server3" "etcd1 etcd2 etcd3"; do
    for name in $group; do
      if [ -n "${pid[$name]:-}" ]; then kill -TERM "${pid[$name]}" 2> /dev/null || true; fi
    done
    for name in $group; do
      if [ -n "${pid[$name]:-}" ]; then wait "${pid[$name]}" 2> /dev/null || true; fi
    done
  done
  rm -f "/dev/shm/roster.$arena.data" "/dev/shm/roster.$arena.readers"
  rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
wait_for() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "demo-ha: $1 never appeared" >&2; exit 1; }
# GET on a server's HTTP address; prints the body (no curl needed).
http_get() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("http://" + sys.argv[1], timeout=5).read().decode(), end="")' "$1"
}
leader_of() {  # the server number (1-3) whose /metrics say roster_leader 1, among the living ones given
  for n in "$@"; do
    http_get "127.0.0.1:${http_ports[$((n - 1))]}/metrics" 2> /dev/null | grep -qx 'roster_leader 1' && { echo "$n"; return 0; }
  done
  return 1
}
# etcd 3.4 runs on amd64 and ppc64le; elsewhere (arm64 ...) it wants this set to Go's name for the arch.
case "$(uname -m)" in
  x86_64) export ETCD_UNSUPPORTED_ARCH=amd64 ;; aarch64) export ETCD_UNSUPPORTED_ARCH=arm64 ;;
  *) ETCD_UNSUPPORTED_ARCH=$(uname -m); export ETCD_UNSUPPORTED_ARCH ;;
esac
export ETCDCTL_API=3
unset ETCDCTL_ENDPOINTS ROSTER_TOKEN

step "Start a three-member etcd cluster on 127.0.0.1:12379, :22379, :32379 (data and logs in $tmp)"
initial=etcd1=http://127.0.0.1:12380,etcd2=http://127.0.0.1:22380,etcd3=http://127.0.0.1:32380
for i in 1 2 3; do
  client=http://127.0.0.1:${etcd_clients[$((i - 1))]}
  peer=http://127.0.0.1:${etcd_peers[$((i - 1))]}
  etcd --name "etcd$i" --data-dir "$tmp/etcd$i" --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "$initial" \
    --initial-cluster-state new --initial-cluster-token roster-demo-ha --max-txn-ops 10000 \
    --heartbeat-interval 50 --election-timeout 500 --logger zap --log-outputs stderr > "$tmp/etcd$i.log" 2>&1 &
  pid[etcd$i]=$!
done
for _ in $(seq 100); do
  etcdctl --endpoints "$endpoints" --dial-timeout 1s --command-timeout 2s endpoint health > /dev/null 2>&1 && break
  sleep 0.2
done
etcdctl --endpoints "$endpoints" --dial-timeout 1s --command-timeout 2s endpoint health \
  || { echo "demo-ha: etcd did not become healthy; its logs are in $tmp" >&2; tail -5 "$tmp"/etcd*.log >&2; exit 1; }

step "Start three roster-servers sharing it (store etcd://$endpoints/$prefix)"
for i in 1 2 3; do
  "$server_bin" --store "etcd://$endpoints/$prefix" --listen "127.0.0.1:${http_ports[$((i - 1))]}" \
    --stream "127.0.0.1:${stream_ports[$((i - 1))]}" --ready-file "$tmp/server$i.ready" > "$tmp/server$i.log" 2>&1 &
  pid[server$i]=$!
done
for i in 1 2 3; do wait_for "$tmp/server$i.ready"; echo "server$i: $(cat "$tmp/server$i.ready")"; done
leader=""
for _ in $(seq 100); do leader=$(leader_of 1 2 3) && break; sleep 0.1; done
[ -n "$leader" ] || { echo "demo-ha: no server became the leader" >&2; exit 1; }
echo "server$leader holds the election (roster_leader 1 on its /metrics): it runs lease expiry and lifecycle moves"

# The agent tries its upstreams in turn: the leader first, so that killing it below also moves the agent.
upstreams=127.0.0.1:${stream_ports[$((leader - 1))]}
for i in 1 2 3; do [ "$i" = "$leader" ] || upstreams+=,127.0.0.1:${stream_ports[$((i - 1))]}; done
step "Start roster-agent (arena \"$arena\") with --upstream $upstreams"
"$agent_bin" --upstream "$upstreams" --arena "$arena" --http "$agent_http" \
  --segment-bytes 67108864 --ready-file "$tmp/agent.ready" --remove-on-exit > "$tmp/agent.log" 2>&1 &
pid[agent]=$!
wait_for "$tmp/agent.ready"
for _ in $(seq 100); do grep -q "connected to" "$tmp/agent.log" && break; sleep 0.05; done
grep -o "connected to .*" "$tmp/agent.log" | tail -1

step "Register examples/registry.json through server1 (127.0.0.1:7070)"
"$ctl" register examples/registry.json --server 127.0.0.1:7070
for _ in $(seq 200); do "$ctl" get user-service --shm "$arena" > /dev/null 2>&1 && break; sleep 0.02; done

step "Read it back through server2 (127.0.0.1:7080) and through the agent's shared memory"
echo "-- server2: GET /v1/services/user-service (the latest stable version), summed up"
python3 - 127.0.0.1:7080 <<'PY'
import json, sys, urllib.request
v = json.load(urllib.request.urlopen(f"http://{sys.argv[1]}/v1/services/user-service", timeout=5))
deps = ", ".join(d["service"] + " " + d["range"] for d in v["dependencies"])
print(f"{v['name']} {v['version']} ({v['lifecycle_stage']}, {v['owner_team']}) at revision {v['revision']}: "
      f"{len(v['api_schema']['document']['paths'])} paths; depends on {deps}")
PY
echo "-- the agent's arena (no network):"
"$ctl" get payment-service --shm "$arena" | head -6
"$ctl" instances payment-service --shm "$arena" --healthy
"$ctl" status --shm "$arena" --server 127.0.0.1:7090

step "kill -9 the leader, server$leader"
connected=$(grep -o "connected to [^;]*" "$tmp/agent.log" | tail -1 | sed 's/connected to //')
echo "the agent is connected to $connected; server$leader streams on 127.0.0.1:${stream_ports[$((leader - 1))]}"
{ kill -KILL "${pid[server$leader]}" && wait "${pid[server$leader]}"; } 2> /dev/null || true
unset "pid[server$leader]"
survivors=()
for i in 1 2 3; do [ "$i" = "$leader" ] || survivors+=("$i"); done
killed_at=$(date +%s%N)
new_leader=""
for _ in $(seq 150); do new_leader=$(leader_of "${survivors[@]}") && break; sleep 0.1; done
[ -n "$new_leader" ] || { echo "demo-ha: no surviving server took the election" >&2; exit 1; }
echo "server$new_leader leads after $(( ($(date +%s%N) - killed_at) / 1000000 )) ms (the election key is on a 3 s etcd lease)"

step "A write through a surviving server (server${survivors[0]}) reaches the agent, now on another upstream"
write_to=127.0.0.1:${http_ports[$((survivors[0] - 1))]}
python3 - "$write_to" <<'PY'
import json, sys, urllib.request
body = json.dumps({"id": "payment-service-after-failover", "address": "10.0.9.9", "port": 8443, "zone": "eu-west-1a"}).encode()
req = urllib.request.Request(f"http://{sys.argv[1]}/v1/services/payment-service/versions/3.1.0/instances/payment-service-after-failover?ttl=60",
                             data=body, method="PUT", headers={"Content-Type": "application/json"})
print("PUT instance through", sys.argv[1] + ":", urllib.request.urlopen(req, timeout=10).read().decode())
PY
for _ in $(seq 200); do
  "$ctl" instances payment-service --shm "$arena" 2> /dev/null | grep -q payment-service-after-failover && break
  sleep 0.05
done
"$ctl" instances payment-service --shm "$arena"
echo "-- the agent's log:"
grep -E "connected to|disconnected from" "$tmp/agent.log" | sed 's/^/   /'
"$ctl" status --shm "$arena" --server "$write_to" --agent "$agent_http"

step "Stop everything"
cleanup
trap - EXIT
echo "stopped; the etcd data, the logs and the arena are removed"
