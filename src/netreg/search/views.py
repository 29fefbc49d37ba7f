"""What a fitted CV estimator shows of itself: ``search.report(path)`` and its HTML in Jupyter.

Both are drawn by :mod:`netreg.report.notebook`, imported when called so that ``import netreg``
does not load matplotlib.
"""

from __future__ import annotations

import os
from pathlib import Path

from sklearn.utils import estimator_html_repr

__all__ = ["SearchViews"]


class SearchViews:
    """The CV estimators' report and notebook summary (a mixin before ``BaseEstimator``)."""

    def report(
        self,
        path: str | os.PathLike[str],
        *,
        title: str | None = None,
        data: str | None = None,
        target: str | None = None,
    ) -> Path:
        """Write the sweep's report to ``path``: the self-contained HTML page the command
        line's ``netreg report`` writes, built from this fitted search.

        Parameters
        ----------
        path : str or os.PathLike
            The HTML file to write (its folder is created if missing; a file there is replaced).
        title : str, optional
            Page title; default "netreg sweep report".
        data, target : str, optional
            What the data and the target are, shown under the title.

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the search is not fitted.

        Notes
        -----
        With a ``store`` that exists the page also holds the weight histograms and the
        estimator's settings (kept only in a store); without one it says they are left out.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn.datasets import load_digits
        >>> from netreg import NetRegClassifierCV
        >>> X, y = load_digits(return_X_y=True)
        >>> search = NetRegClassifierCV((8,), alphas=[0.01, 1.0], cv=2, max_iter=3, random_state=0)
        >>> search = search.fit(X[:90] / 16, y[:90])
        >>> search.report(os.path.join(tempfile.mkdtemp(), "report.html")).name
        'report.html'
        """
        from netreg.report.notebook import search_report

        return search_report(self, path, title=title, data=data, target=target)

    def _html_repr(self) -> str:
        # scikit-learn's _repr_html_ and _repr_mimebundle_ both call _html_repr: a fitted
        # search adds its summary above the estimator diagram, which stays as it was.
        diagram = estimator_html_repr(self)
        if not self.__sklearn_is_fitted__():  # type: ignore[attr-defined]
            return diagram
        from netreg.report.notebook import search_summary_html

        return search_summary_html(self) + diagram
