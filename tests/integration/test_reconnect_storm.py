"""A reconnect storm against a real roster-server: AGENTS agent streams (1,500; the
ROSTER_STORM_AGENTS environment variable changes it) hold the registry, then all drop and
reconnect at once, as after a network blip or a restart behind a load balancer. Meanwhile the
server answers /healthz and HTTP writes; every agent gets its whole snapshot, then every write
made during and after the storm as deltas that follow on from it; the agent gauge ends at AGENTS.

The agents are simulated here (the frames of docs/stream-protocol.md, with test_stream_protocol's
helpers), each from a loopback address of its own, as agents on many hosts would be (from one
address they would meet the limit of connections waiting for their Hello per address).

ctest runs: python3 test_reconnect_storm.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import resource
import selectors
import shutil
import socket
import threading
import time
import unittest

from roster_server import RosterServer
from test_stream_protocol import BUILD, DELTA, ERROR, GENERATED, HEADER, SNAPSHOT, Delta, Snapshot, StreamError, hello

AGENTS = int(os.environ.get("ROSTER_STORM_AGENTS", "1500"))


class Agent:
    """One stream connection, read without blocking; `revision` is what it holds. Refused at the
    server's connection cap (503: the connections that just dropped may not all be closed on its
    side yet), it connects again, as roster-agent does after its backoff."""

    def __init__(self, index, address):
        self.index, self.address = index, address
        self.refusals = 0
        self.connect()

    def connect(self):
        host, port = self.address.rsplit(":", 1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        i = self.index
        self.sock.bind((f"127.{1 + i // 62500}.{i // 250 % 250}.{1 + i % 250}", 0))
        self.sock.connect((host, int(port)))
        self.sock.sendall(hello(token=None))
        self.sock.setblocking(False)
        self.data = b""
        self.revision = None  # set by the snapshot's last chunk
        self.error = None
        self.refused = False

    def on_readable(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionError as e:
            chunk, self.error = b"", str(e)
        if not chunk:
            if not self.refused:
                self.error = self.error or "closed by the server"
            return
        self.data += chunk
        while len(self.data) >= HEADER.size:
            length, frame_type, _, _ = HEADER.unpack_from(self.data)
            if len(self.data) < 4 + length:
                return
            payload, self.data = self.data[HEADER.size:4 + length], self.data[4 + length:]
            if frame_type == SNAPSHOT:
                snapshot = Snapshot.GetRootAs(payload, 0)
                if snapshot.Last():
                    self.revision = snapshot.Revision()
            elif frame_type == ERROR:
                error = StreamError.GetRootAs(payload, 0)
                if error.Code() == 503 and b"limit" in error.Message():
                    self.refused = True
                    self.refusals += 1
                else:
                    self.error = f"Error frame {error.Code()}: {error.Message().decode()}"
            elif frame_type == DELTA:
                delta = Delta.GetRootAs(payload, 0)
                if self.revision is None or delta.FromRevision() != self.revision:
                    self.error = f"a delta from {delta.FromRevision()} to an agent at {self.revision}"
                self.revision = delta.Revision()


def serve(agents, until, timeout):
    """Reads for every agent until until() holds; False after `timeout` seconds."""
    selector = selectors.DefaultSelector()
    for agent in agents:
        selector.register(agent.sock, selectors.EVENT_READ, agent)
    deadline = time.time() + timeout
    try:
        while not until():
            if time.time() > deadline:
                return False
            for key, _ in selector.select(timeout=0.1):
                agent = key.data
                agent.on_readable()
                if agent.refused and agent.error is None:
                    selector.unregister(agent.sock)
                    agent.sock.close()
                    time.sleep(0.001)
                    agent.connect()
                    selector.register(agent.sock, selectors.EVENT_READ, agent)
        return True
    finally:
        selector.close()


class Prober(threading.Thread):
    """GET /healthz and a PUT, one after the other, until stopped: (what, status, seconds) each."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.results, self.stopping = server, [], threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            for what, args in [("healthz", ("GET", "/healthz")),
                               ("write", ("PUT", f"/v1/services/storm-{n}/versions/1.0.0",
                                          {"name": f"storm-{n}", "version": "1.0.0", "lifecycle_stage": "beta",
                                           "owner_team": "t"}))]:
                started = time.monotonic()
                status = self.server.request(*args)[0]
                self.results.append((what, status, time.monotonic() - started))
            n += 1
            time.sleep(0.01)


class ReconnectStorm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = AGENTS + 256
        if hard != resource.RLIM_INFINITY and hard < need:
            raise AssertionError(f"{AGENTS} agents need {need} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
        cls.server = RosterServer(BUILD)  # inherits the limit (and raises its own to the hard one)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(GENERATED, ignore_errors=True)

    def revision(self):
        return json.loads(self.server.request("GET", "/v1/revision")[2])["revision"]

    def connected_agents(self):
        for line in self.server.request("GET", "/metrics")[2].decode().splitlines():
            if line.startswith("roster_connected_agents "):
                return int(float(line.split()[1]))
        raise AssertionError("no roster_connected_agents in /metrics")

    def test_every_agent_resumes_and_the_server_keeps_answering(self):
        for i in range(20):
            status, _, body = self.server.request("PUT", f"/v1/services/base-{i}/versions/1.0.0",
                                                  {"name": f"base-{i}", "version": "1.0.0", "lifecycle_stage": "beta",
                                                   "owner_team": "t"})
            self.assertEqual(status, 200, body)
        agents = [Agent(i, self.server.stream) for i in range(AGENTS)]
        self.assertTrue(serve(agents, lambda: all(a.revision is not None for a in agents), 60),
                        "not every agent got its first snapshot")

        prober = Prober(self.server)
        prober.start()
        time.sleep(0.2)
        started = time.monotonic()
        for agent in agents:  # every connection drops at once...
            agent.sock.close()
        agents = [Agent(i, self.server.stream) for i in range(AGENTS)]  # ...and comes back at once
        ok = serve(agents, lambda: all(a.revision is not None or a.error for a in agents), 120)
        storm_seconds = time.monotonic() - started
        print(f"{sum(a.refusals for a in agents)} reconnections refused at the connection cap, and retried")
        time.sleep(0.2)
        prober.stopping.set()
        prober.join()
        self.assertTrue(ok, f"{sum(a.revision is None for a in agents)} agents got no snapshot within 120 s")
        self.assertEqual([a.error for a in agents if a.error], [])

        # Answered throughout: every probe succeeded, and none waited behind the storm for long.
        for what in ("healthz", "write"):
            results = [r for r in prober.results if r[0] == what]
            self.assertGreater(len(results), 0)
            self.assertEqual({status for _, status, _ in results}, {200}, what)
            slowest = max(seconds for _, _, seconds in results)
            print(f"{what}: {len(results)} answered from 0.2 s before to 0.2 s after a {storm_seconds:.2f} s "
                  f"storm of {AGENTS} agents (reconnected to their snapshots), slowest {slowest * 1000:.1f} ms")
            self.assertLess(slowest, 2.0, f"a {what} waited {slowest:.2f} s during the storm")

        # Every write made during the storm reaches every agent, after its snapshot and in order
        # (Agent checks that each delta follows on), and so does one made after.
        status, _, body = self.server.request("PUT", "/v1/services/after/versions/1.0.0",
                                              {"name": "after", "version": "1.0.0", "lifecycle_stage": "beta",
                                               "owner_team": "t"})
        self.assertEqual(status, 200, body)
        final = self.revision()
        self.assertTrue(serve(agents, lambda: all(a.revision == final or a.error for a in agents), 60),
                        f"{sum(a.revision != final for a in agents)} agents did not reach revision {final}")
        self.assertEqual([a.error for a in agents if a.error], [])
        self.assertEqual(self.connected_agents(), AGENTS)
        for agent in agents:
            agent.sock.close()


if __name__ == "__main__":
    unittest.main(argv=["test_reconnect_storm"], verbosity=2)
