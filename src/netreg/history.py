"""Per-epoch training records: a list of plain dicts that round-trips through JSON.

One :class:`History` per trained member. Each record is one epoch (one L-BFGS iteration)
with these keys:

``epoch``
    1-based epoch number.
``train_loss``
    Mean data loss over the epoch's minibatches (weighted by their sample weight), the
    quantity scikit-learn's ``loss_curve_`` and Keras's ``loss`` report; for L-BFGS, the
    full-batch data loss after the iteration.
``penalty``
    The penalty term ``alpha / (2 m) * sum_j ||W[j]||_F^2`` (or L1 / elastic net) at the
    end of the epoch (with ``alpha_scale="batch"``, ``alpha * n_batches / (2 m) * ...``,
    the mean over the epoch's batches of the penalty each step minimized).
``objective``
    ``train_loss + penalty``.
``val_loss``, ``val_score`` (and ``<name>_loss``, ``<name>_score`` for each evaluation set)
    Data loss (no penalty) and score (accuracy or R^2) on held-out rows, in eval mode.
``weight_norms``
    ``{parameter name: ||W[j]||_F}`` for every penalized parameter.
``learning_rate``
    Only for SGD under a step-size schedule (``lr_schedule``): the step size of the epoch.
``alphas``
    Only for a member whose alpha a callback changed (``Population.set_alpha``, as
    ``alpha="auto"`` does), in all its records: ``{parameter name: alpha}`` in effect during
    the epoch.
``stop_reason``
    Only in the last record of a member a callback stopped (status ``"stopped"``): the
    reason it gave.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["History"]


class History(list):
    """A list of epoch records (dicts) with column access and a JSON round trip.

    Examples
    --------
    >>> history = History([{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.5, "stop_reason": "rung 1"}])
    >>> history.column("train_loss")
    [0.9, 0.5]
    >>> history.column("stop_reason")
    [None, 'rung 1']
    >>> History.from_json(history.to_json()) == history
    True
    """

    def column(self, key: str) -> list[Any]:
        """The values of ``key`` over the epochs (``None`` where an epoch lacks it)."""
        return [entry.get(key) for entry in self]

    def to_json(self) -> str:
        """Serialize to JSON; non-finite floats become ``null`` (JSON has no NaN)."""
        return json.dumps([_finite(entry) for entry in self])

    @classmethod
    def from_json(cls, text: str) -> History:
        """Rebuild a history from :meth:`to_json` output."""
        return cls(json.loads(text))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
