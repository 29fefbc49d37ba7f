"""The ``"local"`` backend: the chunks trained on this machine, side by side in worker processes
forked from this one (why processes: :mod:`netreg.engine.threads`), or one after the other here.

Outside successive halving, a member that gets the Laplace evidence
(:func:`netreg.tuning.diagnostics.gets_evidence`) comes back without it and is kept at once, owing it (:attr:`netreg.tuning.MemberRecord.evidence_pending`:
a stop loses no trained member); its evidence is queued for whichever worker is free first and
completes the kept record when it is back. Successive halving trains one chunk per worker: at a
rung each worker sends its members' validation losses and waits for this process's decision over
all the alphas (:class:`netreg.tuning.halving.RungJudge`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch

from netreg.engine import Callback, MemberResult, resolve_device
from netreg.engine.hooks import CallbackList
from netreg.engine.step import import_lazy_modules
from netreg.engine.threads import default_cores, resolve_n_jobs
from netreg.exceptions import ChunkFailedError
from netreg.tuning.backends.protocol import Keep
from netreg.tuning.diagnostics import (
    assemble_record,
    gets_evidence,
    member_diagnostics,
    member_record,
    member_scores,
    owing_record,
    stored_evidence,
)
from netreg.tuning.halving import RungJudge, halving_chunks
from netreg.tuning.plan import SweepPlan, train_chunk
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = ["LocalBackend"]

#: Linux's prctl option: the signal a process receives when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How long the workers that have their stops are given, all together, to end on their own.
_STOP_SECONDS = 5.0


class LocalBackend:
    """Train the chunks of a sweep on this machine.

    On the CPU, with more than one chunk and more than one core to use, the chunks train side by
    side in worker processes of one PyTorch thread each, forked from this one (on Linux; elsewhere,
    and on a GPU, one after the other in this process, on :mod:`netreg.engine.threads`' threads).

    Parameters
    ----------
    n_jobs : int or None, default=None
        Cores to use (:func:`netreg.engine.threads.resolve_n_jobs`: scikit-learn's way, ``None``
        reads ``NETREG_N_JOBS``, else :func:`~netreg.engine.threads.default_cores`): up to that
        many chunks train at once.

    Examples
    --------
    >>> LocalBackend()
    LocalBackend()
    >>> LocalBackend(n_jobs=2)
    LocalBackend(n_jobs=2)
    """

    #: Its driver takes the rung decisions of a halving sweep split into chunks, one per worker.
    shares_rungs = True

    def __init__(self, n_jobs: int | None = None) -> None:
        self.n_jobs = n_jobs

    def workers(self, plan: SweepPlan, n_chunks: int | None = None) -> int:
        """How many chunks of ``plan`` train at once (at most ``n_chunks``); 1: in this process.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from netreg import NetRegClassifier
        >>> from netreg.tuning import plan_sweep
        >>> X, y = load_iris(return_X_y=True)
        >>> plan = plan_sweep(NetRegClassifier((4,), device="cpu"), X, y, alphas=[0.1, 1.0], cv=2)
        >>> LocalBackend(n_jobs=1).workers(plan)
        1
        """
        cores = resolve_n_jobs(self.n_jobs)
        cores = default_cores() if cores is None else cores
        if (
            not sys.platform.startswith("linux")
            or resolve_device(plan.config.device).type != "cpu"
            or multiprocessing.current_process().daemon  # a daemonic process may not start others
        ):
            return 1
        return max(1, cores if n_chunks is None else min(cores, n_chunks))

    def run(
        self,
        plan: SweepPlan,
        chunks: Sequence[Sequence[tuple[int, int]]],
        keep: Keep,
        callbacks: Sequence[SweepCallback] = (),
    ) -> None:
        """Train each chunk as one population; ``keep`` each member the moment it is back here.

        A member whose evidence is computed after it trained is kept twice: at once, owing its
        evidence (``keep(record, state_dict)`` with :attr:`~netreg.tuning.MemberRecord.evidence_pending`),
        then with it (``keep(record, None)``: :data:`~netreg.tuning.backends.protocol.Keep`).

        In this process, ``callbacks`` receive every event of the engine. With worker
        processes, a member's record (diagnostics, scorer's scores) is made where it trains;
        callbacks hear ``on_chunk_begin`` as a worker starts each chunk, ``on_member_end`` (the
        result without its optimizer state) as each member comes back, and ``on_train_begin``
        and ``on_epoch_end`` of the chunk started last only (a progress bar's epochs), with
        ``population=None`` (to stop members, train here: ``n_jobs=1``); not ``on_train_end``.

        Raises
        ------
        ChunkFailedError
            If a worker process died (killed, out of memory); the others are stopped, the members back kept.
        Exception
            What training a chunk raised in a worker, raised again here (its traceback as a note).
        """
        chunks = [[(int(a), int(f)) for a, f in chunk] for chunk in chunks]
        workers = self.workers(plan, len(chunks))
        if plan.halving is not None and len(chunks) > workers:
            # A worker waits at each rung for every chunk: no chunk may queue behind another.
            chunks = halving_chunks([key for chunk in chunks for key in chunk], workers)
        if workers > 1:
            _run_in_workers(plan, chunks, keep, callbacks, workers)
            return
        cores = resolve_n_jobs(self.n_jobs)
        if cores is not None:
            plan = replace(plan, config=replace(plan.config, n_threads=cores))

        def on_member(key: tuple[int, int], result: MemberResult, seconds: float) -> None:
            if not gets_evidence(plan, key, result):
                keep(member_record(plan, key, result, seconds), result.state_dict)
                return
            # Kept before its evidence, which may take long: an interrupt then loses no training.
            scores = member_scores(plan, key, result)
            keep(owing_record(key, result, seconds, scores), result.state_dict)
            keep(assemble_record(key, result, seconds, member_diagnostics(plan, key, result), scores), None)

        for chunk in chunks:
            train_chunk(plan, chunk, callbacks=callbacks, on_member=on_member)

    def __repr__(self) -> str:
        return "LocalBackend()" if self.n_jobs is None else f"LocalBackend(n_jobs={self.n_jobs!r})"


def _run_in_workers(
    plan: SweepPlan,
    chunks: list[list[tuple[int, int]]],
    keep: Keep,
    callbacks: Sequence[SweepCallback],
    workers: int,
) -> None:
    context = multiprocessing.get_context("fork")
    # A Queue, not a SimpleQueue: its feeder thread writes the tasks (an evidence goes in with the
    # member's weights), so this process never blocks on a full pipe while workers block on theirs.
    tasks = context.Queue()
    tasks.cancel_join_thread()  # at the end, tasks not taken (the stops) are dropped: never waited for
    # One pipe per worker, written by it alone and synchronously: what it sent is in the pipe
    # even if it dies next, and its death reads as the end of its pipe.
    pipes = [context.Pipe(duplex=False) for _ in range(workers)]
    writers = [writer for _, writer in pipes]
    answers = [context.Pipe(duplex=False) for _ in range(workers)]  # back to each: halving's rung decisions
    driver = os.getpid()
    import_lazy_modules()  # here, once: the forked workers start with them
    processes = [
        context.Process(
            target=_work, args=(plan, tasks, writers, answers[k][0], k, driver, bool(callbacks)), daemon=True
        )
        for k in range(workers)
    ]
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking with threads may deadlock the child; the children run
        # PyTorch on one thread (OpenMP would hang after a fork on more) and take none of our locks.
        warnings.filterwarnings(
            "ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning
        )
        for process in processes:
            process.start()
    for writer in writers:
        writer.close()
    for reader, _ in answers:
        reader.close()
    # Tasks go in after the forks: a queue's lock must not be held by another thread then.
    # The workers' stops go in at the end: evidences may be queued behind the chunks.
    for index, chunk in enumerate(chunks):
        tasks.put((index, chunk))
    readers = {reader: process for (reader, _), process in zip(pipes, processes, strict=True)}
    answer_to = {process: writer for process, (_, writer) in zip(processes, answers, strict=True)}
    judge = RungJudge(plan.halving) if plan.halving is not None else None
    waiting: dict[int, dict[Any, dict[tuple[int, int], Mapping[str, Any]]]] = {}  # epoch -> worker -> its losses

    def answer_rungs() -> None:
        # A rung is decided once every chunk not finished has reached it (a chunk not started
        # yet will); the earliest rung first, as the workers reach them in order.
        for epoch in sorted(waiting):
            heard = waiting[epoch]
            if len(heard) < len(left) or not left <= {training[process] for process in heard}:
                return
            stops = judge.decide(epoch, {key: record for records in heard.values() for key, record in records.items()})
            for process in heard:
                answer_to[process].send_bytes(pickle.dumps(stops))
            del waiting[epoch]

    training: dict[Any, int] = {}  # worker -> the chunk it trains
    computing: dict[Any, tuple[int, tuple[int, int]]] = {}  # worker -> (chunk, member) whose evidence it computes
    left, n_kept = set(range(len(chunks))), 0
    deferred: dict[tuple[int, int], int] = {}  # members waiting for their evidence -> their chunk
    events = CallbackList(list(callbacks), population=None)
    followed = None  # the chunk whose epochs the callbacks hear of: the one started last
    stopped = False
    try:
        while left or deferred:
            if not readers:
                _raise_died(None, min(left) if left else min(deferred.values()), chunks, n_kept)
            for reader in multiprocessing.connection.wait(list(readers)):
                process = readers[reader]
                try:
                    kind, index, payload = pickle.loads(reader.recv_bytes())
                except EOFError:  # before its stop, a worker ends only if it dies
                    del readers[reader]
                    process.join()
                    if training.get(process) in left:
                        _raise_died(process.exitcode, training[process], chunks, n_kept)
                    if process in computing:
                        _raise_died(process.exitcode, computing[process][0], chunks, n_kept, evidence=True)
                    if deferred:  # it may have died between taking an evidence and saying so
                        _raise_died(process.exitcode, min(deferred.values()), chunks, n_kept, evidence=True)
                    continue
                if kind == "start":
                    training[process] = followed = index
                    for callback in callbacks:
                        if callable(getattr(callback, "on_chunk_begin", None)):
                            callback.on_chunk_begin(chunks[index])
                elif kind == "event":
                    if index == followed:
                        hook, args = payload
                        events.notify(hook, *args)
                elif kind == "evidence":  # the worker took a member's evidence from the queue
                    computing[process] = (index, payload)
                elif kind == "defer":  # kept now, owing its evidence, which goes to the first free worker
                    record, result = payload
                    keep(record, result.state_dict)
                    n_kept += 1
                    events.notify("on_member_end", result)
                    deferred[record.key] = index
                    # Plain pickle, as the workers send: the queue's pickler would share the tensors.
                    tasks.put(("evidence", index, record.key, pickle.dumps((record, result.state_dict))))
                elif kind == "owed":  # the evidence of a member kept before: its record completed
                    deferred.pop(payload.key, None)
                    if computing.get(process, (None, None))[1] == payload.key:
                        del computing[process]
                    keep(payload, None)
                elif kind == "member":
                    key, result, seconds, diagnostics, scores = payload
                    keep(assemble_record(key, result, seconds, diagnostics, scores), result.state_dict)
                    n_kept += 1
                    if judge is not None:
                        judge.member_ended(key, result)
                    events.notify("on_member_end", result)
                elif kind == "rung":
                    epoch, records = payload
                    waiting.setdefault(epoch, {})[process] = records
                    answer_rungs()
                elif kind == "done":
                    left.discard(index)
                    if waiting:
                        answer_rungs()
                else:  # "error": what training the chunk raised, raised here
                    error, text = payload
                    doing = _doing(process in computing)
                    if not isinstance(error, BaseException):
                        raise ChunkFailedError(
                            f"A worker process {doing} chunk {index + 1} of {len(chunks)} raised: {text}",
                            chunk=chunks[index],
                            n_kept=n_kept,
                        )
                    error.add_note(f"Raised in a worker process {doing} chunk {index + 1}:\n{text}")
                    raise error
        for _ in processes:
            tasks.put(None)
        stopped = True
    finally:
        # With their stops, the workers end on their own (a terminated one may leave its pipe
        # half-written); within one deadline for all, then terminated as after an error.
        deadline = time.monotonic() + (_STOP_SECONDS if stopped else 0.0)
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        for reader, _ in pipes:
            reader.close()
        for _, writer in answers:
            writer.close()
        tasks.close()


def _raise_died(
    exitcode: int | None, index: int, chunks: list[list[tuple[int, int]]], n_kept: int, *, evidence: bool = False
) -> None:
    if exitcode is None or exitcode == 0:
        how = "ended"
    elif exitcode < 0:
        how = f"was killed by signal {-exitcode}"
    else:
        how = f"exited with code {exitcode}"
    doing = _doing(evidence)
    kept = "No member had come back before" if n_kept == 0 else f"{n_kept} member(s) that came back before were kept"
    raise ChunkFailedError(
        f"The worker process {doing} chunk {index + 1} of {len(chunks)} {how} (out of memory?). {kept}; "
        "with a results store, a rerun trains only the members not stored.",
        chunk=chunks[index],
        n_kept=n_kept,
    )


def _doing(evidence: bool) -> str:
    """What a worker was doing, as its error messages say it."""
    return "computing a member's evidence for" if evidence else "training"


class _Progress(Callback):
    """In a worker: a chunk's ``on_train_begin`` and ``on_epoch_end``, sent to the driver."""

    def __init__(self, send: Callable[..., None], index: int) -> None:
        self.send, self.index = send, index

    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        self.send("event", self.index, ("on_train_begin", (dict(info),)))

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        self.send("event", self.index, ("on_epoch_end", (epoch, dict(records))))


def _work(
    plan: SweepPlan, tasks: Any, writers: list[Any], answers: Any, position: int, driver: int, progress: bool
) -> None:
    """A worker: train the chunks, or compute the evidences, it takes from ``tasks`` on one thread and
    send back each member (with ``progress``, the epochs); at a rung, obey the driver's ``answers``."""
    torch.set_num_threads(1)  # first: more threads would hang in OpenMP after the fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver stops the workers on an interrupt
    # A driver killed outright cannot stop its workers: have the system end them with it.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != driver:  # it died before that took effect
        return
    for k, other in enumerate(writers):  # the others' pipes must end when they do
        if k != position:
            other.close()
    pipe = writers[position]

    def send(kind: str, index: int, payload: Any = None) -> None:
        # Plain pickle, to bytes: multiprocessing's pickler would hand tensors over in shared
        # memory owned by this process, which can end before the driver reads them.
        pipe.send_bytes(pickle.dumps((kind, index, payload)))

    plan = replace(plan, config=replace(plan.config, n_threads=1))
    while (task := tasks.get()) is not None:
        if task[0] == "evidence":  # a member trained by some worker and kept, whose evidence is to compute
            _, index, key, payload = task
            send("evidence", index, key)  # first: its death while reading the member names it
            record, state_dict = pickle.loads(payload)
            try:
                completed = stored_evidence(plan, record, state_dict)
            except Exception as error:
                _send_error(send, index, error)
                return
            send("owed", index, completed)
            continue
        index, chunk = task
        send("start", index)

        def on_member(key: tuple[int, int], result: MemberResult, seconds: float, index: int = index) -> None:
            # The optimizer moments would double what travels back, for no use in a sweep.
            light = replace(result, optimizer_state=None)
            scores = member_scores(plan, key, result)
            # A halving sweep's judge hears of each member as it ends: no member waits there.
            if plan.halving is None and gets_evidence(plan, key, result):
                send("defer", index, (owing_record(key, light, seconds, scores), light))
            else:
                send("member", index, (key, light, seconds, member_diagnostics(plan, key, result), scores))

        def decide(epoch: int, records: dict[tuple[int, int], Mapping[str, Any]], index: int = index) -> Any:
            send("rung", index, (epoch, {key: {"val_loss": record["val_loss"]} for key, record in records.items()}))
            return pickle.loads(answers.recv_bytes())

        try:
            train_chunk(
                plan,
                chunk,
                on_member=on_member,
                callbacks=[_Progress(send, index)] if progress else (),
                decide=decide if plan.halving is not None else None,
            )
        except Exception as error:
            _send_error(send, index, error)
            return
        send("done", index)


def _send_error(send: Callable[..., None], index: int, error: Exception) -> None:
    """Send what a task raised (with its traceback) to the driver, which raises it again."""
    text = traceback.format_exc()
    try:
        send("error", index, (error, text))
    except Exception:  # the exception itself does not pickle
        send("error", index, (None, text))
