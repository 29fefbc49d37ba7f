"""Pieces of messages shared by the table layer: how rows, columns and values are named.

Every module of :mod:`netreg.tables` names a row, a list of names and a value the same way; a
long name is shown by its start and length (:func:`show`). An integer row label is a position
from the first row of data, header not counted (:data:`COUNTING`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "COUNTING",
    "MAX_NAMES_SHOWN",
    "MAX_ROWS_SHOWN",
    "MAX_TEXT_SHOWN",
    "TEXT_START_SHOWN",
    "columns_text",
    "counting",
    "names_text",
    "row_label",
    "rows_text",
    "rows_values",
    "show",
]

MAX_ROWS_SHOWN = 5
MAX_NAMES_SHOWN = 20
#: Text (a name, a value) longer than this is shown as its first :data:`TEXT_START_SHOWN` characters.
MAX_TEXT_SHOWN = 60
TEXT_START_SHOWN = 40
#: How integer row labels count, said once in each message that names rows by them.
COUNTING = "counting from 0, header excluded"


def show(value: Any) -> str:
    """``repr`` of a value as a user wrote it: ``42``, not ``np.int64(42)``; long text cut.

    Text longer than :data:`MAX_TEXT_SHOWN` characters is shown as its start, an ellipsis and
    its length; every message that names a column or quotes a value goes through here.

    Examples
    --------
    >>> show(np.int64(42)), show("a")
    ('42', "'a'")
    >>> show("x" * 200_000)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (200,000 characters)"
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > MAX_TEXT_SHOWN:
        return f"{value[:TEXT_START_SHOWN] + '…'!r} ({len(value):,} characters)"
    return repr(value)


def row_label(label: Any) -> str:
    """A row's index label: ``3`` for an integer, else its ``repr``.

    Examples
    --------
    >>> row_label(np.int64(3)), row_label("first")
    ('3', "'first'")
    """
    return str(int(label)) if isinstance(label, int | np.integer) else show(label)


def rows_text(labels: Sequence[Any], *, counted: bool = True) -> str:
    """``"row 3, counting from 0, header excluded"``, ``"rows 2, 5, ..."``, or ``"rows 0, 1, 2, 3, 4 and 7 more, ..."``.

    With ``counted`` (the default) and integer labels, the rows end with how they count
    (:data:`COUNTING`); a message naming rows twice says it once (:func:`counting`).

    Examples
    --------
    >>> rows_text([3]), rows_text(list(range(12)), counted=False), rows_text(["first"])
    ('row 3, counting from 0, header excluded', 'rows 0, 1, 2, 3, 4 and 7 more', "row 'first'")
    """
    shown = ", ".join(row_label(label) for label in labels[:MAX_ROWS_SHOWN])
    more = f" and {len(labels) - MAX_ROWS_SHOWN} more" if len(labels) > MAX_ROWS_SHOWN else ""
    note = f", {counting(labels)}" if counted and counting(labels) else ""
    return f"{'row' if len(labels) == 1 else 'rows'} {shown}{more}{note}"


def counting(labels: Sequence[Any]) -> str:
    """:data:`COUNTING` if the labels are integers (positions), else ``""`` (labels name themselves).

    Examples
    --------
    >>> counting([np.int64(3)]), counting(["first"])
    ('counting from 0, header excluded', '')
    """
    positions = len(labels) > 0 and all(isinstance(label, int | np.integer) for label in labels)
    return COUNTING if positions else ""


def names_text(names: Iterable[Any]) -> str:
    """``"'a', 'b', 'c'"``; after 20 names, ``"'a', ..., 't' and 5 more"``.

    Examples
    --------
    >>> names_text(["a", 0])
    "'a', 0"
    """
    listed = list(names)
    shown = ", ".join(show(name) for name in listed[:MAX_NAMES_SHOWN])
    return shown + (f" and {len(listed) - MAX_NAMES_SHOWN} more" if len(listed) > MAX_NAMES_SHOWN else "")


def columns_text(names: Iterable[Any]) -> str:
    """``"column 'a'"`` or ``"columns 'a', 'b'"``.

    Examples
    --------
    >>> columns_text(["a"]), columns_text(["a", "b"])
    ("column 'a'", "columns 'a', 'b'")
    """
    names = list(names)
    return f"{'column' if len(names) == 1 else 'columns'} {names_text(names)}"


def rows_values(pairs: Sequence[tuple[Any, Any]]) -> str:
    """Rows with a value each, then how the rows count: ``"row 3: 'n/a'; row 0: '42'; counting from 0, ..."``.

    Examples
    --------
    >>> rows_values([(3, "n/a"), (0, "42")])
    "row 3: 'n/a'; row 0: '42'; counting from 0, header excluded"
    >>> rows_values([("b", 1.5)])
    "row 'b': 1.5"
    """
    shown = "; ".join(f"row {row_label(label)}: {show(value)}" for label, value in pairs)
    note = counting([label for label, _ in pairs])
    return f"{shown}; {note}" if note else shown
