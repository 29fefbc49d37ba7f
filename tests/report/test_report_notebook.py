"""``search.report(path)`` writes the page ``netreg report`` writes, from Python; the
notebook summary is the report's table and validation curve."""

from __future__ import annotations

import json
import re
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from netreg import NetRegClassifierCV
from netreg.display.drawing import validation_title
from netreg.report import report_run
from netreg.report.page import NO_STORE_MSG
from netreg.report.results_table import results_table

ALPHAS = [0.0, 0.1, 3.0]


def _search(digits, **params):
    X, y = digits
    search = NetRegClassifierCV((8,), alphas=ALPHAS, cv=2, max_iter=4, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X[:120], y[:120])


def test_the_searchs_report_is_the_page_netreg_report_writes_from_its_store(digits, tmp_path):
    folder = tmp_path / "run"
    search = _search(digits, store=folder / "sweep.sqlite", selection="1se")
    (folder / "run.json").write_text(json.dumps({"scoring": "neg_log_loss", "selection": "1se"}))
    written = search.report(tmp_path / "notebook" / "report.html")
    assert written == tmp_path / "notebook" / "report.html"
    page = written.read_text()
    assert page == report_run(folder).read_text()  # the command line's page, byte for byte
    assert '<figure id="weight_histograms">' in page and NO_STORE_MSG not in page
    assert sorted(p.name for p in written.parent.iterdir()) == ["report.html"]  # one self-contained file


def test_without_a_store_the_report_is_built_from_the_search_in_memory(digits, tmp_path):
    search = _search(digits)
    page = search.report(tmp_path / "report.html", title="Digits <8 hidden>").read_text()
    assert "<title>Digits &lt;8 hidden&gt;</title>" in page
    figures = re.findall(r'<figure id="(\w+)">', page)
    assert figures == ["validation_curve", "weight_norms", "learning_curves", "evidence"]
    assert NO_STORE_MSG in page and results_table(search.sweep_) in page


def test_an_unfitted_search_writes_no_report(refused, tmp_path):
    with refused(
        "This NetRegClassifierCV instance is not fitted yet. Call 'fit' with appropriate arguments before using "
        "this estimator.",
        NotFittedError,
    ):
        NetRegClassifierCV().report(tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("path", [None, 3])
def test_a_path_that_is_not_one_is_refused(refused, digits, path):
    search = _search(digits)
    from netreg.exceptions import InvalidParameterError

    with refused(f"`path` must be a file path (str or os.PathLike). Got path={path!r}.", InvalidParameterError):
        search.report(path)


def test_the_notebook_summary_holds_the_table_and_the_validation_curve(digits):
    from netreg.report.notebook import search_summary_html

    search = _search(digits)
    html = search_summary_html(search)
    assert results_table(search.sweep_) in html
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)) == 1
    assert "NetRegClassifierCV: Chosen alpha: <strong>" in html
    assert validation_title(search.sweep_).startswith("Validation curve (min rule")
