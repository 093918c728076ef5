"""All benchmarks, one after the other (`make bench`). --quick uses small sizes (a minute or two)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    runs = {
        "bench_generate.py": ["--events", "100000", "1000000"] if quick else [],
        "bench_copy.py": ["--events", "100000", "--songs", "2000", "--row-limit", "10000"] if quick else [],
        "bench_batch.py": [],
        "bench_pipeline.py": ["--events", "100000"] if quick else [],
        "bench_daily.py": ["--events", "300000"] if quick else [],
        "bench_row_by_row.py": ["--repeats", "1"] if quick else [],
    }
    for script, args in runs.items():
        print(f"\n== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
