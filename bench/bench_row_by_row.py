"""Stage plus transform against the typical row-by-row loader, on a lake of the real data's shape
(the udacity preset: 30 days of logs, 8,056 events, 14,896 one-song files), in one run.

* this project: `sparkify run --only 02 03` (kernel starts, papermill, HTML reports and the checks
  included; the catalog copied on every run with --restage-catalog), on a warehouse that notebooks 00
  and 01 prepared beforehand (not timed);
* the row-by-row loader of the Udacity project template's etl.py (bench/_measure.py, etl_row_by_row):
  one INSERT ... VALUES round trip per song, artist, time, user and play and one SELECT per play, with
  autocommit=True as the template sets it, and again in one transaction (its best case).

Each is repeated (--repeats, interleaved) and the medians compared; prints the ratios (target: 30x).

    python bench/bench_row_by_row.py [--repeats 3] [--events 8056]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, lake_config, measure, report, scratch, table  # noqa: E402


def sparkify_run(config: Path, reports: Path, *extra: str) -> float:
    env = dict(os.environ, SPARKIFY_REPORTS_DIR=str(reports), PLOOMBER_STATS_ENABLED="false")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run", *extra], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", type=int, default=8056, help="log events (8,056: the real data's count)")
    args = parser.parse_args()
    work = scratch("sparkify-bench-rbr-")
    lake = work / "lake"
    measure("generate", out=str(lake), preset="udacity", events=args.events, songs=14896)
    config = lake_config(work, lake)
    try:
        sparkify_run(config, work / "reports", "--only", "00", "01")
        ours, autocommit, one_txn = [], [], []
        for _ in range(args.repeats):
            ours.append(sparkify_run(config, work / "reports", "--only", "02", "03", "--restage-catalog"))
            common = {"lake": str(lake), "data_dir": str(work / "warehouse")}
            autocommit.append(measure("etl_row_by_row", **common)["seconds"])
            one_txn.append(measure("etl_row_by_row", **common, one_transaction=True)["seconds"])
    finally:
        subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "stop"], cwd=ROOT,
                       capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    mine = statistics.median(ours)

    def row(what: str, runs: list[float]) -> list[str]:
        return [what, f"{statistics.median(runs):.1f} ({min(runs):.1f}-{max(runs):.1f})",
                f"{statistics.median(runs) / mine:.1f}x"]

    rows = [row("sparkify run --only 02 03 (stage + transform + checks, kernel starts included)", ours),
            row("row-by-row INSERT, autocommit (the Udacity template's etl.py)", autocommit),
            row("row-by-row INSERT, one transaction", one_txn)]
    report("bench_row_by_row", f"Stage + transform, udacity shape ({args.events:,} events, 14,896 song files), "
           f"{args.repeats} repeats (median, range)\n" + table(rows, ["loader", "seconds", "vs this project"])
           + "\n\ntarget: the row-by-row loader takes 30x or more the time of this project's stage + transform")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
