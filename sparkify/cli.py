"""The `sparkify` command: what is not a notebook (generate, run, status, stop)."""

from __future__ import annotations

import argparse
import json
import sys

from .backends import backend_for
from .config import ConfigError, install_log_redaction, load_config, redact


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


def _run(args) -> int:
    from .batch import BatchFailed, run

    try:
        run_dir = run(args.config, args.backend, only=args.only)
    except BatchFailed as failed:
        print(f"sparkify run FAILED: {failed}", file=sys.stderr)
        return 1
    summary = json.loads((run_dir / "summary.json").read_text())
    print(f"reports written to {run_dir} (index: {run_dir.parent / 'index.html'})")
    print(f"tables: {summary['tables']}")
    print(f"seconds: {summary['seconds']}")
    return 0


def _status(args) -> int:
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


def _stop(args) -> int:
    backend = backend_for(load_config(args.config, backend=args.backend))
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
    run.set_defaults(func=_run)

    status = sub.add_parser("status", help="whether the warehouse runs, where, and what its tables hold")
    status.add_argument("--backend", choices=["local", "redshift"], default=None)
    status.set_defaults(func=_status)

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
    from .pipeline import EmptySource

    if isinstance(err, WarehouseError | DiskWriteError | AwsError | CopyError | EmptySource):
        return str(err)
    module = type(err).__module__ or ""
    if module.startswith(("botocore", "boto3", "urllib3")):
        where = args.config or "SPARKIFY_CONFIG or ./dwh.cfg"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return (f"cannot reach AWS ({type(err).__name__}: {first}). Check the network, [AWS] ENDPOINT_URL and "
                f"the credentials ([AWS] KEY and SECRET, or the boto3 profile) in {where}.")
    return None


if __name__ == "__main__":
    sys.exit(main())
