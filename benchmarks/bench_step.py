"""What the penalty costs per training step, and what training a population saves.

Run: python benchmarks/bench_step.py [--repeats 7]

Part 1 times one SGD training step of a 64-256-256-10 MLP on a batch of 128 rows (CPU,
float32) three ways, interleaved and repeated, and prints each median as a ratio to the
unpenalized step measured in the same run:

* no penalty: forward, cross-entropy, backward, ``torch.optim.SGD`` step;
* naive: the L2 penalty added to the loss and differentiated by autograd;
* fused: ``netreg.l2_penalty_grad_`` adds ``alpha/m * W`` to the gradients after backward.

Part 2 trains 16 members (16 alphas) for a fixed number of epochs on digits with
netreg's engine, once as one K = 16 population and once as 16 separate K = 1 runs,
and prints the ratio of the two wall times.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.nn import functional as F

import netreg
from netreg.engine import TrainConfig, train_population
from netreg.nets import MLP


def time_steps(step, n_steps: int) -> float:
    for _ in range(10):  # warm-up
        step()
    started = time.perf_counter()
    for _ in range(n_steps):
        step()
    return (time.perf_counter() - started) / n_steps


def penalty_step_costs(repeats: int, n_steps: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = MLP(64, (256, 256), 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x, y = torch.randn(128, 64), torch.randint(0, 10, (128,))
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    alpha, m = 1.0, 1000

    def plain():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def naive():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) + alpha / (2 * m) * sum(w.square().sum() for w in weights)
        loss.backward()
        optimizer.step()

    def fused():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        netreg.l2_penalty_grad_(weights, [w.grad for w in weights], alpha, n_samples=m)
        optimizer.step()

    times: dict[str, list[float]] = {"no penalty": [], "naive autograd penalty": [], "netreg fused": []}
    for _ in range(repeats):
        for name, step in zip(times, (plain, naive, fused), strict=True):
            times[name].append(time_steps(step, n_steps))
    return {name: statistics.median(values) for name, values in times.items()}


def population_vs_separate(n_members: int, epochs: int, repeats: int) -> tuple[float, float]:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    alphas = list(np.logspace(-3, 2, n_members))
    config = TrainConfig(solver="adam", batch_size=128, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1)
    module = MLP(64, (100, 100), 10)
    together, separate = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        train_population(module, X, y, task="multiclass", alphas=alphas, config=config)
        together.append(time.perf_counter() - started)
        started = time.perf_counter()
        for alpha in alphas:
            train_population(module, X, y, task="multiclass", alphas=[alpha], config=config)
        separate.append(time.perf_counter() - started)
    return statistics.median(together), statistics.median(separate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(f"\n1. One SGD step, MLP 64-256-256-10, batch 128 (median of {args.repeats} x {args.steps} steps)")
    costs = penalty_step_costs(args.repeats, args.steps)
    base = costs["no penalty"]
    for name, seconds in costs.items():
        print(f"   {name:<24} {seconds * 1e3:7.3f} ms   ratio to no penalty {seconds / base:5.3f}")
    print(f"\n2. 16 alphas, MLP 64-100-100-10 on digits (1797 rows), adam, batch 128, {args.epochs} epochs")
    together, separate = population_vs_separate(16, args.epochs, max(1, args.repeats // 2))
    print(f"   one K=16 population     {together:7.2f} s")
    print(f"   16 separate K=1 runs    {separate:7.2f} s")
    print(f"   population speed-up     {separate / together:7.2f} x")


if __name__ == "__main__":
    main()
