"""The stopping rules as pure functions of tensors: counters, statuses and their precedence, messages."""

from __future__ import annotations

import math

import pytest
import torch

from netreg.engine import TrainConfig
from netreg.engine.stopping import Progress, advance, status_message, statuses, watched_metric

NAN = float("nan")


def _progress(best_metric, bad_epochs, best_epoch):
    return Progress(torch.tensor(best_metric, dtype=torch.float64), torch.tensor(bad_epochs), torch.tensor(best_epoch))


def test_advance_counts_epochs_without_an_improvement_larger_than_tol():
    before = _progress([1.0, 1.0, 1.0, 1.0], [2, 2, 2, 2], [3, 3, 3, 3])
    metric = torch.tensor([0.5, 0.95, 1.5, NAN], dtype=torch.float64)
    finite = torch.tensor([True, True, True, False])
    after, better = advance(before, metric, finite, 4, tol=0.1, keep_best=False)
    # 0.5 improves by more than tol; 0.95 is a new best but not progress; 1.5 is worse; NaN diverged.
    assert better.tolist() == [True, True, False, False]
    assert after.best_metric.tolist() == [0.5, 0.95, 1.0, 1.0]
    assert after.bad_epochs.tolist() == [0, 3, 3, 3]
    # Without early stopping the last finite epoch is kept.
    assert after.best_epoch.tolist() == [4, 4, 4, 3]
    # The input is left as it was.
    assert before.bad_epochs.tolist() == [2, 2, 2, 2] and before.best_metric.tolist() == [1.0] * 4


def test_advance_with_early_stopping_keeps_the_best_epoch():
    before = _progress([1.0, 1.0], [0, 0], [2, 2])
    after, better = advance(
        before, torch.tensor([0.99, 1.2], dtype=torch.float64), torch.tensor([True, True]), 3, tol=0.0, keep_best=True
    )
    assert better.tolist() == [True, False] and after.best_epoch.tolist() == [3, 2]


def test_the_first_epoch_always_counts_as_progress():
    after, better = advance(
        Progress.start(1), torch.tensor([1e30], dtype=torch.float64), torch.tensor([True]), 1, tol=1.0, keep_best=True
    )
    assert better.tolist() == [True] and after.bad_epochs.tolist() == [0] and after.best_metric.tolist() == [1e30]
    assert math.isinf(Progress.start(1).best_metric.item())


def test_statuses_follow_their_precedence():
    progress = _progress([0.0] * 6, [5, 5, 5, 0, 0, 5], [1] * 6)
    finite = torch.tensor([False, True, True, True, True, True])
    requested = [True, True, False, False, False, False]
    common = {"n_iter_no_change": 5, "max_iter": 9, "stop_requested": requested}
    assert statuses(progress, finite, 9, early_stopping=False, **common) == [
        "diverged",  # beats a stop request and every other rule
        "stopped",  # beats convergence
        "converged",  # beats max_iter
        "max_iter",
        "max_iter",
        "converged",
    ]
    assert statuses(progress, finite, 3, early_stopping=True, **common) == [
        "diverged",
        "stopped",
        "early_stopped",
        "",
        "",
        "early_stopped",
    ]


def test_watched_metric_is_the_objective_or_the_monitored_loss_or_negated_score():
    objective = torch.tensor([1.0])
    held_out = {"val": (torch.tensor([2.0]), torch.tensor([0.75])), "stop": (torch.tensor([3.0]), torch.tensor([0.5]))}
    assert watched_metric(objective, held_out, early_stopping=False, metric="loss", monitor="val") is objective
    assert watched_metric(objective, held_out, early_stopping=True, metric="loss", monitor="stop").tolist() == [3.0]
    assert watched_metric(objective, held_out, early_stopping=True, metric="score", monitor="val").tolist() == [-0.75]


@pytest.mark.parametrize(
    "status, config, extra, message",
    [
        ("stopped", TrainConfig(), {"reason": "rung 2"}, "Stopped by a callback after epoch 4: rung 2"),
        ("stopped", TrainConfig(solver="lbfgs"), {"reason": "r"}, "Stopped by a callback after iteration 4: r"),
        (
            "max_iter",
            TrainConfig(max_iter=4, tol=0.01, n_iter_no_change=3),
            {},
            "Stopped at max_iter=4 epochs before converging (the objective still improved by more than tol=0.01 "
            "within the last 3 epochs).",
        ),
        (
            "converged",
            TrainConfig(tol=0.01, n_iter_no_change=3),
            {},
            "The training objective did not improve by more than tol=0.01 for 3 consecutive epochs.",
        ),
        (
            "early_stopped",
            TrainConfig(early_stopping=True, early_stopping_metric="score"),
            {},
            "The validation score did not improve by more than tol=0.0001 for 10 consecutive epochs.",
        ),
        (
            "converged",
            TrainConfig(solver="lbfgs"),
            {"lbfgs_message": "CONVERGENCE"},
            "L-BFGS converged after 4 iterations (CONVERGENCE).",
        ),
        (
            "max_iter",
            TrainConfig(solver="lbfgs", max_iter=4, max_fun=9),
            {"lbfgs_message": "STOP"},
            "L-BFGS stopped at max_iter=4 iterations or max_fun=9 loss evaluations before converging (STOP). "
            "Increase max_iter or standardize the inputs.",
        ),
        (
            "stalled",
            TrainConfig(solver="lbfgs"),
            {"lbfgs_message": "ABNORMAL"},
            "L-BFGS stopped after 4 iterations: its line search could make no more progress (ABNORMAL). The weights "
            "are usually at the minimum to this dtype's precision; use dtype='float64' for a tighter fit.",
        ),
    ],
)
def test_status_messages(status, config, extra, message):
    assert status_message(status, config, epoch=4, alpha=2.0, objective=NAN, **extra) == message
