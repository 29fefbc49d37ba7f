"""One fit: netreg's estimators against scikit-learn's MLPs, time and peak memory.

Run: python benchmarks/bench_single_fit.py [--repeats 3] [--epochs 20]

Three cases, the same settings on both sides (adam, hidden layers (100, 100), the given
number of epochs with ``tol=0`` so that nothing stops early, ``random_state=0``):

* digits (1797 x 64, 10 classes), batch 64: ``NetRegClassifier`` vs ``MLPClassifier``;
* 50,000 x 50 synthetic rows, 3 classes, batch 200: ``NetRegClassifier`` vs ``MLPClassifier``;
* 50,000 x 50 synthetic rows, one target, batch 200: ``NetRegRegressor`` vs ``MLPRegressor``.

Each (case, library) runs in a fresh Python process that imports only that library, makes
the data (float64, as users pass it), fits ``--repeats`` times and reports:

* time: the fastest fit (and the first one);
* peak RSS: the process's peak resident memory (Linux's ``VmHWM``; elsewhere
  ``resource.getrusage``, which may count the launching process), the imported libraries
  included (PyTorch's alone are about 180 MB more than scikit-learn's);
* fit's own peak: the peak resident memory during the first fit minus the resident memory
  just before it (Linux's ``VmHWM`` reset through ``/proc/self/clear_refs``), after a fit
  of one epoch on 200 rows has loaded the code both libraries run: what the fit itself
  allocates (not measured outside Linux).

Both libraries run with their default threads (netreg's thread policy; scikit-learn's BLAS
threads). Ratios are netreg / scikit-learn from this one run: below 1 netreg is faster or
smaller.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CASES = {
    "digits": "digits 1797 x 64, 10 classes, batch 64",
    "synthetic-classes": "synthetic 50,000 x 50, 3 classes, batch 200",
    "synthetic-regression": "synthetic 50,000 x 50, 1 target, batch 200",
}

# The measuring process: argv = case, library, repeats, epochs. Prints one JSON line.
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np
    case, library, repeats, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    classifier = case != "synthetic-regression"
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

    def status(key):
        try:
            with open("/proc/self/status") as file:
                for line in file:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None

    def fit(X, y, epochs):
        model = Estimator(hidden_layer_sizes=(100, 100), max_iter=epochs, batch_size=batch, tol=0.0, n_iter_no_change=epochs + 1, random_state=0)
        started = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - started

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
    times = [fit(X, y, epochs)]
    fit_peak = None if before is None else max(0, status("VmHWM") - before)
    times += [fit(X, y, epochs) for _ in range(repeats - 1)]
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    else:
        peak = max(peak, status("VmHWM"))
    print(json.dumps({"times": times, "peak_bytes": peak, "fit_peak_bytes": fit_peak}))
    """
)


def measure(case: str, library: str, repeats: int, epochs: int) -> dict:
    """Run the measuring process for ``case`` and ``library``; return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case, library, str(repeats), str(epochs)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {library} on {case} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="fits per process (the fastest is reported)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, among: " + ", ".join(CASES))
    args = parser.parse_args()
    import sklearn
    import torch

    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads by default), scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPUs; adam, (100, 100), {args.epochs} epochs, fastest of {args.repeats} fits\n"
    )
    header = f"{'':48}{'time':>9}{'first fit':>11}{'peak RSS':>12}{'fit peak':>11}"
    for case in args.cases.split(","):
        print(CASES[case])
        print(header)
        results = {library: measure(case, library, args.repeats, args.epochs) for library in ("sklearn", "netreg")}
        for library, name in (("sklearn", "scikit-learn"), ("netreg", "netreg")):
            r = results[library]
            print(
                f"  {name:46}{min(r['times']):8.2f}s{r['times'][0]:10.2f}s"
                f"{_mb(r['peak_bytes']):>12}{_mb(r['fit_peak_bytes']):>11}"
            )
        ours, theirs = results["netreg"], results["sklearn"]
        time_ratio = min(ours["times"]) / min(theirs["times"])
        peak_ratio = ours["peak_bytes"] / theirs["peak_bytes"]
        print(f"  netreg / scikit-learn: time {time_ratio:.2f}x, peak RSS {peak_ratio:.2f}x", end="")
        if ours["fit_peak_bytes"] is not None and theirs["fit_peak_bytes"]:
            print(f", fit's own peak {_mb(ours['fit_peak_bytes'])} vs {_mb(theirs['fit_peak_bytes'])}")
        else:
            print()
        print()


if __name__ == "__main__":
    main()
