"""The notebooks' parameters: what each may hold, checked at the top of every notebook.

papermill injects whatever it is given (``-p max_errors abc`` injects the text ``"abc"``), so a bad
value would otherwise surface much later as an error about something else. Each notebook's settings
cell calls ``h.check_parameters(name=value, ...)`` with its parameters; a value of the wrong type or
out of range raises :class:`ParameterError`, naming the parameter, the value given and what is valid.
The rules live here, once, for every notebook; a parameter without a rule is a programming error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass


class ParameterError(ValueError):
    """A notebook parameter of the wrong type or value; the message names it and what is valid."""


@dataclass(frozen=True)
class Rule:
    valid: str  # what a valid value is, for people
    check: Callable[[object], bool]


def _whole(low: int, high: int | None = None) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)


def _number(low: float, high: float) -> Callable[[object], bool]:
    return lambda v: (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                      and low < v <= high)


def _boolean(v: object) -> bool:
    return isinstance(v, bool)


def _text(v: object) -> bool:
    return isinstance(v, str)


def _day(v: object) -> bool:
    import datetime as dt

    if not isinstance(v, str) or not re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", v):
        return False
    try:
        return v == "" or bool(dt.date.fromisoformat(v))
    except ValueError:
        return False


RULES: dict[str, Rule] = {
    "config_path": Rule("a path to a configuration file, or empty", _text),
    "backend": Rule('"local", "redshift" or empty (as configured)', lambda v: v in ("", "local", "redshift")),
    "run_dir": Rule("a folder path, or empty", _text),
    "create_cluster": Rule("True or False", _boolean),
    "wait_minutes": Rule("a whole number of minutes from 1 to 240", _whole(1, 240)),
    "test_connection": Rule("True or False", _boolean),
    "max_errors": Rule("a whole number, 0 or more (e.g. 0 or 10)", _whole(0)),
    "allow_empty": Rule("True or False", _boolean),
    "restage_catalog": Rule("True or False", _boolean),
    "run_date": Rule("a day as YYYY-MM-DD (e.g. 2018-11-30), or empty for a full load", _day),
    "reset": Rule("True or False", _boolean),
    "top_n": Rule("a whole number from 1 to 1000", _whole(1, 1000)),
    "chart_width": Rule("a number of inches, more than 0 and at most 50 (e.g. 9.0)", _number(0, 50)),
    "chart_height": Rule("a number of inches, more than 0 and at most 50 (e.g. 4.5)", _number(0, 50)),
    "keep_warehouse": Rule("True or False", _boolean),
    "final_snapshot": Rule("True or False", _boolean),
}


def check_parameters(**parameters: object) -> None:
    """Raise ParameterError for the first parameter whose value breaks its rule."""
    for name, value in parameters.items():
        rule = RULES.get(name)
        if rule is None:
            raise ParameterError(f"notebook parameter {name!r} has no rule in sparkify/parameters.py: add one")
        if not rule.check(value):
            raise ParameterError(f"notebook parameter {name} = {value!r} ({type(value).__name__}) is not valid: "
                                 f"{name} must be {rule.valid}")
