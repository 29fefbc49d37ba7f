"""The alpha axis and the axis labels every figure shares.

Alpha is drawn on a log scale, where 0 has no place: a grid that starts at alpha = 0 draws it
one decade left of the smallest positive alpha, on a tick labeled "0", behind a break mark.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ALPHA_LABEL", "alpha_positions", "format_alpha", "loss_label", "score_label", "set_alpha_axis"]

ALPHA_LABEL = "alpha (penalty strength, log scale)"

_SCORE_LABELS = {
    "neg_log_loss": "score: \N{MINUS SIGN}log-loss (nats per sample; higher is better)",
    "accuracy": "score: accuracy (fraction correct)",
    "r2": "score: R\N{SUPERSCRIPT TWO} (1 = perfect)",
    "neg_mean_squared_error": "score: \N{MINUS SIGN}MSE\n(target units\N{SUPERSCRIPT TWO} as trained; higher is better)",
}


def alpha_positions(alphas: np.ndarray) -> np.ndarray:
    """Where each alpha is drawn on the log-scaled axis: itself, or a decade below the
    smallest positive alpha for alpha = 0.

    Examples
    --------
    >>> alpha_positions(np.array([0.0, 0.01, 1.0]))
    array([0.001, 0.01 , 1.   ])
    >>> alpha_positions(np.array([0.1, 10.0]))
    array([ 0.1, 10. ])
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    positive = alphas[alphas > 0]
    zero_at = positive.min() / 10.0 if positive.size else 1.0
    return np.where(alphas > 0, alphas, zero_at)


def format_alpha(alpha: float) -> str:
    """Alpha as the report writes it: up to 3 significant digits.

    Examples
    --------
    >>> format_alpha(0.0), format_alpha(0.001), format_alpha(31.6227766)
    ('0', '0.001', '31.6')
    """
    return f"{alpha:.3g}"


def set_alpha_axis(ax: Any, alphas: np.ndarray) -> None:
    """Log-scale the x axis of ``ax`` over the grid, with a "0" tick if the grid has 0.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> set_alpha_axis(ax, np.array([0.0, 0.1, 1.0, 10.0]))
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['0', '0.1', '1', '10']
    >>> set_alpha_axis(ax, np.array([0.01, 0.1, 1.0]))
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['0.01', '0.1', '1']
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    alphas = np.asarray(alphas, dtype=np.float64)
    positions = alpha_positions(alphas)
    ax.set_xscale("log")
    ax.set_xlabel(ALPHA_LABEL)
    low, high = positions.min(), positions.max()
    span = max(math.log10(high / low), 1.0)
    ax.set_xlim(low / 10 ** (0.05 * span), high * 10 ** (0.05 * span))
    positive = alphas[alphas > 0]
    has_zero = bool((alphas == 0).any())
    decades: list[float] = []
    if positive.size:
        first, last = math.ceil(math.log10(positive.min()) - 1e-9), math.floor(math.log10(positive.max()) + 1e-9)
        decades = [10.0**k for k in range(first, last + 1)]
        # A short grid may hold no power of ten: tick the grid's ends instead.
        decades = decades or [float(positive.min()), float(positive.max())]
    # Plain numbers ("0.01", not "10^-2") on every grid, so that the "0" tick reads alike.
    ticks = ([float(positions[alphas == 0][0])] if has_zero else []) + decades
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels(["0"] * has_zero + [format_alpha(t) for t in decades])
    ax.xaxis.set_minor_formatter(NullFormatter())
    if not has_zero:
        return
    # Minor log ticks would run through the gap between 0 and the first positive alpha.
    ax.xaxis.set_minor_locator(NullLocator())
    if positive.size:
        middle = math.sqrt(ticks[0] * positive.min())
        # Text, not a line, so that the mark takes no part in the axes' data limits.
        ax.text(
            middle,
            0.0,
            "//",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="center",
            fontsize=9,
            color="0.3",
            clip_on=False,
            bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none"},
        )


def score_label(scoring: str) -> str:
    """The y-axis label of a score, with its unit.

    Examples
    --------
    >>> score_label("accuracy")
    'score: accuracy (fraction correct)'
    """
    return _SCORE_LABELS.get(scoring, f"score: {scoring}")


def loss_label(task: str) -> str:
    """The y-axis label of the data loss (no penalty) of a task, with its unit.

    The regression label takes two lines, so that it fits beside the axes it labels. Its
    unit is that of the target as the network was trained on it (standardized, with
    ``transformer=StandardScaler()``).

    Examples
    --------
    >>> loss_label("multiclass")
    'data loss: log-loss (nats per sample)'
    >>> print(loss_label("regression"))
    data loss: squared error / 2
    (target units² as trained, per sample)
    """
    if task == "regression":
        return "data loss: squared error / 2\n(target units\N{SUPERSCRIPT TWO} as trained, per sample)"
    return "data loss: log-loss (nats per sample)"
