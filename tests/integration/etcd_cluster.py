"""An etcd cluster of N members on loopback for tests (and the helper every daemon a test starts
uses to die with it).

    with EtcdCluster(tmp) as etcd:          # 3 members, ephemeral ports, data and logs under tmp
        etcd.endpoints                      # ["127.0.0.1:P1", "127.0.0.1:P2", "127.0.0.1:P3"]
        etcd.kill(0)                        # kill -9 member 0
        etcd.restart(0)                     # same data dir and ports; waits until it is healthy
    # stopped (SIGKILL), its processes reaped and its files removed

Members run with --max-txn-ops 10000 (a roster write is one transaction) and a 50 ms heartbeat /
500 ms election timeout, so a lost leader is replaced in about a second.
"""
import ctypes
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"


def die_with_parent():
    """preexec_fn for the daemons a test starts: killed when the test process dies, however it dies
    (a crash or a sanitizer abort skips tearDown)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_ports(count):
    """`count` distinct loopback ports the kernel had free a moment ago (bound to port 0, then
    closed: someone else may take one before etcd binds it, which start() retries)."""
    socks, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class EtcdCluster:
    def __init__(self, tmp, members=3, name="etcd", extra=(), env=None):
        self.tmp, self.size, self.name, self.extra = tmp, members, name, list(extra)
        self.env = dict(env or os.environ)
        self.env.pop("ETCDCTL_ENDPOINTS", None)
        self.env["ETCDCTL_API"] = "3"
        # etcd 3.4 runs on amd64 and ppc64le; elsewhere (arm64 ...) it wants Go's name for the arch here.
        machine = platform.machine()
        self.env.setdefault("ETCD_UNSUPPORTED_ARCH", {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine))
        self.procs = [None] * members
        self.client_ports = self.peer_ports = []
        self.token = f"{name}-{os.getpid()}-{int(time.time() * 1000) % 1000000}"

    # --- layout ---------------------------------------------------------------------------------
    def member_name(self, i):
        return f"{self.name}{i}"

    def data_dir(self, i):
        return os.path.join(self.tmp, f"{self.member_name(i)}.data")

    def log_path(self, i):
        return os.path.join(self.tmp, f"{self.member_name(i)}.log")

    @property
    def endpoints(self):
        return [f"127.0.0.1:{p}" for p in self.client_ports]

    def endpoint(self, i):
        return f"127.0.0.1:{self.client_ports[i]}"

    def url(self, prefix="roster/"):
        """The roster-server --store value for this cluster."""
        return "etcd://" + ",".join(self.endpoints) + "/" + prefix

    def _args(self, i):
        initial = ",".join(f"{self.member_name(j)}=http://127.0.0.1:{self.peer_ports[j]}" for j in range(self.size))
        client = f"http://127.0.0.1:{self.client_ports[i]}"
        peer = f"http://127.0.0.1:{self.peer_ports[i]}"
        return [ETCD, "--name", self.member_name(i), "--data-dir", self.data_dir(i),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token,
                "--heartbeat-interval", "50", "--election-timeout", "500", "--max-txn-ops", "10000",
                "--logger", "zap", "--log-outputs", "stderr", *self.extra]

    # --- processes ------------------------------------------------------------------------------
    def _spawn(self, i):
        with open(self.log_path(i), "a") as log:
            self.procs[i] = subprocess.Popen(self._args(i), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             env=self.env, preexec_fn=die_with_parent)

    def start(self, timeout=30.0, attempts=3):
        """Starts every member on fresh ports and waits until all are healthy; on a failure (a port
        taken meanwhile, a member that exits) it starts over on other ports."""
        for attempt in range(attempts):
            ports = free_ports(2 * self.size)
            self.client_ports, self.peer_ports = ports[:self.size], ports[self.size:]
            for i in range(self.size):
                shutil.rmtree(self.data_dir(i), ignore_errors=True)
                self._spawn(i)
            if self.wait_healthy(timeout=timeout, fail_on_exit=True):
                return self
            self.stop(remove=False)
        raise AssertionError(f"etcd cluster did not become healthy after {attempts} attempts\n{self.logs()}")

    def running(self, i):
        return self.procs[i] is not None and self.procs[i].poll() is None

    def healthy(self, members=None):
        """Whether `etcdctl endpoint health` passes for these members (default: all of them)."""
        members = range(self.size) if members is None else members
        endpoints = ",".join(self.endpoint(i) for i in members)
        try:
            out = subprocess.run([ETCDCTL, "--endpoints", endpoints, "--dial-timeout", "1s", "--command-timeout", "2s",
                                  "endpoint", "health"], capture_output=True, text=True, timeout=10, env=self.env)
        except subprocess.TimeoutExpired:
            return False
        return out.returncode == 0

    def wait_healthy(self, members=None, timeout=30.0, fail_on_exit=False):
        members = list(range(self.size) if members is None else members)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if fail_on_exit and not all(self.running(i) for i in members):
                return False
            if self.healthy(members):
                return True
            time.sleep(0.1)
        return False

    def kill(self, i, sig=signal.SIGKILL):
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=10)

    def restart(self, i, wait=True, timeout=30.0):
        """Starts member i again with its data dir and ports; with wait, until it answers healthy
        (which needs a quorum among the running members)."""
        self.kill(i)
        self._spawn(i)
        if wait and not self.wait_healthy([i], timeout=timeout):
            raise AssertionError(f"etcd member {i} did not come back\n{self.logs()}")

    def leader(self):
        """The index of the member that leads the raft group now, or None."""
        out = subprocess.run([ETCDCTL, "--endpoints", ",".join(self.endpoints), "--dial-timeout", "1s",
                              "--command-timeout", "2s", "endpoint", "status", "-w", "json"],
                             capture_output=True, text=True, timeout=10, env=self.env)
        try:
            statuses = json.loads(out.stdout or "[]")
        except ValueError:
            return None
        for status in statuses:
            if status["Status"]["header"]["member_id"] == status["Status"]["leader"]:
                return self.endpoints.index(status["Endpoint"].replace("http://", ""))
        return None

    def logs(self, lines=20):
        out = []
        for i in range(self.size):
            if os.path.exists(self.log_path(i)):
                with open(self.log_path(i), errors="replace") as f:
                    tail = f.readlines()[-lines:]
                out.append(f"--- {self.member_name(i)}.log (last {lines} lines)\n" + "".join(tail))
        return "\n".join(out)

    def stop(self, remove=True):
        """Kills every member (etcd keeps nothing we need), reaps it, and removes its files."""
        for i, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self.procs[i] = None
        if remove:
            for i in range(self.size):
                shutil.rmtree(self.data_dir(i), ignore_errors=True)
                if os.path.exists(self.log_path(i)):
                    os.remove(self.log_path(i))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
