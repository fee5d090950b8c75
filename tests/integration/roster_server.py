"""One roster-server as a real process for a test: a temp SQLite data dir, HTTP and the agent
stream on ephemeral loopback ports (the stream on a Unix socket too), the addresses read from its
--ready-file. No roster Python
module needed (test_end_to_end.Cluster is the one with an agent)."""
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from etcd_cluster import die_with_parent

# The daemons read a token from ROSTER_TOKEN: a test gives one only where it means to.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "ROSTER_TOKEN"}


class RosterServer:
    def __init__(self, build, token=None, extra=()):
        self.token = token
        self.tmp = tempfile.mkdtemp(prefix="roster-server-")
        ready = os.path.join(self.tmp, "ready")
        self.stream_unix = os.path.join(self.tmp, "stream.sock")
        args = [os.path.join(build, "upstream", "roster-server"), "--listen", "127.0.0.1:0",
                "--stream", "127.0.0.1:0", "--stream-unix", self.stream_unix,
                "--data-dir", os.path.join(self.tmp, "data"), "--ready-file", ready, *extra]
        if token:
            args += ["--token", token]
        self.log_path = os.path.join(self.tmp, "server.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=CLEAN_ENV,
                                            preexec_fn=die_with_parent)
        deadline = time.time() + 20
        while not (os.path.exists(ready) and read_text(ready).strip()):
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                raise AssertionError("roster-server did not start:\n" + self.log())
            time.sleep(0.02)
        fields = dict(part.split("=", 1) for part in read_text(ready).split()[1:])
        self.http, self.stream = fields["http"], fields["stream"]

    def log(self):
        return read_text(self.log_path) if os.path.exists(self.log_path) else ""

    def request(self, method, target, body=None, token=None, headers=None):
        """(status, content type, body bytes). `body` may be bytes or a JSON value; the server's
        token is sent unless `token` is given ("" sends none). The answer's header fields are kept
        in last_headers."""
        host, port = self.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = dict(headers or {})
        token = self.token if token is None else token
        if token:
            headers["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            self.last_headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_text(path):
    with open(path) as f:
        return f.read()


def quote(segment):
    """One path segment, percent-encoded ('/' included)."""
    return urllib.parse.quote(segment, safe="")


# A Pact v2 document: `consumer` GETs `path` from `provider` and reads an id and a name.
def pact(consumer, provider, path):
    return {"consumer": {"name": consumer}, "provider": {"name": provider},
            "interactions": [{"description": "get " + path, "request": {"method": "GET", "path": path},
                              "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                                           "body": {"id": "1", "name": "x"}}}],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}}
