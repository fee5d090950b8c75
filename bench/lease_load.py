#!/usr/bin/env python3
"""Lease renewals through a shared etcd store: what heartbeats cost etcd, measured.

  python3 bench/lease_load.py BUILD_DIR [--instances N] [--seconds S] [--procs P] [--conns C] [--out FILE.json]

Starts, on loopback, in its own temp dir and on ephemeral ports: a 3-member etcd cluster
(--heartbeat-interval 50 --election-timeout 500 --max-txn-ops 100000 --max-request-bytes 32 MiB)
and 3 roster-servers on it (server k lists etcd member k first, so each talks to its own member).
Every process dies with this script (PR_SET_PDEATHSIG); everything is killed and the temp dir
removed at exit, also on an error or SIGINT/SIGTERM.

 1. Registers N instances (default 20000): services of 100 instances, one version each, posted
    as registry documents of ~2000 instances (POST /v1/registry, one etcd transaction each),
    round-robin over the servers.
 2. Idle baseline: etcd's revision growth over a few seconds with no client traffic.
 3. Renewal phase (S seconds, default 20): P processes (default 2) each hold C keep-alive
    connections (default 4) to every server and send heartbeats (POST .../heartbeat) as fast as
    they are answered, one request in flight per connection. Instance i always renews at server
    i % 3. Measures heartbeats/s, and etcd's revision before and after (each put, txn or delete
    bumps it by one): etcd writes/s. Then replays the phase's etcd history (etcdctl watch --rev)
    to name every key written and sum the bytes put under PREFIX/renewals/.
 4. Checks: every instance is still registered on every server (GET /v1/services/{name}/instances
    per service), no lease expired, exactly one leader, and roster_lease_renewals_total per server
    against the heartbeats sent (every server counts its own renewals and those the others report).
 5. Prints the scale-up arithmetic: renewals per etcd write, and the extrapolation to 1M instances
    renewing every 30 s through 3 servers.

Heartbeat requests are pre-built bytes on raw sockets with a minimal HTTP/1.1 response parser:
http.client costs more CPU per request than the server does, and the machine is the limit.
"""
import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

from bench_env import ETCDCTL, EtcdCluster, ProcessEnv, die_with_parent, exit_on_signals, wait_until  # noqa: E402 (bench/ is the script's own dir)

CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("ROSTER_TOKEN", "ETCDCTL_ENDPOINTS")}
CLEAN_ENV["ETCDCTL_API"] = "3"
PER_SERVICE = 100  # instances per service (one version each)
TMP_TAG = "roster-lease-load-"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- processes and clean-up ---------------------------------------------------------------------

class Env(ProcessEnv):
    def __init__(self):
        super().__init__(TMP_TAG, CLEAN_ENV)

    def etcd(self):
        """The 3-member etcd cluster in the temp dir (etcdN.log, etcdN.data), stopped by close()."""
        return self.start_etcd(Etcd(self.tmp))

    def spawn(self, args, log_name):
        return super().spawn(args, log_name, cwd=self.tmp)

    def tail(self, log_name, lines=15):
        try:
            with open(os.path.join(self.tmp, log_name), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


# --- etcd ----------------------------------------------------------------------------------------

class Etcd(EtcdCluster):
    """The tests' etcd cluster (tests/integration/etcd_cluster.py) with room for big transactions,
    and what this bench reads from it."""

    def __init__(self, tmp, members=3):
        # --max-txn-ops comes after EtcdCluster's own 10000: etcd (Go's flag package) takes the last.
        super().__init__(tmp, members=members, env=CLEAN_ENV,
                         extra=["--max-txn-ops", "100000", "--max-request-bytes", "33554432", "--log-level", "warn"])

    def ctl(self, *args, timeout=15):
        return subprocess.run([ETCDCTL, "--endpoints", ",".join(self.endpoints), "--dial-timeout", "2s",
                               "--command-timeout", "5s", *args],
                              capture_output=True, text=True, timeout=timeout, env=CLEAN_ENV)

    def status(self):
        """(revision, the largest dbSize among the members, the smallest dbSizeInUse)."""
        out = self.ctl("endpoint", "status", "-w", "json")
        if out.returncode != 0:
            raise RuntimeError("etcdctl endpoint status: " + out.stderr)
        st = json.loads(out.stdout)
        revision = max(s["Status"]["header"]["revision"] for s in st)
        db = max(s["Status"]["dbSize"] for s in st)
        return revision, db

    def revision(self):
        return self.status()[0]

    def history(self, prefix, from_rev, to_rev, timeout=20.0):
        """Every event under prefix with from_rev <= mod_revision <= to_rev, replayed from etcd's
        history: [(revision, type, key, value_bytes)]."""
        p = subprocess.Popen([ETCDCTL, "--endpoints", self.endpoints[0], "watch", "--prefix", prefix,
                              "--rev", str(from_rev), "-w", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=CLEAN_ENV,
                             preexec_fn=die_with_parent)
        events, last = [], from_rev - 1
        deadline = time.time() + timeout
        try:
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            buf = b""
            while last < to_rev and time.time() < deadline:
                if not sel.select(timeout=0.5):
                    continue
                chunk = os.read(p.stdout.fileno(), 1 << 20)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.strip()
                    if not line.startswith(b"{"):
                        continue
                    resp = json.loads(line)
                    for ev in resp.get("Events") or []:
                        kv = ev["kv"]
                        rev = int(kv.get("mod_revision", 0))
                        last = max(last, rev)
                        if rev > to_rev:
                            continue
                        key = base64.b64decode(kv["key"]).decode(errors="replace")
                        value = len(base64.b64decode(kv.get("value", ""))) if "value" in kv else 0
                        events.append((rev, "DELETE" if ev.get("type") == 1 else "PUT", key, value))
        finally:
            p.kill()
            p.wait()
        return events, last >= to_rev


# --- roster-servers ------------------------------------------------------------------------------

class Server:
    def __init__(self, env, build, etcd, prefix, k):
        self.k = k
        self.ready = os.path.join(env.tmp, f"server{k}.ready")
        order = etcd.endpoints[k:] + etcd.endpoints[:k]  # member k first: it talks to that one
        store = "etcd://" + ",".join(order) + "/" + prefix
        args = [os.path.join(build, "upstream", "roster-server"), "--store", store,
                "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0", "--ready-file", self.ready,
                "--lease-duration", "90", "--lease-renewal", "30"]
        self.log = f"server{k}.log"
        self.proc = env.spawn(args, self.log)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"roster-server {k} exited:\n" + env.tail(self.log))
            try:
                with open(self.ready) as f:
                    m = re.search(r"http=(\S+)", f.read())
            except FileNotFoundError:
                return None
            return m.group(1) if m else None
        self.http = wait_until(up, timeout=60, what=f"roster-server {k} ready")
        self.host, self.port = self.http.rsplit(":", 1)
        self.port = int(self.port)

    def request(self, method, path, body=None, timeout=120):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def metrics(self):
        status, body = self.request("GET", "/metrics", timeout=10)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out


# --- the data set --------------------------------------------------------------------------------

def layout(n):
    """[(service, instance ids)] with PER_SERVICE instances per service (the last may have fewer)."""
    out = []
    for s in range((n + PER_SERVICE - 1) // PER_SERVICE):
        name = f"lease-svc-{s:05d}"
        count = min(PER_SERVICE, n - s * PER_SERVICE)
        out.append((name, [f"{name}-i{j:03d}" for j in range(count)]))
    return out


def documents(services, per_doc=2000):
    doc, size = [], 0
    for s, (name, ids) in enumerate(services):
        instances = [{"id": iid, "address": f"10.{s // 256 % 256}.{s % 256}.{j % 250 + 1}", "port": 8080 + j % 100,
                      "health": "up"} for j, iid in enumerate(ids)]
        doc.append({"name": name, "versions": [{"version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "bench",
                                                "instances": instances}]})
        size += len(ids)
        if size >= per_doc:
            yield {"services": doc}, size
            doc, size = [], 0
    if doc:
        yield {"services": doc}, size


# --- the heartbeat load --------------------------------------------------------------------------

def parse_response(buf):
    """(status, bytes consumed) of the first complete response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    total = end + 4 + length
    if len(buf) < total:
        return None
    return int(head[9:12]), total


def worker(index, servers, work, conns, start, end_at, results):
    """work[k]: the heartbeat request bytes of the instances this process renews at server k."""
    die_with_parent()
    sel = selectors.DefaultSelector()
    state = []
    for k, (host, port) in enumerate(servers):
        for c in range(conns):
            s = socket.create_connection((host, port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            # connection c walks server k's list from its own offset
            st = {"sock": s, "k": k, "next": c * len(work[k]) // conns, "buf": b"", "inflight": False}
            state.append(st)
            sel.register(s, selectors.EVENT_READ, st)
    ok = [0] * len(servers)
    errors = 0
    statuses = {}
    start.wait()
    end = end_at.value

    def send(st):
        reqs = work[st["k"]]
        st["sock"].sendall(reqs[st["next"] % len(reqs)])
        st["next"] += 1
        st["inflight"] = True

    def answered(st, status):
        nonlocal errors
        st["inflight"] = False
        if status == 200:
            ok[st["k"]] += 1
        else:
            errors += 1
            statuses[status] = statuses.get(status, 0) + 1

    for st in state:
        send(st)
    while True:
        now = time.time()
        if now >= end:
            break
        for key, _ in sel.select(timeout=min(0.2, end - now)):
            st = key.data
            try:
                data = st["sock"].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError(f"server {st['k']} closed a heartbeat connection")
            st["buf"] += data
            parsed = parse_response(st["buf"])
            if parsed is None:
                continue
            status, used = parsed
            st["buf"] = st["buf"][used:]
            answered(st, status)
            if time.time() < end:
                send(st)
    # the answers still in flight (sent before the end) count too, as the servers count them
    for st in state:
        st["sock"].setblocking(True)
        st["sock"].settimeout(5)
        try:
            while st["inflight"]:
                parsed = parse_response(st["buf"])
                if parsed:
                    answered(st, parsed[0])
                    break
                data = st["sock"].recv(65536)
                if not data:
                    break
                st["buf"] += data
        except OSError:
            pass
        st["sock"].close()
    results.put((index, ok, errors, statuses))


def heartbeat_request(host, port, service, iid):
    path = f"/v1/services/{service}/versions/1.0.0/instances/{iid}/heartbeat"
    return f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 0\r\n\r\n".encode()


# --- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--procs", type=int, default=2, help="heartbeat processes")
    ap.add_argument("--conns", type=int, default=4, help="keep-alive connections per process per server")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds of idle baseline before the renewal phase")
    ap.add_argument("--out", help="also write the figures here as JSON")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    if not os.access(os.path.join(build, "upstream", "roster-server"), os.X_OK):
        sys.exit(f"no {build}/upstream/roster-server")

    exit_on_signals()

    env = Env()
    try:
        return run(env, build, args)
    finally:
        env.close()


def run(env, build, args):
    started = time.time()
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "instances": args.instances,
           "seconds": args.seconds, "procs": args.procs, "conns_per_server_per_proc": args.conns,
           "load_at_start": os.getloadavg()[0]}
    prefix = f"lease-load-{os.getpid()}/"
    log(f"etcd cluster (3 members) in {env.tmp}")
    etcd = env.etcd()
    log(f"etcd up: {','.join(etcd.endpoints)}; starting 3 roster-servers on prefix {prefix}")
    servers = [Server(env, build, etcd, prefix, k) for k in range(3)]
    log("servers: " + ", ".join(s.http for s in servers))

    # 1. registration
    services = layout(args.instances)
    t0 = time.time()
    posted = 0
    for i, (doc, count) in enumerate(documents(services)):
        body = json.dumps(doc).encode()
        status, out = servers[i % 3].request("POST", "/v1/registry", body)
        if status >= 300:
            raise RuntimeError(f"POST /v1/registry ({count} instances) -> {status}: {out[:500]!r}")
        posted += count
    reg_s = time.time() - t0
    res["register_s"] = reg_s
    log(f"registered {posted} instances in {len(services)} services in {reg_s:.1f} s "
        f"({posted / reg_s:,.0f} instances/s, documents of ~2000)")
    # every server has them all (each applies the others' commits from its watch)
    def all_loaded():
        return all(s.metrics().get("roster_instances") == args.instances for s in servers)
    wait_until(all_loaded, timeout=60, what="every server to hold every instance", poll=0.2)

    # 2. idle baseline: no client traffic
    time.sleep(1.5)
    rev_a, db_a = etcd.status()
    ta = time.time()
    time.sleep(args.idle)
    rev_b, db_b = etcd.status()
    tb = time.time()
    idle_wps = (rev_b - rev_a) / (tb - ta)
    res["idle"] = {"seconds": tb - ta, "revisions": rev_b - rev_a, "writes_per_s": idle_wps}
    log(f"idle baseline: {rev_b - rev_a} etcd revisions in {tb - ta:.1f} s = {idle_wps:.2f} writes/s")

    # 3. renewal phase
    before = [s.metrics() for s in servers]
    addrs = [(s.host, s.port) for s in servers]
    per_server = [[] for _ in servers]  # instance i renews at server i % 3
    flat = [(name, iid) for name, ids in services for iid in ids]
    for i, (name, iid) in enumerate(flat):
        k = i % 3
        per_server[k].append(heartbeat_request(*addrs[k], name, iid))
    ctx = mp.get_context("fork")
    start, end_at, results = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    workers = []
    for w in range(args.procs):
        work = [lst[w::args.procs] for lst in per_server]
        p = ctx.Process(target=worker, args=(w, addrs, work, args.conns, start, end_at, results), daemon=True)
        p.start()
        workers.append(p)
    time.sleep(1.0)  # let them connect
    rev0, db0 = etcd.status()
    t0 = time.time()
    end_at.value = t0 + args.seconds
    start.set()
    got = [results.get(timeout=args.seconds + 60) for _ in workers]
    for p in workers:
        p.join(timeout=10)
    t_end = end_at.value
    rev1, db1 = etcd.status()
    t1 = time.time()
    own = [sum(g[1][k] for g in got) for k in range(3)]  # heartbeats answered 200 by server k
    ok = sum(own)
    errors = sum(g[2] for g in got)
    statuses = {}
    for g in got:
        for k, v in g[3].items():
            statuses[k] = statuses.get(k, 0) + v
    hb_s = ok / (t_end - t0)
    writes = rev1 - rev0
    wps = writes / (t1 - t0)
    log(f"renewal phase: {ok:,} heartbeats in {t_end - t0:.1f} s = {hb_s:,.0f}/s (per server {own}; "
        f"{errors} errors {statuses}); etcd: {writes} revisions in {t1 - t0:.1f} s = {wps:.2f} writes/s; "
        f"{ok / max(1, writes):,.0f} renewals per etcd write")

    time.sleep(2.5)  # the last second's reports are written and reach every server
    rev2, db2 = etcd.status()
    after = [s.metrics() for s in servers]

    # which keys were written: replay the history from the phase's start to now
    events, complete = etcd.history(prefix, rev0 + 1, rev2)
    by_key = {}
    hashes_by_key = {}
    renewal_bytes = renewal_puts = renewal_hashes = 0
    for rev, typ, key, size in events:
        short = key[len(prefix):] if key.startswith(prefix) else key
        group = short if short.startswith("renewals/") or short in ("rev", "leader") else short.split("/")[0] + "/..."
        if rev <= rev1:  # the phase's writes, by key
            e = by_key.setdefault(f"{typ} {group}", {"count": 0, "bytes": 0})
            e["count"] += 1
            e["bytes"] += size
            if short.startswith("renewals/") and typ == "PUT":
                renewal_puts += 1
                renewal_bytes += size
                renewal_hashes += size // 8
        if short.startswith("renewals/") and typ == "PUT":  # every report of the phase's renewals
            hashes_by_key[short] = hashes_by_key.get(short, 0) + size // 8
    after_phase = [(rev, typ, key, size) for rev, typ, key, size in events if rev > rev1]
    res["renewal"] = {"seconds": t_end - t0, "heartbeats_ok": ok, "heartbeats_ok_per_server": own,
                      "heartbeat_errors": errors, "error_statuses": statuses, "heartbeats_per_s": hb_s,
                      "etcd_revisions": writes, "etcd_window_s": t1 - t0, "etcd_writes_per_s": wps,
                      "db_size_before": db0, "db_size_after": db1,
                      "renewals_per_write": ok / writes if writes else None}
    res["history"] = {"complete": complete, "events": len([e for e in events if e[0] <= rev1]), "by_key": by_key,
                      "renewal_puts": renewal_puts, "renewal_bytes": renewal_bytes,
                      "renewal_hashes": renewal_hashes, "renewal_bytes_per_s": renewal_bytes / (t1 - t0),
                      "hashes_per_put": renewal_hashes / max(1, renewal_puts),
                      "writes_after_phase": len(after_phase), "hashes_reported_by_key": hashes_by_key}
    log(f"etcd history of the phase (revisions {rev0 + 1}..{rev1}{'' if complete else ', INCOMPLETE'}):")
    for k in sorted(by_key):
        log(f"   {k}: {by_key[k]['count']} writes, {by_key[k]['bytes']:,} bytes")
    log(f"renewals keys: {renewal_puts} puts, {renewal_bytes:,} bytes = {renewal_bytes / (t1 - t0):,.0f} B/s, "
        f"{renewal_hashes / max(1, renewal_puts):,.0f} hashes per put ({renewal_hashes:,} distinct "
        f"instance-seconds for {ok:,} heartbeats); etcd db size {db0:,} -> {db1:,} bytes; "
        f"{len(after_phase)} more writes in the 2.5 s after it ({', '.join(sorted(set(e[2][len(prefix):] for e in after_phase)))})")

    # 4. correctness
    checks = []
    counts = []
    for s in servers:
        conn = http.client.HTTPConnection(s.host, s.port, timeout=30)
        total = 0
        missing = []
        for name, ids in services:
            conn.request("GET", f"/v1/services/{name}/instances")
            r = conn.getresponse()
            body = json.loads(r.read())
            n = len(body["instances"])
            total += n
            if n != len(ids):
                missing.append((name, n, len(ids)))
        conn.close()
        counts.append(total)
        checks.append((f"server {s.k}: {total} instances listed by GET /v1/services/NAME/instances over "
                       f"{len(services)} services (expected {args.instances})", total == args.instances and not missing))
    leaders = [int(m.get("roster_leader", 0)) for m in after]
    checks.append((f"exactly one leader (roster_leader = {leaders})", sum(leaders) == 1))
    for k, (b, a) in enumerate(zip(before, after)):
        exp = a.get("roster_lease_expiries_total", 0)
        sp = a.get("roster_self_preservation", 0)
        checks.append((f"server {k}: roster_instances = {a.get('roster_instances', 0):.0f}, "
                       f"roster_lease_expiries_total = {exp:.0f}, roster_self_preservation = {sp:.0f}",
                       a.get("roster_instances") == args.instances and exp == 0))
    renewals = [int(a.get("roster_lease_renewals_total", 0) - b.get("roster_lease_renewals_total", 0))
                for b, a in zip(before, after)]
    # Each server counts the heartbeats it answered plus every hash the other two reported (an
    # instance renewed twice at one server within a report interval is reported once), so
    # renewals_k - own_k + (the hashes server k reported itself) = all hashes reported.
    total_hashes = sum(hashes_by_key.values())
    from_reports = [r - o for r, o in zip(renewals, own)]
    implied_own_reports = sorted(total_hashes - f for f in from_reports)
    checks.append((f"roster_lease_renewals_total grew by {renewals} (sum {sum(renewals):,}) = heartbeats answered "
                   f"{own} + the hashes the other servers reported {from_reports}; every report of the phase "
                   f"holds {total_hashes:,} hashes ({sorted(hashes_by_key.values())} per key)",
                   complete and implied_own_reports == sorted(hashes_by_key.values())
                   and sum(renewals) == ok + 2 * total_hashes))
    res["checks"] = [{"check": c, "ok": bool(v)} for c, v in checks]
    res["renewals_total_delta"] = renewals
    res["instances_listed"] = counts
    log("checks:")
    for c, v in checks:
        log(f"   {'ok  ' if v else 'FAIL'} {c}")

    # 5. scale-up arithmetic
    target = 1_000_000 / 30
    per_srv = target / 3
    chunk = 128 * 1024
    puts_per_srv = -(-int(per_srv) // chunk)
    bytes_s = target * 8
    res["extrapolation"] = {"renewals_per_s": target, "per_server_per_s": per_srv,
                            "etcd_writes_per_s": 3 * puts_per_srv, "renewal_bytes_per_s": bytes_s,
                            "value_bytes_per_put": per_srv * 8}
    ratio = ok / writes if writes else float("inf")
    log(f"scale-up: measured {hb_s:,.0f} renewals/s cost {wps:.2f} etcd writes/s ({ratio:,.0f} renewals per write).")
    log(f"1M instances / 30 s / 3 servers = {target:,.0f} renewals/s = {per_srv:,.0f} per server-second -> "
        f"{puts_per_srv} put per server-second (a chunk holds {chunk:,} hashes) = {3 * puts_per_srv} etcd writes/s "
        f"(budget ~1,000), {per_srv * 8 / 1024:,.0f} KiB per put, {bytes_s / 1024:,.0f} KiB/s of values "
        f"({bytes_s * 86400 / 2**30:,.1f} GiB/day of MVCC history, were it never compacted: etcd's default 2 GiB "
        f"quota in {2 * 2**30 / bytes_s / 3600:.1f} h; the elected roster-server compacts history older than "
        f"keep-history, 600 s: {bytes_s * 600 / 2**20:,.0f} MiB)")
    res["wall_s"] = time.time() - started
    res["load_at_end"] = os.getloadavg()[0]
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    log(f"done in {res['wall_s']:.0f} s (load {res['load_at_start']:.2f} -> {res['load_at_end']:.2f})")
    return 0 if all(v for _, v in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
