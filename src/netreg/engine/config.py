"""How to train: the solver, its hyperparameters, the stopping rules, device and dtype."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import torch

from netreg._checks import COUNT, Choice, Flag, Range, Rule
from netreg.engine.schedules import SCHEDULES
from netreg.engine.solvers import SOLVERS
from netreg.exceptions import invalid

__all__ = ["RULES", "TrainConfig", "resolve_device"]

#: Each field's rule, declared once: :class:`TrainConfig` checks its fields with them (in this
#: order; ``batch_size`` and ``n_threads`` may also be None), and the estimators' scikit-learn
#: constraints are built from them (:mod:`netreg.estimators.params`).
RULES: dict[str, Rule] = {
    "solver": Choice(tuple(SOLVERS)),
    "learning_rate": Range(Real, 0, closed="neither"),
    "lr_schedule": Choice(SCHEDULES),
    "power_t": Range(Real, 0),
    "momentum": Range(Real, 0, 1, closed="both"),
    "beta_1": Range(Real, 0, 1),
    "beta_2": Range(Real, 0, 1),
    "epsilon": Range(Real, 0, closed="neither"),
    "batch_size": COUNT,
    "max_iter": COUNT,
    "tol": Range(Real, 0),
    "n_iter_no_change": Range(Integral, 1, inf="never stop on stalling"),
    "max_fun": COUNT,
    "ftol": Range(Real, 0),
    "eval_batch_size": COUNT,
    "n_threads": COUNT,
    "early_stopping_metric": Choice(("loss", "score")),
    "dtype": Choice(("float32", "float64")),
    "alpha_scale": Choice(("n_samples", "batch")),
    "adam_epsilon": Choice(("torch", "sklearn")),
    "nesterov": Flag(),
    "early_stopping": Flag(),
    "shuffle": Flag(),
}


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
    lr_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
        How SGD's step size changes, per member, at the end of each epoch (scikit-learn's
        ``learning_rate``; Adam ignores it): ``"invscaling"`` sets it to
        ``learning_rate / (t + 1) ** power_t``, t the member's training rows seen so far;
        ``"adaptive"`` divides it by 5 instead of stopping when the member stalls (see
        ``n_iter_no_change``), and stops the member once it is at most 1e-6
        (:mod:`netreg.engine.schedules`).
    power_t : float, default=0.5
        The exponent of ``"invscaling"``.
    momentum : float, default=0.9
        SGD momentum in [0, 1].
    nesterov : bool, default=True
        Nesterov momentum for SGD.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    adam_epsilon : {"torch", "sklearn"}, default="torch"
        Where Adam adds ``epsilon``: to the bias-corrected root of its second moment, as
        ``torch.optim.Adam`` does, or to the raw root, as scikit-learn's MLP does (the
        estimators' choice, so that their ``epsilon`` means scikit-learn's; see
        :func:`netreg.engine.optim.adam_step_`).
    batch_size : int or None, default=200
        Minibatch size for SGD and Adam; ``None`` for full batch. A member with fewer
        rows uses them all.
    max_iter : int, default=200
        Maximum epochs (SGD, Adam) or iterations (L-BFGS).
    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress; for L-BFGS, the
        gradient tolerance (``gtol``).
    n_iter_no_change : int or inf, default=10
        Epochs without progress after which a member stops (``math.inf``: never on
        stalling; with ``lr_schedule="adaptive"``, SGD divides its step size instead).
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
    alpha_scale : {"n_samples", "batch"}, default="n_samples"
        What ``alpha`` is divided by in a minibatch step: m, the training set's weight sum
        (the objective of :func:`netreg.engine.train_population`, the same for every batch
        size), or the batch's weight sum, as scikit-learn's MLP does with ``sgd`` and
        ``adam`` (the penalty is then ``alpha / (2 b)`` per step, and is recorded at the
        epoch's mean: ``alpha * n_batches / (2 m)``). Full-batch L-BFGS's batch is the
        training set: the two are the same there.
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
        1 and the usable cores (:mod:`netreg.engine.threads`).

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
    lr_schedule: str = "constant"
    power_t: float = 0.5
    momentum: float = 0.9
    nesterov: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    adam_epsilon: str = "torch"
    batch_size: int | None = 200
    max_iter: int = 200
    tol: float = 1e-4
    n_iter_no_change: int | float = 10
    early_stopping: bool = False
    early_stopping_metric: str = "loss"
    monitor: str = "val"
    shuffle: bool = True
    max_fun: int = 15000
    alpha_scale: str = "n_samples"
    ftol: float = 2.220446049250313e-09
    device: str = "auto"
    dtype: str = "float32"
    eval_batch_size: int = 4096
    n_threads: int | None = None

    def __post_init__(self) -> None:
        for name, rule in RULES.items():
            value = getattr(self, name)
            if value is not None or name not in ("batch_size", "n_threads"):
                rule.check(value, name)
        resolve_device(self.device)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device``, which
    must exist on this machine.

    Raises
    ------
    InvalidParameterError
        For a string torch does not read as a device, or a CUDA (or MPS) device this machine
        does not have.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu0")
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `device` must be 'auto', 'cpu', 'cuda' or another torch device string. Got device='tpu0'.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise invalid("device", "'auto', 'cpu', 'cuda' or another torch device string", device) from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise invalid(
                "device",
                "'auto' or 'cpu' on this machine, which has no CUDA device",
                device,
                "Pass `device='auto'` to use a GPU where there is one.",
            )
        if resolved.index is not None and resolved.index >= count:
            raise invalid("device", f"'cuda' or 'cuda:0' to 'cuda:{count - 1}' ({count} CUDA device(s) here)", device)
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise invalid("device", "'auto' or 'cpu' on this machine, which has no MPS device", device)
    return resolved
