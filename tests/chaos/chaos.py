#!/usr/bin/env python3
"""Chaos test: writers, readers, roster-server and roster-agent, with kill -9 at random moments.

    python3 tests/chaos/chaos.py --build BUILD_DIR [--rounds N] [--seed S] [--keep]

Each round:
  1. whatever is down is started: roster-server (SQLite in one data dir for the whole run, so one
     store), roster-agent (one arena name, one cache file, the server's stream on a Unix socket
     so a restarted server keeps the address), and the readers: Python processes
     (py_reader.py, the `roster` module) and C++ processes (chaos_reader, roster/client.hpp);
  2. writer threads PUT versions (new ones, as beta), instances (new ones) and instance updates
     (a new port) over HTTP, each writer to services of its own, one request at a time; every
     2xx answer is an acknowledged write, with the revision the answer carries (appended to an
     ack log that the readers read);
  3. while they write, 1 to 3 chaos events fire at random moments: kill -9 of the server, of
     the agent, of both, of a Python or a C++ reader, or an outage (the server dies, the agent
     lives long enough to write its cache, then dies and comes back while the server is still
     down: it warm-starts from the cache, and resumes by delta once the server returns); each
     victim is restarted after a random delay (0 to 400 ms), and some events fall on a victim
     still starting; or a flap (the server or the agent killed 2 to 4 times in a row, each
     time within 80 ms of its start). The agent runs with 16 reader slots (killed readers' slots must be
     reclaimed) and a 60 ms pin limit (readers sometimes hold a View longer: it gets revoked);
  4. the dust settles: writers pause, server and agent are up, the agent catches up to the
     server's revision (seen through a fresh Client), and acknowledged writes are checked
     through the server's HTTP API and through the arena (a fresh Python client), exactly: the
     version with the revision it was acknowledged at, the instance with its last acknowledged
     port (or the port of a later unanswered attempt), nothing that was never written; the
     services written this round and a sample of the others, every service in the last round.
     A fresh C++ reader (chaos_reader --verify) checks every acknowledged write every round;
  5. every reader the loop did not kill must still run.
Throughout, each reader checks its own Views: generation and revision never go back (also
across agent restarts and re-attaching, and never below what earlier readers saw), and every
write acknowledged at or below a View's revision is in it. The server and the agent must never
exit by themselves either.

Known bugs (KNOWN_BUGS below) are expected failures while they are not fixed: counted and
reported as XFAIL, not failed; --strict fails them.

The chaos schedule comes from --seed (printed at start; each reader and writer gets a seed
derived from it). Thread and process timing still varies, so a seed reproduces the sequence
of events, not every interleaving. On exit (success, failure, Ctrl-C, SIGTERM) every process
started here is killed, the arena's /dev/shm/roster.NAME.* files and the temp dir are removed
(--keep keeps the temp dir: logs, data dir, cache, ack log). Exit status: 0 passed, 1 a check
failed (the report says what, with the seed and the events that led there), 2 bad usage.
"""
import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# Bugs this test found in roster and that are not fixed yet, {name: what goes wrong}: a check that
# meets one reports it as XFAIL instead of failing the run (--strict makes it fail). None is open
# now; the ones it found (records without their revision, segments of killed agents left in
# /dev/shm) are fixed and their checks are strict.
KNOWN_BUGS = {}


class ChaosFailure(Exception):
    pass


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def tail(path, lines=25):
    text = read_text(path)
    return "".join(text.splitlines(True)[-lines:]) if text else "(empty)\n"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_runs():
    """What a run killed outright (kill -9, a ctest timeout) left behind: arenas named after a
    dead chaos.py's pid, and temp dirs whose owner.pid is dead. Nothing of a live run."""
    for path in glob.glob("/dev/shm/roster.chaos-*"):
        m = re.match(r"/dev/shm/roster\.chaos-(\d+)-", path)
        if m and not pid_alive(int(m.group(1))):
            try:
                os.remove(path)
            except OSError:
                pass
    for owner in glob.glob(os.path.join(tempfile.gettempdir(), "roster-chaos-*", "owner.pid")):
        try:
            pid = int(read_text(owner).strip() or 0)
        except ValueError:
            continue
        if pid and not pid_alive(pid):
            shutil.rmtree(os.path.dirname(owner), ignore_errors=True)


class Proc:
    """A process started here. `killed` says the chaos loop killed it: any other exit is a
    failure."""

    PDEATHSIG = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []

    def __init__(self, kind, name, args, log_path, env=None):
        self.kind, self.name, self.log_path = kind, name, log_path
        self.killed = False
        with open(log_path, "ab") as log:
            # setpriv: if this script is killed outright, its children die with it.
            # Their own session: Ctrl-C in a terminal reaches only this script, which kills them.
            self.popen = subprocess.Popen(self.PDEATHSIG + args, stdout=subprocess.DEVNULL, stderr=log, env=env,
                                          stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def describe_exit(self):
        rc = self.popen.poll()
        if rc is None:
            return "running"
        return f"killed by signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"

    def kill9(self):
        self.killed = True
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait()


class Writer(threading.Thread):
    """PUTs, one at a time, to services only this writer touches, so the last acknowledged write
    of each key is well defined. A request without an answer (the server died) is uncertain: it
    may or may not have been applied, and is never repeated."""

    def __init__(self, chaos, index, seed):
        super().__init__(name=f"writer-{index}", daemon=True)
        self.chaos, self.index = chaos, index
        self.rng = random.Random(seed)
        # New versions go to this round's three services (so no service grows without bound);
        # instances to any acknowledged version, old ones included.
        self.services = []        # every service this writer ever wrote to
        self.touched = set()      # services written since the last verification
        self.next_patch = {}
        # What was acknowledged, and what may have been applied.
        self.versions = {}        # (svc, ver) -> acked revision
        self.maybe_versions = set()
        self.instances = {}       # (svc, ver, id) -> {"acked": port or None, "maybe": set(ports)}
        self.acked_instances = []  # keys with an acknowledged PUT, for updates
        self.acked_versions = []   # keys of self.versions, for picking one
        self.next_instance = 0
        self.idle = threading.Event()
        self.stats = {"versions": 0, "instances": 0, "updates": 0, "unanswered": 0, "refused_5xx": 0,
                      "connect_failed": 0}

    def run(self):
        try:
            while not self.chaos.stopping:
                if not self.chaos.writing.is_set():
                    self.idle.set()
                    self.chaos.writing.wait(0.1)
                    continue
                self.idle.clear()
                if not self.chaos.writing.is_set():  # paused between the check and clear
                    continue
                self.one_write()
                time.sleep(self.rng.uniform(0, 0.004))
        except ChaosFailure as e:
            self.chaos.fail_async(str(e))
        except Exception as e:  # a bug in this script: fail loudly rather than hang
            self.chaos.fail_async(f"writer {self.index} crashed: {e!r}")
        finally:
            self.idle.set()

    def put(self, path, doc):
        """(status, body) for an answer, None for no answer (uncertain), "refused" when the
        connection was refused (certainly not applied)."""
        http = self.chaos.http
        if http is None:  # the server is down
            self.stats["connect_failed"] += 1
            time.sleep(0.01)
            return "refused"
        req = urllib.request.Request(f"http://{http}{path}", data=json.dumps(doc).encode(), method="PUT",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=15) as r:  # noqa: S310 (loopback)
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                body = json.loads(e.read() or b"null")
            except ValueError:
                body = None
            return e.code, body
        except (urllib.error.URLError, OSError, ValueError, EOFError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, ConnectionRefusedError):
                self.stats["connect_failed"] += 1
                time.sleep(0.005)
                return "refused"
            return None
        except Exception:  # http.client.RemoteDisconnected, IncompleteRead, BadStatusLine ...
            return None

    def answered(self, what, answer):
        """The revision of a 2xx answer; None when not acknowledged. A 4xx is a failure."""
        if answer == "refused":
            return None
        if answer is None:
            self.stats["unanswered"] += 1
            self.chaos.event(f"writer {self.index}: {what}: no answer (uncertain)")
            return None
        status, body = answer
        if 200 <= status < 300:
            if not isinstance(body, dict) or not isinstance(body.get("revision"), int):
                raise ChaosFailure(f"{what}: 2xx answer without a revision: {body!r}")
            return body["revision"]
        if status >= 500:
            self.stats["refused_5xx"] += 1
            self.chaos.event(f"writer {self.index}: {what}: {status} {body!r} (not acknowledged)")
            return None
        raise ChaosFailure(f"{what}: refused with {status}: {body!r}")

    def one_write(self):
        r = self.rng.random()
        if not self.versions or r < 0.35:
            svc = f"chaos-w{self.index}-r{self.chaos.round}-s{self.rng.randrange(3)}"
            if svc not in self.next_patch:
                self.next_patch[svc] = 0
                self.services.append(svc)
            ver = f"1.0.{self.next_patch[svc]}"
            self.next_patch[svc] += 1
            self.touched.add(svc)
            doc = {"name": svc, "version": ver, "lifecycle_stage": "beta", "owner_team": "chaos-team",
                   "description": f"writer {self.index}"}
            answer = self.put(f"/v1/services/{svc}/versions/{ver}", doc)
            rev = self.answered(f"PUT version {svc}@{ver}", answer)
            if rev is None:
                if answer != "refused":
                    self.maybe_versions.add((svc, ver))
                return
            self.versions[(svc, ver)] = rev
            self.acked_versions.append((svc, ver))
            self.stats["versions"] += 1
            self.chaos.acked("V", rev, svc, ver)
            return
        if not self.acked_instances or r < 0.75:
            svc, ver = self.rng.choice(self.acked_versions)
            inst_id = f"i{self.index}-{self.next_instance}"
            self.next_instance += 1
            update = False
        else:
            svc, ver, inst_id = self.rng.choice(self.acked_instances)
            update = True
        port = self.rng.randrange(1024, 65535)
        key = (svc, ver, inst_id)
        self.touched.add(svc)
        doc = {"id": inst_id, "address": f"10.{self.index}.{port >> 8 & 255}.{port & 255}", "port": port}
        answer = self.put(f"/v1/services/{svc}/versions/{ver}/instances/{inst_id}", doc)
        rev = self.answered(f"PUT instance {svc}@{ver}/{inst_id} port {port}", answer)
        state = self.instances.setdefault(key, {"acked": None, "maybe": set()})
        if rev is None:
            if answer != "refused":
                state["maybe"].add(port)
            return
        state["acked"], state["maybe"] = port, set()
        if not update:
            self.acked_instances.append(key)
        self.stats["updates" if update else "instances"] += 1
        self.chaos.acked("I", rev, svc, ver, inst_id)


class Chaos:
    # Chaos events and their weights. "outage": the server dies, the agent outlives it long enough
    # to write its cache (once a second), then dies too and restarts while the server is still
    # down: it warm-starts from the cache and serves it; the server returns later.
    # "flap": the server or the agent dies again and again, each time soon after it started
    # (while it opens its store, creates or publishes its arena, catches up).
    KINDS = [("server", 3), ("agent", 3), ("both", 1), ("outage", 1), ("flap", 1), ("py-reader", 1),
             ("cpp-reader", 1)]

    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(self.seed)
        build = os.path.abspath(args.build)
        self.server_bin = os.path.join(build, "upstream", "roster-server")
        self.agent_bin = os.path.join(build, "agent", "roster-agent")
        self.reader_bin = os.path.join(build, "tests", "chaos_reader")
        modules = glob.glob(os.path.join(build, "bindings", "python", "roster*.so"))
        for path in (self.server_bin, self.agent_bin, self.reader_bin):
            if not os.access(path, os.X_OK):
                raise SystemExit(f"chaos: {path} is missing: build first (cmake --build {args.build})")
        if not modules:
            raise SystemExit(f"chaos: the Python module roster*.so is not under {build}/bindings/python")
        self.module_dir = os.path.dirname(modules[0])
        sys.path.insert(0, self.module_dir)
        global roster
        import roster  # noqa: F401 (module level name used by the checks)

        sweep_stale_runs()
        self.tmp = tempfile.mkdtemp(prefix="roster-chaos-")
        with open(os.path.join(self.tmp, "owner.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        self.arena = f"chaos-{os.getpid()}-{random.SystemRandom().randrange(1 << 32):08x}"
        self.data_dir = os.path.join(self.tmp, "data")
        self.stream_sock = os.path.join(self.tmp, "stream.sock")
        self.cache_file = os.path.join(self.tmp, "agent-cache.bin")
        self.ack_log_path = os.path.join(self.tmp, "acks.log")
        self.ack_log = open(self.ack_log_path, "a")
        self.ack_lock = threading.Lock()
        self.max_acked_revision = 0
        self.acked_count = 0
        self.server = self.agent = None
        self.http = None  # the live server's HTTP address (writers read it)
        self.readers = {}  # slot name -> Proc
        self.reader_seq = 0
        self.all_procs = []
        self.stopping = False
        self.writing = threading.Event()
        self.writers = []
        self.failure = None
        self.events = []
        self.t0 = time.monotonic()
        self.kills = {"server": 0, "agent": 0, "py-reader": 0, "cpp-reader": 0}
        self.starts = {"server": 0, "agent": 0, "py-reader": 0, "cpp-reader": 0}
        self.floor_revision = self.floor_generation = 0  # what the arena has shown (never goes back)
        self.max_reader_revision = 0
        self.reader_views = self.reader_nested = self.reader_evicted = self.reader_checks = 0
        self.reader_stats_seen = {}
        self.round = 0
        self.agent_paths = self.orphans = ""
        self.xfail = set() if args.strict else set(KNOWN_BUGS)

    # --- bookkeeping --------------------------------------------------------------------------

    def event(self, text):
        line = f"{time.monotonic() - self.t0:8.3f} r{self.round:<3} {text}"
        self.events.append(line)
        if self.args.verbose:
            print(line, flush=True)

    def fail_async(self, text):
        if self.failure is None:
            self.failure = text

    def check_async(self):
        if self.failure:
            raise ChaosFailure(self.failure)

    def acked(self, kind, rev, svc, ver, inst_id=None):
        with self.ack_lock:
            self.ack_log.write(f"{kind} {rev} {svc} {ver}" + (f" {inst_id}" if inst_id else "") + "\n")
            self.ack_log.flush()
            self.max_acked_revision = max(self.max_acked_revision, rev)
            self.acked_count += 1

    # --- processes ----------------------------------------------------------------------------

    def wait_ready(self, proc, ready, what, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = read_text(ready)
            if text.endswith("\n"):  # the whole line
                return dict(part.split("=", 1) for part in text.split()[1:])
            if not proc.alive():
                raise ChaosFailure(f"{what} exited while starting ({proc.describe_exit()}):\n{tail(proc.log_path)}")
            time.sleep(0.005)
        raise ChaosFailure(f"{what} not ready after {timeout} s:\n{tail(proc.log_path)}")

    def start_server(self):
        ready = os.path.join(self.tmp, "server.ready")
        if os.path.exists(ready):
            os.remove(ready)
        # Leases far longer than the run: an instance that disappears was lost, not expired.
        args = [self.server_bin, "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0", "--stream-unix", self.stream_sock,
                "--data-dir", self.data_dir, "--ready-file", ready, "--lease-duration", "86400",
                "--lease-renewal", "3600"]
        self.server = Proc("server", "server", args, os.path.join(self.tmp, "server.log"))
        self.all_procs.append(self.server)
        self.starts["server"] += 1
        fields = self.wait_ready(self.server, ready, "roster-server")
        self.http = fields["http"]
        self.event(f"server started pid {self.server.pid} http {self.http}")

    def start_agent(self):
        ready = os.path.join(self.tmp, "agent.ready")
        if os.path.exists(ready):
            os.remove(ready)
        args = [self.agent_bin, "--upstream", "unix:" + self.stream_sock, "--arena", self.arena, "--http", "127.0.0.1:0",
                "--segment-bytes", str(self.args.segment_mib << 20), "--cache-file", self.cache_file, "--ready-file", ready,
                # Few slots: the slots of killed readers and dropped clients must be reclaimed.
                # A short pin limit: Views the readers hold on purpose get revoked now and then.
                "--reader-slots", "16", "--max-pin-age-ms", "60"]
        self.agent = Proc("agent", "agent", args, os.path.join(self.tmp, "agent.log"))
        self.all_procs.append(self.agent)
        self.starts["agent"] += 1
        self.wait_ready(self.agent, ready, "roster-agent")
        self.event(f"agent started pid {self.agent.pid}")

    def reader_floors(self, slot):
        """Floors for a reader starting in `slot`: what the arena already showed (to the loop and
        to the reader this one replaces)."""
        rev, gen = self.floor_revision, self.floor_generation
        stats = self.read_reader_stats(slot)
        return max(rev, stats.get("max_revision", 0)), max(gen, stats.get("max_generation", 0))

    def read_reader_stats(self, slot):
        stats = {}
        for line in read_text(os.path.join(self.tmp, f"{slot}.stats")).splitlines():
            key, _, value = line.partition(" ")
            if value.isdigit():
                stats[key] = int(value)
        return stats

    def start_reader(self, slot):
        kind = "py-reader" if slot.startswith("py") else "cpp-reader"
        self.reader_seq += 1
        seed = self.seed * 1000 + self.reader_seq
        rev, gen = self.reader_floors(slot)
        self.harvest_reader_stats(slot)
        stats = os.path.join(self.tmp, f"{slot}.stats")
        if os.path.exists(stats):
            os.remove(stats)
        rest = [self.arena, self.ack_log_path, stats, str(seed), str(rev), str(gen)]
        if kind == "py-reader":
            env = dict(os.environ, PYTHONPATH=self.module_dir + os.pathsep + os.environ.get("PYTHONPATH", ""))
            args = [sys.executable, os.path.join(HERE, "py_reader.py"), *rest]
        else:
            env, args = None, [self.reader_bin, *rest]
        proc = Proc(kind, slot, args, os.path.join(self.tmp, f"{slot}.log"), env=env)
        self.all_procs.append(proc)
        self.readers[slot] = proc
        self.starts[kind] += 1
        self.event(f"{slot} ({kind}) started pid {proc.pid} seed {seed} floors revision {rev} generation {gen}")

    def harvest_reader_stats(self, slot):
        stats = self.read_reader_stats(slot)
        if stats:
            self.max_reader_revision = max(self.max_reader_revision, stats.get("max_revision", 0))
            self.reader_views += stats.get("views", 0)
            self.reader_nested += stats.get("nested", 0)
            self.reader_evicted += stats.get("evicted", 0)
            self.reader_checks += stats.get("checks", 0)

    def kill(self, what):
        if what in ("server", "both"):
            self.kill_one("server")
        if what in ("agent", "both"):
            self.kill_one("agent")
        if what in ("py-reader", "cpp-reader"):
            slots = [s for s, p in self.readers.items() if p.kind == what and p.alive()]
            if not slots:
                self.event(f"kill {what}: none running")
                return []
            slot = self.rng.choice(sorted(slots))
            self.check_died_by_itself(self.readers[slot])
            self.readers[slot].kill9()
            self.kills[what] += 1
            self.event(f"killed -9 {slot} pid {self.readers[slot].pid}")
            return [slot]
        return ["server", "agent"] if what == "both" else [what]

    def outage(self):
        self.kill_one("server")
        quiet = self.rng.uniform(1.1, 1.4)
        self.event(f"outage: the server stays down; the agent dies in {quiet:.3f} s and restarts at once")
        time.sleep(quiet)
        self.check_async()
        self.kill_one("agent")
        self.restart("agent")

    def flap(self):
        which = self.rng.choice(["server", "agent"])
        lives = [self.rng.uniform(0.0, 0.08) for _ in range(self.rng.randint(2, 4))]
        self.event(f"flap: {which} killed {len(lives)} times, after " + ", ".join(f"{t * 1000:.0f}" for t in lives) +
                   " ms of life")
        self.kill_one(which)
        for life in lives:
            self.restart(which)
            time.sleep(life)
            self.check_async()
            self.kill_one(which)
        return which

    def kill_one(self, which):
        proc = getattr(self, which)
        if proc is None or proc.killed:
            self.event(f"kill {which}: already down")
            return
        self.check_died_by_itself(proc)
        proc.kill9()
        self.kills[which] += 1
        if which == "server":
            self.http = None
        self.event(f"killed -9 {which} pid {proc.pid}")

    def check_died_by_itself(self, proc):
        if not proc.killed and not proc.alive():
            raise ChaosFailure(f"{proc.name} (pid {proc.pid}) died by itself: {proc.describe_exit()}\n"
                               f"--- {os.path.basename(proc.log_path)} (last lines)\n{tail(proc.log_path)}")

    def restart(self, what):
        if what == "server":
            if self.server is None or self.server.killed:
                self.start_server()
        elif what == "agent":
            if self.agent is None or self.agent.killed:
                self.start_agent()
        elif self.readers[what].killed:
            self.start_reader(what)

    def check_processes(self):
        for proc in [self.server, self.agent, *self.readers.values()]:
            if proc is not None:
                self.check_died_by_itself(proc)

    # --- HTTP and arena reads -----------------------------------------------------------------

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://{self.http}{path}", timeout=15) as r:  # noqa: S310
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def fresh_view_revision(self):
        """(revision, generation) of a View through a freshly opened client, or None."""
        try:
            client = roster.open(self.arena)
        except roster.Error:
            return None
        with client.view() as view:
            return view.revision, view.generation

    # --- a round ------------------------------------------------------------------------------

    def run_round(self):
        self.round += 1
        rng = self.rng
        for what in ("server", "agent"):
            self.restart(what)
        for slot in list(self.readers):
            self.restart(slot)
        self.check_processes()
        duration = rng.uniform(0.6, 1.4)
        plan = []
        kinds, weights = zip(*self.KINDS)
        for _ in range(rng.randint(1, 3)):
            at = rng.uniform(0.05, duration)
            kind = rng.choices(kinds, weights)[0]
            delay = rng.choice([0.0, rng.uniform(0.0, 0.05), rng.uniform(0.05, 0.4)])
            plan.append((at, "kill", kind, delay))
        plan.sort()
        self.event("plan: " + ", ".join(f"kill {k} at {at:.3f}s, restart +{d:.3f}s" for at, _, k, d in plan))
        self.writing.set()
        start = time.monotonic()
        pending = []  # (due, target)
        while plan or pending:
            self.check_async()
            now = time.monotonic() - start
            if plan and plan[0][0] <= now:
                _, _, kind, delay = plan.pop(0)
                if kind == "outage":
                    self.outage()
                    now = time.monotonic() - start
                    targets = ["server"]
                elif kind == "flap":
                    targets = [self.flap()]
                    now = time.monotonic() - start
                else:
                    targets = self.kill(kind)
                for i, target in enumerate(targets):
                    # "both": the second one comes back after a delay of its own.
                    pending.append((now + (delay if i == 0 else rng.uniform(0.0, 0.4)), target))
                pending.sort()
                continue
            if pending and pending[0][0] <= now:
                _, target = pending.pop(0)
                self.restart(target)
                continue
            nxt = min([p[0] for p in plan[:1]] + [p[0] for p in pending[:1]])
            time.sleep(max(0.0, min(0.01, nxt - now)))
        remaining = duration - (time.monotonic() - start)
        if remaining > 0:
            time.sleep(remaining)
        self.check_async()
        self.settle_and_verify()

    def pause_writers(self):
        self.writing.clear()
        for w in self.writers:
            if not w.idle.wait(30):
                raise ChaosFailure(f"writer {w.index} still busy 30 s after the pause")
        self.check_async()

    def settle_and_verify(self):
        self.pause_writers()
        self.restart("server")
        self.restart("agent")
        self.check_processes()
        status, body = self.get("/v1/revision")
        if status != 200:
            raise ChaosFailure(f"GET /v1/revision: {status} {body!r}")
        server_rev = body["revision"]
        if server_rev < self.max_acked_revision:
            raise ChaosFailure(f"the server is at revision {server_rev}, below the acknowledged revision "
                               f"{self.max_acked_revision}: acknowledged writes were lost")
        # The agent catches up (seen through a fresh client).
        deadline = time.monotonic() + 30
        while True:
            seen = self.fresh_view_revision()
            if seen and seen[0] >= server_rev:
                break
            if time.monotonic() > deadline:
                raise ChaosFailure(f"the arena is at {seen} (revision, generation), not at the server's revision "
                                   f"{server_rev}, 30 s after the writes stopped:\n--- agent.log\n"
                                   f"{tail(self.agent.log_path)}")
            self.check_processes()
            time.sleep(0.005)
        revision, generation = seen
        if revision != server_rev:
            raise ChaosFailure(f"the arena is at revision {revision}, ahead of the server's {server_rev}")
        if revision < self.floor_revision or generation < self.floor_generation:
            raise ChaosFailure(f"a fresh View at revision {revision} generation {generation} is below what the arena "
                               f"showed before: revision {self.floor_revision} generation {self.floor_generation}")
        self.floor_revision, self.floor_generation = revision, generation
        self.event(f"settled: server and arena at revision {revision}, generation {generation}")
        services = self.services_to_verify(final=self.round == self.args.rounds)
        self.verify_http(services)
        self.verify_arena(revision, services)
        self.verify_cpp(revision)  # every acknowledged write, always
        self.check_orphans()
        self.event(f"verified {len(services)} services through HTTP and a fresh Python client; every acknowledged "
                   f"write through a fresh C++ reader")
        self.check_processes()

    def check_orphans(self):
        """Segments a dead agent created and never published: roster.NAME.{data,readers}.new.PID.N."""
        orphans = []
        for path in glob.glob(f"/dev/shm/roster.{self.arena}.*.new.*"):
            m = re.search(r"\.new\.(\d+)\.\d+$", path)
            if m and int(m.group(1)) != self.agent.pid:
                orphans.append(os.path.basename(path))
        if orphans:  # the running agent removes them when it starts
            raise ChaosFailure(f"segments of dead agents left in /dev/shm: {', '.join(sorted(orphans))}")

    def expected(self):
        """Per service: {version: revision} acknowledged, versions that may exist, and per
        instance key the allowed ports (None: may be absent)."""
        versions, maybe_versions, instances = {}, set(), {}
        for w in self.writers:
            versions.update(w.versions)
            maybe_versions |= w.maybe_versions
            for key, state in w.instances.items():
                allowed = set(state["maybe"])
                if state["acked"] is not None:
                    allowed.add(state["acked"])
                instances[key] = (state["acked"] is not None, allowed)
        return versions, maybe_versions, instances

    def compare(self, source, services, found_versions, found_instances):
        """found_versions: {(svc, ver): revision}; found_instances: {(svc, ver, id): port}."""
        versions, maybe_versions, instances = self.expected()
        wanted = set(services)
        versions = {k: v for k, v in versions.items() if k[0] in wanted}
        instances = {k: v for k, v in instances.items() if k[0] in wanted}
        problems = []
        for key, rev in sorted(versions.items()):
            if key not in found_versions:
                problems.append(f"version {key[0]}@{key[1]} acknowledged at revision {rev} is missing")
            elif found_versions[key] is None:
                pass  # the HTTP API shows a record's revision only when it is not 0
            elif found_versions[key] != rev:
                problems.append(f"version {key[0]}@{key[1]} acknowledged at revision {rev} has revision "
                                f"{found_versions[key]}")
        for key in sorted(found_versions):
            if key not in versions and key not in maybe_versions:
                problems.append(f"version {key[0]}@{key[1]} was never written")
        for key, (must, allowed) in sorted(instances.items()):
            if key not in found_instances:
                if must:
                    problems.append(f"instance {'/'.join(key)} (acknowledged) is missing")
            elif found_instances[key] not in allowed:
                problems.append(f"instance {'/'.join(key)} has port {found_instances[key]}, expected one of "
                                f"{sorted(allowed)}")
        for key in sorted(found_instances):
            if key not in instances:
                problems.append(f"instance {'/'.join(key)} was never written")
        if problems:
            raise ChaosFailure(f"{source}: {len(problems)} problem(s) with acknowledged writes:\n  " +
                               "\n  ".join(problems[:30]))

    def services_to_verify(self, final):
        """Every service in the last round; otherwise those written this round and a sample of
        the others (checking everything every round would grow with the square of the rounds)."""
        everything = [s for w in self.writers for s in w.services]
        if final:
            return everything
        touched = set()
        for w in self.writers:
            touched |= w.touched
            w.touched = set()  # writers are paused
        others = sorted(set(everything) - touched)
        return sorted(touched) + self.rng.sample(others, min(len(others), 8))

    def verify_http(self, services):
        found_versions, found_instances = {}, {}
        for svc in services:
            status, body = self.get(f"/v1/services/{svc}/versions")
            if status == 200:
                for v in body["versions"]:
                    found_versions[(svc, v["version"])] = v.get("revision")
            elif status != 404:
                raise ChaosFailure(f"GET /v1/services/{svc}/versions: {status} {body!r}")
            status, body = self.get(f"/v1/services/{svc}/instances")
            if status == 200:
                for i in body["instances"]:
                    found_instances[(svc, i["version"], i["id"])] = i["port"]
            elif status != 404:
                raise ChaosFailure(f"GET /v1/services/{svc}/instances: {status} {body!r}")
        self.compare("through the HTTP API", services, found_versions, found_instances)

    def verify_arena(self, revision, services):
        client = roster.open(self.arena)
        found_versions, found_instances = {}, {}
        # A View per service: the agent revokes Views held longer than its pin limit (60 ms here).
        # Nothing is written meanwhile, so every one of them is at the settled revision.
        for svc in services:
            for attempt in range(20):
                try:
                    with client.view() as view:
                        if view.revision != revision:
                            raise ChaosFailure(f"a fresh View is at revision {view.revision}, not the settled {revision}")
                        versions = {(svc, v.version): v.revision for v in view.versions(svc)}
                        instances = {(svc, i.version, i.id): i.port for i in view.instances(svc)}
                    break
                except roster.Error as e:
                    if "revoked" not in str(e) or attempt == 19:
                        raise ChaosFailure(f"reading {svc} through a fresh Python client: {e}") from e
            found_versions.update(versions)
            found_instances.update(instances)
        self.compare(f"through the arena (a fresh Python client at revision {revision})", services,
                     found_versions, found_instances)

    def verify_cpp(self, revision):
        out = subprocess.run([self.reader_bin, "--verify", self.arena, self.ack_log_path, str(revision)],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise ChaosFailure(f"a fresh C++ reader (chaos_reader --verify) failed ({out.returncode}):\n"
                               f"{out.stderr}{out.stdout}")

    # --- the whole run ------------------------------------------------------------------------

    def run(self):
        a = self.args
        print(f"chaos: seed {self.seed}, {a.rounds} rounds, arena {self.arena}, temp dir {self.tmp}", flush=True)
        self.start_server()
        self.start_agent()
        for i in range(a.py_readers):
            self.start_reader(f"py{i}")
        for i in range(a.cpp_readers):
            self.start_reader(f"cpp{i}")
        for i in range(a.writers):
            w = Writer(self, i, self.seed * 100 + i)
            self.writers.append(w)
            w.start()
        for _ in range(a.rounds):
            started = time.monotonic()
            self.run_round()
            if a.verbose or self.round % 10 == 0 or self.round == a.rounds:
                print(f"chaos: round {self.round}/{a.rounds} passed ({time.monotonic() - started:.2f} s; "
                      f"{self.acked_count} writes acknowledged, revision {self.floor_revision})", flush=True)
        # Every reader must still be running: then stop them and count what they saw.
        self.check_processes()
        for slot, proc in self.readers.items():
            proc.kill9()
            self.harvest_reader_stats(slot)

    def summary(self, passed, interrupted=False):
        elapsed = time.monotonic() - self.t0
        acked = {k: sum(w.stats[k] for w in self.writers) for k in ("versions", "instances", "updates", "unanswered",
                                                                      "refused_5xx", "connect_failed")}
        outcome = "PASSED" if passed else "INTERRUPTED" if interrupted else "FAILED"
        rounds = "all passed" if passed else "the last one unfinished" if interrupted else "the last one failed"
        print(f"chaos: {outcome}: seed {self.seed}, {self.round} round(s) ({rounds}) in {elapsed:.1f} s")
        print(f"  kills (-9):     server {self.kills['server']}, agent {self.kills['agent']}, "
              f"python readers {self.kills['py-reader']}, C++ readers {self.kills['cpp-reader']}")
        print(f"  starts:         server {self.starts['server']}, agent {self.starts['agent']}, "
              f"python readers {self.starts['py-reader']}, C++ readers {self.starts['cpp-reader']}")
        print(f"  writes acked:   {self.acked_count} (versions {acked['versions']}, new instances {acked['instances']}, "
              f"instance updates {acked['updates']}); unanswered {acked['unanswered']}, 5xx {acked['refused_5xx']}, "
              f"not sent (server down) {acked['connect_failed']}")
        print(f"  max revision:   acknowledged {self.max_acked_revision}, arena (settled) {self.floor_revision}, "
              f"seen by readers {self.max_reader_revision}")
        print(f"  readers:        {self.reader_views} Views, {self.reader_nested} opened inside another, "
              f"{self.reader_evicted} revoked (held past the pin limit), {self.reader_checks} acknowledged writes "
              f"looked up")
        print(f"  agent paths:    {self.agent_paths}")
        print(f"  left in shm:    {self.orphans}")
        for bug in sorted(self.xfail):
            print(f"  known bug (XFAIL where met): {bug}: {KNOWN_BUGS[bug]}")
        sys.stdout.flush()

    def report_failure(self, message):
        print(f"\nchaos: FAILURE in round {self.round} (seed {self.seed}):\n{message}\n", flush=True)
        print("--- the last events:")
        for line in self.events[-40:]:
            print(line)
        for proc in [self.server, self.agent, *self.readers.values()]:
            if proc is None:
                continue
            text = read_text(proc.log_path)
            if proc.kind.endswith("reader") and not text:
                continue
            print(f"--- {os.path.basename(proc.log_path)} ({proc.name}, {proc.describe_exit()}; last lines)")
            print(tail(proc.log_path, 15), end="")
        print(f"reproduce: python3 {os.path.relpath(__file__)} --build {self.args.build} --rounds {self.args.rounds} "
              f"--seed {self.seed}", flush=True)

    def cleanup(self):
        self.stopping = True
        self.writing.set()
        for proc in self.all_procs:
            if proc.alive():
                proc.killed = True
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for w in self.writers:
            w.join(timeout=20)
        try:
            self.ack_log.close()
        except OSError:
            pass
        agent_log = read_text(os.path.join(self.tmp, "agent.log"))
        resumes = re.findall(r"; resuming from revision (\d+)", agent_log)
        self.agent_paths = (f"warm starts from the cache {agent_log.count('warm start from')}, stale caches passed over "
                            f"{agent_log.count('older than the live arena')}, connections {len(resumes)} "
                            f"({sum(r != '0' for r in resumes)} resuming from a revision), snapshots applied "
                            f"{agent_log.count('snapshot applied')}")
        orphans = [p for p in glob.glob(f"/dev/shm/roster.{self.arena}.*") if ".new." in p]
        resident = 0
        for p in orphans:
            try:
                resident += os.stat(p).st_blocks * 512
            except OSError:
                pass
        self.orphans = (f"{len(orphans)} segment(s) of agents killed before they published an arena "
                        f"(/dev/shm/roster.NAME.*.new.PID.N), {resident >> 10} KiB resident; removed now")
        for path in glob.glob(f"/dev/shm/roster.{self.arena}.*"):
            try:
                os.remove(path)
            except OSError:
                pass
        if self.args.keep:
            print(f"chaos: kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", required=True, help="the CMake build directory")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--py-readers", type=int, default=2)
    parser.add_argument("--cpp-readers", type=int, default=2)
    parser.add_argument("--segment-mib", type=int, default=64, help="the agent's --segment-bytes, in MiB")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data, ack log)")
    parser.add_argument("--strict", action="store_true",
                        help="known bugs (KNOWN_BUGS) fail the run instead of counting as expected failures")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every event as it happens")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    if args.rounds < 1 or args.writers < 1:
        parser.error("--rounds and --writers must be at least 1")

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    # Also when started with SIGINT ignored (a background job of a shell script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    chaos = Chaos(args)
    passed = interrupted = False
    try:
        chaos.run()
        passed = True
    except ChaosFailure as e:
        chaos.report_failure(str(e))
    except (KeyboardInterrupt, SystemExit):
        interrupted = True
        print("\nchaos: interrupted", flush=True)
    except Exception:  # a bug in this script, or something it did not expect: a failure too
        chaos.report_failure(traceback.format_exc())
    finally:
        chaos.cleanup()
        chaos.summary(passed, interrupted)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
