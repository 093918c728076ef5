"""The charts from small DataFrames: alt texts that state the finding, 24 hour bars, whole-number
count axes with thousands separators, one palette, and the alt text carried into the HTML report."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib.colors as mcolors
import pandas as pd
import pytest
from matplotlib.ticker import MaxNLocator

from sparkify import charts

PALETTE = {mcolors.to_hex(c) for c in charts.PALETTE.values()}


def bar_colors(ax) -> set[str]:
    return {mcolors.to_hex(p.get_facecolor()) for p in ax.patches}


def test_hours_chart_has_24_bars_with_zero_hours_and_states_its_peak():
    df = pd.DataFrame({"hour": [0, 9, 16, 23], "play_count": [1, 3, 1126, 2]})
    chart = charts.plays_by_hour(df, start=dt.datetime(2018, 11, 24, 16, 30), end=dt.datetime(2018, 11, 30, 16, 30))
    ax = chart.figure.axes[0]
    assert len(ax.patches) == 24
    heights = [int(p.get_height()) for p in ax.patches]
    assert heights[16] == 1126 and heights[9] == 3 and heights[1] == 0 and sum(heights) == 1132
    assert chart.alt == ("Bar chart: plays by hour, 2018-11-24 to 2018-11-30; peak 16:00, 1,126 plays; "
                         "20 hours without plays")
    assert mcolors.to_hex(ax.patches[16].get_facecolor()) == charts.PALETTE["highlight"]
    assert bar_colors(ax) <= PALETTE


def test_hours_chart_names_every_tied_peak():
    df = pd.DataFrame({"hour": range(24), "play_count": [2 if h in (9, 17) else 1 for h in range(24)]})
    assert charts.plays_by_hour(df).alt == "Bar chart: plays by hour; peaks 09:00 and 17:00, 2 plays each"


def test_count_axes_have_whole_number_ticks_with_thousands_separators():
    small = charts.plays_by_hour(pd.DataFrame({"hour": [3, 4], "play_count": [1, 3]}))
    ax = small.figure.axes[0]
    locator = ax.yaxis.get_major_locator()
    assert isinstance(locator, MaxNLocator) and locator._integer
    ticks = locator.tick_values(0, 3)  # a default locator would put ticks at 0.5, 1.5 ...
    assert all(float(t).is_integer() for t in ticks)
    assert ax.yaxis.get_major_formatter()(12345, 0) == "12,345"
    songs = charts.top_songs(pd.DataFrame({"title": ["A"], "artist": ["X"], "play_count": [2]}))
    assert isinstance(songs.figure.axes[0].xaxis.get_major_locator(), MaxNLocator)
    assert songs.figure.axes[0].xaxis.get_major_formatter()(1500, 0) == "1,500"


def test_song_chart_says_it_counts_matched_plays_and_names_the_tie():
    df = pd.DataFrame({"title": ["Home", "Home", "Zed"], "artist": ["Alpha", "Beta", "Aardvark"],
                       "play_count": [3, 3, 1]})
    matched = pd.DataFrame({"songplays": [12000], "resolved_songplays": [10]})
    chart = charts.top_songs(df, matched=matched)
    assert chart.alt == ("Bar chart: top 3 songs by plays, matched plays only: 10 of 12,000 plays matched a catalog "
                         "song; 2 songs tie for most played with 3 plays each: Home by Alpha and Home by Beta")
    ax = chart.figure.axes[0]
    top_down = sorted(ax.get_yticklabels(), key=lambda label: -label.get_position()[1])
    assert [label.get_text() for label in top_down] == ["Home by Alpha", "Home by Beta", "Zed by Aardvark"]
    assert any("matched plays only" in t.get_text() for t in ax.texts)
    assert bar_colors(ax) <= PALETTE


def test_artist_chart_says_it_counts_matched_plays():
    chart = charts.top_artists(pd.DataFrame({"artist": ["Alpha", "Beta"], "play_count": [4, 3]}))
    assert chart.alt == "Bar chart: top 2 artists by plays, matched plays only; most played artist: Alpha, 4 plays"


def test_share_chart_states_the_leader_and_its_share():
    df = pd.DataFrame({"browser_family": ["Chrome", "Safari", "Other"], "play_count": [4000, 3000, 1000]})
    chart = charts.share_bars(df, "browser_family", "play_count", "Plays by browser family")
    assert chart.alt == "Bar chart: plays by browser family; Chrome leads with 4,000 of 8,000 plays (50%)"
    assert bar_colors(chart.figure.axes[0]) <= PALETTE


def test_day_chart_draws_days_without_plays_as_zero():
    df = pd.DataFrame({"day": [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 4)],
                       "play_count": [5, 7, 1]})
    chart = charts.plays_per_day(df)
    line = chart.figure.axes[0].lines[0]
    assert list(line.get_ydata()) == [5, 7, 0, 1]
    assert chart.alt == ("Line chart: plays per day, 2018-11-01 to 2018-11-04; busiest day 2018-11-02, 7 plays; "
                         "1 day without plays")


@pytest.mark.parametrize("draw", [
    lambda: charts.plays_by_hour(pd.DataFrame({"hour": [], "play_count": []})),
    lambda: charts.top_songs(pd.DataFrame({"title": [], "artist": [], "play_count": []})),
    lambda: charts.plays_per_day(pd.DataFrame({"day": [], "play_count": []})),
    lambda: charts.share_bars(pd.DataFrame({"level": [], "play_count": []}), "level", "play_count", "Plays by level"),
])
def test_empty_results_say_so(draw):
    alt = draw().alt
    assert alt.endswith(("; no data", "; no plays")), alt


def test_the_alt_text_reaches_the_html_report(tmp_path):
    """Displayed in a notebook, a chart is a PNG with its alt text in the output metadata; the report
    template writes it into the <img> tag."""
    import nbformat

    from sparkify.batch import export_html

    chart = charts.plays_by_hour(pd.DataFrame({"hour": [16], "play_count": [5]}))
    data, metadata = chart._repr_mimebundle_()
    assert data["text/plain"] == chart.alt and metadata["image/png"]["alt"] == chart.alt
    output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("chart", outputs=[output])])
    path = tmp_path / "chart.ipynb"
    nbformat.write(notebook, path)
    html = export_html(path, tmp_path / "chart.html").read_text()
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 1 and 'src="data:image/png;base64,' in images[0]
    assert 'alt="Bar chart: plays by hour; peak 16:00, 5 plays; 23 hours without plays"' in images[0]
