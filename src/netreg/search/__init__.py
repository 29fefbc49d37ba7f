"""The cross-validated estimators, above the report: ``NetRegClassifierCV`` and
``NetRegRegressorCV`` (:mod:`~netreg.search.cv_estimators`), which run a sweep of
:mod:`netreg.tuning`, and what a fitted one shows of itself, ``search.report(path)`` and its
HTML in Jupyter (:mod:`~netreg.search.views`), drawn by :mod:`netreg.report`."""

from netreg.search.cv_estimators import NetRegClassifierCV, NetRegRegressorCV

__all__ = ["NetRegClassifierCV", "NetRegRegressorCV"]
