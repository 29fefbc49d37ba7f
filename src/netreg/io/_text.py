"""Pieces of messages shared by the table layer: how rows, columns and values are named.

Every module of :mod:`netreg.io` words a row, a list of names and a value the same way,
so a user reads ``row 3``, ``columns 'a', 'b'`` and ``'n/a'`` alike in every message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["MAX_NAMES_SHOWN", "MAX_ROWS_SHOWN", "columns_text", "names_text", "row_label", "rows_text", "show"]

MAX_ROWS_SHOWN = 5
MAX_NAMES_SHOWN = 20


def show(value: Any) -> str:
    """``repr`` of a value as a user wrote it: ``42``, not ``np.int64(42)``.

    Examples
    --------
    >>> show(np.int64(42)), show("a")
    ('42', "'a'")
    """
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def row_label(label: Any) -> str:
    """A row's index label: ``3`` for an integer, else its ``repr``.

    Examples
    --------
    >>> row_label(np.int64(3)), row_label("first")
    ('3', "'first'")
    """
    return str(int(label)) if isinstance(label, int | np.integer) else show(label)


def rows_text(labels: Sequence[Any]) -> str:
    """``"row 3"``, ``"rows 2, 5"``, or ``"rows 0, 1, 2, 3, 4 and 7 more"``.

    Examples
    --------
    >>> rows_text([3]), rows_text(list(range(12)))
    ('row 3', 'rows 0, 1, 2, 3, 4 and 7 more')
    """
    shown = ", ".join(row_label(label) for label in labels[:MAX_ROWS_SHOWN])
    more = f" and {len(labels) - MAX_ROWS_SHOWN} more" if len(labels) > MAX_ROWS_SHOWN else ""
    return f"{'row' if len(labels) == 1 else 'rows'} {shown}{more}"


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
