#!/usr/bin/env python3
"""Print the registry the local roster agent keeps, then what each change touched as it arrives.

    PYTHONPATH=build/bindings/python python3 examples/watch_registry.py [ARENA] [--once] [--changes N]

--once prints the registry and stops; --changes N stops after N changes.
"""
import sys

import roster


def show(view, names):
    for name in names:
        svc = view.service(name) or view.latest(name, include_prerelease=True)
        if svc is None:
            print(f"  {name:22} removed")
            continue
        healthy = view.instances(name, healthy=True)
        everyone = view.instances(name)
        print(f"  {svc.name:22} {svc.version:12} {svc.stage:11} {svc.owner_team:16} "
              f"{len(healthy)}/{len(everyone)} healthy")


def main():
    args = sys.argv[1:]
    changes = None
    if "--changes" in args:
        at = args.index("--changes")
        changes = int(args[at + 1])
        del args[at:at + 2]
    names = [a for a in args if not a.startswith("--")]
    with roster.open(names[0] if names else "roster") as client:
        with client.view() as view:
            print(f"generation {view.generation}, revision {view.revision}")
            show(view, view.services())
            generation = view.generation
        sys.stdout.flush()
        if "--once" in args:
            return
        while changes is None or changes > 0:
            client.wait(generation)  # no timeout: Ctrl-C ends it
            with client.view() as view:
                # What changed since the generation printed last: one scan of the service table.
                changed = view.changed_since(generation)
                print(f"\ngeneration {view.generation}, revision {view.revision}: "
                      f"{len(changed)} changed since {generation}")
                show(view, changed)
                generation = view.generation
            sys.stdout.flush()
            if changes is not None:
                changes -= 1


if __name__ == "__main__":
    try:
        main()
    except roster.Error as e:
        sys.exit(f"watch_registry: {e}")
    except KeyboardInterrupt:
        pass
