"""The messages of the column, missing-value and training flags, checked in full: argparse's
refusals (one line, status 2, before any work), data errors, and the notes a run prints."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

from expected_messages import usage
from netreg.cli import main
from netreg.message_text import COUNTING

N = 40
FAST = ["--hidden", "4", "--max-iter", "3"]


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "name": [f"car {i}" for i in range(N)],
            "model": [f"m{i // 2 if i < 16 else i}" for i in range(N)],  # 32 distinct values in 40 rows
            "x": rng.normal(size=N),
            "color": rng.choice(["red", "blue"], N),
            "label": rng.choice(["yes", "no"], N),
        }
    )
    frame.to_csv("cars.csv", index=False)
    holes = frame.copy()
    holes.loc[[2, 7], "x"] = np.nan
    holes.loc[4, "label"] = None
    holes.to_csv("holes.csv", index=False)
    frame.assign(color=["purple", "red", "pink", *frame["color"][3:]]).to_csv("new.csv", index=False)
    frame.drop(columns="name").to_csv("noname.csv", index=False)
    frame.assign(when=["03/04/2021"] * N).to_csv("dates.csv", index=False)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip()


TRAIN = ["train", "cars.csv", "--target", "label", "--out", "run"]
USAGE = usage("train")


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--batch-size", "0"],
            f"argument --batch-size: expected 'auto' or a positive integer such as 32; got '0' {USAGE}",
        ),
        (["--dropout", "1"], f"argument --dropout: expected a probability in [0, 1) such as 0.2; got '1' {USAGE}"),
        (
            ["--penalty", "elasticnet", "--l1-ratio", "1.5"],
            f"argument --l1-ratio: expected a number in [0, 1] such as 0.5; got '1.5' {USAGE}",
        ),
        (["--learning-rate", "0"], f"argument --learning-rate: expected a number > 0 such as 0.001; got '0' {USAGE}"),
        (
            ["--learning-rate", "inf"],
            f"argument --learning-rate: expected a number > 0 such as 0.001; got 'inf' {USAGE}",
        ),
        (["--device", "gpu"], f"argument --device: expected auto, cpu, cuda, cuda:N or mps; got 'gpu' {USAGE}"),
        (
            ["--drop", "a,,b"],
            "argument --drop: expected distinct column names separated by commas, such as name,notes; got 'a,,b' "
            + USAGE,
        ),
        (["--id", " "], f"argument --id: expected a column name; got ' ' {USAGE}"),
        (
            ["--impute", "mode"],
            "argument --impute: invalid choice: 'mode' (choose from 'mean', 'median', 'most_frequent') " + USAGE,
        ),
        (["--l1-ratio", "0.3"], f"argument --l1-ratio: applies to --penalty elasticnet only {USAGE}"),
        (
            ["--alpha", "1", "--scoring", "accuracy"],
            f"argument --scoring: applies to choosing alpha from a grid, not to one --alpha {USAGE}",
        ),
        (
            ["--alpha", "1", "--search", "halving"],
            f"argument --search: applies to choosing alpha from a grid, not to one --alpha {USAGE}",
        ),
        (
            ["--alpha", "1", "--refit", "folds"],
            f"argument --refit: applies to choosing alpha from a grid, not to one --alpha {USAGE}",
        ),
        (
            ["--scoring", "rocauc"],
            "argument --scoring: expected a scikit-learn scorer name; got 'rocauc'. Did you mean 'roc_auc', "
            f"'roc_auc_ovr' or 'roc_auc_ovo'? {USAGE}",
        ),
        (
            ["--scoring", "zzz"],
            "argument --scoring: expected a scikit-learn scorer name; got 'zzz'. The names are listed by "
            f"sklearn.metrics.get_scorer_names(). {USAGE}",
        ),
        (["--n-jobs", "0"], f"argument --n-jobs: expected a nonzero integer (-1: every core); got '0' {USAGE}"),
        (["--alphas", "0,1", "--factor", "2"], f"argument --factor: applies to --search halving only {USAGE}"),
    ],
)
def test_a_bad_flag_is_refused_in_one_line_before_any_work(files, capsys, flags, message):
    status, out, err = run(capsys, *TRAIN, *flags)
    assert (status, out, err) == (2, "", f"netreg train: error: {message}")
    assert not (files / "run").exists()


@pytest.mark.parametrize(
    "count, device, found",
    [(0, "cuda", "no CUDA device"), (0, "cuda:0", "no CUDA device"), (2, "cuda:2", "2 CUDA device(s)")],
)
def test_a_cuda_device_the_machine_lacks_is_refused_with_what_it_has(files, capsys, monkeypatch, count, device, found):
    # Each outcome on any machine: torch is told how many devices there are, as CI has none.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    status, out, err = run(capsys, *TRAIN, "--device", device)
    message = f"argument --device: {device} is not available on this machine ({found}); use auto or cpu {USAGE}"
    assert (status, out, err) == (2, "", f"netreg train: error: {message}")


def test_tune_refuses_halving_flags_without_halving(files, capsys):
    status, _, err = run(capsys, "tune", "cars.csv", "--target", "label", "--min-epochs", "2", "--out", "run")
    assert (status, err) == (
        2,
        f"netreg tune: error: argument --min-epochs: applies to --search halving only {usage('tune')}",
    )


def test_a_column_of_many_distinct_values_is_noted_and_the_run_goes_on(files, capsys):
    status, _, err = run(capsys, *TRAIN, "--id", "name", *FAST)
    # A warning: the note is printed as it is raised, and the run trains.
    assert (
        status == 0
        and (
            "netreg train: note: column 'model' has 32 distinct values in 40 rows: one-hot encoded into 32 features, "
            "most of them seen in a row or two. If it is an id or free text: Pass --drop model to leave it out, or --id "
            "model to carry it into the predictions."
        )
        in err.splitlines()
    )
    assert (files / "run" / "model").is_dir()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            [*TRAIN, "--drop", "model"],
            "`cars.csv`: column 'name' has a different value in each of its 40 rows, like an id or free text; expected "
            "a text column whose values repeat, to be one-hot encoded. Pass --drop name to leave it out, or --id name "
            "to carry it into the predictions.",
        ),
        (
            [*TRAIN, "--drop", "modle", "--id", "name"],
            "`cars.csv`: no column 'modle' to drop; expected a column of the table. Did you mean 'model'? Columns: "
            "'name', 'model', 'x', 'color'.",
        ),
        (
            [*TRAIN, "--drop", "model", "--id", "Name"],
            "`cars.csv`: no id column 'Name'; expected a column of the table. Did you mean 'name'? Columns: 'name', "
            "'model', 'x', 'color'.",
        ),
        ([*TRAIN, "--drop", "label"], "`cars.csv`: --drop names the target column 'label'; expected other columns."),
        ([*TRAIN, "--id", "label"], "`cars.csv`: --id names the target column 'label'; expected other columns."),
        (
            ["train", "holes.csv", "--target", "label", "--drop", "model", "--id", "name", "--out", "run"],
            f"`holes.csv`: target column 'label' has no value in row 4 ({COUNTING}); expected a "
            "value in every row. Fill in or remove those rows, or pass --drop-missing to drop them.",
        ),
        (
            [
                "train",
                "holes.csv",
                "--target",
                "label",
                "--drop",
                "model",
                "--id",
                "name",
                "--out",
                "run",
                "--impute",
                "mean",
            ],
            f"`holes.csv`: target column 'label' has no value in row 4 ({COUNTING}); expected a "
            "value in every row. Fill in or remove those rows, or pass --drop-missing to drop them.",
        ),
        (
            ["train", "holes.csv", "--target", "color", "--drop", "model", "--id", "name", "--out", "run"],
            f"`holes.csv`: missing values in columns 'x', 'label' (rows 2, 4, 7, {COUNTING}); "
            "expected a value in every cell. Pass --impute mean (or 'median', 'most_frequent') to fill them in, or "
            "--drop-missing to drop such rows.",
        ),
        (
            ["train", "dates.csv", "--target", "label", "--drop", "model", "--id", "name", "--out", "run"],
            "`dates.csv`: column 'when' holds dates in a layout whose day and month cannot be told apart (row 0: "
            f"'03/04/2021'; {COUNTING}); expected ISO 8601 dates such as '2021-04-03'. Write them "
            "as ISO 8601 dates (YYYY-MM-DD, with an optional time) or drop the column (--drop when).",
        ),
    ],
)
def test_column_and_missing_value_problems_are_refused_with_the_fix(files, capsys, argv, message):
    status, _, err = run(capsys, *argv, *FAST)
    assert (status, err) == (2, f"netreg train: error: {message}")
    assert not (files / "run").exists()


def test_predict_numbers_rows_without_the_id_column_and_names_the_rows_skipped_and_the_categories_never_seen(
    files, capsys
):
    assert run(capsys, *TRAIN, "--drop", "model", "--id", "name", *FAST)[0] == 0
    # An id labels the predictions; it is not needed to make them.
    status, out, err = run(capsys, "predict", "run", "noname.csv")
    assert (status, err) == (
        0,
        "netreg predict: note: `noname.csv` has no id column 'name' (--id name at training): the predictions are "
        f"labeled by the rows' positions in column 'row' instead ({COUNTING}).",
    )
    unlabeled = pd.read_csv(pd.io.common.StringIO(out))
    labeled = pd.read_csv(pd.io.common.StringIO(run(capsys, "predict", "run", "cars.csv")[1]))
    assert list(unlabeled.columns) == ["row", "prediction", "proba_no", "proba_yes"]
    assert unlabeled["row"].tolist() == list(range(N))
    pd.testing.assert_frame_equal(unlabeled.drop(columns="row"), labeled.drop(columns="name"))
    status, _, err = run(capsys, "predict", "run", "holes.csv")
    assert (status, err) == (
        2,
        "netreg predict: error: `holes.csv`: missing values in column 'x' (rows 2, 7, counting from 0, header "
        "excluded); expected a value in every cell. The preprocessing was fitted without imputation: pass "
        "--drop-missing to skip such rows.",
    )
    status, out, err = run(capsys, "predict", "run", "holes.csv", "--drop-missing")
    assert status == 0 and err == (
        f"netreg predict: note: skipped 2 of 40 rows with a missing value (rows 2, 7, {COUNTING})."
    )
    names = pd.read_csv(pd.io.common.StringIO(out))["name"]
    assert list(names) == [f"car {i}" for i in range(N) if i not in (2, 7)]
    status, _, err = run(capsys, "predict", "run", "new.csv", "--out", "p.csv")
    assert status == 0 and err.splitlines() == [
        "netreg predict: note: 2 rows hold categories not seen at fit, encoded as all zeros: column 'color' "
        "('purple', 'pink').",
        "Wrote 40 predictions to p.csv",
    ]


def test_train_says_which_rows_it_dropped(files, capsys):
    status, out, _ = run(
        capsys,
        "train",
        "holes.csv",
        "--target",
        "label",
        "--drop",
        "model",
        "--id",
        "name",
        "--drop-missing",
        *FAST,
        "--out",
        "run",
    )
    assert status == 0
    assert out.splitlines()[0] == (
        "holes.csv: 37 rows, 3 features after encoding, target 'label' (classification), 3 rows with missing values "
        f"dropped (rows 2, 4, 7, {COUNTING})."
    )


def test_a_column_of_row_numbers_is_judged_before_rows_are_dropped_and_noted_before_the_run_goes_on(files, capsys):
    # R writes its row names as a column 1..n: consecutive in the file, not in the rows left.
    pd.read_csv("holes.csv").set_axis(range(1, N + 1)).rename_axis("rownames").to_csv("r.csv")
    (files / "taken").write_text("a file where the run folder would go")
    argv = ["train", "r.csv", "--target", "label", "--drop", "model,name", "--drop-missing", *FAST]
    note = (
        "netreg train: note: column 'rownames' holds the whole numbers 1 to 40, each once, like a row number or an "
        "id; it is used as a feature. If it is one: Pass --drop rownames to leave it out, or --id rownames to carry "
        "it into the predictions."
    )
    status, _, err = run(capsys, *argv, "--out", "run")
    assert status == 0 and err.splitlines().count(note) == 1
    # Printed when raised, as the table is read: a run that fails afterwards still shows it, first.
    status, _, err = run(capsys, *argv, "--out", "taken")
    assert status == 2 and err.splitlines()[0] == note and err.splitlines()[1].startswith("netreg train: error: ")


def test_a_resumed_sweep_shows_its_members_done_and_no_idle_epochs_bar(files, capsys):
    argv = ["tune", "cars.csv", "--target", "label", "--drop", "model", "--id", "name", "--alphas", "0,1", "--cv", "2"]
    argv += [*FAST, "--no-report", "--out", "run"]
    status, out, _ = run(capsys, *argv)
    bars = [line for line in out.splitlines() if line.startswith(("members", "epochs"))]
    assert status == 0 and [bar.split()[0] for bar in bars] == ["members", "epochs"] and " 3/3 " in bars[1]
    status, out, _ = run(capsys, *argv)  # everything is in the store: nothing trains
    bars = [line for line in out.splitlines() if line.startswith(("members", "epochs"))]
    assert status == 0 and len(bars) == 1 and bars[0].startswith("members") and " 4/4 " in bars[0]
    assert "0/3" not in out


@pytest.mark.parametrize(
    "flags, line",
    [
        (
            [],
            r"Chosen alpha = [\d.e+-]+ \(min rule, scoring neg_log_loss: cross-validated -\d\.\d{4} on the 32 training "
            r"rows\)\.",
        ),
        (
            ["--selection", "evidence"],
            r"Chosen alpha = [\d.e+-]+ \(evidence rule, log evidence -?\d+\.\d, each alpha trained once on the 32 "
            r"training rows\)\.",
        ),
    ],
)
def test_train_with_a_grid_says_what_chose_alpha(files, capsys, flags, line):
    argv = [*TRAIN, "--drop", "model", "--id", "name", "--alphas", "0.1,1", "--cv", "2", "--no-report", *FAST, *flags]
    status, out, _ = run(capsys, *argv)
    chosen = [text for text in out.splitlines() if text.startswith("Chosen alpha")]
    assert status == 0 and len(chosen) == 1 and re.fullmatch(line, chosen[0]), out


def test_a_misspelt_target_among_huge_column_names_is_said_in_a_short_line(files, capsys):
    # Before: every 200,000-character name was printed whole, a 400 KB line.
    long_a, long_b = "a" * 200_000, "b" * 200_000
    pd.DataFrame({long_a: [1.0, 2.0, 3.0], long_b: [3.0, 2.0, 1.0], "label": [0, 1, 0]}).to_csv("wide.csv", index=False)
    status, _, err = run(capsys, "tune", "wide.csv", "--target", "lable", "--out", "run")
    shown_a = "'" + "a" * 40 + "…' (200,000 characters)"
    shown_b = "'" + "b" * 40 + "…' (200,000 characters)"
    assert (status, err) == (
        2,
        "netreg tune: error: `wide.csv`: no target column 'lable'; expected a column of that name. Did you mean "
        f"'label'? Columns: {shown_a}, {shown_b}, 'label'.",
    )
    status, _, err = run(capsys, "tune", "wide.csv", "--target", long_a[:-1], "--out", "run")
    assert status == 2 and err.startswith(f"netreg tune: error: `wide.csv`: no target column '{'a' * 40}…' (199,999")
    assert len(err) < 400
    assert not (files / "run").exists()


def test_class_weight_is_refused_for_a_regression_target_and_an_unknown_value_in_one_line(files, capsys):
    argv = ["train", "cars.csv", "--target", "x", "--drop", "model", "--id", "name", "--out", "run"]
    status, _, err = run(capsys, *argv, "--class-weight", "balanced", *FAST)
    assert (status, err) == (
        2,
        "netreg train: error: --class-weight must be None for a regression target (it weighs the classes of a "
        "classification). Got class_weight='balanced'.",
    )
    status, _, err = run(capsys, *TRAIN, "--class-weight", "even")
    assert (status, err) == (
        2,
        f"netreg train: error: argument --class-weight: invalid choice: 'even' (choose from 'balanced') {USAGE}",
    )
