"""Which parameters of a model are penalized, and with which strength.

The default rule penalizes the weight matrices W[j] of the objective: every parameter
whose name contains ``weight``, with two or more dimensions (``Linear``, ``Conv*``,
``Bilinear``, attention projections, recurrent weights), except those of normalization
and embedding layers. Biases, normalization scales and embedding tables are not
penalized, as in scikit-learn's MLP and the textbook objective.

The user adjusts it with ``fnmatch`` patterns (:func:`penalized_parameters`); a pattern that
matches nothing is an error, so a typo never silently changes the objective.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from torch import nn

from netreg._checks import check_alpha
from netreg.exceptions import invalid

__all__ = ["PenalizedParameter", "penalized_parameters", "is_layer_weight"]

# Their `weight` is a per-feature scale (norms) or a lookup table (embeddings), not a
# layer's weight matrix.
_NOT_LAYER_WEIGHTS = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
    nn.LocalResponseNorm,
    nn.Embedding,
    nn.EmbeddingBag,
)


class PenalizedParameter(NamedTuple):
    """One penalized parameter: its name, shape and strength.

    ``alpha`` is the parameter's own strength from ``layer_alphas``, the shared
    strength when one was given to :func:`penalized_parameters`, else ``None``
    (meaning: whatever shared strength the penalty is used with).
    """

    name: str
    shape: tuple[int, ...]
    alpha: float | None


def is_layer_weight(owner: nn.Module, leaf_name: str, ndim: int) -> bool:
    """The default rule: is the parameter ``leaf_name`` of ``owner`` (the module that holds it
    directly), of ``ndim`` dimensions, a layer's weight matrix?

    Examples
    --------
    >>> from torch import nn
    >>> is_layer_weight(nn.Linear(3, 2), "weight", 2)
    True
    >>> is_layer_weight(nn.Linear(3, 2), "bias", 1)
    False
    >>> is_layer_weight(nn.Embedding(10, 4), "weight", 2)
    False
    """
    return "weight" in leaf_name and ndim >= 2 and not isinstance(owner, _NOT_LAYER_WEIGHTS)


def penalized_parameters(
    module: nn.Module,
    *,
    alpha: float | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    layer_alphas: Mapping[str, float] | None = None,
) -> list[PenalizedParameter]:
    """List the parameters of ``module`` that a penalty acts on, with their strengths.

    Selection is ``default rule + include - exclude``; then each selected parameter gets
    the strength of the first ``layer_alphas`` pattern it matches, else ``alpha``.

    Parameters
    ----------
    module : torch.nn.Module
        Any PyTorch model.
    alpha : float, optional
        Shared strength filled in for parameters without their own. ``None`` leaves
        their ``alpha`` as ``None``.
    include : iterable of str, default=()
        Glob patterns (``fnmatch``) of parameter names to penalize in addition to the
        default rule, for example ``["*.bias"]``.
    exclude : iterable of str, default=()
        Glob patterns of parameter names not to penalize, for example ``["head.*"]``.
    layer_alphas : mapping of str to float, optional
        Pattern -> strength for the parameters it matches (the first matching pattern
        wins), overriding ``alpha`` for them.

    Returns
    -------
    list of PenalizedParameter
        In the order of ``module.named_parameters()``.

    Raises
    ------
    InvalidParameterError
        If a pattern matches no parameter, or a strength is negative, NaN or infinite.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 1))
    >>> penalized_parameters(model, alpha=0.1, layer_alphas={"3.*": 1.0})  # doctest: +NORMALIZE_WHITESPACE
    [PenalizedParameter(name='0.weight', shape=(8, 4), alpha=0.1),
     PenalizedParameter(name='3.weight', shape=(1, 8), alpha=1.0)]
    """
    if alpha is not None:
        alpha = check_alpha(alpha)
    include, exclude = list(include), list(exclude)
    layer_alphas = {
        pattern: check_alpha(value, f"layer_alphas[{pattern!r}]") for pattern, value in (layer_alphas or {}).items()
    }
    named = list(module.named_parameters())
    names = [name for name, _ in named]
    for pattern in include:
        _require_match(pattern, names, "include", "parameter")
    for pattern in exclude:
        _require_match(pattern, names, "exclude", "parameter")

    selected: list[PenalizedParameter] = []
    for name, parameter in named:
        owner_name, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_name)
        chosen = is_layer_weight(owner, leaf, parameter.ndim) or _matches(name, include)
        if not chosen or _matches(name, exclude):
            continue
        own = next((a for p, a in layer_alphas.items() if fnmatch.fnmatchcase(name, p)), None)
        selected.append(PenalizedParameter(name, tuple(parameter.shape), alpha if own is None else own))
    selected_names = [p.name for p in selected]
    for pattern in layer_alphas:
        _require_match(pattern, selected_names, "layer_alphas", "penalized parameter")
    return selected


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _require_match(pattern: str, names: list[str], where: str, what: str) -> None:
    if not isinstance(pattern, str):
        raise invalid(where, "glob patterns (str)", got=f"{pattern!r} in {where}")
    if any(fnmatch.fnmatchcase(name, pattern) for name in names):
        return
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    fix = " To penalize a parameter the default rule skips, add it to `include`." if where == "layer_alphas" else ""
    raise invalid(
        where,
        f"globs over the names of the {what}s: {shown or '(none)'}",
        got=f"{pattern!r}, which matches none",
        fix=fix.strip(),
    )
