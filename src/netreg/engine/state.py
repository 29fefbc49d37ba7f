"""Everything that changes while a population trains, in one value with one ``take``.

Every field of :class:`PopulationState` is per member along its first axis, so when members
retire the state becomes ``state.take(staying)`` and nothing can be forgotten.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from netreg import penalties
from netreg.engine.inputs import Inputs
from netreg.engine.row_sets import Rows, row_groups
from netreg.engine.step import PenaltyTerm
from netreg.engine.stopping import Progress
from netreg.history import History

__all__ = ["PopulationState", "initial_state"]


@dataclass(eq=False)
class PopulationState:
    """The running members' state; position p in every field is the member ``ids[p]``.

    Every field is per member (a tensor along its first axis, a list, a dict of such, an
    object with its own ``take`` or ``None``), except those whose metadata says ``shared``.

    Attributes
    ----------
    ids : list of int
        The members' indices in the population.
    params, buffers : dict of str to Tensor
        Stacked parameters ``(K, ...)`` (leaves requiring gradients) and buffers.
    optimizer : object or None
        The solver's state (:mod:`netreg.engine.optim`), ``None`` for L-BFGS.
    train_rows : list of Tensor
        Each member's training row indices (CPU).
    generators : list of torch.Generator
        Each member's data-order generator (one object for members with the same rows and seed).
    dropout_generators : list of torch.Generator
        Each member's dropout generator (on the device), seeded with its seed.
    eval_rows : dict of str to Rows
        The held-out row sets.
    n_samples : Tensor
        ``(K,)`` m: the sum of each member's training sample weights.
    alphas : Tensor
        ``(K, J)`` float64 strength of each member on each penalized parameter.
    scales : dict of str to Tensor
        ``alpha / m`` per penalized parameter, ``(K, 1, ..., 1)``
        (:func:`netreg.penalties.penalty_scales`).
    progress : Progress
        Stopping counters.
    last_good, best : dict of str to Tensor
        Parameters and buffers of the last finite epoch and of the best (early stopping).
    histories : list of History
        Each member's records so far.
    dropout_generator : torch.Generator or None
        Shared: one generator for all members' masks when they all have the same seed and
        number of training rows (they draw the same masks); ``None`` otherwise.
    """

    ids: list[int]
    params: dict[str, Tensor]
    buffers: dict[str, Tensor]
    optimizer: Any
    train_rows: list[Tensor]
    generators: list[torch.Generator]
    dropout_generators: list[torch.Generator]
    eval_rows: dict[str, Rows]
    n_samples: Tensor
    alphas: Tensor
    scales: dict[str, Tensor]
    progress: Progress
    last_good: dict[str, Tensor]
    best: dict[str, Tensor]
    histories: list[History]
    dropout_generator: torch.Generator | None = field(default=None, metadata={"shared": True})

    def __post_init__(self) -> None:
        # Views the training step reads every batch, built once per membership.
        self.param_list = list(self.params.values())
        names = list(self.params)
        self.penalized = list(self.scales)
        self.penalized_weights = [self.params[name] for name in self.penalized]
        self.penalty_positions = tuple(names.index(name) for name in self.penalized)

    @property
    def n_members(self) -> int:
        """How many members are still training."""
        return len(self.ids)

    def dropout_draws(self) -> tuple[torch.Generator, ...]:
        """The generators the members draw their dropout masks from: one per member, or one
        for all (see ``dropout_generator``)."""
        if self.dropout_generator is not None:
            return (self.dropout_generator,)
        return tuple(self.dropout_generators)

    def penalty_term(self, l1_ratio: float) -> PenaltyTerm:
        """The penalty as :func:`netreg.engine.step.loss_and_grads` takes it."""
        return PenaltyTerm(self.penalty_positions, list(self.scales.values()), l1_ratio)

    @torch.no_grad()
    def set_alphas(self, position: int, values: Tensor) -> None:
        """Give the member at ``position`` the strengths ``values`` (``(J,)`` float64), in place in
        ``alphas`` and ``scales`` (so a :class:`PenaltyTerm` built before sees them too).

        Examples
        --------
        >>> import torch
        >>> state = PopulationState(
        ...     ids=[0], params={"w": torch.ones(1, 2, requires_grad=True)}, buffers={}, optimizer=None,
        ...     train_rows=[torch.arange(4)], generators=[None], dropout_generators=[None], eval_rows={},
        ...     n_samples=torch.tensor([4.0]), alphas=torch.ones(1, 1, dtype=torch.float64),
        ...     scales={"w": torch.full((1, 1), 0.25)}, progress=Progress.start(1), last_good={}, best={},
        ...     histories=[[]])
        >>> state.set_alphas(0, torch.tensor([2.0], dtype=torch.float64))
        >>> state.alphas.tolist(), state.scales["w"].tolist()
        ([[2.0]], [[0.5]])
        """
        self.alphas[position] = values.to(self.alphas)
        # The one formula of the scales (penalties.penalty_scales), for this member alone.
        new = penalties.penalty_scales(
            self.alphas[position : position + 1],
            self.n_samples[position : position + 1],
            [w[position : position + 1] for w in self.penalized_weights],
        )
        for scale, value in zip(self.scales.values(), new, strict=True):
            scale[position] = value[0]

    def take(self, positions: Tensor | list[int]) -> PopulationState:
        """The state of the members at ``positions``, in that order, in every field.

        Parameters stay leaves requiring gradients; the optimizer state, row sets and
        stopping counters are taken by their own ``take``.

        Examples
        --------
        >>> import torch
        >>> from netreg.engine.optim import SGDState
        >>> state = PopulationState(
        ...     ids=[4, 5, 6], params={"w": torch.arange(3.0).reshape(3, 1).requires_grad_()}, buffers={},
        ...     optimizer=SGDState([torch.zeros(3, 1)]), train_rows=[torch.arange(2)] * 3, generators=[None] * 3,
        ...     dropout_generators=[None] * 3, eval_rows={}, n_samples=torch.ones(3), alphas=torch.ones(3, 1),
        ...     scales={"w": torch.ones(3, 1)}, progress=Progress.start(3),
        ...     last_good={}, best={}, histories=[[], [], []])
        >>> kept = state.take([2, 0])
        >>> kept.ids, kept.params["w"].flatten().tolist(), kept.params["w"].is_leaf, kept.params["w"].requires_grad
        ([6, 4], [2.0, 0.0], True, True)
        """
        positions = torch.as_tensor(positions, dtype=torch.long)
        taken = {
            f.name: getattr(self, f.name) if f.metadata.get("shared") else _take(getattr(self, f.name), positions)
            for f in dataclasses.fields(self)
        }
        return type(self)(**taken)


def _take(value: Any, positions: Tensor) -> Any:
    if value is None:
        return None
    if isinstance(value, Tensor):
        with torch.no_grad():
            return value.detach()[positions.to(value.device)].requires_grad_(value.requires_grad)
    if isinstance(value, list):
        return [value[p] for p in positions.tolist()]
    if isinstance(value, dict):
        return {key: _take(item, positions) for key, item in value.items()}
    return value.take(positions)


def initial_state(inputs: Inputs, solver: Any) -> PopulationState:
    """The state before the first epoch: members stacked from ``inputs.init_states``.

    ``solver`` (:mod:`netreg.engine.solvers`) builds the optimizer state, then loads the
    members' ``init_optimizer_states``.
    """
    device, dtype, n_members = inputs.device, inputs.dtype, inputs.n_members
    states = inputs.init_states
    params = {
        name: torch.stack([s[name] for s in states]).to(device, dtype).requires_grad_(True)
        for name, _ in inputs.template.named_parameters()
    }
    # Floating buffers (running statistics) in the run's dtype, as module.to(dtype) casts them.
    buffers = {
        name: torch.stack([s[name] for s in states]).to(device, dtype if b.is_floating_point() else b.dtype)
        for name, b in inputs.template.named_buffers()
    }
    penalized = [p.name for p in inputs.penalized]
    alphas = torch.tensor(
        [[a if p.alpha is None else p.alpha for p in inputs.penalized] for a in inputs.alphas], dtype=torch.float64
    ).reshape(n_members, len(penalized))
    sw = inputs.sample_weight
    # Members with the same rows (a fold's alphas) share them: each set's sums once.
    groups, firsts = row_groups(inputs.train_rows)
    sums = [sw[torch.as_tensor(inputs.train_rows[k], device=device)].sum() for k in firsts]
    n_samples = torch.stack([sums[g] for g in groups])
    scales = penalties.penalty_scales(alphas, n_samples, [params[name] for name in penalized])
    optimizer = solver.init(list(params.values()))
    for position, saved in enumerate(inputs.init_optimizer_states):
        if saved is not None:
            solver.load_member_state(optimizer, position, list(params), saved)
    # Members with the same rows and seed draw the same orders: one generator draws them once.
    order_generators: dict[tuple[int, int], torch.Generator] = {}
    generators = [
        order_generators.setdefault((group, seed), torch.Generator().manual_seed(seed))
        for group, seed in zip(groups, inputs.seeds, strict=True)
    ]
    same_seed = len(set(inputs.seeds)) == 1
    shared_dropout = same_seed and len({len(rows) for rows in inputs.train_rows}) == 1
    kept = {**params, **buffers}
    return PopulationState(
        ids=list(range(n_members)),
        params=params,
        buffers=buffers,
        optimizer=optimizer,
        train_rows=[torch.as_tensor(rows, dtype=torch.long) for rows in inputs.train_rows],
        generators=generators,
        dropout_generators=[torch.Generator(device).manual_seed(seed) for seed in inputs.seeds],
        eval_rows={name: Rows.build(rows, sw, device) for name, rows in inputs.eval_rows.items()},
        n_samples=n_samples,
        alphas=alphas,
        scales=dict(zip(penalized, scales, strict=True)),
        progress=Progress.start(n_members),
        last_good={name: t.detach().clone() for name, t in kept.items()},
        best={name: t.detach().clone() for name, t in kept.items()},
        histories=[History() for _ in range(n_members)],
        dropout_generator=torch.Generator(device).manual_seed(inputs.seeds[0]) if shared_dropout else None,
    )
