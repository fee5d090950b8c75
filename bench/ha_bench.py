#!/usr/bin/env python3
"""roster-server on a shared etcd store: latency, throughput and failover, measured in one run.

  python3 bench/ha_bench.py BUILD_DIR [--rounds N] [--tp-writes N] [--failovers N] [--out FILE.json]

Starts everything it measures, on ephemeral ports in a temp dir: a 3-member etcd cluster
(--heartbeat-interval 50 --election-timeout 500 --max-txn-ops 10000), two roster-servers A and B
on it (A lists member 0 first, B member 1 first: gRPC picks the first member that answers, so A
writes through member 0 and B watches through member 1), a roster-server on SQLite (--store
sqlite:DIR, group commit on: the default store), and roster-agents. Every process dies with this
script (PR_SET_PDEATHSIG); the temp dir and the arenas (/dev/shm/roster.<arena>.*) are removed
at exit, also on an error or SIGINT/SIGTERM (and what a SIGKILLed run left is removed by the next
run).

What it measures:
 1. etcd's own put -> watch (--rounds puts, default 500): a put to member 0 (gateway POST
    /v3/kv/put, keep-alive) until the event arrives on a watch held on member 1 (and, for
    reference, on member 0 itself).
 2. roster write -> visible (--rounds writes): PUT a version (of a new service each time) to
    server A until a reader sees it in the arena of an agent connected to B, and, in the same
    write, in the arena of an agent connected to A.
 3. roster on SQLite, write -> visible (--rounds writes), run right after (1): PUT a version to
    the SQLite-backed server until a reader sees it in the arena of an agent connected to it; its
    ratio to (1) at p50 and p99.
 4. write throughput (--tp-writes writes per run, default 2000): sequential PUTs on one
    keep-alive connection, and 4 client threads (each its own connection), for the etcd store
    (one server; and 2 threads on each of A and B, whose conditional commits race: the retries
    and the writes refused with 409 write_conflict are counted) and the SQLite store (one
    server); etcd alone (gateway puts, 1 and 4 clients) for reference.
 5. failover (--failovers rounds, default 5): an agent with --upstream A,B; kill -9 the server it
    is connected to, write through the other, time kill -> the write visible in the arena, and
    kill -> the agent connected again (from the "connected to" line of its log, which carries a
    millisecond timestamp, and from polling /metrics roster_agent_connected every 5 ms). Also:
    when the victim was reaped, when a bystander TCP connection to the victim's stream port read
    EOF (the kernel closed its sockets), and how long the agent waited for a CPU meanwhile. The
    killed server is restarted on the same ports before the next round.

Times in (1), (2) and (3) start when the request is sent; the measuring process polls in a tight
loop (select() with a zero timeout on the sockets, the arena's generation counter), so it keeps one
CPU busy in all three, the same way. The registry starts empty; each write is small (~100 bytes).
"""
import argparse
import base64
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import bench_env  # noqa: E402 (bench/ is the script's own dir)
from bench_env import EtcdCluster, ProcessEnv, exit_on_signals  # noqa: E402


def wait_until(predicate, timeout=30.0, what="condition", poll=0.01):
    """bench_env.wait_until, polling every 10 ms: the failover figures are timed by it."""
    return bench_env.wait_until(predicate, timeout, what, poll)

CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "ROSTER_TOKEN"}
now = time.perf_counter


# --- processes and clean-up ---------------------------------------------------------------------

class Env(ProcessEnv):
    """The temp dir, every process started and every arena named; close() cleans all of it up."""

    def __init__(self):
        remove_stale_arenas()
        super().__init__("roster-ha-bench-", CLEAN_ENV)
        self.arenas = []

    def etcd(self, members=3):
        """A `members`-member etcd cluster in the temp dir (etcdN.log, etcdN.data), stopped by close()."""
        return self.start_etcd(EtcdCluster(self.tmp, members=members, extra=["--log-level", "warn"], env=CLEAN_ENV))

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def arena(self, what):
        name = f"habench-{os.getpid()}-{what}"
        self.arenas.append(name)
        remove_arena(name)
        return name

    def close(self):
        super().close()
        for name in self.arenas:
            remove_arena(name)


def remove_stale_arenas():
    """The arenas of earlier runs killed with SIGKILL (which no clean-up survives)."""
    for f in os.listdir("/dev/shm"):
        m = re.match(r"roster\.habench-(\d+)-", f)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            try:
                os.remove(os.path.join("/dev/shm", f))
            except OSError:
                pass


def remove_arena(name):
    for f in os.listdir("/dev/shm"):
        if f.startswith(f"roster.{name}."):
            try:
                os.remove(os.path.join("/dev/shm", f))
            except OSError:
                pass




def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def http_get(addr, path, timeout=2.0):
    conn = http.client.HTTPConnection(addr, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


# --- etcd ----------------------------------------------------------------------------------------

def b64(data):
    return base64.b64encode(data).decode()


class WatchStream:
    """A gateway watch (POST /v3/watch) on a raw socket: chunked HTTP, one JSON object a line."""

    def __init__(self, endpoint, key_prefix):
        host, port = endpoint.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        end = key_prefix[:-1] + bytes([key_prefix[-1] + 1])
        body = json.dumps({"create_request": {"key": b64(key_prefix), "range_end": b64(end)}}).encode()
        self.sock.sendall(b"POST /v3/watch HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (endpoint.encode(), len(body), body))
        self.raw = b""
        self.body = b""
        self.headers_done = False
        self.chunked = False
        self.sock.setblocking(False)
        # The first message says the watch was created.
        deadline = time.time() + 10
        while True:
            for obj in self.poll():
                if obj.get("result", {}).get("created"):
                    return
            if time.time() > deadline:
                raise RuntimeError(f"etcd watch on {endpoint} was not created")
            select.select([self.sock], [], [], 0.1)

    def fileno(self):
        return self.sock.fileno()

    def poll(self):
        """The JSON objects that arrived since the last call (never blocks)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise RuntimeError("etcd closed the watch stream")
                self.raw += chunk
        except BlockingIOError:
            pass
        if not self.headers_done:
            at = self.raw.find(b"\r\n\r\n")
            if at < 0:
                return []
            head = self.raw[:at].decode("latin-1").lower()
            if not head.startswith("http/1.1 200"):
                raise RuntimeError("etcd watch refused: " + head.splitlines()[0])
            self.chunked = "transfer-encoding: chunked" in head
            self.raw = self.raw[at + 4:]
            self.headers_done = True
        if self.chunked:
            while True:
                at = self.raw.find(b"\r\n")
                if at < 0:
                    break
                size = int(self.raw[:at].split(b";")[0], 16)
                if len(self.raw) < at + 2 + size + 2:
                    break
                self.body += self.raw[at + 2:at + 2 + size]
                self.raw = self.raw[at + 2 + size + 2:]
        else:
            self.body += self.raw
            self.raw = b""
        out = []
        while b"\n" in self.body:
            line, self.body = self.body.split(b"\n", 1)
            if line.strip():
                out.append(json.loads(line))
        return out

    def close(self):
        self.sock.close()


def etcd_latency(etcd, rounds):
    """put to member 0 -> event on a watch on member 1 (and one on member 0)."""
    prefix = b"habench/latency/"
    remote = WatchStream(etcd.endpoints[1], prefix)
    local = WatchStream(etcd.endpoints[0], prefix)
    conn = http.client.HTTPConnection(etcd.endpoints[0], timeout=10)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    seen = {}  # key -> {watch: time}
    acks, remote_lat, local_lat = [], [], []
    warmup = min(20, rounds)
    for i in range(warmup + rounds):
        key = prefix + b"k%06d" % i
        body = json.dumps({"key": b64(key), "value": b64(b"v" * 100)})
        t0 = now()
        conn.request("POST", "/v3/kv/put", body=body, headers={"Content-Type": "application/json"})
        t_ack = None
        deadline = time.time() + 10
        while t_ack is None or len(seen.get(key, {})) < 2:
            ready, _, _ = select.select([conn.sock, remote, local], [], [], 0)
            t = now()
            for w, name in ((remote, "remote"), (local, "local")):
                if w in ready:
                    for obj in w.poll():
                        for ev in obj.get("result", {}).get("events", []):
                            seen.setdefault(base64.b64decode(ev["kv"]["key"]), {})[name] = t
            if t_ack is None and conn.sock in ready:
                t_ack = t
                r = conn.getresponse()
                payload = r.read()
                if r.status != 200:
                    raise RuntimeError(f"etcd put: {r.status} {payload[:200]!r}")
            if time.time() > deadline:
                raise RuntimeError(f"etcd put {key!r} not seen on both watches in 10 s")
        if i >= warmup:
            acks.append(t_ack - t0)
            remote_lat.append(seen[key]["remote"] - t0)
            local_lat.append(seen[key]["local"] - t0)
        del seen[key]
    conn.close()
    remote.close()
    local.close()
    return {"ack": acks, "watch_other_member": remote_lat, "watch_same_member": local_lat}


# --- roster --------------------------------------------------------------------------------------

def version_doc(name, version):
    return json.dumps({"name": name, "version": version, "lifecycle_stage": "beta", "owner_team": "t"}).encode()


class Server:
    def __init__(self, env, name, store, http_port=0, stream_port=0):
        self.env, self.name, self.store = env, name, store
        self.http_port, self.stream_port = http_port, stream_port
        self.log = os.path.join(env.tmp, f"{name}.log")
        self.start()

    def start(self):
        ready = os.path.join(self.env.tmp, f"{self.name}.ready")
        if os.path.exists(ready):
            os.remove(ready)
        args = [os.path.join(BUILD, "upstream", "roster-server"), "--store", self.store,
                "--listen", f"127.0.0.1:{self.http_port}", "--stream", f"127.0.0.1:{self.stream_port}",
                "--ready-file", ready]
        wait_until(lambda: os.access(args[0], os.X_OK), timeout=120, what=f"{args[0]} (being rebuilt?)", poll=0.5)
        self.proc = self.env.spawn(args, f"{self.name}.log")
        line = wait_until(lambda: self.proc.poll() is None and read_text(ready).strip()
                          or (self.proc.poll() is not None and self.died()), what=f"{self.name} ready")
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        self.http, self.stream = fields["http"], fields["stream"]
        self.http_port = int(self.http.rsplit(":", 1)[1])
        self.stream_port = int(self.stream.rsplit(":", 1)[1])

    def died(self):
        raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n" + read_text(self.log)[-2000:])

    def metric(self, name):
        return metric(http_get(self.http, "/metrics")[1].decode(), name)


def metric(text, name):
    m = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class Agent:
    def __init__(self, env, name, upstreams):
        self.env, self.name = env, name
        self.arena = env.arena(name)
        self.log = os.path.join(env.tmp, f"{name}.log")
        ready = os.path.join(env.tmp, f"{name}.ready")
        args = [os.path.join(BUILD, "agent", "roster-agent"), "--upstream", ",".join(upstreams),
                "--arena", self.arena, "--http", "127.0.0.1:0", "--segment-bytes", str(64 << 20),
                "--ready-file", ready]
        wait_until(lambda: os.access(args[0], os.X_OK), timeout=120, what=f"{args[0]} (being rebuilt?)", poll=0.5)
        self.proc = env.spawn(args, f"{name}.log")
        line = wait_until(lambda: read_text(ready).strip(), what=f"{name} ready")
        self.http = dict(part.split("=", 1) for part in line.split()[1:])["http"]
        wait_until(lambda: self.health().get("status") == "ok", what=f"{name} connected")
        self.client = wait_until(lambda: self.open_arena(), what=f"{name} arena")

    def open_arena(self):
        try:
            return roster.open(self.arena)
        except Exception:  # noqa: BLE001 - not created yet
            return None

    def health(self):
        try:
            return json.loads(http_get(self.http, "/healthz")[1])
        except (OSError, ValueError, http.client.HTTPException):
            return {}

    def revision(self):
        with self.client.view() as v:
            return v.revision

    def stop(self):
        self.env.stop(self.proc)


class Watcher:
    """Polls an arena for a service name; cheap while nothing was published (generation check)."""

    def __init__(self, agent):
        self.client = agent.client
        self.generation = -1

    def sees(self, name):
        g = self.client.generation
        if g == self.generation:
            return False
        self.generation = g
        with self.client.view() as v:
            return v.service(name) is not None


class Writer:
    """PUTs on one keep-alive connection."""

    def __init__(self, addr):
        self.addr = addr
        self.conn = None

    def connect(self):
        self.conn = http.client.HTTPConnection(self.addr, timeout=30)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, name, version="1.0.0"):
        if self.conn is None:
            self.connect()
        self.conn.request("PUT", f"/v1/services/{name}/versions/{version}", body=version_doc(name, version),
                          headers={"Content-Type": "application/json"})

    def finish(self, refused_ok=False):
        r = self.conn.getresponse()
        body = r.read()
        if refused_ok and r.status == 409 and b'"write_conflict"' in body:
            return None  # the server gave up after its retries (counted by the caller)
        if r.status != 200:
            raise RuntimeError(f"PUT to {self.addr}: {r.status} {body[:300]!r}")
        return json.loads(body)["revision"]

    def put(self, name, version="1.0.0", refused_ok=False):
        self.send(name, version)
        return self.finish(refused_ok)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def roster_latency(server, agents, rounds, tag):
    """PUT to `server`; time until each agent's arena has it. agents: {label: Agent}."""
    w = Writer(server.http)
    watchers = {label: Watcher(a) for label, a in agents.items()}
    out = {"ack": []}
    out.update({label: [] for label in agents})
    warmup = min(20, rounds)
    for i in range(warmup + rounds):
        name = f"lat-{tag}-{i}"
        t0 = now()
        w.send(name)
        t_ack = None
        vis = {}
        deadline = time.time() + 10
        while t_ack is None or len(vis) < len(watchers):
            for label, watcher in watchers.items():
                if label not in vis and watcher.sees(name):
                    vis[label] = now()
            if t_ack is None and select.select([w.conn.sock], [], [], 0)[0]:
                t_ack = now()
                w.finish()
            if time.time() > deadline:
                raise RuntimeError(f"{name}: not visible in {sorted(set(watchers) - set(vis))} after 10 s")
        if i >= warmup:
            out["ack"].append(t_ack - t0)
            for label, t in vis.items():
                out[label].append(t - t0)
    w.close()
    return out


def fdatasync_times(folder, n=200):
    """n x (append 100 bytes to a file in `folder`, then fdatasync it): what the disk takes for the
    sync that SQLite does on each commit (its WAL, synchronous=FULL) and etcd on each raft entry."""
    path = os.path.join(folder, "fdatasync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 100)
            t0 = now()
            os.fdatasync(fd)
            times.append(now() - t0)
    finally:
        os.close(fd)
        os.remove(path)
    return times


def timed_clients(addrs, run, what):
    """One client thread per address, each on its own keep-alive connection (a Writer): all connect,
    then all start together and each calls run(i, writer). Returns the seconds from that start until
    the last one is done; raises if any of them failed."""
    errors = []
    barrier = threading.Barrier(len(addrs) + 1)

    def client(i):
        w = Writer(addrs[i])
        try:
            w.connect()
            barrier.wait()
            run(i, w)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            w.close()

    ts = [threading.Thread(target=client, args=(i,)) for i in range(len(addrs))]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = now()
    for t in ts:
        t.join()
    elapsed = now() - t0
    if errors:
        raise RuntimeError(f"{what} failed: {errors[:3]}")
    return elapsed


def throughput(servers, writes, threads):
    """PUTs/s with `threads` clients (thread i uses servers[i % len(servers)]), `writes` in all."""
    tag = f"tp{threads}-{'-'.join(s.name for s in servers)}-{time.monotonic_ns()}"
    per = writes // threads
    refused = [0] * threads
    conflicts_before = [s.metric("roster_write_conflicts_total") or 0 for s in servers]

    def run(i, w):
        for j in range(per):
            if w.put(f"{tag}-{i}-{j}", refused_ok=True) is None:
                refused[i] += 1

    elapsed = timed_clients([servers[i % len(servers)].http for i in range(threads)], run, "throughput run")
    conflicts = sum((s.metric("roster_write_conflicts_total") or 0) - b for s, b in zip(servers, conflicts_before))
    done = per * threads - sum(refused)
    return {"writes": done, "seconds": elapsed, "per_s": done / elapsed, "conflicts": int(conflicts),
            "refused": sum(refused)}


def etcd_throughput(endpoint, writes, threads):
    """etcd's own puts/s through the gateway (the reference for (4)): `threads` keep-alive clients."""
    per = writes // threads

    def run(i, w):
        for j in range(per):
            body = json.dumps({"key": b64(b"habench/tp/%d/%d" % (i, j)), "value": b64(b"v" * 100)})
            w.conn.request("POST", "/v3/kv/put", body=body, headers={"Content-Type": "application/json"})
            r = w.conn.getresponse()
            payload = r.read()
            if r.status != 200:
                raise RuntimeError(f"etcd put: {r.status} {payload[:200]!r}")

    elapsed = timed_clients([endpoint] * threads, run, "etcd throughput run")
    return {"writes": per * threads, "seconds": elapsed, "per_s": per * threads / elapsed, "conflicts": 0, "refused": 0}


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")


def log_time(line):
    m = LOG_TIME.match(line)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def schedstat_ms(pid):
    """(on CPU, runnable but waiting for a CPU) in ms, all of the process's threads together
    (/proc/PID/task/*/schedstat)."""
    run = wait = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    fields = f.read().split()
                run += int(fields[0])
                wait += int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        return float("nan"), float("nan")
    return run / 1e6, wait / 1e6


def failover(env, servers, rounds):
    by_stream = {s.stream: s for s in servers}
    agent = Agent(env, "agent-failover", [s.stream for s in servers])
    watcher = Watcher(agent)
    results = []
    for rnd in range(rounds):
        health = wait_until(lambda: (h := agent.health()).get("status") == "ok" and h, what="agent connected")
        victim = by_stream[health["upstream"]]
        other = next(s for s in servers if s is not victim)
        # The agent is caught up with the survivor before the kill.
        w = Writer(other.http)
        rev = w.put(f"fo-pre-{rnd}")
        wait_until(lambda: agent.revision() >= rev, what="agent caught up")
        time.sleep(0.3)
        log_from = os.path.getsize(agent.log)
        name = f"fo-{rnd}"
        # A bystander connection to the victim's stream port: when it reads EOF, the kernel has
        # closed the victim's sockets (what the agent then has to notice).
        probe = socket.create_connection(("127.0.0.1", victim.stream_port))
        probe.setblocking(False)
        sched_before = schedstat_ms(agent.proc.pid)
        wall_kill = time.time()
        t_kill = now()
        os.kill(victim.proc.pid, signal.SIGKILL)
        w.send(name)
        t_ack = t_vis = t_metric = t_dead = t_eof = None
        disconnect_at = connect_at = None
        connected_to = None
        last_metric = 0.0
        saw_zero = False
        deadline = time.time() + 30
        while t_vis is None or t_metric is None or connect_at is None or t_dead is None or t_eof is None:
            if t_vis is None and watcher.sees(name):
                t_vis = now()
            if t_dead is None and victim.proc.poll() is not None:
                t_dead = now()  # reaped: the kernel has torn the process down (its sockets closed)
            if t_eof is None and select.select([probe], [], [], 0)[0]:
                try:
                    if probe.recv(4096) == b"":
                        t_eof = now()
                except (ConnectionResetError, BlockingIOError):
                    t_eof = now()
            if t_ack is None and select.select([w.conn.sock], [], [], 0)[0]:
                t_ack = now()
                w.finish()
            t = now()
            if t_metric is None and t - last_metric > 0.005:
                # connected=1 counts once the old connection is known lost: a 0 was read, or the
                # agent logged the loss (it logs, then clears the flag, in one step of its loop)
                lost_known = saw_zero or disconnect_at is not None
                last_metric = t
                try:
                    text = http_get(agent.http, "/metrics", timeout=1.0)[1].decode()
                    connected = metric(text, "roster_agent_connected")
                    if connected == 0:
                        saw_zero = True
                    elif connected == 1 and lost_known:
                        t_metric = now()
                except (OSError, http.client.HTTPException):
                    pass
            if disconnect_at is None or connect_at is None:
                with open(agent.log) as f:
                    f.seek(log_from)
                    for line in f.read().splitlines():
                        if disconnect_at is None and "disconnected from" in line:
                            disconnect_at = log_time(line)
                        m = re.search(r"connected to (\S+?);", line)
                        if connect_at is None and m and " disconnected" not in line and disconnect_at is not None:
                            connect_at, connected_to = log_time(line), m.group(1)
            if time.time() > deadline:
                raise RuntimeError(f"failover round {rnd}: vis={t_vis} connect={connect_at} metric={t_metric}\n"
                                   + read_text(agent.log)[-2000:])
        w.close()
        probe.close()
        sched = schedstat_ms(agent.proc.pid)
        results.append({
            "agent_on_cpu_ms": sched[0] - sched_before[0],
            "agent_runqueue_wait_ms": sched[1] - sched_before[1],
            "killed": victim.name, "to": by_stream[connected_to].name if connected_to in by_stream else connected_to,
            "dead_ms": (t_dead - t_kill) * 1e3,
            "probe_eof_ms": (t_eof - t_kill) * 1e3,
            "write_ack_ms": (t_ack - t_kill) * 1e3,
            "visible_ms": (t_vis - t_kill) * 1e3,
            "disconnect_logged_ms": (disconnect_at - wall_kill) * 1e3,
            "connected_logged_ms": (connect_at - wall_kill) * 1e3,
            "connected_metric_ms": (t_metric - t_kill) * 1e3,
        })
        env.procs.remove(victim.proc)
        victim.start()  # same ports: the agent's list stays right
        time.sleep(0.5)
    agent.stop()
    return results


# --- report --------------------------------------------------------------------------------------

def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(x):
    return f"{x * 1e3:8.3f}"


def find_module(build):
    """The folder of the Python module the build made (build/bindings/python/roster.cpython-*.so)."""
    usual = os.path.join(build, "bindings", "python")
    for folder in [usual] + [d for d, _, _ in os.walk(build)]:
        try:
            if any(f.startswith("roster.") and f.endswith(".so") for f in os.listdir(folder)):
                return folder
        except OSError:
            continue
    return None


def main():
    global BUILD, roster
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", help="the build dir (roster-server, roster-agent, the Python module)")
    ap.add_argument("--rounds", type=int, default=500, help="writes timed in (1), (2) and (3)")
    ap.add_argument("--tp-writes", type=int, default=2000, help="writes per throughput run in (4)")
    ap.add_argument("--failovers", type=int, default=5, help="kill -9 rounds in (5)")
    ap.add_argument("--out", help="also write the raw figures here as JSON")
    args = ap.parse_args()
    BUILD = os.path.abspath(args.build)
    module_dir = find_module(BUILD)
    if module_dir is None:
        sys.exit(f"ha_bench: no roster Python module (roster*.so) under {BUILD}: build the bindings first")
    sys.path.insert(0, module_dir)
    import roster as roster_module  # noqa: E402
    roster = roster_module

    env = Env()
    exit_on_signals()
    results = {"rounds": args.rounds, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "load_start": os.getloadavg()}
    try:
        print(f"temp dir {env.tmp}; load average {os.getloadavg()[0]:.2f}", flush=True)
        etcd = env.etcd()
        print("etcd cluster up:", ",".join(etcd.endpoints), flush=True)
        results["etcd_leader_start"] = etcd.leader()

        # (3) runs right after (1), so its server and agent start first: the two series are adjacent.
        sqlite = Server(env, "server-sqlite", "sqlite:" + os.path.join(env.tmp, "sqlite"))
        agent_sqlite = Agent(env, "agent-sqlite", [sqlite.stream])
        print(f"(1) etcd put -> watch, {args.rounds} puts ...", flush=True)
        results["etcd"] = etcd_latency(etcd, args.rounds)
        print(f"(3) roster on SQLite: PUT -> visible in an arena, {args.rounds} writes ...", flush=True)
        results["roster_sqlite"] = roster_latency(sqlite, {"visible": agent_sqlite}, args.rounds, "sqlite")
        results["roster_sqlite_over_etcd_watch"] = {
            f"p{p}": pct(results["roster_sqlite"]["visible"], p) / pct(results["etcd"]["watch_other_member"], p)
            for p in (50, 99)}
        agent_sqlite.stop()
        results["fdatasync"] = fdatasync_times(env.tmp)

        eps = etcd.endpoints
        server_a = Server(env, "server-a", f"etcd://{eps[0]},{eps[1]},{eps[2]}/habench")
        server_b = Server(env, "server-b", f"etcd://{eps[1]},{eps[2]},{eps[0]}/habench")
        agent_b = Agent(env, "agent-b", [server_b.stream])
        agent_a = Agent(env, "agent-a", [server_a.stream])
        print(f"(2) roster PUT to A -> visible in arenas, {args.rounds} writes ...", flush=True)
        results["roster"] = roster_latency(server_a, {"via_other_server": agent_b, "via_same_server": agent_a},
                                           args.rounds, "ab")
        agent_a.stop()
        agent_b.stop()

        print(f"(4) write throughput, {args.tp_writes} writes per run ...", flush=True)
        tp = {}
        # Alternate the stores so that a slow spell of the machine does not land on one side only.
        for key, servers, threads in (("etcd_1", [server_a], 1), ("sqlite_1", [sqlite], 1),
                                      ("etcd_4", [server_a], 4), ("sqlite_4", [sqlite], 4),
                                      ("etcd_4_two_servers", [server_a, server_b], 4),
                                      ("raw_etcd_1", None, 1), ("raw_etcd_4", None, 4)):
            if servers is None:  # etcd alone, for reference
                tp[key] = etcd_throughput(etcd.endpoints[0], args.tp_writes, threads)
            else:
                tp[key] = throughput(servers, args.tp_writes, threads)
            print(f"    {key}: {tp[key]['per_s']:.0f}/s", flush=True)
        results["throughput"] = tp
        env.stop(sqlite.proc)

        print(f"(5) failover, {args.failovers} kills ...", flush=True)
        results["failover"] = failover(env, [server_a, server_b], args.failovers)
        results["load_end"] = os.getloadavg()
        results["etcd_leader_end"] = etcd.leader()
    finally:
        env.close()

    report(results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


def report(r):
    n = r["rounds"]
    e, ro, rs = r["etcd"], r["roster"], r["roster_sqlite"]
    print()
    print(f"roster HA bench, {r['started']}, load {r['load_start'][0]:.2f} -> {r['load_end'][0]:.2f}, "
          f"{n} timed writes per figure (after 20 untimed)")
    print(f"etcd raft leader: member {r['etcd_leader_start']} at the start, member {r['etcd_leader_end']} at the end "
          f"(etcd puts in (1) and server A write through member 0; server B and the watch in (1) use member 1)")
    print()
    print("latency (ms, from the request sent)                         p50      p99      max")
    rows = [("(1) etcd put -> watch event, watch on another member", e["watch_other_member"]),
            ("    etcd put -> watch event, watch on the same member", e["watch_same_member"]),
            ("    etcd put -> put response", e["ack"]),
            ("(2) roster PUT to A -> visible, agent on B", ro["via_other_server"]),
            ("    roster PUT to A -> visible, agent on A", ro["via_same_server"]),
            ("    roster PUT to A -> 200 response", ro["ack"])]
    sqlite_rows = [("(3) roster on SQLite: PUT -> visible, agent on it", rs["visible"]),
                   ("    roster on SQLite: PUT -> 200 response", rs["ack"]),
                   ("    roster on SQLite: 200 -> visible, per write", [v - a for v, a in zip(rs["visible"], rs["ack"])])]

    def print_rows(rows):
        for label, v in rows:
            print(f"{label:<56} {ms(pct(v, 50))} {ms(pct(v, 99))} {ms(max(v))}")
    print_rows(rows)
    for label, v in (("agent on B", ro["via_other_server"]), ("agent on A", ro["via_same_server"])):
        print(f"    roster adds {(pct(v, 50) - pct(e['watch_other_member'], 50)) * 1e3:.2f} ms at p50, "
              f"{(pct(v, 99) - pct(e['watch_other_member'], 99)) * 1e3:.2f} ms at p99 ({label}, vs etcd's own put -> watch)")
    print_rows(sqlite_rows)
    ratio = r["roster_sqlite_over_etcd_watch"]
    print(f"    (3) / (1): {ratio['p50']:.2f}x at p50, {ratio['p99']:.2f}x at p99 (target: p50 <= 0.1x, p99 <= 1x)")
    print_rows([("    the disk: append 100 bytes, fdatasync (after (3))", r["fdatasync"])])
    print()
    print("(4) write throughput                               writes   seconds   writes/s   retries  refused (409)")
    labels = {"etcd_1": "etcd store, 1 client", "sqlite_1": "SQLite store, 1 client",
              "etcd_4": "etcd store, 4 clients", "sqlite_4": "SQLite store, 4 clients",
              "etcd_4_two_servers": "etcd store, 4 clients on 2 servers",
              "raw_etcd_1": "etcd alone (gateway puts), 1 client", "raw_etcd_4": "etcd alone (gateway puts), 4 clients"}
    for key, label in labels.items():
        t = r["throughput"][key]
        print(f"    {label:<45} {t['writes']:7d} {t['seconds']:9.2f} {t['per_s']:10.0f} {t['conflicts']:9d} {t['refused']:8d}")
    print()
    print("(5) failover, ms from the kill -9     victim     a probe    agent       agent       agent      write through  write      agent's CPU")
    print("    round  killed     agent now on     reaped     conn.      disconnect  reconnect   connected=1  the other    visible    wait (runq)")
    print("                                                  reads EOF  (its log)   (its log)   (/metrics)   (200)        in arena   during it")
    fo = r["failover"]
    cols = ("dead_ms", "probe_eof_ms", "disconnect_logged_ms", "connected_logged_ms", "connected_metric_ms", "write_ack_ms", "visible_ms",
            "agent_runqueue_wait_ms")

    def row(values):
        return "".join(f"{v:11.1f} " for v in values)
    for i, f in enumerate(fo):
        print(f"    {i + 1:5d}  {f['killed']:<10} {str(f['to']):<13} {row(f[c] for c in cols)}")
    print(f"    {'max':<32}{row(max(f[c] for f in fo) for c in cols)}")


if __name__ == "__main__":
    main()
