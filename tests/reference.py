"""Independent references the tests compare netreg against: scikit-learn's own MLP code, a plain
PyTorch loop, Bayesian logistic and softmax regression in NumPy."""

from __future__ import annotations

import numpy as np
import scipy.optimize
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


def glm_map(X, Y, alpha, *, softmax):
    """The MAP of L2-penalized logistic (sigmoid per column of the 0/1 matrix ``Y``) or softmax
    (``Y`` one-hot) regression in NumPy, the bias unpenalized: L-BFGS on ``sum_i loss_i +
    alpha / 2 ||W||^2``, then Newton steps to float64's precision (L-BFGS alone leaves softmax's
    shift of all classes' weights, which only the penalty pins, inexact). Returns ``(W (q, d),
    b (q,), value)``."""
    n, d = X.shape
    q = Y.shape[1]
    rows = np.hstack([X, np.ones((n, 1))])
    prior = alpha * np.tile(np.append(np.ones(d), 0.0), q)  # per entry of [W, b].ravel()

    def parts(theta):
        z = rows @ theta.reshape(q, d + 1).T
        if softmax:
            top = z.max(1, keepdims=True)
            log_norm = top[:, 0] + np.log(np.exp(z - top).sum(1))
            loss = (log_norm - (Y * z).sum(1)).sum()
            p = np.exp(z - log_norm[:, None])
            curvature = np.einsum("no,op->nop", p, np.eye(q)) - p[:, :, None] * p[:, None, :]
        else:
            loss = (np.logaddexp(0.0, z) - Y * z).sum()
            p = 1.0 / (1.0 + np.exp(-z))
            curvature = np.einsum("no,op->nop", p * (1 - p), np.eye(q))
        value = loss + 0.5 * prior @ theta**2
        return value, ((p - Y).T @ rows).ravel() + prior * theta, curvature

    theta = scipy.optimize.minimize(
        lambda t: parts(t)[:2], np.zeros(q * (d + 1)), jac=True, method="L-BFGS-B", options={"gtol": 1e-12}
    ).x
    for _ in range(4):
        _, grad, curvature = parts(theta)
        hessian = np.einsum("nop,nj,nk->ojpk", curvature, rows, rows).reshape(theta.size, theta.size)
        theta = theta - np.linalg.lstsq(hessian + np.diag(prior), grad, rcond=None)[0]
    V = theta.reshape(q, d + 1)
    return V[:, :d], V[:, d], parts(theta)[0]


def glm_laplace_evidence(X, Y, alpha, *, softmax):
    """MacKay's Laplace evidence of :func:`glm_map`'s model at its MAP, with the exact Hessian of
    the data term in the weights (the bias held at its MAP value, as netreg's evidence holds it):
    ``-value + (q d / 2) log alpha - log det(H + alpha I) / 2``. Returns ``(evidence, W, H)``."""
    W, b, value = glm_map(X, Y, alpha, softmax=softmax)
    z = X @ W.T + b
    if softmax:
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        curvature = np.einsum("no,op->nop", p, np.eye(Y.shape[1])) - p[:, :, None] * p[:, None, :]
    else:
        p = 1.0 / (1.0 + np.exp(-z))
        curvature = np.einsum("no,op->nop", p * (1 - p), np.eye(Y.shape[1]))
    size = W.size
    H = np.einsum("nop,nj,nk->ojpk", curvature, X, X).reshape(size, size)  # rows (output, input), as W.ravel()
    logdet = np.linalg.slogdet(H + alpha * np.eye(size))[1]
    return -value + 0.5 * size * np.log(alpha) - 0.5 * logdet, W, H
