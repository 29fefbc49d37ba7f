"""``verbose=True``: one line per epoch on standard output, as scikit-learn's MLP prints."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from netreg.engine import Callback

__all__ = ["PrintProgress"]


class PrintProgress(Callback):
    """Print each epoch's objective (and validation score), as scikit-learn's MLP prints.

    Examples
    --------
    >>> PrintProgress("NetRegClassifier").on_epoch_end(1, {0: {"objective": 0.5, "penalty": 0.01}})
    NetRegClassifier epoch 1, objective = 0.50000000 (penalty 0.01)
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        for record in records.values():
            line = f"{self.name} epoch {epoch}, objective = {record['objective']:.8f} (penalty {record['penalty']:.3g})"
            if "val_score" in record:
                line += f", validation score = {record['val_score']:.6f}"
            sys.stdout.write(line + "\n")
