"""One measured contender, run in its own process so that its peak RSS is its own.

python bench/_measure.py KIND ARGS_JSON  ->  prints one JSON line: rows, seconds, peak_rss_mb, ...
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emulator(args: dict) -> dict:
    """The local COPY emulator through the pipeline's stage step (drop, create, COPY, commit)."""
    from sparkify.config import load_config
    from sparkify.pipeline import Session

    lake = Path(args["lake"])
    os.environ.update({"SPARKIFY_LOCAL__DATA_DIR": args["data_dir"], "SPARKIFY_S3__LOG_DATA": str(lake / "log_data"),
                       "SPARKIFY_S3__SONG_DATA": str(lake / "song_data"),
                       "SPARKIFY_S3__LOG_JSONPATH": str(lake / "log_json_path.json")})
    with Session(load_config(os.devnull)) as session:
        session.create_tables()
        started = time.perf_counter()
        report = session.stage(args["table"], progress=False)
        seconds = time.perf_counter() - started
    return {"rows": report.rows_loaded, "seconds": seconds, "files": report.files}


def duckdb_load(args: dict) -> dict:
    """DuckDB's read_ndjson into a table: an embedded analytical engine's JSON load."""
    import duckdb

    lake = Path(args["lake"])
    folder = "log_data" if args["table"] == "staging_events" else "song_data"
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_ndjson('{lake / folder}/**/*.json')")
    seconds = time.perf_counter() - started
    return {"rows": con.execute("SELECT COUNT(*) FROM t").fetchone()[0], "seconds": seconds}


def row_by_row(args: dict) -> dict:
    """How most hand-written loaders do it: json.loads each line, one INSERT per row (psycopg2),
    in one transaction, or with autocommit=True as the Udacity project template sets it."""
    import json as stdjson

    from sparkify.config import load_config
    from sparkify.pipeline import Session

    os.environ["SPARKIFY_LOCAL__DATA_DIR"] = args["data_dir"]
    lake = Path(args["lake"])
    limit = args["limit"]
    folder = "log_data" if args["table"] == "staging_events" else "song_data"
    keys = ["artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
            "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId"]
    insert = ("INSERT INTO staging_events VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
              "to_timestamp(%s / 1000.0), %s, %s)")
    with Session(load_config(os.devnull)) as session:
        session.create_tables()
        session.conn.autocommit = bool(args.get("autocommit"))
        cur = session.conn.cursor()
        rows = 0
        started = time.perf_counter()
        for path in sorted((lake / folder).rglob("*.json")):
            for line in path.read_text().splitlines():
                event = stdjson.loads(line)
                cur.execute(insert, [event.get(k) or None for k in keys])
                rows += 1
                if rows >= limit:
                    break
            if rows >= limit:
                break
        if not session.conn.autocommit:
            session.conn.commit()
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds}


def generate(args: dict) -> dict:
    from sparkify.generate import generate as write_lake
    from sparkify.generate import scaled

    started = time.perf_counter()
    manifest = write_lake(args["out"], scaled(args["preset"], args["events"], songs=args["songs"]))
    return {"rows": manifest["events"], "seconds": time.perf_counter() - started, "songs": manifest["song_files"]}


if __name__ == "__main__":
    kind, payload = sys.argv[1], json.loads(sys.argv[2])
    contenders = {"emulator": emulator, "duckdb": duckdb_load, "row_by_row": row_by_row, "generate": generate}
    result = contenders[kind](payload)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))
