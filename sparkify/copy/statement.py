"""The COPY statement: its text parsed (by sqlglot, as Redshift SQL) into a :class:`CopyCommand`.

Options: ``FORMAT AS JSON`` (``'auto'``, ``'auto ignorecase'`` or a JSONPaths file), ``TIMEFORMAT``,
``BLANKSASNULL``, ``EMPTYASNULL``, ``TRUNCATECOLUMNS``, ``ACCEPTINVCHARS``, ``MAXERROR``, ``STATUPDATE``
(ON: ANALYZE the table after the load); ``REGION``, ``COMPUPDATE`` and credentials are accepted and
ignored. Anything else is a
:class:`CopyError` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..dialect import parse_redshift
from .result import CopyError


@dataclass(frozen=True)
class CopyCommand:
    table: str
    columns: tuple[str, ...] | None
    source: str
    json: str  # "auto", "auto ignorecase" or the URI of a JSONPaths file
    timeformat: str | None = None
    blanks_as_null: bool = False
    empty_as_null: bool = False
    truncate_columns: bool = False
    accept_inv_chars: str | None = None  # replacement character when ACCEPTINVCHARS is given
    max_error: int = 0
    stat_update: bool | None = None  # STATUPDATE ON (True), OFF (False), or not given (None)
    ignored: tuple[str, ...] = ()


def _flatten_params(params: list[exp.Expression]) -> list[tuple[str, object]]:
    """sqlglot pairs Redshift COPY options loosely; flatten them to (kind, value) tokens."""
    tokens: list[tuple[str, object]] = []

    def add(node: exp.Expression | None) -> None:
        if node is None:
            return
        if isinstance(node, exp.Literal):
            tokens.append(("str", node.this) if node.is_string else ("num", node.this))
        elif isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            tokens.append(("num", "-" + node.this.this))
        else:
            tokens.append(("word", " ".join(node.sql(dialect="redshift").upper().split())))

    for param in params:
        add(param.this)
        for item in param.expressions:
            add(item)
        add(param.args.get("expression"))
    return tokens


def parse_copy(text: str, where: str = "COPY") -> CopyCommand:
    """The COPY statement ``text`` (``where`` names it in error messages) as a CopyCommand."""
    tree = parse_redshift(text, where)
    if not isinstance(tree, exp.Copy):
        raise CopyError(f"{where}: not a COPY statement")
    if not tree.args.get("kind"):
        raise CopyError(f"{where}: only COPY ... FROM is supported")
    target = tree.this
    columns = None
    if isinstance(target, exp.Schema):
        columns = tuple(col.name for col in target.expressions)
        target = target.this
    files = tree.args.get("files") or []
    if len(files) != 1 or not isinstance(files[0], exp.Literal):
        raise CopyError(f"{where}: COPY needs one quoted source URI after FROM")
    options = _parse_options(_flatten_params(tree.args.get("params") or []), where)
    if "json" not in options:
        raise CopyError(f"{where}: the local emulator loads JSON: add FORMAT AS JSON 'auto' or a JSONPaths file")
    if options.get("timeformat") not in (None, "auto", "epochmillisecs", "epochsecs"):
        raise CopyError(f"{where}: TIMEFORMAT {options['timeformat']!r} is not supported by the local emulator "
                        f"(use 'auto', 'epochsecs' or 'epochmillisecs')")
    options["ignored"] = tuple(options["ignored"])
    return CopyCommand(table=target.name, columns=columns, source=files[0].this, **options)


def _parse_options(tokens: list[tuple[str, object]], where: str) -> dict[str, object]:
    """The options after the source URI, as CopyCommand fields (``ignored`` still a list)."""
    options: dict[str, object] = {"ignored": []}
    i = 0

    def next_value(option: str, kinds: tuple[str, ...]) -> object:
        nonlocal i
        if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] == "AS":
            i += 1
        if i >= len(tokens) or tokens[i][0] not in kinds:
            raise CopyError(f"{where}: option {option} needs a value")
        value = tokens[i][1]
        i += 1
        return value

    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        word = str(value)
        if kind != "word":
            raise CopyError(f"{where}: unexpected {value!r} among the COPY options")
        if word in ("FORMAT AS JSON", "FORMAT JSON", "JSON", "FORMAT AS", "FORMAT"):
            if word in ("FORMAT AS", "FORMAT"):
                fmt = next_value(word, ("word",))
                if fmt != "JSON":
                    raise CopyError(f"{where}: the local emulator reads FORMAT AS JSON only, not {fmt}")
            options["json"] = str(next_value("JSON", ("str", "word")))
        elif word in ("TIMEFORMAT", "TIMEFORMAT AS"):
            options["timeformat"] = str(next_value("TIMEFORMAT", ("str",))).lower()
        elif word in ("MAXERROR", "MAXERROR AS"):
            options["max_error"] = int(next_value("MAXERROR", ("num",)))
        elif word == "BLANKSASNULL":
            options["blanks_as_null"] = True
        elif word == "EMPTYASNULL":
            options["empty_as_null"] = True
        elif word == "TRUNCATECOLUMNS":
            options["truncate_columns"] = True
        elif word in ("ACCEPTINVCHARS", "ACCEPTINVCHARS AS"):
            options["accept_inv_chars"] = "?"
            if i < len(tokens) and (tokens[i][0] == "str" or tokens[i] == ("word", "AS")):
                options["accept_inv_chars"] = str(next_value("ACCEPTINVCHARS", ("str",)))[:1] or "?"
        elif word in ("REGION", "REGION AS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN",
                      "CREDENTIALS", "IAM_ROLE"):
            next_value(word, ("str", "word"))
            options["ignored"].append(word.split()[0])
        elif word in ("COMPUPDATE", "STATUPDATE"):
            setting = "ON"  # the option alone means ON
            if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] in ("ON", "OFF", "TRUE", "FALSE",
                                                                               "PRESET"):
                setting = tokens[i][1]
                i += 1
            if word == "STATUPDATE":
                options["stat_update"] = setting in ("ON", "TRUE")
            else:
                options["ignored"].append(word)
        else:
            raise CopyError(f"{where}: COPY option {word} is not supported by the local emulator")
    return options
