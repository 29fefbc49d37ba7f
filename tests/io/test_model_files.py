"""Crafted and damaged model folders: refused before anything is built, with one clear message;
saves written whole, with one file mode, and safe when several processes save at once."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from netreg import NetRegClassifier
from netreg.exceptions import ModelFormatError, OutputError
from netreg.io import model_files, models
from netreg.io.models import load_model, save_model
from netreg.tables.preprocessing import TablePreprocessor


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits[0][:100], digits[1][:100]
    return NetRegClassifier((8,), max_iter=3, random_state=0).fit(X, y), X


@pytest.fixture()
def folder(fitted, tmp_path):
    return save_model(fitted[0], tmp_path / "model")


def _edit(folder, edit):
    meta = json.loads((folder / "model.json").read_text())
    edit(meta)
    (folder / "model.json").write_text(json.dumps(meta))


def test_model_json_as_a_link_to_dev_zero_is_refused_unread(folder, refused, within):
    (folder / "model.json").unlink()
    (folder / "model.json").symlink_to("/dev/zero")
    with refused(
        f"{folder / 'model.json'} is a symbolic link (to '/dev/zero'); a saved model's files are never links, so "
        "it is not read. Copy the model's files into the folder.",
        ModelFormatError,
    ):
        within(10, lambda: load_model(folder))


def test_a_fifo_is_refused_without_waiting_for_a_writer(folder, refused, within):
    (folder / "model.json").unlink()
    os.mkfifo(folder / "model.json")
    with refused(f"{folder / 'model.json'} is a FIFO; expected the regular file netreg wrote.", ModelFormatError):
        within(10, lambda: load_model(folder))


def test_weights_that_link_out_of_the_folder_are_refused_and_left_alone(folder, tmp_path, refused, snapshot):
    outside = tmp_path / "elsewhere.safetensors"
    os.replace(folder / "weights.safetensors", outside)
    (folder / "weights.safetensors").symlink_to(outside)
    before = snapshot(tmp_path)
    with refused(
        f"{folder / 'weights.safetensors'} is a symbolic link (to {str(outside)!r}); a saved model's files are "
        "never links, so it is not read. Copy the model's files into the folder.",
        ModelFormatError,
    ):
        load_model(folder)
    assert snapshot(tmp_path) == before


def test_files_larger_than_their_model_can_need_are_not_read(folder, monkeypatch, refused):
    weights = folder / "weights.safetensors"
    limit = (64 * 8 + 8 + 8 * 10 + 10) * 4 + 1024**2  # float32 parameters and room for the header
    weights.write_bytes(weights.read_bytes() + b"\0" * (limit + 1 - weights.stat().st_size))
    with refused(
        f"{weights} is larger than the {limit:,} bytes the network in model.json can need; it was not read. Is it "
        "the file netreg wrote?",
        ModelFormatError,
    ):
        load_model(folder)
    monkeypatch.setattr(models, "MAX_META_BYTES", 100)
    with refused(
        f"{folder / 'model.json'} is larger than the 100 bytes a model.json may hold; it was not read. Is it the "
        "file netreg wrote?",
        ModelFormatError,
    ):
        load_model(folder)


def test_a_network_too_large_for_the_machine_is_refused_before_it_is_built(folder, budget, refused):
    # 10**9 inputs: 400 GB of weights had anything been allocated.
    _edit(folder, lambda m: m["architecture"].update(n_features=10**9))
    budget(4)
    with refused(
        f"{folder}/model.json describes a network too large for this machine: `hidden_layer_sizes` must be layer "
        "sizes whose network fits in memory. Got 1000000000 inputs -> 8 -> 10 outputs: 8,000,000,098 parameters, "
        "about 208.6 GiB to train (7 copies in float32: weights, gradients, optimizer state, best weights), over "
        "the 4.0 GiB netreg may take (half the memory available). Use fewer or smaller hidden layers, or fewer "
        "features.",
        ModelFormatError,
    ):
        load_model(folder)


@pytest.mark.parametrize(
    "edit, problem",
    [
        (
            lambda m: m.update(classes=[[0, 1], [2, 3]] + list(range(4, 12))),
            ": `classes` must be None or a sorted list of distinct labels of one kind (str, finite number or bool); "
            "got [[0, 1], [2, 3], 4, 5, 6, 7, 8, 9, 10, 11].",
        ),
        (
            lambda m: m.update(classes=[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
            ": `classes` must be None or a sorted list of distinct labels of one kind (str, finite number or bool); "
            "got [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].",
        ),
        (
            lambda m: m.update(classes=[0, 1, 2, 3, 4, 5, 6, 7, 8, "9"]),
            ": `classes` must be None or a sorted list of distinct labels of one kind (str, finite number or bool); "
            "got [0, 1, 2, 3, 4, 5, 6, 7, 8, '9'].",
        ),
        (lambda m: m.update(y_ndim=3), ": `y_ndim` must be 1 or 2; got 3."),
        (lambda m: m["architecture"].update(n_features=0), ": `architecture.n_features` must be an int >= 1; got 0."),
        (
            lambda m: m["architecture"].update(hidden_layer_sizes=[8, True]),
            ": `architecture.hidden_layer_sizes[1]` must be an int >= 1; got True.",
        ),
        (
            lambda m: m.update(task="multilabel"),
            " is inconsistent: task 'multilabel' with 10 outputs predicts a 2-D array, but y_ndim is 1.",
        ),
        (
            lambda m: m.update(feature_names=["a", "b"]),
            " is inconsistent: 2 feature names for a network of 64 inputs.",
        ),
        (lambda m: m.update(feature_names=[1, 2]), ": `feature_names` must be None or a list of str; got [1, 2]."),
        (
            lambda m: m["params"].update(hidden_layer_sizes=[16]),
            " is inconsistent: params.hidden_layer_sizes is [16], the architecture's is [8].",
        ),
        (
            lambda m: m["params"].update(activation="tanh"),
            " is inconsistent: params.activation is 'tanh', the architecture's is 'relu'.",
        ),
        (
            lambda m: m["training"].update(validated=True),
            " is inconsistent: training.validated is true (early stopping), but its history has no validation score.",
        ),
    ],
)
def test_fields_that_disagree_are_refused_before_anything_is_built(folder, refused, edit, problem):
    _edit(folder, edit)
    with refused(f"{folder}/model.json{problem}", ModelFormatError):
        load_model(folder)


def test_preprocessing_that_does_not_match_the_network_is_refused(fitted, tmp_path, refused):
    model, X = fitted
    table = pd.DataFrame(X[:, :63], columns=[f"p{i}" for i in range(63)]).assign(kind=["a", "b"] * 50)
    folder = save_model(model, tmp_path / "m", preprocessor=TablePreprocessor().fit(table))  # 63 + 2 columns
    with refused(
        f"{folder}/model.json is inconsistent: its preprocessing makes 65 features of a table, its network takes 64.",
        ModelFormatError,
    ):
        load_model(folder)
    _edit(folder, lambda m: m["preprocessing"]["columns"][0].update(scale=-1.0))
    with refused(
        f"{folder}/model.json has a malformed field 'preprocessing': preprocessor config: `columns[0].scale` "
        "must be a finite number > 0; got -1.0.",
        ModelFormatError,
    ):
        load_model(folder)


def test_weights_of_another_dtype_are_refused(fitted, folder, refused):
    state = {k: v.double() for k, v in fitted[0].module_.state_dict().items()}
    (folder / "weights.safetensors").unlink()
    save_file(state, folder / "weights.safetensors")
    with refused(
        f"{folder}/weights.safetensors holds torch.float64 tensors (layers.0.bias, layers.0.weight, layers.1.bias, "
        "layers.1.weight); the model in model.json is torch.float32.",
        ModelFormatError,
    ):
        load_model(folder)


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_both_files_get_the_permissions_of_any_new_file(fitted, tmp_path, umask):
    previous = os.umask(umask)
    try:
        folder = save_model(fitted[0], tmp_path / "m")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {"model.json": 0o666 & ~umask, "weights.safetensors": 0o666 & ~umask}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


def test_a_save_that_fails_leaves_the_old_model_and_nothing_else(fitted, folder, monkeypatch, refused, snapshot):
    before = snapshot(folder.parent)

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(models, "write_new_file", full)
    with refused(
        f"Could not write {str(folder)!r}: No space left on device; nothing was replaced. Free some space and rerun.",
        OutputError,
    ):
        save_model(fitted[0], folder, force=True)
    assert snapshot(folder.parent) == before


def test_a_crafted_model_json_in_the_target_folder_is_a_different_model_not_a_hang(fitted, tmp_path, refused, within):
    folder = tmp_path / "m"
    folder.mkdir()
    os.mkfifo(folder / "model.json")
    with refused(
        f"{str(folder)!r} already holds a different model; it was not overwritten. Choose another folder, or pass "
        "`force=True` to replace it.",
        ModelFormatError,
    ):
        within(10, lambda: save_model(fitted[0], folder))


def _save_in_process(path, seed, force, results):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    model = NetRegClassifier((4,), max_iter=1, random_state=seed).fit(X[:60] / 16, y[:60])
    try:
        save_model(model, path, force=force)
        results.put((seed, "saved"))
    except ModelFormatError as error:
        results.put((seed, str(error)))


@pytest.mark.parametrize("force", [True, False])
def test_processes_saving_to_one_folder_at_once_succeed_or_fail_cleanly(tmp_path, force):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    path = tmp_path / "model"
    processes = [context.Process(target=_save_in_process, args=(path, seed, force, results)) for seed in range(3)]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    refusal = (
        f"{str(path)!r} already holds a different model; it was not overwritten. Choose another folder, or pass "
        "`force=True` to replace it."
    )
    saved = [seed for seed, outcome in outcomes.items() if outcome == "saved"]
    assert all(outcome in ("saved", refusal) for outcome in outcomes.values())
    assert len(saved) == (3 if force else 1)
    loaded = load_model(path)  # one complete model, one of those saved
    assert loaded.estimator.random_state in saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or replaced folder left
    assert np.isfinite(loaded.estimator.predict_proba(np.zeros((1, 64)))).all()
    assert torch.is_tensor(next(iter(loaded.estimator.module_.state_dict().values())))


def test_the_lock_is_released_when_its_holder_is_done(tmp_path):
    with model_files.folder_lock(tmp_path):
        pass
    with model_files.folder_lock(tmp_path):  # would wait forever had the first lock stayed
        pass
    assert list(tmp_path.iterdir()) == []  # no lock file


def test_a_linear_model_without_hidden_layers_round_trips(digits, tmp_path):
    X, y = digits[0][:100], digits[1][:100]
    model = NetRegClassifier((), max_iter=3, random_state=0).fit(X, y)
    loaded = load_model(save_model(model, tmp_path / "linear"))
    np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))


def _killed_while_saving(path):
    """Save a model and be SIGKILLed after its weights are written, before the swap."""
    import signal

    from sklearn.datasets import load_digits

    def write_then_die(target, data):
        model_files.write_new_file(target, data)
        os.kill(os.getpid(), signal.SIGKILL)

    X, y = load_digits(return_X_y=True)
    model = NetRegClassifier((4,), max_iter=1, random_state=0).fit(X[:60] / 16, y[:60])
    models.write_new_file = write_then_die
    save_model(model, path, force=True)


#: A process that holds a folder's flock, as a save at work holds its staging folder's, until its stdin closes.
HOLD_LOCK = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_the_staging_folder_of_a_killed_save_is_removed_by_the_next_save_and_nothing_else(fitted, folder, snapshot):
    # Before: a kill during the model write left .model.XXXXXXXX.partial/ beside the model forever.
    context = multiprocessing.get_context("spawn")
    killed = context.Process(target=_killed_while_saving, args=(folder,))
    killed.start()
    killed.join(300)
    assert killed.exitcode == -9
    (left,) = [p for p in folder.parent.iterdir() if p.name.startswith(".model.")]
    assert re.fullmatch(r"\.model\.[a-z0-9_]{8}\.partial", left.name) and [p.name for p in left.iterdir()] == [
        "weights.safetensors"
    ]
    assert load_model(folder).estimator.random_state == 0  # the old model is whole
    # What is not a dead save's own staging folder is left alone.
    parent = folder.parent
    (parent / ".model.userdata.partial").mkdir()  # the pattern, but the user's notes inside
    (parent / ".model.userdata.partial" / "notes.txt").write_text("mine")
    (parent / ".model.afile123.partial").write_text("a file, not a folder")
    (parent / ".other.abcdefgh.partial").mkdir()  # another name's
    (parent / ".other.abcdefgh.partial" / "model.json").write_text("{}")
    (parent / "elsewhere").mkdir()
    (parent / "elsewhere" / "model.json").write_text("{}")
    (parent / ".model.alink123.partial").symlink_to(parent / "elsewhere")
    live = parent / ".model.live1234.partial"  # a save at work holds its folder's lock
    live.mkdir()
    (live / "model.json").write_text("{}")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(live)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(parent, skip=("model", left.name))
        save_model(fitted[0], folder, force=True)
    finally:
        holder.communicate("")
    assert not left.exists() and snapshot(parent, skip=("model",)) == before
    np.testing.assert_array_equal(load_model(folder).estimator.predict(fitted[1]), fitted[0].predict(fitted[1]))
