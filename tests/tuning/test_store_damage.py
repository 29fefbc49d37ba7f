"""A results store that is valid SQLite but holds damaged rows: refused, naming the store and
the row, by the report, by a resuming sweep (command line and Python), with nothing changed."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from netreg import NetRegClassifierCV
from netreg.cli import main
from netreg.exceptions import StoreError

GRID = [0.0, 0.1, 10.0]
TUNE = ["--target", "label", "--alphas", "0,0.1,10", "--cv", "2", "--hidden", "4", "--max-iter", "3", "--no-report"]
PYTHON = dict(hidden_layer_sizes=(4,), max_iter=3, alphas=GRID, cv=2, random_state=0)


def _row_fix(alpha_index, fold):
    return (
        f"Delete its row (DELETE FROM members WHERE alpha_index = {alpha_index} AND fold = {fold}) to train it "
        "again, or delete the store to start over."
    )


def _set_spec(connection, change):
    (text,) = connection.execute("SELECT value FROM sweep WHERE key = 'spec'").fetchone()
    connection.execute("UPDATE sweep SET value = ? WHERE key = 'spec'", (json.dumps(change(json.loads(text))),))


def _set(column, value, alpha_index=1, fold=0):
    def damage(connection):
        connection.execute(
            f"UPDATE members SET {column} = ? WHERE alpha_index = ? AND fold = ?", (value, alpha_index, fold)
        )

    return damage


# name: (the damage, what the message says after "is damaged:")
DAMAGES = {
    "metrics not JSON": (
        _set("metrics", "{not json"),
        "member (alpha_index=1, fold=0): `metrics` is not JSON (Expecting property name enclosed in double quotes "
        f"at character 1). {_row_fix(1, 0)}",
    ),
    "metrics null": (
        _set("metrics", "null"),
        f"member (alpha_index=1, fold=0): `metrics` must be a JSON object of numbers (or nulls); got None. {_row_fix(1, 0)}",
    ),
    "history of numbers": (
        _set("history", "[1,2]"),
        "member (alpha_index=1, fold=0): `history[0]` must be a JSON object (an epoch's record); got 1. "
        f"{_row_fix(1, 0)}",
    ),
    "weights of 4 bytes": (
        _set("weights", b"\x00\x01\x02\x03"),
        f"member (alpha_index=1, fold=0): `weights` are not the safetensors netreg wrote (4 bytes). {_row_fix(1, 0)}",
    ),
    "spec a list": (
        lambda connection: _set_spec(connection, lambda spec: []),
        "its sweep specification must be a JSON object; got []. Delete the store to start over.",
    ),
    "fewer alphas": (
        lambda connection: _set_spec(connection, lambda spec: {**spec, "alphas": GRID[:2]}),
        "member (alpha_index=2, fold=0): `alpha_index` must be an int in [0, 1] (the sweep has 2 alphas); got 2. "
        f"{_row_fix(2, 0)}",
    ),
    "members table dropped": (
        lambda connection: connection.execute("DROP TABLE members"),
        "it has no table 'members'. Delete it to start over.",
    ),
    "sweep table dropped": (
        lambda connection: connection.execute("DROP TABLE sweep"),
        "it has no table 'sweep'. Delete it to start over.",
    ),
    "alpha index out of range": (
        _set("alpha_index", 7, alpha_index=2),
        "member (alpha_index=7, fold=0): `alpha_index` must be an int in [0, 2] (the sweep has 3 alphas); got 7. "
        f"{_row_fix(7, 0)}",
    ),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A finished run folder (command line) and a finished store (Python), never changed."""
    folder = tmp_path_factory.mktemp("made")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    label = np.where(X[:, 0] + rng.normal(size=60) > 0, "x", "y")
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": label}).to_csv(folder / "data.csv", index=False)
    assert main(["tune", str(folder / "data.csv"), *TUNE, "--out", str(folder / "run")]) == 0
    NetRegClassifierCV(**PYTHON, store=folder / "python.sqlite").fit(X, label)
    return folder, X, label


def _damaged_copy(made, tmp_path, damage, *, run):
    folder = made[0]
    if run:
        shutil.copytree(folder / "run", tmp_path / "run")
        store = tmp_path / "run" / "sweep.sqlite"
    else:
        store = tmp_path / "python.sqlite"
        shutil.copyfile(folder / "python.sqlite", store)
    connection = sqlite3.connect(store)
    with connection:
        damage(connection)
    connection.close()
    return store


@pytest.mark.parametrize("command", ["report", "tune"])
@pytest.mark.parametrize("name", list(DAMAGES))
def test_the_command_line_refuses_a_damaged_store_naming_it_and_the_row(
    made, tmp_path, capsys, snapshot, command, name
):
    damage, problem = DAMAGES[name]
    store = _damaged_copy(made, tmp_path, damage, run=True)
    run = tmp_path / "run"
    before = snapshot(run)
    argv = (
        ["report", str(run)] if command == "report" else ["tune", str(made[0] / "data.csv"), *TUNE, "--out", str(run)]
    )
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == f"netreg {command}: error: The results store {str(store)!r} is damaged: {problem}"
    assert snapshot(run) == before


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_resuming_cv_estimator_refuses_a_damaged_store(made, tmp_path, refused, snapshot, name):
    damage, problem = DAMAGES[name]
    store = _damaged_copy(made, tmp_path, damage, run=False)
    before = snapshot(tmp_path)
    _, X, label = made
    with refused(f"The results store {str(store)!r} is damaged: {problem}", StoreError):
        NetRegClassifierCV(**PYTHON, store=store).fit(X, label)
    assert snapshot(tmp_path) == before


def test_an_undamaged_copy_resumes_and_a_deleted_row_trains_again(made, tmp_path):
    store = _damaged_copy(made, tmp_path, lambda connection: None, run=False)
    _, X, label = made
    first = NetRegClassifierCV(**PYTHON, store=store).fit(X, label)
    connection = sqlite3.connect(store)
    with connection:  # what the message advises for a damaged row
        connection.execute("DELETE FROM members WHERE alpha_index = 1 AND fold = 0")
    connection.close()
    again = NetRegClassifierCV(**PYTHON, store=store).fit(X, label)
    np.testing.assert_array_equal(first.cv_results_["mean_test_score"], again.cv_results_["mean_test_score"])
