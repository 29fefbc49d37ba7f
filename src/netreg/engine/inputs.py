"""The validated inputs of a population run: checked once, at the boundary, into one frozen value.

Nothing after :func:`validate_inputs` checks again.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from netreg import memory, penalties
from netreg._checks import check_alpha, check_int
from netreg.data import check_float_array, check_same_rows
from netreg.engine.config import TrainConfig, resolve_device
from netreg.engine.module_checks import check_module, probe_output
from netreg.engine.row_sets import ROW_SET_BYTES
from netreg.engine.sparse import SparseRows
from netreg.exceptions import DataError, bad_data, invalid
from netreg.losses import Task, get_task
from netreg.nets import MLP
from netreg.selection import PenalizedParameter

__all__ = ["Inputs", "validate_inputs"]


@dataclass(frozen=True)
class Inputs:
    """Everything a population run needs, validated; K members.

    Attributes
    ----------
    template : torch.nn.Module
        A copy of the architecture on the run's device and dtype, in training mode.
    X, y, sample_weight : Tensor
        Inputs ``(n, ...)`` (a sparse matrix as :class:`~netreg.engine.sparse.SparseRows`; on
        the CPU the validated array itself, float32 or float64, each batch cast to ``dtype``
        when read; elsewhere in ``dtype``), targets (class indices for multiclass, ``(n, q)``
        floats otherwise) and ``(n,)`` row weights, on the device.
    task : Task
    penalty : Penalty
    penalized : tuple of PenalizedParameter
        The penalized parameters; ``alpha`` is ``None`` where the member's own applies.
    config : TrainConfig
    alphas, seeds : tuple
        One strength and one seed per member.
    train_rows : tuple of ndarray
        Each member's training rows.
    eval_rows : mapping of str to tuple of ndarray
        Each held-out set's rows per member.
    init_states : tuple of dict
        Each member's starting state dict.
    init_optimizer_states : tuple of dict or None
        Each member's optimizer state to continue from.
    raise_on_divergence : bool
    device : torch.device
    dtype : torch.dtype
    """

    template: nn.Module
    X: Tensor | SparseRows
    y: Tensor
    sample_weight: Tensor
    task: Task
    penalty: penalties.Penalty
    penalized: tuple[PenalizedParameter, ...]
    config: TrainConfig
    alphas: tuple[float, ...]
    seeds: tuple[int, ...]
    train_rows: tuple[np.ndarray, ...]
    eval_rows: Mapping[str, tuple[np.ndarray, ...]]
    init_states: tuple[dict[str, Tensor], ...]
    init_optimizer_states: tuple[Mapping[str, Any] | None, ...]
    raise_on_divergence: bool
    device: torch.device
    dtype: torch.dtype

    @property
    def n_members(self) -> int:
        """K, the number of members."""
        return len(self.alphas)


def validate_inputs(
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
    raise_on_divergence: bool | None = None,
) -> Inputs:
    """Check :func:`netreg.engine.train_population`'s arguments and build the :class:`Inputs`.

    The parameters are those of :func:`~netreg.engine.train_population`.

    Raises
    ------
    InvalidParameterError
        For a bad parameter (``alphas``, ``seeds``, ``module``, counts of per-member
        sequences, ``early_stopping`` without validation rows, L-BFGS with several members).
    DataError
        For bad data: ``X``, ``y``, ``sample_weight``, row indices, or a module that cannot
        run on ``X`` or whose output does not fit the targets.

    Examples
    --------
    >>> import numpy as np
    >>> from netreg.nets import MLP
    >>> inputs = validate_inputs(MLP(2, (), 1), np.ones((4, 2)), np.zeros(4), task="regression", alphas=[0.1, 1.0])
    >>> inputs.n_members, inputs.X.shape, inputs.y.shape, [p.name for p in inputs.penalized]
    (2, torch.Size([4, 2]), torch.Size([4, 1]), ['layers.0.weight'])
    """
    config = config or TrainConfig()
    penalty = penalties.get(penalty) or penalties.L2(0.0)
    task = get_task(task)
    device, dtype = resolve_device(config.device), getattr(torch, config.dtype)
    check_module(module)
    alpha_values = _check_alphas(alphas, penalty)
    n_members = len(alpha_values)
    seed_values = _check_seeds(seeds, n_members)
    if config.solver == "lbfgs" and n_members > 1:
        raise invalid(
            "solver",
            f"'adam' or 'sgd' for a population of {n_members} members",
            config.solver,
            "L-BFGS trains a single member: its line search and curvature pairs would couple the members.",
        )
    _check_row_memory(X, train_rows, device)
    # A float32 X stays float32 (each batch is cast, exactly): no float64 copy at twice its size.
    X_np = check_float_array(X, name="X", allow_nd=not isinstance(module, MLP), accept_sparse=True, keep_float32=True)
    n = X_np.shape[0]
    y_np = _check_targets(y, task)
    check_same_rows(X=X_np, y=y_np)
    sw = np.ones(n) if sample_weight is None else _check_sample_weight(sample_weight, n)
    target_dtype = torch.long if task.target_dtype == "long" else dtype
    y_tensor = torch.as_tensor(y_np, dtype=target_dtype, device=device)
    if sp.issparse(X_np):
        X_tensor = SparseRows(X_np, dtype, device)
    elif device.type == "cpu":
        X_tensor = torch.from_numpy(X_np)  # read in place; each batch is cast to dtype
    else:
        _check_device_copy(X_np, dtype, device)
        X_tensor = torch.as_tensor(X_np, dtype=dtype, device=device)
    rows_train = _check_rows(train_rows, n_members, n, "train_rows", sw)
    rows_eval = {
        name: tuple(_check_rows(rows, n_members, n, f"eval_rows[{name!r}]", sw))
        for name, rows in (eval_rows or {}).items()
    }
    if config.early_stopping and config.solver != "lbfgs" and config.monitor not in rows_eval:
        raise invalid(
            "eval_rows",
            f"a mapping with the {config.monitor!r} rows of every member when early_stopping=True",
            got=f"the sets {sorted(rows_eval)}",
        )
    template = copy.deepcopy(module).to(device, dtype)
    penalized = tuple(penalty.targets(template, shared=True))
    states = _initial_states(module, seed_values, init_states)
    optimizer_states = _check_optimizer_states(init_optimizer_states, n_members, config.solver)
    _check_output_shape(template, X_tensor[:2].to(dtype), y_tensor, task)
    return Inputs(
        template=template,
        X=X_tensor,
        y=y_tensor,
        sample_weight=torch.as_tensor(sw, dtype=dtype, device=device),
        task=task,
        penalty=penalty,
        penalized=penalized,
        config=config,
        alphas=tuple(alpha_values),
        seeds=tuple(seed_values),
        train_rows=tuple(rows_train),
        eval_rows=MappingProxyType(rows_eval),
        init_states=tuple(states),
        init_optimizer_states=tuple(optimizer_states),
        raise_on_divergence=n_members == 1 if raise_on_divergence is None else bool(raise_on_divergence),
        device=device,
        dtype=dtype,
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


def _check_seeds(seeds: int | Sequence[int], n_members: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return [int(seeds)] * n_members
    values = list(seeds)
    if len(values) != n_members:
        raise invalid("seeds", f"an int or a sequence of {n_members} ints (one per member)", seeds)
    return [check_int(s.item() if isinstance(s, np.generic) else s, f"seeds[{i}]", low=0) for i, s in enumerate(values)]


def _check_targets(y: Any, task: Task) -> np.ndarray:
    if task.name == "multiclass":
        values = check_float_array(y, name="y", ndim=1)
        if not np.all(values == np.round(values)) or values.min() < 0:
            raise DataError(
                f"y for the multiclass task must hold class indices 0, 1, ..., n_classes - 1. "
                f"Got values from {float(values.min())!r} to {float(values.max())!r}. Encode labels with sklearn's LabelEncoder."
            )
        return values.astype(np.int64)
    values = np.asarray(y)
    values = check_float_array(values, name="y", ndim=values.ndim if values.ndim in (1, 2) else 2)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if task.name in ("binary", "multilabel") and not np.isin(values, (0.0, 1.0)).all():
        raise DataError(
            f"y for the {task.name} task must hold 0/1 indicators. Got values {np.unique(values)[:5].tolist()}."
        )
    if task.name == "poisson" and (values < 0).any():
        raise DataError(
            f"y for the poisson task must hold counts or rates >= 0 (the mean of a Poisson). Got values down to "
            f"{float(values.min())!r}."
        )
    if task.name == "binary" and values.shape[1] != 1:
        raise DataError(f"y for the binary task must have one column. Got shape {values.shape}.")
    return values


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    weights = check_float_array(sample_weight, name="sample_weight", ndim=1)
    check_same_rows(X=np.empty(n), sample_weight=weights)
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
    checked: list[np.ndarray] = []
    seen: dict[int, np.ndarray] = {}  # a fold's array given to each of its members is checked and kept once
    for k, member_rows in enumerate(rows):
        if id(member_rows) in seen:
            checked.append(seen[id(member_rows)])
            continue
        r = np.asarray(member_rows)
        if r.ndim != 1 or r.size == 0 or r.dtype.kind not in "iu" or r.min() < 0 or r.max() >= n:
            raise DataError(
                f"{name}[{k}] must be a non-empty 1-D array of row indices in [0, {n}). "
                f"Got shape {r.shape}, dtype {r.dtype}"
                + (f", range [{r.min()}, {r.max()}]." if r.size and r.dtype.kind in "iuf" else ".")
            )
        if sw[r].sum() <= 0:
            raise bad_data(f"{name}[{k}] selects rows whose sample weights sum to 0", "a positive sum")
        checked.append(r.astype(np.int64, copy=False))
        seen[id(member_rows)] = checked[-1]
    return checked


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
        raise invalid("init_optimizer_states", "None with solver='lbfgs', which keeps no state", got="optimizer states")
    return states


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
        torch.default_generator.manual_seed(seed)  # the CPU's: torch.manual_seed also queues CUDA's, slowly
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


def _check_output_shape(template: nn.Module, X: Tensor, y: Tensor, task: Task) -> None:
    probe = probe_output(template, X[:2])
    n_classes = int(y.max()) + 1 if task.name == "multiclass" else None
    expected = n_classes if task.name == "multiclass" else (y.shape[1] if y.ndim > 1 else 1)
    ok = probe.ndim == 2 and (probe.shape[1] >= expected if task.name == "multiclass" else probe.shape[1] == expected)
    if not ok:
        what = (
            f"at least {expected} columns (one per class; y has labels up to {expected - 1})"
            if n_classes
            else f"{expected} column(s), one per target"
        )
        raise DataError(
            f"The module's output has shape {tuple(probe.shape)} for 2 rows; the {task.name} task "
            f"expected shape (2, n_outputs) with {what}."
            + (f" The rows were of shape {tuple(X.shape[1:])}." if X.ndim > 2 else "")
        )


def _check_device_copy(X: np.ndarray, dtype: torch.dtype, device: torch.device) -> None:
    """Refuse an ``X`` whose copy on ``device`` (in ``dtype``) would not fit in its budget."""
    needed = X.size * torch.empty((), dtype=dtype).element_size()
    budget = memory.device_budget(device)
    if needed > budget:
        raise bad_data(
            f"X of shape {X.shape} needs about {memory.size_text(needed)} on {device}",
            f"data within the {memory.size_text(budget)} netreg may take there",
            "Use a sample of the rows, or train on the CPU (`device='cpu'`), which reads X in place.",
        )


def _check_row_memory(X: Any, train_rows: Sequence[Any] | None, device: torch.device) -> None:
    """Refuse, before anything of their size is allocated, rows whose copies would not fit the
    budget: a float64 copy of a dense ``X`` that is neither float32 nor float64, and
    :data:`~netreg.engine.row_sets.ROW_SET_BYTES` per row for each distinct set of training rows
    (members given the same array share one)."""
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) < 1:
        return  # a list: read first, then checked as an array by check_float_array
    n, values = int(shape[0]), math.prod(int(d) for d in shape[1:])
    dtype = getattr(X, "dtype", None)
    copies = 0 if sp.issparse(X) or dtype in (np.float32, np.float64, torch.float32, torch.float64) else 1
    # A set's held-out rows are counted in ROW_SET_BYTES, as the sweep's check counts them.
    sets = len({id(rows) for rows in train_rows}) if train_rows is not None else 1
    needed = n * (copies * values * 8 + sets * ROW_SET_BYTES)
    budget = memory.device_budget(device)
    if needed > budget:
        copy = f"a float64 copy of its {values:,} values a row and " if copies else ""
        where = "half the GPU's free memory" if device.type == "cuda" else "half the memory available"
        raise bad_data(
            f"{n:,} rows need about {memory.size_text(needed)} to train ({copy}{sets} set{'s' if sets > 1 else ''} "
            f"of rows at {ROW_SET_BYTES} bytes a row)",
            f"data within the {memory.size_text(budget)} netreg may take ({where})",
            "Use a sample of the rows"
            + (", or pass X as a float32 or float64 array, read in place." if copies else "."),
        )
