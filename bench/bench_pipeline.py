"""End-to-end batch runs (`sparkify run`: all six notebooks, HTML reports) at several sizes, to show
how time and memory grow with the work. The first row is the default demo lake: `make run` on a
fresh clone (after installation) should finish it in under 60 s on 2 cores.

Peak RSS is the largest of the processes the run started (the batch driver and the notebook
kernels), not their sum; the PostgreSQL server is not included.

    python bench/bench_pipeline.py [--events 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, lake_config, measure, report, scratch, table  # noqa: E402


def batch(config: Path, reports: Path) -> tuple[float, dict, float]:
    env = dict(os.environ, SPARKIFY_REPORTS_DIR=str(reports), PLOOMBER_STATS_ENABLED="false")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())  # one run per reports folder
    return seconds, summary, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    cases: list[tuple[str, int | None]] = [("demo (make run)", None)] + [("udacity shape", n) for n in args.events]
    for label, events in cases:
        work = scratch("sparkify-bench-run-")
        lake = work / "lake"
        if events is None:
            from sparkify.generate import PRESETS, generate

            generate(str(lake), PRESETS["demo"])
            events = PRESETS["demo"].events
        else:
            measure("generate", out=str(lake), preset="udacity", events=events, songs=15_000)
        config = lake_config(work, lake)
        runs = []
        for attempt in range(3 if label.startswith("demo") else 1):  # the demo: median of 3
            runs.append(batch(config, work / f"reports-{attempt}"))
        seconds, summary, rss = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
        steps = summary["seconds"]
        spread = f" ({min(r[0] for r in runs):.1f}-{max(r[0] for r in runs):.1f})" if len(runs) > 1 else ""
        rows.append([label, f"{events:,}", f"{seconds:.1f}{spread}"] + [f"{steps[k]:.1f}" for k in sorted(steps)]
                    + [f"{rss:.0f}"])
        print(table(rows, HEADER), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    report("bench_pipeline", "End-to-end batch run (seconds; per notebook)\n" + table(rows, HEADER))


HEADER = ["lake", "events", "total s (median of 3 for the demo)", "00", "01", "02", "03", "04", "05", "peak RSS MB"]

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
