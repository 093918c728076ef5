"""Charts for the analysis notebook: one function per question, each drawing from the DataFrame of
the query that answers it (so the numbers beside a chart and the chart are the same data)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

COLOR = "#1f6f8b"


def _finish(ax, title: str, xlabel: str, ylabel: str):
    ax.set_title(title, fontsize=13, loc="left", weight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.figure.tight_layout()
    plt.close(ax.figure)  # returned, so the notebook shows it once
    return ax.figure


def _empty(ax, title: str):
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=12, color="grey")
    ax.set_axis_off()
    ax.set_title(title, fontsize=13, loc="left", weight="bold")
    plt.close(ax.figure)
    return ax.figure


def bar_top(df: pd.DataFrame, label: str, value: str, title: str, xlabel: str, size=(9, 5)):
    """Horizontal bars, largest on top (top songs, top artists)."""
    fig, ax = plt.subplots(figsize=size)
    if df.empty:
        return _empty(ax, title)
    data = df.iloc[::-1]
    labels = [str(v)[:45] for v in data[label]]
    ax.barh(range(len(data)), data[value], color=COLOR)
    ax.set_yticks(range(len(data)), labels)
    for i, v in enumerate(data[value]):
        ax.text(v, i, f" {v:,}", va="center", fontsize=9)
    return _finish(ax, title, xlabel, "")


def plays_by_hour(df: pd.DataFrame, size=(9, 4.5)):
    fig, ax = plt.subplots(figsize=size)
    if df.empty:
        return _empty(ax, "Plays by hour of day (UTC)")
    full = pd.DataFrame({"hour": range(24)}).merge(df, on="hour", how="left").fillna({"play_count": 0})
    ax.bar(full["hour"], full["play_count"], color=COLOR)
    ax.set_xticks(range(0, 24, 2))
    return _finish(ax, "Plays by hour of day (UTC)", "hour of day", "plays")


def plays_per_day(df: pd.DataFrame, size=(9, 4.5)):
    fig, ax = plt.subplots(figsize=size)
    if df.empty:
        return _empty(ax, "Plays per day")
    ax.plot(pd.to_datetime(df["day"]), df["play_count"], marker="o", color=COLOR)
    ax.set_ylim(bottom=0)
    fig.autofmt_xdate()
    return _finish(ax, "Plays per day", "day", "plays")


def share_bars(df: pd.DataFrame, label: str, value: str, title: str, size=(8, 4)):
    """Bars with each category's share of the total (browsers, levels)."""
    fig, ax = plt.subplots(figsize=size)
    if df.empty:
        return _empty(ax, title)
    total = df[value].sum()
    ax.bar(df[label].astype(str), df[value], color=COLOR)
    for i, v in enumerate(df[value]):
        ax.text(i, v, f"{v:,}\n{v / total:.0%}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(top=df[value].max() * 1.2)
    return _finish(ax, title, "", "plays")
