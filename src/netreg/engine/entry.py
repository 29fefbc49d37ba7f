"""The engine's entry point: validate the inputs once, then run the loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from netreg import penalties
from netreg.engine.config import TrainConfig
from netreg.engine.hooks import Callback
from netreg.engine.inputs import validate_inputs
from netreg.engine.loop import Trainer
from netreg.engine.results import PopulationResult
from netreg.engine.step import import_lazy_modules
from netreg.losses import Task

__all__ = ["train_population"]


def train_population(
    module: nn.Module,
    X: Any,
    y: Any,
    *,
    task: str | Task,
    alphas: Sequence[float] | None = None,
    penalty: str | penalties.Penalty = "l2",
    config: TrainConfig | None = None,
    seeds: int | Sequence[int] = 0,
    train_rows: Sequence[Any] | None = None,
    eval_rows: Mapping[str, Sequence[Any]] | None = None,
    sample_weight: Any = None,
    init_states: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]] | None = None,
    init_optimizer_states: Sequence[Mapping[str, Any] | None] | None = None,
    callbacks: Callback | Sequence[Callback] | None = None,
    raise_on_divergence: bool | None = None,
) -> PopulationResult:
    """Train K copies of ``module`` at once, member k with strength ``alphas[k]``.

    Each member minimizes ``mean_i loss_i + penalty``, with the penalty of
    :mod:`netreg.penalties` (``alpha / (2 m) * sum_j ||W[j]||_F^2`` for L2) and m the
    sum of its training rows' sample weights (their number, without weights). In
    minibatch training each step uses the batch's weighted mean loss plus the full
    penalty, so the objective does not depend on the batch size.

    Parameters
    ----------
    module : torch.nn.Module
        The architecture: netreg's :class:`~netreg.nets.MLP` or any module that
        ``torch.func.vmap`` can run (recurrent layers cannot). Members start from
        ``init_states``, or else from ``module.reset_parameters()`` (or that of each
        submodule, if the module has none) under their own seed. Each member keeps its own
        buffers (BatchNorm's running statistics, updated as in plain PyTorch; with
        ``solver="lbfgs"``, at every evaluation, as a ``torch.optim.LBFGS`` closure would).
    X : array-like, sparse matrix or tensor of shape (n_samples, ...)
        Inputs, rows along the first axis: ``(n_samples, n_features)`` for the MLP, any
        shape for other modules (images ``(n_samples, channels, height, width)``). They are
        cast to ``config.dtype``; a module with an ``nn.Embedding`` casts its indices back
        (``x.long()``). A SciPy sparse matrix stays sparse: each minibatch and evaluation
        chunk is made dense alone (L-BFGS's one batch is the whole training set).
    y : array-like
        Targets: ``(n,)`` or ``(n, q)`` floats for regression (counts >= 0 for poisson),
        ``(n,)`` class indices for multiclass, ``(n,)`` 0/1 for binary, ``(n, q)`` 0/1 for
        multilabel.
    task : {"regression", "poisson", "multiclass", "binary", "multilabel"} or Task
        Which loss and score (see :mod:`netreg.losses`).
    alphas : sequence of float, optional
        One strength per member (the lambda of the objective). Default: the penalty's
        own ``alpha``, one member.
    penalty : {"l2", "l1", "elasticnet"} or Penalty, default="l2"
        Kind of penalty and which parameters it acts on (its ``include``, ``exclude``
        and ``layer_alphas``). Its own ``alpha`` is used only when ``alphas`` is None.
    config : TrainConfig, optional
        Solver and stopping settings; the defaults of :class:`TrainConfig` otherwise.
    seeds : int or sequence of int, default=0
        Per member seed of initialization, data order and dropout; one int for all. With
        dropout too a member equals its solo fit, which draws the masks of a plain PyTorch
        loop after ``torch.manual_seed(seed)`` on the CPU (:mod:`netreg.engine.dropout`).
    train_rows : sequence of array-like of int, optional
        Per member, the rows it trains on (default: all rows).
    eval_rows : mapping of str to sequence of array-like of int, optional
        Held-out row sets per member, evaluated after every epoch and recorded as
        ``<name>_loss`` and ``<name>_score``. Early stopping watches ``config.monitor``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights for the loss, the penalty's m and the scores.
    init_states : state dict or sequence of state dicts, optional
        Starting weights: one for all members, or one per member.
    init_optimizer_states : sequence of dict or None, optional
        Per member, an ``optimizer_state`` of an earlier result to continue from (same
        solver); ``None`` entries start fresh. Used for ``partial_fit``.
    callbacks : Callback or list of Callback, optional
        Receive progress and each member's result as soon as it stops; hooks that accept
        a ``population`` keyword get a :class:`Population` handle, through which they
        can read members' weights and stop members.
    raise_on_divergence : bool, optional
        Raise :class:`DivergenceError` when a member diverges. Default: only when the
        population has a single member (a single fit); otherwise the diverged member is
        stopped and reported, and the others go on.

    Returns
    -------
    PopulationResult

    Raises
    ------
    DivergenceError
        If a member diverges and ``raise_on_divergence`` holds.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.nets import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> result = train_population(
    ...     MLP(3, (), 1), X, y, task="regression", alphas=[0.0, 10.0, 1000.0],
    ...     config=TrainConfig(solver="adam", learning_rate=0.05, max_iter=300),
    ... )
    >>> norms = [m.history[-1]["weight_norms"]["layers.0.weight"] for m in result.members]
    >>> bool(norms[0] > norms[1] > norms[2])
    True
    """
    inputs = validate_inputs(
        module,
        X,
        y,
        task=task,
        alphas=alphas,
        penalty=penalty,
        config=config,
        seeds=seeds,
        train_rows=train_rows,
        eval_rows=eval_rows,
        sample_weight=sample_weight,
        init_states=init_states,
        init_optimizer_states=init_optimizer_states,
        raise_on_divergence=raise_on_divergence,
    )
    # An interrupt during training must not land in an import (see import_lazy_modules).
    import_lazy_modules()
    return Trainer(inputs, callbacks).fit()
