"""Watching the registry over HTTP against a real roster-server on loopback: X-Roster-Index,
ETags and If-None-Match, blocking queries (?index=&wait=) on every GET route, and the
server-sent-events stream GET /v1/watch.

ctest runs: python3 test_watch.py BUILD_DIR SOURCE_DIR. One server on an ephemeral port, its
SQLite store in a temp dir; both go when the tests end.
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from etcd_cluster import die_with_parent

BUILD = sys.argv[1]
SERVER = os.path.join(BUILD, "upstream", "roster-server")
ROSTERCTL = os.path.join(BUILD, "cli", "rosterctl")
# The smallest the server takes: a catch-up above half of it is sent as a reset.
WATCH_BACKLOG = 64 * 1024
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "ROSTER_TOKEN"}


def read_text(path):
    with open(path) as f:
        return f.read()


def version_doc(name, version):
    return json.dumps({"name": name, "version": version, "lifecycle_stage": "beta", "owner_team": "team-watch"})


class SseReader:
    """A GET /v1/watch stream read from a raw socket: the head, then events out of the chunks."""

    def __init__(self, address, target, headers=()):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
        self.raw = b""
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        self.head = head.decode()
        self.status = int(self.head.split()[1])
        self.text = ""  # the decoded body not yet returned as events

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the stream")
        self.raw += chunk

    def _unchunk(self):
        while True:
            eol = self.raw.find(b"\r\n")
            if eol < 0:
                return
            size = int(self.raw[:eol], 16)
            if len(self.raw) < eol + 2 + size + 2:
                return
            self.text += self.raw[eol + 2:eol + 2 + size].decode()
            self.raw = self.raw[eol + 2 + size + 2:]

    def next_event(self, timeout=10):
        """The next event as a dict of its fields (comments skipped); data is parsed JSON."""
        self.sock.settimeout(timeout)
        while True:
            self._unchunk()
            while "\n\n" in self.text:
                block, self.text = self.text.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
                if fields:
                    fields["data"] = json.loads(fields["data"])
                    return fields
            self._recv()

    def close(self):
        self.sock.close()


class Watch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="roster-watch-")
        ready = os.path.join(cls.tmp, "server.ready")
        cls.log = open(os.path.join(cls.tmp, "server.log"), "a")
        args = [SERVER, "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0", "--data-dir",
                os.path.join(cls.tmp, "data"), "--ready-file", ready, "--watch-max-backlog-bytes", str(WATCH_BACKLOG)]
        cls.server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=cls.log, env=CLEAN_ENV,
                                      preexec_fn=die_with_parent)
        deadline = time.time() + 20
        while not (os.path.exists(ready) and read_text(ready).strip()):
            if time.time() > deadline or cls.server.poll() is not None:
                raise AssertionError("roster-server did not start")
            time.sleep(0.02)
        cls.address = dict(part.split("=", 1) for part in read_text(ready).split()[1:])["http"]
        cls.put_version("base", "1.0.0")

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.log.close()
        shutil.rmtree(cls.tmp)

    @classmethod
    def request(cls, method, target, body=None, headers=None, timeout=30):
        host, port = cls.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request(method, target, body=body, headers=dict(headers or {}, **{"Content-Type": "application/json"}))
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    @classmethod
    def put_version(cls, name, version):
        status, _, body = cls.request("PUT", f"/v1/services/{name}/versions/{version}", version_doc(name, version))
        assert status == 200, body
        return json.loads(body)["revision"]

    def index(self, target="/v1/revision"):
        return int(self.request("GET", target)[1]["x-roster-index"])

    def metric(self, name):
        body = self.request("GET", "/metrics")[2].decode()
        return int(float(re.search(rf"^{name} (\S+)$", body, re.M).group(1)))

    def test_every_answer_carries_the_revision(self):
        revision = json.loads(self.request("GET", "/v1/revision")[2])["revision"]
        self.assertEqual(self.index(), revision)
        status, headers, _ = self.request("GET", "/v1/services/nope")
        self.assertEqual(status, 404)
        self.assertEqual(int(headers["x-roster-index"]), revision)
        written = self.put_version("indexed", "1.0.0")
        self.assertEqual(self.index(), written)

    def test_a_blocking_query_returns_promptly_after_a_write_with_a_fresh_body(self):
        index = self.index("/v1/services/blocked")
        got = {}

        def wait():
            started = time.time()
            got["answer"] = self.request("GET", f"/v1/services/blocked?index={index}&wait=30s")
            got["seconds"] = time.time() - started

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.5)
        self.assertTrue(waiter.is_alive(), "a blocking query at the registry's revision must wait")
        self.assertEqual(self.metric("roster_http_parked_requests"), 1)
        written = self.put_version("blocked", "2.0.0")  # another client writes
        waiter.join(timeout=5)
        self.assertFalse(waiter.is_alive(), "the write did not wake the blocking query")
        status, headers, body = got["answer"]
        self.assertEqual(status, 200)
        self.assertGreaterEqual(int(headers["x-roster-index"]), written)
        self.assertGreater(int(headers["x-roster-index"]), index)
        self.assertIn(b'"2.0.0"', body)
        self.assertLess(got["seconds"], 5)
        self.assertEqual(self.metric("roster_http_parked_requests"), 0)

    def test_a_blocking_query_returns_after_its_wait_with_the_same_index(self):
        index = self.index()
        started = time.time()
        status, headers, body = self.request("GET", f"/v1/revision?index={index}&wait=400ms")
        elapsed = time.time() - started
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["x-roster-index"]), index)
        self.assertEqual(json.loads(body)["revision"], index)
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertLess(elapsed, 5)

    def test_an_index_ahead_of_the_registry_or_behind_it_is_answered_at_once(self):
        index = self.index()
        for asked in (index + 1, index + 10**12, max(index - 1, 0)):
            started = time.time()
            status, headers, _ = self.request("GET", f"/v1/services?index={asked}&wait=30s")
            self.assertEqual(status, 200)
            self.assertEqual(int(headers["x-roster-index"]), index)
            self.assertLess(time.time() - started, 2, asked)

    def test_bad_index_and_wait_values_are_400_naming_the_parameter(self):
        for query, parameter in (("index=x", "index"), ("index=-1", "index"), ("index=1e3", "index"),
                                 ("index=1&wait=forever", "wait"), ("index=1&wait=10d", "wait"),
                                 ("index=1&wait=1.5s", "wait"), ("wait=10s", "wait")):
            status, _, body = self.request("GET", f"/v1/services?{query}")
            self.assertEqual(status, 400, query)
            error = json.loads(body)["error"]
            self.assertEqual(error["path"], parameter, query)
            self.assertEqual(error["code"], "invalid_" + parameter, query)

    def test_etag_and_if_none_match(self):
        status, headers, body = self.request("GET", "/v1/services/base")
        self.assertEqual(status, 200)
        etag = headers["etag"]
        status, headers, body = self.request("GET", "/v1/services/base", headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        self.assertEqual(headers["etag"], etag)
        self.put_version("etagged", "1.0.0")
        status, headers, body = self.request("GET", "/v1/services/base", headers={"If-None-Match": etag})
        self.assertEqual(status, 200)
        self.assertNotEqual(headers["etag"], etag)
        self.assertIn(b'"base"', body)

    def test_every_get_route_accepts_index(self):
        self.put_version("routed", "1.0.0")
        contract = {"provider_range": "^1.0.0",
                    "pact": {"consumer": {"name": "routed"}, "provider": {"name": "base"}, "interactions": [],
                             "metadata": {"pactSpecification": {"version": "2.0.0"}}}}
        status, _, body = self.request("PUT", "/v1/contracts/routed/1.0.0/base", json.dumps(contract))
        self.assertEqual(status, 200, body)
        routes = ["/healthz", "/metrics", "/v1/revision", "/v1/services", "/v1/service-names", "/v1/services/routed",
                  "/v1/services/routed/versions", "/v1/services/routed/versions/1.0.0",
                  "/v1/services/routed/versions/1.0.0/schema", "/v1/services/routed/instances", "/v1/graph",
                  "/v1/graph/cycles", "/v1/graph/unresolved", "/v1/lifecycle/timeline", "/v1/contracts",
                  "/v1/contracts/matrix?provider=base", "/v1/contracts/routed/1.0.0/base",
                  "/v1/can-i-deploy?service=routed&version=1.0.0", "/v1/services/routed/tree",
                  "/v1/services/routed/impact", "/v1/services/routed/upgrade?from=1.0.0&to=1.0.0",
                  "/v1/services/routed/evolution", "/v1/services/routed/compatibility",
                  "/v1/services/routed/lifecycle-policy"]
        index = self.index()
        for route in routes:
            plain_status = self.request("GET", route)[0]
            join = "&" if "?" in route else "?"
            started = time.time()
            status, headers, _ = self.request("GET", f"{route}{join}index={index}&wait=200ms")
            self.assertEqual(status, plain_status, route)  # the route's own answer, after the wait
            self.assertNotEqual(status, 400, route)
            self.assertEqual(int(headers["x-roster-index"]), index, route)
            self.assertGreaterEqual(time.time() - started, 0.15, route)

    def test_a_client_that_leaves_while_parked_frees_its_slot(self):
        index = self.index()
        host, port = self.address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(f"GET /v1/revision?index={index}&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        deadline = time.time() + 5
        while self.metric("roster_http_parked_requests") != 1:
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        sock.close()
        while self.metric("roster_http_parked_requests") != 0:
            self.assertLess(time.time(), deadline, "the closed client's parked request was kept")
            time.sleep(0.02)

    def test_the_watch_stream_delivers_each_write_in_order_and_resumes(self):
        start = self.index()
        stream = SseReader(self.address, f"/v1/watch?index={start}")
        try:
            self.assertEqual(stream.status, 200)
            self.assertIn("Content-Type: text/event-stream", stream.head)
            self.assertIn("Transfer-Encoding: chunked", stream.head)
            self.assertEqual(self.metric("roster_http_watch_streams"), 1)
            first = self.put_version("watched", "1.0.0")
            second = self.put_version("watched", "1.1.0")
            a, b = stream.next_event(), stream.next_event()
        finally:
            stream.close()
        self.assertEqual((a["event"], int(a["id"])), ("change", first))
        self.assertEqual((b["event"], int(b["id"])), ("change", second))
        self.assertEqual(a["data"]["revision"], first)
        self.assertEqual(a["data"]["changes"],
                         [{"kind": "version", "op": "put", "service": "watched", "version": "1.0.0"}])
        self.assertEqual(b["data"]["changes"],
                         [{"kind": "version", "op": "put", "service": "watched", "version": "1.1.0"}])
        # Resuming from the first event's id (as EventSource does) brings the second again first,
        # then what came since; Last-Event-ID wins over index.
        self.request("DELETE", "/v1/services/watched/versions/1.0.0")
        resumed = SseReader(self.address, "/v1/watch?index=0", headers=[("Last-Event-ID", str(first))])
        try:
            again, deleted = resumed.next_event(), resumed.next_event()
        finally:
            resumed.close()
        self.assertEqual(int(again["id"]), second)
        self.assertEqual(deleted["event"], "change")
        self.assertEqual(deleted["data"]["changes"],
                         [{"kind": "version", "op": "delete", "service": "watched", "version": "1.0.0"}])

    def test_the_watch_stream_names_a_change_of_settings(self):
        start = self.index()
        stream = SseReader(self.address, f"/v1/watch?index={start}")
        try:
            status, _, _ = self.request("PUT", "/v1/services/tuned/compatibility", b'{"mode": "FULL"}')
            self.assertEqual(status, 200)
            status, _, _ = self.request("POST", "/v1/registry",
                                        json.dumps({"services": [{"name": "tuned", "versions": [],
                                                                  "settings": {"retire_after_days": 5}}]}).encode())
            self.assertEqual(status, 200)
            events = [stream.next_event(), stream.next_event()]
        finally:
            stream.close()
        for event in events:
            self.assertEqual(event["data"]["changes"], [{"kind": "settings", "op": "put", "service": "tuned"}])

    def test_the_watch_stream_says_reset_for_a_revision_it_cannot_replay(self):
        now = self.index()
        for target in (f"/v1/watch?index={now + 1000}", "/v1/watch"):
            stream = SseReader(self.address, target)
            try:
                event = stream.next_event()
            finally:
                stream.close()
            expected = "reset" if "index" in target else "start"
            self.assertEqual((event["event"], int(event["id"]), event["data"]["revision"]), (expected, now, now))

    def test_the_watch_stream_says_reset_when_the_catch_up_is_too_big_to_send(self):
        start = self.index()
        versions = [{"version": f"1.0.{i}", "lifecycle_stage": "beta", "owner_team": "team-watch"} for i in range(600)]
        status, _, body = self.request("POST", "/v1/registry",
                                       json.dumps({"services": [{"name": "bulk", "versions": versions}]}))
        self.assertEqual(status, 200, body)
        now = self.index()
        stream = SseReader(self.address, f"/v1/watch?index={start}")
        try:
            event = stream.next_event()
        finally:
            stream.close()
        self.assertEqual((event["event"], int(event["id"])), ("reset", now))
        # From the import on, nothing is left to catch up: the stream is open and quiet.
        stream = SseReader(self.address, f"/v1/watch?index={now}")
        try:
            self.put_version("bulk", "2.0.0")
            event = stream.next_event()
        finally:
            stream.close()
        self.assertEqual((event["event"], int(event["id"])), ("change", now + 1))

    def test_the_watch_stream_refuses_a_bad_resume_point(self):
        status, _, body = self.request("GET", "/v1/watch", headers={"Last-Event-ID": "yesterday"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"]["path"], "Last-Event-ID")

    def test_rosterctl_watch_prints_the_changes(self):
        start = self.index()
        first = self.put_version("ctl", "1.0.0")
        self.put_version("ctl", "1.1.0")
        text = subprocess.run([ROSTERCTL, "watch", "--server", self.address, "--index", str(start), "--count", "2"],
                              capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertEqual(text.stdout.splitlines(),
                         [f"{first} put version ctl@1.0.0", f"{first + 1} put version ctl@1.1.0"])
        as_json = subprocess.run([ROSTERCTL, "watch", "--server", self.address, "--index", str(start), "--count", "1",
                                  "--json"], capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        event = json.loads(as_json.stdout)
        self.assertEqual((event["id"], event["event"], event["data"]["revision"]), (first, "change", first))
        refused = subprocess.run([ROSTERCTL, "watch", "--server", self.address, "--index", "x"],
                                 capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
        self.assertEqual(refused.returncode, 2, refused.stderr)  # CLI11 refuses a non-number


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
