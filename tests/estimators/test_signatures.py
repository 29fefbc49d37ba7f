"""The estimators' written ``__init__``s hold the declared parameters, so that they cannot drift.

scikit-learn reads the parameters from the signature (``get_params``, ``clone``) and checks
them against ``_parameter_constraints``, built from the declarations
(:mod:`netreg.estimators.params`, ``CV_PARAMS`` beside the cross-validated estimators).
"""

from __future__ import annotations

import inspect

import pytest
from sklearn.base import clone

from netreg import NetRegClassifier, NetRegClassifierCV, NetRegRegressor, NetRegRegressorCV
from netreg.estimators.params import CLASSIFIER_PARAMS, N_POSITIONAL, REGRESSOR_PARAMS

DECLARED = {
    NetRegClassifier: CLASSIFIER_PARAMS,
    NetRegRegressor: REGRESSOR_PARAMS,
    NetRegClassifierCV: NetRegClassifierCV._params,
    NetRegRegressorCV: NetRegRegressorCV._params,
}
ESTIMATORS = pytest.mark.parametrize("estimator", DECLARED, ids=lambda estimator: estimator.__name__)


@ESTIMATORS
def test_the_signature_lists_the_declared_parameters_in_order_with_their_defaults(estimator):
    declared = DECLARED[estimator]
    positional = [inspect.Parameter.POSITIONAL_OR_KEYWORD] * N_POSITIONAL
    kinds = positional + [inspect.Parameter.KEYWORD_ONLY] * (len(declared) - N_POSITIONAL)
    written = [(p.name, p.default, p.kind) for p in inspect.signature(estimator).parameters.values()]
    assert written == [(p.name, p.default, kind) for p, kind in zip(declared, kinds, strict=True)]
    assert list(estimator._parameter_constraints) == [p.name for p in declared]


@ESTIMATORS
def test_init_stores_every_parameter_unchanged_and_clone_copies_them(estimator):
    given = {p.name: object() for p in DECLARED[estimator]}
    made = estimator(**given)
    assert all(made.get_params(deep=False)[name] is value for name, value in given.items())
    assert list(made.get_params(deep=False)) == sorted(given)
    assert clone(estimator(hidden_layer_sizes=(3,), max_iter=7)).get_params() == {
        **{p.name: p.default for p in DECLARED[estimator]},
        "hidden_layer_sizes": (3,),
        "max_iter": 7,
    }


def test_the_first_two_parameters_may_be_given_by_position_and_no_more():
    assert NetRegClassifierCV((8,), "tanh").activation == "tanh"
    with pytest.raises(TypeError):
        NetRegRegressor((8,), "tanh", None)
