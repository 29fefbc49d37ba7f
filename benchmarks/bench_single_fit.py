"""One fit: netreg's estimators against scikit-learn's MLPs, time and peak memory.

Run: python benchmarks/bench_single_fit.py [--repeats 3] [--epochs 20] [--dtypes float32,float64]
[--threads 1] [--quick]

Three cases, the same settings on both sides (adam, hidden layers (100, 100), the given
number of epochs with ``tol=0`` so that nothing stops early, ``random_state=0``):

* digits (1797 x 64, 10 classes), batch 64: ``NetRegClassifier`` vs ``MLPClassifier``;
* 50,000 x 50 synthetic rows, 3 classes, batch 200: ``NetRegClassifier`` vs ``MLPClassifier``;
* 50,000 x 50 synthetic rows, one target, batch 200: ``NetRegRegressor`` vs ``MLPRegressor``.

Each case runs once per input dtype of ``--dtypes`` (float32 and float64 by default: the
data made in float64 and cast; scikit-learn computes in the input's dtype, netreg in its
default ``dtype="float32"`` whatever the input). Each (case, dtype, library) runs in fresh
Python processes that import only that library, make the data and fit it; the two
libraries' processes alternate, ``--repeats`` of each, so that a machine whose load changes
disturbs both alike. Each process reports:

* time: the wall time of the fit (the fastest over the processes, and the median);
* CPU: its CPU time (``time.process_time``, every thread of the process counted), which
  other processes' load disturbs less than the wall time, above all with ``--threads 1``;
* peak RSS: the process's peak resident memory (Linux's ``VmHWM``; elsewhere
  ``resource.getrusage``, which may count the launching process), the imported libraries
  included (PyTorch's alone are about 180 MB more than scikit-learn's);
* fit's own peak: the peak resident memory during the first fit minus the resident memory
  just before it (Linux's ``VmHWM`` reset through ``/proc/self/clear_refs``), after a fit
  of one epoch on 200 rows has loaded the code both libraries run: what the fit itself
  allocates (not measured outside Linux).

Both libraries run with their default threads (netreg's thread policy; scikit-learn's BLAS
threads), or with ``--threads 1`` on one thread each (netreg's ``n_jobs=1``; scikit-learn's
BLAS limited by threadpoolctl). Ratios are netreg / scikit-learn from this one run: below 1
netreg is faster or smaller. ``--quick``: digits, 2 epochs, one process each (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

CASES = {
    "digits": "digits 1797 x 64, 10 classes, batch 64",
    "synthetic-classes": "synthetic 50,000 x 50, 3 classes, batch 200",
    "synthetic-regression": "synthetic 50,000 x 50, 1 target, batch 200",
}

# The measuring process: argv = case, library, epochs, dtype, threads ("default" or a number).
# Prints one JSON line.
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np
    case, library, epochs, dtype, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    classifier = case != "synthetic-regression"
    extra = {}
    if threads != "default":
        from threadpoolctl import threadpool_limits
        threadpool_limits(int(threads))
        if library == "netreg":
            extra = {"n_jobs": int(threads)}
    if library == "sklearn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        Estimator = MLPClassifier if classifier else MLPRegressor
    else:
        from netreg import NetRegClassifier, NetRegRegressor
        Estimator = NetRegClassifier if classifier else NetRegRegressor
    warnings.simplefilter("ignore")
    if case == "digits":
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X, batch = X / 16.0, 64
    else:
        rng = np.random.default_rng(0)
        X, batch = rng.normal(size=(50_000, 50)), 200
        signal = X[:, :10] @ rng.normal(size=10) + np.sin(X[:, 10] * 2)
        y = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])) if classifier else signal / signal.std()
    X = X.astype(dtype)

    def status(key):
        try:
            with open("/proc/self/status") as file:
                for line in file:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None

    def fit(X, y, epochs):
        model = Estimator(hidden_layer_sizes=(100, 100), max_iter=epochs, batch_size=batch, tol=0.0, n_iter_no_change=epochs + 1, random_state=0, **extra)
        started, cpu = time.perf_counter(), time.process_time()
        model.fit(X, y)
        return time.perf_counter() - started, time.process_time() - cpu

    # A first small fit loads the code both libraries run (pages of their shared libraries),
    # so that the measured fit's memory is what it allocates.
    fit(X[:200], y[:200], 1)
    peak = status("VmHWM")
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")  # reset VmHWM to the current resident size
        before = status("VmRSS")
    except OSError:
        before = None
    wall, cpu = fit(X, y, epochs)
    fit_peak = None if before is None else max(0, status("VmHWM") - before)
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    else:
        peak = max(peak, status("VmHWM"))
    print(json.dumps({"time": wall, "cpu": cpu, "peak_bytes": peak, "fit_peak_bytes": fit_peak}))
    """
)


def measure(case: str, library: str, epochs: int, dtype: str, threads: str) -> dict:
    """Run the measuring process for ``case``, ``library`` and ``dtype``; return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case, library, str(epochs), dtype, threads], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {library} on {case} ({dtype}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--repeats", type=int, default=3, help="processes per library, alternating (the fastest is kept)"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, among: " + ", ".join(CASES))
    parser.add_argument("--dtypes", default="float32,float64", help="the input X's dtypes, comma-separated")
    parser.add_argument("--threads", default="default", help="'default' (each library's own) or a number for both")
    parser.add_argument("--quick", action="store_true", help="digits, 2 epochs, one process each: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.epochs, args.repeats = "digits", 2, 1
    import sklearn
    import torch

    threads = "default threads" if args.threads == "default" else f"{args.threads} thread(s) each"
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads by default), scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPUs, {threads}; adam, (100, 100), {args.epochs} epochs; "
        f"{args.repeats} alternating processes per library, one fit each\n"
    )
    header = f"{'':32}{'time':>9}{'median':>9}{'CPU':>9}{'median':>9}{'peak RSS':>12}{'fit peak':>11}"
    for case in args.cases.split(","):
        print(CASES[case])
        for dtype in args.dtypes.split(","):
            print(f"  X {dtype}")
            print(header)
            runs: dict[str, list[dict]] = {"sklearn": [], "netreg": []}
            for _ in range(args.repeats):
                for library in runs:
                    runs[library].append(measure(case, library, args.epochs, dtype, args.threads))
            summary = {}
            for library, name in (("sklearn", "scikit-learn"), ("netreg", "netreg")):
                r = runs[library]
                wall, cpu = [x["time"] for x in r], [x["cpu"] for x in r]
                peak = max(x["peak_bytes"] for x in r)
                fit_peaks = [x["fit_peak_bytes"] for x in r if x["fit_peak_bytes"] is not None]
                fit_peak = min(fit_peaks) if fit_peaks else None
                summary[library] = (min(wall), min(cpu), peak, fit_peak)
                print(
                    f"    {name:28}{min(wall):8.3f}s{statistics.median(wall):8.3f}s{min(cpu):8.3f}s"
                    f"{statistics.median(cpu):8.3f}s{_mb(peak):>12}{_mb(fit_peak):>11}"
                )
            ours, theirs = summary["netreg"], summary["sklearn"]
            print(
                f"    netreg / scikit-learn ({dtype}): time {ours[0] / theirs[0]:.2f}x, CPU {ours[1] / theirs[1]:.2f}x, "
                f"peak RSS {ours[2] / theirs[2]:.2f}x",
                end="",
            )
            if ours[3] is not None and theirs[3]:
                print(f", fit's own peak {_mb(ours[3])} vs {_mb(theirs[3])}")
            else:
                print()
        print()


if __name__ == "__main__":
    main()
