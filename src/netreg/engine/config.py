"""How to train: the solver, its hyperparameters, the stopping rules, device and dtype."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from netreg._checks import check_float, check_int, check_options
from netreg.engine.solvers import SOLVERS
from netreg.exceptions import invalid

__all__ = ["TrainConfig", "resolve_device"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train: solver, its hyperparameters, stopping rules, device and dtype.

    Names and defaults follow scikit-learn's ``MLPClassifier`` where it has them.

    Parameters
    ----------
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        A name in :data:`netreg.engine.solvers.SOLVERS`. ``"lbfgs"`` is full-batch L-BFGS
        (SciPy's L-BFGS-B, as scikit-learn uses), for a single member only.
    learning_rate : float, default=1e-3
        Step size of SGD and Adam (scikit-learn's ``learning_rate_init``).
    momentum : float, default=0.9
        SGD momentum in [0, 1].
    nesterov : bool, default=True
        Nesterov momentum for SGD.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    batch_size : int or None, default=200
        Minibatch size for SGD and Adam; ``None`` for full batch. A member with fewer
        rows uses them all.
    max_iter : int, default=200
        Maximum epochs (SGD, Adam) or iterations (L-BFGS).
    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress; for L-BFGS, the
        gradient tolerance (``gtol``).
    n_iter_no_change : int, default=10
        Epochs without progress after which a member stops.
    early_stopping : bool, default=False
        Stop each member on its ``monitor`` evaluation set (which must be given) and keep
        its best weights. Ignored by L-BFGS, as in scikit-learn.
    early_stopping_metric : {"loss", "score"}, default="loss"
        What early stopping watches on the validation rows: the data loss, or the score
        (accuracy or R^2, scikit-learn's choice).
    monitor : str, default="val"
        Name of the evaluation set early stopping watches (see ``eval_rows``).
    shuffle : bool, default=True
        Shuffle each member's rows every epoch (with the member's own seed).
    max_fun : int, default=15000
        L-BFGS's maximum number of loss evaluations.
    ftol : float, default=2.220446049250313e-09
        L-BFGS also stops when an iteration lowers the objective by less than ``ftol``
        relative to it (SciPy's and scikit-learn's default). Lower it, with a small
        ``tol`` and ``dtype="float64"``, to converge to machine precision.
    device : str, default="auto"
        ``"auto"`` picks CUDA when available, else CPU; or any torch device string.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of weights and data.
    eval_batch_size : int, default=4096
        Rows times members per chunk when evaluating held-out sets and each member's
        final training metrics (a population of K members evaluates ``eval_batch_size // K``
        rows at a time), to bound memory: a chunk's activations take about
        ``4 * eval_batch_size * (n_features + sum of layer widths)`` bytes in float32.
    n_threads : int or None, default=None
        CPU threads PyTorch uses during the run (set for the run, restored after it).
        ``None``: one per 50 million floating-point operations of a training step, between
        1 and the usable cores (see :mod:`netreg.engine.threads`): small networks train on
        one thread, which costs them nothing on an idle machine and keeps them fast on a
        busy one.

    Examples
    --------
    >>> TrainConfig(solver="sgd", learning_rate=0.01).momentum
    0.9
    >>> TrainConfig(solver="rmsprop")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `solver` must be one of 'adam', 'sgd', 'lbfgs'. Got solver='rmsprop'.
    """

    solver: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    batch_size: int | None = 200
    max_iter: int = 200
    tol: float = 1e-4
    n_iter_no_change: int = 10
    early_stopping: bool = False
    early_stopping_metric: str = "loss"
    monitor: str = "val"
    shuffle: bool = True
    max_fun: int = 15000
    ftol: float = 2.220446049250313e-09
    device: str = "auto"
    dtype: str = "float32"
    eval_batch_size: int = 4096
    n_threads: int | None = None

    def __post_init__(self) -> None:
        check_options(self.solver, "solver", list(SOLVERS))
        check_float(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_float(self.momentum, "momentum", low=0.0, high=1.0)
        check_float(self.beta_1, "beta_1", low=0.0, high=1.0, high_open=True)
        check_float(self.beta_2, "beta_2", low=0.0, high=1.0, high_open=True)
        check_float(self.epsilon, "epsilon", low=0.0, low_open=True)
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", low=1)
        check_int(self.max_iter, "max_iter", low=1)
        check_float(self.tol, "tol", low=0.0)
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1)
        check_int(self.max_fun, "max_fun", low=1)
        check_float(self.ftol, "ftol", low=0.0)
        check_int(self.eval_batch_size, "eval_batch_size", low=1)
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", low=1)
        check_options(self.early_stopping_metric, "early_stopping_metric", ("loss", "score"))
        check_options(self.dtype, "dtype", ("float32", "float64"))
        for name in ("nesterov", "early_stopping", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise invalid(name, "a bool", getattr(self, name))
        resolve_device(self.device)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device``.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise invalid("device", "'auto', 'cpu', 'cuda' or another torch device string", device) from None
