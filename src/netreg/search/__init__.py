"""The cross-validated estimators, above the report: ``NetRegClassifierCV``, ``NetRegRegressorCV`` and what a fitted one shows of itself."""

from netreg.search.cv_estimators import NetRegClassifierCV, NetRegRegressorCV

__all__ = ["NetRegClassifierCV", "NetRegRegressorCV"]
