"""What both trackers share: the optional import, an epoch record as scalars, a member's tag."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from netreg.exceptions import MissingDependencyError

__all__ = ["require", "epoch_scalars", "member_prefix"]


def require(module: str, *, what: str, package: str, extra: str) -> ModuleType:
    """Import ``module``, or refuse ``what`` with the line that installs the ``extra``.

    Examples
    --------
    >>> require("json", what="JSON", package="json", extra="json").__name__
    'json'
    >>> require("no_such_module_here", what="TensorBoardCallback", package="TensorBoard", extra="tensorboard")
    Traceback (most recent call last):
    ...
    netreg.exceptions.MissingDependencyError: TensorBoardCallback needs TensorBoard, which is not installed. Install it with: pip install "netreg[tensorboard]"
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f'{what} needs {package}, which is not installed. Install it with: pip install "netreg[{extra}]"'
        ) from None


def epoch_scalars(record: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """``(name, value)`` of each finite number of an epoch record (:mod:`netreg.history`).

    Every number but the epoch itself: ``train_loss``, ``penalty``, ``objective``,
    ``val_score``, ..., and each layer's norm as ``weight_norm/<parameter>``.

    Examples
    --------
    >>> record = {"epoch": 2, "train_loss": 0.5, "val_score": float("nan"), "weight_norms": {"0.weight": 3.0}}
    >>> list(epoch_scalars(record))
    [('train_loss', 0.5), ('weight_norm/0.weight', 3.0)]
    """
    for name, value in record.items():
        if name == "weight_norms":
            for layer, norm in value.items():
                if math.isfinite(norm):
                    yield f"weight_norm/{layer}", float(norm)
        elif name != "epoch" and _is_number(value) and math.isfinite(value):
            yield name, float(value)


def member_prefix(alpha: float, fold: int) -> str:
    """The tag of a sweep's member, before its scalars' names.

    Examples
    --------
    >>> member_prefix(0.01, 2)
    'alpha=0.01/fold=2'
    """
    return f"alpha={alpha:.6g}/fold={fold}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
