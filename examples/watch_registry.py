#!/usr/bin/env python3
"""Print the registry the local roster agent keeps, then every change as it arrives.

    PYTHONPATH=build/bindings/python python3 examples/watch_registry.py [ARENA] [--once]
"""
import sys

import roster


def show(view, names):
    print(f"generation {view.generation}, revision {view.revision}")
    for name in names:
        svc = view.service(name) or view.latest(name, include_prerelease=True)
        if svc is None:
            continue
        healthy = view.instances(name, healthy=True)
        everyone = view.instances(name)
        print(f"  {svc.name:22} {svc.version:12} {svc.stage:11} {svc.owner_team:16} "
              f"{len(healthy)}/{len(everyone)} healthy")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    arena = args[0] if args else "roster"
    client = roster.open(arena)
    with client.view() as view:
        stages = ["proposed", "development", "beta", "stable", "deprecated", "sunset", "retired"]
        names = sorted({v.name for stage in stages for v in view.by_stage(stage)})
        show(view, names)
        generation = view.generation
    if "--once" in sys.argv:
        return
    while True:
        if client.wait_for_change(generation, timeout=5.0):
            with client.view() as view:
                print()
                show(view, names)
                generation = view.generation


if __name__ == "__main__":
    try:
        main()
    except roster.Error as e:
        sys.exit(f"watch_registry: {e}")
    except KeyboardInterrupt:
        pass
