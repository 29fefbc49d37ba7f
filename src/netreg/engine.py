"""The one training engine: a population of K networks trained at once (K = 1 for one fit).

Members share an architecture and differ in their strength ``alpha`` (and, optionally,
in seed and in the rows they train and validate on, for cross-validation). Their
parameters are stacked along a leading axis and run forward together with
``torch.func.vmap`` over ``torch.func.functional_call``; one backward pass through the
*sum* of the members' losses gives each member exactly its own gradient (a mean would
scale every member's learning rate by 1/K). The penalty gradient is then added in one
fused multi-tensor operation, and SGD or Adam, both elementwise, moves each member as
``torch.optim`` would move it alone.

Per epoch, every member records its data loss, penalty, objective, held-out loss and
score and the norm of each penalized layer (see :mod:`netreg.history`). A member stops
on its own: when its objective (or, with early stopping, its validation metric) has not
improved by ``tol`` for ``n_iter_no_change`` epochs, when it reaches ``max_iter``, or
when it diverges. A stopped member leaves the stacked tensors, so it costs nothing more,
and is reported at once through the callback, so that results can be stored as they come.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor, nn
from torch.func import functional_call, vmap

from netreg import penalties
from netreg._checks import check_alpha, check_float, check_int, check_options, invalid
from netreg._optim import AdamState, SGDState, adam_step_, sgd_step_
from netreg._rows import Rows, evaluate
from netreg.data import as_float_array, check_n_rows
from netreg.exceptions import DataError, DivergenceError, InvalidParameterError
from netreg.history import History
from netreg.losses import Task, get_task
from netreg.nets import MLP, stacked_mlp_forward

__all__ = [
    "TrainConfig",
    "Callback",
    "MemberResult",
    "PopulationResult",
    "train_population",
    "resolve_device",
    "member_module",
]

SOLVERS = ("adam", "sgd", "lbfgs")
STATUSES = ("converged", "early_stopped", "max_iter", "stalled", "diverged")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: solver, its hyperparameters, stopping rules, device and dtype.

    Names and defaults follow scikit-learn's ``MLPClassifier`` where it has them.

    Parameters
    ----------
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"lbfgs"`` is full-batch L-BFGS (SciPy's L-BFGS-B, as scikit-learn uses), for a
        single member only.
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
    eval_batch_size : int, default=65536
        Rows times members per chunk when evaluating held-out sets (a population of K
        members evaluates ``eval_batch_size // K`` rows at a time), to bound memory.

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
    eval_batch_size: int = 65536

    def __post_init__(self) -> None:
        check_options(self.solver, "solver", SOLVERS)
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
        check_options(self.early_stopping_metric, "early_stopping_metric", ("loss", "score"))
        check_options(self.dtype, "dtype", ("float32", "float64"))
        for name in ("nesterov", "early_stopping", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise invalid(name, "a bool", getattr(self, name))
        resolve_device(self.device)


class Callback:
    """Receives progress from the engine; every hook is a no-op unless overridden.

    Library code never prints: a CLI progress bar, a results store or a logger is a
    callback.

    Examples
    --------
    >>> class CountEpochs(Callback):
    ...     def __init__(self):
    ...         self.epochs = 0
    ...     def on_epoch_end(self, epoch, records):
    ...         self.epochs += 1
    """

    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        """Called once with ``n_members``, ``max_iter``, ``device``, ``dtype``, ``alphas``."""

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        """Called after each epoch with ``{member index: that epoch's record}``."""

    def on_member_end(self, result: MemberResult) -> None:
        """Called as soon as a member stops, with its final result."""

    def on_train_end(self, result: PopulationResult) -> None:
        """Called once when every member has stopped."""


@dataclass
class MemberResult:
    """What one trained member leaves behind.

    Attributes
    ----------
    index : int
        Position of the member in the population.
    alpha : float
        Its shared strength (layers with their own ``layer_alphas`` keep theirs).
    seed : int
        Seed of its initialization and data order.
    status : {"converged", "early_stopped", "max_iter", "stalled", "diverged"}
        Why it stopped (``"stalled"``: L-BFGS's line search could make no more progress).
    n_iter : int
        Epochs (or L-BFGS iterations) trained.
    best_epoch : int
        The epoch whose weights are kept: the best validation epoch with early stopping,
        the last finite epoch for a diverged member, else the last epoch.
    state_dict : dict of str to Tensor
        The kept weights (on CPU), loadable into the architecture.
    history : History
        Per-epoch records.
    metrics : dict of str to float
        ``train_loss``, ``train_score`` and ``<set>_loss``, ``<set>_score`` of every
        evaluation set, computed with the kept weights in eval mode (no dropout).
    message : str
        Human-readable reason for the status.
    optimizer_state : dict or None
        The SGD momentum or Adam moments at the end of training (``None`` for L-BFGS),
        to continue training later through ``init_optimizer_states``.
    """

    index: int
    alpha: float
    seed: int
    status: str
    n_iter: int
    best_epoch: int
    state_dict: dict[str, Tensor]
    history: History
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    optimizer_state: dict[str, Any] | None = None


@dataclass
class PopulationResult:
    """All members' results, in member order, and how the run went."""

    members: list[MemberResult]
    fit_time_s: float
    device: str
    dtype: str


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


def member_module(template: nn.Module, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """A copy of ``template`` holding a member's weights (and their dtype), in eval mode, on CPU."""
    module = copy.deepcopy(template).cpu()
    dtypes = {t.dtype for t in state_dict.values() if t.is_floating_point()}
    if len(dtypes) == 1:
        module = module.to(dtypes.pop())
    module.load_state_dict(state_dict)
    return module.eval()


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
    callback: Callback | None = None,
    raise_on_divergence: bool | None = None,
    callbacks: Sequence[Callback] | None = None,  # TEMP shim until the engine redesign lands
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
        The architecture (any module without BatchNorm). Members start from
        ``init_states``, or else from ``module.reset_parameters()`` (or that of each
        submodule, if the module has none) under their own seed.
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y : array-like
        Targets: ``(n,)`` or ``(n, q)`` floats for regression, ``(n,)`` class indices
        for multiclass, ``(n,)`` 0/1 for binary, ``(n, q)`` 0/1 for multilabel.
    task : {"regression", "multiclass", "binary", "multilabel"} or Task
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
        Per member seed of initialization and data order; one int for all. Dropout masks
        come from one random stream for the whole population, seeded with the first
        member's seed: a run is reproducible, but with dropout a member's masks depend on
        the population it trains in (without dropout, a member equals its solo fit).
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
    callback : Callback, optional
        Receives progress and each member's result as soon as it stops.
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
        If the population has a single member and it diverges. In a larger population
        a diverging member is stopped with status ``"diverged"`` and the others go on.

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
    if callbacks is not None:
        callback = _Fanout([*callbacks, *([callback] if callback else [])])
    config = config or TrainConfig()
    penalty = penalties.get(penalty) or penalties.L2(0.0)
    task = get_task(task)
    run = _Run.prepare(
        module,
        X,
        y,
        task,
        alphas,
        penalty,
        config,
        seeds,
        train_rows,
        eval_rows,
        sample_weight,
        init_states,
        init_optimizer_states,
        callback,
        raise_on_divergence,
    )
    return run.fit()


class _Run:
    """The state of one population run; ``fit`` reads like the algorithm."""

    @classmethod
    def prepare(
        cls,
        module,
        X,
        y,
        task,
        alphas,
        penalty,
        config,
        seeds,
        train_rows,
        eval_rows,
        sample_weight,
        init_states,
        init_optimizer_states,
        callback,
        raise_on_divergence,
    ) -> _Run:
        self = cls()
        self.task, self.penalty, self.config = task, penalty, config
        self.callback = callback or Callback()
        self.device = resolve_device(config.device)
        self.dtype = getattr(torch, config.dtype)
        _refuse_batch_norm(module)
        self.alphas = _check_alphas(alphas, penalty)
        n_members = len(self.alphas)
        self.seeds = _check_seeds(seeds, n_members)
        if config.solver == "lbfgs" and n_members > 1:
            raise InvalidParameterError(
                f"The 'lbfgs' solver trains a single member; got a population of {n_members}. "
                "L-BFGS's line search and curvature pairs would couple the members. "
                "Use solver='adam' or 'sgd' for populations."
            )
        X_np = as_float_array(X, name="X")
        n = X_np.shape[0]
        y_np = _check_targets(y, task, n)
        check_n_rows(X=X_np, y=y_np)
        sw = np.ones(n) if sample_weight is None else _check_sample_weight(sample_weight, n)
        self.X = torch.as_tensor(X_np, dtype=self.dtype, device=self.device)
        target_dtype = torch.long if task.target_dtype == "long" else self.dtype
        self.y = torch.as_tensor(y_np, dtype=target_dtype, device=self.device)
        self.sample_weight = torch.as_tensor(sw, dtype=self.dtype, device=self.device)
        self.train_rows = _check_rows(train_rows, n_members, n, "train_rows", sw)
        self.eval_rows = {
            name: _check_rows(rows, n_members, n, f"eval_rows[{name!r}]", sw)
            for name, rows in (eval_rows or {}).items()
        }
        if config.early_stopping and config.solver != "lbfgs" and config.monitor not in self.eval_rows:
            raise InvalidParameterError(
                f"early_stopping=True needs validation rows: pass eval_rows={{{config.monitor!r}: [...]}} "
                f"with one row set per member. Got eval sets {sorted(self.eval_rows)}."
            )
        self.skeleton = copy.deepcopy(module).to(self.device, self.dtype)
        self.targets = penalty.targets(self.skeleton, shared=True)
        self.penalized = [t.name for t in self.targets]
        self.states = _initial_states(module, self.seeds, init_states)
        self.init_optimizer_states = _check_optimizer_states(init_optimizer_states, n_members, config.solver)
        self.raise_on_divergence = n_members == 1 if raise_on_divergence is None else bool(raise_on_divergence)
        self._check_output_shape()
        return self

    # ----------------------------------------------------------------------------------
    def fit(self) -> PopulationResult:
        started = time.perf_counter()
        cuda = [self.device] if self.device.type == "cuda" else []
        # NumPy's and SciPy's BLAS threads spin-wait after each small call and take the
        # cores torch's threads need: with 2 cores, L-BFGS iterations ran 15x slower.
        with threadpool_limits(limits=1, user_api="blas"), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seeds[0])
            self._stack()
            self.callback.on_train_begin(
                {
                    "n_members": len(self.alphas),
                    "max_iter": self.config.max_iter,
                    "device": str(self.device),
                    "dtype": self.config.dtype,
                    "alphas": list(self.alphas),
                }
            )
            if self.config.solver == "lbfgs":
                self._fit_lbfgs()
            else:
                self._fit_loop()
        self.results.sort(key=lambda result: result.index)
        result = PopulationResult(self.results, time.perf_counter() - started, str(self.device), self.config.dtype)
        self.callback.on_train_end(result)
        diverged = [member for member in self.results if member.status == "diverged"]
        if diverged and self.raise_on_divergence:
            raise DivergenceError(diverged[0].message, history=diverged[0].history)
        return result

    def _fit_loop(self) -> None:
        for epoch in range(1, self.config.max_iter + 1):
            train_loss = self._run_epoch()
            self._end_epoch(epoch, train_loss)
            if not self.ids:
                return

    def _run_epoch(self) -> Tensor:
        """One pass over each member's training rows; returns each member's mean batch loss."""
        batches, counts = self._epoch_batches()
        loss_sum = torch.zeros(len(self.ids), dtype=torch.float64, device=self.device)
        weight_sum = torch.zeros_like(loss_sum)
        self.skeleton.train()
        for step in range(batches.shape[1]):
            has_batch = counts[:, step] > 0
            active = None if bool(has_batch.all()) else has_batch.to(self.device)
            loss, weight = self._train_step(batches[:, step], active)
            loss_sum += loss.to(torch.float64) * weight
            weight_sum += weight
        return loss_sum / weight_sum.clamp_min(torch.finfo(torch.float64).tiny)

    def _train_step(self, index: Tensor, active: Tensor | None) -> tuple[Tensor, Tensor]:
        """Forward, backward, fused penalty gradient and optimizer step on one minibatch."""
        shared = index.shape[0] == 1
        valid = index >= 0
        index = index.clamp_min(0)
        weight = torch.where(valid, self.sample_weight[index], 0.0)
        x = self.X[index[0]] if shared else self.X[index]
        target = self.y[index]
        if shared:
            target = target.expand(len(self.ids), *target.shape[1:])
        out = self._forward(self.params, self.buffers, x, shared)
        total = weight.sum(1)
        loss = (self.task.loss(out, target) * weight).sum(1) / total.clamp_min(torch.finfo(total.dtype).tiny)
        grads = torch.autograd.grad(loss.sum(), self.param_list)
        weights = [self.params[name] for name in self.penalized]
        penalty_grads = [grads[self.param_index[name]] for name in self.penalized]
        penalties._add_penalty_grad_(weights, penalty_grads, self.coefs, self.penalty.l1_ratio)
        self._optimizer_step(list(grads), active)
        return loss.detach(), total.detach().to(torch.float64).expand(len(self.ids))

    def _optimizer_step(self, grads: list[Tensor], active: Tensor | None) -> None:
        c = self.config
        if c.solver == "sgd":
            sgd_step_(
                self.param_list,
                grads,
                self.opt_state,
                lr=c.learning_rate,
                momentum=c.momentum,
                nesterov=c.nesterov,
                active=active,
            )
        else:
            adam_step_(
                self.param_list,
                grads,
                self.opt_state,
                lr=c.learning_rate,
                beta_1=c.beta_1,
                beta_2=c.beta_2,
                epsilon=c.epsilon,
                active=active,
            )

    def _epoch_batches(self) -> tuple[Tensor, Tensor]:
        """``(K or 1, steps, B)`` row indices (-1 = padding) and ``(K, steps)`` batch sizes."""
        # Members with the same rows and seed draw the same order: draw it once.
        generators = [self.shared_generator] if self.shared_order else self.generators
        orders = []
        for rows, generator in zip(self.rows_train, generators):
            if self.config.shuffle:
                rows = rows[torch.randperm(len(rows), generator=generator)]
            orders.append(rows)
        longest = max(len(order) for order in orders)
        size = longest if self.config.batch_size is None else min(self.config.batch_size, longest)
        steps = math.ceil(longest / size)
        index = torch.full((len(orders), steps * size), -1, dtype=torch.long)
        for k, order in enumerate(orders):
            index[k, : len(order)] = order
        lengths = torch.tensor([len(rows) for rows in self.rows_train])
        starts = torch.arange(steps) * size
        counts = (lengths.unsqueeze(1) - starts).clamp(0, size)
        return index.view(len(orders), steps, size).to(self.device), counts

    def _end_epoch(self, epoch: int, train_loss: Tensor) -> None:
        """Record the epoch, update each member's stopping state, retire stopped members."""
        objective, finite, held_out = self._record_epoch(epoch, train_loss)
        self._update_stopping(epoch, objective, finite, held_out)

    def _record_epoch(self, epoch: int, train_loss: Tensor) -> tuple[Tensor, Tensor, dict[str, tuple[Tensor, Tensor]]]:
        """Compute and record the epoch's penalty, norms and held-out metrics for every member."""
        with torch.no_grad():
            weights = [self.params[name].detach() for name in self.penalized]
            penalty = self.penalty.value(weights, self._alpha_columns(), n_samples=self.n_samples).to(torch.float64)
            norms = torch.stack([w.flatten(1).norm(dim=1) for w in weights], 1) if weights else None
            objective = train_loss + penalty
            finite = torch.isfinite(objective) & self._finite_params()
            held_out = {name: self._evaluate(rows) for name, rows in self.rows_eval.items()}
        records = self._records(epoch, train_loss, penalty, objective, norms, held_out)
        for member in self.ids:
            self.histories[member].append(records[member])
        self.callback.on_epoch_end(epoch, records)
        return objective, finite, held_out

    def _records(self, epoch, train_loss, penalty, objective, norms, held_out) -> dict[int, dict[str, Any]]:
        columns = {"train_loss": train_loss, "penalty": penalty, "objective": objective}
        for name, (loss, score) in held_out.items():
            columns[f"{name}_loss"], columns[f"{name}_score"] = loss, score
        values = {key: value.cpu().tolist() for key, value in columns.items()}
        norm_rows = norms.cpu().tolist() if norms is not None else [[] for _ in self.ids]
        records = {}
        for position, member in enumerate(self.ids):
            record: dict[str, Any] = {"epoch": epoch}
            record.update({key: column[position] for key, column in values.items()})
            record["weight_norms"] = dict(zip(self.penalized, norm_rows[position]))
            records[member] = record
        return records

    def _update_stopping(self, epoch: int, objective: Tensor, finite: Tensor, held_out: dict) -> None:
        c = self.config
        if c.early_stopping:
            loss, score = held_out[c.monitor]
            metric = loss if c.early_stopping_metric == "loss" else -score
        else:
            metric = objective
        metric = metric.cpu()
        finite = finite.cpu()
        improved = metric < self.best_metric - c.tol
        better = (metric < self.best_metric) & finite
        self.best_metric = torch.where(better, metric, self.best_metric)
        self.bad_epochs = torch.where(improved, 0, self.bad_epochs + 1)
        if bool(finite.any()):
            keep = finite.to(self.device)
            self._snapshot(self.last_good, keep)
            if c.early_stopping:
                self._snapshot(self.best, better.to(self.device))
        self.best_epoch = (
            torch.where(better, epoch, self.best_epoch)
            if c.early_stopping
            else torch.where(finite, epoch, self.best_epoch)
        )
        status = [""] * len(self.ids)
        for position in range(len(self.ids)):
            if not finite[position]:
                status[position] = "diverged"
            elif self.bad_epochs[position] >= c.n_iter_no_change:
                status[position] = "early_stopped" if c.early_stopping else "converged"
            elif epoch >= c.max_iter:
                status[position] = "max_iter"
        if any(status):
            self._retire(status, epoch)

    # ----------------------------------------------------------------------------------
    def _stack(self) -> None:
        """Stack the members' parameters and build per-member state on the device."""
        n_members = len(self.alphas)
        self.ids = list(range(n_members))
        self.histories = [History() for _ in range(n_members)]
        self.results: list[MemberResult] = []
        params = {name: torch.stack([s[name] for s in self.states]) for name, _ in self.skeleton.named_parameters()}
        self.params = {name: p.to(self.device, self.dtype).requires_grad_(True) for name, p in params.items()}
        self.buffers = {
            name: torch.stack([s[name] for s in self.states]).to(self.device)
            for name, _ in self.skeleton.named_buffers()
        }
        self.param_list = list(self.params.values())
        self.param_index = {name: position for position, name in enumerate(self.params)}
        self.alpha_matrix = torch.tensor(
            [[a if t.alpha is None else t.alpha for t in self.targets] for a in self.alphas], dtype=torch.float64
        ).reshape(n_members, len(self.targets))
        self.rows_train = [torch.as_tensor(rows, dtype=torch.long) for rows in self.train_rows]
        sw = self.sample_weight
        self.n_samples = torch.stack([sw[torch.as_tensor(rows, device=self.device)].sum() for rows in self.train_rows])
        self.rows_eval = {name: Rows.build(rows, sw, self.device) for name, rows in self.eval_rows.items()}
        self.shared_order = len(set(self.seeds)) == 1 and all(
            np.array_equal(rows, self.train_rows[0]) for rows in self.train_rows
        )
        self.generators = [torch.Generator().manual_seed(seed) for seed in self.seeds]
        self.shared_generator = torch.Generator().manual_seed(self.seeds[0])
        self._build_coefficients()
        if self.config.solver == "sgd":
            self.opt_state: Any = SGDState.create(self.param_list, self.config.momentum)
        elif self.config.solver == "adam":
            self.opt_state = AdamState.create(self.param_list)
        for position, saved in enumerate(self.init_optimizer_states):
            if saved is not None:
                self.opt_state.load_member_(position, list(self.params), saved)
        self.best_metric = torch.full((n_members,), math.inf, dtype=torch.float64)
        self.bad_epochs = torch.zeros(n_members, dtype=torch.long)
        self.best_epoch = torch.zeros(n_members, dtype=torch.long)
        self.last_good = {name: p.detach().clone() for name, p in self.params.items()}
        self.best = {name: p.detach().clone() for name, p in self.params.items()}

    def _build_coefficients(self) -> None:
        """Per penalized weight, ``alpha_kj / m_k`` shaped to broadcast over the stacked weight."""
        ratio = self.alpha_matrix.to(self.device, self.dtype) / self.n_samples.unsqueeze(1)
        self.coefs = [penalties._broadcastable(ratio[:, j], self.params[name]) for j, name in enumerate(self.penalized)]

    def _alpha_columns(self) -> list[Tensor]:
        return [self.alpha_matrix[:, j].to(self.device, self.dtype) for j in range(len(self.penalized))]

    def _forward(self, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor], x: Tensor, shared: bool) -> Tensor:
        if type(self.skeleton) is MLP:
            # netreg's own MLP has a batched forward that is ~1.5x faster than vmap's.
            s = self.skeleton
            return stacked_mlp_forward(
                params, x, n_layers=len(s.layers), activation=s.activation, dropout=s.dropout, training=s.training
            )

        def call(p: Mapping[str, Tensor], b: Mapping[str, Tensor], inputs: Tensor) -> Tensor:
            return functional_call(self.skeleton, (p, b), (inputs,))

        batched = vmap(call, in_dims=(0, 0, None if shared else 0), randomness="different")
        return batched(params, buffers, x)

    def _evaluate(
        self, rows: Rows, params: Mapping[str, Tensor] | None = None, buffers: Mapping[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        params = {name: p.detach() for name, p in (self.params if params is None else params).items()}
        buffers = self.buffers if buffers is None else buffers
        self.skeleton.eval()
        try:
            return evaluate(
                lambda x, shared: self._forward(params, buffers, x, shared),
                self.X,
                self.y,
                rows,
                self.task,
                max(1, self.config.eval_batch_size // rows.n_members),
            )
        finally:
            self.skeleton.train()

    def _finite_params(self) -> Tensor:
        finite = torch.ones(len(self.ids), dtype=torch.bool, device=self.device)
        for p in self.param_list:
            finite &= torch.isfinite(p.detach()).flatten(1).all(1)
        return finite

    @torch.no_grad()
    def _snapshot(self, target: dict[str, Tensor], mask: Tensor) -> None:
        for name, p in self.params.items():
            target[name][mask] = p.detach()[mask]

    def _retire(self, status: list[str], epoch: int) -> None:
        """Report members that stopped this epoch, then drop them from the stacked tensors."""
        leaving = [position for position, s in enumerate(status) if s]
        where = torch.tensor(leaving, dtype=torch.long)
        kept_source = self.best if self.config.early_stopping else self.last_good
        kept = {name: kept_source[name][where.to(self.device)] for name in self.params}
        metrics = self._final_metrics(kept, {name: b[where.to(self.device)] for name, b in self.buffers.items()}, where)
        for row, position in enumerate(leaving):
            member = self.ids[position]
            state = {name: value[row].detach().cpu().clone() for name, value in kept.items()}
            state.update({name: b[position].cpu().clone() for name, b in self.buffers.items()})
            result = MemberResult(
                index=member,
                alpha=self.alphas[member],
                seed=self.seeds[member],
                status=status[position],
                n_iter=epoch,
                best_epoch=int(self.best_epoch[position]),
                state_dict=state,
                history=self.histories[member],
                metrics={key: values[row] for key, values in metrics.items()},
                message=self._message(status[position], member, epoch),
                optimizer_state=None
                if self.config.solver == "lbfgs"
                else self.opt_state.member(position, list(self.params)),
            )
            self.results.append(result)
            self.callback.on_member_end(result)
        staying = torch.tensor([p for p, s in enumerate(status) if not s], dtype=torch.long)
        self._keep(staying)

    def _final_metrics(
        self, kept: dict[str, Tensor], buffers: dict[str, Tensor], where: Tensor
    ) -> dict[str, list[float]]:
        sets = {
            "train": Rows.build([self.train_rows[self.ids[p]] for p in where.tolist()], self.sample_weight, self.device)
        }
        sets.update({name: rows.take(where) for name, rows in self.rows_eval.items()})
        metrics: dict[str, list[float]] = {}
        for name, rows in sets.items():
            loss, score = self._evaluate(rows, kept, buffers)
            metrics[f"{name}_loss"], metrics[f"{name}_score"] = loss.cpu().tolist(), score.cpu().tolist()
        return metrics

    def _keep(self, staying: Tensor) -> None:
        """Compact every per-member structure to the members at positions ``staying``."""
        self.ids = [self.ids[p] for p in staying.tolist()]
        if not self.ids:
            return
        on_device = staying.to(self.device)
        with torch.no_grad():
            self.params = {name: p.detach()[on_device].requires_grad_(True) for name, p in self.params.items()}
        self.param_list = list(self.params.values())
        self.buffers = {name: b[on_device] for name, b in self.buffers.items()}
        self.last_good = {name: t[on_device] for name, t in self.last_good.items()}
        self.best = {name: t[on_device] for name, t in self.best.items()}
        self.alpha_matrix = self.alpha_matrix[staying]
        self.n_samples = self.n_samples[on_device]
        self.coefs = [c[on_device] for c in self.coefs]
        self.rows_train = [self.rows_train[p] for p in staying.tolist()]
        self.generators = [self.generators[p] for p in staying.tolist()]
        self.rows_eval = {name: rows.take(staying) for name, rows in self.rows_eval.items()}
        self.best_metric, self.bad_epochs, self.best_epoch = (
            t[staying] for t in (self.best_metric, self.bad_epochs, self.best_epoch)
        )
        if isinstance(self.opt_state, SGDState):
            self.opt_state = SGDState([b[on_device] for b in self.opt_state.momentum_buffers])
        elif isinstance(self.opt_state, AdamState):
            s = self.opt_state
            self.opt_state = AdamState(
                [t[on_device] for t in s.exp_avg], [t[on_device] for t in s.exp_avg_sq], s.step[on_device]
            )

    def _message(self, status: str, member: int, epoch: int) -> str:
        c = self.config
        if status == "diverged":
            last = self.histories[member][-1]
            return (
                f"Training diverged: the objective became {last['objective']} at epoch {epoch} "
                f"(alpha={self.alphas[member]}, solver={c.solver!r}, learning_rate={c.learning_rate}). "
                "The weights of the last finite epoch are kept. Lower the learning rate or "
                "standardize the inputs (large feature values make the loss overflow)."
            )
        if c.solver == "lbfgs" and status in ("max_iter", "stalled"):
            if status == "stalled":
                return (
                    f"L-BFGS stopped after {epoch} iterations: its line search could make no more progress "
                    f"({self.lbfgs_message}). The weights are usually at the minimum to this dtype's precision; "
                    "use dtype='float64' for a tighter fit."
                )
            return (
                f"L-BFGS stopped at max_iter={c.max_iter} iterations or max_fun={c.max_fun} loss evaluations "
                f"before converging ({self.lbfgs_message}). Increase max_iter or standardize the inputs."
            )
        if status == "max_iter":
            return (
                f"Stopped at max_iter={c.max_iter} epochs before converging "
                f"(the objective still improved by more than tol={c.tol} within the last {c.n_iter_no_change} epochs)."
            )
        if c.solver == "lbfgs":
            return f"L-BFGS converged after {epoch} iterations ({self.lbfgs_message})."
        watched = f"validation {c.early_stopping_metric}" if status == "early_stopped" else "training objective"
        return f"The {watched} did not improve by more than tol={c.tol} for {c.n_iter_no_change} consecutive epochs."

    # ----------------------------------------------------------------------------------
    def _check_output_shape(self) -> None:
        with torch.no_grad():
            probe = self.skeleton.eval()(self.X[:2])
        self.skeleton.train()
        n_classes = int(self.y.max()) + 1 if self.task.name == "multiclass" else None
        expected = n_classes if self.task.name == "multiclass" else (self.y.shape[1] if self.y.ndim > 1 else 1)
        ok = probe.ndim == 2 and (
            probe.shape[1] >= expected if self.task.name == "multiclass" else probe.shape[1] == expected
        )
        if not ok:
            what = (
                f"at least {expected} columns (one per class; y has labels up to {expected - 1})"
                if n_classes
                else f"{expected} column(s), one per target"
            )
            raise DataError(
                f"The module's output has shape {tuple(probe.shape)} for 2 rows; the {self.task.name} task "
                f"expected shape (2, n_outputs) with {what}."
            )

    def _fit_lbfgs(self) -> None:
        from netreg._lbfgs import fit_lbfgs

        fit_lbfgs(self)


def _refuse_batch_norm(module: nn.Module) -> None:
    if not isinstance(module, nn.Module):
        raise invalid("module", "a torch.nn.Module", module)
    for name, sub in module.named_modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            raise InvalidParameterError(
                f"The module has a BatchNorm layer ({name or 'the module itself'}: {type(sub).__name__}). "
                "Its running statistics cannot be updated under torch.func.vmap, which trains the "
                "population; expected a module without BatchNorm. Use LayerNorm or GroupNorm instead."
            )


def _check_alphas(alphas: Sequence[float] | None, penalty: penalties.Penalty) -> list[float]:
    if alphas is None:
        return [penalty.alpha]
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence | np.ndarray):
        raise invalid("alphas", "a non-empty sequence of floats >= 0", alphas)
    values = list(alphas)
    if not values:
        raise invalid("alphas", "a non-empty sequence of floats >= 0", alphas)
    return [check_alpha(a.item() if isinstance(a, np.generic) else a, f"alphas[{i}]") for i, a in enumerate(values)]


def _check_optimizer_states(states: Sequence[Any] | None, n_members: int, solver: str) -> list[Any]:
    if states is None:
        return [None] * n_members
    states = list(states)
    if len(states) != n_members:
        raise invalid(
            "init_optimizer_states",
            f"a sequence of {n_members} states or None (one per member)",
            f"<{len(states)} states>",
        )
    if solver == "lbfgs" and any(s is not None for s in states):
        raise InvalidParameterError("init_optimizer_states cannot be used with solver='lbfgs', which keeps no state.")
    return states


def _check_seeds(seeds: int | Sequence[int], n_members: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return [int(seeds)] * n_members
    values = list(seeds)
    if len(values) != n_members:
        raise invalid("seeds", f"an int or a sequence of {n_members} ints (one per member)", seeds)
    return [check_int(s.item() if isinstance(s, np.generic) else s, f"seeds[{i}]", low=0) for i, s in enumerate(values)]


def _check_targets(y: Any, task: Task, n: int) -> np.ndarray:
    if task.name == "multiclass":
        values = as_float_array(y, name="y", ndim=1)
        if not np.all(values == np.round(values)) or values.min() < 0:
            raise DataError(
                f"y for the multiclass task must hold class indices 0, 1, ..., n_classes - 1. "
                f"Got values from {float(values.min())!r} to {float(values.max())!r}. Encode labels with sklearn's LabelEncoder."
            )
        return values.astype(np.int64)
    values = np.asarray(y)
    values = as_float_array(values, name="y", ndim=values.ndim if values.ndim in (1, 2) else 2)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if task.name in ("binary", "multilabel") and not np.isin(values, (0.0, 1.0)).all():
        raise DataError(
            f"y for the {task.name} task must hold 0/1 indicators. Got values {np.unique(values)[:5].tolist()}."
        )
    if task.name == "binary" and values.shape[1] != 1:
        raise DataError(f"y for the binary task must have one column. Got shape {values.shape}.")
    return values


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    weights = as_float_array(sample_weight, name="sample_weight", ndim=1)
    check_n_rows(X=np.empty(n), sample_weight=weights)
    if (weights < 0).any() or weights.sum() <= 0:
        raise DataError(
            f"sample_weight must be >= 0 with a positive sum. Got min={float(weights.min())!r}, sum={float(weights.sum())!r}."
        )
    return weights


def _check_rows(rows: Sequence[Any] | None, n_members: int, n: int, name: str, sw: np.ndarray) -> list[np.ndarray]:
    if rows is None:
        return [np.arange(n)] * n_members
    rows = list(rows)
    if len(rows) != n_members:
        raise invalid(name, f"a sequence of {n_members} row-index arrays (one per member)", f"<{len(rows)} arrays>")
    checked = []
    for k, member_rows in enumerate(rows):
        r = np.asarray(member_rows)
        if r.ndim != 1 or r.size == 0 or r.dtype.kind not in "iu" or r.min() < 0 or r.max() >= n:
            raise DataError(
                f"{name}[{k}] must be a non-empty 1-D array of row indices in [0, {n}). "
                f"Got shape {r.shape}, dtype {r.dtype}"
                + (f", range [{r.min()}, {r.max()}]." if r.size and r.dtype.kind in "iuf" else ".")
            )
        if sw[r].sum() <= 0:
            raise DataError(f"{name}[{k}] selects rows whose sample weights sum to 0; expected a positive sum.")
        checked.append(r.astype(np.int64))
    return checked


def _initial_states(
    module: nn.Module, seeds: list[int], init_states: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]] | None
) -> list[dict[str, Tensor]]:
    if init_states is None:
        return [_reset_state(module, seed) for seed in seeds]
    if isinstance(init_states, Mapping):
        return [dict(init_states)] * len(seeds)
    states = [dict(s) for s in init_states]
    if len(states) != len(seeds):
        raise invalid(
            "init_states", f"one state dict or a sequence of {len(seeds)} (one per member)", f"<{len(states)} states>"
        )
    return states


def _reset_state(module: nn.Module, seed: int) -> dict[str, Tensor]:
    """The module's state after re-initializing it under ``seed``, leaving ``module`` untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        member = copy.deepcopy(module).cpu()
        # A model that defines its own reset_parameters knows its initialization; its
        # submodules' resets would overwrite it (MLP uses Glorot, nn.Linear Kaiming).
        if callable(getattr(member, "reset_parameters", None)):
            member.reset_parameters()
        else:
            for sub in member.modules():
                if sub is not member and callable(getattr(sub, "reset_parameters", None)):
                    sub.reset_parameters()
        return {name: t.detach().clone() for name, t in member.state_dict().items()}


class _Fanout(Callback):  # TEMP shim until the engine redesign lands
    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def on_train_begin(self, info):
        for c in self.callbacks:
            c.on_train_begin(info)

    def on_epoch_end(self, epoch, records):
        for c in self.callbacks:
            c.on_epoch_end(epoch, records)

    def on_member_end(self, result):
        for c in self.callbacks:
            c.on_member_end(result)

    def on_train_end(self, result):
        for c in self.callbacks:
            c.on_train_end(result)
