"""Notebook displays of a sweep, in scikit-learn's convention (``from_...``, ``plot(ax=None)``, ``ax_``, ``figure_``), drawn by :mod:`netreg.display.drawing`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from netreg._checks import check_float, check_int, check_options
from netreg.display.axes import loss_label
from netreg.display.drawing import (
    draw_alpha_path,
    draw_evidence,
    draw_learning_curve,
    draw_validation_curve,
    draw_weight_norms,
    featured_alphas,
    validation_title,
)
from netreg.exceptions import invalid
from netreg.tuning.sweep_result import SweepResult

__all__ = ["AlphaPathDisplay", "LearningCurveDisplay", "ValidationCurveDisplay", "WeightNormDisplay", "alpha_paths"]

_SEARCH = "a fitted NetRegClassifierCV or NetRegRegressorCV"


def sweep_of(search: Any) -> SweepResult:
    """The sweep of a fitted CV estimator (its ``sweep_``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``search`` is not fitted (scikit-learn's ``check_is_fitted`` message).
    InvalidParameterError
        If ``search`` is fitted but holds no sweep (not a CV estimator).

    Examples
    --------
    >>> from netreg import NetRegClassifierCV
    >>> sweep_of(NetRegClassifierCV())
    Traceback (most recent call last):
    ...
    sklearn.exceptions.NotFittedError: This NetRegClassifierCV instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.
    """
    check_is_fitted(search)
    result = getattr(search, "sweep_", None)
    if not isinstance(result, SweepResult):
        raise invalid("search", _SEARCH, got=f"a {type(search).__name__} without sweep_")
    return result


def _checked_result(result: Any) -> SweepResult:
    if not isinstance(result, SweepResult):
        raise invalid("result", "a SweepResult (a fitted search's sweep_)", got=f"a {type(result).__name__}")
    return result


def _axes(ax: Any) -> Any:
    """``ax``, or the axes of a new pyplot figure (shown inline by a notebook), as scikit-learn's displays do."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


class ValidationCurveDisplay:
    """Train and validation score of each alpha, with their spread over the folds, drawn by
    :func:`netreg.display.drawing.draw_validation_curve` as the report draws it; the rule is
    named in the title, and the Laplace log evidence, where the sweep computed it, drawn on a
    second y axis.

    Parameters
    ----------
    result : SweepResult
        The sweep (a fitted search's ``sweep_``).

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
        Where it drew.
    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.
    evidence_ax_ : matplotlib.axes.Axes or None
        The second y axis of the evidence (``None`` without evidence, or with ``evidence=False``).
    data_ : dict
        What was plotted (:func:`~netreg.display.drawing.draw_validation_curve`'s data).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from netreg import NetRegClassifierCV, ValidationCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> search = NetRegClassifierCV((8,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0).fit(X[:90] / 16, y[:90])
    >>> display = ValidationCurveDisplay.from_search(search)
    >>> bool(np.array_equal(display.data_["val_score"], search.cv_results_["mean_test_score"]))
    True
    >>> display.ax_.get_title() == f"Validation curve (min rule; chosen alpha = {search.alpha_:.3g})"
    True
    """

    def __init__(self, result: SweepResult) -> None:
        self.result = result

    def plot(self, ax: Any = None, *, kind: str = "score", evidence: bool = True) -> ValidationCurveDisplay:
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default: a new pyplot figure.
        kind : {"score", "loss"}, default="score"
            The score of the search's scoring, or the data loss (no penalty).
        evidence : bool, default=True
            Draw the log evidence on a second y axis, where the sweep computed it.

        Returns
        -------
        ValidationCurveDisplay
            ``self``.
        """
        kind = check_options(kind, "kind", ("score", "loss"))
        ax = _axes(ax)
        self.data_ = draw_validation_curve(ax, self.result, kind)
        self.evidence_ax_ = draw_evidence(ax, self.result) if evidence else None
        ax.set_title(validation_title(self.result), fontsize=11)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_search(
        cls, search: Any, *, ax: Any = None, kind: str = "score", evidence: bool = True
    ) -> ValidationCurveDisplay:
        """The display of a fitted ``NetRegClassifierCV`` or ``NetRegRegressorCV``, drawn
        (:meth:`plot`'s parameters); scikit-learn's ``NotFittedError`` if it is not fitted."""
        return cls(sweep_of(search)).plot(ax, kind=kind, evidence=evidence)

    @classmethod
    def from_result(
        cls, result: SweepResult, *, ax: Any = None, kind: str = "score", evidence: bool = True
    ) -> ValidationCurveDisplay:
        """The display of a :class:`~netreg.tuning.SweepResult` (``run_sweep``'s, or one read
        back from a store), drawn (:meth:`plot`'s parameters)."""
        return cls(_checked_result(result)).plot(ax, kind=kind, evidence=evidence)


class WeightNormDisplay:
    """Frobenius norm of each penalized layer's weights (mean over folds) against alpha,
    the chosen alpha dashed: the report's weight-norm figure
    (:func:`netreg.display.drawing.draw_weight_norms`).

    Parameters
    ----------
    result : SweepResult

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    data_ : dict
        What was plotted (:func:`~netreg.display.drawing.draw_weight_norms`'s data).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netreg import WeightNormDisplay
    >>> display = WeightNormDisplay.from_result(digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> [line.get_gid() for line in display.ax_.get_lines()]
    ['mean_norm[layers.0.weight]', 'mean_norm[layers.1.weight]', 'chosen']
    """

    def __init__(self, result: SweepResult) -> None:
        self.result = result

    def plot(self, ax: Any = None) -> WeightNormDisplay:
        """Draw on ``ax`` (default: a new pyplot figure); returns ``self``."""
        ax = _axes(ax)
        self.data_ = draw_weight_norms(ax, self.result)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_search(cls, search: Any, *, ax: Any = None) -> WeightNormDisplay:
        """The display of a fitted CV estimator, drawn on ``ax``."""
        return cls(sweep_of(search)).plot(ax)

    @classmethod
    def from_result(cls, result: SweepResult, *, ax: Any = None) -> WeightNormDisplay:
        """The display of a :class:`~netreg.tuning.SweepResult`, drawn on ``ax``."""
        return cls(_checked_result(result)).plot(ax)


class LearningCurveDisplay:
    """Train and validation data loss per epoch of the member that stands for one alpha: one
    panel of the report's learning curves (:func:`netreg.display.drawing.draw_learning_curve`).

    Parameters
    ----------
    result : SweepResult

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    data_ : dict
        The panel's data (:func:`~netreg.display.drawing.draw_learning_curve`'s).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netreg import LearningCurveDisplay
    >>> display = LearningCurveDisplay.from_result(digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> display.data_["alpha"], display.data_["roles"], display.data_["epoch"].tolist()
    (1.0, ['chosen', 'largest'], [1, 2, 3])
    """

    def __init__(self, result: SweepResult) -> None:
        self.result = result

    def plot(self, ax: Any = None, *, alpha_index: int | None = None) -> LearningCurveDisplay:
        """Draw the curves of one alpha.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default: a new pyplot figure.
        alpha_index : int, optional
            Position of the alpha in the grid (``search.alphas_``); default: the chosen
            alpha (the smallest while none is chosen).

        Returns
        -------
        LearningCurveDisplay
            ``self``.
        """
        n_alphas = len(self.result.alphas)
        if alpha_index is None:
            index = 0 if self.result.best_index is None else int(self.result.best_index)
        else:
            index = check_int(alpha_index, "alpha_index", low=0)
            if index >= n_alphas:
                raise invalid(
                    "alpha_index", f"a position in the grid of {n_alphas} alphas (0 to {n_alphas - 1})", index
                )
        ax = _axes(ax)
        self.data_ = draw_learning_curve(ax, self.result, index, dict(featured_alphas(self.result)).get(index, []))
        ax.set_ylabel(loss_label(self.result.task))
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_search(cls, search: Any, *, ax: Any = None, alpha_index: int | None = None) -> LearningCurveDisplay:
        """The display of a fitted CV estimator, drawn (:meth:`plot`'s parameters)."""
        return cls(sweep_of(search)).plot(ax, alpha_index=alpha_index)

    @classmethod
    def from_result(
        cls, result: SweepResult, *, ax: Any = None, alpha_index: int | None = None
    ) -> LearningCurveDisplay:
        """The display of a :class:`~netreg.tuning.SweepResult`, drawn (:meth:`plot`'s parameters)."""
        return cls(_checked_result(result)).plot(ax, alpha_index=alpha_index)


class AlphaPathDisplay:
    """A learned alpha over the epochs of one fit (``alpha="auto"``).

    The history is plain data: a sequence of records, one per update of alpha, each a
    dict with ``"epoch"`` (a number) and ``"alpha"``: a float >= 0 (one alpha for the
    whole network, drawn as the line ``"alpha"``) or a dict of layer name -> float >= 0
    (one line per layer). Other keys of a record are ignored. A fitted estimator's
    ``alpha_history_`` holds such records.

    Parameters
    ----------
    paths : dict
        ``{name: (epochs, alphas)}`` arrays, as :meth:`from_history` builds them.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from netreg import AlphaPathDisplay
    >>> history = [{"epoch": 5, "alpha": {"layers.0.weight": 0.1, "layers.1.weight": 1.0}},
    ...            {"epoch": 10, "alpha": {"layers.0.weight": 0.3, "layers.1.weight": 2.0}}]
    >>> display = AlphaPathDisplay.from_history(history)
    >>> display.paths["layers.1.weight"][1].tolist()
    [1.0, 2.0]
    """

    def __init__(self, paths: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.paths = dict(paths)

    def plot(self, ax: Any = None) -> AlphaPathDisplay:
        """Draw on ``ax`` (default: a new pyplot figure); returns ``self``."""
        ax = _axes(ax)
        draw_alpha_path(ax, self.paths)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_history(cls, alpha_history: Sequence[Mapping[str, Any]], *, ax: Any = None) -> AlphaPathDisplay:
        """The display of an alpha history (the format above), drawn on ``ax``.

        Raises
        ------
        InvalidParameterError
            If ``alpha_history`` is empty, or a record lacks ``"epoch"`` or ``"alpha"`` or
            holds an alpha that is not a finite float >= 0 (the message names the record).
        """
        return cls(alpha_paths(alpha_history)).plot(ax)

    @classmethod
    def from_estimator(cls, estimator: Any, *, ax: Any = None) -> AlphaPathDisplay:
        """The display of a fitted estimator's ``alpha_history_``, drawn on ``ax``;
        scikit-learn's ``NotFittedError`` if it is not fitted."""
        check_is_fitted(estimator)
        history = getattr(estimator, "alpha_history_", None)
        if history is None:
            raise invalid(
                "estimator",
                'an estimator fitted with alpha="auto" (one with `alpha_history_`)',
                got=f"a {type(estimator).__name__} without alpha_history_",
            )
        return cls.from_history(history, ax=ax)


def alpha_paths(history: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (epochs, alphas)}`` from a history of records (:class:`AlphaPathDisplay`'s
    format), checked: what :func:`netreg.display.drawing.draw_alpha_path` draws.

    Examples
    --------
    >>> alpha_paths([{"epoch": 5, "alpha": 0.1}, {"epoch": 10, "alpha": 0.4}])["alpha"][1].tolist()
    [0.1, 0.4]
    """
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence) or not history:
        got = "an empty sequence" if isinstance(history, Sequence) and not history else f"a {type(history).__name__}"
        raise invalid("alpha_history", "a non-empty sequence of dicts with keys 'epoch' and 'alpha'", got=got)
    points: dict[str, list[tuple[float, float]]] = {}
    for i, record in enumerate(history):
        name = f"alpha_history[{i}]"
        if not isinstance(record, Mapping) or "epoch" not in record or "alpha" not in record:
            raise invalid(name, "a dict with keys 'epoch' and 'alpha'", record)
        epoch = check_float(record["epoch"], f"{name}['epoch']", low=0)
        alpha = record["alpha"]
        values = alpha if isinstance(alpha, Mapping) else {"alpha": alpha}
        for layer, value in values.items():
            label = f"{name}['alpha']" if values is not alpha else f"{name}['alpha'][{layer!r}]"
            points.setdefault(str(layer), []).append((epoch, check_float(value, label, low=0)))
    return {layer: (np.array([p[0] for p in pts]), np.array([p[1] for p in pts])) for layer, pts in points.items()}
