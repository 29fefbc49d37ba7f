"""The scikit-learn side of the table preprocessing: one ``ColumnTransformer`` of typed columns.

Built (:func:`table_transformer`), fitted so that no statistic overflows
(:func:`fit_table_transformer`), rebuilt from saved statistics without pickle
(:func:`restore_table_transformer`), and read back (:func:`transformer_state`). Used by
:class:`netreg.io.TablePreprocessor`; the columns are typed before
(:mod:`netreg.io.columns`): numeric columns are float64, categorical ones text.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from netreg.io.columns import CATEGORICAL, NUMERIC

__all__ = [
    "fit_table_transformer",
    "numeric_positions",
    "restore_table_transformer",
    "table_transformer",
    "transformer_state",
]


def table_transformer(
    columns: list[str], kinds: list[str], *, standardize: bool, categories: list[list[str]] | None = None
) -> ColumnTransformer:
    """The unfitted ``ColumnTransformer`` of typed columns, output columns in input order.

    Each run of consecutive columns of one kind is one step: ``numeric_{i}`` (a
    ``StandardScaler``, or ``"passthrough"`` without ``standardize``) or ``categorical_{i}``
    (a dense ``OneHotEncoder(handle_unknown="ignore")``, with the given ``categories``, one
    list per categorical column, if any). Output names are the input names (``"size"``) and
    ``"{column}_{category}"``.

    Examples
    --------
    >>> transformer = table_transformer(["a", "b", "c"], ["numeric", "numeric", "categorical"], standardize=True)
    >>> [(name, type(step).__name__, names) for name, step, names in transformer.transformers]
    [('numeric_0', 'StandardScaler', ['a', 'b']), ('categorical_1', 'OneHotEncoder', ['c'])]
    """
    steps: list[tuple[str, Any, list[str]]] = []
    categories_left = iter(categories or [])
    position = 0
    for i, (kind, run) in enumerate(groupby(kinds)):
        names = columns[position : position + len(list(run))]
        position += len(names)
        if kind == NUMERIC:
            steps.append((f"numeric_{i}", StandardScaler() if standardize else "passthrough", names))
        else:
            chosen = "auto" if categories is None else [next(categories_left) for _ in names]
            encoder = OneHotEncoder(categories=chosen, handle_unknown="ignore", sparse_output=False)
            steps.append((f"categorical_{i}", encoder, names))
    # "{feature_name}": the names as they are, without a step prefix (and without refusing
    # the rare repeated name, such as a numeric "a_x" beside column "a" holding "x").
    transformer = ColumnTransformer(steps, sparse_threshold=0.0, verbose_feature_names_out="{feature_name}")
    return transformer.set_output(transform="default")


def fit_table_transformer(typed: pd.DataFrame, kinds: list[str], *, standardize: bool) -> ColumnTransformer:
    """:func:`table_transformer` fitted on a typed table.

    Each scaler is fitted on its columns divided by a power of two near their largest
    magnitude, then given back the units. Dividing by a power of two is exact, so the
    means and scales are bit for bit those of a ``StandardScaler`` fitted on the columns
    themselves, except that values near the float limits (1e308) no longer overflow.

    Examples
    --------
    >>> typed = pd.DataFrame({"a": [1e308, -1e308], "b": ["x", "y"]})
    >>> transformer = fit_table_transformer(typed, ["numeric", "categorical"], standardize=True)
    >>> transformer.transform(typed)
    array([[ 1.,  1.,  0.],
           [-1.,  0.,  1.]])
    """
    transformer = table_transformer(list(typed.columns), kinds, standardize=standardize)
    if not standardize:
        return transformer.fit(typed)
    units = _units(typed, kinds)
    transformer.fit(typed.assign(**{name: typed[name] / unit for name, unit in units.items()}))
    for scaler, names in _scalers(transformer):
        _rescale(scaler, np.array([units[name] for name in names]))
    return transformer


def restore_table_transformer(
    columns: list[str],
    kinds: list[str],
    *,
    standardize: bool,
    means: list[float],
    scales: list[float],
    categories: list[list[str]],
) -> ColumnTransformer:
    """A fitted :func:`table_transformer` from saved statistics, one per numeric column.

    It is fitted on one placeholder row (numeric columns 0, categorical ones their first
    category), then its scalers take ``means`` and ``scales`` (``var_`` is ``scale_ ** 2``;
    ``n_samples_seen_`` is not saved and is 0) and its encoders ``categories``.

    Examples
    --------
    >>> transformer = restore_table_transformer(
    ...     ["a", "b"], ["numeric", "categorical"], standardize=True, means=[1.0], scales=[2.0], categories=[["x", "y"]]
    ... )
    >>> transformer.transform(pd.DataFrame({"a": [3.0], "b": ["y"]}))
    array([[1., 0., 1.]])
    """
    transformer = table_transformer(columns, kinds, standardize=standardize, categories=categories)
    firsts = iter(values[0] for values in categories)
    placeholder = {name: [0.0] if kind == NUMERIC else [next(firsts)] for name, kind in zip(columns, kinds)}
    transformer.fit(pd.DataFrame(placeholder))
    stats = dict(zip([name for name, kind in zip(columns, kinds) if kind == NUMERIC], zip(means, scales)))
    for scaler, names in _scalers(transformer):
        scaler.mean_ = np.array([stats[name][0] for name in names], dtype=np.float64)
        scaler.scale_ = np.array([stats[name][1] for name in names], dtype=np.float64)
        with np.errstate(over="ignore"):
            scaler.var_ = scaler.scale_**2
        scaler.n_samples_seen_ = 0
    return transformer


def transformer_state(transformer: ColumnTransformer, n_numeric: int) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """The means, scales (0 and 1 without standardization) and categories of a fitted transformer.

    Examples
    --------
    >>> transformer = restore_table_transformer(
    ...     ["a", "b"], ["numeric", "categorical"], standardize=True, means=[1.0], scales=[2.0], categories=[["x", "y"]]
    ... )
    >>> transformer_state(transformer, 1)
    (array([1.]), array([2.]), [['x', 'y']])
    """
    scalers = _scalers(transformer)
    means = np.concatenate([s.mean_ for s, _ in scalers]) if scalers else np.zeros(n_numeric)
    scales = np.concatenate([s.scale_ for s, _ in scalers]) if scalers else np.ones(n_numeric)
    categories = [
        [str(category) for category in values]
        for name, step, _ in transformer.transformers_
        if name.startswith(CATEGORICAL)
        for values in step.categories_
    ]
    return means, scales, categories


def numeric_positions(transformer: ColumnTransformer) -> list[int]:
    """The output column of each numeric input column of a fitted transformer, in order.

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


def _scalers(transformer: ColumnTransformer) -> list[tuple[StandardScaler, list[str]]]:
    """The fitted scalers of a fitted transformer, with their columns, in output order."""
    return [(step, names) for _, step, names in transformer.transformers_ if isinstance(step, StandardScaler)]


def _units(typed: pd.DataFrame, kinds: list[str]) -> dict[str, float]:
    """Per numeric column, the largest power of two at most its largest magnitude (1 for a zero column)."""
    units = {}
    for name, kind in zip(typed.columns, kinds):
        if kind == NUMERIC:
            peak = float(np.max(np.abs(typed[name].to_numpy())))
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
