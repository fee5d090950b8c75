#!/usr/bin/env python3
"""Runs every benchmark once on tiny data (ROSTER_BENCH_SMOKE=1, bench/bench_scale.hpp), so a
benchmark that breaks fails `make test` instead of going unnoticed. Times nothing: a benchmark
fails here only by exiting non-zero or reporting an error (SkipWithError).

    run_benchmarks_once.py BENCH_BINARY... [--python SCRIPT ARGS...]...
"""
import json
import os
import subprocess
import sys
import tempfile


def run_google_benchmark(binary, env):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run([binary, "--benchmark_min_time=0.001", f"--benchmark_out={out.name}",
                               "--benchmark_out_format=json"], env=env, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            return f"exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        report = json.load(open(out.name))
    ran = report.get("benchmarks", [])
    if not ran:
        return "ran no benchmark"
    failed = [f"{b['name']}: {b.get('error_message', '?')}" for b in ran if b.get("error_occurred")]
    if failed:
        return "reported errors:\n  " + "\n  ".join(failed)
    print(f"ok   {os.path.basename(binary)}: {len(ran)} benchmarks")
    return None


def run_python_benchmark(argv, env):
    done = subprocess.run([sys.executable] + argv, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return f"exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    print(f"ok   {os.path.basename(argv[0])}")
    return None


def main():
    args = sys.argv[1:]
    env = dict(os.environ, ROSTER_BENCH_SMOKE="1")
    binaries, scripts = [], []
    while args:
        a = args.pop(0)
        if a == "--python":
            script = []
            while args and args[0] != "--python":
                script.append(args.pop(0))
            scripts.append(script)
        else:
            binaries.append(a)
    failures = []
    for b in binaries:
        if (why := run_google_benchmark(b, env)):
            failures.append(f"{b} {why}")
    for s in scripts:
        if (why := run_python_benchmark(s, env)):
            failures.append(f"{' '.join(s)} {why}")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
