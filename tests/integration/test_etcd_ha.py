"""High availability: several roster-servers sharing a real etcd cluster, an agent that lists them
all, and kill -9 against servers and etcd members.

ctest runs: python3 test_etcd_ha.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module).
Each test starts its own three-member etcd cluster (etcd_cluster.py) on ephemeral ports under a
temp dir, its servers and agent on ephemeral ports, and stops all of it in its clean-up. Timings
(agent failover, leader takeover, quorum loss and recovery) are printed, not asserted: the
assertions are about what must hold however long it takes (no acknowledged write lost, one
writer wins a race the rules forbid, an expired instance removed exactly once).
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import roster

import test_end_to_end as e2e
from etcd_cluster import ETCD, ETCDCTL, EtcdCluster, die_with_parent
from test_end_to_end import AGENT, CLEAN_ENV, SERVER, version_doc


def say(text):
    print(f"    [etcd_ha] {text}", file=sys.stderr, flush=True)


def request(address, method, path, body=None, timeout=10):
    """(status, parsed body); status None when no answer came (refused, reset, timed out)."""
    req = urllib.request.Request(f"http://{address}{path}", data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 (loopback only)
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"null")
        except ValueError:
            return e.code, raw.decode(errors="replace")
    except (OSError, urllib.error.URLError) as e:  # refused, reset, timed out: no answer
        return None, str(e)


def instance_doc(instance_id, port=80):
    return json.dumps({"id": instance_id, "address": "10.0.0.1", "port": port}).encode()


def metric(text, name):
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def etcd_members_used_by(pid, etcd):
    """The etcd members (indexes) process `pid` has an established TCP connection to, from
    /proc (no ss needed): its socket inodes, matched in /proc/PID/net/tcp and tcp6."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    members = set()
    for table in ("tcp", "tcp6"):  # gRPC may connect over a dual-stack socket (::ffff:127.0.0.1)
        with open(f"/proc/{pid}/net/{table}") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                remote_port, state, inode = int(fields[2].rsplit(":", 1)[1], 16), fields[3], fields[9]
                if state == "01" and inode in inodes and remote_port in etcd.client_ports:  # 01: ESTABLISHED
                    members.add(etcd.client_ports.index(remote_port))
    return members


class Server:
    """One roster-server on the shared etcd store."""

    def __init__(self, tmp, index, store, extra=()):
        self.tmp, self.index, self.store, self.extra = tmp, index, store, list(extra)
        self.proc = None
        self.log = os.path.join(tmp, f"server{index}.log")

    def start(self):
        ready = os.path.join(self.tmp, f"server{self.index}.ready")
        if os.path.exists(ready):
            os.remove(ready)
        args = [SERVER, "--store", self.store, "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0",
                "--ready-file", ready, *self.extra]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=CLEAN_ENV,
                                         preexec_fn=die_with_parent)
        line = e2e.wait_until(lambda: (os.path.exists(ready) and e2e.read_text(ready).strip())
                              or self.proc.poll() is not None, what=f"server {self.index} ready")
        if self.proc.poll() is not None:
            raise AssertionError(f"server {self.index} exited with {self.proc.returncode}:\n"
                                 + e2e.read_text(self.log)[-3000:])
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        self.http, self.stream = fields["http"], fields["stream"]
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def request(self, method, path, body=None, timeout=10):
        return request(self.http, method, path, body, timeout)

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://{self.http}/metrics", timeout=5) as r:  # noqa: S310
                return r.read().decode()
        except OSError:
            return ""

    def metric(self, name):
        return metric(self.metrics(), name)

    def revision(self):
        status, body = self.request("GET", "/v1/revision")
        return body["revision"] if status == 200 else None


class EtcdHA(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (ETCD, ETCDCTL):
            if not os.access(tool, os.X_OK):
                raise AssertionError(f"{tool} is missing: scripts/install-deps.sh installs etcd-server and etcd-client")

    def setUp(self):
        e2e.remove_stale_arenas()
        self.tmp = tempfile.mkdtemp(prefix="roster-ha-")
        e2e.LOG_DIR = None
        self.etcd = EtcdCluster(self.tmp)
        self.servers, self.agent = [], None
        # e2e-PID-N, so that remove_stale_arenas clears it if this process dies before its clean-up.
        self.arena = f"e2e-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        # Clean-ups run last to first, each even if another failed, and also when setUp fails.
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.remove_arena)
        self.addCleanup(self.etcd.stop)
        self.addCleanup(self.stop_daemons)
        self.etcd.start()

    def stop_daemons(self):
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait(timeout=10)
        for s in self.servers:
            s.kill()

    def remove_arena(self):
        for path in glob.glob(f"/dev/shm/roster.{self.arena}.*"):
            os.remove(path)

    # --- helpers ---------------------------------------------------------------------------------
    def logs(self):
        out = [self.etcd.logs(lines=10)]
        for path in sorted(glob.glob(os.path.join(self.tmp, "*.log"))):
            if "etcd" in os.path.basename(path):
                continue
            out.append(f"--- {os.path.basename(path)} (last 25 lines)\n"
                       + "".join(e2e.read_text(path).splitlines(True)[-25:]))
        return "\n".join(out)

    def wait_until(self, predicate, timeout=20.0, what="condition"):
        try:
            return e2e.wait_until(predicate, timeout=timeout, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}") from None

    def start_servers(self, count, prefix, extra=()):
        store = self.etcd.url(prefix)
        for i in range(count):
            server = Server(self.tmp, i, store, extra)
            self.servers.append(server)  # first, so that a server that fails to get ready is stopped too
            server.start()
        return self.servers

    def start_agent(self, servers):
        ready = os.path.join(self.tmp, "agent.ready")
        args = [AGENT, "--upstream", ",".join(s.stream for s in servers), "--arena", self.arena,
                "--http", "127.0.0.1:0", "--segment-bytes", str(32 << 20),
                "--cache-file", os.path.join(self.tmp, "agent-cache.bin"), "--ready-file", ready]
        with open(os.path.join(self.tmp, "agent.log"), "a") as log:
            self.agent = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                          env=CLEAN_ENV, preexec_fn=die_with_parent)
        self.wait_until(lambda: os.path.exists(ready) and e2e.read_text(ready).strip(), what="agent ready")

    def agent_upstream(self):
        """The stream address the agent last connected to (from its log), or None."""
        found = re.findall(r"connected to (\S+); resuming", e2e.read_text(os.path.join(self.tmp, "agent.log")))
        return found[-1] if found else None

    def arena_revision(self):
        try:
            with roster.open(self.arena).view() as v:
                return v.revision
        except roster.Error:
            return -1

    def leader(self, servers):
        """The servers whose /metrics say roster_leader 1."""
        return [s for s in servers if s.alive() and s.metric("roster_leader") == 1]

    def wait_converged(self, servers, timeout=20.0):
        """All these servers at one revision and the arena at it too; returns that revision."""
        def converged():
            revs = {s.revision() for s in servers}
            if len(revs) != 1 or None in revs:
                return None
            rev = revs.pop()
            return rev if self.arena_revision() == rev else None
        return self.wait_until(converged, timeout=timeout, what="servers and arena at one revision")

    # --- a: an agent fails over while every server takes writes -----------------------------------
    def test_agent_fails_over_and_loses_no_acknowledged_write(self):
        servers = self.start_servers(3, "ha-a/")
        self.start_agent(servers)
        self.wait_until(lambda: self.agent_upstream() is not None, what="agent connected")
        stop = threading.Event()
        acknowledged, refused, lock = [], [], threading.Lock()

        def writer(w, server):
            n = 0
            while not stop.is_set():
                name = f"svc-{w}-{n}"
                status, body = server.request("PUT", f"/v1/services/{name}/versions/1.0.0", version_doc(name, "1.0.0"),
                                              timeout=5)
                if status == 200:
                    with lock:
                        acknowledged.append(("version", name, None, body["revision"]))
                    status, body = server.request("PUT", f"/v1/services/{name}/versions/1.0.0/instances/i{n}?ttl=600",
                                                  instance_doc(f"i{n}"), timeout=5)
                    if status == 200:
                        with lock:
                            acknowledged.append(("instance", name, f"i{n}", body["revision"]))
                if status != 200:
                    with lock:
                        refused.append((w, n, status, body if status else str(body)[:100]))
                    if not server.alive():
                        return  # its server is gone; the others keep writing
                n += 1
                time.sleep(0.01)

        threads = [threading.Thread(target=writer, args=(w, s), daemon=True) for w, s in enumerate(servers)]
        for t in threads:
            t.start()
        try:
            self.wait_until(lambda: len(acknowledged) >= 60, what="writes acknowledged before the kill")
            victim = next(s for s in servers if s.stream == self.agent_upstream())
            before = self.arena_revision()
            killed_at = time.monotonic()
            victim.kill()
            self.wait_until(lambda: self.arena_revision() > before and self.agent_upstream() != victim.stream,
                            timeout=20, what="the agent's arena advancing after its server died")
            failover = time.monotonic() - killed_at
            say(f"agent failover: {failover * 1000:.0f} ms from kill -9 of its server to the arena advancing "
                f"(now on {self.agent_upstream()}, revision {before} -> {self.arena_revision()})")
            # The survivors keep writing for a while after the failover.
            count = len(acknowledged)
            self.wait_until(lambda: len(acknowledged) >= count + 40, what="writes after the failover")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=15)
        survivors = [s for s in servers if s.alive()]
        rev = self.wait_converged(survivors)
        self.assertGreaterEqual(rev, max(r for *_, r in acknowledged))
        with lock:
            acked = list(acknowledged)
        with roster.open(self.arena).view() as view:
            self.assertEqual(view.revision, rev)
            for kind, name, instance, r in acked:
                if kind == "version":
                    self.assertIsNotNone(view.service(name, "1.0.0"), f"acknowledged {name}@1.0.0 (rev {r}) lost")
                else:
                    self.assertIn(instance, [i.id for i in view.instances(name)],
                                  f"acknowledged instance {name}/{instance} (rev {r}) lost")
        # The survivors serve the same registry, every acknowledged version among it.
        listed = []
        for s in survivors:
            status, body = s.request("GET", "/v1/services")
            self.assertEqual(status, 200, body)
            listed.append(sorted((v["name"], v["version"], v["revision"]) for v in body["services"]))
        self.assertEqual(listed[0], listed[1])
        names = {name for name, _, _ in listed[0]}
        self.assertFalse({name for kind, name, _, _ in acked if kind == "version"} - names)
        say(f"{len(acked)} acknowledged writes all in the arena at revision {rev}; "
            f"{len(refused)} writes unanswered or refused around the kill")

    # --- b: etcd members die: one is tolerated, two stop writes (fast), reads go on --------------
    def test_losing_etcd_quorum_refuses_writes_fast_and_keeps_reads(self):
        servers = self.start_servers(2, "ha-b/")
        self.start_agent(servers)
        a, b = servers
        status, body = a.request("PUT", "/v1/services/seed/versions/1.0.0", version_doc("seed", "1.0.0"))
        self.assertEqual(status, 200, body)
        self.wait_converged(servers)
        counter = iter(range(10 ** 6))

        def write(server, timeout=10):
            n = next(counter)
            started = time.monotonic()
            status, body = server.request("PUT", f"/v1/services/q-{n}/versions/1.0.0", version_doc(f"q-{n}", "1.0.0"),
                                          timeout=timeout)
            return status, body, time.monotonic() - started, f"q-{n}"

        acknowledged = []

        def steady(what, deadline_s, needed=10):
            """Writes at each server until one is acknowledged there (each server learns on its own
            that etcd answers again); then `needed` in a row, alternating, must all succeed.
            Returns the seconds each server took to its first success and the refusals before."""
            started = time.monotonic()
            recovered, refusals = [None] * len(servers), []
            while None in recovered:
                for i, server in enumerate(servers):
                    if recovered[i] is not None:
                        continue
                    status, body, _, name = write(server)
                    if status == 200:
                        acknowledged.append(name)
                        recovered[i] = time.monotonic() - started
                    else:
                        refusals.append((i, status, body["error"]["code"] if isinstance(body, dict) else body))
                self.assertLess(time.monotonic() - started, deadline_s,
                                f"{what}: not every server acknowledged a write within {deadline_s} s: "
                                f"{recovered} {refusals}\n{self.logs()}")
                time.sleep(0.05)
            for i in range(needed):
                status, body, _, name = write(servers[i % 2])
                self.assertEqual(status, 200, f"{what}: write {i} after every server recovered: {body}")
                acknowledged.append(name)
            return recovered, refusals

        def ms(seconds):
            return "/".join(f"{x * 1000:.0f}" for x in seconds) + " ms"

        # One member down (the raft leader: the hardest one) - a retry or two at most, then steady.
        victim = self.etcd.leader()
        self.assertIsNotNone(victim, "no etcd leader")
        self.etcd.kill(victim)
        recovered, refusals = steady("one etcd member down", deadline_s=10)
        say(f"etcd leader killed: first write acknowledged at server A/B after {ms(recovered)} "
            f"(refused before: {refusals})")
        self.assertLessEqual(len(refusals), 4, refusals)

        # A second member down: no quorum. Writes fail within a few seconds, then fail fast.
        second = next(i for i in range(3) if i != victim)
        self.etcd.kill(second)
        lost_at = time.monotonic()
        while True:
            status, body, took, name = write(servers[0])
            if status != 200:
                break
            acknowledged.append(name)
            self.assertLess(time.monotonic() - lost_at, 15, "writes still acknowledged without an etcd quorum")
        first_503 = time.monotonic() - lost_at
        self.assertEqual(status, 503, body)
        self.assertEqual(body["error"]["code"], "store_unavailable", body)
        self.assertIn("etcd", body["error"]["message"])
        say(f"quorum lost: first 503 after {first_503 * 1000:.0f} ms: {body['error']['message']}")
        # Fail fast: once the servers know etcd is gone, a write is refused at once, at both.
        self.wait_until(lambda: all(write(s, timeout=5)[2] < 0.5 for s in servers), timeout=10,
                        what="writes refused fast without quorum")
        answers = [write(servers[i % 2], timeout=5) for i in range(6)]
        for status, body, took, _ in answers:
            self.assertEqual(status, 503, body)
            self.assertLess(took, 1.0, f"a refused write took {took:.2f} s")
        say("without quorum: writes answered 503 in " + ", ".join(f"{t * 1000:.0f}" for _, _, t, _ in answers) + " ms")
        # Reads keep being served, by both servers and from the arena.
        for s in servers:
            status, got = s.request("GET", "/v1/services/seed/versions/1.0.0")
            self.assertEqual((status, got["version"]), (200, "1.0.0"), got)
            status, got = s.request("GET", "/v1/services")
            self.assertEqual(status, 200, got)
        with roster.open(self.arena).view() as view:
            self.assertIsNotNone(view.service("seed"))
            for name in acknowledged:
                self.assertIsNotNone(view.service(name, "1.0.0"), f"acknowledged {name} missing from the arena")

        # Both members back: writes resume within ~10 s, and everything converges.
        restarted_at = time.monotonic()
        self.etcd.restart(victim, wait=False)
        self.etcd.restart(second, wait=False)
        offset = time.monotonic() - restarted_at
        recovered, refusals = steady("quorum restored", deadline_s=15)
        say(f"both members restarted: writes acknowledged again at server A/B after "
            f"{ms([x + offset for x in recovered])} ({len(refusals)} refused meanwhile)")
        self.assertTrue(self.etcd.wait_healthy(timeout=20), self.etcd.logs())
        rev = self.wait_converged(servers)
        with roster.open(self.arena).view() as view:
            for name in acknowledged:
                self.assertIsNotNone(view.service(name, "1.0.0"), f"acknowledged {name} missing after recovery")
        say(f"{len(acknowledged)} acknowledged writes in the arena at revision {rev}")

    # --- c: the leader dies; the next one expires an unrenewed instance exactly once ---------------
    def test_leader_failover_expires_an_instance_exactly_once(self):
        servers = self.start_servers(3, "ha-c/")
        self.start_agent(servers)
        leaders = self.wait_until(lambda: self.leader(servers), what="a leader")
        self.assertEqual(len(leaders), 1, [s.index for s in leaders])
        leader = leaders[0]
        followers = [s for s in servers if s is not leader]
        renewer = followers[0]
        path = "/v1/services/leased/versions/1.0.0"
        self.assertEqual(renewer.request("PUT", path, version_doc("leased", "1.0.0"))[0], 200)
        status, body = renewer.request("PUT", path + "/instances/i1?ttl=3", instance_doc("i1"))
        self.assertEqual(status, 200, body)

        def present_everywhere(alive):
            for s in alive:
                status, got = s.request("GET", "/v1/services/leased/instances")
                if status != 200 or [i["id"] for i in got["instances"]] != ["i1"]:
                    return False
            with roster.open(self.arena).view() as view:
                return [i.id for i in view.instances("leased")] == ["i1"]

        def absent_everywhere(alive):
            for s in alive:
                status, got = s.request("GET", "/v1/services/leased/instances")
                if status != 200 or got["instances"]:
                    return False
            with roster.open(self.arena).view() as view:
                return not view.instances("leased")

        self.wait_until(lambda: present_everywhere(servers), what="the instance everywhere")
        # Renewed at a follower for twice its TTL: the leader hears of it through the reports.
        until = time.monotonic() + 6.5
        while time.monotonic() < until:
            status, body = renewer.request("POST", path + "/instances/i1/heartbeat")
            self.assertEqual(status, 200, body)
            time.sleep(0.5)
            self.assertTrue(present_everywhere(servers), "a renewed instance expired (renewals not reported?)\n"
                            + self.logs())
        self.assertEqual(leader.metric("roster_lease_expiries_total"), 0)
        self.assertGreater(leader.metric("roster_lease_renewals_total"), 0, "the leader saw no renewal reports")
        expiries_before = sum(s.metric("roster_lease_expiries_total") for s in followers)

        # The leader dies and renewals stop at once.
        leader.kill()
        killed_at = time.monotonic()
        new_leaders = self.wait_until(lambda: self.leader(followers), timeout=15, what="a new leader")
        takeover = time.monotonic() - killed_at
        self.assertEqual(len(new_leaders), 1)
        self.wait_until(lambda: absent_everywhere(followers), timeout=20, what="the instance expired everywhere")
        removed = time.monotonic() - killed_at
        say(f"leader killed: server {new_leaders[0].index} leads after {takeover * 1000:.0f} ms; "
            f"the unrenewed instance (ttl 3 s) removed everywhere after {removed * 1000:.0f} ms")
        # Exactly once, and it stays gone.
        expiries = sum(s.metric("roster_lease_expiries_total") for s in followers)
        self.assertEqual(expiries - expiries_before, 1)
        time.sleep(2.5)
        self.assertTrue(absent_everywhere(followers), "the expired instance came back")
        self.assertEqual(sum(s.metric("roster_lease_expiries_total") for s in followers) - expiries_before, 1)
        self.wait_converged(followers)

    # --- d: two servers race registrations the schema rules forbid together ------------------------
    def test_racing_incompatible_schemas_at_two_servers(self):
        """BACKWARD (the default) checks a candidate against the highest lower version of its major
        line, and an OpenAPI re-registration against what it replaces (schema_rules.cpp). Two
        races, each checked at both servers against their own in-memory view before either commits:

        - same version, OpenAPI: 1.0.0 serves /a; A registers 1.1.0 with /a and /b, B 1.1.0 with
          /a and /c. Either alone is fine; in either order the second drops a path of the first
          (a breaking change to a registered version), so exactly one may win, the other gets 409.
        - two versions, JSON Schema: 1.0.0 has {id}; A registers 1.1.0 adding x: string, B 1.2.0
          adding x: integer. Both read 1.0.0's data. 1.1.0 then 1.2.0 is forbidden (1.2.0 cannot
          read 1.1.0's x); 1.2.0 then 1.1.0 is allowed (1.1.0 is checked against 1.0.0 only). So
          both may win only when 1.2.0 committed first; when 1.1.0 did, 1.2.0 must get 409.
        """
        a, b = self.start_servers(2, "ha-d/")
        rounds = 15

        def race(requests):
            barrier = threading.Barrier(len(requests))
            results = [None] * len(requests)

            def go(i, server, path, doc):
                barrier.wait()
                results[i] = server.request("PUT", path, doc)
            threads = [threading.Thread(target=go, args=(i, *r)) for i, r in enumerate(requests)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            return results

        def openapi(paths):
            ok = {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
            return {"format": "openapi", "document": {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                      "paths": {p: {"get": {"responses": {"200": ok}}} for p in paths}}}

        def json_schema(extra):
            props = {"id": {"type": "string"}, **extra}
            return {"format": "json_schema", "document": {"type": "object", "properties": props}}

        conflicts_before = sum(s.metric("roster_write_conflicts_total") for s in (a, b))
        same_wins = {"a": 0, "b": 0}
        for r in range(rounds):
            name = f"same-{r}"
            base = f"/v1/services/{name}/versions/"
            status, body = a.request("PUT", base + "1.0.0", version_doc(name, "1.0.0", {"api_schema": openapi(["/a"])}))
            self.assertEqual(status, 200, body)
            self.wait_until(lambda: b.request("GET", base + "1.0.0")[0] == 200, what="1.0.0 at B")
            docs = {"a": openapi(["/a", "/b"]), "b": openapi(["/a", "/c"])}
            results = race([(a, base + "1.1.0", version_doc(name, "1.1.0", {"api_schema": docs["a"]})),
                            (b, base + "1.1.0", version_doc(name, "1.1.0", {"api_schema": docs["b"]}))])
            statuses = [s for s, _ in results]
            self.assertEqual(sorted(statuses), [200, 409], f"round {r}: {results}")
            winner = "a" if statuses[0] == 200 else "b"
            loser_body = results[1 if winner == "a" else 0][1]
            self.assertEqual(loser_body["error"]["code"], "incompatible_schema", loser_body)
            same_wins[winner] += 1
            won_at = results[0 if winner == "a" else 1][1]["revision"]
            for s in (a, b):
                got = self.wait_until(lambda: (lambda st, v: v if st == 200 and v["revision"] >= won_at else None)(
                    *s.request("GET", base + "1.1.0")), what="the winner's 1.1.0 at both servers")
                self.assertEqual(sorted(got["api_schema"]["document"]["paths"]),
                                 sorted(docs[winner]["document"]["paths"]),
                                 f"round {r}: the stored 1.1.0 is not the winner's")

        ordered = {"both (1.2.0 first)": 0, "only 1.1.0": 0, "only 1.2.0": 0}
        for r in range(rounds):
            name = f"two-{r}"
            base = f"/v1/services/{name}/versions/"
            status, body = a.request("PUT", base + "1.0.0", version_doc(name, "1.0.0", {"api_schema": json_schema({})}))
            self.assertEqual(status, 200, body)
            self.wait_until(lambda: b.request("GET", base + "1.0.0")[0] == 200, what="1.0.0 at B")
            x_string = {"api_schema": json_schema({"x": {"type": "string"}})}
            x_integer = {"api_schema": json_schema({"x": {"type": "integer"}})}
            (s11, r11), (s12, r12) = race([(a, base + "1.1.0", version_doc(name, "1.1.0", x_string)),
                                           (b, base + "1.2.0", version_doc(name, "1.2.0", x_integer))])
            self.assertIn(s11, (200, 409), r11)
            self.assertIn(s12, (200, 409), r12)
            self.assertTrue(200 in (s11, s12), f"round {r}: both refused: {r11} {r12}")
            if s11 == 200 and s12 == 200:
                self.assertLess(r12["revision"], r11["revision"],
                                f"round {r}: 1.2.0 (cannot read 1.1.0's data) committed after 1.1.0: {r11} {r12}")
                ordered["both (1.2.0 first)"] += 1
            elif s11 == 200:
                self.assertEqual(r12["error"]["code"], "incompatible_schema", r12)
                ordered["only 1.1.0"] += 1
            else:
                self.assertEqual(r11["error"]["code"], "write_conflict", r11)  # 1.1.0 alone is never incompatible
                ordered["only 1.2.0"] += 1
        conflicts = sum(s.metric("roster_write_conflicts_total") for s in (a, b)) - conflicts_before
        say(f"schema races over {rounds} rounds each: same version won by A {same_wins['a']}, B {same_wins['b']}; "
            f"two versions: {ordered}; {conflicts:.0f} commits lost a race and were checked again")
        self.wait_until(lambda: a.revision() == b.revision(), what="both servers at one revision")

    def test_sigterm_stops_the_leader_cleanly_and_hands_over_at_once(self):
        """SIGTERM stops an etcd-backed server cleanly (StopOnSignal blocks it before the etcd and
        gRPC threads start), and the leader resigns (revokes its session lease) as it stops, so its
        successor takes over at its next session step rather than after the lease's TTL."""
        servers = self.start_servers(2, "ha-term/")
        leader = self.wait_until(lambda: self.leader(servers), what="a leader")[0]
        other = next(s for s in servers if s is not leader)
        stopped_at = time.monotonic()
        leader.proc.send_signal(signal.SIGTERM)
        leader.proc.wait(timeout=10)
        self.wait_until(lambda: self.leader([other]), timeout=10, what="the other server leading")
        handover = time.monotonic() - stopped_at
        say(f"SIGTERM: the leader exited with {leader.proc.returncode}; the other server leads after "
            f"{handover * 1000:.0f} ms")
        self.assertEqual(leader.proc.returncode, 0, "roster-server did not stop cleanly on SIGTERM")
        self.assertLess(handover, 2.0, "the leader did not resign: its successor waited out the lease")

    def test_a_frozen_etcd_member_does_not_stop_writes(self):
        """One etcd member that hangs without closing its connections (SIGSTOP here; a hung host or
        a one-way partition in production) while the other two keep quorum: the server's session
        stops getting answers, so the store fails over to a channel that prefers the next member
        (and restarts its watch there); writes are acknowledged again within seconds."""
        servers = self.start_servers(1, "ha-frozen/")
        s = servers[0]
        self.assertEqual(s.request("PUT", "/v1/services/f0/versions/1.0.0", version_doc("f0", "1.0.0"))[0], 200)
        used = etcd_members_used_by(s.proc.pid, self.etcd)
        self.assertTrue(used, "the server holds no connection to an etcd member")
        frozen = min(used)
        self.etcd.procs[frozen].send_signal(signal.SIGSTOP)
        try:
            self.assertTrue(self.etcd.wait_healthy([i for i in range(3) if i != frozen], timeout=10),
                            "the two other members lost their quorum")
            frozen_at = time.monotonic()
            answers = []
            while time.monotonic() - frozen_at < 10:
                n = len(answers)
                status, body = s.request("PUT", f"/v1/services/f{n + 1}/versions/1.0.0",
                                         version_doc(f"f{n + 1}", "1.0.0"), timeout=10)
                answers.append(status)
                if status == 200:
                    break
                time.sleep(0.2)
            say(f"etcd member {frozen} (the one the server used) frozen: writes answered {answers[:3]}... "
                f"{len(answers)} tries over {time.monotonic() - frozen_at:.1f} s, last {answers[-1]}")
            self.assertEqual(answers[-1], 200, f"no write acknowledged while one etcd member of three hung: {answers}")
        finally:
            self.etcd.procs[frozen].send_signal(signal.SIGCONT)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
