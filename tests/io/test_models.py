"""Saved models: round trips without pickle, and every broken folder refused clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netreg import NetRegClassifier, NetRegRegressor
from netreg.exceptions import ModelFormatError
from netreg.io.models import FORMAT_VERSION, load_model, save_model
from netreg.tables.preprocessing import TablePreprocessor


@pytest.fixture(scope="module")
def classifier(digits):
    X, y = digits[0][:200], digits[1][:200]
    labels = np.array(list("abcdefghij"))[y]
    return NetRegClassifier((8,), max_iter=5, random_state=0).fit(X, labels), X


def test_round_trip_predicts_the_same_with_string_classes(classifier, tmp_path):
    model, X = classifier
    loaded = load_model(save_model(model, tmp_path / "m", target="digit", extra={"note": "x"}))
    np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.estimator.predict_proba(X), model.predict_proba(X))
    assert list(loaded.estimator.classes_) == list("abcdefghij") and loaded.target == "digit"
    assert loaded.meta["versions"]["netreg"] and loaded.meta["extra"] == {"note": "x"}
    assert loaded.estimator.history_ == model.history_ and loaded.estimator.loss_ == model.loss_
    assert not any(path.suffix in (".pkl", ".pickle", ".joblib") for path in (tmp_path / "m").iterdir())


@pytest.mark.parametrize("targets", [1, 2])
def test_regressor_round_trip_with_preprocessing(diabetes, tmp_path, targets):
    X, y = diabetes
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]).assign(site=np.where(y > 0, "a", "b"))
    pre = TablePreprocessor().fit(frame)
    Y = y if targets == 1 else np.column_stack([y, -y])
    model = NetRegRegressor((4,), max_iter=5, random_state=0).fit(pre.transform(frame), Y)
    loaded = load_model(save_model(model, tmp_path / "m", preprocessor=pre))
    np.testing.assert_array_equal(
        loaded.estimator.predict(loaded.preprocessor.transform(frame)), model.predict(pre.transform(frame))
    )
    assert loaded.estimator.predict(pre.transform(frame)).shape == Y.shape


def _saved(classifier, tmp_path):
    return save_model(classifier[0], tmp_path / "m")


def test_missing_and_corrupt_folders_are_refused(classifier, tmp_path):
    where = str(tmp_path / "nothing")
    with pytest.raises(
        ModelFormatError,
        match=f"^{re.escape(f'No model folder at {where!r}; expected a folder with model.json and weights.safetensors.')}$",
    ):
        load_model(tmp_path / "nothing")
    folder = _saved(classifier, tmp_path)
    weights = folder / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFormatError, match=f"^{re.escape(str(weights))} is corrupt or truncated \\(.+\\)\\.$"):
        load_model(folder)
    weights.unlink()
    with pytest.raises(
        ModelFormatError,
        match=f"^{re.escape(repr(str(folder)))} has no weights.safetensors; the model's weights are missing\\.$",
    ):
        load_model(folder)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(
        ModelFormatError,
        match=f"^{re.escape(str(folder / 'model.json'))} is corrupt \\(.+\\); expected the JSON netreg wrote\\.$",
    ):
        load_model(folder)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(format="keras"), '/model.json is not a netreg model (no "format": "netreg-model").'),
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "holds a model in format version 2; this netreg"),
        (
            lambda m: m.pop("task"),
            "/model.json misses key 'task'; expected keys 'format', 'format_version', 'versions', 'estimator', "
            "'params', 'alpha', 'architecture', 'task', 'classes', 'y_ndim', 'target', 'feature_names', "
            "'preprocessing', 'training' and optionally 'history', 'target_transform', 'auto'.",
        ),
        (
            lambda m: m.update(alpha="big"),
            "/model.json: `alpha` must be a float or a dict of parameter names to floats; got 'big'.",
        ),
        (
            lambda m: m.update(estimator="MLPClassifier"),
            "/model.json names estimator 'MLPClassifier'; expected one of ['NetRegClassifier', 'NetRegRegressor'].",
        ),
        (
            lambda m: m["architecture"].update(n_features=65),
            "/weights.safetensors does not fit the architecture in model.json: expected tensors",
        ),
        (lambda m: m["params"].update(bogus=1), "/model.json has unknown parameter(s) ['bogus'] for NetRegClassifier."),
        (
            lambda m: m["params"].update(dtype="int8x"),
            "/model.json has invalid parameters: The 'dtype' parameter of NetRegClassifier must be a str among",
        ),
        (
            lambda m: m.update(task="ranking"),
            "/model.json: `task` must be one of 'regression', 'binary', 'multiclass', 'multilabel'; got 'ranking'.",
        ),
        (
            lambda m: m.update(task="regression"),
            "/model.json is inconsistent: estimator NetRegClassifier, task 'regression', 10 classes, 10 network "
            "outputs.",
        ),
        (
            lambda m: m.update(classes=["a", "b"]),
            "/model.json is inconsistent: estimator NetRegClassifier, task 'multiclass', 2 classes, 10 network outputs.",
        ),
        (
            lambda m: m["architecture"].update(activation="swish"),
            "/model.json describes an invalid network: `activation` must be one of",
        ),
    ],
)
def test_incompatible_or_malformed_metadata_is_refused(classifier, tmp_path, edit, message):
    folder = _saved(classifier, tmp_path)
    meta = json.loads((folder / "model.json").read_text())
    edit(meta)
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError) as caught:
        load_model(folder)
    assert message in str(caught.value)


def test_a_different_model_is_not_overwritten_without_force(classifier, digits, tmp_path):
    folder = _saved(classifier, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = NetRegClassifier((8,), max_iter=6, random_state=1).fit(digits[0][:200], digits[1][:200])
    message = (
        f"{str(folder)!r} already holds a different model; it was not overwritten. "
        "Choose another folder, or pass `force=True` to replace it."
    )
    with pytest.raises(ModelFormatError, match=f"^{re.escape(message)}$"):
        save_model(other, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    save_model(classifier[0], folder)  # the same model again is fine
    save_model(other, folder, force=True)
    assert load_model(folder).estimator.n_iter_ == 6


def test_a_folder_that_is_not_a_model_is_never_written_over(classifier, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    message = (
        f"{str(folder)!r} is a folder with other files and no model.json; a model is not written over it. "
        "Choose an empty or new folder."
    )
    for force in (False, True):
        with pytest.raises(ModelFormatError, match=f"^{re.escape(message)}$"):
            save_model(classifier[0], folder, force=force)
    assert [p.name for p in folder.iterdir()] == ["thesis.tex"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_model(save_model(classifier[0], empty)).estimator.n_iter_ == classifier[0].n_iter_
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or retired folders left


def test_a_model_folder_written_by_netreg_0_1_loads_and_predicts_the_same():
    # Its preprocessing is the JSON of version 1 (numeric, text, numbers as text, bool and
    # constant columns); the new city "Tokyo" of the first row is encoded as zeros.
    from netreg.tables.tables import read_table

    folder = Path(__file__).parent / "data" / "netreg-0.1"
    loaded = load_model(folder / "model")
    features = read_table(folder / "new.csv").features
    X = loaded.preprocessor.transform(features)
    np.testing.assert_array_equal(X, np.loadtxt(folder / "expected_X.txt"))
    assert X[0, 1:4].tolist() == [0.0, 0.0, 0.0]
    expected = json.loads((folder / "expected.json").read_text())
    assert loaded.estimator.predict(X).tolist() == expected["predictions"]
    # The same weights on the same rows: equal to the last bits, within the one ulp by which
    # another CPU's kernels (the file was written on an AMD EPYC) may round a product.
    np.testing.assert_array_max_ulp(loaded.estimator.predict_proba(X), np.asarray(expected["proba"]), maxulp=2)
    assert loaded.preprocessor.to_config() == json.loads((folder / "model" / "model.json").read_text())["preprocessing"]
