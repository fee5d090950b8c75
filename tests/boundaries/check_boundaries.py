"""The reader side (libroster.so, the C++ client, the Python module, the installed headers) stays
apart from the server side. Fails, naming the culprit, when:
  - a reader target links a server-side target (by name, or any target defined under a
    server-side folder), directly or transitively (the closures cmake/RosterBoundaries.cmake
    writes at generate time);
  - libroster.so or the Python module defines symbols of the server-side floors;
  - a source or header of shm/ (shm/writer/ aside), bindings/ or the SDK's installed headers
    includes, directly or through other project headers, a header of net/, upstream/, agent/,
    model/, governance/, shm/writer/ or roster/wire/json_*;
  - an installed header includes a roster/ header that is not installed;
  - a reader object is compiled with ISA flags (-march and friends: readers run on any x86-64).

    check_boundaries.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import re
import shlex
import subprocess
import sys

BUILD, SOURCE = (os.path.abspath(p) for p in sys.argv[1:3])
FACTS = os.path.join(BUILD, "boundaries")

FORBIDDEN_TARGETS = {
    "roster_net", "roster_registry", "roster_server_core", "roster_store", "roster_agent",
    "roster_shm_writer", "roster_model", "roster_governance", "roster_wire_json", "roster_log",
}
FORBIDDEN_DIRS = ("net/", "upstream/", "agent/", "model/", "governance/", "shm/writer/")
FORBIDDEN_INCLUDE_TEXT = re.compile(r"(^|/)(net|upstream|agent|model|governance)/|(^|/)shm/writer|roster/wire/json_")
# Symbols that only the server-side floors (and their libraries) define.
FORBIDDEN_SYMBOLS = re.compile(
    r"roster::(net|upstream|agent|model|governance|log)::|roster::shm::ArenaWriter|"
    r"roster::wire::(JsonDecoder|JsonWriter)|spdlog::|simdjson::|\bsqlite3_")
ISA_FLAG = re.compile(r"^-m(arch|tune|cpu)=|^-m(avx|sse[34]|ssse3|pclmul|bmi|fma|popcnt|lzcnt|aes|f16c|movbe)")
SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".h", ".hpp")

problems = []


def read_lines(name):
    with open(os.path.join(FACTS, name)) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def rel(path):
    return os.path.relpath(path, SOURCE)


# --- links --------------------------------------------------------------------------------------
readers = dict(line.split("\t", 1) for line in read_lines("readers.txt"))
closures = {}
for reader in readers:
    closures[reader] = {}
    for line in read_lines(reader + ".links"):
        dep, folder, chain = line.split("\t", 2)
        closures[reader][dep] = chain
        # By name, and by the folder that defines it (a server-side target added or renamed
        # later is still caught).
        if dep in FORBIDDEN_TARGETS or folder.startswith(FORBIDDEN_DIRS):
            problems.append(f"link: {reader} links {dep}" + (f" (defined in {folder})" if folder != "-" else "")
                            + f" ({chain})")
        if dep.startswith("<unreadable:"):
            problems.append(f"link: cannot read a link item of {reader}: {dep} ({chain})")

# The walk must see private links, or it would pass whatever is linked: libroster.so links the
# client privately, and the client links the segment code privately.
for reader, dep in (("roster", "roster_client"), ("roster_client", "roster_shm_segment")):
    if reader in closures and dep not in closures[reader]:
        problems.append(f"link: the closure of {reader} misses its private dependency {dep}: the walk is broken")

# --- symbols of the linked artifacts ------------------------------------------------------------
for reader, artifact in readers.items():
    if not artifact.endswith(".so") and ".so." not in artifact:
        continue  # a static archive holds its own objects only; its links are checked above
    out = subprocess.run(["nm", "-C", "--defined-only", artifact], capture_output=True, text=True).stdout
    if "roster::Client::open" not in out:
        # pybind11 strips the module in Release builds: the link closure above still holds.
        print(f"note: {os.path.basename(artifact)} has no symbol table (stripped): its symbols are not checked")
        continue
    bad = sorted({line.split(" ", 2)[-1] for line in out.splitlines() if FORBIDDEN_SYMBOLS.search(line)})
    for symbol in bad[:10]:
        problems.append(f"symbols: {reader} ({os.path.basename(artifact)}) defines {symbol}")

# --- includes -----------------------------------------------------------------------------------
generated_dir = read_lines("generated_dir.txt")[0]
roots = [generated_dir]
for dirpath, dirnames, _ in os.walk(SOURCE):
    dirnames[:] = [d for d in dirnames if not d.startswith((".", "build"))]
    if os.path.basename(dirpath) == "include":
        roots.append(dirpath)
        dirnames[:] = []
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def includes_of(path):
    with open(path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1) == '"', m.group(2)


def resolve(path, quoted, name):
    candidates = ([os.path.dirname(path)] if quoted else []) + roots
    for base in candidates:
        full = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(full):
            return full
    return None  # a system header


def forbidden_file(full):
    if full.startswith(generated_dir):
        return False
    r = rel(full)
    return r.startswith(FORBIDDEN_DIRS) or re.match(r"wire/include/roster/wire/json_", r) is not None


def display(path):
    return os.path.relpath(path, generated_dir) if path.startswith(generated_dir) else rel(path)


def check_includes(start):
    """Follows the project includes of `start` depth-first; reports each forbidden one once."""
    stack, seen = [(start, [display(start)])], {start}
    while stack:
        path, chain = stack.pop()
        for number, quoted, name in includes_of(path):
            full = resolve(path, quoted, name)
            project = full is not None or name.startswith("roster/") or "../" in name
            where = " -> ".join(chain) + f":{number}"
            if project and (FORBIDDEN_INCLUDE_TEXT.search(name) or (full and forbidden_file(full))):
                problems.append(f'include: {where} includes "{name}"' + (f" ({rel(full)})" if full else ""))
                continue
            if full and full not in seen:
                seen.add(full)
                stack.append((full, chain + [display(full)]))


sdk_headers = dict(line.split("=", 1) for line in read_lines("sdk_headers.txt"))
scanned = list(sdk_headers.values())
for part in ("shm", "bindings"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(SOURCE, part)):
        if rel(dirpath).startswith("shm/writer"):
            dirnames[:] = []
            continue
        scanned += [os.path.join(dirpath, f) for f in filenames if f.endswith(SOURCE_SUFFIXES)]
if len(scanned) < 10:
    problems.append(f"include: only {len(scanned)} reader files found under {SOURCE}: wrong source dir?")
for path in sorted(set(scanned)):
    check_includes(path)

# The installed headers are a closed set: what they include of roster/ is installed too.
for installed, path in sorted(sdk_headers.items()):
    for number, _, name in includes_of(path):
        if name.startswith("roster/") and name not in sdk_headers:
            problems.append(f'sdk: installed {installed}:{number} includes "{name}", which is not installed')

# --- ISA flags on reader objects ----------------------------------------------------------------
with open(os.path.join(BUILD, "compile_commands.json")) as f:
    commands = json.load(f)
reader_dirs = {t: f"CMakeFiles/{t}.dir/" for t in list(readers) + ["roster_shm_segment"]}
compiled = {t: 0 for t in reader_dirs}
for entry in commands:
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    # CMake 3.26+ names the object in "output"; before, it is only in the command's -o.
    output = entry.get("output") or (args[args.index("-o") + 1] if "-o" in args else "")
    for target, marker in reader_dirs.items():
        if marker in output:
            compiled[target] += 1
            flags = [a for a in args if ISA_FLAG.match(a)]
            if flags:
                problems.append(f"flags: {rel(entry['file'])} ({target}) is compiled with {' '.join(flags)}")
for target, count in compiled.items():
    if count == 0:
        problems.append(f"flags: no compile command found for {target} in compile_commands.json")

# ------------------------------------------------------------------------------------------------
if problems:
    print("reader-side boundary violated:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"boundaries hold: readers {', '.join(sorted(readers))}: "
      f"{sum(len(c) for c in closures.values())} link edges, {len(set(scanned))} files' includes, "
      f"{sum(compiled.values())} compile commands checked")
