"""One measured contender, run in its own process so that its peak RSS is its own.

python bench/_measure.py KIND ARGS_JSON  ->  prints one JSON line: rows, seconds, peak_rss_mb, ...
"""

from __future__ import annotations

import json
import os
import re
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
    with Session(load_config(_no_config())) as session:
        session.create_tables()
        started = time.perf_counter()
        report = session.stage(args["table"], progress=False)
        seconds = time.perf_counter() - started
    return {"rows": report.rows_loaded, "seconds": seconds, "files": report.files}


def _no_config() -> str:
    """An empty configuration file: the built-in defaults and the SPARKIFY_* overrides alone."""
    import atexit
    import tempfile

    path = Path(tempfile.gettempdir()) / f"sparkify-bench-{os.getpid()}.cfg"
    path.write_text("")
    atexit.register(path.unlink, missing_ok=True)  # no empty file left behind in /tmp
    return str(path)


def _lake_env(args: dict) -> None:
    lake = Path(args["lake"])
    os.environ.update({"SPARKIFY_LOCAL__DATA_DIR": args["data_dir"], "SPARKIFY_S3__LOG_DATA": str(lake / "log_data"),
                       "SPARKIFY_S3__SONG_DATA": str(lake / "song_data"),
                       "SPARKIFY_S3__LOG_JSONPATH": str(lake / "log_json_path.json")})


def ceiling(args: dict) -> dict:
    """PostgreSQL's ceiling for these rows: the emulator's binary COPY rows, converted beforehand and
    kept in a file, sent by binary COPY with FREEZE into a table created in the same transaction, then
    ANALYZE (what the emulator's stage step also does), with nothing else to do."""
    from psycopg2 import sql as pgsql

    from sparkify.config import load_config
    from sparkify.copy import binary, execute
    from sparkify.pipeline import Session

    _lake_env(args)
    rows_file = Path(args["data_dir"]).parent / f"ceiling-{os.getpid()}.pgcopy"

    def capture(conn, table, names, chunks, *, binary: bool = False, freeze: bool = False) -> None:
        assert binary, "the ceiling is measured for binary COPY"
        with open(rows_file, "wb") as out:
            out.write(BINARY_HEADER)
            for chunk in chunks:
                out.write(chunk)
            out.write(BINARY_TRAILER)

    BINARY_HEADER, BINARY_TRAILER = binary.HEADER, binary.TRAILER
    try:
        with Session(load_config(_no_config())) as session:
            session.create_tables()
            real, execute.copy_rows = execute.copy_rows, capture
            try:
                report = session.stage(args["table"], progress=False)
            finally:
                execute.copy_rows = real
            names = list(session.query("status/table_columns", {"table_name": args["table"]})["column_name"])
            statement = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary, FREEZE true)").format(
                pgsql.Identifier(args["table"]), pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names))
            started = time.perf_counter()
            with session.transaction(), open(rows_file, "rb") as source, session.conn.cursor() as cur:
                session.execute(f"ddl/drop_{args['table']}")
                session.execute(f"ddl/create_{args['table']}")
                cur.copy_expert(statement, source, size=1 << 20)
                rows = cur.rowcount
                cur.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(args["table"])))
            seconds = time.perf_counter() - started
    finally:
        rows_file.unlink(missing_ok=True)
    assert rows == report.rows_loaded
    return {"rows": rows, "seconds": seconds}


def stage_transform(args: dict) -> dict:
    """Stage both tables, then a full load's transform with its checks, as `sparkify run` runs it (one
    committed transaction), each statement timed as it runs; then every statement of the transform and
    every check again under EXPLAIN (ANALYZE, BUFFERS), in a transaction that is rolled back, for the
    temp blocks each wrote (spill, which must be 0) and its plan (the heaviest are written to
    args["plans"]). The seconds are not taken from EXPLAIN ANALYZE, which times every row of every node
    and on a virtual machine's clock can double a statement's time."""
    from sparkify import pipeline, sqlfiles
    from sparkify.config import load_config
    from sparkify.pipeline import Session

    _lake_env(args)
    out: dict = {}
    seconds: dict[str, float] = {}
    run = Session._run

    def timed(self, name, params, fetch):
        started = time.perf_counter()
        try:
            return run(self, name, params, fetch)
        finally:
            seconds[name] = round(seconds.get(name, 0) + time.perf_counter() - started, 2)

    with Session(load_config(_no_config())) as session:  # notebooks 01 and 02
        session.create_tables()
        started = time.perf_counter()
        session.stage("staging_events", progress=False)
        out["stage_events_s"] = time.perf_counter() - started
        started = time.perf_counter()
        out["rows"] = session.stage("staging_songs", progress=False).rows_loaded
        out["stage_s"] = time.perf_counter() - started + out["stage_events_s"]
    with Session(load_config(_no_config())) as session:  # notebook 03, in a process (and connection) of its own
        Session._run = timed
        try:
            started = time.perf_counter()
            session.transform()
            out["transform_checks_s"] = time.perf_counter() - started
        finally:
            Session._run = run
        out["checks_s"] = sum(secs for name, secs in seconds.items() if name.startswith("checks/"))
        out["transform_s"] = out["transform_checks_s"] - out["checks_s"]

        full_load = getattr(pipeline, "FULL_LOAD", pipeline.UPSERTS)  # (the same measure runs on older commits)
        names = ([f"transform/clear_{table}" for table in (*pipeline.STAR_TABLES, "load_log")]
                 + [f"transform/{step}" for step in full_load] + [c.name for c in sqlfiles.folder("checks")])
        written, plans = {}, {}
        with session.transaction(), session.conn.cursor() as cur:
            session.backend.prepare_transform(session)
            for name in names:
                text = session.backend.statement(name)
                if name.endswith("_drop") or "analyze" in name or "/clear_" in name:  # no plan to show
                    cur.execute(text)
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + text)
                plans[name] = "\n".join(r[0] for r in cur.fetchall())
                # a node's buffers include its children's: the largest figure is the statement's
                written[name] = max([int(w) for w in re.findall(r"temp (?:read=\d+ )?written=(\d+)", plans[name])]
                                    or [0])
            session.conn.rollback()
        statements = {name: (written.get(name, 0), seconds.get(name, 0.0)) for name in names}
        out["statements"] = statements
        out["temp_written_blocks"] = sum(written.values())
        out["temp_written_max"] = max(written.values())
        out["spills"] = {k: v for k, v in statements.items() if v[0]}
        out["slowest"] = sorted(statements.items(), key=lambda kv: -kv[1][1])[:6]
        if args.get("plans"):
            keep = [k for k, _ in out["slowest"] if k in plans][:4]
            Path(args["plans"]).write_text("".join(f"== {k} ({statements[k][1]} s in the transform)\n{plans[k]}\n\n"
                                                   for k in keep))
    out["seconds"] = out["stage_s"]
    return out


def analysis_split(args: dict) -> dict:
    """Notebook 04's queries, in its order, each timed once on the warehouse as it is (after a run):
    what 04 spends in the database, the rest of its time being the kernel, charts and the report."""
    from sparkify.config import load_config
    from sparkify.pipeline import Session

    os.environ["SPARKIFY_LOCAL__DATA_DIR"] = args["data_dir"]
    queries = [("status/songplays_date_range", {}), ("analysis/plays_in_context", {"day": args["day"]}),
               ("analysis/most_played_song", {}), ("analysis/most_used_hours_window", {}),
               ("analysis/most_used_hours_last_7_days", {}), ("analysis/plays_by_hour_last_7_days", {}),
               ("analysis/web_browsers", {}), ("status/resolved_songplays", {}), ("analysis/top_songs", {"top_n": 10}),
               ("analysis/plays_by_hour", {}), ("analysis/plays_by_browser_family", {}),
               ("analysis/plays_per_day", {}), ("analysis/plays_by_level", {}), ("analysis/top_artists", {"top_n": 10})]
    seconds = {}
    with Session(load_config(_no_config())) as session:
        for name, params in queries:
            started = time.perf_counter()
            session.query(name, params)
            seconds[name.split("/")[-1]] = round(time.perf_counter() - started, 2)
    return {"seconds": sum(seconds.values()), "queries": seconds}


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
    with Session(load_config(_no_config())) as session:
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


def etl_row_by_row(args: dict) -> dict:
    """The typical hand-written loader, as the Udacity project template's etl.py does it: each song
    file read and inserted (song, artist), then each log file line by line, and for every NextSong
    event one INSERT for time, one for the user, a SELECT matching the song and one INSERT for the
    play: one round trip per statement, with autocommit=True as the template sets it (or, with
    ``one_transaction``, every statement in one transaction). Statements: bench/row_by_row/."""
    import datetime as dt
    import json as stdjson

    from sparkify.config import load_config
    from sparkify.pipeline import Session

    statements = {p.stem: p.read_text() for p in (Path(__file__).parent / "row_by_row").glob("*.sql")}
    os.environ["SPARKIFY_LOCAL__DATA_DIR"] = args["data_dir"]
    lake = Path(args["lake"])
    with Session(load_config(_no_config())) as session:
        conn = session.conn
        with conn.cursor() as cur:
            for name in ("drop_tables", "create_songs", "create_artists", "create_users", "create_time",
                         "create_songplays"):
                cur.execute(statements[name])
        conn.commit()
        conn.autocommit = not args.get("one_transaction")
        started = time.perf_counter()
        statements_run = 0
        with conn.cursor() as cur:
            for path in sorted((lake / "song_data").rglob("*.json")):
                for line in path.read_text().splitlines():
                    song = stdjson.loads(line)
                    cur.execute(statements["insert_song"], [song["song_id"], song["title"], song["artist_id"],
                                                            song["year"], song["duration"]])
                    cur.execute(statements["insert_artist"], [song["artist_id"], song["artist_name"],
                                                              song["artist_location"], song["artist_latitude"],
                                                              song["artist_longitude"]])
                    statements_run += 2
            for path in sorted((lake / "log_data").rglob("*.json")):
                for line in path.read_text().splitlines():
                    event = stdjson.loads(line)
                    if event.get("page") != "NextSong":
                        continue
                    start = dt.datetime.fromtimestamp(event["ts"] / 1000, dt.UTC).replace(tzinfo=None)
                    cur.execute(statements["insert_time"], [start, start.hour, start.day, start.isocalendar()[1],
                                                            start.month, start.year, start.weekday()])
                    cur.execute(statements["insert_user"], [event["userId"], event["firstName"], event["lastName"],
                                                            event["gender"], event["level"]])
                    cur.execute(statements["select_song"], [event["song"], event["artist"], event["length"]])
                    match = cur.fetchone()
                    song_id, artist_id = match if match else (None, None)
                    cur.execute(statements["insert_songplay"], [start, event["userId"], event["level"], song_id,
                                                                artist_id, event["sessionId"], event["location"],
                                                                event["userAgent"]])
                    statements_run += 4
        if not conn.autocommit:
            conn.commit()
        seconds = time.perf_counter() - started
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute(statements["count_songplays"])
            plays = cur.fetchone()[0]
            cur.execute(statements["drop_tables"])
        conn.commit()
    return {"seconds": seconds, "songplays": plays, "statements": statements_run}


def generate(args: dict) -> dict:
    from sparkify.generate import generate as write_lake
    from sparkify.generate import scaled

    started = time.perf_counter()
    manifest = write_lake(args["out"], scaled(args["preset"], args["events"], songs=args["songs"]))
    return {"rows": manifest["events"], "seconds": time.perf_counter() - started, "songs": manifest["song_files"]}


if __name__ == "__main__":
    kind, payload = sys.argv[1], json.loads(sys.argv[2])
    contenders = {"emulator": emulator, "ceiling": ceiling, "duckdb": duckdb_load, "row_by_row": row_by_row,
                  "generate": generate, "stage_transform": stage_transform, "etl_row_by_row": etl_row_by_row,
                  "analysis_split": analysis_split}
    result = contenders[kind](payload)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))
