"""``alpha="auto"`` against laplace-torch's ``marglik_training``: alpha learned in one run, two ways.

Run: python benchmarks/bench_marglik.py [--epochs 30] [--quick] [--splits 5]

laplace-torch is installed for this benchmark only, without the torchvision it pins (which
would replace the installed torch; laplace-torch does not import it)::

    pip install --no-deps laplace-torch==0.3 asdfghjkl==0.1a4 backpack-for-pytorch \\
        curvlinops-for-pytorch opt-einsum torchmetrics lightning-utilities einops unfoldnd \\
        einconv linear-operator

Without it the script prints "skipped: laplace-torch not installed" in its place.

The data sets of ``bench_auto_alpha.py`` (digits, and a ``make_classification`` set of 4000
rows, 40 features, 10 classes), 30 % of the rows held out (stratified) for the test, inputs
standardized on the training rows. One network for all: netreg's :class:`~netreg.nets.MLP`
(100, 100), ReLU, scikit-learn's Glorot-uniform start, adam (lr 1e-3), batch 64, shuffled,
the same number of epochs, float32. Methods:

1. ``NetRegClassifier(alpha=1e-4)``: one fit at a fixed alpha, the cost reference;
2. ``NetRegClassifier(alpha="auto")``: one alpha per weight matrix (biases unpenalized),
   MacKay's fixed point of the Kronecker-factored evidence every few epochs after a burn-in;
3. ``laplace.marglik_training``: Kronecker-factored GGN (asdl), layerwise prior (one prior
   precision per parameter tensor: the three weight matrices and the three bias vectors),
   its defaults otherwise (prior precision 1 at the start, no burn-in, the Laplace
   approximation refit and 10 Adam steps of lr 0.1 on the log prior precisions after every
   epoch, the weights of the epoch of best marginal likelihood kept). Its objective is
   netreg's: the batch's mean cross-entropy plus ``0.5 * sum_l delta_l ||theta_l||^2 / N``,
   so its prior precisions and netreg's alphas are in the same units.

Both are scored on their MAP network (softmax of the logits; not laplace-torch's predictive
over the posterior). Each is timed once, from its start to its final model, after an untimed
one-epoch fit of each kind (the lazy imports of a process's first fit); the script
prints the times, the alphas learned, the held-out log-loss, and the target of issue 21:
``alpha="auto"`` at least 10x faster than ``marglik_training`` at an equal or better held-out
log-loss. ``--quick`` (a smoke test): digits only, 3 epochs by default. ``--splits S`` repeats the
comparison on S train/test splits (split s: the split, netreg's ``random_state`` and
laplace-torch's seeds all s; split 0 is the table printed) and prints each method's median
time, mean held-out log-loss and its standard error, and auto's paired difference to
``marglik_training``: one split's log-loss differences are within the noise of the split and
the seeds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from bench_auto_alpha import alpha_text, data_sets
from netreg import NetRegClassifier
from netreg.nets import MLP

try:  # imported before any timing, as netreg is
    from laplace import marglik_training
except ImportError:
    marglik_training = None

HIDDEN = (100, 100)
BATCH = 64
#: Each method and its alpha (laplace-torch learns its own).
METHODS = {
    "netreg fixed alpha=1e-4": 1e-4,
    "netreg alpha='auto' (layerwise)": "auto",
    "laplace-torch marglik_training": None,
}
COMMON = {"hidden_layer_sizes": HIDDEN, "solver": "adam", "batch_size": BATCH, "tol": 0.0}


def fit_netreg(alpha: object, epochs: int, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[NetRegClassifier, str]:
    model = NetRegClassifier(alpha=alpha, max_iter=epochs, random_state=seed, **COMMON).fit(X, y)
    return model, alpha_text(model)


def fit_marglik(epochs: int, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[torch.nn.Module, str]:
    """laplace-torch's marglik_training on netreg's MLP, every setting above; the MAP network
    and its learned prior precisions (weights / biases, layer by layer)."""
    torch.manual_seed(seed)
    classes = np.unique(y)
    net = MLP(X.shape[1], HIDDEN, len(classes))
    data = torch.utils.data.TensorDataset(
        torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(np.searchsorted(classes, y))
    )
    loader = torch.utils.data.DataLoader(
        data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    lap, net, _, _ = marglik_training(
        net,
        loader,
        likelihood="classification",
        hessian_structure="kron",
        prior_structure="layerwise",
        optimizer_kwargs={"lr": 1e-3},
        n_epochs=epochs,
    )
    precision = lap.prior_precision.detach().numpy()
    text = (
        "/".join(f"{value:.3g}" for value in precision[0::2])
        + " b "
        + "/".join(f"{value:.3g}" for value in precision[1::2])
    )
    return net, text


def marglik_proba(net: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(torch.as_tensor(X, dtype=torch.float32)).double(), dim=1).numpy()


def run_split(X: np.ndarray, y: np.ndarray, epochs: int, split: int, *, show: bool) -> dict[str, tuple[float, float]]:
    """Every method on one train/test split (``split`` seeds the split, netreg and laplace-torch):
    ``{method: (seconds, held-out log-loss)}``, each row printed where ``show``."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=split)
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train).astype(np.float32)
    X_test = scaler.transform(X_test).astype(np.float32)
    if show:
        print(f"{len(X_train)} training rows, {len(X_test)} test rows, {epochs} epochs")
        print(f"{'method':<34} {'time s':>8} {'x fixed':>8} {'alpha (weights, b: biases)':>36} {'log-loss':>9}")
    # Untimed: a process's first fit of each kind imports what torch (and laplace-torch's
    # backends) load lazily, which would otherwise be charged to the first method timed.
    fit_netreg(1e-4, 1, X_train, y_train, seed=split)
    if marglik_training is not None:
        fit_marglik(1, X_train[: 2 * BATCH], y_train[: 2 * BATCH], seed=split)
    found = {}
    for label in METHODS:
        if label.startswith("laplace") and marglik_training is None:
            if show:
                print(f"{label:<34} skipped: laplace-torch not installed (see this script's docstring)")
            continue
        started = time.perf_counter()
        if label.startswith("laplace"):
            model, alphas = fit_marglik(epochs, X_train, y_train, seed=split)
        else:
            model, alphas = fit_netreg(METHODS[label], epochs, X_train, y_train, seed=split)
        elapsed = time.perf_counter() - started
        proba = marglik_proba(model, X_test) if label.startswith("laplace") else model.predict_proba(X_test)
        loss = log_loss(y_test, proba, labels=np.unique(y))
        found[label] = elapsed, loss
        if show:
            reference = found["netreg fixed alpha=1e-4"][0]
            print(f"{label:<34} {elapsed:>8.2f} {elapsed / reference:>8.2f} {alphas:>36} {loss:>9.4f}")
    return found


def summary(runs: list[dict[str, tuple[float, float]]]) -> list[str]:
    """Over the splits: each method's median time and mean log-loss with its standard error, and
    auto's paired log-loss difference to marglik_training (negative: auto better)."""
    lines = [f"{'method':<34} {'median s':>9} {'log-loss mean':>14} {'SE':>7}"]
    for label in runs[0]:
        times, losses = (np.array([run[label][k] for run in runs]) for k in (0, 1))
        se = losses.std(ddof=1) / np.sqrt(len(losses))
        lines.append(f"{label:<34} {np.median(times):>9.2f} {losses.mean():>14.4f} {se:>7.4f}")
    auto, lap = "netreg alpha='auto' (layerwise)", "laplace-torch marglik_training"
    if lap in runs[0]:
        diff = np.array([run[auto][1] - run[lap][1] for run in runs])
        ratio = np.median([run[lap][0] for run in runs]) / np.median([run[auto][0] for run in runs])
        lines.append(
            f"auto - marglik_training, paired log-loss: {diff.mean():+.4f} +- {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}"
            f" (auto better on {int((diff < 0).sum())} of {len(diff)} splits); median times' ratio {ratio:.1f}x"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="30 (3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="digits only, 3 epochs: a smoke test")
    parser.add_argument(
        "--splits", type=int, default=1, help="train/test splits (seeds 0, 1, ...): a summary with standard errors"
    )
    args = parser.parse_args()
    if args.splits < 1:
        parser.error(f"--splits must be at least 1; got {args.splits}")
    epochs = args.epochs or (3 if args.quick else 30)
    warnings.simplefilter("ignore", ConvergenceWarning)
    # asdl's hooks, laplace-torch's curvature: torch warns of their deprecated form every fit.
    warnings.filterwarnings("ignore", message="Using a non-full backward hook", category=FutureWarning)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP {HIDDEN}, adam, batch {BATCH}")
    verdicts = []
    for name, (X, y) in data_sets(args.quick).items():
        print(f"\n{name}, split 0: ", end="")
        runs = [run_split(X, y, epochs, split, show=split == 0) for split in range(args.splits)]
        if args.splits > 1:
            print(f"\n{name}, {args.splits} splits:")
            print("\n".join(summary(runs)))
        found = runs[0]
        if "laplace-torch marglik_training" in found:
            (t_auto, l_auto), (t_lap, l_lap) = (
                found["netreg alpha='auto' (layerwise)"],
                found["laplace-torch marglik_training"],
            )
            met = t_lap / t_auto >= 10 and l_auto <= l_lap
            verdicts.append(
                f"  {name}, split 0: {t_lap / t_auto:.1f}x faster, log-loss {l_auto:.4f} against {l_lap:.4f}: "
                + ("met" if met else "not met")
            )
        else:
            verdicts.append(f"  {name}: not available (laplace-torch not installed)")
    print("\nTarget (issue 21): alpha='auto' >= 10x faster than marglik_training at an equal or better log-loss:")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
