"""Charts for the analysis notebook: one function per question, each drawing from the DataFrame of
the query that answers it (so the numbers beside a chart and the chart are the same data).

Every function returns a :class:`Chart`: the figure and an alt text that states the chart's finding
("Bar chart: plays by hour, 2018-11-24 to 2018-11-30; peak 16:00, 126 plays"). In a notebook the
chart shows as a PNG whose output metadata carries the alt text, which the report template writes
into the ``<img alt=...>`` of the HTML report; its plain-text form is the alt text itself.

One look for all charts: bars in ``PALETTE["bar"]``, the bar(s) of the finding (the peak hour, the
leading song) in ``PALETTE["highlight"]``, notes in ``PALETTE["muted"]``; count axes have integer
ticks with thousands separators.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

# Figures are laid out at the resolution their PNG is drawn at (Jupyter's inline backend would make
# them 72 dpi): text is measured once, for tight_layout, and the PNG's draw finds it measured.
DPI = 100
PALETTE = {"bar": "#1f6f8b", "highlight": "#e07a1f", "muted": "#6b7280"}
MATCHED_NOTE = "matched plays only"


@dataclass(frozen=True)
class Chart:
    figure: Figure
    alt: str

    def png(self) -> bytes:
        """The figure, drawn once (its layout was fitted by tight_layout: see _finish)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/png": base64.b64encode(self.png()).decode("ascii"), "text/plain": self.alt}
        return data, {"image/png": {"alt": self.alt}}


def warm_up() -> None:
    """Draw one small off-screen figure with text, without pyplot: fonts loaded and text measured
    once, in a process that forks kernels (sparkify.kernelfork), rather than in each kernel's first
    chart. Nothing is registered with pyplot, so a kernel forked afterwards has no figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(2, 1), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar([0, 1], [1, 2])
    ax.set_title("warm-up", weight="bold")
    ax.text(0, 1, "1,000\n50%", fontsize=9)
    figure.tight_layout()
    figure.savefig(io.BytesIO(), format="png", dpi=DPI)


def _count(n) -> str:
    return f"{int(n):,}"


def _plays(n) -> str:
    return f"{_count(n)} play" + ("" if int(n) == 1 else "s")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count_axis(axis) -> None:
    """Whole numbers only, with thousands separators."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _finish(ax, title: str, xlabel: str, ylabel: str, alt: str, note: str = "") -> Chart:
    ax.set_title(title, fontsize=13, loc="left", weight="bold")
    if note:
        ax.annotate(note, xy=(0, 1), xycoords="axes fraction", xytext=(0, 4), textcoords="offset points",
                    fontsize=9, color=PALETTE["muted"], va="bottom")
        ax.set_title(title, fontsize=13, loc="left", weight="bold", pad=18)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.figure.tight_layout()
    # tight_layout leaves a placeholder layout engine, for which savefig draws the figure twice (once
    # to lay it out again): the layout is done, the engine is dropped, and the PNG is drawn once
    ax.figure.set_layout_engine(None)
    plt.close(ax.figure)  # shown once, through Chart's PNG
    return Chart(ax.figure, alt)


def _empty(ax, title: str, kind: str) -> Chart:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=12,
            color=PALETTE["muted"])
    ax.set_axis_off()
    ax.set_title(title, fontsize=13, loc="left", weight="bold")
    plt.close(ax.figure)
    return Chart(ax.figure, f"{kind}: {title[0].lower() + title[1:]}; no data")


def _matched_note(matched: pd.DataFrame | None) -> str:
    """'matched plays only: 10 of 12 plays matched a catalog song' (status/resolved_songplays.sql's row)."""
    if matched is None or matched.empty:
        return MATCHED_NOTE
    row = matched.iloc[0]
    return f"{MATCHED_NOTE}: {_count(row['resolved_songplays'])} of {_plays(row['songplays'])} matched a catalog song"


def _top_bars(labels: list[str], values: pd.Series, title: str, what: str, note: str, size) -> Chart:
    """Horizontal bars, largest on top, the leader(s) highlighted."""
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    if values.empty:
        return _empty(ax, title.replace(" 0 ", " "), "Bar chart")
    values = values.astype(int).tolist()
    top = max(values)
    leaders = [label for label, v in zip(labels, values, strict=True) if v == top]
    colors = [PALETTE["highlight"] if v == top else PALETTE["bar"] for v in values]
    ax.barh(range(len(values))[::-1], values, color=colors)
    ax.set_yticks(range(len(values))[::-1], [label[:45] for label in labels])
    for i, v in zip(range(len(values))[::-1], values, strict=True):
        ax.text(v, i, f" {_count(v)}", va="center", fontsize=9)
    _count_axis(ax.xaxis)
    if len(leaders) == 1:
        finding = f"most played {what}: {leaders[0]}, {_plays(top)}"
    else:
        finding = f"{len(leaders)} {what}s tie for most played with {_plays(top)} each: {_join(leaders)}"
    alt = f"Bar chart: {title[0].lower() + title[1:]}, {note}; {finding}"
    return _finish(ax, title, "plays", "", alt, note=note)


def top_songs(df: pd.DataFrame, matched: pd.DataFrame | None = None, size=(9, 5)) -> Chart:
    """top_songs.sql (title, artist, play_count); ``matched``: status/resolved_songplays.sql's row."""
    title = f"Top {len(df)} songs by plays"
    labels = [f"{t} by {a}" for t, a in zip(df["title"], df["artist"], strict=True)]
    return _top_bars(labels, df["play_count"], title, "song", _matched_note(matched), size)


def top_artists(df: pd.DataFrame, matched: pd.DataFrame | None = None, size=(9, 5)) -> Chart:
    """top_artists.sql (artist, play_count); ``matched``: status/resolved_songplays.sql's row."""
    title = f"Top {len(df)} artists by plays"
    return _top_bars([str(a) for a in df["artist"]], df["play_count"], title, "artist", _matched_note(matched),
                     size)


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def plays_by_hour(df: pd.DataFrame, start=None, end=None, size=(9, 4.5)) -> Chart:
    """24 bars, one per hour of day (UTC); an hour missing from ``df`` is drawn as 0. ``start`` and
    ``end`` name the period the plays cover (most_used_hours_window.sql), for the title and alt text."""
    period = f", {_day(start)} to {_day(end)}" if start is not None and end is not None and pd.notna(start) else ""
    title = f"Plays by hour of day (UTC){period}"
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    counts = df.set_index("hour")["play_count"] if not df.empty else pd.Series(dtype=int)
    full = counts.reindex(range(24), fill_value=0).astype(int)
    top = int(full.max())
    peaks = [h for h, v in full.items() if v == top and top > 0]
    colors = [PALETTE["highlight"] if h in peaks else PALETTE["bar"] for h in full.index]
    ax.bar(full.index, full.to_numpy(), color=colors)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.6, 23.6)
    _count_axis(ax.yaxis)
    quiet = int((full == 0).sum())
    if not peaks:
        finding = "no plays"
    elif len(peaks) == 1:
        finding = f"peak {peaks[0]:02d}:00, {_plays(top)}"
    else:
        finding = f"peaks {_join([f'{h:02d}:00' for h in peaks])}, {_plays(top)} each"
    if quiet and peaks:
        finding += f"; {quiet} hour{'s' if quiet > 1 else ''} without plays"
    alt = f"Bar chart: plays by hour{period}; {finding}"
    return _finish(ax, title, "hour of day (UTC)", "plays", alt)


def plays_per_day(df: pd.DataFrame, size=(9, 4.5)) -> Chart:
    """A line over every calendar day from the first to the last; a day without plays is drawn as 0."""
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    if df.empty:
        return _empty(ax, "Plays per day", "Line chart")
    days = pd.to_datetime(df["day"])
    series = pd.Series(df["play_count"].astype(int).to_numpy(), index=days)
    full = series.reindex(pd.date_range(days.min(), days.max(), freq="D"), fill_value=0)
    ax.plot(full.index, full.to_numpy(), marker="o", color=PALETTE["bar"])
    busiest = full.idxmax()
    ax.plot([busiest], [full[busiest]], marker="o", color=PALETTE["highlight"], markersize=9)
    ax.set_ylim(bottom=0)
    _count_axis(ax.yaxis)
    fig.autofmt_xdate()
    empty_days = int((full == 0).sum())
    alt = (f"Line chart: plays per day, {_day(full.index[0])} to {_day(full.index[-1])}; busiest day "
           f"{_day(busiest)}, {_plays(full[busiest])}")
    if empty_days:
        alt += f"; {empty_days} day{'s' if empty_days > 1 else ''} without plays"
    return _finish(ax, "Plays per day", "day", "plays", alt)


def share_bars(df: pd.DataFrame, label: str, value: str, title: str, size=(8, 4)) -> Chart:
    """Bars with each category's share of the total (browsers, levels), the largest highlighted."""
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    if df.empty:
        return _empty(ax, title, "Bar chart")
    values = df[value].astype(int)
    total = int(values.sum())
    top = int(values.max())
    colors = [PALETTE["highlight"] if v == top else PALETTE["bar"] for v in values]
    ax.bar(df[label].astype(str), values, color=colors)
    for i, v in enumerate(values):
        ax.text(i, v, f"{_count(v)}\n{v / total:.0%}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(top=top * 1.2)
    _count_axis(ax.yaxis)
    leaders = [str(name) for name, v in zip(df[label], values, strict=True) if v == top]
    verb = "leads" if len(leaders) == 1 else "lead"
    each = "" if len(leaders) == 1 else " each"
    alt = (f"Bar chart: {title[0].lower() + title[1:]}; {_join(leaders)} {verb} with {_count(top)} of "
           f"{_plays(total)}{each} ({top / total:.0%})")
    return _finish(ax, title, "", "plays", alt)
