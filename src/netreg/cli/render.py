"""How results look in the terminal: the table of alphas, the notes, the progress bars."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from netreg.tuning.callbacks import SweepCallback
from netreg.tuning.results import SweepResult

__all__ = ["print_results", "SweepProgress", "total"]


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
        columns["validation score"] = lambda i: _mean_std(cv["mean_val_score"][i], cv["std_val_score"][i])
        columns["gap"] = lambda i: _number(cv["mean_train_score"][i] - cv["mean_val_score"][i])
    if np.isfinite(sweep.log_evidence).any():
        columns["log evidence"] = lambda i: _number(sweep.log_evidence[i], ".1f")
        columns["γ"] = lambda i: _number(sweep.gamma[i], ".0f")
    # Over the folds' models, not the model refit with the chosen alpha (whose norm differs).
    norm = "weight norm" if by_evidence else "weight norm (fold mean)"
    columns[norm] = lambda i: _number(sweep.total_norms[i], ".2f")
    if sweep.units_off.size:
        columns["units off"] = lambda i: _number(np.sum(sweep.units_off[i]), ".0f")
    columns["epochs"] = lambda i: _epochs(sweep, i)
    for column in columns:
        table.add_column(column, justify="right")
    for index in range(len(sweep.alphas)):
        table.add_row(*(cell(index) for cell in columns.values()), style="bold green" if index == best else None)
    console.print(table)
    if np.isfinite(sweep.stopped_at).any():
        console.print("Epochs marked * stopped at a rung of successive halving: partial scores, not chosen.")
    for note in sweep.notes():
        console.print(f"Note: {note}")


def _number(value: float, spec: str = ".4f") -> str:
    return format(value, spec) if math.isfinite(value) else "—"


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}" if math.isfinite(mean) else "—"


def _epochs(sweep: SweepResult, index: int) -> str:
    epochs = _number(sweep.cv_results["mean_n_iter"][index], ".0f")
    return f"{epochs}*" if math.isfinite(sweep.stopped_at[index]) else epochs


class SweepProgress(SweepCallback):
    """A rich progress display: members finished over the whole sweep, epochs of the chunk training now.

    The epochs bar appears when a chunk starts training, labeled with the chunk when there
    are several: a resumed sweep whose members are all stored shows its members, all
    done, and no idle epochs bar.
    """

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.members = self.epochs = None
        self.chunk, self.n_chunks = 0, 1

    def __enter__(self) -> SweepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        self.members = self.progress.add_task("members", total=info["n_members"], completed=info["n_done"])
        self.n_chunks = info["n_chunks"]

    def on_chunk_begin(self, keys: Any) -> None:
        self.chunk += 1

    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        label = f"epochs (chunk {self.chunk} of {self.n_chunks})" if self.n_chunks > 1 else "epochs "
        if self.epochs is None:
            self.epochs = self.progress.add_task(label, total=info["max_iter"])
        self.progress.reset(self.epochs, total=info["max_iter"], description=label)

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        if self.epochs is not None:
            self.progress.update(self.epochs, completed=epoch)

    def on_member_stored(self, record: Mapping[str, Any]) -> None:
        if self.members is not None:
            self.progress.advance(self.members)
