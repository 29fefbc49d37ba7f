"""The alpha sweep: every (alpha, fold) pair a member of one population, trained in chunks.

:func:`plan_sweep` turns an estimator's parameters and the data into a :class:`SweepPlan`
(picklable, so a Ray task can train any chunk of it); :func:`train_chunk` trains a list of
members with the one engine; :func:`run_sweep` drives it all: it opens the store, skips
the members already stored, hands the remaining chunks to a backend, writes each member
to the store the moment it finishes, and returns a :class:`SweepResult`.

Members are ordered fold by fold, so that a chunk that holds one fold's alphas feeds them
all the same input batches (same rows, same seed). Every member of a sweep has the same
seed: all alphas start from the same weights and see the same batches, so their
differences are the penalty's doing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from netreg import penalties
from netreg._checks import check_int, check_options
from netreg.engine import Callback, MemberResult, TrainConfig, resolve_device, train_population
from netreg.exceptions import InvalidParameterError
from netreg.tuning.grid import resolve_alphas
from netreg.tuning.rules import SELECTIONS, select_alpha
from netreg.tuning.splits import cv_splits
from netreg.tuning.store import SweepStore

__all__ = [
    "SCORINGS",
    "SweepCallback",
    "SweepPlan",
    "SweepResult",
    "plan_sweep",
    "train_chunk",
    "run_sweep",
]

#: Scoring name -> (task kind it applies to, how to get it from a member's metrics).
SCORINGS: dict[str, tuple[str, Callable[[Mapping[str, float], str, int], float]]] = {
    "neg_log_loss": ("classifier", lambda m, part, q: -m[f"{part}_loss"]),
    "accuracy": ("classifier", lambda m, part, q: m[f"{part}_score"]),
    "r2": ("regressor", lambda m, part, q: m[f"{part}_score"]),
    # The regression loss is half the squared error summed over q targets; scikit-learn's
    # MSE averages the squared error over targets.
    "neg_mean_squared_error": ("regressor", lambda m, part, q: -2.0 * m[f"{part}_loss"] / q),
}

MEMORY_BUDGET_BYTES = 2 * 1024**3
CACHE_BYTES = 32 * 1024**2


class SweepCallback(Callback):
    """Progress of a sweep: the engine's hooks, plus the sweep's own.

    ``on_epoch_end`` and ``on_member_end`` receive the members of the chunk being trained;
    ``on_member_stored`` receives each member's stored record, with its ``alpha_index``
    and ``fold``, as soon as it is written.
    """

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        """Called once with ``n_members``, ``n_done`` (already stored), ``n_chunks``, ``max_iter``."""

    def on_member_stored(self, record: Mapping[str, Any]) -> None:
        """Called when a finished member has been recorded."""

    def on_sweep_end(self, result: SweepResult) -> None:
        """Called once with the result."""


@dataclass
class SweepPlan:
    """Everything needed to train any member of a sweep; plain data, picklable."""

    template: nn.Module
    X: np.ndarray
    targets: np.ndarray
    sample_weight: np.ndarray
    task: str
    penalty: dict[str, Any]
    config: TrainConfig
    seed: int
    alphas: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    train_rows: list[np.ndarray]
    stop_rows: list[np.ndarray] | None
    spec: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def keys(self) -> list[tuple[int, int]]:
        """All members as ``(alpha_index, fold)``, fold by fold."""
        return [(a, f) for f in range(len(self.folds)) for a in range(len(self.alphas))]


def plan_sweep(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    alphas: int | Sequence[float],
    cv: Any,
    sample_weight: Any = None,
    groups: Any = None,
    require_seed: bool = False,
) -> SweepPlan:
    """Validate the inputs and lay out the members of a sweep for ``estimator``'s parameters.

    ``estimator`` is a :class:`netreg.NetRegClassifier` or :class:`netreg.NetRegRegressor`
    (its ``alpha`` is ignored; the grid replaces it). Its validation, target encoding,
    network and training settings are used as they are, so every member is trained
    exactly as ``estimator.set_params(alpha=...).fit`` would train it on its fold (with
    dropout, up to the masks, which members draw from one shared random stream).
    """
    from sklearn.base import clone, is_classifier
    from sklearn.utils.validation import _check_sample_weight

    estimator = clone(estimator)
    estimator._check_params()
    if require_seed and not isinstance(estimator.random_state, int | np.integer):
        raise InvalidParameterError(
            f"A sweep with a results store needs an int random_state, so that a rerun trains the same members "
            f"and can resume. Got random_state={estimator.random_state!r}."
        )
    X, y = estimator._validate_input(X, y, reset=True)
    sample_weight = np.asarray(_check_sample_weight(sample_weight, X, dtype=np.float64))
    targets, task = estimator._encode_targets(y)
    grid = resolve_alphas(alphas, np.asarray(X, dtype=np.float64))
    folds = cv_splits(cv, X, y, classifier=is_classifier(estimator), groups=groups)
    seed, _ = estimator._seed_and_rng()
    early_stopping = bool(estimator.early_stopping) and estimator.solver != "lbfgs"
    train_rows, stop_rows = [], [] if early_stopping else None
    for train, _ in folds:
        if early_stopping:
            # The split the estimator itself would draw if fitted on this fold alone.
            _, rng = estimator._seed_and_rng()
            train, stop = estimator._validation_split(train, targets, task, rng)
            stop_rows.append(stop)
        train_rows.append(train)
    config = estimator._train_config(max(len(r) for r in train_rows), early_stopping=early_stopping, monitor="stop")
    plan = SweepPlan(
        template=estimator._template(X.shape[1], targets),
        X=np.ascontiguousarray(X, dtype=np.float64),
        targets=targets,
        sample_weight=sample_weight,
        task=task,
        penalty=estimator._penalty().get_config(),
        config=config,
        seed=seed,
        alphas=grid,
        folds=folds,
        train_rows=train_rows,
        stop_rows=stop_rows,
    )
    params = {key: value for key, value in estimator.get_params().items() if key not in ("alpha", "verbose", "device")}
    plan.spec = {
        "estimator": type(estimator).__name__,
        "params": json.loads(json.dumps(params, default=str)),
        "alphas": grid.tolist(),
        "folds": _digest(*(part for fold in folds for part in fold)),
        "n_folds": len(folds),
        "task": task,
        "n_outputs": int(targets.shape[1]) if targets.ndim == 2 else 1,
        "seed": seed,
    }
    plan.fingerprint = _digest(plan.X, targets, sample_weight)
    return plan


def train_chunk(
    plan: SweepPlan,
    keys: Sequence[tuple[int, int]],
    *,
    callback: Callback | None = None,
    on_member: Callable[[dict[str, Any], dict[str, torch.Tensor]], None] | None = None,
) -> list[tuple[dict[str, Any], dict[str, torch.Tensor]]]:
    """Train the members ``keys`` (``(alpha_index, fold)`` pairs) as one population.

    Returns ``(record, state_dict)`` per member; ``on_member`` receives each as soon as
    the member stops. A diverged member is recorded with status ``"diverged"``.
    """
    keys = list(keys)
    eval_rows = {"val": [plan.folds[f][1] for _, f in keys]}
    if plan.stop_rows is not None:
        eval_rows["stop"] = [plan.stop_rows[f] for _, f in keys]
    started = time.perf_counter()
    finished: list[tuple[dict[str, Any], dict[str, torch.Tensor]]] = []

    class _Collect(Callback):
        def on_train_begin(self, info: Mapping[str, Any]) -> None:
            if callback is not None:
                callback.on_train_begin(info)

        def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
            if callback is not None:
                callback.on_epoch_end(epoch, records)

        def on_member_end(self, result: MemberResult) -> None:
            record = _record(keys[result.index], result, time.perf_counter() - started)
            finished.append((record, result.state_dict))
            if on_member is not None:
                on_member(record, result.state_dict)
            if callback is not None:
                callback.on_member_end(result)

    train_population(
        plan.template,
        plan.X,
        plan.targets,
        task=plan.task,
        alphas=[float(plan.alphas[a]) for a, _ in keys],
        penalty=penalties.get(plan.penalty),
        config=plan.config,
        seeds=plan.seed,
        train_rows=[plan.train_rows[f] for _, f in keys],
        eval_rows=eval_rows,
        sample_weight=plan.sample_weight,
        callbacks=_Collect(),
        raise_on_divergence=False,
    )
    return finished


def run_sweep(
    plan: SweepPlan,
    *,
    scoring: str,
    selection: str = "min",
    store: str | None = None,
    backend: Any = "local",
    chunk_size: int | None = None,
    callback: SweepCallback | None = None,
) -> SweepResult:
    """Train every member of ``plan`` not yet stored, and return the sweep's result.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`plan_sweep`.
    scoring : str
        One of :data:`SCORINGS` (greater is better).
    selection : {"min", "1se"}, default="min"
        How to choose alpha (see :mod:`netreg.tuning.rules`).
    store : path, optional
        SQLite results store; created if missing, resumed if it holds this sweep.
    backend : "local" or a backend object, default="local"
        What trains the chunks (:mod:`netreg.tuning.backends`).
    chunk_size : int, optional
        Members per population. Default: on a GPU, as many as fit in half its free memory;
        on a CPU, as many as keep their working set within 32 MiB (cache), in whole folds.
        ``solver="lbfgs"`` trains one member at a time.
    callback : SweepCallback, optional
        Progress.
    """
    from netreg.tuning.backends import get_backend

    check_options(selection, "selection", SELECTIONS)
    _check_scoring(scoring, plan.task)
    size = _chunk_size(plan, chunk_size)
    callback = callback or SweepCallback()
    opened = SweepStore.open(store, spec=plan.spec, fingerprint=plan.fingerprint) if store is not None else None
    try:
        done = opened.finished_keys() if opened is not None else set()
        todo = [key for key in plan.keys if key not in done]
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        callback.on_sweep_begin(
            {
                "n_members": len(plan.keys),
                "n_done": len(done),
                "n_chunks": len(chunks),
                "max_iter": plan.config.max_iter,
            }
        )
        records = {}

        def keep(record: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
            if opened is not None:
                opened.write_member(record, state)
            records[(record["alpha_index"], record["fold"])] = record
            callback.on_member_stored(record)

        get_backend(backend).run(plan, chunks, keep, callback)
        members = opened.members() if opened is not None else [records[k] for k in sorted(records)]
    finally:
        if opened is not None:
            opened.close()
    result = SweepResult.from_members(plan.spec, members, scoring=scoring, selection=selection)
    callback.on_sweep_end(result)
    return result


@dataclass
class SweepResult:
    """The outcome of a sweep, as plain data: members, scores per alpha, the chosen alpha.

    Attributes
    ----------
    alphas : ndarray
        The grid, ascending.
    n_folds : int
    members : list of dict
        One record per trained member: ``alpha_index``, ``fold``, ``alpha``, ``status``,
        ``n_iter``, ``best_epoch``, ``metrics`` (``train_loss``, ``train_score``,
        ``val_loss``, ``val_score``), ``history`` (per-epoch records).
    scoring, selection : str
    task : str
    cv_results : dict
        One row per alpha (``pandas.DataFrame(cv_results)`` shows it): ``alpha``, mean
        and std of train and validation score and loss, per-fold values
        (``split{k}_val_score``, ...), ``mean_n_iter``, ``mean_norm[<layer>]`` (Frobenius
        norm of each penalized weight, mean over folds), ``n_members``, ``rank_val_score``.
    best_index : int or None
        Position of the chosen alpha in ``alphas``; ``None`` only when ``from_members``
        was told not to require a choice and no alpha has a score on every fold.
    alpha : float or None
        The chosen alpha (``None`` with ``best_index``).
    threshold : float or None
        The 1-SE threshold when ``selection="1se"``.
    missing : list of (int, int)
        ``(alpha_index, fold)`` of members not (yet) trained.
    """

    alphas: np.ndarray
    n_folds: int
    members: list[dict[str, Any]]
    scoring: str
    selection: str
    task: str
    cv_results: dict[str, Any]
    best_index: int | None
    alpha: float | None
    threshold: float | None
    missing: list[tuple[int, int]]

    @classmethod
    def from_members(
        cls,
        spec: Mapping[str, Any],
        members: list[dict[str, Any]],
        *,
        scoring: str,
        selection: str,
        require_choice: bool = True,
    ) -> SweepResult:
        """Scores per alpha and the chosen alpha, from stored member records (complete or not).

        With ``require_choice=False``, a sweep in which no alpha has a score on every fold
        (an interrupted one) still gives a result, with ``best_index``, ``alpha`` and
        ``threshold`` set to ``None``, so that a report can show the members trained so
        far; by default such a sweep raises :class:`~netreg.exceptions.DataError`.
        """
        check_options(selection, "selection", SELECTIONS)
        alphas = np.asarray(spec["alphas"], dtype=np.float64)
        n_folds, task = int(spec["n_folds"]), spec["task"]
        n_outputs = int(spec.get("n_outputs", 1))
        scorer = SCORINGS[_check_scoring(scoring, task)][1]
        shape = (len(alphas), n_folds)
        table = {f"{part}_{kind}": np.full(shape, np.nan) for part in ("train", "val") for kind in ("score", "loss")}
        n_iter = np.full(shape, np.nan)
        norms: dict[str, np.ndarray] = {}
        for member in members:
            where = (member["alpha_index"], member["fold"])
            if member["status"] == "diverged":
                continue  # its scores would describe an unfinished fit
            metrics = member["metrics"]
            for part in ("train", "val"):
                table[f"{part}_score"][where] = scorer(metrics, part, n_outputs)
                table[f"{part}_loss"][where] = metrics[f"{part}_loss"]
            n_iter[where] = member["n_iter"]
            kept = member["history"][member["best_epoch"] - 1] if member["history"] and member["best_epoch"] else None
            for layer, norm in (kept or {}).get("weight_norms", {}).items():
                norms.setdefault(layer, np.full(shape, np.nan))[where] = norm
        results: dict[str, Any] = {"alpha": alphas}
        for name, values in table.items():
            results[f"mean_{name}"] = _nanmean(values)
            results[f"std_{name}"] = _nanstd(values)
        for fold in range(n_folds):
            for part in ("train", "val"):
                results[f"split{fold}_{part}_score"] = table[f"{part}_score"][:, fold]
        results["mean_n_iter"] = _nanmean(n_iter)
        for layer, values in norms.items():
            results[f"mean_norm[{layer}]"] = _nanmean(values)
        complete = np.isfinite(table["val_score"]).all(axis=1)
        results["n_members"] = np.isfinite(table["val_score"]).sum(axis=1)
        mean_val = np.where(complete, results["mean_val_score"], np.nan)
        order = np.argsort(-np.where(np.isfinite(mean_val), mean_val, -np.inf), kind="stable")
        ranks = np.empty(len(alphas), dtype=int)
        ranks[order] = np.arange(1, len(alphas) + 1)
        results["rank_val_score"] = ranks
        best: int | None = None
        threshold: float | None = None
        if require_choice or np.isfinite(mean_val).any():
            best, threshold = select_alpha(alphas, mean_val, results["std_val_score"], n_folds, selection)
        present = {(m["alpha_index"], m["fold"]) for m in members}
        missing = [(a, f) for f in range(n_folds) for a in range(len(alphas)) if (a, f) not in present]
        return cls(
            alphas,
            n_folds,
            members,
            scoring,
            selection,
            task,
            results,
            best,
            None if best is None else float(alphas[best]),
            threshold,
            missing,
        )

    def to_frame(self):
        """``cv_results`` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.cv_results)


def _record(key: tuple[int, int], result: MemberResult, elapsed_s: float) -> dict[str, Any]:
    return {
        "alpha_index": int(key[0]),
        "fold": int(key[1]),
        "alpha": float(result.alpha),
        "seed": int(result.seed),
        "status": result.status,
        "n_iter": int(result.n_iter),
        "best_epoch": int(result.best_epoch),
        "metrics": dict(result.metrics),
        "history": list(result.history),
        "message": result.message,
        "fit_time_s": float(elapsed_s),
    }


def _check_scoring(scoring: str, task: str) -> str:
    kind = "regressor" if task == "regression" else "classifier"
    options = [name for name, (applies, _) in SCORINGS.items() if applies == kind]
    return check_options(scoring, "scoring", options)


def _chunk_size(plan: SweepPlan, chunk_size: int | None) -> int:
    n_members = len(plan.keys)
    if plan.config.solver == "lbfgs":
        return 1  # L-BFGS's line search would couple stacked members: one at a time
    if chunk_size is not None:
        return min(check_int(chunk_size, "chunk_size", low=1), n_members)
    device = resolve_device(plan.config.device)
    if device.type == "cuda":
        return max(1, min(n_members, torch.cuda.mem_get_info(device)[0] // 2 // _member_bytes(plan)))
    # On a CPU a population whose working set stays in cache trains faster per member than
    # a larger one (measured 10 % on 16 alphas x 5 folds of a 64-100-100-10 net: chunks of
    # 16 or 32 members against 80). Whole folds share their input batches, so round to them.
    size = max(1, min(n_members, MEMORY_BUDGET_BYTES // _member_bytes(plan), CACHE_BYTES // _member_bytes(plan)))
    n_alphas = len(plan.alphas)
    return size - size % n_alphas if size >= n_alphas else size


def _member_bytes(plan: SweepPlan) -> int:
    """Rough memory of one member: weights with their gradient, optimizer and kept copies,
    plus one minibatch's activations kept for the backward pass."""
    n_params = sum(p.numel() for p in plan.template.parameters())
    widths = sum(m.out_features for m in plan.template.modules() if isinstance(m, nn.Linear))
    batch = plan.config.batch_size or max(len(r) for r in plan.train_rows)
    item = 8 if plan.config.dtype == "float64" else 4
    return item * (7 * n_params + 4 * batch * (widths + plan.X.shape[1]))


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = np.isfinite(values).sum(axis=1)
    sums = np.where(np.isfinite(values), values, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _nanstd(values: np.ndarray) -> np.ndarray:
    """Standard deviation over the folds present (ddof=0, as GridSearchCV's ``std_test_score``)."""
    mean = _nanmean(values)
    counts = np.isfinite(values).sum(axis=1)
    squares = np.where(np.isfinite(values), (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.where(counts > 0, np.sqrt(squares / np.maximum(counts, 1)), np.nan)
