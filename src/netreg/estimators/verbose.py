"""``verbose=True``: scikit-learn's MLP lines on standard output, with netreg's facts after them."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from netreg.engine import Callback, MemberResult

__all__ = ["PrintProgress"]


class PrintProgress(Callback):
    """Print each epoch as scikit-learn's MLP prints it, and why training stopped.

    ``Iteration <n>, loss = <objective>`` (scikit-learn's line: the objective, data loss
    plus penalty), then in parentheses the data loss, the penalty and, under a step-size
    schedule, the epoch's step size; with early stopping, scikit-learn's
    ``Validation score: <score>`` line. A fit that stops on stalling ends with its
    reason and ``Stopping.``, as scikit-learn's does; one that runs out of epochs says so
    in a ``ConvergenceWarning`` instead.

    Examples
    --------
    >>> PrintProgress().on_epoch_end(1, {0: {"objective": 0.5, "train_loss": 0.49, "penalty": 0.01, "val_score": 0.9}})
    Iteration 1, loss = 0.50000000 (data loss 0.49000000, penalty 0.01)
    Validation score: 0.900000
    """

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        for record in records.values():
            facts = f"data loss {record['train_loss']:.8f}, penalty {record['penalty']:.6g}"
            if "learning_rate" in record:
                facts += f", learning rate {record['learning_rate']:.6g}"
            lines = [f"Iteration {epoch}, loss = {record['objective']:.8f} ({facts})"]
            if "val_score" in record:
                lines.append(f"Validation score: {record['val_score']:f}")
            sys.stdout.write("\n".join(lines) + "\n")

    def on_member_end(self, result: MemberResult) -> None:
        if result.status in ("converged", "early_stopped", "stalled"):
            sys.stdout.write(f"{result.message} Stopping.\n")
