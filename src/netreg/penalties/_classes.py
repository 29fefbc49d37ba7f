"""Thin penalty classes around the functional forms, and ``get`` by name or config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from netreg._checks import Range, check_alpha, check_float
from netreg.exceptions import invalid
from netreg.penalties._functional import AlphaLike, elastic_net_penalty, elastic_net_penalty_grad_
from netreg.selection import PenalizedParameter, penalized_parameters

__all__ = ["Penalty", "L2", "L1", "ElasticNet", "L1_RATIO", "PENALTIES", "get"]


class Penalty:
    """Base of the penalty classes: validates and stores, then delegates to the functions.

    A penalty object holds its strength and which parameters it acts on; called on a
    model it returns the penalty value, and :meth:`grad_` adds its gradient to the
    parameters' ``.grad`` in place.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength, the lambda of the objective (>= 0).
    include, exclude : sequence of str, default=()
        Glob patterns of parameter names to add to or remove from the default rule (see
        :func:`netreg.penalized_parameters`).
    layer_alphas : mapping of str to float, optional
        Pattern -> strength for the parameters it matches.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        layer_alphas: Mapping[str, float] | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha)
        self.include = _patterns(include, "include")
        self.exclude = _patterns(exclude, "exclude")
        if layer_alphas is not None and not isinstance(layer_alphas, Mapping):
            raise invalid("layer_alphas", "a mapping of glob pattern to alpha", layer_alphas)
        self.layer_alphas = {
            str(pattern): check_alpha(value, f"layer_alphas[{pattern!r}]")
            for pattern, value in (layer_alphas or {}).items()
        }

    @property
    def l1_ratio(self) -> float:
        """The weight of the L1 term (0 for L2, 1 for L1)."""
        raise NotImplementedError

    def targets(self, module: nn.Module, *, shared: bool = False) -> list[PenalizedParameter]:
        """List the parameters of ``module`` this penalty acts on, with their strengths.

        With ``shared=True`` the parameters without their own ``layer_alphas`` entry get
        ``alpha=None``: "whatever shared strength is used", as a population gives each
        member its own.
        """
        return penalized_parameters(
            module,
            alpha=None if shared else self.alpha,
            include=self.include,
            exclude=self.exclude,
            layer_alphas=self.layer_alphas,
        )

    def value(self, weights: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor) -> Tensor:
        """The penalty of ``weights`` at strength ``alpha`` (the functional form)."""
        return elastic_net_penalty(weights, alpha, l1_ratio=self.l1_ratio, n_samples=n_samples)

    def add_grad_(
        self, weights: Iterable[Tensor], grads: Iterable[Tensor], alpha: AlphaLike, *, n_samples: float | Tensor
    ) -> None:
        """Add the penalty's gradient to ``grads`` in place (the functional form)."""
        elastic_net_penalty_grad_(weights, grads, alpha, l1_ratio=self.l1_ratio, n_samples=n_samples)

    def __call__(self, module: nn.Module, *, n_samples: float) -> Tensor:
        """The penalty of ``module``'s selected parameters, differentiable."""
        weights, alphas = self._resolve(module)
        return self.value(weights, alphas, n_samples=_check_n_samples(n_samples))

    def grad_(self, module: nn.Module, *, n_samples: float) -> None:
        """Add the penalty's gradient to the ``.grad`` of ``module``'s selected parameters.

        Call it after the loss's backward pass and before ``optimizer.step()``, instead of
        adding the penalty value to the loss. A parameter whose ``.grad`` is ``None``
        gets one.
        """
        weights, alphas = self._resolve(module)
        for weight in weights:
            if weight.grad is None:
                weight.grad = torch.zeros_like(weight)
        self.add_grad_(weights, [w.grad for w in weights], alphas, n_samples=_check_n_samples(n_samples))

    def _resolve(self, module: nn.Module) -> tuple[list[Tensor], list[float]]:
        if not isinstance(module, nn.Module):
            raise invalid("module", "a torch.nn.Module", module, "For plain tensors use the functional form.")
        parameters = dict(module.named_parameters())
        targets = self.targets(module)
        return [parameters[t.name] for t in targets], [float(t.alpha) for t in targets]

    def get_config(self) -> dict[str, Any]:
        """A JSON-serializable description; ``get(config)`` rebuilds an equal penalty."""
        return {
            "name": self.name,
            "alpha": self.alpha,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "layer_alphas": dict(self.layer_alphas),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Penalty:
        """Rebuild a penalty from :meth:`get_config` output."""
        return cls(**{key: value for key, value in config.items() if key != "name"})

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        config = self.get_config()
        config.pop("name")
        defaults = {"include": [], "exclude": [], "layer_alphas": {}}
        shown = ", ".join(f"{k}={v!r}" for k, v in config.items() if defaults.get(k, object()) != v)
        return f"{type(self).__name__}({shown})"


class L2(Penalty):
    r"""L2 penalty (weight decay in the loss): :math:`\sum_j \alpha_j/(2m) \lVert W_j\rVert_F^2`.

    Parameters are those of :class:`Penalty`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(2, 1, bias=True)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> L2(alpha=2.0)(model, n_samples=10)  # bias not penalized
    tensor(2.5000, grad_fn=<MulBackward0>)
    """

    name = "l2"

    @property
    def l1_ratio(self) -> float:
        return 0.0


class L1(Penalty):
    r"""L1 penalty (lasso): :math:`\sum_j \alpha_j/m \, \lVert W_j\rVert_1`.

    Parameters are those of :class:`Penalty`.

    Examples
    --------
    >>> from torch import nn
    >>> L1(alpha=0.5).targets(nn.Linear(3, 2))
    [PenalizedParameter(name='weight', shape=(2, 3), alpha=0.5)]
    """

    name = "l1"

    @property
    def l1_ratio(self) -> float:
        return 1.0


#: The elastic net's share of L1: in [0, 1].
L1_RATIO = Range(Real, 0, 1, closed="both")


class ElasticNet(Penalty):
    r"""Elastic net: :math:`\sum_j \alpha_j/m \, (r \lVert W_j\rVert_1 + (1-r)/2 \, \lVert W_j\rVert_F^2)`.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength (>= 0).
    l1_ratio : float, default=0.5
        r, the mix between L1 (1.0) and L2 (0.0), in [0, 1], as in scikit-learn.
    include, exclude, layer_alphas
        As in :class:`Penalty`.

    Examples
    --------
    >>> ElasticNet(alpha=0.1, l1_ratio=0.25)
    ElasticNet(alpha=0.1, l1_ratio=0.25)
    """

    name = "elasticnet"

    def __init__(
        self,
        alpha: float = 1.0,
        l1_ratio: float = 0.5,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        layer_alphas: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(alpha, include=include, exclude=exclude, layer_alphas=layer_alphas)
        self._l1_ratio = L1_RATIO.check(l1_ratio, "l1_ratio")

    @property
    def l1_ratio(self) -> float:
        return self._l1_ratio

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["l1_ratio"] = self._l1_ratio
        return {key: config[key] for key in ("name", "alpha", "l1_ratio", "include", "exclude", "layer_alphas")}


PENALTIES: dict[str, type[Penalty]] = {"l2": L2, "l1": L1, "elasticnet": ElasticNet}


def get(identifier: str | Mapping[str, Any] | Penalty | None) -> Penalty | None:
    """Turn a name, a config dict or a penalty into a penalty object.

    Parameters
    ----------
    identifier : {"l2", "l1", "elasticnet"}, dict, Penalty or None
        A name gives the penalty with default strength; a dict is a
        :meth:`Penalty.get_config` output; a penalty is returned as is; ``None`` gives
        ``None`` (no penalty).

    Examples
    --------
    >>> get("l1")
    L1(alpha=1.0)
    >>> get({"name": "elasticnet", "alpha": 0.5, "l1_ratio": 0.1})
    ElasticNet(alpha=0.5, l1_ratio=0.1)
    """
    if identifier is None or isinstance(identifier, Penalty):
        return identifier
    if isinstance(identifier, str) and identifier in PENALTIES:
        return PENALTIES[identifier]()
    if isinstance(identifier, Mapping) and identifier.get("name") in PENALTIES:
        return PENALTIES[identifier["name"]].from_config(identifier)
    raise invalid(
        "penalty",
        "one of 'l2', 'l1', 'elasticnet', a config dict with such a 'name', or a Penalty",
        identifier,
    )


def _patterns(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise invalid(name, "a sequence of glob patterns (str)", value, f"Write {name}=[{value!r}].")
    patterns = tuple(value)
    if not all(isinstance(pattern, str) for pattern in patterns):
        raise invalid(name, "a sequence of glob patterns (str)", value)
    return patterns


def _check_n_samples(n_samples: Any) -> float:
    return check_float(n_samples, "n_samples", low=0.0, low_open=True)
