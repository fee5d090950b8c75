#!/usr/bin/env python3
"""bench/plot.py on the small fixtures in tests/bench/data (ctest: test_plot.py SOURCE_DIR): every
picture drawn from complete inputs, and each missing, broken or failed input reported by name while
the rest is still drawn. Times nothing."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.path.abspath(sys.argv.pop(1))
PLOT = os.path.join(SOURCE, "bench", "plot.py")
DATA = os.path.join(SOURCE, "tests", "bench", "data")
PICTURES = ["lookup_cost.png", "write_to_visible.png", "fanout.png"]


class PlotTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-plot-test-")
        self.out = os.path.join(self.dir, "plots")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def plot(self, *inputs):
        return subprocess.run([sys.executable, PLOT, "--out", self.out, *inputs], capture_output=True, text=True,
                              timeout=120)

    def written(self):
        return sorted(os.listdir(self.out)) if os.path.isdir(self.out) else []

    def assert_png(self, name):
        path = os.path.join(self.out, name)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
        self.assertLess(os.path.getsize(path), 150 * 1024, f"{name} is larger than the README should carry")

    def test_every_picture_from_a_folder_of_results(self):
        done = self.plot(DATA)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.written(), sorted(PICTURES))
        for name in PICTURES:
            self.assert_png(name)
            self.assertIn(os.path.join(self.out, name), done.stdout)
        # The fixture's failed benchmark is named and left out, not drawn as zero.
        self.assertIn("e2e/fresh_agent_load/100000 reported an error (agent never caught up)", done.stderr)

    def test_a_missing_file_is_named_and_the_rest_drawn(self):
        missing = os.path.join(self.dir, "shm_bench.json")
        done = self.plot(missing, os.path.join(DATA, "e2e_bench.json"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"{missing}: No such file or directory", done.stderr)
        self.assertIn("lookup_cost.png: no lookup/ or lookup_dependent/ benchmarks", done.stderr)
        self.assertEqual(self.written(), ["fanout.png", "write_to_visible.png"])

    def test_the_ha_samples_alone_still_give_the_write_to_visible_picture(self):
        done = self.plot(os.path.join(DATA, "ha_bench.json"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("no e2e/write_to_visible benchmark", done.stderr)
        self.assertIn("fanout.png: no e2e/fanout/N benchmark", done.stderr)
        self.assertEqual(self.written(), ["write_to_visible.png"])
        self.assert_png("write_to_visible.png")

    def test_broken_and_foreign_files_draw_nothing_and_fail(self):
        broken = os.path.join(self.dir, "broken.json")
        with open(broken, "w") as f:
            f.write('{"benchmarks": [')
        foreign = os.path.join(self.dir, "foreign.json")
        with open(foreign, "w") as f:
            f.write('{"name": "not a benchmark"}')
        empty = os.path.join(self.dir, "empty")
        os.mkdir(empty)
        done = self.plot(broken, foreign, empty)
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{broken}: not JSON", done.stderr)
        self.assertIn(f"{foreign}: neither Google Benchmark JSON", done.stderr)
        self.assertIn(f"{empty}: no .json file in this folder", done.stderr)
        self.assertEqual(self.written(), [])

    def test_entries_with_broken_fields_are_named_and_left_out(self):
        hostile = os.path.join(self.dir, "hostile.json")
        with open(hostile, "w") as f:
            f.write('{"context": {"date": 7}, "benchmarks": ['
                    '  {"name": "lookup/roster/100000", "run_type": "iteration", "real_time": 5, "cpu_time": "fast",'
                    '   "time_unit": "ns"},'
                    '  {"name": "lookup/absl/100000", "run_type": "iteration", "real_time": 5, "cpu_time": 5,'
                    '   "time_unit": "fortnights"},'
                    '  {"name": "e2e/fanout/100/iterations:20/real_time", "run_type": "iteration", "real_time": NaN,'
                    '   "cpu_time": 1, "time_unit": "ms"},'
                    '  {"run_type": "iteration"},'
                    '  {"name": "e2e/fanout/1000/iterations:20/real_time", "run_type": "iteration", "real_time": 9,'
                    '   "cpu_time": 1, "time_unit": "ms", "p50_us": "slow", "p99_us": 2000, "p10_us": null}]}')
        ha = os.path.join(self.dir, "ha.json")
        with open(ha, "w") as f:
            f.write('{"etcd": {"watch_other_member": ["1ms"]}, "roster": {"via_other_server": [0.002, -1],'
                    ' "via_same_server": [0.002, 0.003]}}')
        done = self.plot(hostile, ha)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("lookup/roster/100000: cpu_time or time_unit is not a number", done.stderr)
        self.assertIn("lookup/absl/100000: cpu_time or time_unit is not a number", done.stderr)
        self.assertIn("lookup_cost.png: no lookup/ or lookup_dependent/ benchmarks", done.stderr)
        self.assertIn(f"{hostile}: a benchmark entry without a name", done.stderr)
        self.assertIn(f'{ha}: no list of times in seconds for "etcd put', done.stderr)
        self.assertIn(f'{ha}: no list of times in seconds for "roster PUT to A → visible, agent on B"', done.stderr)
        # What is left is drawn: fan-out (the p99 at 1,000; 100 has no counters), the agent on A's samples.
        self.assertEqual(self.written(), ["fanout.png", "write_to_visible.png"])

    def test_results_from_before_the_distribution_counters_are_drawn_with_a_warning(self):
        old = os.path.join(self.dir, "e2e_old.json")
        with open(old, "w") as f:
            f.write('{"context": {"date": "2026-11-25T23:00:00+00:00", "host_name": "vm", "num_cpus": 2},'
                    ' "benchmarks": [{"name": "e2e/write_to_visible/reader_waits:0/iterations:2/real_time",'
                    ' "run_name": "e2e/write_to_visible/reader_waits:0/iterations:2/real_time",'
                    ' "run_type": "iteration", "real_time": 300, "time_unit": "ms",'
                    ' "p50_us": 9.4, "p99_us": 35.0, "send_p50_us": 338.0, "send_p99_us": 425.0, "writes": 2000}]}')
        done = self.plot(old)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("has only 2 p*_us counters", done.stderr)
        self.assertEqual(self.written(), ["write_to_visible.png"])


if __name__ == "__main__":
    unittest.main()
