"""What the etcd benchmarks (ha_bench.py, lease_load.py) share: a temp dir that owns every process
they start and every etcd cluster (tests/integration/etcd_cluster.py), all killed and removed by
close(); what a run killed with SIGKILL left is removed by the next; and wait_until."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from etcd_cluster import ETCDCTL, EtcdCluster, die_with_parent  # noqa: E402,F401


class ProcessEnv:
    """Temp dir /tmp/<tag><pid>-*, the processes spawned into it (dying with this one) and the etcd
    clusters started in it."""

    def __init__(self, tag, env):
        self.tag, self.env = tag, env
        self.remove_stale()
        self.tmp = tempfile.mkdtemp(prefix=f"{tag}{os.getpid()}-")
        self.procs = []
        self.clusters = []

    def remove_stale(self):
        """Temp dirs of earlier runs killed with SIGKILL (no clean-up survives that)."""
        tmp = tempfile.gettempdir()
        for f in os.listdir(tmp):
            m = re.match(re.escape(self.tag) + r"(\d+)-", f)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                shutil.rmtree(os.path.join(tmp, f), ignore_errors=True)

    def start_etcd(self, cluster):
        """Starts `cluster` (an EtcdCluster in self.tmp); close() stops it."""
        self.clusters.append(cluster)
        return cluster.start()

    def spawn(self, args, log_name, cwd=None):
        with open(os.path.join(self.tmp, log_name), "ab") as out:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=self.env, cwd=cwd, preexec_fn=die_with_parent)
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []
        for cluster in self.clusters:
            cluster.stop()
        self.clusters = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def exit_on_signals():
    """SIGTERM and SIGINT end the run through SystemExit, so its `finally: env.close()` runs."""
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def wait_until(predicate, timeout=30.0, what="condition", poll=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
