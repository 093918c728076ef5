"""Sample-data generation speed and peak memory at several sizes (udacity shape, 15,000 song files).

Goal: at least 100,000 events/s on one core, under 500 MB peak RSS at 10M events.

    python bench/bench_generate.py [--events 1000000 10000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure, report, scratch, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--songs", type=int, default=15_000)
    args = parser.parse_args()
    rows = []
    for events in args.events:
        out = scratch("sparkify-bench-gen-")
        result = measure("generate", out=str(out), preset="udacity", events=events, songs=args.songs)
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        rows.append([f"{events:,}", f"{result['songs']:,}", f"{result['seconds']:.1f}",
                     f"{result['rows'] / result['seconds']:,.0f}", f"{size_mb:,.0f}", result["peak_rss_mb"]])
        shutil.rmtree(out, ignore_errors=True)
        print(table(rows, HEADER), flush=True)
    report("bench_generate", "Sample-data generation (one process, one core)\n" + table(rows, HEADER))


HEADER = ["events", "song files", "seconds", "events/s", "lake MB", "peak RSS MB"]

if __name__ == "__main__":
    main()
