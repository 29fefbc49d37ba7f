"""The local backend: chunks side by side in worker processes train what one process trains,
each member kept once on the driver, failures reported and resumable."""

from __future__ import annotations

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import netreg
from netreg import NetRegClassifier, NetRegClassifierCV
from netreg.exceptions import ChunkFailedError
from netreg.tuning import SweepCallback, plan_sweep, run_sweep
from netreg.tuning.backends import LocalBackend, local
from netreg.tuning.chunking import balanced_size
from netreg.tuning.store import SweepStore
from own_modules import ImageCNN

SETTINGS = {"max_iter": 4, "batch_size": 40, "tol": 0.0, "random_state": 0, "dtype": "float64", "device": "cpu"}
ALPHAS = [1e-3, 0.1, 1.0, 10.0]
# Members are ordered fold by fold, so with chunks of 2 the fourth chunk holds (2, 1) and (3, 1).
FAILING_CHUNK = [(2, 1), (3, 1)]


def _plan(digits):
    X, y = digits[0][:200], digits[1][:200]
    return plan_sweep(NetRegClassifier((12,), **SETTINGS), X, y, alphas=ALPHAS, cv=3, require_seed=True)


class _Record(SweepCallback):
    def __init__(self):
        self.stored, self.ended, self.evidenced = [], [], []

    def on_member_stored(self, record):
        self.stored.append((record.alpha_index, record.fold))

    def on_member_evidence(self, record):
        assert not record.evidence_pending and "log_evidence" in record.evidence
        self.evidenced.append(record.key)
        self.heard_first = getattr(self, "heard_first", True) and record.key in self.stored

    def on_member_end(self, result):
        self.ended.append(result.index)


def _stored_keys(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT alpha_index, fold FROM members").fetchall()


def test_chunks_side_by_side_train_exactly_what_one_process_trains(digits, tmp_path):
    plan = _plan(digits)
    solo = _Record()
    alone = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=1, store=tmp_path / "one.sqlite", callback=solo)
    # The first fold's members were kept owing their evidence, then heard of again with it.
    assert sorted(solo.evidenced) == sorted(key for key in plan.keys if key[1] == 0) and solo.heard_first
    record = _Record()
    store = tmp_path / "two.sqlite"
    together = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store, callback=record)
    # Each member came back once, was kept once, and the callback heard of it on this process.
    assert sorted(record.stored) == sorted(plan.keys) and len(record.ended) == len(plan.keys)
    assert sorted(record.evidenced) == sorted(key for key in plan.keys if key[1] == 0) and record.heard_first
    assert sorted(_stored_keys(store)) == sorted(plan.keys)
    # One thread everywhere: the same arithmetic, bit for bit.
    assert {m.key: m.metrics for m in together.members} == {m.key: m.metrics for m in alone.members}
    assert {m.key: m.history for m in together.members} == {m.key: m.history for m in alone.members}
    with SweepStore.open(tmp_path / "one.sqlite", spec=plan.spec, fingerprint=plan.fingerprint) as first:
        with SweepStore.open(store, spec=plan.spec, fingerprint=plan.fingerprint) as second:
            for key in plan.keys:
                for name, value in first.weights(*key).items():
                    assert torch.equal(second.weights(*key)[name], value)


@pytest.mark.parametrize(
    "net, scoring",
    [("cnn", "accuracy"), ("mlp", "balanced_accuracy"), ("cnn", "balanced_accuracy")],
    ids=["module-batchnorm-dropout", "mlp-scikit-learn-scorer", "module-scikit-learn-scorer"],
)
def test_members_their_statistics_and_scorer_scores_come_back_from_the_workers_as_one_process_makes_them(
    digits, tmp_path, net, scoring
):
    # BatchNorm statistics, dropout masks and a scikit-learn scorer run where each member trains.
    if net == "cnn":
        X, y = digits[0][:160].reshape(160, 1, 8, 8), digits[1][:160]
        base = NetRegClassifier(module=ImageCNN, module_kwargs={"channels": 3, "dropout": 0.3}, **SETTINGS)
    else:
        X, y = digits[0][:160], digits[1][:160]
        base = NetRegClassifier((12,), dropout=0.2, **SETTINGS)
    plan = plan_sweep(base, X, y, alphas=ALPHAS, cv=2, require_seed=True)
    stores = {n_jobs: tmp_path / f"{n_jobs}.sqlite" for n_jobs in (1, 2)}
    runs = {n: run_sweep(plan, scoring=scoring, chunk_size=2, n_jobs=n, store=stores[n]) for n in stores}
    if scoring == "balanced_accuracy":
        assert all("val_scorer" in m.metrics and "train_scorer" in m.metrics for m in runs[2].members)
    assert {m.key: m.metrics for m in runs[2].members} == {m.key: m.metrics for m in runs[1].members}
    # The first fold's evidences, computed by whichever worker was free, are one process's.
    assert {m.key: m.evidence for m in runs[2].members} == {m.key: m.evidence for m in runs[1].members}
    assert net == "cnn" or all("log_evidence" in m.evidence for m in runs[2].members if m.fold == 0)
    assert sorted(_stored_keys(stores[2])) == sorted(plan.keys)
    with SweepStore.read(stores[1]) as first, SweepStore.read(stores[2]) as second:
        for key in plan.keys:
            assert net == "mlp" or "norm.running_mean" in first.weights(*key)
            for name, value in first.weights(*key).items():
                assert torch.equal(second.weights(*key)[name], value), name


def test_a_halving_sweep_on_workers_takes_the_decisions_of_one_population(digits):
    plan = plan_sweep(
        NetRegClassifier((12,), **{**SETTINGS, "max_iter": 6}),
        digits[0][:200],
        digits[1][:200],
        alphas=ALPHAS + [30.0, 300.0],
        cv=3,
        require_seed=True,
        search="halving",
        factor=3,
        min_epochs=2,
    )
    results = [run_sweep(plan, scoring="neg_log_loss", n_jobs=n) for n in (1, 2)]
    for result in results:
        assert any(m.status == "stopped" for m in result.members)
    assert {m.key: m.history for m in results[1].members} == {m.key: m.history for m in results[0].members}
    assert results[1].best_index == results[0].best_index and results[1].alpha == results[0].alpha


class _Events(SweepCallback):
    def __init__(self):
        self.events = []

    def on_chunk_begin(self, keys):
        self.events.append(("chunk", list(keys)))

    def on_train_begin(self, info):
        self.events.append(("train", info["n_members"]))

    def on_epoch_end(self, epoch, records, *, population):
        self.events.append(("epoch", epoch, sorted(records), population))


def test_the_workers_send_back_every_chunk_and_the_epochs_of_the_chunk_started_last(digits):
    plan = _plan(digits)
    heard = _Events()
    run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, callback=heard)
    chunks = [event[1] for event in heard.events if event[0] == "chunk"]
    assert sorted(map(tuple, chunks)) == sorted(tuple(plan.keys[i : i + 2]) for i in range(0, len(plan.keys), 2))
    # After each chunk's start, the epochs heard are that chunk's, in order, until another starts.
    runs, current = [], None
    for event in heard.events:
        if event[0] == "chunk":
            current = []
            runs.append(current)
        elif event[0] == "epoch":
            assert event[2] == [0, 1] and event[3] is None  # its two members; no population here
            current.append(event[1])
    assert all(run == list(range(1, len(run) + 1)) for run in runs) and runs[-1] == [1, 2, 3, 4]
    assert ("train", 2) in heard.events


def test_a_worker_killed_mid_sweep_stops_it_and_a_rerun_trains_only_what_is_missing(digits, tmp_path, monkeypatch):
    # The workers are forked from this process: they run the patched function.
    train_chunk = local.train_chunk

    def dies_on_one_chunk(plan, chunk, **kwargs):
        if list(chunk) == FAILING_CHUNK:
            os.kill(os.getpid(), signal.SIGKILL)
        train_chunk(plan, chunk, **kwargs)

    monkeypatch.setattr(local, "train_chunk", dies_on_one_chunk)
    plan, store = _plan(digits), tmp_path / "sweep.sqlite"
    with pytest.raises(ChunkFailedError) as error:
        run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store)
    kept = _stored_keys(store)
    assert error.value.chunk == FAILING_CHUNK and error.value.n_kept == len(kept)
    assert not set(kept) & set(FAILING_CHUNK) and len(kept) == len(set(kept))
    n_kept = "No member had come back before" if not kept else f"{len(kept)} member(s) that came back before were kept"
    assert str(error.value) == (
        f"The worker process training chunk 4 of 6 was killed by signal 9 (out of memory?). {n_kept}; "
        "with a results store, a rerun trains only the members not stored."
    )
    monkeypatch.setattr(local, "train_chunk", train_chunk)
    record = _Record()
    result = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store, callback=record)
    assert sorted(record.stored) == sorted(set(plan.keys) - set(kept))
    assert sorted(_stored_keys(store)) == sorted(plan.keys) and not result.missing


@pytest.mark.parametrize("how", ["killed", "raised"])
def test_a_worker_that_dies_or_raises_computing_an_evidence_stops_the_sweep_which_resumes(
    digits, tmp_path, monkeypatch, how
):
    # The first fold's evidences go back to the queue: the member (1, 0)'s is computed by a worker
    # that did not necessarily train it; its failure must end the sweep, not leave it waiting.
    stored_evidence = local.stored_evidence

    def fails_on_one(plan, record, state_dict):
        if record.key == (1, 0):
            if how == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            raise netreg.DataError("no evidence for (1, 0)")
        return stored_evidence(plan, record, state_dict)

    monkeypatch.setattr(local, "stored_evidence", fails_on_one)
    plan, store = _plan(digits), tmp_path / "sweep.sqlite"
    if how == "killed":
        with pytest.raises(ChunkFailedError) as died:
            run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store)
        n_kept = died.value.n_kept
        kept = "No member had come back before" if not n_kept else f"{n_kept} member(s) that came back before were kept"
        # Named by the chunk that trained the member, whichever worker computed its evidence.
        assert (1, 0) in died.value.chunk
        assert str(died.value) == (
            f"The worker process computing a member's evidence for chunk 1 of 6 was killed by signal 9 "
            f"(out of memory?). {kept}; with a results store, a rerun trains only the members not stored."
        )
    else:
        with pytest.raises(netreg.DataError, match=re.escape("no evidence for (1, 0)")) as error:
            run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store)
        assert any(
            note.startswith("Raised in a worker process computing a member's evidence for chunk 1:\n")
            for note in error.value.__notes__
        )
    # Trained, it was kept owing its evidence: the rerun computes that and does not train it again.
    with SweepStore.read(store) as read:
        assert (1, 0) in [m.key for m in read.members_owing_evidence()]
    monkeypatch.setattr(local, "stored_evidence", stored_evidence)
    heard = _Trained()
    result = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store, callback=heard)
    assert (1, 0) not in heard.trained
    assert sorted(_stored_keys(store)) == sorted(plan.keys) and not result.missing
    assert "log_evidence" in {m.key: m for m in result.members}[(1, 0)].evidence


def test_a_worker_that_dies_reading_an_evidence_task_stops_the_sweep(digits, monkeypatch):
    # It took the task off the queue and died before computing anything: the driver, which
    # went on waiting for that evidence while the other worker waited for tasks, must hear of it.
    import pickle
    import types

    driver = os.getpid()

    def loads(data):
        task = pickle.loads(data)
        if os.getpid() != driver and isinstance(task, tuple) and getattr(task[0], "key", None) == (1, 0):
            os.kill(os.getpid(), signal.SIGKILL)  # in a worker, reading member (1, 0)'s evidence task
        return task

    monkeypatch.setattr(local, "pickle", types.SimpleNamespace(loads=loads, dumps=pickle.dumps))

    def hung(signum, frame):
        raise TimeoutError("the sweep hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)  # a hang fails the test instead of blocking the suite
    try:
        with pytest.raises(ChunkFailedError) as died:
            run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, n_jobs=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert (1, 0) in died.value.chunk
    assert str(died.value).startswith(
        "The worker process computing a member's evidence for chunk 1 of 6 was killed by signal 9 (out of memory?)."
    )


def test_what_training_raised_in_a_worker_is_raised_on_the_driver(digits, monkeypatch):
    train_chunk = local.train_chunk

    def fails(plan, chunk, **kwargs):
        if list(chunk) == [(0, 0), (1, 0)]:
            raise netreg.DataError(f"no rows for {list(chunk)}")
        train_chunk(plan, chunk, **kwargs)

    monkeypatch.setattr(local, "train_chunk", fails)
    with pytest.raises(netreg.DataError, match=re.escape("no rows for [(0, 0), (1, 0)]")) as error:
        run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, n_jobs=2)
    assert any(note.startswith("Raised in a worker process training chunk 1:\n") for note in error.value.__notes__)


def test_workers_are_as_many_as_the_cores_asked_for_and_the_chunks(digits, monkeypatch):
    plan = _plan(digits)
    monkeypatch.setattr(netreg.engine.threads, "usable_cores", lambda: 8)  # n_jobs above the cores is capped
    assert [LocalBackend(n_jobs=n).workers(plan, 3) for n in (1, 2, 5)] == [1, 2, 3]
    assert LocalBackend(n_jobs=-1).workers(plan) == netreg.engine.threads.usable_cores()
    # A sweep on a GPU trains in this process (CI has no CUDA device: the device is resolved as one).
    monkeypatch.setattr(local, "resolve_device", lambda device: torch.device("cuda"))
    assert LocalBackend(n_jobs=4).workers(plan, 6) == 1


def test_chunks_are_sized_to_keep_the_workers_busy_in_whole_fractions_of_a_fold():
    assert balanced_size(80, 16, 16, 1) == 16
    assert balanced_size(80, 16, 16, 2) == 8  # 5 turns of 8 beat 3 turns of 16 (the last one alone)
    assert balanced_size(96, 16, 16, 2) == 16  # 6 chunks of 16: 3 full turns
    assert balanced_size(64, 32, 16, 2) == 32  # two folds per chunk, one turn
    assert balanced_size(12, 12, 6, 4) == 3  # 4 chunks of half a fold, one turn


@pytest.mark.parametrize(
    "n_members, size, n_alphas, n_workers, expected",
    [
        (12, 12, 4, 2, 6),  # 4 alphas x 3 folds: 6 and 6 (7 member-times) where 8 and 4 took 9
        (15, 15, 5, 2, 8),  # 8 and 7 (9) where 5, 5 and 5 took 2 turns (12)
        (80, 16, 16, 16, 5),  # 16 workers: one turn of 16 chunks of 5 (6) where 10 chunks of 8 took 9
        (80, 16, 16, 3, 14),  # 3 workers: 6 chunks of at most 14 in 2 turns (30) where 5 of 16 took 34
    ],
)
def test_members_are_dealt_out_evenly_where_whole_folds_would_leave_a_worker_idle(
    n_members, size, n_alphas, n_workers, expected
):
    found = balanced_size(n_members, size, n_alphas, n_workers)
    assert found == expected
    # Each worker's share, in member-times (a chunk of K costs 1 + K), against the fold-aligned best.
    chunks = [min(found, n_members - start) for start in range(0, n_members, found)]
    loads = [sum(1 + k for k in chunks[w::n_workers]) for w in range(n_workers)]
    assert max(loads) - min(k for k in loads if k) <= 1 + found
    assert max(loads) < min(
        math.ceil(math.ceil(n_members / s) / n_workers) * (1 + s)
        for s in range(1, size + 1)
        if n_alphas % s == 0 or s % n_alphas == 0
    )


def test_a_bad_n_jobs_is_refused_before_any_training(digits):
    expected = "`n_jobs` must be None or a nonzero int (-1: all cores). Got n_jobs=0."
    with pytest.raises(netreg.InvalidParameterError, match=re.escape(expected)):
        run_sweep(_plan(digits), scoring="accuracy", n_jobs=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_cv_estimator_passes_n_jobs_to_its_sweep_and_refit(digits, tmp_path):
    X, y = digits[0][:200], digits[1][:200]
    settings = {**SETTINGS, "alphas": ALPHAS, "chunk_size": 2, "store": tmp_path / "sweep.sqlite"}
    one, two = NetRegClassifierCV((12,), n_jobs=1, **settings), NetRegClassifierCV((12,), n_jobs=2, **settings)
    assert two.get_params()["n_jobs"] == 2
    one.fit(X, y)
    # n_jobs does not identify a sweep: its store resumes whatever n_jobs, here with nothing left to train.
    record = _Record()
    two.fit(X, y, callback=record)
    assert record.stored == [] and two.best_estimator_.n_jobs == 2
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])
    fresh = NetRegClassifierCV((12,), n_jobs=2, **{**settings, "store": None}).fit(X, y)
    np.testing.assert_array_equal(fresh.cv_results_["mean_test_score"], one.cv_results_["mean_test_score"])


DRIVER = textwrap.dedent(
    """
    import sys
    from sklearn.datasets import load_digits
    from netreg import NetRegClassifier
    from netreg.tuning import plan_sweep, run_sweep
    X, y = load_digits(return_X_y=True)
    base = NetRegClassifier((64,), max_iter=60, tol=0.0, n_iter_no_change=100, random_state=0)
    plan = plan_sweep(base, X[:400] / 16, y[:400], alphas=[0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], cv=3, require_seed=True)
    run_sweep(plan, scoring="accuracy", store=sys.argv[1], chunk_size=1, n_jobs=2)
    """
)


def _processes_running(marker):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_the_workers_of_a_driver_killed_outright_end_with_it(tmp_path):
    store = tmp_path / "sweep.sqlite"
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(store)])
    deadline = time.time() + 120
    while len(_processes_running(str(store))) < 3 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert len(_processes_running(str(store))) == 3  # the driver and its two workers
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while _processes_running(str(store)) and time.time() < deadline:
        time.sleep(0.05)
    assert _processes_running(str(store)) == []


class _InterruptAtOwed(SweepCallback):
    """Stops the sweep (as Ctrl-C would, on the driver) when a member is stored owing its evidence."""

    def on_member_stored(self, record):
        if record.evidence_pending:
            raise KeyboardInterrupt


class _Trained(SweepCallback):
    """The members trained (those of the chunks started) and those stored, on the driver."""

    def __init__(self):
        self.trained, self.stored, self.evidenced, self.begin = [], [], [], {}

    def on_sweep_begin(self, info):
        self.begin = dict(info)

    def on_chunk_begin(self, keys):
        self.trained += [tuple(key) for key in keys]

    def on_member_stored(self, record):
        self.stored.append(record.key)

    def on_member_evidence(self, record):
        self.evidenced.append(record.key)


def _rows(path):
    """Each stored member's training marks: its seconds, when it was written, its weights."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT alpha_index, fold, fit_time_s, finished_at, weights FROM members").fetchall()
    return {(a, f): rest for a, f, *rest in rows}


@pytest.mark.parametrize("n_jobs", [1, 2], ids=["in-process", "workers"])
def test_a_sweep_stopped_before_an_evidence_is_back_keeps_the_member_and_its_resume_only_computes_the_evidence(
    digits, tmp_path, n_jobs
):
    plan, store = _plan(digits), tmp_path / "sweep.sqlite"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=n_jobs, store=store, callback=_InterruptAtOwed())
    before = _rows(store)
    with SweepStore.read(store) as read:
        owed = [m.key for m in read.members() if m.evidence_pending]
        # Read meanwhile (a report), the member counts as trained, its evidence as not known yet.
        partial = netreg.tuning.SweepResult.from_members(
            read.spec(), read.members(), scoring="accuracy", selection="min", require_choice=False
        )
    assert len(owed) == 1 and owed[0][1] == 0 and set(owed) <= set(before)
    assert owed[0] not in partial.missing and math.isnan(partial.log_evidence[owed[0][0]])
    assert "mean_log_evidence" not in partial.cv_results or math.isnan(
        partial.cv_results["mean_log_evidence"][owed[0][0]]
    )
    heard = _Trained()
    resumed = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=n_jobs, store=store, callback=heard)
    # Only the members not stored were trained; the one owing its evidence was not trained again.
    assert sorted(heard.trained) == sorted(set(plan.keys) - set(before)) == sorted(heard.stored)
    # The owed evidence is heard of as it is computed (first: the sweep's start says how many are
    # owed), with the evidences of the members trained now.
    assert heard.begin["n_owing"] == len(owed) and heard.evidenced[: len(owed)] == owed
    assert set(heard.evidenced) - set(owed) <= set(heard.stored)
    after = _rows(store)
    assert all(after[key] == before[key] for key in before)  # same seconds, time written, weights
    whole = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=n_jobs, store=tmp_path / "whole.sqlite")
    evidences = {m.key: m.evidence for m in whole.members}
    assert "log_evidence" in evidences[owed[0]]
    assert {m.key: m.evidence for m in resumed.members} == evidences
    np.testing.assert_array_equal(resumed.log_evidence, whole.log_evidence)
    with SweepStore.read(store) as read:
        assert not read.members_owing_evidence()


def test_an_error_in_another_chunk_keeps_the_members_whose_evidence_was_queued(digits, tmp_path, monkeypatch):
    # The first fold's evidences queue behind the chunks: when chunk 4 fails, the first-fold
    # members the worker that took it trained before are kept, owing their evidence.
    train_chunk = local.train_chunk

    def fails_on_one_chunk(plan, chunk, **kwargs):
        if list(chunk) == FAILING_CHUNK:
            raise netreg.DataError("chunk 4 failed")
        train_chunk(plan, chunk, **kwargs)

    monkeypatch.setattr(local, "train_chunk", fails_on_one_chunk)
    plan, store = _plan(digits), tmp_path / "sweep.sqlite"
    with pytest.raises(netreg.DataError, match="chunk 4 failed"):
        run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store)
    before = _rows(store)
    with SweepStore.read(store) as read:
        first_fold = [m for m in read.members() if m.fold == 0]
    assert len(first_fold) >= 2 and all(m.evidence_pending != ("log_evidence" in m.evidence) for m in first_fold)
    monkeypatch.setattr(local, "train_chunk", train_chunk)
    heard = _Trained()
    result = run_sweep(plan, scoring="accuracy", chunk_size=2, n_jobs=2, store=store, callback=heard)
    assert sorted(heard.trained) == sorted(set(plan.keys) - set(before)) and not result.missing
    assert all(_rows(store)[key] == before[key] for key in before)
    assert all("log_evidence" in m.evidence for m in result.members if m.fold == 0)
