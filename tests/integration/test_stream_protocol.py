"""A stream client written from docs/stream-protocol.md alone, against a real roster-server:
frame headers unpacked with struct, payloads built and read with the code `flatc --python`
generates from wire/roster.fbs (python3-flatbuffers). It says Hello, receives the snapshot, a
delta after an HTTP write, resumes by revision, gets a snapshot for another store's revision,
a keepalive when idle, and an Error frame for a wrong token; over TCP and the Unix socket.

ctest runs: python3 test_stream_protocol.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from roster_server import RosterServer

BUILD, SOURCE = sys.argv[1], sys.argv[2]
TOKEN = "stream-test-token"
HELLO, SNAPSHOT, DELTA, KEEPALIVE, ERROR = 1, 2, 3, 4, 5
HEADER = struct.Struct("<IBBH")  # length (bytes after itself), type, protocol version, reserved
PROTOCOL = 2  # since the server sends resolutions (docs/stream-protocol.md)

# The payload code, generated where the test can import it (package roster.wire).
GENERATED = tempfile.mkdtemp(prefix="roster-fbs-")
subprocess.run([shutil.which("flatc") or "flatc", "--python", "-o", GENERATED,
                os.path.join(SOURCE, "wire", "roster.fbs")], check=True)
sys.path.insert(0, GENERATED)
import flatbuffers  # noqa: E402
from roster.wire import Hello  # noqa: E402
from roster.wire.Delta import Delta  # noqa: E402
from roster.wire.Keepalive import Keepalive  # noqa: E402
from roster.wire.Snapshot import Snapshot  # noqa: E402
from roster.wire.StreamError import StreamError  # noqa: E402


def frame(frame_type, payload):
    return HEADER.pack(4 + len(payload), frame_type, PROTOCOL, 0) + payload


def hello(last_revision=0, store_id=None, token=TOKEN):
    b = flatbuffers.Builder(256)
    agent_id = b.CreateString("protocol-test")
    token_at = b.CreateString(token) if token else None
    store_at = b.CreateString(store_id) if store_id else None
    Hello.Start(b)
    Hello.AddAgentId(b, agent_id)
    Hello.AddLastRevision(b, last_revision)
    if token_at is not None:
        Hello.AddToken(b, token_at)
    if store_at is not None:
        Hello.AddStoreId(b, store_at)
    b.Finish(Hello.End(b))
    return frame(HELLO, bytes(b.Output()))


class Stream:
    """A connection that yields (type, payload) frames."""

    def __init__(self, address):
        if address.startswith("/"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(address)
        else:
            host, port = address.rsplit(":", 1)
            self.sock = socket.create_connection((host, int(port)))
        self.data = b""

    def send(self, data):
        self.sock.sendall(data)

    def next(self, timeout=10.0):
        """The next frame, or None when the server closes the connection."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.data) >= HEADER.size:
                length, frame_type, version, reserved = HEADER.unpack_from(self.data)
                assert version == PROTOCOL and reserved == 0, (version, reserved)
                if len(self.data) >= 4 + length:
                    payload, self.data = self.data[HEADER.size:4 + length], self.data[4 + length:]
                    return frame_type, payload
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.data += chunk

    def next_data(self):
        """The next frame that is not a Keepalive."""
        while True:
            f = self.next()
            if f is None or f[0] != KEEPALIVE:
                return f

    def close(self):
        self.sock.close()


def services_of(records):
    return sorted(f"{r.BytesNestedRoot().Name().decode()}@{r.BytesNestedRoot().Version().decode()}" for r in records)


def resolutions_of(records):
    """{service: [(version, latest?)]} of ResolutionRecords."""
    out = {}
    for r in records:
        res = r.BytesNestedRoot()
        out[res.Name().decode()] = [(res.Versions(i).Version().decode(), i == res.Latest())
                                    for i in range(res.VersionsLength())]
    return out


def snapshot_records(snapshot):
    return [snapshot.Services(i) for i in range(snapshot.ServicesLength())]


class StreamProtocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RosterServer(BUILD, token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(GENERATED, ignore_errors=True)

    def put_version(self, name, version):
        status, _, body = self.server.request("PUT", f"/v1/services/{name}/versions/{version}",
                                              {"name": name, "version": version, "lifecycle_stage": "beta",
                                               "owner_team": "t"})
        self.assertEqual(status, 200, body)
        return self.revision()

    def revision(self):
        return json.loads(self.server.request("GET", "/v1/revision")[2])["revision"]

    def receive_snapshot(self, stream):
        """Every chunk of a snapshot: (revision, store_id, service names)."""
        names, resolved, chunk = [], {}, 0
        while True:
            f = stream.next_data()
            self.assertIsNotNone(f, "closed before the snapshot was complete")
            self.assertEqual(f[0], SNAPSHOT)
            s = Snapshot.GetRootAs(f[1], 0)
            self.assertEqual(s.Chunk(), chunk)
            names += services_of(snapshot_records(s))
            resolved.update(resolutions_of([s.Resolutions(i) for i in range(s.ResolutionsLength())]))
            chunk += 1
            if s.Last():
                # Every registered version, in the resolution of its service.
                self.assertEqual(sorted(f"{name}@{v}" for name, versions in resolved.items() for v, _ in versions),
                                 sorted(names))
                return s.Revision(), s.StoreId().decode(), sorted(names)

    def test_snapshot_then_deltas_then_resume_over_tcp_and_unix_socket(self):
        first = self.put_version("alpha", "1.0.0")
        for n, address in enumerate((self.server.stream, self.server.stream_unix)):
            with self.subTest(address=address):
                beta = f"{n + 1}.0.0"
                stream = Stream(address)
                stream.send(hello())
                revision, store_id, names = self.receive_snapshot(stream)
                self.assertGreaterEqual(revision, first)
                self.assertEqual(revision, self.revision())
                self.assertTrue(store_id.startswith("sqlite:"), store_id)
                self.assertIn("alpha@1.0.0", names)

                # A write arrives as one Delta that follows on from the snapshot.
                written = self.put_version("beta", beta)
                kind, payload = stream.next_data()
                self.assertEqual(kind, DELTA)
                delta = Delta.GetRootAs(payload, 0)
                self.assertEqual((delta.FromRevision(), delta.Revision()), (revision, written))
                self.assertEqual(services_of([delta.UpsertServices(i) for i in range(delta.UpsertServicesLength())]),
                                 [f"beta@{beta}"])
                # With the resolution of the service whose versions it changed: order and latest.
                resolved = resolutions_of([delta.Resolutions(i) for i in range(delta.ResolutionsLength())])
                self.assertEqual(resolved, {"beta": [(f"{k}.0.0", k == n + 1) for k in range(1, n + 2)]})
                stream.close()

                # Resuming from the snapshot's revision of the same store: only the deltas since.
                stream = Stream(address)
                stream.send(hello(revision, store_id))
                kind, payload = stream.next_data()
                self.assertEqual(kind, DELTA)
                delta = Delta.GetRootAs(payload, 0)
                self.assertEqual((delta.FromRevision(), delta.Revision()), (revision, written))
                stream.close()

                # Another store's revision: a snapshot again.
                stream = Stream(address)
                stream.send(hello(revision, "sqlite:another"))
                self.assertEqual(self.receive_snapshot(stream)[0], written)
                stream.close()

    def test_an_up_to_date_client_gets_keepalives(self):
        revision = self.put_version("gamma", "1.0.0")
        stream = Stream(self.server.stream)
        stream.send(hello())
        _, store_id, _ = self.receive_snapshot(stream)
        stream.close()
        stream = Stream(self.server.stream)
        stream.send(hello(revision, store_id))
        kind, payload = stream.next(timeout=15)  # nothing to catch up on: the next frame is a keepalive (every 5 s)
        self.assertEqual(kind, KEEPALIVE)
        keepalive = Keepalive.GetRootAs(payload, 0)
        self.assertEqual(keepalive.Revision(), revision)
        self.assertLess(abs(keepalive.ServerTimeMs() - time.time() * 1000), 60_000)
        stream.close()

    def test_refusals_are_an_error_frame_then_a_close(self):
        for name, data, code in [("wrong token", hello(token="nope"), 401),
                                 ("protocol version 1", HEADER.pack(4, HELLO, 1, 0), 400),
                                 ("a Delta from a client", frame(DELTA, b"\0" * 8), 400)]:
            with self.subTest(name):
                stream = Stream(self.server.stream)
                stream.send(data)
                kind, payload = stream.next()
                self.assertEqual(kind, ERROR)
                error = StreamError.GetRootAs(payload, 0)
                self.assertEqual(error.Code(), code, error.Message())
                self.assertIsNone(stream.next(), "the server should close after the Error frame")
                stream.close()

    def test_a_converted_snapshot_carries_each_service_s_resolution(self):
        # `rosterctl convert` writes a Snapshot as the server sends one: an agent refuses one
        # without the resolutions.
        out = os.path.join(GENERATED, "converted.fb")
        subprocess.run([os.path.join(BUILD, "cli", "rosterctl"), "convert",
                        os.path.join(SOURCE, "examples", "registry.json"), "-o", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out, "rb") as f:
            s = Snapshot.GetRootAs(bytearray(f.read()), 0)
        names = services_of(snapshot_records(s))
        resolved = resolutions_of([s.Resolutions(i) for i in range(s.ResolutionsLength())])
        self.assertTrue(names)
        self.assertEqual(sorted(f"{name}@{v}" for name, versions in resolved.items() for v, _ in versions), sorted(names))
        for name, versions in resolved.items():
            self.assertLessEqual(sum(latest for _, latest in versions), 1, name)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
