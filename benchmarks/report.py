"""Run every benchmark and print one markdown table of ratios ours / reference.

    python benchmarks/report.py                 # runs python -m pytest benchmarks/
    python benchmarks/report.py --readme        # ... and puts the table in README.md
    python benchmarks/report.py --from-json F   # report on an earlier --json F
    python benchmarks/report.py --quick         # smoke test (KMEANS_BENCH_QUICK=1)
    python benchmarks/report.py -- -k quantize  # pass options on to pytest

The benchmarks (``benchmarks/test_bench_*.py``) record what they measured in
pytest-benchmark's JSON; this script pairs each of our runs with each
reference of its group and prints, per pair, the best time of each, the time
ratio, the quality (inertia or MSE) of each and its ratio, and the issue's
target for that row with "met" or "NOT met" as measured. It also writes a bar
chart of the ratios (``benchmarks/report.png``, matplotlib Agg). Ratios below
1 mean ours is faster (time) or better (inertia, MSE).
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
CHART = HERE / "report.png"
START, END = "<!-- report:start -->", "<!-- report:end -->"
N_THREADS = 2  # as in conftest.py

# The targets of issue 10, each checked on the rows it names.
KMEANS_SPEEDUP = 10.0  # x faster than scikit-learn lloyd at k = 64 and 256
KMEANS_INERTIA_RATIO = 1.001  # same local optimum, to rounding
QUANTIZE_MSE = 14.6  # china.jpg, k = 256: no more than 1% above issue 6's
QUANTIZE_TIME_RATIO = 0.5  # of pngquant's whole process, every photo and k
MINIBATCH_SPEEDUP = 3.0
BIG_TIME_RATIO = 0.6
BIG_RSS_MIB = 1024.0
BATCH_TIME_RATIO = 0.5
STARTUP_SECONDS = 0.4  # warm numba cache
COLD_SECONDS = 5.0  # empty numba cache: the first run after install

# Benchmarks whose every round uses the next seed, the same seeds for both.
SEEDED_BENCHES = ("minibatch-fit",)

QUICK_WARNING = ("**QUICK MODE (KMEANS_BENCH_QUICK=1): small images and k, one or "
                 "two rounds. These timings mean nothing.**")


@dataclass
class Row:
    bench: str
    case: str
    reference: str | None
    ours: dict
    ref: dict | None
    target: str = ""
    met: bool | None = None
    time_limit: float | None = None  # the target's largest time ratio, if any
    missed: list = field(default_factory=list)  # the parts of the target not met
    details: list = field(default_factory=list)

    @property
    def time_stat(self):
        """The time compared: the best round, or for benchmarks whose rounds
        use different seeds (mini-batch) the mean over the same seeds."""
        return "mean" if self.bench in SEEDED_BENCHES else "min"

    @property
    def ours_time(self):
        return self.ours["stats"][self.time_stat]

    @property
    def ref_time(self):
        return None if self.ref is None else self.ref["stats"][self.time_stat]

    @property
    def time_ratio(self):
        return None if self.ref is None else self.ours_time / self.ref_time

    def quality(self, which):
        bench = self.ours if which == "ours" else self.ref
        return None if bench is None else bench["extra_info"].get("quality")

    @property
    def quality_name(self):
        return self.ours["extra_info"].get("quality_name")

    @property
    def quality_ratio(self):
        ours, ref = self.quality("ours"), self.quality("ref")
        if ours is None or ref is None or ref == 0:
            return None
        return ours / ref


# -- running -------------------------------------------------------------------


def run_benchmarks(json_path, quick, pytest_args):
    """python -m pytest benchmarks/ --benchmark-json=json_path; returns its code."""
    env = dict(os.environ)
    if quick:
        env["KMEANS_BENCH_QUICK"] = "1"
    cmd = [sys.executable, "-m", "pytest", str(HERE), f"--benchmark-json={json_path}",
           "-p", "no:cacheprovider", *pytest_args]
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    # pytest's own output goes to stderr, so stdout holds only the report.
    return subprocess.run(cmd, env=env, stdout=sys.stderr, check=False).returncode


# -- pairing and targets ------------------------------------------------------


def _k(bench):
    info = bench["extra_info"]
    if "k" in info:
        return int(info["k"])
    match = re.search(r"k=(\d+)", info.get("case", ""))
    return int(match.group(1)) if match else None


def build_rows(benchmarks):
    """One Row per (our run, reference) of a group; a lone run of ours too."""
    groups = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if "bench" not in info:
            continue
        groups.setdefault((info["bench"], info["case"]), []).append(bench)
    rows = []
    for (name, case), members in groups.items():
        ours = [b for b in members if b["extra_info"]["role"] == "ours"]
        refs = [b for b in members if b["extra_info"]["role"] != "ours"]
        if not ours:
            continue
        if not refs:
            rows.append(Row(name, case, None, ours[0], None))
        for ref in refs:
            rows.append(Row(name, case, ref["extra_info"]["impl"], ours[0], ref))
    for row in rows:
        check_target(row)
    return sorted(rows, key=_row_order)


BENCH_ORDER = ("kmeans-fit", "minibatch-fit", "quantize", "cli-12mp", "cli-batch",
               "startup")
REFERENCE_ORDER = ("sklearn-lloyd", "sklearn-elkan", "sklearn", "pngquant",
                   "pillow-mediancut")


def _row_order(row):
    """Benchmarks in BENCH_ORDER, then photo, then k, then REFERENCE_ORDER."""

    def rank(order, name):
        return order.index(name) if name in order else len(order)

    return (rank(BENCH_ORDER, row.bench), row.case.split(" ")[0], _k(row.ours) or 0,
            rank(REFERENCE_ORDER, row.reference), row.reference or "")


def _fmt(x, digits=3):
    """A number for the table: ``digits`` significant digits, commas from 1000."""
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.1e}"
    return f"{x:.{digits}g}"


def _check(row, target, time_limit=None, **parts):
    """Set the target of ``row``; it is met when every part is True."""
    row.target = target
    row.time_limit = time_limit
    row.missed = [name for name, ok in parts.items() if not ok]
    row.met = not row.missed


def check_target(row):
    """Fill in the target, met / missed and details of ``row`` from what ran."""
    o = row.ours["extra_info"]
    r = row.ref["extra_info"] if row.ref is not None else {}
    k = _k(row.ours)
    ratio, q_ratio = row.time_ratio, row.quality_ratio
    ours_q, ref_q = row.quality("ours"), row.quality("ref")

    if row.bench == "kmeans-fit" and row.ref is not None:
        diff = r.get("max_center_diff")
        n_ours, n_ref = r.get("n_iter_ours"), r.get("n_iter")
        row.details.append(f"n_iter {n_ours} / {n_ref}")
        row.details.append(f"max centre diff {_fmt(diff)}")
        gap = r.get("sklearn_f32_vs_f64_center_diff")
        if gap is not None:
            row.details.append(f"(sklearn float32 vs float64: {_fmt(gap)})")
        if row.reference == "sklearn-lloyd" and k in (64, 256):
            limit = 1 / KMEANS_SPEEDUP
            _check(row, f">= {KMEANS_SPEEDUP:g}x faster, inertia within "
                   f"{KMEANS_INERTIA_RATIO - 1:.1%}", limit,
                   **{f"time <= {limit:g}x": ratio <= limit,
                      "same inertia": q_ratio is not None
                      and q_ratio <= KMEANS_INERTIA_RATIO})
    elif row.bench == "quantize" and row.ref is not None:
        row.details.append(f"PSNR {_fmt(o.get('psnr'))} / {_fmt(r.get('psnr'))} dB")
        row.details.append(f"colours {o.get('n_colors_out')} / {r.get('n_colors_out')}")
        if row.reference == "pngquant":
            limit = QUANTIZE_TIME_RATIO
            parts = {"MSE < pngquant's": ours_q < ref_q,
                     f"time <= {limit:g}x": ratio <= limit}
            target = f"lower MSE in <= {limit:g}x pngquant's time"
            if k == 256 and row.case.startswith("china"):
                parts[f"MSE <= {QUANTIZE_MSE:g}"] = ours_q <= QUANTIZE_MSE
                target = f"MSE <= {QUANTIZE_MSE:g} in <= {limit:g}x pngquant's time"
            _check(row, target, limit, **parts)
    elif row.bench == "minibatch-fit" and row.ref is not None:
        n = len(o.get("inertias", []))
        row.details.append(f"mean inertia of {n} seeds")
        limit = 1 / MINIBATCH_SPEEDUP
        _check(row, f">= {MINIBATCH_SPEEDUP:g}x faster at <= inertia", limit,
               **{f"time <= {limit:.3g}x": ratio <= limit,
                  "inertia <= reference": q_ratio is not None and q_ratio <= 1})
    elif row.bench == "cli-12mp" and row.ref is not None:
        rss = o.get("peak_rss_mib")
        row.details.append(f"peak RSS {_fmt(rss)} / {_fmt(r.get('peak_rss_mib'))} MiB")
        row.details.append(f"PSNR {_fmt(o.get('psnr'))} / {_fmt(r.get('psnr'))} dB")
        if k == 256:
            _check(row, f"<= {BIG_TIME_RATIO:g}x time, lower MSE, peak RSS <= "
                   f"{BIG_RSS_MIB / 1024:g} GiB", BIG_TIME_RATIO,
                   **{f"time <= {BIG_TIME_RATIO:g}x": ratio <= BIG_TIME_RATIO,
                      "lower MSE": ours_q < ref_q,
                      f"RSS <= {BIG_RSS_MIB / 1024:g} GiB":
                          rss is not None and rss <= BIG_RSS_MIB})
    elif row.bench == "cli-batch" and row.ref is not None:
        row.details.append(f"{o.get('n_files')} files, {_fmt(o.get('megapixels'))} MP")
        _check(row, f"<= {BATCH_TIME_RATIO:g}x pngquant once per file, lower MSE",
               BATCH_TIME_RATIO, **{f"time <= {BATCH_TIME_RATIO:g}x":
                                    ratio <= BATCH_TIME_RATIO,
                                    "lower MSE": ours_q < ref_q})
    elif row.bench == "startup":
        cold = o.get("cold_seconds")
        row.details.append(f"cold cache (first run): {_fmt(cold)} s")
        _check(row, f"warm <= {STARTUP_SECONDS:g} s, cold <= {COLD_SECONDS:g} s",
               **{f"warm <= {STARTUP_SECONDS:g} s": row.ours_time <= STARTUP_SECONDS,
                  f"cold <= {COLD_SECONDS:g} s": cold is not None
                  and cold <= COLD_SECONDS,
                  "notice on stderr": bool(o.get("cold_notice"))})


# -- output ---------------------------------------------------------------------


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions():
    import numba
    import numpy
    import PIL
    import sklearn

    parts = [f"Python {platform.python_version()}", f"numpy {numpy.__version__}",
             f"numba {numba.__version__}", f"scikit-learn {sklearn.__version__}",
             f"Pillow {PIL.__version__}"]
    exe = shutil.which("pngquant")
    if exe:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             check=False).stdout.split()
        parts.append(f"pngquant {out[0] if out else '?'}")
    return ", ".join(parts)


def render(rows, data):
    """The report as markdown: machine and date, then one table."""
    when = data.get("datetime", "")
    try:
        when = dt.datetime.fromisoformat(when).astimezone(dt.timezone.utc)
        when = when.strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    quick = any(row.ours["extra_info"].get("quick") for row in rows)
    header = (
        "| Benchmark | Case | Reference | Ours (s) | Ref (s) | Time ours/ref "
        "| Quality ours / ref | Quality ours/ref | Target | Met | Details |"
    )
    machine = (
        f"Measured {when} on {cpu_model()} ({os.cpu_count()} logical cores), "
        f"{N_THREADS} threads for every implementation; {versions()}."
    )
    how = (
        "Times are the best of the timed rounds after a warm-up round (compile "
        "time excluded), except for mini-batch, where every round uses another "
        "seed: there they are the mean over the same seeds for both, and the "
        "inertia the mean over 20 seeds; pngquant and compress.py are timed as "
        "whole processes, "
        "`quantize`, Pillow and the estimators in process. Ratios are ours / "
        "reference: below 1 means ours is faster or has the lower inertia / MSE. "
        "Details list ours / reference."
    )
    lines = []
    if quick:
        lines += [QUICK_WARNING, ""]
    lines += [machine, "", how, "", header,
              "|---|---|---|---:|---:|---:|---:|---:|---|---|---|"]
    for row in rows:
        quality = "-"
        if row.quality("ours") is not None:
            quality = f"{row.quality_name} {_fmt(row.quality('ours'), 4)}"
            if row.ref is not None:
                quality += f" / {_fmt(row.quality('ref'), 4)}"
        met = {True: "met", None: ""}.get(row.met)
        if row.met is False:
            met = f"**NOT met** (fails: {', '.join(row.missed)})"
        lines.append(
            f"| {row.bench} | {row.case} | {row.reference or '-'} "
            f"| {_fmt(row.ours_time)} | {_fmt(row.ref_time)} "
            f"| {_fmt(row.time_ratio)} | {quality} | {_fmt(row.quality_ratio, 4)} "
            f"| {row.target or '-'} | {met} | {'; '.join(row.details)} |"
        )
    n_targets = sum(row.met is not None for row in rows)
    n_met = sum(bool(row.met) for row in rows)
    lines += ["", f"Targets met: {n_met} of {n_targets} rows with a target."]
    return "\n".join(lines)


def chart(rows, path):
    """Bar chart of the time and quality ratios, one bar per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row.time_ratio is not None]
    if not rows:
        return None
    labels = [f"{row.bench} {row.case} vs {row.reference}" for row in rows]
    colours = ["tab:green" if row.met else "tab:red" if row.met is False
               else "tab:gray" for row in rows]
    fig, (ax_t, ax_q) = plt.subplots(
        1, 2, figsize=(13, 0.3 * len(rows) + 1.8), sharey=True,
        gridspec_kw={"width_ratios": [3, 2]},
    )
    y = range(len(rows))
    ax_t.barh(y, [row.time_ratio for row in rows], color=colours)
    ax_t.set_xscale("log")
    ax_t.axvline(1, color="black", lw=0.8)
    limits = [(i, row.time_limit) for i, row in zip(y, rows) if row.time_limit]
    if limits:
        ax_t.scatter([v for _, v in limits], [i for i, _ in limits], marker="|",
                     s=250, color="black", zorder=3, label="target")
        ax_t.legend(loc="lower right", fontsize=7)
    ax_t.set_xlabel("time ours / reference (log; < 1: ours faster)")
    ax_t.set_yticks(list(y), labels, fontsize=7)
    ax_t.invert_yaxis()
    q = [row.quality_ratio if row.quality_ratio is not None else 0 for row in rows]
    ax_q.barh(y, q, color=colours)
    ax_q.axvline(1, color="black", lw=0.8)
    lo = min((v for v in q if v > 0), default=1)
    ax_q.set_xlim(min(0.9, lo * 0.98), max(max(q) * 1.02, 1.1))
    ax_q.set_xlabel("inertia or MSE ours / reference (< 1: ours better)")
    title = ("kmeans_core vs scikit-learn, pngquant, Pillow "
             "(green: target met, red: not met, grey: no target)")
    if any(row.ours["extra_info"].get("quick") for row in rows):
        title = "QUICK MODE, timings meaningless: " + title
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def update_readme(markdown, path=README):
    """Put the report between the START and END markers of the README."""
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{markdown}\n{END}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-json", type=Path,
                        help="report on this pytest-benchmark JSON instead of running")
    parser.add_argument("--json", type=Path,
                        help="keep the pytest-benchmark JSON of the run here")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: KMEANS_BENCH_QUICK=1 (timings meaningless)")
    parser.add_argument("--chart", type=Path, default=CHART,
                        help="bar chart PNG (default: benchmarks/report.png)")
    parser.add_argument("--readme", action="store_true",
                        help="also write the table into benchmarks/README.md")
    parser.add_argument("pytest_args", nargs="*", help="after --: options for pytest")
    args = parser.parse_args(argv)

    code = 0
    if args.from_json is not None:
        json_path = args.from_json
    else:
        json_path = args.json or Path(tempfile.mkdtemp()) / "benchmarks.json"
        code = run_benchmarks(json_path, args.quick, args.pytest_args)
        if not json_path.exists():
            print(f"pytest exited with {code}; no {json_path}", file=sys.stderr)
            return code or 1
    data = json.loads(json_path.read_text())
    rows = build_rows(data["benchmarks"])
    markdown = render(rows, data)
    print(markdown)
    if chart(rows, args.chart):
        print(f"\nchart: {args.chart}", file=sys.stderr)
    if args.readme:
        update_readme(markdown)
        print(f"table written to {README}", file=sys.stderr)
    if code:
        print(f"warning: pytest exited with {code}; some benchmarks failed",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
