"""One trained member of a sweep as a record (the store's row schema): what the store keeps and the results read."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from numbers import Integral
from typing import Any, ClassVar

from netreg._checks import ALPHA, COUNT, Range
from netreg.engine import MemberResult
from netreg.exceptions import DataError
from netreg.history import History
from netreg.json_fields import FieldPath, InRange, Is, Items, Keys, Value, check_fields

__all__ = ["MemberRecord"]


@dataclass(frozen=True)
class MemberRecord:
    """A finished member of a sweep (without its weights, which the store keeps beside it).

    Attributes
    ----------
    alpha_index, fold : int
        Where the member sits in the grid: ``alphas[alpha_index]`` on fold ``fold``.
    alpha, seed, status, n_iter, best_epoch, metrics, history, message
        As in :class:`netreg.MemberResult` (``history`` as a list of dicts; ``metrics`` with
        ``val_loss``, ``val_score`` for the fold's held-out rows).
    fit_time_s : float
        Seconds from the start of its chunk's training to its end.
    evidence : dict
        :meth:`netreg.evidence.EvidenceResult.to_dict` where the sweep computed it, else
        ``{"units_off": [...]}`` alone (hidden units switched off, per layer). A member stored
        before its Laplace evidence is back has ``{"units_off": [...], "pending": True}``
        (:attr:`evidence_pending`): trained, its evidence owed, added to its row when computed.

    Examples
    --------
    >>> history = [{"epoch": epoch} for epoch in (1, 2, 3)]
    >>> record = MemberRecord(0, 1, 0.1, 0, "converged", 3, 3, {"val_loss": 0.5}, history, "", 0.2)
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
    #: The key of ``evidence`` that marks a member whose evidence is still to compute.
    PENDING: ClassVar[str] = "pending"

    @property
    def key(self) -> tuple[int, int]:
        """``(alpha_index, fold)``."""
        return (self.alpha_index, self.fold)

    @property
    def evidence_pending(self) -> bool:
        """Whether the member is trained and stored but its Laplace evidence is not computed yet.

        Its ``evidence`` then holds its units switched off and the mark alone, no evidence (read
        as NaN by the results); a resumed sweep computes the evidence from the stored weights
        instead of training the member again.

        Examples
        --------
        >>> record = MemberRecord(0, 0, 0.1, 0, "converged", 1, 1, {}, [{"epoch": 1}], "", 0.2, {"units_off": [0]})
        >>> record.evidence_pending, record.owing_evidence().evidence_pending
        (False, True)
        >>> record.owing_evidence().evidence
        {'units_off': [0], 'pending': True}
        """
        return self.evidence.get(self.PENDING) is True

    def owing_evidence(self) -> MemberRecord:
        """This record marked as owing its evidence (see :attr:`evidence_pending`)."""
        return replace(self, evidence={**self.evidence, self.PENDING: True})

    def as_result(self, state_dict: dict[str, Any]) -> MemberResult:
        """The engine's result this record was made from (with ``state_dict``, its stored weights;
        no optimizer state), for the diagnostics of a stored member.

        Examples
        --------
        >>> record = MemberRecord(0, 1, 0.1, 0, "converged", 1, 1, {"val_loss": 0.5}, [{"epoch": 1}], "", 0.2)
        >>> result = record.as_result({})
        >>> MemberRecord.from_result(record.key, result, record.fit_time_s) == record
        True
        """
        return MemberResult(
            index=0,
            alpha=self.alpha,
            seed=self.seed,
            status=self.status,
            n_iter=self.n_iter,
            best_epoch=self.best_epoch,
            state_dict=state_dict,
            history=History(self.history),
            metrics=dict(self.metrics),
            message=self.message,
        )

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
    def from_row(
        cls,
        row: Mapping[str, Any],
        *,
        n_alphas: int | None = None,
        n_folds: int | None = None,
        source: str = "the member's row",
        error: Callable[[str], Exception] = DataError,
    ) -> MemberRecord:
        """Rebuild a record from :meth:`to_row` output (null metrics come back as NaN), checked.

        Every column is checked before use: its type, the JSON of ``metrics``, ``history`` and
        ``evidence``, ``best_epoch`` within the history, and ``alpha_index < n_alphas``, ``fold < n_folds``.

        Raises
        ------
        DataError (or ``error``)
            Naming ``source``, the column and what it holds, on the first problem found.

        Examples
        --------
        >>> record = MemberRecord(0, 1, 0.1, 0, "converged", 1, 1, {"val_loss": 0.5}, [{"epoch": 1}], "", 0.2)
        >>> MemberRecord.from_row({**record.to_row(), "metrics": "null"})
        Traceback (most recent call last):
        ...
        netreg.exceptions.DataError: the member's row: `metrics` must be a JSON object of numbers (or nulls); got None.
        >>> MemberRecord.from_row(record.to_row(), n_alphas=1, n_folds=1)
        Traceback (most recent call last):
        ...
        netreg.exceptions.DataError: the member's row: `fold` must be an int in [0, 0] (the sweep has 1 fold); got 1.
        """
        values = {name: row[name] for name in cls.columns()}
        for name in cls.JSON_FIELDS:
            problem = _parse_into(values, name)
            if problem:
                raise error(f"{source}: `{name}` {problem}")
        check_fields(values, _row_spec(n_alphas, n_folds), source=source, error=error)
        if values["best_epoch"] > len(values["history"]):  # the kept epoch is read from the history
            raise error(
                f"{source}: `best_epoch` must be an int in [0, {len(values['history'])}] (the epochs of its history); "
                f"got {values['best_epoch']}."
            )
        for name in ("metrics", "evidence"):
            values[name] = {key: math.nan if v is None else v for key, v in values[name].items()}
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any, low: int = 0, high: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value < high)


def _of_numbers(value: Any) -> bool:
    """A JSON object of numbers, where ``null`` stands for a non-finite one (:func:`_finite`)."""
    return isinstance(value, dict) and all(v is None or _is_number(v) for v in value.values())


def _parse_into(values: dict[str, Any], name: str) -> str:
    """Replace ``values[name]``, JSON text, by its value; what is wrong with it, if anything."""
    text = values[name]
    if not isinstance(text, str):
        return f"must be JSON text; got a {type(text).__name__}."
    try:
        values[name] = json.loads(text)
    except json.JSONDecodeError as error:
        return f"is not JSON ({error.msg} at character {error.pos})."
    except RecursionError:
        return "is not the JSON netreg wrote (nested too deeply)."
    return ""


@dataclass(frozen=True)
class _Epochs:
    """A list of epoch records checked in one fast pass; the walk of :data:`_EPOCH` names a problem."""

    def check(self, value: Any, path: FieldPath) -> None:
        if isinstance(value, list) and all(
            type(record) is dict and _is_int(record.get("epoch"), 1) and _of_numbers(record.get("weight_norms", {}))
            for record in value
        ):
            return
        Items(_EPOCH, min_items=0, expected="a JSON list (of epoch records)").check(value, path)


_OBJECT_OF_NUMBERS = Value("a JSON object of numbers (or nulls)", _of_numbers)
_NUMBER_OR_NULL = Value("a number or null", lambda v: v is None or _is_number(v))
_COUNT = InRange(Range(Integral, 0))
_EPOCH = Keys(
    {"epoch": InRange(COUNT)},
    optional={"weight_norms": _OBJECT_OF_NUMBERS},
    others=True,
    expected="a JSON object (an epoch's record)",
)
_EVIDENCE = Keys(
    {},
    optional={
        "log_evidence": _NUMBER_OR_NULL,
        "gamma": _NUMBER_OR_NULL,
        "units_off": Items(_COUNT, min_items=0, expected="a JSON list"),
        MemberRecord.PENDING: Value("true", lambda v: v is True),
    },
    others=True,
    expected="a JSON object",
)


def _index(size: int | None, unit: str) -> Value:
    """An int in ``[0, size)``: where a member sits in a grid of ``size`` (any int >= 0 without one)."""
    if size is None:
        return _COUNT
    counted = f"{size} {unit}{'' if size == 1 else 's'}"
    return Value(f"an int in [0, {size - 1}] (the sweep has {counted})", lambda v: _is_int(v, 0, size))


def _row_spec(n_alphas: int | None, n_folds: int | None) -> Keys:
    """The columns of a member's row (see :meth:`MemberRecord.from_row`)."""
    return Keys(
        {
            "alpha_index": _index(n_alphas, "alpha"),
            "fold": _index(n_folds, "fold"),
            "alpha": InRange(ALPHA),
            "seed": Value("an int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
            "status": Is(str, expected="a str"),
            "n_iter": _COUNT,
            "best_epoch": _COUNT,
            "metrics": _OBJECT_OF_NUMBERS,
            "history": _Epochs(),
            "message": Is(str, expected="a str"),
            "fit_time_s": Value("a number", _is_number),
            "evidence": _EVIDENCE,
        }
    )
