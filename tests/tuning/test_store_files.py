"""The store's file: everything that would stop a sweep from writing it is refused first, and a
store is never found half made."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import subprocess
import sys

import pytest
import torch

from netreg.exceptions import InvalidParameterError, StoreError
from netreg.tuning import MemberRecord, store_files
from netreg.tuning.store import SweepStore
from netreg.tuning.store_files import spec_changes

SPEC = {"alphas": [0.1, 1.0], "params": {"hidden_layer_sizes": [8], "max_iter": 5}, "n_folds": 2, "task": "binary"}


def _record(alpha_index=0, fold=0):
    return MemberRecord(
        alpha_index=alpha_index,
        fold=fold,
        alpha=[0.1, 1.0][alpha_index],
        seed=7,
        status="converged",
        n_iter=1,
        best_epoch=1,
        metrics={"val_loss": 0.5},
        history=[{"epoch": 1, "train_loss": 1.0}],
        message="done",
        fit_time_s=0.25,
    )


def _store(path):
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(), {"w": torch.ones(2)})


def test_an_empty_file_is_refused_never_taken_over(tmp_path, refused):
    path = tmp_path / "sweep.sqlite"
    path.touch()
    with refused(
        f"{str(path)!r} is an empty file, not a results store (netreg creates a store whole); it was not changed. "
        "Delete it or choose another path.",
        StoreError,
    ):
        SweepStore.open(path, spec=SPEC, fingerprint="f")
    assert path.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["sweep.sqlite"]


def test_a_new_store_appears_whole_with_nothing_beside_it(tmp_path):
    _store(tmp_path / "sweep.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.sqlite"]  # no -wal, -shm or temporary file
    with SweepStore.read(tmp_path / "sweep.sqlite") as store:
        assert store.spec() == SPEC and store.finished_keys() == {(0, 0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.sqlite"]


@pytest.mark.parametrize("linked", ["sweep.sqlite", "sweep.sqlite-wal", "sweep.sqlite-shm"])
def test_a_store_is_never_written_through_a_link(tmp_path, refused, snapshot, linked):
    outside = tmp_path / "outside"
    outside.mkdir()
    _store(outside / "real.sqlite")
    run = tmp_path / "run"
    run.mkdir()
    if linked != "sweep.sqlite":
        _store(run / "sweep.sqlite")
    (run / linked).symlink_to(outside / "real.sqlite")
    before = snapshot(tmp_path)
    with refused(
        f"{str(run / linked)!r} is a symbolic link (to {str(outside / 'real.sqlite')!r}); a results store is not "
        "written through a link. Choose another path.",
        StoreError,
    ):
        SweepStore.open(run / "sweep.sqlite", spec=SPEC, fingerprint="f")
    assert snapshot(tmp_path) == before


def test_a_valid_store_in_a_read_only_folder_is_refused_as_such_and_still_read(tmp_path, refused, read_only):
    folder = tmp_path / "run"
    folder.mkdir()
    _store(folder / "sweep.sqlite")
    read_only(folder)
    with refused(
        f"Cannot write the results store {str(folder / 'sweep.sqlite')!r}: its folder cannot be written (SQLite keeps "
        "its journal beside the store). Choose a writable path.",
        StoreError,
    ):
        SweepStore.open(folder / "sweep.sqlite", spec=SPEC, fingerprint="f")
    with SweepStore.read(folder / "sweep.sqlite") as store:  # a report needs only to read it
        assert store.finished_keys() == {(0, 0)}
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.sqlite"]


def test_a_read_only_store_file_is_refused_before_any_member_trains(tmp_path, refused, read_only):
    _store(tmp_path / "sweep.sqlite")
    read_only(tmp_path / "sweep.sqlite")
    with refused(
        f"Cannot write the results store {str(tmp_path / 'sweep.sqlite')!r}: the file is read-only. Choose a "
        "writable path.",
        StoreError,
    ):
        SweepStore.open(tmp_path / "sweep.sqlite", spec=SPEC, fingerprint="f")


def test_the_write_checks_follow_what_the_system_allows(tmp_path, monkeypatch, refused):
    # Whoever runs the test (root writes anywhere), the refusal follows os.access.
    _store(tmp_path / "sweep.sqlite")
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(tmp_path / "sweep.sqlite"))
    with refused(
        f"Cannot write the results store {str(tmp_path / 'sweep.sqlite')!r}: the file is read-only. Choose a "
        "writable path.",
        StoreError,
    ):
        SweepStore.open(tmp_path / "sweep.sqlite", spec=SPEC, fingerprint="f")
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(tmp_path))
    with refused(
        f"Cannot write the results store {str(tmp_path / 'new.sqlite')!r}: its folder cannot be written (SQLite "
        "keeps its journal beside the store). Choose a writable path.",
        StoreError,
    ):
        SweepStore.open(tmp_path / "new.sqlite", spec=SPEC, fingerprint="f")
    assert not (tmp_path / "new.sqlite").exists()


def test_the_different_sweep_refusal_names_each_setting_that_changed(tmp_path, refused):
    path = tmp_path / "sweep.sqlite"
    long_grid = [round(0.001 * i, 3) for i in range(40)]
    spec = {**SPEC, "alphas": long_grid, "params": {**SPEC["params"], "note": "x" * 100}}
    with SweepStore.open(path, spec=spec, fingerprint="f"):
        pass
    other = {**spec, "alphas": long_grid[:-1] + [1.0], "params": {**spec["params"], "max_iter": 50}}
    with refused(
        f"The results store {str(path)!r} belongs to a different sweep (alphas[39]: stored 0.039, now 1.0; "
        "params.max_iter: stored 5, now 50). It was not changed; use another store path, or rerun with the stored "
        "settings to resume.",
        StoreError,
    ):
        SweepStore.open(path, spec=other, fingerprint="f")
    many = {key: {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5} for key in ("params",)}
    assert spec_changes({"params": {}}, many)[-1] == "params.e: stored absent, now 5"
    assert len(spec_changes({"params": {}}, many)) == 5


def _open_and_write(path, index):
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(index % 2, index // 2), {"w": torch.ones(1)})


def test_processes_creating_one_store_at_once_share_it(tmp_path):
    path = tmp_path / "sweep.sqlite"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open_and_write, args=(str(path), i)) for i in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    # Two processes closing at the same instant can each see the other and leave the store in
    # WAL mode, or its side files (SweepStore.close): the next connection to close, alone, tidies
    # them. Closed before looking: an open reader has a WAL store's side files while it is open.
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert sorted(connection.execute("SELECT alpha_index, fold FROM members")) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.sqlite"]


MEMORY = (
    "`store` must be the path of a file to keep the sweep in, or None. Got ':memory:': SQLite's name for a database "
    "in memory, lost when the fit ends, so nothing could be resumed from it. Pass `store=None` for no store (the "
    "sweep's results are kept in memory anyway), or a file path such as 'sweep.sqlite'."
)


def test_sqlites_in_memory_name_is_refused_not_made_a_file(tmp_path, monkeypatch, refused):
    # Before: store=":memory:" made a file named ':memory:' while SQLite kept the sweep in
    # memory: a finished fit left nothing to resume from.
    from sklearn.datasets import load_iris

    from netreg import NetRegClassifierCV

    monkeypatch.chdir(tmp_path)
    X, y = load_iris(return_X_y=True)
    search = NetRegClassifierCV((4,), alphas=[0.0, 1.0], cv=2, max_iter=2, random_state=0, store=":memory:")
    with refused(MEMORY, InvalidParameterError):
        search.fit(X, y)
    with refused(MEMORY, InvalidParameterError):
        SweepStore.open(":memory:", spec=SPEC, fingerprint="f")
    with refused(
        MEMORY.replace(
            "':memory:': SQLite's name for a database in memory, lost when the fit ends, so "
            "nothing could be resumed from it",
            "'': an empty path, which names no file",
        ),
        InvalidParameterError,
    ):
        SweepStore.open("", spec=SPEC, fingerprint="f")
    assert list(tmp_path.iterdir()) == []


def test_a_store_another_process_holds_locked_is_said_to_be_held_not_unwritable(tmp_path, monkeypatch, refused):
    # Before: "Cannot write the results store ...: SQLite says: database is locked. Choose a
    # writable path." of a path that was writable.
    path = tmp_path / "sweep.sqlite"
    _store(path)
    before = path.read_bytes()
    monkeypatch.setattr(store_files, "BUSY_TIMEOUT_S", 0.2)  # the real wait is 30 s
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        message = (
            f"The results store {str(path)!r} is locked by another process (another sweep, or a program that has it "
            "open), which held it for more than 0.2 s; nothing was {}. Rerun when that process has finished, or "
            "choose another path."
        )
        with refused(message.format("written"), StoreError):
            SweepStore.open(path, spec=SPEC, fingerprint="f")
        with refused(message.format("read"), StoreError):
            SweepStore.read(path)
    finally:
        holder.communicate("")  # lets the holder end its transaction and exit
    assert holder.returncode == 0 and path.read_bytes() == before
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:  # free again: it opens
        assert store.finished_keys() == {(0, 0)}


#: A second process that takes the store's exclusive lock, says so, and keeps it until its stdin closes.
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""
