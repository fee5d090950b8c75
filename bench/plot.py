#!/usr/bin/env python3
"""Draws the benchmarks' results as PNGs (`make plots`; bench/README.md, "Pictures").

    plot.py [--out DIR] INPUT...

INPUT: Google Benchmark JSON (`--benchmark_out=FILE --benchmark_out_format=json`, as scripts/bench.sh
writes to bench/results/) or bench/ha_bench.py's `--out` JSON, or a folder of such files. What each
picture needs is found by benchmark name, whichever file it is in:

  lookup_cost.png        shm_bench lookup/{roster,absl,std}/N and lookup_dependent/{roster,absl}/N:
                         CPU time per lookup against the registry size
  write_to_visible.png   e2e_bench e2e/write_to_visible/reader_waits:{0,1} (its percentile counters)
                         and, when given, ha_bench.json's raw write -> visible samples (etcd store)
  fanout.png             e2e_bench e2e/fanout/N: one delta's latency to each of N agent connections

A missing or unreadable input, or a picture with nothing to draw, is reported on stderr and the
rest is drawn; the exit status is 1 only when no picture was written.
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

try:
    import matplotlib
except ImportError:
    sys.exit(f"plot.py: {sys.executable} has no matplotlib (Debian: apt-get install python3-matplotlib)")

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
from matplotlib import ticker  # noqa: E402

DPI = 90  # with FIGSIZE: 900 x 405 pixels, 60-100 KB per picture
FIGSIZE = (10, 4.5)
TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Run-name parts that say how a benchmark ran, not what it measured.
RUN_OPTION = re.compile(r"^(iterations|repeats|min_time|min_warmup_time|threads):"
                        r"|^(real_time|manual_time|process_time)$")
PERCENTILE_COUNTER = re.compile(r"^p(\d+(?:\.\d+)?)_us$")


def warn(message):
    print(f"plot.py: {message}", file=sys.stderr)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Results:
    """Every benchmark run of the inputs by name (`lookup/roster/100000`), with its file's context."""

    def __init__(self):
        self.runs = {}  # name -> [(benchmark entry, context)]
        self.ha = []  # (ha_bench.json contents, path)

    def load(self, path):
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            return warn(f"{path}: {e.strerror}; skipped")
        except json.JSONDecodeError as e:
            return warn(f"{path}: not JSON ({e}); skipped")
        if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
            context = data.get("context") if isinstance(data.get("context"), dict) else {}
            for b in data["benchmarks"]:
                self._add(b, context, path)
        elif isinstance(data, dict) and isinstance(data.get("roster"), dict) and isinstance(data.get("etcd"), dict):
            if self.ha:
                warn(f"{path}: another ha_bench.py result; the write → visible picture shows this one, not "
                     f"{self.ha[-1][1]}")
            self.ha.append((data, path))
        else:
            warn(f"{path}: neither Google Benchmark JSON (no \"benchmarks\" list) nor ha_bench.py's; skipped")

    def _add(self, b, context, path):
        if not isinstance(b, dict) or not isinstance(b.get("run_name", b.get("name")), str):
            return warn(f"{path}: a benchmark entry without a name; skipped")
        name = "/".join(p for p in b.get("run_name", b.get("name")).split("/") if not RUN_OPTION.match(p))
        if b.get("error_occurred"):
            return warn(f"{path}: {name} reported an error ({b.get('error_message', '?')}); skipped")
        # Repetitions: each one's own entry; aggregates only where a run kept nothing else
        # (--benchmark_report_aggregates_only), and then only the median.
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            return
        self.runs.setdefault(name, []).append((b, context))

    def entries(self, name):
        """The entries of `name`: its repetitions, or its median where only aggregates were kept."""
        found = self.runs.get(name, [])
        iterations = [e for e in found if e[0].get("run_type") != "aggregate"]
        return iterations or found

    def names(self, pattern):
        """{name: match} of the names matching `pattern` (a regex on the whole name)."""
        return {n: m for n in self.runs if (m := re.fullmatch(pattern, n))}


def cpu_ns(entry):
    """The benchmark thread's CPU time per iteration, or None: on a shared machine the wall time of
    a single-threaded loop also counts the time other processes held its CPU."""
    b = entry[0]
    return b["cpu_time"] * TO_NS[b.get("time_unit", "ns")] if is_number(b.get("cpu_time")) and \
        b.get("time_unit", "ns") in TO_NS else None


def caption(contexts, what):
    """A title: what, and the machines and dates of the runs it shows (from the JSON's context)."""
    dates = sorted({str(c["date"])[:16].replace("T", " ") for c in contexts if c.get("date")})
    machines = sorted({f"{c['host_name']}, {c.get('num_cpus', '?')} CPUs at {c.get('mhz_per_cpu', '?')} MHz"
                       for c in contexts if c.get("host_name")})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates else "date unknown"
    return f"{what}\n{'; '.join(machines) or 'machine unknown'}; run {when}"


def log_scale(ax, which):
    """A log `which` ("x" or "y") axis labelled 0.5, 2, 100 (not 5×10⁻¹), minor ticks too where it spans little."""
    getattr(ax, f"set_{which}scale")("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def count_ticks(ax, counts):
    """A log x axis of counts (registry sizes, connections) ticked at the measured ones: 10k, 1M."""
    ax.set_xscale("log")
    ax.set_xticks(counts, [f"{c / 1e6:g}M" if c >= 1e6 else f"{c / 1e3:g}k" if c >= 1e3 else f"{c:g}" for c in counts])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def save(fig, out_dir, file_name):
    path = os.path.join(out_dir, file_name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KB)")
    return path


def lookup_series(results, form):
    """{implementation: [(size, median ns, least, greatest)]} of `form` (lookup, lookup_dependent)."""
    series = {}
    for name, m in results.names(rf"{form}/(\w+)/(\d+)").items():
        times = [t for t in map(cpu_ns, results.entries(name)) if t is not None]
        if len(times) < len(results.entries(name)):
            warn(f"lookup_cost.png: {name}: cpu_time or time_unit is not a number / ns, us, ms, s; "
                 f"{'the run left out' if times else 'left out'}")
        if times:
            series.setdefault(m[1], []).append((int(m[2]), statistics.median(times), min(times), max(times)))
    return series


def plot_lookup_cost(results, out_dir):
    forms = [("lookup", "independent keys (shuffled, back to back)"),
             ("lookup_dependent", "dependent keys (each from the previous result)")]
    peers = {"roster": ("roster (shared-memory arena)", "C0", "o"), "absl": ("absl::flat_hash_map", "C1", "s"),
             "std": ("std::unordered_map", "C2", "^")}
    drawn = [(form, label, series) for form, label in forms if (series := lookup_series(results, form))]
    if not drawn:
        return warn("lookup_cost.png: no lookup/ or lookup_dependent/ benchmarks in the inputs (shm_bench "
                    "--benchmark_filter='lookup/|lookup_dependent/'); not written")
    fig, axes = plt.subplots(1, len(drawn), figsize=FIGSIZE, sharey=True, squeeze=False)
    for ax, (form, label, series) in zip(axes[0], drawn):
        count_ticks(ax, sorted({p[0] for points in series.values() for p in points}))
        for impl in sorted(series, key=lambda i: (i != "roster", i)):
            points = sorted(series[impl])
            sizes, medians = [p[0] for p in points], [p[1] for p in points]
            spread = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
            impl_label, color, marker = peers.get(impl, (impl, None, "x"))
            ax.errorbar(sizes, medians, yerr=spread, label=impl_label, color=color, marker=marker, capsize=3)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("registry size (services, log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylim(bottom=0)  # shared by the panels: set once both are drawn
    axes[0][0].set_ylabel("CPU time per lookup (ns)\nmedian of repetitions, bars: min to max")
    contexts = [context for form, _, _ in drawn for name in results.names(rf"{form}/(\w+)/(\d+)")
                for _, context in results.entries(name)]
    fig.suptitle(caption(contexts, "Lookup by name: roster against in-process hash maps (shm_bench)"), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "lookup_cost.png")


def percentile_points(counters, prefix):
    """[(percentile, microseconds)] of the `<prefix>p<q>_us` counters, by percentile."""
    points = []
    for key, value in counters.items():
        if key.startswith(prefix) and (m := PERCENTILE_COUNTER.match(key[len(prefix):])) and is_number(value):
            points.append((float(m[1]), value))
    return sorted(points)


def draw_distribution(ax, repetitions, **style):
    """Latency (x, log) against the share of samples at or below it (y), a CDF through the percentiles:
    at each percentile the median of the repetitions, shaded from their least to their greatest."""
    by_percentile = {}
    for points in repetitions:
        for q, us in points:
            by_percentile.setdefault(q, []).append(max(us, 0.01))  # floored for the log scale
    qs = sorted(by_percentile)
    ax.plot([statistics.median(by_percentile[q]) for q in qs], qs, marker=".", **style)
    if len(repetitions) > 1:
        ax.fill_betweenx(qs, [min(by_percentile[q]) for q in qs], [max(by_percentile[q]) for q in qs],
                         color=style.get("color"), alpha=0.12, linewidth=0)


def finish_distribution_panel(ax, title, xlabel):
    """Axes, grid and legend of a percentile-of-writes panel."""
    log_scale(ax, "x")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("percentile of writes")
    ax.set_ylim(0, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the curves fill the panel


def plot_write_to_visible(results, out_dir):
    e2e = sorted(results.names(r"e2e/write_to_visible/reader_waits:(\d)").items())
    if not e2e:
        warn("write_to_visible.png: no e2e/write_to_visible benchmark in the inputs (e2e_bench "
             "--benchmark_filter=write_to_visible); drawing what else there is")
    if not e2e and not results.ha:
        return warn("write_to_visible.png: nothing to draw; not written")
    fig, axes = plt.subplots(1, (1 if e2e else 0) + (1 if results.ha else 0), figsize=(FIGSIZE[0], FIGSIZE[1] + 1),
                             squeeze=False)
    axes = list(axes[0])
    contexts = []
    if e2e:
        ax = axes.pop(0)
        readers = {"0": ("reader spinning on Views", "C0"), "1": ("reader in wait_for_change", "C1")}
        for name, m in e2e:
            reader, color = readers.get(m[1], (f"reader_waits:{m[1]}", None))
            entries = results.entries(name)
            contexts += [context for _, context in entries]
            writes = sum(int(counters.get("writes", 0)) for counters, _ in entries)
            for prefix, start, line in (("", "ack", "-"), ("send_", "send", "--")):
                repetitions = [percentile_points(counters, prefix) for counters, _ in entries]
                if min(len(points) for points in repetitions) < 3:
                    warn(f"write_to_visible.png: {name} has only {min(map(len, repetitions))} {prefix}p*_us counters "
                         f"(an e2e_bench from before the distribution counters?)")
                label = f"{reader}, {start} → visible ({writes} writes in {len(entries)} runs)"
                draw_distribution(ax, repetitions, color=color, linestyle=line, label=label)
        finish_distribution_panel(ax, "SQLite store, one agent, this process reading shm (e2e_bench)",
                                  "write → visible in the arena (µs, log scale)")
    for data, path in results.ha[-1:]:  # one run's samples, not a mixture
        ax = axes.pop(0)
        series = [(data["etcd"].get("watch_other_member"), "etcd put → watch event on another member", "C2"),
                  (data["roster"].get("via_other_server"), "roster PUT to A → visible, agent on B", "C0"),
                  (data["roster"].get("via_same_server"), "roster PUT to A → visible, agent on A", "C1")]
        for samples, label, color in series:
            if not isinstance(samples, list) or not samples or not all(is_number(v) and v >= 0 for v in samples):
                warn(f"write_to_visible.png: {path}: no list of times in seconds for \"{label}\"; left out")
                continue
            ms = sorted(s * 1e3 for s in samples)
            ax.plot(ms, [100 * (i + 1) / len(ms) for i in range(len(ms))], color=color,
                    label=f"{label} ({len(ms)} writes)")
        finish_distribution_panel(ax, "etcd store (3 members), 2 servers; from the send (ha_bench.py)",
                                  "write → visible (ms, log scale)")
        contexts.append({"date": data.get("started")})  # ha_bench.py records no machine
    fig.suptitle(caption(contexts, "Write → visible to a reader (distribution)"), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "write_to_visible.png")


def plot_fanout(results, out_dir):
    runs = sorted((int(m[1]), name) for name, m in results.names(r"e2e/fanout/(\d+)").items())
    if not runs:
        return warn("fanout.png: no e2e/fanout/N benchmark in the inputs (e2e_bench --benchmark_filter=fanout); "
                    "not written")
    fig, ax = plt.subplots(figsize=FIGSIZE)
    contexts = [context for _, name in runs for _, context in results.entries(name)]
    lines = [("p50", "median", "C0", "-"), ("p99", "p99", "C3", "-"), ("p100", "max", "C7", ":"),
             ("spread_p50", "after the first receipt: median", "C0", "--"),
             ("spread_p99", "after the first receipt: p99", "C3", "--")]
    for key, label, color, style in lines:
        points = []
        for agents, name in runs:
            values = [e[0][key + "_us"] for e in results.entries(name) if is_number(e[0].get(key + "_us"))]
            if values:  # floored for the log scale: a spread's median can be 0
                points.append((agents, max(statistics.median(values) / 1e3, 1e-3)))
        if points:
            ax.plot([a for a, _ in points], [ms for _, ms in points], color=color, linestyle=style, marker="o",
                    label=label)
    band = [(agents, [e[0] for e in results.entries(name)]) for agents, name in runs]
    band = [(a, statistics.median(b["p10_us"] for b in es) / 1e3, statistics.median(b["p90_us"] for b in es) / 1e3)
            for a, es in band if all(is_number(b.get("p10_us")) and is_number(b.get("p90_us")) for b in es)]
    if band:
        ax.fill_between([a for a, _, _ in band], [lo for _, lo, _ in band], [hi for _, _, hi in band], color="C0",
                        alpha=0.15, label="p10 to p90")
    count_ticks(ax, [agents for agents, _ in runs])
    log_scale(ax, "y")
    ax.set_xlabel("agent connections receiving the delta (log scale)")
    ax.set_ylabel("write sent → delta received (ms, log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(caption(contexts, "Fan-out: one write's delta to N agent connections (e2e_bench, kernel receive "
                                   "timestamps)"), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "fanout.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="benchmark JSON files, or folders of them")
    parser.add_argument("--out", default="bench/plots", help="folder for the PNGs (default: bench/plots)")
    args = parser.parse_args()
    results = Results()
    for path in args.inputs:
        files = sorted(glob.glob(os.path.join(path, "*.json"))) if os.path.isdir(path) else [path]
        if not files:
            warn(f"{path}: no .json file in this folder")
        for f in files:
            results.load(f)
    os.makedirs(args.out, exist_ok=True)
    written = [p for p in (plot_lookup_cost(results, args.out), plot_write_to_visible(results, args.out),
                           plot_fanout(results, args.out)) if p]
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
