"""The Python module `roster` against a real arena kept by arena_fixture.

Run by ctest as: python3 test_roster_module.py FIXTURE REGISTRY.json (with PYTHONPATH set to
the module's build folder).
"""
import ast
import builtins
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import roster

FIXTURE, REGISTRY = sys.argv[1], sys.argv[2]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUB = os.path.join(SOURCE, "bindings", "python", "roster.pyi")
EU_REGISTRY = os.path.join(SOURCE, "tests", "fixtures", "federation", "eu.json")


def start_fixture(name, max_pin_age_ms=None, federate=(), prefer=()):
    """federate: (registry, file) pairs, each one more registry after "local" (REGISTRY); prefer:
    (service, registry) pairs, as roster-agent's --prefer."""
    args = [FIXTURE, name, REGISTRY] + ([str(max_pin_age_ms)] if max_pin_age_ms else [])
    for registry, path in federate:
        args += ["--federate", "%s=%s" % (registry, path)]
    for service, registry in prefer:
        args += ["--prefer", "%s=%s" % (service, registry)]
    fixture = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert fixture.stdout.readline().startswith("ok"), "fixture did not start"
    return fixture


def stop_fixture(fixture):
    fixture.stdin.write("quit\n")
    fixture.stdin.close()
    fixture.wait(timeout=10)
    fixture.stdout.close()


def fixture_command(fixture, text):
    fixture.stdin.write(text + "\n")
    fixture.stdin.flush()
    return fixture.stdout.readline()


def one_service_file(directory, name, version="1.0.0", port=8080):
    """A registry file of one service version with one instance, for the fixture's `load`."""
    path = os.path.join(directory, "%s-%s-%d.json" % (name, version, port))
    with open(path, "w") as f:
        json.dump({"services": [{"name": name, "versions": [{
            "version": version, "lifecycle_stage": "stable", "owner_team": "py-team",
            "instances": [{"id": "a", "address": "10.0.0.9", "port": port}]}]}]}, f)
    return path


class RosterModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.name = "py-%d" % os.getpid()
        cls.fixture = start_fixture(cls.name)
        cls.client = roster.open(cls.name)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        stop_fixture(cls.fixture)
        cls.tmp.cleanup()

    def command(self, text):
        reply = fixture_command(self.fixture, text)
        self.assertTrue(reply.startswith("ok"), reply)

    def test_service_lookups(self):
        with self.client.view() as view:
            svc = view.service("user-service")
            self.assertEqual(svc.version, "2.1.0")
            self.assertEqual(svc.owner_team, "identity-team")
            self.assertEqual(svc.stage, "stable")
            self.assertEqual(svc.schema_format, "openapi")
            self.assertIn('"openapi"', svc.schema_document)
            self.assertIn(("auth-service", "^1.4.0"), svc.dependencies)
            self.assertTrue(svc.tags)
            old = view.service("user-service", "1.0.0")
            self.assertEqual(old.stage, "deprecated")
            self.assertGreater(old.sunset_at_ms, old.deprecated_at_ms)
            self.assertIsNone(view.service("no-such-service"))
            self.assertIsNone(view.service("user-service", "9.9.9"))
            self.assertEqual([v.version for v in view.versions("user-service")], ["1.0.0", "2.0.0", "2.1.0"])
            self.assertEqual(view.latest("auth-service", include_prerelease=True).version, "2.0.0-rc.1")
            self.assertGreater(view.generation, 1)
            self.assertIsNotNone(view.staleness)

    def test_instances(self):
        with self.client.view() as view:
            everyone = view.instances("user-service")
            healthy = view.instances("user-service", healthy=True)
            self.assertGreater(len(everyone), len(healthy))
            self.assertTrue(all(i.health == "up" for i in healthy))
            one_version = view.instances("user-service", version="2.1.0")
            self.assertTrue(one_version and all(i.version == "2.1.0" for i in one_version))
            self.assertTrue(all(i.port > 0 and i.address for i in everyone))

    def test_indexes_and_graph(self):
        with self.client.view() as view:
            team = view.by_team("identity-team")
            self.assertGreaterEqual(len(team), 3)
            self.assertTrue(all(v.owner_team == "identity-team" for v in team))
            self.assertTrue(all(v.stage == "deprecated" for v in view.by_stage("deprecated")))
            with self.assertRaises(ValueError):
                view.by_stage("nonsense")
            direct = view.dependencies("api-gateway")
            self.assertGreaterEqual(len(direct), 3)
            self.assertTrue(all(d["resolved"] is not None for d in direct))
            self.assertGreater(len(view.dependencies("api-gateway", transitive=True)), len(direct))
            self.assertGreaterEqual(len(view.dependents("user-service")), 2)

    def test_watch_for_changes(self):
        with self.client.view() as view:
            before = view.generation
        self.assertFalse(self.client.wait_for_change(before, timeout=0.02))
        self.command("remove new-api 2.0.0")
        self.assertTrue(self.client.wait_for_change(before, timeout=5))
        with self.client.view() as view:
            self.assertIsNone(view.service("new-api", "2.0.0"))

    def test_a_service_version_outlives_its_view(self):
        # Read in place while the view is open; once it closes, what is still held keeps its own
        # copy of the record, so it reads the same as before.
        with self.client.view() as view:
            svc = view.service("user-service")
            team = view.by_team("identity-team")
            deps = view.dependencies("api-gateway")
            self.assertEqual(svc.owner_team, "identity-team")
        self.assertEqual((svc.name, svc.version, svc.stage), ("user-service", "2.1.0", "stable"))
        self.assertIn('"openapi"', svc.schema_document)
        self.assertIn(("auth-service", "^1.4.0"), svc.dependencies)
        self.assertTrue(team and all(v.owner_team == "identity-team" for v in team))  # list entries too
        self.assertTrue(all(d["from"].name == "api-gateway" and d["resolved"].version for d in deps))
        self.assertIn("user-service@2.1.0", repr(svc))
        # A view nobody closed goes when its object does; what it returned stays readable.
        only = self.client.view().service("user-service")
        self.assertEqual(only.version, "2.1.0")

    def test_service_takes_its_arguments_as_documented(self):
        with self.client.view() as view:
            self.assertEqual(view.service("user-service", None).version, "2.1.0")
            self.assertEqual(view.service("user-service", version="1.0.0").version, "1.0.0")
            self.assertEqual(view.service(version="1.0.0", name="user-service").version, "1.0.0")
            for call, message in ((lambda: view.service(), "missing required argument 'name'"),
                                  (lambda: view.service(42), "name must be a str, not int"),
                                  (lambda: view.service("user-service", 1), "version must be a str, not int"),
                                  (lambda: view.service("a", "b", "c"), "at most 2 arguments"),
                                  (lambda: view.service("a", name="b"), "multiple values for argument 'name'"),
                                  (lambda: view.service("a", release="b"), "unexpected keyword argument 'release'")):
                with self.assertRaisesRegex(TypeError, message):
                    call()
            svc = view.service("user-service")
            self.assertIsInstance(svc, roster.ServiceVersion)
            self.assertIs(type(svc), roster.ServiceVersion)
            with self.assertRaises(TypeError):
                roster.ServiceVersion()  # only lookups make them
            with self.assertRaisesRegex(TypeError, "expected a roster.ServiceVersion"):
                roster.ServiceVersion.owner_team.fget(42)

        unmade = roster.View.__new__(roster.View)  # no __init__: no C++ view behind it
        with self.assertRaisesRegex(TypeError, "needs a view that open\\(\\) or view\\(\\) made"):
            unmade.service("user-service")

    def test_many_service_versions_detach_when_their_view_closes(self):
        # Each object handed out is tracked by its view until Python drops it; those dropped while
        # the view is open, in any order, are forgotten, and every one still held keeps a copy.
        view = self.client.view()
        held = [view.service("user-service", v) for v in ("1.0.0", "2.0.0", "2.1.0") for _ in range(100)]
        held += view.versions("auth-service")
        del held[::2]
        del held[10:40]
        held.reverse()
        view.close()
        expected = sorted({(s.name, s.version) for s in held})
        self.assertIn(("user-service", "2.1.0"), expected)
        self.assertTrue(all(s.owner_team for s in held))
        del held[::3]
        self.assertTrue(all(s.stage and s.tags is not None for s in held))

    def test_closed_view_raises(self):
        view = self.client.view()
        view.close()
        with self.assertRaises(roster.Error):
            view.service("user-service")

    def test_missing_arena_raises_with_the_c_error_text(self):
        with self.assertRaises(roster.Error) as caught:
            roster.open("py-no-such-arena")
        self.assertIn("roster-agent", str(caught.exception))

    # --- issue 16, item 8 ------------------------------------------------------------------

    def test_error_classes(self):
        # Error stays the base (and a RuntimeError); TimeoutError is the builtin one too.
        self.assertTrue(issubclass(roster.Error, RuntimeError))
        for cls in (roster.NotFoundError, roster.EvictedError, roster.TimeoutError):
            self.assertTrue(issubclass(cls, roster.Error), cls)
        self.assertTrue(issubclass(roster.TimeoutError, builtins.TimeoutError))
        self.assertFalse(issubclass(roster.NotFoundError, roster.EvictedError))
        with self.assertRaises(roster.NotFoundError) as caught:
            roster.open("py-no-such-arena")
        self.assertEqual((caught.exception.code, caught.exception.kind), ("no_arena", "not_found"))
        # A closed view is a plain Error (a mistake of the caller), not an eviction.
        view = self.client.view()
        view.close()
        with self.assertRaises(roster.Error) as caught:
            view.service("user-service")
        self.assertNotIsInstance(caught.exception, roster.EvictedError)
        self.assertEqual(caught.exception.code, "view_closed")
        # Lookups that find nothing are not errors.
        with self.client.view() as view:
            self.assertIsNone(view.service("no-such-service"))
            self.assertIsNone(view.latest("no-such-service"))
            self.assertEqual(view.versions("no-such-service"), [])
            self.assertEqual(view.instances("no-such-service"), [])

    def test_wait_raises_timeout_error(self):
        generation = self.client.generation
        start = time.monotonic()
        with self.assertRaises(roster.TimeoutError) as caught:
            self.client.wait(generation, timeout=0.05)
        self.assertGreaterEqual(time.monotonic() - start, 0.04)
        self.assertEqual(caught.exception.code, "timeout")
        with self.assertRaises(TimeoutError):  # the builtin catches it too
            self.client.wait(generation, timeout=0)
        with self.assertRaises(ValueError):
            self.client.wait(generation, timeout=-1)
        self.assertIsNone(self.client.wait(generation - 1, timeout=0))  # already different
        self.command("load " + one_service_file(self.tmp.name, "py-wait"))
        self.assertIsNone(self.client.wait(generation, timeout=5))
        self.assertIsNone(self.client.wait(generation))  # no limit: returns at once
        self.command("remove py-wait 1.0.0")

    def test_evicted_view_raises_evicted_error(self):
        # A fixture that revokes pins older than 200 ms while it keeps publishing.
        name = "py-evict-%d" % os.getpid()
        fixture = start_fixture(name, max_pin_age_ms=200)
        try:
            with roster.open(name) as client:
                view = client.view()
                svc = view.service("user-service")  # read in place
                self.assertFalse(view.evicted)
                for text in ("churn 1", "sleep", "churn 1", "churn 1"):
                    if text == "sleep":
                        time.sleep(0.4)
                    else:
                        self.assertTrue(fixture_command(fixture, text).startswith("ok"))
                with self.assertRaises(roster.EvictedError):  # the property raises, as it always did
                    view.evicted
                with self.assertRaises(roster.EvictedError) as caught:
                    view.service("user-service")
                self.assertEqual(caught.exception.code, "view_evicted")
                self.assertIn("revoked", str(caught.exception))
                with self.assertRaises(roster.EvictedError):
                    svc.name
                view.close()
                with self.assertRaises(roster.EvictedError):  # it could not be copied
                    svc.version
                with client.view() as fresh:
                    self.assertEqual(fresh.service("user-service").version, "2.1.0")
        finally:
            stop_fixture(fixture)

    def test_client_close_and_context_manager(self):
        with roster.open(self.name) as client:
            self.assertFalse(client.closed)
            self.assertEqual(client.name, self.name)
            with client.view() as view:
                self.assertEqual(view.service("user-service").version, "2.1.0")
        self.assertTrue(client.closed)
        self.assertIn("closed", repr(client))
        for use in (client.view, lambda: client.generation, lambda: client.wait(0, timeout=0),
                    lambda: client.wait_for_change(0, timeout=0)):
            with self.assertRaises(roster.Error) as caught:
                use()
            self.assertEqual(caught.exception.code, "client_closed")
            self.assertIn("closed", str(caught.exception))
        client.close()  # again: nothing
        client.__exit__(None, None, None)
        # A view still open keeps the mapping: it reads on after its client closed.
        client = roster.open(self.name)
        view = client.view()
        client.close()
        svc = view.service("user-service")
        self.assertEqual(svc.owner_team, "identity-team")
        self.assertFalse(view.closed)
        view.close()
        self.assertTrue(view.closed)
        self.assertEqual(svc.version, "2.1.0")  # a copy of its own
        # A view is a context manager too, and closes at the end of `with`.
        with self.client.view() as view:
            self.assertFalse(view.closed)
        self.assertTrue(view.closed)
        self.assertEqual(repr(view), "<roster.View closed>")

    def test_services_lists_every_service(self):
        with open(REGISTRY) as f:
            registry = {s["name"] for s in json.load(f)["services"]}
        with self.client.view() as view:
            names = view.services()
            self.assertEqual(names, sorted(set(names)))
            self.assertTrue(all(isinstance(n, str) and view.versions(n) for n in names), names)
            # Every registry service still registered (another test removes new-api@2.0.0).
            self.assertEqual([n for n in names if n in registry], sorted(n for n in registry if view.versions(n)))
            self.assertIn("user-service", names)

    def test_changed_since_names_what_changed(self):
        with self.client.view() as view:
            before = view.generation
            self.assertEqual(view.changed_since(before), [])
            self.assertIn("user-service", view.changed_since(0))  # everything is newer than 0
        self.command("load " + one_service_file(self.tmp.name, "py-changed"))
        self.client.wait(before, timeout=5)
        with self.client.view() as view:
            self.assertEqual(view.changed_since(before), ["py-changed"])
            self.assertIn("py-changed", view.services())
            middle = view.generation
        # A new instance port: the same service changed again; then it goes entirely.
        self.command("load " + one_service_file(self.tmp.name, "py-changed", port=9090))
        self.command("remove py-changed 1.0.0")
        with self.client.view() as view:
            self.assertEqual(view.changed_since(middle), ["py-changed"])  # removed: still named
            self.assertNotIn("py-changed", view.services())
            self.assertIsNone(view.service("py-changed"))
            self.assertEqual(view.changed_since(view.generation), [])

    def test_the_watch_example_prints_what_changed(self):
        example = os.path.join(SOURCE, "examples", "watch_registry.py")
        watcher = subprocess.Popen([sys.executable, example, self.name, "--changes", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Read through the file object alone (communicate(timeout) would skip what readline()
        # buffered); a timer ends a watcher that never sees the change.
        deadline = threading.Timer(10, watcher.kill)
        deadline.start()
        try:
            first = watcher.stdout.readline()
            self.assertTrue(first.startswith("generation"), first)
            self.command("load " + one_service_file(self.tmp.name, "py-watched"))
            out = first + watcher.stdout.read()
            watcher.wait()
        finally:
            deadline.cancel()
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
            watcher.stdout.close()
        self.assertEqual(watcher.returncode, 0, out)
        change = out[out.index("\ngeneration"):]
        self.assertIn("1 changed since", change)
        self.assertRegex(change, r"py-watched +1\.0\.0 +stable +py-team +1/1 healthy")
        self.assertIn("user-service", out[:out.index("\ngeneration")])  # the listing before it
        self.command("remove py-watched 1.0.0")

    def test_docstrings_and_named_arguments(self):
        self.assertTrue(roster.__doc__)
        classes = [roster.ServiceVersion, roster.Instance, roster.View, roster.RegistryView, roster.Registry,
                   roster.Client,
                   roster.Error, roster.NotFoundError, roster.EvictedError, roster.TimeoutError]
        checked = 0
        for cls in classes:
            self.assertTrue(cls.__doc__ and cls.__doc__.strip(), cls)
            for attr, value in vars(cls).items():
                if attr.startswith("_") and attr not in ("__enter__", "__exit__", "__repr__"):
                    continue
                if isinstance(value, property):
                    docs = [value.__doc__, value.fget.__doc__]
                elif callable(value):
                    docs = [value.__doc__]
                else:
                    continue
                for doc in docs:
                    self.assertTrue(doc and doc.strip(), "%s.%s has no docstring" % (cls.__name__, attr))
                    self.assertNotRegex(doc, r"\barg\d+\b", "%s.%s has positional arguments" % (cls.__name__, attr))
                checked += 1
        self.assertGreater(checked, 50)
        self.assertTrue(roster.open.__doc__)
        self.assertNotRegex(roster.open.__doc__, r"\barg\d+\b")
        # Keyword arguments work by the names help() shows.
        with roster.open(name=self.name) as client, client.view() as view:
            self.assertEqual(view.service(name="user-service", version="2.0.0").version, "2.0.0")
            self.assertEqual(view.versions(name="auth-service")[0].version, "1.4.2")
            self.assertTrue(view.by_team(team="identity-team"))
            self.assertTrue(view.by_tag(tag="users"))
            self.assertTrue(view.by_stage(stage="stable"))
            self.assertEqual(view.changed_since(generation=view.generation), [])
            client.wait_for_change(generation=view.generation, timeout=0)

    def test_the_stub_matches_the_module(self):
        with open(STUB) as f:
            text = f.read()
        tree = ast.parse(text)
        # The build puts the same file next to the module (and installs it with it).
        with open(os.path.join(os.path.dirname(roster.__file__), "roster.pyi")) as f:
            self.assertEqual(f.read(), text)
        public = lambda names: {n for n in names if not n.startswith("_")}
        top = {}
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                top[node.name] = node
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    top[t.id] = node
        self.assertEqual(public(top), public(dir(roster)))
        for name, node in top.items():
            if not isinstance(node, ast.ClassDef):
                continue
            cls = getattr(roster, name)
            stubbed = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
            annotated = {item.target.id for item in node.body if isinstance(item, ast.AnnAssign)}
            if issubclass(cls, BaseException):
                # The bases, and the attributes every instance carries.
                # A builtin the module shadows (TimeoutError) is spelled builtins.X in the stub.
                spelled = ["builtins." + b.__name__ if b.__module__ == "builtins" and hasattr(roster, b.__name__)
                           else b.__name__ for b in cls.__bases__]
                self.assertEqual([ast.unparse(b) for b in node.bases], spelled, name)
                self.assertEqual(annotated, {"code", "kind"} if cls is roster.Error else set(), name)
                self.assertEqual(public(stubbed), set())
                continue
            members = public(vars(cls)) | {m for m in ("__enter__", "__exit__") if m in vars(cls)}
            self.assertEqual(set(stubbed) - {"__repr__"} | annotated, members, name)
            for member, item in stubbed.items():
                value = vars(cls)[member]
                is_property = any(ast.unparse(d) == "property" for d in item.decorator_list)
                self.assertEqual(is_property, isinstance(value, property), "%s.%s" % (name, member))
                if not is_property:
                    self.assertEqual(self.stub_parameters(item), self.module_parameters(value), "%s.%s" % (name, member))
        self.assertEqual(self.stub_parameters(top["open"]), self.module_parameters(roster.open))

    @staticmethod
    def stub_parameters(function):
        a = function.args
        names = [p.arg for p in a.args] + (["*" + a.vararg.arg] if a.vararg else [])
        return [n for n in names if n != "self"]

    @staticmethod
    def module_parameters(function):
        """The parameter names of a pybind11 function, from the signature its docstring opens with."""
        signature = function.__doc__.splitlines()[0]
        inside = signature[signature.index("(") + 1:signature.rindex(") ->")]
        names, depth, part = [], 0, ""
        for ch in inside + ",":
            if ch == "," and depth == 0:
                if part.strip():
                    names.append(re.match(r"\s*(\**\w+)", part).group(1))
                part = ""
                continue
            depth += ch in "[(" and 1 or ch in "])" and -1 or 0
            part += ch
        return [n for n in names if n != "self"]


class FederatedArenaTest(unittest.TestCase):
    """An arena of registries "local" (REGISTRY) and "eu" (tests/fixtures/federation/eu.json):
    user-service in both (2.1.0 locally, 3.0.0 in eu), billing only in eu, depending on eu's
    user-service."""

    @classmethod
    def setUpClass(cls):
        cls.name = "py-fed-%d" % os.getpid()
        cls.fixture = start_fixture(cls.name, federate=[("eu", EU_REGISTRY)])
        cls.client = roster.open(cls.name)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        stop_fixture(cls.fixture)
        cls.tmp.cleanup()

    def command(self, text):
        reply = fixture_command(self.fixture, text)
        self.assertTrue(reply.startswith("ok"), reply)

    def test_registries(self):
        with self.client.view() as view:
            registries = view.registries()
        self.assertEqual([r.name for r in registries], ["local", "eu"])
        self.assertEqual([r.store for r in registries], ["fixture-local", "fixture-eu"])
        self.assertTrue(all(r.revision > 0 and 0 <= r.staleness < 60 for r in registries), registries)
        self.assertIn("<roster.Registry eu revision", repr(registries[1]))

    def test_plain_names_resolve_in_order_and_say_where_they_came_from(self):
        with self.client.view() as view:
            users, billing = view.service("user-service"), view.service("billing")
            self.assertEqual((users.version, users.registry), ("2.1.0", "local"))
            self.assertEqual((billing.version, billing.registry), ("1.2.0", "eu"))
            self.assertEqual(view.where("user-service"), ["local", "eu"])
            self.assertEqual(view.where("billing"), ["eu"])
            self.assertEqual(view.where("no-such-service"), [])
            self.assertTrue(all(v.registry == "local" for v in view.by_team("identity-team")))
            self.assertEqual([v.registry for v in view.by_team("eu-billing-team")], ["eu"])

    def test_service_in_one_registry_takes_keywords(self):
        with self.client.view() as view:
            eu = view.in_registry("eu")
            self.assertEqual(eu.service(name="user-service").version, "3.0.0")
            self.assertEqual(eu.service("user-service", version="3.0.0").registry, "eu")
            self.assertIsNone(eu.service("user-service", "2.1.0"))
            with self.assertRaisesRegex(TypeError, "missing required argument 'name'"):
                eu.service()

    def test_lookups_in_one_registry(self):
        with self.client.view() as view:
            eu, local = view.in_registry("eu"), view.in_registry(registry="local")
            self.assertEqual(eu.name, "eu")
            self.assertEqual(repr(eu), "<roster.RegistryView eu>")
            svc = eu.service("user-service")
            self.assertEqual((svc.version, svc.owner_team, svc.registry), ("3.0.0", "eu-identity-team", "eu"))
            self.assertEqual(eu.service("user-service", "3.0.0").version, "3.0.0")
            self.assertIsNone(eu.service("user-service", "2.1.0"))
            self.assertEqual(local.service("user-service", "1.0.0").registry, "local")
            self.assertIsNone(local.service("billing"))
            self.assertEqual(eu.latest("billing", include_prerelease=True).version, "1.2.0")
            self.assertEqual([v.version for v in eu.versions("user-service")], ["3.0.0"])
            self.assertEqual([(i.id, i.zone) for i in eu.instances("user-service", healthy=True)], [("eu-1", "fra-1")])
            self.assertEqual([i.id for i in eu.instances("user-service", "3.0.0")], ["eu-1"])
            self.assertNotIn("fra-1", [i.zone for i in local.instances("user-service")])
            # Dependencies resolve within the registry of the version that declares them.
            deps = eu.dependencies("billing")
            self.assertEqual([(d["service"], d["resolved"].version, d["resolved"].registry) for d in deps],
                             [("user-service", "3.0.0", "eu")])
            self.assertEqual(len(eu.dependencies("billing", "1.2.0", transitive=True)), 1)
            self.assertEqual([v.name for v in eu.dependents("user-service")], ["billing"])
            self.assertNotIn("billing", [v.name for v in local.dependents("user-service", transitive=True)])
        # Its view closed: a registry's versions stay readable (copied from their own registry).
        self.assertEqual((svc.version, svc.owner_team, svc.registry), ("3.0.0", "eu-identity-team", "eu"))
        with self.assertRaises(roster.Error):
            eu.service("user-service")

    def test_an_unknown_registry_raises_not_found(self):
        with self.client.view() as view:
            with self.assertRaises(roster.NotFoundError) as caught:
                view.in_registry("us")
            self.assertEqual(caught.exception.code, "no_registry")
            self.assertIn("local, eu", str(caught.exception))
            with self.assertRaises(roster.NotFoundError):
                view.in_registry("")

    def test_a_registry_not_heard_from_is_stale_alone(self):
        self.command("touch eu 120000")
        with self.client.view() as view:
            local, eu = view.registries()
        self.assertGreaterEqual(eu.staleness, 120)
        self.assertLess(local.staleness, 60)
        self.command("touch eu 0")

    def test_a_write_to_one_registry_leaves_the_other(self):
        with self.client.view() as view:
            before = {r.name: r.revision for r in view.registries()}
        self.command("load-in eu " + one_service_file(self.tmp.name, "eu-invoices", "1.0.0", 9200))
        with self.client.view() as view:
            after = {r.name: r.revision for r in view.registries()}
            self.assertEqual(view.where("eu-invoices"), ["eu"])
            self.assertEqual(view.service("eu-invoices").registry, "eu")
        self.assertGreater(after["eu"], before["eu"])
        self.assertEqual(after["local"], before["local"])

    def test_a_preferred_registry_serves_the_plain_name_and_comes_first(self):
        name = "py-prefer-%d" % os.getpid()
        fixture = start_fixture(name, federate=[("eu", EU_REGISTRY)], prefer=[("user-service", "eu")])
        try:
            with roster.open(name) as client, client.view() as view:
                users = view.service("user-service")
                self.assertEqual((users.version, users.registry), ("3.0.0", "eu"))
                self.assertEqual(view.where("user-service"), ["eu", "local"])
                self.assertEqual(view.service("auth-service").registry, "local")  # no rule: the arena's order
        finally:
            stop_fixture(fixture)


class UnfederatedArenaRegistriesTest(unittest.TestCase):
    def test_one_unnamed_registry(self):
        name = "py-one-%d" % os.getpid()
        fixture = start_fixture(name)
        try:
            with roster.open(name) as client, client.view() as view:
                (only,) = view.registries()
                self.assertEqual((only.name, only.revision), ("", view.revision))
                self.assertEqual(view.where("user-service"), [""])
                self.assertEqual(view.service("user-service").registry, "")
                with self.assertRaises(roster.NotFoundError) as caught:
                    view.in_registry("local")
                self.assertIn("not federated", str(caught.exception))
        finally:
            stop_fixture(fixture)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
