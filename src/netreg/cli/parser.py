"""The ``netreg`` argument parser: its commands, their flags and help."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from netreg.cli.arguments import (
    EXIT_BAD_INPUT,
    batch_size,
    column_name,
    column_names,
    device,
    dropout,
    fraction,
    l1_ratio,
    learning_rate,
    log_target,
    n_jobs,
    parse_alpha,
    parse_alphas,
    parse_hidden,
    parse_seed,
    positive_int,
    scoring,
)
from netreg.cli.commands import run_demo, run_predict, run_report, run_train, run_tune
from netreg.engine.solvers import SOLVERS
from netreg.grid import DEFAULT_N_ALPHAS
from netreg.penalties import PENALTIES
from netreg.runs.training_table import TASKS
from netreg.tuning.backends import BACKENDS
from netreg.tuning.rules import SELECTIONS

__all__ = ["build_parser", "parse_args"]

#: The sweep's flags that ``train`` refuses with one ``--alpha``.
SWEEP_FLAGS = {"scoring": "--scoring", "selection": "--selection", "search": "--search", "refit": "--refit"}
#: The flags of successive halving alone.
HALVING_FLAGS = {"factor": "--factor", "min_epochs": "--min-epochs"}


class _Parser(argparse.ArgumentParser):
    """argparse, with errors in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's arguments, each value and each combination of flags checked before any work.

    A bad value or combination exits as argparse does: one line, status 2.
    """
    args = build_parser().parse_args(argv)
    command = getattr(args, "command_parser", None)
    if command is None:
        return args
    if getattr(args, "l1_ratio", None) is not None and args.penalty != "elasticnet":
        command.error("argument --l1-ratio: applies to --penalty elasticnet only")
    if args.command == "train" and args.alpha is not None:
        for name, flag in {**SWEEP_FLAGS, **HALVING_FLAGS}.items():
            if getattr(args, name) is not None:
                command.error(f"argument {flag}: applies to choosing alpha from a grid, not to one --alpha")
    if args.command == "train" and args.validation is not None and args.alpha is None:
        command.error(
            "argument --validation: applies to one --alpha (a number, or auto); a grid's alphas are compared on "
            "cross-validation folds, its validation sets"
        )
    if args.command == "tune":
        _resolve_tune_alpha(args, command)
    for name, flag in HALVING_FLAGS.items():
        if getattr(args, name, None) is not None and args.search != "halving":
            command.error(f"argument {flag}: applies to --search halving only")
    return args


def _resolve_tune_alpha(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """``tune --alpha auto`` is ``--search hybrid``: refuse what the hybrid cannot take before
    any work, in the flags given, and fill in the defaults left ``None`` to tell them apart."""
    hybrid = "auto is --search hybrid (alpha learned in one fit, then confirmed by the folds)"
    if args.alpha == "auto":
        if args.search not in (None, "hybrid"):
            command.error(f"argument --alpha: {hybrid}, not --search {args.search}")
        args.search = "hybrid"
    if args.search == "hybrid":
        spelled = "--alpha auto" if args.alpha == "auto" else "--search hybrid"
        if args.alphas is not None:
            command.error(f"argument --alphas: {spelled} lays its own 5 alphas around the learned one: {hybrid}")
        if args.selection == "evidence":
            command.error(f"argument --selection: min or 1se with {spelled}, which the folds confirm: {hybrid}")
    args.search = args.search or "grid"
    args.alphas = DEFAULT_N_ALPHAS if args.alphas is None else args.alphas


def build_parser() -> argparse.ArgumentParser:
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
    demo.add_argument("--seed", type=parse_seed, default=0, help="seed of the split and training (default 0)")
    demo.add_argument("--no-report", action="store_true", help="skip the HTML report")
    demo.set_defaults(run=run_demo)

    data = _Parser(add_help=False)
    data.add_argument("data", help="CSV, Parquet or NPZ file")
    data.add_argument("--target", required=True, help="name of the target column (in an NPZ file, of the array)")
    data.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="what to predict (default: inferred from the target)",
    )
    data.add_argument(
        "--hidden",
        type=parse_hidden,
        default=(100,),
        metavar="SIZES",
        help="hidden layer sizes, e.g. 100,100; 'none' for a linear model (default 100)",
    )
    data.add_argument("--solver", choices=tuple(SOLVERS), default="adam", help="optimizer (default adam)")
    data.add_argument("--max-iter", type=positive_int, default=200, help="maximum epochs (default 200)")
    data.add_argument(
        "--batch-size", type=batch_size, help="rows per minibatch, or auto: min(200, rows) (default auto)"
    )
    data.add_argument(
        "--learning-rate", type=learning_rate, help="initial learning rate of adam and sgd (default 0.001)"
    )
    data.add_argument("--dropout", type=dropout, help="probability of dropping a hidden unit in training (default 0)")
    data.add_argument("--penalty", choices=tuple(PENALTIES), help="the penalty alpha scales (default l2)")
    data.add_argument(
        "--l1-ratio", type=l1_ratio, help="with --penalty elasticnet: the share of L1 in the penalty (default 0.5)"
    )
    data.add_argument(
        "--early-stopping",
        action="store_true",
        default=None,
        help="stop when the score on 10%% of the training rows set aside stops improving",
    )
    data.add_argument(
        "--class-weight",
        choices=("balanced",),
        help="classification: weigh each class by rows / (classes * its rows), in each fold from its training rows",
    )
    data.add_argument("--device", type=device, help="auto, cpu, cuda, cuda:N or mps (default auto)")
    data.add_argument(
        "--n-jobs",
        type=n_jobs,
        help="cores to train on, -1 for all (default: NETREG_N_JOBS if set, else every usable core)",
    )
    data.add_argument("--cv", type=positive_int, default=5, help="cross-validation folds (default 5)")
    data.add_argument("--seed", type=parse_seed, default=0, help="seed of splits and training (default 0)")
    data.add_argument("--no-standardize", action="store_true", help="use numeric columns as they are")
    data.add_argument(
        "--no-standardize-target",
        action="store_true",
        help="train a regression on the target as it is (default: standardized for training, predictions in its units)",
    )
    data.add_argument(
        "--drop", type=column_names, default=[], metavar="COLS", help="columns to leave out, comma-separated"
    )
    data.add_argument(
        "--id",
        dest="id_column",
        type=column_name,
        metavar="COL",
        help="a column that labels the rows: never a feature, the first column of the predictions",
    )
    data.add_argument(
        "--impute",
        choices=("mean", "median", "most_frequent"),
        help="fill in missing values (numbers and dates: this statistic; text: the most frequent category)",
    )
    data.add_argument(
        "--drop-missing",
        action="store_true",
        help="drop the rows with a missing target, or a missing feature without --impute, instead of failing (in "
        "train's --validation file too)",
    )
    data.add_argument("--out", required=True, help="run folder to write")
    data.add_argument("--force", action="store_true", help="replace a different model already in the folder")
    data.add_argument(
        "--log",
        type=log_target,
        action="append",
        default=[],
        metavar="TRACKER:TARGET",
        help="also log the curves, the sweep and the model to tensorboard:DIR or mlflow:URI (repeatable; "
        'needs pip install "netreg[tensorboard]" or "netreg[mlflow]")',
    )

    tune = commands.add_parser(
        "tune",
        parents=[debug, data],
        help="choose alpha by cross-validation (the whole grid at once), refit, report",
        description="Sweep alpha over cross-validation folds as one vectorized run, refit the chosen alpha on "
        "all rows, and write the store, results table, model and report to --out. Rerun to resume.",
        epilog="examples:\n  netreg tune data.csv --target label --out runs/label\n"
        "  netreg tune data.csv --target price --alphas 0,0.01,0.1,1,10 --hidden 64,64 --selection 1se --out runs/price\n"
        "  netreg tune data.csv --target label --alpha auto --out runs/label\n"
        "  netreg tune data.csv --target label --backend ray --address HEAD:6379 --out runs/label",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument(
        "--alphas",
        type=parse_alphas,
        metavar="GRID",
        help=f"grid size (default {DEFAULT_N_ALPHAS}, a data-scaled log grid) or comma-separated alphas",
    )
    _add_sweep_flags(tune, defaults=True)
    # None until parse_args resolves them (grid, DEFAULT_N_ALPHAS): --alpha auto refuses them given.
    tune.set_defaults(search=None)
    tune.add_argument(
        "--alpha",
        type=parse_alpha,
        choices=("auto",),
        metavar="auto",
        help="auto: learn alpha per layer from the Laplace evidence in one fit, then let the folds confirm it "
        "among 5 alphas from a tenth to ten times it (the same as --search hybrid)",
    )
    tune.add_argument("--backend", choices=tuple(BACKENDS), default="local", help="where members train (default local)")
    tune.add_argument("--address", help="Ray cluster address (with --backend ray), e.g. HEAD:6379")
    tune.add_argument(
        "--node-address",
        help="this machine's address in the Ray cluster, as given to ray start --node-ip-address (see docs/ray.md)",
    )
    tune.add_argument("--chunk-size", type=positive_int, help="members trained together (default: what fits in memory)")
    tune.add_argument("--no-report", action="store_true", help="skip the HTML report")
    tune.set_defaults(run=run_tune, command_parser=tune)

    train = commands.add_parser(
        "train",
        parents=[debug, data],
        help="train on a file (choosing alpha by cross-validation unless given --alpha), score held-out rows, "
        "save the model",
        description="Hold out --test-size of the rows, choose alpha on the rest by cross-validation over --alphas "
        "(default: the grid tune uses), leaving the table, store, results and report of the sweep as tune does, "
        "or train one --alpha; print the held-out scores and save the model to --out/model.",
        epilog="examples:\n  netreg train data.csv --target label --out runs/label\n"
        "  netreg train data.parquet --target price --alphas 0,0.1,1,10 --out runs/price\n"
        "  netreg train data.csv --target label --alpha 1.0 --out runs/model\n"
        "  netreg train data.csv --target label --alpha auto --out runs/model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    strength = train.add_mutually_exclusive_group()
    strength.add_argument(
        "--alpha",
        type=parse_alpha,
        help="train this one strength (default: chosen from --alphas by cross-validation), or auto: learned per "
        "layer in the one fit from the Laplace evidence",
    )
    strength.add_argument(
        "--alphas",
        type=parse_alphas,
        metavar="GRID",
        help=f"grid to choose alpha from by cross-validation: its size (default {DEFAULT_N_ALPHAS}, a data-scaled "
        "log grid) or comma-separated alphas",
    )
    train.add_argument(
        "--test-size", type=fraction, default=0.2, help="share of rows held out for the score (default 0.2)"
    )
    train.add_argument(
        "--validation",
        metavar="FILE",
        help="your own validation rows for the one --alpha (the data file's columns, the target included; encoded "
        "by the preprocessing fitted on the training rows): --early-stopping stops on them, otherwise their score "
        "is recorded each epoch",
    )
    _add_sweep_flags(train, defaults=False)
    train.add_argument(
        "--no-report", action="store_true", help="skip the HTML report (of the sweep, or of --alpha auto's path)"
    )
    train.set_defaults(run=run_train, command_parser=train)

    predict = commands.add_parser(
        "predict",
        parents=[debug],
        help="predict with a saved model",
        description="Apply a saved model (its preprocessing included) to a data file; write predictions "
        "(and class probabilities) as CSV.",
        epilog="example:\n  netreg predict runs/model/model new.csv --out predictions.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", help="run folder, or its model folder (…/model)")
    predict.add_argument("data", help="CSV, Parquet or NPZ file")
    predict.add_argument("--out", help="CSV file to write (default: print to standard output)")
    predict.add_argument("--force", action="store_true", help="replace --out if it exists")
    predict.add_argument(
        "--drop-missing",
        action="store_true",
        help="skip the rows with a missing value (for a model trained without --impute) instead of failing",
    )
    predict.set_defaults(run=run_predict)

    report = commands.add_parser(
        "report",
        parents=[debug],
        help="write the HTML report of a run folder",
        description="Draw the figures of a (finished or interrupted) sweep and write report.html into its folder.",
        epilog="example:\n  netreg report netreg-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("run_dir", help="run folder written by netreg tune or netreg demo")
    report.set_defaults(run=run_report)
    return parser


def _add_sweep_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The sweep's flags; without ``defaults`` (train) they default to None, to tell when given."""

    def default(value):
        return value if defaults else None

    parser.add_argument(
        "--selection",
        choices=SELECTIONS,
        default=default("min"),
        help="best mean score, the largest alpha within one standard error, or the largest Laplace evidence "
        "(each alpha trained once on all rows, no folds) (default min)",
    )
    parser.add_argument(
        "--search",
        choices=("grid", "halving", "hybrid"),
        default=default("grid"),
        help="train every alpha to the end, stop the worst at rungs (successive halving), or hybrid: learn alpha "
        "from the evidence in one fit, then cross-validate 5 alphas from a tenth to ten times it (with hybrid, "
        "--alphas keeps its default) (default grid)",
    )
    parser.add_argument(
        "--refit",
        choices=("all", "folds"),
        default=default("all"),
        help="the saved model: the chosen alpha refit on all rows, or the average of its fold models, already "
        "trained (no refit) (default all)",
    )
    parser.add_argument("--factor", type=positive_int, help="halving: keep 1/FACTOR at each rung (default 3)")
    parser.add_argument(
        "--min-epochs",
        type=positive_int,
        help="halving: epochs of the first rung (default: as scikit-learn's)",
    )
    parser.add_argument(
        "--scoring",
        type=scoring,
        help="any scikit-learn scorer name, e.g. roc_auc, f1_macro, neg_mean_absolute_error "
        "(default: neg_log_loss for classification, r2 for regression)",
    )
