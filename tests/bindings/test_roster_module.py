"""The Python module `roster` against a real arena kept by arena_fixture.

Run by ctest as: python3 test_roster_module.py FIXTURE REGISTRY.json (with PYTHONPATH set to
the module's build folder).
"""
import os
import subprocess
import sys
import time
import unittest

import roster

FIXTURE, REGISTRY = sys.argv[1], sys.argv[2]


class RosterModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.name = "py-%d" % os.getpid()
        cls.fixture = subprocess.Popen([FIXTURE, cls.name, REGISTRY], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        assert cls.fixture.stdout.readline().startswith("ok"), "fixture did not start"
        cls.client = roster.open(cls.name)

    @classmethod
    def tearDownClass(cls):
        cls.fixture.stdin.write("quit\n")
        cls.fixture.stdin.close()
        cls.fixture.wait(timeout=10)

    def command(self, text):
        self.fixture.stdin.write(text + "\n")
        self.fixture.stdin.flush()
        reply = self.fixture.stdout.readline()
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

    def test_closed_view_raises(self):
        view = self.client.view()
        view.close()
        with self.assertRaises(roster.Error):
            view.service("user-service")

    def test_missing_arena_raises_with_the_c_error_text(self):
        with self.assertRaises(roster.Error) as caught:
            roster.open("py-no-such-arena")
        self.assertIn("roster-agent", str(caught.exception))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
