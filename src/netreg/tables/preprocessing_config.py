"""The fitted state of a :class:`netreg.tables.TablePreprocessor` as JSON, written and checked.

Version 1 holds the feature columns, numeric (``mean``, ``scale``) or categorical
(``categories``); version 2 adds ``impute`` with each column's ``fill``, ``drop``,
``id_column`` and date columns (their mean and scale in days). :func:`write_config` writes the
oldest version that holds the state, :func:`read_config` reads both (the layouts: ``_spec``)::

    {"type": "TablePreprocessor", "version": 2, "standardize": true, "impute": "median",
     "drop": ["notes"], "id_column": "name",
     "columns": [{"name": "sold", "kind": "date", "mean": 18690.0, "scale": 30.5, "fill": 18688.0}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netreg.exceptions import DataError
from netreg.json_fields import ANY, FINITE_NUMBER, Const, Is, Items, Keys, OneOf, Tagged, Value, check_fields
from netreg.message_text import show
from netreg.tables.columns import CATEGORICAL, DATE, NUMERIC, is_column_name
from netreg.tables.transformers import IMPUTE_STRATEGIES

__all__ = ["CONFIG_TYPE", "CONFIG_VERSIONS", "FittedTable", "read_config", "write_config"]

CONFIG_TYPE = "TablePreprocessor"
#: The versions read.
CONFIG_VERSIONS = (1, 2)
_SOURCE = "preprocessor config"


@dataclass(frozen=True)
class FittedTable:
    """What a fitted preprocessor holds, as plain data: one entry per feature column, in order.

    ``means`` and ``scales`` have one entry per numeric or date column, ``categories`` one
    list per categorical column, ``fills`` one value per column (None without ``impute``).
    """

    standardize: bool
    impute: str | None
    drop: list[Any]
    id_column: Any
    columns: list[Any]
    kinds: list[str]
    means: list[float]
    scales: list[float]
    categories: list[list[str]]
    fills: list[Any] | None


_NAME = Value("a str or an int", is_column_name)
_DISTINCT_TEXT = Value(
    "a non-empty list of distinct str",
    lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(c, str) for c in v) and len(set(v)) == len(v),
)
_SCALE = Value("a finite number > 0", lambda v: FINITE_NUMBER.test(v) and v > 0)
_TEXT = Is(str, expected="a str")


def _columns_spec(*, dates: bool, fill: bool) -> Items:
    """The ``columns`` of a version: numeric, categorical (and date) entries (with their ``fill``)."""
    scaled = {"mean": FINITE_NUMBER, "scale": _SCALE, **({"fill": FINITE_NUMBER} if fill else {})}
    kinds = {NUMERIC: scaled, CATEGORICAL: {"categories": _DISTINCT_TEXT, **({"fill": _TEXT} if fill else {})}}
    if dates:
        kinds[DATE] = scaled
    variants = {kind: Keys({"name": _NAME, "kind": ANY, **keys}) for kind, keys in kinds.items()}
    return Items(Tagged("kind", variants), distinct="name")


_TYPE_AND_VERSION = Keys({}, optional={"type": Const(CONFIG_TYPE), "version": OneOf(*CONFIG_VERSIONS)}, others=True)
_IMPUTE = Keys({}, optional={"impute": OneOf(None, *IMPUTE_STRATEGIES)}, others=True)


def _spec(version: int, *, fill: bool) -> Keys:
    """The layout of a config of ``version``."""
    keys: dict[str, Any] = {
        "type": Const(CONFIG_TYPE),
        "version": Const(version),
        "standardize": Value("a bool", lambda v: isinstance(v, bool)),
    }
    if version == 2:
        keys["impute"] = ANY
        keys["drop"] = Value(
            "a list of distinct column names (str or int)",
            lambda v: isinstance(v, list) and all(is_column_name(n) for n in v) and len(set(v)) == len(v),
        )
        keys["id_column"] = Value("a column name (str or int) or None", lambda v: v is None or is_column_name(v))
    return Keys({**keys, "columns": _columns_spec(dates=version == 2, fill=fill)})


#: Without standardization the numeric and date columns pass through: their mean and scale are 0 and 1.
_PASSED_THROUGH = {"mean": Value("0 when `standardize` is false", lambda v: v == 0)}
_PASSED_THROUGH["scale"] = Value("1 when `standardize` is false", lambda v: v == 1)
_UNSTANDARDIZED_SPEC = Keys(
    {
        "columns": Items(
            Tagged(
                "kind",
                {
                    NUMERIC: Keys(_PASSED_THROUGH, others=True),
                    DATE: Keys(_PASSED_THROUGH, others=True),
                    CATEGORICAL: Keys({}, others=True),
                },
            )
        )
    },
    others=True,
)


def write_config(state: FittedTable) -> dict[str, Any]:
    """The JSON-serializable config of a fitted state, in the oldest version that holds it.

    Examples
    --------
    >>> state = FittedTable(True, None, [], None, ["a"], ["numeric"], [1.0], [2.0], [], None)
    >>> write_config(state)
    {'type': 'TablePreprocessor', 'version': 1, 'standardize': True, 'columns': [{'name': 'a', 'kind': 'numeric', 'mean': 1.0, 'scale': 2.0}]}
    >>> write_config(FittedTable(True, None, ["b"], None, ["a"], ["numeric"], [1.0], [2.0], [], None))["version"]
    2
    """
    stats, categories = iter(zip(state.means, state.scales, strict=True)), iter(state.categories)
    fills = iter(state.fills or [])
    columns = []
    for name, kind in zip(state.columns, state.kinds, strict=True):
        if kind == CATEGORICAL:
            entry = {"name": name, "kind": kind, "categories": list(next(categories))}
        else:
            mean, scale = next(stats)
            entry = {"name": name, "kind": kind, "mean": mean, "scale": scale}
        if state.fills is not None:
            entry["fill"] = next(fills)
        columns.append(entry)
    config: dict[str, Any] = {"type": CONFIG_TYPE, "version": 1, "standardize": state.standardize}
    if state.impute is not None or state.drop or state.id_column is not None or DATE in state.kinds:
        config.update(version=2, impute=state.impute, drop=list(state.drop), id_column=state.id_column)
    config["columns"] = columns
    return config


def read_config(config: Any) -> FittedTable:
    """The fitted state in a config of version 1 or 2, checked.

    Raises
    ------
    DataError
        If the config is malformed: not a dict, an unknown version, missing or unexpected
        keys, values of the wrong type or out of range, a ``fill`` that is not one of its
        column's categories, or a dropped or id column that is also a feature.

    Examples
    --------
    >>> read_config({"type": "TablePreprocessor", "version": 3})
    Traceback (most recent call last):
    ...
    netreg.exceptions.DataError: preprocessor config: `version` must be 1 or 2; got 3.
    """
    check_fields(config, _TYPE_AND_VERSION, source=_SOURCE, root="config")
    if config.get("version") == 1:
        check_fields(config, _spec(1, fill=False), source=_SOURCE, root="config")
        config = {**config, "impute": None, "drop": [], "id_column": None}
    else:
        check_fields(config, _IMPUTE, source=_SOURCE, root="config")
        check_fields(config, _spec(2, fill=config.get("impute") is not None), source=_SOURCE, root="config")
    if not config["standardize"]:
        check_fields(config, _UNSTANDARDIZED_SPEC, source=_SOURCE, root="config")
    entries = config["columns"]
    for i, entry in enumerate(entries):
        if entry["kind"] == CATEGORICAL and "fill" in entry and entry["fill"] not in entry["categories"]:
            raise DataError(f"{_SOURCE}: `columns[{i}].fill` must be one of its categories; got {show(entry['fill'])}.")
    names = [entry["name"] for entry in entries]
    for name in config["drop"]:
        if name in names:
            raise DataError(f"{_SOURCE}: `drop` must name columns that are not features; got {show(name)}.")
    if config["id_column"] is not None and config["id_column"] in [*names, *config["drop"]]:
        raise DataError(
            f"{_SOURCE}: `id_column` must name a column that is neither a feature nor dropped; "
            f"got {show(config['id_column'])}."
        )
    scaled = [entry for entry in entries if entry["kind"] != CATEGORICAL]
    return FittedTable(
        standardize=config["standardize"],
        impute=config["impute"],
        drop=list(config["drop"]),
        id_column=config["id_column"],
        columns=names,
        kinds=[entry["kind"] for entry in entries],
        means=[entry["mean"] for entry in scaled],
        scales=[entry["scale"] for entry in scaled],
        categories=[entry["categories"] for entry in entries if entry["kind"] == CATEGORICAL],
        fills=None if config["impute"] is None else [entry["fill"] for entry in entries],
    )
