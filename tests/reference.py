"""Independent references the tests compare netreg against: scikit-learn's own MLP code."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer


def sklearn_mlp_from(net, X, y, *, alpha, classifier=True, activation="relu"):
    """A scikit-learn MLP set up for ``(X, y)`` whose weights are copied from netreg's ``net``."""
    sizes = tuple(layer.out_features for layer in net.layers[:-1])
    cls = MLPClassifier if classifier else MLPRegressor
    mlp = cls(hidden_layer_sizes=sizes, activation=activation, alpha=alpha, max_iter=1, solver="lbfgs")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, y)  # only to let scikit-learn set up its attributes
    mlp.coefs_ = [layer.weight.detach().double().numpy().T.copy() for layer in net.layers]
    mlp.intercepts_ = [layer.bias.detach().double().numpy().copy() for layer in net.layers]
    return mlp


def sklearn_loss_and_grads(mlp, X, y, sample_weight=None):
    """scikit-learn's full objective and gradients (its ``_backprop``) at ``mlp``'s weights."""
    if hasattr(mlp, "classes_"):
        Y = LabelBinarizer().fit(mlp.classes_).transform(y).astype(np.float64)
    else:
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    n_layers = mlp.n_layers_
    activations = [np.asarray(X, dtype=np.float64)] + [None] * (n_layers - 1)
    deltas = [None] * (n_layers - 1)
    coef_grads = [np.empty_like(c) for c in mlp.coefs_]
    intercept_grads = [np.empty_like(b) for b in mlp.intercepts_]
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    loss, coef_grads, intercept_grads = mlp._backprop(X, Y, sw, activations, deltas, coef_grads, intercept_grads)
    return loss, coef_grads, intercept_grads


def torch_grads_as_sklearn(net):
    """netreg's ``.grad`` in scikit-learn's layout: (coef_grads, intercept_grads)."""
    return (
        [layer.weight.grad.detach().numpy().T for layer in net.layers],
        [layer.bias.grad.detach().numpy() for layer in net.layers],
    )


def as_double(net):
    return net.to(torch.float64)
