"""Helpers shared by the benchmarks: run a contender in its own process, print a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def measure(kind: str, **args) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "_measure.py"), kind, json.dumps(args)],
                         capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    if out.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def scratch(prefix: str) -> Path:
    """A scratch folder the server's system user can reach when we are root (we own it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("SPARKIFY_BENCH_DIR", "/tmp")))
    path.chmod(0o755)
    return path


def lake_config(work: Path, lake: Path) -> Path:
    """work/dwh.cfg naming the lake's three sources and a warehouse in work/warehouse."""
    config = work / "dwh.cfg"
    config.write_text(f"[S3]\nLOG_DATA = {lake}/log_data\nSONG_DATA = {lake}/song_data\n"
                      f"LOG_JSONPATH = {lake}/log_json_path.json\n[LOCAL]\nDATA_DIR = {work}/warehouse\n")
    return config


def table(rows: list[list[object]], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(name: str, text: str) -> None:
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(text + "\n")
