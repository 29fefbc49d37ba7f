"""The report's figures, laid out from a :class:`~netreg.tuning.sweep.SweepResult` and drawn by :mod:`netreg.display.drawing`.

Each returns the ``Figure`` and the data it plotted. Figures use matplotlib's object API with
the Agg canvas, never pyplot: no global figure registry to leak, no display backend to pick.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from netreg.display.axes import alpha_positions, format_alpha, loss_label
from netreg.display.displays import alpha_paths
from netreg.display.drawing import (
    ROLE_COLORS,
    draw_alpha_path,
    draw_learning_curve,
    draw_validation_curve,
    draw_weight_norms,
    featured_alphas,
    representative_member,
    validation_title,
)
from netreg.tuning.store import SweepStore
from netreg.tuning.sweep_result import SweepResult

__all__ = [
    "new_figure",
    "draw_path_and_evidence",
    "learned_alpha_figure",
    "learning_curves",
    "validation_curve",
    "weight_histograms",
    "weight_norm_curve",
]


def validation_curve(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Mean train and validation score (left) and data loss (right) against alpha, each
    drawn by :func:`netreg.display.drawing.draw_validation_curve` (as
    :class:`netreg.display.ValidationCurveDisplay` draws it).

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``alpha``, ``x`` (where each alpha is drawn), ``{part}_{kind}`` and
        ``{part}_{kind}_std`` for part in train/val and kind in score/loss,
        ``chosen_alpha``, ``chosen_x``, ``threshold`` (``None`` where not drawn).

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = validation_curve(result)
    >>> bool(np.array_equal(data["val_score"], result.cv_results["mean_test_score"]))
    True
    """
    figure = new_figure(11.0, 4.2)
    data: dict[str, Any] = {}
    for ax, kind in zip(figure.subplots(1, 2), ("score", "loss"), strict=True):
        data.update(draw_validation_curve(ax, result, kind))
    best = result.best_index
    data["threshold"] = result.threshold
    data["chosen_alpha"] = None if best is None else float(result.alphas[best])
    data["chosen_x"] = None if best is None else float(data["x"][best])
    figure.suptitle(validation_title(result), fontsize=11)
    return figure, data


def weight_norm_curve(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Frobenius norm of each penalized weight matrix (mean over folds) against alpha,
    drawn by :func:`netreg.display.drawing.draw_weight_norms` (as
    :class:`netreg.display.WeightNormDisplay` draws it).

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``alpha``, ``x``, ``norms`` (``{layer: array}``), ``chosen_x``.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = weight_norm_curve(result)
    >>> sorted(data["norms"])
    ['layers.0.weight', 'layers.1.weight']
    """
    figure = new_figure(6.5, 4.2)
    return figure, draw_weight_norms(figure.subplots(), result)


def learning_curves(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Train and validation data loss per epoch for the smallest, chosen and largest alpha,
    each panel drawn by :func:`netreg.display.drawing.draw_learning_curve` (as
    :class:`netreg.display.LearningCurveDisplay` draws it).

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``panels``: the data of :func:`~netreg.display.drawing.draw_learning_curve`, one per
        alpha of :func:`~netreg.display.drawing.featured_alphas`.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> figure, data = learning_curves(result)
    >>> [(panel["alpha"], panel["roles"], panel["epoch"].tolist()) for panel in data["panels"]]
    [(0.0, ['smallest'], [1, 2, 3]), (1.0, ['chosen', 'largest'], [1, 2, 3])]
    """
    featured = featured_alphas(result)
    figure = new_figure(4.0 * len(featured) + 1.0, 4.0)
    axes = np.atleast_1d(figure.subplots(1, len(featured), sharey=True, squeeze=False)[0])
    panels = [draw_learning_curve(ax, result, index, roles) for ax, (index, roles) in zip(axes, featured, strict=True)]
    axes[0].set_ylabel(loss_label(result.task))
    figure.suptitle("Learning curves (data loss without penalty; the penalty term shown apart)", fontsize=11)
    return figure, {"panels": panels}


def weight_histograms(result: SweepResult, store: SweepStore) -> tuple[Figure, dict[str, Any]]:
    """Histograms of each penalized layer's weights at the smallest, chosen and largest alpha.

    The weights are the member's kept weights, read from ``store``
    (:class:`~netreg.tuning.store.SweepStore`), of the member :func:`representative_member`
    picks. Counts are on a log scale so that the tails stay visible next to the peak
    at zero that a large alpha makes.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``layers``: ``{layer: {"bins": edges, "alphas": [{"alpha_index", "alpha",
        "roles", "fold", "values", "counts"}]}}``.

    Examples
    --------
    >>> from netreg.tuning import SweepStore
    >>> with SweepStore.read(digits_store) as store:  # the doctests' shared sweep and its store (conftest.py)
    ...     figure, data = weight_histograms(digits_sweep, store)
    >>> [entry["values"].size for entry in data["layers"]["layers.0.weight"]["alphas"]]
    [512, 512]
    """
    layers = result.layers
    featured = [(i, roles, representative_member(result, i)) for i, roles in featured_alphas(result)]
    featured = [(i, roles, member) for i, roles, member in featured if member is not None]
    weights = {i: store.weights(i, member.fold) for i, _, member in featured}
    figure = new_figure(8.0, 0.6 + 2.6 * max(len(layers), 1))
    axes = np.atleast_1d(figure.subplots(max(len(layers), 1), 1, squeeze=False)[:, 0])
    data: dict[str, Any] = {"layers": {}}
    if not layers:
        axes[0].text(0.5, 0.5, "no penalized weights recorded yet", transform=axes[0].transAxes, ha="center")
    for ax, layer in zip(axes, layers, strict=False):  # without layers, one axis holds the note above
        values = {i: weights[i][layer].detach().double().numpy().ravel() for i, _, _ in featured}
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
        bins = np.histogram_bin_edges(finite if finite.size else [0.0], bins=60)
        entries = []
        for index, roles, member in featured:
            shown = values[index][np.isfinite(values[index])]
            color = ROLE_COLORS["chosen" if "chosen" in roles else roles[0]]
            label = f"{' & '.join(roles)} alpha = {format_alpha(result.alphas[index])}"
            counts, _, _ = ax.hist(shown, bins=bins, histtype="step", lw=1.6, color=color, label=label)
            entries.append(
                {
                    "alpha_index": index,
                    "alpha": float(result.alphas[index]),
                    "roles": roles,
                    "fold": member.fold,
                    "values": values[index],
                    "counts": np.asarray(counts),
                }
            )
        shape = "\N{MULTIPLICATION SIGN}".join(str(n) for n in weights[featured[0][0]][layer].shape) if featured else ""
        ax.set_title(f"{layer} ({shape})", fontsize=10)
        ax.set_yscale("log")
        ax.set_ylabel("count (log scale)")
        ax.set_xlabel("weight value")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        data["layers"][layer] = {"bins": bins, "alphas": entries}
    figure.suptitle("Weights of each penalized layer (one member per alpha)", fontsize=11)
    return figure, data


def draw_path_and_evidence(left: Any, middle: Any, history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Alpha's path over the epochs on ``left`` (:func:`netreg.display.drawing.draw_alpha_path`)
    and the log evidence at each re-estimate on ``middle``, from an ``alpha_history_``.

    Returns
    -------
    dict
        ``paths`` (``{name: (epochs, alphas)}``), ``evidence_epochs``, ``log_evidence``.
    """
    paths = alpha_paths(history) if history else {}
    draw_alpha_path(left, paths)
    if not history:  # a fit shorter than the burn-in keeps its starting alpha
        left.text(0.5, 0.5, "no re-estimate: too few epochs", ha="center", transform=left.transAxes)
    epochs = np.array([float(r["epoch"]) for r in history])
    evidence = np.array([math.nan if r.get("log_evidence") is None else float(r["log_evidence"]) for r in history])
    middle.plot(epochs, evidence, "o-", ms=3.5, color="tab:purple", gid="log_evidence")
    middle.set(xlabel="epoch", ylabel="log evidence", title="Log evidence at each re-estimate")
    middle.grid(alpha=0.3)
    return {"paths": paths, "evidence_epochs": epochs, "log_evidence": evidence}


def learned_alpha_figure(learned: Mapping[str, Any], result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """What ``search="hybrid"``'s one ``alpha="auto"`` fit learned, beside what the folds made of
    it: alpha's path over the epochs (left), the log evidence at each re-estimate (middle), and
    the validation curve of the alphas around it (right, as the report's first figure draws it)
    with the learned alpha read as one (``learned["centre"]``, the grid's centre) dotted.

    ``learned`` holds ``alpha_history`` (the fit's ``alpha_history_``) and ``centre``.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        :func:`draw_path_and_evidence`'s, the validation curve's (``alpha``, ``x``,
        ``val_score``...), and ``centre_x`` (where the centre is drawn; None outside the grid).

    Examples
    --------
    >>> learned = {"centre": 1.0, "alpha_history": [{"epoch": 3, "alpha": 0.5, "log_evidence": -9.0},
    ...                                             {"epoch": 6, "alpha": 1.0, "log_evidence": -8.0}]}
    >>> figure, data = learned_alpha_figure(learned, digits_sweep)  # the doctests' shared sweep (conftest.py)
    >>> len(figure.axes), data["paths"]["alpha"][1].tolist(), data["centre_x"]
    (3, [0.5, 1.0], 1.0)
    """
    figure = new_figure(15.0, 4.2)
    left, middle, right = figure.subplots(1, 3)
    data = draw_path_and_evidence(left, middle, learned["alpha_history"])
    alphas = np.asarray(result.alphas, dtype=float)
    near = np.flatnonzero(np.isclose(alphas, float(learned["centre"]), rtol=1e-9, atol=0.0))
    centre_x = float(alpha_positions(alphas)[near[0]]) if near.size else None
    if centre_x is not None:  # drawn first, so that the validation curve's legend lists it
        right.axvline(centre_x, ls=":", lw=1.4, color="tab:purple", gid="learned", label="learned alpha")
    data.update(draw_validation_curve(right, result, "score"), centre_x=centre_x)
    right.set_title(validation_title(result), fontsize=11)
    return figure, data


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of that size (inches), drawn off screen, laid out by matplotlib."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
