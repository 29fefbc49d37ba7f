"""Pure stopping rules: each member's progress counters, its status after an epoch, and why.

A member stops when it diverges, when its watched metric (training objective, or validation
loss or score with early stopping) has not improved by more than ``tol`` for
``n_iter_no_change`` epochs, at ``max_iter``, or when a callback stops it. Statuses, in order
of precedence within an epoch: ``"diverged"``, ``"stopped"``, ``"early_stopped"`` or
``"converged"``, ``"max_iter"``; ``""`` for a member that goes on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

__all__ = ["Progress", "watched_metric", "advance", "reprieve", "statuses", "status_message"]


class Progress(NamedTuple):
    """Per-member stopping counters, ``(K,)`` CPU tensors.

    Attributes
    ----------
    best_metric : Tensor
        Lowest watched metric so far (float64; ``inf`` at the start).
    bad_epochs : Tensor
        Epochs since the metric last improved by more than ``tol`` (long).
    best_epoch : Tensor
        The epoch whose weights would be kept (long; 0 at the start).

    Examples
    --------
    >>> Progress.start(2).bad_epochs.tolist()
    [0, 0]
    """

    best_metric: Tensor
    bad_epochs: Tensor
    best_epoch: Tensor

    @classmethod
    def start(cls, n_members: int) -> Progress:
        """Counters of members that have not trained yet."""
        return cls(
            torch.full((n_members,), math.inf, dtype=torch.float64),
            torch.zeros(n_members, dtype=torch.long),
            torch.zeros(n_members, dtype=torch.long),
        )

    def take(self, positions: Tensor) -> Progress:
        """The counters of the members at ``positions`` (a CPU long tensor), in that order."""
        return Progress(*(t[positions] for t in self))


def watched_metric(
    objective: Tensor,
    held_out: Mapping[str, tuple[Tensor, Tensor]],
    *,
    early_stopping: bool,
    metric: str,
    monitor: str,
) -> Tensor:
    """What convergence watches, lower is better: the objective, or with early stopping the
    ``monitor`` set's loss (``metric="loss"``) or negated score (``metric="score"``).

    Examples
    --------
    >>> held_out = {"val": (torch.tensor([0.5]), torch.tensor([0.9]))}
    >>> watched_metric(torch.tensor([1.0]), held_out, early_stopping=True, metric="score", monitor="val")
    tensor([-0.9000])
    """
    if not early_stopping:
        return objective
    loss, score = held_out[monitor]
    return loss if metric == "loss" else -score


def advance(
    progress: Progress, metric: Tensor, finite: Tensor, epoch: int, *, tol: float, keep_best: bool
) -> tuple[Progress, Tensor]:
    """The counters after ``epoch``, and which members reached a new best (``(K,)`` bool).

    An epoch counts as progress when the metric falls below the best so far by more than
    ``tol``. A new best (any decrease, finite members only) is the epoch to keep when
    ``keep_best`` (early stopping); otherwise the last finite epoch is.

    Examples
    --------
    >>> progress, better = advance(Progress.start(2), torch.tensor([1.0, float("nan")]),
    ...                            torch.tensor([True, False]), 1, tol=0.1, keep_best=False)
    >>> better.tolist(), progress.bad_epochs.tolist(), progress.best_epoch.tolist()
    ([True, False], [0, 1], [1, 0])
    """
    metric, finite = metric.cpu(), finite.cpu()
    improved = metric < progress.best_metric - tol
    better = (metric < progress.best_metric) & finite
    best_metric = torch.where(better, metric, progress.best_metric)
    bad_epochs = torch.where(improved, 0, progress.bad_epochs + 1)
    best_epoch = torch.where(better if keep_best else finite, epoch, progress.best_epoch)
    return Progress(best_metric, bad_epochs, best_epoch), better


def reprieve(progress: Progress, members: Tensor) -> Progress:
    """The counters with the epochs without progress of ``members`` (``(K,)`` bool) set back
    to 0: they stalled, and their solver went on at a smaller step size instead of stopping
    (SGD's ``"adaptive"`` schedule, :mod:`netreg.engine.schedules`), as scikit-learn does.

    Examples
    --------
    >>> progress = Progress.start(2)._replace(bad_epochs=torch.tensor([3, 3]))
    >>> reprieve(progress, torch.tensor([True, False])).bad_epochs.tolist()
    [0, 3]
    """
    return progress._replace(bad_epochs=torch.where(members.cpu(), 0, progress.bad_epochs))


def statuses(
    progress: Progress,
    finite: Tensor,
    epoch: int,
    *,
    n_iter_no_change: int,
    max_iter: int,
    early_stopping: bool,
    stop_requested: Sequence[bool],
) -> list[str]:
    """Each member's status after ``epoch`` (``""``: it goes on), in the precedence above.

    Examples
    --------
    >>> progress = Progress.start(3)._replace(bad_epochs=torch.tensor([0, 4, 0]))
    >>> statuses(progress, torch.tensor([True, True, False]), 2, n_iter_no_change=4, max_iter=10,
    ...          early_stopping=False, stop_requested=[False, False, True])
    ['', 'converged', 'diverged']
    """
    finite = finite.cpu()
    result = []
    for position, requested in enumerate(stop_requested):
        if not finite[position]:
            result.append("diverged")
        elif requested:
            result.append("stopped")
        elif progress.bad_epochs[position] >= n_iter_no_change:
            result.append("early_stopped" if early_stopping else "converged")
        elif epoch >= max_iter:
            result.append("max_iter")
        else:
            result.append("")
    return result


def status_message(
    status: str,
    config: Any,
    *,
    epoch: int,
    alpha: float,
    objective: float,
    lbfgs_message: str = "",
    reason: str = "",
) -> str:
    """The human-readable reason for a member's ``status`` (its ``MemberResult.message``);
    a diverged member's comes from :mod:`netreg.engine.health`, which knows what failed.

    ``config`` is the run's :class:`netreg.engine.TrainConfig`; ``objective`` the last
    recorded objective; ``lbfgs_message`` SciPy's message; ``reason`` a callback's.

    Examples
    --------
    >>> from netreg.engine import TrainConfig
    >>> status_message("stopped", TrainConfig(), epoch=3, alpha=0.1, objective=0.5, reason="worst half at rung 1")
    'Stopped by a callback after epoch 3: worst half at rung 1'
    """
    c = config
    if status == "stopped":
        return f"Stopped by a callback after {'iteration' if c.solver == 'lbfgs' else 'epoch'} {epoch}: {reason}"
    if c.solver == "lbfgs":
        if status == "stalled":
            return (
                f"L-BFGS stopped after {epoch} iterations: its line search could make no more progress "
                f"({lbfgs_message}). The weights are usually at the minimum to this dtype's precision; "
                "use dtype='float64' for a tighter fit."
            )
        if status == "max_iter":
            return (
                f"L-BFGS stopped at max_iter={c.max_iter} iterations or max_fun={c.max_fun} loss evaluations "
                f"before converging ({lbfgs_message}). Increase max_iter or standardize the inputs."
            )
        return f"L-BFGS converged after {epoch} iterations ({lbfgs_message})."
    if status == "max_iter":
        return (
            f"Stopped at max_iter={c.max_iter} epochs before converging "
            f"(the objective still improved by more than tol={c.tol} within the last {c.n_iter_no_change} epochs)."
        )
    watched = f"validation {c.early_stopping_metric}" if status == "early_stopped" else "training objective"
    return f"The {watched} did not improve by more than tol={c.tol} for {c.n_iter_no_change} consecutive epochs."
