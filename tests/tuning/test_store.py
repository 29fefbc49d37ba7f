"""The SQLite results store: writes once, resumes, refuses what is not its own."""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
import torch

from netreg.exceptions import StoreError
from netreg.tuning import MemberRecord
from netreg.tuning.store import FORMAT_VERSION, READ_FORMATS, SweepStore

SPEC = {"alphas": [0.1, 1.0], "params": {"hidden_layer_sizes": [8]}, "n_folds": 2, "task": "binary"}


def _record(alpha_index, fold, status="converged"):
    return MemberRecord(
        alpha_index=alpha_index,
        fold=fold,
        alpha=[0.1, 1.0][alpha_index],
        seed=7,
        status=status,
        n_iter=1,
        best_epoch=1,
        metrics={"val_loss": 0.5, "val_score": float("nan")},
        history=[{"epoch": 1, "train_loss": 1.0}],
        message="done",
        fit_time_s=0.25,
    )


def test_members_round_trip_with_their_weights_and_are_written_once(tmp_path):
    weights = {"layers.0.weight": torch.randn(3, 2), "layers.0.bias": torch.zeros(3)}
    with SweepStore.open(tmp_path / "s.sqlite", spec=SPEC, fingerprint="f") as store:
        assert store.write_member(_record(1, 0), weights) is True
        assert store.write_member(_record(1, 0, status="diverged"), weights) is False  # a retry cannot duplicate
        assert store.finished_keys() == {(1, 0)}
        (member,) = store.members()
        assert member.status == "converged" and member.history == [{"epoch": 1, "train_loss": 1.0}]
        assert member.metrics["val_loss"] == 0.5 and member.metrics["val_score"] != member.metrics["val_score"]
        loaded = store.weights(1, 0)
        assert all(torch.equal(loaded[k], v) for k, v in weights.items())
    with SweepStore.open(tmp_path / "s.sqlite", spec=SPEC, fingerprint="f") as reopened:
        assert reopened.finished_keys() == {(1, 0)} and reopened.spec() == SPEC


def test_a_store_of_another_sweep_or_data_set_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "s.sqlite"
    with SweepStore.open(path, spec=SPEC, fingerprint="aaaaaaaaaaaaaaaa") as store:
        store.write_member(_record(0, 0), {"w": torch.ones(1)})
    before = path.read_bytes()
    other = {**SPEC, "alphas": [0.1, 2.0]}
    message = (
        f"The results store {str(path)!r} belongs to a different sweep (alphas: stored [0.1, 1.0], now [0.1, 2.0]). "
        "It was not changed; use another store path, or rerun with the stored settings to resume."
    )
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.open(path, spec=other, fingerprint="aaaaaaaaaaaaaaaa")
    message = (
        f"The results store {str(path)!r} belongs to a different data set (fingerprint aaaaaaaaaaaa, this data "
        "bbbbbbbbbbbb). It was not changed; use another store path for this data."
    )
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.open(path, spec=SPEC, fingerprint="bbbbbbbbbbbbbbbb")
    assert path.read_bytes() == before
    with SweepStore.open(path, spec=SPEC, fingerprint="aaaaaaaaaaaaaaaa") as store:
        assert store.finished_keys() == {(0, 0)}


def test_files_that_are_not_stores_and_paths_that_cannot_be_written(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(
        StoreError,
        match=f"^{re.escape(repr(str(corrupt)))} is not a netreg results store \\(SQLite says: file is not a database\\)\\. Choose another path\\.$",
    ):
        SweepStore.open(corrupt, spec=SPEC, fingerprint="f")
    message = (
        f"The store path {str(tmp_path)!r} is a directory; expected a file path such as "
        f"{str(tmp_path / 'sweep.sqlite')!r}."
    )
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.open(tmp_path, spec=SPEC, fingerprint="f")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(
        StoreError,
        match=f"^Cannot write the results store {re.escape(repr(str(blocker / 'sweep.sqlite')))}: .+\\. Choose a writable path\\.$",
    ):
        SweepStore.open(blocker / "sweep.sqlite", spec=SPEC, fingerprint="f")
    other_db = tmp_path / "other.sqlite"
    sqlite3.connect(other_db).execute(
        "CREATE TABLE sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    ).connection.commit()
    message = f"{str(other_db)!r} is not a complete netreg results store (no sweep specification). Choose another path."
    sqlite3.connect(other_db).execute("INSERT INTO sweep VALUES ('created', '1')").connection.commit()
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.open(other_db, spec=SPEC, fingerprint="f")


def test_reading_a_missing_store_is_a_clear_error(tmp_path):
    message = f"No results store at {str(tmp_path / 'nope.sqlite')!r}; expected the sweep.sqlite file a sweep wrote."
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.read(tmp_path / "nope.sqlite")


def test_a_database_of_something_else_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
    before = path.read_bytes()
    message = (
        f"{str(path)!r} is a SQLite database of something else (tables users); a results store is not written "
        "into it. Choose another path."
    )
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        SweepStore.open(path, spec=SPEC, fingerprint="f")
    assert path.read_bytes() == before


def test_paths_with_uri_characters_work(tmp_path):
    folder = tmp_path / "exp#1 100%?"
    with SweepStore.open(folder / "sweep.sqlite", spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(0, 1), {"w": torch.ones(2)})
    with SweepStore.read(folder / "sweep.sqlite") as store:
        assert store.finished_keys() == {(0, 1)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp#1 100%?"]


def test_a_member_stored_owing_its_evidence_gets_it_in_place_and_reads_as_owing_it_meanwhile(tmp_path):
    path, weights = tmp_path / "s.sqlite", {"w": torch.ones(2)}
    done = {"units_off": [0], "log_evidence": -12.5, "gamma": 3.0}
    owed = MemberRecord(**{**_record(0, 0).__dict__, "evidence": {"units_off": [0]}}).owing_evidence()
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        assert store.write_member(owed, weights) and store.write_member(_record(1, 0), weights)
        with sqlite3.connect(path) as raw:
            written = raw.execute("SELECT finished_at, weights FROM members WHERE alpha_index = 0").fetchone()
    with SweepStore.read(path) as reader:  # another process, while the evidence is computed
        assert reader.finished_keys() == {(0, 0), (1, 0)} and [m.key for m in reader.members_owing_evidence()] == [
            (0, 0)
        ]
        (first, second) = reader.members()
        assert first.evidence_pending and "log_evidence" not in first.evidence and not second.evidence_pending
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        assert store.write_evidence(MemberRecord(**{**owed.__dict__, "evidence": done})) is True
        assert store.write_evidence(MemberRecord(**{**_record(1, 1).__dict__, "evidence": done})) is False  # not stored
        assert store.members_owing_evidence() == [] and store.members()[0].evidence == done
        with sqlite3.connect(path) as raw:  # only the evidence changed
            assert raw.execute("SELECT finished_at, weights FROM members WHERE alpha_index = 0").fetchone() == written


def test_a_store_written_before_members_could_owe_their_evidence_still_opens(tmp_path):
    # Such a store's rows have no mark; its `evidence` column may hold the default '{}'.
    path = tmp_path / "s.sqlite"
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(0, 0), {"w": torch.ones(1)})
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE members SET evidence = '{}'")
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        assert store.finished_keys() == {(0, 0)} and store.members_owing_evidence() == []
        assert store.members()[0].evidence == {}


def test_an_owing_mark_netreg_did_not_write_is_refused_as_damage(tmp_path, refused):
    path = tmp_path / "s.sqlite"
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(0, 0), {"w": torch.ones(1)})
    with sqlite3.connect(path) as raw:
        raw.execute("""UPDATE members SET evidence = '{"pending": "yes"}'""")
    message = (
        f"The results store {str(path)!r} is damaged: member (alpha_index=0, fold=0): `evidence.pending` must be "
        "true; got 'yes'. Delete its row (DELETE FROM members WHERE alpha_index = 0 AND fold = 0) to train it again, "
        "or delete the store to start over."
    )
    with refused(message, StoreError):
        SweepStore.read(path)


def _format_version(path, new=None):
    """The store's format version, set to ``new`` first where given (a connection closed after)."""
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        if new is not None:
            raw.execute("UPDATE sweep SET value = ? WHERE key = 'format_version'", (new,))
        return raw.execute("SELECT value FROM sweep WHERE key = 'format_version'").fetchone()[0]


def test_a_format_1_store_is_read_as_it_is_and_becomes_format_2_once_opened_to_write(tmp_path):
    # Format 2 may hold members owing their evidence, which a netreg reading only format 1 would
    # take for complete: a store this netreg may write to is marked so that such a netreg refuses it.
    assert FORMAT_VERSION == 2 and READ_FORMATS == (1, 2)
    path = tmp_path / "s.sqlite"
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(0, 0), {"w": torch.ones(1)})
    assert _format_version(path) == "2"
    assert _format_version(path, "1") == "1"
    with SweepStore.read(path) as store:
        assert store.finished_keys() == {(0, 0)}
    assert _format_version(path) == "1"
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        assert store.finished_keys() == {(0, 0)}
    assert _format_version(path) == "2"


@pytest.mark.parametrize("opening", ["open", "read"])
def test_a_store_of_a_format_this_netreg_does_not_read_is_refused(tmp_path, refused, opening):
    path = tmp_path / "s.sqlite"
    with SweepStore.open(path, spec=SPEC, fingerprint="f") as store:
        store.write_member(_record(0, 0), {"w": torch.ones(1)})
    _format_version(path, "3")
    message = f"{str(path)!r} was written in store format 3; this netreg reads formats 1 and 2. Use a new store path."
    with refused(message, StoreError):
        if opening == "open":
            SweepStore.open(path, spec=SPEC, fingerprint="f")
        else:
            SweepStore.read(path)
    assert _format_version(path) == "3"
