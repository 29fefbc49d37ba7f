"""A CV estimator in Jupyter: scikit-learn's diagram before the fit, the summary and the
diagram after it, through scikit-learn's own ``_repr_html_`` and ``_repr_mimebundle_``."""

from __future__ import annotations

import re
import warnings

import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from netreg import NetRegClassifierCV, NetRegRegressorCV


def _ids_numbered_alike(html):
    # scikit-learn numbers each diagram's element ids afresh on every call.
    return re.sub(r"-id-\d+", "-id-N", html)


@pytest.fixture(scope="module")
def search(digits):
    X, y = digits
    search = NetRegClassifierCV((8,), alphas=[0.0, 1.0], cv=2, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X[:90], y[:90])


@pytest.mark.parametrize("estimator", [NetRegClassifierCV, NetRegRegressorCV])
def test_an_unfitted_search_shows_scikit_learns_diagram(estimator):
    unfitted = estimator((8,))
    diagram = _ids_numbered_alike(estimator_html_repr(unfitted))
    assert "sk-top-container" in diagram and _ids_numbered_alike(unfitted._repr_html_()) == diagram
    bundle = unfitted._repr_mimebundle_()
    assert bundle["text/plain"] == repr(unfitted) and _ids_numbered_alike(bundle["text/html"]) == diagram


def test_a_fitted_search_shows_its_summary_above_the_diagram(search):
    from netreg.report.notebook import search_summary_html

    html = _ids_numbered_alike(search._repr_html_())
    diagram = estimator_html_repr(search)
    assert html == _ids_numbered_alike(search_summary_html(search) + diagram)
    assert html.count("data:image/png;base64,") == 1 and html.count('<tr class="alpha') == 2
    assert _ids_numbered_alike(search._repr_mimebundle_()["text/html"]) == html
    # scikit-learn's diagram is untouched: alone, and inside a pipeline.
    assert "netreg-summary" not in diagram
    assert "netreg-summary" not in estimator_html_repr(make_pipeline(StandardScaler(), search))


def test_the_text_display_setting_is_kept(search):
    with sklearn.config_context(display="text"):
        assert not hasattr(search, "_repr_html_")
        assert search._repr_mimebundle_() == {"text/plain": repr(search)}
