"""Cost as rows grow: netreg's CV sweep against GridSearchCV(MLPClassifier) at 10k, 100k and 1M rows.

Run: python benchmarks/bench_rows.py [--sizes 10000,100000,1000000] [--epochs 3] [--methods ...] [--sklearn-max-rows N] [--quick]

Synthetic data (``make_classification``: 50 features, 30 informative, 10 classes), float32,
every size with the same settings: an MLP (100,), ReLU, adam, batch 200, 4 alphas x 3 folds,
3 epochs (nothing stops early: ``tol=0``), then the refit of the chosen alpha on all the rows.
Few epochs and alphas keep the 1M-row run within a few minutes; both sides train exactly
these, and the cost per row-epoch is what grows or not with the rows.

1. netreg: ``NetRegClassifierCV`` at its default ``n_jobs`` (chunks of members in forked
   one-thread worker processes, one per core: on 2 cores its 12 members in 2 chunks of 6; the
   first fold's Laplace evidences, the curvature from a sample of 7,167 of the fold's rows,
   computed by whichever worker is free);
2. netreg without the evidence: the same sweep (``plan_sweep`` and ``run_sweep``, what
   ``NetRegClassifierCV`` runs) with its plan's ``evidence_folds`` emptied, so that no member
   gets the Laplace evidence the sweep records for the first fold's members (a diagnostic;
   CV chooses alpha), then the same refit: what that evidence costs;
3. the first fold's evidences alone ("evidence alone"): that sweep's 4 first-fold members
   trained in the process (1 epoch), then their Laplace evidences computed one after another in
   a forked one-thread process, as a worker computes them: their time, CPU time and that
   process's peak private memory (what the evidence allocates; a sweep's worker peak is its
   training's), no row-epochs nor tree peak;
4. scikit-learn: ``GridSearchCV(MLPClassifier, n_jobs=-1)`` over the same objectives (its
   alphas converted with ``netreg.conventions.to_sklearn_alpha``), ``refit=True``; skipped
   above ``--sklearn-max-rows`` (default: none skipped).

Each (size, method) runs in a fresh Python process (``--one``), which makes the data, then
times the fit while a thread samples the memory of its process tree every 0.1 s (this process
and every process it started: netreg's forked workers, joblib's loky workers) from
``/proc/<pid>/smaps_rollup``. It reports, at the tree's peak: the sum of the processes'
proportional set sizes (PSS: each shared page counted once over the processes that share it,
so the tree's real memory), the sum of their resident sizes (RSS: a shared page once per
process, so what copying would cost), both over what the process held before the fit (the
data, float32 X: 50 x 4 bytes a row), and the largest private memory (pages no other
process maps) of any one worker. If the workers copied X, each worker's private memory would
be at least X's size; read from fork, it stays near the worker's own work. The same sampler
adds up the CPU time of the tree's processes ("CPU s", each process's until its last sample):
on a loaded machine the time stretches with the waits, the CPU time much less. Linux only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

HIDDEN = (100,)
N_FEATURES, N_CLASSES = 50, 10
N_ALPHAS, CV, BATCH, EPOCHS = 4, 3, 200, 3
ALPHAS = list(np.logspace(-2, 1, N_ALPHAS))
METHODS = {
    "netreg": "netreg CV",
    "netreg-no-evidence": "netreg no evidence",
    "evidence": "evidence alone",
    "GridSearchCV": "GridSearchCV",
}


def make_data(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_rows, n_features=N_FEATURES, n_informative=30, n_classes=N_CLASSES, random_state=0
    )
    return X.astype(np.float32), y


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    # The name (field 2) may hold spaces: the parent is the second field after it.
                    parent = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            found.setdefault(parent, []).append(int(entry))
    return found


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of process ``pid`` so far (None if it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, fields 14 and 15


def _rollup(pid: int) -> dict[str, int]:
    """kB fields of /proc/<pid>/smaps_rollup ({} if the process has ended)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as file:
            lines = file.read().splitlines()[1:]
    except OSError:
        return {}
    return {name.rstrip(":"): int(value) for name, value, *_ in (line.split() for line in lines)}


class TreeMemory(threading.Thread):
    """Samples this process tree's memory until stopped; keeps the values at the peak of PSS."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.peak = {"pss": 0, "rss": 0, "processes": 0, "worker_private": 0, "driver_private": 0}
        self.cpu: dict[int, float] = {}  # each process's CPU seconds when last seen
        self.own_cpu = 0.0  # this thread's, reading /proc

    def cpu_seconds(self) -> float:
        """CPU seconds of every process of the tree seen so far (a process that ended between two
        samples counts until its last one), less this sampler's own: under load, what the work
        cost, apart from the waiting."""
        self.cpu[os.getpid()] = _cpu_seconds(os.getpid()) or 0.0
        return sum(self.cpu.values()) - self.own_cpu

    def sample(self) -> dict[str, int]:
        root, children = os.getpid(), _children()
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        rollups = {pid: _rollup(pid) for pid in tree}
        for pid in tree:
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                self.cpu[pid] = seconds
        private = {pid: r.get("Private_Clean", 0) + r.get("Private_Dirty", 0) for pid, r in rollups.items()}
        return {
            "pss": sum(r.get("Pss", 0) for r in rollups.values()),
            "rss": sum(r.get("Rss", 0) for r in rollups.values()),
            "processes": sum(1 for r in rollups.values() if r),
            "worker_private": max((v for pid, v in private.items() if pid != root), default=0),
            "driver_private": private[root],
        }

    def run(self) -> None:
        started = time.thread_time()
        while not self.done.wait(self.interval):
            now = self.sample()
            # PSS and RSS as at the tree's peak; a worker's private memory and the count at their own.
            most = {key: max(self.peak[key], now[key]) for key in ("worker_private", "processes")}
            if now["pss"] > self.peak["pss"]:
                self.peak = now
            self.peak.update(most)
        self.own_cpu = time.thread_time() - started


class _NoEvidence:
    """NetRegClassifierCV's sweep and refit, without the first fold's Laplace evidence."""

    def __init__(self, estimator: object) -> None:
        self.estimator = estimator

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from netreg.tuning import plan_sweep, run_sweep

        plan = dataclasses.replace(plan_sweep(self.estimator, X, y, alphas=ALPHAS, cv=CV), evidence_folds=())
        chosen = run_sweep(plan, scoring="neg_log_loss").alpha
        self.estimator.set_params(alpha=chosen).fit(X, y)


def first_fold_evidence(n_rows: int) -> dict[str, float]:
    """The sweep's first-fold Laplace evidences alone: its 4 members trained here (1 epoch: their
    evidence costs the same), then their diagnostics computed one after another in a forked
    one-thread process, as a sweep's worker computes them; its time, CPU time and private memory."""
    import torch

    from netreg import NetRegClassifier
    from netreg.tuning import plan_sweep, train_chunk
    from netreg.tuning.diagnostics import member_diagnostics

    X, y = make_data(n_rows)
    net = NetRegClassifier(HIDDEN, random_state=0, max_iter=1, tol=0.0, batch_size=BATCH)
    plan = plan_sweep(net, X, y, alphas=ALPHAS, cv=CV)
    found: dict = {}
    train_chunk(plan, [(a, 0) for a in range(N_ALPHAS)], on_member=lambda key, r, s: found.update({key: r}))
    meter = TreeMemory(interval=0.01)  # the process may last a fraction of a second
    cpu_before = meter.cpu_seconds()
    meter.start()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            torch.set_num_threads(1)
            for key in sorted(found):
                member_diagnostics(plan, key, found[key])
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - started
    meter.done.set()
    meter.join()
    if status != 0:
        raise RuntimeError(f"the evidence process ended with status {status}")
    return {
        "seconds": seconds,
        "cpu_seconds": meter.cpu_seconds() - cpu_before,
        "x_mb": X.nbytes / 2**20,
        "worker_private_mb": meter.peak["worker_private"] / 1024,
    }


def run_one(n_rows: int, method: str, epochs: int) -> dict[str, float]:
    """Fit ``method`` on ``n_rows`` rows in this process; its time, choice and memory."""
    if method == "evidence":
        return first_fold_evidence(n_rows)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier

    from netreg import NetRegClassifier, NetRegClassifierCV, conventions

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = make_data(n_rows)
    common = {"max_iter": epochs, "tol": 0.0, "batch_size": BATCH}
    if method == "netreg":
        model = NetRegClassifierCV(HIDDEN, alphas=ALPHAS, cv=CV, random_state=0, **common)
    elif method == "netreg-no-evidence":
        model = _NoEvidence(NetRegClassifier(HIDDEN, random_state=0, **common))
    else:
        m = n_rows - n_rows // CV  # rows a fold trains on (to the row: the alphas' conversion is per row)
        grid = {
            "alpha": [conventions.to_sklearn_alpha(a, solver="adam", n_samples=m, batch_size=BATCH) for a in ALPHAS]
        }
        model = GridSearchCV(
            MLPClassifier(HIDDEN, random_state=0, n_iter_no_change=epochs + 1, **common),
            grid,
            cv=CV,
            n_jobs=-1,
            scoring="neg_log_loss",
        )
    meter = TreeMemory()
    before = meter.sample()
    cpu_before = meter.cpu_seconds()
    meter.start()
    started = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - started
    meter.done.set()
    meter.join()
    meter.sample()
    peak = meter.peak
    return {
        "seconds": seconds,
        "cpu_seconds": meter.cpu_seconds() - cpu_before,
        "x_mb": X.nbytes / 2**20,
        "before_mb": before["pss"] / 1024,
        "pss_mb": (peak["pss"] - before["pss"]) / 1024,
        "rss_mb": (peak["rss"] - before["rss"]) / 1024,
        "worker_private_mb": peak["worker_private"] / 1024,
        "processes": peak["processes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="row counts, comma-separated")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--sklearn-max-rows", type=int, default=None, help="skip GridSearchCV above this many rows")
    parser.add_argument("--methods", default=",".join(METHODS), help="which runs, comma-separated: %(default)s")
    parser.add_argument("--quick", action="store_true", help="2000 rows, 1 epoch: a smoke test")
    parser.add_argument("--one", nargs=2, metavar=("ROWS", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    epochs = 1 if args.quick else args.epochs
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], epochs)))
        return
    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",")]
    load = os.getloadavg()[0]
    print(
        f"MLP {N_FEATURES}-{HIDDEN[0]}-{N_CLASSES}, adam, batch {BATCH}, {epochs} epochs, {N_ALPHAS} alphas x {CV} folds "
        f"+ refit; float32; {os.cpu_count()} cores, load average {load:.1f} at the start"
    )
    print(
        "memory: over the process's own before the fit (which holds X); PSS counts a shared page once, RSS per process"
    )
    print("CPU s: the fit's CPU time, its worker processes' included (sampled every 0.1 s from /proc; under load")
    print("       it moves less than the time does)")
    header = f"{'rows':>9} {'method':<18} {'time s':>8} {'us/row-epoch':>12} {'CPU s':>7} {'X MB':>7} {'peak PSS+':>10} {'peak RSS+':>10} {'worker priv':>11} {'procs':>5}"
    print(header)
    for n_rows in sizes:
        results = {}
        for method, label in METHODS.items():
            if method not in args.methods.split(","):
                continue
            if method == "GridSearchCV" and args.sklearn_max_rows is not None and n_rows > args.sklearn_max_rows:
                print(f"{n_rows:>9} {label:<18} skipped: above --sklearn-max-rows {args.sklearn_max_rows}")
                continue
            command = [sys.executable, __file__, "--one", str(n_rows), method, "--epochs", str(epochs)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[method] = found = json.loads(done.stdout.strip().splitlines()[-1])
            work = n_rows * epochs
            if method == "evidence":  # 4 members' evidence, each on a fold's rows: no row-epochs, no tree peak
                print(
                    f"{n_rows:>9} {label:<18} {found['seconds']:>8.2f} {'':>12} {found['cpu_seconds']:>7.2f} {found['x_mb']:>7.0f}"
                    f" {'':>10} {'':>10} {found['worker_private_mb']:>9.0f}MB {1:>5}"
                )
                continue
            print(
                f"{n_rows:>9} {label:<18} {found['seconds']:>8.2f} {1e6 * found['seconds'] / work:>12.2f} {found['cpu_seconds']:>7.2f} {found['x_mb']:>7.0f} {found['pss_mb']:>8.0f}MB"
                f" {found['rss_mb']:>8.0f}MB {found['worker_private_mb']:>9.0f}MB {found['processes']:>5}"
            )
        if {"GridSearchCV", "netreg", "netreg-no-evidence"} <= set(results):
            sk = results["GridSearchCV"]["seconds"]
            print(
                f"{n_rows:>9} GridSearchCV's time over netreg CV's: {sk / results['netreg']['seconds']:.2f}x;"
                f" over netreg without the evidence: {sk / results['netreg-no-evidence']['seconds']:.2f}x;"
                f" CPU time over netreg CV's: {results['GridSearchCV']['cpu_seconds'] / results['netreg']['cpu_seconds']:.2f}x"
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
