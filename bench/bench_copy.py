"""The local COPY emulator against PostgreSQL's ceiling and two references, on the same generated files,
in one run, each repeated (--repeats, interleaved):

* PostgreSQL's ceiling: the same rows, already converted by the emulator, sent by binary COPY FREEZE
  into a table created in the same transaction, then ANALYZE (what the stage step also does),
* DuckDB's read_ndjson into a table (an embedded analytical engine),
* row-by-row psycopg2 INSERTs (how most hand-written loaders do it; timed on the first
  --row-limit rows, since its rate does not change with size and the whole input would take hours),
  in one transaction (the fastest way to do it).

Prints rows/s, the emulator's ratio to each, and each contender's peak RSS (its own process;
the PostgreSQL server's memory is not included, for the emulator nor for the row-by-row loader).

    python bench/bench_copy.py [--events 800000 3000000 10000000] [--songs 15000] [--row-limit 30000] [--repeats 3]
                               [--transform-only]

Then, once per size, stage + transform + checks (a full load, as `sparkify run` does it), each
transform statement and check then again under EXPLAIN (ANALYZE, BUFFERS): the seconds of each
step, (transform + checks) / stage (target: at most 1), the temp blocks the statements wrote
(spill; target: 0 for every statement) and the plans of the heaviest, in
bench/results/plans_<events>.txt. --transform-only skips the COPY comparison (and the row-by-row
column).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import RESULTS, measure, report, scratch, table  # noqa: E402


def _span(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}" if len(values) > 1 else f"{values[0]:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[800_000, 3_000_000, 10_000_000])
    parser.add_argument("--songs", type=int, default=15_000)
    parser.add_argument("--row-limit", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--transform-only", action="store_true", help="only stage + transform + checks")
    args = parser.parse_args()
    rows_out, transform_out, steps_out = [], [], []
    RESULTS.mkdir(parents=True, exist_ok=True)
    data_dir = scratch("sparkify-bench-wh-")
    try:
        for events in args.events:
            lake = scratch("sparkify-bench-lake-")
            measure("generate", out=str(lake), preset="udacity", events=events, songs=args.songs)
            slow_rate = None
            for table_name in () if args.transform_only else ("staging_events", "staging_songs"):
                common = {"lake": str(lake), "table": table_name, "data_dir": str(data_dir)}
                runs: dict[str, list[dict]] = {"emulator": [], "ceiling": [], "duckdb": []}
                for _ in range(args.repeats):  # interleaved, so that a busy moment hits every contender
                    for kind in runs:
                        runs[kind].append(measure(kind, **common))
                rate = {k: [r["rows"] / r["seconds"] for r in v] for k, v in runs.items()}
                median = {k: statistics.median(v) for k, v in rate.items()}
                line = [f"{events:,}", table_name, f"{runs['emulator'][0]['rows']:,}", _span(rate["emulator"]),
                        _span(rate["ceiling"]), f"{median['emulator'] / median['ceiling']:.2f}",
                        _span(rate["duckdb"]), f"{median['emulator'] / median['duckdb']:.2f}"]
                if table_name == "staging_events":
                    slow = measure("row_by_row", **common, limit=args.row_limit)
                    slow_rate = slow["rows"] / slow["seconds"]
                    line += [f"{slow_rate:,.0f}", f"{median['emulator'] / slow_rate:.0f}"]
                else:
                    line += ["-", "-"]
                line += [max(r["peak_rss_mb"] for r in runs["emulator"]), max(r["peak_rss_mb"] for r in runs["duckdb"])]
                rows_out.append(line)
                print(table(rows_out, HEADER), flush=True)
            st = measure("stage_transform", lake=str(lake), data_dir=str(data_dir),
                         plans=str(RESULTS / f"plans_{events}.txt"))
            row_by_row_s = events / slow_rate if slow_rate else None  # the events at the row-by-row rate
            transform_out.append([f"{events:,}", f"{st['stage_s']:.1f}", f"{st['transform_s']:.1f}",
                                  f"{st['checks_s']:.1f}", f"{st['transform_checks_s'] / st['stage_s']:.2f}",
                                  f"{st['temp_written_max']} of {len(st['statements'])}",
                                  f"{row_by_row_s:,.0f}" if row_by_row_s else "-",
                                  f"{row_by_row_s / (st['stage_s'] + st['transform_checks_s']):.0f}"
                                  if row_by_row_s else "-",
                                  ", ".join(f"{name.split('/')[-1]} {secs}" for name, (_, secs) in st["slowest"][:4])])
            steps_out.append(f"{events:,} events: seconds of each statement in the transform and temp blocks it wrote "
                             "under EXPLAIN (ANALYZE, BUFFERS):\n"
                             + "\n".join(f"  {secs:6.2f}  {blocks:>6}  {name}"
                                          for name, (blocks, secs) in st["statements"].items()))
            print(table(transform_out, TRANSFORM_HEADER), flush=True)
            shutil.rmtree(lake, ignore_errors=True)
    finally:
        from sparkify.warehouse import LocalWarehouse

        LocalWarehouse(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    copy = "" if args.transform_only else (
        f"COPY: local emulator vs PostgreSQL's ceiling (the same rows, converted beforehand, by binary COPY FREEZE "
        f"+ ANALYZE) vs DuckDB read_ndjson vs row-by-row INSERT (rows/s, {args.repeats} repeats, ratios of "
        f"medians)\n" + table(rows_out, HEADER) + "\n\n")
    report("bench_transform" if args.transform_only else "bench_copy", copy
           + "Stage, then a full load's transform and checks (seconds, as `sparkify run` runs them; target: "
           "(t+c)/stage at most 1); temp written: the most temp blocks any transform statement or check wrote "
           "under EXPLAIN (ANALYZE, BUFFERS), of how many statements (target: 0); row-by-row: the events at the "
           "row-by-row INSERT rate\n" + table(transform_out, TRANSFORM_HEADER) + "\n\n" + "\n\n".join(steps_out))


HEADER = ["events", "table", "rows", "emulator/s", "ceiling/s", "emu/ceiling", "duckdb/s", "emu/duckdb",
          "row-by-row/s", "vs row-by-row", "emulator MB", "duckdb MB"]
TRANSFORM_HEADER = ["events", "stage s", "transform s", "checks s", "(t+c)/stage", "temp written (max)",
                    "row-by-row s", "vs stage+transform", "slowest statements (s)"]

if __name__ == "__main__":
    main()
