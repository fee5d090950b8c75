"""roster-server's answers against docs/openapi.json: every route called with valid and invalid
requests, each answer's status must be documented for its route (exactly, or by a range like
5XX) and its body must match the schema documented for that status; a request body the server
accepted must match the documented request body. Every operation must have been answered with
a 2xx at least once, so a route the test forgets is noticed.

ctest runs: python3 test_openapi.py BUILD_DIR SOURCE_DIR (python3-jsonschema).
"""
import datetime
import http.client
import json
import os
import re
import sys
import unittest
import urllib.parse

import jsonschema

from roster_server import RosterServer, pact, quote

BUILD, SOURCE = sys.argv[1], sys.argv[2]
TOKEN = "openapi-test-token"
DOCUMENT_URI = "urn:roster:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def pointer(*parts):
    """A URI fragment (JSON Pointer) into the document."""
    escaped = [p.replace("~", "~0").replace("/", "~1") for p in parts]
    return DOCUMENT_URI + "#/" + urllib.parse.quote("/".join(escaped), safe="/~")


class Document:
    """The OpenAPI document with its $refs resolved by a registry (or, with python3-jsonschema
    before 4.18, a resolver) holding the whole document under one URI."""

    def __init__(self, document):
        self.document = document
        try:
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012
            registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
            self.validator = lambda ref: jsonschema.Draft202012Validator({"$ref": ref}, registry=registry)
        except ImportError:
            resolver = jsonschema.RefResolver(DOCUMENT_URI, document, store={DOCUMENT_URI: document})
            self.validator = lambda ref: jsonschema.Draft202012Validator({"$ref": ref}, resolver=resolver)
        template = lambda path: re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        self.routes = [(method.upper(), path, template(path))
                       for path, item in document["paths"].items() for method in METHODS if method in item]

    def operation(self, method, path):
        """(method, template) of the documented route a request path goes to: a literal segment
        wins over a {parameter}, as in the server's table."""
        found = [(m, t) for m, t, regex in self.routes if m == method and regex.match(path)]
        if not found:
            raise AssertionError(f"{method} {path}: no documented route")
        return min(found, key=lambda mt: mt[1].count("{"))

    def response_key(self, method, template, status):
        responses = self.document["paths"][template][method.lower()]["responses"]
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                return key
        raise AssertionError(f"{method} {template} answered {status}, which the document does not give")

    def errors(self, ref, value):
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in self.validator(ref).iter_errors(value)]


class OpenApiConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SOURCE, "docs", "openapi.json")) as f:
            cls.doc = Document(json.load(f))
        cls.server = RosterServer(BUILD, token=TOKEN, extra=["--max-body-bytes", str(256 * 1024)])
        cls.answered = {}  # (method, template) -> set of statuses

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def call(self, method, path, body=None, expect=None, token=None, query=None, headers=None):
        """One request; its answer checked against the document. Returns the parsed body."""
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        status, content_type, raw = self.server.request(method, target, body, token, headers)
        what = f"{method} {target} -> {status}"
        if expect is not None:
            self.assertEqual(status, expect, f"{what}: {raw[:400]!r}")
        _, template = self.doc.operation(method, path)
        key = self.doc.response_key(method, template, status)
        self.answered.setdefault((method, template), set()).add(status)
        operation = self.doc.document["paths"][template][method.lower()]
        where = ("paths", template, method.lower(), "responses", key)
        if "$ref" in operation["responses"][key]:  # a shared one: #/components/responses/NAME
            where = ("components", "responses", operation["responses"][key]["$ref"].rsplit("/", 1)[1])
        response = self.doc.document[where[0]][where[1]]
        for part in where[2:]:
            response = response[part]
        if status == 304:  # no body
            return None
        media = content_type.split(";")[0].strip()
        self.assertIn(media, response.get("content", {}), f"{what}: content type {content_type} is not documented")
        if media != "application/json":
            return raw.decode()
        value = json.loads(raw)
        problems = self.doc.errors(pointer(*where, "content", media, "schema"), value)
        self.assertFalse(problems, f"{what}: the body does not match the documented schema:\n" +
                         "\n".join(problems[:10]) + f"\nbody: {raw[:600]!r}")
        if 200 <= status < 300 and body is not None and "requestBody" in operation:
            sent = body if not isinstance(body, bytes) else json.loads(body)
            problems = self.doc.errors(pointer("paths", template, method.lower(), "requestBody", "content",
                                               "application/json", "schema"), sent)
            self.assertFalse(problems, f"{what}: the server accepted a body the document refuses:\n" +
                             "\n".join(problems[:10]))
        return value

    def test_every_route_answers_as_documented(self):
        # Methods run in this order on one server: each step builds on what the last one wrote.
        for step in (self.server_routes, self.versions, self.listings, self.instances, self.imports, self.graph,
                     self.lifecycle, self.schemas, self.contracts, self.removals):
            with self.subTest(step.__name__):
                step()
        unanswered = [f"{m} {t}" for m, t, _ in self.doc.routes
                      if not any(200 <= s < 300 for s in self.answered.get((m, t), ()))]
        self.assertFalse(unanswered, "routes this test never got a 2xx from: " + ", ".join(unanswered))

    # --- the steps ------------------------------------------------------------------------------

    def server_routes(self):
        self.call("GET", "/healthz", expect=200)
        self.assertIn("roster_http_requests_total", self.call("GET", "/metrics", expect=200))
        self.call("GET", "/v1/revision", expect=200)
        self.assertEqual(self.call("GET", "/v1/openapi.json", expect=200), self.doc.document)
        # Conditional and blocking reads (docs/watching.md): the same route, its other answers.
        self.call("GET", "/v1/revision", expect=200)
        etag, index = self.server.last_headers["etag"], self.server.last_headers["x-roster-index"]
        self.call("GET", "/v1/revision", headers={"If-None-Match": etag}, expect=304)
        self.call("GET", "/v1/revision", query={"index": index, "wait": "10ms"}, expect=200)
        self.call("GET", "/v1/revision", query={"index": "soon"}, expect=400)
        self.call("GET", "/v1/revision", query={"index": index, "wait": "forever"}, expect=400)
        # The watch stream: its head and first event, then the client leaves.
        host, port = self.server.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", "/v1/watch")
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            self.assertIn("text/event-stream",
                          self.doc.document["paths"]["/v1/watch"]["get"]["responses"]["200"]["content"])
            self.assertEqual(response.getheader("Content-Type", "").split(";")[0], "text/event-stream")
            first = response.read1()  # one chunk: the first event
            self.assertIn(b"\nevent: start\n", first)
            self.answered.setdefault(("GET", "/v1/watch"), set()).add(response.status)
        finally:
            conn.close()
        self.call("GET", "/v1/watch", query={"index": "x"}, expect=400)

    def versions(self):
        # A new version starts as proposed, development or beta; an import keeps the stages it names.
        self.call("POST", "/v1/registry", BASE_REGISTRY, expect=200)
        put = lambda name, v, doc, **kw: self.call("PUT", f"/v1/services/{quote(name)}/versions/{v}", doc, **kw)
        put("store", "2.1.0-rc.1", version("store", "2.1.0-rc.1", stage="development"), expect=200)
        breaking = version("store", "1.2.0", stage="beta", schema=openapi("1.2.0", ["/other"]))
        dry = put("store", "1.2.0", breaking, query={"dry_run": "true"}, expect=200)
        self.assertFalse(dry["accepted"])  # removing /items/{id} in a minor version breaks clients
        self.assertTrue(put("store", "1.2.0", version("store", "1.2.0", stage="beta"), query={"dry_run": "1"},
                            expect=200)["accepted"])
        put("store", "1.2.0", breaking, expect=409)
        put("store", "1.2.0", version("store", "1.2.0", stage="stable"), expect=409)  # not a first stage
        put("store", "1.3.0", version("store", "1.3.0", stage="beta",
                                      schema={"format": "openapi", "document": {"openapi": "3.0.3"}}), expect=422)
        put("store", "1.3.0", b"{not json", expect=400)
        put("store", "1.3.0", version("store", "1.4.0"), expect=400)  # the URL and the document disagree
        put("store", "1.3.0", version("store", "1.3.0", stage="beta"), token="", expect=401)
        put("store", "1.3.0", b" " * (300 * 1024), expect=413)

    def listings(self):
        page = self.call("GET", "/v1/services", query={"limit": 2}, expect=200)
        self.assertIn("next_cursor", page)
        self.call("GET", "/v1/services", query={"limit": 2, "cursor": page["next_cursor"], "schema": "false"},
                  expect=200)
        self.call("GET", "/v1/services", query={"team": "team-api", "stage": "beta", "tag": "t"}, expect=200)
        self.call("GET", "/v1/services", query={"stage": "ancient"}, expect=400)
        self.call("GET", "/v1/services", query={"limit": 0}, expect=400)
        self.call("GET", "/v1/service-names", expect=200)
        self.call("GET", "/v1/services/store", expect=200)
        self.call("GET", "/v1/services/store", query={"prerelease": "true"}, expect=200)
        self.call("GET", "/v1/services/nobody", expect=404)
        self.call("GET", "/v1/services/store/versions", expect=200)
        self.call("GET", "/v1/services/store/versions", query={"schema": "false"}, expect=200)
        self.call("GET", "/v1/services/store/versions/1.0.0", expect=200)
        self.call("GET", "/v1/services/store/versions/9.9.9", expect=404)
        self.call("GET", "/v1/services/store/versions/1.0.0/schema", expect=200)
        self.call("GET", "/v1/services/events/versions/1.2.0/schema", expect=404)  # registered without one

    def instances(self):
        base = "/v1/services/store/versions/1.0.0/instances"
        for i in ("i1", "i2"):
            written = self.call("PUT", f"{base}/{i}", {"id": i, "address": "10.0.0.1", "port": 8080, "zone": "z1",
                                                         "metadata": {"rack": "r1"}}, query={"ttl": 60}, expect=200)
            self.assertIn("renew_every_seconds", written)
        self.call("PUT", f"{base}/i3", {"id": "i3", "address": "10.0.0.3", "port": 8080, "health": "down"}, expect=200)
        self.call("PUT", f"{base}/i1", {"id": "i1", "address": "10.0.0.1", "port": 8080}, query={"ttl": 0}, expect=400)
        self.call("PUT", f"{base}/i1", {"id": "i9", "address": "10.0.0.1", "port": 8080}, expect=400)
        self.call("PUT", f"{base}/i1", {"id": "i1", "address": "10.0.0.1", "port": 70000}, expect=400)
        self.call("PUT", "/v1/services/store/versions/7.0.0/instances/i1", {"id": "i1", "address": "h", "port": 1},
                  expect=404)
        self.call("PUT", f"{base}/i1", {"id": "i1", "address": "h", "port": 1}, token="wrong", expect=401)
        self.call("GET", "/v1/services/store/instances", expect=200)
        self.call("GET", "/v1/services/store/instances", query={"version": "1.0.0", "healthy": "true"}, expect=200)
        self.call("GET", "/v1/services/store/versions/1.0.0", expect=200)  # now with its instances
        for method in ("PUT", "POST"):
            self.call(method, f"{base}/i1/heartbeat", expect=200)
            self.call(method, f"{base}/nobody/heartbeat", expect=404)
        self.call("DELETE", f"{base}/i2", expect=200)
        self.call("DELETE", f"{base}/i2", expect=404)

    def imports(self):
        registry = {"services": [{"name": "solo", "versions": [entry("1.0.0")]}]}
        self.assertTrue(self.call("POST", "/v1/registry", registry, query={"dry_run": "true"}, expect=200)["accepted"])
        self.call("POST", "/v1/registry", version("single", "1.0.0"), expect=200)
        self.call("POST", "/v1/registry", {"services": [{"name": "x", "versions": [{"version": "1"}]}]}, expect=400)
        bad_pact = {"services": [], "contracts": [{"consumer": "a", "consumer_version": "1.0.0", "provider": "b",
                                                   "provider_range": "^1.0.0", "pact": {"interactions": 3}}]}
        self.call("POST", "/v1/registry", bad_pact, expect=422)
        # An export reads back as an import; settings ride along under their service.
        with_settings = {"services": [{"name": "solo", "versions": [],
                                       "settings": {"compatibility": "NONE", "sunset_after_days": 30}}]}
        self.call("POST", "/v1/registry", with_settings, expect=200)
        self.call("POST", "/v1/registry", {"services": [{"name": "solo", "versions": [],
                                                         "settings": {"compatibility": "LOOSE"}}]}, expect=400)
        exported = self.call("GET", "/v1/registry", expect=200)
        solo = next(s for s in exported["services"] if s["name"] == "solo")
        self.assertEqual((solo["settings"]["compatibility"], solo["settings"]["sunset_after_days"]), ("NONE", 30))
        self.call("GET", "/v1/registry", query={"instances": "true"}, expect=200)
        self.assertTrue(self.call("POST", "/v1/registry", exported, query={"dry_run": "true"}, expect=200)["accepted"])

    def graph(self):
        self.call("GET", "/v1/graph", expect=200)
        self.assertTrue(self.call("GET", "/v1/graph/cycles", expect=200)["cycles"])
        self.assertTrue(self.call("GET", "/v1/graph/unresolved", expect=200)["unresolved"])
        tree = self.call("GET", f"/v1/services/{quote('team/web')}/tree", expect=200)
        self.assertIn("unresolved", [d.get("mark") for d in tree["dependencies"]])
        self.call("GET", "/v1/services/ping/tree", query={"version": "1.0.0", "depth": 5}, expect=200)
        self.call("GET", "/v1/services/store/tree", query={"depth": 0}, expect=400)
        self.call("GET", "/v1/services/nobody/tree", expect=404)
        self.call("GET", "/v1/services/store/impact", expect=200)
        self.call("GET", "/v1/services/store/impact", query={"version": "1.1.0"}, expect=200)
        self.call("GET", "/v1/services/nobody/impact", expect=404)
        upgrade = self.call("GET", "/v1/services/store/upgrade", query={"from": "1.1.0", "to": "2.0.0"}, expect=200)
        self.assertIsNotNone(upgrade["schema_diff"])
        self.call("GET", "/v1/services/store/upgrade", query={"from": "1.0.0", "to": "8.0.0"}, expect=200)
        self.call("GET", "/v1/services/store/upgrade", query={"from": "1.0.0"}, expect=400)
        self.call("GET", "/v1/services/store/upgrade", query={"from": "x", "to": "2.0.0"}, expect=400)

    def lifecycle(self):
        stage = "/v1/services/store/versions/1.0.0/lifecycle"
        self.call("POST", stage, {"stage": "deprecated", "reason": "use 1.1"}, expect=200)
        self.call("POST", stage, {"stage": "beta"}, expect=409)
        self.call("POST", stage, {"stage": "ancient"}, expect=400)
        self.call("POST", stage, {"stage": "sunset", "reason": 5}, expect=400)
        self.call("POST", "/v1/services/store/versions/9.0.0/lifecycle", {"stage": "stable"}, expect=404)
        self.call("POST", stage, {"stage": "sunset"}, token="", expect=401)
        self.assertTrue(self.call("GET", "/v1/lifecycle/timeline", expect=200)["versions"])
        self.call("GET", "/v1/lifecycle/timeline", query={"within_days": 400}, expect=200)
        self.call("GET", "/v1/lifecycle/timeline", query={"within_days": "soon"}, expect=400)
        self.call("GET", "/v1/services/store/lifecycle-policy", expect=200)
        self.call("PUT", "/v1/services/store/lifecycle-policy", {"sunset_after_days": 60, "retire_after_days": 20},
                  expect=200)
        self.call("PUT", "/v1/services/store/lifecycle-policy", {"sunset_after_days": "sixty"}, expect=400)
        self.call("PUT", "/v1/services/store/lifecycle-policy", {"sunset_after_days": 0}, expect=400)
        self.call("GET", "/v1/services/store/compatibility", expect=200)
        self.call("PUT", "/v1/services/events/compatibility", {"mode": "FULL"}, expect=200)
        self.call("PUT", "/v1/services/events/compatibility", {"mode": "SIDEWAYS"}, expect=400)
        self.call("PUT", "/v1/services/events/compatibility", [], expect=400)

    def schemas(self):
        a, b = openapi("1.0.0", ["/a/{id}"])["document"], openapi("2.0.0", ["/b"])["document"]
        self.assertTrue(self.call("POST", "/v1/schemas/check", a, expect=200)["valid"])
        self.assertFalse(self.call("POST", "/v1/schemas/check", {"openapi": "3.0.3"}, expect=200)["valid"])
        self.call("POST", "/v1/schemas/check", {"type": "object"}, query={"format": "json_schema"}, expect=200)
        self.call("POST", "/v1/schemas/check", a, query={"format": "xml"}, expect=400)
        self.call("POST", "/v1/schemas/check", b"[1,", expect=400)
        self.call("POST", "/v1/schemas/check", a, token="", expect=401)
        self.assertTrue(self.call("POST", "/v1/schemas/diff", {"old": a, "new": b}, expect=200)["breaking"])
        self.call("POST", "/v1/schemas/diff", {"old": a}, expect=400)
        self.call("POST", "/v1/schemas/diff", {"old": a, "new": {"openapi": "3.0.3"}}, expect=422)
        old, new = (json_schema(p)["document"] for p in ({"a": {"type": "string"}}, {"a": {"type": "integer"}}))
        self.assertFalse(self.call("POST", "/v1/schemas/compat", {"mode": "BACKWARD", "history": [old], "new": new},
                                   expect=200)["compatible"])
        self.call("POST", "/v1/schemas/compat", {"history": [old], "new": old}, expect=200)
        self.call("POST", "/v1/schemas/compat", {"mode": "SIDEWAYS", "history": [], "new": old}, expect=400)
        self.call("POST", "/v1/schemas/compat", {"history": [{"type": 5}], "new": old}, expect=422)
        for service in ("store", "events"):
            self.call("GET", f"/v1/services/{service}/evolution", expect=200)
        self.call("GET", "/v1/services/nobody/evolution", expect=404)

    def contracts(self):
        path = f"/v1/contracts/{quote('team/web')}/1.0.0/store"
        body = {"provider_range": "^1.0.0", "pact": pact("team/web", "store", "/items/1")}
        self.assertTrue(self.call("PUT", path, body, expect=200)["verification"])
        self.call("PUT", path, {"provider_range": "^1.0.0"}, expect=400)
        self.call("PUT", path, {"provider_range": "^1.0.0", "pact": {"interactions": []}}, expect=422)
        self.call("PUT", path, body, token="", expect=401)
        self.call("GET", path, expect=200)
        self.call("GET", "/v1/contracts/nobody/1.0.0/store", expect=404)
        self.call("GET", "/v1/contracts", expect=200)
        self.call("GET", "/v1/contracts", query={"consumer": "team/web", "provider": "store"}, expect=200)
        self.call("GET", "/v1/contracts/matrix", query={"provider": "store"}, expect=200)
        self.call("GET", "/v1/contracts/matrix", expect=400)
        for service, v in (("store", "1.1.0"), ("team/web", "1.0.0")):
            self.call("GET", "/v1/can-i-deploy", query={"service": service, "version": v}, expect=200)
        self.call("GET", "/v1/can-i-deploy", query={"service": "store"}, expect=400)
        self.call("GET", "/v1/can-i-deploy", query={"service": "store", "version": "9.9.9"}, expect=404)
        self.call("DELETE", path, expect=200)
        self.call("DELETE", path, expect=404)

    def removals(self):
        self.call("DELETE", "/v1/services/legacy/versions/1.0.0", expect=409)  # team/web resolves to it alone
        self.call("DELETE", "/v1/services/legacy/versions/1.0.0", query={"force": "true"}, expect=200)
        self.call("DELETE", "/v1/services/legacy/versions/1.0.0", expect=404)
        self.call("DELETE", "/v1/services/events/versions/1.2.0", token="", expect=401)


# --- documents ------------------------------------------------------------------------------------

def version(name, v, stage="stable", deps=(), schema=None):
    doc = {"name": name, **entry(v, stage, deps)}
    if schema:
        doc["api_schema"] = schema
    return doc


def entry(v, stage="stable", deps=(), instances=None, schema=None):
    doc = {"version": v, "lifecycle_stage": stage, "owner_team": "team-api", "tags": ["t"], "labels": {"tier": "1"},
           "dependencies": [{"service": s, "range": r} for s, r in deps],
           "endpoints": [{"method": "GET", "path": "/items/{id}", "description": "an item"}]}
    if instances:
        doc["instances"] = instances
    if schema:
        doc["api_schema"] = schema
    return doc


def openapi(v, paths):
    ok = {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}}
    def operation(p):
        params = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}] if "{id}" in p else []
        return {"get": {"parameters": params, "responses": {"200": ok}}}
    return {"format": "openapi", "document": {"openapi": "3.0.3", "info": {"title": "store", "version": v},
                                              "paths": {p: operation(p) for p in paths}}}


def json_schema(properties):
    return {"format": "json_schema", "document": {"type": "object", "properties": properties}}


def rfc3339(days_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# store: OpenAPI documents, a breaking 2.0.0; events: JSON Schema documents, then none; team/web
# depends on store, on deprecated legacy (alone) and on ghost (unregistered); ping <-> pong.
BASE_REGISTRY = {"services": [
    {"name": "store", "versions": [entry("1.0.0", schema=openapi("1.0.0", ["/items/{id}"])),
                                   entry("1.1.0", schema=openapi("1.1.0", ["/items/{id}", "/items"]),
                                         instances=[{"id": "s1", "address": "10.0.1.1", "port": 80}]),
                                   entry("2.0.0", stage="beta", schema=openapi("2.0.0", ["/v2/items/{id}"]))]},
    {"name": "events", "versions": [entry("1.0.0", schema=json_schema({"a": {"type": "string"}})),
                                    entry("1.1.0", schema=json_schema({"a": {"type": "string"},
                                                                        "b": {"type": "integer"}})),
                                    entry("1.2.0")]},
    {"name": "team/web", "versions": [entry("1.0.0", deps=[("store", "^1.0.0"), ("legacy", "^1.0.0"),
                                                           ("ghost", "^1.0.0")])]},
    {"name": "legacy", "versions": [entry("1.0.0", stage="deprecated") |
                                    {"deprecated_at": rfc3339(-1), "deprecation_reason": "use store"}]},
    {"name": "ping", "versions": [entry("1.0.0", deps=[("pong", "^1.0.0")])]},
    {"name": "pong", "versions": [entry("1.0.0", deps=[("ping", "^1.0.0")])]}]}


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
