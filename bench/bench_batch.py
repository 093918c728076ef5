"""`make run` on the demo lake after installation (issue 16): `sparkify run` as a process of its own,
timed from its start to its exit, 3 repeats on one warehouse, median and range, with each run's
per-notebook split from its summary.json and what lies around the notebooks (the first kernel's
start, this process's imports, the reports written at the end).

The lake is generated once beforehand. A first run on a new warehouse (initdb, every statement's
translation made and kept) is shown apart; the repeats run on that warehouse, as a user's second
`make run` does. Figures only: no time is asserted anywhere.

    python bench/bench_batch.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, lake_config, report, scratch, table  # noqa: E402

NOTEBOOKS = ["00", "01", "02", "03", "04", "05"]


def sparkify_run(config: Path, reports: Path) -> tuple[float, dict, float]:
    """One `sparkify run`: wall seconds, its summary, and the CPU seconds of it and its kernels."""
    env = dict(os.environ, SPARKIFY_REPORTS_DIR=str(reports), PLOOMBER_STATS_ENABLED="false")
    before = os.times()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    newest = max(reports.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return seconds, json.loads(newest.read_text()), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sparkify.generate import PRESETS, generate

    work = scratch("sparkify-bench-batch-")
    try:
        lake = work / "lake"
        generate(str(lake), PRESETS["demo"])
        config = lake_config(work, lake)
        first = sparkify_run(config, work / "reports")  # on a new warehouse: initdb, SQL translated and kept
        runs = [sparkify_run(config, work / "reports") for _ in range(args.repeats)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    for number, (seconds, summary, cpu) in [("first", first), *enumerate(runs, 1)]:
        split = {name[:2]: value for name, value in summary["seconds"].items()}
        notebooks = sum(split.values())
        rows.append([str(number), f"{seconds:.2f}"] + [f"{split.get(n, 0):.2f}" for n in NOTEBOOKS]
                    + [f"{seconds - notebooks:.2f}", f"{cpu:.1f}"])
    walls = [r[0] for r in runs]
    median = statistics.median(walls)
    middle = sorted(runs, key=lambda r: r[0])[len(runs) // 2][1]["seconds"]
    text = table(rows, ["run", "wall s", *NOTEBOOKS, "around s", "CPU s"])
    text += (f"\n\n`sparkify run`, demo lake: median {median:.2f} s (range {min(walls):.2f}-{max(walls):.2f}, "
             f"{len(walls)} runs); the median run's split: "
             + ", ".join(f"{k[:2]}: {v:.2f}" for k, v in middle.items())
             + "\n'around': the wall time outside the notebooks (start, first kernel, reports); 'CPU': the run's"
               " processes and kernels, not the PostgreSQL server. A notebook's seconds include waiting for its"
               " kernel when that kernel was not warm yet.")
    report("bench_batch", text)


if __name__ == "__main__":
    main()
