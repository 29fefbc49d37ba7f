"""One trained member of a sweep, as a record: what the store keeps and the results read.

A :class:`MemberRecord` owns its schema: it is made from the engine's result
(:meth:`MemberRecord.from_result`), written to the store as a row
(:meth:`MemberRecord.to_row`) and read back from one (:meth:`MemberRecord.from_row`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from netreg.engine import MemberResult

__all__ = ["MemberRecord"]


@dataclass(frozen=True)
class MemberRecord:
    """A finished member of a sweep (without its weights, which the store keeps beside it).

    Attributes
    ----------
    alpha_index, fold : int
        Where the member sits in the grid: ``alphas[alpha_index]`` on fold ``fold``.
    alpha : float
    seed : int
    status : str
        Why it stopped (see :class:`netreg.MemberResult`).
    n_iter : int
        Epochs trained.
    best_epoch : int
        The epoch whose weights were kept.
    metrics : dict of str to float
        ``train_loss``, ``train_score``, ``val_loss``, ``val_score`` (and those of any
        other evaluation set), with the kept weights.
    history : list of dict
        Per-epoch records (:mod:`netreg.history`).
    message : str
    fit_time_s : float
        Seconds from the start of its chunk's training to its end.
    evidence : dict
        What the curvature of its training objective says about it
        (:class:`netreg.evidence.EvidenceResult` as plain data: ``log_evidence``, ``gamma``,
        ``layer_gamma``, ``noise_variance``, ``units_off``, ...), where the sweep computed it;
        ``{"units_off": [...]}`` alone (hidden units switched off, per layer) elsewhere.

    Examples
    --------
    >>> record = MemberRecord(0, 1, 0.1, 0, "converged", 3, 3, {"val_loss": 0.5}, [], "", 0.2)
    >>> MemberRecord.from_row(record.to_row()) == record
    True
    """

    alpha_index: int
    fold: int
    alpha: float
    seed: int
    status: str
    n_iter: int
    best_epoch: int
    metrics: dict[str, float] = field(hash=False)
    history: list[dict[str, Any]] = field(hash=False)
    message: str
    fit_time_s: float
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)

    #: The fields stored as JSON text.
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("metrics", "history", "evidence")

    @property
    def key(self) -> tuple[int, int]:
        """``(alpha_index, fold)``."""
        return (self.alpha_index, self.fold)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The field names, in order: the store's columns."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_result(
        cls, key: tuple[int, int], result: MemberResult, fit_time_s: float, evidence: dict[str, Any] | None = None
    ) -> MemberRecord:
        """The record of the engine's ``result`` for the member at ``key``."""
        return cls(
            alpha_index=int(key[0]),
            fold=int(key[1]),
            alpha=float(result.alpha),
            seed=int(result.seed),
            status=result.status,
            n_iter=int(result.n_iter),
            best_epoch=int(result.best_epoch),
            metrics=dict(result.metrics),
            history=list(result.history),
            message=result.message,
            fit_time_s=float(fit_time_s),
            evidence=dict(evidence or {}),
        )

    def to_row(self) -> dict[str, Any]:
        """Column -> SQL value; JSON text for metrics and history (non-finite floats as null)."""
        row = asdict(self)
        for name in self.JSON_FIELDS:
            row[name] = json.dumps(_finite(row[name]))
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> MemberRecord:
        """Rebuild a record from :meth:`to_row` output (null metrics come back as NaN)."""
        values = {name: row[name] for name in cls.columns()}
        values["metrics"] = {key: math.nan if v is None else v for key, v in json.loads(values["metrics"]).items()}
        values["history"] = json.loads(values["history"])
        values["evidence"] = {
            key: math.nan if v is None else v for key, v in json.loads(values["evidence"] or "{}").items()
        }
        return cls(**values)

    def kept_weight_norms(self) -> dict[str, float]:
        """``{layer: ||W||_F}`` at the kept epoch (empty when no epoch was kept)."""
        if not self.history or not self.best_epoch:
            return {}
        return dict(self.history[self.best_epoch - 1].get("weight_norms", {}))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
