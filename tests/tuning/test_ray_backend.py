"""The Ray backend: a two-node cluster on this machine trains a sweep as the local backend does.

The cluster is Ray's own test fixture, ``ray.cluster_utils.Cluster``: two nodes of one CPU
each, every process bound to the loopback address. It is started once for this module
and stopped at its end, whatever the outcome.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import pickle
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray
import torch
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import netreg
from expected_messages import not_a_nonnegative_float
from netreg import NetRegClassifier, NetRegClassifierCV, NetRegError
from netreg.exceptions import ChunkFailedError, InvalidParameterError, MissingDependencyError
from netreg.tuning import SweepCallback, plan_sweep, run_sweep
from netreg.tuning.backends import RayBackend, ray_backend
from netreg.tuning.store import SweepStore

LOOPBACK = "127.0.0.1"
# Workers import netreg from where this process did (a checkout, in development), and the
# tests' own modules (own_modules): one runtime_env, so the tests share one set of workers
# (each new one takes seconds to start).
TESTS = str(Path(__file__).parents[1])
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": os.pathsep.join([str(Path(netreg.__file__).parents[1]), TESTS])}}
ALPHAS = [1e-3, 0.1, 1.0, 10.0]
SETTINGS = {"max_iter": 10, "batch_size": 50, "tol": 0.0, "random_state": 0, "dtype": "float64", "device": "cpu"}
# Members are ordered fold by fold, so with chunks of 4 the third and last chunk holds fold 2.
FAILING_CHUNK = [(0, 2), (1, 2), (2, 2), (3, 2)]
RERUN = "with a results store, a rerun trains only the members not stored."
KEPT = f"8 members finished before it were kept; {RERUN}"  # when FAILING_CHUNK fails (see _failing)


def _plan(digits):
    X, y = digits[0][:300], digits[1][:300]
    return plan_sweep(NetRegClassifier((16,), **SETTINGS), X, y, alphas=ALPHAS, cv=3, require_seed=True)


class _Record(SweepCallback):
    def __init__(self):
        self.begin, self.stored, self.ended = None, [], []

    def on_sweep_begin(self, info):
        self.begin = info

    def on_member_stored(self, record):
        self.stored.append((record.alpha_index, record.fold))

    def on_member_end(self, result):
        self.ended.append(result)


def _stored_keys(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT alpha_index, fold FROM members").fetchall()


def _metrics(members):
    return {(m.alpha_index, m.fold): m.metrics for m in members}


@pytest.fixture(scope="module")
def local_result(digits):
    return run_sweep(_plan(digits), scoring="accuracy", chunk_size=2)


# -- without a cluster --------------------------------------------------------------------
def test_without_ray_the_backend_says_how_to_install_it(digits, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    with pytest.raises(MissingDependencyError) as error:
        run_sweep(_plan(digits), scoring="accuracy", backend="ray")
    assert (
        str(error.value)
        == 'backend="ray" needs Ray, which is not installed. Install it with: pip install "netreg[ray]"'
    )
    assert str(error.value) == ray_backend.RAY_MISSING_MSG
    assert isinstance(error.value, ImportError) and isinstance(error.value, NetRegError)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_cpus": -1}, not_a_nonnegative_float("num_cpus", "-1")),
        ({"num_gpus": float("nan")}, not_a_nonnegative_float("num_gpus", "nan")),
        ({"max_retries": 1.5}, "`max_retries` must be an int >= -1. Got max_retries=1.5."),
        (
            {"address": 6379},
            "`address` must be None or a str such as 'HEAD:6379', 'auto' or 'local'. Got address=6379.",
        ),
        ({"runtime_env": ["pip"]}, "`runtime_env` must be None or a dict. Got runtime_env=['pip']."),
    ],
)
def test_bad_parameters_are_refused_before_ray_is_contacted(params, message, monkeypatch):
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("ray.init was called"))
    with pytest.raises(InvalidParameterError) as error:
        RayBackend(**params).run(None, [[(0, 0)]], lambda *a: None, None)
    assert str(error.value) == message


def test_nothing_left_to_train_starts_no_cluster(monkeypatch):
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("ray.init was called"))
    backend = RayBackend()
    backend.run(None, [], lambda *a: None, None)
    assert backend.node_ids_ == []


def test_members_owing_only_their_evidence_are_not_sent_to_the_cluster(digits, tmp_path, monkeypatch):
    # A local sweep stopped while its first fold's evidences were queued behind the last chunk:
    # every member trained, two owing their evidence. Resumed on Ray, nothing is left to train.
    store = tmp_path / "sweep.sqlite"
    whole = run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, store=store)
    owing = json.dumps({"units_off": [0], "pending": True})
    with sqlite3.connect(store) as raw:
        raw.execute("UPDATE members SET evidence = ? WHERE fold = 0 AND alpha_index IN (0, 3)", (owing,))
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("ray.init was called"))
    backend, progress = RayBackend(), _Record()
    result = run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, store=store, backend=backend, callback=progress)
    assert backend.node_ids_ == [] and progress.stored == [] and progress.begin["n_done"] == 12
    evidences = {m.key: m.evidence for m in whole.members}
    assert {m.key: m.evidence for m in result.members} == evidences and "log_evidence" in evidences[0, 0]


def test_the_default_address_is_ray_address_else_a_new_local_instance(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert ray_backend._resolve_address(None) == "local"
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    assert ray_backend._resolve_address(None) == "head:6379"
    assert ray_backend._resolve_address("auto") == "auto"


def test_repr_shows_the_parameters_that_differ_from_the_defaults():
    assert repr(RayBackend()) == "RayBackend()"
    assert repr(RayBackend(num_gpus=0.5, max_retries=0)) == "RayBackend(num_gpus=0.5, max_retries=0)"


@pytest.mark.parametrize(
    ("n_kept", "kept"),
    [
        (0, "No member had finished before it; "),
        (1, "1 member finished before it was kept; "),
        (8, "8 members finished before it were kept; "),
    ],
)
def test_the_failure_message_says_what_was_kept(n_kept, kept):
    message = RayBackend()._failure_message(ray, ray.exceptions.WorkerCrashedError(), 1, [[(0, 0)], [(1, 0)]], n_kept)
    assert message == (
        "The Ray task training chunk 2 of 2 (members as (alpha_index, fold): [(1, 0)]) failed with "
        "WorkerCrashedError. Ray retries a task whose worker process or node dies up to max_retries=3 times; "
        f"the Ray error chained above says why it gave up. {kept}{RERUN}"
    )


# -- on a two-node cluster ----------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    with pytest.MonkeyPatch.context() as patch:
        # Ray replaces a loopback address by the machine's network address when it
        # connects (so that other machines could reach it); for a cluster that must stay
        # on this machine, tell Ray, as on macOS, that the loopback address is the node's.
        patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        patch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        nodes = Cluster()
        try:
            nodes.add_node(num_cpus=1, node_ip_address=LOOPBACK, include_dashboard=False)
            nodes.add_node(num_cpus=1, node_ip_address=LOOPBACK)
            nodes.wait_for_nodes()
            ray.init(address=nodes.address, _node_ip_address=LOOPBACK)
            yield nodes
        finally:
            ray.shutdown()
            nodes.shutdown()


def _node_ids():
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


# Ten epochs, on purpose: the refit on all the data warns that it stopped before converging.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_sweep_on_two_nodes_chooses_as_the_local_sweep(cluster, digits, local_result, tmp_path):
    X, y = digits[0][:300], digits[1][:300]
    backend = RayBackend(runtime_env=RUNTIME_ENV)
    progress = _Record()
    common = {"alphas": ALPHAS, "cv": 3, "scoring": "accuracy", "chunk_size": 2, **SETTINGS}
    model = NetRegClassifierCV((16,), backend=backend, store=tmp_path / "sweep.sqlite", **common)
    model.fit(X, y, callback=progress)
    alone = NetRegClassifierCV((16,), **common).fit(X, y)

    # Six tasks of two members, on both nodes.
    assert len(backend.node_ids_) == 6 and set(backend.node_ids_) == _node_ids() and len(_node_ids()) == 2
    assert model.alpha_ == alone.alpha_ == local_result.alpha
    ours, theirs = _metrics(model.sweep_.members), _metrics(local_result.members)
    assert ours.keys() == theirs.keys() and len(ours) == 12
    for key, metrics in ours.items():
        for name, value in metrics.items():
            assert value == pytest.approx(theirs[key][name], rel=1e-9, abs=1e-12), (key, name)
    np.testing.assert_allclose(model.cv_results_["mean_test_score"], alone.cv_results_["mean_test_score"], rtol=1e-9)
    # Progress reached the driver: each member stored once, and its engine result forwarded.
    assert sorted(progress.stored) == sorted(ours) and len(progress.ended) == 12
    assert all(result.optimizer_state is None for result in progress.ended)
    # The weights in the store are CPU tensors equal to the local fit's.
    with SweepStore.read(tmp_path / "sweep.sqlite") as store:
        weights = store.weights(2, 1)
    local_store = tmp_path / "local.sqlite"
    run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, store=local_store)
    with SweepStore.read(local_store) as store:
        for name, value in store.weights(2, 1).items():
            assert weights[name].device.type == "cpu"
            np.testing.assert_allclose(weights[name].numpy(), value.numpy(), rtol=1e-9, atol=1e-12)


def test_a_worker_killed_during_its_task_is_retried_and_each_member_is_stored_once(
    cluster, digits, local_result, tmp_path, monkeypatch
):
    marker = str(tmp_path / "killed")
    train = ray_backend._train_on_node

    # A closure: Ray sends it to the workers by value, so they run this version.
    def train_then_die_once(plan, chunk):
        result = train(plan, chunk)
        try:
            open(marker, "x").close()
        except FileExistsError:
            return result
        os._exit(1)  # the first task to finish dies before returning what it trained

    monkeypatch.setattr(ray_backend, "_train_on_node", train_then_die_once)
    progress = _Record()
    store = tmp_path / "sweep.sqlite"
    result = run_sweep(
        _plan(digits),
        scoring="accuracy",
        chunk_size=2,
        store=store,
        backend=RayBackend(runtime_env=RUNTIME_ENV),
        callback=progress,
    )
    assert os.path.exists(marker)
    keys = _stored_keys(store)
    assert len(keys) == len(set(keys)) == 12 and len(progress.stored) == len(set(progress.stored)) == 12
    assert not result.missing and result.alpha == local_result.alpha
    theirs = _metrics(local_result.members)
    for key, metrics in _metrics(result.members).items():
        assert metrics["val_loss"] == pytest.approx(theirs[key]["val_loss"], rel=1e-9)


def _attempts(tmp_path):
    return len(list((tmp_path / "attempts").iterdir()))


class _Marks(SweepCallback):
    """On the driver: one file per member stored, for the tasks to read."""

    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder)

    def on_member_stored(self, record):
        open(os.path.join(self.folder, f"{record.alpha_index}-{record.fold}"), "x").close()


def _failing(tmp_path, fail):
    """The task that fails FAILING_CHUNK, once the other chunks' 8 members are stored: which
    chunk fails, and what was kept before, do not depend on which task Ray runs first."""
    attempts, stored = str(tmp_path / "attempts"), str(tmp_path / "stored")
    os.makedirs(attempts)
    train = ray_backend._train_on_node

    def train_or_fail(plan, chunk):
        if [tuple(key) for key in chunk] != FAILING_CHUNK:
            return train(plan, chunk)
        deadline = time.monotonic() + 300
        while len(os.listdir(stored)) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        open(os.path.join(attempts, f"{os.getpid()}-{len(os.listdir(attempts))}"), "x").close()
        fail()

    return train_or_fail, _Marks(stored)


def test_a_chunk_whose_worker_keeps_dying_stops_the_sweep_after_max_retries(cluster, digits, tmp_path, monkeypatch):
    train_or_fail, marks = _failing(tmp_path, lambda: os._exit(1))
    monkeypatch.setattr(ray_backend, "_train_on_node", train_or_fail)
    store = tmp_path / "sweep.sqlite"
    plan = _plan(digits)
    with pytest.raises(ChunkFailedError) as error:
        run_sweep(
            plan,
            scoring="accuracy",
            chunk_size=4,
            store=store,
            backend=RayBackend(max_retries=1, runtime_env=RUNTIME_ENV),
            callback=marks,
        )
    assert str(error.value) == (
        "The Ray task training chunk 3 of 3 (members as (alpha_index, fold): [(0, 2), (1, 2), (2, 2), (3, 2)]) "
        "failed with WorkerCrashedError. Ray retries a task whose worker process or node dies up to max_retries=1 "
        f"times; the Ray error chained above says why it gave up. {KEPT}"
    )
    assert isinstance(error.value.__cause__, ray.exceptions.WorkerCrashedError)
    assert error.value.chunk == FAILING_CHUNK and error.value.n_kept == 8
    assert _attempts(tmp_path) == 2  # the first run and one retry
    # What finished before the failure is in the store, and a rerun trains only the rest.
    assert sorted(_stored_keys(store)) == sorted((a, f) for a in range(4) for f in (0, 1))
    progress = _Record()
    run_sweep(plan, scoring="accuracy", chunk_size=4, store=store, callback=progress)
    assert progress.begin["n_done"] == 8 and sorted(progress.stored) == FAILING_CHUNK


NOT_RETRIED = (
    "The Ray task training chunk 3 of 3 (members as (alpha_index, fold): [(0, 2), (1, 2), (2, 2), (3, 2)]) raised "
    f"an exception, which is not retried (unlike a worker's death, it would recur). {KEPT}"
)


@pytest.mark.parametrize(
    ("exception", "hint"),
    [
        (ValueError("the members of this chunk cannot be trained"), ""),
        (
            ModuleNotFoundError("No module named 'netreg'"),
            " Every node must be able to import netreg, the driver's version: install it there or use runtime_env.",
        ),
    ],
    ids=["ValueError", "ModuleNotFoundError"],
)
def test_an_exception_in_a_task_is_not_retried(exception, hint, cluster, digits, tmp_path, monkeypatch):
    def fail():
        raise exception

    train_or_fail, marks = _failing(tmp_path, fail)
    monkeypatch.setattr(ray_backend, "_train_on_node", train_or_fail)
    backend = RayBackend(runtime_env=RUNTIME_ENV)
    with pytest.raises(ChunkFailedError) as error:
        run_sweep(_plan(digits), scoring="accuracy", chunk_size=4, backend=backend, callback=marks)
    assert str(error.value) == f"{NOT_RETRIED}{hint} The exception: {type(exception).__name__}: {exception}"
    assert isinstance(error.value.__cause__, ray.exceptions.RayTaskError)
    assert _attempts(tmp_path) == 1
    copy = pickle.loads(pickle.dumps(error.value))
    assert (str(copy), copy.chunk, copy.n_kept) == (str(error.value), FAILING_CHUNK, 8)


def _running(pid):
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_task_cancelled_in_the_middle_of_an_import_leaves_no_broken_worker(
    cluster, digits, local_result, tmp_path, monkeypatch
):
    # Issue 20. The first training step of a process imports sympy (through PyTorch), and a
    # cancel used to raise KeyboardInterrupt in the tasks still running: landing in that
    # import, it left the worker with sympy half set up, and the next sweep's tasks on that
    # worker failed ("module 'sympy' has no attribute 'printing'"). Here the first task
    # stops half way through importing sympy, the second fails then, and the sweep cancels
    # the first there. Workers of their own (a runtime_env no other test uses): fresh ones.
    runtime_env = {"env_vars": {**RUNTIME_ENV["env_vars"], "NETREG_TEST_WORKERS": "cancelled-in-an-import"}}
    roles = str(tmp_path / "roles")
    importing = os.path.join(roles, "importing")
    os.makedirs(roles)
    train = ray_backend._train_on_node

    def import_or_fail(plan, chunk):
        try:
            open(os.path.join(roles, "first"), "x").close()
        except FileExistsError:
            deadline = time.monotonic() + 300
            while not os.path.exists(importing) and time.monotonic() < deadline:
                time.sleep(0.05)
            raise ValueError("a chunk failed while another task imported sympy") from None

        class StopInImport(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "sympy.printing":  # half way through `import sympy`: sympy.core is in
                    with open(importing, "x") as file:
                        file.write(str(os.getpid()))
                    deadline = time.monotonic() + 300
                    while time.monotonic() < deadline:  # until cancelled
                        time.sleep(0.05)
                return None

        if "sympy" in sys.modules:  # not a fresh worker: say so, and let the other task fail
            with open(importing, "x") as file:
                file.write("sympy was imported already")
            raise RuntimeError("sympy was imported already")
        finder = StopInImport()
        sys.meta_path.insert(0, finder)
        try:
            return train(plan, chunk)
        finally:
            sys.meta_path.remove(finder)

    monkeypatch.setattr(ray_backend, "_train_on_node", import_or_fail)
    with pytest.raises(ChunkFailedError) as error:
        run_sweep(_plan(digits), scoring="accuracy", chunk_size=2, backend=RayBackend(runtime_env=runtime_env))
    assert str(error.value).endswith("The exception: ValueError: a chunk failed while another task imported sympy")
    with open(importing) as file:
        pid = file.read()
    assert pid.isdigit()  # the first task was in the import when the sweep stopped
    # Cancelled by force: Ray ended that worker's process instead of interrupting it.
    deadline = time.monotonic() + 60
    while _running(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(int(pid))
    monkeypatch.undo()

    def first_step():  # what a first training step does in a worker: it imports sympy
        x = torch.ones(2, requires_grad=True)
        return torch.autograd.grad(x * 3.0, [x], grad_outputs=torch.ones(2))[0].tolist()

    # A task on each node, where a worker of these left half imported would take it first.
    for node in sorted(_node_ids()):
        strategy = NodeAffinitySchedulingStrategy(node, soft=False)
        step = ray.remote(first_step).options(runtime_env=runtime_env, scheduling_strategy=strategy)
        assert ray.get(step.remote()) == [3.0, 3.0]
    # The next sweep of this driver, on the same workers, trains every chunk.
    result = run_sweep(_plan(digits), scoring="accuracy", chunk_size=1, backend=RayBackend(runtime_env=runtime_env))
    assert not result.missing and result.alpha == local_result.alpha
    theirs = _metrics(local_result.members)
    for key, metrics in _metrics(result.members).items():
        assert metrics["val_loss"] == pytest.approx(theirs[key]["val_loss"], rel=1e-9)


def test_a_users_module_trains_on_the_cluster_as_it_does_locally(cluster, digits, tmp_path):
    # A CNN with BatchNorm and dropout on images: the workers import its class as the driver does.
    from own_modules import ImageCNN

    X, y = digits[0][:240].reshape(240, 1, 8, 8), digits[1][:240]
    base = NetRegClassifier(module=ImageCNN, module_kwargs={"dropout": 0.3}, **SETTINGS)
    plan = plan_sweep(base, X, y, alphas=ALPHAS, cv=2, require_seed=True)
    on_ray = run_sweep(
        plan,
        scoring="accuracy",
        chunk_size=3,
        store=tmp_path / "ray.sqlite",
        backend=RayBackend(runtime_env=RUNTIME_ENV),
    )
    local = run_sweep(plan, scoring="accuracy", chunk_size=8, store=tmp_path / "local.sqlite")
    assert on_ray.alpha == local.alpha
    ours, theirs = _metrics(on_ray.members), _metrics(local.members)
    for key, metrics in ours.items():
        for name, value in metrics.items():
            assert value == pytest.approx(theirs[key][name], rel=1e-9, abs=1e-12), (key, name)
    with SweepStore.read(tmp_path / "ray.sqlite") as a, SweepStore.read(tmp_path / "local.sqlite") as b:
        for name, value in b.weights(3, 1).items():
            np.testing.assert_allclose(a.weights(3, 1)[name].numpy(), value.numpy(), rtol=1e-9, atol=1e-12)


def test_the_backend_connects_for_the_sweep_and_disconnects_after_it(cluster, digits, local_result):
    ray.shutdown()
    try:
        backend = RayBackend(address=cluster.address, runtime_env=RUNTIME_ENV)
        result = run_sweep(_plan(digits), scoring="accuracy", chunk_size=6, backend=backend)
        assert not ray.is_initialized()
        assert len(backend.node_ids_) == 2 and result.alpha == local_result.alpha
    finally:
        if not ray.is_initialized():
            ray.init(address=cluster.address, _node_ip_address=LOOPBACK)


def test_netreg_tune_on_the_cluster_from_the_command_line(cluster, tmp_path, capsys, monkeypatch):
    from sklearn.datasets import load_iris

    from netreg.cli import main

    monkeypatch.chdir(tmp_path)
    frame = load_iris(as_frame=True).frame
    frame.to_csv("iris.csv", index=False)
    argv = [
        "tune",
        "iris.csv",
        "--target",
        "target",
        "--alphas",
        "0.01,1,100",
        "--cv",
        "2",
        "--hidden",
        "4",
        "--max-iter",
        "5",
        "--chunk-size",
        "2",
        "--backend",
        "ray",
        "--address",
        cluster.address,
        "--out",
        "run",
        "--no-report",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    assert "Chosen alpha = " in capsys.readouterr().out
    assert len(_stored_keys(tmp_path / "run" / "sweep.sqlite")) == 6


def test_successive_halving_on_the_cluster_takes_the_local_decisions(cluster, digits):
    X, y = digits[0][:300], digits[1][:300]
    many = [1e-3, 0.01, 0.1, 1.0, 10.0, 100.0]

    def plan():
        net = NetRegClassifier((16,), **SETTINGS)
        return plan_sweep(net, X, y, alphas=many, cv=3, require_seed=True, search="halving", min_epochs=2)

    local = run_sweep(plan(), scoring="accuracy")
    remote = run_sweep(plan(), scoring="accuracy", backend=RayBackend(runtime_env=RUNTIME_ENV))
    assert remote.alpha == local.alpha
    np.testing.assert_array_equal(remote.stopped_at, local.stopped_at)
    # 6 alphas -> at least 2 go on at the rung of epoch 2 (more when within the folds' noise of the best).
    assert 0 < np.isfinite(local.stopped_at).sum() <= 4
    assert _metrics(remote.members).keys() == _metrics(local.members).keys()
