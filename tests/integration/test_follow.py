"""roster-server --follow (docs/federation.md): a leader server, a follower server following it
(`--follow global=TCP,unix:SOCKET`) and an agent on the follower, as real processes on loopback.
A write to the leader reaches the follower's GET routes, marked, and the agent's arena; a write to
a followed record on the follower is refused 409 naming the owner; with the leader killed the
follower keeps serving and says it is disconnected and stale; the leader restarted on its data
dir, the follower resumes with deltas (no second snapshot), and so does a restarted follower.

ctest runs: python3 test_follow.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module).
"""
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import unittest
import urllib.request

import roster
import test_end_to_end as e2e  # its Cluster and helpers (imported as a module: not its tests)
from test_openapi import Document, pointer

SNAPSHOT_LINE = "following global: its snapshot at revision"


class Follow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(e2e.SOURCE, "docs", "openapi.json")) as f:
            cls.doc = Document(json.load(f))

    def conforms(self, schema, value):
        """`value` is what docs/openapi.json says components/schemas/`schema` is."""
        self.assertEqual(self.doc.errors(pointer("components", "schemas", schema), value), [], value)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="roster-follow-")
        for name in ("leader", "follower"):
            os.mkdir(os.path.join(self.tmp, name))
        self.leader = e2e.Cluster(os.path.join(self.tmp, "leader"))
        self.follower = e2e.Cluster(os.path.join(self.tmp, "follower"))
        e2e.LOG_DIR = self.follower.tmp  # the follower's server and agent logs, when a wait times out

    def tearDown(self):
        self.follower.stop()
        self.leader.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_follower(self):
        addresses = f"{self.leader.stream_tcp},unix:{self.leader.stream_sock}"
        self.follower.start_server(extra=["--follow", "global=" + addresses])

    def put(self, cluster, name, version, extra=None):
        status, body = cluster.request("PUT", f"/v1/services/{name}/versions/{version}",
                                       e2e.version_doc(name, version, extra))
        self.assertEqual(status, 200, body)
        return body["revision"]

    def following(self):
        status, body = self.follower.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["following"]), 1, body)
        self.conforms("Health", body)
        return body["following"][0]

    def metric(self, name):
        text = urllib.request.urlopen(f"http://{self.follower.http}/metrics", timeout=10).read().decode()
        m = re.search(r'^%s\{registry="global"\} (\S+)$' % re.escape(name), text, re.M)
        self.assertIsNotNone(m, f"{name} not in /metrics:\n{text}")
        return float(m.group(1))

    def followed_version(self, name, version):
        status, body = self.follower.request("GET", f"/v1/services/{name}/versions/{version}")
        return body if status == 200 else None

    def snapshots_taken(self):
        return e2e.read_text(os.path.join(self.follower.tmp, "server.log")).count(SNAPSHOT_LINE)

    def test_a_follower_mirrors_refuses_writes_outlives_and_resumes_the_leader(self):
        self.leader.start_server()
        self.put(self.leader, "billing", "1.0.0",
                 {"instances": [{"id": "b1", "address": "10.0.0.1", "port": 8080}]})
        self.start_follower()
        self.follower.start_agent()

        # The leader's records reach the follower, marked, and its agent's arena.
        billing = e2e.wait_until(lambda: self.followed_version("billing", "1.0.0"), what="billing on the follower")
        self.assertEqual(billing["followed_from"], "global")
        self.conforms("ServiceVersion", billing)
        self.assertEqual([i["followed_from"] for i in billing["instances"]], ["global"])
        self.put(self.leader, "billing", "1.1.0")
        e2e.wait_until(lambda: self.followed_version("billing", "1.1.0"), what="a delta on the follower")
        # A local service depends on the followed one: its resolution crosses registries.
        self.put(self.follower, "web", "1.0.0", {"dependencies": [{"service": "billing", "range": "^1.0.0"}]})
        self.follower.wait_synced()
        with roster.open(self.follower.arena).view() as view:
            self.assertIsNotNone(view.service("billing", "1.1.0"))
            self.assertEqual([i.id for i in view.instances("billing", "1.0.0")], ["b1"])
            self.assertIsNotNone(view.service("web"))
        listed = e2e.ctl("instances", "billing", "--shm", self.follower.arena)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("b1", listed.stdout)
        # rosterctl shows the mark, from the arena and from the server.
        for where in (["--shm", self.follower.arena], ["--server", self.follower.http]):
            shown = e2e.ctl("get", "billing", "1.1.0", "--json", *where)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertEqual(json.loads(shown.stdout)["followed_from"], "global", shown.stdout)

        # Writes to what the follower follows are refused, naming the owner and where to write.
        for method, path, body in [
                ("PUT", "/v1/services/billing/versions/1.2.0", e2e.version_doc("billing", "1.2.0")),
                ("DELETE", "/v1/services/billing/versions/1.0.0", None),
                ("PUT", "/v1/services/billing/versions/1.0.0/instances/b1/heartbeat", None)]:
            status, answer = self.follower.request(method, path, body)
            self.assertEqual(status, 409, answer)
            self.assertEqual(answer["error"]["code"], "followed_record", answer)
            self.conforms("Error", answer)
            self.assertIn(f"followed from registry global ({self.leader.stream_tcp}, unix:{self.leader.stream_sock})",
                          answer["error"]["message"])
        state = self.following()
        self.assertTrue(state["connected"], state)
        self.assertEqual(state["revision"], self.leader.revision())
        self.assertEqual(self.metric("roster_follow_connected"), 1)
        self.assertEqual(self.metric("roster_follow_revision"), self.leader.revision())

        # The leader gone: the follower keeps serving what it followed, and says it is cut off.
        leader_revision = self.leader.revision()
        self.leader.kill("server", signal.SIGKILL)
        e2e.wait_until(lambda: not self.following()["connected"], what="the follower to notice")
        self.assertIsNotNone(self.followed_version("billing", "1.1.0"))
        self.assertEqual(self.metric("roster_follow_connected"), 0)
        e2e.wait_until(lambda: self.metric("roster_follow_staleness_seconds") >= 2, what="staleness to grow")
        self.assertEqual(self.following()["revision"], leader_revision)

        # Back on its data dir (its TCP port is another now: the Unix socket answers), the leader's
        # changes since arrive as deltas, with no second snapshot.
        self.leader.start_server()
        self.put(self.leader, "billing", "1.3.0")
        status, _ = self.leader.request("DELETE", "/v1/services/billing/versions/1.0.0/instances/b1")
        self.assertEqual(status, 200)
        e2e.wait_until(lambda: self.followed_version("billing", "1.3.0"), timeout=30, what="the follower to resume")
        e2e.wait_until(lambda: not self.followed_version("billing", "1.0.0").get("instances"), what="b1's removal")
        e2e.wait_until(lambda: self.following()["connected"], what="connected again")
        self.assertEqual(self.metric("roster_follow_connected"), 1)
        self.assertEqual(self.snapshots_taken(), 1)
        self.follower.wait_synced()
        with roster.open(self.follower.arena).view() as view:
            self.assertIsNotNone(view.service("billing", "1.3.0"))
            self.assertEqual(view.instances("billing", "1.0.0"), [])

        # A restarted follower serves what it followed at once and resumes where it stood.
        self.follower.kill("server")
        self.start_follower()
        self.assertIsNotNone(self.followed_version("billing", "1.3.0"))
        self.put(self.leader, "billing", "1.4.0")
        e2e.wait_until(lambda: self.followed_version("billing", "1.4.0"), timeout=30, what="the restarted follower")
        self.assertEqual(self.snapshots_taken(), 1)
        self.assertEqual(self.following()["revision"], self.leader.revision())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
