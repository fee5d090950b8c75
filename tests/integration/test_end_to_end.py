"""End to end: roster-server, roster-agent and readers as real processes on loopback.

ctest runs: python3 test_end_to_end.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module).
Every process is started on ephemeral ports (or sockets in a temp dir) and stopped afterwards.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import roster
from etcd_cluster import die_with_parent  # preexec_fn of every daemon a test starts

BUILD, SOURCE = sys.argv[1], sys.argv[2]
SERVER = os.path.join(BUILD, "upstream", "roster-server")
AGENT = os.path.join(BUILD, "agent", "roster-agent")
ROSTERCTL = os.path.join(BUILD, "cli", "rosterctl")
REGISTRY = os.path.join(SOURCE, "examples", "registry.json")
PROTOCOL = 2  # the stream protocol version (docs/stream-protocol.md)
# The daemons read a token from ROSTER_TOKEN: tests give one only where they mean to.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "ROSTER_TOKEN"}


def read_text(path):
    with open(path) as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


LOG_DIR = None  # the running test's temp dir: its logs are shown when a wait times out


def logs():
    out = []
    for name in ("server.log", "agent.log"):
        path = os.path.join(LOG_DIR or "", name)
        if LOG_DIR and os.path.exists(path):
            out.append(f"--- {name} (last 30 lines)\n" + "".join(read_text(path).splitlines(True)[-30:]))
    return "\n".join(out)


def ctl(*args):
    """rosterctl with these arguments: its exit code, stdout and stderr."""
    return subprocess.run([ROSTERCTL, *args], capture_output=True, text=True, timeout=30)


def wait_until(predicate, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs()}")


def version_doc(name, version, extra=None):
    doc = {"name": name, "version": version, "lifecycle_stage": "beta", "owner_team": "team-e2e"}
    doc.update(extra or {})
    return json.dumps(doc).encode()


def read_until_close(sock, timeout=5.0):
    """Everything the peer sends until it closes (a reset after its last bytes counts as a close)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def connect_from(local_ip, address, timeout=5.0):
    """A TCP connection to "host:port" from local_ip: all of 127/8 is loopback, so 127.0.0.2 is
    another client on this host."""
    host, port = address.rsplit(":", 1)
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((local_ip, 0))
    sock.connect((host, int(port)))
    return sock


def read_error_frame(sock, timeout=5.0):
    """(code, message) of the first Error frame the peer sends; None when it closes first."""
    sock.settimeout(timeout)
    data = b""
    while True:
        while len(data) >= 8:
            length, ftype, _, _ = struct.unpack("<IBBH", data[:8])
            if len(data) < 4 + length:
                break
            payload, data = data[8:4 + length], data[4 + length:]
            if ftype == 5:  # StreamError { code: uint; message: string } as a FlatBuffer
                root = struct.unpack_from("<I", payload, 0)[0]
                vtable = root - struct.unpack_from("<i", payload, root)[0]
                vtable_size = struct.unpack_from("<H", payload, vtable)[0]
                code_at, message_at = (struct.unpack_from("<H", payload, vtable + 4 + 2 * i)[0]
                                       if 4 + 2 * i < vtable_size else 0 for i in (0, 1))
                code = struct.unpack_from("<I", payload, root + code_at)[0] if code_at else 0
                text_at = root + message_at + struct.unpack_from("<I", payload, root + message_at)[0]
                size = struct.unpack_from("<I", payload, text_at)[0]
                return code, payload[text_at + 4:text_at + 4 + size].decode()
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk


def memory_peak_kib(pid):
    """The process's peak resident set (VmHWM) in KiB."""
    for line in read_text(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/{pid}/status")


def run_briefly(args, env=None, timeout=10):
    """A daemon run that is expected to refuse to start: (exit code, stderr)."""
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env or CLEAN_ENV)
    return out.returncode, out.stderr


def remove_stale_arenas():
    """Arenas of earlier test processes that died before their clean-up (roster.e2e-PID-N.*)."""
    for name in os.listdir("/dev/shm"):
        m = re.match(r"roster\.e2e-(\d+)-\d+\.", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            try:
                os.remove(os.path.join("/dev/shm", name))
            except OSError:
                pass


class Cluster:
    """A server and an agent in a temp dir; the stream also listens on a Unix socket so that a
    restarted server keeps the address the agent knows."""

    def __init__(self, tmp, token=None, lease_seconds=90, arena=None):
        remove_stale_arenas()
        self.tmp, self.token, self.lease = tmp, token, lease_seconds
        self.arena = arena or f"e2e-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        self.stream_sock = os.path.join(tmp, "stream.sock")
        self.server = self.agent = None

    def start_server(self, extra=(), env=None, listen="127.0.0.1:0", stream="127.0.0.1:0"):
        ready = os.path.join(self.tmp, "server.ready")
        if os.path.exists(ready):
            os.remove(ready)
        args = [SERVER, "--listen", listen, "--stream", stream, "--stream-unix", self.stream_sock,
                "--data-dir", os.path.join(self.tmp, "data"), "--ready-file", ready,
                "--lease-duration", str(self.lease), "--lease-renewal", str(max(1, self.lease // 3)), *extra]
        if self.token:
            args += ["--token", self.token]
        with open(os.path.join(self.tmp, "server.log"), "a") as log:
            self.server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env or CLEAN_ENV,
                                          preexec_fn=die_with_parent)
        line = wait_until(lambda: os.path.exists(ready) and read_text(ready).strip(), what="server ready")
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        self.http, self.stream_tcp = fields["http"], fields["stream"]

    def start_agent(self, extra=(), env=None):
        ready = os.path.join(self.tmp, "agent.ready")
        if os.path.exists(ready):
            os.remove(ready)
        args = [AGENT, "--upstream", "unix:" + self.stream_sock, "--arena", self.arena, "--http", "127.0.0.1:0",
                "--segment-bytes", str(32 << 20), "--cache-file", os.path.join(self.tmp, "agent-cache.bin"),
                "--ready-file", ready, *extra]
        if self.token:
            args += ["--token", self.token]
        with open(os.path.join(self.tmp, "agent.log"), "a") as log:
            self.agent = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env or CLEAN_ENV,
                                          preexec_fn=die_with_parent)
        line = wait_until(lambda: os.path.exists(ready) and read_text(ready).strip(), what="agent ready")
        self.agent_http = dict(part.split("=", 1) for part in line.split()[1:])["http"]

    def request(self, method, path, body=None, token=None):
        req = urllib.request.Request(f"http://{self.http}{path}", data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        if token or self.token:
            req.add_header("Authorization", "Bearer " + (token or self.token))
        try:
            with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 (loopback only)
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def revision(self):
        return self.request("GET", "/v1/revision")[1]["revision"]

    def shm_revision(self):
        try:
            with roster.open(self.arena).view() as v:
                return v.revision
        except roster.Error:
            return -1

    def wait_synced(self):
        rev = self.revision()
        wait_until(lambda: self.shm_revision() >= rev, what=f"agent at revision {rev}")

    def kill(self, which, sig=signal.SIGTERM):
        proc = getattr(self, which)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=10)

    def stop(self):
        self.kill("agent")
        self.kill("server")
        for name in ("data", "readers"):
            path = f"/dev/shm/roster.{self.arena}.{name}"
            if os.path.exists(path):
                os.remove(path)


class EndToEnd(unittest.TestCase):
    def setUp(self):
        global LOG_DIR
        self.tmp = tempfile.mkdtemp(prefix="roster-e2e-")
        LOG_DIR = self.tmp
        self.cluster = Cluster(self.tmp)

    def tearDown(self):
        self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_register_is_visible_to_a_reader_through_shm(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        status, body = c.request("POST", "/v1/registry", read_bytes(REGISTRY))
        self.assertEqual(status, 200, body)
        c.wait_synced()
        with roster.open(c.arena).view() as view:
            self.assertEqual(view.service("user-service").version, "2.1.0")
            self.assertTrue(view.instances("user-service", healthy=True))
        out = subprocess.run([ROSTERCTL, "get", "user-service", "--shm", c.arena], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"version": "2.1.0"', out.stdout)
        # The API serves the same data.
        status, svc = c.request("GET", "/v1/services/user-service")
        self.assertEqual((status, svc["version"]), (200, "2.1.0"))

    def test_killed_server_loses_no_acknowledged_write_and_the_agent_resumes_by_delta(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        def snapshots_received():
            metrics = urllib.request.urlopen(f"http://{c.agent_http}/metrics", timeout=5).read().decode()
            return [l for l in metrics.splitlines() if l.startswith("roster_agent_snapshots_total")]

        c.wait_synced()
        snapshots_before = snapshots_received()
        acknowledged = []
        for i in range(40):
            status, body = c.request("PUT", f"/v1/services/svc-{i}/versions/1.0.0", version_doc(f"svc-{i}", "1.0.0"))
            self.assertEqual(status, 200, body)
            acknowledged.append(i)
            if i == 25:
                # A writer in flight while the server dies: its outcome may go either way.
                inflight = subprocess.Popen([sys.executable, "-c", f"""
import urllib.request
for j in range(100, 400):
    try:
        urllib.request.urlopen(urllib.request.Request('http://{c.http}/v1/services/late-' + str(j) + '/versions/1.0.0',
            data=b'{{"name": "late-' + str(j).encode() + b'", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"}}',
            method='PUT', headers={{'Content-Type': 'application/json'}}), timeout=2)
        print(j, flush=True)
    except Exception:
        break
"""], stdout=subprocess.PIPE, text=True)
                time.sleep(0.3)
                c.kill("server", signal.SIGKILL)
                late = [int(x) for x in inflight.communicate(timeout=10)[0].split()]
                break
        c.start_server()
        for i in acknowledged:
            status, _ = c.request("GET", f"/v1/services/svc-{i}/versions/1.0.0")
            self.assertEqual(status, 200, f"acknowledged svc-{i} lost")
        for j in late:
            status, _ = c.request("GET", f"/v1/services/late-{j}/versions/1.0.0")
            self.assertEqual(status, 200, f"acknowledged late-{j} lost")
        # The agent reconnects to the restarted server and catches up by delta, not snapshot.
        status, _ = c.request("PUT", "/v1/services/after/versions/1.0.0", version_doc("after", "1.0.0"))
        self.assertEqual(status, 200)
        c.wait_synced()
        self.assertEqual(snapshots_received(), snapshots_before)  # resumed by delta, no new snapshot
        with roster.open(c.arena).view() as view:
            self.assertIsNotNone(view.service("after"))
            for i in acknowledged:
                self.assertIsNotNone(view.service(f"svc-{i}"))

    def test_agent_health_by_status_code_metrics_and_an_outage_logged_once(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        c.request("PUT", "/v1/services/h/versions/1.0.0", version_doc("h", "1.0.0"))
        c.wait_synced()

        def get(path):
            try:
                with urllib.request.urlopen(f"http://{c.agent_http}{path}", timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
        for path, state in (("/healthz", "ok"), ("/readyz", "ready"), ("/livez", "ok")):
            code, body = get(path)
            self.assertEqual((code, json.loads(body)["status"]), (200, state), path)
        code, metrics = get("/metrics")
        self.assertIn('roster_build_info{program="roster-agent",version="', metrics)
        self.assertIn("# TYPE roster_agent_delta_apply_seconds histogram", metrics)
        self.assertRegex(metrics, r'roster_agent_delta_apply_seconds_count [1-9]')
        with urllib.request.urlopen(f"http://{c.http}/metrics", timeout=5) as r:
            server_metrics = r.read().decode()
        self.assertIn('roster_http_request_duration_seconds_count{route="PUT /v1/services/{name}/versions/{version}"} 1',
                      server_metrics)
        # The write reached the agent: its fan-out lag was timed.
        self.assertIn("# TYPE roster_fanout_lag_seconds histogram", server_metrics)
        self.assertRegex(server_metrics, r"roster_fanout_lag_seconds_count [1-9]")
        # Both exposition texts pass Prometheus' own lint (HELP, TYPE, names, units, histograms).
        for who, text in (("roster-server", server_metrics), ("roster-agent", metrics)):
            lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                  timeout=30)
            self.assertEqual(lint.returncode, 0, f"{who}: {lint.stdout}{lint.stderr}")

        # Upstream gone: not healthy (503, how long), still ready and alive (readers are served).
        c.kill("server", signal.SIGKILL)
        wait_until(lambda: get("/healthz")[0] == 503, what="agent unhealthy without its upstream")
        time.sleep(3)  # several reconnection attempts
        code, body = get("/healthz")
        self.assertEqual(json.loads(body)["status"], "disconnected")
        self.assertIn("disconnected_seconds", json.loads(body))
        self.assertEqual(get("/readyz")[0], 200)
        self.assertEqual(get("/livez")[0], 200)
        # The outage is one warning, not one line per attempt.
        agent_log = read_text(os.path.join(self.tmp, "agent.log"))
        outage = agent_log[agent_log.rfind("disconnected from"):]
        self.assertEqual(outage.count("cannot connect"), 0, outage)
        c.start_server()
        wait_until(lambda: get("/healthz")[0] == 200, what="agent healthy again")
        self.assertIn("answers again after", read_text(os.path.join(self.tmp, "agent.log")))

    def test_killed_agent_keeps_readers_reading_and_a_new_agent_reattaches_them(self):
        c = self.cluster
        c.start_server()
        c.start_agent()
        c.request("POST", "/v1/registry", read_bytes(REGISTRY))
        c.wait_synced()
        client = roster.open(c.arena)  # opened before the agent dies
        c.kill("agent", signal.SIGKILL)
        with client.view() as view:
            self.assertEqual(view.service("payment-service").version, "3.1.0")  # still readable
        c.start_agent()  # warm-starts from its cache, replaces the arena
        c.request("PUT", "/v1/services/fresh/versions/1.0.0", version_doc("fresh", "1.0.0"))
        wait_until(lambda: client.view().service("fresh") is not None, what="old client re-attached")
        with client.view() as view:
            self.assertEqual(view.service("payment-service").version, "3.1.0")

    def test_expired_lease_removes_the_instance_everywhere(self):
        c = Cluster(self.tmp, lease_seconds=2)
        self.cluster = c
        c.start_server()
        c.start_agent()
        c.request("PUT", "/v1/services/leased/versions/1.0.0", version_doc("leased", "1.0.0"))
        status, body = c.request("PUT", "/v1/services/leased/versions/1.0.0/instances/i1?ttl=1",
                                 json.dumps({"id": "i1", "address": "10.1.1.1", "port": 80}).encode())
        self.assertEqual(status, 200, body)
        self.assertEqual(body["renew_every_seconds"], 1)  # --lease-renewal, not a fixed 30
        c.wait_synced()
        with roster.open(c.arena).view() as view:
            self.assertEqual(len(view.instances("leased")), 1)
        wait_until(lambda: not c.request("GET", "/v1/services/leased/instances")[1]["instances"],
                   what="lease expiry on the server")
        wait_until(lambda: not roster.open(c.arena).view().instances("leased"), what="lease expiry in shm")
        metrics = urllib.request.urlopen(f"http://{c.http}/metrics", timeout=5).read().decode()
        self.assertIn("roster_lease_expiries_total 1", metrics)
        self.assertIn('1 instance lease(s) ran out (instance "i1" of leased@1.0.0)',
                      read_text(os.path.join(self.tmp, "server.log")))

    def test_bad_http_requests_get_clear_errors_and_change_nothing(self):
        c = self.cluster
        c.start_server()
        before = c.revision()
        host, port = c.http.split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"\x00\x01GARBAGE\r\n\r\n")
            reply = s.recv(4096).decode(errors="replace")
        self.assertIn("400", reply.split("\r\n")[0])
        self.assertIn('"error"', reply)
        status, body = c.request("PUT", "/v1/services/x/versions/1.0.0", b'{"name": "x", "version": "1.0.0", "owner_team": 5}')
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["path"], "owner_team")
        status, body = c.request("PUT", "/v1/services/x/versions/1.0.0", b"{" * 100)
        self.assertEqual(status, 400)
        status, body = c.request("PUT", "/v1/services/x/versions/1.0.0", b'{"a": "' + b"x" * (9 << 20) + b'"}')
        self.assertEqual(status, 413)
        self.assertIn("roster-server --max-body-bytes sets the limit", body["error"]["message"])
        self.assertEqual(c.revision(), before)

    def test_bad_frames_get_an_error_frame_and_change_nothing(self):
        c = self.cluster
        c.start_server()
        before = c.revision()
        host, port = c.stream_tcp.split(":")

        def exchange(payload):
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(payload)
                return read_until_close(s)

        def frame(ftype, payload, version=PROTOCOL):
            return struct.pack("<IBBH", 4 + len(payload), ftype, version, 0) + payload

        for name, payload in [
            ("garbage Hello payload", frame(1, b"\xff" * 40)),
            ("unknown frame type", frame(77, b"")),
            ("wrong protocol version", frame(1, b"", version=9)),
            ("oversized frame", struct.pack("<IBBH", 200 << 20, 1, PROTOCOL, 0)),
            ("a delta from an agent", frame(3, b"\x00" * 16)),
        ]:
            reply = exchange(payload)
            self.assertGreaterEqual(len(reply), 8, name)
            length, ftype, version, _ = struct.unpack("<IBBH", reply[:8])
            self.assertEqual(ftype, 5, f"{name}: expected an Error frame")
        # A truncated frame then a closed connection: nothing happens.
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(frame(1, b"\x00" * 32)[:10])
        self.assertEqual(c.revision(), before)
        metrics = urllib.request.urlopen(f"http://{c.http}/metrics", timeout=5).read().decode()
        self.assertNotIn("roster_stream_bad_frames_total 0", metrics)

    def test_latest_and_resolution_follow_the_lifecycle_in_the_server_the_graph_and_the_arena(self):
        """docs/lifecycle.md: a proposal registered above every release is not "latest" and takes no
        dependency over, anywhere, until it is promoted; the server, its graph and the arena agree."""
        c = self.cluster
        c.start_server()
        c.start_agent()

        def stage_version(v, stage):
            return {"version": v, "lifecycle_stage": stage, "owner_team": "t"}
        doc = {"services": [
            {"name": "courier", "versions": [stage_version("1.0.0", "stable"), stage_version("2.0.0", "stable"),
                                             stage_version("3.0.0", "deprecated")]},
            {"name": "shop", "versions": [dict(stage_version("1.0.0", "stable"),
                                               dependencies=[{"service": "courier", "range": ">=1.0.0"}])]},
            {"name": "fresh", "versions": [stage_version("0.1.0", "beta")]},  # nothing stable yet: beta counts
        ]}
        status, body = c.request("POST", "/v1/registry", json.dumps(doc).encode())
        self.assertEqual(status, 200, body)
        status, body = c.request("PUT", "/v1/services/courier/versions/4.0.0",
                                 json.dumps(dict(stage_version("4.0.0", "proposed"), name="courier")).encode())
        self.assertEqual(status, 200, body)

        def answers():
            """What each reader calls latest / resolves to, keyed by who answers."""
            c.wait_synced()
            out = {"http": c.request("GET", "/v1/services/courier")[1]["version"],
                   "http any stage": c.request("GET", "/v1/services/courier?prerelease=true")[1]["version"]}
            tree = c.request("GET", "/v1/services/shop/tree")[1]
            out["graph"] = tree["dependencies"][0]["version"]
            with roster.open(c.arena).view() as view:
                out["shm"] = view.service("courier").version
                out["shm any stage"] = view.latest("courier", include_prerelease=True).version
                out["shm edge"] = view.dependencies("shop")[0]["resolved"].version
            for source in (["--server", c.http], ["--shm", c.arena]):
                got = ctl("get", "courier", "--json", *source)
                self.assertEqual(got.returncode, 0, got.stderr)
                out["rosterctl " + source[0]] = json.loads(got.stdout)["version"]
                got = ctl("get", "courier", "--json", "--any-stage", *source)
                out["rosterctl any stage " + source[0]] = json.loads(got.stdout)["version"]
            return out

        def expect(latest, any_stage):
            got = answers()
            want = {k: (any_stage if "any stage" in k else latest) for k in got}
            self.assertEqual(got, want)

        expect("2.0.0", "4.0.0")  # stable first: not the proposal, nor the higher deprecated 3.0.0
        self.assertEqual(ctl("can-i-deploy", "shop", "1.0.0", "--server", c.http).returncode, 0)
        for stage in ("beta", "stable"):  # beta does not outrank a stable version; stable does
            out = ctl("lifecycle", "set", "courier", "4.0.0", stage, "--server", c.http)
            self.assertEqual(out.returncode, 0, out.stderr)
        expect("4.0.0", "4.0.0")
        # A service with nothing released yet answers with its beta, from every reader.
        status, body = c.request("GET", "/v1/services/fresh")
        self.assertEqual((status, body["version"]), (200, "0.1.0"))
        with roster.open(c.arena).view() as view:
            self.assertEqual(view.service("fresh").version, "0.1.0")
        # Only a proposal: nothing counts as latest, and the refusal says how to ask for it.
        status, body = c.request("PUT", "/v1/services/draft/versions/0.1.0",
                                 json.dumps(dict(stage_version("0.1.0", "proposed"), name="draft")).encode())
        self.assertEqual(status, 200, body)
        status, body = c.request("GET", "/v1/services/draft")
        self.assertEqual(status, 404, body)
        self.assertIn("?prerelease=true", body["error"]["message"])
        c.wait_synced()
        with roster.open(c.arena).view() as view:
            self.assertIsNone(view.service("draft"))
            self.assertEqual(view.latest("draft", include_prerelease=True).version, "0.1.0")
        out = ctl("get", "draft", "--shm", c.arena)
        self.assertEqual(out.returncode, 1)

    def test_rosterctl_against_the_server_and_the_agent(self):
        c = self.cluster
        c.start_server()
        c.start_agent()

        out = ctl("register", REGISTRY, "--dry-run", "--server", c.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run, nothing written", out.stdout)
        self.assertEqual(c.revision(), 0)
        out = ctl("register", REGISTRY, "--server", c.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"services": [{"name": "x", "versions": [{"version": "1", "owner_team": 3}]}]}')
        out = ctl("register", bad, "--server", c.http)
        self.assertEqual(out.returncode, 1)
        self.assertIn("invalid_document", out.stderr)
        c.wait_synced()
        for source in (["--server", c.http], ["--shm", c.arena]):
            out = ctl("get", "user-service", *source)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("2.1.0", out.stdout)
            out = ctl("get", "user-service", "1.0.0", *source)
            self.assertIn("deprecated", out.stdout)
            out = ctl("search", "--team", "identity-team", *source)
            self.assertIn("auth-service", out.stdout)
            out = ctl("instances", "user-service", "--healthy", *source)
            self.assertIn("10.0.1.34", out.stdout)
            out = ctl("get", "no-such-service", *source)
            self.assertEqual(out.returncode, 1)
        # Both sources answer alike: the same table (by name, then precedence), and JSON with --json.
        tables = {}
        for source in (["--server", c.http], ["--shm", c.arena]):
            out = ctl("search", *source)  # no filter: every version
            self.assertEqual(out.returncode, 0, out.stderr)
            tables[source[0]] = out.stdout
            self.assertTrue(json.loads(ctl("search", "--team", "identity-team", "--json", *source).stdout)["services"])
            self.assertEqual(json.loads(ctl("get", "user-service", "--json", *source).stdout)["version"], "2.1.0")
            self.assertTrue(json.loads(ctl("instances", "user-service", "--json", *source).stdout))
            out = ctl("instances", "user-service", "--healthy", *source)
            self.assertNotIn("{", out.stdout)  # a table, not JSON
        self.assertIn("user-service@2.1.0", tables["--shm"])
        self.assertEqual(tables["--server"], tables["--shm"])
        out = ctl("deregister", "legacy-api", "1.0.0", "--server", c.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        c.wait_synced()
        self.assertEqual(ctl("get", "legacy-api", "1.0.0", "--shm", c.arena).returncode, 1)
        out = ctl("status", "--shm", c.arena, "--server", c.http, "--json")
        status = json.loads(out.stdout)
        self.assertEqual(status["revision"], status["server_revision"])
        self.assertLess(status["staleness_ms"], 60000)
        out = ctl("status", "--shm", c.arena, "--agent", c.agent_http, "--json")
        agent = json.loads(out.stdout)["agent"]
        self.assertEqual((agent["status"], agent["upstream"]), ("ok", "unix:" + c.stream_sock))

    def test_rosterctl_registers_instances_renews_their_leases_and_names_the_services(self):
        c = self.cluster
        c.start_server()
        c.start_agent()

        self.assertEqual(ctl("register", REGISTRY, "--server", c.http).returncode, 0)
        out = ctl("instance", "register", "payment-service", "3.1.0", "p-new", "--address", "10.0.9.9", "--port", "8443",
                  "--zone", "eu-west-1a", "--weight", "200", "--health", "starting", "--metadata", "pod=p-new",
                  "--metadata", "canary=true", "--ttl", "60", "--server", c.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"payment-service@3.1.0 instance p-new registered \(revision \d+; lease until "
                                     r"\S+Z, renew every \d+ s\)")
        c.wait_synced()
        with roster.open(c.arena).view() as view:
            mine = [i for i in view.instances("payment-service") if i.id == "p-new"]
        self.assertEqual(len(mine), 1)
        got = json.loads(ctl("get", "payment-service", "3.1.0", "--json", "--server", c.http).stdout)
        listed = next(i for i in got["instances"] if i["id"] == "p-new")
        self.assertEqual((listed["address"], listed["port"], listed["zone"], listed["weight"], listed["health"],
                          listed["metadata"]), ("10.0.9.9", 8443, "eu-west-1a", 200, "starting",
                                                {"canary": "true", "pod": "p-new"}))
        renewed = json.loads(ctl("instance", "heartbeat", "payment-service", "3.1.0", "p-new", "--json",
                                 "--server", c.http).stdout)
        self.assertGreater(renewed["lease_expires_at_ms"], time.time() * 1000)

        # Bad arguments are refused before anything is sent, naming the option.
        revision = c.revision()
        for args, want in [(["--port", "0"], "--port"), (["--port", "80", "--health", "sick"], "--health"),
                           (["--port", "80", "--metadata", "novalue"], '--metadata "novalue"'),
                           (["--port", "80", "--metadata", "a=1", "--metadata", "a=2"], 'key "a" given twice'),
                           (["--port", "80", "--ttl", "0"], "--ttl")]:
            out = ctl("instance", "register", "payment-service", "3.1.0", "p-bad", "--address", "10.0.0.1", *args,
                      "--server", c.http)
            self.assertEqual(out.returncode, 2, (args, out.stderr))
            self.assertIn(want, out.stderr)
        self.assertEqual(c.revision(), revision)
        # An instance of a version that does not exist: the server's refusal, then the nearest name.
        out = ctl("instance", "register", "payment-servce", "3.1.0", "p", "--address", "10.0.0.1", "--port", "80",
                  "--server", c.http)
        self.assertEqual(out.returncode, 1)
        self.assertIn('no service "payment-servce"; did you mean "payment-service"?', out.stderr)

        # --every keeps renewing until the server no longer knows the instance.
        beating = subprocess.Popen([ROSTERCTL, "instance", "heartbeat", "payment-service", "3.1.0", "p-new",
                                    "--every", "1", "--json", "--server", c.http],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: beating.stdout.readline(), what="a first renewal")
            out = ctl("instance", "deregister", "payment-service", "3.1.0", "p-new", "--server", c.http)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("payment-service@3.1.0 instance p-new removed (revision", out.stdout)
            self.assertEqual(beating.wait(timeout=10), 1)
            self.assertIn("register it again", beating.stderr.read())
        finally:
            if beating.poll() is None:
                beating.kill()
                beating.wait()
            beating.stdout.close()
            beating.stderr.close()

        # Every service's name, from the server and from the arena alike.
        c.wait_synced()
        names = json.loads(ctl("services", "--json", "--server", c.http).stdout)["services"]
        self.assertEqual(names, sorted({s["name"] for s in json.loads(read_text(REGISTRY))["services"]}))
        for source in (["--server", c.http], ["--shm", c.arena]):
            out = ctl("services", *source)
            self.assertEqual((out.returncode, out.stdout.split()), (0, names), out.stderr)

        # Did you mean: every command that takes a service name, when that name does not exist.
        for args in (["get", "user-servce"], ["get", "user-servce", "2.1.0"], ["instances", "user-servce"],
                     ["deregister", "user-servce", "2.1.0"], ["deps", "tree", "user-servce"],
                     ["deps", "impact", "user-servce@2.1.0"], ["deps", "upgrade", "user-servce", "2.0.0", "2.1.0"],
                     ["lifecycle", "set", "user-servce", "2.1.0", "deprecated"], ["can-i-deploy", "user-servce", "2.1.0"],
                     ["schema", "evolution", "user-servce"], ["contract", "matrix", "user-servce"],
                     ["instance", "heartbeat", "user-servce", "2.1.0", "x"],
                     ["instance", "deregister", "user-servce", "2.1.0", "x"]):
            for source in (["--server", c.http], ["--shm", c.arena]):
                if source[0] == "--shm" and args[0] not in ("get", "instances"):
                    continue
                with self.subTest(args=args, source=source[0]):
                    out = ctl(*args, *source)
                    self.assertNotEqual(out.returncode, 0)
                    self.assertIn('no service "user-servce"; did you mean "user-service"?', out.stderr)
        out = ctl("get", "zzzzzzzz", "--server", c.http)
        self.assertIn('no service "zzzzzzzz"\n', out.stderr)  # nothing near: no suggestion

        # Bash completes a service name from the --server on the line (its first argument only).
        def complete(*words):
            line = f'eval "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rosterctl; echo "${{COMPREPLY[*]}}"'
            return subprocess.run(["bash", "-c", line, "_", ctl("completion", "bash").stdout, ROSTERCTL, *words],
                                  capture_output=True, text=True, timeout=30).stdout.split()
        self.assertEqual(complete("get", "--server", c.http, "user-s"), ["user-service"])
        self.assertEqual(complete("deps", "upgrade", "--server", c.http, "pay"), ["payment-service"])
        self.assertEqual(complete("get", "--server", c.http, "user-service", "user-s"), [])
        out = ctl("get", "user-service", "9.9.9", "--server", c.http)  # the service exists: no hint
        self.assertEqual(out.returncode, 1)
        self.assertNotIn("no service", out.stderr)

    def test_every_rosterctl_command_takes_json_and_prints_json(self):
        """--json on every leaf command, read from rosterctl's own command tree: a command added
        without a run here, or whose --json output is not one JSON document, fails."""
        c = self.cluster
        c.start_server()
        c.start_agent()

        self.assertEqual(ctl("register", REGISTRY, "--server", c.http).returncode, 0)
        c.wait_synced()
        data = os.path.join(SOURCE, "tests", "cli", "data")
        snapshot = os.path.join(self.tmp, "registry.bin")
        server = ["--server", c.http]
        instance = ["payment-service", "3.1.0", "json-1"]
        runs = {  # in order: convert writes what dump reads, an instance is registered before its heartbeat
            "semver sort": ["1.10.0", "1.2.0"],
            "semver satisfies": ["1.2.0", "^1.0.0"],
            "semver max": ["^1.0.0", "1.2.0", "1.10.0"],
            "validate": [REGISTRY],
            "convert": [REGISTRY, "-o", snapshot],
            "dump": [snapshot],
            "register": [REGISTRY, "--dry-run", *server],
            "get": ["user-service", *server],
            "search": ["--team", "identity-team", *server],
            "services": server,
            "instances": ["user-service", *server],
            "instance register": [*instance, "--address", "10.9.9.9", "--port", "80", *server],
            "instance heartbeat": [*instance, *server],
            "instance deregister": [*instance, *server],
            "deregister": ["legacy-api", "1.0.0", *server],
            "status": ["--shm", c.arena, *server],
            "where": ["user-service", "--shm", c.arena],
            "export": server,
            "import": [REGISTRY, "--dry-run", *server],
            "deps tree": ["api-gateway", *server],
            "deps impact": ["user-service@2.0.0", *server],
            "deps cycles": server,
            "deps upgrade": ["user-service", "2.0.0", "2.1.0", *server],
            "deps unresolved": server,
            "deps graph": server,
            "lifecycle set": ["new-api", "2.0.0", "stable", *server],
            "lifecycle timeline": server,
            "can-i-deploy": ["api-gateway", "1.0.0", *server],
            "schema check": [os.path.join(data, "users_v1.openapi.json")],
            "schema diff": [os.path.join(data, "users_v1.openapi.json"), os.path.join(data, "users_v2_breaking.openapi.json")],
            "schema compat": ["--mode", "BACKWARD", os.path.join(data, "user_v1.schema.json"),
                              os.path.join(data, "user_v2.schema.json")],
            "schema evolution": ["user-service", *server],
            "contract verify": [os.path.join(data, "pact_ok.json"), os.path.join(data, "users_v1.openapi.json")],
            "contract matrix": ["user-service", *server],
            "completion": ["bash"],
            "watch": ["--index", "0", "--count", "1", *server],  # the first change, one JSON line
        }
        tree = json.loads(ctl("completion", "bash", "--json").stdout)["commands"]
        leaves = [command["path"] for command in tree if not command["subcommands"]]
        self.assertEqual(sorted(runs), sorted(leaves), "each leaf command needs a --json run here")
        for command in tree:
            if not command["subcommands"]:
                self.assertIn("--json", command["options"], command["path"])
        for path, args in runs.items():
            with self.subTest(command=path):
                out = ctl(*path.split(), *args, "--json")
                self.assertIn(out.returncode, (0, 1), out.stderr)  # 1: a negative answer (schema diff: breaking)
                self.assertTrue(out.stdout.strip(), out.stderr)
                json.loads(out.stdout)

    def test_an_export_restores_the_registry_into_another_server(self):
        source = self.cluster
        source.start_server()
        os.makedirs(os.path.join(self.tmp, "restored"))
        target = Cluster(os.path.join(self.tmp, "restored"))
        self.addCleanup(target.stop)
        target.start_server()

        self.assertEqual(ctl("register", REGISTRY, "--server", source.http).returncode, 0)
        status, _ = source.request("PUT", "/v1/services/user-service/compatibility", b'{"mode": "NONE"}')
        self.assertEqual(status, 200)
        status, _ = source.request("PUT", "/v1/services/auth-service/lifecycle-policy", b'{"sunset_after_days": 12}')
        self.assertEqual(status, 200)

        backup = os.path.join(self.tmp, "backup.json")
        out = ctl("export", "-o", backup, "--server", source.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(backup) as f:
            exported = json.load(f)
        self.assertFalse(any("instances" in v for s in exported["services"] for v in s["versions"]))
        unwritable = ctl("export", "-o", os.path.join(self.tmp, "no-such-dir", "backup.json"), "--server", source.http)
        self.assertEqual(unwritable.returncode, 2)
        self.assertIn("no-such-dir", unwritable.stderr)
        with_instances = json.loads(ctl("export", "--instances", "--server", source.http).stdout)
        self.assertTrue(any("instances" in v for s in with_instances["services"] for v in s["versions"]))

        out = ctl("import", backup, "--dry-run", "--server", target.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run, nothing written", out.stdout)
        self.assertEqual(target.revision(), 0)
        out = ctl("import", backup, "--server", target.http)
        self.assertEqual(out.returncode, 0, out.stderr)

        # The same registry, but for the revision each record was written at.
        def without_revisions(document):
            for service in document["services"]:
                for version in service["versions"]:
                    version.pop("revision", None)
            return document

        restored = json.loads(ctl("export", "--server", target.http).stdout)
        self.assertEqual(without_revisions(restored), without_revisions(exported))
        self.assertEqual(target.request("GET", "/v1/services/user-service/compatibility")[1]["mode"], "NONE")
        self.assertEqual(target.request("GET", "/v1/services/auth-service/lifecycle-policy")[1]["sunset_after_days"], 12)

        # What cannot be restored says why and where, and writes nothing.
        revision = target.revision()
        broken = os.path.join(self.tmp, "broken.json")
        with open(broken, "w") as f:
            json.dump({"services": [{"name": "x", "versions": [], "settings": {"compatibility": "SOMETIMES"}}]}, f)
        out = ctl("import", broken, "--server", target.http)
        self.assertEqual(out.returncode, 1)
        self.assertIn("services[0].settings.compatibility", out.stderr)
        one_version = os.path.join(self.tmp, "one.json")
        with open(one_version, "w") as f:
            json.dump({"name": "x", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"}, f)
        out = ctl("import", one_version, "--server", target.http)
        self.assertEqual(out.returncode, 2)
        self.assertIn("rosterctl register", out.stderr)
        self.assertEqual(target.revision(), revision)

    def test_agent_fails_over_to_the_next_upstream(self):
        c = self.cluster
        c.start_server()
        c.request("PUT", "/v1/services/failover/versions/1.0.0", version_doc("failover", "1.0.0"))
        with socket.socket() as dead:
            dead.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
            dead_address = f"127.0.0.1:{dead.getsockname()[1]}"
            ready = os.path.join(self.tmp, "agent.ready")
            with open(os.path.join(self.tmp, "agent.log"), "a") as log:
                c.agent = subprocess.Popen(
                    [AGENT, "--upstream", f"127.0.0.1:{dead.getsockname()[1]},unix:{c.stream_sock}", "--arena", c.arena,
                     "--http", "127.0.0.1:0", "--segment-bytes", str(16 << 20), "--ready-file", ready],
                    stdout=subprocess.DEVNULL, stderr=log, preexec_fn=die_with_parent)
            c.wait_synced()
        with roster.open(c.arena).view() as view:
            self.assertIsNotNone(view.service("failover"))
        self.assertIn(f"cannot connect to {dead_address}", read_text(os.path.join(self.tmp, "agent.log")))

    def test_agent_refuses_malformed_frames_and_keeps_its_state(self):
        """A hostile upstream: after a valid registry, it sends garbage. The agent keeps serving
        what it had, says what was wrong (with the frame offset), and reconnects."""
        c = self.cluster
        c.start_server()
        c.request("PUT", "/v1/services/kept/versions/1.0.0", version_doc("kept", "1.0.0"))
        c.start_agent()
        c.wait_synced()
        c.kill("agent")
        fake = socket.socket()
        fake.bind(("127.0.0.1", 0))
        fake.listen(8)
        port = fake.getsockname()[1]
        ready = os.path.join(self.tmp, "agent.ready")
        os.remove(ready)
        with open(os.path.join(self.tmp, "agent.log"), "a") as log:
            c.agent = subprocess.Popen([AGENT, "--upstream", f"127.0.0.1:{port}", "--arena", c.arena, "--http", "127.0.0.1:0",
                                        "--segment-bytes", str(16 << 20), "--ready-file", ready,
                                        "--cache-file", os.path.join(self.tmp, "agent-cache.bin")],
                                       stdout=subprocess.DEVNULL, stderr=log, preexec_fn=die_with_parent)
        wait_until(lambda: os.path.exists(ready), what="agent ready")
        for payload in (struct.pack("<IBBH", 4 + 24, 3, PROTOCOL, 0) + b"\xab" * 24,   # a Delta that is not a FlatBuffer
                        struct.pack("<IBBH", 300 << 20, 2, PROTOCOL, 0),                 # an oversized Snapshot
                        struct.pack("<IBBH", 4, 9, PROTOCOL, 0)):                       # an unknown frame type
            conn, _ = fake.accept()
            conn.settimeout(5)
            conn.recv(4096)  # its Hello
            conn.sendall(payload)
            conn.close()
        fake.close()
        log = wait_until(lambda: read_text(os.path.join(self.tmp, "agent.log")).count("disconnected from") >= 3 and
                         read_text(os.path.join(self.tmp, "agent.log")), what="three refused frames")
        self.assertIn("frame at offset 0", log)
        self.assertIn("exceeds the limit", log)
        self.assertIn("unknown frame type 9", log)
        with roster.open(c.arena).view() as view:  # the warm-started state is untouched
            self.assertIsNotNone(view.service("kept"))

    def test_wrong_token_is_refused(self):
        c = Cluster(self.tmp, token="s3cret")
        self.cluster = c
        c.start_server()
        status, body = c.request("PUT", "/v1/services/x/versions/1.0.0", version_doc("x", "1.0.0"), token="wrong")
        self.assertEqual(status, 401)
        status, _ = c.request("PUT", "/v1/services/x/versions/1.0.0", version_doc("x", "1.0.0"))
        self.assertEqual(status, 200)
        # An agent with the wrong token is refused and never gets data.
        c.token = "wrong"
        c.start_agent()
        time.sleep(0.5)
        self.assertLessEqual(c.shm_revision(), 0)  # no data: the arena never even appears
        log = read_text(os.path.join(self.tmp, "agent.log"))
        self.assertIn("wrong or missing token", log)


    # --- Limits and access (docs/robustness.md) ---

    def test_ambiguous_http_framing_is_refused_and_smuggles_nothing(self):
        """RFC 9112 section 6: framing a proxy could read another way gets 400 (501 for a coding
        the server does not implement) and a close. "chunked, identity" was framed as no body, so
        its body, a PUT, ran as a second request."""
        c = self.cluster
        c.start_server()
        before = c.revision()
        doc = version_doc("smuggled", "1.0.0")
        smuggled = (b"PUT /v1/services/smuggled/versions/1.0.0 HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(doc)) + doc
        for head, body, status in [
            (b"Transfer-Encoding: chunked, identity\r\n", smuggled, 400),
            (b"Transfer-Encoding: xchunked\r\nContent-Length: %d\r\n" % len(smuggled), smuggled, 400),
            (b"Transfer-Encoding: identity\r\nContent-Length: %d\r\n" % len(smuggled), smuggled, 400),
            (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n", 400),
            (b"Transfer-Encoding: gzip\r\n", smuggled, 400),
            (b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!", 400),
            (b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n", 501),
        ]:
            with self.subTest(head=head):
                with connect_from("127.0.0.1", c.http) as sock:
                    sock.sendall(b"POST /v1/registry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                                 head + b"\r\n" + body)
                    reply = read_until_close(sock).decode(errors="replace")
                self.assertTrue(reply.startswith(f"HTTP/1.1 {status} "), reply)
                self.assertIn("Connection: close\r\n", reply)
                self.assertEqual(reply.count("HTTP/1.1 "), 1, f"more than one response: {reply}")
        self.assertEqual(c.request("GET", "/v1/services/smuggled/versions/1.0.0")[0], 404)
        self.assertEqual(c.revision(), before)

    def test_a_client_hogging_http_connections_does_not_starve_another(self):
        """Slow connections from one address stop at --max-connections-per-address (the rest get
        503) and end at --header-timeout-ms with a 408; a client on another address is served."""
        c = self.cluster
        c.start_server(extra=["--max-connections", "64", "--max-connections-per-address", "8",
                              "--header-timeout-ms", "1500", "--idle-timeout-ms", "60000"])
        hog = []
        for _ in range(8):
            sock = connect_from("127.0.0.1", c.http)
            sock.sendall(b"G")  # one header byte, then silence
            hog.append(sock)
        started = time.time()
        refused = []
        for _ in range(80):  # more than --max-connections: refused ones do not count against it
            sock = connect_from("127.0.0.1", c.http)
            reply = read_until_close(sock).decode(errors="replace")
            self.assertTrue(reply.startswith("HTTP/1.1 503 "), reply)
            self.assertIn("too_many_connections_from_address", reply)
            refused.append(sock)
        with connect_from("127.0.0.2", c.http) as other:
            other.sendall(b"GET /v1/revision HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = read_until_close(other).decode(errors="replace")
        self.assertTrue(reply.startswith("HTTP/1.1 200 "), reply)
        for sock in hog:
            reply = read_until_close(sock).decode(errors="replace")
            self.assertTrue(reply.startswith("HTTP/1.1 408 "), reply)
            self.assertIn("header_timeout", reply)
        self.assertLess(time.time() - started, 1.5 + 3)
        for sock in hog + refused:
            sock.close()

    def test_a_huge_stream_frame_before_hello_is_refused_without_being_buffered(self):
        """Idle peers holding 16 MiB frames short of their last byte, before any Hello, took the
        server from 7 MB to 253 MB. With the defaults, the frame header alone is refused (an
        Error frame, then a close), and the server's peak memory hardly moves."""
        c = self.cluster
        c.start_server()
        host, port = c.stream_tcp.split(":")
        huge = struct.pack("<IBBH", (16 << 20) - 4, 1, PROTOCOL, 0)  # a Hello just under the normal limit
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(huge)
            started = time.time()
            error = read_error_frame(sock, timeout=5)
            self.assertIsNotNone(error, "closed without an Error frame")
            self.assertLess(time.time() - started, 1.0, "not refused at once")
            code, message = error
            self.assertEqual(code, 400)
            self.assertIn("exceeds the limit of 65536 bytes", message)
        time.sleep(0.2)
        before = memory_peak_kib(c.server.pid)
        peers = []
        for _ in range(16):
            sock = socket.create_connection((host, int(port)), timeout=5)
            try:  # all but the frame's last byte, then idle: the frame stays incomplete
                sock.sendall(huge + b"\0" * ((16 << 20) - 9))
            except OSError:  # refused and closed while the frame was still going out
                pass
            peers.append(sock)
        grown_mib = (memory_peak_kib(c.server.pid) - before) / 1024
        for sock in peers:
            sock.close()
        self.assertLess(grown_mib, 32, f"the server's peak memory grew by {grown_mib:.0f} MiB")
        self.assertIn("exceeds the limit of 65536 bytes", read_text(os.path.join(self.tmp, "server.log")))

    def test_stream_connection_limits_spare_other_addresses_and_agents(self):
        c = self.cluster
        c.start_server(extra=["--stream-max-connections", "50", "--stream-max-unauthenticated-per-address", "2",
                              "--stream-max-hello-bytes", "4096", "--stream-hello-timeout-ms", "30000"])
        strangers = [connect_from("127.0.0.1", c.stream_tcp) for _ in range(2)]
        with connect_from("127.0.0.1", c.stream_tcp) as third:
            code, message = read_error_frame(third)
        self.assertEqual(code, 503)
        self.assertIn("127.0.0.1 has 2 connections waiting for their Hello", message)
        with connect_from("127.0.0.2", c.stream_tcp) as other:
            other.sendall(struct.pack("<IBBH", 8192, 1, PROTOCOL, 0))  # over --stream-max-hello-bytes
            code, message = read_error_frame(other)
        self.assertEqual(code, 400)
        self.assertIn("exceeds the limit of 4096 bytes", message)
        c.start_agent()  # over the Unix socket: not counted per address
        c.request("PUT", "/v1/services/limited/versions/1.0.0", version_doc("limited", "1.0.0"))
        c.wait_synced()
        metrics = urllib.request.urlopen(f"http://{c.http}/metrics", timeout=5).read().decode()
        self.assertIn("roster_stream_refused_at_limit_total 1", metrics)
        for sock in strangers:
            sock.close()

    def test_a_network_address_needs_a_token_or_insecure(self):
        data = os.path.join(self.tmp, "data")
        for flag in ("--listen", "--stream"):
            with self.subTest(flag=flag):
                args = [SERVER, "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0", "--data-dir", data]
                args[args.index(flag) + 1] = "0.0.0.0:0"
                code, err = run_briefly(args)
                self.assertEqual(code, 1, err)
                self.assertIn("without a token", err)
                self.assertIn(flag, err)
                self.assertIn("--insecure", err)
        self.assertFalse(os.path.exists(data), "refused before the store was touched")
        c = self.cluster
        c.start_server(extra=["--insecure"], listen="0.0.0.0:0")
        self.assertIn("without a token (--insecure)", read_text(os.path.join(self.tmp, "server.log")))
        port = c.http.rsplit(":", 1)[1]
        c.http = f"127.0.0.1:{port}"
        self.assertEqual(c.request("PUT", "/v1/services/open/versions/1.0.0", version_doc("open", "1.0.0"))[0], 200)

    def test_the_token_comes_from_a_file_or_the_environment_and_on_the_command_line_is_warned_about(self):
        c = self.cluster
        env = dict(CLEAN_ENV, ROSTER_TOKEN="from-env")
        c.start_server(env=env, listen="0.0.0.0:0", stream="0.0.0.0:0")  # a token: no --insecure needed
        c.http = "127.0.0.1:" + c.http.rsplit(":", 1)[1]
        doc = version_doc("tokened", "1.0.0")
        self.assertEqual(c.request("PUT", "/v1/services/tokened/versions/1.0.0", doc)[0], 401)
        self.assertEqual(c.request("PUT", "/v1/services/tokened/versions/1.0.0", doc, token="from-env")[0], 200)
        server_log = os.path.join(self.tmp, "server.log")
        self.assertNotIn("--token", read_text(server_log))
        # The agent takes it from a file; a wrong one in the environment is overridden.
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write("from-env\n")
        os.chmod(token_file, 0o600)
        # rosterctl alike: ROSTER_TOKEN, --token-file, or none (refused by the server).
        def deregister(name, *args, env=CLEAN_ENV):
            return subprocess.run([ROSTERCTL, "deregister", name, "1.0.0", "--server", c.http, *args],
                                  capture_output=True, text=True, timeout=30, env=env)
        for name in ("ctl-env", "ctl-file", "ctl-none"):
            self.assertEqual(c.request("PUT", f"/v1/services/{name}/versions/1.0.0", version_doc(name, "1.0.0"),
                                       token="from-env")[0], 200)
        out = deregister("ctl-env", env=dict(CLEAN_ENV, ROSTER_TOKEN="from-env"))
        self.assertEqual(out.returncode, 0, out.stderr)
        out = deregister("ctl-file", "--token-file", token_file)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = deregister("ctl-none")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("401", out.stderr)
        c.start_agent(extra=["--token-file", token_file], env=dict(CLEAN_ENV, ROSTER_TOKEN="wrong"))
        wait_until(lambda: c.shm_revision() >= 1, what="agent synced with the file's token")
        self.assertNotIn("`ps`", read_text(os.path.join(self.tmp, "agent.log")))  # no warning for a file
        c.kill("agent")
        c.start_agent(env=env)  # from the environment
        c.request("PUT", "/v1/services/again/versions/1.0.0", version_doc("again", "1.0.0"), token="from-env")
        with urllib.request.urlopen(f"http://{c.agent_http}/healthz", timeout=5) as r:
            self.assertEqual(json.loads(r.read())["status"], "ok")
        c.kill("agent")
        # On the command line it works, with a warning naming the better ways.
        c.start_agent(extra=["--token", "from-env"])
        agent_log = read_text(os.path.join(self.tmp, "agent.log"))
        self.assertIn("--token, which every user of this host can read in `ps`", agent_log)
        self.assertIn("ROSTER_TOKEN", agent_log)
        code, err = run_briefly([AGENT, "--upstream", "127.0.0.1:1", "--token", "a", "--token-file", token_file])
        self.assertEqual(code, 1)
        self.assertIn("not both", err)

    def test_the_data_dir_is_private_and_a_world_writable_one_is_refused(self):
        c = self.cluster
        c.start_server()
        c.request("PUT", "/v1/services/private/versions/1.0.0", version_doc("private", "1.0.0"))
        data = os.path.join(self.tmp, "data")
        self.assertEqual(os.stat(data).st_mode & 0o777, 0o700)
        for name in ("roster.db", "roster.db-wal", "roster.db-shm", "roster.lock"):
            path = os.path.join(data, name)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, name)
        c.kill("server")
        os.chmod(data, 0o750)  # an existing dir keeps the mode its owner chose
        c.start_server()
        self.assertEqual(os.stat(data).st_mode & 0o777, 0o750)
        c.kill("server")
        os.chmod(data, 0o777)
        code, err = run_briefly([SERVER, "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0", "--data-dir", data])
        self.assertEqual(code, 1, err)
        self.assertIn("writable by anyone (mode 0777)", err)

    def test_config_files_are_read_strictly_and_both_daemons_say_their_version(self):
        def config(text):
            path = os.path.join(self.tmp, f"config-{len(os.listdir(self.tmp))}.toml")
            with open(path, "w") as f:
                f.write(text)
            return path
        for daemon, name, typo, meant in ((SERVER, "roster-server", "listen_adress", "listen"),
                                          (AGENT, "roster-agent", "cache_fil", "cache-file")):
            out = subprocess.run([daemon, "--version"], capture_output=True, text=True, timeout=10)
            self.assertEqual((out.returncode, out.stdout.split()[0]), (0, name), out.stderr)
            # A misspelt key, a section that is not the daemon's, a missing file: exit 2, named.
            for text, said in ((f'{typo} = "x"\n', f'unknown key "{typo}" (did you mean "{meant}"?)'),
                               ('[roster]\narena = "x"\n', "section [roster] is not read"),
                               ('[roster-server.http]\nlisten = "x"\n', "section [roster-server.http] is not read")):
                path = config(text)
                code, err = run_briefly([daemon, "--config", path])
                self.assertEqual(code, 2, err)
                self.assertIn(f"{name}: --config {path}: ", err)
                self.assertIn(said, err)
            code, err = run_briefly([daemon, "--config", os.path.join(self.tmp, "missing.toml")])
            self.assertEqual(code, 2, err)
            self.assertIn("missing.toml was not readable", err)
        # JSON log lines: one object each, the message escaped.
        code, err = run_briefly([SERVER, "--log-format", "json", "--data-dir", '/proc/no"such', "--listen", "127.0.0.1:0",
                                 "--stream", "127.0.0.1:0"])
        self.assertEqual(code, 1, err)
        line = json.loads(err.strip().splitlines()[-1])
        self.assertEqual((line["level"], line["program"]), ("error", "roster-server"))
        self.assertIn('cannot create data dir /proc/no"such', line["message"])
        code, err = run_briefly([SERVER, "--log-level", "verbose"])
        self.assertEqual(code, 2, err)
        self.assertIn("--log-level", err)
        # One file for both daemons: each reads its own section, keys spelt either way.
        ready = os.path.join(self.tmp, "server.ready")
        shared = config(f"""
[roster-server]
listen = "127.0.0.1:0"
stream = "127.0.0.1:0"
data_dir = "{os.path.join(self.tmp, 'cfg-data')}"
ready-file = "{ready}"
[roster-agent]
cache_file = "{os.path.join(self.tmp, 'cache.bin')}"
""")
        server = subprocess.Popen([SERVER, "--config", shared], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env=CLEAN_ENV, preexec_fn=die_with_parent)
        try:
            wait_until(lambda: os.path.exists(ready) and read_text(ready).strip(), what="server from its config")
            self.assertTrue(os.path.isdir(os.path.join(self.tmp, "cfg-data")))
        finally:
            server.terminate()
            server.wait(timeout=10)

    def test_the_arena_group_and_the_cache_file_mode(self):
        import grp
        group = grp.getgrnam("daemon") if os.getuid() == 0 else grp.getgrgid(os.getgroups()[-1])
        c = self.cluster
        c.start_server()
        for given in (group.gr_name, str(group.gr_gid)):
            with self.subTest(given=given):
                c.start_agent(extra=["--arena-group", given])
                c.wait_synced()
                data = os.stat(f"/dev/shm/roster.{c.arena}.data")
                readers = os.stat(f"/dev/shm/roster.{c.arena}.readers")
                self.assertEqual((data.st_gid, data.st_mode & 0o777), (group.gr_gid, 0o640))
                self.assertEqual((readers.st_gid, readers.st_mode & 0o777), (group.gr_gid, 0o660))
                cache = os.path.join(self.tmp, "agent-cache.bin")
                wait_until(lambda: os.path.exists(cache), what="cache file")
                self.assertEqual(os.stat(cache).st_mode & 0o777, 0o600)
                c.kill("agent")
        code, err = run_briefly([AGENT, "--upstream", "127.0.0.1:1", "--arena-group", "no-such-group-here"])
        self.assertEqual(code, 1)
        self.assertIn('no group named "no-such-group-here"', err)

if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
