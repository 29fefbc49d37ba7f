"""The figure of what the curvature says: the evidence of each alpha, its effective number of
parameters, and the hidden units its penalty switched off."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from netreg.display.axes import alpha_positions, format_alpha, set_alpha_axis
from netreg.display.drawing import CHOSEN_COLOR
from netreg.report.figures import new_figure
from netreg.tuning.sweep_result import SweepResult

__all__ = ["evidence_curve", "has_diagnostics"]


def has_diagnostics(result: SweepResult) -> bool:
    """Whether ``result`` holds evidence or units-off counts to draw.

    Examples
    --------
    >>> has_diagnostics(digits_sweep)  # the doctests' shared sweep, conftest.py
    True
    """
    return bool(np.isfinite(result.log_evidence).any() or np.isfinite(result.units_off).any())


def evidence_curve(result: SweepResult) -> tuple[Figure, dict[str, Any]]:
    """Left: the Laplace log evidence of each alpha. Right: MacKay's effective number of
    parameters (gamma) and, on a second axis, the hidden units switched off per layer.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``alpha``, ``x``, ``log_evidence``, ``gamma``, ``units_off`` (``(n_alphas, n_hidden)``),
        ``best_evidence_x`` (where the evidence peaks; ``None`` without evidence), ``chosen_x``.

    Examples
    --------
    >>> figure, data = evidence_curve(digits_sweep)  # the doctests' shared sweep, conftest.py
    >>> data["log_evidence"].shape, data["units_off"].shape
    ((2,), (2, 1))
    """
    x = alpha_positions(result.alphas)
    figure = new_figure(11.0, 4.2)
    left, right = figure.subplots(1, 2)
    evidence, gamma = np.asarray(result.log_evidence), np.asarray(result.gamma)
    known = np.isfinite(evidence)
    best_x = None
    if known.any():
        left.plot(x[known], evidence[known], "o-", ms=3.5, color="tab:purple", gid="log_evidence")
        best = int(np.flatnonzero(known)[np.argmax(evidence[known])])
        best_x = float(x[best])
        left.plot([best_x], [evidence[best]], "D", ms=7, color="tab:purple", label="largest evidence")
        left.legend(fontsize=8)
    else:
        left.text(0.5, 0.5, "no evidence computed", transform=left.transAxes, ha="center", va="center")
    left.set_ylabel("log evidence (Laplace, GGN)")
    left.set_title("Evidence of each alpha", fontsize=10)
    if np.isfinite(gamma).any():
        right.plot(
            x,
            gamma,
            "o-",
            ms=3.5,
            color="tab:blue",
            gid="gamma",
            label="effective parameters \N{GREEK SMALL LETTER GAMMA}",
        )
    right.set_ylabel("effective number of parameters \N{GREEK SMALL LETTER GAMMA}")
    units = np.asarray(result.units_off)
    if units.size:
        twin = right.twinx()
        for j in range(units.shape[1]):
            twin.plot(
                x, units[:, j], "s--", ms=3, color=f"C{j + 3}", gid=f"units_off[{j}]", label=f"units off, layer {j + 1}"
            )
        twin.set_ylabel("hidden units switched off")
        twin.legend(fontsize=8, loc="center right")
    right.set_title("Effective parameters and units switched off", fontsize=10)
    chosen_x = None if result.best_index is None else float(x[result.best_index])
    for ax in (left, right):
        if chosen_x is not None:
            ax.axvline(chosen_x, ls="--", lw=1.2, color=CHOSEN_COLOR, label="chosen alpha")
        set_alpha_axis(ax, result.alphas)
        ax.grid(alpha=0.3)
    if np.isfinite(gamma).any():
        right.legend(fontsize=8, loc="upper right")
    chosen = "" if result.best_index is None else f"; chosen alpha = {format_alpha(result.alphas[result.best_index])}"
    figure.suptitle(f"What the curvature says{chosen}", fontsize=11)
    data = {
        "alpha": np.asarray(result.alphas),
        "x": x,
        "log_evidence": evidence,
        "gamma": gamma,
        "units_off": units,
        "best_evidence_x": best_x,
        "chosen_x": chosen_x,
    }
    return figure, data
