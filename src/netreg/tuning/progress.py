"""Watching a sweep: ``verbose`` lines as scikit-learn's searches print them, and a progress bar
for notebooks and terminals."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from netreg.tuning.records import MemberRecord
from netreg.tuning.sweep_hooks import SweepCallback

__all__ = ["VerboseSweep", "ProgressBar"]


class VerboseSweep(SweepCallback):
    """What ``verbose`` prints during a sweep, in ``GridSearchCV``'s words.

    ``verbose >= 1``: ``Fitting 5 folds for each of 16 candidates, totalling 80 fits``;
    ``verbose >= 2``: one line per member as it finishes, ``[CV 2/5] END alpha=0.1; score=...``.

    Examples
    --------
    >>> VerboseSweep(n_folds=5, n_alphas=16).on_sweep_begin({"n_members": 80, "n_done": 0})
    Fitting 5 folds for each of 16 candidates, totalling 80 fits
    """

    def __init__(self, *, n_folds: int, n_alphas: int, verbose: int = 1, scoring: Any = None) -> None:
        self.n_folds, self.n_alphas, self.verbose, self.scoring = n_folds, n_alphas, verbose, scoring

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        done = f" ({info['n_done']} already stored)" if info.get("n_done") else ""
        sys.stdout.write(
            f"Fitting {self.n_folds} folds for each of {self.n_alphas} candidates, totalling {info['n_members']} fits"
            f"{done}\n"
        )

    def on_member_stored(self, record: MemberRecord) -> None:
        if self.verbose < 2:
            return
        score = record.metrics.get("val_scorer", record.metrics.get("val_score", float("nan")))
        sys.stdout.write(
            f"[CV {record.fold + 1}/{self.n_folds}] END alpha={record.alpha:g}; score={score:.3f}, "
            f"epochs={record.n_iter} ({record.status}) total time={record.fit_time_s:.1f}s\n"
        )


class ProgressBar(SweepCallback):
    """A progress display of a sweep (rich: terminal or Jupyter): members stored, and the epochs of
    the chunk training now (the one started last; none for Ray tasks, nor before a chunk starts).

    Use it as a context manager, and pass it as ``callback=`` (``fit(X, y, callback=bar)``).

    Examples
    --------
    >>> bar = ProgressBar(console=Console(file=open("/dev/null", "w")))
    >>> with bar:
    ...     bar.on_sweep_begin({"n_members": 4, "n_done": 1, "n_chunks": 1, "max_iter": 10})
    ...     bar.on_train_begin({"max_iter": 10})
    ...     bar.on_epoch_end(3, {})
    >>> bar.progress.tasks[0].completed, bar.progress.tasks[1].completed
    (1, 3)

    A resumed sweep that owes evidences (``n_owing``) shows them too, as it computes them:

    >>> bar = ProgressBar(console=Console(file=open("/dev/null", "w")))
    >>> with bar:
    ...     bar.on_sweep_begin({"n_members": 4, "n_done": 2, "n_owing": 2, "n_chunks": 1, "max_iter": 10})
    ...     for _ in range(4):  # the two owed, then two of members trained now
    ...         bar.on_member_evidence(None)
    >>> [(task.description, task.completed, task.total) for task in bar.progress.tasks]
    [('members', 2, 4), ('evidences owed', 2, 2)]
    """

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.members: Any = None
        self.epochs: Any = None
        self.evidences: Any = None
        self.owed_left = 0
        self.chunk, self.n_chunks = 0, 1

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_sweep_begin(self, info: Mapping[str, Any]) -> None:
        self.members = self.progress.add_task("members", total=info["n_members"], completed=info["n_done"])
        self.n_chunks = info.get("n_chunks", 1)
        # A resumed sweep computes the evidences a stopped one owed first, before any other
        # member's evidence: the first n_owing evidences heard are those.
        self.evidences, self.owed_left = None, info.get("n_owing", 0)
        if self.owed_left:
            self.evidences = self.progress.add_task("evidences owed", total=self.owed_left)

    def on_member_evidence(self, record: MemberRecord) -> None:
        if self.evidences is not None and self.owed_left > 0:
            self.owed_left -= 1
            self.progress.advance(self.evidences)

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

    def on_member_stored(self, record: MemberRecord) -> None:
        if self.members is not None:
            self.progress.advance(self.members)
