"""The report of one fit with ``alpha="auto"`` (``netreg train --alpha auto``): the alpha path, read from the saved model's ``alpha_history``."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from netreg.io.run_folder import FIGURE_FILES, REPORT_FILE, RunFolder
from netreg.report.figures import draw_path_and_evidence, new_figure
from netreg.report.heldout import test_table
from netreg.report.page import page_top, png, png_uri

__all__ = ["alpha_path_figure", "learned_record", "learned_table", "write_learned_report"]


def alpha_path_figure(estimator: Any) -> tuple[Figure, dict[str, Any]]:
    """Alpha's path over the epochs (left, drawn by :func:`netreg.display.drawing.draw_alpha_path`
    as :class:`netreg.AlphaPathDisplay` draws it), the log evidence at each re-estimate
    (middle) and the fit's data loss per epoch, with its validation loss where it kept one
    (right), of an estimator fitted with ``alpha="auto"``.

    Returns
    -------
    figure : matplotlib.figure.Figure
    data : dict
        ``paths`` (``{name: (epochs, alphas)}``), ``evidence_epochs``, ``log_evidence``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NetRegClassifier((8,), alpha="auto", max_iter=30, random_state=0).fit(X, y)
    >>> figure, data = alpha_path_figure(model)
    >>> len(figure.axes), sorted(data["paths"])
    (3, ['layers.0.weight', 'layers.1.weight'])
    """
    figure = new_figure(15.0, 4.2)
    left, middle, right = figure.subplots(1, 3)
    data = draw_path_and_evidence(left, middle, estimator.alpha_history_)
    fit = list(getattr(estimator, "history_", []))
    for key, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
        values = [(r["epoch"], r[key]) for r in fit if r.get(key) is not None]
        if values:
            x, y = zip(*values, strict=True)
            right.plot(x, y, "-", color=color, gid=key, label=key.replace("_", " "))
    right.set(xlabel="epoch", ylabel="data loss", title="Training curve")
    right.grid(alpha=0.3)
    if right.get_lines():
        right.legend(fontsize=8)
    return figure, data


def learned_record(search: Any) -> dict[str, Any] | None:
    """What a fitted ``search="hybrid"`` CV estimator's ``alpha="auto"`` fit learned, as plain
    data (what ``run.json`` keeps and :func:`netreg.report.page.write_report` draws): ``alpha``
    (a float, or ``{parameter name: alpha}``), ``centre`` (``learned_alpha_``, the grid's centre),
    ``alpha_history`` and ``log_evidence``; None for another search.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = NetRegClassifierCV((8,), search="hybrid", cv=3, max_iter=30, random_state=0).fit(X, y)
    >>> record = learned_record(search)
    >>> bool(record["centre"] == search.alphas_[2]), record["alpha_history"] == search.learned_estimator_.alpha_history_
    (True, True)
    """
    fit = getattr(search, "learned_estimator_", None)
    if fit is None:
        return None
    alpha = fit.alpha_
    return {
        "alpha": {name: float(a) for name, a in alpha.items()} if isinstance(alpha, Mapping) else float(alpha),
        "centre": float(search.learned_alpha_),
        "alpha_history": [dict(record) for record in fit.alpha_history_],
        "log_evidence": float(fit.log_evidence_),
    }


def learned_table(estimator: Any) -> str:
    """What ``alpha="auto"`` learned as an HTML table: per penalized weight (``every layer``
    for one alpha), its alpha, the well-determined parameters γ of the last re-estimate and
    the weight's final norm.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NetRegClassifier((8,), alpha="auto", auto_alpha="scalar", max_iter=30, random_state=0).fit(X, y)
    >>> learned_table(model).count("<tr><td>")
    1
    """
    alpha = estimator.alpha_
    learned = alpha if isinstance(alpha, Mapping) else {"every layer": alpha}
    history = estimator.alpha_history_
    gamma = history[-1].get("gamma", math.nan) if history else math.nan
    fit = list(getattr(estimator, "history_", []))
    norms = fit[-1].get("weight_norms", {}) if fit else {}
    rows = []
    for name, value in learned.items():
        layer_gamma = gamma.get(name, math.nan) if isinstance(gamma, Mapping) else gamma
        norm = norms.get(name) if isinstance(alpha, Mapping) else math.sqrt(sum(v**2 for v in norms.values()))
        cells = [escape(name), f"{value:.4g}", _number(layer_gamma, ".1f"), _number(norm, ".3g")]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in ("parameter", "alpha", "γ", "weight norm"))
    return f'<table class="results"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def write_learned_report(
    estimator: Any,
    out_dir: str | os.PathLike,
    *,
    title: str | None = None,
    data: str | None = None,
    target: str | None = None,
    test: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``alpha_path.png`` and the self-contained ``report.html`` of a fit with
    ``alpha="auto"`` into ``out_dir``; returns the path of ``report.html``.

    ``test`` is shown as :func:`netreg.report.page.write_report` shows it.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_iris
    >>> from netreg import NetRegClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = NetRegClassifier((8,), alpha="auto", max_iter=30, random_state=0).fit(X, y)
    >>> path = write_learned_report(model, tempfile.mkdtemp(), title="Iris")
    >>> path.name, sorted(p.name for p in path.parent.glob("*.png"))
    ('report.html', ['alpha_path.png'])
    """
    folder = RunFolder(out_dir)
    image = png(alpha_path_figure(estimator)[0])
    folder.write_bytes(FIGURE_FILES["alpha_path"], image)
    title = title or "netreg training report"
    meta = [f"{escape(label)}: {escape(value)}" for label, value in (("data", data), ("target", target)) if value]
    updates = len(estimator.alpha_history_)
    meta.append(
        f"alpha learned from the Laplace evidence in one fit: {updates} re-estimates over "
        f"{getattr(estimator, 'n_iter_', '?')} epochs, final log evidence {estimator.log_evidence_:.1f}"
    )
    caption = (
        "Left: alpha after each re-estimate (MacKay's fixed point at the current weights), per penalized weight. "
        "Middle: the Laplace log evidence at each re-estimate, before it. Right: the fit's data loss per epoch."
    )
    parts = [
        *page_top(title, meta),
        "<h2>Alpha learned</h2>",
        learned_table(estimator),
        *(["<h2>Held-out test</h2>", test_table(test)] if test else []),
        "<h2>Figures</h2>",
        f'<figure id="alpha_path"><img src="{png_uri(image)}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>",
        "</body>",
        "</html>",
        "",
    ]
    return folder.write_text(REPORT_FILE, "\n".join(parts))


def _number(value: Any, spec: str) -> str:
    return format(float(value), spec) if value is not None and math.isfinite(float(value)) else "\N{EM DASH}"
