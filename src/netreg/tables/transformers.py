"""The scikit-learn side of the table preprocessing: one ``ColumnTransformer`` of typed columns, built, fitted, restored and read back."""

from __future__ import annotations

from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from netreg.exceptions import DataError
from netreg.message_text import rows_values, show
from netreg.tables.columns import CATEGORICAL, NUMERIC

__all__ = [
    "IMPUTE_STRATEGIES",
    "fit_table_transformer",
    "numeric_positions",
    "restore_table_transformer",
    "standardize_far_values",
    "table_transformer",
    "transformer_state",
]

#: ``SimpleImputer`` strategies of the numeric and date columns; text columns always take
#: their most frequent value (a mean of text has no meaning).
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent")


def table_transformer(
    columns: list[str],
    kinds: list[str],
    *,
    standardize: bool,
    impute: str | None = None,
    categories: list[list[str]] | None = None,
) -> ColumnTransformer:
    """The unfitted ``ColumnTransformer`` of typed columns, output columns in input order.

    Each run of consecutive columns of one kind (date columns count as numeric) is one
    step: ``numeric_{i}`` (a ``StandardScaler``, or ``"passthrough"`` without
    ``standardize``) or ``categorical_{i}`` (a dense
    ``OneHotEncoder(handle_unknown="ignore")``, with the given ``categories``, one list per
    categorical column, if any). With ``impute``, a ``SimpleImputer`` comes first in each
    step (a ``Pipeline`` of ``"impute"`` then ``"scale"`` or ``"encode"``): of strategy
    ``impute`` for numeric columns, ``"most_frequent"`` for categorical ones. Output names
    are the input names (``"size"``) and ``"{column}_{category}"``.

    Examples
    --------
    >>> transformer = table_transformer(["a", "b", "c"], ["numeric", "date", "categorical"], standardize=True)
    >>> [(name, type(step).__name__, names) for name, step, names in transformer.transformers]
    [('numeric_0', 'StandardScaler', ['a', 'b']), ('categorical_1', 'OneHotEncoder', ['c'])]
    >>> transformer = table_transformer(["a", "c"], ["numeric", "categorical"], standardize=False, impute="median")
    >>> [[type(part).__name__ for _, part in step.steps] for _, step, _ in transformer.transformers]
    [['SimpleImputer'], ['SimpleImputer', 'OneHotEncoder']]
    """
    steps: list[tuple[str, Any, list[str]]] = []
    categories_left = iter(categories or [])
    position = 0
    # Dates are scaled as numbers.
    for i, (kind, run) in enumerate(groupby(CATEGORICAL if kind == CATEGORICAL else NUMERIC for kind in kinds)):
        names = columns[position : position + len(list(run))]
        position += len(names)
        if kind == NUMERIC:
            last: Any = ("scale", StandardScaler()) if standardize else None
            strategy = impute
        else:
            chosen = "auto" if categories is None else [next(categories_left) for _ in names]
            last = ("encode", OneHotEncoder(categories=chosen, handle_unknown="ignore", sparse_output=False))
            strategy = "most_frequent"
        if impute is None:
            step = "passthrough" if last is None else last[1]
        else:
            step = Pipeline([("impute", SimpleImputer(strategy=strategy)), *([] if last is None else [last])])
        steps.append((f"{kind}_{i}", step, names))
    # "{feature_name}": the names as they are, without a step prefix (and without refusing
    # the rare repeated name, such as a numeric "a_x" beside column "a" holding "x").
    transformer = ColumnTransformer(steps, sparse_threshold=0.0, verbose_feature_names_out="{feature_name}")
    return transformer.set_output(transform="default")


def fit_table_transformer(
    typed: pd.DataFrame, kinds: list[str], *, standardize: bool, impute: str | None = None
) -> ColumnTransformer:
    """:func:`table_transformer` fitted on a typed table.

    Each numeric step is fitted on its columns divided by a power of two near their
    largest magnitude, then given back the units. Dividing by a power of two is exact, so
    the means, scales and imputed values are bit for bit those fitted on the columns
    themselves, except where those would leave the float range: ``StandardScaler`` alone
    takes a column of magnitude beyond about 1e154 (its squares overflow) or below about
    1e-154 (they underflow) for a constant one, scale 1, and a mean of values near 1e308
    overflows.

    Examples
    --------
    >>> typed = pd.DataFrame({"a": [1e308, -1e308], "b": ["x", "y"]})
    >>> transformer = fit_table_transformer(typed, ["numeric", "categorical"], standardize=True)
    >>> transformer.transform(typed)
    array([[ 1.,  1.,  0.],
           [-1.,  0.,  1.]])
    """
    transformer = table_transformer(list(typed.columns), kinds, standardize=standardize, impute=impute)
    units = _units(typed, kinds)
    transformer.fit(typed.assign(**{name: typed[name] / unit for name, unit in units.items()}))
    for scaler, names in _scalers(transformer):
        _rescale(scaler, np.array([units[name] for name in names]))
    for imputer, names in _parts(transformer, SimpleImputer, NUMERIC):
        imputer.statistics_ = imputer.statistics_ * np.array([units[name] for name in names])
    return transformer


def restore_table_transformer(
    columns: list[str],
    kinds: list[str],
    *,
    standardize: bool,
    means: list[float],
    scales: list[float],
    categories: list[list[str]],
    impute: str | None = None,
    fills: list[Any] | None = None,
) -> ColumnTransformer:
    """A fitted :func:`table_transformer` from saved statistics.

    ``means`` and ``scales`` have one entry per numeric or date column, ``categories`` one
    list per categorical column, ``fills`` (with ``impute``) one value per column: the
    number or category its imputer fills in. The transformer is fitted on one placeholder
    row (numeric columns 0, categorical ones their first category), then its scalers take
    ``means`` and ``scales`` (``var_`` is ``scale_ ** 2``; ``n_samples_seen_`` is not saved
    and is 0), its encoders ``categories`` and its imputers ``fills``.

    Examples
    --------
    >>> transformer = restore_table_transformer(
    ...     ["a", "b"], ["numeric", "categorical"], standardize=True, means=[1.0], scales=[2.0], categories=[["x", "y"]]
    ... )
    >>> transformer.transform(pd.DataFrame({"a": [3.0], "b": ["y"]}))
    array([[1., 0., 1.]])
    >>> transformer = restore_table_transformer(
    ...     ["a", "b"], ["numeric", "categorical"], standardize=True, means=[1.0], scales=[2.0],
    ...     categories=[["x", "y"]], impute="mean", fills=[5.0, "x"],
    ... )
    >>> transformer.transform(pd.DataFrame({"a": [np.nan], "b": [np.nan]}))
    array([[2., 1., 0.]])
    """
    transformer = table_transformer(columns, kinds, standardize=standardize, impute=impute, categories=categories)
    firsts = iter(values[0] for values in categories)
    placeholder = {
        name: [0.0] if kind != CATEGORICAL else [next(firsts)] for name, kind in zip(columns, kinds, strict=True)
    }
    transformer.fit(pd.DataFrame(placeholder))
    stats = dict(
        zip(
            [name for name, kind in zip(columns, kinds, strict=True) if kind != CATEGORICAL],
            zip(means, scales, strict=True),
            strict=True,
        )
    )
    for scaler, names in _scalers(transformer):
        scaler.mean_ = np.array([stats[name][0] for name in names], dtype=np.float64)
        scaler.scale_ = np.array([stats[name][1] for name in names], dtype=np.float64)
        with np.errstate(over="ignore"):
            scaler.var_ = scaler.scale_**2
        scaler.n_samples_seen_ = 0
    by_name = dict(zip(columns, fills, strict=True)) if fills is not None else {}
    for kind in (NUMERIC, CATEGORICAL):
        for imputer, names in _parts(transformer, SimpleImputer, kind):
            imputer.statistics_ = np.array([by_name[name] for name in names], dtype=imputer.statistics_.dtype)
    return transformer


def transformer_state(
    transformer: ColumnTransformer, n_scaled: int
) -> tuple[np.ndarray, np.ndarray, list[list[str]], list[Any] | None]:
    """The means, scales (0 and 1 without standardization) of the numeric and date columns,
    the categories of the categorical ones, and the imputed value of every column (None
    without imputation), each in column order.

    Examples
    --------
    >>> transformer = restore_table_transformer(
    ...     ["a", "b"], ["numeric", "categorical"], standardize=True, means=[1.0], scales=[2.0], categories=[["x", "y"]]
    ... )
    >>> transformer_state(transformer, 1)
    (array([1.]), array([2.]), [['x', 'y']], None)
    """
    scalers = _scalers(transformer)
    means = np.concatenate([s.mean_ for s, _ in scalers]) if scalers else np.zeros(n_scaled)
    scales = np.concatenate([s.scale_ for s, _ in scalers]) if scalers else np.ones(n_scaled)
    categories = [
        [str(category) for category in encoder.categories_[j]]
        for encoder, names in _parts(transformer, OneHotEncoder, CATEGORICAL)
        for j in range(len(names))
    ]
    imputers = _parts(transformer, SimpleImputer, NUMERIC) + _parts(transformer, SimpleImputer, CATEGORICAL)
    fills = None
    if imputers:
        by_name = {
            name: value for imputer, names in imputers for name, value in zip(names, imputer.statistics_, strict=True)
        }
        order = [name for _, _, names in transformer.transformers_ for name in names]
        fills = [_plain(by_name[name]) for name in order]
    return means, scales, categories, fills


def numeric_positions(transformer: ColumnTransformer) -> list[int]:
    """The output column of each numeric or date input column of a fitted transformer, in order.

    Examples
    --------
    >>> typed = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [0.0, 1.0]})
    >>> numeric_positions(fit_table_transformer(typed, ["numeric", "categorical", "numeric"], standardize=False))
    [0, 3]
    """
    return [
        transformer.output_indices_[name].start + offset
        for name, _, names in transformer.transformers_
        if name.startswith(NUMERIC)
        for offset in range(len(names))
    ]


def standardize_far_values(
    output: np.ndarray,
    typed: pd.DataFrame,
    transformer: ColumnTransformer,
    scaled: list[Any],
    means: np.ndarray,
    scales: np.ndarray,
) -> None:
    """Recompute, in place, the entries of ``output`` whose ``x - mean`` overflowed (values near
    1e308), in units of the largest term, for the numeric and date columns ``scaled``.

    Raises
    ------
    DataError
        If a value is too far from those seen at fit to be standardized even so.

    Examples
    --------
    >>> transformer = restore_table_transformer(
    ...     ["a"], ["numeric"], standardize=True, means=[-1e308], scales=[1e308], categories=[]
    ... )
    >>> typed = pd.DataFrame({"a": [1e308]})
    >>> with np.errstate(over="ignore"):
    ...     output = transformer.transform(typed)
    >>> standardize_far_values(output, typed, transformer, ["a"], np.array([-1e308]), np.array([1e308]))
    >>> output
    array([[2.]])
    """
    for name, position, mean, scale in zip(scaled, numeric_positions(transformer), means, scales, strict=True):
        rows = np.flatnonzero(~np.isfinite(output[:, position]))
        if len(rows) == 0:
            continue
        values = typed[str(name)].to_numpy()[rows]
        unit = max(abs(mean), scale)
        with np.errstate(over="ignore", invalid="ignore"):
            output[rows, position] = (values / unit - mean / unit) / (scale / unit)
        still = np.flatnonzero(~np.isfinite(output[rows, position]))
        if len(still):
            raise DataError(
                f"column {show(name)} holds a value too far from those seen at fit to be standardized "
                f"({rows_values([(typed.index[rows[still[0]]], values[still[0]])])}; mean {mean:g}, "
                f"scale {scale:g}); expected values of a similar magnitude."
            )


def _parts(transformer: ColumnTransformer, cls: type, kind: str) -> list[tuple[Any, list[str]]]:
    """The fitted ``cls`` objects of a fitted transformer's steps of ``kind`` (alone or in a
    ``Pipeline``), with their columns, in output order."""
    found = []
    for name, step, names in transformer.transformers_:
        parts = [part for _, part in step.steps] if isinstance(step, Pipeline) else [step]
        found += [(part, names) for part in parts if isinstance(part, cls) and name.startswith(kind)]
    return found


def _scalers(transformer: ColumnTransformer) -> list[tuple[StandardScaler, list[str]]]:
    """The fitted scalers of a fitted transformer, with their columns, in output order."""
    return _parts(transformer, StandardScaler, NUMERIC)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number or str it holds."""
    return value.item() if isinstance(value, np.generic) else value


def _units(typed: pd.DataFrame, kinds: list[str]) -> dict[str, float]:
    """Per numeric or date column, the largest power of two at most its largest magnitude (1 for a zero column)."""
    units = {}
    for name, kind in zip(typed.columns, kinds, strict=True):
        if kind != CATEGORICAL:
            peak = float(np.nanmax(np.abs(typed[name].to_numpy())))
            units[name] = 1.0 if peak == 0.0 else float(np.ldexp(1.0, np.frexp(peak)[1] - 1))
    return units


def _rescale(scaler: StandardScaler, units: np.ndarray) -> None:
    """Turn a scaler fitted on columns divided by ``units`` into the scaler of the columns."""
    # StandardScaler gives a constant column scale 1 while its var_ stays (near) 0: that
    # is how its constant columns are told apart, here as in its own _handle_zeros_in_scale.
    constant = scaler.scale_ != np.sqrt(scaler.var_)
    scale = scaler.scale_ * units
    scaler.mean_ = scaler.mean_ * units
    with np.errstate(over="ignore"):  # the variance of values near 1e308 is beyond the float range
        scaler.var_ = scaler.var_ * units * units  # (units**2 alone may overflow, and 0 * inf is nan)
    # scale 0: the standard deviation of tiny (subnormal) values underflowed; as a constant.
    scaler.scale_ = np.where(constant | (scale == 0.0), 1.0, scale)
