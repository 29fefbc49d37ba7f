"""Each public fallback of netreg._compat against the private torch or scikit-learn function it replaces.

Every test forces the fallback (the private function removed with monkeypatch, or refusing
netreg's call) and holds its result to the private function's on the same inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.utils
import sklearn.utils.validation
import torch
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from torch import nn

import netreg.estimators.params
from netreg import NetRegRegressorCV, _compat
from netreg.engine.optim import AdamState, SGDState, adam_step_, sgd_step_
from netreg.estimators.params import CLASSIFIER_PARAMS, REGRESSOR_PARAMS, validate_parameters
from netreg.exceptions import InvalidParameterError
from netreg.penalties import add_scaled_grad_

K = 3


def _transposed(tensor):
    return tensor.permute(*reversed(range(tensor.ndim)))  # a non-contiguous view


def _inputs(argument, shapes, dtype, generator):
    """A test's own inputs for each kind of argument of FOREACH_OPS, non-contiguous where possible."""

    def draw(shape):
        return _transposed(torch.randn(shape[::-1], generator=generator, dtype=dtype) + 0.1)

    if argument == "list":
        return [draw(s) for s in shapes]
    if argument == "per_member":
        return [draw((s[0],) + (1,) * (len(s) - 1)).reshape((s[0],) + (1,) * (len(s) - 1)) for s in shapes]
    if argument == "floats":
        return [0.3 * (i + 1) for i in range(len(shapes))]
    return argument


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("op", sorted(_compat.FOREACH_OPS))
def test_each_foreach_fallback_gives_what_torchs_private_function_gives(monkeypatch, op, dtype):
    private = getattr(torch, f"_foreach_{op}")
    monkeypatch.delattr(torch, f"_foreach_{op}")
    fallback = _compat.resolve_foreach(op)
    assert fallback is not private and fallback.__name__ == f"foreach_{op}"
    shapes = [(K, 4, 5), (K, 4), (K,)]
    for arguments, keywords in _compat.FOREACH_OPS[op]:
        generator = torch.Generator().manual_seed(len(arguments))
        tensors = [_transposed(torch.randn(s[::-1], generator=generator, dtype=dtype)) for s in shapes]
        others = [_inputs(a, shapes, dtype, generator) for a in arguments]
        theirs, mine = [t.clone() for t in tensors], [t.clone() for t in tensors]
        returned, expected = private(theirs, *others, **keywords), fallback(mine, *others, **keywords)
        if op.endswith("_"):
            assert expected is mine
            returned = theirs
        assert len(returned) == len(shapes)
        for got, want in zip(returned, expected):
            assert got.dtype == want.dtype == dtype
            torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)


def _refuses(*args, **kwargs):
    raise TypeError("_foreach_mul_() got an unexpected keyword argument")


def _does_nothing(*args, **kwargs):
    return None


@pytest.mark.parametrize("private", [_refuses, _does_nothing])
def test_a_private_function_that_refuses_netregs_call_or_gives_another_result_is_not_used(monkeypatch, private):
    monkeypatch.setattr(torch, "_foreach_mul_", private)
    assert _compat.resolve_foreach("mul_").__name__ == "foreach_mul_"
    monkeypatch.setattr(torch, "_fused_adam_", private)
    assert _compat.resolve_fused_adam() is None


def test_on_this_torch_every_private_function_takes_netregs_calls():
    # A torch that fails this still works (through the fallbacks), only slower: this test
    # is how a new release's change of a private function gets noticed.
    for op in _compat.FOREACH_OPS:
        assert getattr(_compat, f"foreach_{op}") is getattr(torch, f"_foreach_{op}"), op
    assert _compat.fused_adam_ is torch._fused_adam_
    assert _compat.relu_backward is not _compat._relu_backward_fallback


def test_relus_backward_through_the_fallback_gives_what_torchs_private_function_gives():
    g = torch.Generator().manual_seed(0)
    output = torch.randn(50, 7, generator=g).relu_()
    output[0, :3] = torch.tensor([-0.0, float("nan"), -1.0])
    grad = torch.randn(50, 7, generator=g)
    expected = _compat._relu_backward_fallback(grad, output)
    assert torch.equal(_compat.relu_backward(grad, output), expected)
    assert torch.equal(expected, torch.where(output > 0, grad, 0.0).where(~output.isnan(), grad))


def test_the_probes_do_not_depend_on_torchs_default_dtype():
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert _compat.resolve_fused_adam() is torch._fused_adam_
        assert all(_compat.resolve_foreach(op) is getattr(torch, f"_foreach_{op}") for op in _compat.FOREACH_OPS)
    finally:
        torch.set_default_dtype(default)


@pytest.fixture()
def fallbacks(monkeypatch):
    """Every foreach function of netreg._compat replaced by its loop, and no fused Adam."""
    for op in _compat.FOREACH_OPS:
        monkeypatch.setattr(_compat, f"foreach_{op}", _compat.foreach_loop(op))
    monkeypatch.setattr(_compat, "fused_adam_", None)


def _train(solver, n_steps=5):
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(K, 4, 5, generator=generator, dtype=torch.float64), torch.randn(K, 4, generator=generator)]
    params[1] = params[1].double()
    state = AdamState.create(params) if solver == "adam" else SGDState.create(params, 0.9)
    for step in range(n_steps):
        grads = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
        add_scaled_grad_(params, grads, [torch.tensor([0.1, 0.2, 0.3]).double().reshape(K, 1, 1), 0.05], l1_ratio=0.5)
        active = torch.tensor([True, step != 2, True])
        if solver == "adam":
            adam_step_(params, grads, state, lr=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8, active=active)
        elif solver == "sgd-schedule":
            sgd_step_(params, grads, state, lr=torch.tensor([0.1, 0.05, 0.01]).double(), momentum=0.9, nesterov=True)
        else:
            sgd_step_(params, grads, state, lr=0.1, momentum=0.9, nesterov=False, active=active)
    return params


@pytest.mark.parametrize("solver", ["sgd", "sgd-schedule", "adam"])
def test_steps_through_the_fallbacks_equal_the_steps_through_torchs_private_functions(request, solver):
    private = _train(solver)
    request.getfixturevalue("fallbacks")
    public = _train(solver)
    for a, b in zip(private, public):
        assert torch.equal(a, b)


def test_without_the_fused_kernel_adam_steps_as_with_it(monkeypatch):
    def run():
        generator = torch.Generator().manual_seed(1)
        params = [torch.randn(K, 4, 5, generator=generator, dtype=torch.float64)]
        state = AdamState.create(params)
        for _ in range(4):
            grad = torch.randn(K, 5, 4, generator=generator, dtype=torch.float64).transpose(1, 2)
            adam_step_(params, [grad], state, lr=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8, fused=True)
        return params[0], state

    fused, fused_state = run()
    monkeypatch.delattr(torch, "_fused_adam_")
    assert _compat.resolve_fused_adam() is None
    monkeypatch.setattr(_compat, "fused_adam_", None)
    plain, plain_state = run()
    torch.testing.assert_close(plain, fused, rtol=1e-13, atol=1e-15)
    assert torch.equal(plain_state.step, fused_state.step)


# -- scikit-learn's parameter validation ----------------------------------------------------

PRIVATE = _compat._PARAM_VALIDATION


def _local(constraint):
    """The local fallback's version of one of scikit-learn's constraint objects."""
    if isinstance(constraint, PRIVATE.StrOptions):
        return _compat._StrOptions(constraint.options)
    if isinstance(constraint, PRIVATE.Options):
        return _compat._Options(constraint.type, constraint.options)
    if isinstance(constraint, PRIVATE.Interval):
        return _compat._Interval(constraint.type, constraint.left, constraint.right, closed=constraint.closed)
    if isinstance(constraint, PRIVATE.HasMethods):
        return _compat._HasMethods(constraint.methods)
    return constraint


VALUES = [
    None, True, False, np.bool_(True), 0, 1, 2, 3, -1, 2**32 - 1, 2**32, 0.0, 0.5, 1.0, 1.5, -0.5, 1e-9,
    np.inf, -np.inf, np.nan, np.float64(0.5), np.float32(2.0), np.int64(3), "auto", "adam", "relu", "l2", "min",
    "grid", "squared_error", "float32", "cpu", "x", "", [], [1, 2], (100,), (10, 0), np.array([3, 4]), {}, {"a": 1},
    len, nn.Linear, object(), np.random.RandomState(0), KFold(3), StandardScaler(), Path("store.sqlite"),
    sp.csr_matrix(np.eye(2)), iter([2, 3]),
]  # fmt: skip


def _outcome(validate, constraints, name, value):
    try:
        validate({name: constraints}, {name: value}, "NetRegClassifierCV")
    except ValueError as error:
        return str(error)
    return None


# Every parameter of the estimators, plain and cross-validated, once.
PARAMS = list({p.name: p for p in REGRESSOR_PARAMS + CLASSIFIER_PARAMS + NetRegRegressorCV._params}.values())


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_the_local_constraints_accept_and_word_as_scikit_learns_do(param):
    if param.constraints == "no_validation":
        assert _outcome(_compat._local_validate, param.constraints, param.name, object()) is None
        return
    local = [_local(c) for c in param.constraints]
    refused = 0
    for value in [param.default, *VALUES]:
        expected = _outcome(PRIVATE.validate_parameter_constraints, param.constraints, param.name, value)
        assert _outcome(_compat._local_validate, local, param.name, value) == expected, value
        refused += expected is not None
    assert 0 < refused <= len(VALUES)  # the default passes
    for constraint, mine in zip(param.constraints, local):
        assert str(_compat._local_rule(mine)) == str(PRIVATE.make_constraint(constraint))


def test_an_estimator_checked_by_the_fallback_is_refused_in_the_same_words(monkeypatch, refused):
    from netreg import NetRegClassifier

    bad = [{"alpha": -1.0}, {"alpha": True}, {"activation": "gelu"}, {"n_iter_no_change": 0}, {"random_state": -2}]
    expected = []
    for params in bad:
        with pytest.raises(InvalidParameterError) as error:
            validate_parameters(NetRegClassifier(**params))
        expected.append(str(error.value))
    declared = {name: [_local(c) for c in cs] for name, cs in NetRegClassifier._parameter_constraints.items()}
    monkeypatch.setattr(NetRegClassifier, "_parameter_constraints", declared)
    monkeypatch.setattr(_compat, "_PARAM_VALIDATION", None)
    monkeypatch.setattr(netreg.estimators.params, "Interval", _compat._Interval)  # as imported without sklearn's
    for params, message in zip(bad, expected):
        with refused(message, InvalidParameterError):
            validate_parameters(NetRegClassifier(**params))
    validate_parameters(NetRegClassifier(alpha=0.5, early_stopping=np.bool_(True)))


def test_without_scikit_learns_private_module_the_local_constraints_are_used(monkeypatch):
    assert _compat._sklearn_validation() is PRIVATE
    monkeypatch.setattr(PRIVATE, "validate_parameter_constraints", lambda *args: None)  # words nothing
    assert _compat._sklearn_validation() is None
    monkeypatch.delattr(sklearn.utils, "_param_validation")
    monkeypatch.setitem(sys.modules, "sklearn.utils._param_validation", None)
    assert _compat._sklearn_validation() is None


# -- scikit-learn's sample weights -----------------------------------------------------------

WEIGHTS = [
    None, 2.0, 3, [1, 2, 3], np.array([1, 2, 3]), np.array([1.0, 2.0, 0.5], dtype=np.float32), (0.5, 0.5, 0.0),
    np.array([[1.0, 2.0, 3.0]]), [1.0, 2.0], [0, 0, 0], 0.0, [1.0, np.nan, 2.0], ["a", "b", "c"],
]  # fmt: skip


def _weights(check, sample_weight, X):
    try:
        weights = check(sample_weight, X, dtype=X.dtype)
    except ValueError as error:
        return type(error), str(error)
    return weights.dtype, weights.tolist(), weights.flags.c_contiguous


@pytest.mark.parametrize("X", [np.zeros((3, 2)), np.zeros((3, 2), np.float32), sp.csr_matrix(np.ones((3, 2)))])
def test_the_local_sample_weight_check_gives_what_scikit_learns_gives(monkeypatch, X):
    private = sklearn.utils.validation._check_sample_weight
    monkeypatch.delattr(sklearn.utils.validation, "_check_sample_weight")
    fallback = _compat._sklearn_check_sample_weight()
    assert fallback is _compat._local_check_sample_weight
    outcomes = [_weights(private, w, X) for w in WEIGHTS]
    assert [_weights(fallback, w, X) for w in WEIGHTS] == outcomes
    assert sum(isinstance(o[0], type) and issubclass(o[0], ValueError) for o in outcomes) == 6


def test_torch_dropout_functions_are_those_this_torch_has(monkeypatch):
    # The engine recognizes torch's undocumented dropout functions only where they exist: a
    # torch without one (here removed) leaves it out, and the others are torch's own.
    found = _compat.torch_dropout_functions()
    assert found == {name: getattr(torch, name) for name in _compat.TORCH_DROPOUT_NAMES}
    monkeypatch.delattr(torch, "feature_alpha_dropout_")
    without = _compat.torch_dropout_functions()
    assert "feature_alpha_dropout_" not in without
    assert without == {name: f for name, f in found.items() if name != "feature_alpha_dropout_"}


def test_the_engine_recognizes_torchs_dropout_calls_through_compat():
    from netreg.engine import dropout

    found = _compat.torch_dropout_functions()
    assert {f for f in dropout._CALLS if f in found.values()} == {
        found[name] for name in ("dropout", "dropout_", "feature_dropout", "feature_dropout_")
    }
    assert {f for f in dropout._ALPHA if f in found.values()} == {f for name, f in found.items() if "alpha" in name}
