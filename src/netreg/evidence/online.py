r"""Alpha learned while the network trains: an engine callback, :class:`EvidenceAlpha`, that
moves each member's alpha toward MacKay's re-estimate at its current weights.

At the epochs :func:`alpha_schedule` names, it reads a running member's weights
(``Population.state_dict``), re-estimates its alphas (:func:`netreg.evidence.fixed_point.fixed_point`,
or with one alpha :mod:`netreg.evidence.weight_drift`'s, the grid's choice) and steps toward
them in log space (:func:`log_step`, ``Population.set_alpha``). The last epochs hold alpha, so
that the final weights minimize the objective at the final alpha, where the evidence is
stationary. The engine knows no evidence: this is a callback like any other. A weight followed
by a norm layer (a convolution before BatchNorm) is scale-invariant and its learned alpha means
nothing: exclude it from the penalty (``exclude=``), as norm layers are (``benchmarks/README.md``).

Per layer, on netreg's MLP with ReLU or no activation, the evidence reads the layers' alphas only
through their product: scaling a layer's weights and bias by c and the next layer's weights by 1/c
leaves the function, and the Laplace evidence at alphas divided and multiplied by c^2, unchanged.
At a minimum the layers balance (equal alpha_l ||W_l||^2), where MacKay's per-layer re-estimates
are all fixed only if the layers' gamma are equal; they are not, and the per-layer alphas walk
apart along that ridge for as long as they are re-estimated (digits, 300 rows: 108 and 0.54 after
156 epochs). Only their geometric mean is learned (``benchmarks/README.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from netreg._checks import check_float, check_int, check_options
from netreg.engine import Callback, MemberResult, Population
from netreg.evidence.curvature import EXACT_MAX_PARAMS
from netreg.evidence.data_checks import EvidenceData, check_data
from netreg.evidence.fixed_point import FixedPoint, fixed_point
from netreg.evidence.modules import ModuleMember, member_outputs, module_member
from netreg.evidence.stacked_mlp import StackedMLP, stack_members
from netreg.evidence.weight_drift import DRIFT_MAX_PARAMS, SMOOTH_STEP, STEP, curvature_drift, profile_alphas
from netreg.exceptions import invalid
from netreg.losses import Task, get_task
from netreg.nets import MLP

__all__ = [
    "AlphaSchedule",
    "alpha_schedule",
    "EvidenceAlpha",
    "CURVATURE_ROWS",
    "ROWS_PER_OUTPUT",
    "ESTIMATE_DTYPE",
    "MINIBATCH_TOL",
    "SETTLE",
    "curvature_sample",
]

#: L-BFGS's weights count as settled at an alpha once an iteration lowers the objective by less
#: than this (relative): 45 times SciPy's ``ftol``, so that it comes before L-BFGS stops.
SETTLE = 1e-7
#: A minibatch run's alpha is held once two re-estimates in a row move no alpha by more than this
#: (relative, after damping): estimates at minibatch weights scatter by several per cent, and 5 %
#: is a twentieth of the narrowest grid's step in log space (the hybrid's, 3.16x).
MINIBATCH_TOL = 0.05
#: The re-estimates with Kronecker-factored curvature read at most this many training rows
#: (:func:`curvature_sample`; measured: ``docs/architecture.md``); the final evidence reads all.
#: At 512 (was 2048) the alphas learned on bench_auto_alpha's sets moved by 1-9 %, about the
#: 5-10 % by which re-estimates at minibatch weights scatter, for 10-20 % of the fit's time.
CURVATURE_ROWS = 512
#: The fewest rows per output (class) the re-estimates' sample holds by default (``curvature_rows="auto"``):
#: the output layer's factors are ``outputs x outputs``, and 512 rows are about 50 per class of
#: the 10-class sets they were measured on.
ROWS_PER_OUTPUT = 50
#: The dtype the re-estimates' Kronecker factors are summed in on a CPU: float32 halves their cost
#: and moves a re-estimate by about 1e-6 (relative), far inside minibatch weights' scatter; the
#: final evidence (``log_evidence_``), and every re-estimate on a GPU, sum in the data's float64.
ESTIMATE_DTYPE = torch.float32
#: The largest step on log alpha (:func:`log_step`): a decade.
MAX_LOG_STEP = math.log(10.0)


@dataclass(frozen=True)
class AlphaSchedule:
    """When alpha is re-estimated: at epochs ``burn_in, burn_in + every, ...`` up to ``last``;
    with ``settle``, instead at any epoch from ``burn_in`` to ``last`` where the objective fell by
    less than ``settle`` (relative: settled weights), or that comes ``stale`` epochs or more after
    the member's last re-estimate (or its start) where the weights never settle.

    Examples
    --------
    >>> schedule = AlphaSchedule(burn_in=6, every=3, last=24)
    >>> [epoch for epoch in range(1, 31) if schedule.due(epoch)]
    [6, 9, 12, 15, 18, 21, 24]
    >>> lbfgs = AlphaSchedule(burn_in=2, every=1, last=160, settle=1e-7, stale=20)
    >>> lbfgs.due(5, decrease=1e-3), lbfgs.due(5, decrease=1e-9), lbfgs.due(20, decrease=1e-3, since=20)
    (False, True, True)
    """

    burn_in: int
    every: int
    last: int
    settle: float | None = None
    stale: int | None = None

    def due(self, epoch: int, decrease: float = 0.0, since: int = 0) -> bool:
        """Whether alpha is re-estimated after ``epoch``, whose objective fell by ``decrease``
        (relative), ``since`` epochs after the member's last re-estimate (or its start)."""
        if not self.burn_in <= epoch <= self.last:
            return False
        if self.settle is None:
            return (epoch - self.burn_in) % self.every == 0
        return self.settled(decrease) or (self.stale is not None and since >= self.stale)

    def settled(self, decrease: float) -> bool:
        """Whether an epoch whose objective fell by ``decrease`` (relative) ends at settled weights."""
        return self.settle is not None and decrease < self.settle


def alpha_schedule(
    max_iter: int, *, full_batch: bool = False, patience: float = math.inf, dtype: str = "float64"
) -> AlphaSchedule:
    """The default schedule of a run of ``max_iter`` epochs.

    Minibatch solvers: after the first 20 % of the epochs, every 10 %, the last 20 % held (seven
    re-estimates); with ``patience`` (the run's ``n_iter_no_change``: a run stopping early, on
    its stalled objective, whose count the engine restarts when alpha changes, or on a
    validation score, whose count it does not), the burn-in at most ``patience`` epochs and the
    re-estimates at least twice every ``patience``, so that such a run has learned its alpha
    before it can stop. L-BFGS (``full_batch``): after any iteration but the first that lowered the
    objective by less than :data:`SETTLE` (relative: settled weights; in a ``dtype`` whose
    rounding is coarser, ten times its machine epsilon: a float32 objective's decrease below
    that is rounding), and where the weights do not settle at least every 10 % of the
    iterations; the last 20 % held.

    Examples
    --------
    >>> alpha_schedule(30)
    AlphaSchedule(burn_in=6, every=3, last=24, settle=None, stale=None)
    >>> alpha_schedule(200, full_batch=True)
    AlphaSchedule(burn_in=2, every=1, last=160, settle=1e-07, stale=20)
    >>> alpha_schedule(200, patience=10)
    AlphaSchedule(burn_in=10, every=5, last=160, settle=None, stale=None)
    >>> alpha_schedule(200, full_batch=True, dtype="float32").settle
    1.1920928955078125e-06
    """
    max_iter = check_int(max_iter, "max_iter", low=1)
    dtype = check_options(dtype, "dtype", ["float32", "float64"])
    hold = math.ceil(0.2 * max_iter)
    if full_batch:
        settle = max(SETTLE, 10 * float(np.finfo(dtype).eps))
        stale = max(1, round(0.1 * max_iter))
        return AlphaSchedule(
            burn_in=min(2, max_iter), every=1, last=max(1, max_iter - hold), settle=settle, stale=stale
        )
    burn_in, every = math.ceil(0.2 * max_iter), round(0.1 * max_iter)
    if math.isfinite(patience):
        burn_in, every = min(burn_in, int(patience)), min(every, int(patience) // 2)
    return AlphaSchedule(burn_in=max(1, burn_in), every=max(1, every), last=max(1, max_iter - hold))


def log_step(log_alpha: float, gap: float, previous: tuple[float, float] | None, damping: float) -> float:
    r"""The step on :math:`x = \log\alpha` toward the root of the gap :math:`g(x) = \log
    T(\alpha) - x` between the re-estimate T and alpha, from this re-estimate's ``gap`` and the
    ``previous`` one's ``(x, g)``.

    A secant (Newton) step :math:`-g / s`, :math:`s = (g - g_0) / (x - x_0)`, where the slope is
    negative (as near a stable fixed point); else, and for the first re-estimate, the damped
    step :math:`\rho g`, which closes a gap by :math:`\rho(1 - T')`, slowly where the map's
    slope T' approaches 1. The secant step is at most a decade and twice the last step
    :math:`|x - x_0|` (or the damped step, if larger): a trust region that doubles while the
    steps go one way.

    Examples
    --------
    >>> log_step(0.0, 0.2, None, 0.5)  # the first re-estimate: damped
    0.1
    >>> round(log_step(0.1, 0.18, (0.0, 0.2), 0.5), 6)  # the gap closes slowly: toward the secant's root
    0.2
    >>> round(log_step(0.1, 0.1, (0.0, 0.2), 0.5), 6)  # the secant's root, within the trust region
    0.1
    >>> log_step(0.1, 0.5, (0.0, 0.2), 0.5)  # no root ahead on the secant: damped
    0.25
    """
    damped = damping * gap
    if previous is None or previous[0] == log_alpha:
        return damped
    slope = (gap - previous[1]) / (log_alpha - previous[0])
    if not slope < 0.0:
        return damped
    bound = min(MAX_LOG_STEP, max(abs(damped), 2.0 * abs(log_alpha - previous[0])))
    return max(-bound, min(bound, -gap / slope))


class EvidenceAlpha(Callback):
    """Learn each member's alpha from the evidence as it trains (MacKay's fixed point, damped).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows the members train on (all of them, or those of ``rows``).
    y : array-like
        Their targets, encoded as the engine takes them.
    task : {"regression", "multiclass", "binary", "multilabel"}
    activation : str, optional
        The activation of netreg's MLP, whose state dicts the members' are.
    module : torch.nn.Module, optional
        Instead of ``activation``: the members' module (a template, its weights unused), netreg's
        MLP or a user's module of Linear and Conv2d penalized weights (:mod:`netreg.evidence.modules`).
    schedule : AlphaSchedule
        When to re-estimate (:func:`alpha_schedule`).
    rows : array-like of int, optional
        The training rows of ``X`` (all by default); the same for every member.
    sample_weight : array-like of shape (n_samples,), optional
    layerwise : bool, default=True
        One alpha per penalized weight matrix (MacKay's and Immer et al.'s layerwise prior);
        else one alpha for the whole network.
    damping : float, default=0.5
        :math:`\\rho` in (0, 1]: the share of the gap to the estimate taken in log space where
        no secant step is (:func:`log_step`).
    tol : float, default=1e-8
        A re-estimate that changes no alpha by more than this (relative) is not made (its record in
        ``paths`` keeps the alphas in effect), so that L-BFGS, restarted by each change, converges.
    hold : float, optional
        After two re-estimates in a row that change no alpha by more than this (relative), the
        member's alphas are held (``learned``); :data:`MINIBATCH_TOL` suits minibatch solvers.
        None (default): never held before the schedule's end.
    curvature : {"auto", "exact", "kfac", "ekfac"}, default="auto"
    exact_max_params : int, default=EXACT_MAX_PARAMS
    curvature_rows : int, "auto" or None, default="auto"
        With Kronecker-factored curvature, the re-estimates while the member trains read a fixed
        sample of at most this many training rows (:func:`curvature_sample`; ``"auto"``:
        :data:`CURVATURE_ROWS`, or :data:`ROWS_PER_OUTPUT` per output where that is more), so that
        their cost does not grow with the rows, and on a CPU sum the factors in
        :data:`ESTIMATE_DTYPE`; ``final``, the exact curvature and None read every row.
    profile : bool, default=True
        With one alpha (``layerwise=False``) or one penalized weight, and at most
        :data:`~netreg.evidence.weight_drift.DRIFT_MAX_PARAMS` trainable parameters, re-estimate
        where the evidence of the trained weights is stationary (:mod:`netreg.evidence.weight_drift`),
        the alpha the evidence grid would choose; else MacKay's fixed point at the weights.

    Attributes
    ----------
    paths : dict of int to list of dict
        Per member, one record per re-estimate: ``epoch``, ``alphas`` (``{parameter name:
        alpha}`` set after it), ``gamma`` (per parameter), ``log_evidence`` (at the alphas
        before it) and, for regression, ``noise_variance``; plain data.
    final : dict of int to FixedPoint
        Per finished member, the evidence at its kept weights and final alphas.
    learned : set of int
        The members whose alphas two re-estimates in a row moved by no more than ``hold``: held.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.engine import TrainConfig, train_population
    >>> from netreg.nets import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ [1.0, -1.0, 0.0] + 0.5 * rng.normal(size=100)
    >>> learn = EvidenceAlpha(X, y, task="regression", activation="relu", schedule=alpha_schedule(40))
    >>> result = train_population(MLP(3, (), 1), X, y, task="regression", alphas=[1.0],
    ...                           config=TrainConfig(max_iter=40, learning_rate=0.05, tol=0.0), callbacks=learn)
    >>> len(learn.paths[0]), learn.final[0].curvature
    (7, 'exact')
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        task: str | Task,
        activation: str | None = None,
        module: nn.Module | None = None,
        schedule: AlphaSchedule,
        rows: Any = None,
        sample_weight: Any = None,
        layerwise: bool = True,
        damping: float = 0.5,
        tol: float = 1e-8,
        curvature: str = "auto",
        exact_max_params: int = EXACT_MAX_PARAMS,
        profile: bool = True,
        hold: float | None = None,
        curvature_rows: int | str | None = "auto",
    ) -> None:
        self.rows = None if rows is None else np.asarray(rows)
        self.X = X if self.rows is None else X[self.rows]
        self.y = y if self.rows is None else np.asarray(y)[self.rows]
        self.sample_weight = (
            sample_weight if sample_weight is None or self.rows is None else np.asarray(sample_weight)[self.rows]
        )
        if isinstance(module, MLP):  # netreg's own MLP: its curvature in closed form
            activation, module = module.activation, None
        if (activation is None) == (module is None):
            raise invalid("module", "a module, or else the activation of netreg's MLP", module)
        self.task, self.activation, self.module, self.schedule = task, activation, module, schedule
        self.layerwise = bool(layerwise)
        self.damping = check_float(damping, "damping", low=0.0, high=1.0, low_open=True)
        self.tol = check_float(tol, "tol", low=0.0)
        self.curvature, self.exact_max_params = curvature, exact_max_params
        self.profile = bool(profile)
        self.hold = None if hold is None else check_float(hold, "hold", low=0.0)
        if isinstance(curvature_rows, str):
            if curvature_rows != "auto":
                raise invalid("curvature_rows", "an int >= 1, 'auto' or None", curvature_rows)
        elif curvature_rows is not None:
            curvature_rows = check_int(curvature_rows, "curvature_rows", low=1)
        self.curvature_rows = curvature_rows
        self._sample: EvidenceData | None = None
        self.paths: dict[int, list[dict[str, Any]]] = {}
        self.learned: set[int] = set()
        self._still: dict[int, int] = {}  # each member's re-estimates in a row that did not move its alphas
        self.final: dict[int, FixedPoint] = {}
        self._data: EvidenceData | None = None
        self._objectives: dict[int, float] = {}  # each member's objective of the epoch before
        self._estimated: dict[int, int] = {}  # each member's epoch of its last re-estimate
        # each member's last (log alpha, log target - log alpha) per layer: the secant's other point
        self._gaps: dict[int, list[tuple[float, float] | None]] = {}

    def on_train_begin(self, info: Mapping[str, Any], *, population: Population | None = None) -> None:
        """Declare every member's alpha adaptive (``Population.will_set_alpha``): L-BFGS converging
        before the first re-estimate then shows its converged point, where one is due."""
        for member in [] if population is None else population.running:
            population.will_set_alpha(member)

    def on_epoch_end(
        self, epoch: int, records: Mapping[int, Mapping[str, Any]], *, population: Population | None = None
    ) -> None:
        """Re-estimate the running members' alphas when the schedule says so."""
        if population is None:
            return
        decreases = {}
        for member, record in records.items():
            before, now = self._objectives.get(member), record.get("objective", math.nan)
            decreases[member] = math.inf if before is None else (before - now) / max(abs(before), abs(now), 1.0)
            self._objectives[member] = now
        for member in population.running:
            decrease, since = decreases.get(member, math.inf), epoch - self._estimated.get(member, 0)
            if member in self.learned or not self.schedule.due(epoch, decrease, since):
                continue
            self._estimated[member] = epoch
            # A secant needs two estimates of one map, at weights settled at each alpha (L-BFGS's
            # settled iterations); through estimates at moving weights it follows their drift.
            settled = self.schedule.settled(decrease)
            names = population.penalized
            current = population.alphas(member)
            state_dict = population.state_dict(member)
            step = self.evaluate(state_dict, {name: current[name] for name in names}, sampled=True)
            if step is None:
                continue
            targets = step.new_alphas
            if self.profiles(names, state_dict) and not any(map(math.isnan, step.new_alphas)):  # NaN: diverged
                targets = self.profile_targets(state_dict, step, names, settled=settled)
            gaps = [math.log(target / old) for old, target in zip(step.alphas, targets, strict=True)]
            before = self._gaps.get(member, [None] * len(gaps))
            new = [
                old
                if math.isnan(gap)
                else old * math.exp(log_step(math.log(old), gap, previous if settled else None, self.damping))
                for old, gap, previous in zip(step.alphas, gaps, before, strict=True)
            ]
            self._gaps[member] = [
                (math.log(old), gap) if math.isfinite(gap) and settled else None
                for old, gap in zip(step.alphas, gaps, strict=True)
            ]
            change = max(abs(n / o - 1.0) for n, o in zip(new, step.alphas, strict=True))
            moves = change > self.tol
            record = {
                "epoch": epoch,
                "alphas": dict(zip(names, new if moves else step.alphas, strict=True)),  # those in effect after it
                "gamma": dict(zip(names, step.gamma, strict=True)),
                "log_evidence": step.log_evidence,
            }
            if step.noise_variance is not None:
                record["noise_variance"] = step.noise_variance
            self.paths.setdefault(member, []).append(record)
            if moves:
                population.set_alpha(member, dict(zip(names, new, strict=True)) if self.layerwise else new[0])
                self._objectives.pop(member)  # the objective changes with alpha: no decrease to judge
            # Two re-estimates in a row within `hold` (one could be an estimate passing by), none
            # undefined: alpha is held from here on. Judged on the estimate's distance (the damped
            # step), not on the step made: a secant step can be short while the estimate is far.
            damped = max(abs(math.expm1(self.damping * gap)) for gap in gaps)
            near = self.hold is not None and damped <= self.hold and not any(map(math.isnan, targets))
            self._still[member] = self._still.get(member, 0) + 1 if near else 0
            if self._still[member] >= 2:
                self.learned.add(member)

    def on_member_end(self, result: MemberResult, *, population: Population | None = None) -> None:
        """The evidence of the finished member at its kept weights (last or best epoch) and their alphas."""
        if result.status == "diverged" or not result.history:
            return
        kept = result.history[max(result.best_epoch, 1) - 1]
        alphas = kept.get("alphas")
        if alphas is None:
            alphas = {name: result.alpha for name in kept.get("weight_norms", {})}
        step = self.evaluate(result.state_dict, alphas)
        if step is not None:
            self.final[result.index] = step

    def profile_targets(
        self, state_dict: Mapping[str, Any], step: FixedPoint, names: list[str], *, settled: bool
    ) -> tuple[float, ...]:
        """The re-estimate where the evidence of the trained weights is stationary
        (:func:`netreg.evidence.weight_drift.profile_alphas`), from ``step`` at ``state_dict``,
        ``settled`` weights (a minimum of the objective) or moving ones."""
        alphas = dict(zip(names, step.alphas, strict=True))
        net = self.build(state_dict, alphas)
        drift = curvature_drift(
            lambda sd: self.build(sd, alphas),
            state_dict,
            alphas,
            self._data,
            template=self.template(state_dict),
            curvature=step.curvature,
            layerwise=self.layerwise,
            # Moving weights are not at a minimum, where the Hessian is mostly indefinite: the GGN.
            hessian=settled,
            # The 10 % difference smooths over ReLU units' kinks; without hidden layers, a derivative.
            step=STEP if self.module is not None or len(names) > 1 else SMOOTH_STEP,
        )
        return profile_alphas(step, drift, self._data.m * member_outputs(net, self._data.x[:1]).shape[-1])

    def sample(self, net: StackedMLP | ModuleMember) -> EvidenceData:
        """The rows the re-estimates read: :func:`curvature_sample`'s, drawn once, where
        ``curvature_rows`` applies (the parameter); else every row."""
        kfac = self.curvature in ("kfac", "ekfac") or (
            self.curvature == "auto" and net.n_params > self.exact_max_params
        )
        if not kfac or self.curvature_rows is None:
            return self._data
        if self._sample is None:
            n_rows = self.curvature_rows
            if n_rows == "auto":
                n_rows = max(CURVATURE_ROWS, ROWS_PER_OUTPUT * member_outputs(net, self._data.x[:1]).shape[-1])
            self._sample = curvature_sample(self._data, n_rows)
        return self._sample

    def profiles(self, names: list[str], state_dict: Mapping[str, Any]) -> bool:
        """Whether the re-estimate counts the curvature's drift (the parameter ``profile``)."""
        if not self.profile or (self.layerwise and len(names) > 1):
            return False
        if self.module is None and len(names) == 1 and get_task(self.task).name == "regression":
            return False  # half squared error without hidden layers: X'X does not move, c = 0
        return sum(p.numel() for p in self.template(state_dict).parameters()) <= DRIFT_MAX_PARAMS

    def template(self, state_dict: Mapping[str, Any]) -> nn.Module:
        """The members' module: the one given, or netreg's MLP of the state dict's layer sizes."""
        if self.module is not None:
            return self.module
        sizes = stack_members(dict(state_dict), activation=self.activation).layer_sizes
        return MLP(sizes[0], sizes[1:-1], sizes[-1], activation=self.activation)

    def build(self, state_dict: Mapping[str, Any], alphas: Mapping[str, float]) -> StackedMLP | ModuleMember:
        """The member the curvature reads, from its state dict."""
        if self.module is not None:
            return module_member(self.module, dict(state_dict), alphas)
        return stack_members(dict(state_dict), activation=self.activation)

    def evaluate(
        self, state_dict: Mapping[str, Any], alphas: Mapping[str, float], *, sampled: bool = False
    ) -> FixedPoint | None:
        """:func:`~netreg.evidence.fixed_point.fixed_point` at ``alphas`` (``{parameter: alpha}``; None
        where one is 0), on every training row, or ``sampled`` on :meth:`sample`'s with Kronecker
        factors summed in :data:`ESTIMATE_DTYPE` on a CPU."""
        if not all(a > 0 for a in alphas.values()):
            return None
        net = self.build(state_dict, alphas)
        if isinstance(net, StackedMLP) and len(alphas) != len(net.weights):
            raise invalid(
                "module",
                "netreg's MLP with every layer's weight penalized, as the evidence reads it",
                got=f"{len(alphas)} penalized parameters for {len(net.weights)} layers",
            )
        if self._data is None:
            self._data = check_data(net, self.X, self.y, task=self.task, sample_weight=self.sample_weight)
        return fixed_point(
            net,
            self.sample(net) if sampled else self._data,
            list(alphas.values()),
            layerwise=self.layerwise,
            curvature=self.curvature,
            exact_max_params=self.exact_max_params,
            # On a GPU, float32 products may run in TF32 (cuDNN's default for convolutions),
            # about 1e-3 relative: the re-estimates keep the data's float64 there.
            factor_dtype=ESTIMATE_DTYPE if sampled and self._data.x.device.type == "cpu" else None,
        )


def curvature_sample(data: EvidenceData, n_rows: int, *, seed: int = 0) -> EvidenceData:
    """``n_rows`` of ``data``'s rows drawn without replacement (seeded with ``seed``: the same rows on
    every call), their sample weights scaled by ``m / (their sum)``; ``data`` itself where it has no
    more rows. Sums over the rows (the Kronecker factors, the weighted data loss) are then estimated
    without bias (with unit weights), and ``m``, the rows the evidence counts, is unchanged.

    Examples
    --------
    >>> import torch
    >>> from netreg.losses import get_task
    >>> data = EvidenceData(torch.randn(10, 2), torch.zeros(10, 1), torch.ones(10), get_task("regression"))
    >>> sample = curvature_sample(data, 4)
    >>> len(sample.x), sample.m, sample.weight.tolist()
    (4, 10.0, [2.5, 2.5, 2.5, 2.5])
    """
    n_rows = check_int(n_rows, "n_rows", low=1)
    if len(data.x) <= n_rows:
        return data
    rows = np.sort(np.random.default_rng(seed).choice(len(data.x), n_rows, replace=False))
    index = torch.as_tensor(rows, device=data.x.device)
    weight = data.weight[index]
    return EvidenceData(data.x[index], data.y[index], weight * (data.weight.sum() / weight.sum()), data.task)
