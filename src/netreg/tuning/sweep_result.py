"""A sweep's outcome as plain data: scores per alpha, weight norms per layer, the choice."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from netreg._checks import check_options
from netreg.engine.health import KEPT
from netreg.exceptions import bad_data
from netreg.losses import get_task
from netreg.tuning.records import MemberRecord
from netreg.tuning.rules import SELECTIONS, select_alpha
from netreg.tuning.scoring import check_scoring, is_native, score

__all__ = ["SweepResult"]


@dataclass
class SweepResult:
    """The outcome of a sweep: members, scores per alpha, weight norms, the chosen alpha.

    Attributes
    ----------
    alphas : ndarray
        The grid, ascending.
    n_folds : int
    members : list of MemberRecord
    scoring, selection : str
    task : str
    cv_results : dict
        One row per alpha: ``alpha``, mean and std of train and validation score and loss,
        ``split{k}_test_score``, ..., ``mean_n_iter``, ``mean_norm[<layer>]``,
        ``mean_log_evidence`` and ``mean_gamma`` (where computed), ``mean_units_off[<hidden
        layer>]``, ``n_members``, ``n_diverged``, ``rank_test_score``, and ``stopped_at_epoch``
        with successive halving.
    layers : list of str
        The penalized layers, in the network's order.
    mean_norms : ndarray of shape (n_alphas, n_layers)
        Frobenius norm of each penalized weight at the kept epoch, mean over the folds.
    log_evidence : ndarray of shape (n_alphas,)
        Laplace log evidence of each alpha (:mod:`netreg.evidence`), mean over the members
        that have one (the plan's ``evidence_folds``); NaN where none has.
    gamma : ndarray of shape (n_alphas,)
        MacKay's effective number of parameters, likewise.
    units_off : ndarray of shape (n_alphas, n_hidden_layers)
        Hidden units switched off (:func:`netreg.evidence.units_off`), mean over the folds.
    stopped_at : ndarray of shape (n_alphas,)
        The epoch at which successive halving stopped each alpha (NaN if trained to the end):
        its scores are partial, shown but never chosen.
    best_index : int or None
        Position of the chosen alpha in ``alphas``; ``None`` only without ``require_choice``
        (:meth:`from_members`).
    alpha : float or None
        The chosen alpha (``None`` with ``best_index``).
    threshold : float or None
        The 1-SE threshold when ``selection="1se"``.
    missing : list of (int, int)
        ``(alpha_index, fold)`` of members not (yet) trained.
    best_state_dict : dict of str to Tensor or None
        With ``selection="evidence"``: the weights of the chosen member, the model; else ``None``.
    fold_state_dicts : list of dict of str to Tensor or None
        With ``keep_folds``: the weights of the chosen alpha's member on each fold; else ``None``.
    """

    alphas: np.ndarray
    n_folds: int
    members: list[MemberRecord]
    scoring: str
    selection: str
    task: str
    cv_results: dict[str, Any]
    layers: list[str]
    mean_norms: np.ndarray
    log_evidence: np.ndarray
    gamma: np.ndarray
    units_off: np.ndarray
    stopped_at: np.ndarray
    best_index: int | None
    alpha: float | None
    threshold: float | None
    missing: list[tuple[int, int]]
    best_state_dict: dict[str, Any] | None = None
    fold_state_dicts: list[dict[str, Any]] | None = None

    @property
    def total_norms(self) -> np.ndarray:
        """Per alpha, ``sqrt(sum_j mean_norms[:, j] ** 2)`` (NaN where a layer has none, or without layers)."""
        if not self.layers:
            return np.full(len(self.alphas), np.nan)
        return np.sqrt(np.sum(self.mean_norms**2, axis=1))

    def notes(self) -> list[str]:
        """Cautions about the choice, in plain words: an alpha on the edge of the grid, a regression
        whose chosen model predicts worse than the target's mean (R^2 below 0), diverged members.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from netreg import NetRegRegressor
        >>> from netreg.tuning import plan_sweep, run_sweep
        >>> X, y = load_diabetes(return_X_y=True)  # a target in the hundreds, not standardized
        >>> plan = plan_sweep(NetRegRegressor((8,), max_iter=20, random_state=0), X, y, alphas=[1e-4, 1e-3, 1e-2], cv=3)
        >>> notes = run_sweep(plan, scoring="r2").notes()
        >>> notes[0]
        'The chosen alpha, 0.01, is the largest of the grid: a larger one may score better. Extend the grid upward to find out.'
        >>> notes[1][:63]
        "The chosen model's cross-validated R² is -3.902: it predicts wo"
        """
        notes = []
        best = self.best_index
        if best is not None and len(self.alphas) > 2:
            if best == len(self.alphas) - 1:
                notes.append(
                    f"The chosen alpha, {self.alphas[best]:g}, is the largest of the grid: a larger one may score "
                    "better. Extend the grid upward to find out."
                )
            elif best == 0 and self.alphas[0] > 0:
                notes.append(
                    f"The chosen alpha, {self.alphas[best]:g}, is the smallest of the grid: a smaller one may score "
                    "better. Extend the grid downward (or add alpha = 0) to find out."
                )
        if best is not None and get_task(self.task).regression:
            # Without folds (alpha by the evidence) the training R^2 is the only one there is.
            part = (
                "val"
                if self.cv_results["n_members"].any() and np.isfinite(self.cv_results["mean_test_score"]).any()
                else "train"
            )
            r2 = [m.metrics.get(f"{part}_score", np.nan) for m in self.members if m.alpha_index == best]
            mean_r2 = float(np.mean(r2)) if r2 else np.nan
            if mean_r2 < 0:
                which = "cross-validated" if part == "val" else "training"
                notes.append(
                    f"The chosen model's {which} R\N{SUPERSCRIPT TWO} is {mean_r2:.3f}: it predicts worse than "
                    "the mean of the target would. Check the target's scale (standardize it), the learning rate "
                    "and the number of epochs."
                )
        notes += self._diverged_notes()
        return notes

    def _diverged_notes(self) -> list[str]:
        """One note per cause of divergence: how many members, at which alphas, one's message."""
        by_advice: dict[str, list[MemberRecord]] = {}
        for member in self.members:
            if member.status == "diverged":
                # The advice names the member's own numbers (alpha / m differs between folds):
                # one cause is the advice with its numbers left out.
                cause = re.sub(r"[-+]?\d[\d.,]*(e[-+]?\d+)?", "#", member.message.split(KEPT)[-1])
                by_advice.setdefault(cause, []).append(member)
        notes = []
        for group in by_advice.values():
            alphas = ", ".join(f"{self.alphas[a]:g}" for a in sorted({m.alpha_index for m in group}))
            notes.append(
                f"{len(group)} of {len(self.members)} members diverged and are not scored (alpha = {alphas}). "
                f"The first: {group[0].message}"
            )
        return notes

    @classmethod
    def from_members(
        cls,
        spec: Mapping[str, Any],
        members: Sequence[MemberRecord],
        *,
        scoring: str,
        selection: str,
        require_choice: bool = True,
    ) -> SweepResult:
        """Scores per alpha and the chosen alpha, from stored member records (complete or not).

        ``spec`` is the sweep's specification (:attr:`netreg.tuning.SweepPlan.spec`). A sweep in
        which no alpha has a score on every fold raises :class:`~netreg.exceptions.DataError`,
        or with ``require_choice=False`` gives a result without a choice (``None``), for a report.
        """
        check_options(selection, "selection", SELECTIONS)
        alphas = np.asarray(spec["alphas"], dtype=np.float64)
        n_folds, task = int(spec["n_folds"]), spec["task"]
        n_outputs = int(spec.get("n_outputs", 1))
        if is_native(scoring):  # a scikit-learn scorer was run where the members trained
            check_scoring(scoring, task)
        grid = _Grid(len(alphas), n_folds)
        for member in members:
            if member.status != "diverged":  # a diverged member's numbers describe an unfinished fit
                grid.add(member, scoring, n_outputs)
        results: dict[str, Any] = {"alpha": alphas}
        for name in ("train_score", "test_score", "train_loss", "test_loss"):
            results[f"mean_{name}"], results[f"std_{name}"] = _mean_and_std(grid.table[name])
        for fold in range(n_folds):
            for part in ("train", "test"):
                results[f"split{fold}_{part}_score"] = grid.table[f"{part}_score"][:, fold]
        results["mean_n_iter"] = _mean_and_std(grid.table["n_iter"])[0]
        layers = list(grid.norms)
        mean_norms = np.stack([_mean_and_std(grid.norms[layer])[0] for layer in layers], axis=1) if layers else None
        for j, layer in enumerate(layers):
            results[f"mean_norm[{layer}]"] = mean_norms[:, j]
        log_evidence, gamma = _mean_and_std(grid.table["log_evidence"])[0], _mean_and_std(grid.table["gamma"])[0]
        if np.isfinite(log_evidence).any():
            results["mean_log_evidence"], results["mean_gamma"] = log_evidence, gamma
        units_off = grid.mean_units_off()
        for j in range(units_off.shape[1]):
            results[f"mean_units_off[{j}]"] = units_off[:, j]
        results["n_members"] = np.isfinite(grid.table["n_iter"]).sum(axis=1)
        diverged = [member.alpha_index for member in members if member.status == "diverged"]
        results["n_diverged"] = np.bincount(np.asarray(diverged, dtype=np.int64), minlength=len(alphas))
        stopped_at = grid.stopped_at()
        if np.isfinite(stopped_at).any():
            results["stopped_at_epoch"] = stopped_at
        # An alpha stopped by successive halving has partial scores: shown, never chosen.
        complete = (results["n_members"] == n_folds) & ~np.isfinite(stopped_at)
        mean_val = np.where(complete, results["mean_test_score"], np.nan)
        results["rank_test_score"] = _ranks(mean_val)
        criterion = np.where(complete, log_evidence, np.nan) if selection == "evidence" else mean_val
        best: int | None = None
        threshold: float | None = None
        if require_choice and diverged and not np.isfinite(criterion).any():
            first = next(member for member in members if member.status == "diverged")
            evidence = selection == "evidence"
            raise bad_data(
                f"no alpha has {'a log evidence' if evidence else 'a score on every fold'}: {len(diverged)} of "
                f"{len(members)} members diverged",
                f"at least one alpha {'that did not diverge' if evidence else 'scored on every fold'} to choose from",
                f"The first: {first.message}",
            )
        if require_choice or np.isfinite(criterion).any():
            best, threshold = select_alpha(alphas, criterion, results["std_test_score"], n_folds, selection)
        present = {member.key for member in members}
        missing = [(a, f) for f in range(n_folds) for a in range(len(alphas)) if (a, f) not in present]
        return cls(
            alphas=alphas,
            n_folds=n_folds,
            members=list(members),
            scoring=scoring,
            selection=selection,
            task=task,
            cv_results=results,
            layers=layers,
            mean_norms=np.zeros((len(alphas), 0)) if mean_norms is None else mean_norms,
            log_evidence=log_evidence,
            gamma=gamma,
            units_off=units_off,
            stopped_at=stopped_at,
            best_index=best,
            alpha=None if best is None else float(alphas[best]),
            threshold=threshold,
            missing=missing,
        )

    def to_frame(self) -> Any:
        """``cv_results`` as a pandas DataFrame."""
        import pandas as pd  # here, not at the top: pandas slows importing netreg (docs/architecture.md)

        return pd.DataFrame(self.cv_results)


def _mean_and_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (ddof=0, as GridSearchCV's) over the folds present; NaN for an alpha without any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice": an alpha not trained yet
        return np.nanmean(values, axis=1), np.nanstd(values, axis=1)


class _Grid:
    """Per (alpha, fold) arrays of the members' numbers, filled member by member."""

    def __init__(self, n_alphas: int, n_folds: int) -> None:
        self.shape = (n_alphas, n_folds)
        names = ("train_score", "test_score", "train_loss", "test_loss", "n_iter", "log_evidence", "gamma")
        self.table = {name: np.full(self.shape, np.nan) for name in names}
        self.norms: dict[str, np.ndarray] = {}
        self.units_off: dict[tuple[int, int], list[int]] = {}
        self.stopped: dict[int, int] = {}

    def stopped_at(self) -> np.ndarray:
        """``(n_alphas,)``: the epoch at which halving stopped each alpha, NaN where it did not."""
        epochs = np.full(self.shape[0], np.nan)
        for alpha_index, epoch in self.stopped.items():
            epochs[alpha_index] = epoch
        return epochs

    def add(self, member: MemberRecord, scoring: str, n_outputs: int) -> None:
        where = member.key
        # The engine names the held-out rows of a fold "val"; scikit-learn's cv_results_ "test".
        for part, rows in (("train", "train"), ("test", "val")):
            self.table[f"{part}_score"][where] = score(scoring, member.metrics, rows, n_outputs)
            self.table[f"{part}_loss"][where] = member.metrics.get(f"{rows}_loss", np.nan)
        self.table["n_iter"][where] = member.n_iter
        if member.status == "stopped":
            self.stopped[member.alpha_index] = member.n_iter
        for name in ("log_evidence", "gamma"):
            value = member.evidence.get(name)
            self.table[name][where] = np.nan if value is None else value
        if "units_off" in member.evidence:
            self.units_off[where] = list(member.evidence["units_off"])
        for layer, norm in member.kept_weight_norms().items():
            self.norms.setdefault(layer, np.full(self.shape, np.nan))[where] = norm

    def mean_units_off(self) -> np.ndarray:
        """``(n_alphas, n_hidden_layers)``: hidden units switched off, mean over the folds counted."""
        n_layers = max((len(counts) for counts in self.units_off.values()), default=0)
        sums = np.zeros((self.shape[0], n_layers))
        counts = np.zeros(self.shape[0])
        for (alpha_index, _), off in self.units_off.items():
            if len(off) == n_layers:
                sums[alpha_index] += off
                counts[alpha_index] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts[:, None] > 0, sums / counts[:, None], np.nan)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, ties sharing the lower rank and NaN last, as ``GridSearchCV`` ranks."""
    return rankdata(-np.where(np.isfinite(values), values, -np.inf), method="min").astype(np.int32)
