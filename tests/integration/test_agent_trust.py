"""roster-agent against what it cannot trust or cannot do: a replaced upstream store, a damaged
cache file, an arena name someone else holds, an arena that fills up; and what readers must
never see because of it (a revision or generation going back, data of the wrong store).

ctest runs: python3 test_agent_trust.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import roster
import test_end_to_end as e2e  # its Cluster and helpers (imported as a module: not its tests)
from roster_server import RosterServer

AGENT = e2e.AGENT


class AgentTrust(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="roster-trust-")
        e2e.LOG_DIR = self.tmp
        self.cluster = e2e.Cluster(self.tmp)

    def tearDown(self):
        self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def put(self, name, version="1.0.0", extra=None):
        status, body = self.cluster.request("PUT", f"/v1/services/{name}/versions/{version}",
                                            e2e.version_doc(name, version, extra))
        self.assertEqual(status, 200, body)
        return body["revision"]

    def view(self):
        return roster.open(self.cluster.arena).view()

    def test_a_replaced_store_gets_a_whole_snapshot_not_deltas_on_top(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        for i in range(3):
            self.put(f"old-{i}")
        c.wait_synced()
        with self.view() as v:
            old_store, old_revision = v.store, v.revision
        self.assertTrue(old_store.startswith("sqlite:"), old_store)
        # The server's data dir is replaced: a new store whose revisions restart from 1.
        c.kill("server")
        shutil.move(os.path.join(self.tmp, "data"), os.path.join(self.tmp, "data-old"))
        c.start_server()
        for i in range(5):
            self.put(f"new-{i}")
        e2e.wait_until(lambda: self.cluster.shm_revision() == c.revision() and self.view_store() != old_store,
                       what="the agent on the new store")
        with self.view() as v:
            self.assertNotEqual(v.store, old_store)
            self.assertEqual(v.revision, 5)
            self.assertIsNone(v.service("old-0"), "the old store's data survived: deltas applied on top")
            self.assertIsNotNone(v.service("new-4"))
        self.assertLessEqual(5, old_revision + 2)  # the numbers overlap: only the store tells them apart

    def generation(self):
        with self.view() as v:
            return v.generation

    def view_store(self):
        try:
            with self.view() as v:
                return v.store
        except roster.Error:
            return None

    def test_a_damaged_cache_is_refused_and_the_live_arena_keeps_serving(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        self.put("svc")
        c.wait_synced()
        with self.view() as v:
            generation = v.generation
        c.kill("agent")
        c.kill("server")
        cache = os.path.join(self.tmp, "agent-cache.bin")
        data = bytearray(e2e.read_bytes(cache))
        for offset in (64, len(data) // 2, len(data) - 9):  # bytes of the snapshot, past the header
            data[offset] ^= 0x5A
        with open(cache, "wb") as f:
            f.write(data)
        c.start_agent()  # no upstream answers: only the cache could give it data
        e2e.wait_until(lambda: "checksum mismatch" in e2e.read_text(os.path.join(self.tmp, "agent.log")),
                       what="the agent refusing the cache")
        with self.view() as v:  # the previous arena, untouched
            self.assertEqual(v.generation, generation)
            self.assertIsNotNone(v.service("svc"))
        c.start_server()
        e2e.wait_until(lambda: self.generation() > generation, what="the agent publishing upstream's snapshot")
        with self.view() as v:
            self.assertIsNotNone(v.service("svc"))

    def test_generations_and_revisions_never_go_back_across_agent_restarts(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        for i in range(4):
            self.put(f"svc-{i}")
        c.wait_synced()
        seen = []
        for restart in range(3):
            with self.view() as v:
                seen.append((v.generation, v.revision))
            c.kill("agent", sig=9)
            if restart == 1:
                cache = os.path.join(self.tmp, "agent-cache.bin")
                if os.path.exists(cache):
                    os.remove(cache)  # without a cache this time
            self.put(f"more-{restart}")
            c.start_agent()
            c.wait_synced()
        with self.view() as v:
            seen.append((v.generation, v.revision))
        for earlier, later in zip(seen, seen[1:]):
            self.assertGreater(later[0], earlier[0], f"generation went back: {seen}")
            self.assertGreaterEqual(later[1], earlier[1], f"revision went back: {seen}")

    def test_the_segments_a_killed_agent_left_are_removed_by_the_next(self):
        c = self.cluster
        c.start_agent()  # no server yet: it makes its arena but has nothing to publish
        pending = [n for n in os.listdir("/dev/shm") if n.startswith(f"roster.{c.arena}.") and ".new." in n]
        self.assertEqual(len(pending), 2, pending)
        c.kill("agent", sig=9)
        self.assertTrue(all(os.path.exists("/dev/shm/" + n) for n in pending))
        c.start_server()
        self.put("svc")
        c.start_agent()
        c.wait_synced()
        self.assertFalse([n for n in pending if os.path.exists("/dev/shm/" + n)], "left by the killed agent")
        self.assertIn("removed 2 segment(s) a dead agent left", e2e.read_text(os.path.join(self.tmp, "agent.log")))
        with self.view() as v:
            self.assertIsNotNone(v.service("svc"))

    def test_a_full_arena_grows_to_the_limit_then_the_agent_stops(self):
        c = self.cluster
        c.start_server()
        ready = os.path.join(self.tmp, "agent.ready")
        with open(os.path.join(self.tmp, "agent.log"), "a") as log:
            c.agent = subprocess.Popen([AGENT, "--upstream", "unix:" + c.stream_sock, "--arena", c.arena,
                                        "--http", "127.0.0.1:0", "--ready-file", ready, "--segment-bytes",
                                        str(2 << 20), "--max-segment-bytes", str(4 << 20)],
                                       stdout=subprocess.DEVNULL, stderr=log, preexec_fn=e2e.die_with_parent)
        e2e.wait_until(lambda: os.path.exists(ready), what="agent ready")
        big = "x" * 4000
        services = [{"name": f"big-{i}", "versions": [{"version": "1.0.0", "lifecycle_stage": "beta",
                                                       "owner_team": "t", "description": big}]} for i in range(1500)]
        status, body = c.request("POST", "/v1/registry", json.dumps({"services": services}).encode())
        self.assertEqual(status, 200, body)
        self.assertEqual(c.agent.wait(timeout=30), 1)
        log = e2e.read_text(os.path.join(self.tmp, "agent.log"))
        self.assertIn("starting a 4194304-byte arena", log)
        self.assertIn("already at --max-segment-bytes", log)
        # Nothing grew past the limit, and no half-made segment was left behind.
        names = [n for n in os.listdir("/dev/shm") if n.startswith(f"roster.{c.arena}.")]
        self.assertFalse([n for n in names if ".new." in n], names)
        for n in names:
            self.assertLessEqual(os.path.getsize(os.path.join("/dev/shm", n)), 4 << 20)

    def test_a_federated_arena_that_fills_up_grows_and_keeps_every_registry(self):
        # One registry fills the arena: the agent starts a larger one, carries the other registry's
        # state over, asks the full one for a snapshot, and readers move once both are in it.
        c = self.cluster
        c.start_server()
        eu = RosterServer(sys.argv[1])
        try:
            self.put("local-svc")
            status, _, body = eu.request("PUT", "/v1/services/eu-svc/versions/1.0.0",
                                         e2e.version_doc("eu-svc", "1.0.0"))
            self.assertEqual(status, 200, body)
            ready = os.path.join(self.tmp, "agent.ready")
            with open(os.path.join(self.tmp, "agent.log"), "a") as log:
                c.agent = subprocess.Popen([AGENT, "--upstream", "unix:" + c.stream_sock, "--federate", "eu=" + eu.stream,
                                            "--arena", c.arena, "--http", "127.0.0.1:0", "--ready-file", ready,
                                            "--segment-bytes", str(2 << 20), "--max-segment-bytes", str(32 << 20)],
                                           stdout=subprocess.DEVNULL, stderr=log, preexec_fn=e2e.die_with_parent)
            e2e.wait_until(lambda: os.path.exists(ready), what="agent ready")

            def where(name):
                try:
                    with self.view() as v:
                        s = v.service(name)
                        return s.owner_team if s else None
                except roster.Error:
                    return None
            e2e.wait_until(lambda: where("local-svc") and where("eu-svc"), what="both registries in the arena")
            big = "x" * 4000
            services = [{"name": f"big-{i}", "versions": [{"version": "1.0.0", "lifecycle_stage": "beta",
                                                           "owner_team": "t", "description": big}]} for i in range(1500)]
            status, _, body = eu.request("POST", "/v1/registry", {"services": services})
            self.assertEqual(status, 200, body)
            e2e.wait_until(lambda: where("big-1499"), timeout=30, what="eu's big registry in a larger arena")
            self.assertIsNotNone(where("local-svc"), "the other registry was not carried over")
            self.assertIsNotNone(where("eu-svc"))
            self.assertIsNone(c.agent.poll(), "the agent stopped")
            log = e2e.read_text(os.path.join(self.tmp, "agent.log"))
            self.assertIn("-byte arena and requesting a snapshot", log)
        finally:
            eu.stop()

    @unittest.skipUnless(os.geteuid() == 0, "runs the agent as another user")
    def test_an_arena_name_another_user_holds_stops_the_agent_at_once(self):
        c = self.cluster
        c.start_server()
        squatter = f"/dev/shm/roster.{c.arena}.data"
        with open(squatter, "wb") as f:  # made by root, before the agent (which runs as nobody)
            f.write(b"evil 6.6.6.6:443")
        os.chmod(self.tmp, 0o777)
        os.chmod(c.stream_sock, 0o777)
        ready = os.path.join(self.tmp, "agent.ready")
        log_path = os.path.join(self.tmp, "agent.log")
        with open(log_path, "a") as log:
            agent = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", AGENT,
                                    "--upstream", "unix:" + c.stream_sock, "--arena", c.arena, "--http", "127.0.0.1:0",
                                    "--segment-bytes", str(1 << 20), "--ready-file", ready],
                                   stdout=subprocess.DEVNULL, stderr=log, timeout=20)
        self.assertEqual(agent.returncode, 1)
        self.assertIn("belongs to uid 0", e2e.read_text(log_path))
        names = [n for n in os.listdir("/dev/shm") if n.startswith(f"roster.{c.arena}.")]
        self.assertEqual(names, [f"roster.{c.arena}.data"])  # nothing was created, nothing grew
        os.remove(squatter)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
