"""Federation end to end (docs/federation.md): three roster-servers, each its own SQLite data dir,
with overlapping service names, mirrored by one roster-agent into one arena; read through the
Python module, rosterctl --shm and the agent's HTTP face. One server is killed and restarted on
the same data dir and ports.

ctest runs: python3 test_federation.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module).
Every process listens on ephemeral loopback ports and is stopped afterwards, with its arena.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import roster
from etcd_cluster import die_with_parent  # preexec_fn of every daemon a test starts
from test_end_to_end import read_text, wait_until

BUILD, SOURCE = sys.argv[1], sys.argv[2]
SERVER = os.path.join(BUILD, "upstream", "roster-server")
AGENT = os.path.join(BUILD, "agent", "roster-agent")
ROSTERCTL = os.path.join(BUILD, "cli", "rosterctl")
# The daemons read a token from ROSTER_TOKEN: these tests run without one.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "ROSTER_TOKEN"}
# A connected registry hears at least a keepalive every 5 s (roster-server's stream): its staleness
# stays under FRESH seconds; one whose server is down passes STALE within a few seconds more.
FRESH, STALE = 6.5, 8.0


def ctl(*args):
    """rosterctl with these arguments: (exit code, stdout, stderr)."""
    out = subprocess.run([ROSTERCTL, *args], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout, out.stderr


def http_get(address, path):
    """(status, body text) of GET http://address/path."""
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as r:  # noqa: S310 (loopback only)
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def start_daemon(args, directory, name):
    """Starts a daemon that writes `ready key=value...` to its --ready-file; returns (process, fields)."""
    ready = os.path.join(directory, name + ".ready")
    if os.path.exists(ready):
        os.remove(ready)
    with open(os.path.join(directory, name + ".log"), "a") as log:
        process = subprocess.Popen([*args, "--ready-file", ready], stdout=subprocess.DEVNULL, stderr=log,
                                   env=CLEAN_ENV, preexec_fn=die_with_parent)
    def started():
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n" +
                                 read_text(os.path.join(directory, name + ".log"))[-3000:])
        return os.path.exists(ready) and read_text(ready).strip()
    line = wait_until(started, what=f"{name} ready")
    return process, dict(part.split("=", 1) for part in line.split()[1:])


def stop(process, sig=signal.SIGTERM):
    if process and process.poll() is None:
        process.send_signal(sig)
        process.wait(timeout=10)


class Server:
    """One roster-server with its own data dir; a restart keeps the data dir and both ports."""

    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.name, self.process = name, None
        self.http = self.stream = "127.0.0.1:0"

    def start(self):
        self.process, fields = start_daemon(
            [SERVER, "--listen", self.http, "--stream", self.stream, "--data-dir", os.path.join(self.dir, "data")],
            self.dir, "server")
        self.http, self.stream = fields["http"], fields["stream"]

    def kill(self):
        stop(self.process, signal.SIGKILL)

    def request(self, method, path, body=None):
        req = urllib.request.Request(f"http://{self.http}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 (loopback only)
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path} on {self.name}: {e.code} {e.read().decode()}") from None

    def put(self, name, version, owner, dependencies=()):
        doc = {"name": name, "version": version, "lifecycle_stage": "beta", "owner_team": owner,
               "dependencies": [{"service": s, "range": r} for s, r in dependencies],
               "instances": [{"id": f"{self.name}-1", "address": "10.0.0.1", "port": 8080}]}
        self.request("PUT", f"/v1/services/{name}/versions/{version}", doc)

    def revision(self):
        return self.request("GET", "/v1/revision")["revision"]


class Agent:
    """roster-agent mirroring `upstream` and the `federate` (name, Server) pairs into a fresh arena."""

    def __init__(self, tmp, upstream, federate, extra=(), upstream_name="local"):
        self.arena = f"fed-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        self.dir = tempfile.mkdtemp(prefix="agent-", dir=tmp)
        self.cache = os.path.join(self.dir, "cache.bin")
        self.servers = {upstream_name: upstream, **dict(federate)}
        args = [AGENT, "--upstream", upstream.stream, "--arena", self.arena, "--http", "127.0.0.1:0",
                "--segment-bytes", str(32 << 20), "--cache-file", self.cache, *extra]
        for name, server in federate:
            args += ["--federate", f"{name}={server.stream}"]
        self.process, fields = start_daemon(args, self.dir, "agent")
        self.http = fields["http"]

    def stop(self):
        stop(self.process)
        for part in ("data", "readers"):
            path = f"/dev/shm/roster.{self.arena}.{part}"
            if os.path.exists(path):
                os.remove(path)

    def registries(self):
        """{name: Registry} as a reader sees them now ({} while the arena does not exist)."""
        try:
            with roster.open(self.arena) as client, client.view() as view:
                return {r.name: r for r in view.registries()}
        except roster.NotFoundError:
            return {}

    def wait_synced(self, *names):
        """Until each named registry (all, by default) mirrors its server's current revision."""
        for name in names or self.servers:
            revision = self.servers[name].revision()
            wait_until(lambda: name in self.registries() and self.registries()[name].revision >= revision,
                       what=f"registry {name} at revision {revision}")

    def metric(self, name, registry):
        text = http_get(self.http, "/metrics")[1]
        m = re.search(r'^%s\{registry="%s"\} (\S+)$' % (name, registry), text, re.M)
        return float(m.group(1)) if m else None


class Federation(unittest.TestCase):
    """S1 (the agent's --upstream, "local"): users 1.0.0. S2 ("eu"): users 2.0.0, billing 1.0.0,
    search 1.0.0. S3 ("us"): users 3.0.0, search 2.0.0."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="roster-federation-")
        cls.s1, cls.s2, cls.s3 = (Server(cls.tmp, name) for name in ("s1", "s2", "s3"))
        try:
            for s in (cls.s1, cls.s2, cls.s3):
                s.start()
            cls.s1.put("users", "1.0.0", "team-local")
            cls.s2.put("users", "2.0.0", "team-eu")
            cls.s2.put("billing", "1.0.0", "team-eu", dependencies=[("users", "^2.0.0")])
            cls.s2.put("search", "1.0.0", "team-eu")
            cls.s3.put("users", "3.0.0", "team-us")
            cls.s3.put("search", "2.0.0", "team-us")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.s1, cls.s2, cls.s3):
            stop(s.process)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def agent(self, federate, extra=(), upstream_name="local"):
        agent = Agent(self.tmp, self.s1, federate, extra, upstream_name)
        self.addCleanup(agent.stop)
        agent.wait_synced()
        return agent

    def three(self, extra=()):
        return self.agent([("eu", self.s2), ("us", self.s3)], extra)

    def test_plain_names_resolve_in_order_and_each_registry_is_readable(self):
        agent = self.three()
        with roster.open(agent.arena) as client, client.view() as view:
            self.assertEqual([r.name for r in view.registries()], ["local", "eu", "us"])
            stores = [r.store for r in view.registries()]
            self.assertTrue(all(stores) and len(set(stores)) == 3, stores)  # three stores: revisions do not compare
            users, search, billing = view.service("users"), view.service("search"), view.service("billing")
            self.assertEqual((users.version, users.owner_team, users.registry), ("1.0.0", "team-local", "local"))
            self.assertEqual((search.version, search.registry), ("1.0.0", "eu"))
            self.assertEqual((billing.version, billing.registry), ("1.0.0", "eu"))
            self.assertEqual(view.where("users"), ["local", "eu", "us"])
            self.assertEqual(view.where("search"), ["eu", "us"])
            self.assertEqual(view.where("billing"), ["eu"])
            us, eu = view.in_registry("us"), view.in_registry("eu")
            self.assertEqual((us.service("users").version, us.service("users").registry), ("3.0.0", "us"))
            self.assertEqual(us.service("search").owner_team, "team-us")
            self.assertIsNone(us.service("billing"))
            self.assertEqual([i.id for i in us.instances("users")], ["s3-1"])
            # billing's dependency resolves within eu, not to the users plain lookups serve.
            (dep,) = eu.dependencies("billing")
            self.assertEqual((dep["resolved"].version, dep["resolved"].registry), ("2.0.0", "eu"))
            self.assertEqual([v.name for v in eu.dependents("users")], ["billing"])

        code, out, err = ctl("where", "search", "--shm", agent.arena)
        self.assertEqual(code, 0, err)
        self.assertEqual([line.split() for line in out.splitlines()],
                         [["eu", "1.0.0", "serves", "it"], ["us", "2.0.0"]])
        code, out, err = ctl("get", "users", "--shm", agent.arena, "--registry", "us", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual((json.loads(out)["version"], json.loads(out)["registry"]), ("3.0.0", "us"))
        code, out, err = ctl("get", "users", "--shm", agent.arena, "--registry", "mars")
        self.assertEqual(code, 1)
        self.assertIn('no registry "mars"', err)
        self.assertIn("local, eu, us", err)
        code, out, err = ctl("search", "--shm", agent.arena, "--team", "team-us")
        self.assertEqual(sorted(line.split()[-1] for line in out.splitlines()), ["us", "us"], out + err)
        # Each registry has its own cache file (written within a second of a change).
        for name in ("local", "eu", "us"):
            wait_until(lambda: os.path.exists(f"{agent.cache}.{name}"), what=f"cache file of {name}")
        self.assertFalse(os.path.exists(agent.cache))

    def test_a_preferred_registry_serves_the_plain_name(self):
        agent = self.three(["--prefer", "search=us"])
        with roster.open(agent.arena) as client, client.view() as view:
            search = view.service("search")
            self.assertEqual((search.version, search.owner_team, search.registry), ("2.0.0", "team-us", "us"))
            self.assertEqual(view.where("search"), ["us", "eu"])
            self.assertEqual(view.service("users").registry, "local")  # no rule: the order
        code, out, _ = ctl("where", "search", "--shm", agent.arena)
        self.assertTrue(out.startswith("us"), out)

    def test_two_registries_with_a_named_upstream(self):
        agent = self.agent([("us", self.s3)], ["--registry-name", "home"], upstream_name="home")
        with roster.open(agent.arena) as client, client.view() as view:
            self.assertEqual([r.name for r in view.registries()], ["home", "us"])
            self.assertEqual(view.service("users").registry, "home")
            self.assertEqual((view.service("search").version, view.service("search").registry), ("2.0.0", "us"))
            self.assertIsNone(view.service("billing"))
            self.assertEqual(view.where("search"), ["us"])

    def test_one_registry_down_leaves_the_others_fresh_and_catches_up_when_back(self):
        agent = self.three()
        before = agent.registries()
        # A write to eu reaches the arena; local and us stay where they were. (Services of this
        # test's own: the others read what setUpClass wrote.)
        self.s2.put("invoices", "1.0.0", "team-invoices")
        agent.wait_synced("eu")
        after = agent.registries()
        self.assertGreater(after["eu"].revision, before["eu"].revision)
        self.assertEqual(after["local"].revision, before["local"].revision)
        self.assertEqual(after["us"].revision, before["us"].revision)
        with roster.open(agent.arena) as client, client.view() as view:
            self.assertEqual((view.service("invoices").version, view.service("invoices").registry), ("1.0.0", "eu"))

        self.s2.kill()
        try:
            # us still syncs.
            self.s3.put("catalog", "1.0.0", "team-catalog")
            agent.wait_synced("us")
            wait_until(lambda: http_get(agent.http, "/healthz")[0] == 503, what="agent unhealthy without eu")
            wait_until(lambda: (agent.registries()["eu"].staleness or 0) > STALE, what=f"eu stale for {STALE} s")
            with roster.open(agent.arena) as client, client.view() as view:
                self.assertEqual(view.service("catalog").registry, "us")
                # eu's data is still served.
                self.assertEqual(view.service("invoices").version, "1.0.0")
                self.assertEqual(view.in_registry("eu").service("search").version, "1.0.0")
                registries = {r.name: r for r in view.registries()}
            self.assertLess(registries["local"].staleness, FRESH)
            self.assertLess(registries["us"].staleness, FRESH)
            # The staleness grows while eu stays down, and every face reports it.
            first = agent.registries()["eu"].staleness
            time.sleep(0.5)
            self.assertGreater(agent.registries()["eu"].staleness, first)
            self.assertGreater(agent.metric("roster_agent_registry_staleness_seconds", "eu"), STALE)
            self.assertLess(agent.metric("roster_agent_registry_staleness_seconds", "us"), FRESH)
            self.assertEqual(agent.metric("roster_agent_registry_connected", "eu"), 0)
            self.assertEqual(agent.metric("roster_agent_registry_connected", "local"), 1)
            code, body = http_get(agent.http, "/healthz")
            health = {r["name"]: r for r in json.loads(body)["registries"]}
            self.assertEqual(code, 503)
            self.assertFalse(health["eu"]["connected"])
            self.assertTrue(health["us"]["connected"] and health["local"]["connected"])
            self.assertIn("disconnected_seconds", health["eu"])
            self.assertGreater(health["eu"]["staleness_ms"], STALE * 1000)
            self.assertEqual(http_get(agent.http, "/readyz")[0], 200)  # readers are still served
            code, out, err = ctl("status", "--shm", agent.arena)
            self.assertEqual(code, 0, err)
            rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
            self.assertEqual(set(rows), {"local", "eu", "us"}, out)
            self.assertGreater(int(rows["eu"][2]), STALE * 1000, out)  # staleness in ms
            self.assertLess(int(rows["us"][2]), FRESH * 1000, out)
            code, out, err = ctl("status", "--shm", agent.arena, "--json")
            status = {r["name"]: r for r in json.loads(out)["registries"]}
            self.assertGreater(status["eu"]["staleness_ms"], STALE * 1000)
        finally:
            # Back on the same data dir and ports: eu catches up.
            self.s2.start()
        wait_until(lambda: http_get(agent.http, "/healthz")[0] == 200, what="agent healthy again")
        self.s2.put("invoices", "1.1.0", "team-invoices")
        agent.wait_synced("eu")
        with roster.open(agent.arena) as client, client.view() as view:
            self.assertEqual(view.service("invoices").version, "1.1.0")
            self.assertLess(view.registries()[1].staleness, FRESH)
        self.assertEqual(agent.metric("roster_agent_registry_connected", "eu"), 1)


class FederationFlags(unittest.TestCase):
    """What roster-agent refuses before it makes an arena: each case exits 1 naming the problem."""

    def refused(self, *args):
        arena = f"fed-flags-{os.getpid()}"
        agent = subprocess.run([AGENT, "--arena", arena, "--http", "127.0.0.1:0", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, timeout=20, env=CLEAN_ENV)
        self.assertEqual(agent.returncode, 1, agent.stderr)
        self.assertFalse([n for n in os.listdir("/dev/shm") if f".{arena}." in n], "an arena was left")
        return agent.stderr

    def test_bad_federation_flags_are_refused_with_the_reason(self):
        self.assertIn("named twice", self.refused("--upstream", "127.0.0.1:1", "--federate", "local=127.0.0.1:2"))
        self.assertIn("named twice", self.refused("--federate", "eu=127.0.0.1:1", "--federate", "eu=127.0.0.1:2"))
        self.assertIn("invalid registry name", self.refused("--federate", "EU=127.0.0.1:1"))
        self.assertIn("invalid registry name", self.refused("--federate", "a/b=127.0.0.1:1"))
        self.assertIn("expected NAME=ADDR", self.refused("--federate", "eu="))
        self.assertIn("expected NAME=ADDR", self.refused("--federate", "127.0.0.1:1"))
        self.assertIn("does not mirror", self.refused("--federate", "eu=127.0.0.1:1", "--prefer", "users=us"))
        self.assertIn("expected SERVICE=REGISTRY", self.refused("--federate", "eu=127.0.0.1:1", "--prefer", "users"))
        self.assertIn("needs --federate", self.refused("--upstream", "127.0.0.1:1", "--prefer", "users=local"))
        many = [arg for i in range(9) for arg in ("--federate", f"r{i}=127.0.0.1:1")]
        self.assertIn("at most 8", self.refused(*many))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
