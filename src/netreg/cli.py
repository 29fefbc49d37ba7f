"""The ``netreg`` command: parses arguments, calls the library, renders what it returns.

Errors a user can fix (bad data, bad parameters, a store or model folder that is not
theirs to overwrite) are printed in one or two lines without a traceback and exit with
status 2; any other failure exits with status 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sklearn.exceptions import ConvergenceWarning

from netreg.exceptions import NetRegError
from netreg.io.run_folder import RunFolder
from netreg.tuning.callbacks import SweepCallback
from netreg.tuning.results import SweepResult

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``netreg`` command line; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # argparse: --help (0) or a bad argument (2, already printed)
        return int(exit.code or 0)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            status = args.run(args, console)
        for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)):
            errors.print(f"netreg {args.command}: note: {as_flags(message)}", markup=False)
        return status
    except KeyboardInterrupt:
        errors.print(f"netreg {args.command}: interrupted; results already written are kept (rerun to resume).")
        return 130
    except NetRegError as error:
        if args.debug:
            raise
        errors.print(f"netreg {args.command}: error: {as_flags(str(error))}", markup=False)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - the command line must not end in a traceback
        if args.debug:
            raise
        errors.print(
            f"netreg {args.command}: failed: {type(error).__name__}: {error}\n(rerun with --debug for the traceback)",
            markup=False,
        )
        return EXIT_FAILURE


# -- the library's parameters, as this command's flags ---------------------------------------
#: Python parameter -> the flag that sets it (library messages name parameters in backticks).
FLAGS = {
    "task": "--task",
    "force": "--force",
    "drop_missing": "--drop-missing",
    "random_state": "--seed",
    "seed": "--seed",
    "alpha": "--alpha",
    "alphas": "--alphas",
    "cv": "--cv",
    "hidden_layer_sizes": "--hidden",
    "max_iter": "--max-iter",
    "solver": "--solver",
    "selection": "--selection",
    "scoring": "--scoring",
    "chunk_size": "--chunk-size",
    "test_size": "--test-size",
    "backend": "--backend",
    "address": "--address",
}
#: Parameters whose flag turns them off.
NEGATED_FLAGS = {"standardize": "--no-standardize", "standardize_target": "--no-standardize-target"}


def as_flags(message: str) -> str:
    """``message`` with the parameters it names in backticks written as this command's flags.

    Examples
    --------
    >>> as_flags("Choose another folder, or pass `force=True` to replace it.")
    'Choose another folder, or pass --force to replace it.'
    >>> as_flags("Pass `task='classification'`; `max_iter` too; `warm_start=False` stays.")
    'Pass --task classification; --max-iter too; `warm_start=False` stays.'
    """

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(3)
        if name in NEGATED_FLAGS and value == "False":
            return NEGATED_FLAGS[name]
        if name not in FLAGS:
            return match.group(0)
        if value is None or value == "True":
            return FLAGS[name]
        return f"{FLAGS[name]} {value.strip(chr(39) + chr(34))}"

    return re.sub(r"`(\w+)(=([^`]*))?`", flag, message)


# -- argument types: a bad value is an argparse error (usage + one line, status 2) -----------
def _alphas(text: str) -> int | list[float]:
    text = text.strip()
    try:
        if "," not in text and text.isdigit():
            return int(text)
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a grid size such as 16, or comma-separated alphas >= 0 such as 0,0.01,0.1,1; got {text!r}"
        )
    return values


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 such as 0.1; got {text!r}")
    return value


def _hidden(text: str) -> tuple[int, ...]:
    text = text.strip()
    if text.lower() in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = (0,)
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes as positive integers separated by commas, such as 100,100 (or 'none' "
            f"for a linear model); got {text!r}"
        )
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 such as 0.2; got {text!r}")
    return value


# -- the parser --------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, with errors in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netreg",
        description="Regularize neural networks: exact L2/L1/elastic-net penalties, alpha sweeps, reports.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    debug = _Parser(add_help=False)
    # SUPPRESS: a --debug given before the command must not be reset by the command's default.
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors"
    )

    demo = commands.add_parser(
        "demo",
        parents=[debug],
        help="choose alpha for an overfitting network on scikit-learn's digits (no download)",
        description="200 training digits, a 64-256-256-10 network, 300 epochs: alpha is swept over 4 folds as one "
        "population, the chosen alpha and alpha = 0 are refit and scored on the 1597 held-out digits, and the "
        "store, results table, model and report are written to --out.",
        epilog="example:\n  netreg demo --out netreg-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--out", default="netreg-demo", help="run folder to write (default: netreg-demo)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the split and training (default 0)")
    demo.add_argument("--no-report", action="store_true", help="skip the HTML report")
    demo.set_defaults(run=_run_demo)

    data = _Parser(add_help=False)
    data.add_argument("data", help="CSV, Parquet or NPZ file")
    data.add_argument("--target", required=True, help="name of the target column (in an NPZ file, of the array)")
    data.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="what to predict (default: inferred from the target)",
    )
    data.add_argument(
        "--hidden",
        type=_hidden,
        default=(100,),
        metavar="SIZES",
        help="hidden layer sizes, e.g. 100,100; 'none' for a linear model (default 100)",
    )
    data.add_argument("--solver", choices=("adam", "sgd", "lbfgs"), default="adam", help="optimizer (default adam)")
    data.add_argument("--max-iter", type=_positive_int, default=200, help="maximum epochs (default 200)")
    data.add_argument("--cv", type=_positive_int, default=5, help="cross-validation folds (default 5)")
    data.add_argument("--seed", type=int, default=0, help="seed of splits and training (default 0)")
    data.add_argument("--no-standardize", action="store_true", help="use numeric columns as they are")
    data.add_argument(
        "--no-standardize-target",
        action="store_true",
        help="train a regression on the target as it is (default: standardized for training, predictions in its units)",
    )
    data.add_argument("--drop-missing", action="store_true", help="drop rows with missing values instead of failing")
    data.add_argument("--out", required=True, help="run folder to write")
    data.add_argument("--force", action="store_true", help="replace a different model already in the folder")

    tune = commands.add_parser(
        "tune",
        parents=[debug, data],
        help="choose alpha by cross-validation (the whole grid at once), refit, report",
        description="Sweep alpha over cross-validation folds as one vectorized run, refit the chosen alpha on "
        "all rows, and write the store, results table, model and report to --out. Rerun to resume.",
        epilog="examples:\n  netreg tune data.csv --target label --out runs/label\n"
        "  netreg tune data.csv --target price --alphas 0,0.01,0.1,1,10 --hidden 64,64 --selection 1se --out runs/price\n"
        "  netreg tune data.csv --target label --backend ray --address HEAD:6379 --out runs/label",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument(
        "--alphas",
        type=_alphas,
        default=16,
        metavar="GRID",
        help="grid size (default 16, a data-scaled log grid) or comma-separated alphas",
    )
    tune.add_argument(
        "--selection",
        choices=("min", "1se"),
        default="min",
        help="best mean score, or the largest alpha within one standard error (default min)",
    )
    tune.add_argument(
        "--scoring",
        choices=("neg_log_loss", "accuracy", "r2", "neg_mean_squared_error"),
        help="default: neg_log_loss (classification), r2 (regression)",
    )
    tune.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where members train (default local)"
    )
    tune.add_argument("--address", help="Ray cluster address (with --backend ray), e.g. HEAD:6379")
    tune.add_argument(
        "--chunk-size", type=_positive_int, help="members trained together (default: what fits in memory)"
    )
    tune.add_argument("--no-report", action="store_true", help="skip the HTML report")
    tune.set_defaults(run=_run_tune)

    train = commands.add_parser(
        "train",
        parents=[debug, data],
        help="train on a file (tuning alpha when given a grid), score held-out rows, save the model",
        description="Hold out --test-size of the rows, train on the rest with --alpha (or choose it from --alphas "
        "by cross-validation), print the held-out score and save the model to --out/model.",
        epilog="examples:\n  netreg train data.csv --target label --alpha 1.0 --out runs/model\n"
        "  netreg train data.parquet --target price --alphas 0,0.1,1,10 --out runs/price",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    strength = train.add_mutually_exclusive_group()
    strength.add_argument("--alpha", type=_alpha, help="L2 strength (default 0.0001, scikit-learn's)")
    strength.add_argument(
        "--alphas", type=_alphas, metavar="GRID", help="grid to choose alpha from by cross-validation"
    )
    train.add_argument(
        "--test-size", type=_fraction, default=0.2, help="share of rows held out for the score (default 0.2)"
    )
    train.set_defaults(run=_run_train)

    predict = commands.add_parser(
        "predict",
        parents=[debug],
        help="predict with a saved model",
        description="Apply a saved model (its preprocessing included) to a data file; write predictions "
        "(and class probabilities) as CSV.",
        epilog="example:\n  netreg predict runs/model/model new.csv --out predictions.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", help="model folder (…/model)")
    predict.add_argument("data", help="CSV, Parquet or NPZ file")
    predict.add_argument("--out", help="CSV file to write (default: print to standard output)")
    predict.add_argument("--force", action="store_true", help="replace --out if it exists")
    predict.set_defaults(run=_run_predict)

    report = commands.add_parser(
        "report",
        parents=[debug],
        help="write the HTML report of a run folder",
        description="Draw the figures of a (finished or interrupted) sweep and write report.html into its folder.",
        epilog="example:\n  netreg report netreg-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("run_dir", help="run folder written by netreg tune or netreg demo")
    report.set_defaults(run=_run_report)
    return parser


# -- commands ----------------------------------------------------------------------------
def _run_demo(args: argparse.Namespace, console: Console) -> int:
    from netreg.demo import DEMO_ALPHAS, run_demo

    console.print(
        "netreg demo: 200 digits, a 64-256-256-10 network, 300 epochs; "
        f"{len(DEMO_ALPHAS)} alphas x 4 folds trained as one population."
    )
    with _SweepProgress(console) as progress:
        result = run_demo(args.out, seed=args.seed, callback=progress)
    _print_results(console, result["sweep"])
    chosen, zero = result["test"]["chosen"], result["test"]["zero"]
    cv = result["cv_results"]
    console.print(
        f"Chosen alpha = {result['alpha']:g}: cross-validated log-loss {-cv['mean_val_score'][result['best_index']]:.3f} "
        f"against {-cv['mean_val_score'][0]:.3f} at alpha = 0."
    )
    console.print(
        f"On {result['n_test']} held-out digits: log-loss {chosen['log_loss']:.3f} against {zero['log_loss']:.3f} "
        f"at alpha = 0 (accuracy {chosen['accuracy']:.3f} against {zero['accuracy']:.3f}: accuracy hides the difference)."
    )
    norms_chosen = _total(result["norms"]["chosen"].values())
    norms_zero = _total(result["norms"]["zero"].values())
    console.print(f"Total weight norm: {norms_chosen:.1f} with the chosen alpha, {norms_zero:.1f} without the penalty.")
    _maybe_report(args, console, Path(args.out))
    console.print(f"Wrote {args.out}/: {RunFolder.contents()}")
    return EXIT_OK


def _run_tune(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import tune_table

    data = _load(args, console)
    backend: Any = args.backend
    if args.backend == "ray":
        from netreg.tuning.backends import RayBackend

        backend = RayBackend(address=args.address)
    with _SweepProgress(console) as progress:
        result = tune_table(
            data,
            args.out,
            hidden=args.hidden,
            alphas=args.alphas,
            cv=args.cv,
            selection=args.selection,
            scoring=args.scoring,
            solver=args.solver,
            max_iter=args.max_iter,
            seed=args.seed,
            standardize_target=not args.no_standardize_target,
            backend=backend,
            chunk_size=args.chunk_size,
            force=args.force,
            callback=progress,
        )
    _print_results(console, result["sweep"])
    console.print(f"Chosen alpha = {result['alpha']:g} ({result['selection']} rule, scoring {result['scoring']}).")
    _maybe_report(args, console, Path(args.out))
    console.print(f"Wrote {args.out}/: {RunFolder.contents()}")
    return EXIT_OK


def _run_train(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import train_table

    data = _load(args, console)
    with _SweepProgress(console) as progress:
        result = train_table(
            data,
            args.out,
            alpha=args.alpha,
            alphas=args.alphas,
            hidden=args.hidden,
            solver=args.solver,
            max_iter=args.max_iter,
            cv=args.cv,
            test_size=args.test_size,
            seed=args.seed,
            standardize_target=not args.no_standardize_target,
            force=args.force,
            callback=progress,
        )
    console.print(
        f"alpha = {result['alpha']:g}; held-out {result['metric']} = {result['test_score']:.4f} "
        f"({result['n_test']} rows held out, {result['n_train']} trained on)."
    )
    if result["metric"] == "R^2" and result["test_score"] < 0:
        console.print(
            "Note: a held-out R^2 below 0 means the model predicts worse than the mean of the target would. "
            "Check the learning rate and the number of epochs (--max-iter), or try a grid (--alphas)."
        )
    console.print(f"Saved the model to {result['model']}")
    return EXIT_OK


def _run_predict(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import predict_table

    if args.out and Path(args.out).exists() and not args.force:
        raise NetRegError(f"{args.out!r} already exists; it was not overwritten. Choose another --out or pass --force.")
    predictions = predict_table(args.model, args.data)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        predictions.to_csv(args.out, index=False)
        Console(stderr=True).print(f"Wrote {len(predictions)} predictions to {args.out}")
    else:
        sys.stdout.write(predictions.to_csv(index=False))
    return EXIT_OK


def _run_report(args: argparse.Namespace, console: Console) -> int:
    from netreg.report import report_run

    console.print(f"Wrote {report_run(args.run_dir)}")
    return EXIT_OK


# -- rendering ---------------------------------------------------------------------------
def _maybe_report(args: argparse.Namespace, console: Console, run_dir: Path) -> None:
    if getattr(args, "no_report", False):
        return
    from netreg.report import report_run

    console.print(f"Report: {report_run(run_dir)}")


def _load(args: argparse.Namespace, console: Console) -> Any:
    """Read the data file of ``tune``/``train`` and say what was read."""
    from netreg.runs import load_training_table

    data = load_training_table(
        args.data, args.target, task=args.task, standardize=not args.no_standardize, drop_missing=args.drop_missing
    )
    dropped = f", {len(data.dropped_rows)} rows with missing values dropped" if data.dropped_rows else ""
    console.print(
        f"{data.path}: {len(data.y)} rows, {data.X.shape[1]} features after encoding, "
        f"target {data.target_name!r} ({data.task}){dropped}."
    )
    return data


def _total(norms: Any) -> float:
    return math.sqrt(sum(value**2 for value in norms))


def _print_results(console: Console, sweep: SweepResult) -> None:
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


class _SweepProgress(SweepCallback):
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

    def __enter__(self) -> _SweepProgress:
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


if __name__ == "__main__":
    sys.exit(main())
