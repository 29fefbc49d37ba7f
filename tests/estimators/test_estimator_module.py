"""The estimators with a user's own module: built for the data, any input shape, scikit-learn's contract."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import netreg
from netreg import NetRegClassifier, NetRegRegressor
from netreg.engine import TrainConfig, train_population
from netreg.exceptions import ModelFormatError
from netreg.io.models import save_model
from netreg.nets import MLP
from own_modules import ImageCNN, Tied, TinyNet, Unused, told
from reference import PLAIN_SGD, plain_sgd

F64 = {"dtype": "float64", "device": "cpu"}


def _images(digits, n=300):
    X, y = digits
    return X[:n].reshape(n, 1, 8, 8), y[:n]


@parametrize_with_checks(
    [
        NetRegClassifier(module=TinyNet, module_kwargs={"width": 16}, max_iter=100, random_state=0, **F64),
        NetRegRegressor(module=TinyNet, max_iter=100, random_state=0, **F64),
    ]
)
def test_sklearn_compatible_with_a_module(estimator, check):
    check(estimator)


def test_module_and_its_arguments_are_parameters_that_clone_and_grid_search_handle(digits):
    model = NetRegClassifier(module=TinyNet, module_kwargs={"width": 4, "batch_norm": True})
    params = model.get_params()
    assert params["module"] is TinyNet and params["module_kwargs"] == {"width": 4, "batch_norm": True}
    copy = clone(model)
    assert copy.module is TinyNet and copy.module_kwargs == model.module_kwargs
    assert copy.module_kwargs is not model.module_kwargs
    assert copy.set_params(module_kwargs={"width": 9}).module_kwargs == {"width": 9}
    X, y = digits[0][:150], digits[1][:150]
    search = GridSearchCV(
        NetRegClassifier(module=TinyNet, solver="lbfgs", max_iter=20, random_state=0),
        {"module_kwargs": [{"width": 2, "batch_norm": True}, {"width": 16}]},
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.module_.hidden.out_features in (2, 16)


def test_an_image_cnn_fits_and_predicts_on_rows_of_any_shape(digits):
    X, y = _images(digits)
    model = NetRegClassifier(
        module=ImageCNN,
        module_kwargs={"channels": 3},
        max_iter=10,
        batch_size=64,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(torch.as_tensor(X[:250]), y[:250])
    assert isinstance(model.module_, ImageCNN) and model.module_.conv.out_channels == 3
    # scikit-learn counts features as X.shape[1] (the channels); the row shape is kept beside it.
    assert model.n_features_in_ == 1 and model.input_shape_ == (1, 8, 8) and model.n_outputs_ == 10
    assert not any(hasattr(model, name) for name in ("coefs_", "intercepts_", "n_layers_"))
    assert model.predict(X[250:]).shape == (50,) and model.predict_proba(X[250:]).shape == (50, 10)
    assert model.score(X[250:], y[250:]) > 0.6
    assert set(model.history_[-1]["weight_norms"]) == {"conv.weight", "head.weight"}
    message = "X has rows of shape (1, 4, 16); expected rows of shape (1, 8, 8), as NetRegClassifier was fitted on."
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        model.predict(X[:5].reshape(5, 1, 4, 16))


def test_the_module_is_told_the_data_arguments_its_signature_names(digits):
    X, y = _images(digits, 100)
    model = NetRegRegressor(module=told, module_kwargs={"scale": 0.0}, max_iter=1, **F64).fit(X, y)
    assert model.module_[1].in_features == 64 and model.module_[1].out_features == 1
    # scale=0 zeroed the builder's weights; the engine re-initializes them under the seed.
    assert model.module_[1].weight.abs().sum() > 0


def test_a_module_that_builds_netregs_mlp_trains_exactly_as_hidden_layer_sizes_does(digits):
    X, y = digits[0][:200], digits[1][:200]

    def mlp(n_features, n_outputs):
        return MLP(n_features, (12,), n_outputs)

    common = {"max_iter": 3, "batch_size": 48, "random_state": 4, **F64}
    ours = NetRegClassifier(module=mlp, **common).fit(X, y)
    theirs = NetRegClassifier((12,), **common).fit(X, y)
    for name, value in theirs.module_.state_dict().items():
        assert torch.equal(ours.module_.state_dict()[name], value)
    assert len(ours.coefs_) == 2  # netreg's MLP: its coefs_ are there


def test_the_estimator_trains_what_the_engine_trains_alone(digits):
    X, y = _images(digits, 200)
    model = NetRegClassifier(module=ImageCNN, max_iter=3, batch_size=48, tol=0.0, random_state=2, **F64).fit(X, y)
    request = model.training_request(X, y)
    alone = train_population(
        request.template,
        X,
        y,
        task="multiclass",
        alphas=[model.alpha],
        # The estimators' epsilon is scikit-learn's (added before Adam's bias correction).
        config=TrainConfig(learning_rate=1e-3, batch_size=48, max_iter=3, tol=0.0, adam_epsilon="sklearn", **F64),
        seeds=request.seed,
    ).members[0]
    for name, value in alone.state_dict.items():
        torch.testing.assert_close(model.module_.state_dict()[name], value, rtol=1e-12, atol=1e-14)


def test_warm_start_partial_fit_and_pickle_with_a_module(digits):
    X, y = _images(digits, 200)
    model = NetRegClassifier(module=ImageCNN, max_iter=2, random_state=0, warm_start=True).fit(X, y)
    before = model.module_.norm.running_mean.clone()
    model.fit(X, y)
    assert len(model.history_) == 4 and model.n_iter_ == 2 and not torch.equal(model.module_.norm.running_mean, before)
    model.partial_fit(X[:64], y[:64])
    assert len(model.history_) == 5 and model.n_iter_ == 1
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_a_model_folder_is_refused_for_a_module(digits, tmp_path):
    X, y = _images(digits, 100)
    model = NetRegClassifier(module=ImageCNN, max_iter=1, random_state=0).fit(X, y)
    message = (
        "A model folder describes netreg's MLP in JSON, without code; this estimator trained its own module "
        "(ImageCNN). Pickle the estimator (pickle or joblib), or save the module's weights with "
        "torch.save(estimator.module_.state_dict(), path)."
    )
    with pytest.raises(ModelFormatError, match=f"^{re.escape(message)}$"):
        save_model(model, tmp_path / "model")


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"module": nn.Linear(64, 10)},
            "`module` must be a torch.nn.Module subclass or a callable that builds one. Got module=Linear("
            "in_features=64, out_features=10, bias=True). Pass the class, and its arguments in module_kwargs: "
            "module=Linear, module_kwargs={...}.",
        ),
        (
            {"module": 3},
            "The 'module' parameter of NetRegClassifier must be None or a callable. Got 3 instead.",
        ),
        (
            {"module_kwargs": {"width": 3}},
            "`module_kwargs` must be None without a module (netreg's MLP takes hidden_layer_sizes). "
            "Got module_kwargs={'width': 3}. Set module.",
        ),
        (
            {"module": TinyNet, "module_kwargs": {"n_outputs": 3}},
            "`module_kwargs` must be a dict of the module's own keyword arguments (str keys). Got "
            "module_kwargs={'n_outputs': 3}. Remove ['n_outputs']: n_features, input_shape, n_outputs are given "
            "from the data.",
        ),
        (
            {"module": TinyNet, "hidden_layer_sizes": (32,)},
            "`hidden_layer_sizes` shapes netreg's MLP and has no effect on module=own_modules.TinyNet; expected "
            "its default (100,). Got hidden_layer_sizes=(32,). Leave it at its default and build what you need "
            "into your module (with module_kwargs).",
        ),
        (
            {"module": TinyNet, "dropout": 0.5},
            "`dropout` shapes netreg's MLP and has no effect on module=own_modules.TinyNet; expected its default "
            "0.0. Got dropout=0.5. Leave it at its default and build what you need into your module (with "
            "module_kwargs).",
        ),
        (
            {"module": lambda n_features: "a string"},
            "`module` must build a torch.nn.Module; module=test_estimator_module.<lambda> returned str: 'a string'.",
        ),
        (
            {"module": TinyNet, "module_kwargs": {"depth": 2}},
            "Building module=own_modules.TinyNet with {'n_features': 64, 'n_outputs': 10, 'depth': 2} failed: "
            "TinyNet.__init__() got an unexpected keyword argument 'depth'. netreg passes the data arguments the "
            "module's signature names (n_features, input_shape, n_outputs) and module_kwargs.",
        ),
    ],
)
def test_bad_modules_are_refused_with_the_full_message(digits, params, message):
    with pytest.raises(netreg.InvalidParameterError, match=f"^{re.escape(message)}$"):
        NetRegClassifier(**params).fit(digits[0][:50], digits[1][:50])


@pytest.mark.parametrize("n_outputs", [1, 12])
def test_a_module_whose_output_does_not_fit_the_task_is_refused(digits, n_outputs):
    X, y = _images(digits, 50)
    message = (
        f"The module's output has shape (2, {n_outputs}) for 2 rows; NetRegClassifier expected shape (2, 10): "
        "n_outputs=10, what the module is told."
    )
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        NetRegClassifier(module=lambda input_shape: told(input_shape, n_outputs)).fit(X, y)
    message = (
        "The module cannot run on X[:2], of shape (2, 1, 8, 8): mat1 and mat2 shapes cannot be multiplied (2x64 and "
        "63x10). Expected X with rows along the first axis, each row of the shape the module takes."
    )
    with pytest.raises(netreg.DataError, match=f"^{re.escape(message)}$"):
        NetRegClassifier(module=lambda n_outputs: told((63,), n_outputs)).fit(X, y)


def _binary(n=80):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 6 epochs, on purpose
@pytest.mark.parametrize("alpha", [0.0, 4.0])
def test_a_parameter_forward_never_uses_trains_as_plain_pytorch_trains_it(alpha):
    X, y = _binary()
    model = NetRegClassifier(module=Unused, alpha=alpha, random_state=0, **PLAIN_SGD).fit(X, y)
    start = Unused(3, 1).double()
    reference = plain_sgd(Unused(3, 1).double(), X, y, alpha=alpha, lr=0.3, epochs=6)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(model.module_.state_dict()[name], value, rtol=1e-10, atol=1e-12, msg=name)
    # No data gradient: unchanged without a penalty, shrunk by it alone with one (its bias never moves).
    unused = model.module_.unused
    assert torch.equal(unused.bias, start.unused.bias)
    assert torch.equal(unused.weight, start.unused.weight) == (alpha == 0.0)
    assert unused.weight.norm() < start.unused.weight.norm() or alpha == 0.0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_layer_registered_twice_is_one_parameter_trained_and_penalized_once():
    X, y = _binary()
    model = NetRegClassifier(module=Tied, alpha=4.0, random_state=0, **PLAIN_SGD).fit(X, y)
    reference = plain_sgd(Tied(3, 1).double(), X, y, alpha=4.0, lr=0.3, epochs=6)
    state = model.module_.state_dict()
    assert set(state) == set(reference.state_dict()) >= {"first.weight", "again.weight"}
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(state[name], value, rtol=1e-10, atol=1e-12, msg=name)
    assert model.module_.first.weight is model.module_.again.weight  # still tied
    assert set(model.history_[-1]["weight_norms"]) == {"first.weight", "out.weight"}
    fresh = Tied(3, 1).double()
    fresh.load_state_dict(state)
    probability = torch.sigmoid(fresh(torch.as_tensor(X)))[:, 0].detach().numpy()
    np.testing.assert_allclose(probability, model.predict_proba(X)[:, 1], rtol=1e-12)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


class _NoParameters(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()

    def forward(self, x):
        return x[:, :1]


class _Pair(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_features, n_outputs)

    def forward(self, x):
        return self.linear(x), x


class _Rounded(_Pair):
    def forward(self, x):
        return self.linear(x).long()


def _on_meta(n_features, n_outputs):
    return nn.Linear(n_features, n_outputs, device="meta")


@pytest.mark.parametrize("estimator", [NetRegClassifier, netreg.NetRegClassifierCV])
@pytest.mark.parametrize(
    "module, error, message",
    [
        (
            _NoParameters,
            netreg.InvalidParameterError,
            "`module` must be a module with parameters to train. Got a _NoParameters without parameters.",
        ),
        (
            _on_meta,
            netreg.InvalidParameterError,
            "`module` must be a module whose parameters and buffers hold values. Got a Linear with weight, bias on "
            'the meta device (shapes without values). Build it on a real device, or call .to_empty(device="cpu") '
            "and initialize it.",
        ),
        (
            _Pair,
            netreg.DataError,
            "The module's forward returned a tuple of 2 items for X[:2]; expected one tensor of raw scores of shape "
            "(2, n_outputs). Return the scores alone (such as output[0]).",
        ),
        (
            _Rounded,
            netreg.DataError,
            "The module's forward returned a tensor of dtype torch.int64 for X[:2]; expected floating-point raw "
            "scores (logits or values), which gradients flow through. Return the scores before any rounding, "
            "argmax or cast to an integer type.",
        ),
    ],
    ids=["no-parameters", "meta-device", "tuple", "long"],
)
def test_modules_a_population_cannot_train_are_refused_before_training(refused, estimator, module, error, message):
    X, y = _binary(40)
    model = estimator(module=module, max_iter=2, random_state=0)
    if estimator is not NetRegClassifier:
        model.set_params(alphas=[0.1, 1.0], cv=2)
    with refused(message, error):
        model.fit(X, y)
    assert not hasattr(model, "module_") and not hasattr(model, "best_estimator_")
