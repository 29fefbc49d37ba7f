"""How results look in the terminal: the table of alphas, the notes, the progress bars."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from netreg.tuning.sweep_result import SweepResult

__all__ = ["print_results", "print_learned", "total"]


def total(norms: Any) -> float:
    return math.sqrt(sum(value**2 for value in norms))


def print_results(console: Console, sweep: SweepResult) -> None:
    """The table of alphas (the chosen one marked), then the result's notes."""
    cv, best = sweep.cv_results, sweep.best_index
    by_evidence = sweep.selection == "evidence"
    title = "Log evidence" if by_evidence else f"Cross-validated {sweep.scoring}"
    table = Table(title=f"{title} (higher is better)")
    columns = {"": lambda i: "→" if i == best else "", "alpha": lambda i: f"{sweep.alphas[i]:.4g}"}
    columns["train score"] = lambda i: _number(cv["mean_train_score"][i])
    if not by_evidence:
        columns["validation score"] = lambda i: _mean_std(cv["mean_test_score"][i], cv["std_test_score"][i])
        columns["gap"] = lambda i: _number(cv["mean_train_score"][i] - cv["mean_test_score"][i])
    if np.isfinite(sweep.log_evidence).any():
        columns["log evidence"] = lambda i: _number(sweep.log_evidence[i], ".1f")
        columns["γ"] = lambda i: _number(sweep.gamma[i], ".0f")
    # Over the folds' models, not the model refit with the chosen alpha (whose norm differs).
    norm = "weight norm" if by_evidence else "weight norm (fold mean)"
    columns[norm] = lambda i: _number(sweep.total_norms[i], ".2f")
    if sweep.units_off.size:
        columns["units off"] = lambda i: _number(np.sum(sweep.units_off[i]), ".0f")
    columns["epochs"] = lambda i: _epochs(sweep, i)
    if cv["n_diverged"].any():  # diverged members are not scored (the notes say why)
        columns["diverged"] = lambda i: str(int(cv["n_diverged"][i]))
    for column in columns:
        table.add_column(column, justify="right")
    for index in range(len(sweep.alphas)):
        table.add_row(*(cell(index) for cell in columns.values()), style="bold green" if index == best else None)
    console.print(table)
    if np.isfinite(sweep.stopped_at).any():
        console.print("Epochs marked * stopped at a rung of successive halving: partial scores, not chosen.")
    for note in sweep.notes():
        console.print(f"Note: {note}")


def print_learned(console: Console, alpha: float | dict[str, float], history: Any, log_evidence: float) -> None:
    """The table of what ``alpha="auto"`` learned: per penalized weight (one row ``every layer``
    for one alpha), its alpha and the well-determined parameters γ of the last update."""
    table = Table(title="Alpha learned in the one fit")
    for column in ("parameter", "alpha", "γ", "updates"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    learned = alpha if isinstance(alpha, dict) else {"every layer": alpha}
    last = history[-1] if history else {}
    gamma = last.get("gamma", math.nan)
    for name, value in learned.items():
        layer_gamma = gamma.get(name, math.nan) if isinstance(gamma, dict) else gamma
        table.add_row(name, f"{value:.4g}", _number(float(layer_gamma), ".1f"), str(len(history)))
    console.print(table)
    console.print(f"Log evidence of the final weights at the learned alpha: {log_evidence:.1f}.")


def _number(value: float, spec: str = ".4f") -> str:
    return format(value, spec) if math.isfinite(value) else "—"


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}" if math.isfinite(mean) else "—"


def _epochs(sweep: SweepResult, index: int) -> str:
    epochs = _number(sweep.cv_results["mean_n_iter"][index], ".0f")
    return f"{epochs}*" if math.isfinite(sweep.stopped_at[index]) else epochs
