"""Independent references the tests compare netreg against: scikit-learn's own MLP code, a plain
PyTorch loop."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
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


def plain_sgd(module, X, y, *, alpha, lr, epochs):
    """Plain PyTorch, full batch: ``torch.optim.SGD`` on the binary log loss plus netreg's penalty
    term ``alpha / (2 m) * sum ||W||^2`` over the weights netreg penalizes (the Linear layers'
    ``weight``, each parameter once, as ``named_parameters()`` lists them)."""
    X, y = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float64)
    weights = [p for name, p in module.named_parameters() if name.endswith("weight")]
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(module(X)[:, 0], y)
        (loss + alpha / (2 * len(X)) * sum(w.square().sum() for w in weights)).backward()
        optimizer.step()
    return module


#: Full-batch SGD without momentum, never stopped early: the steps of :func:`plain_sgd`.
PLAIN_SGD = dict(
    solver="sgd",
    momentum=0.0,
    batch_size=10_000,
    learning_rate_init=0.3,
    max_iter=6,
    tol=0.0,
    dtype="float64",
    device="cpu",
)
