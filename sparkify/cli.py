"""The `sparkify` command: what is not a notebook (generate, run, status, stop)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .config import ConfigError, install_log_redaction, load_config, redact
from .runlock import WarehouseBusy, holder_if_busy

# (sparkify.backends is imported where it is used: `sparkify run` starts its first kernel sooner)


def _generate(args) -> int:
    from . import generate

    config = load_config(args.config)
    local = config.local  # [LOCAL] SAMPLE_DIR, SAMPLE_PRESET and SAMPLE_SEED; flags override them
    seed = args.seed if args.seed is not None else local.sample_seed
    params = generate.params_for(args.preset or local.sample_preset, seed=seed, first_day=args.first_day,
                                 days=args.days, events=args.events, users=args.users, songs=args.songs,
                                 artists=args.artists, catalog_share=args.catalog_share,
                                 misencoded_share=args.misencoded_share)
    out = args.out or str(local.sample_dir)
    manifest = generate.generate(out, params, endpoint_url=args.endpoint_url or config.aws.endpoint_url,
                                 region=config.s3.region)
    shown = {k: manifest[k] for k in ("events", "nextsong_events", "catalog_plays", "identified_users",
                                      "song_files", "log_files", "seconds")}
    print(f"wrote {out}: {json.dumps(shown)}")
    return 0


def _days(args) -> list[str]:
    """The days a run covers: [""] for a full load, one for --date, each of --from .. --to."""
    import datetime as dt

    if args.date and (args.date_from or args.date_to):
        raise ValueError("give --date, or --from and --to, not both")
    if bool(args.date_from) != bool(args.date_to):
        raise ValueError("--from and --to go together")
    if not (args.date or args.date_from):
        return [""]
    from .pipeline import parse_run_date  # (with pandas: not for a full load, which needs neither)

    if args.date:
        return [parse_run_date(args.date).isoformat()]
    first, last = parse_run_date(args.date_from), parse_run_date(args.date_to)
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _run(args) -> int:
    try:
        days = _days(args)
    except ValueError as err:
        print(f"sparkify run: {err}", file=sys.stderr)
        return 2
    from .batch import fork_server

    forks = fork_server()  # first: it imports what the kernels need while the run gets ready
    try:
        return _run_days(args, days, forks)
    finally:
        if forks is not None:
            forks.close()


def _run_days(args, days: list[str], forks) -> int:
    import logging

    from .batch import BatchFailed, run

    # the console shows one line per notebook; run.log (and --verbose) keeps the detail
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
    params = {"reset": args.reset, "max_errors": args.max_errors, "allow_empty": args.allow_empty,
              "restage_catalog": args.restage_catalog}
    # a daily run leaves the warehouse up for the next day: 05 (teardown) runs only when named in --only
    only = args.only or (["00", "01", "02", "03", "04"] if days != [""] else None)
    for number, day in enumerate(days):
        if number:  # a backfill resets (if asked) before its first day only, never between days
            params["reset"] = False
        print(f"sparkify run: {args.backend or 'configured'} backend, "
              f"{'the day ' + day if day else 'full load'}, notebooks {' '.join(only or ['all'])}")
        started = time.perf_counter()
        try:
            run_dir = run(args.config, args.backend, only=only, echo=print, wait=not args.no_wait,
                          notebook_params={**params, "run_date": day}, teardown_on_failure=args.teardown_on_failure,
                          forks=forks)
        except BatchFailed as failed:
            print(f"sparkify run FAILED{' on ' + day if day else ''}: {failed}", file=sys.stderr)
            return 130 if "interrupted" in str(failed) else 1
        except ValueError as err:  # e.g. --only names no notebook
            print(f"sparkify run: {err}", file=sys.stderr)
            return 2
        except WarehouseBusy as err:
            print(f"sparkify run: {err}", file=sys.stderr)
            return 3
        summary = json.loads((run_dir / "summary.json").read_text())
        total = time.perf_counter() - started  # the notebooks' seconds, and the kernels and reports around them
        print(f"done in {total:.1f} s{_outcome(summary)}; reports in {run_dir} "
              f"(index: {run_dir.parent / 'index.html'})")
    return 0


def _outcome(summary: dict) -> str:
    """What a finished run left, for its last line: the star schema's counts when the run transformed
    (notebook 03), else what it staged, else nothing (a run of notebooks that load nothing)."""
    tables, staged = summary.get("tables") or {}, summary.get("staged") or {}
    if "songplays" in tables:
        changes = (summary.get("changes") or {}).get("songplays")
        added = f" ({changes['added']:,} added, {changes['updated']:,} updated)" if changes else ""
        return (f": {tables['songplays']:,} songplays{added}, {tables.get('users', 0):,} users, "
                f"{tables.get('songs', 0):,} songs")
    if staged:
        parts = [f"{staged[table]:,} {what}" for table, what in (("staging_events", "events"),
                                                                  ("staging_songs", "songs")) if table in staged]
        return f": staged {', '.join(parts)} (not transformed in this run)"
    return ""


def _status(args) -> int:
    from .backends import backend_for

    config = load_config(args.config, backend=args.backend)
    backend = backend_for(config)
    print(f"backend: {backend.name} (configuration: {config.source})")
    print(backend.status().to_string(index=False))
    if not backend.is_reachable():
        return 0
    from .pipeline import Session

    try:
        with Session(config) as session:
            print(session.table_counts().to_string(index=False))
    except Exception as err:  # tables not created yet
        print(f"tables: not available ({redact(str(err)).strip().splitlines()[0]})")
    return 0


def _sql(args) -> int:
    import psycopg2

    from .dialect import DialectError
    from .pipeline import Session

    config = load_config(args.config, backend=args.backend)
    try:
        with Session(config) as session:
            result = session.query_text(args.query)
    except DialectError as err:
        print(f"sparkify sql: {err}", file=sys.stderr)
        return 2
    except (psycopg2.Error, ValueError) as err:
        message = redact(str(err)).strip().splitlines()
        print(f"sparkify sql: the query failed: {message[0] if message else type(err).__name__}", file=sys.stderr)
        return 1
    result.to_csv(sys.stdout, index=False)
    return 0


def _stop(args) -> int:
    from .backends import backend_for

    backend = backend_for(load_config(args.config, backend=args.backend))
    holder = holder_if_busy(backend.run_lock())
    if holder:
        print(f"sparkify stop: refused: the warehouse is in use by {holder}; stop it when that run has finished",
              file=sys.stderr)
        return 3
    print(f"{backend.name} warehouse: {backend.stop()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sparkify", description=__doc__)
    parser.add_argument("--config", help="configuration file (default: SPARKIFY_CONFIG or ./dwh.cfg)")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a sample data lake shaped like s3://udacity-dend/")
    gen.add_argument("--out", help="directory or s3://bucket/prefix (default: [LOCAL] SAMPLE_DIR)")
    gen.add_argument("--preset", default=None, choices=["demo", "udacity"],
                     help="size and shape (default: [LOCAL] SAMPLE_PRESET, else demo)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: [LOCAL] SAMPLE_SEED, else 42)")
    gen.add_argument("--first-day", dest="first_day", default=None, help="first day of logs, e.g. 2018-11-01")
    gen.add_argument("--days", type=int, default=None)
    gen.add_argument("--events", type=int, default=None, help="log events in all (about 85%% NextSong)")
    gen.add_argument("--users", type=int, default=None)
    gen.add_argument("--songs", type=int, default=None, help="song files in the catalog")
    gen.add_argument("--artists", type=int, default=None)
    gen.add_argument("--catalog-share", dest="catalog_share", type=float, default=None,
                     help="share of plays whose song is in the catalog")
    gen.add_argument("--misencoded-share", dest="misencoded_share", type=float, default=None)
    gen.add_argument("--endpoint-url", dest="endpoint_url", default=None, help="S3-compatible endpoint")
    gen.set_defaults(func=_generate)

    run = sub.add_parser("run", help="run every notebook with papermill and export HTML reports to reports/")
    run.add_argument("--backend", choices=["local", "redshift"], default=None)
    run.add_argument("--only", nargs="*", help="notebook numbers to run, e.g. 00 01 02")
    run.add_argument("--verbose", action="store_true", help="print papermill's and the kernels' detail too")
    run.add_argument("--date", help="load one day of logs, YYYY-MM-DD (a daily run: notebooks 00-04)")
    run.add_argument("--from", dest="date_from", help="first day of a backfill, YYYY-MM-DD (one run per day)")
    run.add_argument("--to", dest="date_to", help="last day of a backfill, YYYY-MM-DD")
    run.add_argument("--allow-empty", dest="allow_empty", action="store_true",
                     help="a day without a log file loads as a day without plays instead of failing")
    run.add_argument("--restage-catalog", dest="restage_catalog", action="store_true",
                     help="COPY the song catalog even when its files are unchanged since the last COPY")
    run.add_argument("--max-errors", dest="max_errors", type=int, default=0,
                     help="bad records each COPY may reject before it fails (MAXERROR; default 0)")
    run.add_argument("--no-wait", dest="no_wait", action="store_true",
                     help="if another run holds the warehouse, stop at once (exit 3) instead of waiting for it")
    run.add_argument("--reset", action="store_true",
                     help="drop and re-create every table first (notebook 01 with reset=True): all data is lost")
    run.add_argument("--teardown-on-failure", dest="teardown_on_failure", action="store_true",
                     help="after a failed notebook, run the teardown notebook (05) so nothing keeps costing money")
    run.set_defaults(func=_run)

    status = sub.add_parser("status", help="whether the warehouse runs, where, and what its tables hold")
    status.add_argument("--backend", choices=["local", "redshift"], default=None)
    status.set_defaults(func=_status)

    sql = sub.add_parser("sql", help="run one query (Redshift SQL) on the warehouse; CSV with a header on stdout")
    sql.add_argument("query", help='e.g. "SELECT level, COUNT(*) AS users FROM users GROUP BY level"')
    sql.add_argument("--backend", choices=["local", "redshift"], default=None)
    sql.set_defaults(func=_sql)

    stop = sub.add_parser("stop", help="stop the local warehouse")
    stop.add_argument("--backend", choices=["local", "redshift"], default=None)
    stop.set_defaults(func=_stop)

    args = parser.parse_args(argv)
    install_log_redaction()
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sparkify {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        message = _explain(err, args)
        if message is None:
            raise
        print(f"sparkify {args.command} failed: {redact(message)}", file=sys.stderr)
        return 1


def _explain(err: Exception, args) -> str | None:
    """One clear sentence for a failure whose message already says what and where (None: a bug,
    whose traceback is worth showing)."""
    from .aws import AwsError
    from .copy import CopyError
    from .errors import DiskWriteError, WarehouseError
    from .pipeline import SchemaMismatch

    if isinstance(err, WarehouseError | DiskWriteError | AwsError | CopyError | SchemaMismatch | WarehouseBusy):
        return str(err)
    module = type(err).__module__ or ""
    if module.startswith(("botocore", "boto3", "urllib3")):
        where = args.config or "SPARKIFY_CONFIG or ./dwh.cfg"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return (f"cannot reach AWS ({type(err).__name__}: {first}). Check the network, [AWS] ENDPOINT_URL and "
                f"the credentials ([AWS] KEY and SECRET, or the boto3 profile) in {where}.")
    return None


def console() -> None:
    """The `sparkify` program: :func:`main`, then the process ends at once. Every file of a run is
    written and closed, every kernel and server it started has ended, by the time main returns;
    what Python would do on its way out (tear down the modules papermill, nbconvert and pandas
    loaded: 0.2-0.3 s) is skipped. Output is flushed first."""
    import contextlib
    import logging
    import os

    code = main()
    logging.shutdown()  # flushes any handler still open
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`sparkify ... | head`)
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
