"""The grid of alphas a sweep tries.

A grid given by its size (``alphas=16``) is log-spaced on the data's scale: with ``s`` the
largest eigenvalue of the centered ``X'X``, ridge's ``alpha = 1e-5 s`` shrinks every direction
the data pins down (eigenvalue at least ``1e-3 s``) by less than 1 %, and ``alpha = s`` halves
the strongest one. For networks this is a well-scaled start, not a guarantee.

A network also has a strength that switches every unit off (glmnet's ``lambda_max``). For one
linear hidden layer, ``alpha / (2 m) (||W1||^2 + ||W2||^2)`` minimized over the factorizations
of ``M = W2 W1`` is the nuclear norm ``alpha / m ||M||_*``, whose optimum is zero exactly when
``alpha`` is at least ``||R' X||_2`` (:func:`kill_point`, ``R`` the best constant's residuals);
with ReLU units it holds as measured (``docs/architecture.md``, "Measurements and history").

With ``L`` linear layers in a chain (``L - 1`` hidden layers, one alpha) the penalty minimized
over the factorizations of ``M`` is ``alpha L / (2 m) sum_i s_i(M)^(2/L)`` (``s_i`` its singular
values), whose slope at zero is infinite for ``L >= 3``: zero is then always a local minimum,
and the network is off where it is the global one. Along the loss's steepest rank-one direction
``M = s u v'`` (``u, v`` the top singular vectors of ``R' X``), the loss is ``-g s + c s^2 / 2``
to second order, with ``g = ||R' X||_2 / m`` and ``c = mean((x - mean x)'v)^2 u'Hu`` (``H`` the
loss's Hessian in the outputs at the best constant: the identity for squared error,
``diag(p) - pp'`` for softmax cross-entropy at the class shares ``p``, ``diag(p(1 - p))`` for
sigmoids, ``diag(mean y)`` for Poisson's log link), and ``b s^q - g s + c s^2 / 2`` (``q = 2/L``,
``b = alpha L / (2 m)``) falls below zero for some ``s > 0`` only while ``b < g / (2 - q) * (2 g
(1 - q) / (c (2 - q)))^(1 - q)``. That threshold grows with ``g`` and falls with ``c``, so
another direction than R'X's top pair may pay longer (a feature of small variance, with a large
``g / c``): :func:`kill_point`'s ``depth`` takes the largest over the directions
``v ~ (S + lam I)^-1 X'R u`` (``S`` the inputs' covariance, ``lam`` from large to small, where
the threshold's stationary points lie, and R'X's output directions ``u``), a lower bound of the
linear network's own. For ``L = 2`` the threshold is ``g`` alone: ``||R' X||_2`` again. Measured with ReLU
units and adam (standardized digits, 200 epochs): 552 for (100, 100), networks alive at 400 and
constant at 500; 386 for (64, 64, 64), alive at 300 and constant at 400.
The default grid stops at :data:`KILL_FRACTION` of it where that is below ``s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds

from netreg import memory
from netreg._checks import Range, check_alpha, check_int, check_options
from netreg.exceptions import bad_data, invalid

__all__ = ["MAX_ALPHAS", "DEFAULT_N_ALPHAS", "GRID_SIZE", "default_alphas", "kill_point", "resolve_alphas"]

LOW_FACTOR, HIGH_FACTOR = 1e-5, 1.0
#: The default grid's top, as a share of the kill point (:func:`kill_point`), where networks still predict.
KILL_FRACTION = 0.5
#: The fewest decades a default grid spans, whatever the kill point says.
MIN_DECADES = 2
#: The most alphas a grid may hold. Every alpha is trained once per fold and kept in the
#: store; a finer grid than this does not move the choice, and a typo (``alphas=100000000``)
#: would plan billions of networks before training one.
MAX_ALPHAS = 10_000
#: The size of a grid given as a number (``alphas=16``): at least two alphas to choose from.
GRID_SIZE = Range(Integral, 2)
#: Copies of a dense X the default grid's scale takes: the centered X, and the copy the
#: singular value solver overwrites.
GRID_COPIES = 2


#: The size of the grid when none is given: the CV estimators' ``alphas``, ``netreg tune`` and
#: ``netreg train`` without ``--alpha``.
DEFAULT_N_ALPHAS = 16


def default_alphas(
    X: Any, n_alphas: int = DEFAULT_N_ALPHAS, targets: Any = None, *, depth: int = 2, task: str = "regression"
) -> np.ndarray:
    """A log-spaced grid of ``n_alphas`` strengths from ``1e-5 s`` to ``s``, or to half
    the kill point where that is lower.

    ``s`` is the largest eigenvalue of the centered ``X'X`` (the module docstring says why);
    rows of more than one dimension are flattened. Given ``targets``, the top is
    ``min(s, KILL_FRACTION * kill_point(X, targets, depth=depth, task=task))``, at least :data:`MIN_DECADES` decades
    above ``1e-5 s``. A sparse ``X`` is never made dense: ARPACK finds ``s`` on the centered
    matrix as an operator (the same value to about 1e-10 relative).

    Raises
    ------
    DataError
        If ``s`` overflows float64 (values of ``X`` around 1e154 and above): the data's
        scale, not the grid, is then what to fix.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> grid = default_alphas(X, 6)
    >>> len(grid), bool(grid[0] < grid[-1])
    (6, True)
    >>> bool(np.allclose(default_alphas(sp.csr_matrix(X), 6), grid, rtol=1e-8))
    True
    >>> y = X[:, :1] + 0.1 * np.random.default_rng(1).normal(size=(100, 1))
    >>> top = default_alphas(X, 6, targets=y)[-1]
    >>> bool(np.isclose(top, 0.5 * kill_point(X, y)) and top < grid[-1])
    True
    """
    n_alphas = _check_grid_size(GRID_SIZE.check(n_alphas, "alphas"), n_alphas)
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        # Values whose squares overflow make ARPACK fail before any scale is known.
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(np.isfinite(np.square(X.data)).all())
        scale = (_sparse_top_eigenvalue(X) or 1.0) if finite else math.inf
    else:
        X = X.reshape(len(X), -1)  # rows of any shape (images) count as their values
        _check_grid_memory(X, n_alphas)
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                centered = X - X.mean(axis=0)
                scale = float(np.linalg.norm(centered, ord=2) ** 2) or 1.0
            except np.linalg.LinAlgError:  # the SVD of values that overflowed in the centering
                scale = math.inf
    if not math.isfinite(scale):
        # The data, not the grid, is the problem: say so before a grid of NaN is checked as alphas.
        raise bad_data(
            "X is too large in scale to set the grid of alphas from: its centered X'X overflows float64 (the "
            f"largest |value| in X is {float(abs(X).max()):.3g})",
            "features whose squared sums are finite",
            "Standardize X (sklearn.preprocessing.StandardScaler) before fitting.",
        )
    low, high = LOW_FACTOR * scale, HIGH_FACTOR * scale
    if targets is not None:
        high = max(min(high, KILL_FRACTION * kill_point(X, targets, depth=depth, task=task)), low * 10**MIN_DECADES)
    return np.logspace(math.log10(low), math.log10(high), n_alphas)


def kill_point(X: Any, targets: Any, *, depth: int = 2, task: str = "regression") -> float:
    """The strength at which the L2 penalty switches a network of ``depth`` weight layers off.

    ``||R' X||_2`` for one hidden layer (``depth=2``); for more, the largest bound of the module
    docstring over the rank-one directions it searches, which reads the loss's curvature at the
    best constant model from ``task``. ``R`` is ``targets`` less their column means: the
    residuals of the best constant model for squared error, for Poisson's deviance with its log
    link and, with ``targets`` the one-hot classes (or 0/1 labels), for cross-entropy. The module
    docstring derives it (exact for one linear hidden layer, a lower bound for more; measured
    for ReLU).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, ...)
    targets : array-like of shape (n_samples,) or (n_samples, n_outputs)
        What the network's loss compares its outputs with.
    depth : int, default=2
        The weight layers on the path from input to output: hidden layers + 1.
    task : {"regression", "poisson", "multiclass", "binary", "multilabel"}, default="regression"
        The loss, for its curvature (``depth >= 3`` only).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [-1.0]])
    >>> kill_point(X, np.array([1.0, 0.0]))  # R = (0.5, -0.5): R'X = 1
    1.0
    >>> round(kill_point(X, np.array([1.0, 0.0]), depth=3), 4)  # g = 0.5, c = 1: (2m/3)(3g/4)(g/2c)^(1/3)
    0.315
    """
    depth = int(check_int(depth, "depth", low=2))
    R = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    shares = R.mean(axis=0)
    R = R - shares
    # R's columns sum to zero, so R'X is R' times the centered X: no centering of X needed.
    flat = X if sp.issparse(X) else np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    product = np.asarray(flat.T @ R)
    task = check_options(task, "task", list(_OUTPUT_CURVATURES))
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(product).all():
            return math.inf
        shallow = float(np.linalg.norm(product, ord=2))
        if depth == 2 or shallow == 0.0:
            return shallow
        deep = _deep_kill_point(flat, product, _OUTPUT_CURVATURES[task](shares), len(R), depth)
        return deep if math.isfinite(deep) else shallow


#: The most features whose covariance :func:`kill_point` reads for a deeper network; above it,
#: the directions searched are R'X's own (``lam`` infinite): a lower bound still, maybe lower.
DEEP_MAX_FEATURES = 1024
#: Rows of a dense X centered at a time for its covariance (:func:`_deep_kill_point`).
_COVARIANCE_ROWS = 4096
#: Each task's loss curvature in the outputs at the best constant model, from the targets' means.
_OUTPUT_CURVATURES = {
    "regression": lambda shares: np.eye(len(shares)),
    "poisson": lambda shares: np.diag(shares),  # exp's: mu, the mean target
    "multiclass": lambda shares: np.diag(shares) - np.outer(shares, shares),
    "binary": lambda shares: np.diag(shares * (1.0 - shares)),
    "multilabel": lambda shares: np.diag(shares * (1.0 - shares)),
}


def _deep_kill_point(flat: Any, product: np.ndarray, hessian: np.ndarray, m: int, depth: int) -> float:
    """The module docstring's bound for ``depth >= 3``, the largest over the output directions
    ``u`` (R'X's top right singular vectors) and, for each, the input directions ``v`` proportional
    to ``(S + lam I)^-1 a``, ``a = X'R u / m`` (``S`` the inputs' covariance): from ``a`` itself
    (``lam`` infinite) to ``S^-1 a``, where the threshold's stationary directions lie. Above
    :data:`DEEP_MAX_FEATURES` features, ``a`` alone (no covariance: one pass over X per ``u``);
    ``inf`` where the covariance overflows."""
    q = 2.0 / depth
    mean = np.asarray(flat.mean(axis=0)).ravel()

    def threshold(g: float, c: float) -> float:
        return g / (2 - q) * (2 * g * (1 - q) / (c * (2 - q))) ** (1 - q) if g > 0 and c > 0 else 0.0

    outputs = np.linalg.svd(product, full_matrices=False)[2][:5]
    if flat.shape[1] > DEEP_MAX_FEATURES:
        best = 0.0
        for u in outputs:
            a = product @ u / m
            v = a / np.linalg.norm(a)
            along = np.asarray(flat @ v).ravel() - float(mean @ v)
            best = max(best, threshold(float(a @ v), float(np.mean(along**2) * (u @ hessian @ u))))
        return best * 2 * m / depth
    if sp.issparse(flat):  # centering would make it dense: its second moment less the mean's
        covariance = (flat.T @ flat).toarray() / m - np.outer(mean, mean)
    else:  # centered a chunk at a time: no precision lost to features far from zero
        covariance = np.zeros((flat.shape[1], flat.shape[1]))
        for start in range(0, m, _COVARIANCE_ROWS):
            chunk = flat[start : start + _COVARIANCE_ROWS] - mean
            covariance += chunk.T @ chunk
        covariance /= m
    if not np.isfinite(covariance).all():
        return math.inf
    variances, axes = np.linalg.eigh(covariance)
    kept = variances > 1e-12 * max(variances[-1], 0.0)  # directions along which X varies
    variances, axes = variances[kept], axes[:, kept]
    if not variances.size:
        return 0.0
    best = 0.0
    for u in outputs:
        curvature = float(u @ hessian @ u)
        coords = axes.T @ (product @ u / m)
        for lam in [math.inf, *np.logspace(3, -8, 45) * variances[-1]]:
            w = coords if math.isinf(lam) else coords / (variances + lam)
            w = w / np.linalg.norm(w)
            best = max(best, threshold(float(coords @ w), float((variances * w**2).sum() * curvature)))
    return best * 2 * m / depth


def _check_grid_memory(X: np.ndarray, n_alphas: int) -> None:
    """Refuse a dense ``X`` whose :data:`GRID_COPIES` copies (the centered matrix, and the one
    the singular value solver overwrites) would not fit in the memory budget."""
    needed, budget = GRID_COPIES * 8 * X.size, memory.memory_budget()
    if needed > budget:
        raise invalid(
            "alphas",
            "a list of alphas for an X this large",
            got=(
                f"alphas={n_alphas}: the default grid's scale (the centered X's largest singular value) takes "
                f"{GRID_COPIES} copies of its {X.shape[0]:,} x {X.shape[1]:,} values, about {memory.size_text(needed)}, "
                f"over the {memory.size_text(budget)} netreg may take (half the memory available)"
            ),
        )


def _sparse_top_eigenvalue(X: sp.csr_matrix) -> float:
    """The largest eigenvalue of the centered ``X'X``, with ``X - mean`` applied as an operator."""
    if min(X.shape) < 3:  # ARPACK needs k < min(shape); such a matrix is small dense
        dense = X.toarray()
        return float(np.linalg.norm(dense - dense.mean(axis=0), ord=2) ** 2)
    mean = np.asarray(X.mean(axis=0)).ravel()
    operator = LinearOperator(
        X.shape,
        matvec=lambda v: X @ np.ravel(v) - mean @ np.ravel(v),
        rmatvec=lambda u: X.T @ np.ravel(u) - mean * np.sum(u),
        dtype=np.float64,
    )
    top = svds(operator, k=1, return_singular_vectors=False, tol=1e-12, random_state=0)
    return float(top[0] ** 2)


def resolve_alphas(
    alphas: int | Sequence[float] | Any, X: Any, targets: Any = None, *, depth: int = 2, task: str = "regression"
) -> np.ndarray:
    """The sorted grid to sweep: ``alphas`` itself (validated), or a default grid of that size
    (:func:`default_alphas`, bounded by the kill point of ``targets`` when given, for a network
    of ``depth`` weight layers trained on ``task``'s loss).

    Raises
    ------
    InvalidParameterError
        For a grid with fewer than two distinct values or more than :data:`MAX_ALPHAS`,
        or a negative, NaN, infinite or boolean alpha.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_alphas([1.0, 0.0, 10.0], np.zeros((3, 2)))
    array([ 0.,  1., 10.])
    >>> resolve_alphas([0.1], np.zeros((3, 2)))
    Traceback (most recent call last):
    ...
    netreg.exceptions.InvalidParameterError: `alphas` must be at least 2 distinct values to choose from. Got alphas=[0.1].
    """
    if isinstance(alphas, int | np.integer) and not isinstance(alphas, bool):
        return default_alphas(X, int(alphas), targets, depth=depth, task=task)
    if isinstance(alphas, str) or not isinstance(alphas, Sequence | np.ndarray):
        raise invalid("alphas", "an int (grid size) or a sequence of at least 2 floats >= 0", alphas)
    _check_grid_size(len(alphas), got=f"a sequence of {len(alphas)} alphas")
    values = [check_alpha(a.item() if isinstance(a, np.generic) else a, f"alphas[{i}]") for i, a in enumerate(alphas)]
    if len(set(values)) < 2:
        raise invalid("alphas", "at least 2 distinct values to choose from", _listed(alphas))
    if len(set(values)) != len(values):
        raise invalid("alphas", "distinct values", _listed(alphas))
    return np.array(sorted(values))


def _check_grid_size(n_alphas: int, value: object = None, *, got: str | None = None) -> int:
    """``n_alphas`` if at most :data:`MAX_ALPHAS`, else raise (before anything of that size exists)."""
    if n_alphas > MAX_ALPHAS:
        raise invalid(
            "alphas",
            f"a grid of at most {MAX_ALPHAS} alphas",
            value,
            "Each alpha is trained once per fold; use a coarser grid, such as alphas=16.",
            got=got,
        )
    return n_alphas


def _listed(alphas: Any) -> Any:
    return np.asarray(alphas).tolist() if isinstance(alphas, np.ndarray) else list(alphas)
