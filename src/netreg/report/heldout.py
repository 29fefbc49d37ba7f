"""The held-out test scores of a run (``run.json``'s ``"test"``, of ``netreg train`` and ``netreg demo``), as the report shows them::

    {"rows": 89, "alpha = 0.1 (chosen), trained on 353 rows": {"r2": 0.41, "mean_squared_error": 2900.5, ...}}

``rows`` is how many rows were held out; every other key names a model and its scores by metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

from netreg.json_fields import Value

__all__ = ["METRIC_NAMES", "TEST_SPEC", "test_table"]

METRIC_NAMES = {
    "accuracy": "accuracy",
    "log_loss": "log-loss",
    "r2": "R\N{SUPERSCRIPT TWO}",
    "mean_squared_error": "MSE",
    "root_mean_squared_error": "RMSE (target's units)",
}


def _is_test(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    rows = value.get("rows")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        return False
    return all(
        isinstance(scores, dict)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values())
        for key, scores in value.items()
        if key != "rows"
    )


#: The layout of ``run.json``'s ``"test"``.
TEST_SPEC = Value('an object {"rows": n, "<model>": {"<metric>": number}}', _is_test)


def test_table(test: Mapping[str, Any]) -> str:
    """The held-out scores as an HTML fragment: a sentence, then one row per model.

    Examples
    --------
    >>> html = test_table({"rows": 10, "chosen": {"accuracy": 0.9, "log_loss": 0.25}, "alpha = 0": {"accuracy": 0.8}})
    >>> html.count('<tr class="model">'), "log-loss" in html, "\N{EM DASH}" in html
    (2, True, True)
    """
    models = {key: scores for key, scores in test.items() if key != "rows"}
    metrics = list(dict.fromkeys(metric for scores in models.values() for metric in scores))
    rows = test.get("rows")
    held = f"the {rows} rows" if rows is not None else "the rows"
    sentence = (
        f"Scores on {held} held out before alpha was chosen: no model was trained on them, "
        "and they took no part in choosing alpha."
    )
    head = "".join(
        f'<th scope="col">{escape(name)}</th>' for name in ["model", *(METRIC_NAMES.get(m, m) for m in metrics)]
    )
    body = "\n".join(
        '<tr class="model">'
        + f"<td>{escape(model)}</td>"
        + "".join(f"<td>{_num(scores.get(metric))}</td>" for metric in metrics)
        + "</tr>"
        for model, scores in models.items()
    )
    return (
        f'<p class="held-out">{escape(sentence)}</p>\n<table class="held-out">\n<thead><tr>{head}</tr></thead>'
        f"\n<tbody>\n{body}\n</tbody>\n</table>"
    )


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and math.isfinite(value) else "\N{EM DASH}"
