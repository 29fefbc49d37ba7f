"""The thread policy: n_jobs as scikit-learn reads it, threads per run, set for the run and restored."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import netreg
from netreg import NetRegClassifier
from netreg.engine import Callback, TrainConfig, threads, train_population
from netreg.engine.threads import N_JOBS_ENV, limit_threads, resolve_n_jobs, run_threads, usable_cores
from netreg.nets import MLP


def test_n_jobs_counts_cores_as_scikit_learn_does(monkeypatch):
    monkeypatch.delenv(N_JOBS_ENV, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    assert resolve_n_jobs(None) is None
    assert [resolve_n_jobs(n) for n in (1, 3, 8, -1, -2, -8, -20)] == [1, 3, 8, 8, 7, 1, 1]
    assert resolve_n_jobs(np.int64(2)) == 2
    monkeypatch.setenv(N_JOBS_ENV, "-3")
    assert resolve_n_jobs(None) == 6
    assert resolve_n_jobs(2) == 2  # an explicit value wins over the environment


def test_more_jobs_than_cores_are_capped_at_the_cores_with_a_note(monkeypatch):
    monkeypatch.delenv(N_JOBS_ENV, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    expected = "`n_jobs=16` asks for more than the 8 cores this process may use; using 8 (threads beyond the cores only wait for each other)."
    with pytest.warns(netreg.NetRegWarning, match=re.escape(expected)):
        assert resolve_n_jobs(16) == 8
    monkeypatch.setenv(N_JOBS_ENV, "100000")
    with pytest.warns(netreg.NetRegWarning, match=re.escape("`NETREG_N_JOBS=100000` asks for more than the 8 cores")):
        assert resolve_n_jobs(None) == 8
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    with pytest.warns(netreg.NetRegWarning, match=re.escape("than the 1 core this process may use; using 1 (")):
        assert resolve_n_jobs(2) == 1


@pytest.mark.parametrize("value", [0, True, 2.0, "2"])
def test_a_bad_n_jobs_is_refused_with_the_full_message(value):
    expected = f"`n_jobs` must be None or a nonzero int (-1: all cores). Got n_jobs={value!r}."
    with pytest.raises(netreg.InvalidParameterError, match=re.escape(expected)):
        resolve_n_jobs(value)


def test_a_bad_environment_variable_is_named_in_the_message(monkeypatch):
    monkeypatch.setenv(N_JOBS_ENV, "all")
    expected = "`NETREG_N_JOBS` must be a nonzero int (-1: all cores). Got NETREG_N_JOBS='all'."
    with pytest.raises(netreg.InvalidParameterError, match=re.escape(expected)):
        resolve_n_jobs(None)
    with pytest.raises(netreg.InvalidParameterError, match=re.escape(expected)):
        NetRegClassifier((4,)).fit(np.zeros((6, 2)), np.arange(6) % 2)


def test_usable_cores_follow_the_affinity_and_the_container_quota(monkeypatch, tmp_path):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", str(tmp_path / "absent"))
    assert usable_cores() == 4
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", str(quota))
    quota.write_text("max 100000\n")
    assert usable_cores() == 4
    quota.write_text("250000 100000\n")
    assert usable_cores() == 2
    quota.write_text("50000 100000\n")
    assert usable_cores() == 1


def test_runs_get_a_thread_per_share_of_a_steps_arithmetic(monkeypatch):
    monkeypatch.setattr(threads, "default_cores", lambda: 4)
    per_thread = threads.FLOPS_PER_THREAD
    assert [run_threads(None, f * per_thread) for f in (0.01, 1, 2.5, 3.99, 100)] == [1, 1, 2, 3, 4]
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    assert run_threads(6, 1.0) == 6  # a fixed number is kept, whatever the arithmetic
    assert run_threads(100_000, 1.0) == 8  # but never above the cores: libgomp cannot start 100,000 threads


# In a subprocess: before the cap, these ended the process (libgomp's "Thread creation failed", a segfault).
HUGE_N_JOBS_FIT = """
import numpy as np, torch
from netreg import NetRegClassifier
from netreg.engine.threads import usable_cores
X = np.random.default_rng(0).normal(size=(60, 3))
y = (X[:, 0] > 0).astype(int)
net = NetRegClassifier((4,), n_jobs=100000, max_iter=50, solver="lbfgs", random_state=0).fit(X, y)
print(net.score(X, y) > 0.9, torch.get_num_threads() <= usable_cores())
"""


def test_a_huge_n_jobs_fits_on_the_usable_cores_with_a_note():
    completed = subprocess.run([sys.executable, "-c", HUGE_N_JOBS_FIT], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["True", "True"]
    cores = usable_cores()
    plural = "s" if cores > 1 else ""
    note = f"`n_jobs=100000` asks for more than the {cores} core{plural} this process may use; using {cores} ("
    assert note in completed.stderr


def test_a_huge_netreg_n_jobs_tunes_with_a_note_and_no_false_interruption(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    np.savez(tmp_path / "d.npz", X=X, target=(X[:, 0] > 0).astype(int))
    argv = ["tune", "d.npz", "--target", "target", "--hidden", "4", "--max-iter", "3", "--alphas", "0,1", "--cv", "2"]
    completed = subprocess.run(
        [sys.executable, "-m", "netreg.cli", *argv, "--out", "run", "--no-report"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, N_JOBS_ENV: "100000"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "netreg tune: note: `NETREG_N_JOBS=100000` asks for more than the" in completed.stderr
    assert "interrupted" not in completed.stderr and (tmp_path / "run" / "model").is_dir()


def test_threads_are_set_for_the_run_and_restored_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(ZeroDivisionError), limit_threads(before + 1):
        assert torch.get_num_threads() == before + 1
        1 / 0
    assert torch.get_num_threads() == before


class _Threads(Callback):
    def __init__(self):
        self.seen = set()

    def on_epoch_end(self, epoch, records):
        self.seen.add(torch.get_num_threads())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_fit_trains_on_n_jobs_threads_and_restores_the_setting(digits, n_jobs):
    before = torch.get_num_threads()
    seen = _Threads()
    NetRegClassifier((8,), max_iter=2, n_jobs=n_jobs, random_state=0).fit(*digits, callback=seen)
    assert seen.seen == {n_jobs} and torch.get_num_threads() == before


def test_a_small_network_trains_on_one_thread_by_default(digits):
    seen = _Threads()
    config = TrainConfig(max_iter=2, batch_size=64)
    train_population(MLP(64, (100, 100), 10), *digits, task="multiclass", config=config, callbacks=seen)
    assert seen.seen == {1}


def test_n_threads_is_checked():
    expected = "`n_threads` must be an int >= 1. Got n_threads=0."
    with pytest.raises(netreg.InvalidParameterError, match=re.escape(expected)):
        TrainConfig(n_threads=0)
