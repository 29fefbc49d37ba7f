"""Random edits of a saved model.json: each one is refused with netreg's own error, or loads
a model that predicts consistently; never another exception, never a hang."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from netreg import NetRegClassifier, NetRegRegressor
from netreg.exceptions import ModelFormatError
from netreg.io.models import load_model, save_model
from netreg.tables.preprocessing import TablePreprocessor

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 2, 3, 8, 64, 10**9, 10**18, 2**63, -(2**63)]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["relu", "tanh", "multiclass", "binary", "regression", "float64", "StandardScaler", "numeric"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every place in a JSON value: (path to its container, key or index)."""
    places = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        places.append((prefix, key))
        places.extend(_paths(child, (*prefix, key)))
    return places


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def _mutate(data, meta):
    mutated = copy.deepcopy(meta)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        places = _paths(mutated)
        if not places:
            break
        container_path, key = data.draw(st.sampled_from(places), label="where")
        container = _at(mutated, container_path)
        action = data.draw(st.sampled_from(["replace", "replace", "nudge", "delete", "add", "repeat"]), label="how")
        if action == "replace":
            container[key] = data.draw(VALUES, label="value")
        elif action == "nudge" and isinstance(container[key], int | float) and not isinstance(container[key], bool):
            container[key] = container[key] + data.draw(st.sampled_from([-1, 1, 2, 0.5]), label="by")
        elif action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[data.draw(st.text(max_size=8), label="new key")] = data.draw(VALUES, label="new value")
        elif action == "repeat" and isinstance(container[key], list) and container[key]:
            container[key] = container[key] + container[key][:1]
    return mutated


@pytest.fixture(scope="module")
def saved(tmp_path_factory, digits):
    rng = np.random.default_rng(0)
    X, y = digits[0][:120], digits[1][:120]
    table = pd.DataFrame(X[:, :6], columns=[f"p{i}" for i in range(6)]).assign(kind=rng.choice(["a", "b"], 120))
    preprocessor = TablePreprocessor().fit(table)
    labels = np.array(list("abcdefghij"))[y]
    folder = tmp_path_factory.mktemp("saved")
    classifier = NetRegClassifier((5,), max_iter=2, random_state=0).fit(preprocessor.transform(table), labels)
    regressor = NetRegRegressor((3,), max_iter=2, random_state=0, transformer=StandardScaler())
    regressor.fit(X[:, :4], np.column_stack([y, -y]) / 9.0)
    return {
        "classifier": save_model(classifier, folder / "classifier", preprocessor=preprocessor, target="digit"),
        "regressor": save_model(regressor, folder / "regressor"),
    }


def _check_consistent(loaded):
    """The loaded model predicts from rows of its own preprocessing, or of its width."""
    estimator, preprocessor = loaded.estimator, loaded.preprocessor
    n_features = loaded.meta["architecture"]["n_features"]
    if preprocessor is not None:
        firsts = iter(values[0] for values in preprocessor.categories_)
        row = {
            name: [0.0] if kind == "numeric" else [next(firsts)]
            for name, kind in zip(preprocessor.columns_, preprocessor.column_kinds_)
        }
        X = preprocessor.transform(pd.DataFrame(row))
        assert X.shape == (1, n_features)
    else:
        X = np.zeros((1, n_features))
    X = np.repeat(X, 3, axis=0)
    predictions = estimator.predict(X)
    assert len(predictions) == 3
    if loaded.meta["task"] in ("binary", "multiclass"):
        np.testing.assert_allclose(estimator.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
        assert set(np.asarray(predictions).tolist()) <= set(estimator.classes_.tolist())


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_edit_of_model_json_is_refused_or_loads_consistently(saved, tmp_path_factory, kind, data, within):
    source = saved[kind]
    meta = json.loads((source / "model.json").read_text())
    mutated = _mutate(data, meta)
    folder = tmp_path_factory.mktemp("mutated") / "model"
    shutil.copytree(source, folder)
    (folder / "model.json").write_text(json.dumps(mutated))
    try:
        loaded = within(30, lambda: load_model(folder))
    except ModelFormatError:
        return
    _check_consistent(loaded)
