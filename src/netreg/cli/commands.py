"""What each command does: call the library, then render what it returns."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from netreg.cli.arguments import EXIT_OK
from netreg.cli.render import print_learned, print_results, total
from netreg.grid import DEFAULT_N_ALPHAS
from netreg.io.run_folder import RunFolder
from netreg.message_text import rows_text, show
from netreg.tuning.progress import ProgressBar

__all__ = ["run_demo", "run_tune", "run_train", "run_predict", "run_report"]


def run_demo(args: argparse.Namespace, console: Console) -> int:
    from netreg.demo import DEMO_ALPHAS, run_demo

    console.print(
        "netreg demo: 200 digits, a 64-256-256-10 network, 300 epochs; "
        f"{len(DEMO_ALPHAS)} alphas x 4 folds trained as one population."
    )
    with ProgressBar(console) as progress:
        result = run_demo(args.out, seed=args.seed, callback=progress)
    print_results(console, result["sweep"])
    chosen, zero = result["test"]["chosen"], result["test"]["zero"]
    cv = result["cv_results"]
    console.print(
        f"Chosen alpha = {result['alpha']:g}: cross-validated log-loss {-cv['mean_test_score'][result['best_index']]:.3f} "
        f"against {-cv['mean_test_score'][0]:.3f} at alpha = 0."
    )
    console.print(
        f"On {result['n_test']} held-out digits: log-loss {chosen['log_loss']:.3f} against {zero['log_loss']:.3f} "
        f"at alpha = 0 (accuracy {chosen['accuracy']:.3f} against {zero['accuracy']:.3f}: accuracy hides the difference)."
    )
    norms_chosen = total(result["norms"]["chosen"].values())
    norms_zero = total(result["norms"]["zero"].values())
    console.print(
        f"Total weight norm of the models refit on all {result['n_train']} training digits: {norms_chosen:.1f} with "
        f"the chosen alpha, {norms_zero:.1f} without the penalty (the table's weight norms are means over the folds)."
    )
    _maybe_report(args, console, Path(args.out))
    console.print(f"Wrote {args.out}/: {RunFolder.contents()}")
    return EXIT_OK


def run_tune(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import tune_table

    data = _load(args, console)
    backend: Any = args.backend
    if args.backend == "ray":
        from netreg.tuning.backends import RayBackend

        backend = RayBackend(address=args.address, node_ip_address=args.node_address)
    with ProgressBar(console) as progress:
        result = tune_table(
            data, args.out, **_run_keywords(args, progress), backend=backend, chunk_size=args.chunk_size
        )
    if "learned" in result:  # --alpha auto (--search hybrid): what the one fit learned centres the folds' grid
        learned = result["learned"]
        print_learned(console, learned["alpha"], learned["alpha_history"], learned["log_evidence"])
        console.print(f"Read as one alpha: {learned['centre']:.4g}, the centre of the alphas the folds compare below.")
    print_results(console, result["sweep"])
    console.print(f"Chosen alpha = {result['alpha']:g} ({result['selection']} rule, scoring {result['scoring']}).")
    _maybe_report(args, console, Path(args.out))
    console.print(f"Wrote {args.out}/: {RunFolder.contents()}")
    return EXIT_OK


def run_train(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import train_table

    data = _load(args, console)
    grid = args.alpha is None
    if grid and args.alphas is None:
        console.print(
            f"No --alpha given: choosing alpha from the default grid of {DEFAULT_N_ALPHAS} alphas by {args.cv}-fold "
            "cross-validation on the training rows (--alpha trains one alpha)."
        )
    with ProgressBar(console) as progress:
        result = train_table(
            data,
            args.out,
            **_run_keywords(args, progress),
            alpha=args.alpha,
            test_size=args.test_size,
            validation=args.validation,
        )
    if grid:
        print_results(console, result["sweep"])
        best, rows = result["best_index"], result["n_train"]
        if result["selection"] == "evidence":
            chosen_by = f"log evidence {result['sweep'].log_evidence[best]:.1f}, each alpha trained once on the {rows}"
        else:
            chosen_by = (
                f"scoring {result['scoring']}: cross-validated {result['cv_results']['mean_test_score'][best]:.4f}"
            )
            chosen_by += f" on the {rows}"
        console.print(f"Chosen alpha = {result['alpha']:g} ({result['selection']} rule, {chosen_by} training rows).")
    test = result["test"]
    if "log_loss" in test:
        other = f"log-loss = {test['log_loss']:.4f}"
    else:
        other = f"MSE = {test['mean_squared_error']:.4g}, RMSE = {test['root_mean_squared_error']:.4g} (target's units)"
    alpha = result["alpha"]
    if "log_evidence" in result:  # --alpha auto: what was learned, per layer
        print_learned(console, alpha, result["alpha_history"], result["log_evidence"])
    if "validation" in result:
        held = result["validation"]
        stopped = " (early stopping's set)" if args.early_stopping else ""
        console.print(
            f"{args.validation}: {_rows(held['rows'])} of validation{stopped}{_dropped(held['dropped_rows'])}; "
            "best validation "
            f"{result['metric']} = {held['best_validation_score']:.4f} in {len(held['validation_scores'])} epochs."
        )
    shown = "learned per layer" if isinstance(alpha, dict) else f"{alpha:g}"
    console.print(
        f"alpha = {shown}; held-out {result['metric']} = {result['test_score']:.4f} "
        f"({result['n_test']} rows held out, {result['n_train']} trained on); held-out {other}."
    )
    if result["metric"] == "R^2" and result["test_score"] < 0:
        console.print(
            "Note: a held-out R^2 below 0 means the model predicts worse than the mean of the target would. "
            "Check the learning rate and the number of epochs (--max-iter)"
            + (", and the grid." if grid else ", or let alpha be chosen from a grid (leave out --alpha).")
        )
    if grid:
        _maybe_report(args, console, Path(args.out))
        console.print(f"Wrote {args.out}/: {RunFolder.contents()}")
    else:
        console.print(f"Saved the model to {result['model']}")
        if "log_evidence" in result:  # alpha's path and what was learned
            _maybe_report(args, console, Path(args.out))
    return EXIT_OK


def run_predict(args: argparse.Namespace, console: Console) -> int:
    from netreg.runs import predict_table
    from netreg.safe_files import check_output_file, write_file
    from netreg.tables.spreadsheets import spreadsheet_csv

    if args.out is not None:
        check_output_file(args.out, "out", force=args.force)
    result = predict_table(args.model, args.data, drop_missing=args.drop_missing)
    predictions, notes = result.table, Console(stderr=True, highlight=False, soft_wrap=True)
    if result.skipped_rows:
        skipped = result.skipped_rows
        notes.print(
            f"netreg predict: note: skipped {len(skipped)} of {_rows(len(skipped) + len(predictions))} with a "
            f"missing value ({rows_text(skipped)}).",
            markup=False,
        )
    # Text a spreadsheet would run as a formula (a label "=HYPERLINK(...)") gets a quote in front.
    text = spreadsheet_csv(predictions)
    if args.out is not None:
        write_file(args.out, text.encode("utf-8"), overwrite=args.force)
        notes.print(f"Wrote {len(predictions)} predictions to {args.out}", markup=False)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_report(args: argparse.Namespace, console: Console) -> int:
    from netreg.report import report_run

    console.print(f"Wrote {report_run(args.run_dir)}")
    return EXIT_OK


def _maybe_report(args: argparse.Namespace, console: Console, run_dir: Path) -> None:
    if getattr(args, "no_report", False):
        return
    from netreg.report import report_run

    console.print(f"Report: {report_run(run_dir)}")


def _load(args: argparse.Namespace, console: Console) -> Any:
    """Read the data file of ``tune``/``train`` and say what was read."""
    from netreg.runs import load_training_table

    data = load_training_table(
        args.data,
        args.target,
        task=args.task,
        standardize=not args.no_standardize,
        impute=args.impute,
        drop=args.drop,
        id_column=args.id_column,
        drop_missing=args.drop_missing,
    )
    console.print(
        f"{data.path}: {len(data.y)} rows, {data.X.shape[1]} features after encoding, "
        f"target {show(data.target_name)} ({data.task}){_dropped(data.dropped_rows)}."
    )
    return data


def _dropped(rows: list[int]) -> str:
    """The rows of a file that ``--drop-missing`` dropped, said after its count of rows (nothing if none)."""
    return f", {_rows(len(rows))} with missing values dropped ({rows_text(rows)})" if rows else ""


def _run_keywords(args: argparse.Namespace, progress: ProgressBar) -> dict[str, Any]:
    """The keywords ``tune_table`` and ``train_table`` both take, from the flags."""
    return {
        "alphas": args.alphas,
        "cv": args.cv,
        **_sweep(args),
        "hidden": args.hidden,
        "solver": args.solver,
        "max_iter": args.max_iter,
        "seed": args.seed,
        "estimator_params": _estimator_params(args),
        "standardize_target": not args.no_standardize_target,
        "force": args.force,
        "callback": progress,
        "log": args.log,
    }


def _sweep(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep's settings given on the command line (the others keep the library's defaults)."""
    names = ("selection", "search", "scoring", "factor", "min_epochs")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if getattr(args, "refit", None) is not None:
        given["refit"] = args.refit == "all" or args.refit
    return given


def _estimator_params(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator's parameters given as flags, by their Python names (the others keep their defaults)."""
    names = {
        "batch_size": "batch_size",
        "dropout": "dropout",
        "penalty": "penalty",
        "l1_ratio": "l1_ratio",
        "learning_rate": "learning_rate_init",
        "early_stopping": "early_stopping",
        "class_weight": "class_weight",
        "device": "device",
        "n_jobs": "n_jobs",
    }
    return {param: getattr(args, flag) for flag, param in names.items() if getattr(args, flag) is not None}


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
