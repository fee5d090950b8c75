"""rosterctl import --from eureka|consul|kubernetes against a real roster-server on loopback: each
fixture of tests/fixtures/import converted, registered with --apply, and its services, versions
and instances read back over the HTTP API; broken input and --dry-run write nothing.

ctest runs: python3 test_importers.py BUILD_DIR SOURCE_DIR. One server per test class on an
ephemeral port, its SQLite store in a temp dir; both go when the tests end.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from roster_server import CLEAN_ENV, RosterServer

BUILD, SOURCE = sys.argv[1], sys.argv[2]
ROSTERCTL = os.path.join(BUILD, "cli", "rosterctl")
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "import")
DEFAULTS = ["--owner-team", "platform-team", "--default-version", "1.0.0"]


def ctl(*args):
    return subprocess.run([ROSTERCTL, *args], capture_output=True, text=True, timeout=60, env=CLEAN_ENV)


class ImportersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RosterServer(BUILD)
        cls.tmp = tempfile.mkdtemp(prefix="roster-importers-")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, target):
        status, _, body = self.server.request("GET", target)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def registry(self):
        return self.get("/v1/registry?instances=true")

    def instances(self, service, **query):
        target = f"/v1/services/{service}/instances"
        if query:
            target += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return {i["id"]: i for i in self.get(target)["instances"]}

    def apply(self, system, fixture, *extra):
        out = ctl("import", "--from", system, os.path.join(FIXTURES, fixture), *DEFAULTS, "--apply",
                  "--server", self.server.http, *extra)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def test_eureka(self):
        out = self.apply("eureka", "eureka-apps.json")
        self.assertIn("4 versions, 6 instances", out.stdout)
        versions = self.get("/v1/services/user-service/versions")["versions"]
        self.assertEqual([v["version"] for v in versions], ["2.0.0", "2.1.0"])
        self.assertTrue(all(v["owner_team"] == "identity-team" and v["lifecycle_stage"] == "stable" for v in versions))
        users = self.instances("user-service")
        self.assertEqual(set(users), {"10.0.1.12:user-service:8080", "10.0.2.7:user-service:8080",
                                      "10.0.3.21:user-service:8080"})
        self.assertEqual(users["10.0.3.21:user-service:8080"]["health"], "down")
        self.assertEqual(users["10.0.1.12:user-service:8080"]["zone"], "eu-west-1a")
        self.assertEqual(users["10.0.1.12:user-service:8080"]["metadata"]["eureka.secure-port"], "8443")
        self.assertEqual(set(self.instances("user-service", healthy="true")),
                         {"10.0.1.12:user-service:8080", "10.0.2.7:user-service:8080"})
        auth = self.get("/v1/services/auth-service/versions/1.4.0")
        self.assertEqual(auth["owner_team"], "security-team")
        self.assertEqual(auth["labels"]["imported-version"], "v1.4")
        orders = self.instances("order-service", version="1.0.0")
        self.assertEqual({i: v["health"] for i, v in orders.items()},
                         {"i-0a1b2c3d4e5f60001": "starting", "i-0a1b2c3d4e5f60002": "out_of_service"})
        self.assertEqual(orders["i-0a1b2c3d4e5f60001"]["port"], 7002)

    def test_consul(self):
        out = self.apply("consul", "consul-health.json")
        self.assertIn("4 versions, 6 instances", out.stdout)
        billing = self.instances("billing")
        self.assertEqual({i: (v["version"], v["health"]) for i, v in billing.items()},
                         {"billing-1@node-a": ("3.2.0", "up"), "billing-2@node-b": ("3.2.0", "down"),
                          "billing-canary@node-c": ("3.3.0-rc.1", "up")})
        self.assertEqual(billing["billing-2@node-b"]["address"], "10.1.11.40")
        self.assertEqual(self.get("/v1/services/billing/versions/3.2.0")["tags"], ["http", "primary", "secondary"])
        ledger = self.instances("ledger")
        self.assertEqual(ledger["ledger@node-a"]["health"], "out_of_service")
        self.assertEqual(self.get("/v1/services/ledger/versions/1.7.2")["owner_team"], "platform-team")
        self.assertEqual(self.instances("notifier")["notifier-1@node-a"]["port"], 5672)

    def test_kubernetes(self):
        out = self.apply("kubernetes", "kubernetes-list.json")
        self.assertIn("3 versions, 5 instances", out.stdout)
        catalog = self.instances("catalog-api")
        self.assertEqual({i: v["health"] for i, v in catalog.items()},
                         {"catalog-api-7d9f8b6c5-abcde": "up", "catalog-api-7d9f8b6c5-fghij": "down",
                          "catalog-api-6c8e7a5b4-klmno": "out_of_service"})
        self.assertEqual(catalog["catalog-api-7d9f8b6c5-abcde"]["zone"], "europe-west4-a")
        version = self.get("/v1/services/catalog-api/versions/2.4.1")
        self.assertEqual(version["owner_team"], "catalog-team")
        self.assertEqual(version["labels"]["app.kubernetes.io/managed-by"], "Helm")
        self.assertEqual(self.get("/v1/services/checkout/versions/5.0.0")["owner_team"], "payments-team")
        self.assertEqual(self.instances("legacy-reports"), {})
        self.assertEqual(self.get("/v1/services/legacy-reports/versions/1.0.0")["owner_team"], "platform-team")

    def test_printed_and_written_documents_are_registry_documents(self):
        before = self.registry()
        printed = ctl("import", "--from", "consul", os.path.join(FIXTURES, "consul-health.json"), *DEFAULTS)
        self.assertEqual(printed.returncode, 0, printed.stderr)
        document = json.loads(printed.stdout)
        self.assertEqual(sorted(s["name"] for s in document["services"]), ["billing", "ledger", "notifier"])
        written = os.path.join(self.tmp, "k8s.json")
        out = ctl("import", "--from", "kubernetes", os.path.join(FIXTURES, "kubernetes-list.json"), *DEFAULTS,
                  "-o", written)
        self.assertEqual((out.returncode, out.stdout), (0, ""), out.stderr)
        self.assertEqual(ctl("validate", written).returncode, 0)
        # What --from wrote, the plain import (a restore) takes.
        out = ctl("import", written, "--dry-run", "--server", self.server.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run, nothing written", out.stdout)
        self.assertEqual(self.registry(), before)

    def test_broken_input_and_dry_run_write_nothing(self):
        before = self.registry()
        with open(os.path.join(FIXTURES, "eureka-apps.json")) as f:
            apps = f.read()
        broken = os.path.join(self.tmp, "broken-eureka.json")
        with open(broken, "w") as f:
            f.write(apps.replace('"status": "DOWN"', '"status": "SLEEPING"'))
        out = ctl("import", "--from", "eureka", broken, *DEFAULTS, "--apply", "--server", self.server.http)
        self.assertEqual(out.returncode, 1)
        self.assertIn("applications.application[0].instance[2].status: unknown status \"SLEEPING\"", out.stderr)
        # Everything else in the file was fine: none of it was sent either.
        self.assertEqual(self.registry(), before)

        out = ctl("import", "--from", "kubernetes", os.path.join(FIXTURES, "kubernetes-list.json"), "--apply",
                  "--server", self.server.http)
        self.assertEqual(out.returncode, 1)
        self.assertIn("--default-version", out.stderr)

        out = ctl("import", "--from", "eureka", os.path.join(FIXTURES, "eureka-apps.json"), *DEFAULTS, "--dry-run",
                  "--server", self.server.http)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run, nothing written", out.stdout)
        self.assertEqual(self.registry(), before)

    def test_usage(self):
        fixture = os.path.join(FIXTURES, "eureka-apps.json")
        self.assertEqual(ctl("import", "--from", "zookeeper", fixture).returncode, 2)
        self.assertEqual(ctl("import", fixture, "--apply").returncode, 2)  # --apply needs --from
        out = ctl("import", "--from", "eureka", fixture, *DEFAULTS, "--stage", "golden")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--stage", out.stderr)
        out = ctl("import", "--from", "eureka", fixture, "--owner-team", "t", "--default-version", "1.0")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--default-version", out.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
