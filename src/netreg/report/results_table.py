"""The results table of the report, as an HTML ``<table>``: one row per alpha (the chosen one of class ``chosen``)."""

from __future__ import annotations

import math
from html import escape

import numpy as np

from netreg.display.axes import format_alpha
from netreg.report.summary import SCORE_NAMES
from netreg.tuning.sweep_result import SweepResult

__all__ = ["results_table"]


def results_table(result: SweepResult) -> str:
    """The results table as an HTML fragment.

    Examples
    --------
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> html = results_table(result)
    >>> html.count('<tr class="alpha'), html.count('class="alpha chosen"')
    (2, 1)
    """
    cv = result.cv_results
    score = escape(SCORE_NAMES.get(result.scoring, result.scoring))
    layers = result.layers
    header = [
        "alpha",
        "folds trained",
        f"train {score}<br><small>mean \N{PLUS-MINUS SIGN} std</small>",
        f"validation {score}<br><small>mean \N{PLUS-MINUS SIGN} std</small>",
        "gap<br><small>train \N{MINUS SIGN} validation</small>",
        *(
            f"\N{DOUBLE VERTICAL LINE}W\N{DOUBLE VERTICAL LINE}<sub>F</sub><br><small>{escape(name)}</small>"
            for name in layers
        ),
        "rank",
    ]
    gap = np.asarray(cv["mean_train_score"]) - np.asarray(cv["mean_test_score"])
    rows = []
    for i, alpha in enumerate(result.alphas):
        chosen = i == result.best_index
        cells = [
            format_alpha(alpha) + (' <span class="badge">chosen</span>' if chosen else ""),
            f"{int(cv['n_members'][i])}/{result.n_folds}" + _diverged(int(cv["n_diverged"][i])),
            _mean_std(cv["mean_train_score"][i], cv["std_train_score"][i]),
            _mean_std(cv["mean_test_score"][i], cv["std_test_score"][i]),
            _num(gap[i]),
            *(_num(norm) for norm in result.mean_norms[i]),
            # Only alphas with every fold are ranked: a partial mean is not comparable.
            str(int(cv["rank_test_score"][i])) if cv["n_members"][i] == result.n_folds else "\N{EM DASH}",
        ]
        rows.append(
            f'<tr class="alpha{" chosen" if chosen else ""}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        )
    head = "".join(f'<th scope="col">{cell}</th>' for cell in header)
    return (
        f'<table class="results">\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def _mean_std(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "\N{EM DASH}"
    return f"{_num(mean)} \N{PLUS-MINUS SIGN} {_num(std)}"


def _num(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "\N{EM DASH}"


def _diverged(count: int) -> str:
    return f"<br><small>{count} diverged</small>" if count else ""
