"""The local COPY emulator against two references, on the same generated files, in one run:

* DuckDB's read_ndjson into a table (an embedded analytical engine),
* row-by-row psycopg2 INSERTs (how most hand-written loaders do it; timed on the first
  --row-limit rows, since its rate does not change with size and the whole input would take hours),
  in one transaction (the fastest way to do it) and with autocommit (as the Udacity template does).

Prints rows/s, the emulator's ratio to each, and each contender's peak RSS (its own process;
the PostgreSQL server's memory is not included, for the emulator nor for the row-by-row loader).

    python bench/bench_copy.py [--events 300000 3000000] [--songs 15000] [--row-limit 30000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import measure, report, scratch, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[300_000, 3_000_000])
    parser.add_argument("--songs", type=int, default=15_000)
    parser.add_argument("--row-limit", type=int, default=30_000)
    args = parser.parse_args()
    rows_out = []
    data_dir = scratch("sparkify-bench-wh-")
    try:
        for events in args.events:
            lake = scratch("sparkify-bench-lake-")
            measure("generate", out=str(lake), preset="udacity", events=events, songs=args.songs)
            for table_name in ("staging_events", "staging_songs"):
                common = {"lake": str(lake), "table": table_name, "data_dir": str(data_dir)}
                emu = measure("emulator", **common)
                duck = measure("duckdb", **common)
                rate = emu["rows"] / emu["seconds"]
                duck_rate = duck["rows"] / duck["seconds"]
                line = [f"{events:,}", table_name, f"{emu['rows']:,}", f"{rate:,.0f}", f"{duck_rate:,.0f}",
                        f"{rate / duck_rate:.2f}"]
                if table_name == "staging_events":
                    slow = measure("row_by_row", **common, limit=args.row_limit)
                    slow_rate = slow["rows"] / slow["seconds"]
                    auto = measure("row_by_row", **common, limit=max(1000, args.row_limit // 5), autocommit=True)
                    auto_rate = auto["rows"] / auto["seconds"]
                    line += [f"{slow_rate:,.0f}", f"{rate / slow_rate:.1f}", f"{auto_rate:,.0f}",
                             f"{rate / auto_rate:.0f}"]
                else:
                    line += ["-", "-", "-", "-"]
                line += [emu["peak_rss_mb"], duck["peak_rss_mb"]]
                rows_out.append(line)
                print(table(rows_out, HEADER), flush=True)
            shutil.rmtree(lake, ignore_errors=True)
    finally:
        from sparkify.warehouse import LocalWarehouse

        LocalWarehouse(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    report("bench_copy", "COPY: local emulator vs DuckDB read_ndjson vs row-by-row INSERT (rows/s)\n"
           + table(rows_out, HEADER))


HEADER = ["events", "table", "rows", "emulator/s", "duckdb/s", "vs duckdb", "row-by-row/s", "vs row-by-row",
          "autocommit/s", "vs autocommit", "emulator MB", "duckdb MB"]

if __name__ == "__main__":
    main()
