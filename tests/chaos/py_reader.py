"""A reader process for chaos.py that exercises the Python module `roster`.

    python3 py_reader.py ARENA ACK_LOG STATS_FILE SEED [FLOOR_REVISION FLOOR_GENERATION]

The same checks as chaos_reader.cpp, for every View it opens (mostly through one long-lived
client, which re-attaches by itself when a new agent replaces the arena; sometimes through a
freshly opened one; sometimes two Views at once):
  - generation and revision never go below what this process saw before, nor below the floors;
  - the store never changes once the arena has one (View.store, where the module has it);
  - no View that was not revoked is corrupt (View.corrupt, where the module has it);
  - every write acknowledged at a revision <= the View's revision (ACK_LOG) is visible: a version
    with the revision it was acknowledged at, an instance by its id.
A View revoked while we looked (view_evicted: held past the pin limit) proves nothing. Any
violation, and any error opening the arena once it existed, ends the process with exit status 3
and a line starting "CHAOS-READER-FAIL" on stderr. An unexpected Python exception ends it with
status 1 (a traceback), which chaos.py reports as a reader crash too.
"""
import os
import random
import sys
import time

import roster


class Failed(Exception):
    pass


class Reader:
    def __init__(self, arena, ack_log, stats_file, seed, floor_revision=0, floor_generation=0):
        self.arena, self.ack_log, self.stats_file = arena, ack_log, stats_file
        self.rng = random.Random(seed)
        self.acks = []  # (kind, revision, service, version, id)
        self.ack_offset = 0
        self.partial = b""
        self.client = None
        self.ever_opened = False
        self.last_revision, self.last_generation = floor_revision, floor_generation
        self.views = self.evicted = self.checks = self.reopens = self.nested = 0
        self.last_stats = 0.0
        self.store = ""

    def fail(self, what):
        raise Failed(f"{what} (views so far {self.views}, last revision {self.last_revision}, "
                     f"last generation {self.last_generation})")

    def load_acks(self):
        try:
            with open(self.ack_log, "rb") as f:
                f.seek(self.ack_offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        self.ack_offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            parts = line.decode().split()
            if parts[0] == "V" and len(parts) == 4:
                self.acks.append(("V", int(parts[1]), parts[2], parts[3], None))
            elif parts[0] == "I" and len(parts) >= 5:
                self.acks.append(("I", int(parts[1]), parts[2], parts[3], parts[4]))
            else:
                self.fail(f"unreadable ack log line {line!r}")

    def write_stats(self):
        tmp = self.stats_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"views {self.views}\nmax_revision {self.last_revision}\nmax_generation {self.last_generation}\n"
                    f"evicted {self.evicted}\nchecks {self.checks}\nreopens {self.reopens}\nnested {self.nested}\n")
        os.replace(tmp, self.stats_file)

    def open(self):
        try:
            self.client = roster.open(self.arena)
        except roster.Error as e:
            # The module gives the message only; no_arena's says "no roster arena named".
            if not self.ever_opened and "no roster arena named" in str(e):
                return False
            self.fail(f"opening the arena failed{' after it had existed' if self.ever_opened else ''}: {e}")
        self.ever_opened = True
        self.reopens += 1
        return True

    def check(self, view, ack):
        kind, rev, service, version, inst_id = ack
        self.checks += 1
        if kind == "V":
            v = view.service(service, version)
            if v is None:
                return f"version {service}@{version} acknowledged at revision {rev} is missing"
            if v.revision != rev:
                return f"version {service}@{version} acknowledged at revision {rev} carries revision {v.revision}"
            return None
        if not any(i.id == inst_id for i in view.instances(service, version)):
            return f"instance {service}@{version}/{inst_id} acknowledged at revision {rev} is missing"
        return None

    def observe(self, view, what):
        g, r = view.generation, view.revision
        if g < self.last_generation:
            self.fail(f"{what}: generation went back from {self.last_generation} to {g}")
        if r < self.last_revision:
            self.fail(f"{what}: revision went back from {self.last_revision} to {r} (generation {g})")
        self.last_generation, self.last_revision = g, r
        store = getattr(view, "store", "")  # View.store: in modules that have it
        if store:
            if self.store and store != self.store:
                self.fail(f"{what}: store changed from {self.store!r} to {store!r}")
            self.store = store

    def one_view(self):
        if self.client is None or self.rng.randrange(300) == 0:
            self.client = None
            if not self.open():
                return
        view = self.client.view()
        try:
            self.views += 1
            self.observe(view, "view")
            r = view.revision
            self.load_acks()
            problems = []
            recent = 0
            for ack in reversed(self.acks):
                if recent >= 6:
                    break
                if ack[1] <= r:
                    recent += 1
                    problems.append(self.check(view, ack))
            if self.acks:
                for _ in range(6):
                    ack = self.acks[self.rng.randrange(len(self.acks))]
                    if ack[1] <= r:
                        problems.append(self.check(view, ack))
            view.service("no-such-service")
            view.by_team("chaos-team")
            # Sometimes a second View while the first is open; sometimes the first is held for a
            # while (an agent may be replaced meanwhile), with newer Views inside it.
            mode = self.rng.randrange(20)
            inner = self.rng.randrange(5, 40) if mode == 0 else 1 if mode < 3 else 0
            for _ in range(inner):
                if mode == 0:
                    time.sleep(0.002)
                with self.client.view() as second:
                    self.nested += 1
                    if second.generation < view.generation or second.revision < view.revision:
                        self.fail(f"a nested View went back: generation {view.generation} -> {second.generation}, "
                                  f"revision {view.revision} -> {second.revision}")
                    self.observe(second, "nested view")
                    if self.acks:
                        ack = self.acks[self.rng.randrange(len(self.acks))]
                        if ack[1] <= second.revision:
                            problem = self.check(second, ack)
                            if problem:
                                second.evicted  # raises view_evicted if revoked meanwhile
                                self.fail(f"nested View: {problem}")
            if mode == 0 and self.acks:
                ack = self.acks[self.rng.randrange(len(self.acks))]
                if ack[1] <= r:
                    problem = self.check(view, ack)
                    if problem:
                        problems.append(f"after holding the View: {problem}")
            if getattr(view, "corrupt", False):  # raises view_evicted first if the View was revoked
                self.fail(f"a View at generation {view.generation} is corrupt")
            problems = [p for p in problems if p]
            if problems:
                view.evicted  # raises view_evicted if the View was revoked while we looked: then misses prove nothing
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                self.fail(f"View at revision {r} generation {view.generation}: {problems[0]}{more}")
        except roster.Error as e:
            if "revoked" not in str(e):  # view_evicted: held past the pin limit
                raise
            self.evicted += 1
        finally:
            view.close()

    def run(self):
        while True:
            self.one_view()
            if self.client is None:
                time.sleep(0.005)
            elif self.rng.randrange(4) == 0:
                self.client.wait_for_change(self.last_generation, timeout=0.003)
            else:
                time.sleep(self.rng.uniform(0.0005, 0.003))
            now = time.monotonic()
            if now - self.last_stats > 0.2:
                self.write_stats()
                self.last_stats = now


def main():
    if len(sys.argv) not in (5, 7):
        sys.exit("usage: py_reader.py ARENA ACK_LOG STATS_FILE SEED [FLOOR_REVISION FLOOR_GENERATION]")
    floors = [int(x) for x in sys.argv[5:7]] or [0, 0]
    reader = Reader(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), *floors)
    try:
        reader.run()
    except Failed as e:
        print(f"CHAOS-READER-FAIL python pid={os.getpid()}: {e}", file=sys.stderr, flush=True)
        reader.write_stats()
        sys.exit(3)


if __name__ == "__main__":
    main()
