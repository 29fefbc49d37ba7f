"""A sweep's outcome as plain data: scores per alpha, weight norms per layer, the choice."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netreg._checks import check_options
from netreg.tuning.records import MemberRecord
from netreg.tuning.rules import SELECTIONS, select_alpha
from netreg.tuning.scoring import check_scoring, score

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
        One record per trained member.
    scoring, selection : str
    task : str
    cv_results : dict
        One row per alpha (``pandas.DataFrame(cv_results)`` shows it): ``alpha``, mean
        and std of train and validation score and loss, per-fold values
        (``split{k}_val_score``, ...), ``mean_n_iter``, ``mean_norm[<layer>]`` (the
        columns of :attr:`mean_norms`), ``n_members``, ``rank_val_score``.
    layers : list of str
        The penalized layers, in the network's order.
    mean_norms : ndarray of shape (n_alphas, n_layers)
        Frobenius norm of each penalized weight at the kept epoch, mean over the folds.
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
    members: list[MemberRecord]
    scoring: str
    selection: str
    task: str
    cv_results: dict[str, Any]
    layers: list[str]
    mean_norms: np.ndarray
    best_index: int | None
    alpha: float | None
    threshold: float | None
    missing: list[tuple[int, int]]

    @property
    def total_norms(self) -> np.ndarray:
        """Per alpha, ``sqrt(sum_j mean_norms[:, j] ** 2)``: the size of all penalized weights
        together (NaN where a layer has no norm; NaN everywhere without penalized layers)."""
        if not self.layers:
            return np.full(len(self.alphas), np.nan)
        return np.sqrt(np.sum(self.mean_norms**2, axis=1))

    def notes(self) -> list[str]:
        """Cautions about the choice, in plain words: an alpha chosen on the edge of the grid
        (a better one may lie beyond it), and a regression whose chosen model predicts worse
        than the mean of the target (cross-validated R^2 below 0).

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
        if best is not None and self.task == "regression":
            r2 = [m.metrics.get("val_score", np.nan) for m in self.members if m.alpha_index == best]
            mean_r2 = float(np.mean(r2)) if r2 else np.nan
            if mean_r2 < 0:
                notes.append(
                    f"The chosen model's cross-validated R\N{SUPERSCRIPT TWO} is {mean_r2:.3f}: it predicts worse than "
                    "the mean of the target would. Check the target's scale (standardize it), the learning rate "
                    "and the number of epochs."
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

        ``spec`` is the sweep's specification (:attr:`netreg.tuning.SweepPlan.spec`).
        With ``require_choice=False``, a sweep in which no alpha has a score on every fold
        (an interrupted one) still gives a result, with ``best_index``, ``alpha`` and
        ``threshold`` set to ``None``, so that a report can show the members trained so
        far; by default such a sweep raises :class:`~netreg.exceptions.DataError`.
        """
        check_options(selection, "selection", SELECTIONS)
        alphas = np.asarray(spec["alphas"], dtype=np.float64)
        n_folds, task = int(spec["n_folds"]), spec["task"]
        n_outputs = int(spec.get("n_outputs", 1))
        check_scoring(scoring, task)
        shape = (len(alphas), n_folds)
        table = {f"{part}_{kind}": np.full(shape, np.nan) for part in ("train", "val") for kind in ("score", "loss")}
        n_iter = np.full(shape, np.nan)
        norms: dict[str, np.ndarray] = {}
        for member in members:
            where = member.key
            if member.status == "diverged":
                continue  # its scores would describe an unfinished fit
            for part in ("train", "val"):
                table[f"{part}_score"][where] = score(scoring, member.metrics, part, n_outputs)
                table[f"{part}_loss"][where] = member.metrics[f"{part}_loss"]
            n_iter[where] = member.n_iter
            for layer, norm in member.kept_weight_norms().items():
                norms.setdefault(layer, np.full(shape, np.nan))[where] = norm
        results: dict[str, Any] = {"alpha": alphas}
        for name, values in table.items():
            results[f"mean_{name}"], results[f"std_{name}"] = _mean_and_std(values)
        for fold in range(n_folds):
            for part in ("train", "val"):
                results[f"split{fold}_{part}_score"] = table[f"{part}_score"][:, fold]
        results["mean_n_iter"] = _mean_and_std(n_iter)[0]
        layers = list(norms)
        mean_norms = np.stack([_mean_and_std(norms[layer])[0] for layer in layers], axis=1) if layers else None
        for j, layer in enumerate(layers):
            results[f"mean_norm[{layer}]"] = mean_norms[:, j]
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
            best_index=best,
            alpha=None if best is None else float(alphas[best]),
            threshold=threshold,
            missing=missing,
        )

    def to_frame(self) -> Any:
        """``cv_results`` as a pandas DataFrame."""
        import pandas as pd  # here, not at the top: pandas adds a third of a second to importing netreg

        return pd.DataFrame(self.cv_results)


def _mean_and_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the folds present (ddof=0, as GridSearchCV's
    ``std_test_score``); NaN for an alpha without any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice": an alpha not trained yet
        return np.nanmean(values, axis=1), np.nanstd(values, axis=1)
