"""The ``"ray"`` backend: a sweep's chunks trained as Ray tasks (one per chunk) across a cluster.

How it runs and how to run a cluster: ``docs/ray.md``. Ray is optional (``pip install
"netreg[ray]"``), imported only when a sweep runs.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch

from netreg._checks import check_float, check_int
from netreg.engine import MemberResult
from netreg.exceptions import RAY_MISSING_MSG, ChunkFailedError, MissingDependencyError, invalid
from netreg.tuning.backends.protocol import Keep
from netreg.tuning.backends.ray_connect import join
from netreg.tuning.diagnostics import assemble_record, member_diagnostics, member_scores
from netreg.tuning.plan import SweepPlan, train_chunk
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = ["RayBackend"]

#: What a task sends back per member: ``(key, result, fit_time_s, diagnostics, scores)``.
_Finished = tuple[tuple[int, int], MemberResult, float, dict[str, Any], dict[str, float]]


class RayBackend:
    """Train the chunks of a sweep as Ray tasks, one task per chunk.

    Pass it as ``backend=`` to the CV estimators or :func:`netreg.tuning.run_sweep` (``backend="ray"``
    is ``RayBackend()``); running a cluster: ``docs/ray.md``.

    Parameters
    ----------
    address : str, optional
        The cluster, as ``ray.init`` takes it: ``"HEAD:6379"``, ``"auto"`` (the cluster ``ray
        start`` started here) or ``"local"`` (a Ray instance stopped after the sweep). Default:
        ``RAY_ADDRESS`` if set, else ``"local"``. Ignored if this process is already connected
        to Ray; otherwise the backend connects for the sweep and disconnects after it.
    num_cpus : float, default=1
        CPUs Ray reserves for each task (a node with n CPUs trains n / ``num_cpus`` chunks at a
        time), and the task's PyTorch threads (at least one).
    num_gpus : float, default=0
        GPUs Ray reserves for each task (a fraction shares a GPU); the estimator's ``device`` is
        resolved on the node running the task.
    max_retries : int, default=3
        How many times Ray reruns a task whose worker process or node died (-1: without
        limit); an exception raised by the training code is not retried.
    runtime_env : dict, optional
        Ray runtime environment of the tasks; every node must import netreg, the driver's version.
    node_ip_address : str, optional
        This machine's address as a node (``ray start --node-ip-address``): needed with several
        network addresses, and for a cluster on the loopback address (``docs/ray.md``).
    connect_timeout_s : float, default=10
        How long to wait for the cluster's address to answer before a
        :class:`~netreg.exceptions.ClusterError` (:func:`~netreg.tuning.backends.ray_connect.join`).

    Attributes
    ----------
    node_ids_ : list of str or None
        After :meth:`run`: the Ray node id on which each chunk was trained, in chunk order
        (``None`` for a chunk that did not finish).

    Examples
    --------
    >>> RayBackend(address="HEAD:6379", num_cpus=2)
    RayBackend(address='HEAD:6379', num_cpus=2)
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        max_retries: int = 3,
        runtime_env: dict[str, Any] | None = None,
        node_ip_address: str | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self.runtime_env = runtime_env
        self.node_ip_address = node_ip_address
        self.connect_timeout_s = connect_timeout_s

    def run(
        self,
        plan: SweepPlan,
        chunks: Sequence[Sequence[tuple[int, int]]],
        keep: Keep,
        callbacks: Sequence[SweepCallback] = (),
    ) -> None:
        """Train every chunk on the cluster; ``keep`` each member on this process as its task ends.

        Callbacks get ``on_member_end`` (the result without its optimizer state) as a task ends,
        and no ``on_epoch_end`` (the epochs run on other processes).

        Raises
        ------
        MissingDependencyError
            If Ray is not installed.
        ClusterError
            If the cluster cannot be reached or joined (before any chunk is submitted).
        ChunkFailedError
            If a chunk's task raised, or failed again after ``max_retries`` retries; the other
            tasks are cancelled.
        """
        self._check_params()
        try:
            import ray
        except ImportError:
            raise MissingDependencyError(RAY_MISSING_MSG) from None
        chunks = [[(int(a), int(f)) for a, f in chunk] for chunk in chunks]
        self.node_ids_: list[str | None] = [None] * len(chunks)
        if not chunks:
            return  # everything is stored already: no reason to start or join a cluster
        connect = not ray.is_initialized()
        if connect:
            join(
                ray,
                _resolve_address(self.address),
                node_ip_address=self.node_ip_address,
                timeout_s=self.connect_timeout_s,
            )
        try:
            self._run(ray, plan, chunks, keep, callbacks)
        finally:
            if connect:
                ray.shutdown()

    def _run(
        self,
        ray: Any,
        plan: SweepPlan,
        chunks: list[list[tuple[int, int]]],
        keep: Keep,
        callbacks: Sequence[SweepCallback],
    ) -> None:
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_retries": self.max_retries,
            "retry_exceptions": False,
        }
        if self.runtime_env is not None:
            options["runtime_env"] = dict(self.runtime_env)
        # Ray pickles the function by reference: a worker imports it from its own netreg.
        task = ray.remote(_train_on_node).options(**options)
        plan_ref = ray.put(plan)  # once: every task reads the same copy on its node
        pending = {task.remote(plan_ref, chunk): index for index, chunk in enumerate(chunks)}
        n_kept = 0
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready[0])
                try:
                    node_id, finished = ray.get(ready[0])
                except ray.exceptions.RayError as error:
                    raise ChunkFailedError(
                        self._failure_message(ray, error, index, chunks, n_kept), chunk=chunks[index], n_kept=n_kept
                    ) from error
                self.node_ids_[index] = node_id
                for key, result, seconds, diagnostics, scores in finished:
                    keep(assemble_record(key, result, seconds, diagnostics, scores), result.state_dict)
                    n_kept += 1
                    for callback in callbacks:
                        callback.on_member_end(result)
        finally:
            # Forced: Ray ends a running task's worker instead of raising KeyboardInterrupt in it,
            # which could land in an import and leave the worker, reused later, half set up.
            for ref in pending:
                with contextlib.suppress(Exception):  # must not hide the error that stopped the sweep
                    ray.cancel(ref, force=True)

    def _failure_message(
        self, ray: Any, error: Exception, index: int, chunks: list[list[tuple[int, int]]], n_kept: int
    ) -> str:
        where = (
            f"The Ray task training chunk {index + 1} of {len(chunks)} "
            f"(members as (alpha_index, fold): {_keys_text(chunks[index])})"
        )
        kept = {0: "No member had finished before it", 1: "1 member finished before it was kept"}.get(
            n_kept, f"{n_kept} members finished before it were kept"
        ) + "; with a results store, a rerun trains only the members not stored."
        if not isinstance(error, ray.exceptions.RayTaskError):
            return (
                f"{where} failed with {type(error).__name__}. Ray retries a task whose worker process or node dies "
                f"up to max_retries={self.max_retries} times; the Ray error chained above says why it gave up. {kept}"
            )
        cause = error.cause if isinstance(error.cause, BaseException) else error
        # Ray reports a worker that cannot import netreg as a RuntimeError naming the module.
        hint = ""
        if isinstance(cause, ImportError) or "No module named 'netreg" in str(cause):
            hint = (
                " Every node must be able to import netreg, the driver's version: install it there or use runtime_env."
            )
        # The exception comes last: its text can run over many lines (a remote traceback).
        return (
            f"{where} raised an exception, which is not retried (unlike a worker's death, it would recur). {kept}"
            f"{hint} The exception: {type(cause).__name__}: {cause}"
        )

    def _check_params(self) -> None:
        if self.address is not None and not isinstance(self.address, str):
            raise invalid("address", "None or a str such as 'HEAD:6379', 'auto' or 'local'", self.address)
        check_float(self.num_cpus, "num_cpus", low=0.0)
        check_float(self.num_gpus, "num_gpus", low=0.0)
        check_int(self.max_retries, "max_retries", low=-1)
        if self.runtime_env is not None and not isinstance(self.runtime_env, Mapping):
            raise invalid("runtime_env", "None or a dict", self.runtime_env)
        if self.node_ip_address is not None and not isinstance(self.node_ip_address, str):
            raise invalid("node_ip_address", "None or an address such as '10.0.0.5'", self.node_ip_address)
        check_float(self.connect_timeout_s, "connect_timeout_s", low=0.0, low_open=True)

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        shown = [
            f"{name}={getattr(self, name)!r}"
            for name, parameter in defaults.items()
            if name != "self" and getattr(self, name) != parameter.default
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


def _train_on_node(plan: SweepPlan, chunk: list[tuple[int, int]]) -> tuple[str, list[_Finished]]:
    """The task: train one chunk; return the node id and, per member, the parts of its record."""
    import ray

    finished: list[_Finished] = []

    def on_member(key: tuple[int, int], result: MemberResult, seconds: float) -> None:
        # The optimizer moments would double what travels back, for no use in a sweep.
        extras = member_diagnostics(plan, key, result), member_scores(plan, key, result)
        finished.append((key, replace(result, optimizer_state=None), seconds, *extras))

    # Ray sets OMP_NUM_THREADS per task, but PyTorch reads it once, when a worker first
    # imports torch, and Ray reuses workers: set the threads to this task's CPUs.
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    torch.set_num_threads(max(1, int(cpus)))
    with warnings.catch_warnings():
        # The plan's arrays are read-only views of the object store, which the engine never writes.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)
        train_chunk(plan, chunk, on_member=on_member)
    return ray.get_runtime_context().get_node_id(), finished


def _resolve_address(address: str | None) -> str:
    """``None`` -> ``RAY_ADDRESS`` if set, else ``"local"`` (never the last cluster ``ray start`` left
    here, as Ray's default would); anything else as given."""
    if address is None:
        return os.environ.get("RAY_ADDRESS") or "local"
    return address


def _keys_text(keys: Sequence[tuple[int, int]], shown: int = 6) -> str:
    """``[(0, 1), (1, 1)]``, cut after ``shown`` members: chunks can hold hundreds.

    Examples
    --------
    >>> _keys_text([(a, 0) for a in range(8)])
    '[(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), ... 2 more]'
    """
    if len(keys) <= shown:
        return str(list(keys))
    return f"[{', '.join(map(str, keys[:shown]))}, ... {len(keys) - shown} more]"
