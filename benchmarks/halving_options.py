"""What both benchmarks need to run netreg's successive halving where this netreg has it."""

from __future__ import annotations

import math

from netreg import NetRegClassifierCV

#: The halving factor of every benchmark: scikit-learn's default, and the lead's.
FACTOR = 3


def halving_available() -> bool:
    """Whether this netreg's CV estimators have successive halving (``search="halving"``)."""
    return "search" in NetRegClassifierCV().get_params()


def folds_available() -> bool:
    """Whether this netreg's CV estimators keep the fold models without a refit (``refit="folds"``)."""
    options = NetRegClassifierCV._parameter_constraints.get("refit", [])
    return halving_available() and any("folds" in getattr(option, "options", ()) for option in options)


def exhaust_min_epochs(max_epochs: int, n_alphas: int, factor: int = FACTOR) -> int:
    """The first rung of scikit-learn's ``HalvingGridSearchCV(min_resources="exhaust")`` with
    ``resource="max_iter"``: the most epochs from which rungs growing by ``factor`` still fit in
    ``max_epochs`` for ``n_alphas`` candidates (``max_epochs // factor ** floor(log_factor n_alphas)``)."""
    last_rung = math.floor(math.log(n_alphas, factor) + 1e-9)
    return max(1, max_epochs // factor**last_rung)
