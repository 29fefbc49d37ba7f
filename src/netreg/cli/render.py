"""How results look in the terminal: the table of alphas, the notes, the progress bars."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from netreg.tuning.callbacks import SweepCallback
from netreg.tuning.results import SweepResult

__all__ = ["print_results", "SweepProgress", "total"]


def total(norms: Any) -> float:
    return math.sqrt(sum(value**2 for value in norms))


def print_results(console: Console, sweep: SweepResult) -> None:
    cv, best = sweep.cv_results, sweep.best_index
    table = Table(title=f"Cross-validated {sweep.scoring} (higher is better)")
    for column in ("", "alpha", "train score", "validation score", "gap", "weight norm", "epochs"):
        table.add_column(column, justify="right")
    for index, (alpha, norm) in enumerate(zip(sweep.alphas, sweep.total_norms)):
        train, val, std = cv["mean_train_score"][index], cv["mean_val_score"][index], cv["std_val_score"][index]
        table.add_row(
            "→" if index == best else "",
            f"{alpha:.4g}",
            f"{train:.4f}",
            f"{val:.4f} ± {std:.4f}",
            f"{train - val:.4f}",
            f"{norm:.2f}",
            f"{cv['mean_n_iter'][index]:.0f}",
            style="bold green" if index == best else None,
        )
    console.print(table)
    for note in sweep.notes():
        console.print(f"Note: {note}")


class SweepProgress(SweepCallback):
    """A rich progress display: members finished over the whole sweep, epochs of the running chunk."""

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

    def __enter__(self) -> SweepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        self.members = self.progress.add_task("members", total=info["n_members"], completed=info["n_done"])
        self.epochs = self.progress.add_task("epochs ", total=info["max_iter"])

    def on_train_begin(self, info: Mapping[str, Any]) -> None:
        if self.epochs is None:
            self.epochs = self.progress.add_task("epochs ", total=info["max_iter"])
        self.progress.reset(self.epochs, total=info["max_iter"])

    def on_epoch_end(self, epoch: int, records: Mapping[int, Mapping[str, Any]]) -> None:
        if self.epochs is not None:
            self.progress.update(self.epochs, completed=epoch)

    def on_member_stored(self, record: Mapping[str, Any]) -> None:
        if self.members is not None:
            self.progress.advance(self.members)
