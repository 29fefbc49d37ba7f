"""A user's CNN as a population: against separate training loops, and per member against the MLP.

Run: python benchmarks/bench_module.py [--alphas 16] [--epochs 10] [--repeats 3] [--rows 1797]

The CNN is the one of docs/own_module.md: Conv2d(1, 16, 3) -> BatchNorm2d -> ReLU ->
MaxPool2d(2) -> Dropout(0.25) -> Linear(256, 10), on the digits as 1x8x8 images, trained with
Adam (learning rate 0.01, batches of 64) for the same epochs every way:

1. one population of ``--alphas`` members (one alpha each, the same seed, as a sweep has
   them), against ``--alphas`` separate netreg fits (populations of one), and against
   ``--alphas`` plain PyTorch loops (``torch.optim.Adam`` on the batch loss plus the L2
   penalty through autograd, written here): wall times and their ratios;
2. time per member and epoch of the CNN population, against that of a population of the
   MLP 64-100-100-10 (``--hidden``) on the same rows, batches and epochs.

Each way runs ``--repeats`` times, interleaved; the minimum is kept (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from netreg.engine import TrainConfig, train_population
from netreg.nets import MLP


class SmallCNN(nn.Module):
    """The CNN of docs/own_module.md."""

    def __init__(self, n_features: int = 1, n_outputs: int = 10, channels: int = 16, dropout: float = 0.25) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(n_features, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * 16, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def plain_loops(X: np.ndarray, y: np.ndarray, alphas: list[float], epochs: int, batch_size: int, lr: float) -> None:
    """One plain PyTorch training loop per alpha, one after the other."""
    X_t, y_t = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    m = len(X_t)
    for alpha in alphas:
        torch.manual_seed(0)
        net = SmallCNN()
        weights = [mod.weight for mod in net.modules() if isinstance(mod, nn.Linear | nn.Conv2d)]
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        order = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            permutation = torch.randperm(m, generator=order)
            for start in range(0, m, batch_size):
                rows = permutation[start : start + batch_size]
                optimizer.zero_grad()
                penalty = alpha / (2 * m) * sum(w.square().sum() for w in weights)
                (F.cross_entropy(net(X_t[rows]), y_t[rows]) + penalty).backward()
                optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alphas", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1797)
    parser.add_argument("--hidden", type=str, default="100,100", help="the MLP's hidden layers")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X, y = X[: args.rows] / 16.0, y[: args.rows]
    images = X.reshape(-1, 1, 8, 8)
    alphas = list(np.logspace(-3, 2, args.alphas))
    batch_size, lr = 64, 0.01
    config = TrainConfig(
        solver="adam", learning_rate=lr, batch_size=batch_size, max_iter=args.epochs, tol=0.0, n_iter_no_change=10**6
    )
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)

    def population(module: nn.Module, data: np.ndarray) -> Callable[[], object]:
        return lambda: train_population(module, data, y, task="multiclass", alphas=alphas, config=config)

    ways = {
        "CNN, one population": population(SmallCNN(), images),
        "CNN, separate netreg fits": lambda: [
            train_population(SmallCNN(), images, y, task="multiclass", alphas=[a], config=config) for a in alphas
        ],
        "CNN, plain PyTorch loops": lambda: plain_loops(images, y, alphas, args.epochs, batch_size, lr),
        "MLP, one population": population(MLP(64, hidden, 10), X),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, run in ways.items():
            times[name].append(timed(run))
    best = {name: min(values) for name, values in times.items()}

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"digits as 1x8x8 images, {len(X)} rows, {args.alphas} alphas, {args.epochs} epochs, adam, batch {batch_size}; "
        f"min of {args.repeats} runs"
    )
    print()
    print("1. The CNN: one population against separate training loops")
    population_time = best["CNN, one population"]
    for name in ("CNN, one population", "CNN, separate netreg fits", "CNN, plain PyTorch loops"):
        ratio = best[name] / population_time
        print(f"   {name:<28} {best[name]:8.2f} s   ratio to the population {ratio:5.2f}")
    print()
    print(f"2. Per member and epoch: the CNN against the MLP 64-{'-'.join(map(str, hidden))}-10 (populations)")
    per_member = {
        name: best[name] / args.alphas / args.epochs * 1e3 for name in ("CNN, one population", "MLP, one population")
    }
    for name, value in per_member.items():
        print(f"   {name:<28} {value:8.2f} ms per member-epoch")
    print(
        f"   CNN / MLP                    {per_member['CNN, one population'] / per_member['MLP, one population']:8.2f}"
    )


if __name__ == "__main__":
    main()
