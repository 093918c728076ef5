"""The batch run end to end: real papermill and nbconvert runs of every notebook on a small generated
lake, the HTML reports checked as files and in a real headless Chromium, a failing check, and no
secret anywhere in what a run leaves behind."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import lake_sections, scratch_warehouse_dir, write_config

from sparkify import sqlfiles
from sparkify.cli import main
from sparkify.config import load_config
from sparkify.pipeline import Session
from sparkify.warehouse import LocalWarehouse

pytestmark = pytest.mark.slow  # every test here runs notebooks end to end

FAKE = {"KEY": "FAKEKEYSPARKIFYTEST1234", "SECRET": "FakeSecretValueForTests0123456789",
        "PASSWORD": "FakePassw0rdForTests"}
NOTEBOOKS = ["00_provision_warehouse", "01_create_tables", "02_stage_source_data", "03_transform_star_schema",
             "04_analyze_song_plays", "05_teardown_warehouse"]


@pytest.fixture(scope="module")
def batch_warehouse():
    with scratch_warehouse_dir("sparkify-test-batch-") as path:
        yield path


@pytest.fixture(scope="module")
def batch_config(tmp_path_factory, batch_warehouse, small_lake):
    lake, _ = small_lake
    folder = tmp_path_factory.mktemp("batch")
    return write_config(folder / "dwh.cfg", {
        "AWS": {"KEY": FAKE["KEY"], "SECRET": FAKE["SECRET"]},
        "DWH": {"DWH_DB_PASSWORD": FAKE["PASSWORD"]},
        "CLUSTER": {"DWH_DB_PASSWORD": FAKE["PASSWORD"]},
        "S3": lake_sections(lake),
        "LOCAL": {"DATA_DIR": str(batch_warehouse)},
    })


@pytest.fixture(scope="module")
def finished_batch(tmp_path_factory, batch_config):
    """`sparkify run` as a user runs it (a process of its own); its console output is kept."""
    from conftest import ROOT

    reports = tmp_path_factory.mktemp("reports")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
    env["SPARKIFY_REPORTS_DIR"] = str(reports)
    done = subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(batch_config), "run"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return reports / (reports / "latest").readlink(), reports, done.stdout + done.stderr


@pytest.fixture(scope="module")
def finished_run(finished_batch):
    run_dir, reports, _ = finished_batch
    return run_dir, reports


def test_the_console_shows_a_line_per_notebook_and_no_engine_chatter(finished_batch):
    _, _, output = finished_batch
    for noise in ("WARNING", "Unable to parse", "KeyboardInterrupt", "Traceback", "Input Notebook",
                  "without encryption", "Executing notebook"):
        assert noise not in output, f"{noise!r} in the output of sparkify run:\n{output}"
    lines = output.strip().splitlines()
    for name in NOTEBOOKS:
        assert sum(1 for line in lines if line.strip().startswith(name)) == 1, name
    assert re.search(r"03_transform_star_schema +[0-9.]+ s +ok +\d+ of \d+ checks passed", output)
    assert lines[-1].startswith("done in ") and "songplays" in lines[-1]


def test_the_analysts_report_has_a_header_contents_and_no_chatter(finished_run):
    run_dir, _ = finished_run
    summary = json.loads((run_dir / "summary.json").read_text())
    page = (run_dir / "04_analyze_song_plays.html").read_text()
    header = page[page.index('<header class="sparkify-header">'):page.index("</header>")]
    first, last = summary["date_range"]["first_play"][:16], summary["date_range"]["last_play"][:16]
    assert summary["run_id"] in header and f"{first} to {last} UTC" in header
    assert 'href="../index.html"' in header and 'href="most_played_song.csv"' in header
    plays, matched = summary["tables"]["songplays"], summary["resolved_songplays"]
    assert f"{matched:,} of {plays:,} plays" in header
    assert f"{len(summary['checks'])} of {len(summary['checks'])} passed" in header
    anchors = re.findall(r'<h2 id="([^"]+)"', page)
    contents = {html.unescape(h) for h in re.findall(r'href="#([^"]+)"', header)}
    assert len(anchors) >= 5 and set(anchors) <= contents  # a contents entry for every section
    for chatter in ("Loading configurations", "Settings changed", "Running query in", "rows affected",
                    "postgresql+psycopg2", "pgdata", str(run_dir.parent.parent)):
        assert chatter not in page, chatter
    assert page.count("<h1") == 1  # the header's title, not the notebook's heading again
    assert not re.search(r'<th class="row_heading[^"]*"[^>]*>\d+</th>', page)  # no 0, 1, 2 row index
    assert not re.search(r"<tbody>\s*<tr>\s*<th>0</th>", page)
    assert re.search(r"<td[^>]*>\s*\d{1,3},\d{3}\s*</td>", page)  # counts with thousands separators
    alts = re.findall(r'<img alt="([^"]+)"', page)
    assert len(alts) >= 6 and any("peak" in a for a in alts)


def test_the_brief_answers_agree_with_the_rankings(finished_run):
    run_dir, _ = finished_run
    most = pd.read_csv(run_dir / "most_played_song.csv")
    top = pd.read_csv(run_dir / "top_songs.csv")
    assert len(most) == 1 and len(pd.read_csv(run_dir / "most_used_hours_last_7_days.csv")) <= 5
    assert len(pd.read_csv(run_dir / "web_browsers.csv")) <= 3
    tied = top[top["play_count"] == top["play_count"].max()]
    assert most["play_count"][0] == top["play_count"][0]
    assert (most["title"][0], most["name"][0]) in set(zip(tied["title"], tied["artist"], strict=True))


def test_the_index_links_every_file_of_a_run(finished_run):
    run_dir, reports = finished_run
    index = (reports / "index.html").read_text()
    for path in run_dir.iterdir():
        if path.suffix in (".html", ".csv") or path.name in ("summary.json", "run.log"):
            assert f'href="{run_dir.name}/{path.name}"' in index, path.name


def test_every_notebook_ran_and_sources_are_untouched(finished_run):
    run_dir, reports = finished_run
    for name in NOTEBOOKS:
        executed = json.loads((run_dir / f"{name}.ipynb").read_text())
        codes = [c for c in executed["cells"] if c["cell_type"] == "code"]
        assert all(c["execution_count"] for c in codes), name
        assert not any(o.get("output_type") == "error" for c in codes for o in c["outputs"]), name
        assert (run_dir / f"{name}.html").exists()
    from conftest import ROOT

    for source in (ROOT / "notebooks").glob("*.ipynb"):
        assert all(not c.get("outputs") for c in json.loads(source.read_text())["cells"])
    assert (reports / "latest").resolve() == run_dir
    index = (reports / "index.html").read_text()
    assert f'href="{run_dir.name}/04_analyze_song_plays.html"' in index


def test_reports_are_offline_with_inline_charts(finished_run):
    run_dir, _ = finished_run
    for page in run_dir.glob("*.html"):
        text = page.read_text()
        external = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["\']https?://[^"\']*', text)
        assert external == [], f"{page.name} loads {external}"
        assert "import sparkify_helpers" not in text and "h.settings(" not in text  # no code cells shown
    analysis = (run_dir / "04_analyze_song_plays.html").read_text()
    assert analysis.count('src="data:image/png;base64,') >= 3


def test_summary_and_a_csv_per_analysis_query(finished_run, batch_config, small_lake):
    """summary.json against the warehouse; one CSV per query of sql/analysis/ (the notebook runs them
    all), the brief's three with the brief's columns. (What the queries answer is tests/test_analysis.py's.)"""
    run_dir, _ = finished_run
    _, manifest = small_lake
    config = load_config(batch_config)
    summary = json.loads((run_dir / "summary.json").read_text())
    with Session(config) as s:  # notebook 05 stopped the server: this starts it again
        counts = {row.table_name: int(row.row_count) for row in s.table_counts().itertuples()}
        resolved = s.resolved_songplays()["resolved_songplays"]
    assert summary["status"] == "ok" and summary["backend"] == "local"
    assert summary["tables"] == counts and len(counts) == 7
    assert counts["songplays"] == manifest["nextsong_events"]
    assert summary["resolved_songplays"] == resolved
    assert summary["rejected"] == {"staging_events": 0, "staging_songs": 0}
    assert set(summary["checks"].values()) == {"pass"} and len(summary["checks"]) >= 15
    assert summary["source"] == config.sources()
    assert set(summary["seconds"]) == set(NOTEBOOKS)
    assert {p.stem for p in run_dir.glob("*.csv")} >= {f.stem for f in sqlfiles.folder("analysis")}
    briefs = {"most_played_song": ["title", "name", "play_count"],
              "most_used_hours_last_7_days": ["hour", "play_count"], "web_browsers": ["web_browser", "num_event"]}
    for name, columns in briefs.items():
        assert list(pd.read_csv(run_dir / f"{name}.csv").columns) == columns, name
    hours = pd.read_csv(run_dir / "plays_by_hour.csv")
    assert hours["play_count"].sum() == counts["songplays"]
    assert len(pd.read_csv(run_dir / "plays_by_hour_last_7_days.csv")) == 24


def test_no_secret_in_anything_the_run_left(finished_run, batch_config):
    run_dir, reports = finished_run
    assert (run_dir / "run.log").stat().st_size > 0
    for path in [*run_dir.rglob("*"), reports / "index.html"]:
        if path.is_file():
            data = path.read_bytes()
            for value in FAKE.values():
                assert value.encode() not in data, f"{value} found in {path}"
    for name in NOTEBOOKS:  # each records what it ran with, and no secret went in as a parameter
        params = json.loads((run_dir / f"{name}.ipynb").read_text())["metadata"]["papermill"]["parameters"]
        assert {k: params[k] for k in ("config_path", "backend", "run_dir")} == {
            "config_path": str(batch_config.resolve()), "backend": "local", "run_dir": str(run_dir)}
        assert set(params) <= {"config_path", "backend", "run_dir", "reset", "max_errors", "allow_empty", "run_date",
                               "restage_catalog"}


def test_batch_reports_equal_the_one_notebook_export(finished_run, tmp_path):
    """The batch renders each report's body on its worker thread with one shared exporter and adds
    the header at the end; export_html does it all at once with an exporter of its own: the same file."""
    from sparkify.batch import export_html

    run_dir, _ = finished_run
    summary = json.loads((run_dir / "summary.json").read_text())
    for executed in sorted(run_dir.glob("*.ipynb")):
        alone = export_html(executed, tmp_path / f"{executed.stem}.html", summary).read_text()
        assert (run_dir / f"{executed.stem}.html").read_text() == alone, executed.name


def test_every_notebook_documents_its_parameters_for_papermill(caplog):
    """`papermill --help-notebook` lists each parameter with its type and help, and parses every line."""
    import papermill as pm
    from conftest import ROOT

    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        caplog.clear()
        params = pm.inspect_notebook(str(source))
        assert "Unable to parse" not in caplog.text, source.name
        assert {"config_path", "backend", "run_dir"} <= set(params), source.name
        for name, param in params.items():
            assert param["inferred_type_name"] not in ("None", ""), f"{source.name}: {name} has no type"
            assert len(param["help"]) > 10, f"{source.name}: {name} has no help"


def test_a_failing_check_fails_the_batch_naming_notebook_and_check(tmp_path, batch_warehouse, small_lake, capsys,
                                                                    monkeypatch, finished_run):
    """A failed run after a good one: it names the notebook and the check, the index marks it failed,
    and reports/latest still opens the good run."""
    good_run, reports = finished_run
    good = load_config(write_config(tmp_path / "good.cfg", {"LOCAL": {"DATA_DIR": str(batch_warehouse)}}))
    with Session(good) as s:  # the good run's star schema (notebook 05 stopped the server: this starts it)
        before = star_checksum(s)
    lake, _ = small_lake
    bad_lake = tmp_path / "lake"
    shutil.copytree(lake, bad_lake)
    day = sorted((bad_lake / "log_data").rglob("*.json"))[-1]
    lines = day.read_text().split("\n")
    last = json.loads(lines[-1])
    last["level"] = "gold"  # a level that is neither free nor paid, on the user's latest event
    lines[-1] = json.dumps(last)
    day.write_text("\n".join(lines))
    config = write_config(tmp_path / "dwh.cfg", {"S3": lake_sections(bad_lake),
                                                 "LOCAL": {"DATA_DIR": str(batch_warehouse)}})
    monkeypatch.setenv("SPARKIFY_REPORTS_DIR", str(reports))
    assert main(["--config", str(config), "run"]) == 1
    err = capsys.readouterr().err
    assert "03_transform_star_schema.ipynb failed in cell" in err
    assert "users_level_accepted" in err
    run_dir = max((p for p in reports.glob("*-local") if p != good_run), key=lambda p: p.stat().st_mtime)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["checks"]["users_level_accepted"] == "fail"
    assert not (run_dir / "04_analyze_song_plays.ipynb").exists()  # the run stopped at the failure
    assert summary["failed_notebook"] == "03_transform_star_schema"
    assert (reports / "latest").resolve() == good_run
    index = (reports / "index.html").read_text()
    row = index[index.index(run_dir.name):]
    row = row[:row.index("</tr>")]
    assert 'class="failed"' in row and "03_transform_star_schema" in row and "users_level_accepted" in row
    with Session(good) as s:  # the failed run left the good star schema queryable and unchanged
        assert star_checksum(s) == before
    LocalWarehouse(batch_warehouse).stop()


def star_checksum(session: Session) -> dict[str, tuple[int, str]]:
    """Rows and an MD5 of every row, per star table: equal means unchanged."""
    import hashlib

    sums = {}
    with session.conn.cursor() as cur:
        for table, key in (("songplays", "songplay_id"), ("users", "user_id"), ("songs", "song_id"),
                           ("artists", "artist_id"), ("time", "start_time")):
            cur.execute(f'SELECT * FROM "{table}" ORDER BY {key}')
            rows = cur.fetchall()
            sums[table] = (len(rows), hashlib.md5(repr(rows).encode()).hexdigest())
    session.conn.rollback()
    assert sums["songplays"][0] > 0
    return sums


def test_two_runs_at_once_take_turns_and_keep_their_own_data(tmp_path, small_lake, tmp_path_factory):
    """Two `sparkify run` started together on one warehouse: the second waits for the first, both
    succeed, and each reports its own lake."""
    from conftest import ROOT

    from sparkify.generate import generate, params_for

    other = tmp_path_factory.mktemp("other_lake")
    other_manifest = generate(str(other), params_for("demo", events=900, songs=200, artists=90, played_songs=150,
                                                     days=3, seed=3))
    lakes = {"first": small_lake, "second": (other, other_manifest)}
    with scratch_warehouse_dir("sparkify-test-two-") as warehouse_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
        env["SPARKIFY_REPORTS_DIR"] = str(tmp_path / "reports")
        procs = {}
        for name, (lake, _) in lakes.items():
            config = write_config(tmp_path / f"{name}.cfg", {"S3": lake_sections(lake),
                                                             "LOCAL": {"DATA_DIR": str(warehouse_dir)}})
            procs[name] = subprocess.Popen([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run",
                                            "--only", "00", "01", "02", "03", "04"], cwd=ROOT, env=env,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        outputs = {name: proc.communicate(timeout=600)[0] for name, proc in procs.items()}
        assert all(proc.returncode == 0 for proc in procs.values()), outputs
        assert any("waiting for" in out for out in outputs.values())  # one of them waited for the other
        for path in (tmp_path / "reports").glob("*-local*"):
            summary = json.loads((path / "summary.json").read_text())
            name = next(n for n, (lake, _) in lakes.items() if summary["source"]["log_data"] == str(lake / "log_data"))
            assert summary["tables"]["songplays"] == lakes[name][1]["nextsong_events"], name


def test_a_busy_warehouse_refuses_no_wait_runs_and_stop(tmp_path, small_lake, capsys):
    from sparkify import runlock
    from sparkify.backends import backend_for

    with scratch_warehouse_dir("sparkify-test-busy-") as warehouse_dir:
        config = write_config(tmp_path / "dwh.cfg", {"S3": lake_sections(small_lake[0]),
                                                     "LOCAL": {"DATA_DIR": str(warehouse_dir)}})
        lock = backend_for(load_config(config)).run_lock()
        with runlock.hold(lock, "20181130T000000Z-local"):
            assert main(["--config", str(config), "run", "--no-wait"]) == 3
            assert "in use by 20181130T000000Z-local" in capsys.readouterr().err
            assert main(["--config", str(config), "stop"]) == 3
            assert "stop: refused" in capsys.readouterr().err
        assert runlock.holder_if_busy(lock) is None
        assert main(["--config", str(config), "stop"]) == 0


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def _chromium() -> str:
    """Debian's Chromium; its absence skips the browser test on a user's machine, and fails it where
    SPARKIFY_REQUIRE_BROWSER=1 (CI sets it, after .ci/run installed the package)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        if os.environ.get("SPARKIFY_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_report_renders_in_a_real_browser(finished_run, tmp_path):
    run_dir, _ = finished_run
    from PIL import Image

    report = run_dir / "04_analyze_song_plays.html"
    shot = tmp_path / "report.png"
    subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1200,2400", f"--screenshot={shot}", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20)
    assert image.size == (1200, 2400) and len(colors) > 50, "the page rendered blank"
    chart_blue = sum(count for count, rgb in colors if rgb[2] > 120 and rgb[0] < 80)
    assert chart_blue > 5000, "no chart pixels on screen"

    # every chart image decoded: the page reports its images' natural sizes into the DOM
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", """<script>
      window.addEventListener('load', () => {
        const imgs = [...document.images];
        const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
        const box = document.querySelector('header.sparkify-header').getBoundingClientRect();
        document.body.insertAdjacentHTML('beforeend',
          `<p id="probe">images ${ok}/${imgs.length} header ${Math.round(box.top)} ${Math.round(box.height)}</p>`);
      });</script></body>"""))
    dom = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                          "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    match = re.search(r"images (\d+)/(\d+) header (-?\d+) (\d+)", dom)
    assert match, "the probe did not run"
    decoded, total, header_top, header_height = map(int, match.groups())
    assert total >= 3 and decoded == total
    assert 0 <= header_top < 100 and header_height > 150  # the run's header opens the page, on screen
