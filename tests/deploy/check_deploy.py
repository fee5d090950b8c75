"""The deployment files in deploy/ against the built daemons (ctest: check_deploy.py BUILD_DIR SOURCE_DIR):
  - deploy/roster.toml and the Kubernetes ConfigMap's roster.toml start real daemons (with the
    host-specific paths, addresses and token overridden on the command line, which wins);
  - every flag the systemd units and the Kubernetes containers pass is one the binary has, and
    the units pass `systemd-analyze verify` where systemd is installed;
  - the Dockerfile's runtime stage installs every package whose libraries the binaries load.
"""
import grp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

BUILD, SOURCE = (os.path.abspath(p) for p in sys.argv[1:3])
del sys.argv[1:3]
BINARIES = {"roster-server": os.path.join(BUILD, "upstream", "roster-server"),
            "roster-agent": os.path.join(BUILD, "agent", "roster-agent"),
            "rosterctl": os.path.join(BUILD, "cli", "rosterctl")}
DEPLOY = os.path.join(SOURCE, "deploy")
# In debian:12-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def read(path):
    with open(path) as f:
        return f.read()


def wait_for(path, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and read(path).strip():
            return
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited {proc.returncode}: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"{proc.args[0]} not ready in {timeout} s")


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


def flags_of(command):
    return [arg.split("=", 1)[0] for arg in command if arg.startswith("--")]


def help_text(binary, *subcommand):
    return subprocess.run([BINARIES[binary], *subcommand, "--help"], capture_output=True, text=True, timeout=10).stdout


class DeployFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="roster-deploy-")
        self.token = os.path.join(self.tmp, "token")
        with open(self.token, "w") as f:
            f.write("deploy-test-token\n")
        os.chmod(self.token, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, binary, config, *overrides):
        ready = os.path.join(self.tmp, binary + ".ready")
        proc = subprocess.Popen([BINARIES[binary], "--config", config, *overrides, "--ready-file", ready],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(ready, proc)
        return proc

    def run_pair(self, config, server_config=None):
        sock = os.path.join(self.tmp, "stream.sock")
        server = self.start("roster-server", server_config or config, "--listen", "127.0.0.1:0", "--stream",
                            "127.0.0.1:0", "--stream-unix", sock, "--data-dir", os.path.join(self.tmp, "data"),
                            "--token-file", self.token)
        try:
            agent = self.start("roster-agent", config, "--upstream", "unix:" + sock, "--arena",
                               f"deploy-test-{os.getpid()}", "--arena-group", grp.getgrgid(os.getgid()).gr_name,
                               "--cache-file", os.path.join(self.tmp, "agent.bin"), "--token-file", self.token,
                               "--http", "127.0.0.1:0", "--remove-on-exit")
            stop(agent)
            self.assertEqual(agent.returncode, 0, agent.stderr.read())
        finally:
            stop(server)

    def test_the_sample_config_starts_both_daemons(self):
        self.run_pair(os.path.join(DEPLOY, "roster.toml"))

    def test_the_kubernetes_manifests_config_and_flags(self):
        docs = list(yaml.safe_load_all(read(os.path.join(DEPLOY, "kubernetes", "roster-agent.yaml"))))
        config = os.path.join(self.tmp, "k8s.toml")
        with open(config, "w") as f:
            f.write(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["roster.toml"])
        self.run_pair(config, server_config=os.path.join(DEPLOY, "roster.toml"))
        for doc in docs:
            spec = doc["spec"]["template"]["spec"] if doc["kind"] == "DaemonSet" else doc.get("spec", {})
            for container in spec.get("containers", []):
                command = container["command"]
                words = [w for w in command[1:] if not w.startswith("--")][:1] if command[0] == "rosterctl" else []
                text = help_text(command[0], *words)
                for flag in flags_of(command):
                    self.assertIn(flag, text, f"{command}: {flag}")

    def test_the_systemd_units(self):
        for unit in ("roster-server", "roster-agent"):
            path = os.path.join(DEPLOY, "systemd", unit + ".service")
            text = read(path)
            exec_start = re.search(r"^ExecStart=(\S+)(.*)$", text, re.M)
            self.assertEqual(os.path.basename(exec_start.group(1)), unit)
            for flag in flags_of(exec_start.group(2).split()):
                self.assertIn(flag, help_text(unit), f"{unit}.service: {flag}")
            if shutil.which("systemd-analyze"):
                local = os.path.join(self.tmp, unit + ".service")
                with open(local, "w") as f:
                    f.write(text.replace(exec_start.group(1), BINARIES[unit]))
                out = subprocess.run(["systemd-analyze", "verify", local], capture_output=True, text=True, timeout=30)
                # It may warn about the host (no such user, no D-Bus); a problem in the unit names its file.
                problems = [l for l in out.stderr.splitlines() if local in l]
                self.assertEqual(problems, [], out.stderr)

    def test_the_image_installs_every_library_the_binaries_load(self):
        text = read(os.path.join(DEPLOY, "Dockerfile"))
        block = text[text.index("# runtime-packages:"):text.index("# end-runtime-packages")]
        listed = set(re.findall(r"\b(lib[a-z0-9.+-]+\d[a-z0-9.+-]*)\b", block))
        needed = set()
        for binary in BINARIES.values():
            for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
                m = re.search(r"=> (/\S+)", line)
                if not m:
                    continue
                real = os.path.realpath(m.group(1))
                for candidate in (m.group(1), real, "/usr" + m.group(1), re.sub(r"^/usr", "", real)):
                    out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                    if out.returncode == 0:
                        needed.add(out.stdout.split(":")[0])
                        break
        self.assertTrue(needed, "ldd found no packaged library")
        self.assertEqual(needed - BASE_IMAGE_PACKAGES - listed, set(), "missing from deploy/Dockerfile")


if __name__ == "__main__":
    unittest.main(verbosity=2)
