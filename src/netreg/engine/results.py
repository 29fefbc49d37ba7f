"""What a population run leaves behind: plain data, one result per member."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from netreg.history import History

__all__ = ["MemberResult", "PopulationResult", "epoch_records", "member_module", "with_tied_names"]


@dataclass
class MemberResult:
    """What one trained member leaves behind.

    Attributes
    ----------
    index : int
        Position of the member in the population.
    alpha : float
        Its shared strength (layers with their own ``layer_alphas`` keep theirs), as the run
        started; where a callback changed it, the history's ``"alphas"`` say how.
    seed : int
        Seed of its initialization and data order.
    status : {"converged", "early_stopped", "max_iter", "stalled", "diverged", "stopped"}
        Why it stopped: ``"converged"`` (its objective stopped improving),
        ``"early_stopped"`` (its validation metric stopped improving), ``"max_iter"``,
        ``"stalled"`` (L-BFGS's line search could make no more progress),
        ``"diverged"`` (non-finite objective or weights), or ``"stopped"`` (a callback
        stopped it through :meth:`netreg.engine.Population.stop`; the reason is in
        ``message`` and in the ``stop_reason`` key of its last history record).
    n_iter : int
        Epochs (or L-BFGS iterations) trained.
    best_epoch : int
        The epoch whose weights are kept: the best validation epoch with early stopping,
        the last finite epoch for a diverged member, else the last epoch.
    state_dict : dict of str to Tensor
        The kept weights (on CPU), loadable into the architecture: each parameter and buffer
        once, under its first name (a tied one's other names are added by :func:`member_module`,
        or by :func:`with_tied_names` before ``load_state_dict``).
    history : History
        Per-epoch records.
    metrics : dict of str to float
        ``train_loss``, ``train_score`` and ``<set>_loss``, ``<set>_score`` of every
        evaluation set, computed with the kept weights in eval mode (no dropout).
    message : str
        Human-readable reason for the status.
    optimizer_state : dict or None
        The SGD momentum or Adam moments at the end of training (``None`` for L-BFGS),
        to continue training later through ``init_optimizer_states``.

    Examples
    --------
    >>> result = MemberResult(index=0, alpha=0.1, seed=0, status="max_iter", n_iter=3, best_epoch=3,
    ...                       state_dict={}, history=History())
    >>> result.status, result.metrics
    ('max_iter', {})
    """

    index: int
    alpha: float
    seed: int
    status: str
    n_iter: int
    best_epoch: int
    state_dict: dict[str, Tensor]
    history: History
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    optimizer_state: dict[str, Any] | None = None


@dataclass
class PopulationResult:
    """All members' results, in member order, and how the run went.

    Attributes
    ----------
    members : list of MemberResult
        One per member, sorted by ``index``.
    fit_time_s : float
        Wall time of the run, in seconds.
    device, dtype : str
        Where and in which floating-point type it trained.

    Examples
    --------
    >>> PopulationResult(members=[], fit_time_s=0.5, device="cpu", dtype="float32").fit_time_s
    0.5
    """

    members: list[MemberResult]
    fit_time_s: float
    device: str
    dtype: str


def member_module(template: nn.Module, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """A copy of ``template`` holding a member's weights (and their dtype), in eval mode, on CPU.

    Examples
    --------
    >>> import torch
    >>> from netreg.nets import MLP
    >>> net = member_module(MLP(2, (), 1), {"layers.0.weight": torch.ones(1, 2, dtype=torch.float64),
    ...                                     "layers.0.bias": torch.zeros(1, dtype=torch.float64)})
    >>> net(torch.ones(1, 2, dtype=torch.float64)).item(), net.training
    (2.0, False)
    """
    module = copy.deepcopy(template).cpu()
    dtypes = {t.dtype for t in state_dict.values() if t.is_floating_point()}
    if len(dtypes) == 1:
        module = module.to(dtypes.pop())
    module.load_state_dict(with_tied_names(module, state_dict))
    return module.eval()


def with_tied_names(module: nn.Module, state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``state_dict`` with every other name of a tied parameter or buffer, as ``module.state_dict()`` has them.

    A member's weights hold each tensor once, under its first name; loading them needs the others.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> class Tied(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a = self.b = nn.Linear(1, 1, bias=False)
    >>> sorted(with_tied_names(Tied(), {"a.weight": torch.ones(1, 1)}))
    ['a.weight', 'b.weight']
    """
    completed = dict(state_dict)
    first: dict[int, str] = {}
    named = (*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False))
    for name, tensor in named:
        canonical = first.setdefault(id(tensor), name)
        if name not in completed and canonical in completed:
            completed[name] = completed[canonical]
    return completed


def epoch_records(
    ids: list[int], epoch: int, columns: Mapping[str, Tensor], norms: Tensor | None, penalized: list[str]
) -> dict[int, dict[str, Any]]:
    """Each member's record of an epoch (an entry of its :class:`netreg.history.History`).

    ``columns`` holds ``(K,)`` values by name (``train_loss``, ``penalty``, ...) of the
    members ``ids``; ``norms`` the ``(K, J)`` Frobenius norms of the ``penalized`` weights.

    Examples
    --------
    >>> import torch
    >>> epoch_records([3], 1, {"train_loss": torch.tensor([0.5])}, torch.tensor([[2.0]]), ["w"])
    {3: {'epoch': 1, 'train_loss': 0.5, 'weight_norms': {'w': 2.0}}}
    """
    values = {key: value.cpu().tolist() for key, value in columns.items()}
    norm_rows = norms.cpu().tolist() if norms is not None else [[] for _ in ids]
    records = {}
    for position, member in enumerate(ids):
        record: dict[str, Any] = {"epoch": epoch}
        record.update({key: column[position] for key, column in values.items()})
        record["weight_norms"] = dict(zip(penalized, norm_rows[position], strict=True))
        records[member] = record
    return records
