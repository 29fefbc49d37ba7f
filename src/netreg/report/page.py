"""The report page: the figures as PNG files and one self-contained ``report.html``.

The page must open anywhere, offline, years later, mailed as one file: images are base64
``data:`` URIs, the style is inline, and there are no scripts, fonts or links to fetch.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from netreg.display.axes import format_alpha
from netreg.io.run_folder import FIGURE_FILES, REPORT_FILE, RunFolder
from netreg.report.evidence_figure import evidence_curve, has_diagnostics
from netreg.report.figures import (
    learned_alpha_figure,
    learning_curves,
    validation_curve,
    weight_histograms,
    weight_norm_curve,
)
from netreg.report.heldout import test_table
from netreg.report.results_table import results_table
from netreg.report.summary import summarize
from netreg.tuning.store import SweepStore
from netreg.tuning.sweep_result import SweepResult

__all__ = ["DPI", "chosen_alpha", "png", "png_uri", "report_figures", "report_page", "write_report"]

#: Enough for a sharp figure on a laptop screen; a 16-alpha report stays well under 1 MB.
DPI = 110

NO_STORE_MSG = (
    "Weight histograms are not shown: no results store was given, and the weights of the members are kept "
    "only in a store (pass store=... to the sweep, then the store to the report)."
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; margin-top: 0; }
.summary { background: #f4f8f4; border-left: 4px solid #2ca02c; padding: 0.6em 1em; }
.summary li { margin: 0.25em 0; }
.notice { background: #fff6e5; border-left: 4px solid #e6a100; padding: 0.6em 1em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
table.results, table.held-out { border-collapse: collapse; font-size: 0.9em; font-variant-numeric: tabular-nums; }
table.results th, table.results td, table.held-out th, table.held-out td {
  border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
table.results td, table.held-out td { white-space: nowrap; }
table.results th, table.held-out th { background: #f3f3f3; vertical-align: bottom; }
table.results tr.chosen td { background: #dff0d8; font-weight: 600; }
.badge { background: #2ca02c; color: white; border-radius: 3px; padding: 0 0.35em; font-size: 0.8em; }
"""


def write_report(
    result: SweepResult,
    store: SweepStore | None,
    out_dir: str | os.PathLike,
    *,
    title: str | None = None,
    data: str | None = None,
    target: str | None = None,
    test: Mapping[str, Any] | None = None,
    learned: Mapping[str, Any] | None = None,
) -> Path:
    """Write the figures (PNG) and the self-contained ``report.html`` of a sweep.

    Parameters
    ----------
    result : SweepResult
        The sweep (``NetRegClassifierCV(...).fit(...).sweep_``, or rebuilt from a store).
    store : SweepStore or None
        The sweep's results store, for the weight histograms; without one they are
        left out and the page says so.
    out_dir : path
        Folder to write into (created if missing); existing report files are replaced.
    title : str, optional
        Page title; default "netreg sweep report".
    data, target : str, optional
        What the data and the target are, shown under the title.
    test : mapping, optional
        Held-out test scores, shown after the summary: ``{"rows": n, "<model>": {"<metric>":
        value}}`` (:mod:`netreg.report.heldout`).
    learned : mapping, optional
        For ``search="hybrid"``, what its ``alpha="auto"`` fit learned
        (:func:`netreg.report.learned.learned_record`):
        drawn first, beside the folds' validation curve
        (:func:`netreg.report.figures.learned_alpha_figure`).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Examples
    --------
    >>> import tempfile
    >>> result = digits_sweep  # 2 alphas x 2 folds on 90 digits (the doctests' shared sweep, conftest.py)
    >>> path = write_report(result, None, tempfile.mkdtemp(), title="Digits")
    >>> path.name, sorted(p.name for p in path.parent.glob("*.png"))
    ('report.html', ['evidence.png', 'learning_curves.png', 'validation_curve.png', 'weight_norms.png'])
    """
    folder = RunFolder(out_dir)
    figures = report_figures(result, store, learned)
    for name, image, _ in figures:
        folder.write_bytes(FIGURE_FILES[name], image)
    page = _page(
        result, figures, title=title or "netreg sweep report", data=data, target=target, store=store, test=test
    )
    # Written aside, then renamed (RunFolder.write_text): a browser refreshing the page never reads half a file.
    return folder.write_text(REPORT_FILE, page)


def report_page(
    result: SweepResult,
    store: SweepStore | None,
    *,
    title: str | None = None,
    data: str | None = None,
    target: str | None = None,
    test: Mapping[str, Any] | None = None,
    learned: Mapping[str, Any] | None = None,
) -> str:
    """The self-contained ``report.html`` of a sweep, as text, without writing anything
    (:func:`write_report`'s parameters; :meth:`NetRegClassifierCV.report <netreg.NetRegClassifierCV.report>` writes it).

    Examples
    --------
    >>> page = report_page(digits_sweep, None, title="Digits")  # the doctests' shared sweep, conftest.py
    >>> page.startswith("<!DOCTYPE html>"), page.count('<figure id="')
    (True, 4)
    """
    figures = report_figures(result, store, learned)
    return _page(
        result, figures, title=title or "netreg sweep report", data=data, target=target, store=store, test=test
    )


def report_figures(
    result: SweepResult, store: SweepStore | None, learned: Mapping[str, Any] | None = None
) -> list[tuple[str, bytes, str]]:
    """The report's figures as ``(name, PNG bytes, caption)``, in the page's order: what the
    hybrid's fit ``learned`` (where given), the validation curve, the weight norms, the learning
    curves, the evidence (where the sweep holds it) and the weight histograms (with a ``store``).

    Examples
    --------
    >>> [name for name, _, _ in report_figures(digits_sweep, None)]  # the doctests' shared sweep, conftest.py
    ['validation_curve', 'weight_norms', 'learning_curves', 'evidence']
    """
    drawings = [
        ("validation_curve", validation_curve(result)[0], _validation_caption(result)),
        (
            "weight_norms",
            weight_norm_curve(result)[0],
            "Frobenius norm of each penalized weight matrix, mean over the folds trained, against alpha; "
            "the dashed line marks the chosen alpha.",
        ),
        (
            "learning_curves",
            learning_curves(result)[0],
            "Data loss per epoch (no penalty) of one member per alpha: the first fold trained (one that did not "
            "diverge, if there is one). "
            "For the chosen alpha, the penalty term alpha/(2m)\N{MIDDLE DOT}\N{GREEK CAPITAL LETTER SIGMA}"
            "\N{DOUBLE VERTICAL LINE}W\N{DOUBLE VERTICAL LINE}\N{SUPERSCRIPT TWO} and the objective "
            "(data loss + penalty) are drawn too.",
        ),
    ]
    if learned is not None:
        figure, data = learned_alpha_figure(learned, result)
        centre = "dotted" if data["centre_x"] is not None else "not among the alphas"
        caption = (
            'The alpha="auto" fit that centred this grid. Left: alpha after each re-estimate (MacKay\'s fixed '
            "point at the current weights), per penalized weight. Middle: the Laplace log evidence at each "
            "re-estimate, before it. Right: the folds' validation curve of the alphas around the learned one "
            f"({learned['centre']:.4g}, {centre}: the learned alphas read as one)."
        )
        drawings.insert(0, ("alpha_path", figure, caption))
    if has_diagnostics(result):
        drawings.append(
            (
                "evidence",
                evidence_curve(result)[0],
                "Left: the Laplace log evidence of each alpha (MacKay; the generalized Gauss-Newton curvature of "
                "its training objective), for the members it was computed for. Right: the effective number of "
                "parameters \N{GREEK SMALL LETTER GAMMA} = \N{GREEK CAPITAL LETTER SIGMA} \N{GREEK SMALL LETTER LAMDA}/("
                "\N{GREEK SMALL LETTER LAMDA} + alpha) over the curvature's eigenvalues, and the hidden units whose "
                "incoming weights the penalty drove to (near) zero (row norm under 1 % of the layer's largest, or "
                "under 0.001), mean over the folds.",
            )
        )
    if store is not None:
        drawings.append(
            (
                "weight_histograms",
                weight_histograms(result, store)[0],
                "Kept weights of each penalized layer, for the same members as the learning curves.",
            )
        )
    return [(name, png(figure), caption) for name, figure, caption in drawings]


def png(figure: Any) -> bytes:
    """The PNG bytes of a figure at the report's :data:`DPI`, the same for the same figure whatever the date."""
    buffer = io.BytesIO()
    # Fixed metadata: the same figure gives the same bytes, whatever the date.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def png_uri(image: bytes) -> str:
    """PNG bytes as a ``data:`` URI, for an ``<img>`` that needs no file."""
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def chosen_alpha(result: SweepResult) -> str:
    """The page's line naming the chosen alpha and the rule, as HTML.

    Examples
    --------
    >>> chosen_alpha(digits_sweep)  # the doctests' shared sweep, conftest.py
    'Chosen alpha: <strong>1</strong> (min rule)'
    """
    if result.alpha is None:
        return "No alpha chosen yet"
    return f"Chosen alpha: <strong>{format_alpha(result.alpha)}</strong> ({escape(result.selection)} rule)"


def _validation_caption(result: SweepResult) -> str:
    caption = (
        f"Mean train and validation score (left) and data loss (right) over {result.n_folds} folds, "
        "with bands of \N{PLUS-MINUS SIGN}1 standard deviation; the star and dashed line mark the chosen alpha."
    )
    if result.threshold is not None:
        caption += " The dotted line is the 1-SE threshold: the best mean score minus one standard error."
    if np.isfinite(result.stopped_at).any():
        caption += (
            " Crosses mark the alphas successive halving stopped, with the epoch of their rung: their means are "
            "partial scores at that epoch, never chosen."
        )
    if (result.alphas == 0).any():
        caption += ' Alpha = 0 is drawn one decade left of the smallest positive alpha, at the tick "0".'
    if result.task == "regression":
        caption += (
            " Losses are in units of the target as the network was trained on it: standardized by "
            "transformer=StandardScaler() (the command line's default), a data loss of 0.5 is that of predicting "
            "the mean."
        )
    return caption


def _page(
    result: SweepResult,
    figures: Sequence[tuple[str, bytes, str]],
    *,
    title: str,
    data: str | None,
    target: str | None,
    store: Any | None,
    test: Mapping[str, Any] | None = None,
) -> str:
    meta = [f"{escape(label)}: {escape(value)}" for label, value in (("data", data), ("target", target)) if value]
    meta.append(
        f"{len(result.alphas)} alphas from {format_alpha(result.alphas.min())} to {format_alpha(result.alphas.max())}, "
        f"{result.n_folds} folds, scoring {escape(result.scoring)}, selection rule {escape(result.selection)}"
    )
    if store is not None:
        meta.append(_estimator_line(store.spec()))
    summary = "".join(f"<li>{escape(line)}</li>" for line in summarize(result))
    parts = [
        *page_top(title, meta),
        f'<p class="chosen-alpha">{chosen_alpha(result)}</p>',
        f'<ul class="summary">{summary}</ul>',
        *(["<h2>Held-out test</h2>", test_table(test)] if test else []),
        *_notices(result, store),
        "<h2>Figures</h2>",
    ]
    for name, image, caption in figures:
        uri = png_uri(image)
        parts.append(
            f'<figure id="{escape(name)}"><img src="{uri}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    parts += ["<h2>Results per alpha</h2>", results_table(result), "</body>", "</html>", ""]
    return "\n".join(parts)


def page_top(title: str, meta: Sequence[str]) -> list[str]:
    """The lines that open a report page: its head (title, style) and heading, then ``meta``
    (HTML, already escaped) under it, one per line.

    Examples
    --------
    >>> page_top("Digits", ["data: digits"])[-2:]
    ['<h1>Digits</h1>', '<p class="meta">data: digits</p>']
    """
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{"<br>".join(meta)}</p>',
    ]


def _notices(result: SweepResult, store: Any | None) -> list[str]:
    notices = [f"<p>{escape(note)}</p>" for note in result.notes()]
    if result.missing:
        notices.append(
            f"<p>The sweep is incomplete: {len(result.missing)} member(s) not trained yet "
            "(rerun the sweep with the same store to resume):</p>" + _by_alpha(result, result.missing)
        )
    owing = [m.key for m in result.members if m.evidence_pending]
    if owing:
        notices.append(
            f"<p>{len(owing)} member(s) trained, their Laplace evidence not computed yet (shown as none; rerun "
            "the sweep with the same store to compute it, without training them again):</p>" + _by_alpha(result, owing)
        )
    diverged = [m.key for m in result.members if m.status == "diverged"]
    if diverged:
        notices.append(
            f"<p>{len(diverged)} member(s) diverged and are not scored (the note above says why):</p>"
            + _by_alpha(result, diverged)
        )
    if store is None:
        notices.append(f"<p>{escape(NO_STORE_MSG)}</p>")
    return [f'<div class="notice">{notice}</div>' for notice in notices]


def _by_alpha(result: SweepResult, keys: Sequence[tuple[int, int]]) -> str:
    folds: dict[int, list[int]] = {}
    for alpha_index, fold in sorted(keys):
        folds.setdefault(alpha_index, []).append(fold)
    items = (
        f"<li>alpha = {format_alpha(result.alphas[a])}: fold{'s' if len(f) > 1 else ''} {', '.join(map(str, f))}</li>"
        for a, f in folds.items()
    )
    return '<ul class="members">' + "".join(items) + "</ul>"


def _estimator_line(spec: dict[str, Any]) -> str:
    params = spec.get("params", {})
    # A user's module is named with its arguments; the MLP by its layers.
    network = ("module", "module_kwargs") if params.get("module") is not None else ("hidden_layer_sizes", "activation")
    shown = (*network, "penalty", "solver", "max_iter", "batch_size", "early_stopping")
    settings = ", ".join(f"{key}={params[key]}" for key in shown if key in params)
    return escape(f"{spec.get('estimator', 'estimator')}({settings})")
