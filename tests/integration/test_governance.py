"""rosterctl's governance commands (deps, lifecycle, can-i-deploy) against a real roster-server.

ctest runs: python3 test_governance.py BUILD_DIR SOURCE_DIR (PYTHONPATH has the roster module,
which test_end_to_end imports). One server on an ephemeral port holds a small graph: a diamond
(api -> auth, cache -> store), a cycle (ping <-> pong), an unresolved dependency (billing), a
deprecated version with a dependent (legacy <- worker) and two contracts, one failing.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import test_end_to_end as e2e
from roster_server import pact
from test_end_to_end import ROSTERCTL, Cluster


def rfc3339(days_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def openapi(version, paths):
    ok = {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}}
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    operations = {p: {"get": {"parameters": [id_param] if "{id}" in p else [], "responses": {"200": ok}}} for p in paths}
    return {"format": "openapi",
            "document": {"openapi": "3.0.3", "info": {"title": "t", "version": version}, "paths": operations}}


def version(v, stage="stable", deps=(), **extra):
    doc = {"version": v, "lifecycle_stage": stage, "owner_team": "team-gov",
           "dependencies": [{"service": s, "range": r} for s, r in deps]}
    doc.update(extra)
    return doc


REGISTRY = {
    "services": [
        {"name": "web", "versions": [version("1.0.0", deps=[("api", "^2.0.0")])]},
        {"name": "api", "versions": [version("2.0.0", deps=[("auth", "^1.0.0"), ("cache", "^1.0.0"),
                                                            ("billing", "^3.0.0")],
                                             api_schema=openapi("2.0.0", ["/orders/{id}"]))]},
        {"name": "auth", "versions": [version("1.0.0", deps=[("store", "^1.0.0")])]},
        {"name": "cache", "versions": [version("1.0.0", deps=[("store", "^1.0.0")])]},
        {"name": "store", "versions": [version("1.0.0", api_schema=openapi("1.0.0", ["/items/{id}"])),
                                       version("1.2.0", deps=[("disk", "^1.0.0")],
                                               api_schema=openapi("1.2.0", ["/items/{id}"])),
                                       version("2.0.0", api_schema=openapi("2.0.0", ["/v2/items/{id}"]))]},
        {"name": "disk", "versions": [version("1.0.0")]},
        {"name": "legacy", "versions": [version("1.0.0", stage="deprecated", deprecated_at=rfc3339(-10),
                                                sunset_at=rfc3339(80), deprecation_reason="use store")]},
        {"name": "worker", "versions": [version("1.0.0", deps=[("legacy", "^1.0.0"), ("cache", "^1.0.0"),
                                                               ("search", "^1.0.0")])]},
        {"name": "search", "versions": [version("1.0.0")]},
        {"name": "courier", "versions": [version("1.1.0", api_schema=openapi("1.1.0", ["/orders/{id}"])),
                                         version("2.0.0", api_schema=openapi("2.0.0", ["/v2/orders/{id}"]))]},
        {"name": "shop", "versions": [version("1.0.0", deps=[("courier", ">=1.0.0")])]},
        {"name": "ping", "versions": [version("1.0.0", deps=[("pong", "^1.0.0")])]},
        {"name": "pong", "versions": [version("1.0.0", deps=[("ping", "^1.0.0")])]},
    ],
    "contracts": [
        {"consumer": "cache", "consumer_version": "1.0.0", "provider": "store", "provider_range": "^1.0.0",
         "pact": pact("cache", "store", "/items/1")},
        {"consumer": "web", "consumer_version": "1.0.0", "provider": "api", "provider_range": "^2.0.0",
         "pact": pact("web", "api", "/refunds")},
        {"consumer": "shop", "consumer_version": "1.0.0", "provider": "courier", "provider_range": ">=1.0.0",
         "pact": pact("shop", "courier", "/orders/1")},
    ],
}


class Governance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="roster-gov-")
        e2e.LOG_DIR = cls.tmp
        cls.cluster = Cluster(cls.tmp)
        try:
            cls.cluster.start_server()
            path = os.path.join(cls.tmp, "registry.json")
            with open(path, "w") as f:
                json.dump(REGISTRY, f)
            out = cls.ctl("register", path)
            if out.returncode != 0:
                raise AssertionError(f"register failed: {out.stderr}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def ctl(cls, *args):
        return subprocess.run([ROSTERCTL, *args, "--server", cls.cluster.http], capture_output=True, text=True,
                              timeout=30)

    def run_ok(self, *args, code=0):
        out = self.ctl(*args)
        self.assertEqual(out.returncode, code,
                         f"rosterctl {' '.join(args)}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}")
        return out

    def test_tree_draws_the_diamond_deduped_and_the_unresolved_dependency(self):
        out = self.run_ok("deps", "tree", "web").stdout
        self.assertTrue(out.startswith("web@1.0.0 [stable]\n└── api@2.0.0 (^2.0.0) [stable]\n"), out)
        self.assertIn("    ├── auth@1.0.0 (^1.0.0) [stable]\n    │   └── store@1.2.0 (^1.0.0) [stable]\n"
                      "    │       └── disk@1.0.0 (^1.0.0) [stable]\n", out)
        self.assertIn("    ├── cache@1.0.0 (^1.0.0) [stable]\n"
                      "    │   └── store@1.2.0 (^1.0.0) [stable] (deduped)\n", out)
        self.assertIn("    └── UNRESOLVED billing ^3.0.0: no_such_service\n", out)
        # --depth 1 stops below api; --json is the server's tree.
        self.assertEqual(self.run_ok("deps", "tree", "web@1.0.0", "--depth", "1").stdout,
                         "web@1.0.0 [stable]\n└── api@2.0.0 (^2.0.0) [stable] (depth limit)\n")
        tree = json.loads(self.run_ok("deps", "tree", "web", "--json").stdout)
        self.assertEqual((tree["name"], tree["dependencies"][0]["name"]), ("web", "api"))

    def test_tree_marks_a_cycle(self):
        self.assertEqual(self.run_ok("deps", "tree", "ping@1.0.0").stdout,
                         "ping@1.0.0 [stable]\n└── pong@1.0.0 (^1.0.0) [stable]\n"
                         "    └── ping@1.0.0 (^1.0.0) [stable] (cycle)\n")

    def test_impact_lists_every_dependent_with_its_path(self):
        out = self.run_ok("deps", "impact", "store@1.2.0", "--paths").stdout
        self.assertIn("store@1.2.0: 5 dependents (2 direct)\n", out)
        self.assertIn("  auth@1.0.0 (^1.0.0, depth 1): auth@1.0.0 → store@1.2.0\n", out)
        self.assertIn("  worker@1.0.0 (^1.0.0, depth 2): worker@1.0.0 → cache@1.0.0 → store@1.2.0\n", out)
        self.assertRegex(out, r"  web@1\.0\.0 \(\^2\.0\.0, depth 3\): web@1\.0\.0 → api@2\.0\.0 → (auth|cache)@1\.0\.0 "
                              r"→ store@1\.2\.0\n")
        # The reverse tree: api hangs under auth or cache (equally short), web under api.
        tree = self.run_ok("deps", "impact", "store@1.2.0").stdout
        self.assertIn("store@1.2.0\n├── auth@1.0.0 (^1.0.0)\n", tree)
        self.assertIn("\n└── cache@1.0.0 (^1.0.0)\n", tree)
        self.assertRegex(tree, r"── api@2\.0\.0 \(\^1\.0\.0\)\n[│ ]+└── web@1\.0\.0 \(\^2\.0\.0\)\n")
        self.assertTrue(tree.endswith("    └── worker@1.0.0 (^1.0.0)\n"), tree)
        self.assertEqual(self.run_ok("deps", "impact", "web@1.0.0").stdout, "nothing depends on web@1.0.0\n")

    def test_cycles_exit_1_and_name_each_cycle(self):
        out = self.run_ok("deps", "cycles", code=1).stdout
        self.assertIn("1 dependency cycle:\n  ping@1.0.0 → pong@1.0.0 → ping@1.0.0\n", out)
        self.assertEqual(json.loads(self.run_ok("deps", "cycles", "--json", code=1).stdout)["cycles"],
                         [["ping@1.0.0", "pong@1.0.0"]])

    def test_unresolved(self):
        out = self.run_ok("deps", "unresolved", code=1).stdout
        self.assertIn("  api@2.0.0 → billing ^3.0.0: no_such_service\n", out)

    def test_upgrade_names_the_dependents_that_break(self):
        out = self.run_ok("deps", "upgrade", "store", "1.2.0", "2.0.0", code=1).stdout
        self.assertIn("store 1.2.0 → 2.0.0: major change\n", out)
        self.assertIn("2 dependents break (their range accepts 1.2.0 but not 2.0.0):\n", out)
        self.assertIn("  auth@1.0.0 (^1.0.0)\n", out)
        self.assertIn("  cache@1.0.0 (^1.0.0)\n", out)
        self.assertIn("schema diff: breaking", out)
        self.assertIn("BREAKING ", out)
        self.assertIn("BREAKS cache@1.0.0: cache@1.0.0's contract accepts store ^1.0.0, which 2.0.0 is not in", out)
        out = self.run_ok("deps", "upgrade", "store", "1.0.0", "1.2.0").stdout
        self.assertIn("store 1.0.0 → 1.2.0: minor change\nno dependent breaks\n", out)
        self.assertIn("consumer contracts against 1.2.0: all hold\n  ok    cache@1.0.0", out)

    def test_upgrade_names_the_consumers_whose_contract_breaks_though_their_range_holds(self):
        out = self.run_ok("deps", "upgrade", "courier", "1.1.0", "2.0.0", code=1).stdout
        self.assertIn("no dependent breaks\n", out)  # shop's range >=1.0.0 takes 2.0.0...
        self.assertIn("consumer contracts against 2.0.0: 1 broken", out)  # ...but its pact does not hold
        self.assertIn("BREAKS shop@1.0.0", out)
        got = json.loads(self.run_ok("deps", "upgrade", "courier", "1.1.0", "2.0.0", "--json", code=1).stdout)
        self.assertEqual(got["breaking_contracts"], ["shop@1.0.0"])
        got = json.loads(self.run_ok("deps", "upgrade", "courier", "1.1.0", "3.0.0", "--json").stdout)
        self.assertIsNone(got["contracts"])  # 3.0.0 is not registered: nothing to verify against

    def test_graph_as_dot_and_json(self):
        out = self.run_ok("deps", "graph", "--format", "dot").stdout
        self.assertTrue(out.startswith("digraph roster {\n"), out)
        self.assertTrue(out.endswith("}\n"), out)
        self.assertIn('  "web@1.0.0" -> "api@2.0.0" [label="^2.0.0"];\n', out)
        self.assertIn('"legacy@1.0.0" [label="legacy@1.0.0\\ndeprecated", style=filled', out)
        self.assertIn('  "api@2.0.0" -> "billing (^3.0.0)" [label="^3.0.0 no_such_service", style=dashed', out)
        graph = json.loads(self.run_ok("deps", "graph", "--format", "json").stdout)
        self.assertIn(("web", "1.0.0", "stable"), [(v["name"], v["version"], v["stage"]) for v in graph["versions"]])
        if shutil.which("dot"):
            check = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stderr)

    def test_lifecycle_set_and_timeline(self):
        out = self.ctl("lifecycle", "set", "legacy", "1.0.0", "beta")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("HTTP 409 invalid_transition", out.stderr)
        self.assertIn("sunset", out.stderr)
        self.assertIn("retired", out.stderr)
        out = self.run_ok("lifecycle", "set", "search", "1.0.0", "deprecated", "--reason", "search 2 is coming").stdout
        self.assertIn("search@1.0.0 is now deprecated (revision ", out)
        self.assertIn(f"  deprecated at: {rfc3339(0)[:10]}", out)
        # The default policy plans the sunset 90 days later (the date may roll over meanwhile).
        self.assertRegex(out, f"  sunset at: ({rfc3339(90)[:10]}|{rfc3339(91)[:10]})T")
        self.assertEqual(self.run_ok("lifecycle", "set", "search", "1.0.0", "frozen", code=2).stdout, "")

        lines = self.run_ok("lifecycle", "timeline").stdout.splitlines()
        self.assertRegex(lines[0], r"^VERSION +STAGE +NEXT +DUE +DAYS +DEPENDENTS$")
        # Sorted by due date: legacy (80 days) before search (90 days).
        self.assertRegex(lines[1], r"^legacy@1\.0\.0 +deprecated +sunset +" + rfc3339(80)[:10] +
                         r" +(79|80)  1: worker@1\.0\.0$")
        self.assertRegex(lines[2], r"^search@1\.0\.0 +deprecated +sunset +\d{4}-\d\d-\d\d +(89|90)  1: worker@1\.0\.0$")
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(self.run_ok("lifecycle", "timeline", "--within-days", "30").stdout,
                         "no deprecated or sunset versions due within 30 days\n")

    def test_can_i_deploy(self):
        out = self.run_ok("can-i-deploy", "cache", "1.0.0").stdout
        self.assertTrue(out.startswith("yes: cache@1.0.0 can be deployed\n"), out)
        self.assertIn("  ok   as consumer of provider store@", out)
        out = self.run_ok("can-i-deploy", "web", "1.0.0", code=1).stdout
        self.assertTrue(out.startswith("no: web@1.0.0 cannot be deployed\n"), out)
        self.assertIn("  FAIL as consumer of provider api@2.0.0", out)
        out = self.run_ok("can-i-deploy", "api", "2.0.0", code=1).stdout
        self.assertIn("  FAIL as provider for consumer web@1.0.0", out)
        self.assertFalse(json.loads(self.run_ok("can-i-deploy", "api", "2.0.0", "--json", code=1).stdout)["deployable"])

    def test_errors(self):
        out = self.ctl("deps", "tree", "no-such-service")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("GET /v1/services/no-such-service/tree: HTTP 404", out.stderr)
        out = subprocess.run([ROSTERCTL, "deps", "cycles", "--server", "127.0.0.1:1"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("127.0.0.1:1", out.stderr)
        out = self.ctl("can-i-deploy", "no-such-service", "1.0.0")
        self.assertEqual(out.returncode, 2, out.stderr)

    def test_api_refuses_bad_requests_with_clear_errors_and_changes_nothing(self):
        c = self.cluster
        before = c.revision()
        cases = [
            ("POST", "/v1/services/legacy/versions/1.0.0/lifecycle", b"{", 400, "invalid_json", None),
            ("POST", "/v1/services/legacy/versions/1.0.0/lifecycle", b'{"stage": "live"}', 400, "invalid_stage", "stage"),
            ("POST", "/v1/services/legacy/versions/1.0.0/lifecycle", b'{"stage": "stable"}', 409, "invalid_transition",
             "stage"),
            ("POST", "/v1/services/nope/versions/1.0.0/lifecycle", b'{"stage": "stable"}', 404, "not_found", None),
            ("GET", "/v1/services/store/upgrade?from=1.0.0", None, 400, "missing_parameter", "to"),
            ("GET", "/v1/services/store/upgrade?from=1.0&to=2.0.0", None, 400, "invalid_version", "from"),
            ("GET", "/v1/services/store/tree?depth=0", None, 400, "invalid_depth", "depth"),
            ("GET", "/v1/services/store/impact?version=9.9.9", None, 404, "not_found", None),
            ("GET", "/v1/lifecycle/timeline?within_days=x", None, 400, "invalid_days", "within_days"),
            ("PUT", "/v1/services/store/compatibility", b'{"mode": "SIDEWAYS"}', 400, "invalid_mode", "mode"),
            ("PUT", "/v1/services/store/lifecycle-policy", b'{"sunset_after_days": 0}', 400, "invalid_policy", None),
            ("POST", "/v1/schemas/check", b"[1,", 400, "invalid_json", None),
            ("POST", "/v1/schemas/diff", b'{"old": {}}', 400, "invalid_body", "new"),
            ("PUT", "/v1/contracts/web/1.0.0/api", b'{"provider_range": "^2", "pact": {"interactions": 1}}', 422,
             "invalid_pact", "pact"),
            ("PUT", "/v1/contracts/web/1.0/api", b'{"provider_range": "^2", "pact": {}}', 400, "invalid_contract",
             "consumer_version"),
            ("GET", "/v1/can-i-deploy?service=web", None, 400, "missing_parameter", "version"),
        ]
        for method, path, body, status, code, where in cases:
            with self.subTest(method=method, path=path):
                got_status, got = c.request(method, path, body)
                self.assertEqual(got_status, status, got)
                self.assertEqual(got["error"]["code"], code, got)
                self.assertTrue(got["error"]["message"], got)
                if where:
                    self.assertEqual(got["error"].get("path"), where, got)
        status, got = c.request("PUT", "/v1/contracts/web/1.0.0/api", b'{"provider_range": "^2", "pact": {"interactions": 1}}')
        self.assertTrue(any(f["pointer"] == "/interactions" for f in got["findings"]), got)
        self.assertEqual(c.revision(), before)

    def test_schema_endpoints_and_dry_run(self):
        c = self.cluster
        before = c.revision()
        v1 = openapi("1.0.0", ["/items/{id}"])["document"]
        v2 = openapi("2.0.0", ["/v2/items/{id}"])["document"]
        status, got = c.request("POST", "/v1/schemas/check", json.dumps(v1).encode())
        self.assertEqual((status, got["valid"], got["format"]), (200, True, "openapi"), got)
        status, got = c.request("POST", "/v1/schemas/check", b'{"type": 5}')
        self.assertEqual((status, got["valid"], got["problems"][0]["pointer"]), (200, False, "/type"), got)
        status, got = c.request("POST", "/v1/schemas/diff", json.dumps({"old": v1, "new": v2}).encode())
        self.assertTrue(got["breaking"], got)
        self.assertIn("path-removed", [f["id"] for f in got["findings"]])
        status, got = c.request("POST", "/v1/schemas/compat", json.dumps({
            "mode": "BACKWARD", "history": [{"type": "object", "properties": {"a": {"type": "string"}}}],
            "new": {"type": "object", "properties": {"a": {"type": "integer"}}}}).encode())
        self.assertFalse(got["compatible"], got)
        status, got = c.request("GET", "/v1/services/store/evolution")
        self.assertEqual([v["version"] for v in got["versions"]], ["1.0.0", "1.2.0", "2.0.0"])
        self.assertEqual((got["versions"][2]["paths"], got["versions"][2]["operations"]), (1, 1))
        self.assertIn("path-removed", [f["id"] for f in got["versions"][2]["removed"]])
        self.assertIn("path-added", [f["id"] for f in got["versions"][2]["added"]])
        # A breaking 1.x version, as a dry run: refused with the findings, nothing written.
        doc = dict(version("1.3.0", stage="beta", api_schema=openapi("1.3.0", ["/v2/items/{id}"])), name="store")
        status, got = c.request("PUT", "/v1/services/store/versions/1.3.0?dry_run=true", json.dumps(doc).encode())
        self.assertEqual(status, 200, got)
        self.assertEqual((got["dry_run"], got["accepted"], got["error"]["code"]), (True, False, "incompatible_schema"))
        self.assertIn("path-removed", [f["id"] for f in got["findings"]])
        status, got = c.request("PUT", "/v1/services/store/versions/1.3.0", json.dumps(doc).encode())
        self.assertEqual((status, got["error"]["code"]), (409, "incompatible_schema"), got)
        self.assertTrue(got["findings"], got)
        self.assertEqual(c.revision(), before)
        status, got = c.request("GET", "/v1/contracts/matrix?provider=store")
        self.assertEqual([(x["provider"], x["consumer"], x["ok"]) for x in got["cells"]],
                         [("store@1.0.0", "cache@1.0.0", True), ("store@1.2.0", "cache@1.0.0", True)])
        status, got = c.request("GET", "/v1/services/store/compatibility")
        self.assertEqual(got["mode"], "BACKWARD")

    def test_evolution_and_matrix_commands(self):
        out = self.run_ok("schema", "evolution", "store").stdout
        self.assertIn("store@2.0.0 (openapi): 1 paths, 1 operations", out)
        self.assertRegex(out, r"path-removed .*/items/\{id\}")
        self.assertRegex(out, r"path-added .*/v2/items/\{id\}")
        got = json.loads(self.run_ok("schema", "evolution", "store", "--json").stdout)
        self.assertEqual([v["version"] for v in got["versions"]], ["1.0.0", "1.2.0", "2.0.0"])
        self.run_ok("schema", "evolution", "no-such-service", code=1)
        # store's only contract holds on both versions it covers; api's fails (exit 1).
        out = self.run_ok("contract", "matrix", "store").stdout
        self.assertIn("ok    store@1.0.0 <- cache@1.0.0", out)
        self.assertIn("ok    store@1.2.0 <- cache@1.0.0", out)
        out = self.run_ok("contract", "matrix", "api", code=1).stdout
        self.assertIn("FAILS api@2.0.0 <- web@1.0.0", out)
        got = json.loads(self.run_ok("contract", "matrix", "api", "--json", code=1).stdout)
        self.assertFalse(got["cells"][0]["ok"])
        self.assertIn("no contract names a version of disk", self.run_ok("contract", "matrix", "disk").stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
