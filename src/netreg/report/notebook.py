"""A fitted search's ``report(path)`` and its HTML summary in Jupyter, built from its ``sweep_`` with the report's own parts."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from netreg.display.displays import ValidationCurveDisplay, sweep_of
from netreg.exceptions import invalid
from netreg.report.figures import new_figure
from netreg.report.learned import learned_record
from netreg.report.page import chosen_alpha, png, png_uri, report_page
from netreg.report.results_table import results_table
from netreg.report.summary import summarize
from netreg.safe_files import write_file
from netreg.tuning.store import SweepStore

__all__ = ["search_report", "search_summary_html"]


def search_report(
    search: Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    data: str | None = None,
    target: str | None = None,
) -> Path:
    """Write the report of a fitted search to ``path``, as ``search.report(path)`` does
    (:meth:`netreg.search.views.SearchViews.report`, which says what the page holds).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``search`` is not fitted.
    OutputError
        If ``path`` cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from netreg import NetRegClassifierCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = NetRegClassifierCV((8,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0).fit(X[:90] / 16, y[:90])
    >>> path = search_report(search, os.path.join(tempfile.mkdtemp(), "report.html"))
    >>> path.name, path.read_text().count('<figure id="')
    ('report.html', 4)
    """
    result = sweep_of(search)
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise invalid("path", "a file path (str or os.PathLike)", path)
    settings = {"title": title, "data": data, "target": target, "learned": learned_record(search)}
    store_path = getattr(search, "store", None)
    if store_path is not None and Path(store_path).is_file():
        with SweepStore.read(store_path) as store:
            page = report_page(result, store, **settings)
    else:
        page = report_page(result, None, **settings)
    return write_file(path, page.encode("utf-8"))


def search_summary_html(search: Any) -> str:
    """A short HTML summary of a fitted search: the chosen alpha, the report's summary
    sentences, the validation curve (an embedded PNG) and the results table.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from netreg import NetRegClassifierCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = NetRegClassifierCV((8,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0).fit(X[:90] / 16, y[:90])
    >>> html = search_summary_html(search)
    >>> html.count("data:image/png;base64,"), html.count('<tr class="alpha')
    (1, 2)
    """
    result = sweep_of(search)
    figure = new_figure(6.5, 4.2)
    ValidationCurveDisplay(result).plot(figure.subplots())
    sentences = "".join(f"<li>{escape(line)}</li>" for line in summarize(result))
    return (
        f'<div class="netreg-summary"><p>{escape(type(search).__name__)}: {chosen_alpha(result)}</p>'
        f"<ul>{sentences}</ul>"
        f'<img src="{png_uri(png(figure))}" alt="{escape("Validation curve: train and validation score against alpha")}">'
        f"{results_table(result)}</div>"
    )
