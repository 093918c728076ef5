"""How query results look in notebooks and reports: tables without the 0, 1, 2 row index, counts
with thousands separators (not years, hours or ids, which are labels), text aligned left.

:func:`install` registers the HTML form of a DataFrame with the running IPython kernel; a frame
whose index carries names (``set_index``) keeps it.
"""

from __future__ import annotations

import numbers

import pandas as pd

LABELS = {"year", "month", "week", "day", "hour", "weekday", "session_id", "user_id", "item_in_session",
          "songplay_id", "query", "query_id", "line_number"}  # numbers that name something: no separators


def _number(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) >= 1_000 else f"{value:.6g}"


def frame_html(df: pd.DataFrame) -> str:
    """The HTML of a DataFrame as the reports show it."""
    counts = [c for c in df.select_dtypes("number").columns if str(c).lower() not in LABELS]
    texts = list(df.select_dtypes(exclude="number").columns)
    # values come from the data lake: escaped, so a title holding markup shows as text, never runs
    styler = (df.style.format(escape="html").format(_number, subset=counts)
              .set_properties(subset=texts, **{"text-align": "left"}))
    if isinstance(df.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    return styler.to_html()


def install() -> None:
    """Show DataFrames this way in the current IPython kernel (nothing outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
