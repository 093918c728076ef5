"""A daily run against the full run, on the same 30-day lake, in one run (issue: daily runs).

One full `sparkify run` (all 30 days, notebooks 00-05), then one daily `sparkify run --date` of a
day in the middle (notebooks 00-04) on the warehouse the full run built, kernel starts included.
The daily run is measured twice: with the song catalog kept because its files are unchanged (the
default), and copied again (`--restage-catalog`). Prints the ratio day / full (target: at most 1/10)
for both and the per-notebook split of each run.
Then notebook 04's queries are timed one by one on the warehouse the daily run left (what 04 spends
in the database; the rest of its time is the kernel, the charts and the report).

    python bench/bench_daily.py [--events 3000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, lake_config, measure, report, scratch, table  # noqa: E402


def sparkify_run(config: Path, reports: Path, *extra: str) -> tuple[float, dict]:
    env = dict(os.environ, SPARKIFY_REPORTS_DIR=str(reports), PLOOMBER_STATS_ENABLED="false")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run", *extra], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    newest = max(reports.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return seconds, json.loads(newest.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3_000_000, help="log events in the 30-day lake")
    parser.add_argument("--day", default="2018-11-15")
    args = parser.parse_args()
    work = scratch("sparkify-bench-daily-")
    try:
        text = _measure(work, args)
    finally:  # daily runs leave the warehouse up for the next day: stopped here, and the lake removed
        subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(work / "dwh.cfg"), "stop"], cwd=ROOT,
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    report("bench_daily", text)


def _measure(work: Path, args) -> str:
    lake = work / "lake"
    measure("generate", out=str(lake), preset="udacity", events=args.events, songs=15_000)
    config = lake_config(work, lake)
    full_s, full = sparkify_run(config, work / "reports")
    kept_s, kept = sparkify_run(config, work / "reports", "--date", args.day)  # the catalog is unchanged: kept
    copied_s, copied = sparkify_run(config, work / "reports", "--date", args.day, "--restage-catalog")

    def line(what: str, seconds: float, summary: dict) -> list[str]:
        return [what, f"{summary['tables']['staging_events']:,}", f"{seconds:.1f}",
                " ".join(f"{k[:2]}:{v:.1f}" for k, v in summary["seconds"].items())]

    rows = [line("full run (30 days)", full_s, full),
            line(f"daily run ({args.day}), catalog kept", kept_s, kept),
            line(f"daily run ({args.day}), catalog copied", copied_s, copied)]
    text = table(rows, ["run", "events staged", "seconds", "per notebook (s)"])
    stage = "02_stage_source_data"
    text += (f"\n\nday / full = {kept_s / full_s:.3f} with the unchanged catalog kept (the default), "
             f"{copied_s / full_s:.3f} with it copied on every run (--restage-catalog); target: at most 0.100, "
             f"kernel starts included"
             f"\nsong catalog ({copied['staged'].get('staging_songs', 0):,} songs): notebook 02 took "
             f"{kept['seconds'].get(stage, 0):.1f} s keeping it, {copied['seconds'].get(stage, 0):.1f} s copying it")
    split = measure("analysis_split", data_dir=str(work / "warehouse"), day=args.day)
    queries = sorted(split["queries"].items(), key=lambda kv: -kv[1])
    text += (f"\nnotebook 04's queries, timed one by one after the daily run: {split['seconds']:.1f} s of its "
             f"{kept['seconds'].get('04_analyze_song_plays', 0):.1f} s ("
             + ", ".join(f"{name} {secs:.2f}" for name, secs in queries) + ")")
    return text


if __name__ == "__main__":
    main()
