#!/usr/bin/env python3
"""The Python module against a Python dict, same keys, same run:

  python3 bench/python_bench.py BUILD_DIR [--services N] [--rounds R] [--out FILE.json]

An arena of N generated services (one version, one instance, no schema; held by
tests/bindings/arena_fixture) and a dict of the same services' fields. Timed per lookup, keys in
a shuffled order, medians of R interleaved rounds:
  service_field   view.service(name).owner_team     (one View for the whole round)
  service_fields  the same reading name, version, owner_team, stage and tags
  dict_field      services[name]["owner_team"]      (the peer: a dict of dicts)
  dict_fields     the same five fields from the dict
Prints ns per lookup and the ratios roster / dict. ROSTER_BENCH_SMOKE=1: tiny sizes, one round.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out")
    args = ap.parse_args()
    if os.environ.get("ROSTER_BENCH_SMOKE", "0") not in ("", "0"):
        args.services, args.rounds = 200, 1
    sys.path.insert(0, os.path.join(args.build, "bindings", "python"))
    import roster

    with tempfile.TemporaryDirectory() as tmp:
        registry = os.path.join(tmp, "registry.json")
        subprocess.run([os.path.join(args.build, "bench", "roster-gen"), "--services", str(args.services),
                        "--instances", "1", "--no-schemas", "-o", registry], check=True)
        doc = json.load(open(registry))
        arena = f"bench-py-{os.getpid()}"
        fixture = subprocess.Popen([os.path.join(args.build, "tests", "arena_fixture"), arena, registry],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            client = None
            for _ in range(200):
                try:
                    client = roster.open(arena)
                    break
                except roster.Error:
                    time.sleep(0.05)
            if client is None:
                raise SystemExit("the fixture never published its arena")
            # The peer: what a Python program would keep in memory, a dict of field dicts.
            services = {}
            for s in doc["services"]:
                v = s["versions"][0]
                services[s["name"]] = {"name": s["name"], "version": v["version"], "owner_team": v["owner_team"],
                                       "stage": v["lifecycle_stage"], "tags": v.get("tags", [])}
            names = list(services)
            random.Random(7).shuffle(names)

            def roster_field(view):
                for n in names:
                    view.service(n).owner_team

            def roster_fields(view):
                for n in names:
                    s = view.service(n)
                    s.name, s.version, s.owner_team, s.stage, s.tags

            def dict_field(_):
                for n in names:
                    services[n]["owner_team"]

            def dict_fields(_):
                for n in names:
                    s = services[n]
                    s["name"], s["version"], s["owner_team"], s["stage"], s["tags"]

            cases = {"service_field": roster_field, "service_fields": roster_fields, "dict_field": dict_field,
                     "dict_fields": dict_fields}
            times = {k: [] for k in cases}
            for _ in range(args.rounds):
                for name, fn in random.sample(list(cases.items()), len(cases)):  # interleaved
                    with client.view() as view:
                        start = time.perf_counter()
                        fn(view)
                        times[name].append((time.perf_counter() - start) / len(names) * 1e9)
        finally:
            fixture.stdin.close()
            fixture.wait(timeout=10)
    ns = {k: statistics.median(v) for k, v in times.items()}
    result = dict(ns_per_lookup=ns, field_ratio=ns["service_field"] / ns["dict_field"],
                  fields_ratio=ns["service_fields"] / ns["dict_fields"], services=args.services, rounds=args.rounds)
    for k, v in ns.items():
        print(f"{k:16s} {v:8.1f} ns")
    print(f"roster / dict: one field {result['field_ratio']:.2f}x, five fields {result['fields_ratio']:.2f}x")
    if args.out:
        json.dump(result, open(args.out, "w"), indent=2)


if __name__ == "__main__":
    main()
