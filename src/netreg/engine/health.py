"""A member's numeric health: failures that leave every number finite, and what caused them.

Besides a non-finite objective or weights, a member is ``"diverged"`` when Adam's state
overflows (the weights stop moving, which would pass for convergence) or its training loss
exceeds :data:`RUNAWAY` times a constant prediction's (:func:`reference_loss`); its message
names the likely cause (:func:`blame`). Figures: ``docs/architecture.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from netreg.engine.inputs import Inputs
from netreg.engine.row_sets import row_groups
from netreg.engine.state import PopulationState
from netreg.losses import Task

__all__ = ["RUNAWAY", "KEPT", "Health", "constant_loss", "reference_loss", "finite_members", "blame", "failure_message"]

#: A training loss this many times the constant prediction's is a runaway.
RUNAWAY = 1e5

#: The sentence between what failed and the advice, in every diverged member's message.
KEPT = "The weights of the last sound epoch are kept."

#: A regression target with a larger standard deviation is named as a cause of divergence.
TARGET_SCALE = 100.0


def constant_loss(task: Task, y: Tensor, weight: Tensor) -> float:
    """The weighted mean loss of the best constant prediction: the baseline of a runaway.

    The constant is the weighted class frequencies (as logits) for classification, the
    weighted mean target for regression (its log for ``"poisson"``); computed in float64.

    Examples
    --------
    >>> from netreg.losses import get_task
    >>> round(constant_loss(get_task("multiclass"), torch.tensor([0, 1, 1, 1]), torch.ones(4)), 4)  # entropy
    0.5623
    >>> constant_loss(get_task("regression"), torch.tensor([[1.0], [3.0]]), torch.ones(2))  # half the variance
    0.5
    """
    w = weight.to(torch.float64) / weight.to(torch.float64).sum()
    tiny = torch.finfo(torch.float64).tiny
    if task.name == "multiclass":
        freq = torch.zeros(int(y.max()) + 1, dtype=torch.float64, device=y.device).index_add_(0, y, w)
        out = freq.clamp_min(tiny).log()
    else:
        mean = (w.unsqueeze(1) * y.to(torch.float64)).sum(0)
        if task.name == "regression":
            out = mean
        elif task.name == "poisson":
            out = mean.clamp_min(tiny).log()
        else:  # a logit per label
            p = mean.clamp(1e-12, 1 - 1e-12)
            out = p.log() - (-p).log1p()
    return _mean_loss(task, out, y, w)


def reference_loss(task: Task, y: Tensor, weight: Tensor) -> float:
    """The loss a runaway is measured against: the largest of :func:`constant_loss`, the loss
    of a zero output (zero logits: uniform probabilities; zero for a regression) and 1.

    Examples
    --------
    >>> from netreg.losses import get_task
    >>> reference_loss(get_task("regression"), torch.tensor([[3.0], [5.0]]), torch.ones(2))  # (9 + 25) / 4
    8.5
    >>> reference_loss(get_task("multiclass"), torch.tensor([1, 1]), torch.ones(2))  # one class: constant fits
    1.0
    """
    w = weight.to(torch.float64) / weight.to(torch.float64).sum()
    width = int(y.max()) + 1 if task.name == "multiclass" else y.shape[1]
    zero = torch.zeros(width, dtype=torch.float64, device=y.device)
    return max(constant_loss(task, y, weight), _mean_loss(task, zero, y, w), 1.0)


#: Rows whose losses are computed at once by the health checks' baselines: their float64
#: temporaries (outputs, targets, losses) stay a few MiB, not several times the data's size.
BASELINE_BLOCK = 2**16


def _mean_loss(task: Task, out: Tensor, y: Tensor, w: Tensor) -> float:
    """``sum(w * loss(out, y))`` of one output ``out`` (``(width,)``) for every row, in blocks of rows."""
    total = torch.zeros((), dtype=torch.float64, device=y.device)
    for start in range(0, len(y), BASELINE_BLOCK):
        target = y[start : start + BASELINE_BLOCK]
        target = target if task.name == "multiclass" else target.to(torch.float64)
        total += (task.loss(out.expand(len(target), -1), target) * w[start : start + BASELINE_BLOCK]).sum()
    return float(total)


def finite_members(tensors: Sequence[Tensor]) -> Tensor:
    """``(K,)``: whether every entry of a member's slice of each ``(K, ...)`` tensor is finite.

    Examples
    --------
    >>> finite_members([torch.tensor([[1.0, 2.0], [float("inf"), 0.0]]), torch.ones(2, 3)]).tolist()
    [True, False]
    """
    # The largest magnitude is NaN or inf exactly when some entry is: one reduction per tensor.
    largest = torch.stack([t.detach().flatten(1).abs().amax(1) for t in tensors], 1)
    return torch.isfinite(largest).all(1)


def blame(
    *,
    solver: str,
    learning_rate: float,
    momentum: float,
    nesterov: bool,
    scale: float,
    weight: float,
    l1_ratio: float,
    sample_weight: float,
    target_std: float | None,
    dtype: torch.dtype,
) -> str:
    """The likely cause of a member's divergence, from its settings and data.

    ``scale`` is the member's largest ``alpha / m`` (per batch with ``alpha_scale="batch"``),
    ``weight`` its largest initial penalized weight in magnitude, ``sample_weight`` its
    largest sample weight, ``target_std`` the standard deviation of a squared-error
    regression's targets (``None`` otherwise). In order:

    * ``"sample_weight"``: a sample weight within a factor 1e6 of the dtype's largest number,
      where weighted losses overflow;
    * ``"alpha"``: the penalty's gradient at the initial weights,
      ``scale * ((1 - l1_ratio) * weight + l1_ratio)``, within a factor 1e3 of the square root of
      the largest number (its square, which Adam keeps, overflows);
    * ``"alpha_step"``: for SGD, the penalty's curvature ``(1 - l1_ratio) * scale`` above the
      stable limit of a step, ``learning_rate * curvature > 2 (1 + momentum)`` (heavy ball;
      ``2 (1 + momentum) / (1 + 2 momentum)`` with Nesterov's momentum): the penalty alone
      drives the weights away;
    * ``"target"``: a regression target with a standard deviation above 100;
    * ``"learning_rate"`` otherwise (the learning rate, or inputs on a large scale).

    Examples
    --------
    >>> settings = dict(solver="sgd", learning_rate=0.1, momentum=0.0, nesterov=False, weight=0.1, l1_ratio=0.0,
    ...                 sample_weight=1.0, target_std=None, dtype=torch.float32)
    >>> blame(scale=1.0, **settings), blame(scale=100.0, **settings), blame(scale=1e30, **settings)  # 0.1 * 100 > 2
    ('learning_rate', 'alpha_step', 'alpha')
    """
    largest = torch.finfo(dtype).max
    if sample_weight >= largest / 1e6:
        return "sample_weight"
    gradient = scale * ((1 - l1_ratio) * weight + l1_ratio)
    limit = 2 * (1 + momentum) / (1 + 2 * momentum if nesterov else 1)
    if gradient >= math.sqrt(largest) / 1e3:
        return "alpha"
    if solver == "sgd" and learning_rate * (1 - l1_ratio) * scale > limit:
        return "alpha_step"
    if target_std is not None and target_std > TARGET_SCALE:
        return "target"
    return "learning_rate"


_ADVICE = {
    "sample_weight": (
        "The sample weights reach {sample_weight:.3g}, where weighted losses overflow {dtype}: divide them by a "
        "common factor, and alpha by the same one to keep the penalty (the loss is a weighted mean: only the "
        "weights' ratios matter to it)."
    ),
    "alpha": (
        "alpha is too large: the penalty's gradients alone (alpha / m = {scale:.3g}{m_note}) square to more than "
        "{dtype} holds. Lower alpha (one this large switches the penalized layers off anyway) or train in float64."
    ),
    "alpha_step": (
        "alpha is too large for this step size: the penalty alone makes each SGD step overshoot (learning_rate * "
        "alpha / m = {step:.3g}, alpha / m = {scale:.3g}{m_note}). Lower alpha or the learning rate."
    ),
    "target": (
        "The targets are on a large scale (standard deviation {target_std:.3g}), and so are the squared errors and "
        "their gradients: standardize the target (transformer=StandardScaler(); the CLI does by default) or lower "
        "the learning rate."
    ),
    "learning_rate": "Lower the learning rate or standardize the inputs (large feature values make the loss overflow).",
}


def failure_message(
    kind: str, cause: str, *, epoch: int, alpha: float, config: object, values: dict[str, float], dtype: str
) -> str:
    """The message of a diverged member: what failed (``kind``), then the advice for its ``cause``.

    ``kind`` is ``"nonfinite"`` (``values["objective"]``), ``"overflow"`` or ``"runaway"``
    (``values["loss"]`` and ``values["baseline"]``); ``values`` also holds what the advice
    quotes (``scale``, ``m``, ``sample_weight``, ``target_std``, ``unit_weights``).

    Examples
    --------
    >>> from netreg.engine.config import TrainConfig
    >>> print(failure_message("runaway", "learning_rate", epoch=2, alpha=0.1, config=TrainConfig(learning_rate=1e8),
    ...                       values={"loss": 3e14, "baseline": 2.3}, dtype="float32"))  # doctest: +NORMALIZE_WHITESPACE
    Training diverged at epoch 2 (alpha=0.1, solver='adam', learning_rate=100000000.0): the training loss reached
    3e+14, 1.3e+14 times the loss of a constant prediction (2.3). The weights of the last sound epoch are kept.
    Lower the learning rate or standardize the inputs (large feature values make the loss overflow).
    """
    c = config
    what = {
        "nonfinite": f"the objective became {values.get('objective')}",
        "overflow": f"the optimizer's running averages overflowed {dtype}, so the weights stopped moving",
        "runaway": (
            f"the training loss reached {values.get('loss', math.nan):.3g}, "
            f"{values.get('loss', math.nan) / values.get('baseline', math.nan):.2g} times the loss of a constant "
            f"prediction ({values.get('baseline', math.nan):.3g})"
        ),
    }[kind]
    m_note = (
        ""
        if values.get("unit_weights", True)
        else f", m = {values.get('m', math.nan):.3g}, the sum of the sample weights: scaling them up lowers it"
    )
    details = {"dtype": dtype, "m_note": m_note, "step": c.learning_rate * values.get("scale", 0.0), **values}
    return (
        f"Training diverged at epoch {epoch} (alpha={alpha}, solver={c.solver!r}, learning_rate={c.learning_rate}): "
        f"{what}. "
        f"{KEPT} " + _ADVICE[cause].format(**details)
    )


def _rows_health(inputs: Inputs, rows: Tensor, regression: bool) -> tuple[float, float, bool, float | None]:
    """Of a set of training rows: the runaway baseline, the largest sample weight, whether all
    weigh 1, and the targets' largest standard deviation (a regression's; ``None`` otherwise)."""
    member_y, member_w = inputs.y[rows], inputs.sample_weight[rows]
    std = float(member_y.to(torch.float64).std(0).max()) if regression and len(rows) > 1 else None
    baseline = reference_loss(inputs.task, member_y, member_w)
    return baseline, float(member_w.max()), bool((member_w == 1).all()), std


@dataclass
class Health:
    """The health checks of one run: each member's baseline and cause, read once at the start.

    Indexed by member (``state.ids``); :meth:`check` runs at the end of every epoch and
    remembers why the members it fails failed, for :meth:`message`.
    """

    inputs: Inputs
    baseline: Tensor  # (K,) float64 on the CPU: reference_loss of each member
    causes: list[str]
    values: list[dict[str, float]]
    failures: dict[int, tuple[str, dict[str, float]]] = field(default_factory=dict)

    @classmethod
    def start(cls, inputs: Inputs, state: PopulationState) -> Health:
        """Baselines and causes of every member of ``state`` at its initial weights."""
        c, y = inputs.config, inputs.y
        regression = inputs.task.name == "regression"
        scales = [s.detach().flatten(1).amax(1) for s in state.scales.values()]
        scale = torch.stack(scales, 1).amax(1).tolist() if scales else [0.0] * state.n_members
        weights = state.penalized_weights
        largest = torch.stack([w.detach().flatten(1).abs().amax(1) for w in weights], 1).amax(1) if weights else None
        baselines, causes, values = [], [], []
        # What depends on the rows alone, once per set of rows (a fold's members share one).
        groups, firsts = row_groups(state.train_rows)
        of_rows = [_rows_health(inputs, state.train_rows[k].to(y.device), regression) for k in firsts]
        for position, rows in enumerate(state.train_rows):
            baseline, largest_weight, unit_weights, std = of_rows[groups[position]]
            baselines.append(baseline)
            member_scale = scale[position]
            if c.alpha_scale == "batch" and c.solver != "lbfgs":  # alpha over the batch's weight, not m
                member_scale *= len(rows) / min(c.batch_size or len(rows), len(rows))
            value = {
                "scale": member_scale,
                "weight": 0.0 if largest is None else float(largest[position]),
                "m": float(state.n_samples[position]),
                "sample_weight": largest_weight,
                "unit_weights": unit_weights,
                **({} if std is None else {"target_std": std}),
            }
            causes.append(
                blame(
                    solver=c.solver,
                    learning_rate=c.learning_rate,
                    momentum=c.momentum,
                    nesterov=c.nesterov,
                    scale=member_scale,
                    weight=value["weight"],
                    l1_ratio=inputs.penalty.l1_ratio,
                    sample_weight=value["sample_weight"],
                    target_std=std,
                    dtype=inputs.dtype,
                )
            )
            values.append(value)
        return cls(inputs, torch.tensor(baselines, dtype=torch.float64), causes, values)

    def check(self, state: PopulationState, train_loss: Tensor, objective: Tensor) -> Tensor:
        """``(K,)``: the members whose objective, weights and optimizer state are finite and
        whose training loss is not a runaway; remembers what failed for the others."""
        ok = torch.isfinite(objective) & finite_members(state.param_list)
        tensors = [t for t in (state.optimizer.tensors() if state.optimizer is not None else []) if t.ndim > 1]
        state_ok = finite_members(tensors) if tensors else torch.ones_like(ok)
        baseline = self.baseline[state.ids]
        runaway = train_loss.detach().cpu().to(torch.float64) > RUNAWAY * baseline
        healthy = ok & state_ok & ~runaway.to(ok.device)
        if not bool(healthy.all()):
            ok, state_ok, losses = ok.cpu().tolist(), state_ok.cpu().tolist(), train_loss.cpu().tolist()
            for position, member in enumerate(state.ids):
                if not ok[position]:
                    self.failures[member] = ("nonfinite", {"objective": float(objective[position])})
                elif not state_ok[position]:
                    self.failures[member] = ("overflow", {})
                elif bool(runaway[position]):
                    self.failures[member] = (
                        "runaway",
                        {"loss": losses[position], "baseline": float(baseline[position])},
                    )
        return healthy

    def message(self, member: int, *, epoch: int, objective: float) -> str:
        """The message of ``member``, diverged at ``epoch`` (the objective it reached)."""
        kind, found = self.failures.get(member, ("nonfinite", {"objective": objective}))
        return failure_message(
            kind,
            self.causes[member],
            epoch=epoch,
            alpha=self.inputs.alphas[member],
            config=self.inputs.config,
            values={**self.values[member], **found},
            dtype=self.inputs.config.dtype,
        )
