"""scikit-learn's own estimator test suite, run on both estimators, in float32 and float64."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from netreg import NetRegClassifier, NetRegRegressor

# Fewer epochs than the default 200, as scikit-learn's own test suite does for its MLPs.
ESTIMATORS = [
    cls(max_iter=100, random_state=0, dtype=dtype)
    for cls in (NetRegClassifier, NetRegRegressor)
    for dtype in ("float32", "float64")
] + [NetRegClassifier(max_iter=100, random_state=0, dtype="float64", class_weight="balanced")]


def expected_failed_checks(estimator):
    if getattr(estimator, "class_weight", None) == "balanced":
        # scikit-learn's words, as SGDClassifier refuses it: balanced weights need the whole y.
        reason = "partial_fit refuses class_weight='balanced'"
        checks = (
            "check_n_features_in_after_fitting",
            "check_estimators_partial_fit_n_features",
            "check_fit_score_takes_y",
        )
        return dict.fromkeys(checks, reason)
    if estimator.dtype == "float32":
        # Weighted rows and repeated rows give the same objective, but its float32 sums are
        # accumulated in another order: predictions then differ by about one float32 ulp
        # (~2e-7 relative), above this check's rtol=1e-7. The float64 instances pass it. The
        # same check on sparse input (run since sparse X is accepted) fails for the same reason.
        reason = "float32 rounding exceeds rtol=1e-7"
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    return {}


# Whether the float32 classifier's rounding stays within rtol=1e-7 depends on the CPU's
# kernels: it fails on an AMD EPYC and passes on an Intel Xeon (float32 regressors fail on
# both). Its two checks are expected failures that may pass; every other one is strict.
CPU_DEPENDENT = [e for e in ESTIMATORS if type(e) is NetRegClassifier and e.dtype == "float32"]


@parametrize_with_checks(
    [e for e in ESTIMATORS if not any(e is c for c in CPU_DEPENDENT)],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@parametrize_with_checks(CPU_DEPENDENT, expected_failed_checks=expected_failed_checks, xfail_strict=False)
def test_sklearn_compatible_float32_classifier(estimator, check):
    check(estimator)
